//! Where recorded frames go: an animated GIF written as the frames come
//! (the `gif` crate; each frame gets its own 256-colour palette), or
//! numbered PNG files in a folder. Both write to temporary names and rename
//! into place, so a cancelled or failed recording leaves no half file under
//! the chosen name. Runs on the recorder thread, never on a frame.

use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};

use bevy::asset::RenderAssetUsages;
use bevy::image::Image;
use bevy::render::render_resource::{Extent3d, TextureDimension, TextureFormat};

use super::recording::RecordFormat;

/// One frame, opaque RGBA, row by row from the top.
pub struct RgbaFrame {
    pub width: u32,
    pub height: u32,
    pub rgba: Vec<u8>,
}

/// Takes frames in order; `finish` says where they went.
pub trait FrameSink: Send {
    fn push(&mut self, frame: RgbaFrame) -> Result<(), String>;
    fn finish(self: Box<Self>) -> Result<String, String>;
    /// Removes what was written so far.
    fn abort(self: Box<Self>);
}

/// The sink for `format` at `path` (a `.gif` file, or a folder for PNGs).
pub fn open_sink(format: RecordFormat, path: &Path, fps: u32) -> Result<Box<dyn FrameSink>, String> {
    let parent = match format {
        RecordFormat::Gif => path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new(".")),
        RecordFormat::PngFrames => path,
    };
    std::fs::create_dir_all(parent).map_err(|e| format!("cannot create the folder {}: {e}", parent.display()))?;
    Ok(match format {
        RecordFormat::Gif => Box::new(GifSink::create(path, fps)?),
        RecordFormat::PngFrames => Box::new(PngSink { folder: path.to_path_buf(), written: Vec::new() }),
    })
}

/// GIF frame delay in hundredths of a second for `fps` (2 to 100 cs: most
/// viewers play faster frames at 10 cs).
pub fn gif_delay(fps: u32) -> u16 {
    (100.0 / fps.max(1) as f64).round().clamp(2.0, 100.0) as u16
}

fn shown(path: &Path) -> String {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf()).display().to_string()
}

struct GifSink {
    path: PathBuf,
    temp: PathBuf,
    delay: u16,
    encoder: Option<gif::Encoder<BufWriter<File>>>,
    frames: usize,
}

impl GifSink {
    fn create(path: &Path, fps: u32) -> Result<Self, String> {
        let name = path.file_name().map_or_else(|| "recording.gif".into(), |n| n.to_string_lossy().into_owned());
        let temp = path.with_file_name(format!(".{name}.{}.tmp", std::process::id()));
        Ok(Self { path: path.to_path_buf(), temp, delay: gif_delay(fps), encoder: None, frames: 0 })
    }

    fn error(&self, e: impl std::fmt::Display) -> String {
        format!("cannot write {}: {e}", self.path.display())
    }
}

impl FrameSink for GifSink {
    fn push(&mut self, mut frame: RgbaFrame) -> Result<(), String> {
        let (Ok(w), Ok(h)) = (u16::try_from(frame.width), u16::try_from(frame.height)) else {
            return Err(self.error("frames larger than 65535 pixels do not fit a GIF"));
        };
        if self.encoder.is_none() {
            let file = File::create(&self.temp).map_err(|e| self.error(e))?;
            let mut encoder = gif::Encoder::new(BufWriter::new(file), w, h, &[]).map_err(|e| self.error(e))?;
            encoder.set_repeat(gif::Repeat::Infinite).map_err(|e| self.error(e))?;
            self.encoder = Some(encoder);
        }
        let mut out = gif::Frame::from_rgba_speed(w, h, &mut frame.rgba, 20);
        out.delay = self.delay;
        let result = self.encoder.as_mut().map(|e| e.write_frame(&out));
        if let Some(Err(e)) = result {
            return Err(self.error(e));
        }
        self.frames += 1;
        Ok(())
    }

    fn finish(mut self: Box<Self>) -> Result<String, String> {
        let Some(encoder) = self.encoder.take() else { return Err(self.error("no frame was recorded")) };
        let writer = encoder.into_inner().map_err(|e| self.error(e))?;
        let file = writer.into_inner().map_err(|e| self.error(e.into_error()))?;
        file.sync_all().map_err(|e| self.error(e))?;
        std::fs::rename(&self.temp, &self.path).map_err(|e| self.error(e))?;
        Ok(format!("recorded {} frames to {}", self.frames, shown(&self.path)))
    }

    fn abort(mut self: Box<Self>) {
        drop(self.encoder.take());
        let _ = std::fs::remove_file(&self.temp);
    }
}

struct PngSink {
    folder: PathBuf,
    written: Vec<PathBuf>,
}

/// `frame-0000.png`, `frame-0001.png`, ...
pub fn frame_name(index: usize) -> String {
    format!("frame-{index:04}.png")
}

impl FrameSink for PngSink {
    fn push(&mut self, frame: RgbaFrame) -> Result<(), String> {
        let path = self.folder.join(frame_name(self.written.len()));
        let error = |e: &dyn std::fmt::Display| format!("cannot write {}: {e}", path.display());
        let image = Image::new(
            Extent3d { width: frame.width, height: frame.height, depth_or_array_layers: 1 },
            TextureDimension::D2,
            frame.rgba,
            TextureFormat::Rgba8UnormSrgb,
            RenderAssetUsages::default(),
        );
        let rgb = image.try_into_dynamic().map_err(|e| error(&e))?.to_rgb8();
        // The temporary name keeps the extension that names the format.
        let temp = self.folder.join(format!(".{}.tmp.png", frame_name(self.written.len())));
        rgb.save(&temp).map_err(|e| error(&e))?;
        std::fs::rename(&temp, &path).map_err(|e| error(&e))?;
        self.written.push(path);
        Ok(())
    }

    fn finish(self: Box<Self>) -> Result<String, String> {
        match self.written.len() {
            0 => Err(format!("no frame was recorded to {}", self.folder.display())),
            n => Ok(format!("recorded {n} PNG frames ({} ...) to {}", frame_name(0), shown(&self.folder))),
        }
    }

    fn abort(self: Box<Self>) {
        for path in &self.written {
            let _ = std::fs::remove_file(path);
        }
        let _ = std::fs::remove_dir(&self.folder);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(shade: u8) -> RgbaFrame {
        RgbaFrame { width: 6, height: 4, rgba: [shade, 100, 200, 255].repeat(24) }
    }

    fn temp_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("sdflow-frames-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("dir");
        dir
    }

    #[test]
    fn a_gif_holds_every_frame_and_loops() {
        let dir = temp_dir("gif");
        let path = dir.join("out.gif");
        let mut sink = open_sink(RecordFormat::Gif, &path, 20).expect("sink");
        for shade in [0, 120, 250] {
            sink.push(frame(shade)).expect("frame");
        }
        let message = sink.finish().expect("finished");
        assert!(message.contains("3 frames") && message.contains("out.gif"), "{message}");
        let mut options = gif::DecodeOptions::new();
        options.set_color_output(gif::ColorOutput::RGBA);
        let mut decoder = options.read_info(File::open(&path).expect("open")).expect("a GIF");
        assert_eq!((decoder.width(), decoder.height()), (6, 4));
        let mut count = 0;
        while let Some(f) = decoder.read_next_frame().expect("a frame") {
            assert_eq!(f.delay, 5);
            count += 1;
        }
        assert_eq!(count, 3);
        assert_eq!(decoder.repeat(), gif::Repeat::Infinite);
        let names: Vec<_> = std::fs::read_dir(&dir).expect("dir").map(|e| e.expect("entry").file_name()).collect();
        assert_eq!(names, vec![std::ffi::OsString::from("out.gif")], "no temporary file left");
    }

    #[test]
    fn a_cancelled_gif_leaves_nothing() {
        let dir = temp_dir("abort");
        let mut sink = open_sink(RecordFormat::Gif, &dir.join("x.gif"), 15).expect("sink");
        sink.push(frame(1)).expect("frame");
        sink.abort();
        assert_eq!(std::fs::read_dir(&dir).expect("dir").count(), 0);
        assert!(open_sink(RecordFormat::Gif, &dir.join("y.gif"), 15).expect("sink").finish().is_err());
    }

    #[test]
    fn png_frames_are_numbered() {
        let dir = temp_dir("png").join("frames");
        let mut sink = open_sink(RecordFormat::PngFrames, &dir, 15).expect("sink");
        sink.push(frame(10)).expect("frame");
        sink.push(frame(20)).expect("frame");
        let message = sink.finish().expect("finished");
        assert!(message.starts_with("recorded 2 PNG frames"), "{message}");
        let mut names: Vec<_> = std::fs::read_dir(&dir).expect("dir").map(|e| e.expect("entry").file_name()).collect();
        names.sort();
        assert_eq!(names, vec![std::ffi::OsString::from("frame-0000.png"), "frame-0001.png".into()]);
        let bytes = std::fs::read(dir.join("frame-0001.png")).expect("read");
        assert_eq!(&bytes[1..4], b"PNG");
    }

    #[test]
    fn delays_are_in_hundredths() {
        assert_eq!(gif_delay(15), 7);
        assert_eq!(gif_delay(100), 2);
        assert_eq!(gif_delay(0), 100);
    }
}
