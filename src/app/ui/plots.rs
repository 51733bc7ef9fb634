//! The right panel: live metrics. CFD per step on a log scale, the outlier
//! fraction, and the nearest-neighbour distance histograms of the paper's
//! Fig. 3 (moving -> target against target -> target, over shared bins).
//!
//! Every plot uses [`nice_marks`] for its ticks (1-2-5 steps, several
//! labels per axis whatever the range), draws its legend above the data, and
//! marks the steps where the flow settings changed.

use bevy::prelude::DetectChanges;
use bevy_egui::egui::{self, RichText};
use egui_plot::{Bar, BarChart, GridInput, GridMark, Line, Plot, PlotPoints, VLine};

use super::UiParams;
use super::panels::egui_color;
use crate::app::render::{FIXED_COLOR, MOVING_COLOR};
use crate::app::simulation::RunStatus;
use crate::engine::metrics::percentile;

const PLOT_HEIGHT: f32 = 130.0;
const BINS: usize = 30;
/// Most points drawn per curve (every step is kept; long runs are thinned for drawing).
const MAX_DRAWN: usize = 4000;
/// Pixels between labelled ticks: at least egui_plot's spacing for fully
/// drawn labels (80 on x, 30 on y), so every major tick is labelled.
const X_TICK_PX: f64 = 80.0;
const Y_TICK_PX: f64 = 30.0;

pub fn right_panel(ui: &mut egui::Ui, p: &mut UiParams) {
    ui.heading("View");
    super::panels::view_ui(ui, p);
    ui.separator();

    if let Some(g) = &p.run.status.generator {
        let sigma2_now = p.run.status.last_report.map(|r| r.sigma2);
        super::generator::generator_ui(ui, g, &mut p.generator_view, sigma2_now);
        ui.separator();
    }

    let s = &p.run.status;
    ui.heading("Metrics");
    if let Some(m) = &s.latest {
        egui::Grid::new("metrics").num_columns(2).show(ui, |ui| {
            ui.label("CFD");
            ui.label(format!("{:.3e}", m.cfd));
            ui.end_row();
            ui.label("outliers");
            ui.label(format!("{:.2} %", 100.0 * m.outlier_fraction));
            ui.end_row();
            ui.label("mean error");
            ui.label(format!("{:.4}", m.mean_error));
            ui.end_row();
            ui.label("cov error");
            ui.label(format!("{:.4}", m.cov_error));
            ui.end_row();
        });
    } else {
        ui.label(RichText::new("waiting for the first state").weak());
    }
    super::gan::cosine_ui(ui, p);
    let s = &p.run.status;
    let orange = egui_color(MOVING_COLOR);
    let blue = egui_color(FIXED_COLOR);
    let markers = &s.markers;

    // One curve per run (compare mode: each in its run's colour, legend above).
    let runs = super::runs_in_view_order(&p.runs);
    let curves: Vec<(String, egui::Color32, &RunStatus)> = if runs.len() > 1 {
        runs.iter()
            .map(|r| (super::runs::run_label(r.slot.0, r.active), super::runs::run_colour(r.slot.0), r.status))
            .collect()
    } else {
        vec![("moving".into(), orange, s)]
    };
    ui.separator();
    ui.label(RichText::new("CFD (characteristic function distance)").strong())
        .on_hover_text("App. E.1: mean |phi_p - phi_q| over 256 random frequencies; 0 when the clouds agree");
    run_legend(ui, &curves);
    // Scrubbed back: a line at the step shown.
    let shown = s.timeline.as_ref().filter(|t| s.step_index < t.furthest).map(|_| s.step_index as f64);
    small_plot("cfd-plot", "log10 CFD", PLOT_HEIGHT).show(ui, |plot| {
        mark_shown(plot, shown);
        for (name, colour, status) in &curves {
            let stride = status.history.len() / MAX_DRAWN + 1;
            let cfd: PlotPoints = status
                .history
                .iter()
                .step_by(stride)
                .filter(|h| h.cfd > 0.0 && h.cfd.is_finite())
                .map(|h| [h.step as f64, h.cfd.log10()])
                .collect();
            plot.line(Line::new(name.as_str(), cfd).color(*colour));
        }
        mark_changes(plot, markers);
    });

    ui.label(RichText::new("Outlier fraction").strong())
        .on_hover_text("share of moving points farther from the target than 99 % of target points are from each other");
    run_legend(ui, &curves);
    small_plot("outlier-plot", "fraction", PLOT_HEIGHT).include_y(0.0).show(ui, |plot| {
        mark_shown(plot, shown);
        for (name, colour, status) in &curves {
            let stride = status.history.len() / MAX_DRAWN + 1;
            let outliers: PlotPoints =
                status.history.iter().step_by(stride).map(|h| [h.step as f64, h.outlier_fraction]).collect();
            plot.line(Line::new(name.as_str(), outliers).color(*colour));
        }
        mark_changes(plot, markers);
    });
    if !markers.is_empty() {
        ui.label(RichText::new("Grey lines: steps where a setting changed (hover for what).").weak().small());
    }

    ui.label(RichText::new("Nearest-neighbour distances").strong())
        .on_hover_text("Fig. 3: distance from each point to its nearest fixed point");
    if let Some(h) = &p.histograms.0 {
        // The legend sits above the plot, never on the bars.
        ui.horizontal(|ui| {
            ui.label(RichText::new("■ fixed -> fixed").color(blue));
            ui.label(RichText::new("■ moving -> fixed").color(orange));
        });
        let width = h.width;
        let bars = |h: &[(f64, f64)], shift: f64| -> Vec<Bar> {
            h.iter().map(|&(x, y)| Bar::new(x + shift * width, y).width(width * 0.45)).collect()
        };
        small_plot("nn-plot", "fraction", PLOT_HEIGHT + 20.0)
            .x_axis_label("distance to the nearest fixed point")
            .include_x(0.0)
            .include_y(0.0)
            .show(ui, |plot| {
                plot.bar_chart(BarChart::new("fixed -> fixed", bars(&h.fixed, -0.25)).color(blue));
                plot.bar_chart(BarChart::new("moving -> fixed", bars(&h.moving, 0.25)).color(orange));
            });
    } else {
        ui.label(RichText::new("no distances yet").weak());
    }

    ui.separator();
    egui::CollapsingHeader::new(RichText::new("Divergences").heading()).default_open(true).show(ui, |ui| {
        super::divergences::divergences_ui(ui, p.run.status, &mut p.state.divergence_plot);
    });
}

/// The runs' names in their curve colours, above a plot (compare mode only).
fn run_legend(ui: &mut egui::Ui, curves: &[(String, egui::Color32, &RunStatus)]) {
    if curves.len() < 2 {
        return;
    }
    ui.horizontal_wrapped(|ui| {
        for (name, colour, _) in curves {
            ui.label(RichText::new(format!("■ {name}")).color(*colour));
        }
    });
}

/// A line at the step the timeline shows, when it is behind the recorded end.
fn mark_shown(plot: &mut egui_plot::PlotUi<'_>, step: Option<f64>) {
    if let Some(step) = step {
        plot.vline(VLine::new("shown", step).color(egui::Color32::from_rgb(0x56, 0xB4, 0xE9)).width(1.5));
    }
}

/// Vertical marks where the flow settings changed, named by what changed.
fn mark_changes(plot: &mut egui_plot::PlotUi<'_>, markers: &[(usize, String)]) {
    for (step, what) in markers {
        plot.vline(VLine::new(what.as_str(), *step as f64).color(egui::Color32::GRAY).width(1.0));
    }
}

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

/// The nearest-neighbour histograms, recomputed only when a new state arrived.
#[derive(bevy::prelude::Resource, Default, Debug)]
pub struct NnHistograms(pub Option<Histograms>);

#[derive(Debug, Clone)]
pub struct Histograms {
    pub moving: Vec<(f64, f64)>,
    pub fixed: Vec<(f64, f64)>,
    pub width: f64,
}

/// The focused run's histograms, rebuilt when its status changes or the
/// focus moves to another run.
pub fn update_histograms(
    runs: bevy::prelude::Query<(bevy::prelude::Ref<RunStatus>, bevy::prelude::Ref<crate::app::runs::Focused>)>,
    mut out: bevy::prelude::ResMut<NnHistograms>,
) {
    let Ok((status, focused)) = runs.single() else { return };
    if status.is_changed() || focused.is_added() {
        out.0 = histograms(&status.moving_nn, &status.fixed_nn).map(|(moving, fixed, width)| Histograms {
            moving,
            fixed,
            width,
        });
    }
}

/// Two normalised histograms over shared bins (up to the 99th percentile of
/// both, so one far outlier does not squash the rest); (moving, fixed, bin width).
#[allow(clippy::type_complexity)]
fn histograms(moving: &[f64], fixed: &[f64]) -> Option<(Vec<(f64, f64)>, Vec<(f64, f64)>, f64)> {
    if moving.is_empty() || fixed.is_empty() {
        return None;
    }
    let p99 = |v: &[f64]| {
        let mut s: Vec<f64> = v.iter().copied().filter(|x| x.is_finite()).collect();
        s.sort_by(f64::total_cmp);
        percentile(&s, 0.99)
    };
    let top = p99(moving).max(p99(fixed));
    if !(top.is_finite() && top > 0.0) {
        return None;
    }
    let width = top / BINS as f64;
    let hist = |v: &[f64]| {
        let mut counts = vec![0usize; BINS];
        for &x in v.iter().filter(|x| x.is_finite()) {
            counts[((x / width) as usize).min(BINS - 1)] += 1;
        }
        let n = v.len().max(1) as f64;
        counts.into_iter().enumerate().map(|(i, c)| ((i as f64 + 0.5) * width, c as f64 / n)).collect()
    };
    Some((hist(moving), hist(fixed), width))
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
    fn histograms_share_bins_and_sum_to_one() {
        let moving: Vec<f64> = (0..100).map(|i| i as f64 / 10.0).collect();
        let fixed = vec![0.5; 50];
        let (m, f, width) = histograms(&moving, &fixed).expect("histograms");
        assert_eq!((m.len(), f.len()), (BINS, BINS));
        assert!((m.iter().map(|b| b.1).sum::<f64>() - 1.0).abs() < 1e-12);
        assert!((f.iter().map(|b| b.1).sum::<f64>() - 1.0).abs() < 1e-12);
        // Bins run to the 99th percentile of both sets (9.801 here).
        assert!((width * BINS as f64 - 9.801).abs() < 1e-9, "{width}");
        assert!(histograms(&[], &fixed).is_none());
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
