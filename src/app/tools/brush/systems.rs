//! The brush's systems, headless-capable: the Paint section's requests
//! (brush on and off, clear, revert, use), strokes arriving as
//! [`BrushInput`] in scene coordinates, the run held paused and its own
//! points hidden while it is painted, and the draft's preview points.

use std::path::PathBuf;

use bevy::ecs::system::SystemParam;
use bevy::prelude::*;

use super::draft::{BrushSettings, PaintDraft, paint_blocker, points_2d};
use super::save::write_painted;
use crate::app::run::{ActiveScene, Draft, Focused, LoadInto, OfRun, PlaybackCommand, RunId, RunLink, SceneRequest};
use crate::app::schedule::AppSet;
use crate::app::view::clouds::{
    CloudAssets, CloudBounds, CloudEntities, CloudRole, FIXED_COLOR, MOVING_COLOR, PointsHidden, ViewSettings,
    run_layer,
};
use crate::engine::Direction;
use crate::scene::SceneCloud;

/// Default folder for painted clouds and their scenes (relative to the
/// working directory, like `screenshots/`).
pub const PAINT_DIR: &str = "painted";

/// The colour the view gives a scene's cloud.
pub trait CloudColour {
    /// The fixed colour for the cloud that stays, the moving one for the
    /// cloud the flow moves, in a scene of `direction`.
    fn colour(self, direction: Direction) -> Color;
}

impl CloudColour for SceneCloud {
    fn colour(self, direction: Direction) -> Color {
        if self.is_fixed(direction) { FIXED_COLOR } else { MOVING_COLOR }
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
    Clear(SceneCloud),
    /// Put the scene's clouds back into the draft.
    Revert,
    /// Write the draft as CSV, save a scene of it and load it into the run.
    Use,
}

/// A preview point of a draft.
#[derive(Component, Debug, Clone, Copy, PartialEq, Eq)]
pub struct PaintPoint(pub SceneCloud);

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
                (BrushSystems::Pointer, BrushSystems::Apply, BrushSystems::Show).chain().in_set(AppSet::Control),
            )
            .add_systems(
                Update,
                (handle_paint_requests, end_stale_sessions, apply_brush_input).chain().in_set(BrushSystems::Apply),
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

/// The brush's own resources: the panel's settings, what it last said and
/// where painted clouds are written.
#[derive(SystemParam)]
struct BrushState<'w> {
    settings: ResMut<'w, BrushSettings>,
    notice: ResMut<'w, PaintNotice>,
    folder: Res<'w, PaintFolder>,
}

fn handle_paint_requests(
    mut requests: MessageReader<PaintRequest>,
    mut runs: Query<PaintRun, With<Focused>>,
    brush: BrushState,
    mut playback: MessageWriter<PlaybackCommand>,
    mut loads: MessageWriter<LoadInto>,
    mut commands: Commands,
) {
    let BrushState { mut settings, mut notice, folder } = brush;
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
                    playback.write(PlaybackCommand::Hold);
                    commands.entity(run).insert(new);
                    *notice = PaintNotice::default();
                }
                Err(why) => notice.fail(format!("The brush cannot start: {why}")),
            },
            (PaintRequest::Start, Some(_)) => {}
            (PaintRequest::Stop, Some(_)) => {
                playback.write(PlaybackCommand::Release);
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
                        playback.write(PlaybackCommand::Release);
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
    mut playback: MessageWriter<PlaybackCommand>,
    mut notice: ResMut<PaintNotice>,
    mut commands: Commands,
) {
    for (run, draft, link, focused) in &runs {
        if !focused || link.generation != draft.generation {
            playback.write(PlaybackCommand::Release);
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

/// A run with a draft, as its preview needs it.
type PreviewRun = (Entity, &'static RunId, &'static ActiveScene, &'static CloudBounds, &'static mut PaintDraft);
/// A preview point: its run and where it is drawn.
type PreviewPoint = (Entity, &'static OfRun, &'static mut Transform);

/// The draft's preview points: one entity per point on the run's layer,
/// updated from the first stale index on; dropped with the draft.
fn sync_preview(
    mut commands: Commands,
    mut runs: Query<PreviewRun>,
    mut removed: RemovedComponents<PaintDraft>,
    mut previews: Query<PreviewPoint, With<PaintPoint>>,
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
        for cloud in SceneCloud::BOTH {
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
                            run_layer(*id),
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
