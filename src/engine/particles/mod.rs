//! Particle flows (paper Algorithm 1): a fixed cloud, a moving one, and the
//! step loop that moves it (`simulation.rs`), with its settings
//! (`settings.rs`), the snapshots of its state (`snapshot.rs`) and the
//! history of snapshots that lets a run go back to any earlier step
//! (`timeline.rs`). What moves a point comes from `engine/flow`.

mod settings;
mod simulation;
mod snapshot;
#[cfg(test)]
mod step_reference;
mod timeline;

pub use settings::FlowSettings;
pub use simulation::{Simulation, StepReport};
pub use snapshot::{RunIdentity, SimSnapshot, TimelineError};
pub use timeline::{DEFAULT_CAP_BYTES, Timeline};
