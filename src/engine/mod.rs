//! The pure engine: clouds, kernels, flows, schedules, datasets and metrics.
//! No Bevy types; everything here is usable from the headless runner, the
//! benchmark and the app alike.
//!
//! Layers, each importing only those above it:
//! - [`rng`], `cloud.rs`, [`datasets`], `schedule.rs`, [`kernel`] (the kernel
//!   sums), `neighbors.rs` (nearest-neighbour distances), [`nn`] (small dense
//!   networks), [`brush`];
//! - [`flow`]: what moves a point (formulas, displacements, drifts, the
//!   discriminator, h*, rectified flow);
//! - [`particles`] (Algorithm 1) and [`training`] (Algorithm 2);
//! - [`metrics`]: what a run is measured by;
//! - `run.rs`: a particle run or a training run behind one type ([`Run`]).

pub mod brush;
mod cloud;
pub mod datasets;
pub mod flow;
pub mod kernel;
pub mod metrics;
mod neighbors;
pub mod nn;
pub mod particles;
pub mod rng;
mod run;
mod schedule;
pub mod training;

pub use cloud::Cloud;
pub use datasets::Dataset;
pub use flow::{Bandwidth, CutOff, Direction, Method, Rho, StepSize};
pub use flow::{Discriminator, Driver, GanLoss, KernelPath};
pub use metrics::{DivergenceProbe, Divergences, MetricProbe, Metrics, StepContext};
pub use particles::{FlowSettings, SimSnapshot, Simulation, StepReport, Timeline, TimelineError};
pub use run::{Run, RunReport};
pub use schedule::{Schedule, ScheduleError};
pub use training::{Generator, Model, TrainError, TrainReport, TrainSettings, Trainer};
