//! The left panel (scene, flow, schedule, parameters, view), the status
//! line, the error box and the help text. Each section is a plain
//! `fn(&mut egui::Ui, ...)`; edits go to a copy of the draft scene that is
//! written back only when it changed, so nothing is re-validated per frame.
//!
//! Layout rules: messages about the run live in the status line, so they
//! never push controls around; a change that needs a restart says so right
//! under the control that changed, with the button to apply it.

use bevy_egui::egui::{self, Color32, RichText};
use egui_plot::{Line, PlotPoints, VLine};

use super::UiParams;
use crate::app::controls::{AppCommand, CONTROLS, MOUSE_HELP};
use crate::app::render::{FIXED_COLOR, MOVING_COLOR};
use crate::app::run::{Playback, PlaybackCommand, RunState, RunStatus};
use crate::app::scene_loading::{ActiveScene, Presets, SceneRequest};
use crate::engine::{Bandwidth, CutOff, Dataset, Direction, Method, Rho, Schedule, StepSize};
use crate::scene::Scene;

use super::UiState;

pub const WARN: Color32 = Color32::from_rgb(0xff, 0xb0, 0x40);
pub const BAD: Color32 = Color32::from_rgb(0xff, 0x70, 0x70);

pub fn egui_color(c: bevy::color::Color) -> Color32 {
    let s = c.to_srgba();
    Color32::from_rgb((s.red * 255.0).round() as u8, (s.green * 255.0).round() as u8, (s.blue * 255.0).round() as u8)
}

pub fn left_panel(ui: &mut egui::Ui, p: &mut UiParams) {
    ui.horizontal(|ui| {
        ui.heading("sdflow");
        ui.label(RichText::new("score-difference flow lab").weak());
    });
    ui.horizontal(|ui| {
        ui.label(RichText::new("Press H for the keys.").weak());
        if ui.small_button("?").on_hover_text(AppCommand::ToggleHelp.tooltip()).clicked() {
            p.commands.write(AppCommand::ToggleHelp);
        }
    });
    ui.separator();

    let rate = p.run.status.rate.rate(p.time.elapsed_secs_f64());
    if let Some(speed) = playback_ui(ui, &p.playback, p.run.status, rate, &mut p.commands) {
        p.playback_commands.write(PlaybackCommand::SetSpeed(speed));
    }
    let shown = p.playback.seek_to.unwrap_or(p.run.status.step_index);
    if let Some(super::timeline::TimelineAction::Seek(step)) =
        super::timeline::timeline_ui(ui, shown, p.run.status.timeline.as_ref())
    {
        p.playback_commands.write(PlaybackCommand::SeekTo(step));
    }
    ui.separator();

    egui::CollapsingHeader::new("Scene").default_open(true).show(ui, |ui| {
        scene_ui(ui, p.run.active, &p.presets, &mut p.state.open_path, &mut p.scene_requests);
        super::share::open_ui(ui, p);
    });
    egui::CollapsingHeader::new("Compare").default_open(true).show(ui, |ui| super::runs::compare_ui(ui, p));
    egui::CollapsingHeader::new("Paint")
        .default_open(false)
        .open(super::paint::painting(p).then_some(true))
        .show(ui, |ui| super::paint::paint_ui(ui, p));

    // Edit a copy; write back only on change (change detection drives validation).
    let Some(mut scene) = p.run.draft.scene.clone() else { return };
    let Some(running) = p.run.active.scene().cloned() else { return };
    let restart = RestartNeeds::of(&scene, &running, p.run.active.seed);
    let mut requests = Vec::new();
    if p.run.status.generator.is_some() {
        super::generator::restart_note_ui(ui, &scene, &running, &mut requests);
    }
    egui::CollapsingHeader::new("Flow")
        .default_open(true)
        .show(ui, |ui| flow_ui(ui, &mut scene, restart, &mut requests));
    egui::CollapsingHeader::new("Noise schedule").default_open(true).show(ui, |ui| {
        let sigma2_now = p.run.status.last_report.map(|r| r.sigma2);
        schedule_ui(ui, &mut scene, p.run.status.step_index, sigma2_now, &mut p.state, &p.run.draft.problems);
    });
    egui::CollapsingHeader::new("Parameters")
        .default_open(true)
        .show(ui, |ui| parameters_ui(ui, &mut scene, p.run.status.eta, restart, &mut requests));
    if p.run.draft.scene.as_ref() != Some(&scene) {
        p.run.draft.scene = Some(scene);
    }
    for request in requests {
        p.scene_requests.write(request);
    }
    egui::CollapsingHeader::new("Share").default_open(true).show(ui, |ui| super::share::share_ui(ui, p));
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
fn apply_restart_ui(ui: &mut egui::Ui, what: &str, requests: &mut Vec<SceneRequest>) {
    ui.horizontal_wrapped(|ui| {
        ui.colored_label(WARN, format!("{what} changed: the run goes on with the old value until"));
        if ui
            .button(RichText::new("Apply and restart").strong().color(WARN))
            .on_hover_text("rebuild the clouds with the edited values and start again from step 0")
            .clicked()
        {
            requests.push(SceneRequest::Restart { new_seed: false });
        }
    });
}

/// Play, step, restart and the speed; returns a new speed if it was moved.
fn playback_ui(
    ui: &mut egui::Ui,
    playback: &Playback,
    status: &RunStatus,
    rate: f64,
    commands: &mut bevy::prelude::MessageWriter<AppCommand>,
) -> Option<f64> {
    let mut speed = playback.steps_per_second;
    ui.horizontal(|ui| {
        let label = if playback.playing { "Pause" } else { "Play" };
        if ui.button(label).on_hover_text(AppCommand::PlayPause.tooltip()).clicked() {
            commands.write(AppCommand::PlayPause);
        }
        if ui
            .add_enabled(!status.finished, egui::Button::new("Step"))
            .on_hover_text(AppCommand::Step.tooltip())
            .clicked()
        {
            commands.write(AppCommand::Step);
        }
        if ui.button("Back to step 0").on_hover_text(AppCommand::BackToStart.tooltip()).clicked() {
            commands.write(AppCommand::BackToStart);
        }
    });
    ui.horizontal(|ui| {
        ui.label("Steps/s");
        ui.add(egui::Slider::new(&mut speed, 1.0..=1000.0).logarithmic(true).max_decimals(0)).on_hover_text(
            "the rate asked for; the worker takes as many steps as fit, so slow steps or a busy core cap it",
        );
    });
    // Always one line, so nothing below moves when the run starts or stops.
    let reached =
        if playback.playing && !status.finished { format!("reached: {rate:.0} steps/s") } else { "reached: -".into() };
    ui.label(RichText::new(reached).weak())
        .on_hover_text("steps per second actually taken over the last second and a half");
    (speed != playback.steps_per_second).then_some(speed)
}

fn scene_ui(
    ui: &mut egui::Ui,
    active: &ActiveScene,
    presets: &Presets,
    open_path: &mut String,
    requests: &mut bevy::prelude::MessageWriter<SceneRequest>,
) {
    let current = active.file.as_ref().map(|f| f.path.clone());
    let preset_name = presets.0.iter().find(|(path, _)| current.as_deref() == Some(path.as_path()));
    // A file that is not a preset is named by its file name, so the box never
    // shows a preset that is not running.
    let selected = match (preset_name, &current) {
        (Some((_, name)), _) => name.clone(),
        (None, Some(path)) => {
            format!(
                "file: {}",
                path.file_name().map_or_else(|| path.display().to_string(), |n| n.to_string_lossy().into())
            )
        }
        (None, None) => "(none)".into(),
    };
    ui.label("Preset");
    egui::ComboBox::from_id_salt("preset")
        .width(ui.available_width() - 8.0)
        .truncate()
        .selected_text(selected)
        .show_ui(ui, |ui| {
            for (path, name) in &presets.0 {
                let is_current = current.as_deref() == Some(path.as_path());
                if ui.selectable_label(is_current, name).on_hover_text(path.display().to_string()).clicked() {
                    requests.write(SceneRequest::Open(path.clone()));
                }
            }
        });
    if presets.0.is_empty() {
        ui.label(RichText::new("No presets: scenes/*.ron not found here.").weak());
    }
    if let Some(file) = &active.file {
        ui.label(RichText::new(&file.scene.name).strong());
        if !file.scene.description.is_empty() {
            ui.label(&file.scene.description);
        }
        ui.label(RichText::new(file.path.display().to_string()).weak().small());
        for warning in file.scene.warnings() {
            ui.colored_label(WARN, warning);
        }
        if let Some(dim) = file.scene.target.dim().or(file.scene.source.as_ref().and_then(|s| s.dim()))
            && dim > 3
        {
            ui.colored_label(
                WARN,
                format!("{dim}-dimensional scene: shown through a fixed projection onto its first three coordinates."),
            );
        }
    }
    ui.horizontal(|ui| {
        // A fixed id: the field keeps focus whatever is shown above it.
        let edit = ui.add(
            egui::TextEdit::singleline(open_path)
                .id_salt("open-scene-path")
                .hint_text("path/to/scene.ron")
                .desired_width((ui.available_width() - 60.0).max(80.0)),
        );
        let enter = edit.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
        if (ui.button("Open").clicked() || enter) && !open_path.trim().is_empty() {
            requests.write(SceneRequest::Open(open_path.trim().into()));
        }
    });
    ui.label(
        RichText::new("Or drop a .ron file on the window. The open file reloads when it changes on disk.")
            .weak()
            .small(),
    );
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

fn flow_ui(ui: &mut egui::Ui, scene: &mut Scene, restart: RestartNeeds, requests: &mut Vec<SceneRequest>) {
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
    if restart.direction {
        apply_restart_ui(ui, "Direction", requests);
    }
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

fn schedule_ui(
    ui: &mut egui::Ui,
    scene: &mut Scene,
    step: usize,
    sigma2_now: Option<f64>,
    state: &mut UiState,
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
            (sigma2, state.sigma2_min_memory.unwrap_or(sigma2).min(sigma2))
        }
        Schedule::Cosine { sigma2_max, sigma2_min }
        | Schedule::Linear { sigma2_max, sigma2_min }
        | Schedule::Geometric { sigma2_max, sigma2_min } => {
            state.sigma2_min_memory = Some(sigma2_min);
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
    super::plots::small_plot("schedule-plot", "sigma²", 100.0).include_y(0.0).show(ui, |plot| {
        plot.line(Line::new("sigma²(t)", points).color(Color32::LIGHT_BLUE));
        plot.vline(VLine::new("now", step.min(last) as f64).color(egui_color(MOVING_COLOR)));
    });
}

fn parameters_ui(
    ui: &mut egui::Ui,
    scene: &mut Scene,
    eta_now: Option<f64>,
    restart: RestartNeeds,
    requests: &mut Vec<SceneRequest>,
) {
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
        apply_restart_ui(ui, "Point count", requests);
    }
    ui.horizontal(|ui| {
        ui.label("seed").on_hover_text("seeds the clouds, the noise and the CFD frequencies");
        ui.add(egui::DragValue::new(&mut scene.seed).range(0..=u64::MAX).speed(1));
        if ui.button("New seed").on_hover_text("restart at once with fresh random clouds and noise").clicked() {
            requests.push(SceneRequest::Restart { new_seed: true });
        }
    });
    if restart.seed {
        apply_restart_ui(ui, "Seed", requests);
    }
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

pub fn view_ui(ui: &mut egui::Ui, p: &mut UiParams) {
    let mut view = p.view.clone();
    ui.horizontal(|ui| {
        ui.label("Point size");
        ui.add(egui::Slider::new(&mut view.point_size, 0.2..=5.0).logarithmic(true));
    });
    ui.horizontal(|ui| {
        // Reverse interpolation moves the target onto the source.
        let reverse = p.run.active.scene().is_some_and(|s| s.direction == Direction::Reverse);
        let (fixed, moving) = if reverse { ("source", "target") } else { ("target", "source") };
        ui.checkbox(&mut view.show_fixed, RichText::new(format!("{fixed} (fixed)")).color(egui_color(FIXED_COLOR)));
        ui.checkbox(&mut view.show_moving, RichText::new(format!("{moving} (moving)")).color(egui_color(MOVING_COLOR)));
    });
    ui.horizontal(|ui| {
        if ui.button("Fit view").on_hover_text(AppCommand::FitView.tooltip()).clicked() {
            p.commands.write(AppCommand::FitView);
        }
        ui.add_enabled(!p.run.bounds.flat, egui::Checkbox::new(&mut view.auto_rotate, "auto-rotate"))
            .on_hover_text(AppCommand::AutoRotate.tooltip());
    });
    if p.run.bounds.flat {
        ui.label(RichText::new("2-D scene: shown flat, facing the camera.").weak());
    }
    if view != *p.view {
        *p.view = view;
    }
    super::gan::colouring_ui(ui, p);
    super::view::flow_view_ui(ui, p);
}

/// Run state, step, sigma², timing, counts and notices: one line when the
/// view is wide enough, wrapped onto a second (the bar grows) rather than cut
/// when side panels leave it narrow.
pub fn status_line(ui: &mut egui::Ui, p: &UiParams) {
    let s = &p.run.status;
    let steps = p.run.draft.applied.as_ref().map_or(0, |f| f.steps);
    let state = s.state(&p.playback, p.run.link, &p.worker);
    let now = p.time.elapsed_secs_f64();
    ui.horizontal_wrapped(|ui| {
        let state_color = match state {
            RunState::Finished | RunState::Paused | RunState::Starting => WARN,
            RunState::Stopped => BAD,
            _ => ui.visuals().text_color(),
        };
        ui.label(RichText::new(state.label()).strong().color(state_color)).on_hover_text(match state {
            RunState::Finished => "all steps done: Back to step 0 (R) to watch again, or raise Steps T",
            RunState::Starting => "showing the starting clouds for a moment",
            _ => "Space: play / pause",
        });
        ui.separator();
        ui.label(RichText::new(format!("step {} / {steps}", s.step_index)).strong());
        ui.separator();
        // Where a saved file went, for a few seconds: before the rest, so a
        // full line does not hide it.
        super::share::status_notice_ui(ui, p, now);
        let comparing = p.runs.iter().count() > 1;
        if comparing {
            // Compare mode: each run's step time in its colour, short enough
            // for four runs on one line; its step only where it differs
            // (runs step in lockstep), the rest on hover.
            ui.label("ms/step");
            for r in super::runs_in_view_order(&p.runs) {
                let (step, ms) = (r.status.step_index, r.status.step_ms);
                let text = if step == s.step_index { format!("■ {ms:.2}") } else { format!("■ {ms:.2} @{step}") };
                ui.label(RichText::new(text).color(super::runs::run_colour(r.slot.0))).on_hover_text(format!(
                    "view {}: {} · step {step}, {ms:.2} ms/step",
                    r.slot.0 + 1,
                    super::runs::run_name(r.active)
                ));
            }
        } else {
            match &s.last_report {
                Some(r) => {
                    ui.label(format!("sigma² {:.4}", r.sigma2));
                    ui.separator();
                    ui.label(format!("{:.2} ms/step", s.step_ms));
                    ui.separator();
                    ui.label(format!("kernel: {}", r.path.name()));
                }
                None => {
                    ui.label("not started");
                }
            }
        }
        ui.separator();
        ui.label(format!("{:.0} fps", p.state.fps.round()));
        ui.separator();
        if !comparing {
            // (In compare mode each view's label names its own clouds.)
            ui.label(RichText::new(format!("{} moving", s.moving_count)).color(egui_color(MOVING_COLOR)));
            ui.label(RichText::new(format!("{} fixed", s.fixed_count)).color(egui_color(FIXED_COLOR)));
        }
        if let Some((shot, error)) = p.shots.notice(now) {
            ui.separator();
            let colour = if error { BAD } else { WARN };
            ui.add(egui::Label::new(RichText::new(shot).color(colour)).truncate()).on_hover_text(shot);
        } else if s.non_finite > 0 {
            ui.separator();
            ui.label(RichText::new(format!("{} non-finite updates dropped", s.non_finite)).color(BAD))
                .on_hover_text("points whose update was not a finite number kept their place; lower the step size");
        } else if let Some(problem) = p.run.draft.problems.first() {
            ui.separator();
            ui.add(egui::Label::new(RichText::new(format!("not applied: {problem}")).color(BAD)).truncate());
        }
    });
}

/// A red message box's contents; returns true when dismissed.
pub fn error_box(ui: &mut egui::Ui, title: &str, error: &str) -> bool {
    let mut dismiss = false;
    ui.horizontal(|ui| {
        ui.label(RichText::new(title).strong().color(Color32::WHITE));
        if ui.button("Dismiss").clicked() {
            dismiss = true;
        }
    });
    ui.label(RichText::new(error).monospace().color(Color32::from_rgb(0xff, 0xd0, 0xd0)));
    dismiss
}

pub fn help_ui(ui: &mut egui::Ui) {
    egui::Grid::new("keys").striped(true).show(ui, |ui| {
        for c in &CONTROLS {
            ui.label(RichText::new(c.key_label).strong().monospace());
            ui.label(c.what);
            ui.end_row();
        }
        ui.label(RichText::new(MOUSE_HELP.0).strong().monospace());
        ui.label(MOUSE_HELP.1);
        ui.end_row();
    });
    ui.label(RichText::new("Keys are ignored while a text field has focus.").weak());
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
