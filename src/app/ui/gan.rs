//! The GAN view's panel sections: the colouring choice with its legend (in the
//! right panel's View section) and the driver-cosine plot of
//! discriminator-driven scenes.

use bevy_egui::egui::{self, Color32, RichText};
use egui_plot::{HLine, Line, PlotPoints};

use super::style::WARN;
use super::widgets::{nice_step, small_plot};
use crate::app::run::{ActiveScene, RunCurves};
use crate::app::view::gan::{BINS, Colouring, GanView, bin_colour, has_discriminator};
use crate::app::worker::{Field, GanValues};

/// Okabe-Ito sky blue: the cosine curve, readable on the dark plot.
const COSINE_COLOR: Color32 = Color32::from_rgb(0x56, 0xB4, 0xE9);
/// Most points drawn on the cosine curve (long runs are thinned for drawing).
const MAX_DRAWN: usize = 4000;

/// The colouring choice and the heat map switch (edited in `view`), and the
/// legend of the run's discriminator values (`values`, of step `step`).
pub fn colouring_ui(
    ui: &mut egui::Ui,
    view: &mut GanView,
    with_discriminator: bool,
    flat: bool,
    values: Option<&GanValues>,
    step: usize,
) {
    choice_ui(ui, view, with_discriminator, flat);
    let Some(values) = values else { return };
    let coloured = view.colouring.field() == Some(values.field);
    let heat = view.heat_map && flat && values.grid.is_some();
    if !coloured && !heat {
        return;
    }
    if values.points.is_empty() && values.grid.as_ref().is_none_or(|g| g.values.is_empty()) {
        ui.colored_label(WARN, "This run has no discriminator to show.");
        return;
    }
    legend_ui(ui, values, step);
}

fn choice_ui(ui: &mut egui::Ui, view: &mut GanView, with_discriminator: bool, flat: bool) {
    ui.horizontal(|ui| {
        ui.label("Colour").on_hover_text("how the moving points are coloured");
        egui::ComboBox::from_id_salt("colouring")
            .selected_text(view.colouring.label())
            .show_ui(ui, |ui| {
                for c in Colouring::ALL {
                    let enabled = c != Colouring::Discriminator || with_discriminator;
                    let help = if enabled {
                        c.help()
                    } else {
                        "only for scenes with a `driver: Discriminator(..)`, e.g. mystery_offset_disc_alt"
                    };
                    ui.add_enabled_ui(enabled, |ui| {
                        ui.selectable_value(&mut view.colouring, c, c.label()).on_hover_text(help);
                    });
                }
            })
            .response
            .on_hover_text(view.colouring.help());
    });
    let help = if flat {
        "the same h over the plane, behind the points (h* unless the discriminator's h is the colouring)"
    } else {
        "2-D scenes only"
    };
    ui.add_enabled(flat, egui::Checkbox::new(&mut view.heat_map, "heat map of h behind the points"))
        .on_hover_text(help)
        .on_disabled_hover_text(help);
}

/// The field's name, a gradient bar of the points' colour bins with round
/// tick values, and what the two ends mean.
fn legend_ui(ui: &mut egui::Ui, values: &GanValues, step_index: usize) {
    let title = match values.field {
        Field::Optimal => format!("h* = log p_σ / q_σ   (σ² = {:.3})", values.sigma2),
        Field::Discriminator => "discriminator h = logit of f".to_owned(),
    };
    ui.label(RichText::new(title).strong()).on_hover_text(match values.field {
        Field::Optimal => "the optimal discriminator on the noise-smoothed clouds, from the kernel sums",
        Field::Discriminator => "the trained discriminator's pre-activation; the optimal one would equal h*",
    });
    let range = values.range;
    // Room each side for the end ticks' labels.
    let pad = 16.0;
    let width = ui.available_width().clamp(120.0, 400.0) - 2.0 * pad;
    let (rect, _) = ui.allocate_exact_size(egui::vec2(width + 2.0 * pad, 34.0), egui::Sense::hover());
    let bar = egui::Rect::from_min_size(rect.min + egui::vec2(pad, 0.0), egui::vec2(width, 14.0));
    let painter = ui.painter_at(rect);
    let cell = bar.width() / BINS as f32;
    for b in 0..BINS {
        let c = bin_colour32(b as u8);
        let x0 = bar.left() + b as f32 * cell;
        // A hair of overlap so no background line shows between the cells.
        painter.rect_filled(egui::Rect::from_x_y_ranges(x0..=x0 + cell + 0.5, bar.y_range()), 0.0, c);
    }
    let text = ui.visuals().text_color();
    painter.rect_stroke(bar, 0.0, egui::Stroke::new(1.0, text.gamma_multiply(0.5)), egui::StrokeKind::Outside);
    let ticks = legend_ticks(range);
    let step = ticks.get(1).map_or(1.0, |t| t - ticks[0]);
    for t in ticks {
        let x = bar.left() + (t / range + 1.0) * 0.5 * bar.width();
        painter.line_segment([egui::pos2(x, bar.bottom()), egui::pos2(x, bar.bottom() + 4.0)], (1.0, text));
        painter.text(
            egui::pos2(x, bar.bottom() + 5.0),
            egui::Align2::CENTER_TOP,
            tick_label(t, step),
            egui::FontId::proportional(12.0),
            text,
        );
    }
    // What the two ends mean, in the panel's text colour (readable on any theme).
    ui.horizontal(|ui| {
        ui.label(RichText::new("◀ moving cloud denser").small()).on_hover_text("h < 0: q_sigma > p_sigma here");
        ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
            ui.label(RichText::new("fixed cloud denser ▶").small()).on_hover_text("h > 0: p_sigma > q_sigma here");
        });
    });
    let mut note = format!("colours span ±{range:.3}: 95 % of the moving points");
    if let Some(g) = values.grid.as_ref().filter(|g| g.step_index != step_index) {
        note.push_str(&format!("; heat map from step {}", g.step_index));
    }
    ui.label(RichText::new(note).weak().small());
}

fn bin_colour32(b: u8) -> Color32 {
    let [r, g, bl] = bin_colour(b);
    Color32::from_rgb((r * 255.0).round() as u8, (g * 255.0).round() as u8, (bl * 255.0).round() as u8)
}

/// Tick values for a legend over +-`range`: 0 and multiples of a 1-2-5 step
/// that leaves one to three ticks each side.
pub fn legend_ticks(range: f32) -> Vec<f32> {
    if !(range.is_finite() && range > 0.0) {
        return vec![0.0];
    }
    let step = nice_step(range as f64 / 2.5) as f32;
    let n = (range / step + 1e-4).floor() as i32;
    (-n..=n).map(|i| i as f32 * step).collect()
}

/// A tick value with as many decimals as its step needs.
pub fn tick_label(value: f32, step: f32) -> String {
    let decimals = if step >= 1.0 { 0 } else { (-step.log10()).ceil().max(0.0) as usize };
    let s = format!("{value:.decimals$}");
    // No "-0".
    if s.trim_start_matches('-').chars().all(|c| c == '0' || c == '.') {
        s.trim_start_matches('-').to_owned()
    } else {
        s
    }
}

/// The driver cosine per step, for scenes with a `Discriminator` driver.
pub fn cosine_ui(ui: &mut egui::Ui, active: &ActiveScene, curves: &RunCurves) {
    if !has_discriminator(active) {
        return;
    }
    let cosines = &curves.cosines;
    ui.horizontal(|ui| {
        ui.label(RichText::new("Discriminator vs optimal").strong());
        if let Some((_, c)) = cosines.last() {
            ui.label(format!("cosine {c:.3}"));
        }
    });
    ui.label(
        RichText::new("Mean cosine between the trained discriminator's direction and the kernel SD flow at the moving points: 1 = the optimal discriminator's flow.")
            .weak()
            .small(),
    );
    let stride = cosines.len() / MAX_DRAWN + 1;
    let points: PlotPoints = cosines.iter().step_by(stride).map(|&(s, c)| [s as f64, c]).collect();
    small_plot("cosine-plot", "cosine", 120.0)
        .include_y(0.0)
        .include_y(1.0)
        // Ticks fall on halves and tenths here: one decimal, so none reads "0" twice.
        .y_axis_formatter(|mark, _| format!("{:.1}", mark.value))
        .show(ui, |plot| {
            plot.hline(HLine::new("optimal", 1.0).color(Color32::GRAY).width(1.0));
            plot.line(Line::new("driver cosine", points).color(COSINE_COLOR));
        });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn legend_ticks_are_round_symmetric_and_inside() {
        for range in [0.1f32, 0.37, 1.0, 3.7, 12.0, 250.0] {
            let ticks = legend_ticks(range);
            assert!(ticks.contains(&0.0), "{range}: {ticks:?}");
            assert!(ticks.len() >= 3 && ticks.len() <= 7, "{range}: {ticks:?}");
            assert!(ticks.iter().all(|t| t.abs() <= range * 1.0001), "{range}: {ticks:?}");
            assert!(ticks.iter().zip(ticks.iter().rev()).all(|(a, b)| (a + b).abs() < 1e-4));
        }
        assert_eq!(legend_ticks(3.7), vec![-2.0, 0.0, 2.0]);
        assert_eq!(legend_ticks(f32::NAN), vec![0.0]);
    }

    #[test]
    fn tick_labels_use_the_decimals_of_their_step() {
        assert_eq!(tick_label(-2.0, 2.0), "-2");
        assert_eq!(tick_label(0.0, 2.0), "0");
        assert_eq!(tick_label(-0.0, 0.1), "0.0");
        assert_eq!(tick_label(0.2, 0.1), "0.2");
        assert_eq!(tick_label(0.05, 0.05), "0.05");
        assert_eq!(tick_label(-20.0, 10.0), "-20");
    }
}
