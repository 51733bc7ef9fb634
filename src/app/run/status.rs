//! What a run shows: the state its worker replies leave behind, as small
//! components of the run entity, one per group of a reply (progress, curves,
//! positions, GAN values, generator, timeline), each with its own change
//! detection.

use bevy::ecs::query::QueryData;
use bevy::prelude::*;

use crate::app::worker::{GanValues, GeneratorReply, HistoryInfo, Measures, MetricSample, Progress, Reply, ReplyKind};
use crate::engine::metrics::DIVERGENCE_COUNT as DIVERGENCES;
use crate::engine::{Metrics, StepReport};

use super::generator::GeneratorStatus;
use super::link::RunLink;

/// Display positions of a run's moving cloud (x, y, z per point). Changes
/// only when a new state arrived, so followers use change detection.
#[derive(Component, Default, Debug)]
pub struct MovingPositions {
    pub generation: u64,
    pub positions: Vec<f32>,
}

/// Display positions of a run's fixed cloud; changes only on load.
#[derive(Component, Default, Debug)]
pub struct FixedPositions {
    pub generation: u64,
    pub positions: Vec<f32>,
}

/// Steps per second actually reached, over the last second or so of wall
/// time (the setting is a wish; a slow step or a busy core caps it).
#[derive(Clone, Debug, Default)]
pub struct RateMeter {
    /// (seconds, total steps) samples, oldest first.
    samples: std::collections::VecDeque<(f64, usize)>,
}

impl RateMeter {
    /// Window the rate is measured over.
    const WINDOW: f64 = 1.5;

    pub fn record(&mut self, seconds: f64, total_steps: usize) {
        self.samples.push_back((seconds, total_steps));
        while self.samples.len() > 2 && self.samples.front().is_some_and(|(t, _)| seconds - t > Self::WINDOW) {
            self.samples.pop_front();
        }
    }

    /// Steps per second over the window at time `now`; 0 once steps stop.
    pub fn rate(&self, now: f64) -> f64 {
        match (self.samples.front(), self.samples.back()) {
            (Some(&(t0, s0)), Some(&(t1, s1))) if t1 > t0 && now - t1 < Self::WINDOW => (s1 - s0) as f64 / (t1 - t0),
            _ => 0.0,
        }
    }

    pub fn clear(&mut self) {
        self.samples.clear();
    }
}

/// Where a run is: its step, whether it finished, how fast it goes. Written
/// whole from a reply's [`Progress`] (and by the pacing, which holds a run
/// for a moment after a load).
#[derive(Component, Default, Debug)]
pub struct RunProgress {
    /// The load (see `RunLink::generation`) the rest belongs to.
    pub generation: u64,
    pub step_index: usize,
    pub finished: bool,
    pub last_report: Option<StepReport>,
    pub step_ms: f64,
    pub eta: Option<f64>,
    /// Steps completed since the app started (across loads); for tests and `--after`.
    pub total_steps: usize,
    /// Steps per second reached.
    pub rate: RateMeter,
    /// Non-finite updates dropped since the start.
    pub non_finite: u64,
    /// Holding the first view after a load.
    pub holding: bool,
    /// Why the current scene could not start.
    pub load_error: Option<String>,
}

impl RunProgress {
    /// Whether this progress belongs to the scene the run has now loaded
    /// (not to the one before, or to none yet).
    pub fn is_current(&self, link: &RunLink) -> bool {
        link.generation > 0 && self.generation == link.generation
    }

    /// Folds in a reply's progress; `now` in seconds of real time.
    fn apply(&mut self, generation: u64, kind: ReplyKind, p: Progress, now: f64) {
        if matches!(kind, ReplyKind::Loaded | ReplyKind::Reset) {
            self.last_report = None;
            self.step_ms = 0.0;
            self.rate.clear();
        }
        if kind == ReplyKind::Loaded {
            self.load_error = p.error;
        }
        if kind == ReplyKind::Stepped && p.report.is_some() {
            self.total_steps += p.steps;
            self.step_ms = p.step_ms;
            self.rate.record(now, self.total_steps);
        }
        if let Some(report) = p.report {
            self.last_report = Some(report);
        }
        self.non_finite = p.non_finite;
        self.generation = generation;
        self.step_index = p.step_index;
        self.finished = p.finished;
        self.eta = p.eta;
    }
}

/// What a run has measured, step by step: the plots' curves and the latest
/// values the panels show.
#[derive(Component, Default, Debug)]
pub struct RunCurves {
    pub latest: Option<Metrics>,
    pub history: Vec<MetricSample>,
    pub moving_nn: Vec<f64>,
    pub fixed_nn: Vec<f64>,
    /// Steps where the flow settings were changed mid-run, with what changed.
    pub markers: Vec<(usize, String)>,
    /// Divergence history: (steps done, values in `Divergences::NAMES` order).
    pub divergences: Vec<(usize, [f64; DIVERGENCES])>,
    /// RectifiedFlow: the latest Tweedie residual.
    pub tweedie: Option<f64>,
    /// (steps taken, driver cosine) per step of this run.
    pub cosines: Vec<(usize, f64)>,
}

impl RunCurves {
    /// Folds in a reply's measures. A new start (load, reset) forgets the
    /// curves; a seek keeps them (the recorded future is still there);
    /// steps replace what was recorded from their first step on (a replay
    /// gives the same values, a branch new ones).
    fn apply(&mut self, kind: ReplyKind, progress: &Progress, m: Measures) {
        if kind == ReplyKind::Stepped && progress.steps > 0 {
            let from = (progress.step_index + 1).saturating_sub(progress.steps);
            self.history.retain(|h| h.step < from);
            self.cosines.retain(|c| c.0 < from);
            self.divergences.retain(|d| d.0 < from);
            self.markers.retain(|m| m.0 < from);
        }
        if matches!(kind, ReplyKind::Loaded | ReplyKind::Reset) {
            self.history.clear();
            self.cosines.clear();
            self.divergences.clear();
            self.tweedie = None;
        }
        if kind == ReplyKind::Loaded {
            self.markers.clear();
        }
        self.divergences.extend(m.divergences);
        if m.tweedie.is_some() {
            self.tweedie = m.tweedie;
        }
        if let Some(nn) = m.fixed_nn {
            self.fixed_nn = nn;
        }
        self.history.extend(m.samples);
        self.cosines.extend(m.cosines);
        if let Some((metrics, nn)) = m.metrics {
            self.latest = Some(metrics);
            self.moving_nn = nn;
        }
    }
}

/// The GAN view's values of the latest state (None in the default view).
#[derive(Component, Default, Debug)]
pub struct RunGan(pub Option<GanValues>);

/// A generator run's model, losses, comparison and grid (None for particles).
#[derive(Component, Default, Debug)]
pub struct RunGenerator(pub Option<GeneratorStatus>);

impl RunGenerator {
    fn apply(&mut self, kind: ReplyKind, reply: Option<GeneratorReply>) {
        if kind == ReplyKind::Loaded {
            self.0 = None;
        }
        if let Some(g) = reply {
            let fresh = matches!(kind, ReplyKind::Loaded | ReplyKind::Reset);
            self.0.get_or_insert_with(Default::default).apply(g, fresh);
        }
    }
}

/// The run's history, for the timeline slider (particle runs).
#[derive(Component, Default, Debug)]
pub struct RunTimeline(pub Option<HistoryInfo>);

impl MovingPositions {
    /// Points of the loaded scene are on screen (its first reply arrived
    /// and the run has points).
    pub fn is_shown(&self, link: &RunLink) -> bool {
        link.generation > 0 && self.generation == link.generation && !self.positions.is_empty()
    }

    /// Points in the cloud.
    pub fn count(&self) -> usize {
        self.positions.len() / 3
    }
}

impl FixedPositions {
    /// Points in the cloud.
    pub fn count(&self) -> usize {
        self.positions.len() / 3
    }
}

/// Everything a run's replies write, one group to one component.
#[derive(QueryData)]
#[query_data(mutable)]
pub struct ReplyTargets {
    pub link: &'static mut RunLink,
    pub progress: &'static mut RunProgress,
    pub curves: &'static mut RunCurves,
    pub moving: &'static mut MovingPositions,
    pub fixed: &'static mut FixedPositions,
    pub gan: &'static mut RunGan,
    pub generator: &'static mut RunGenerator,
    pub timeline: &'static mut RunTimeline,
}

impl ReplyTargetsItem<'_, '_> {
    /// Applies a reply of the run's current load: one assignment per group.
    /// Positions are written only when they changed, so followers (the
    /// fixed cloud's respawn and view fit, the moving points) use change
    /// detection: the fixed cloud changes on load only, the moving one when
    /// it moved.
    pub fn apply(&mut self, reply: Reply, now: f64) {
        let Reply { generation, kind, progress, clouds, measures, gan, generator, history, .. } = reply;
        self.gan.0 = gan;
        if kind == ReplyKind::Viewed {
            return;
        }
        self.timeline.0 = history;
        self.curves.apply(kind, &progress, measures);
        self.generator.apply(kind, generator);
        // A step that moved nothing (already finished) leaves the positions alone.
        let moved = kind != ReplyKind::Stepped || progress.report.is_some();
        self.progress.apply(generation, kind, progress, now);
        if let Some(points) = clouds.fixed {
            self.fixed.generation = generation;
            self.fixed.positions = points;
        }
        if moved {
            self.moving.generation = generation;
            self.moving.positions = clouds.moving;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(step: usize) -> MetricSample {
        MetricSample { step, cfd: step as f64, outlier_fraction: 0.0 }
    }

    fn at(step_index: usize, steps: usize) -> Progress {
        Progress { step_index, steps, ..Progress::default() }
    }

    #[test]
    fn steps_replace_the_curves_from_their_first_step_a_seek_keeps_them_a_load_clears_them() {
        let mut c = RunCurves::default();
        let first = Measures {
            samples: (1..=3).map(sample).collect(),
            cosines: vec![(1, 0.5), (2, 0.5), (3, 0.5)],
            ..Measures::default()
        };
        c.apply(ReplyKind::Stepped, &at(3, 3), first);
        c.markers.push((2, "eta 0.5".into()));
        // Back to step 1, then two steps again: steps 2 and 3 are replaced.
        let again = Measures { samples: vec![sample(2), sample(3)], ..Measures::default() };
        c.apply(ReplyKind::Stepped, &at(3, 2), again);
        assert_eq!(c.history.iter().map(|h| h.step).collect::<Vec<_>>(), [1, 2, 3]);
        assert_eq!(c.cosines, [(1, 0.5)], "the replaced steps' cosines are gone");
        assert!(c.markers.is_empty(), "a mark at a replaced step is gone");
        c.apply(ReplyKind::Sought, &at(1, 0), Measures::default());
        assert_eq!(c.history.len(), 3, "a seek keeps the recorded future");
        c.apply(ReplyKind::Loaded, &at(0, 0), Measures { fixed_nn: Some(vec![1.0]), ..Measures::default() });
        assert!(c.history.is_empty() && c.cosines.is_empty());
        assert_eq!(c.fixed_nn, [1.0]);
    }

    #[test]
    fn only_steps_that_moved_count() {
        let mut p = RunProgress::default();
        let report = StepReport {
            step: 3,
            sigma2: 1.0,
            kernel_sigma2: 1.0,
            eta: 0.1,
            path: crate::engine::KernelPath::Full,
            moved: 10,
            kernel_evaluations: 200,
            non_finite: 0,
            driver_cosine: None,
        };
        p.apply(1, ReplyKind::Stepped, Progress { report: Some(report), ..at(4, 4) }, 0.0);
        // Finished: the worker answers a step request without a report.
        p.apply(1, ReplyKind::Stepped, Progress { finished: true, ..at(4, 0) }, 0.1);
        assert_eq!((p.total_steps, p.step_index, p.finished), (4, 4, true));
        assert!(p.last_report.is_some(), "the last step's report stays shown");
        p.apply(2, ReplyKind::Loaded, Progress { error: Some("no".into()), ..at(0, 0) }, 0.2);
        assert_eq!((p.generation, p.total_steps, p.load_error.as_deref()), (2, 4, Some("no")));
        assert!(p.last_report.is_none());
    }
}
