//! The Flow panel: the focused run's flow settings (method, direction),
//! noise schedule and parameters. Edits go to a copy of the draft scene
//! that is written back only when it changed, so nothing is re-validated
//! per frame.
//!
//! Layout rule: a change that needs a restart says so right under the
//! control that changed, with the button to apply it.

use bevy::ecs::system::SystemParam;
use bevy::prelude::*;
use bevy_egui::egui::{self, Color32, RichText};
use egui_plot::{Line, PlotPoints, VLine};

use super::generator::restart_note_ui;
use super::state::Requests;
use super::style::{BAD, WARN, egui_color};
use super::widgets::small_plot;
use crate::app::run::{ActiveScene, Draft, RunGenerator, RunProgress, SceneRequest};
use crate::app::view::clouds::MOVING_COLOR;
use crate::engine::{Bandwidth, CutOff, Dataset, Direction, Method, Rho, Schedule, StepSize};
use crate::scene::Scene;

/// The Flow panel's own state.
#[derive(Resource, Debug, Default)]
pub struct FlowMemory {
    /// The last sigma² min typed, so Constant -> Cosine gives it back.
    pub sigma2_min_memory: Option<f64>,
}

/// What the Flow panel reads and changes.
#[derive(SystemParam)]
pub struct FlowPanel<'w> {
    memory: ResMut<'w, FlowMemory>,
}

impl FlowPanel<'_> {
    /// The flow, schedule and parameter sections for the focused run; edits
    /// go to `draft` (only when something changed). Returns false, showing
    /// nothing, while no scene is loaded.
    pub fn show(
        &mut self,
        ui: &mut egui::Ui,
        draft: &mut Mut<Draft>,
        active: &ActiveScene,
        status: &RunProgress,
        generator: &RunGenerator,
        out: &mut Requests,
    ) -> bool {
        // Edit a copy; write back only on change (change detection drives validation).
        let Some(mut scene) = draft.scene.clone() else { return false };
        let Some(running) = active.scene() else { return false };
        let restart = RestartNeeds::of(&scene, running, active.seed);
        let mut requests = Vec::new();
        if generator.0.is_some() {
            requests.extend(restart_note_ui(ui, &scene, running));
        }
        egui::CollapsingHeader::new("Flow")
            .default_open(true)
            .show(ui, |ui| requests.extend(flow_ui(ui, &mut scene, restart)));
        egui::CollapsingHeader::new("Noise schedule").default_open(true).show(ui, |ui| {
            let sigma2_now = status.last_report.map(|r| r.sigma2);
            let memory = &mut self.memory.sigma2_min_memory;
            schedule_ui(ui, &mut scene, status.step_index, sigma2_now, memory, &draft.problems);
        });
        egui::CollapsingHeader::new("Parameters")
            .default_open(true)
            .show(ui, |ui| requests.extend(parameters_ui(ui, &mut scene, status.eta, restart)));
        if draft.scene.as_ref() != Some(&scene) {
            draft.scene = Some(scene);
        }
        for request in requests {
            out.scene(request);
        }
        true
    }
}

/// Which edited values only a restart can apply (they rebuild the clouds).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RestartNeeds {
    pub direction: bool,
    pub points: bool,
    pub seed: bool,
}

impl RestartNeeds {
    pub fn of(edited: &Scene, running: &Scene, running_seed: u64) -> Self {
        Self {
            direction: edited.direction != running.direction,
            points: edited.target.points() != running.target.points()
                || edited.source.as_ref().and_then(|s| s.points()) != running.source.as_ref().and_then(|s| s.points()),
            seed: edited.seed != running_seed,
        }
    }
}

/// The notice and the button that applies a change needing a restart,
/// shown right under the control that changed.
fn apply_restart_ui(ui: &mut egui::Ui, what: &str) -> Option<SceneRequest> {
    let mut request = None;
    ui.horizontal_wrapped(|ui| {
        ui.colored_label(WARN, format!("{what} changed: the run goes on with the old value until"));
        if ui
            .button(RichText::new("Apply and restart").strong().color(WARN))
            .on_hover_text("rebuild the clouds with the edited values and start again from step 0")
            .clicked()
        {
            request = Some(SceneRequest::Restart { new_seed: false });
        }
    });
    request
}

/// The paper's form and one sentence for each method, for its tooltip.
pub fn method_help(method: Method) -> &'static str {
    match method {
        Method::Sd => {
            "Score-difference flow, eq. 13 / Algorithm 1: dz = 1/2 (D_p(z) - D_q(z)), the difference of the two \
             kernel-weighted means (optimal denoisers, eq. 15). The direction that lowers KL(q||p) fastest."
        }
        Method::SdDenoiser => {
            "Denoiser form, eq. 16: y <- (1 - rho) y + rho D_p(z). SD flow with D_q(z) replaced by y: the reverse \
             step of a diffusion model (Section 5). Lands points on the target but has no self-repulsion."
        }
        Method::Mmd => {
            "MMD gradient flow with noise injection, eq. 42 (Arbel et al. 2019): dz = (k_p (D_p - z) - k_q (D_q - z)) \
             / sigma², the same kernel means with unnormalised weights k (mean kernel values). Far from the target \
             the attraction fades while self-repulsion stays, so the variance blows up (Remark 1)."
        }
        Method::MmdNormalized => {
            "MMD flow with normalised weights, eq. 43: the mean kernel values drop out and it equals SD flow \
             (Remark 1). Here to show that the normalisation is the whole difference."
        }
        Method::RectifiedFlow => {
            "Ideal rectified flow from N(0, I): v_t(x) = (E[X1 | X_t = x] - x) / (1 - t), Euler steps over t in \
             [0, 1). Its kernel mean is over the target points scaled by t. On an empirical target it lands every \
             sample on a training point (memorises). Ignores the schedule and the step size."
        }
    }
}

/// Method, rho and direction, edited in `scene`; returns the restart asked for.
fn flow_ui(ui: &mut egui::Ui, scene: &mut Scene, restart: RestartNeeds) -> Option<SceneRequest> {
    ui.horizontal(|ui| {
        ui.label("Method");
        egui::ComboBox::from_id_salt("method")
            .selected_text(scene.method.name())
            .show_ui(ui, |ui| {
                for m in Method::ALL {
                    ui.selectable_value(&mut scene.method, m, m.name()).on_hover_text(method_help(m));
                }
            })
            .response
            .on_hover_text(method_help(scene.method));
    });
    if !scene.method.allows_fixed_bandwidth() {
        scene.bandwidth = Bandwidth::Tied;
    }
    if scene.method == Method::SdDenoiser {
        rho_ui(ui, &mut scene.rho);
    } else {
        scene.rho = Rho::StepSize;
    }
    if !scene.method.uses_schedule() {
        ui.colored_label(WARN, "This method ignores the noise schedule and the step size below.");
    }
    ui.horizontal(|ui| {
        ui.label("Direction");
        ui.radio_value(&mut scene.direction, Direction::Forward, "forward")
            .on_hover_text("the source moves onto the target (applies on restart)");
        ui.radio_value(&mut scene.direction, Direction::Reverse, "reverse")
            .on_hover_text("the target moves onto the source, dx = -dz with the roles swapped (applies on restart)");
    });
    if restart.direction { apply_restart_ui(ui, "Direction") } else { None }
}

/// SdDenoiser's rho in y <- (1 - rho) y + rho D_p(z) (eq. 16).
fn rho_ui(ui: &mut egui::Ui, rho: &mut Rho) {
    ui.horizontal(|ui| {
        ui.label("rho").on_hover_text("y <- (1 - rho) y + rho D_p(z), eq. 16");
        let current = *rho;
        ui.radio_value(rho, Rho::StepSize, "eta / 2").on_hover_text("rho from the step size below");
        if ui.radio(matches!(current, Rho::Fixed(_)), "fixed").on_hover_text("the same rho in (0, 1] every step").clicked()
            && !matches!(current, Rho::Fixed(_))
        {
            *rho = Rho::Fixed(0.05);
        }
        ui.radio_value(rho, Rho::Diffusion, "diffusion").on_hover_text(
            "Section 5, eq. 33-36: rho_t = 1 - sigma²(t+1) / sigma²(t) from the schedule, the DDPM-style reverse process",
        );
    });
    if let Rho::Fixed(value) = rho {
        ui.horizontal(|ui| {
            ui.label("rho value");
            ui.add(egui::DragValue::new(value).range(1e-4..=1.0).speed(0.005).max_decimals(4));
        });
    }
}

/// The schedule's kind and values, edited in `scene`, with its plot;
/// `sigma2_min_memory` keeps the last min typed across kinds.
fn schedule_ui(
    ui: &mut egui::Ui,
    scene: &mut Scene,
    step: usize,
    sigma2_now: Option<f64>,
    sigma2_min_memory: &mut Option<f64>,
    problems: &[String],
) {
    // The user's sigma² values survive a change of kind (Constant keeps the
    // max; going back restores the min). FromNearest stands for the constant
    // it chose at the start.
    let constant = match scene.schedule {
        Schedule::Constant { sigma2 } => Some(sigma2),
        Schedule::FromNearest { .. } => Some(sigma2_now.unwrap_or(1.0)),
        _ => None,
    };
    let (max, min) = match scene.schedule {
        Schedule::Constant { .. } | Schedule::FromNearest { .. } => {
            let sigma2 = constant.unwrap_or(1.0);
            (sigma2, sigma2_min_memory.unwrap_or(sigma2).min(sigma2))
        }
        Schedule::Cosine { sigma2_max, sigma2_min }
        | Schedule::Linear { sigma2_max, sigma2_min }
        | Schedule::Geometric { sigma2_max, sigma2_min } => {
            *sigma2_min_memory = Some(sigma2_min);
            (sigma2_max, sigma2_min)
        }
    };
    let kinds = [
        (
            Schedule::Cosine { sigma2_max: max, sigma2_min: min },
            "App. E.1: sigma2_max cos(pi t / 2), ends at sigma2_min",
        ),
        (Schedule::Linear { sigma2_max: max, sigma2_min: min }, "straight line from sigma2_max to sigma2_min"),
        (Schedule::Geometric { sigma2_max: max, sigma2_min: min }, "a constant factor per step from max to min"),
        (Schedule::Constant { sigma2: max }, "the same sigma² at every step"),
        (
            Schedule::FromNearest { factor: 10.0 },
            "a constant sigma² = factor × the mean distance from the starting cloud to its nearest target point \
             (App. E.4: 10 ×), fixed at the start",
        ),
    ];
    ui.horizontal(|ui| {
        ui.label("Kind");
        egui::ComboBox::from_id_salt("schedule-kind").selected_text(scene.schedule.kind_name()).show_ui(ui, |ui| {
            for (k, help) in kinds {
                let selected = k.kind_name() == scene.schedule.kind_name();
                if ui.selectable_label(selected, k.kind_name()).on_hover_text(help).clicked() && !selected {
                    scene.schedule = k;
                }
            }
        });
    });
    let noise_help = "noise variance of the smoothed proxies p_sigma, q_sigma (eq. 13); also the kernel variance";
    match &mut scene.schedule {
        Schedule::Constant { sigma2 } => drag(ui, "sigma²", sigma2, noise_help),
        Schedule::FromNearest { factor } => {
            drag(ui, "factor", factor, "sigma² = factor × mean nearest distance at the start (applies on restart)");
            if let Some(s) = sigma2_now {
                ui.label(RichText::new(format!("sigma² in force: {s:.4}")).weak());
            }
        }
        Schedule::Cosine { sigma2_max, sigma2_min }
        | Schedule::Linear { sigma2_max, sigma2_min }
        | Schedule::Geometric { sigma2_max, sigma2_min } => {
            drag(ui, "sigma² max", sigma2_max, "noise variance at the first step");
            drag(ui, "sigma² min", sigma2_min, "noise variance at the last step");
            if *sigma2_min > *sigma2_max {
                ui.colored_label(BAD, "sigma² min is above sigma² max: not applied; lower the min or raise the max.");
            }
        }
    }
    for problem in problems.iter().filter(|p| !p.contains("sigma2_min")) {
        ui.colored_label(BAD, format!("Not applied: {problem}"));
    }
    ui.horizontal(|ui| {
        ui.label("Steps T");
        ui.add(egui::DragValue::new(&mut scene.steps).range(1..=1_000_000).speed(5))
            .on_hover_text("number of steps of the run; the schedule is spread over them");
    });
    schedule_plot(ui, &scene.schedule, scene.steps, step);
}

/// A positive number; typing outside (0, 1e6] is held at the range's edge.
fn drag(ui: &mut egui::Ui, label: &str, value: &mut f64, help: &str) {
    ui.horizontal(|ui| {
        ui.label(label).on_hover_text(help);
        let speed = (value.abs() * 0.01).max(1e-4);
        ui.add(egui::DragValue::new(value).range(1e-6..=1e6).speed(speed).max_decimals(6)).on_hover_text(help);
    });
    if !value.is_finite() {
        *value = 1.0;
    }
}

/// sigma²(t) over all steps, with a marker at the current step.
fn schedule_plot(ui: &mut egui::Ui, schedule: &Schedule, steps: usize, step: usize) {
    let samples = steps.clamp(2, 200);
    let last = steps.saturating_sub(1).max(1);
    let points: PlotPoints = (0..samples)
        .map(|i| {
            let t = i * last / (samples - 1);
            [t as f64, schedule.sigma2(t, steps)]
        })
        .collect();
    small_plot("schedule-plot", "sigma²", 100.0).include_y(0.0).show(ui, |plot| {
        plot.line(Line::new("sigma²(t)", points).color(Color32::LIGHT_BLUE));
        plot.vline(VLine::new("now", step.min(last) as f64).color(egui_color(MOVING_COLOR)));
    });
}

/// Step size, bandwidth, batch, cut-off, the clouds' sizes and the seed,
/// edited in `scene`; returns the restarts asked for.
fn parameters_ui(
    ui: &mut egui::Ui,
    scene: &mut Scene,
    eta_now: Option<f64>,
    restart: RestartNeeds,
) -> Vec<SceneRequest> {
    let mut requests = Vec::new();
    // Step size.
    ui.horizontal(|ui| {
        ui.label("Step size");
        let auto = matches!(scene.step_size, StepSize::Auto { .. });
        if ui
            .radio(auto, "auto")
            .on_hover_text("eta chosen at the first step so the mean displacement is `first norm` (the paper: 0.5)")
            .clicked()
            && !auto
        {
            scene.step_size = StepSize::Auto { first_norm: 0.5 };
        }
        if ui.radio(!auto, "fixed eta").on_hover_text("y <- y + eta dz with this eta at every step").clicked() && auto {
            let eta = eta_now.filter(|e| e.is_finite() && *e > 0.0).unwrap_or(1.0);
            scene.step_size = StepSize::Fixed { eta };
        }
    });
    match &mut scene.step_size {
        StepSize::Auto { first_norm } => drag(ui, "first norm", first_norm, "mean length of the first step's moves"),
        StepSize::Fixed { eta } => drag(ui, "eta", eta, "step size: y <- y + eta dz"),
    }
    if let Some(eta) = eta_now {
        ui.label(RichText::new(format!("eta in force: {eta:.4}")).weak());
    }

    // Kernel bandwidth.
    if scene.method.allows_fixed_bandwidth() {
        ui.horizontal(|ui| {
            ui.label("Bandwidth");
            let tied = scene.bandwidth == Bandwidth::Tied;
            if ui.radio(tied, "tied").on_hover_text("kernel variance = noise variance sigma²(t)").clicked() {
                scene.bandwidth = Bandwidth::Tied;
            }
            if ui.radio(!tied, "fixed").on_hover_text("a fixed kernel variance (Arbel et al.'s MMD setting)").clicked()
                && tied
            {
                scene.bandwidth = Bandwidth::Fixed { sigma2: 1.0 };
            }
        });
        if let Bandwidth::Fixed { sigma2 } = &mut scene.bandwidth {
            drag(ui, "kernel sigma²", sigma2, "kernel variance of the MMD kernel");
        }
    } else {
        ui.label(RichText::new("Bandwidth: tied to the noise level").weak())
            .on_hover_text("SD flow's kernel means are the denoisers at the noise level, so the two are one");
    }

    // Batch.
    let moving_points = match scene.direction {
        Direction::Forward => scene.source.as_ref().and_then(|s| s.points()),
        Direction::Reverse => scene.target.points(),
    };
    ui.horizontal(|ui| {
        let mut batched = scene.batch.is_some();
        if ui
            .checkbox(&mut batched, "Batch")
            .on_hover_text("Algorithm 1: B random points move per step, against B random target points")
            .changed()
        {
            scene.batch = batched.then(|| moving_points.unwrap_or(256).clamp(1, 256));
        }
        if let Some(b) = &mut scene.batch {
            ui.add(egui::DragValue::new(b).range(1..=1_000_000).speed(2));
        }
    });

    // Cut-off.
    let mut cut = scene.cutoff == CutOff::Auto;
    if ui
        .checkbox(&mut cut, "Kernel cut-off (auto)")
        .on_hover_text("a cell list where it pays (d <= 3, small sigma); every neglected weight < 1e-6 of the largest")
        .changed()
    {
        scene.cutoff = if cut { CutOff::Auto } else { CutOff::Off };
    }

    ui.separator();
    ui.label(RichText::new("Clouds (applied on restart)").weak());
    points_ui(ui, "target points", &mut scene.target);
    if let Some(source) = &mut scene.source {
        points_ui(ui, "source points", source);
    }
    if restart.points {
        requests.extend(apply_restart_ui(ui, "Point count"));
    }
    ui.horizontal(|ui| {
        ui.label("seed").on_hover_text("seeds the clouds, the noise and the CFD frequencies");
        ui.add(egui::DragValue::new(&mut scene.seed).range(0..=u64::MAX).speed(1));
        if ui.button("New seed").on_hover_text("restart at once with fresh random clouds and noise").clicked() {
            requests.push(SceneRequest::Restart { new_seed: true });
        }
    });
    if restart.seed {
        requests.extend(apply_restart_ui(ui, "Seed"));
    }
    requests
}

fn points_ui(ui: &mut egui::Ui, label: &str, data: &mut Dataset) {
    ui.horizontal(|ui| {
        ui.label(label);
        match data.points() {
            Some(mut n) => {
                if ui.add(egui::DragValue::new(&mut n).range(1..=200_000).speed(10)).changed() {
                    data.set_points(n);
                }
            }
            None => {
                ui.label(RichText::new("from CSV").weak());
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scene() -> Scene {
        crate::scene::SceneFile::parse(
            std::path::Path::new("t.ron"),
            r#"(name: "t", seed: 3, target: Mystery(points: 50), source: Gaussian(points: 40, mean: [0.0, 0.0, 0.0], std: 1.0), method: Sd,
                schedule: Cosine(sigma2_max: 4.0, sigma2_min: 0.5), steps: 10)"#
                .into(),
        )
        .expect("parses")
        .scene
    }

    #[test]
    fn restart_needs_name_what_changed() {
        let running = scene();
        assert_eq!(RestartNeeds::of(&running, &running, 3), RestartNeeds::default());
        let mut edited = running.clone();
        edited.direction = Direction::Reverse;
        assert_eq!(RestartNeeds::of(&edited, &running, 3), RestartNeeds { direction: true, ..Default::default() });
        let mut edited = running.clone();
        edited.source.as_mut().expect("a source").set_points(41);
        assert!(RestartNeeds::of(&edited, &running, 3).points);
        assert!(RestartNeeds::of(&running, &running, 4).seed);
        // Flow settings apply at once: no restart.
        let mut edited = running.clone();
        edited.method = Method::Mmd;
        assert_eq!(RestartNeeds::of(&edited, &running, 3), RestartNeeds::default());
    }
}
