//! Gaussian-kernel weighted means, the building block of every flow.
//!
//! For a query z, centres c_1..c_n and bandwidth sigma, the kernel mean is
//!
//!   D(z) = sum_j w_j c_j / sum_j w_j,   w_j = exp(-|z - c_j|^2 / (2 sigma^2)),
//!
//! the optimal denoiser of the noise-smoothed empirical distribution (paper
//! eq. 13 / eq. 15). Every sum is a max-shifted log-sum-exp: weights are taken
//! relative to the nearest centre, so the largest is exactly 1 and the sum
//! never underflows, whatever sigma > 0 and however far the query is.
//! `log_mass = ln sum_j w_j` (unshifted) is returned alongside for MMD flow.
//!
//! [`reference`] is a plain f64 implementation the fast paths are tested
//! against; [`fast`] is the vectorised f32 kernel (its intrinsics in
//! `simd.rs`, the pieces both versions share in `lanes.rs`); [`cells`] is the
//! cut-off path for small bandwidths; [`gemm`] sums many queries at once by
//! matrix products in high dimensions. `centres.rs` holds the centre layouts
//! they all read ([`Centres`], [`gemm::RowCentres`]).
//!
//! This file only declares the modules and re-exports their surface: the
//! files import one another (lanes <- centres <- simd <- fast <- gemm, cells),
//! never this one.

pub mod cells;
mod centres;
pub mod fast;
pub mod gemm;
mod lanes;
pub mod reference;
mod simd;

pub use centres::{Centres, SIGMA2_RANGE, inv_two_sigma2};
