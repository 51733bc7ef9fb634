//! The recorder thread: captured window images in, taken in index order,
//! converted, cropped to the view and pushed into the frame sink, so no
//! frame of the app ever waits for the encoder.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::Duration;

use bevy::prelude::*;

use super::book::{FrameOrder, PixelRect, crop_rgb_to_rgba};
use super::frames::{FrameSink, RgbaFrame};

/// The encoder gives up when no frame arrives for this long.
const FRAME_TIMEOUT: Duration = Duration::from_secs(60);

/// What the capture systems tell the recorder thread.
pub(super) enum EncoderMsg {
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

/// The recorder thread: frames in index order, converted, cropped, encoded.
pub(super) fn encode_frames(
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
