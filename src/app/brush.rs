//! Brush mode for 2-D scenes: paint the target or the source cloud with the
//! pointer, erase, clear, and turn the painted clouds into a scene.
//!
//! Painting works on a draft ([`PaintDraft`], a component of the focused
//! run): turning the brush on pauses the run, hides its points and copies the
//! scene's starting clouds into the draft (clear them to paint from empty).
//! Strokes arrive as [`BrushInput`] messages in scene coordinates, so the
//! painting itself runs headless; the window part ([`BrushWindowPlugin`])
//! turns the pointer into them, keeps the orbit camera off the left button
//! while the brush is on, and draws the brush as a circle.
//!
//! "Use painted clouds" ([`PaintRequest::Use`]) writes both clouds as CSV
//! into [`PaintFolder`], saves a scene whose target and source are those
//! files next to them, and loads it into the run: the painted clouds are
//! then a scene like any other, which reloads bit for bit.

use std::path::{Path, PathBuf};

use bevy::prelude::*;

use super::render::{
    CloudAssets, CloudBounds, CloudEntities, CloudRole, FIXED_COLOR, MOVING_COLOR, PointsHidden, ViewSettings,
};
use super::runs::{Focused, OfRun};
use super::scene_loading::{ActiveScene, Draft, LoadInto, SceneRequest};
use super::simulation::{Playback, RunId, RunLink};
use crate::engine::brush::{Brush, Stroke, StrokeSampler, erase, in_disc, painted_cloud};
use crate::engine::{Cloud, Dataset, Direction};
use crate::scene::{Scene, save_scene, write_points};

/// Default folder for painted clouds and their scenes (relative to the
/// working directory, like `screenshots/`).
pub const PAINT_DIR: &str = "painted";

/// Which cloud the brush works on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum PaintCloud {
    #[default]
    Target,
    Source,
}

impl PaintCloud {
    pub fn name(self) -> &'static str {
        match self {
            PaintCloud::Target => "target",
            PaintCloud::Source => "source",
        }
    }

    fn index(self) -> usize {
        self as usize
    }

    /// Whether this cloud is the one the flow aims at (drawn in the fixed colour).
    pub fn is_fixed(self, direction: Direction) -> bool {
        (self == PaintCloud::Target) == (direction == Direction::Forward)
    }

    /// The colour the view gives this cloud in a scene of `direction`.
    pub fn colour(self, direction: Direction) -> Color {
        if self.is_fixed(direction) { FIXED_COLOR } else { MOVING_COLOR }
    }
}

/// The brush as set in the panel (scene units).
#[derive(Resource, Debug, Clone, PartialEq)]
pub struct BrushSettings {
    pub cloud: PaintCloud,
    /// Erase instead of paint.
    pub erase: bool,
    /// Disc radius, in scene units.
    pub radius: f32,
    /// Points per unit area.
    pub density: f32,
    /// The scene radius the defaults were chosen for (a new scene of another
    /// size gets new defaults when the brush is turned on).
    pub fitted_to: Option<f32>,
}

impl Default for BrushSettings {
    fn default() -> Self {
        Self { cloud: PaintCloud::Target, erase: false, radius: 0.3, density: 100.0, fitted_to: None }
    }
}

impl BrushSettings {
    /// The brush, or what to change.
    pub fn brush(&self) -> Result<Brush, String> {
        Brush::new(self.radius, self.density).map_err(|e| e.to_string())
    }

    /// Slider range of the radius for a scene of bounding radius `scene_radius`.
    pub fn radius_range(scene_radius: f32) -> std::ops::RangeInclusive<f32> {
        let r = scene_radius.max(1e-3);
        (r * 0.005)..=(r * 0.5)
    }

    /// Slider range of the density: from 2 to 400 points per dab at the
    /// middle of the radius range, in points per unit area.
    pub fn density_range(scene_radius: f32) -> std::ops::RangeInclusive<f32> {
        let r = scene_radius.max(1e-3) * 0.05;
        let area = std::f32::consts::PI * r * r;
        (2.0 / area)..=(400.0 / area).max(2.0 / area * 10.0)
    }

    /// Defaults for a scene of bounding radius `scene_radius`: a dab a
    /// twentieth of the scene wide holding about 25 points.
    pub fn fit(&mut self, scene_radius: f32) {
        let r = scene_radius.max(1e-3);
        self.radius = r * 0.06;
        self.density = 25.0 / (std::f32::consts::PI * self.radius * self.radius);
        self.fitted_to = Some(r);
    }
}

/// Where "Use painted clouds" writes the CSV files and the scene.
#[derive(Resource, Debug, Clone)]
pub struct PaintFolder(pub PathBuf);

impl Default for PaintFolder {
    fn default() -> Self {
        Self(PathBuf::from(PAINT_DIR))
    }
}

/// The last thing the brush has to say (shown in the Paint section).
#[derive(Resource, Debug, Clone, Default, PartialEq)]
pub struct PaintNotice {
    pub text: Option<String>,
    pub error: bool,
}

impl PaintNotice {
    fn ok(&mut self, text: impl Into<String>) {
        *self = Self { text: Some(text.into()), error: false };
    }

    fn fail(&mut self, text: impl Into<String>) {
        *self = Self { text: Some(text.into()), error: true };
    }
}

/// The pointer in scene coordinates (x, y on the z = 0 plane).
#[derive(Message, Debug, Clone, Copy, PartialEq)]
pub enum BrushInput {
    /// The button went down here: a stroke starts.
    Down(Vec2),
    /// The pointer moved here with the button held.
    Move(Vec2),
    /// The button was released.
    Up,
}

/// What the Paint section asks for (aimed at the focused run).
#[derive(Message, Debug, Clone, PartialEq)]
pub enum PaintRequest {
    /// Brush on: pause the run and copy its scene's clouds into a draft.
    Start,
    /// Brush off: drop the draft and show the run again.
    Stop,
    /// Empty one cloud of the draft.
    Clear(PaintCloud),
    /// Put the scene's clouds back into the draft.
    Revert,
    /// Write the draft as CSV, save a scene of it and load it into the run.
    Use,
}

/// One drag in progress.
#[derive(Debug, Clone)]
enum ActiveStroke {
    Paint { cloud: PaintCloud, stroke: Stroke },
    Erase { cloud: PaintCloud, radius: f32, sampler: StrokeSampler },
}

/// The clouds being painted for a run, with the preview entities that show them.
#[derive(Component, Debug, Clone)]
pub struct PaintDraft {
    /// Target and source points (indexed by [`PaintCloud`]).
    clouds: [Vec<[f32; 2]>; 2],
    /// The scene's clouds when the brush was turned on (for [`PaintRequest::Revert`]).
    original: [Vec<[f32; 2]>; 2],
    /// Stamps get (seed, index) noise streams; the index runs on across strokes.
    seed: u64,
    next_index: u64,
    stroke: Option<ActiveStroke>,
    /// The run's load the draft was taken from; another load ends the session.
    generation: u64,
    /// Whether the flow was playing when the brush was turned on.
    was_playing: bool,
    /// Preview entities, one per point, per cloud.
    preview: [Vec<Entity>; 2],
    /// Per cloud, the first index whose preview is out of date.
    stale: [Option<usize>; 2],
    /// Size of the preview points as drawn.
    scale: f32,
    /// Strokes and clears since the brush was turned on.
    pub edits: usize,
}

impl PaintDraft {
    /// A draft holding `target` and `source` (both 2-D).
    pub fn new(target: Vec<[f32; 2]>, source: Vec<[f32; 2]>, seed: u64) -> Self {
        let clouds = [target, source];
        let stale = [Some(0), Some(0)];
        Self {
            original: clouds.clone(),
            clouds,
            seed,
            next_index: 0,
            stroke: None,
            generation: 0,
            was_playing: false,
            preview: [Vec::new(), Vec::new()],
            stale,
            scale: 0.0,
            edits: 0,
        }
    }

    /// The points of one cloud.
    pub fn points(&self, cloud: PaintCloud) -> &[[f32; 2]] {
        &self.clouds[cloud.index()]
    }

    /// Whether a stroke is under way.
    pub fn stroking(&self) -> bool {
        self.stroke.is_some()
    }

    fn mark(&mut self, cloud: PaintCloud, from: usize) {
        let s = &mut self.stale[cloud.index()];
        *s = Some(s.map_or(from, |f| f.min(from)));
    }

    /// Starts a stroke at `pos` with `settings` (painting its first dab or
    /// erasing its first disc); a brush that cannot be used says why.
    pub fn begin(&mut self, settings: &BrushSettings, pos: [f32; 2]) -> Result<(), String> {
        let brush = settings.brush()?;
        self.edits += 1;
        self.stroke = Some(if settings.erase {
            ActiveStroke::Erase {
                cloud: settings.cloud,
                radius: brush.radius(),
                sampler: StrokeSampler::new(brush.spacing()),
            }
        } else {
            ActiveStroke::Paint { cloud: settings.cloud, stroke: Stroke::new(brush, self.seed, self.next_index) }
        });
        self.drag_to(pos);
        Ok(())
    }

    /// Moves the stroke under way to `pos` (nothing without one).
    pub fn drag_to(&mut self, pos: [f32; 2]) {
        let Some(stroke) = &mut self.stroke else { return };
        match stroke {
            ActiveStroke::Paint { cloud, stroke } => {
                let cloud = *cloud;
                let new = stroke.drag_to(pos);
                self.next_index = stroke.next_index();
                let points = &mut self.clouds[cloud.index()];
                let from = points.len();
                points.extend(new);
                if points.len() > from {
                    self.mark(cloud, from);
                }
            }
            ActiveStroke::Erase { cloud, radius, sampler } => {
                let (cloud, radius) = (*cloud, *radius);
                // Evenly spaced discs along the path, and one at the pointer
                // itself, so the eraser reaches wherever the pointer went.
                let mut centres = sampler.feed(pos);
                centres.push(pos);
                let points = &mut self.clouds[cloud.index()];
                let mut first: Option<usize> = None;
                for c in centres {
                    // The first index that changes: everything after it shifts.
                    if let Some(i) = points.iter().position(|p| in_disc(*p, c, radius)) {
                        first = Some(first.map_or(i, |f| f.min(i)));
                        erase(points, c, radius);
                    }
                }
                if let Some(f) = first {
                    self.mark(cloud, f);
                }
            }
        }
    }

    /// Ends the stroke under way.
    pub fn end(&mut self) {
        self.stroke = None;
    }

    /// Empties one cloud.
    pub fn clear(&mut self, cloud: PaintCloud) {
        self.clouds[cloud.index()].clear();
        self.edits += 1;
        self.mark(cloud, 0);
    }

    /// Puts the scene's clouds back.
    pub fn revert(&mut self) {
        self.clouds = self.original.clone();
        self.edits = 0;
        self.stroke = None;
        self.mark(PaintCloud::Target, 0);
        self.mark(PaintCloud::Source, 0);
    }

    /// The draft's clouds as 2-D clouds (target, source).
    pub fn to_clouds(&self) -> (Cloud, Cloud) {
        (painted_cloud(&self.clouds[0]), painted_cloud(&self.clouds[1]))
    }
}

/// A scene's cloud as 2-D points, or why it cannot be painted.
pub fn points_2d(cloud: &Cloud, name: &str) -> Result<Vec<[f32; 2]>, String> {
    if cloud.dim() != 2 {
        return Err(format!("the {name} is {}-D; the brush paints 2-D clouds only", cloud.dim()));
    }
    Ok(cloud.points().map(|p| [p[0], p[1]]).collect())
}

/// Why the brush cannot be used on `scene` (None: it can). `flat` says
/// whether the loaded clouds lie in the z = 0 plane (for CSV clouds, whose
/// dimension is only known once read).
pub fn paint_blocker(scene: Option<&Scene>, flat: bool) -> Option<String> {
    let Some(scene) = scene else { return Some("no scene is loaded yet".into()) };
    if scene.model.is_some() {
        return Some(
            "this scene trains a generator: its moving cloud is the network's output, so there is nothing to paint"
                .into(),
        );
    }
    let dims = [Some(&scene.target), scene.source.as_ref()].map(|d| d.and_then(Dataset::dim));
    if let Some(d) = dims.into_iter().flatten().find(|d| *d != 2) {
        return Some(format!(
            "the brush paints on a plane: it works in 2-D scenes, and this one is {d}-D \
             (try Grid25, TwoMoons, Ring or a 2-D Swiss roll)"
        ));
    }
    if dims.iter().all(Option::is_none) && !flat {
        return Some("the brush works in 2-D scenes, and these clouds are not flat".into());
    }
    None
}

/// The first free `painted-NNN` stem in `folder` (no .ron or .csv of it there).
pub fn next_paint_stem(folder: &Path) -> String {
    (1..)
        .map(|n| format!("painted-{n:03}"))
        .find(|stem| {
            ["", "-target", "-source"].iter().all(|part| {
                let ext = if part.is_empty() { "ron" } else { "csv" };
                !folder.join(format!("{stem}{part}.{ext}")).exists()
            })
        })
        .unwrap_or_else(|| "painted".into())
}

/// `base` with the painted clouds as its data: CSV files at `target` and
/// `source`, a name that says it was painted and a description of the counts.
pub fn painted_scene(base: &Scene, target: &Path, source: &Path, counts: (usize, usize)) -> Scene {
    let name = if base.name.ends_with("(painted)") { base.name.clone() } else { format!("{} (painted)", base.name) };
    Scene {
        name,
        description: format!(
            "Painted in the window: {} target and {} source points, on the settings of \"{}\".",
            counts.0, counts.1, base.name
        ),
        target: Dataset::Csv { path: target.to_string_lossy().into_owned() },
        source: Some(Dataset::Csv { path: source.to_string_lossy().into_owned() }),
        model: None,
        ..base.clone()
    }
}

/// Writes the draft's clouds as `<stem>-target.csv` and `<stem>-source.csv`
/// and the scene of them as `<stem>.ron` in `folder`; returns the scene's
/// path and the scene (with absolute CSV paths).
pub fn write_painted(folder: &Path, base: &Scene, draft: &PaintDraft) -> Result<(PathBuf, Scene), String> {
    let (target, source) = draft.to_clouds();
    for (cloud, name) in [(&target, "target"), (&source, "source")] {
        if cloud.is_empty() {
            return Err(format!("the {name} is empty: paint at least one {name} point first"));
        }
    }
    std::fs::create_dir_all(folder).map_err(|e| format!("cannot create the folder {}: {e}", folder.display()))?;
    let folder = std::path::absolute(folder).unwrap_or_else(|_| folder.to_path_buf());
    let stem = next_paint_stem(&folder);
    let target_path = folder.join(format!("{stem}-target.csv"));
    let source_path = folder.join(format!("{stem}-source.csv"));
    let ron = folder.join(format!("{stem}.ron"));
    let written = (|| {
        write_points(&target_path, &target).map_err(|e| e.to_string())?;
        write_points(&source_path, &source).map_err(|e| e.to_string())?;
        let scene = painted_scene(base, &target_path, &source_path, (target.len(), source.len()));
        if let Some((_, problem)) = scene.problems().into_iter().next() {
            return Err(format!("the painted scene cannot run: {problem}"));
        }
        save_scene(&ron, &scene).map_err(|e| e.to_string())?;
        Ok(scene)
    })();
    match written {
        Ok(scene) => Ok((ron, scene)),
        Err(e) => {
            // All three files or none: a lone CSV would only confuse.
            for path in [&target_path, &source_path, &ron] {
                let _ = std::fs::remove_file(path);
            }
            Err(e)
        }
    }
}

/// A preview point of a draft.
#[derive(Component, Debug, Clone, Copy, PartialEq, Eq)]
pub struct PaintPoint(pub PaintCloud);

/// Ordering of the brush systems.
#[derive(SystemSet, Debug, Clone, PartialEq, Eq, Hash)]
pub enum BrushSystems {
    /// Pointer to [`BrushInput`] (window only).
    Pointer,
    /// Requests and strokes change the drafts.
    Apply,
    /// Preview entities follow the drafts.
    Show,
}

/// The brush's state and systems (headless-capable).
pub struct BrushPlugin;

impl Plugin for BrushPlugin {
    fn build(&self, app: &mut App) {
        app.init_resource::<BrushSettings>()
            .init_resource::<PaintFolder>()
            .init_resource::<PaintNotice>()
            .add_message::<BrushInput>()
            .add_message::<PaintRequest>()
            .configure_sets(
                Update,
                (BrushSystems::Pointer, BrushSystems::Apply, BrushSystems::Show)
                    .chain()
                    .in_set(crate::app::schedule::AppSet::Control),
            )
            .add_systems(
                Update,
                (handle_paint_requests, end_stale_sessions, apply_brush_input, hold_paused)
                    .chain()
                    .in_set(BrushSystems::Apply),
            )
            .add_systems(Update, (hide_run_points, sync_preview).in_set(BrushSystems::Show));
    }
}

/// The run's starting clouds as 2-D points, or why not.
fn scene_points(active: &ActiveScene, bounds: &CloudBounds) -> Result<[Vec<[f32; 2]>; 2], String> {
    let file = active.file.as_ref().ok_or("no scene is loaded yet")?;
    if let Some(why) = paint_blocker(Some(&file.scene), bounds.flat) {
        return Err(why);
    }
    let clouds = file.clouds_with_seed(active.seed).map_err(|e| e.to_string())?;
    Ok([points_2d(&clouds.target, "target")?, points_2d(&clouds.source, "source")?])
}

/// Everything a paint request touches on the focused run.
type PaintRun = (
    Entity,
    &'static ActiveScene,
    &'static Draft,
    &'static RunLink,
    &'static CloudBounds,
    Option<&'static mut PaintDraft>,
);

#[allow(clippy::too_many_arguments)]
fn handle_paint_requests(
    mut requests: MessageReader<PaintRequest>,
    mut runs: Query<PaintRun, With<Focused>>,
    mut settings: ResMut<BrushSettings>,
    mut notice: ResMut<PaintNotice>,
    mut playback: ResMut<Playback>,
    folder: Res<PaintFolder>,
    mut loads: MessageWriter<LoadInto>,
    mut commands: Commands,
) {
    for request in requests.read() {
        let Ok((run, active, edited, link, bounds, mut draft)) = runs.single_mut() else { return };
        match (request, draft.as_deref_mut()) {
            (PaintRequest::Start, None) => match scene_points(active, bounds) {
                Ok([target, source]) => {
                    if settings.fitted_to.is_none_or(|r| (r - bounds.radius).abs() > 1e-3 * bounds.radius) {
                        settings.fit(bounds.radius);
                    }
                    let mut new = PaintDraft::new(target, source, active.seed ^ 0x9e37_79b9_7f4a_7c15);
                    new.generation = link.generation;
                    new.was_playing = playback.playing;
                    playback.playing = false;
                    commands.entity(run).insert(new);
                    *notice = PaintNotice::default();
                }
                Err(why) => notice.fail(format!("The brush cannot start: {why}")),
            },
            (PaintRequest::Start, Some(_)) => {}
            (PaintRequest::Stop, Some(d)) => {
                playback.playing = d.was_playing;
                commands.entity(run).remove::<PaintDraft>();
                *notice = PaintNotice::default();
            }
            (PaintRequest::Clear(cloud), Some(d)) => d.clear(*cloud),
            (PaintRequest::Revert, Some(d)) => d.revert(),
            (PaintRequest::Use, Some(d)) => {
                let Some(base) = edited.scene.as_ref().filter(|s| s.problems().is_empty()).or(active.scene()) else {
                    continue;
                };
                match write_painted(&folder.0, base, d) {
                    Ok((path, scene)) => {
                        notice.ok(format!("Saved {} and its CSV files; the run now uses them.", path.display()));
                        playback.playing = d.was_playing;
                        loads.write(LoadInto {
                            run,
                            request: SceneRequest::Scene { path, scene: Box::new(scene) },
                            new_run: false,
                        });
                        commands.entity(run).remove::<PaintDraft>();
                    }
                    Err(why) => notice.fail(why),
                }
            }
            (_, None) => notice.fail("Turn the brush on first."),
        }
    }
}

/// A draft ends (unused) when its run loses the focus or loads another scene.
fn end_stale_sessions(
    runs: Query<(Entity, &PaintDraft, &RunLink, Has<Focused>)>,
    mut playback: ResMut<Playback>,
    mut notice: ResMut<PaintNotice>,
    mut commands: Commands,
) {
    for (run, draft, link, focused) in &runs {
        if !focused || link.generation != draft.generation {
            playback.playing = draft.was_playing;
            commands.entity(run).remove::<PaintDraft>();
            notice.fail(if focused {
                "Another scene was loaded: the painting was dropped."
            } else {
                "Another view took the focus: the painting was dropped."
            });
        }
    }
}

/// Strokes go to the focused run's draft.
fn apply_brush_input(
    mut input: MessageReader<BrushInput>,
    mut runs: Query<&mut PaintDraft, With<Focused>>,
    settings: Res<BrushSettings>,
    mut notice: ResMut<PaintNotice>,
) {
    let Ok(mut draft) = runs.single_mut() else {
        input.clear();
        return;
    };
    for event in input.read() {
        match *event {
            BrushInput::Down(pos) => {
                if let Err(why) = draft.begin(&settings, pos.to_array()) {
                    notice.fail(why);
                }
            }
            BrushInput::Move(pos) => {
                if draft.stroking() {
                    draft.drag_to(pos.to_array());
                }
            }
            BrushInput::Up => draft.end(),
        }
    }
}

/// The run stays paused while it is being painted (all runs step together).
fn hold_paused(runs: Query<(), With<PaintDraft>>, mut playback: ResMut<Playback>) {
    if !runs.is_empty() && (playback.playing || playback.single_step) {
        playback.playing = false;
        playback.single_step = false;
    }
}

/// While a run is painted its own points are hidden (the draft shows the
/// clouds); when the brush goes off they come back as the view settings say.
fn hide_run_points(
    runs: Query<(Entity, Ref<CloudEntities>, Option<Ref<PaintDraft>>)>,
    mut removed: RemovedComponents<PaintDraft>,
    all: Query<&CloudEntities>,
    view: Res<ViewSettings>,
    mut points: Query<(&CloudRole, &mut Visibility), Without<PaintPoint>>,
    mut hidden: Query<&mut PointsHidden>,
) {
    for (run, entities, draft) in &runs {
        if let Some(draft) = draft
            && (entities.is_changed() || draft.is_added())
        {
            if let Ok(mut hidden) = hidden.get_mut(run) {
                hidden.set_if_neq(PointsHidden(true));
            }
            let mut iter = points.iter_many_mut(entities.fixed.iter().chain(&entities.moving));
            while let Some((_, mut visibility)) = iter.fetch_next() {
                visibility.set_if_neq(Visibility::Hidden);
            }
        }
    }
    for run in removed.read() {
        if let Ok(mut hidden) = hidden.get_mut(run) {
            hidden.set_if_neq(PointsHidden(false));
        }
        let Ok(entities) = all.get(run) else { continue };
        let mut iter = points.iter_many_mut(entities.fixed.iter().chain(&entities.moving));
        while let Some((role, mut visibility)) = iter.fetch_next() {
            visibility.set_if_neq(view.visibility(*role));
        }
    }
}

/// The draft's preview points: one entity per point on the run's layer,
/// updated from the first stale index on; dropped with the draft.
#[allow(clippy::type_complexity)]
fn sync_preview(
    mut commands: Commands,
    mut runs: Query<(Entity, &RunId, &ActiveScene, &CloudBounds, &mut PaintDraft)>,
    mut removed: RemovedComponents<PaintDraft>,
    mut previews: Query<(Entity, &OfRun, &mut Transform), With<PaintPoint>>,
    assets: Option<Res<CloudAssets>>,
    view: Res<ViewSettings>,
) {
    for run in removed.read() {
        for (e, of, _) in &previews {
            if of.0 == run {
                commands.entity(e).despawn();
            }
        }
    }
    for (run, id, active, bounds, mut draft) in &mut runs {
        let scale = bounds.base_point_radius() * view.point_size;
        if draft.scale != scale {
            // A new point size: every preview point is redrawn.
            let draft = draft.bypass_change_detection();
            draft.scale = scale;
            draft.stale = [Some(0), Some(0)];
        } else if !draft.is_changed() {
            continue;
        }
        let direction = active.scene().map_or(Direction::Forward, |s| s.direction);
        let draft = draft.bypass_change_detection();
        for cloud in [PaintCloud::Target, PaintCloud::Source] {
            let i = cloud.index();
            let Some(from) = draft.stale[i].take() else { continue };
            let points = &draft.clouds[i];
            let entities = &mut draft.preview[i];
            for e in entities.drain(points.len().min(entities.len())..) {
                commands.entity(e).despawn();
            }
            for (k, p) in points.iter().enumerate().skip(from) {
                let transform = Transform::from_xyz(p[0], p[1], 0.0).with_scale(Vec3::splat(scale));
                match entities.get(k) {
                    Some(e) => {
                        if let Ok((_, _, mut t)) = previews.get_mut(*e) {
                            *t = transform;
                        }
                    }
                    None => {
                        let mut e = commands.spawn((
                            PaintPoint(cloud),
                            OfRun(run),
                            super::render::run_layer(*id),
                            transform,
                            Visibility::Inherited,
                        ));
                        if let Some(a) = &assets {
                            let material = if cloud.is_fixed(direction) { a.fixed.clone() } else { a.moving.clone() };
                            e.insert((Mesh3d(a.mesh.clone()), MeshMaterial3d(material)));
                        }
                        entities.push(e.id());
                    }
                }
            }
        }
    }
}

/// The window part: pointer to strokes, the orbit camera off the left
/// button while the brush is on, and the brush circle under the pointer.
pub struct BrushWindowPlugin;

impl Plugin for BrushWindowPlugin {
    fn build(&self, app: &mut App) {
        app.init_resource::<BrushCursor>()
            .add_systems(Update, pointer_to_brush.in_set(BrushSystems::Pointer))
            .add_systems(
                Update,
                (draw_brush, free_left_button).after(BrushSystems::Apply).in_set(crate::app::schedule::AppSet::Control),
            );
    }
}

/// Where the pointer meets the plane in the focused view (None: not over it).
#[derive(Resource, Debug, Default, Clone, Copy, PartialEq)]
pub struct BrushCursor(pub Option<Vec2>);

/// Where a ray meets the z = 0 plane, as (x, y); None when it runs along
/// the plane or away from it.
pub fn ray_on_plane(ray: Ray3d) -> Option<Vec2> {
    let distance = ray.intersect_plane(Vec3::ZERO, InfinitePlane3d::new(Vec3::Z))?;
    Some(ray.get_point(distance).truncate())
}

/// The cursor (logical window pixels) on the z = 0 plane through `camera`;
/// None outside its viewport.
pub fn cursor_on_plane(camera: &Camera, transform: &GlobalTransform, cursor: Vec2) -> Option<Vec2> {
    let rect = camera.logical_viewport_rect()?;
    if !rect.contains(cursor) {
        return None;
    }
    camera.viewport_to_world(transform, cursor).ok().and_then(ray_on_plane)
}

/// Turns the left button in the focused view into [`BrushInput`] while the
/// brush is on. egui wins: a press over a panel or a window (now or last
/// frame, as egui reports a frame late) starts no stroke.
#[allow(clippy::too_many_arguments)]
fn pointer_to_brush(
    buttons: Res<ButtonInput<MouseButton>>,
    window: Query<&Window, With<bevy::window::PrimaryWindow>>,
    wants: Option<Res<bevy_egui::input::EguiWantsInput>>,
    runs: Query<Entity, (With<Focused>, With<PaintDraft>)>,
    cameras: Query<(&Camera, &GlobalTransform, &super::render::ViewOf)>,
    mut cursor: ResMut<BrushCursor>,
    mut out: MessageWriter<BrushInput>,
    mut egui_last: Local<bool>,
    mut down: Local<Option<Vec2>>,
) {
    let egui_now = wants.is_some_and(|w| w.wants_any_pointer_input() || w.is_pointer_over_area());
    let egui_blocks = egui_now || *egui_last;
    *egui_last = egui_now;
    let run = runs.single().ok();
    let pos = run.and_then(|run| {
        let position = window.single().ok()?.cursor_position()?;
        let (camera, transform, _) = cameras.iter().find(|c| c.2.0 == run)?;
        cursor_on_plane(camera, transform, position)
    });
    let shown = pos.filter(|_| !egui_blocks || down.is_some());
    cursor.set_if_neq(BrushCursor(shown));
    if run.is_none() {
        if down.take().is_some() {
            out.write(BrushInput::Up);
        }
        return;
    }
    match *down {
        None => {
            if buttons.just_pressed(MouseButton::Left)
                && !egui_blocks
                && let Some(p) = pos
            {
                out.write(BrushInput::Down(p));
                *down = Some(p);
            }
        }
        Some(last) => {
            if !buttons.pressed(MouseButton::Left) {
                out.write(BrushInput::Up);
                *down = None;
            } else if let Some(p) = pos
                && p != last
            {
                out.write(BrushInput::Move(p));
                *down = Some(p);
            }
        }
    }
}

/// A mouse button no mouse has: the orbit camera's left-button actions are
/// parked on it while the brush is on.
const PARKED: MouseButton = MouseButton::Other(0xB0B);

/// While the brush is on, the left button paints: the orbit camera's
/// actions on it are parked, and given back when the brush goes off.
fn free_left_button(
    painting: Query<(), (With<Focused>, With<PaintDraft>)>,
    mut cameras: Query<&mut bevy_panorbit_camera::PanOrbitCamera>,
) {
    let on = !painting.is_empty();
    let (from, to) = if on { (MouseButton::Left, PARKED) } else { (PARKED, MouseButton::Left) };
    for mut cam in &mut cameras {
        if cam.button_orbit == from {
            cam.button_orbit = to;
        }
        if cam.button_pan == from {
            cam.button_pan = to;
        }
    }
}

/// The brush as a circle under the pointer (layer 0: only the focused view).
fn draw_brush(
    mut gizmos: Gizmos,
    cursor: Res<BrushCursor>,
    settings: Res<BrushSettings>,
    runs: Query<&ActiveScene, (With<Focused>, With<PaintDraft>)>,
) {
    let (Some(pos), Ok(active)) = (cursor.0, runs.single()) else { return };
    let direction = active.scene().map_or(Direction::Forward, |s| s.direction);
    let colour = if settings.erase { Color::srgb(0.75, 0.1, 0.1) } else { settings.cloud.colour(direction) };
    let centre = Isometry3d::from_translation(pos.extend(0.0));
    gizmos.circle(centre, settings.radius, colour).resolution(64);
    // A second, slightly smaller ring keeps the circle visible on both clouds.
    gizmos.circle(centre, settings.radius * 0.97, Color::srgba(0.1, 0.1, 0.1, 0.6)).resolution(64);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(radius: f32, density: f32) -> BrushSettings {
        BrushSettings { radius, density, ..default() }
    }

    #[test]
    fn a_stroke_paints_where_the_pointer_went() {
        let mut draft = PaintDraft::new(Vec::new(), vec![[9.0, 9.0]], 1);
        draft.begin(&settings(0.25, 200.0), [0.0, 0.0]).expect("a usable brush");
        for k in 1..=20 {
            draft.drag_to([k as f32 * 0.1, 0.0]);
        }
        draft.end();
        let target = draft.points(PaintCloud::Target);
        assert!(target.len() > 100, "{}", target.len());
        // Every point lies within the radius of the path from (0,0) to (2,0).
        for p in target {
            let along = p[0].clamp(0.0, 2.0);
            assert!((p[0] - along).hypot(p[1]) <= 0.25 * 1.0001, "{p:?} is off the path");
        }
        // And the whole path is covered: each tenth of it got points.
        for k in 0..20 {
            let x = k as f32 * 0.1;
            assert!(target.iter().any(|p| p[0] >= x && p[0] < x + 0.1), "nothing near x = {x}");
        }
        assert_eq!(draft.points(PaintCloud::Source), &[[9.0, 9.0]], "the other cloud is untouched");
        // Moves after the stroke ended paint nothing.
        let n = target.len();
        draft.drag_to([5.0, 5.0]);
        assert_eq!(draft.points(PaintCloud::Target).len(), n);
    }

    #[test]
    fn strokes_never_repeat_a_pattern() {
        let mut draft = PaintDraft::new(Vec::new(), Vec::new(), 4);
        let s = settings(0.5, 40.0);
        draft.begin(&s, [0.0, 0.0]).expect("brush");
        draft.end();
        draft.begin(&s, [0.0, 0.0]).expect("brush");
        draft.end();
        let points = draft.points(PaintCloud::Target);
        let half = points.len() / 2;
        assert_eq!(points.len(), 2 * half);
        assert_ne!(points[..half], points[half..], "the second dab repeats the first");
    }

    #[test]
    fn erasing_removes_the_points_under_the_path_only() {
        let grid: Vec<[f32; 2]> =
            (0..=40).flat_map(|i| (0..=40).map(move |j| [i as f32 * 0.1 - 2.0, j as f32 * 0.1 - 2.0])).collect();
        let mut draft = PaintDraft::new(grid.clone(), grid.clone(), 2);
        let eraser = BrushSettings { erase: true, cloud: PaintCloud::Source, ..settings(0.25, 10.0) };
        draft.begin(&eraser, [-1.0, 0.0]).expect("brush");
        draft.drag_to([0.3, 0.0]);
        draft.drag_to([1.0, 0.0]);
        draft.end();
        let left = draft.points(PaintCloud::Source);
        assert!(left.len() < grid.len());
        let from_path = |p: &[f32; 2]| (p[0] - p[0].clamp(-1.0, 1.0)).hypot(p[1]);
        // Discs r / 2 apart along the path clear a band at least 0.2 wide on each side.
        assert!(left.iter().all(|p| from_path(p) > 0.2), "a point on the path survived");
        assert!(grid.iter().filter(|p| from_path(p) > 0.2501).all(|p| left.contains(p)), "a point off the path went");
        assert_eq!(draft.points(PaintCloud::Target), grid.as_slice(), "only the chosen cloud is erased");
        assert_eq!(draft.stale[PaintCloud::Source.index()], Some(0));
    }

    #[test]
    fn clear_and_revert() {
        let mut draft = PaintDraft::new(vec![[1.0, 2.0]], vec![[3.0, 4.0]], 0);
        draft.clear(PaintCloud::Target);
        assert!(draft.points(PaintCloud::Target).is_empty());
        draft.begin(&settings(0.1, 100.0), [0.0, 0.0]).expect("brush");
        draft.end();
        assert!(!draft.points(PaintCloud::Target).is_empty());
        draft.revert();
        assert_eq!(draft.points(PaintCloud::Target), &[[1.0, 2.0]]);
        assert_eq!(draft.edits, 0);
    }

    #[test]
    fn a_brush_that_cannot_be_used_says_why_and_paints_nothing() {
        let mut draft = PaintDraft::new(Vec::new(), Vec::new(), 0);
        let e = draft.begin(&settings(100.0, 100.0), [0.0, 0.0]).unwrap_err();
        assert!(e.contains("lower the radius or the density"), "{e}");
        assert!(!draft.stroking());
        draft.drag_to([1.0, 1.0]);
        assert!(draft.points(PaintCloud::Target).is_empty());
    }

    #[test]
    fn only_2d_particle_scenes_can_be_painted() {
        let parse = |text: &str| crate::scene::SceneFile::parse(Path::new("t.ron"), text.into()).expect("parses").scene;
        let base = |target: &str, source: &str| {
            format!(
                "(name: \"t\", target: {target}, source: {source}, method: Sd, \
                 schedule: Constant(sigma2: 1.0), steps: 10)"
            )
        };
        let flat = parse(&base("Grid25(points: 50)", "Ring(points: 50)"));
        assert_eq!(paint_blocker(Some(&flat), true), None);
        let solid = parse(&base("Mystery(points: 50)", "Gaussian(points: 50, mean: [0.0, 0.0, 0.0], std: 1.0)"));
        let why = paint_blocker(Some(&solid), false).expect("3-D is refused");
        assert!(why.contains("2-D") && why.contains("3-D"), "{why}");
        let csv = parse(&base("Csv(path: \"a.csv\")", "Csv(path: \"b.csv\")"));
        assert_eq!(paint_blocker(Some(&csv), true), None);
        assert!(paint_blocker(Some(&csv), false).is_some());
        assert!(paint_blocker(None, true).is_some());
        let cloud3 = Cloud::new(3, vec![0.0; 6]);
        assert!(points_2d(&cloud3, "target").unwrap_err().contains("3-D"));
        assert_eq!(points_2d(&Cloud::new(2, vec![1.0, 2.0]), "target"), Ok(vec![[1.0, 2.0]]));
    }

    #[test]
    fn sliders_and_defaults_scale_with_the_scene() {
        for r in [0.5f32, 5.0, 50.0] {
            let mut s = BrushSettings::default();
            s.fit(r);
            assert!(BrushSettings::radius_range(r).contains(&s.radius));
            assert!(BrushSettings::density_range(r).contains(&s.density), "{r}: {}", s.density);
            let brush = s.brush().expect("the defaults are usable");
            assert_eq!(brush.count(), 25);
        }
    }

    #[test]
    fn rays_meet_the_plane() {
        let down = Ray3d::new(Vec3::new(1.0, 2.0, 10.0), Dir3::NEG_Z);
        assert_eq!(ray_on_plane(down), Some(Vec2::new(1.0, 2.0)));
        let slanted = Ray3d::new(Vec3::new(0.0, 0.0, 2.0), Dir3::new(Vec3::new(1.0, 0.0, -1.0)).expect("dir"));
        let hit = ray_on_plane(slanted).expect("hits");
        assert!((hit - Vec2::new(2.0, 0.0)).length() < 1e-5, "{hit}");
        assert_eq!(ray_on_plane(Ray3d::new(Vec3::Z, Dir3::Z)), None, "pointing away");
        assert_eq!(ray_on_plane(Ray3d::new(Vec3::Z, Dir3::X)), None, "along the plane");
    }

    #[test]
    fn the_cursor_meets_the_plane_inside_the_focused_viewport_only() {
        use bevy::camera::{ComputedCameraValues, RenderTargetInfo, Viewport};
        // A view right of a 300-pixel panel in a 1280 x 760 window at scale 2,
        // the camera 10 units above the origin looking down -z.
        let (fov, scale) = (std::f32::consts::FRAC_PI_2, 2.0);
        let size = UVec2::new(680, 700) * 2;
        let camera = Camera {
            viewport: Some(Viewport { physical_position: UVec2::new(300, 0) * 2, physical_size: size, ..default() }),
            computed: ComputedCameraValues {
                clip_from_view: Mat4::perspective_infinite_reverse_rh(fov, 680.0 / 700.0, 0.1),
                target_info: Some(RenderTargetInfo { physical_size: UVec2::new(1280, 760) * 2, scale_factor: scale }),
                ..default()
            },
            ..default()
        };
        let transform = GlobalTransform::from(Transform::from_xyz(1.0, 2.0, 10.0));
        let centre = cursor_on_plane(&camera, &transform, Vec2::new(640.0, 350.0)).expect("on the plane");
        assert!((centre - Vec2::new(1.0, 2.0)).length() < 1e-4, "{centre}");
        // The top edge of the view is tan(45 degrees) x 10 above the centre.
        let top = cursor_on_plane(&camera, &transform, Vec2::new(640.0, 0.0)).expect("on the plane");
        assert!((top - Vec2::new(1.0, 12.0)).length() < 1e-3, "{top}");
        let right = cursor_on_plane(&camera, &transform, Vec2::new(980.0, 350.0)).expect("on the plane");
        assert!((right.x - (1.0 + 10.0 * 680.0 / 700.0)).abs() < 1e-3, "{right}");
        // Over the panel: not in this view.
        assert_eq!(cursor_on_plane(&camera, &transform, Vec2::new(200.0, 350.0)), None);
    }

    #[test]
    fn painted_files_get_fresh_names_and_an_empty_cloud_is_refused() {
        let dir = std::env::temp_dir().join(format!("sdflow-paint-names-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("dir");
        assert_eq!(next_paint_stem(&dir), "painted-001");
        std::fs::write(dir.join("painted-001-source.csv"), "x").expect("write");
        assert_eq!(next_paint_stem(&dir), "painted-002");
        let scene = crate::scene::SceneFile::parse(
            Path::new("t.ron"),
            "(name: \"t\", target: Grid25(points: 5), source: Ring(points: 5), method: Sd, \
             schedule: Constant(sigma2: 1.0), steps: 10)"
                .into(),
        )
        .expect("parses")
        .scene;
        let draft = PaintDraft::new(vec![[0.0, 0.0]], Vec::new(), 0);
        let e = write_painted(&dir, &scene, &draft).unwrap_err();
        assert!(e.contains("source is empty"), "{e}");
        assert!(!dir.join("painted-002.ron").exists());
    }
}
