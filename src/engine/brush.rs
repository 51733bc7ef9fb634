//! A brush for painting 2-D point clouds: stamps of points uniform in a disc,
//! spaced evenly along a drag, and an eraser. Pure maths in scene units; the
//! app turns pointer positions into scene coordinates and calls these.
//!
//! Along a drag, each stamp after the first only fills the part of its disc
//! the previous stamp did not cover. For a straight drag that covers every
//! spot exactly once (a point within r of two centres is within r of their
//! midpoint), so the painted density is `density` everywhere, not the
//! pi-fold excess that full overlapping stamps spaced r/2 apart would give.

use rand::RngExt;

use super::Cloud;
use super::rng::stream;

/// The noise stream tag of brush stamps (see [`stream`]).
const BRUSH_STREAM: u64 = u64::from_le_bytes(*b"brush\0\0\0");

/// A brush: disc radius and points per unit area, in scene units.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Brush {
    radius: f32,
    density: f32,
}

/// A brush setting that cannot be used.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum BrushError {
    #[error("the brush radius is {0}; it must be a finite number > 0")]
    Radius(f32),
    #[error("the brush density is {0} points per unit area; it must be a finite number > 0")]
    Density(f32),
    #[error("one stamp would paint {0} points; lower the radius or the density (at most {max} per stamp)", max = Brush::MAX_STAMP)]
    TooMany(f64),
}

/// density * pi r^2: the expected points of one stamp.
fn stamp_area_count(radius: f32, density: f32) -> f64 {
    density as f64 * std::f64::consts::PI * (radius as f64).powi(2)
}

impl Brush {
    /// Most points one stamp may paint (a slip of a slider must not ask for
    /// millions of points per frame).
    pub const MAX_STAMP: usize = 20_000;

    pub fn new(radius: f32, density: f32) -> Result<Self, BrushError> {
        if !(radius.is_finite() && radius > 0.0) {
            return Err(BrushError::Radius(radius));
        }
        if !(density.is_finite() && density > 0.0) {
            return Err(BrushError::Density(density));
        }
        let count = stamp_area_count(radius, density);
        if count > Self::MAX_STAMP as f64 {
            return Err(BrushError::TooMany(count.round()));
        }
        Ok(Self { radius, density })
    }

    pub fn radius(&self) -> f32 {
        self.radius
    }

    pub fn density(&self) -> f32 {
        self.density
    }

    /// Points per stamp: round(density * pi r^2), at least 1.
    pub fn count(&self) -> usize {
        (stamp_area_count(self.radius, self.density).round() as usize).max(1)
    }

    /// Pointer travel between stamps along a drag: r / 2.
    pub fn spacing(&self) -> f32 {
        self.radius / 2.0
    }

    /// [`Brush::count`] points uniform in the disc around `centre`; the same
    /// (seed, index) always gives the same points. `index` numbers the stamps
    /// of a session so that no two stamps repeat a pattern.
    pub fn stamp(&self, centre: [f32; 2], seed: u64, index: u64) -> Vec<[f32; 2]> {
        self.stamp_beside(centre, None, seed, index)
    }

    /// As [`Brush::stamp`], but without the points that fall in the disc
    /// around `previous` (the stamp before it on a drag, already painted).
    pub fn stamp_beside(&self, centre: [f32; 2], previous: Option<[f32; 2]>, seed: u64, index: u64) -> Vec<[f32; 2]> {
        let mut rng = stream(seed, index as usize, BRUSH_STREAM);
        let r = self.radius as f64;
        let covered = |p: [f64; 2]| previous.is_some_and(|q| dist2(p, [q[0] as f64, q[1] as f64]) <= r * r);
        let mut out = Vec::with_capacity(self.count());
        for _ in 0..self.count() {
            // Uniform in the disc: radius r sqrt(u) makes the area element even.
            let rho = r * rng.random::<f64>().sqrt();
            let theta = std::f64::consts::TAU * rng.random::<f64>();
            let p = [centre[0] as f64 + rho * theta.cos(), centre[1] as f64 + rho * theta.sin()];
            if !covered(p) {
                out.push([p[0] as f32, p[1] as f32]);
            }
        }
        out
    }
}

fn dist2(a: [f64; 2], b: [f64; 2]) -> f64 {
    (a[0] - b[0]).powi(2) + (a[1] - b[1]).powi(2)
}

/// Turns successive pointer positions into stamp centres `spacing` apart
/// along the pointer's path (the first position is always stamped).
#[derive(Clone, Debug)]
pub struct StrokeSampler {
    spacing: f32,
    /// The last pointer position fed.
    last: Option<[f32; 2]>,
    /// Path length since the last centre.
    travelled: f32,
}

impl StrokeSampler {
    /// `spacing` > 0: usually [`Brush::spacing`].
    pub fn new(spacing: f32) -> Self {
        Self { spacing: spacing.max(f32::MIN_POSITIVE), last: None, travelled: 0.0 }
    }

    /// The centres to stamp now that the pointer is at `pos`.
    pub fn feed(&mut self, pos: [f32; 2]) -> Vec<[f32; 2]> {
        let Some(last) = self.last.replace(pos) else {
            return vec![pos];
        };
        let (dx, dy) = (pos[0] - last[0], pos[1] - last[1]);
        let len = dx.hypot(dy);
        let mut out = Vec::new();
        // Distance along this segment of the next centre.
        let mut at = self.spacing - self.travelled;
        while at <= len {
            let t = at / len;
            out.push([last[0] + t * dx, last[1] + t * dy]);
            at += self.spacing;
        }
        self.travelled = len - (at - self.spacing);
        out
    }
}

/// One drag of the brush: feed pointer positions, get the new points.
#[derive(Clone, Debug)]
pub struct Stroke {
    brush: Brush,
    seed: u64,
    sampler: StrokeSampler,
    previous: Option<[f32; 2]>,
    next_index: u64,
}

impl Stroke {
    /// A drag whose first stamp gets `first_index` (continue from the last
    /// stroke's [`Stroke::next_index`] so stamps never repeat).
    pub fn new(brush: Brush, seed: u64, first_index: u64) -> Self {
        Self { brush, seed, sampler: StrokeSampler::new(brush.spacing()), previous: None, next_index: first_index }
    }

    /// The points painted as the pointer moves to `pos`.
    pub fn drag_to(&mut self, pos: [f32; 2]) -> Vec<[f32; 2]> {
        let mut out = Vec::new();
        for centre in self.sampler.feed(pos) {
            out.extend(self.brush.stamp_beside(centre, self.previous, self.seed, self.next_index));
            self.previous = Some(centre);
            self.next_index += 1;
        }
        out
    }

    /// The index the next stamp (of this or a following stroke) gets.
    pub fn next_index(&self) -> u64 {
        self.next_index
    }
}

/// Removes the points within `radius` of `centre` (on the rim included) and
/// returns how many were removed.
pub fn erase(points: &mut Vec<[f32; 2]>, centre: [f32; 2], radius: f32) -> usize {
    let before = points.len();
    points.retain(|p| !in_disc(*p, centre, radius));
    before - points.len()
}

/// Whether [`erase`] at `centre` removes `p` (in f64).
pub fn in_disc(p: [f32; 2], centre: [f32; 2], radius: f32) -> bool {
    dist2([p[0] as f64, p[1] as f64], [centre[0] as f64, centre[1] as f64]) <= (radius as f64).powi(2)
}

/// The painted points as a 2-D cloud (for a scene, or [`crate::scene::write_points`]).
pub fn painted_cloud(points: &[[f32; 2]]) -> Cloud {
    Cloud::new(2, points.iter().flatten().copied().collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dist(p: [f32; 2], c: [f32; 2]) -> f64 {
        dist2([p[0] as f64, p[1] as f64], [c[0] as f64, c[1] as f64]).sqrt()
    }

    #[test]
    fn a_stamp_has_the_area_times_density_points_all_in_the_disc() {
        let brush = Brush::new(0.5, 40.0).expect("valid");
        assert_eq!(brush.count(), 31, "40 x pi x 0.25 = 31.4");
        assert_eq!(Brush::new(0.01, 1.0).expect("valid").count(), 1, "at least one point");
        let centre = [3.0, -2.0];
        let points = brush.stamp(centre, 7, 0);
        assert_eq!(points.len(), 31);
        assert!(points.iter().all(|&p| dist(p, centre) <= 0.5 * (1.0 + 1e-6)), "{points:?}");
        // Uniform in area: about a quarter of the points within r / 2.
        let big = Brush::new(1.0, 4000.0).expect("valid").stamp([0.0, 0.0], 1, 0);
        let inner = big.iter().filter(|&&p| dist(p, [0.0, 0.0]) <= 0.5).count() as f64 / big.len() as f64;
        assert!((inner - 0.25).abs() < 0.02, "{inner}");
        let right = big.iter().filter(|p| p[0] > 0.0).count() as f64 / big.len() as f64;
        assert!((right - 0.5).abs() < 0.02, "{right}");
    }

    #[test]
    fn stamps_are_deterministic_per_seed_and_index() {
        let brush = Brush::new(1.0, 10.0).expect("valid");
        assert_eq!(brush.stamp([0.0, 0.0], 3, 5), brush.stamp([0.0, 0.0], 3, 5));
        assert_ne!(brush.stamp([0.0, 0.0], 3, 5), brush.stamp([0.0, 0.0], 3, 6));
        assert_ne!(brush.stamp([0.0, 0.0], 3, 5), brush.stamp([0.0, 0.0], 4, 5));
    }

    #[test]
    fn bad_settings_are_refused_with_what_to_change() {
        assert!(matches!(Brush::new(0.0, 1.0), Err(BrushError::Radius(_))));
        assert!(matches!(Brush::new(f32::NAN, 1.0), Err(BrushError::Radius(_))));
        assert!(matches!(Brush::new(1.0, -1.0), Err(BrushError::Density(_))));
        let e = Brush::new(100.0, 100.0).unwrap_err();
        assert!(e.to_string().contains("lower the radius or the density"), "{e}");
    }

    #[test]
    fn the_sampler_stamps_every_spacing_along_the_path() {
        let mut s = StrokeSampler::new(0.5);
        let mut centres = s.feed([0.0, 0.0]);
        // Uneven pointer events along x, then a turn up the y axis.
        for x in [0.125, 0.375, 1.25, 1.375, 2.0] {
            centres.extend(s.feed([x, 0.0]));
        }
        for y in [0.75, 1.0] {
            centres.extend(s.feed([2.0, y]));
        }
        let expected = [[0.0, 0.0], [0.5, 0.0], [1.0, 0.0], [1.5, 0.0], [2.0, 0.0], [2.0, 0.5], [2.0, 1.0]];
        assert_eq!(centres.len(), expected.len(), "{centres:?}");
        for (c, e) in centres.iter().zip(expected) {
            assert!(dist(*c, e) < 1e-5, "{centres:?}");
        }
        // Standing still stamps nothing more.
        assert!(s.feed([2.0, 1.0]).is_empty());
    }

    #[test]
    fn a_straight_drag_paints_the_density_evenly() {
        let (radius, density) = (0.5f32, 400.0f32);
        let brush = Brush::new(radius, density).expect("valid");
        let mut stroke = Stroke::new(brush, 11, 0);
        let mut points = Vec::new();
        for k in 0..=80 {
            points.extend(stroke.drag_to([k as f32 * 0.125, 0.0]));
        }
        assert_eq!(stroke.next_index(), 41, "a stamp every r/2 = 0.25 over 10 units, and the first");
        // The band |y| < r / 2 between x = 1 and 9 is covered by the stroke:
        // its count should be density x area (8 x 0.5 = 4 units^2 -> 1600).
        let band: Vec<_> = points.iter().filter(|p| p[1].abs() < 0.25 && p[0] > 1.0 && p[0] < 9.0).collect();
        let expected = density as f64 * 8.0 * 0.5;
        assert!((band.len() as f64 - expected).abs() < 4.0 * expected.sqrt(), "{} vs {expected}", band.len());
        // Evenly along the drag: each unit of x gets 1/8 of the band.
        for x in 1..9 {
            let n = band.iter().filter(|p| p[0] > x as f32 && p[0] < (x + 1) as f32).count() as f64;
            assert!((n - expected / 8.0).abs() < 4.0 * (expected / 8.0).sqrt(), "x = {x}: {n}");
        }
        // Nothing outside the swept area.
        assert!(points.iter().all(|p| p[1].abs() <= radius * 1.0001 && p[0] >= -radius && p[0] <= 10.0 + radius));
    }

    #[test]
    fn erase_removes_exactly_the_points_inside() {
        let mut points: Vec<[f32; 2]> =
            (0..21).flat_map(|i| (0..21).map(move |j| [i as f32 * 0.1, j as f32 * 0.1])).collect();
        let all = points.clone();
        let (centre, radius) = ([1.0, 1.0], 0.3);
        let inside = all.iter().filter(|&&p| dist(p, centre) <= 0.3f32 as f64).count();
        assert!(inside > 20, "the test needs points inside: {inside}");
        assert_eq!(erase(&mut points, centre, radius), inside);
        assert_eq!(points.len(), all.len() - inside);
        assert!(points.iter().all(|&p| dist(p, centre) > 0.3f32 as f64));
        assert!(all.iter().filter(|&&p| dist(p, centre) > 0.3f32 as f64).all(|p| points.contains(p)));
        assert_eq!(erase(&mut points, centre, radius), 0);
    }

    #[test]
    fn painted_points_make_a_2d_cloud() {
        let cloud = painted_cloud(&[[1.0, 2.0], [3.0, 4.0]]);
        assert_eq!(cloud, Cloud::new(2, vec![1.0, 2.0, 3.0, 4.0]));
        assert!(painted_cloud(&[]).is_empty());
    }
}
