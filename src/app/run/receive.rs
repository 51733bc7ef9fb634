//! Applies the worker's replies to the run components: the one place a
//! reply's data enters the ECS. Never blocks: only `try_recv`.

use bevy::prelude::*;

use crate::app::worker::{Reply, ReplyKind};

use super::link::{FlowWorker, RunLink};
use super::status::{FixedPositions, MovingPositions, RunStatus};

/// A run's parts the worker's replies write to.
type ReplyTargets =
    (&'static mut RunLink, &'static mut RunStatus, &'static mut MovingPositions, &'static mut FixedPositions);

/// Applies every reply that has arrived to its run; never blocks.
pub fn receive_replies(mut worker: ResMut<FlowWorker>, mut runs: Query<ReplyTargets>, time: Res<Time<Real>>) {
    while let Some(reply) = worker.try_recv() {
        let Some((mut link, mut status, mut moving, mut fixed)) =
            runs.iter_mut().find(|(link, ..)| link.run == reply.run)
        else {
            continue;
        };
        link.pending = link.pending.saturating_sub(1);
        if reply.generation != link.generation {
            continue;
        }
        apply_reply(reply, &mut status, &mut moving, &mut fixed, time.elapsed_secs_f64());
    }
    if worker.stopped().is_some() {
        for (mut link, ..) in &mut runs {
            if link.pending > 0 {
                link.pending = 0;
            }
        }
    }
}

fn apply_reply(
    reply: Reply,
    status: &mut RunStatus,
    // As `Mut`, so only a write marks them changed: the fixed cloud (and
    // its respawn and view fit) changes on load only, the moving one when
    // it moved.
    moving: &mut Mut<MovingPositions>,
    fixed: &mut Mut<FixedPositions>,
    now: f64,
) {
    status.gan = reply.gan;
    if reply.kind == ReplyKind::Viewed {
        return;
    }
    status.timeline = reply.history;
    // A new start (load, reset) forgets the curves; a seek keeps them (the
    // recorded future is still there); steps replace what was recorded from
    // their first step on (a replay gives the same values, a branch new ones).
    let fresh = matches!(reply.kind, ReplyKind::Loaded | ReplyKind::Reset);
    if reply.kind == ReplyKind::Stepped && reply.steps > 0 {
        let from = (reply.step_index + 1).saturating_sub(reply.steps);
        status.history.retain(|h| h.step < from);
        status.cosines.retain(|c| c.0 < from);
        status.divergences.retain(|d| d.0 < from);
        status.markers.retain(|m| m.0 < from);
    }
    if fresh {
        status.cosines.clear();
        status.history.clear();
        status.last_report = None;
        status.step_ms = 0.0;
        status.rate.clear();
    }
    if reply.kind == ReplyKind::Loaded {
        status.markers.clear();
        status.load_error = reply.error.clone();
        status.generator = None;
    }
    if let Some(g) = reply.generator {
        status.generator.get_or_insert_with(Default::default).apply(g, fresh);
    }
    if fresh {
        status.divergences.clear();
        status.tweedie = None;
    }
    status.divergences.extend(reply.divergences);
    if reply.tweedie.is_some() {
        status.tweedie = reply.tweedie;
    }
    status.non_finite = reply.non_finite;
    if reply.kind == ReplyKind::Stepped && reply.report.is_some() {
        status.total_steps += reply.steps;
        status.step_ms = reply.step_ms;
        status.rate.record(now, status.total_steps);
    }
    if let Some(report) = reply.report {
        status.last_report = Some(report);
    }
    if let Some(points) = reply.fixed {
        status.fixed_count = points.len() / 3;
        fixed.generation = reply.generation;
        fixed.positions = points;
    }
    if let Some(nn) = reply.fixed_nn {
        status.fixed_nn = nn;
    }
    status.history.extend(reply.samples);
    status.cosines.extend(reply.cosines);
    if let Some((metrics, nn)) = reply.metrics {
        status.latest = Some(metrics);
        status.moving_nn = nn;
    }
    status.generation = reply.generation;
    status.step_index = reply.step_index;
    status.finished = reply.finished;
    status.eta = reply.eta;
    status.moving_count = reply.moving.len() / 3;
    // A step that moved nothing (already finished) leaves the positions alone.
    if reply.kind != ReplyKind::Stepped || reply.report.is_some() {
        moving.generation = reply.generation;
        moving.positions = reply.moving;
    }
}
