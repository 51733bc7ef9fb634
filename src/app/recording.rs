//! Recording the view for slides: an animated GIF (or numbered PNG frames)
//! of N steps, one frame per step.
//!
//! Each time the runs reach a new step the window is captured
//! (`Screenshot::primary_window()`; the observer on `ScreenshotCaptured`
//! only copies the image into a channel). A thread of its own converts,
//! crops and encodes the frames, so no frame of the app ever waits for the
//! encoder. Stepping is gated by the recording: the flow may take step k + 1
//! only once the state after step k has been captured, and holds while the
//! encoder is more than [`MAX_BACKLOG`] frames behind, so every step gets
//! exactly one frame and memory stays bounded.
//!
//! The capture covers the 3-D view area only (the part of the window left
//! between the panels, all views in compare mode) unless the panel's "only
//! the 3-D view" box is cleared; the bookkeeping is the pure [`FrameBook`].

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bevy::prelude::*;
use bevy::render::view::screenshot::{Screenshot, ScreenshotCaptured};
use bevy::window::PrimaryWindow;

use super::frames::{FrameSink, RgbaFrame, open_sink};
use super::share::ShareLog;
use super::simulation::{Playback, RunLink, RunStatus};
use super::ui::ViewportRect;

/// Frames captured but not yet encoded before the flow waits for the encoder.
pub const MAX_BACKLOG: usize = 6;
/// Folder recordings go to unless another is chosen.
pub const RECORDING_DIR: &str = "recordings";
/// The encoder gives up when no frame arrives for this long.
const FRAME_TIMEOUT: Duration = Duration::from_secs(60);

/// What a recording writes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum RecordFormat {
    /// One animated GIF that loops.
    #[default]
    Gif,
    /// `frame_00000.png`, `frame_00001.png`, ... in a folder.
    PngFrames,
}

impl RecordFormat {
    pub fn name(self) -> &'static str {
        match self {
            RecordFormat::Gif => "animated GIF",
            RecordFormat::PngFrames => "PNG frames",
        }
    }

    /// GIF for a `.gif` path, PNG frames into a folder otherwise.
    pub fn of_path(path: &Path) -> Self {
        if path.extension().is_some_and(|e| e.eq_ignore_ascii_case("gif")) {
            RecordFormat::Gif
        } else {
            RecordFormat::PngFrames
        }
    }
}

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

/// The pure bookkeeping of a recording: frame k shows the state after k
/// steps from the start, k = 0..=steps.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FrameBook {
    steps: usize,
    /// Frames asked for so far (the next frame's index).
    requested: usize,
}

impl FrameBook {
    pub fn new(steps: usize) -> Self {
        Self { steps, requested: 0 }
    }

    /// Frames the recording will hold.
    pub fn frames(&self) -> usize {
        self.steps + 1
    }

    pub fn requested(&self) -> usize {
        self.requested
    }

    /// Whether the state now drawn (`done` steps after the start) is the
    /// next frame. Stepping is gated so states come one step apart; one that
    /// skipped a step (a request already under way when the recording
    /// started) is taken as the next frame rather than waited past.
    pub fn should_capture(&self, done: usize) -> bool {
        self.requested < self.frames() && done >= self.requested
    }

    /// Records that the next frame was asked for; returns its index.
    pub fn capture(&mut self) -> usize {
        self.requested += 1;
        self.requested - 1
    }

    /// Steps the flow may have taken from the start: one past the last
    /// frame asked for, none further while the encoder lags more than
    /// [`MAX_BACKLOG`] frames behind, never more than the steps recorded.
    pub fn allowed_steps(&self, encoded: usize) -> usize {
        if self.requested == 0 {
            return 0;
        }
        let behind = self.requested.saturating_sub(encoded);
        if behind > MAX_BACKLOG { self.requested - 1 } else { self.requested.min(self.steps) }
    }

    /// Every frame has been asked for.
    pub fn all_requested(&self) -> bool {
        self.requested >= self.frames()
    }

    /// The flow ended early (every run finished): the frames asked for are
    /// all there will be.
    pub fn end_early(&mut self) {
        self.steps = self.requested.saturating_sub(1);
    }

    /// Share done, 0..=1, counting frames encoded.
    pub fn progress(&self, encoded: usize) -> f32 {
        (encoded as f32 / self.frames() as f32).clamp(0.0, 1.0)
    }
}

/// Frames arrive from the screenshot observers in any order; the encoder
/// takes them in index order.
#[derive(Debug)]
pub struct FrameOrder<T> {
    next: usize,
    waiting: std::collections::BTreeMap<usize, T>,
}

impl<T> Default for FrameOrder<T> {
    fn default() -> Self {
        Self { next: 0, waiting: Default::default() }
    }
}

impl<T> FrameOrder<T> {
    pub fn insert(&mut self, index: usize, frame: T) {
        if index >= self.next {
            self.waiting.insert(index, frame);
        }
    }

    /// The next frame in order, once it has arrived.
    pub fn pop(&mut self) -> Option<T> {
        let frame = self.waiting.remove(&self.next)?;
        self.next += 1;
        Some(frame)
    }

    /// Frames handed out so far.
    pub fn taken(&self) -> usize {
        self.next
    }
}

/// A rectangle of the window in physical pixels.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PixelRect {
    pub x: u32,
    pub y: u32,
    pub width: u32,
    pub height: u32,
}

/// Copies `rect` out of an RGB image of `width` x `height` as opaque RGBA;
/// whatever of `rect` lies outside the image is black (a window resized
/// mid-recording keeps every frame the first one's size).
pub fn crop_rgb_to_rgba(rgb: &[u8], width: u32, height: u32, rect: PixelRect) -> Vec<u8> {
    let mut out = [0, 0, 0, 255].repeat(rect.width as usize * rect.height as usize);
    for (row, y) in (rect.y..rect.y + rect.height).enumerate() {
        if y >= height {
            break;
        }
        for (col, x) in (rect.x..rect.x + rect.width).enumerate() {
            if x >= width {
                break;
            }
            let src = (y as usize * width as usize + x as usize) * 3;
            let dst = (row * rect.width as usize + col) * 4;
            if let Some(p) = rgb.get(src..src + 3) {
                out[dst..dst + 3].copy_from_slice(p);
            }
        }
    }
    out
}

/// The view area in physical pixels (even sizes: some players want them).
pub fn view_pixels(view: Option<(Vec2, Vec2)>, scale: f32, window: UVec2) -> Option<PixelRect> {
    let (min, max) = view?;
    let x = ((min.x * scale).max(0.0) as u32).min(window.x);
    let y = ((min.y * scale).max(0.0) as u32).min(window.y);
    let width = (((max.x - min.x) * scale) as u32).min(window.x - x) & !1;
    let height = (((max.y - min.y) * scale) as u32).min(window.y - y) & !1;
    (width >= 16 && height >= 16).then_some(PixelRect { x, y, width, height })
}

enum EncoderMsg {
    Frame {
        index: usize,
        image: Box<Image>,
    },
    /// No more frames than this will come.
    End {
        frames: usize,
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
fn steps_done(runs: &Query<(&RunStatus, &RunLink)>) -> Option<usize> {
    let loaded = || runs.iter().filter(|(s, l)| s.is_current(l));
    loaded()
        .filter(|(s, _)| !s.finished)
        .map(|(s, _)| s.total_steps)
        .min()
        .or_else(|| loaded().map(|(s, _)| s.total_steps).min())
}

#[allow(clippy::too_many_arguments)]
fn start_or_cancel(
    mut requests: MessageReader<RecordRequest>,
    mut recording: ResMut<Recording>,
    mut playback: ResMut<Playback>,
    runs: Query<(&RunStatus, &RunLink)>,
    viewport: Res<ViewportRect>,
    window: Query<&Window, With<PrimaryWindow>>,
    mut log: ResMut<ShareLog>,
    time: Res<Time<Real>>,
) {
    let now = time.elapsed_secs_f64();
    for request in requests.read() {
        match request {
            RecordRequest::Cancel => {
                if let Some(active) = recording.active.take() {
                    let _ = active.tx.send(EncoderMsg::Cancel);
                    playback.stop_at_total = active.previous_stop;
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
                let crop = window.single().ok().and_then(|w| {
                    let size = UVec2::new(w.physical_width(), w.physical_height());
                    let area = viewport.0.map(|r| (Vec2::new(r.min.x, r.min.y), Vec2::new(r.max.x, r.max.y)));
                    settings.crop_to_view.then(|| view_pixels(area, w.scale_factor(), size)).flatten()
                });
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
                playback.stop_at_total = Some(base_steps);
                playback.playing = true;
                recording.last = None;
            }
        }
    }
}

/// Asks for a frame whenever the runs show the next step, and lets the flow
/// take one more step after each.
fn capture_frames(
    mut recording: ResMut<Recording>,
    mut playback: ResMut<Playback>,
    runs: Query<(&RunStatus, &RunLink)>,
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
        playback.stop_at_total = stop;
    }
    if active.book.all_requested() {
        let _ = active.tx.send(EncoderMsg::End { frames: active.book.frames() });
        active.ended = true;
        playback.stop_at_total = active.previous_stop;
        // The view stays on the last frame's state.
        playback.playing = false;
    }
}

/// Reports the encoder's outcome.
fn finish_recording(
    mut recording: ResMut<Recording>,
    mut playback: ResMut<Playback>,
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
        playback.stop_at_total = previous_stop;
    }
}

/// `--record`: starts once every run shows its first state; exits when done.
fn run_record_plan(
    mut plan: ResMut<RecordPlan>,
    recording: Res<Recording>,
    runs: Query<(&RunStatus, &RunLink)>,
    compare: Option<Res<super::scene_loading::InitialCompare>>,
    mut requests: MessageWriter<RecordRequest>,
    mut exit: MessageWriter<AppExit>,
    mut frames: Local<u32>,
) {
    if !plan.started {
        let expected = 1 + compare.map_or(0, |c| c.0.len());
        let loaded = runs.iter().count() >= expected && runs.iter().all(|(s, l)| s.is_shown(l));
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

/// The recorder thread: frames in index order, converted, cropped, encoded.
fn encode_frames(
    rx: Receiver<EncoderMsg>,
    mut sink: Box<dyn FrameSink>,
    crop: Option<PixelRect>,
    encoded: &AtomicUsize,
) -> Result<String, String> {
    let mut order = FrameOrder::default();
    let mut end = None;
    let mut size: Option<PixelRect> = crop;
    loop {
        if end.is_some_and(|frames| order.taken() >= frames) {
            return sink.finish();
        }
        match rx.recv_timeout(FRAME_TIMEOUT) {
            Ok(EncoderMsg::Frame { index, image }) => order.insert(index, image),
            Ok(EncoderMsg::End { frames }) => end = Some(frames),
            Ok(EncoderMsg::Cancel) | Err(RecvTimeoutError::Disconnected) => {
                sink.abort();
                return Err("recording cancelled".into());
            }
            Err(RecvTimeoutError::Timeout) => {
                sink.abort();
                return Err(format!("recording stopped: no frame came for {} s", FRAME_TIMEOUT.as_secs()));
            }
        }
        while let Some(image) = order.pop() {
            let rgb = (*image).try_into_dynamic().map_err(|e| format!("cannot read a captured frame: {e}"))?.to_rgb8();
            let (width, height) = rgb.dimensions();
            let rect = *size.get_or_insert(PixelRect { x: 0, y: 0, width: width & !1, height: height & !1 });
            let rgba = crop_rgb_to_rgba(rgb.as_raw(), width, height, rect);
            if let Err(e) = sink.push(RgbaFrame { width: rect.width, height: rect.height, rgba }) {
                sink.abort();
                return Err(e);
            }
            encoded.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// The next free `recordings/<scene>-<n>.gif` (or folder `<scene>-<n>/`).
pub fn next_recording_path(dir: &Path, scene: &str, format: RecordFormat) -> PathBuf {
    let stem = super::share::slug(scene);
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
    fn each_step_gets_one_frame_and_the_flow_waits_for_the_capture() {
        let mut book = FrameBook::new(3);
        assert_eq!(book.frames(), 4);
        // Nothing captured yet: the flow stays at the start.
        assert_eq!(book.allowed_steps(0), 0);
        assert!(book.should_capture(0));
        assert_eq!(book.capture(), 0);
        assert!(!book.should_capture(0), "the same state is not captured twice");
        assert_eq!(book.allowed_steps(0), 1, "one more step after the first frame");
        assert!(book.should_capture(1));
        assert!(book.should_capture(2), "a state that skipped a step is still the next frame: no stall");
        assert_eq!(book.capture(), 1);
        assert_eq!(book.capture(), 2);
        assert_eq!(book.capture(), 3);
        assert!(book.all_requested());
        assert_eq!(book.allowed_steps(4), 3, "never past the steps recorded");
        assert_eq!(book.progress(2), 0.5);
    }

    #[test]
    fn the_flow_holds_while_the_encoder_lags() {
        let mut book = FrameBook::new(100);
        for _ in 0..MAX_BACKLOG {
            book.capture();
        }
        assert_eq!(book.allowed_steps(0), MAX_BACKLOG, "the encoder is just within the backlog");
        book.capture();
        assert_eq!(book.allowed_steps(0), MAX_BACKLOG, "too far behind: no new step");
        assert_eq!(book.allowed_steps(2), MAX_BACKLOG + 1);
    }

    #[test]
    fn a_run_that_ends_early_ends_the_recording() {
        let mut book = FrameBook::new(10);
        book.capture();
        book.capture();
        assert!(!book.all_requested());
        book.end_early();
        assert!(book.all_requested());
        assert_eq!(book.frames(), 2);
    }

    #[test]
    fn frames_come_out_in_order() {
        let mut order = FrameOrder::default();
        order.insert(1, "b");
        assert_eq!(order.pop(), None);
        order.insert(0, "a");
        order.insert(2, "c");
        assert_eq!((order.pop(), order.pop(), order.pop(), order.pop()), (Some("a"), Some("b"), Some("c"), None));
        order.insert(1, "late duplicate");
        assert_eq!((order.pop(), order.taken()), (None, 3));
    }

    #[test]
    fn crops_pad_and_fix_sizes() {
        // 3 x 2 RGB image, pixel value = 10 * (y * 3 + x) + channel.
        let rgb: Vec<u8> = (0..6u8).flat_map(|i| [10 * i, 10 * i + 1, 10 * i + 2]).collect();
        let out = crop_rgb_to_rgba(&rgb, 3, 2, PixelRect { x: 1, y: 1, width: 2, height: 2 });
        assert_eq!(&out[..8], &[40, 41, 42, 255, 50, 51, 52, 255]);
        assert_eq!(&out[8..], &[0, 0, 0, 255, 0, 0, 0, 255], "outside the image: black");
        let rect = view_pixels(Some((Vec2::new(300.0, 0.0), Vec2::new(981.0, 700.5))), 1.0, UVec2::new(1280, 760));
        assert_eq!(rect, Some(PixelRect { x: 300, y: 0, width: 680, height: 700 }));
        let hidpi = view_pixels(Some((Vec2::new(10.0, 10.0), Vec2::new(2000.0, 30.0))), 2.0, UVec2::new(1000, 1000));
        assert_eq!(hidpi, Some(PixelRect { x: 20, y: 20, width: 980, height: 40 }));
        assert_eq!(view_pixels(None, 1.0, UVec2::new(10, 10)), None);
    }

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
