//! Applies the worker's replies to the run components: the one place a
//! reply's data enters the ECS. Never blocks: only `try_recv`.

use bevy::prelude::*;

use super::link::FlowWorker;
use super::status::ReplyTargets;

/// Applies every reply that has arrived to its run; never blocks.
pub fn receive_replies(mut worker: ResMut<FlowWorker>, mut runs: Query<ReplyTargets>, time: Res<Time<Real>>) {
    while let Some(reply) = worker.try_recv() {
        let Some(mut run) = runs.iter_mut().find(|run| run.link.run == reply.run) else { continue };
        run.link.pending = run.link.pending.saturating_sub(1);
        if reply.generation == run.link.generation {
            run.apply(reply, time.elapsed_secs_f64());
        }
    }
    if worker.stopped().is_some() {
        for mut run in &mut runs {
            if run.link.pending > 0 {
                run.link.pending = 0;
            }
        }
    }
}
