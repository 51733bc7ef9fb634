//! Loading scenes: from the command line, the preset list, a path typed in
//! the panel, a file dropped on the window, or the current file changed on
//! disk (its modification time is polled twice a second: simple and robust).
//!
//! A scene that fails (syntax, values, a missing CSV) is recorded in
//! [`SceneErrors`] with its full `file:line:col: message` text, and the
//! running scene is left untouched.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use bevy::prelude::*;

use super::link::{FlowWorker, RunLink};
use super::markers::Focused;
use super::requests::{InitialCompare, InitialScene, LoadInto, RunRequest, SceneRequest};
use super::status::{RunCurves, RunGenerator, RunProgress};
use crate::app::schedule::AppSet;
use crate::engine::FlowSettings;
use crate::scene::{Scene, SceneFile};

/// Folder the preset list is read from.
pub const PRESET_DIR: &str = "scenes";

/// The scene a run is running.
#[derive(Component, Default, Debug)]
pub struct ActiveScene {
    pub file: Option<SceneFile>,
    /// Seed of the running clouds and flow.
    pub seed: u64,
    /// Modification time of the file when it was loaded; None when it is
    /// not a file on disk (built in, test text).
    pub modified: Option<SystemTime>,
}

impl ActiveScene {
    /// The running scene's values (as started: direction, points, seed).
    pub fn scene(&self) -> Option<&Scene> {
        self.file.as_ref().map(|f| &f.scene)
    }
}

/// A run's scene as edited in the panel. Flow settings reach the running
/// simulation at once when valid; the rest needs a restart.
#[derive(Component, Default, Debug)]
pub struct Draft {
    pub scene: Option<Scene>,
    /// Settings last sent to the worker.
    pub applied: Option<FlowSettings>,
    /// What is wrong with the edited values (nothing is sent while non-empty).
    pub problems: Vec<String>,
}

impl Draft {
    /// True when the edit changes something only a restart can apply.
    pub fn needs_restart(&self, active: &ActiveScene) -> bool {
        match (&self.scene, active.scene()) {
            (Some(d), Some(a)) => {
                d.direction != a.direction
                    || d.seed != active.seed
                    || d.target.points() != a.target.points()
                    || d.source.as_ref().and_then(|s| s.points()) != a.source.as_ref().and_then(|s| s.points())
            }
            _ => false,
        }
    }
}

/// Scenes that could not be loaded: one error per run (its load failed;
/// its previous scene keeps running) and one for the window as a whole (a
/// lesson or a file that names no run). Each is shown until that run loads
/// a scene, the run closes, or the viewer dismisses it.
#[derive(Resource, Default, Debug)]
pub struct SceneErrors {
    entries: Vec<(Option<Entity>, String)>,
}

impl SceneErrors {
    /// Records the error of `run` (None: of no run), replacing its last one.
    pub fn set(&mut self, run: Option<Entity>, text: impl Into<String>) {
        let text = text.into();
        match self.entries.iter_mut().find(|(r, _)| *r == run) {
            Some(entry) => entry.1 = text,
            None => self.entries.push((run, text)),
        }
    }

    /// Forgets the error of `run` (None: the one of no run).
    pub fn clear(&mut self, run: Option<Entity>) {
        self.entries.retain(|(r, _)| *r != run);
    }

    /// Every error, oldest first, with its run.
    pub fn iter(&self) -> impl Iterator<Item = (Option<Entity>, &str)> {
        self.entries.iter().map(|(r, t)| (*r, t.as_str()))
    }

    /// The oldest error's text.
    pub fn first(&self) -> Option<&str> {
        self.entries.first().map(|(_, t)| t.as_str())
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// Scene files found in [`PRESET_DIR`]: (path, scene name).
#[derive(Resource, Default, Debug)]
pub struct Presets(pub Vec<(PathBuf, String)>);

/// Half-second poll of the current file's modification time.
#[derive(Resource)]
struct ReloadPoll(Timer);

pub struct LoadingPlugin;

impl Plugin for LoadingPlugin {
    fn build(&self, app: &mut App) {
        app.add_message::<SceneRequest>()
            .add_message::<LoadInto>()
            .init_resource::<SceneErrors>()
            .insert_resource(Presets(read_presets(Path::new(PRESET_DIR))))
            .insert_resource(ReloadPoll(Timer::new(Duration::from_millis(500), TimerMode::Repeating)))
            .add_systems(Startup, send_initial_scene)
            .add_systems(Update, poll_file_changes.in_set(AppSet::Requests))
            .add_systems(Update, (aim_at_focused, load_requested, apply_draft).chain().in_set(AppSet::Load))
            .add_systems(Update, report_load_errors.in_set(AppSet::Derive));
    }
}

/// A scene that could not start (a generator that cannot be built) shows
/// its message as a scene error.
fn report_load_errors(
    runs: Query<(Entity, Ref<RunProgress>)>,
    mut errors: ResMut<SceneErrors>,
    mut seen: Local<std::collections::HashMap<Entity, u64>>,
) {
    // Closed runs leave no entries behind.
    seen.retain(|run, _| runs.contains(*run));
    if errors.entries.iter().any(|(r, _)| r.is_some_and(|r| !runs.contains(r))) {
        errors.entries.retain(|(r, _)| r.is_none_or(|r| runs.contains(r)));
    }
    for (run, status) in &runs {
        if !status.is_changed() || seen.get(&run) == Some(&status.generation) {
            continue;
        }
        if let Some(error) = &status.load_error {
            seen.insert(run, status.generation);
            errors.set(Some(run), error.clone());
        }
    }
}

/// Reads the names of the presets in `dir`, sorted by file name.
pub fn read_presets(dir: &Path) -> Vec<(PathBuf, String)> {
    let Ok(entries) = std::fs::read_dir(dir) else { return Vec::new() };
    let mut out: Vec<(PathBuf, String)> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "ron"))
        .map(|p| {
            let name = SceneFile::read(&p).map(|f| f.scene.name).unwrap_or_else(|_| {
                format!("{} (has errors)", p.file_stem().map(|s| s.to_string_lossy()).unwrap_or_default())
            });
            (p, name)
        })
        .collect();
    out.sort();
    out
}

fn send_initial_scene(
    initial: Option<Res<InitialScene>>,
    compare: Option<Res<InitialCompare>>,
    mut requests: MessageWriter<SceneRequest>,
    mut runs: MessageWriter<RunRequest>,
) {
    if let Some(initial) = initial {
        requests.write(initial.0.clone());
    }
    for scene in compare.iter().flat_map(|c| c.0.iter()) {
        runs.write(RunRequest::Compare(scene.clone()));
    }
}

/// Scene requests without a run go to the focused one.
fn aim_at_focused(
    mut requests: MessageReader<SceneRequest>,
    focused: Query<Entity, With<Focused>>,
    mut out: MessageWriter<LoadInto>,
) {
    let Ok(run) = focused.single() else { return };
    for request in requests.read() {
        out.write(LoadInto { run, request: request.clone(), new_run: false });
    }
}

fn modified(path: &Path) -> Option<SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

/// Reloads a run's file when its modification time changes.
fn poll_file_changes(
    time: Res<Time>,
    mut poll: ResMut<ReloadPoll>,
    mut runs: Query<(Entity, &mut ActiveScene)>,
    mut requests: MessageWriter<LoadInto>,
) {
    if !poll.0.tick(time.delta()).just_finished() {
        return;
    }
    for (run, mut active) in &mut runs {
        let Some(seen) = active.modified else { continue };
        let Some(path) = active.file.as_ref().map(|f| f.path.clone()) else { continue };
        if let Some(now) = modified(&path)
            && now != seen
        {
            // Remember it even if the new text fails, so a broken file is reported once.
            active.modified = Some(now);
            requests.write(LoadInto { run, request: SceneRequest::Open(path), new_run: false });
        }
    }
}

/// Loads every requested scene into its run; a failure keeps the running
/// scene (and closes a run that was opened for it).
fn load_requested(
    mut requests: MessageReader<LoadInto>,
    mut runs: Query<(&mut ActiveScene, &mut Draft, &mut RunLink)>,
    mut errors: ResMut<SceneErrors>,
    mut worker: ResMut<FlowWorker>,
    mut close: MessageWriter<RunRequest>,
) {
    for LoadInto { run, request, new_run } in requests.read() {
        let Ok((mut active, mut draft, mut link)) = runs.get_mut(*run) else { continue };
        let Some((file, seed, on_disk)) = read_request(request, &active, &draft, *run, &mut errors) else {
            if *new_run {
                close.write(RunRequest::Close(*run));
            }
            continue;
        };
        let clouds = match file.clouds_with_seed(seed) {
            Ok(c) => c,
            Err(e) => {
                errors.set(Some(*run), e.to_string());
                if *new_run {
                    close.write(RunRequest::Close(*run));
                }
                continue;
            }
        };
        info!("loading scene {:?} from {} (seed {seed})", file.scene.name, file.path.display());
        worker.load(&mut link, file.scene.clone(), clouds, file.held_out(seed), seed);
        draft.scene = Some(file.scene.clone());
        draft.applied = Some(file.scene.flow_settings());
        draft.problems.clear();
        // This run's last error is over, and so is one that named no run
        // (a file picked in the panel that could not be read).
        errors.clear(Some(*run));
        errors.clear(None);
        active.modified = if on_disk { modified(&file.path) } else { None };
        active.seed = seed;
        active.file = Some(file);
    }
}

/// The scene file a request names, its seed and whether it is on disk;
/// None (with the error recorded) when it cannot be read.
fn read_request(
    request: &SceneRequest,
    active: &ActiveScene,
    draft: &Draft,
    run: Entity,
    errors: &mut SceneErrors,
) -> Option<(SceneFile, u64, bool)> {
    let read = |parsed: Result<SceneFile, _>, on_disk, errors: &mut SceneErrors| match parsed {
        Ok(f) => {
            let seed = f.scene.seed;
            Some((f, seed, on_disk))
        }
        Err(e) => {
            errors.set(Some(run), format!("{e}"));
            None
        }
    };
    match request {
        SceneRequest::Open(path) => read(SceneFile::read(path), true, errors),
        SceneRequest::Text { path, text } => read(SceneFile::parse(path, text.clone()), false, errors),
        SceneRequest::Scene { path, scene } => {
            // The text only serves error positions; a built scene has none.
            let text = scene.to_ron().unwrap_or_default();
            Some((SceneFile { path: path.clone(), text, scene: (**scene).clone() }, scene.seed, false))
        }
        SceneRequest::Restart { new_seed } => {
            let (Some(current), Some(edited)) = (&active.file, &draft.scene) else { return None };
            let mut scene = edited.clone();
            if *new_seed {
                scene.seed = rand::random::<u64>() % 1_000_000;
            }
            if let Some(problem) = scene.problems().into_iter().next() {
                errors.set(Some(run), format!("cannot restart: {}", problem.1));
                return None;
            }
            let seed = scene.seed;
            let file = SceneFile { path: current.path.clone(), text: current.text.clone(), scene };
            Some((file, seed, active.modified.is_some()))
        }
    }
}

/// Sends valid edited flow settings to the worker and marks the step where
/// they took effect (the plots draw the marks); records problems otherwise.
/// A run's parts a flow edit touches.
type EditedRun =
    (&'static mut Draft, &'static mut RunLink, &'static mut RunCurves, &'static RunProgress, &'static RunGenerator);

fn apply_draft(mut worker: ResMut<FlowWorker>, mut runs: Query<EditedRun>) {
    for (draft, mut link, mut curves, progress, generator) in &mut runs {
        // Only an edited draft touches the link and curves: borrowing them
        // mutably would mark them changed every frame.
        if draft.is_changed() {
            let generator = generator.0.is_some();
            apply_run_draft(&mut worker, draft, &mut link, &mut curves, progress.step_index, generator);
        }
    }
}

fn apply_run_draft(
    worker: &mut FlowWorker,
    mut draft: Mut<Draft>,
    link: &mut RunLink,
    curves: &mut RunCurves,
    step: usize,
    generator: bool,
) {
    if !draft.is_changed() {
        return;
    }
    let Some(scene) = &draft.scene else { return };
    let problems: Vec<String> = scene.problems().into_iter().map(|(_, message)| message).collect();
    let settings = scene.flow_settings();
    let draft = draft.bypass_change_detection();
    // A generator run takes flow edits only on restart (the engine's trainer
    // has no settings setter; the panel says so): nothing is sent or marked.
    if problems.is_empty() && draft.applied.as_ref() != Some(&settings) && !generator {
        if let Some(old) = &draft.applied {
            let change = describe_change(old, &settings);
            match curves.markers.last_mut() {
                // Dragging a value sends many small changes: one mark per step.
                Some((at, text)) if *at == step => *text = change,
                _ => curves.markers.push((step, change)),
            }
        }
        worker.set_settings(link, settings.clone());
        draft.applied = Some(settings);
    }
    draft.problems = problems;
}

/// What changed between two settings, in a few words ("method Mmd", "eta 0.2").
pub fn describe_change(old: &FlowSettings, new: &FlowSettings) -> String {
    let mut parts = Vec::new();
    if old.method != new.method {
        parts.push(format!("method {}", new.method.name()));
    }
    if old.schedule != new.schedule {
        parts.push(format!("schedule {}", new.schedule.kind_name()));
    }
    if old.steps != new.steps {
        parts.push(format!("T {}", new.steps));
    }
    if old.step_size != new.step_size {
        parts.push(match new.step_size {
            crate::engine::StepSize::Fixed { eta } => format!("eta {eta:.3}"),
            crate::engine::StepSize::Auto { first_norm } => format!("auto step {first_norm:.3}"),
        });
    }
    if old.batch != new.batch {
        parts.push(new.batch.map_or("no batch".into(), |b| format!("batch {b}")));
    }
    if old.bandwidth != new.bandwidth {
        parts.push("bandwidth".into());
    }
    if old.cutoff != new.cutoff {
        parts.push(format!("cut-off {:?}", new.cutoff));
    }
    if parts.is_empty() { "settings".into() } else { parts.join(", ") }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{Method, StepSize};

    #[test]
    fn changes_are_described_in_a_few_words() {
        let old = FlowSettings::default();
        let new = FlowSettings { method: Method::Mmd, step_size: StepSize::Fixed { eta: 0.25 }, ..old.clone() };
        assert_eq!(describe_change(&old, &new), "method Mmd, eta 0.250");
        assert_eq!(describe_change(&old, &FlowSettings { batch: Some(64), ..old.clone() }), "batch 64");
    }
}
