//! Colourings of the moving points computed on the app side: the length of
//! each point's last displacement ([`super::arrows::Displacement`]), and the
//! distance to the nearest fixed point (`RunCurves::moving_nn`, sent by the
//! worker with the metrics). Both are O(N) per new state and nothing per
//! frame.
//!
//! Values map to [`SEQ_BINS`] bins of a sequential colour map over a robust
//! range (the 5th to the 95th percentile); each bin is one shared unlit
//! material, so the points keep instancing, as the GAN view's palette does
//! (`gan_render`). The map is matplotlib's magma from light (small) to dark
//! (large): perceptually uniform and readable with colour-vision
//! deficiencies like viridis, but without viridis' blues and greens, which
//! would mix with the fixed cloud's Okabe-Ito blue. Its lightest end is cut
//! so small values still show on the light grey background.

use bevy::prelude::*;

use crate::engine::metrics::quantile_in_place;

use super::arrows::Displacement;
use super::clouds::{CloudAssets, CloudEntities, PointIndex};
use super::gan::{Colouring, GanView};
use super::palette::{MAGMA, interpolate};
use crate::app::run::{MovingPositions, RunCurves, RunId, RunProgress};
use crate::app::schedule::DeriveSet;

/// Bins (materials) of the sequential map.
pub const SEQ_BINS: usize = 16;
/// Bin marker of a point without a value (drawn in its cloud's colour).
pub const NO_BIN: u8 = u8::MAX;
/// The colours span these quantiles of the values.
pub const LOW_QUANTILE: f64 = 0.05;
pub const HIGH_QUANTILE: f64 = 0.95;

/// The part of magma used: from this light end (small values) ...
const LIGHT_END: f32 = 0.78;
/// ... to this dark end (large values).
const DARK_END: f32 = 0.06;

/// Whether the app computes this colouring's values itself (not the worker).
pub fn is_app_side(colouring: Colouring) -> bool {
    matches!(colouring, Colouring::Displacement | Colouring::NearestTarget)
}

/// Magma at `t` in [0, 1] (clamped; NaN is 0), sRGB in 0..1.
pub fn magma(t: f32) -> [f32; 3] {
    interpolate(&MAGMA, t)
}

/// The sequential map at `s` in [0, 1]: light for 0, dark for 1.
pub fn sequential(s: f32) -> [f32; 3] {
    let s = if s.is_nan() { 0.0 } else { s.clamp(0.0, 1.0) };
    magma(LIGHT_END + s * (DARK_END - LIGHT_END))
}

/// The colour of bin `b` (its middle on the map).
pub fn seq_bin_colour(b: u8) -> [f32; 3] {
    sequential((b as f32 + 0.5) / SEQ_BINS as f32)
}

/// The colour range of `values`: the [`LOW_QUANTILE`] and [`HIGH_QUANTILE`]
/// of the finite ones, so a few far points do not wash out the rest; None
/// when none is finite.
pub fn seq_range(values: &[f32]) -> Option<(f32, f32)> {
    let mut finite: Vec<f32> = values.iter().copied().filter(|v| v.is_finite()).collect();
    if finite.is_empty() {
        return None;
    }
    let lo = quantile_in_place(&mut finite, LOW_QUANTILE);
    let hi = quantile_in_place(&mut finite, HIGH_QUANTILE);
    Some((lo, hi.max(lo)))
}

/// The bin (0..SEQ_BINS) of `v` on the range `lo..hi`: values beyond the
/// range fall in the end bins; a range of one value puts everything in the
/// middle; NaN has no bin ([`NO_BIN`]).
pub fn seq_bin(v: f32, (lo, hi): (f32, f32)) -> u8 {
    if v.is_nan() {
        return NO_BIN;
    }
    let width = hi - lo;
    if !(width > 0.0 && width.is_finite()) {
        return (SEQ_BINS / 2) as u8;
    }
    let t = ((v - lo) / width).clamp(0.0, 1.0);
    ((t * SEQ_BINS as f32).floor() as usize).min(SEQ_BINS - 1) as u8
}

/// Values of an app-side colouring at a run's moving points.
#[derive(Component, Debug, Default, Clone, PartialEq)]
pub struct PointValues {
    /// The colouring they belong to (None: no values).
    pub colouring: Option<Colouring>,
    /// One value per moving point (by point index).
    pub values: Vec<f32>,
    /// The colour range (see [`seq_range`]).
    pub range: Option<(f32, f32)>,
    /// Smallest and largest finite value.
    pub extremes: Option<(f32, f32)>,
    /// The bin of each point ([`NO_BIN`]: its cloud's colour).
    pub bins: Vec<u8>,
    /// What the values were computed from, so they are not recomputed for nothing.
    source: Option<SourceKey>,
}

/// What a run's values were computed from.
#[derive(Debug, Clone, Copy, PartialEq)]
enum SourceKey {
    /// The displacement between these steps of this load.
    Displacement(u64, Option<(usize, usize)>),
    /// The metrics of this state (the distances come with them).
    Metrics(u64, usize, Option<u64>, usize),
}

impl PointValues {
    /// Values, range and bins of `colouring` from `values`.
    pub fn of(colouring: Colouring, values: Vec<f32>) -> Self {
        let range = seq_range(&values);
        let extremes = values
            .iter()
            .filter(|v| v.is_finite())
            .fold(None, |acc: Option<(f32, f32)>, &v| Some(acc.map_or((v, v), |(a, b)| (a.min(v), b.max(v)))));
        let bins = match range {
            Some(r) => values.iter().map(|&v| seq_bin(v, r)).collect(),
            None => vec![NO_BIN; values.len()],
        };
        Self { colouring: Some(colouring), values, range, extremes, bins, source: None }
    }
}

/// Computes the app-side colourings' values (headless).
pub struct FlowColoursPlugin;

impl Plugin for FlowColoursPlugin {
    fn build(&self, app: &mut App) {
        app.register_required_components::<RunId, PointValues>()
            .add_systems(Update, update_point_values.in_set(DeriveSet::Values));
    }
}

/// Recomputes a run's values when their source changed: a new displacement,
/// new metrics, a new load, or another colouring.
/// A run's parts its point values come from.
type ValueSource = (
    &'static Displacement,
    &'static RunProgress,
    &'static RunCurves,
    &'static MovingPositions,
    &'static mut PointValues,
);

fn update_point_values(view: Res<GanView>, mut runs: Query<ValueSource>) {
    let colouring = view.colouring;
    for (displacement, status, curves, moving, mut values) in &mut runs {
        let key = match colouring {
            Colouring::Displacement => Some(SourceKey::Displacement(status.generation, displacement.steps)),
            Colouring::NearestTarget => Some(SourceKey::Metrics(
                status.generation,
                status.step_index,
                curves.latest.as_ref().map(|m| m.cfd.to_bits()),
                curves.moving_nn.len(),
            )),
            _ => None,
        };
        if values.colouring == key.map(|_| colouring) && values.source == key {
            continue;
        }
        let mut next = match colouring {
            Colouring::Displacement if displacement.steps.is_some() => {
                PointValues::of(colouring, displacement.lengths())
            }
            Colouring::NearestTarget if !curves.moving_nn.is_empty() && curves.moving_nn.len() == moving.count() => {
                PointValues::of(colouring, curves.moving_nn.iter().map(|&d| d as f32).collect())
            }
            c if is_app_side(c) => PointValues { colouring: Some(c), ..default() },
            _ => PointValues::default(),
        };
        next.source = key;
        *values = next;
    }
}

/// The sequential map's bins as materials, made once.
#[derive(Resource)]
pub struct SeqPalette(pub Vec<Handle<StandardMaterial>>);

/// Gives the moving points their bins' materials (needs the render plugins).
pub struct FlowColoursRenderPlugin;

impl Plugin for FlowColoursRenderPlugin {
    fn build(&self, app: &mut App) {
        // After the GAN view's colouring, in any frame where both touch the points.
        app.add_systems(Startup, setup_palette).add_systems(Update, colour_points.in_set(DeriveSet::Marks));
    }
}

fn setup_palette(mut commands: Commands, mut materials: ResMut<Assets<StandardMaterial>>) {
    let palette = (0..SEQ_BINS as u8)
        .map(|b| {
            let [r, g, bl] = seq_bin_colour(b);
            materials.add(StandardMaterial { base_color: Color::srgb(r, g, bl), unlit: true, ..default() })
        })
        .collect();
    commands.insert_resource(SeqPalette(palette));
}

/// The material a moving point should have now: its bin's while an
/// app-side colouring has a value for it; back to the cloud's colour if it
/// still has a bin's material; otherwise what it has (the GAN view's).
fn wanted<'a>(
    bin: Option<u8>,
    current: &Handle<StandardMaterial>,
    palette: &'a SeqPalette,
    default: &'a Handle<StandardMaterial>,
) -> Option<&'a Handle<StandardMaterial>> {
    match bin.and_then(|b| palette.0.get(b as usize)) {
        Some(h) => Some(h),
        None if palette.0.iter().any(|h| h.id() == current.id()) => Some(default),
        None => None,
    }
}

/// Switches materials when the values, the colouring or the points changed;
/// touches only the points whose material differs.
fn colour_points(
    runs: Query<(Ref<PointValues>, Ref<CloudEntities>)>,
    view: Res<GanView>,
    assets: Option<Res<CloudAssets>>,
    palette: Option<Res<SeqPalette>>,
    mut points: Query<(&PointIndex, &mut MeshMaterial3d<StandardMaterial>)>,
) {
    let (Some(assets), Some(palette)) = (assets, palette) else { return };
    for (values, entities) in &runs {
        if !(values.is_changed() || entities.is_changed() || view.is_changed()) {
            continue;
        }
        let active = values.colouring.is_some() && values.colouring == Some(view.colouring);
        let mut iter = points.iter_many_mut(&entities.moving);
        while let Some((index, mut material)) = iter.fetch_next() {
            let bin = if active { values.bins.get(index.0 as usize).copied() } else { None };
            if let Some(h) = wanted(bin, &material.0, &palette, &assets.moving)
                && h.id() != material.0.id()
            {
                material.0 = h.clone();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_map_runs_from_light_to_dark_and_shows_on_the_background() {
        let light = |s: f32| sequential(s).iter().sum::<f32>();
        for i in 1..=20 {
            let s = i as f32 / 20.0;
            assert!(light(s) < light(s - 0.05) + 1e-4, "lightness falls monotonically: {s}");
        }
        // The lightest colour is clearly darker than the light grey background (0xF4).
        let bg = 3.0 * 0xF4 as f32 / 255.0;
        assert!(light(0.0) < bg - 0.6, "{:?}", sequential(0.0));
        // Every bin stays apart from the fixed cloud's Okabe-Ito blue.
        let blue = [0.0, 0x72 as f32 / 255.0, 0xB2 as f32 / 255.0];
        for b in 0..SEQ_BINS as u8 {
            let c = seq_bin_colour(b);
            let d = (0..3).map(|k| (c[k] - blue[k]).powi(2)).sum::<f32>().sqrt();
            assert!(d > 0.4, "bin {b}: {c:?} is {d} from the fixed blue");
        }
        assert_eq!(magma(0.0), [0.0, 0.0, 4.0 / 255.0]);
        assert_eq!(sequential(f32::NAN), sequential(0.0));
        assert_eq!(sequential(7.0), sequential(1.0));
    }

    #[test]
    fn bins_cover_the_range_and_clamp_outside() {
        let r = (1.0, 3.0);
        assert_eq!(seq_bin(1.0, r), 0);
        assert_eq!(seq_bin(0.0, r), 0);
        assert_eq!(seq_bin(3.0, r), SEQ_BINS as u8 - 1);
        assert_eq!(seq_bin(99.0, r), SEQ_BINS as u8 - 1);
        assert_eq!(seq_bin(2.0, r), SEQ_BINS as u8 / 2);
        assert_eq!(seq_bin(f32::NAN, r), NO_BIN);
        assert_eq!(seq_bin(5.0, (2.0, 2.0)), SEQ_BINS as u8 / 2);
        // Larger values never get a lighter bin.
        let mut last = 0;
        for i in 0..=100 {
            let b = seq_bin(1.0 + i as f32 / 50.0, r);
            assert!(b >= last);
            last = b;
        }
    }

    #[test]
    fn the_range_ignores_the_far_tails() {
        let mut v: Vec<f32> = (0..=100).map(|i| i as f32).collect();
        v.push(1e9);
        v.push(f32::NAN);
        let (lo, hi) = seq_range(&v).expect("a range");
        assert!((4.0..=6.0).contains(&lo) && (94.0..=97.0).contains(&hi), "{lo} {hi}");
        assert_eq!(seq_range(&[]), None);
        assert_eq!(seq_range(&[f32::NAN]), None);
        assert_eq!(seq_range(&[2.0]), Some((2.0, 2.0)));
        let p = PointValues::of(Colouring::Displacement, vec![0.0, 1.0, f32::NAN, 100.0]);
        assert_eq!(p.extremes, Some((0.0, 100.0)));
        assert_eq!(p.bins.len(), 4);
        assert_eq!(p.bins[2], NO_BIN);
        assert!(p.bins[0] <= p.bins[1] && p.bins[1] <= p.bins[3]);
    }
}
