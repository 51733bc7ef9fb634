//! What a run shows: the state its worker replies leave behind, as components
//! of the run entity (positions, the status the panels read), and what the
//! run is doing now.

use bevy::prelude::*;

use crate::app::worker::{GanValues, HistoryInfo, MetricSample};
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

/// What the UI shows about a run.
#[derive(Component, Default, Debug)]
pub struct RunStatus {
    pub generation: u64,
    pub step_index: usize,
    pub finished: bool,
    pub last_report: Option<StepReport>,
    pub step_ms: f64,
    pub eta: Option<f64>,
    pub latest: Option<Metrics>,
    pub history: Vec<MetricSample>,
    pub moving_nn: Vec<f64>,
    pub fixed_nn: Vec<f64>,
    pub moving_count: usize,
    pub fixed_count: usize,
    /// Steps completed since the app started (across loads); for tests and `--after`.
    pub total_steps: usize,
    /// Steps per second reached.
    pub rate: RateMeter,
    /// Steps where the flow settings were changed mid-run, with what changed.
    pub markers: Vec<(usize, String)>,
    /// Holding the first view after a load.
    pub holding: bool,
    /// Divergence history: (steps done, values in `Divergences::NAMES` order).
    pub divergences: Vec<(usize, [f64; DIVERGENCES])>,
    /// RectifiedFlow: the latest Tweedie residual.
    pub tweedie: Option<f64>,
    /// Non-finite updates dropped since the start.
    pub non_finite: u64,
    /// The GAN view's values of the latest state (None in the default view).
    pub gan: Option<GanValues>,
    /// (steps taken, driver cosine) per step of this run.
    pub cosines: Vec<(usize, f64)>,
    /// A generator run's model, losses, comparison and grid (None for particles).
    pub generator: Option<GeneratorStatus>,
    /// Why the current scene could not start.
    pub load_error: Option<String>,
    /// The run's history, for the timeline slider (particle runs).
    pub timeline: Option<HistoryInfo>,
}

impl RunStatus {
    /// Whether this status belongs to the scene the run has now loaded (not
    /// to the one before, or to none yet).
    pub fn is_current(&self, link: &RunLink) -> bool {
        link.generation > 0 && self.generation == link.generation
    }

    /// Current, and showing the clouds' first state.
    pub fn is_shown(&self, link: &RunLink) -> bool {
        self.is_current(link) && self.moving_count > 0
    }
}
