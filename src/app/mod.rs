//! The Bevy desktop app: a window on a scene's two clouds, the flow running
//! on a worker thread, egui panels to steer it and live plots.
//!
//! Data flows one way: [`worker`] -> replies -> [`run`] components ->
//! [`view`] and [`ui`]; everything else reads run components and sends
//! messages. The frame order is stated once, in [`schedule`].
//!
//! - [`worker`]: the worker thread and its protocol (no ECS types);
//! - [`run`]: the only home of run state: runs as entities, loading,
//!   the worker link, replies, playback;
//! - [`view`]: point entities, cameras, colourings, arrows, the heat map;
//! - [`tools`]: the brush, screen capture, sharing and screenshots;
//! - [`lesson`]: the lesson player and presenter mode;
//! - [`ui`]: egui panels, plots and the help overlay;
//! - [`controls`]: every key and button action as one command list (headless);
//! - [`input`]: wheel zoom (needs the window);
//! - [`tools`]: the brush, sharing, screen capture and screenshots;
//! - [`rest`]: reactive updates while nothing moves.
//!
//! [`HeadlessPlugins`] is everything that runs without a window (tests use
//! it with `MinimalPlugins`).

pub mod controls;
pub mod drops;
pub mod input;
pub mod lesson;
pub mod rest;
pub mod run;
pub mod schedule;
pub mod tools;
pub mod ui;
pub mod view;
pub mod worker;

use std::path::PathBuf;

use bevy::app::PluginGroupBuilder;
use bevy::prelude::*;
use bevy::window::WindowResolution;

pub use run::{InitialScene, SceneRequest};

/// Window size on start (logical pixels).
pub const WINDOW_SIZE: (u32, u32) = (1280, 760);

/// What the command line asks of the app.
#[derive(Debug, Clone, Default)]
pub struct AppOptions {
    /// Scene to open; None opens the Swiss roll -> mystery default.
    pub scene: Option<PathBuf>,
    /// Scenes to open beside it (compare mode, split views).
    pub compare: Vec<PathBuf>,
    /// Save a screenshot here after `after` steps, then exit.
    pub screenshot: Option<PathBuf>,
    /// Record the view for `after` steps to this GIF (or PNG frames folder), then exit.
    pub record: Option<PathBuf>,
    pub after: usize,
    /// The GAN view to start with (colouring, heat map).
    pub view: view::gan::GanView,
    /// Start with the displacement arrows shown.
    pub arrows: bool,
    /// A lesson to play, and the step to start at (0-based).
    pub lesson: Option<(PathBuf, usize)>,
    /// Start in presenter mode.
    pub presenter: bool,
}

/// The plugins that need no window, renderer or egui.
pub struct HeadlessPlugins;

impl PluginGroup for HeadlessPlugins {
    fn build(self) -> PluginGroupBuilder {
        PluginGroupBuilder::start::<Self>()
            .add(schedule::SchedulePlugin)
            .add(run::RunPlugin)
            .add(view::clouds::CloudsPlugin)
            .add(controls::ControlsPlugin)
            .add(drops::DropsPlugin)
            .add(lesson::LessonPlugin)
            .add(view::gan::GanPlugin)
            .add(view::generator::GeneratorViewPlugin)
            .add(tools::BrushPlugin)
            .add(tools::SharePlugin)
            .add(view::arrows::ArrowsPlugin)
            .add(view::colours::FlowColoursPlugin)
    }
}

/// Why the app cannot start: said before any window opens.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("no such scene file: {0}\n(to run a scene without a window: `sdflow run SCENE`; see `sdflow --help`)")]
    NoSuchScene(PathBuf),
    #[error("{0}")]
    BadScene(crate::scene::SceneError),
    #[error("{0}")]
    BadLesson(crate::lesson::LessonError),
    #[error("--lesson-step {asked}: the lesson has {steps} steps")]
    NoSuchStep { asked: usize, steps: usize },
    #[error("--compare opens at most {max} scenes beside the first (got {0})", max = run::MAX_RUNS - 1)]
    TooManyRuns(usize),
    #[error(
        "no display found: use `sdflow run SCENE` for the headless runner, or set DISPLAY to an X11 display (the app needs X11 and a Vulkan driver)"
    )]
    NoDisplay,
}

/// Checks what would make the window fail, so the terminal gets a clear
/// message instead of a panic inside the window library: the first scene
/// must exist and be valid, and an X11 display must be set.
pub fn preflight(options: &AppOptions) -> Result<(), StartError> {
    if options.compare.len() >= run::MAX_RUNS {
        return Err(StartError::TooManyRuns(options.compare.len()));
    }
    for path in options.scene.iter().chain(&options.compare) {
        if !path.is_file() {
            return Err(StartError::NoSuchScene(path.clone()));
        }
        crate::scene::SceneFile::read(path).and_then(|f| f.clouds().map(|_| ())).map_err(StartError::BadScene)?;
    }
    if let Some((path, step)) = &options.lesson {
        lesson_scenes(path, *step)?;
    }
    if !has_display(|name| std::env::var_os(name)) {
        return Err(StartError::NoDisplay);
    }
    Ok(())
}

/// The scenes step `step` (0-based) of a lesson opens: the first, and those
/// beside it.
fn lesson_scenes(path: &std::path::Path, step: usize) -> Result<(PathBuf, Vec<PathBuf>), StartError> {
    let file = crate::lesson::LessonFile::read(path).map_err(StartError::BadLesson)?;
    let scenes =
        file.scenes.get(step).ok_or(StartError::NoSuchStep { asked: step + 1, steps: file.lesson.steps.len() })?;
    let paths: Vec<PathBuf> = scenes.iter().map(|s| s.path.clone()).collect();
    Ok((paths[0].clone(), paths[1..].to_vec()))
}

/// Whether a window can open: the app is built for X11 (no Wayland), so it
/// needs a non-empty DISPLAY on Linux and the BSDs; other systems have one.
fn has_display(var: impl Fn(&str) -> Option<std::ffi::OsString>) -> bool {
    if cfg!(any(target_os = "linux", target_os = "freebsd", target_os = "openbsd", target_os = "netbsd")) {
        var("DISPLAY").is_some_and(|d| !d.is_empty())
    } else {
        true
    }
}

/// Opens the window and runs until it is closed (or the screenshot is saved).
pub fn run(mut options: AppOptions) -> anyhow::Result<()> {
    if let Some((path, step)) = &options.lesson {
        let (first, beside) = lesson_scenes(path, *step)?;
        options.scene = Some(first);
        options.compare = beside;
    }
    let initial = match &options.scene {
        Some(path) => SceneRequest::Open(path.clone()),
        None => SceneRequest::default_scene(),
    };
    let mut app = App::new();
    app.add_plugins(DefaultPlugins.set(WindowPlugin {
        primary_window: Some(Window {
            title: "sdflow: score-difference flow lab".into(),
            resolution: WindowResolution::new(WINDOW_SIZE.0, WINDOW_SIZE.1),
            ..default()
        }),
        ..default()
    }))
    .add_plugins(bevy_egui::EguiPlugin::default())
    .add_plugins(bevy_panorbit_camera::PanOrbitCameraPlugin)
    .add_plugins(HeadlessPlugins)
    .add_plugins((
        view::clouds::CloudRenderPlugin,
        view::CamerasPlugin,
        ui::UiPlugin,
        input::InputPlugin,
        rest::RestPlugin,
    ))
    .add_plugins((view::heat_map::GanRenderPlugin, view::generator::GeneratorRenderPlugin))
    .add_plugins(tools::BrushWindowPlugin)
    .add_plugins((tools::RecordingPlugin, tools::ScreenshotPlugin))
    .add_plugins((view::arrows::ArrowsRenderPlugin, view::colours::FlowColoursRenderPlugin))
    .insert_resource(view::arrows::ArrowSettings { show: options.arrows })
    .insert_resource(InitialScene(initial))
    .insert_resource(run::InitialCompare(options.compare.into_iter().map(SceneRequest::Open).collect()))
    .insert_resource(options.view);
    if let Some((path, step)) = options.lesson {
        app.insert_resource(lesson::InitialLesson { path, step });
    }
    app.insert_resource(lesson::Presenter(options.presenter));
    if let Some(path) = options.screenshot {
        app.insert_resource(tools::ScreenshotPlan::new(path, options.after));
    }
    if let Some(path) = options.record {
        app.insert_resource(tools::RecordPlan::new(path, options.after));
    }
    match app.run() {
        AppExit::Success => Ok(()),
        AppExit::Error(code) => anyhow::bail!("the app exited with code {code}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_display_is_needed_on_linux() {
        if cfg!(target_os = "linux") {
            assert!(!has_display(|_| None));
            assert!(!has_display(|_| Some("".into())));
            assert!(has_display(|_| Some(":0".into())));
        }
    }

    #[test]
    fn a_missing_or_bad_first_scene_is_refused_before_any_window() {
        let missing = AppOptions { scene: Some("frobnicate".into()), ..default() };
        assert!(matches!(preflight(&missing), Err(StartError::NoSuchScene(_))));
        let dir = std::env::temp_dir().join(format!("sdflow-preflight-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let bad = dir.join("bad.ron");
        std::fs::write(&bad, "(name: \"x\", steps: )").expect("write");
        let e = preflight(&AppOptions { scene: Some(bad), ..default() }).expect_err("bad scene");
        assert!(matches!(e, StartError::BadScene(_)));
        assert!(e.to_string().contains("bad.ron:1:"), "{e}");
    }
}
