//! How far the moving cloud is from the fixed one, measured off the step
//! path: the alignment metrics and CFD (`alignment.rs`, App. E.1, with the
//! phase sums of `trig.rs`), the divergences of the noise-smoothed proxies
//! (`divergence.rs`), the modes of the 25-Gaussian grid (`modes.rs`), Fig. 6's
//! errors of a linear generator (`linear.rs`), and the one rule for which
//! noise level and step size an evaluation after a step uses (`context.rs`).

mod alignment;
mod context;
mod divergence;
mod linear;
mod modes;
mod trig;

pub use alignment::{CFD_FREQUENCIES, MetricProbe, Metrics, percentile, quantile_in_place};
pub use context::StepContext;
pub use divergence::{COUNT as DIVERGENCE_COUNT, DivergenceProbe, Divergences, PROJECTIONS, metrics_every, w2_sorted};
pub use linear::{LinearComparison, compare_linear};
pub use modes::{GRID_MODES, grid25_centres, grid25_counts, grid25_modes_covered};
