//! The flows: what moves a point, given the clouds. Per-point formulas
//! (`formulas.rs`: [`Method`], [`StepSize`], [`Bandwidth`], [`apply`], ...,
//! paper eq. 13, 16, 42, 43), the batched kernel displacements both
//! algorithms run (`displace.rs`), the [`Drift`] seam of Algorithm 2 with its
//! kernel and discriminator implementations (`drift.rs`), the neural
//! discriminator of the GAN view (`discriminator.rs`, eq. 28-32), the optimal
//! discriminator h* (`optimal.rs`) and the ideal rectified flow
//! (`rectified.rs`).
//!
//! Adding a flow method means editing one file here, `formulas.rs`: one arm
//! of the [`Method`] enum and its arm in [`displacement`]. Everything else
//! (the particle step, the kernel drift of generator training) goes through
//! [`displacement`] already.
//!
//! Nothing here knows about particle runs or training runs: `particles/` and
//! `training/` import this module, never the other way round.

mod discriminator;
mod displace;
mod drift;
mod formulas;
mod optimal;
mod rectified;

pub use discriminator::{Discriminator, Driver, GanLoss, mean_cosine};
pub(crate) use discriminator::{discriminator_seed, update_stream};
pub(crate) use displace::{CHUNK, Displace, Source};
pub use drift::{DiscriminatorDrift, Drift, DriftInput, DriftReport, KernelDrift, KernelPath};
pub use formulas::{
    Bandwidth, COORD_LIMIT, CutOff, Direction, KernelTerms, Method, Rho, StepSize, apply, displacement,
};
pub use optimal::optimal_logits;
pub(crate) use rectified::euler_step;
pub use rectified::{tweedie_residual, tweedie_score, velocity};
