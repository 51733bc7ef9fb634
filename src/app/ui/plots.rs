//! The right panel: live metrics. CFD per step on a log scale, the outlier
//! fraction, and the nearest-neighbour distance histograms of the paper's
//! Fig. 3 (moving -> target against target -> target, over shared bins).
//!
//! Every plot uses `widgets::small_plot` (1-2-5 ticks, several labels per axis
//! whatever the range), draws its legend above the data, and marks the
//! steps where the flow settings changed.

use bevy::ecs::system::SystemParam;
use bevy::prelude::*;
use bevy_egui::egui::{self, RichText};
use egui_plot::{Bar, BarChart, Line, PlotPoints, VLine};

use super::divergences::{DivergencePlot, divergences_ui};
use super::gan::cosine_ui;
use super::state::{RunView, RunViewItem, run_label, runs_in_view_order};
use super::style::{egui_color, run_colour};
use super::widgets::small_plot;
use crate::app::run::{ActiveScene, Focused, RunCurves, RunProgress, RunTimeline};
use crate::app::view::clouds::{FIXED_COLOR, MOVING_COLOR};
use crate::engine::metrics::percentile;

const PLOT_HEIGHT: f32 = 130.0;
const BINS: usize = 30;
/// Most points drawn per curve (every step is kept; long runs are thinned for drawing).
const MAX_DRAWN: usize = 4000;

/// What the Metrics panel reads and changes.
#[derive(SystemParam)]
pub struct PlotsPanel<'w, 's> {
    runs: Query<'w, 's, RunView>,
    histograms: Res<'w, NnHistograms>,
    divergences: ResMut<'w, DivergencePlot>,
}

impl PlotsPanel<'_, '_> {
    /// The metrics of the focused run (`active`, `progress`, `curves`,
    /// `history`), the curves of every run, and the divergences.
    pub fn show(
        &mut self,
        ui: &mut egui::Ui,
        active: &ActiveScene,
        progress: &RunProgress,
        curves: &RunCurves,
        history: &RunTimeline,
    ) {
        let runs = runs_in_view_order(&self.runs);
        // Scrubbed back: the plots mark the step shown.
        let shown = history.0.as_ref().filter(|t| progress.step_index < t.furthest).map(|_| progress.step_index);
        metrics_ui(ui, active, curves, shown, &runs, &self.histograms);
        ui.separator();
        egui::CollapsingHeader::new(RichText::new("Divergences").heading()).default_open(true).show(ui, |ui| {
            divergences_ui(ui, curves, &mut self.divergences);
        });
    }
}

/// The latest metrics, the driver cosine, CFD and outliers per step (one
/// curve per run in `runs`) and the nearest-neighbour histograms; `shown`
/// is the step on screen when it is behind the furthest recorded one.
pub fn metrics_ui(
    ui: &mut egui::Ui,
    active: &ActiveScene,
    s: &RunCurves,
    shown: Option<usize>,
    runs: &[RunViewItem],
    histograms: &NnHistograms,
) {
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
    cosine_ui(ui, active, s);
    let orange = egui_color(MOVING_COLOR);
    let blue = egui_color(FIXED_COLOR);
    let markers = &s.markers;

    // One curve per run (compare mode: each in its run's colour, legend above).
    let curves: Vec<(String, egui::Color32, &RunCurves)> = if runs.len() > 1 {
        runs.iter().map(|r| (run_label(r.slot.0, r.active), run_colour(r.slot.0), r.curves)).collect()
    } else {
        vec![("moving".into(), orange, s)]
    };
    ui.separator();
    ui.label(RichText::new("CFD (characteristic function distance)").strong())
        .on_hover_text("App. E.1: mean |phi_p - phi_q| over 256 random frequencies; 0 when the clouds agree");
    run_legend(ui, &curves);
    // Scrubbed back: a line at the step shown.
    let shown = shown.map(|step| step as f64);
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
    if let Some(h) = &histograms.0 {
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
}

/// The runs' names in their curve colours, above a plot (compare mode only).
fn run_legend(ui: &mut egui::Ui, curves: &[(String, egui::Color32, &RunCurves)]) {
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

/// The nearest-neighbour histograms, recomputed only when a new state arrived.
#[derive(Resource, Default, Debug)]
pub struct NnHistograms(pub Option<Histograms>);

/// Bin centres and fractions of the moving and the fixed points, over bins
/// of one width.
#[derive(Debug, Clone)]
pub struct Histograms {
    pub moving: Vec<(f64, f64)>,
    pub fixed: Vec<(f64, f64)>,
    pub width: f64,
}

/// The focused run's histograms, rebuilt when its status changes or the
/// focus moves to another run.
pub fn update_histograms(runs: Query<(Ref<RunCurves>, Ref<Focused>)>, mut out: ResMut<NnHistograms>) {
    let Ok((status, focused)) = runs.single() else { return };
    if status.is_changed() || focused.is_added() {
        out.0 = histograms(&status.moving_nn, &status.fixed_nn);
    }
}

/// Two normalised histograms over shared bins (up to the 99th percentile of
/// both, so one far outlier does not squash the rest).
fn histograms(moving: &[f64], fixed: &[f64]) -> Option<Histograms> {
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
    Some(Histograms { moving: hist(moving), fixed: hist(fixed), width })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histograms_share_bins_and_sum_to_one() {
        let moving: Vec<f64> = (0..100).map(|i| i as f64 / 10.0).collect();
        let fixed = vec![0.5; 50];
        let Histograms { moving: m, fixed: f, width } = histograms(&moving, &fixed).expect("histograms");
        assert_eq!((m.len(), f.len()), (BINS, BINS));
        assert!((m.iter().map(|b| b.1).sum::<f64>() - 1.0).abs() < 1e-12);
        assert!((f.iter().map(|b| b.1).sum::<f64>() - 1.0).abs() < 1e-12);
        // Bins run to the 99th percentile of both sets (9.801 here).
        assert!((width * BINS as f64 - 9.801).abs() < 1e-9, "{width}");
        assert!(histograms(&[], &fixed).is_none());
    }
}
