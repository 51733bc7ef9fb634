//! The generator's panel (scenes with `model:`, Algorithm 2): the model and
//! the settings in force, the regression loss per step, Fig. 6's
//! comparison with the true parameters for linear generators, and the
//! latent-grid toggle for MLP generators in 2-D/3-D.

use bevy::ecs::system::SystemParam;
use bevy::prelude::*;
use bevy_egui::egui::{self, RichText};
use egui_plot::{Line, PlotPoints, Points};

use super::style::egui_color;
use super::widgets::small_plot;
use crate::app::run::{GeneratorStatus, RunGenerator, RunProgress, SceneRequest};
use crate::app::view::clouds::{FIXED_COLOR, MOVING_COLOR};
use crate::app::view::generator::GeneratorView;
use crate::app::worker::GeneratorInfo;
use crate::engine::Schedule;
use crate::engine::metrics::LinearComparison;
use crate::scene::Scene;

const PLOT_HEIGHT: f32 = 130.0;
/// Most loss points drawn (every step is kept; long runs are thinned for drawing).
const MAX_DRAWN: usize = 4000;

/// What the Generator panel reads and changes.
#[derive(SystemParam)]
pub struct GeneratorPanel<'w> {
    view: ResMut<'w, GeneratorView>,
}

impl GeneratorPanel<'_> {
    /// The section for the focused run's `generator`, when it trains one;
    /// returns whether it showed anything.
    pub fn show(&mut self, ui: &mut egui::Ui, generator: &RunGenerator, status: &RunProgress) -> bool {
        let Some(g) = &generator.0 else { return false };
        let sigma2_now = status.last_report.map(|r| r.sigma2);
        // The grid toggle is the one setting here: the view is written only
        // when it changes.
        let mut view = *self.view;
        generator_ui(ui, g, &mut view, sigma2_now);
        if view != *self.view {
            *self.view = view;
        }
        true
    }
}

/// The whole generator section of the right panel.
pub fn generator_ui(ui: &mut egui::Ui, g: &GeneratorStatus, view: &mut GeneratorView, sigma2_now: Option<f64>) {
    ui.heading("Generator");
    if let Some(info) = &g.info {
        info_ui(ui, info, sigma2_now);
        if info.grid {
            ui.checkbox(&mut view.show_grid, "latent grid")
                .on_hover_text("the image of a grid in the first two latent axes: how the network bends space");
        }
    }
    loss_ui(ui, &g.losses);
    if let Some(c) = &g.comparison {
        comparison_ui(ui, c);
    } else if g.info.as_ref().is_some_and(|i| i.linear && !i.has_truth) {
        ui.label(RichText::new("Fig. 6's comparison needs a LinearGaussian target (known B and mu).").weak());
    }
}

/// Model kind, sizes and the sigma^2 in force.
pub fn info_ui(ui: &mut egui::Ui, info: &GeneratorInfo, sigma2_now: Option<f64>) {
    egui::Grid::new("generator-info").num_columns(2).show(ui, |ui| {
        ui.label("model");
        ui.label(&info.shape);
        ui.end_row();
        ui.label("learning rate");
        ui.label(format!("{}", info.learning_rate));
        ui.end_row();
        ui.label("latent size");
        ui.label(format!("{}", info.latent));
        ui.end_row();
        ui.label("batch");
        ui.label(format!("{}", info.batch)).on_hover_text("latent inputs and target points per step");
        ui.end_row();
        if info.regression_steps > 1 {
            ui.label("regression steps");
            ui.label(format!("{}", info.regression_steps));
            ui.end_row();
        }
        ui.label("σ² in force");
        ui.label(sigma2_text(info, sigma2_now));
        ui.end_row();
    });
}

/// "712.4 (10 × mean nearest distance)", "Cosine, now 3.21", ...
pub fn sigma2_text(info: &GeneratorInfo, sigma2_now: Option<f64>) -> String {
    match (info.schedule, info.from_nearest) {
        (Schedule::Constant { sigma2 }, Some(factor)) => {
            format!("{} ({factor} × mean nearest distance)", significant(sigma2))
        }
        (Schedule::Constant { sigma2 }, None) => format!("{} (constant)", significant(sigma2)),
        (s, _) => match sigma2_now {
            Some(now) => format!("{}, now {}", s.kind_name(), significant(now)),
            None => s.kind_name().to_string(),
        },
    }
}

/// Four significant digits, without scientific notation in the usual range.
fn significant(x: f64) -> String {
    if x != 0.0 && (x.abs() >= 1e5 || x.abs() < 1e-3) {
        format!("{x:.3e}")
    } else {
        format!("{x:.4}").trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

/// The regression loss per step on a log scale.
pub fn loss_ui(ui: &mut egui::Ui, losses: &[(usize, f64)]) {
    ui.label(RichText::new("Regression loss").strong())
        .on_hover_text("Algorithm 2, step 6: mean |g(xi) - y'|² over the batch, i.e. eta² × mean |dz|²");
    let stride = losses.len() / MAX_DRAWN + 1;
    let points: PlotPoints = losses
        .iter()
        .step_by(stride)
        .filter(|(_, l)| *l > 0.0 && l.is_finite())
        .map(|&(s, l)| [s as f64, l.log10()])
        .collect();
    let plot = small_plot("loss-plot", "log10 loss", PLOT_HEIGHT).y_axis_formatter(|mark, _| tick_label(mark));
    plot.show(ui, |plot| {
        plot.line(Line::new("log10 loss", points).color(egui_color(MOVING_COLOR)));
    });
}

/// A tick label with as many decimals as the tick spacing needs (so a
/// narrow log range reads -0.1, -0.2, not -0, -0).
pub fn tick_label(mark: egui_plot::GridMark) -> String {
    let decimals = if mark.step_size > 0.0 { (-mark.step_size.log10().floor()).clamp(0.0, 6.0) as usize } else { 0 };
    let value = if mark.value.abs() < mark.step_size * 1e-6 { 0.0 } else { mark.value };
    format!("{value:.decimals$}")
}

/// Fig. 6's left and centre panels: mu_hat against mu, and the entries of
/// B_hat B_hat^T against B B^T, each with the diagonal y = x.
pub fn comparison_ui(ui: &mut egui::Ui, c: &LinearComparison) {
    ui.label(RichText::new(format!("learned μ against true μ (rel. error {:.3})", c.offset_error)).strong())
        .on_hover_text(
            "Fig. 6 left: each coordinate of the learned offset against the true one; on the diagonal when learned",
        );
    scatter_ui(ui, "offset-plot", "true μ_k", "learned μ_k", &c.offset_pairs);
    ui.label(RichText::new(format!("learned B B^T against true (rel. error {:.3})", c.covariance_error)).strong())
        .on_hover_text("Fig. 6 centre: the entries (a <= b) of the learned covariance against the true one");
    scatter_ui(ui, "covariance-plot", "true (B B^T)_ab", "learned", &c.covariance_pairs);
}

/// Pairs (truth, learned) as points, with the diagonal over their range.
fn scatter_ui(ui: &mut egui::Ui, id: &str, x_label: &str, y_label: &str, pairs: &[(f64, f64)]) {
    let (lo, hi) = diagonal_range(pairs);
    small_plot(id, y_label, PLOT_HEIGHT + 20.0).x_axis_label(x_label.to_owned()).data_aspect(1.0).show(ui, |plot| {
        plot.line(Line::new("y = x", PlotPoints::from(vec![[lo, lo], [hi, hi]])).color(egui::Color32::GRAY).width(1.0));
        let points: PlotPoints = pairs.iter().map(|&(t, l)| [t, l]).collect();
        plot.points(Points::new("entries", points).color(egui_color(FIXED_COLOR)).radius(1.5));
    });
}

/// The range of both coordinates (so the diagonal spans all points).
pub fn diagonal_range(pairs: &[(f64, f64)]) -> (f64, f64) {
    let values = pairs.iter().flat_map(|&(a, b)| [a, b]).filter(|v| v.is_finite());
    let (lo, hi) = values.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| (lo.min(v), hi.max(v)));
    if lo <= hi { (lo, hi) } else { (0.0, 1.0) }
}

/// For generator scenes, flow edits apply only on restart: says so, with
/// the button, when the edited flow settings differ from the running ones.
/// Returns the restart asked for.
pub fn restart_note_ui(ui: &mut egui::Ui, edited: &Scene, running: &Scene) -> Option<SceneRequest> {
    if edited.flow_settings() == running.flow_settings() {
        return None;
    }
    let mut request = None;
    ui.horizontal_wrapped(|ui| {
        ui.colored_label(egui::Color32::from_rgb(235, 170, 60), "A generator's training settings apply on restart:");
        if ui
            .button(RichText::new("Apply and restart").strong())
            .on_hover_text("train a fresh generator with the edited settings from step 0")
            .clicked()
        {
            request = Some(SceneRequest::Restart { new_seed: false });
        }
    });
    request
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(schedule: Schedule, from_nearest: Option<f64>) -> GeneratorInfo {
        GeneratorInfo {
            kind: "Linear",
            shape: "Linear 25 -> 50".into(),
            learning_rate: 1e-3,
            latent: 25,
            dim: 50,
            batch: 1024,
            schedule,
            from_nearest,
            regression_steps: 1,
            linear: true,
            has_truth: true,
            grid: false,
        }
    }

    #[test]
    fn sigma2_in_force_names_its_origin() {
        let i = info(Schedule::Constant { sigma2: 712.43 }, Some(10.0));
        assert_eq!(sigma2_text(&i, None), "712.43 (10 × mean nearest distance)");
        let i = info(Schedule::Constant { sigma2: 2.5 }, None);
        assert_eq!(sigma2_text(&i, Some(2.5)), "2.5 (constant)");
        let i = info(Schedule::Cosine { sigma2_max: 4.0, sigma2_min: 0.05 }, None);
        assert_eq!(sigma2_text(&i, Some(3.2)), "Cosine, now 3.2");
        assert_eq!(sigma2_text(&i, None), "Cosine");
    }

    #[test]
    fn tick_labels_have_the_decimals_their_spacing_needs() {
        let mark = |value, step_size| egui_plot::GridMark { value, step_size };
        assert_eq!(tick_label(mark(-0.2, 0.1)), "-0.2");
        assert_eq!(tick_label(mark(-0.05, 0.05)), "-0.05");
        assert_eq!(tick_label(mark(20.0, 10.0)), "20");
        assert_eq!(tick_label(mark(-1e-17, 0.1)), "0.0");
    }

    #[test]
    fn the_diagonal_spans_both_coordinates() {
        assert_eq!(diagonal_range(&[(1.0, 3.0), (-2.0, 0.5)]), (-2.0, 3.0));
        assert_eq!(diagonal_range(&[]), (0.0, 1.0));
        assert_eq!(diagonal_range(&[(f64::NAN, 2.0)]), (2.0, 2.0));
    }
}
