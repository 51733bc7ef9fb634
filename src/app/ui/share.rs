//! The Share section (save the scene, export CSV, record a GIF or PNG
//! frames), the "Open file..." control of the Scene section, and the file
//! dialog inside the window (egui-file-dialog) that serves them all.
//!
//! While the dialog is open the app's shortcuts are off
//! ([`KeyboardCapture::dialog_open`]): the dialog has keys of its own
//! (arrows, Enter, Esc, typing a path).

use std::path::{Path, PathBuf};

use bevy::ecs::system::SystemParam;
use bevy::prelude::*;
use bevy_egui::EguiContexts;
use bevy_egui::egui::{self, RichText};
use egui_file_dialog::FileDialog;

use super::style::{BAD, WARN};
use crate::app::controls::KeyboardCapture;
use crate::app::run::{ActiveScene, Focused, PRESET_DIR, Playback, SceneErrors, SceneRequest};
use crate::app::tools::capture::{
    RECORDING_DIR, RecordFormat, RecordRequest, RecordSettings, Recording, next_recording_path,
};
use crate::app::tools::share::{EXPORT_DIR, Opened, ShareJobs, ShareLog, ShareRequest, open_request, slug};
use crate::scene::SceneCloud;

/// What the file dialog was opened for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DialogPurpose {
    /// A scene (.ron) or a cloud (.csv) to open.
    Open,
    /// Where to save the focused run's scene.
    SaveScene,
    /// A folder for the CSV exports (exported at once).
    ExportTo,
    /// Where to record (a .gif file, or a folder for PNG frames).
    RecordTo,
}

/// The Share section's settings.
#[derive(Resource, Debug)]
pub struct ShareUi {
    pub export_folder: PathBuf,
    pub record: RecordSettings,
    /// Which cloud a CSV opened from the dialog replaces.
    pub csv_role: SceneCloud,
    /// A dialog the panels asked for this frame.
    pub dialog_request: Option<DialogPurpose>,
}

impl Default for ShareUi {
    fn default() -> Self {
        Self {
            export_folder: EXPORT_DIR.into(),
            record: RecordSettings::default(),
            csv_role: SceneCloud::Target,
            dialog_request: None,
        }
    }
}

/// What the Share panel (and the "Open file..." control) reads and sends.
#[derive(SystemParam)]
pub struct SharePanel<'w> {
    ui: ResMut<'w, ShareUi>,
    log: Res<'w, ShareLog>,
    jobs: Res<'w, ShareJobs>,
    recording: Res<'w, Recording>,
    playback: Res<'w, Playback>,
    requests: MessageWriter<'w, ShareRequest>,
    record: MessageWriter<'w, RecordRequest>,
}

/// What the Share section asks for.
#[derive(Clone, Debug, PartialEq)]
pub enum ShareAction {
    Share(ShareRequest),
    Record(RecordRequest),
}

impl SharePanel<'_> {
    /// "Open file..." for the focused run (`has_source`: its scene has a
    /// source cloud a CSV could replace).
    pub fn show_open(&mut self, ui: &mut egui::Ui, has_source: bool) {
        open_ui(ui, &mut self.ui, has_source);
    }

    /// The Share section; `scene_name` names the recordings.
    pub fn show(&mut self, ui: &mut egui::Ui, scene_name: &str) {
        let playing = self.playback.playing;
        match share_ui(ui, &mut self.ui, &self.log, &self.jobs, &self.recording, playing, scene_name) {
            Some(ShareAction::Share(request)) => {
                self.requests.write(request);
            }
            Some(ShareAction::Record(request)) => {
                self.record.write(request);
            }
            None => {}
        }
    }
}

/// The open dialog and what it is for.
#[derive(Resource, Default)]
pub struct FileDialogs {
    open: Option<(FileDialog, DialogPurpose)>,
    open_last_frame: bool,
    /// Folder of the last file picked, where the next dialog starts.
    last_folder: Option<PathBuf>,
}

pub struct ShareUiPlugin;

impl Plugin for ShareUiPlugin {
    fn build(&self, app: &mut App) {
        app.init_resource::<ShareUi>()
            .init_resource::<FileDialogs>()
            .init_resource::<Recording>()
            .add_message::<RecordRequest>();
    }
}

/// "Open file..." under the typed path: a scene replaces the run, a CSV
/// replaces the chosen cloud (edited in `share`, as is the dialog asked for).
pub fn open_ui(ui: &mut egui::Ui, share: &mut ShareUi, has_source: bool) {
    if !has_source && share.csv_role == SceneCloud::Source {
        share.csv_role = SceneCloud::Target;
    }
    ui.horizontal(|ui| {
        if ui
            .button("Open file...")
            .on_hover_text(
                "pick a scene (.ron) or a point cloud (.csv) in a file dialog; files can also be dropped on the window",
            )
            .clicked()
        {
            share.dialog_request = Some(DialogPurpose::Open);
        }
        ui.label(RichText::new("a CSV replaces the").weak());
    });
    ui.horizontal(|ui| {
        ui.radio_value(&mut share.csv_role, SceneCloud::Target, "target cloud")
            .on_hover_text("the CSV's points become the target cloud; the run restarts");
        let source = ui
            .add_enabled(has_source, egui::RadioButton::new(share.csv_role == SceneCloud::Source, "source cloud"))
            .on_hover_text("the CSV's points become the source cloud; the run restarts")
            .on_disabled_hover_text("this scene has no source cloud (a generator moves its own samples)");
        if source.clicked() {
            share.csv_role = SceneCloud::Source;
        }
    });
}

/// The Share section: save, export and record (settings and the dialog
/// asked for are edited in `share`); returns the request clicked.
pub fn share_ui(
    ui: &mut egui::Ui,
    share: &mut ShareUi,
    log: &ShareLog,
    jobs: &ShareJobs,
    recording: &Recording,
    playing: bool,
    scene_name: &str,
) -> Option<ShareAction> {
    let mut action = None;
    let busy = jobs.busy();
    ui.horizontal(|ui| {
        if ui
            .button("Save scene as...")
            .on_hover_text(
                "write the selected run's settings as they are edited here (with its seed) to a .ron scene file; \
                 opening it gives the same run",
            )
            .clicked()
        {
            share.dialog_request = Some(DialogPurpose::SaveScene);
        }
    });
    ui.separator();
    ui.label(RichText::new("Export CSV: each run's moving points and metric history").weak());
    ui.horizontal(|ui| {
        let folder = share.export_folder.clone();
        if ui
            .add_enabled(!busy, egui::Button::new("Export"))
            .on_hover_text(format!(
                "<scene>-view<n>-step<k>-points.csv and <scene>-view<n>-history.csv into {}",
                folder.display()
            ))
            .clicked()
        {
            action = Some(ShareAction::Share(ShareRequest::Export { folder }));
        }
        if ui.add_enabled(!busy, egui::Button::new("Export to...")).on_hover_text("choose the folder").clicked() {
            share.dialog_request = Some(DialogPurpose::ExportTo);
        }
        ui.add(egui::Label::new(RichText::new(share.export_folder.display().to_string()).weak()).truncate());
    });
    if let Some((message, error)) = &log.files {
        let text = RichText::new(message).small();
        ui.add(egui::Label::new(if *error { text.color(BAD) } else { text.weak() }).wrap());
    }
    ui.separator();
    action.or(recording_ui(ui, share, recording, playing, scene_name))
}

/// A recording's progress with its cancel button, or the record settings
/// (edited in `share`) and buttons.
fn recording_ui(
    ui: &mut egui::Ui,
    share: &mut ShareUi,
    recording: &Recording,
    playing: bool,
    scene_name: &str,
) -> Option<ShareAction> {
    if let Some(progress) = recording.progress() {
        ui.label(format!("Recording {} to", progress.format.name()));
        ui.add(egui::Label::new(RichText::new(progress.path.display().to_string()).weak()).truncate());
        let text = if progress.captured < progress.frames {
            format!("frame {} of {} captured, {} encoded", progress.captured, progress.frames, progress.encoded)
        } else {
            format!("encoding: {} of {} frames", progress.encoded, progress.frames)
        };
        ui.add(egui::ProgressBar::new(progress.fraction).text(text));
        if !playing && progress.captured < progress.frames {
            ui.colored_label(WARN, "Paused: press Play to go on recording.");
        }
        if ui.button("Cancel").on_hover_text("stop now; nothing is written").clicked() {
            return Some(ShareAction::Record(RecordRequest::Cancel));
        }
        return None;
    }
    let mut action = None;
    let settings = &mut share.record;
    ui.horizontal(|ui| {
        ui.label("Record");
        ui.radio_value(&mut settings.format, RecordFormat::Gif, "GIF").on_hover_text("one looping animated GIF");
        ui.radio_value(&mut settings.format, RecordFormat::PngFrames, "PNG frames")
            .on_hover_text("frame_00000.png, frame_00001.png, ... in a folder (for video tools)");
    });
    ui.horizontal(|ui| {
        ui.label("steps");
        ui.add(egui::DragValue::new(&mut settings.steps).range(1..=5000).speed(1))
            .on_hover_text("one frame per step, the current state first");
        if settings.format == RecordFormat::Gif {
            ui.label("fps");
            ui.add(egui::DragValue::new(&mut settings.fps).range(1..=50).speed(0.2))
                .on_hover_text("frames per second when the GIF plays");
        }
    });
    ui.checkbox(&mut settings.crop_to_view, "only the 3-D view (no panels)")
        .on_hover_text("crop each frame to the view area between the panels (all views in compare mode)");
    ui.horizontal(|ui| {
        // The free file name probes the disk: only for the tooltip and the
        // click, not every frame.
        let name = scene_name;
        let format = share.record.format;
        let next_path = || next_recording_path(Path::new(RECORDING_DIR), name, format);
        let steps = share.record.steps;
        let button = ui.button("Record").on_hover_ui(|ui| {
            ui.label(format!("record the next {steps} steps to {}", next_path().display()));
        });
        if button.clicked() {
            action =
                Some(ShareAction::Record(RecordRequest::Start { settings: share.record.clone(), path: next_path() }));
        }
        if ui.button("Record to...").on_hover_text("choose where the recording goes").clicked() {
            share.dialog_request = Some(DialogPurpose::RecordTo);
        }
    });
    if let Some((message, error)) = &recording.last {
        let text = RichText::new(message).small();
        ui.add(egui::Label::new(if *error { text.color(BAD) } else { text.weak() }).wrap());
    }
    action
}

/// The status line's part: a recording's progress in a few words, or for a
/// few seconds where a saved file went (the whole line, cut to fit, with the
/// full text on hover).
pub fn status_notice_ui(ui: &mut egui::Ui, recording: &Recording, log: &ShareLog, now: f64) {
    if let Some(r) = recording.progress() {
        ui.label(RichText::new(format!("recording {} / {} frames", r.encoded, r.frames)).color(WARN))
            .on_hover_text(format!("{} to {}", r.format.name(), r.path.display()));
        ui.separator();
    } else if let Some((message, error)) = log.notice(now) {
        ui.add(egui::Label::new(RichText::new(message).color(if error { BAD } else { WARN })).truncate())
            .on_hover_text(message);
        ui.separator();
    }
}

/// The dialog for `purpose`, starting in `folder`.
fn dialog_for(purpose: DialogPurpose, folder: PathBuf, scene_name: &str, format: RecordFormat) -> FileDialog {
    let dialog = FileDialog::new()
        .initial_directory(folder)
        .default_size([720.0, 460.0])
        .anchor(egui::Align2::CENTER_CENTER, [0.0, 0.0]);
    match purpose {
        DialogPurpose::Open => dialog
            .title("Open a scene (.ron) or a point cloud (.csv)")
            .add_file_filter_extensions("Scenes, clouds", vec!["ron", "csv"])
            .add_file_filter_extensions("Scenes (.ron)", vec!["ron"])
            .add_file_filter_extensions("Clouds (.csv)", vec!["csv"])
            .default_file_filter("Scenes, clouds"),
        DialogPurpose::SaveScene => dialog
            .title("Save the scene as")
            .default_file_name(&format!("{}.ron", slug(scene_name)))
            .add_save_extension("Scene", "ron")
            .default_save_extension("Scene"),
        DialogPurpose::ExportTo => dialog.title("Export the CSV files into this folder"),
        DialogPurpose::RecordTo => match format {
            RecordFormat::Gif => dialog
                .title("Record the GIF to")
                .default_file_name(&format!("{}.gif", slug(scene_name)))
                .add_save_extension("Animated GIF", "gif")
                .default_save_extension("Animated GIF"),
            RecordFormat::PngFrames => dialog.title("Record PNG frames into this folder"),
        },
    }
}

/// What the file dialog reads, changes and sends.
#[derive(SystemParam)]
pub struct DialogParams<'w, 's> {
    dialogs: ResMut<'w, FileDialogs>,
    share: ResMut<'w, ShareUi>,
    capture: ResMut<'w, KeyboardCapture>,
    focused: Query<'w, 's, &'static ActiveScene, With<Focused>>,
    share_requests: MessageWriter<'w, ShareRequest>,
    scene_requests: MessageWriter<'w, SceneRequest>,
    record: MessageWriter<'w, RecordRequest>,
    errors: ResMut<'w, SceneErrors>,
}

/// Opens the dialog the panels asked for, draws it, and carries out the
/// pick; keeps the shortcuts off while it is open (and one frame after,
/// as egui reports a frame late).
pub fn file_dialog_system(mut contexts: EguiContexts, dialog: DialogParams) -> Result {
    let DialogParams {
        mut dialogs,
        mut share,
        mut capture,
        focused,
        mut share_requests,
        mut scene_requests,
        mut record,
        mut errors,
    } = dialog;
    let scene_name = focused.single().ok().and_then(|a| a.scene()).map_or("scene", |s| s.name.as_str()).to_string();
    if let Some(purpose) = share.dialog_request.take()
        && dialogs.open.is_none()
    {
        let folder = match purpose {
            DialogPurpose::ExportTo => Some(share.export_folder.clone()).filter(|f| f.is_dir()),
            DialogPurpose::RecordTo => Some(PathBuf::from(RECORDING_DIR)).filter(|f| f.is_dir()),
            _ => None,
        }
        .or_else(|| dialogs.last_folder.clone())
        .or_else(|| Some(PathBuf::from(PRESET_DIR)).filter(|f| f.is_dir()))
        .unwrap_or_else(|| ".".into());
        let folder = std::path::absolute(&folder).unwrap_or(folder);
        let mut dialog = dialog_for(purpose, folder, &scene_name, share.record.format);
        match purpose {
            DialogPurpose::Open => dialog.pick_file(),
            DialogPurpose::SaveScene => dialog.save_file(),
            DialogPurpose::ExportTo => dialog.pick_directory(),
            DialogPurpose::RecordTo => match share.record.format {
                RecordFormat::Gif => dialog.save_file(),
                RecordFormat::PngFrames => dialog.pick_directory(),
            },
        }
        dialogs.open = Some((dialog, purpose));
    }
    let ctx = contexts.ctx_mut()?;
    if let Some((dialog, purpose)) = dialogs.open.as_mut() {
        let purpose = *purpose;
        dialog.update(ctx);
        let picked = dialog.take_picked();
        let closed = !matches!(dialog.state(), egui_file_dialog::DialogState::Open);
        if let Some(path) = picked {
            dialogs.last_folder = if path.is_dir() { Some(path.clone()) } else { path.parent().map(Path::to_path_buf) };
            match purpose {
                DialogPurpose::Open => match open_request(&path, share.csv_role) {
                    Ok(Opened::Scene(request)) => {
                        scene_requests.write(request);
                    }
                    Ok(Opened::Share(request)) => {
                        share_requests.write(request);
                    }
                    Err(e) => errors.set(None, e),
                },
                DialogPurpose::SaveScene => {
                    share_requests.write(ShareRequest::SaveScene(path));
                }
                DialogPurpose::ExportTo => {
                    share.export_folder = path.clone();
                    share_requests.write(ShareRequest::Export { folder: path });
                }
                DialogPurpose::RecordTo => {
                    // A folder picked for PNG frames gets a fresh subfolder.
                    let path = match share.record.format {
                        RecordFormat::Gif => path,
                        RecordFormat::PngFrames => next_recording_path(&path, &scene_name, RecordFormat::PngFrames),
                    };
                    record.write(RecordRequest::Start { settings: share.record.clone(), path });
                }
            }
        }
        if closed {
            dialogs.open = None;
        }
    }
    let open = dialogs.open.is_some();
    let keep = open || dialogs.open_last_frame;
    dialogs.open_last_frame = open;
    if capture.dialog_open != keep {
        capture.dialog_open = keep;
    }
    Ok(())
}
