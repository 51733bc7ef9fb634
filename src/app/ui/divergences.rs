//! The divergences a flow lowers, live: a table of the latest values (each
//! name explains itself on hover), a plot of the chosen ones over the steps,
//! the KL-rate identity (predicted against measured change of KL(q||p) per
//! step) and, for RectifiedFlow, Tweedie's residual. The worker evaluates
//! them on a cadence that keeps their cost under 10 % of the flow's.

use bevy::prelude::Resource;
use bevy_egui::egui::{self, Color32, RichText};
use egui_plot::{Line, PlotPoints};

use super::widgets::small_plot;
use crate::app::run::RunCurves;
use crate::engine::Divergences;
use crate::engine::metrics::DIVERGENCE_COUNT as COUNT;

/// Which divergences the plot shows (by index into `Divergences::NAMES`);
/// the checkboxes of the table edit it in place.
#[derive(Resource, Debug, Clone, PartialEq)]
pub struct DivergencePlot {
    pub shown: [bool; COUNT],
}

impl Default for DivergencePlot {
    fn default() -> Self {
        let mut shown = [false; COUNT];
        shown[index("kl_qp")] = true;
        shown[index("kl_pq")] = true;
        Self { shown }
    }
}

/// Index of a divergence by name (names are the `--metrics` columns).
pub fn index(name: &str) -> usize {
    Divergences::NAMES.iter().position(|n| *n == name).unwrap_or(0)
}

/// Okabe-Ito colours (without the two of the clouds), cycled.
const SERIES: [Color32; 6] = [
    Color32::from_rgb(0x56, 0xB4, 0xE9),
    Color32::from_rgb(0x00, 0x9E, 0x73),
    Color32::from_rgb(0xF0, 0xE4, 0x42),
    Color32::from_rgb(0xD5, 0x5E, 0x00),
    Color32::from_rgb(0xCC, 0x79, 0xA7),
    Color32::from_rgb(0xBB, 0xBB, 0xBB),
];

/// The two KL-rate rows are drawn in their own plot.
fn is_rate(i: usize) -> bool {
    Divergences::NAMES[i].starts_with("kl_rate")
}

/// Finite (step, value) points of one divergence.
pub fn series(history: &[(usize, [f64; COUNT])], i: usize) -> Vec<[f64; 2]> {
    history.iter().filter(|(_, v)| v[i].is_finite()).map(|(step, v)| [*step as f64, v[i]]).collect()
}

/// The table, the chosen divergences over the steps, the KL rate and
/// Tweedie's residual.
pub fn divergences_ui(ui: &mut egui::Ui, status: &RunCurves, plot: &mut DivergencePlot) {
    let Some((step, latest)) = status.divergences.last() else {
        ui.label(RichText::new("no values yet").weak());
        return;
    };
    ui.label(
        RichText::new(format!("on the smoothed proxies at the current sigma; last at step {step}; hover a name"))
            .weak()
            .small(),
    );
    egui::Grid::new("divergence-table").num_columns(3).striped(true).show(ui, |ui| {
        for (i, name) in Divergences::NAMES.iter().enumerate() {
            let color = SERIES[i % SERIES.len()];
            if is_rate(i) {
                ui.label("");
            } else {
                ui.checkbox(&mut plot.shown[i], "").on_hover_text("plot it");
            }
            ui.label(RichText::new(*name).color(if plot.shown[i] { color } else { ui.visuals().text_color() }))
                .on_hover_text(Divergences::EXPLANATIONS[i]);
            let value = latest[i];
            ui.label(if value.is_finite() { format!("{value:.4e}") } else { "n/a".into() })
                .on_hover_text(if value.is_finite() { "" } else { "does not apply to this run" });
            ui.end_row();
        }
    });

    let chosen: Vec<usize> = (0..COUNT).filter(|&i| plot.shown[i] && !is_rate(i)).collect();
    if !chosen.is_empty() {
        // The legend above the plot, never on the curves.
        ui.horizontal_wrapped(|ui| {
            for &i in &chosen {
                ui.label(RichText::new(format!("— {}", Divergences::NAMES[i])).color(SERIES[i % SERIES.len()]));
            }
        });
        small_plot("divergence-plot", "value", 130.0).show(ui, |p| {
            for &i in &chosen {
                let points: PlotPoints = series(&status.divergences, i).into();
                p.line(Line::new(Divergences::NAMES[i], points).color(SERIES[i % SERIES.len()]));
            }
        });
    }

    let (predicted, measured) = (
        series(&status.divergences, index("kl_rate_predicted")),
        series(&status.divergences, index("kl_rate_measured")),
    );
    if !predicted.is_empty() || !measured.is_empty() {
        ui.label(RichText::new("KL rate: predicted against measured").strong()).on_hover_text(
            "For an SD step y <- y + eta dz the change of KL(q_sigma || p_sigma) per step is predicted as \
             -(eta sigma^2 / 2) fisher_q. They agree for small steps at fixed sigma; a falling schedule adds \
             the change of sigma to the measured value.",
        );
        let (blue, orange) = (SERIES[0], SERIES[3]);
        ui.horizontal(|ui| {
            ui.label(RichText::new("— predicted").color(blue));
            ui.label(RichText::new("— measured").color(orange));
        });
        small_plot("kl-rate-plot", "dKL / step", 110.0).show(ui, |p| {
            p.line(Line::new("predicted", PlotPoints::from(predicted)).color(blue));
            p.line(Line::new("measured", PlotPoints::from(measured)).color(orange));
        });
    }

    if let Some(residual) = status.tweedie {
        ui.label(format!("Tweedie residual: {residual:.2e}")).on_hover_text(
            "relative gap between grad log rho_t from Tweedie's formula, (t v_t(x) - x) / (1 - t), and the \
             kernel score of rho_t: at f32 rounding when the velocity is right",
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn series_skip_values_that_do_not_apply() {
        let mut a = [f64::NAN; COUNT];
        a[index("kl_qp")] = 2.0;
        let mut b = [f64::NAN; COUNT];
        b[index("kl_qp")] = 1.0;
        b[index("js")] = 0.3;
        let history = vec![(0, a), (10, b)];
        assert_eq!(series(&history, index("kl_qp")), vec![[0.0, 2.0], [10.0, 1.0]]);
        assert_eq!(series(&history, index("js")), vec![[10.0, 0.3]]);
        let shown = DivergencePlot::default().shown;
        assert_eq!(shown.iter().filter(|s| **s).count(), 2);
        assert!(shown[index("kl_qp")] && shown[index("kl_pq")]);
    }
}
