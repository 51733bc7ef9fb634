//! The left panel (scene, flow, schedule, parameters, view), the status
//! line, the error box and the help text. Each section is a plain
//! `fn(&mut egui::Ui, ...)`; edits go to a copy of the draft scene that is
//! written back only when it changed, so nothing is re-validated per frame.

use bevy_egui::egui::{self, Color32, RichText};
use egui_plot::{Line, Plot, PlotPoints, VLine};

use super::UiParams;
use crate::app::render::{FIXED_COLOR, MOVING_COLOR};
use crate::app::scene_loading::{ActiveScene, Presets, SceneRequest};
use crate::app::simulation::{Playback, RunStatus, SimRequest};
use crate::engine::{Bandwidth, CutOff, Dataset, Direction, Method, Schedule, StepSize};
use crate::scene::Scene;

/// Every key the app knows, for the help overlay.
pub const KEYS: [(&str, &str); 9] = [
    ("Space", "play / pause"),
    ("Right arrow", "single step"),
    ("R", "reset to the start positions"),
    ("F", "fit view to both clouds"),
    ("A", "auto-rotate on / off (3-D scenes)"),
    ("S", "save a screenshot (PNG)"),
    ("H", "show / hide this help"),
    ("Esc", "close this help"),
    ("Mouse", "left drag: orbit, right drag: pan, wheel: zoom"),
];

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
        if ui.small_button("?").on_hover_text("show the keys").clicked() {
            p.state.show_help = !p.state.show_help;
        }
    });
    ui.separator();

    // Edit a copy so change detection fires only on a real change.
    let mut playback = p.playback.clone();
    playback_ui(ui, &mut playback, &p.status, &mut p.sim_requests);
    if playback != *p.playback {
        *p.playback = playback;
    }
    ui.separator();

    egui::CollapsingHeader::new("Scene").default_open(true).show(ui, |ui| {
        scene_ui(ui, &p.active, &p.presets, &mut p.state.open_path, &mut p.scene_requests);
    });

    // Edit a copy; write back only on change (change detection drives validation).
    let Some(mut scene) = p.draft.scene.clone() else { return };
    egui::CollapsingHeader::new("Flow").default_open(true).show(ui, |ui| flow_ui(ui, &mut scene));
    egui::CollapsingHeader::new("Noise schedule")
        .default_open(true)
        .show(ui, |ui| schedule_ui(ui, &mut scene, p.status.step_index));
    egui::CollapsingHeader::new("Parameters")
        .default_open(true)
        .show(ui, |ui| parameters_ui(ui, &mut scene, p.status.eta));
    if p.draft.scene.as_ref() != Some(&scene) {
        p.draft.scene = Some(scene);
    }

    for problem in &p.draft.problems {
        ui.colored_label(BAD, format!("Not applied: {problem}"));
    }
    restart_ui(ui, p.draft.needs_restart(&p.active), &mut p.scene_requests);
}

fn playback_ui(
    ui: &mut egui::Ui,
    playback: &mut Playback,
    status: &RunStatus,
    requests: &mut bevy::prelude::MessageWriter<SimRequest>,
) {
    let edit = playback;
    ui.horizontal(|ui| {
        let label = if edit.playing { "Pause" } else { "Play" };
        if ui.button(label).on_hover_text("Space").clicked() {
            edit.playing = !edit.playing;
        }
        if ui.add_enabled(!status.finished, egui::Button::new("Step")).on_hover_text("Right arrow").clicked() {
            edit.playing = false;
            edit.single_step = true;
        }
        if ui.button("Reset").on_hover_text("R: back to the start positions").clicked() {
            requests.write(SimRequest::Reset);
        }
    });
    ui.horizontal(|ui| {
        ui.label("Steps per second");
        ui.add(egui::Slider::new(&mut edit.steps_per_second, 1.0..=1000.0).logarithmic(true).max_decimals(0))
            .on_hover_text("fixed-timestep rate; a tick that finds the worker busy is skipped");
    });
    if status.finished {
        ui.label(RichText::new("All steps done: Reset to watch again.").color(WARN));
    }
}

fn scene_ui(
    ui: &mut egui::Ui,
    active: &ActiveScene,
    presets: &Presets,
    open_path: &mut String,
    requests: &mut bevy::prelude::MessageWriter<SceneRequest>,
) {
    let current = active.file.as_ref().map(|f| f.path.clone());
    egui::ComboBox::from_label("Preset")
        .width((ui.available_width() - 60.0).max(80.0))
        .truncate()
        .selected_text(active.scene().map_or("(none)", |s| s.name.as_str()))
        .show_ui(ui, |ui| {
            for (path, name) in &presets.0 {
                let selected = current.as_deref() == Some(path.as_path());
                if ui.selectable_label(selected, name).on_hover_text(path.display().to_string()).clicked() {
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
        let edit = ui.add(egui::TextEdit::singleline(open_path).hint_text("path/to/scene.ron").desired_width(170.0));
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

fn flow_ui(ui: &mut egui::Ui, scene: &mut Scene) {
    egui::ComboBox::from_label("Method").selected_text(scene.method.name()).show_ui(ui, |ui| {
        for m in Method::ALL {
            ui.selectable_value(&mut scene.method, m, m.name());
        }
    });
    if !scene.method.allows_fixed_bandwidth() {
        scene.bandwidth = Bandwidth::Tied;
    }
    ui.horizontal(|ui| {
        ui.label("Direction");
        ui.radio_value(&mut scene.direction, Direction::Forward, "forward")
            .on_hover_text("the source moves onto the target");
        ui.radio_value(&mut scene.direction, Direction::Reverse, "reverse")
            .on_hover_text("the target moves onto the source");
    });
}

fn schedule_ui(ui: &mut egui::Ui, scene: &mut Scene, step: usize) {
    let (max, min) = match scene.schedule {
        Schedule::Constant { sigma2 } | Schedule::FromNearest { factor: sigma2 } => (sigma2, sigma2),
        Schedule::Cosine { sigma2_max, sigma2_min }
        | Schedule::Linear { sigma2_max, sigma2_min }
        | Schedule::Geometric { sigma2_max, sigma2_min } => (sigma2_max, sigma2_min),
    };
    let kinds = [
        Schedule::Cosine { sigma2_max: max, sigma2_min: min },
        Schedule::Linear { sigma2_max: max, sigma2_min: min },
        Schedule::Geometric { sigma2_max: max, sigma2_min: min },
        Schedule::Constant { sigma2: max },
    ];
    egui::ComboBox::from_label("Kind").selected_text(scene.schedule.kind_name()).show_ui(ui, |ui| {
        for k in kinds {
            if ui.selectable_label(k.kind_name() == scene.schedule.kind_name(), k.kind_name()).clicked() {
                scene.schedule = k;
            }
        }
    });
    // Ranges keep sigma2 > 0 and min <= max whatever is typed.
    match &mut scene.schedule {
        Schedule::Constant { sigma2 } => {
            drag(ui, "sigma²", sigma2, 1e-6..=1e6);
        }
        Schedule::FromNearest { factor } => {
            drag(ui, "factor × mean nearest distance", factor, 1e-6..=1e6);
        }
        Schedule::Cosine { sigma2_max, sigma2_min }
        | Schedule::Linear { sigma2_max, sigma2_min }
        | Schedule::Geometric { sigma2_max, sigma2_min } => {
            let lo = *sigma2_min;
            drag(ui, "sigma² max", sigma2_max, lo.max(1e-6)..=1e6);
            let hi = *sigma2_max;
            drag(ui, "sigma² min", sigma2_min, 1e-6..=hi);
        }
    }
    ui.horizontal(|ui| {
        ui.label("Steps T");
        ui.add(egui::DragValue::new(&mut scene.steps).range(1..=1_000_000).speed(5));
    });
    schedule_plot(ui, &scene.schedule, scene.steps, step);
}

fn drag(ui: &mut egui::Ui, label: &str, value: &mut f64, range: std::ops::RangeInclusive<f64>) {
    ui.horizontal(|ui| {
        ui.label(label);
        let speed = (value.abs() * 0.01).max(1e-4);
        ui.add(egui::DragValue::new(value).range(range).speed(speed).max_decimals(6));
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
    Plot::new("schedule-plot")
        .height(100.0)
        .allow_drag(false)
        .allow_zoom(false)
        .allow_scroll(false)
        .x_axis_label("step")
        .y_axis_label("sigma²")
        .include_y(0.0)
        .show(ui, |plot| {
            plot.line(Line::new("sigma²(t)", points).color(Color32::LIGHT_BLUE));
            plot.vline(VLine::new("now", step.min(last) as f64).color(egui_color(MOVING_COLOR)));
        });
}

fn parameters_ui(ui: &mut egui::Ui, scene: &mut Scene, eta_now: Option<f64>) {
    // Step size.
    ui.horizontal(|ui| {
        ui.label("Step size");
        let auto = matches!(scene.step_size, StepSize::Auto { .. });
        if ui.radio(auto, "auto").on_hover_text("eta fixed by the first step's mean displacement").clicked() && !auto {
            scene.step_size = StepSize::Auto { first_norm: 0.5 };
        }
        if ui.radio(!auto, "fixed eta").clicked() && auto {
            let eta = eta_now.filter(|e| e.is_finite() && *e > 0.0).unwrap_or(1.0);
            scene.step_size = StepSize::Fixed { eta };
        }
    });
    match &mut scene.step_size {
        StepSize::Auto { first_norm } => drag(ui, "first norm", first_norm, 1e-6..=1e3),
        StepSize::Fixed { eta } => drag(ui, "eta", eta, 1e-6..=1e6),
    }
    if let Some(eta) = eta_now {
        ui.label(RichText::new(format!("eta in force: {eta:.4}")).weak());
    }

    // Kernel bandwidth.
    if scene.method.allows_fixed_bandwidth() {
        ui.horizontal(|ui| {
            ui.label("Bandwidth");
            let tied = scene.bandwidth == Bandwidth::Tied;
            if ui.radio(tied, "tied").on_hover_text("kernel variance = noise variance").clicked() {
                scene.bandwidth = Bandwidth::Tied;
            }
            if ui.radio(!tied, "fixed").clicked() && tied {
                scene.bandwidth = Bandwidth::Fixed { sigma2: 1.0 };
            }
        });
        if let Bandwidth::Fixed { sigma2 } = &mut scene.bandwidth {
            drag(ui, "kernel sigma²", sigma2, 1e-6..=1e6);
        }
    } else {
        ui.label(RichText::new("Bandwidth: tied to the noise level").weak());
    }

    // Batch.
    let moving_points = match scene.direction {
        Direction::Forward => scene.source.as_ref().and_then(|s| s.points()),
        Direction::Reverse => scene.target.points(),
    };
    ui.horizontal(|ui| {
        let mut batched = scene.batch.is_some();
        if ui.checkbox(&mut batched, "Batch").on_hover_text("Algorithm 1: move B random points per step").changed() {
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
        .on_hover_text("cell list where it pays; off: every pair")
        .changed()
    {
        scene.cutoff = if cut { CutOff::Auto } else { CutOff::Off };
    }

    ui.separator();
    ui.label(RichText::new("Needs a restart:").weak());
    points_ui(ui, "target points", &mut scene.target);
    if let Some(source) = &mut scene.source {
        points_ui(ui, "source points", source);
    }
    ui.horizontal(|ui| {
        ui.label("seed");
        ui.add(egui::DragValue::new(&mut scene.seed).range(0..=u64::MAX).speed(1));
    });
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

fn restart_ui(ui: &mut egui::Ui, needed: bool, requests: &mut bevy::prelude::MessageWriter<SceneRequest>) {
    if needed {
        ui.colored_label(WARN, "Direction, points or seed changed: press Restart to apply.");
    }
    ui.horizontal(|ui| {
        let restart = egui::Button::new(if needed {
            RichText::new("Restart").strong().color(WARN)
        } else {
            RichText::new("Restart")
        });
        if ui.add(restart).on_hover_text("rebuild the clouds with the values above").clicked() {
            requests.write(SceneRequest::Restart { new_seed: false });
        }
        if ui.button("New seed").on_hover_text("restart with fresh random clouds and noise").clicked() {
            requests.write(SceneRequest::Restart { new_seed: true });
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
        let reverse = p.active.scene().is_some_and(|s| s.direction == Direction::Reverse);
        let (fixed, moving) = if reverse { ("source", "target") } else { ("target", "source") };
        ui.checkbox(&mut view.show_fixed, RichText::new(format!("{fixed} (fixed)")).color(egui_color(FIXED_COLOR)));
        ui.checkbox(&mut view.show_moving, RichText::new(format!("{moving} (moving)")).color(egui_color(MOVING_COLOR)));
    });
    ui.horizontal(|ui| {
        if ui.button("Fit view").on_hover_text("F").clicked() {
            view.fit_requested = true;
        }
        ui.add_enabled(!p.bounds.flat, egui::Checkbox::new(&mut view.auto_rotate, "auto-rotate"))
            .on_hover_text("A: slow turn for demos (3-D scenes)");
    });
    if p.bounds.flat {
        ui.label(RichText::new("2-D scene: shown flat, facing the camera.").weak());
    }
    if view != *p.view {
        *p.view = view;
    }
}

/// Step, sigma², timing, counts and kernel path in one line.
pub fn status_line(ui: &mut egui::Ui, p: &UiParams) {
    let s = &p.status;
    let steps = p.draft.applied.as_ref().map_or(0, |f| f.steps);
    ui.horizontal_wrapped(|ui| {
        ui.label(RichText::new(format!("step {} / {steps}", s.step_index)).strong());
        ui.separator();
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
        ui.separator();
        ui.label(format!("{:.0} fps", p.state.fps.round()));
        ui.separator();
        ui.label(RichText::new(format!("{} moving", s.moving_count)).color(egui_color(MOVING_COLOR)));
        ui.label(RichText::new(format!("{} fixed", s.fixed_count)).color(egui_color(FIXED_COLOR)));
        ui.separator();
        ui.label(if p.playback.playing { "playing" } else { "paused" });
        if let Some(shot) = &p.shots.last {
            ui.separator();
            ui.label(format!("screenshot: {shot}"));
        }
    });
}

/// The scene error, in full; returns true when dismissed.
pub fn error_box(ui: &mut egui::Ui, error: &str) -> bool {
    let mut dismiss = false;
    ui.horizontal(|ui| {
        ui.label(RichText::new("Scene not loaded; the previous scene keeps running.").strong().color(Color32::WHITE));
        if ui.button("Dismiss").clicked() {
            dismiss = true;
        }
    });
    ui.label(RichText::new(error).monospace().color(Color32::from_rgb(0xff, 0xd0, 0xd0)));
    dismiss
}

pub fn help_ui(ui: &mut egui::Ui) {
    egui::Grid::new("keys").striped(true).show(ui, |ui| {
        for (key, what) in KEYS {
            ui.label(RichText::new(key).strong().monospace());
            ui.label(what);
            ui.end_row();
        }
    });
    ui.label(RichText::new("Keys are ignored while a text field has focus.").weak());
}
