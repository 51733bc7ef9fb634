//! Where captured frames go: an animated GIF written as the frames come, or
//! numbered PNG files in a folder, through [`crate::export::recording`]
//! (temporary names renamed into place, so a cancelled or failed recording
//! leaves no half file under the chosen name). Runs on the recorder thread,
//! never on a frame; knows nothing of the app.

use std::path::{Path, PathBuf};

use crate::export::{GifOptions, GifRecorder, write_png_frame};

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
        RecordFormat::Gif => {
            // A faster quantiser than the default: the scenes have few colours.
            let options = GifOptions { delay_ms: gif_delay_ms(fps), downscale: 1, speed: 20 };
            let recorder = GifRecorder::create(path, options).map_err(|e| e.to_string())?;
            Box::new(GifSink { path: path.to_path_buf(), recorder })
        }
        RecordFormat::PngFrames => Box::new(PngSink { folder: path.to_path_buf(), written: Vec::new() }),
    })
}

/// Milliseconds per GIF frame for `fps` (GIF stores hundredths: 20 ms to 1 s).
pub fn gif_delay_ms(fps: u32) -> u32 {
    (1000 / fps.max(1)).clamp(20, 1000)
}

fn shown(path: &Path) -> String {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf()).display().to_string()
}

struct GifSink {
    path: PathBuf,
    recorder: GifRecorder,
}

impl FrameSink for GifSink {
    fn push(&mut self, frame: RgbaFrame) -> Result<(), String> {
        self.recorder.push(frame.width, frame.height, &frame.rgba).map_err(|e| e.to_string())
    }

    fn finish(self: Box<Self>) -> Result<String, String> {
        let path = self.path.clone();
        let frames = self.recorder.finish().map_err(|e| e.to_string())?;
        Ok(format!("recorded {frames} frames to {}", shown(&path)))
    }

    fn abort(self: Box<Self>) {
        // An unfinished recorder removes its temporary file when dropped.
        drop(self);
    }
}

struct PngSink {
    folder: PathBuf,
    written: Vec<PathBuf>,
}

impl FrameSink for PngSink {
    fn push(&mut self, frame: RgbaFrame) -> Result<(), String> {
        let path = write_png_frame(&self.folder, self.written.len(), frame.width, frame.height, &frame.rgba)
            .map_err(|e| e.to_string())?;
        self.written.push(path);
        Ok(())
    }

    fn finish(self: Box<Self>) -> Result<String, String> {
        match self.written.first() {
            None => Err(format!("no frame was recorded to {}", self.folder.display())),
            Some(first) => Ok(format!(
                "recorded {} PNG frames ({} ...) to {}",
                self.written.len(),
                first.file_name().map(|n| n.to_string_lossy()).unwrap_or_default(),
                shown(&self.folder)
            )),
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
    use std::fs::File;

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
        assert_eq!(names, vec![std::ffi::OsString::from("frame_00000.png"), "frame_00001.png".into()]);
        let bytes = std::fs::read(dir.join("frame_00001.png")).expect("read");
        assert_eq!(&bytes[1..4], b"PNG");
    }

    #[test]
    fn delays_follow_the_frame_rate() {
        assert_eq!(gif_delay_ms(15), 66);
        assert_eq!(gif_delay_ms(100), 20);
        assert_eq!(gif_delay_ms(0), 1000);
    }
}
