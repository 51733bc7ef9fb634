//! Sharing from the window, without the window: [`ShareRequest`]s (save
//! the scene, export every run, open a CSV cloud) turned into file jobs on
//! Bevy's IO task pool, and their outcomes in [`ShareLog`] for the status
//! line.

use std::path::{Path, PathBuf};

use bevy::ecs::system::SystemParam;
use bevy::prelude::*;
use bevy::tasks::{IoTaskPool, Task, futures::check_ready};

use super::files::{RunExport, export_runs, moving_dim, scene_to_save, scene_with_csv};
use crate::app::run::{
    ActiveScene, Draft, Focused, MovingPositions, RunCurves, RunProgress, SceneErrors, SceneRequest, ViewSlot,
};
use crate::app::schedule::AppSet;
use crate::scene::SceneCloud;

/// How long a notice stays in the status line.
pub const NOTICE_SECONDS: f64 = 8.0;

/// What the Share section (or a test) asks for.
#[derive(Message, Debug, Clone, PartialEq)]
pub enum ShareRequest {
    /// Save the focused run's edited scene (with its seed) to this file.
    SaveScene(PathBuf),
    /// Write every run's moving points and metric history into this folder.
    Export { folder: PathBuf },
    /// Replace the focused run's target or source cloud with this CSV and restart.
    OpenCsv { path: PathBuf, role: SceneCloud },
}

/// What a picked or dropped file opens as.
#[derive(Debug, Clone, PartialEq)]
pub enum Opened {
    Scene(SceneRequest),
    Share(ShareRequest),
}

/// A `.ron` file opens as a scene, a `.csv` file replaces the `role` cloud
/// of the focused run; anything else is refused with what to open instead.
pub fn open_request(path: &Path, role: SceneCloud) -> Result<Opened, String> {
    match path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase).as_deref() {
        Some("ron") => Ok(Opened::Scene(SceneRequest::Open(path.to_path_buf()))),
        Some("csv") => Ok(Opened::Share(ShareRequest::OpenCsv { path: path.to_path_buf(), role })),
        _ => Err(format!(
            "{}: not a scene or a point cloud; open a .ron scene, or a .csv file with one point per line",
            path.display()
        )),
    }
}

/// The last outcome of a share job, for the status line.
#[derive(Resource, Debug, Default)]
pub struct ShareLog {
    /// (message, real time in seconds, whether it is an error)
    pub last: Option<(String, f64, bool)>,
    /// Every outcome so far (tests read it).
    pub count: usize,
    /// The last save or export outcome, kept for the Share section.
    pub files: Option<(String, bool)>,
}

impl ShareLog {
    pub fn say(&mut self, message: String, now: f64, error: bool) {
        if error {
            warn!("{message}");
        } else {
            info!("{message}");
        }
        self.last = Some((message, now, error));
        self.count += 1;
    }

    /// The message to show now (errors stay twice as long).
    pub fn notice(&self, now: f64) -> Option<(&str, bool)> {
        self.last
            .as_ref()
            .filter(|(_, at, e)| now - at < NOTICE_SECONDS * if *e { 2.0 } else { 1.0 })
            .map(|(m, _, e)| (m.as_str(), *e))
    }
}

/// File jobs under way on the IO pool.
#[derive(Resource, Default)]
pub struct ShareJobs(Vec<Task<Result<String, String>>>);

impl ShareJobs {
    pub fn busy(&self) -> bool {
        !self.0.is_empty()
    }
}

pub struct SharePlugin;

impl Plugin for SharePlugin {
    fn build(&self, app: &mut App) {
        app.add_message::<ShareRequest>()
            .init_resource::<ShareLog>()
            .init_resource::<ShareJobs>()
            .add_systems(Update, (handle_share_requests, poll_share_jobs).chain().in_set(AppSet::Requests));
    }
}

/// A run's parts an export writes.
type ExportedRun =
    (&'static ViewSlot, &'static ActiveScene, &'static RunProgress, &'static RunCurves, &'static MovingPositions);

/// The runs a share request reads: the focused one (its scene and the
/// edits to it) and every run (what an export writes).
#[derive(SystemParam)]
struct ShareRuns<'w, 's> {
    focused: Query<'w, 's, (&'static ActiveScene, &'static Draft), With<Focused>>,
    all: Query<'w, 's, ExportedRun>,
}

fn handle_share_requests(
    mut requests: MessageReader<ShareRequest>,
    runs: ShareRuns,
    mut jobs: ResMut<ShareJobs>,
    mut log: ResMut<ShareLog>,
    mut scenes: MessageWriter<SceneRequest>,
    mut errors: ResMut<SceneErrors>,
    time: Res<Time<Real>>,
) {
    let ShareRuns { focused, all: runs } = runs;
    let now = time.elapsed_secs_f64();
    for request in requests.read() {
        match request {
            ShareRequest::SaveScene(path) => {
                let Some(scene) = focused.single().ok().and_then(|(a, d)| scene_to_save(a, d)) else {
                    log.say("no scene to save yet".into(), now, true);
                    continue;
                };
                // A file that would not load back is not written.
                if let Some((_, problem)) = scene.problems().into_iter().next() {
                    let message = format!("not saved: {problem}");
                    log.files = Some((message.clone(), true));
                    log.say(message, now, true);
                    continue;
                }
                let path = path.clone();
                jobs.0.push(IoTaskPool::get().spawn(async move {
                    crate::scene::save_scene(&path, &scene).map_err(|e| e.to_string())?;
                    let shown = std::path::absolute(&path).unwrap_or(path);
                    Ok(format!("saved the scene \"{}\" (seed {}) to {}", scene.name, scene.seed, shown.display()))
                }));
            }
            ShareRequest::Export { folder } => {
                let mut data: Vec<RunExport> = runs
                    .iter()
                    .filter_map(|(slot, active, progress, curves, moving)| {
                        let scene = active.scene()?;
                        Some(RunExport {
                            slot: slot.0,
                            scene_name: scene.name.clone(),
                            step: progress.step_index,
                            positions: moving.positions.clone(),
                            dim: moving_dim(scene),
                            history: curves.history.clone(),
                            divergences: curves.divergences.clone(),
                        })
                    })
                    .collect();
                if data.is_empty() {
                    log.say("nothing to export yet: no run has started".into(), now, true);
                    continue;
                }
                data.sort_by_key(|r| r.slot);
                let folder = folder.clone();
                jobs.0.push(IoTaskPool::get().spawn(async move { export_runs(&folder, &data) }));
            }
            ShareRequest::OpenCsv { path, role } => {
                let Ok((active, draft)) = focused.single() else { continue };
                let (Some(file), Some(scene)) = (&active.file, draft.scene.as_ref().or(active.scene())) else {
                    continue;
                };
                match scene_with_csv(scene, path, *role) {
                    Ok(scene) => {
                        log.say(format!("opening {} as the {} cloud", path.display(), role.name()), now, false);
                        scenes.write(SceneRequest::Scene { path: file.path.clone(), scene: Box::new(scene) });
                    }
                    Err(e) => errors.set(None, e),
                }
            }
        }
    }
}

fn poll_share_jobs(mut jobs: ResMut<ShareJobs>, mut log: ResMut<ShareLog>, time: Res<Time<Real>>) {
    if jobs.0.is_empty() {
        return;
    }
    let now = time.elapsed_secs_f64();
    jobs.0.retain_mut(|task| match check_ready(task) {
        Some(Ok(message)) => {
            log.files = Some((message.clone(), false));
            log.say(message, now, false);
            false
        }
        Some(Err(e)) => {
            log.files = Some((e.clone(), true));
            log.say(e, now, true);
            false
        }
        None => true,
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_open_by_their_extension() {
        let scene = open_request(Path::new("a/b.RON"), SceneCloud::Source).expect("a scene");
        assert_eq!(scene, Opened::Scene(SceneRequest::Open("a/b.RON".into())));
        let csv = open_request(Path::new("pts.csv"), SceneCloud::Source).expect("a cloud");
        assert_eq!(csv, Opened::Share(ShareRequest::OpenCsv { path: "pts.csv".into(), role: SceneCloud::Source }));
        let e = open_request(Path::new("notes.txt"), SceneCloud::Target).unwrap_err();
        assert!(e.starts_with("notes.txt: not a scene") && e.contains(".csv"), "{e}");
    }
}
