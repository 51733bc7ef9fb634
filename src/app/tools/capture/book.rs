//! The pure bookkeeping of a capture: which state is the next frame, how
//! far the flow may step ahead of the encoder ([`MAX_BACKLOG`]), frames put
//! back in order, and the view's rectangle cut out of a captured window.

use bevy::prelude::*;

/// Frames captured but not yet encoded before the flow waits for the encoder.
pub const MAX_BACKLOG: usize = 6;

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
}
