//! The settings of a particle flow (paper Algorithm 1): everything that
//! shapes the flow apart from the clouds. The scene builds them, the
//! simulation steps with them, snapshots and the timeline keep them.

use crate::engine::flow::{Bandwidth, CutOff, Driver, Method, Rho, StepSize};
use crate::engine::schedule::Schedule;

/// Everything that shapes the flow, apart from the clouds.
#[derive(Clone, Debug, PartialEq)]
pub struct FlowSettings {
    pub method: Method,
    pub schedule: Schedule,
    pub steps: usize,
    pub step_size: StepSize,
    pub batch: Option<usize>,
    pub bandwidth: Bandwidth,
    pub cutoff: CutOff,
    /// SdDenoiser's rho (eq. 16, Section 5); other methods ignore it.
    pub rho: Rho,
    /// What gives the direction: the kernel sums or a trained discriminator.
    pub driver: Driver,
}

impl Default for FlowSettings {
    fn default() -> Self {
        Self {
            method: Method::Sd,
            schedule: Schedule::default(),
            steps: 500,
            step_size: StepSize::default(),
            batch: None,
            bandwidth: Bandwidth::Tied,
            cutoff: CutOff::Auto,
            rho: Rho::StepSize,
            driver: Driver::Kernel,
        }
    }
}
