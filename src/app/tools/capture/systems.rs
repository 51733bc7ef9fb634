//! The capture systems (they need the window): a recording started or
//! cancelled from the panel or by `--record`, one window capture per step
//! with the flow gated on it, and the encoder's outcome reported.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex};

use bevy::ecs::system::SystemParam;
use bevy::prelude::*;
use bevy::render::view::screenshot::{Screenshot, ScreenshotCaptured};
use bevy::window::PrimaryWindow;

use super::book::{FrameBook, PixelRect, view_pixels};
use super::encoder::{EncoderMsg, encode_frames};
use super::frames::{RecordFormat, open_sink};
use crate::app::run::{InitialCompare, MovingPositions, Playback, PlaybackCommand, RunLink, RunProgress};
use crate::app::tools::share::{ShareLog, slug};
use crate::app::view::ViewportRect;

/// Folder recordings go to unless another is chosen.
pub const RECORDING_DIR: &str = "recordings";

/// A recording's settings.
#[derive(Clone, Debug, PartialEq)]
pub struct RecordSettings {
    pub format: RecordFormat,
    /// Steps to record (frames: steps + 1, the starting state included).
    pub steps: usize,
    /// GIF frames per second.
    pub fps: u32,
    /// Only the 3-D view area, not the panels.
    pub crop_to_view: bool,
}

impl Default for RecordSettings {
    fn default() -> Self {
        Self { format: RecordFormat::Gif, steps: 60, fps: 15, crop_to_view: true }
    }
}

/// Start or stop a recording.
#[derive(Message, Debug, Clone, PartialEq)]
pub enum RecordRequest {
    /// Record to `path` (a `.gif` file, or a folder for PNG frames).
    Start {
        settings: RecordSettings,
        path: PathBuf,
    },
    Cancel,
}

/// A recording under way.
struct Active {
    book: FrameBook,
    settings: RecordSettings,
    path: PathBuf,
    /// Steps done (the least over the runs) at the first frame.
    base_steps: Option<usize>,
    previous_stop: Option<usize>,
    tx: Sender<EncoderMsg>,
    done: Mutex<Receiver<Result<String, String>>>,
    encoded: Arc<AtomicUsize>,
    ended: bool,
    /// A first, discarded capture has come back: the screenshot path is set
    /// up (the very first capture of a run can come back black).
    warmed_up: Arc<AtomicBool>,
    warm_up_sent: bool,
}

/// The recording's state, for the panel.
#[derive(Resource, Default)]
pub struct Recording {
    active: Option<Active>,
    /// The last recording's outcome (message, is an error).
    pub last: Option<(String, bool)>,
}

/// What the panel shows about a recording under way.
#[derive(Clone, Debug, PartialEq)]
pub struct RecordingProgress {
    pub format: RecordFormat,
    pub path: PathBuf,
    pub frames: usize,
    pub captured: usize,
    pub encoded: usize,
    pub fraction: f32,
}

impl Recording {
    pub fn progress(&self) -> Option<RecordingProgress> {
        let a = self.active.as_ref()?;
        let encoded = a.encoded.load(Ordering::Relaxed);
        Some(RecordingProgress {
            format: a.settings.format,
            path: a.path.clone(),
            frames: a.book.frames(),
            captured: a.book.requested(),
            encoded,
            fraction: a.book.progress(encoded),
        })
    }

    pub fn is_active(&self) -> bool {
        self.active.is_some()
    }
}

/// `--record PATH --after N`: record N steps once every run has loaded, then exit.
#[derive(Resource, Debug)]
pub struct RecordPlan {
    pub path: PathBuf,
    pub steps: usize,
    started: bool,
}

impl RecordPlan {
    pub fn new(path: PathBuf, steps: usize) -> Self {
        Self { path, steps, started: false }
    }
}

/// Captures and encodes recordings (needs the window).
pub struct RecordingPlugin;

impl Plugin for RecordingPlugin {
    fn build(&self, app: &mut App) {
        app.init_resource::<Recording>().add_message::<RecordRequest>().add_systems(
            PostUpdate,
            (run_record_plan.run_if(resource_exists::<RecordPlan>), start_or_cancel, capture_frames, finish_recording)
                .chain()
                .in_set(crate::app::schedule::AppSet::Ui),
        );
    }
}

/// The least number of steps done over the loaded runs that still step (as
/// the stepping counts them; they step in lockstep), or over all loaded runs
/// once every one has finished.
fn steps_done(runs: &Query<(&RunProgress, &RunLink)>) -> Option<usize> {
    let loaded = || runs.iter().filter(|(s, l)| s.is_current(l));
    loaded()
        .filter(|(s, _)| !s.finished)
        .map(|(s, _)| s.total_steps)
        .min()
        .or_else(|| loaded().map(|(s, _)| s.total_steps).min())
}

/// The part of the window a capture keeps: the 3-D view area between the
/// panels, in the window's physical pixels.
#[derive(SystemParam)]
struct CaptureArea<'w, 's> {
    viewport: Res<'w, ViewportRect>,
    window: Query<'w, 's, &'static Window, With<PrimaryWindow>>,
}

impl CaptureArea<'_, '_> {
    /// The view area to crop to (None: the whole window), when `crop_to_view` asks for it.
    fn crop(&self, crop_to_view: bool) -> Option<PixelRect> {
        self.window.single().ok().and_then(|w| {
            let size = UVec2::new(w.physical_width(), w.physical_height());
            let area = self.viewport.0.map(|r| (Vec2::new(r.min.x, r.min.y), Vec2::new(r.max.x, r.max.y)));
            crop_to_view.then(|| view_pixels(area, w.scale_factor(), size)).flatten()
        })
    }
}

fn start_or_cancel(
    mut requests: MessageReader<RecordRequest>,
    mut recording: ResMut<Recording>,
    (playback, mut commands): (Res<Playback>, MessageWriter<PlaybackCommand>),
    runs: Query<(&RunProgress, &RunLink)>,
    area: CaptureArea,
    mut log: ResMut<ShareLog>,
    time: Res<Time<Real>>,
) {
    let now = time.elapsed_secs_f64();
    for request in requests.read() {
        match request {
            RecordRequest::Cancel => {
                if let Some(active) = recording.active.take() {
                    let _ = active.tx.send(EncoderMsg::Cancel);
                    commands.write(PlaybackCommand::StopAt(active.previous_stop));
                    let message = "recording cancelled; nothing was written".to_string();
                    log.say(message.clone(), now, false);
                    recording.last = Some((message, false));
                }
            }
            RecordRequest::Start { settings, path } => {
                if recording.active.is_some() {
                    continue;
                }
                let Some(base_steps) = steps_done(&runs) else {
                    log.say("cannot record yet: the scene is still loading".into(), now, true);
                    continue;
                };
                let crop = area.crop(settings.crop_to_view);
                let sink = match open_sink(settings.format, path, settings.fps) {
                    Ok(sink) => sink,
                    Err(e) => {
                        log.say(e.clone(), now, true);
                        recording.last = Some((e, true));
                        continue;
                    }
                };
                let (tx, rx) = mpsc::channel();
                let (done_tx, done_rx) = mpsc::channel();
                let encoded = Arc::new(AtomicUsize::new(0));
                let counter = encoded.clone();
                let spawned = std::thread::Builder::new().name("sdflow-recorder".into()).spawn(move || {
                    let _ = done_tx.send(encode_frames(rx, sink, crop, &counter));
                });
                if let Err(e) = spawned {
                    log.say(format!("cannot start the recorder thread: {e}"), now, true);
                    continue;
                }
                info!("recording {} steps as {} to {}", settings.steps, settings.format.name(), path.display());
                recording.active = Some(Active {
                    book: FrameBook::new(settings.steps),
                    settings: settings.clone(),
                    path: path.clone(),
                    base_steps: None,
                    previous_stop: playback.stop_at_total,
                    tx,
                    done: Mutex::new(done_rx),
                    encoded,
                    ended: false,
                    warmed_up: Default::default(),
                    warm_up_sent: false,
                });
                // Hold the flow where it is until the first frame is asked for.
                commands.write(PlaybackCommand::StopAt(Some(base_steps)));
                commands.write(PlaybackCommand::Play);
                recording.last = None;
            }
        }
    }
}

/// Asks for a frame whenever the runs show the next step, and lets the flow
/// take one more step after each.
fn capture_frames(
    mut recording: ResMut<Recording>,
    playback: Res<Playback>,
    mut playback_commands: MessageWriter<PlaybackCommand>,
    runs: Query<(&RunProgress, &RunLink)>,
    mut commands: Commands,
) {
    let Some(active) = recording.active.as_mut() else { return };
    if active.ended {
        return;
    }
    if !active.warmed_up.load(Ordering::Relaxed) {
        if !active.warm_up_sent {
            let warmed_up = active.warmed_up.clone();
            commands
                .spawn(Screenshot::primary_window())
                .observe(move |_: On<ScreenshotCaptured>| warmed_up.store(true, Ordering::Relaxed));
            active.warm_up_sent = true;
        }
        return;
    }
    let Some(now_steps) = steps_done(&runs) else { return };
    let idle = runs.iter().all(|(_, l)| !l.busy());
    // The first frame is the state once the step under way (if any) is back.
    if active.base_steps.is_none() {
        if !idle {
            return;
        }
        active.base_steps = Some(now_steps);
    }
    let base = active.base_steps.unwrap_or(now_steps);
    let done = now_steps.saturating_sub(base);
    if active.book.should_capture(done) && idle {
        let index = active.book.capture();
        let tx = active.tx.clone();
        commands.spawn(Screenshot::primary_window()).observe(move |captured: On<ScreenshotCaptured>| {
            let _ = tx.send(EncoderMsg::Frame { index, image: Box::new(captured.image.clone()) });
        });
    } else if idle && runs.iter().all(|(s, _)| s.finished) && active.book.requested() == done + 1 {
        // Every run has finished before the steps asked for.
        active.book.end_early();
    }
    let encoded = active.encoded.load(Ordering::Relaxed);
    let stop = Some(base + active.book.allowed_steps(encoded));
    if playback.stop_at_total != stop {
        playback_commands.write(PlaybackCommand::StopAt(stop));
    }
    if active.book.all_requested() {
        let _ = active.tx.send(EncoderMsg::End { frames: active.book.frames() });
        active.ended = true;
        // The view stays on the last frame's state.
        playback_commands.write(PlaybackCommand::Pause);
        playback_commands.write(PlaybackCommand::StopAt(active.previous_stop));
    }
}

/// Reports the encoder's outcome.
fn finish_recording(
    mut recording: ResMut<Recording>,
    mut playback: MessageWriter<PlaybackCommand>,
    mut log: ResMut<ShareLog>,
    time: Res<Time<Real>>,
) {
    let Some(active) = recording.active.as_ref() else { return };
    let outcome = match active.done.lock().map(|rx| rx.try_recv()) {
        Ok(Ok(outcome)) => outcome,
        Ok(Err(mpsc::TryRecvError::Empty)) => return,
        _ => Err("the recorder stopped unexpectedly".into()),
    };
    let now = time.elapsed_secs_f64();
    let previous_stop = active.previous_stop;
    let ended = active.ended;
    recording.active = None;
    let error = outcome.is_err();
    let message = outcome.unwrap_or_else(|e| e);
    log.say(message.clone(), now, error);
    recording.last = Some((message, error));
    if !ended {
        // The encoder failed mid-way: the flow is no longer held.
        playback.write(PlaybackCommand::StopAt(previous_stop));
    }
}

/// `--record`: starts once every run shows its first state; exits when done.
fn run_record_plan(
    mut plan: ResMut<RecordPlan>,
    recording: Res<Recording>,
    runs: Query<(&MovingPositions, &RunLink)>,
    compare: Option<Res<InitialCompare>>,
    mut requests: MessageWriter<RecordRequest>,
    mut exit: MessageWriter<AppExit>,
    mut frames: Local<u32>,
) {
    if !plan.started {
        let expected = 1 + compare.map_or(0, |c| c.0.len());
        let loaded = runs.iter().count() >= expected && runs.iter().all(|(m, l)| m.is_shown(l));
        // A few frames so the panels and the view have settled.
        *frames = if loaded { *frames + 1 } else { 0 };
        if *frames > 6 {
            let format = RecordFormat::of_path(&plan.path);
            let settings = RecordSettings { format, steps: plan.steps, ..default() };
            requests.write(RecordRequest::Start { settings, path: plan.path.clone() });
            plan.started = true;
        }
        return;
    }
    if !recording.is_active() {
        match &recording.last {
            Some((_, false)) => {
                exit.write(AppExit::Success);
            }
            Some((message, true)) => {
                error!("{message}");
                exit.write(AppExit::error());
            }
            None => {}
        }
    }
}

/// The next free `recordings/<scene>-<n>.gif` (or folder `<scene>-<n>/`).
pub fn next_recording_path(dir: &Path, scene: &str, format: RecordFormat) -> PathBuf {
    let stem = slug(scene);
    (1..)
        .map(|n| match format {
            RecordFormat::Gif => dir.join(format!("{stem}-{n:03}.gif")),
            RecordFormat::PngFrames => dir.join(format!("{stem}-{n:03}")),
        })
        .find(|p| !p.exists())
        .unwrap_or_else(|| dir.join(stem))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_follow_the_path() {
        assert_eq!(RecordFormat::of_path(Path::new("a/b.GIF")), RecordFormat::Gif);
        assert_eq!(RecordFormat::of_path(Path::new("a/frames")), RecordFormat::PngFrames);
        let dir = std::env::temp_dir().join(format!("sdflow-rec-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        std::fs::write(dir.join("moons-001.gif"), b"x").expect("write");
        assert_eq!(next_recording_path(&dir, "Moons", RecordFormat::Gif), dir.join("moons-002.gif"));
        assert_eq!(next_recording_path(&dir, "Moons", RecordFormat::PngFrames), dir.join("moons-001"));
    }
}
