//! The pure engine: clouds, kernels, flows, schedules, datasets and metrics.
//! No Bevy types; everything here is usable from the headless runner, the
//! benchmark and the app alike.

pub mod brush;
pub mod cloud;
pub mod datasets;
pub mod divergence;
pub mod flow;
pub mod kernel;
pub mod metrics;
pub mod modes;
pub mod neighbors;
pub mod nn;
pub mod particles;
pub mod rng;
pub mod schedule;
pub mod training;
pub mod trig;

pub use cloud::Cloud;
pub use datasets::Dataset;
pub use divergence::{DivergenceProbe, Divergences, StepContext};
pub use flow::{Bandwidth, CutOff, Direction, Method, Rho, StepSize};
pub use flow::{Discriminator, Driver, GanLoss, KernelPath};
pub use metrics::{MetricProbe, Metrics};
pub use particles::{FlowSettings, SimSnapshot, Simulation, StepReport, Timeline, TimelineError};
pub use schedule::Schedule;
pub use training::{Generator, Model, TrainReport, TrainSettings, Trainer};

// Old paths, kept until src/app moves to the new ones.
#[cfg(feature = "app")]
pub(crate) mod generator {
    pub(crate) use super::training::{LinearComparison, compare_linear};
}
#[cfg(feature = "app")]
pub(crate) mod timeline {
    pub(crate) use super::particles::{DEFAULT_CAP_BYTES, Timeline};
}
#[cfg(feature = "app")]
pub(crate) mod optimal {
    pub(crate) use super::flow::optimal_logits;
}
#[cfg(feature = "app")]
pub(crate) mod rectified {
    /// Now [`super::Simulation::tweedie_residual`].
    pub(crate) fn tweedie_residual(sim: &super::Simulation) -> Option<f64> {
        sim.tweedie_residual()
    }
}
