//! The flow worker: a thread that owns every run's simulation or trainer and
//! its own rayon pool. Nothing here is an ECS type; Bevy's end of the
//! channels is `run::link`.
//!
//! - [`protocol`]: the [`Command`]s Bevy sends and the [`Reply`]s it gets;
//! - [`project`]: clouds projected to the 3-D the view draws;
//! - [`thread`]: the worker loop, one slot per run, the metrics cadence;
//! - [`gan`]: the worker half of the GAN view (h and h* values, the grid);
//! - [`generator`]: a generator run (Algorithm 2) beside the particle one.

mod gan;
mod generator;
mod project;
mod protocol;
mod thread;

pub use gan::{
    Field, GRID_CELLS, GRID_INTERVAL, GanState, GanValues, GridLayout, GridValues, MIN_RANGE, RANGE_PERCENTILE,
    ViewRequest, WorkerView, field_at, robust_range,
};
pub use generator::{
    GRID_EXTENT, GRID_LINES, GRID_SAMPLES, GeneratorInfo, GeneratorReply, GeneratorRun, MAX_SAMPLES, Run,
    project_points,
};
pub use project::project3;
pub use protocol::{
    Command, HistoryInfo, Load, MAX_STEPS_PER_REQUEST, Measures, MetricSample, Progress, ProjectedClouds, Reply,
    ReplyKind, RunKey, STEP_BUDGET,
};
pub use thread::spawn;
