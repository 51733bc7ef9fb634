//! The open lesson and the way through it. A step opens its scene in the
//! focused run and its `compare` scenes beside it, sets the view, plays to
//! `run_to` and pauses there; a step with a question holds the runs until
//! the viewer answers, then plays on. A step with `paint` turns the brush on
//! once its scene is shown; a step's `camera` overrides the scene's angles.

use std::path::{Path, PathBuf};

use bevy::prelude::*;

use crate::app::run::{Focused, MovingPositions, PlaybackCommand, RunLink, RunRequest, SceneErrors, SceneRequest};
use crate::app::schedule::AppSet;
use crate::app::tools::brush::PaintRequest;
use crate::app::view::arrows::ArrowSettings;
use crate::app::view::clouds::ViewSettings;
use crate::app::view::gan::{Colouring, GanView};
use crate::lesson::{Colour, LessonFile, Step};

/// Folder the Lessons menu lists.
pub const LESSON_DIR: &str = "lessons";

/// What the viewer can do in a lesson.
#[derive(Message, Debug, Clone, PartialEq)]
pub enum LessonCommand {
    /// Open a lesson file at this step (0-based).
    Open {
        path: PathBuf,
        step: usize,
    },
    Next,
    Back,
    /// Pick this choice of the step's question.
    Answer(usize),
    /// Back to the normal lab, keeping the runs as they are.
    Leave,
}

/// The lessons the Lessons menu lists: (path, title, summary).
#[derive(Resource, Debug, Default)]
pub struct LessonList(pub Vec<(PathBuf, String, String)>);

/// The lesson being played, if any.
#[derive(Resource, Debug, Default)]
pub struct LessonPlayer {
    pub open: Option<OpenLesson>,
    /// The step wants the brush: it turns on once the focused run has
    /// loaded a scene newer than this generation and shows it.
    pub paint_after: Option<u64>,
}

/// A lesson in the player.
#[derive(Debug, Clone)]
pub struct OpenLesson {
    pub file: LessonFile,
    /// The step shown (0-based).
    pub step: usize,
    /// The viewer's choice for this step's question.
    pub answer: Option<usize>,
}

impl OpenLesson {
    pub fn current(&self) -> &Step {
        &self.file.lesson.steps[self.step]
    }

    pub fn steps(&self) -> usize {
        self.file.lesson.steps.len()
    }

    /// Whether the step waits for an answer.
    pub fn waiting(&self) -> bool {
        self.current().question.is_some() && self.answer.is_none()
    }

    /// The panel sections the step shows; None: all of them.
    pub fn shown_sections(&self) -> Option<&[String]> {
        self.current().show.as_deref()
    }
}

/// The lesson to open at start (`--lesson`, `--lesson-step`); its first
/// step's scenes are already the app's initial scenes.
#[derive(Resource, Debug, Clone)]
pub struct InitialLesson {
    pub path: PathBuf,
    pub step: usize,
}

pub(super) struct PlayerPlugin;

impl Plugin for PlayerPlugin {
    fn build(&self, app: &mut App) {
        app.init_resource::<LessonPlayer>()
            .insert_resource(LessonList(lesson_list(Path::new(LESSON_DIR))))
            .add_message::<LessonCommand>()
            .add_systems(Startup, open_initial_lesson)
            .add_systems(Update, (handle_lesson_commands, start_lesson_brush).chain().in_set(AppSet::Requests));
    }
}

/// The shipped lessons in `dir`: (path, title, summary), by file name.
pub fn lesson_list(dir: &Path) -> Vec<(PathBuf, String, String)> {
    let Ok(entries) = std::fs::read_dir(dir) else { return Vec::new() };
    let mut paths: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "ron"))
        .collect();
    paths.sort();
    paths
        .into_iter()
        .filter_map(|p| {
            let file = LessonFile::read(&p).ok()?;
            Some((p, file.lesson.title, file.lesson.summary))
        })
        .collect()
}

fn open_initial_lesson(
    initial: Option<Res<InitialLesson>>,
    mut player: ResMut<LessonPlayer>,
    mut errors: ResMut<SceneErrors>,
) {
    let Some(initial) = initial else { return };
    match LessonFile::read(&initial.path) {
        Ok(file) => {
            let step = initial.step.min(file.lesson.steps.len().saturating_sub(1));
            player.open = Some(OpenLesson { file, step, answer: None });
        }
        Err(e) => errors.set(None, e.to_string()),
    }
}

/// The messages a step change sends, so the headless runner and the window
/// agree on what a step shows.
#[derive(bevy::ecs::system::SystemParam)]
pub(super) struct StepOutputs<'w, 's> {
    scenes: MessageWriter<'w, SceneRequest>,
    runs: MessageWriter<'w, RunRequest>,
    playback: MessageWriter<'w, PlaybackCommand>,
    arrows: ResMut<'w, ArrowSettings>,
    gan: ResMut<'w, GanView>,
    view: ResMut<'w, ViewSettings>,
    focused: Query<'w, 's, &'static RunLink, With<Focused>>,
}

impl StepOutputs<'_, '_> {
    /// Opens `step`'s runs (the focused run takes its scene, the others
    /// close, its `compare` scenes open beside it), sets the view, and plays
    /// to `run_to` (held first when the step asks a question). Returns the
    /// generation after which the brush turns on, for a `paint` step.
    fn show(&mut self, step: &Step, file: &LessonFile, index: usize, load: bool) -> Option<u64> {
        self.playback.write(PlaybackCommand::Release);
        let generation = self.focused.single().map_or(0, |link| link.generation);
        if load {
            self.runs.write(RunRequest::CloseOthers);
            let scenes = &file.scenes[index];
            self.scenes.write(SceneRequest::Open(scenes[0].path.clone()));
            for scene in &scenes[1..] {
                self.runs.write(RunRequest::Compare(SceneRequest::Open(scene.path.clone())));
            }
        }
        if let Some(show) = step.view.arrows {
            self.arrows.show = show;
        }
        if let Some(colour) = step.view.colour {
            self.gan.colouring = colouring(colour);
        }
        if let Some(heat_map) = step.view.heat_map {
            self.gan.heat_map = heat_map;
        }
        if self.view.camera != step.view.camera {
            self.view.camera = step.view.camera;
            self.view.fit_requested = true;
        }
        self.playback.write(PlaybackCommand::StopAtStep(step.run_to));
        self.playback.write(if step.run_to.is_some() { PlaybackCommand::Play } else { PlaybackCommand::Pause });
        if step.question.is_some() {
            self.playback.write(PlaybackCommand::Hold);
        }
        // A scene the app opened itself (the initial lesson) counts once shown.
        step.paint.then_some(if load { generation } else { 0 })
    }

    /// Back to the normal lab: no limit, nothing held.
    fn leave(&mut self) {
        self.playback.write(PlaybackCommand::Release);
        self.playback.write(PlaybackCommand::StopAtStep(None));
        if self.view.camera.take().is_some() {
            self.view.fit_requested = true;
        }
    }
}

/// A lesson's colouring name as the view's.
fn colouring(colour: Colour) -> Colouring {
    match colour {
        Colour::OkabeIto => Colouring::OkabeIto,
        Colour::HStar => Colouring::OptimalLogRatio,
        Colour::DiscH => Colouring::Discriminator,
        Colour::Displacement => Colouring::Displacement,
        Colour::NnDistance => Colouring::NearestTarget,
    }
}

/// Moves through the lesson; the first frame of an initial lesson shows its
/// step without reloading the scenes the app already opened.
fn handle_lesson_commands(
    mut commands: MessageReader<LessonCommand>,
    mut player: ResMut<LessonPlayer>,
    mut out: StepOutputs,
    mut errors: ResMut<SceneErrors>,
    mut started: Local<bool>,
) {
    if !*started {
        *started = true;
        if let Some(open) = &player.open {
            player.paint_after = out.show(open.current(), &open.file, open.step, false);
        }
    }
    for command in commands.read() {
        match command {
            LessonCommand::Open { path, step } => match LessonFile::read(path) {
                Ok(file) => {
                    let step = (*step).min(file.lesson.steps.len().saturating_sub(1));
                    let open = OpenLesson { file, step, answer: None };
                    player.paint_after = out.show(open.current(), &open.file, step, true);
                    player.open = Some(open);
                }
                Err(e) => errors.set(None, e.to_string()),
            },
            LessonCommand::Next | LessonCommand::Back => {
                let Some(open) = player.open.as_mut() else { continue };
                let next = match command {
                    LessonCommand::Next => (open.step + 1).min(open.steps() - 1),
                    _ => open.step.saturating_sub(1),
                };
                if next != open.step {
                    open.step = next;
                    open.answer = None;
                    let paint = out.show(open.current(), &open.file, next, true);
                    player.paint_after = paint;
                }
            }
            LessonCommand::Answer(choice) => {
                let Some(open) = player.open.as_mut() else { continue };
                if open.waiting() {
                    open.answer = Some(*choice);
                    out.playback.write(PlaybackCommand::Release);
                }
            }
            LessonCommand::Leave => {
                player.paint_after = None;
                if player.open.take().is_some() {
                    out.leave();
                }
            }
        }
    }
}

/// Turns the brush on for a `paint` step once the step's scene is shown in
/// the focused run (the brush copies the loaded clouds, so not before).
fn start_lesson_brush(
    mut player: ResMut<LessonPlayer>,
    runs: Query<(&RunLink, &MovingPositions), With<Focused>>,
    mut paint: MessageWriter<PaintRequest>,
) {
    let Some(after) = player.paint_after else { return };
    let Ok((link, moving)) = runs.single() else { return };
    if link.generation > after && moving.is_shown(link) {
        player.paint_after = None;
        paint.write(PaintRequest::Start);
    }
}
