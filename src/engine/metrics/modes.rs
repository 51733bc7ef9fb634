//! Mode coverage on the 25-Gaussian grid (App. E.2): how many of the 25
//! modes the moving cloud reaches, the usual measure of mode collapse.
//!
//! Rule: a moving point belongs to a mode when it lies within 3 standard
//! deviations of the mode's centre; a mode is covered when it holds at least
//! 10% of its fair share M/25 of the M moving points (and at least one).

use crate::engine::cloud::Cloud;

/// Number of grid modes.
pub const GRID_MODES: usize = 25;

/// Centres of the grid's modes: {-4, -2, 0, 2, 4}^2.
pub fn grid25_centres() -> [[f32; 2]; GRID_MODES] {
    std::array::from_fn(|k| [2.0 * ((k / 5) as f32 - 2.0), 2.0 * ((k % 5) as f32 - 2.0)])
}

/// Points of `moving` near each grid mode, for a grid of component standard
/// deviation `std` (0 for a cloud that is not 2-D).
pub fn grid25_counts(moving: &Cloud, std: f64) -> [usize; GRID_MODES] {
    let mut counts = [0; GRID_MODES];
    if moving.dim() != 2 {
        return counts;
    }
    let radius2 = (3.0 * std).powi(2);
    let centres = grid25_centres();
    for p in moving.points() {
        // Modes are 2 apart: a point is within 3 std (< 1 for std < 1/3) of at most one.
        for (c, n) in centres.iter().zip(counts.iter_mut()) {
            let d2 = (p[0] - c[0]) as f64 * (p[0] - c[0]) as f64 + (p[1] - c[1]) as f64 * (p[1] - c[1]) as f64;
            if d2 <= radius2 {
                *n += 1;
                break;
            }
        }
    }
    counts
}

/// Modes covered by `moving` (see the module rule).
pub fn grid25_modes_covered(moving: &Cloud, std: f64) -> usize {
    let need = ((0.1 * moving.len() as f64 / GRID_MODES as f64).ceil() as usize).max(1);
    grid25_counts(moving, std).iter().filter(|&&n| n >= need).count()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::datasets;

    #[test]
    fn the_grid_itself_covers_every_mode_and_a_collapse_covers_few() {
        let grid = datasets::grid25(2000, 0.3, &mut crate::engine::rng::seeded(1));
        assert_eq!(grid25_modes_covered(&grid, 0.3), 25);
        // 3-sigma discs hold ~99% of each component's mass.
        assert!(grid25_counts(&grid, 0.3).iter().sum::<usize>() > 1950);
        let collapsed = datasets::gaussian(2000, &[2.0, -2.0], 0.3, &mut crate::engine::rng::seeded(2));
        assert_eq!(grid25_modes_covered(&collapsed, 0.3), 1);
        let between = Cloud::new(2, vec![1.0, 1.0, -1.0, 3.0]);
        assert_eq!(grid25_modes_covered(&between, 0.3), 0);
    }
}
