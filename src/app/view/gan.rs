//! The app's half of the GAN view (paper Section 4.3): the moving points
//! coloured by a discriminator's pre-activation h, and in 2-D scenes a heat
//! map of h behind them. The user's choice is [`GanView`]; it becomes a
//! [`ViewRequest`] for the worker (see `worker::gan`), sent only when it
//! changes; the default colouring asks for nothing and costs nothing. A
//! paused run gets a fresh grid (see [`send_view_request`]). The materials
//! and the heat map quad are in `view::heat_map`, the panel in `ui/gan.rs`.

use bevy::prelude::*;

use crate::app::run::{ActiveScene, FlowWorker, Playback, RunGan, RunLink, RunProgress};
use crate::app::schedule::AppSet;
use crate::app::worker::{Field, ViewRequest};

use super::palette::{DIVERGING, interpolate};

/// Bins of the colour map the points are drawn with (odd: one is centred on 0).
pub const BINS: usize = 17;

/// How the moving points are coloured.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Colouring {
    /// The Okabe-Ito orange of the moving cloud.
    #[default]
    OkabeIto,
    /// The optimal discriminator's h* = log p_sigma / q_sigma.
    OptimalLogRatio,
    /// The trained discriminator's h (scenes with a `Discriminator` driver).
    Discriminator,
    /// Length of each point's last displacement (computed by the app, see `flow_colours`).
    Displacement,
    /// Distance to the nearest fixed point (the metrics' distances).
    NearestTarget,
}

impl Colouring {
    pub const ALL: [Colouring; 5] = [
        Colouring::OkabeIto,
        Colouring::OptimalLogRatio,
        Colouring::Discriminator,
        Colouring::Displacement,
        Colouring::NearestTarget,
    ];

    pub fn label(self) -> &'static str {
        match self {
            Colouring::OkabeIto => "Okabe-Ito",
            Colouring::OptimalLogRatio => "optimal log-ratio h*",
            Colouring::Discriminator => "discriminator h",
            Colouring::Displacement => "displacement length",
            Colouring::NearestTarget => "nearest-target distance",
        }
    }

    pub fn help(self) -> &'static str {
        match self {
            Colouring::OkabeIto => "one colour per cloud (colour-blind safe)",
            Colouring::OptimalLogRatio => {
                "h*(z) = log p_sigma(z) - log q_sigma(z) at each moving point: the optimal discriminator on the \
                 noise-smoothed clouds (eq. 29-31), from the kernel sums at the current kernel sigma²; its \
                 gradient is the SD flow"
            }
            Colouring::Discriminator => {
                "the trained discriminator's pre-activation h(z) (f = sigmoid(h)) at each moving point; equal to \
                 h* for the optimal discriminator"
            }
            Colouring::Displacement => {
                "how far each moving point went in the last step (|new - previous position|): where the flow \
                 pushes hardest"
            }
            Colouring::NearestTarget => {
                "distance from each moving point to its nearest fixed point (as in the nearest-neighbour \
                 histogram): which points have not arrived yet"
            }
        }
    }

    /// The field this colouring shows (None for the default).
    pub fn field(self) -> Option<Field> {
        match self {
            Colouring::OkabeIto => None,
            Colouring::OptimalLogRatio => Some(Field::Optimal),
            Colouring::Discriminator => Some(Field::Discriminator),
            Colouring::Displacement | Colouring::NearestTarget => None,
        }
    }
}

/// What the user chose to see (the panel edits it).
#[derive(Resource, Clone, Debug, Default, PartialEq, Eq)]
pub struct GanView {
    pub colouring: Colouring,
    /// Heat map of the field behind the points (2-D scenes).
    pub heat_map: bool,
}

impl ViewRequest {
    /// The request for a view: the colouring's field, or h* when only the
    /// heat map is on; nothing for the default view.
    pub fn of(view: &GanView, has_discriminator: bool) -> Self {
        let colouring = match view.colouring {
            Colouring::Discriminator if !has_discriminator => Colouring::OkabeIto,
            c => c,
        };
        let field = colouring.field().or(view.heat_map.then_some(Field::Optimal));
        Self { field, grid: view.heat_map && field.is_some() }
    }
}

/// The bin (0..BINS) of value `h` for the range +-`range`: the middle bin
/// holds 0, values beyond the range fall in the end bins, NaN in the middle.
pub fn bin(h: f32, range: f32) -> u8 {
    let half = (BINS / 2) as f32;
    let t = if range > 0.0 { h / range } else { 0.0 };
    let b = (t.clamp(-1.0, 1.0) * half).round() + half;
    if b.is_nan() { half as u8 } else { b as u8 }
}

/// The middle of bin `b` on the colour map's -1..1 scale.
pub fn bin_centre(b: u8) -> f32 {
    let half = (BINS / 2) as f32;
    (b as f32 - half) / half
}

/// The diverging colour map at t in [-1, 1] (clamped; NaN is the middle),
/// sRGB in 0..1.
pub fn diverging(t: f32) -> [f32; 3] {
    let t = if t.is_nan() { 0.0 } else { t.clamp(-1.0, 1.0) };
    interpolate(&DIVERGING, (t + 1.0) * 0.5)
}

/// The colour of bin `b`.
pub fn bin_colour(b: u8) -> [f32; 3] {
    diverging(bin_centre(b))
}

/// Heat map pixels (RGBA8, sRGB, opaque) for grid values over the range
/// +-`range`: the map's colours mixed with `background` (sRGB, 0..1) at
/// `strength`, in sRGB as a painter would, so the heat map stays pale and the
/// points in the full colours stand out on it.
pub fn heat_pixels(values: &[f32], range: f32, background: [f32; 3], strength: f32) -> Vec<u8> {
    let mut out = Vec::with_capacity(values.len() * 4);
    for &h in values {
        let c = diverging(if range > 0.0 { h / range } else { 0.0 });
        out.extend((0..3).map(|k| ((background[k] + strength * (c[k] - background[k])) * 255.0).round() as u8));
        out.push(255);
    }
    out
}

/// The GAN view's headless part: the choice and the requests to the worker.
pub struct GanPlugin;

impl Plugin for GanPlugin {
    fn build(&self, app: &mut App) {
        app.init_resource::<GanView>()
            .add_systems(Update, (fit_choice_to_scene, send_view_request).chain().in_set(AppSet::Control));
    }
}

/// Whether the running scene trains a discriminator.
pub fn has_discriminator(active: &ActiveScene) -> bool {
    active.scene().is_some_and(|s| !s.driver.is_kernel())
}

/// When no run has a discriminator, none can be coloured by one: back to the default.
fn fit_choice_to_scene(runs: Query<Ref<ActiveScene>>, mut view: ResMut<GanView>) {
    let changed = runs.iter().any(|a| a.is_changed() && a.scene().is_some());
    if changed && view.colouring == Colouring::Discriminator && !runs.iter().any(|a| has_discriminator(&a)) {
        view.colouring = Colouring::OkabeIto;
    }
}

/// Sends each run's view request when it changes. A paused run whose heat
/// map lags its points (computed while running, see [`GRID_INTERVAL`]) asks
/// again.
pub fn send_view_request(
    view: Res<GanView>,
    playback: Res<Playback>,
    mut worker: ResMut<FlowWorker>,
    mut runs: Query<(&ActiveScene, &RunProgress, &RunGan, &mut RunLink)>,
) {
    for (active, status, gan, mut link) in &mut runs {
        let request = ViewRequest::of(&view, has_discriminator(active));
        if link.view() != request {
            worker.set_view(&mut link, request);
            continue;
        }
        let settled = (!playback.playing || status.finished) && !link.busy() && status.generation == link.generation;
        let lagging = gan.0.as_ref().and_then(|g| g.grid.as_ref()).is_some_and(|g| g.step_index != status.step_index);
        if settled && lagging && request.grid {
            worker.set_view(&mut link, request);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bins_are_centred_and_clamped() {
        assert_eq!(bin(0.0, 2.0), 8);
        assert_eq!(bin(2.0, 2.0), 16);
        assert_eq!(bin(-2.0, 2.0), 0);
        assert_eq!(bin(100.0, 2.0), 16);
        assert_eq!(bin(-100.0, 2.0), 0);
        assert_eq!(bin(f32::NAN, 2.0), 8);
        assert_eq!(bin(1.0, 0.0), 8);
        // Just past half a bin from 0 leaves the middle bin.
        assert_eq!(bin(0.9 / 8.0, 1.0), 9);
        assert_eq!(bin(-0.9 / 8.0, 1.0), 7);
        for b in 0..BINS as u8 {
            assert_eq!(bin(bin_centre(b) * 3.0, 3.0), b);
        }
    }

    #[test]
    fn the_colour_map_diverges_from_a_grey_middle() {
        let mid = diverging(0.0);
        assert!(mid.iter().all(|&c| (c - mid[0]).abs() < 1e-6), "grey middle {mid:?}");
        assert!(mid[0] < 0.85, "the middle must show on the light background: {mid:?}");
        let (lo, hi) = (diverging(-1.0), diverging(1.0));
        assert!(lo[0] > lo[2], "negative end is orange-brown: {lo:?}");
        assert!(hi[2] > hi[1], "positive end is purple: {hi:?}");
        assert_eq!(diverging(-5.0), lo);
        assert_eq!(diverging(f32::NAN), mid);
        // Lightness (sum of channels) falls away from the middle on both sides.
        let light = |t: f32| diverging(t).iter().sum::<f32>();
        for i in 1..=10 {
            let t = i as f32 / 10.0;
            assert!(light(t) <= light(t - 0.1) + 1e-4 && light(-t) <= light(-t + 0.1) + 1e-4, "{t}");
        }
        assert_eq!(bin_colour(8), mid);
    }

    #[test]
    fn heat_pixels_are_map_colours_mixed_with_the_background() {
        let px = heat_pixels(&[-2.0, 0.0, 9.0], 2.0, [1.0; 3], 1.0);
        assert_eq!(px.len(), 12);
        assert_eq!(&px[..3], &[0x7f, 0x3b, 0x08]);
        assert_eq!(&px[4..7], &[0xb8, 0xb8, 0xb8]);
        assert_eq!(&px[8..11], &[0x2d, 0x00, 0x4b]);
        assert!(px.chunks(4).all(|p| p[3] == 255));
        // Half strength: halfway to the background, in sRGB.
        let pale = heat_pixels(&[2.0], 2.0, [1.0; 3], 0.5);
        assert_eq!(&pale[..3], &[0x96, 0x80, 0xa5]);
        assert_eq!(heat_pixels(&[1.0], 1.0, [0.2; 3], 0.0)[..3], [51, 51, 51]);
    }

    #[test]
    fn requests_follow_the_choice() {
        let default = GanView::default();
        assert_eq!(ViewRequest::of(&default, true), ViewRequest::default());
        let h_star = GanView { colouring: Colouring::OptimalLogRatio, heat_map: false };
        assert_eq!(ViewRequest::of(&h_star, false), ViewRequest { field: Some(Field::Optimal), grid: false });
        // The heat map alone shows h*.
        let heat = GanView { colouring: Colouring::OkabeIto, heat_map: true };
        assert_eq!(ViewRequest::of(&heat, false), ViewRequest { field: Some(Field::Optimal), grid: true });
        // The discriminator's h only where there is one.
        let disc = GanView { colouring: Colouring::Discriminator, heat_map: true };
        assert_eq!(ViewRequest::of(&disc, true), ViewRequest { field: Some(Field::Discriminator), grid: true });
        assert_eq!(ViewRequest::of(&disc, false), ViewRequest { field: Some(Field::Optimal), grid: true });
    }
}
