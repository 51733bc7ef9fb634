//! Recording the view for slides: an animated GIF written frame by frame as
//! the frames arrive (none are held in memory), or numbered PNG frames.
//! Frames are RGBA8, row-major, top row first (what a screenshot gives).
//!
//! GIF has 256 colours per frame: each frame gets its own palette from the
//! `gif` crate's NeuQuant quantiser. Alpha is dropped (frames are opaque).
//! Quantising is slow (measured here: about 0.2 s for a 1280 x 720 frame,
//! 70 ms at `downscale: 2`; a PNG frame about 11 ms), so a window should
//! push frames from a background task, not its frame loop.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use super::{SaveError, temp_path, write_atomic};

/// How a GIF is written.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GifOptions {
    /// Time each frame is shown, in milliseconds (GIF stores hundredths of
    /// a second; many viewers show delays under 20 ms as 100 ms).
    pub delay_ms: u32,
    /// Keep one pixel per `downscale` x `downscale` block (their mean), to
    /// keep files small; 1 keeps the full size.
    pub downscale: u32,
    /// Quantiser speed from 1 (best colours, slowest) to 30 (fastest).
    pub speed: i32,
}

impl Default for GifOptions {
    fn default() -> Self {
        Self { delay_ms: 50, downscale: 1, speed: 10 }
    }
}

/// An animated GIF being recorded to `path`; it loops forever. Frames go to
/// a temporary file beside `path`, which [`GifRecorder::finish`] renames into
/// place; dropping the recorder unfinished removes it.
pub struct GifRecorder {
    path: PathBuf,
    temp: PathBuf,
    options: GifOptions,
    /// The open file until the first frame fixes the size.
    file: Option<BufWriter<File>>,
    encoder: Option<gif::Encoder<BufWriter<File>>>,
    /// Size of the frames pushed (before downscaling).
    size: Option<(u32, u32)>,
    frames: usize,
    /// Reused for the downscaled frame.
    buffer: Vec<u8>,
}

impl GifRecorder {
    /// Starts a recording (the file is created now, so a bad path fails
    /// before any frame is rendered).
    pub fn create(path: &Path, options: GifOptions) -> Result<Self, SaveError> {
        let temp = temp_path(path);
        let file = File::create(&temp).map_err(|e| SaveError::io(path, e))?;
        let options = GifOptions { downscale: options.downscale.max(1), speed: options.speed.clamp(1, 30), ..options };
        Ok(Self {
            path: path.to_path_buf(),
            temp,
            options,
            file: Some(BufWriter::new(file)),
            encoder: None,
            size: None,
            frames: 0,
            buffer: Vec::new(),
        })
    }

    /// Frames written so far.
    pub fn frames(&self) -> usize {
        self.frames
    }

    /// The size of the GIF's frames, once the first frame is in.
    pub fn output_size(&self) -> Option<(u32, u32)> {
        self.size.map(|(w, h)| scaled_size(w, h, self.options.downscale))
    }

    /// Encodes one `width` x `height` RGBA8 frame and writes it out. Every
    /// frame must have the first frame's size.
    pub fn push(&mut self, width: u32, height: u32, rgba: &[u8]) -> Result<(), SaveError> {
        let path = self.path.clone();
        let frame_error = |message: String| SaveError::Frame { path: path.clone(), message };
        check_frame(width, height, rgba).map_err(frame_error)?;
        match self.size {
            Some((w, h)) if (w, h) != (width, height) => {
                return Err(frame_error(format!(
                    "frame {} is {width} x {height} but the recording is {w} x {h}; keep the window size while recording",
                    self.frames + 1
                )));
            }
            _ => {}
        }
        let factor = self.options.downscale;
        let (out_w, out_h) = scaled_size(width, height, factor);
        let (Ok(gw), Ok(gh)) = (u16::try_from(out_w), u16::try_from(out_h)) else {
            return Err(frame_error(format!(
                "a GIF is at most 65535 pixels wide and high, this one would be {out_w} x {out_h}; downscale more"
            )));
        };
        downscale(width, height, rgba, factor, &mut self.buffer);
        // Opaque: a 0 alpha would otherwise become GIF transparency.
        self.buffer.chunks_exact_mut(4).for_each(|p| p[3] = 255);
        let encode = |e: gif::EncodingError| SaveError::Encode { path: path.clone(), message: e.to_string() };
        if self.encoder.is_none() {
            let file = self.file.take().ok_or_else(|| frame_error("the recording is closed".into()))?;
            let mut encoder = gif::Encoder::new(file, gw, gh, &[]).map_err(encode)?;
            encoder.set_repeat(gif::Repeat::Infinite).map_err(encode)?;
            self.encoder = Some(encoder);
            self.size = Some((width, height));
        }
        let mut frame = gif::Frame::from_rgba_speed(gw, gh, &mut self.buffer, self.options.speed);
        frame.delay = self.options.delay_ms.div_ceil(10).clamp(1, u16::MAX as u32) as u16;
        let Some(encoder) = self.encoder.as_mut() else {
            return Err(frame_error("the recording is closed".into()));
        };
        encoder.write_frame(&frame).map_err(encode)?;
        self.frames += 1;
        Ok(())
    }

    /// Ends the GIF and moves it to its path; returns the number of frames.
    pub fn finish(mut self) -> Result<usize, SaveError> {
        let Some(encoder) = self.encoder.take() else {
            return Err(SaveError::Frame { path: self.path.clone(), message: "no frames were recorded".into() });
        };
        let encode = |e: gif::EncodingError| SaveError::Encode { path: self.path.clone(), message: e.to_string() };
        let writer = encoder.into_inner().map_err(encode)?;
        let file = writer.into_inner().map_err(|e| SaveError::io(&self.path, e.into_error()))?;
        file.sync_all().map_err(|e| SaveError::io(&self.path, e))?;
        std::fs::rename(&self.temp, &self.path).map_err(|e| SaveError::io(&self.path, e))?;
        Ok(self.frames)
    }
}

impl Drop for GifRecorder {
    /// An unfinished recording leaves nothing behind.
    fn drop(&mut self) {
        self.encoder = None;
        self.file = None;
        let _ = std::fs::remove_file(&self.temp);
    }
}

/// The size after keeping one pixel per `factor` x `factor` block (a
/// partial block at the right or bottom edge still gives a pixel).
pub fn scaled_size(width: u32, height: u32, factor: u32) -> (u32, u32) {
    let f = factor.max(1);
    (width.div_ceil(f), height.div_ceil(f))
}

/// Says what is wrong with a frame's size, if anything.
fn check_frame(width: u32, height: u32, rgba: &[u8]) -> Result<(), String> {
    let need = width as u64 * height as u64 * 4;
    if width == 0 || height == 0 {
        return Err(format!("the frame is {width} x {height}; it needs at least one pixel"));
    }
    if rgba.len() as u64 != need {
        return Err(format!("a {width} x {height} RGBA frame has {need} bytes, this one {}", rgba.len()));
    }
    Ok(())
}

/// Box-filters `rgba` by `factor` into `out` (each output pixel the mean of
/// its block, rounded); factor 1 copies.
pub fn downscale(width: u32, height: u32, rgba: &[u8], factor: u32, out: &mut Vec<u8>) {
    let f = factor.max(1) as usize;
    let (w, h) = (width as usize, height as usize);
    let (ow, oh) = (w.div_ceil(f), h.div_ceil(f));
    out.clear();
    if f == 1 {
        out.extend_from_slice(rgba);
        return;
    }
    out.reserve(ow * oh * 4);
    for oy in 0..oh {
        let rows = oy * f..((oy + 1) * f).min(h);
        for ox in 0..ow {
            let cols = ox * f..((ox + 1) * f).min(w);
            let mut sum = [0u32; 4];
            for y in rows.clone() {
                for x in cols.clone() {
                    let p = &rgba[(y * w + x) * 4..(y * w + x) * 4 + 4];
                    sum.iter_mut().zip(p).for_each(|(s, &v)| *s += v as u32);
                }
            }
            let n = (rows.len() * cols.len()) as u32;
            out.extend(sum.iter().map(|&s| ((s + n / 2) / n) as u8));
        }
    }
}

/// Writes `rgba` (`width` x `height`, RGBA8) as `dir/frame_NNNNN.png`
/// (creating `dir` if needed) and returns the path; numbered frames sort in
/// order up to 99999.
pub fn write_png_frame(dir: &Path, index: usize, width: u32, height: u32, rgba: &[u8]) -> Result<PathBuf, SaveError> {
    let path = dir.join(format!("frame_{index:05}.png"));
    check_frame(width, height, rgba).map_err(|message| SaveError::Frame { path: path.clone(), message })?;
    std::fs::create_dir_all(dir).map_err(|e| SaveError::io(&path, e))?;
    write_png(&path, width, height, rgba)?;
    Ok(path)
}

/// Writes an RGBA image (8 bits a channel, rows top to bottom) as a PNG,
/// atomically: a failed write leaves no file under `path`.
pub fn write_png(path: &Path, width: u32, height: u32, rgba: &[u8]) -> Result<(), SaveError> {
    check_frame(width, height, rgba).map_err(|message| SaveError::Frame { path: path.to_path_buf(), message })?;
    let encode = |e: png::EncodingError| SaveError::Encode { path: path.to_path_buf(), message: e.to_string() };
    write_atomic(path, |w: &mut BufWriter<File>| {
        let mut encoder = png::Encoder::new(w.by_ref(), width, height);
        encoder.set_color(png::ColorType::Rgba);
        encoder.set_depth(png::BitDepth::Eight);
        let mut writer = encoder.write_header().map_err(encode)?;
        writer.write_image_data(rgba).map_err(encode)?;
        writer.finish().map_err(encode)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A frame: left half `a`, right half `b`, with a white square moving
    /// right by 4 pixels a frame.
    fn frame(width: u32, height: u32, k: u32, a: [u8; 3], b: [u8; 3]) -> Vec<u8> {
        let mut out = Vec::with_capacity((width * height * 4) as usize);
        for y in 0..height {
            for x in 0..width {
                let square = (4 * k..4 * k + 4).contains(&x) && (2..6).contains(&y);
                let c = if square {
                    [255, 255, 255]
                } else if x < width / 2 {
                    a
                } else {
                    b
                };
                out.extend([c[0], c[1], c[2], 255]);
            }
        }
        out
    }

    fn temp_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("sdflow-gif-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("temp dir");
        dir
    }

    /// (width, height, delay, RGBA pixels) of each decoded frame.
    type Frames = Vec<(u16, u16, u16, Vec<u8>)>;

    /// Decodes every frame of a GIF as RGBA.
    fn decode(path: &Path) -> (gif::Repeat, Frames) {
        let mut options = gif::DecodeOptions::new();
        options.set_color_output(gif::ColorOutput::RGBA);
        let mut decoder = options.read_info(File::open(path).expect("gif")).expect("a GIF");
        let mut frames = Vec::new();
        while let Some(f) = decoder.read_next_frame().expect("a frame") {
            frames.push((f.width, f.height, f.delay, f.buffer.to_vec()));
        }
        (decoder.repeat(), frames)
    }

    const ORANGE: [u8; 3] = [0xE6, 0x9F, 0x00];
    const BLUE: [u8; 3] = [0x00, 0x72, 0xB2];

    fn close(p: &[u8], c: [u8; 3]) -> bool {
        p.iter().zip(c).all(|(&x, y)| (x as i32 - y as i32).abs() <= 12)
    }

    #[test]
    fn a_three_frame_gif_decodes_back_with_its_sizes_and_colours() {
        let dir = temp_dir("three");
        let path = dir.join("run.gif");
        let (w, h) = (32u32, 12u32);
        let mut rec = GifRecorder::create(&path, GifOptions { delay_ms: 80, ..Default::default() }).expect("created");
        for k in 0..3 {
            rec.push(w, h, &frame(w, h, k, ORANGE, BLUE)).expect("pushed");
        }
        assert!(!path.exists(), "the GIF appears only when finished");
        assert_eq!(rec.finish().expect("finished"), 3);
        let (repeat, frames) = decode(&path);
        assert_eq!(repeat, gif::Repeat::Infinite);
        assert_eq!(frames.len(), 3);
        for (k, (fw, fh, delay, px)) in frames.iter().enumerate() {
            assert_eq!((*fw as u32, *fh as u32, *delay), (w, h, 8));
            let at = |x: u32, y: u32| &px[((y * w + x) * 4) as usize..((y * w + x) * 4 + 3) as usize];
            assert!(close(at(1, 10), ORANGE) && close(at(30, 10), BLUE), "frame {k}: {:?} {:?}", at(1, 10), at(30, 10));
            assert!(close(at(4 * k as u32 + 1, 3), [255, 255, 255]), "frame {k}: the square moved");
        }
        let names: Vec<_> = std::fs::read_dir(&dir).expect("dir").map(|e| e.expect("entry").file_name()).collect();
        assert_eq!(names, vec![std::ffi::OsString::from("run.gif")], "no temporary file left");
    }

    #[test]
    fn downscaled_frames_average_their_blocks() {
        let dir = temp_dir("small");
        let path = dir.join("small.gif");
        let (w, h) = (32u32, 12u32);
        let mut rec = GifRecorder::create(&path, GifOptions { downscale: 4, ..Default::default() }).expect("created");
        rec.push(w, h, &frame(w, h, 0, ORANGE, BLUE)).expect("pushed");
        assert_eq!(rec.output_size(), Some((8, 3)));
        rec.finish().expect("finished");
        let (_, frames) = decode(&path);
        let (fw, fh, _, px) = &frames[0];
        assert_eq!((*fw, *fh), (8, 3));
        // Block (0, 0) holds the 4 x 4 square's pixels at x 0..4, y 2..6: two of its rows.
        let mut out = Vec::new();
        downscale(4, 4, &frame(4, 4, 0, [0, 0, 0], [0, 0, 0]), 4, &mut out);
        assert_eq!(out, vec![128, 128, 128, 255], "rows 2 and 3 of 4 are white");
        assert!(close(&px[(2 * 8 + 7) * 4..(2 * 8 + 7) * 4 + 3], BLUE));
        // A partial block at the edge is the mean of what it has.
        downscale(3, 1, &[10, 20, 30, 255, 20, 30, 40, 255, 90, 90, 90, 255], 2, &mut out);
        assert_eq!(out, vec![15, 25, 35, 255, 90, 90, 90, 255]);
    }

    #[test]
    fn bad_frames_and_empty_recordings_are_refused_and_leave_nothing() {
        let dir = temp_dir("bad");
        let path = dir.join("bad.gif");
        let mut rec = GifRecorder::create(&path, GifOptions::default()).expect("created");
        let e = rec.push(4, 4, &[0; 10]).unwrap_err();
        assert!(e.to_string().contains("64 bytes"), "{e}");
        rec.push(4, 4, &[0; 64]).expect("pushed");
        let e = rec.push(8, 4, &[0; 128]).unwrap_err();
        assert!(e.to_string().contains("keep the window size"), "{e}");
        drop(rec);
        assert_eq!(std::fs::read_dir(&dir).expect("dir").count(), 0, "dropped unfinished: nothing left");
        let empty = GifRecorder::create(&path, GifOptions::default()).expect("created");
        assert!(empty.finish().unwrap_err().to_string().contains("no frames"));
        assert!(GifRecorder::create(Path::new("/no/such/dir/x.gif"), GifOptions::default()).is_err());
    }

    #[test]
    fn png_frames_are_numbered_and_decode_back_exactly() {
        let dir = temp_dir("png").join("frames");
        let (w, h) = (10u32, 6u32);
        let rgba: Vec<u8> = (0..w * h * 4).map(|i| (i * 7 % 256) as u8).collect();
        let path = write_png_frame(&dir, 42, w, h, &rgba).expect("written");
        assert_eq!(path, dir.join("frame_00042.png"));
        let decoder = png::Decoder::new(File::open(&path).expect("png"));
        let mut reader = decoder.read_info().expect("header");
        let mut buf = vec![0; reader.output_buffer_size()];
        let info = reader.next_frame(&mut buf).expect("pixels");
        assert_eq!((info.width, info.height, info.color_type), (w, h, png::ColorType::Rgba));
        assert_eq!(&buf[..info.buffer_size()], &rgba[..]);
        assert!(write_png_frame(&dir, 1, w, h, &rgba[1..]).is_err());
    }
}
