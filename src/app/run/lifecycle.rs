//! Runs as entities. A run is one scene flowing on the worker: its scene and
//! draft, its worker link, status and metric history, its two clouds' display
//! positions, bounds and point entities are components of one entity, and
//! every point entity carries the id of its run ([`OfRun`]).
//!
//! Up to [`MAX_RUNS`] runs are open at once, each in its own view
//! ([`ViewSlot`]); they step in lockstep. Exactly one is [`Focused`]: the
//! panels edit it. [`RunRequest`] opens a run beside the others (compare
//! mode), closes one, or moves the focus.

use bevy::prelude::*;

use super::link::{FlowWorker, RunId, RunLink};
use super::loading::{ActiveScene, Draft};
use super::markers::{Focused, ViewSlot};
use super::requests::{LoadInto, RunRequest};
use super::status::{FixedPositions, MovingPositions, RunCurves, RunGan, RunGenerator, RunProgress, RunTimeline};
use crate::app::schedule::AppSet;
use crate::engine::Method;
use crate::scene::Scene;

/// Most runs open at once (views in a 2 x 2 grid).
pub const MAX_RUNS: usize = 4;

/// Hands out run ids (never reused, so a late reply of a closed run is dropped).
#[derive(Resource, Debug, Default)]
pub struct RunIds(u32);

impl RunIds {
    pub fn fresh(&mut self) -> u32 {
        self.0 += 1;
        self.0
    }
}

/// Everything a run entity starts with.
pub fn run_bundle(id: u32, slot: usize) -> impl Bundle {
    (
        RunId(id),
        RunLink::new(id),
        (RunProgress::default(), RunCurves::default(), RunGan::default(), RunGenerator::default()),
        (RunTimeline::default(), MovingPositions::default(), FixedPositions::default()),
        (ActiveScene::default(), Draft::default()),
        ViewSlot(slot),
        Name::new(format!("run {id}")),
    )
}

/// The twin a teacher compares a scene with: the same clouds and seed with
/// MMD flow for an SD-like scene, SD flow for MMD ones.
pub fn twin(scene: &Scene) -> Scene {
    let method = twin_method(scene.method);
    Scene { name: format!("{} ({})", scene.name, method.name()), method, ..scene.clone() }
}

/// The method of a scene's twin: SD for MMD, MMD for every other.
pub fn twin_method(method: Method) -> Method {
    match method {
        Method::Mmd => Method::Sd,
        _ => Method::Mmd,
    }
}

/// The first free view slot among `taken`.
pub fn free_slot(taken: impl IntoIterator<Item = usize>) -> usize {
    let taken: Vec<usize> = taken.into_iter().collect();
    (0..).find(|s| !taken.contains(s)).unwrap_or(0)
}

/// The focused run, for code holding the world (systems query `With<Focused>`).
pub fn focused_run(world: &World) -> Option<Entity> {
    let mut query = world.try_query_filtered::<Entity, With<Focused>>()?;
    query.single(world).ok()
}

/// Opens, closes and focuses runs.
pub struct LifecyclePlugin;

impl Plugin for LifecyclePlugin {
    fn build(&self, app: &mut App) {
        app.init_resource::<RunIds>()
            .add_message::<RunRequest>()
            .add_systems(Startup, spawn_first_run)
            .add_systems(Update, handle_run_requests.in_set(AppSet::Requests));
    }
}

fn spawn_first_run(mut commands: Commands, mut ids: ResMut<RunIds>) {
    commands.spawn((run_bundle(ids.fresh(), 0), Focused));
}

/// Closes and focuses runs; a compare request spawns the run and leaves the
/// load to the scene loader (which reports a scene that fails and closes
/// the empty run again).
fn handle_run_requests(
    mut requests: MessageReader<RunRequest>,
    mut commands: Commands,
    mut ids: ResMut<RunIds>,
    mut worker: ResMut<FlowWorker>,
    runs: Query<RunSlots>,
    mut pending: MessageWriter<LoadInto>,
) {
    let mut open: Vec<(Entity, usize, bool)> = runs.iter().map(|(e, _, s, f)| (e, s.0, f)).collect();
    for request in requests.read() {
        match request {
            RunRequest::Compare(scene) => {
                if open.len() >= MAX_RUNS {
                    warn!("at most {MAX_RUNS} runs side by side");
                    continue;
                }
                let slot = free_slot(open.iter().map(|o| o.1));
                let entity = commands.spawn(run_bundle(ids.fresh(), slot)).id();
                open.push((entity, slot, false));
                pending.write(LoadInto { run: entity, request: scene.clone(), new_run: true });
            }
            RunRequest::Close(entity) => {
                if open.len() > 1
                    && let Some(i) = open.iter().position(|o| o.0 == *entity)
                {
                    let (_, _, was_focused) = open.remove(i);
                    close(&mut commands, &mut worker, &runs, *entity);
                    if was_focused && let Some(first) = open.iter_mut().min_by_key(|o| o.1) {
                        first.2 = true;
                        commands.entity(first.0).insert(Focused);
                    }
                }
            }
            RunRequest::CloseOthers => {
                let keep = open.iter().find(|o| o.2).map(|o| o.0);
                for (entity, ..) in open.iter().filter(|o| Some(o.0) != keep) {
                    close(&mut commands, &mut worker, &runs, *entity);
                }
                open.retain(|o| Some(o.0) == keep);
                // The remaining run takes the whole view.
                if let Some(k) = keep {
                    commands.entity(k).insert(ViewSlot(0));
                }
            }
            RunRequest::Focus(entity) => {
                if open.iter().any(|o| o.0 == *entity) {
                    for o in &mut open {
                        if o.2 && o.0 != *entity {
                            commands.entity(o.0).remove::<Focused>();
                        }
                        o.2 = o.0 == *entity;
                    }
                    commands.entity(*entity).insert(Focused);
                }
            }
        }
    }
}

/// Despawns a run with its parts and tells the worker to forget it.
pub fn close(commands: &mut Commands, worker: &mut FlowWorker, runs: &Query<RunSlots>, entity: Entity) {
    if let Ok((_, id, _, _)) = runs.get(entity) {
        worker.drop_run(id.0);
    }
    commands.entity(entity).despawn();
}

/// A run's id, view slot and focus.
pub type RunSlots = (Entity, &'static RunId, &'static ViewSlot, Has<Focused>);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_twin_swaps_sd_and_mmd_and_keeps_the_rest() {
        let file = crate::scene::SceneFile::parse(
            std::path::Path::new("t.ron"),
            include_str!("../../../scenes/swiss_to_mystery.ron").into(),
        )
        .expect("the default scene parses");
        let sd = Scene { method: Method::Sd, ..file.scene };
        let mmd = twin(&sd);
        assert_eq!(mmd.method, Method::Mmd);
        assert_eq!((mmd.seed, mmd.steps, &mmd.target), (sd.seed, sd.steps, &sd.target));
        assert!(mmd.name.ends_with("(Mmd)"), "{}", mmd.name);
        assert_eq!(twin(&mmd).method, Method::Sd);
    }

    #[test]
    fn free_slots_fill_gaps_first() {
        assert_eq!(free_slot([]), 0);
        assert_eq!(free_slot([0, 1]), 2);
        assert_eq!(free_slot([0, 2, 3]), 1);
    }
}
