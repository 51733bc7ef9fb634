//! The lesson player's panel: a caption band across the top of the window
//! (the step, "2 / 5", the caption in large type, the question and the
//! step's claims with ticks and crosses), and the Lessons menu listing the
//! shipped lessons. Each function draws what it is given and returns what
//! the viewer asked for; [`LessonPanel`] turns that into messages.

use std::path::{Path, PathBuf};

use bevy::ecs::system::SystemParam;
use bevy::prelude::*;
use bevy_egui::egui::{self, Color32, RichText};

use crate::app::lesson::{ClaimState, Claims, LessonCommand, LessonList, LessonPlayer, OpenLesson, Presenter};
use crate::app::run::{Focused, RunProgress};
use crate::lesson::Bound;
use crate::lesson::check::Outcome;

/// A claim that holds.
const HOLDS: Color32 = Color32::from_rgb(0x60, 0xd0, 0x70);
/// A claim that fails.
const FAILS: Color32 = Color32::from_rgb(0xff, 0x70, 0x70);
/// Caption text size: readable from the back of a room.
const CAPTION_SIZE: f32 = 20.0;

/// What the viewer asked of the lesson panel.
#[derive(Debug, Clone, PartialEq)]
pub enum LessonAction {
    Next,
    Back,
    Answer(usize),
    Leave,
    Open(PathBuf),
    Presenter(bool),
}

/// What the lesson panel reads and the messages it sends.
#[derive(SystemParam)]
pub struct LessonPanel<'w, 's> {
    player: Res<'w, LessonPlayer>,
    claims: Res<'w, Claims>,
    list: Res<'w, LessonList>,
    presenter: ResMut<'w, Presenter>,
    commands: MessageWriter<'w, LessonCommand>,
    focused: Query<'w, 's, &'static RunProgress, With<Focused>>,
}

impl LessonPanel<'_, '_> {
    /// Whether the open lesson's step shows panel section `name` (all do
    /// outside a lesson, or when the step names none).
    pub fn shows(&self, name: &str) -> bool {
        shows(&self.player, name)
    }

    /// Whether a lesson is open.
    pub fn open(&self) -> bool {
        self.player.open.is_some()
    }

    /// Whether presenter mode is on.
    pub fn presenting(&self) -> bool {
        self.presenter.0
    }

    /// The caption band across the top, while a lesson is open.
    pub fn caption(&mut self, root: &mut egui::Ui) {
        let Some(open) = &self.player.open else { return };
        let reached = self.focused.single().map_or(0, |s| s.step_index);
        let claims = self.claims.shown(open.step, reached);
        let measuring = self.claims.state == ClaimState::Measuring;
        let failed = match &self.claims.state {
            ClaimState::Failed(e) => Some(e.as_str()),
            _ => None,
        };
        let mut action = None;
        egui::Panel::top("lesson").show(root, |ui| {
            action = caption_ui(ui, open, claims.as_deref(), measuring, failed, self.presenter.0);
        });
        self.apply(action);
    }

    /// The Lessons menu (a section of the left panel).
    pub fn menu(&mut self, ui: &mut egui::Ui) {
        let open = self.player.open.as_ref().map(|o| o.file.path.as_path());
        let action = lessons_menu_ui(ui, &self.list.0, open, self.presenter.0);
        self.apply(action);
    }

    fn apply(&mut self, action: Option<LessonAction>) {
        let command = match action {
            None => return,
            Some(LessonAction::Presenter(on)) => {
                self.presenter.0 = on;
                return;
            }
            Some(LessonAction::Next) => LessonCommand::Next,
            Some(LessonAction::Back) => LessonCommand::Back,
            Some(LessonAction::Answer(k)) => LessonCommand::Answer(k),
            Some(LessonAction::Leave) => LessonCommand::Leave,
            Some(LessonAction::Open(path)) => LessonCommand::Open { path, step: 0 },
        };
        self.commands.write(command);
    }
}

/// A collapsing section, drawn only when `shown` (a lesson step may hide it).
pub fn section<R>(
    ui: &mut egui::Ui,
    shown: bool,
    title: &str,
    default_open: bool,
    body: impl FnOnce(&mut egui::Ui) -> R,
) {
    if shown {
        egui::CollapsingHeader::new(title).default_open(default_open).show(ui, body);
    }
}

/// Whether `player`'s step shows section `name`.
pub fn shows(player: &LessonPlayer, name: &str) -> bool {
    player.open.as_ref().and_then(OpenLesson::shown_sections).is_none_or(|s| s.iter().any(|n| n == name))
}

/// The step's caption, position, navigation, question and claims.
pub fn caption_ui(
    ui: &mut egui::Ui,
    open: &OpenLesson,
    claims: Option<&[&Outcome]>,
    measuring: bool,
    failed: Option<&str>,
    presenting: bool,
) -> Option<LessonAction> {
    let mut action = None;
    let step = open.current();
    ui.add_space(4.0);
    ui.horizontal(|ui| {
        ui.label(RichText::new(&open.file.lesson.title).strong().size(CAPTION_SIZE - 4.0));
        ui.label(RichText::new(format!("{} / {}", open.step + 1, open.steps())).size(CAPTION_SIZE - 4.0));
        if ui
            .add_enabled(open.step > 0, egui::Button::new("Back"))
            .on_hover_text("previous step (B, Page Up)")
            .clicked()
        {
            action = Some(LessonAction::Back);
        }
        if ui
            .add_enabled(open.step + 1 < open.steps(), egui::Button::new("Next"))
            .on_hover_text("next step (N, Page Down)")
            .clicked()
        {
            action = Some(LessonAction::Next);
        }
        let mut on = presenting;
        if ui.toggle_value(&mut on, "Presenter").on_hover_text("larger text, thicker points (F5)").changed() {
            action = Some(LessonAction::Presenter(on));
        }
        if ui.button("Leave lesson").on_hover_text("back to the lab, keeping the runs").clicked() {
            action = Some(LessonAction::Leave);
        }
    });
    ui.label(RichText::new(&step.caption).size(CAPTION_SIZE));
    if let Some(q) = &step.question {
        ui.add_space(4.0);
        ui.label(RichText::new(&q.prompt).strong().size(CAPTION_SIZE));
        ui.horizontal_wrapped(|ui| {
            for (k, choice) in q.choices.iter().enumerate() {
                let picked = open.answer == Some(k);
                let button = egui::Button::new(RichText::new(choice).size(CAPTION_SIZE - 2.0)).selected(picked);
                if ui.add_enabled(open.answer.is_none(), button).clicked() {
                    action = Some(LessonAction::Answer(k));
                }
            }
        });
        match open.answer {
            None => {
                ui.label(RichText::new("The runs wait for your answer.").weak());
            }
            Some(k) => {
                let (word, colour) = if k == q.answer { ("Right.", HOLDS) } else { ("Not quite.", FAILS) };
                ui.label(RichText::new(format!("{word} {}", q.explain)).color(colour).size(CAPTION_SIZE - 2.0));
            }
        }
    }
    if !step.checks.is_empty() {
        ui.add_space(4.0);
        claims_ui(ui, step.checks.len(), claims, measuring, failed);
    }
    ui.add_space(4.0);
    action
}

/// The step's claims: measured values with a tick or a cross once the runs
/// reach their steps, and how many are still ahead.
fn claims_ui(ui: &mut egui::Ui, total: usize, claims: Option<&[&Outcome]>, measuring: bool, failed: Option<&str>) {
    if let Some(e) = failed {
        ui.label(RichText::new(format!("The claims could not be measured: {e}")).color(FAILS));
        return;
    }
    let Some(claims) = claims else {
        if measuring {
            ui.label(RichText::new(format!("Measuring the step's {total} claims…")).weak());
        }
        return;
    };
    for o in claims {
        let (mark, colour) = if o.holds { ("✔", HOLDS) } else { ("✘", FAILS) };
        ui.label(RichText::new(format!("{mark} {}: {}", o.claim, measured(o))).color(colour).size(CAPTION_SIZE - 4.0));
    }
    let ahead = total - claims.len();
    if ahead > 0 {
        ui.label(RichText::new(format!("{ahead} more claim(s) once the runs reach their steps")).weak());
    }
}

/// "cfd at step 500 = 0.0123 (< 0.06)".
fn measured(o: &Outcome) -> String {
    let bound = match (o.bound, o.other) {
        (Bound::Below(x), _) => format!("< {x}"),
        (Bound::Above(x), _) => format!("> {x}"),
        (Bound::BelowRun(r), Some(v)) => format!("< run {r}'s {v:.4}"),
        (Bound::AboveRun(r), Some(v)) => format!("> run {r}'s {v:.4}"),
        (Bound::BelowRun(r) | Bound::AboveRun(r), None) => format!("against run {r}"),
    };
    format!("{} at step {} = {:.4} ({bound})", o.metric, o.step, o.value)
}

/// The shipped lessons with their summaries, and presenter mode.
pub fn lessons_menu_ui(
    ui: &mut egui::Ui,
    lessons: &[(PathBuf, String, String)],
    open: Option<&Path>,
    presenting: bool,
) -> Option<LessonAction> {
    let mut action = None;
    if lessons.is_empty() {
        ui.label(RichText::new("No lessons found in lessons/.").weak());
    }
    for (path, title, summary) in lessons {
        let current = open == Some(path.as_path());
        if ui.selectable_label(current, title).on_hover_text(summary).clicked() && !current {
            action = Some(LessonAction::Open(path.clone()));
        }
        ui.label(RichText::new(summary).weak().small());
    }
    let mut on = presenting;
    if ui.checkbox(&mut on, "Presenter mode (F5)").changed() {
        action = Some(LessonAction::Presenter(on));
    }
    action
}
