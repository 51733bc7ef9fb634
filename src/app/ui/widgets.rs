//! Small widgets the panels share: the fixed plot with readable ticks
//! (1-2-5 steps, several labels per axis whatever the range). Imports
//! nothing from the panels.

use bevy_egui::egui;
use egui_plot::{GridInput, GridMark, Plot};

/// Pixels between labelled ticks: at least egui_plot's spacing for fully
/// drawn labels (80 on x, 30 on y), so every major tick is labelled.
const X_TICK_PX: f64 = 80.0;
const Y_TICK_PX: f64 = 30.0;

/// A fixed, non-interactive plot with readable ticks on both axes.
pub fn small_plot(id: &str, y_label: &str, height: f32) -> Plot<'static> {
    Plot::new(id.to_owned())
        .height(height)
        // Room above and below the curve so the end tick labels are not cut.
        .set_margin_fraction(egui::vec2(0.02, 0.12))
        .allow_drag(false)
        .allow_zoom(false)
        .allow_scroll(false)
        .x_axis_label("step")
        .y_axis_label(y_label.to_owned())
        .x_grid_spacer(|input| nice_marks(input, X_TICK_PX))
        .y_grid_spacer(|input| nice_marks(input, Y_TICK_PX))
        .x_axis_formatter(|mark, _| tick_label(mark.value, mark.step_size))
        .y_axis_formatter(|mark, _| tick_label(mark.value, mark.step_size))
}

/// A tick's text with just the decimals its step needs (0.5 steps: "0.5",
/// not "0"); very large or small values in scientific notation.
pub fn tick_label(value: f64, step: f64) -> String {
    let value = if value.abs() < step * 1e-6 { 0.0 } else { value };
    if value != 0.0 && !(1e-4..1e6).contains(&value.abs()) {
        return format!("{value:.1e}");
    }
    let decimals = (-step.log10() - 1e-9).ceil().max(0.0) as usize;
    format!("{value:.decimals$}")
}

/// Grid marks at 1-2-5 multiples, spaced about `label_px` pixels apart (so
/// several are labelled, whatever the range), with unlabelled minor marks
/// in between. `base_step_size` is the plot's value per 8 pixels.
pub fn nice_marks(input: GridInput, label_px: f64) -> Vec<GridMark> {
    let (lo, hi) = input.bounds;
    let value_per_px = input.base_step_size / 8.0;
    if !(hi > lo && value_per_px > 0.0 && value_per_px.is_finite()) {
        return Vec::new();
    }
    let step = nice_step(label_px * value_per_px);
    let minor = step / 5.0;
    let first = (lo / minor).ceil() as i64;
    let last = (hi / minor).floor() as i64;
    if last - first > 10_000 {
        return Vec::new();
    }
    (first..=last)
        .map(|i| {
            let major = i.rem_euclid(5) == 0;
            GridMark { value: i as f64 * minor, step_size: if major { step } else { minor } }
        })
        .collect()
}

/// The smallest of 1, 2, 5 times a power of ten that is at least `raw`.
pub fn nice_step(raw: f64) -> f64 {
    let exp = raw.log10().floor();
    let base = 10f64.powf(exp);
    [1.0, 2.0, 5.0, 10.0].into_iter().map(|m| m * base).find(|s| *s >= raw * (1.0 - 1e-9)).unwrap_or(10.0 * base)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tick_labels_show_the_decimals_of_their_step() {
        assert_eq!(tick_label(0.5, 0.5), "0.5");
        assert_eq!(tick_label(1.0, 0.5), "1.0");
        assert_eq!(tick_label(20.0, 10.0), "20");
        assert_eq!(tick_label(-0.75, 0.05), "-0.75");
        assert_eq!(tick_label(1e-17, 0.2), "0.0");
        assert_eq!(tick_label(2e7, 1e7), "2.0e7");
    }

    #[test]
    fn nice_steps_are_1_2_5() {
        assert_eq!(nice_step(0.7), 1.0);
        assert_eq!(nice_step(1.0), 1.0);
        assert_eq!(nice_step(1.3), 2.0);
        assert!((nice_step(0.031) - 0.05).abs() < 1e-12);
        assert_eq!(nice_step(420.0), 500.0);
    }

    #[test]
    fn an_axis_gets_several_labelled_ticks() {
        // log10 CFD from -2.3 to -0.4 on a 130-pixel axis: 8 px is 0.117 units.
        let marks = nice_marks(GridInput { bounds: (-2.3, -0.4), base_step_size: 1.9 / 130.0 * 8.0 }, Y_TICK_PX);
        let major: Vec<f64> = marks.iter().filter(|m| m.step_size > 0.2).map(|m| m.value).collect();
        assert!(major.len() >= 3, "{major:?}");
        assert!(major.iter().all(|v| (-2.3..=-0.4).contains(v)));
        // Histogram distances 0..40 on a 260-pixel axis.
        let marks = nice_marks(GridInput { bounds: (0.0, 40.0), base_step_size: 40.0 / 260.0 * 8.0 }, X_TICK_PX);
        let major = marks.iter().filter(|m| m.step_size >= 10.0).count();
        assert!((3..=6).contains(&major), "{major}");
    }
}
