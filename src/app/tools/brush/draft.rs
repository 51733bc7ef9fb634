//! The brush's pure part: the draft of a run's two clouds and how strokes,
//! erasing, clearing and reverting change it, the brush as set in the panel,
//! and which scenes can be painted. No systems here: the draft is edited the
//! same way by the systems and by the tests.

use std::path::Path;

use bevy::prelude::*;

use crate::engine::brush::{Brush, Stroke, StrokeSampler, erase, in_disc, painted_cloud};
use crate::engine::{Cloud, Dataset};
use crate::scene::{PaintRefusal, Scene, SceneCloud};

/// The brush as set in the panel (scene units).
#[derive(Resource, Debug, Clone, PartialEq)]
pub struct BrushSettings {
    pub cloud: SceneCloud,
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
        Self { cloud: SceneCloud::Target, erase: false, radius: 0.3, density: 100.0, fitted_to: None }
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

/// One drag in progress.
#[derive(Debug, Clone)]
enum ActiveStroke {
    Paint { cloud: SceneCloud, stroke: Stroke },
    Erase { cloud: SceneCloud, radius: f32, sampler: StrokeSampler },
}

/// The clouds being painted for a run, with the preview entities that show them.
#[derive(Component, Debug, Clone)]
pub struct PaintDraft {
    /// Target and source points (indexed by [`SceneCloud`]).
    pub(super) clouds: [Vec<[f32; 2]>; 2],
    /// The scene's clouds when the brush was turned on (for [`PaintRequest::Revert`](super::PaintRequest::Revert)).
    original: [Vec<[f32; 2]>; 2],
    /// Stamps get (seed, index) noise streams; the index runs on across strokes.
    seed: u64,
    next_index: u64,
    stroke: Option<ActiveStroke>,
    /// The run's load the draft was taken from; another load ends the session.
    pub(super) generation: u64,
    /// Preview entities, one per point, per cloud.
    pub(super) preview: [Vec<Entity>; 2],
    /// Per cloud, the first index whose preview is out of date.
    pub(super) stale: [Option<usize>; 2],
    /// Size of the preview points as drawn.
    pub(super) scale: f32,
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
            preview: [Vec::new(), Vec::new()],
            stale,
            scale: 0.0,
            edits: 0,
        }
    }

    /// The points of one cloud.
    pub fn points(&self, cloud: SceneCloud) -> &[[f32; 2]] {
        &self.clouds[cloud.index()]
    }

    /// Whether a stroke is under way.
    pub fn stroking(&self) -> bool {
        self.stroke.is_some()
    }

    fn mark(&mut self, cloud: SceneCloud, from: usize) {
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
    pub fn clear(&mut self, cloud: SceneCloud) {
        self.clouds[cloud.index()].clear();
        self.edits += 1;
        self.mark(cloud, 0);
    }

    /// Puts the scene's clouds back.
    pub fn revert(&mut self) {
        self.clouds = self.original.clone();
        self.edits = 0;
        self.stroke = None;
        self.mark(SceneCloud::Target, 0);
        self.mark(SceneCloud::Source, 0);
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
    match scene.paint_refusal() {
        Some(PaintRefusal::Generator) => {
            return Some(
                "this scene trains a generator: its moving cloud is the network's output, so there is nothing to paint"
                    .into(),
            );
        }
        Some(PaintRefusal::Dim(d)) => {
            return Some(format!(
                "the brush paints on a plane: it works in 2-D scenes, and this one is {d}-D \
                 (try Grid25, TwoMoons, Ring or a 2-D Swiss roll)"
            ));
        }
        None => {}
    }
    let dims = [Some(&scene.target), scene.source.as_ref()].map(|d| d.and_then(Dataset::dim));
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
        let target = draft.points(SceneCloud::Target);
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
        assert_eq!(draft.points(SceneCloud::Source), &[[9.0, 9.0]], "the other cloud is untouched");
        // Moves after the stroke ended paint nothing.
        let n = target.len();
        draft.drag_to([5.0, 5.0]);
        assert_eq!(draft.points(SceneCloud::Target).len(), n);
    }

    #[test]
    fn strokes_never_repeat_a_pattern() {
        let mut draft = PaintDraft::new(Vec::new(), Vec::new(), 4);
        let s = settings(0.5, 40.0);
        draft.begin(&s, [0.0, 0.0]).expect("brush");
        draft.end();
        draft.begin(&s, [0.0, 0.0]).expect("brush");
        draft.end();
        let points = draft.points(SceneCloud::Target);
        let half = points.len() / 2;
        assert_eq!(points.len(), 2 * half);
        assert_ne!(points[..half], points[half..], "the second dab repeats the first");
    }

    #[test]
    fn erasing_removes_the_points_under_the_path_only() {
        let grid: Vec<[f32; 2]> =
            (0..=40).flat_map(|i| (0..=40).map(move |j| [i as f32 * 0.1 - 2.0, j as f32 * 0.1 - 2.0])).collect();
        let mut draft = PaintDraft::new(grid.clone(), grid.clone(), 2);
        let eraser = BrushSettings { erase: true, cloud: SceneCloud::Source, ..settings(0.25, 10.0) };
        draft.begin(&eraser, [-1.0, 0.0]).expect("brush");
        draft.drag_to([0.3, 0.0]);
        draft.drag_to([1.0, 0.0]);
        draft.end();
        let left = draft.points(SceneCloud::Source);
        assert!(left.len() < grid.len());
        let from_path = |p: &[f32; 2]| (p[0] - p[0].clamp(-1.0, 1.0)).hypot(p[1]);
        // Discs r / 2 apart along the path clear a band at least 0.2 wide on each side.
        assert!(left.iter().all(|p| from_path(p) > 0.2), "a point on the path survived");
        assert!(grid.iter().filter(|p| from_path(p) > 0.2501).all(|p| left.contains(p)), "a point off the path went");
        assert_eq!(draft.points(SceneCloud::Target), grid.as_slice(), "only the chosen cloud is erased");
        assert_eq!(draft.stale[SceneCloud::Source.index()], Some(0));
    }

    #[test]
    fn clear_and_revert() {
        let mut draft = PaintDraft::new(vec![[1.0, 2.0]], vec![[3.0, 4.0]], 0);
        draft.clear(SceneCloud::Target);
        assert!(draft.points(SceneCloud::Target).is_empty());
        draft.begin(&settings(0.1, 100.0), [0.0, 0.0]).expect("brush");
        draft.end();
        assert!(!draft.points(SceneCloud::Target).is_empty());
        draft.revert();
        assert_eq!(draft.points(SceneCloud::Target), &[[1.0, 2.0]]);
        assert_eq!(draft.edits, 0);
    }

    #[test]
    fn a_brush_that_cannot_be_used_says_why_and_paints_nothing() {
        let mut draft = PaintDraft::new(Vec::new(), Vec::new(), 0);
        let e = draft.begin(&settings(100.0, 100.0), [0.0, 0.0]).unwrap_err();
        assert!(e.contains("lower the radius or the density"), "{e}");
        assert!(!draft.stroking());
        draft.drag_to([1.0, 1.0]);
        assert!(draft.points(SceneCloud::Target).is_empty());
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
}
