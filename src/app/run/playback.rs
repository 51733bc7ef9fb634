//! Play, pause, speed and the fixed-timestep pacing: each FixedUpdate tick
//! while playing owes a step; the debt (capped) goes to the worker as one
//! lockstep request for all runs when it is free. A slow flow never builds a
//! backlog and nothing on the frame's path waits for a step.

use std::time::Duration;

use bevy::prelude::*;

use crate::app::worker::MAX_STEPS_PER_REQUEST;

use super::link::{FlowWorker, RunLink};
use super::status::RunStatus;
use crate::app::schedule::AppSet;

/// Playback, the fixed timestep that paces the steps, and resets.
pub struct PlaybackPlugin;

impl Plugin for PlaybackPlugin {
    fn build(&self, app: &mut App) {
        let playback = Playback::default();
        app.insert_resource(Time::<Fixed>::from_hz(playback.steps_per_second))
            .insert_resource(playback)
            .add_message::<SimRequest>()
            .add_systems(Update, (handle_requests, sync_fixed_rate).in_set(AppSet::Control));
    }
}

/// Play/pause and speed.
#[derive(Resource, Debug, Clone, PartialEq)]
pub struct Playback {
    pub playing: bool,
    pub steps_per_second: f64,
    /// A single step asked for (Right arrow / button); sent when the worker is free.
    pub single_step: bool,
    /// Show every run's recorded state at this step (the timeline slider,
    /// Left arrow); sent when the worker is free.
    pub seek_to: Option<usize>,
    /// Never go past this many steps in total (for `--screenshot --after N`).
    pub stop_at_total: Option<usize>,
    /// After a load, the starting clouds stay still this long before playing
    /// starts, so the first view shows where the flow begins.
    pub hold_after_load: Duration,
}

impl Default for Playback {
    fn default() -> Self {
        Self {
            playing: true,
            steps_per_second: 30.0,
            single_step: false,
            seek_to: None,
            stop_at_total: None,
            hold_after_load: Duration::from_millis(1500),
        }
    }
}

/// Requests handled by the simulation plugin.
#[derive(Message, Debug, Clone, Copy, PartialEq, Eq)]
pub enum SimRequest {
    /// Every run back to its start positions.
    Reset,
}

/// FixedUpdate: each tick while playing owes a step; the debt (capped) is
/// sent as one request for all runs, in lockstep, when the worker is free
/// of every run's last request. A paused or finished run sends nothing.
/// After a load the first view holds for [`Playback::hold_after_load`].
pub fn request_step(
    mut worker: ResMut<FlowWorker>,
    mut playback: ResMut<Playback>,
    mut runs: Query<(Entity, &mut RunLink, &mut RunStatus)>,
    time: Res<Time>,
    mut owed: Local<usize>,
    mut loaded: Local<std::collections::HashMap<Entity, (u64, f64)>>,
) {
    let now = time.elapsed_secs_f64();
    let mut any_holding = false;
    let mut any_busy = false;
    loaded.retain(|e, _| runs.contains(*e));
    for (entity, link, mut status) in &mut runs {
        if status.finished && status.step_index < link.steps && status.generation == link.generation {
            // Steps T was raised after the run ended: it can go on.
            status.finished = false;
        }
        let since = loaded.entry(entity).or_insert((link.generation, now));
        if since.0 != link.generation {
            *since = (link.generation, now);
        }
        // Until the new scene's first reply arrives, the status still shows
        // the old run's step: hold then too.
        let holding = link.generation == 0
            || status.generation != link.generation
            || (status.step_index == 0 && now - since.1 < playback.hold_after_load.as_secs_f64());
        if status.holding != holding {
            status.holding = holding;
        }
        any_holding |= holding;
        any_busy |= link.busy();
    }
    *owed = if playback.playing && !any_holding { (*owed + 1).min(MAX_STEPS_PER_REQUEST) } else { 0 };
    if any_busy {
        return;
    }
    if let Some(step) = playback.seek_to.take() {
        let mut loaded: Vec<Mut<RunLink>> =
            runs.iter_mut().filter(|(_, link, status)| status.is_current(link)).map(|(_, link, _)| link).collect();
        worker.seek(&mut loaded, step);
        *owed = 0;
        return;
    }
    if any_holding && !playback.single_step {
        return;
    }
    let mut stepping: Vec<Mut<RunLink>> = Vec::new();
    let mut total_steps = usize::MAX;
    for (_, link, status) in &mut runs {
        if status.is_current(&link) && !status.finished {
            total_steps = total_steps.min(status.total_steps);
            stepping.push(link);
        }
    }
    if stepping.is_empty() {
        return;
    }
    let mut count = if playback.single_step { 1 } else { *owed };
    if let Some(stop) = playback.stop_at_total {
        count = count.min(stop.saturating_sub(total_steps));
    }
    if count > 0 {
        playback.single_step = false;
        *owed = 0;
        worker.step(&mut stepping, count);
    }
}

fn handle_requests(
    mut requests: MessageReader<SimRequest>,
    mut worker: ResMut<FlowWorker>,
    mut links: Query<&mut RunLink>,
) {
    for request in requests.read() {
        match request {
            SimRequest::Reset => {
                for mut link in &mut links {
                    if link.generation > 0 {
                        worker.reset(&mut link);
                    }
                }
            }
        }
    }
}

/// Keeps the fixed timestep at the steps-per-second setting.
fn sync_fixed_rate(playback: Res<Playback>, mut time: ResMut<Time<Fixed>>) {
    if playback.is_changed() {
        let hz = playback.steps_per_second.clamp(0.5, 1000.0);
        time.set_timestep(Duration::from_secs_f64(1.0 / hz));
    }
}
