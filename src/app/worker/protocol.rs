//! The messages between Bevy and the flow worker: [`Command`]s one way,
//! [`Reply`]s the other. Plain data, no ECS types, so the worker side can be
//! read (and tested) without Bevy's scheduling.

use std::time::Duration;

use crate::engine::metrics::DIVERGENCE_COUNT as DIVERGENCES;
use crate::engine::{Cloud, FlowSettings, Metrics, StepReport};
use crate::scene::{Clouds, Scene};

use super::gan::{GanValues, ViewRequest};
use super::generator::GeneratorReply;

/// Most steps one request may carry.
pub const MAX_STEPS_PER_REQUEST: usize = 64;

/// Wall time after which the worker stops a multi-step request and replies,
/// so the view keeps moving smoothly.
pub const STEP_BUDGET: Duration = Duration::from_millis(25);

/// Which run a command or reply is about (the run entity's [`RunId`]).
pub type RunKey = u32;

/// A run's new simulation: its scene, clouds and seed.
pub struct Load {
    pub run: RunKey,
    pub generation: u64,
    pub scene: Scene,
    pub clouds: Clouds,
    /// A second sample of the fixed cloud, for the held-out divergences.
    pub held_out: Option<Cloud>,
    pub seed: u64,
}

/// What Bevy asks of the worker.
pub enum Command {
    /// Replace a run's simulation (a new scene, a restart or a new seed).
    Load(Box<Load>),
    /// Settings that take effect from the run's next step on.
    SetSettings {
        run: RunKey,
        settings: FlowSettings,
    },
    /// Up to this many steps of every listed run in lockstep: each step is
    /// taken by all of them before the next, within [`STEP_BUDGET`] (at
    /// least one); one reply per run.
    Step {
        runs: Vec<RunKey>,
        count: usize,
    },
    Reset {
        run: RunKey,
    },
    /// Put every listed run back (or forward) to its recorded state at this
    /// step (the timeline slider, Left arrow); runs whose history ends
    /// earlier go to their last recorded step.
    Seek {
        runs: Vec<RunKey>,
        step: usize,
    },
    /// The memory cap of every run's history, in bytes.
    SetHistoryCap(usize),
    /// What the GAN view needs with each reply from now on; answered at once
    /// with the values for the current state (once a scene is loaded).
    SetView {
        run: RunKey,
        request: ViewRequest,
    },
    /// Forget a run (its view was closed).
    Drop {
        run: RunKey,
    },
}

/// Why a reply was sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReplyKind {
    Loaded,
    Stepped,
    Reset,
    /// Only the GAN view's values changed (a new [`Command::SetView`]).
    Viewed,
    /// The run was put back to a recorded step ([`Command::Seek`]).
    Sought,
}

/// What the panel shows of a run's history (particle runs only).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct HistoryInfo {
    /// Steps that can be shown again: first ..= furthest.
    pub first: usize,
    pub furthest: usize,
    /// Memory used and cap, e.g. "history: 31.2 MiB of 256 MiB, every step".
    pub line: String,
}

/// What the worker sends back after a load, a step or a reset, in groups:
/// each group is applied whole to the run component of the same name.
#[derive(Debug)]
pub struct Reply {
    pub run: RunKey,
    pub generation: u64,
    pub kind: ReplyKind,
    /// Where the run is (`RunProgress`).
    pub progress: Progress,
    /// The clouds as the view draws them (`MovingPositions`, `FixedPositions`).
    pub clouds: ProjectedClouds,
    /// Values measured since the last reply (`RunCurves`).
    pub measures: Measures,
    /// The GAN view's values at this state, while the view asks for any (`RunGan`).
    pub gan: Option<GanValues>,
    /// A generator run's losses, comparison and grid; None for particles (`RunGenerator`).
    pub generator: Option<GeneratorReply>,
    /// The run's history, particle runs only (`RunTimeline`).
    pub history: Option<HistoryInfo>,
}

/// Where a run is after the command a reply answers.
#[derive(Debug, Default)]
pub struct Progress {
    /// Steps taken so far.
    pub step_index: usize,
    pub finished: bool,
    pub report: Option<StepReport>,
    /// Steps this reply accounts for.
    pub steps: usize,
    pub step_ms: f64,
    pub eta: Option<f64>,
    /// Non-finite updates dropped since the start.
    pub non_finite: u64,
    /// Why the scene could not start (a generator that cannot be built).
    pub error: Option<String>,
}

/// The clouds projected to 3-D (x, y, z per point).
#[derive(Debug, Default)]
pub struct ProjectedClouds {
    pub moving: Vec<f32>,
    /// Only on `Loaded`.
    pub fixed: Option<Vec<f32>>,
}

/// What was measured while serving the command.
#[derive(Debug, Default)]
pub struct Measures {
    /// Metrics and moving-to-target nearest-neighbour distances, when computed.
    pub metrics: Option<(Metrics, Vec<f64>)>,
    /// Target-to-target nearest-neighbour distances; only on `Loaded`.
    pub fixed_nn: Option<Vec<f64>>,
    /// Every step's metrics computed while serving this request (small
    /// clouds: each step), so fast runs still plot every step.
    pub samples: Vec<MetricSample>,
    /// Divergences (steps done, values), on their cadence.
    pub divergences: Option<(usize, [f64; DIVERGENCES])>,
    /// RectifiedFlow: Tweedie's residual, on the divergences' cadence.
    pub tweedie: Option<f64>,
    /// (steps taken, driver cosine) of each step served by this request
    /// (`Discriminator` drivers only).
    pub cosines: Vec<(usize, f64)>,
}

impl Reply {
    /// A reply that moves nothing: after a load that failed.
    pub(super) fn bare(run: RunKey, generation: u64, kind: ReplyKind) -> Self {
        Reply {
            run,
            generation,
            kind,
            progress: Progress { finished: true, ..Progress::default() },
            clouds: ProjectedClouds::default(),
            measures: Measures::default(),
            gan: None,
            generator: None,
            history: None,
        }
    }
}

/// One row of the metric history.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MetricSample {
    pub step: usize,
    pub cfd: f64,
    pub outlier_fraction: f64,
}

impl MetricSample {
    pub fn of(step: usize, m: &Metrics) -> Self {
        Self { step, cfd: m.cfd, outlier_fraction: m.outlier_fraction }
    }
}
