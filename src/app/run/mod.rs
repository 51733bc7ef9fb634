//! A run's one home: a run is one scene flowing on the worker, and
//! everything about it is a component of one run entity, written only here.
//! Data flows one way: worker -> [`receive`] -> run components -> view and
//! panels; everything else reads the components and sends messages.
//!
//! - [`lifecycle`]: runs as entities: open (compare), close, focus;
//! - [`loading`]: scenes from the command line, presets, drops and edits on disk;
//! - [`link`]: Bevy's end of the worker channels and each run's link;
//! - [`receive`]: the replies applied to the run components;
//! - [`status`]: what a run shows (positions, status, state);
//! - [`generator`]: a generator run's status;
//! - [`playback`]: play, pause, speed and the fixed-timestep pacing.

mod generator;
mod lifecycle;
mod link;
mod loading;
mod playback;
mod receive;
mod status;

use bevy::prelude::*;

pub use generator::GeneratorStatus;
pub use lifecycle::{
    Focused, MAX_RUNS, OfRun, RunIds, RunParts, RunRequest, ViewSlot, close, focused_run, free_slot, run_bundle, twin,
    twin_method,
};
pub use link::{FlowWorker, RunId, RunLink, start_worker};
pub use loading::{
    ActiveScene, DEFAULT_SCENE, Draft, InitialCompare, InitialScene, LoadInto, PRESET_DIR, Presets, SceneErrors,
    SceneRequest, describe_change, read_presets,
};
pub use playback::{Playback, SimRequest, request_step};
pub use receive::receive_replies;
pub use status::{FixedPositions, MovingPositions, RateMeter, RunState, RunStatus};

use crate::app::schedule::AppSet;

/// Owns the worker link, the runs, scene loading and the pacing.
pub struct RunPlugin;

impl Plugin for RunPlugin {
    fn build(&self, app: &mut App) {
        app.add_plugins((lifecycle::LifecyclePlugin, loading::LoadingPlugin, playback::PlaybackPlugin))
            .init_resource::<FlowWorker>()
            .add_systems(Startup, start_worker)
            .add_systems(Update, receive_replies.in_set(AppSet::Receive))
            .add_systems(FixedUpdate, (receive_replies, request_step).chain().in_set(AppSet::Control));
    }
}
