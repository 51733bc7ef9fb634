//! Screenshots of the window: the S key (through [`AppCommand::Screenshot`])
//! saves the next free `screenshots/sdflow-<n>.png`, and `--screenshot PATH
//! --after N` steps the runs, saves and exits. Every PNG is written
//! atomically (a temporary name renamed into place).
//!
//! Screenshots go to `screenshots/` (created on demand). The saved path is
//! shown for a few seconds once the image is captured, so it never appears
//! in the image itself.

use std::path::{Path, PathBuf};
use std::time::Duration;

use bevy::ecs::system::SystemParam;
use bevy::prelude::*;
use bevy::render::view::screenshot::{Screenshot, ScreenshotCaptured};
use bevy::window::PrimaryWindow;

use crate::app::controls::AppCommand;
use crate::app::run::{
    ActiveScene, InitialCompare, MovingPositions, Playback, PlaybackCommand, RunLink, RunProgress, SceneErrors,
};
use crate::app::view::ViewOf;

/// Folder the S key saves into.
pub const SCREENSHOT_DIR: &str = "screenshots";
/// How long the saved path stays in the status line.
pub const SHOT_NOTICE: Duration = Duration::from_secs(4);

/// The last screenshot saved, or why it could not be, shown for [`SHOT_NOTICE`].
#[derive(Resource, Default, Debug)]
pub struct ScreenshotLog {
    /// (what to show, real time in seconds, whether it is an error)
    pub last: Option<(String, f64, bool)>,
    count: usize,
}

impl ScreenshotLog {
    /// The text to show now and whether it is an error, if the notice is still due.
    pub fn notice(&self, now: f64) -> Option<(&str, bool)> {
        self.last.as_ref().filter(|(_, at, _)| now - at < SHOT_NOTICE.as_secs_f64()).map(|(p, _, e)| (p.as_str(), *e))
    }

    fn say(&mut self, text: String, now: f64, error: bool) {
        self.last = Some((text, now, error));
    }
}

/// The window's pixels as RGBA, written atomically to `path`.
fn save_png(captured: &ScreenshotCaptured, path: &Path) -> Result<(), String> {
    let image =
        captured.image.clone().try_into_dynamic().map_err(|e| format!("cannot read the window's pixels: {e}"))?;
    // The alpha channel holds brightness when HDR is on: store it opaque.
    let mut rgba = image.to_rgba8();
    rgba.pixels_mut().for_each(|p| p.0[3] = 255);
    crate::export::write_png(path, rgba.width(), rgba.height(), rgba.as_raw()).map_err(|e| e.to_string())
}

/// `--screenshot PATH --after N`: the steps to wait for, then save and exit.
#[derive(Resource, Debug)]
pub struct ScreenshotPlan {
    path: PathBuf,
    after: usize,
    stage: PlanStage,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PlanStage {
    /// Waiting for the steps.
    Running,
    /// Steps done; letting a few frames draw the final state.
    Settling(u32),
    /// Screenshot requested; waiting for the file.
    Saving(u32),
}

impl ScreenshotPlan {
    pub fn new(path: PathBuf, after: usize) -> Self {
        Self { path, after, stage: PlanStage::Running }
    }
}

/// Screenshots from the S key and `--screenshot` (needs the window).
pub struct ScreenshotPlugin;

impl Plugin for ScreenshotPlugin {
    fn build(&self, app: &mut App) {
        app.init_resource::<ScreenshotLog>().add_systems(
            Update,
            (screenshot_on_command, run_screenshot_plan.run_if(resource_exists::<ScreenshotPlan>)),
        );
    }
}

/// The next free `screenshots/sdflow-<n>.png`.
pub fn next_screenshot_path(dir: &Path, count: &mut usize) -> PathBuf {
    loop {
        *count += 1;
        let path = dir.join(format!("sdflow-{:03}.png", *count));
        if !path.exists() {
            return path;
        }
    }
}

fn screenshot_on_command(
    mut commands_in: MessageReader<AppCommand>,
    mut log: ResMut<ScreenshotLog>,
    time: Res<Time<Real>>,
    mut commands: Commands,
) {
    if !commands_in.read().any(|c| *c == AppCommand::Screenshot) {
        return;
    }
    let dir = Path::new(SCREENSHOT_DIR);
    if let Err(e) = std::fs::create_dir_all(dir) {
        let shown = std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf());
        log.say(
            format!("cannot save the screenshot: cannot create {}: {e}", shown.display()),
            time.elapsed_secs_f64(),
            true,
        );
        return;
    }
    let path = next_screenshot_path(dir, &mut log.count);
    let shown = std::path::absolute(&path).unwrap_or_else(|_| path.clone()).display().to_string();
    commands.spawn(Screenshot::primary_window()).observe(
        move |captured: On<ScreenshotCaptured>, mut log: ResMut<ScreenshotLog>, time: Res<Time<Real>>| {
            let now = time.elapsed_secs_f64();
            match save_png(&captured, &path) {
                Ok(()) => log.say(format!("saved {shown}"), now, false),
                Err(e) => log.say(format!("screenshot not saved: {e}"), now, true),
            }
        },
    );
}

/// The runs a `--screenshot` waits for: every run with its scene, the
/// `--compare` scenes expected beside the first, and a load that failed.
#[derive(SystemParam)]
struct PlannedRuns<'w, 's> {
    runs: Query<'w, 's, (&'static RunProgress, &'static RunLink, &'static ActiveScene, &'static MovingPositions)>,
    compare: Option<Res<'w, InitialCompare>>,
    errors: Res<'w, SceneErrors>,
}

/// The window's size and its views' cameras, logged before the capture.
#[derive(SystemParam)]
struct WindowLayout<'w, 's> {
    window: Query<'w, 's, &'static Window, With<PrimaryWindow>>,
    cameras: Query<'w, 's, &'static Camera, With<ViewOf>>,
}

/// Steps, settles, saves, then exits once the PNG exists.
fn run_screenshot_plan(
    mut plan: ResMut<ScreenshotPlan>,
    planned: PlannedRuns,
    layout: WindowLayout,
    playback: Res<Playback>,
    mut playback_commands: MessageWriter<PlaybackCommand>,
    mut commands: Commands,
    mut exit: MessageWriter<AppExit>,
) {
    let PlannedRuns { runs, compare, errors } = planned;
    let WindowLayout { window, cameras } = layout;
    match plan.stage {
        PlanStage::Running => {
            if let Some(error) = errors.first().filter(|_| runs.iter().any(|r| r.2.file.is_none())) {
                error!("cannot take the screenshot: {error}");
                exit.write(AppExit::error());
                return;
            }
            // Every run of `--compare` is open and has its first state.
            let expected = 1 + compare.map_or(0, |c| c.0.len());
            let loaded = runs.iter().count() >= expected && runs.iter().all(|(_, l, _, m)| m.is_shown(l));
            if !loaded {
                return;
            }
            // Never ask for more steps than the plan's total; a request may
            // come back with fewer steps than asked, so keep playing until
            // they are all done.
            let done = runs.iter().map(|r| r.0.total_steps).min().unwrap_or(0);
            // A lesson question holds the runs: the picture is the question then.
            let finished = runs.iter().all(|r| r.0.finished) || playback.held.is_some();
            playback_commands.write(PlaybackCommand::StopAt(Some(plan.after)));
            let more = done < plan.after;
            playback_commands.write(if more { PlaybackCommand::Play } else { PlaybackCommand::Pause });
            if (done >= plan.after || finished) && !runs.iter().any(|r| r.1.busy()) {
                plan.stage = PlanStage::Settling(0);
            }
        }
        PlanStage::Settling(frames) => {
            // A few frames so the last positions and the panels are drawn.
            if frames < 6 {
                plan.stage = PlanStage::Settling(frames + 1);
                return;
            }
            if let Some(dir) = plan.path.parent().filter(|d| !d.as_os_str().is_empty()) {
                let _ = std::fs::create_dir_all(dir);
            }
            let _ = std::fs::remove_file(&plan.path);
            if let Ok(w) = window.single() {
                // .ci/check_window.sh compares the PNG's size with this line.
                info!("window size: {}x{}", w.physical_width(), w.physical_height());
            }
            // ... and checks each view's rectangle for both clouds.
            for camera in &cameras {
                if let Some(v) = camera.viewport.as_ref().filter(|_| camera.is_active) {
                    let (p, s) = (v.physical_position, v.physical_size);
                    info!("view rect: {} {} {} {}", p.x, p.y, s.x, s.y);
                }
            }
            let path = plan.path.clone();
            commands.spawn(Screenshot::primary_window()).observe(
                move |captured: On<ScreenshotCaptured>, mut exit: MessageWriter<AppExit>| match save_png(
                    &captured, &path,
                ) {
                    Ok(()) => info!("screenshot of the window written to {}", path.display()),
                    Err(e) => {
                        error!("screenshot not saved: {e}");
                        exit.write(AppExit::error());
                    }
                },
            );
            plan.stage = PlanStage::Saving(0);
        }
        PlanStage::Saving(frames) => {
            let written = std::fs::metadata(&plan.path).is_ok_and(|m| m.len() > 0);
            if written && frames > 2 {
                let done = runs.iter().map(|r| r.0.total_steps).min().unwrap_or(0);
                info!("saved {} after {} steps", plan.path.display(), done);
                exit.write(AppExit::Success);
            } else if frames > 600 {
                error!("the screenshot {} was not written", plan.path.display());
                exit.write(AppExit::error());
            } else {
                plan.stage = PlanStage::Saving(frames + 1);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn screenshots_get_fresh_numbered_names() {
        let dir = std::env::temp_dir().join(format!("sdflow-shots-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let mut count = 0;
        let first = next_screenshot_path(&dir, &mut count);
        std::fs::write(dir.join("sdflow-002.png"), b"x").expect("write");
        let second = next_screenshot_path(&dir, &mut count);
        assert_eq!(first.file_name().and_then(|n| n.to_str()), Some("sdflow-001.png"));
        assert_eq!(second.file_name().and_then(|n| n.to_str()), Some("sdflow-003.png"));
        let mut log = ScreenshotLog::default();
        log.say("saved a.png".into(), 10.0, false);
        assert_eq!(log.notice(11.0), Some(("saved a.png", false)));
        assert_eq!(log.notice(20.0), None);
        log.say("screenshot not saved: disk full".into(), 30.0, true);
        assert_eq!(log.notice(31.0), Some(("screenshot not saved: disk full", true)));
    }
}
