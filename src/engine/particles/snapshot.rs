//! What a particle run's state between two steps is made of: [`SimSnapshot`]
//! (taken by `Simulation::snapshot`, put back by `Simulation::restore`), the
//! [`RunIdentity`] a snapshot belongs to, and why a restore can fail. Plain
//! data, apart from the simulation and the timeline, so both import it.

use std::fmt;
use std::mem::size_of;

use crate::engine::flow::{Discriminator, Driver};

use super::settings::FlowSettings;

/// What tells runs apart for snapshots: a snapshot restores only into a run
/// with the same seed and cloud sizes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RunIdentity {
    pub seed: u64,
    pub dim: usize,
    pub fixed: usize,
    pub moving: usize,
}

impl fmt::Display for RunIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "seed {}, {} fixed and {} moving points in {} dimensions",
            self.seed, self.fixed, self.moving, self.dim
        )
    }
}

/// Why a step cannot be restored.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum TimelineError {
    #[error("the history is empty; record the loaded state first (Timeline::record)")]
    Empty,
    #[error("step {step} is not in the history, which holds steps {first} to {furthest}; play on to reach later steps")]
    OutOfRange { step: usize, first: usize, furthest: usize },
    #[error(
        "the snapshot belongs to another run ({snapshot}), not this one ({run}); clear the history when a scene loads"
    )]
    OtherRun { snapshot: RunIdentity, run: RunIdentity },
    #[error("the replay stopped at step {at}, before step {target}: the run's `steps` ended it")]
    Finished { at: usize, target: usize },
}

/// The state of a [`Simulation`] between two steps: everything that shapes
/// the steps after it. Taken by [`Simulation::snapshot`], put back by
/// [`Simulation::restore`].
#[derive(Clone, Debug, Default)]
pub struct SimSnapshot {
    pub(crate) identity: RunIdentity,
    pub(crate) step: usize,
    /// Moving points, row-major.
    pub(crate) moving: Vec<f32>,
    pub(crate) auto_eta: Option<f64>,
    pub(crate) non_finite: u64,
    pub(crate) settings: FlowSettings,
    /// Weights and optimiser state, without the per-update buffers.
    pub(crate) discriminator: Option<Discriminator>,
}

impl SimSnapshot {
    /// Steps taken when the snapshot was taken.
    pub fn step(&self) -> usize {
        self.step
    }

    /// The moving points, row-major.
    pub fn moving(&self) -> &[f32] {
        &self.moving
    }

    /// Bytes held.
    pub fn bytes(&self) -> usize {
        size_of::<Self>()
            + self.moving.capacity() * size_of::<f32>()
            + settings_heap(&self.settings)
            + self.discriminator.as_ref().map_or(0, Discriminator::state_bytes)
    }
}

/// Heap bytes of settings (the discriminator's layer widths).
pub(super) fn settings_heap(settings: &FlowSettings) -> usize {
    match &settings.driver {
        Driver::Kernel => 0,
        Driver::Discriminator { hidden, .. } => hidden.capacity() * size_of::<usize>(),
    }
}
