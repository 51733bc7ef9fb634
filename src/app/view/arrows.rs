//! Arrows for the flow's last step: where each point was pushed.
//!
//! Every run keeps the moving cloud's previous state in its
//! [`Displacement`] and, when a new state arrives, the displacement new minus
//! previous of every point (a load, reset or respawn has none). A seeded
//! subsample of the points ([`arrow_count`]: one in [`ARROW_EVERY`], at
//! most [`MAX_ARROWS`]) gets an arrow ([`Arrows`]):
//! its tail on the point, along the displacement, scaled by the run's own
//! factor ([`ArrowScale`], written on its view: a round 1-2-5 number so a typical arrow, the
//! 90th percentile, is about [`TYPICAL_SHARE`] of the clouds' radius; the
//! few longer than [`ARROW_SHARE`] of it are cut to that length, so one far
//! point cannot shrink every other arrow to nothing).
//!
//! [`ArrowsPlugin`] computes all that headless (O(N) per new state, nothing
//! per frame); [`ArrowsRenderPlugin`] draws each run's arrows as one
//! `LineList` mesh on the run's render layer, so each view shows its own.

use bevy::asset::RenderAssetUsages;
use bevy::camera::visibility::NoFrustumCulling;
use bevy::mesh::PrimitiveTopology;
use bevy::prelude::*;

use crate::engine::metrics::quantile_in_place;

use super::clouds::{CloudBounds, run_layer};
use crate::app::run::{ActiveScene, MovingPositions, OfRun, RunId, RunProgress};
use crate::app::schedule::DeriveSet;

/// Most arrows drawn per run.
pub const MAX_ARROWS: usize = 300;
/// Arrows go to one point in this many (so a small cloud is not buried
/// under them), but to at least [`MIN_ARROWS`] points and at most [`MAX_ARROWS`].
pub const ARROW_EVERY: usize = 4;
pub const MIN_ARROWS: usize = 50;
/// No arrow is drawn longer than this share of the clouds' bounding radius.
pub const ARROW_SHARE: f32 = 0.4;
/// A typical arrow ([`TYPICAL_QUANTILE`] of the shown lengths) is drawn at
/// most this share of the radius (and more than 2/5 of it: the scale is a
/// 1-2-5 number).
pub const TYPICAL_SHARE: f32 = 0.2;
pub const TYPICAL_QUANTILE: f64 = 0.9;
/// Arrow heads: this share of the arrow's length, at this angle to the shaft.
const HEAD_SHARE: f32 = 0.3;
const HEAD_ANGLE_DEG: f32 = 25.0;
/// Dark grey, partly transparent: reads on the light background and on
/// every point colour, and lets the points under a dense bundle show.
pub const ARROW_COLOR: Color = Color::srgba(0.13, 0.13, 0.13, 0.65);

/// Whether arrows are drawn (the View panel's switch, `--arrows`).
#[derive(Resource, Debug, Clone, Default, PartialEq, Eq)]
pub struct ArrowSettings {
    pub show: bool,
}

/// A run's moving cloud one state back, and the displacement to the current
/// state.
#[derive(Component, Debug, Default, Clone)]
pub struct Displacement {
    previous: Vec<f32>,
    previous_generation: u64,
    previous_step: usize,
    /// Current minus previous position (x, y, z per point); empty when the
    /// current state has no predecessor (a load, a reset, a respawn, a step back).
    pub vectors: Vec<f32>,
    /// Steps the displacement spans: (from, to). A reply may carry several
    /// steps when the flow runs faster than the frames.
    pub steps: Option<(usize, usize)>,
}

impl Displacement {
    /// Takes the state `positions` at `step` of load `generation`: the
    /// displacement from the previous state when this one follows it.
    pub fn advance(&mut self, generation: u64, step: usize, positions: &[f32]) {
        let follows = !self.previous.is_empty()
            && self.previous_generation == generation
            && self.previous.len() == positions.len()
            && step > self.previous_step;
        self.vectors.clear();
        self.steps = None;
        if follows {
            self.vectors.extend(positions.iter().zip(&self.previous).map(|(now, before)| now - before));
            self.steps = Some((self.previous_step, step));
        }
        self.previous.clear();
        self.previous.extend_from_slice(positions);
        self.previous_generation = generation;
        self.previous_step = step;
    }

    /// Length of each point's displacement (empty when there is none).
    pub fn lengths(&self) -> Vec<f32> {
        self.vectors.chunks_exact(3).map(|d| Vec3::new(d[0], d[1], d[2]).length()).collect()
    }
}

/// The arrows of a run: the shown points' positions and displacements
/// (unscaled).
#[derive(Component, Debug, Default, Clone)]
pub struct Arrows {
    /// Which points have an arrow (indices into the moving cloud, sorted).
    pub indices: Vec<u32>,
    /// (cloud size, seed) the indices were drawn for.
    drawn_for: Option<(usize, u64)>,
    /// Position of each shown point (the arrow's tail).
    pub tails: Vec<Vec3>,
    /// Displacement of each shown point; empty when the state has none.
    pub vectors: Vec<Vec3>,
    /// The cloud is flat (z = 0): heads in the plane.
    pub flat: bool,
}

impl Arrows {
    /// Length of the longest shown displacement (0 when there is none).
    pub fn longest(&self) -> f32 {
        self.vectors.iter().map(|v| v.length()).filter(|l| l.is_finite()).fold(0.0, f32::max)
    }

    /// Lengths of the shown displacements.
    pub fn lengths(&self) -> impl Iterator<Item = f32> + '_ {
        self.vectors.iter().map(|v| v.length())
    }
}

/// A run's arrow factor. Each run has its own, written on its view: side
/// by side, one flow may move its points many times farther than the other,
/// and one shared factor would shrink the slower run's arrows to nothing.
#[derive(Component, Debug, Clone, Copy, Default, PartialEq)]
pub struct ArrowScale {
    /// Drawn length / displacement; None while the run has no displacement.
    pub scale: Option<f32>,
    /// Longest drawn arrow ([`ARROW_SHARE`] of the cloud's radius).
    pub cap: f32,
}

impl ArrowScale {
    /// "arrows x20", for the panel.
    pub fn label(&self) -> Option<String> {
        self.scale.map(|s| format!("arrows {}", scale_label(s)))
    }
}

/// How many of `n` points get an arrow: one in [`ARROW_EVERY`], within
/// [`MIN_ARROWS`]..=[`MAX_ARROWS`] (all of a cloud smaller than the minimum).
pub fn arrow_count(n: usize) -> usize {
    (n / ARROW_EVERY).clamp(n.min(MIN_ARROWS), MAX_ARROWS)
}

/// `n` point indices to draw arrows at: all when `n <= max`, otherwise
/// `max` of them drawn without replacement by a generator seeded with
/// `seed`, sorted. The same (n, max, seed) always gives the same set, so
/// runs on the same seed side by side show arrows at the same points.
pub fn subsample(n: usize, max: usize, seed: u64) -> Vec<u32> {
    if n <= max {
        return (0..n as u32).collect();
    }
    let mut state = seed ^ 0x9E37_79B9_7F4A_7C15;
    let mut next = move || {
        // splitmix64
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    };
    let mut all: Vec<u32> = (0..n as u32).collect();
    // Partial Fisher-Yates: the first `max` slots are a uniform sample.
    for i in 0..max {
        let j = i + (next() % (n - i) as u64) as usize;
        all.swap(i, j);
    }
    all.truncate(max);
    all.sort_unstable();
    all
}

/// The largest 1-2-5 number at most `x` (x > 0 and finite).
fn nice_floor(x: f32) -> f32 {
    let p = 10f32.powf(x.log10().floor());
    let m = x / p;
    // A hair of slack so that exact 2 and 5 are kept despite rounding.
    let k = if m >= 5.0 - 1e-4 {
        5.0
    } else if m >= 2.0 - 1e-4 {
        2.0
    } else {
        1.0
    };
    k * p
}

/// The [`TYPICAL_QUANTILE`] of the finite, positive `lengths` (0 when none).
pub fn typical_length(lengths: impl IntoIterator<Item = f32>) -> f32 {
    let mut l: Vec<f32> = lengths.into_iter().filter(|l| l.is_finite() && *l > 0.0).collect();
    if l.is_empty() {
        return 0.0;
    }
    quantile_in_place(&mut l, TYPICAL_QUANTILE)
}

/// The arrows' scale: a round factor that draws the `typical` displacement
/// at most [`TYPICAL_SHARE`] of `radius` (and more than 2/5 of that); None
/// when nothing moved.
pub fn arrow_scale(typical: f32, radius: f32) -> Option<f32> {
    if !(typical.is_finite() && typical > 0.0 && radius.is_finite() && radius > 0.0) {
        return None;
    }
    let raw = TYPICAL_SHARE * radius / typical;
    (raw.is_finite() && raw > 0.0).then(|| nice_floor(raw))
}

/// While the flow plays, the scale stays put as long as a typical arrow is
/// drawn between these shares of its target length ([`TYPICAL_SHARE`] of
/// the radius), so arrows do not jump between round factors step by step.
pub const KEEP_SCALE: std::ops::RangeInclusive<f32> = 0.3..=1.5;

/// The scale to draw with now: `current` while it keeps a typical arrow
/// within [`KEEP_SCALE`], else a fresh [`arrow_scale`]; None when nothing moved.
pub fn next_scale(current: Option<f32>, typical: f32, radius: f32) -> Option<f32> {
    let fresh = arrow_scale(typical, radius)?;
    match current {
        Some(s) if KEEP_SCALE.contains(&(s * typical / (TYPICAL_SHARE * radius))) => Some(s),
        _ => Some(fresh),
    }
}

/// "x20", "x0.5", "x2e-3": a scale factor as short text.
pub fn scale_label(scale: f32) -> String {
    if (1.0..1e5).contains(&scale) {
        format!("x{scale:.0}")
    } else if (1e-3..1.0).contains(&scale) {
        let s = format!("{scale:.3}");
        format!("x{}", s.trim_end_matches('0'))
    } else {
        format!("x{scale:.0e}")
    }
}

/// Line segments (pairs of points) of the arrows: a shaft from each tail
/// along its scaled vector (cut to `cap` if longer), and a head of two strokes in the plane for flat
/// clouds, four (two crossed pairs) in 3-D so it reads from any side.
/// Zero-length and non-finite arrows are left out.
pub fn arrow_segments(tails: &[Vec3], vectors: &[Vec3], scale: f32, cap: f32, flat: bool) -> Vec<[Vec3; 2]> {
    let (sin, cos) = HEAD_ANGLE_DEG.to_radians().sin_cos();
    let mut out = Vec::with_capacity(tails.len() * if flat { 3 } else { 5 });
    for (&tail, &v) in tails.iter().zip(vectors) {
        let mut d = v * scale;
        let mut length = d.length();
        if !(length.is_finite() && length > 0.0 && tail.is_finite()) {
            continue;
        }
        if length > cap && cap > 0.0 {
            d *= cap / length;
            length = cap;
        }
        let tip = tail + d;
        let along = d / length;
        let head = HEAD_SHARE * length;
        out.push([tail, tip]);
        let back = tip - along * head * cos;
        let (sides, count) = if flat {
            ([Vec3::Z.cross(along).normalize_or(Vec3::Y), Vec3::ZERO], 1)
        } else {
            let u = along.any_orthonormal_vector();
            ([u, along.cross(u)], 2)
        };
        for &side in &sides[..count] {
            out.push([tip, back + side * head * sin]);
            out.push([tip, back - side * head * sin]);
        }
    }
    out
}

/// Displacements, arrows and their scale (headless).
pub struct ArrowsPlugin;

impl Plugin for ArrowsPlugin {
    fn build(&self, app: &mut App) {
        app.init_resource::<ArrowSettings>()
            .register_required_components::<RunId, Displacement>()
            .register_required_components::<RunId, Arrows>()
            .register_required_components::<RunId, ArrowScale>()
            .add_systems(Update, (track_displacement, update_scale).chain().in_set(DeriveSet::Motion));
    }
}

/// A run's parts the arrows follow.
type ArrowSource = (
    Ref<'static, MovingPositions>,
    &'static RunProgress,
    &'static ActiveScene,
    &'static CloudBounds,
    &'static mut Displacement,
    &'static mut Arrows,
);

/// On each new state: the displacement from the last one, and the arrows
/// of the subsample.
fn track_displacement(mut runs: Query<ArrowSource>) {
    for (moving, status, active, bounds, mut displacement, mut arrows) in &mut runs {
        if !moving.is_changed() {
            continue;
        }
        displacement.advance(moving.generation, status.step_index, &moving.positions);
        let arrows = &mut *arrows;
        let n = moving.positions.len() / 3;
        let key = (n, active.seed);
        if arrows.drawn_for != Some(key) {
            arrows.indices = subsample(n, arrow_count(n), active.seed);
            arrows.drawn_for = Some(key);
        }
        let at = |data: &[f32], i: u32| {
            let i = i as usize * 3;
            data.get(i..i + 3).map_or(Vec3::NAN, |p| Vec3::new(p[0], p[1], p[2]))
        };
        arrows.tails = arrows.indices.iter().map(|&i| at(&moving.positions, i)).collect();
        arrows.vectors = if displacement.vectors.is_empty() {
            Vec::new()
        } else {
            arrows.indices.iter().map(|&i| at(&displacement.vectors, i)).collect()
        };
        arrows.flat = bounds.flat;
    }
}

/// Each run's scale: a typical shown arrow against the cloud's radius (kept
/// while it stays readable, see [`next_scale`]).
fn update_scale(mut runs: Query<(Ref<Arrows>, Ref<CloudBounds>, &mut ArrowScale)>) {
    for (arrows, bounds, mut scale) in &mut runs {
        if !(arrows.is_changed() || bounds.is_changed()) {
            continue;
        }
        let typical = typical_length(arrows.lengths());
        let next =
            ArrowScale { scale: next_scale(scale.scale, typical, bounds.radius), cap: ARROW_SHARE * bounds.radius };
        scale.set_if_neq(next);
    }
}

/// The arrows' line mesh of a run.
#[derive(Component, Debug)]
pub struct ArrowLines;

/// Shared material of every arrow mesh; present only when rendering.
#[derive(Resource)]
pub struct ArrowAssets {
    pub material: Handle<StandardMaterial>,
}

/// Draws the arrows (needs the render plugins).
pub struct ArrowsRenderPlugin;

impl Plugin for ArrowsRenderPlugin {
    fn build(&self, app: &mut App) {
        app.add_systems(Startup, setup_arrow_assets)
            .add_systems(Update, (sync_arrow_entities, draw_arrows).chain().in_set(DeriveSet::Marks));
    }
}

fn setup_arrow_assets(mut commands: Commands, mut materials: ResMut<Assets<StandardMaterial>>) {
    let material = materials.add(StandardMaterial {
        base_color: ARROW_COLOR,
        alpha_mode: AlphaMode::Blend,
        unlit: true,
        ..default()
    });
    commands.insert_resource(ArrowAssets { material });
}

fn line_mesh(segments: &[[Vec3; 2]]) -> Mesh {
    let positions: Vec<[f32; 3]> = segments.iter().flat_map(|s| [s[0].to_array(), s[1].to_array()]).collect();
    Mesh::new(PrimitiveTopology::LineList, RenderAssetUsages::default())
        .with_inserted_attribute(Mesh::ATTRIBUTE_POSITION, positions)
}

/// One arrow entity per run, on the run's layer; those of closed runs go.
fn sync_arrow_entities(
    mut commands: Commands,
    runs: Query<(Entity, &RunId)>,
    lines: Query<(Entity, &OfRun), With<ArrowLines>>,
    assets: Option<Res<ArrowAssets>>,
    mut meshes: ResMut<Assets<Mesh>>,
) {
    let Some(assets) = assets else { return };
    for (entity, of) in &lines {
        if !runs.contains(of.0) {
            commands.entity(entity).despawn();
        }
    }
    for (run, id) in &runs {
        if lines.iter().any(|(_, of)| of.0 == run) {
            continue;
        }
        // A placeholder segment: the mesh is hidden until the first arrows.
        let mesh = meshes.add(line_mesh(&[[Vec3::ZERO, Vec3::ZERO]]));
        commands.spawn((
            ArrowLines,
            OfRun(run),
            run_layer(*id),
            Mesh3d(mesh),
            MeshMaterial3d(assets.material.clone()),
            Transform::IDENTITY,
            Visibility::Hidden,
            // The mesh changes in place: its spawn-time bounds would cull it.
            NoFrustumCulling,
        ));
    }
}

/// Rebuilds a run's arrow mesh when its arrows, the scale or the switch
/// changed; hides it while off or without a displacement.
fn draw_arrows(
    settings: Res<ArrowSettings>,
    runs: Query<(Ref<Arrows>, Ref<ArrowScale>)>,
    mut lines: Query<(Ref<OfRun>, &Mesh3d, &mut Visibility), With<ArrowLines>>,
    mut meshes: ResMut<Assets<Mesh>>,
) {
    for (of, mesh, mut visibility) in &mut lines {
        let Ok((arrows, scale)) = runs.get(of.0) else { continue };
        if !(settings.is_changed() || scale.is_changed() || arrows.is_changed() || of.is_added()) {
            continue;
        }
        let segments = match (settings.show, scale.scale) {
            (true, Some(s)) => arrow_segments(&arrows.tails, &arrows.vectors, s, scale.cap, arrows.flat),
            _ => Vec::new(),
        };
        if segments.is_empty() {
            visibility.set_if_neq(Visibility::Hidden);
            continue;
        }
        if let Some(mut m) = meshes.get_mut(&mesh.0) {
            *m = line_mesh(&segments);
        }
        visibility.set_if_neq(Visibility::Inherited);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_subsample_is_seeded_distinct_sorted_and_bounded() {
        assert_eq!(subsample(5, 300, 1), vec![0, 1, 2, 3, 4]);
        assert!(subsample(0, 300, 1).is_empty());
        let a = subsample(10_000, 300, 7);
        assert_eq!(a.len(), 300);
        assert_eq!(a, subsample(10_000, 300, 7), "same seed, same set");
        assert_ne!(a, subsample(10_000, 300, 8), "another seed, another set");
        assert!(a.windows(2).all(|w| w[0] < w[1]), "sorted and distinct");
        assert!(a.iter().all(|&i| i < 10_000));
        // Spread over the cloud, not bunched at the start.
        assert!(a.iter().filter(|&&i| i >= 5_000).count() > 100, "{:?}", &a[..10]);
        assert_eq!(subsample(301, 300, 3).len(), 300);
    }

    #[test]
    fn a_share_of_the_points_get_arrows_within_bounds() {
        assert_eq!(arrow_count(0), 0);
        assert_eq!(arrow_count(30), 30);
        assert_eq!(arrow_count(120), MIN_ARROWS);
        assert_eq!(arrow_count(500), 125);
        assert_eq!(arrow_count(1_000_000), MAX_ARROWS);
    }

    #[test]
    fn the_scale_is_round_and_keeps_a_typical_arrow_readable() {
        // Radius 4: a typical arrow gets at most 0.8; 0.03 -> raw 26.7 -> 20.
        assert_eq!(arrow_scale(0.03, 4.0), Some(20.0));
        for (typical, radius) in [(0.03f32, 4.0f32), (1e-5, 1.0), (7.0, 0.5), (0.123, 10.0)] {
            let s = arrow_scale(typical, radius).expect("a scale");
            let drawn = s * typical;
            let most = TYPICAL_SHARE * radius;
            assert!(drawn <= most * 1.0001 && drawn > 0.4 * most * 0.999, "{typical} {radius}: {s}");
            let mantissa = s / 10f32.powf(s.log10().floor());
            assert!([1.0, 2.0, 5.0].iter().any(|m| (mantissa - m).abs() < 1e-3), "{s}");
        }
        assert_eq!(arrow_scale(0.0, 1.0), None);
        assert_eq!(arrow_scale(f32::NAN, 1.0), None);
        assert_eq!(arrow_scale(1.0, 0.0), None);
    }

    #[test]
    fn the_scale_holds_while_the_arrows_stay_readable() {
        let first = next_scale(None, 0.03, 4.0);
        assert_eq!(first, Some(20.0));
        // A little longer or shorter: the same factor.
        assert_eq!(next_scale(first, 0.045, 4.0), first);
        assert_eq!(next_scale(first, 0.015, 4.0), first);
        // Much longer (drawn past 1.5 of the target) or much shorter: a fresh one.
        assert_eq!(next_scale(first, 0.3, 4.0), arrow_scale(0.3, 4.0));
        assert_eq!(next_scale(first, 0.001, 4.0), arrow_scale(0.001, 4.0));
        assert_eq!(next_scale(first, 0.0, 4.0), None);
    }

    #[test]
    fn the_typical_length_ignores_the_far_tail_and_zeros() {
        let mut l: Vec<f32> = (1..=100).map(|i| i as f32).collect();
        l.extend([0.0, f32::NAN, 1e9]);
        let t = typical_length(l);
        assert!((89.0..=92.0).contains(&t), "{t}");
        assert_eq!(typical_length([0.0, f32::NAN]), 0.0);
        assert_eq!(typical_length([]), 0.0);
    }

    #[test]
    fn scale_labels_are_short() {
        assert_eq!(scale_label(20.0), "x20");
        assert_eq!(scale_label(1.0), "x1");
        assert_eq!(scale_label(0.5), "x0.5");
        assert_eq!(scale_label(0.02), "x0.02");
        assert_eq!(scale_label(2e5), "x2e5");
        assert_eq!(ArrowScale { scale: Some(50.0), cap: 1.0 }.label().as_deref(), Some("arrows x50"));
        assert_eq!(ArrowScale::default().label(), None);
    }

    #[test]
    fn arrows_have_a_scaled_shaft_and_a_head_at_the_tip() {
        let tails = [Vec3::new(1.0, 1.0, 0.0), Vec3::ZERO, Vec3::ONE];
        let vectors = [Vec3::new(0.1, 0.0, 0.0), Vec3::ZERO, Vec3::new(0.0, 0.0, f32::NAN)];
        let flat = arrow_segments(&tails, &vectors, 10.0, 5.0, true);
        // Only the first arrow: a shaft and two head strokes.
        assert_eq!(flat.len(), 3);
        assert_eq!(flat[0][0], tails[0]);
        assert!((flat[0][1] - Vec3::new(2.0, 1.0, 0.0)).length() < 1e-6);
        for stroke in &flat[1..] {
            assert_eq!(stroke[0], flat[0][1], "head strokes start at the tip");
            let back = stroke[1] - stroke[0];
            assert!(back.x < 0.0 && back.z == 0.0, "pointing back, in the plane: {back}");
            assert!((back.length() - HEAD_SHARE).abs() < 1e-5);
        }
        // The two strokes are mirror images about the shaft.
        assert!((flat[1][1].y - 1.0 + flat[2][1].y - 1.0).abs() < 1e-5);
        // 3-D: four strokes around the shaft.
        let solid = arrow_segments(&[Vec3::ZERO], &[Vec3::new(0.0, 0.0, 1.0)], 1.0, 5.0, false);
        assert_eq!(solid.len(), 5);
        // A long arrow is cut to the cap, its direction kept.
        let cut = arrow_segments(&[Vec3::ZERO], &[Vec3::new(3.0, 4.0, 0.0)], 2.0, 1.0, true);
        assert!((cut[0][1] - Vec3::new(0.6, 0.8, 0.0)).length() < 1e-6, "{:?}", cut[0]);
        let centre: Vec3 = solid[1..].iter().map(|s| s[1]).sum::<Vec3>() / 4.0;
        assert!((centre.truncate()).length() < 1e-5 && centre.z < 1.0, "{centre}");
    }

    #[test]
    fn the_displacement_follows_states_of_one_load_only() {
        let mut d = Displacement::default();
        d.advance(1, 0, &[0.0, 0.0, 0.0, 1.0, 1.0, 1.0]);
        assert!(d.vectors.is_empty() && d.steps.is_none(), "a load has no displacement");
        d.advance(1, 1, &[0.5, 0.0, 0.0, 1.0, 3.0, 1.0]);
        assert_eq!(d.vectors, vec![0.5, 0.0, 0.0, 0.0, 2.0, 0.0]);
        assert_eq!(d.steps, Some((0, 1)));
        assert_eq!(d.lengths(), vec![0.5, 2.0]);
        d.advance(1, 4, &[1.5, 0.0, 0.0, 1.0, 3.0, 1.0]);
        assert_eq!((d.vectors[0], d.steps), (1.0, Some((1, 4))), "several steps in one reply");
        // A reset (back to step 0), a new load or a new cloud size: none.
        d.advance(1, 0, &[0.0; 6]);
        assert!(d.vectors.is_empty());
        d.advance(1, 1, &[1.0; 6]);
        assert!(!d.vectors.is_empty());
        d.advance(2, 2, &[2.0; 6]);
        assert!(d.vectors.is_empty());
        d.advance(2, 3, &[2.0; 9]);
        assert!(d.vectors.is_empty());
        assert!(d.lengths().is_empty());
    }
}
