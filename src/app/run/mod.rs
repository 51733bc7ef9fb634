//! A run's one home: a run is one scene flowing on the worker, and
//! everything about it is a component of one run entity, written only here.
//! Data flows one way: worker -> [`receive`] -> run components -> view and
//! panels; everything else reads the components and sends messages.
//!
//! - [`markers`]: focus, view slot, and the parts of a run;
//! - [`requests`]: the messages that open, reload, close and focus runs;
//! - [`lifecycle`]: runs as entities: open (compare), close, focus;
//! - [`loading`]: scenes from the command line, presets, drops and edits on disk;
//! - [`link`]: Bevy's end of the worker channels and each run's link;
//! - [`receive`]: the replies applied to the run components;
//! - [`status`]: what a run shows, one component per group of a reply
//!   (progress, curves, positions, GAN values, generator, timeline);
//! - [`generator`]: a generator run's status;
//! - [`playback`]: play, pause, speed and the fixed-timestep pacing.

mod generator;
mod lifecycle;
mod link;
mod loading;
mod markers;
mod playback;
mod receive;
mod requests;
mod status;

use bevy::prelude::*;

pub use generator::GeneratorStatus;
pub use lifecycle::{MAX_RUNS, RunIds, RunSlots, close, focused_run, free_slot, run_bundle, twin, twin_method};
pub use link::{FlowWorker, RunId, RunLink, start_worker};
pub use loading::{ActiveScene, Draft, PRESET_DIR, Presets, SceneErrors, describe_change, read_presets};
pub use markers::{Focused, OfRun, RunParts, ViewSlot};
pub use playback::{Playback, PlaybackCommand, RunState, SimRequest, apply_playback_commands, request_step};
pub use receive::receive_replies;
pub use requests::{DEFAULT_SCENE, InitialCompare, InitialScene, LoadInto, RunRequest, SceneRequest};
pub use status::{
    FixedPositions, MovingPositions, RateMeter, ReplyTargets, RunCurves, RunGan, RunGenerator, RunProgress, RunTimeline,
};

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
