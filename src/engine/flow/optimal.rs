//! The optimal discriminator on the noise-smoothed proxies, in closed form
//! from the kernel sums (paper eq. 29-31 applied to p_sigma and q_sigma):
//!
//!   h*(z) = log p_sigma(z) - log q_sigma(z),
//!   p_sigma(z) = 1/N sum_j N(z; x_j, sigma^2 I),  q_sigma(z) = 1/M sum_i N(z; y_i, sigma^2 I).
//!
//! The Gaussian normalisers cancel, leaving the difference of two log kernel
//! masses with their 1/N and 1/M. Each mass is a max-shifted log-sum-exp, so
//! h* is finite for any sigma > 0 and any distance. Its gradient times
//! sigma^2 / 2 is the SD displacement 1/2 (D_p(z) - D_q(z)) (eq. 13, 31).

use rayon::prelude::*;

use crate::engine::cloud::Cloud;
use crate::engine::kernel::fast::{KernelImpl, LogSumExp, accumulate};
use crate::engine::kernel::{Centres, inv_two_sigma2};

/// Queries per parallel task.
const ROWS: usize = 64;

/// h*(z) for each row of `queries` (row-major, the clouds' dimension), at
/// kernel variance `sigma2`, over the whole `fixed` (p) and `moving` (q)
/// clouds. Positive where the target is denser than the moving cloud.
pub fn optimal_logits(fixed: &Cloud, moving: &Cloud, sigma2: f64, queries: &[f32]) -> Vec<f64> {
    let dim = fixed.dim();
    let mut out = vec![0.0; queries.len() / dim.max(1)];
    if dim == 0 || fixed.is_empty() || moving.is_empty() || moving.dim() != dim {
        return out;
    }
    let p = Centres::from_points(dim, fixed.as_slice());
    let q = Centres::from_points(dim, moving.as_slice());
    let imp = KernelImpl::detect();
    let inv = inv_two_sigma2(sigma2);
    let (ln_n, ln_m) = ((fixed.len() as f64).ln(), (moving.len() as f64).ln());
    out.par_chunks_mut(ROWS).zip(queries.par_chunks(ROWS * dim)).for_each_init(
        || (vec![0.0f64; dim], vec![0.0f32; dim]),
        |(weighted, mean), (o, zs)| {
            for (h, z) in o.iter_mut().zip(zs.chunks_exact(dim)) {
                let mut log_mass = |c: &Centres| {
                    let mut acc = LogSumExp::default();
                    weighted.iter_mut().for_each(|w| *w = 0.0);
                    accumulate(imp, c, 0..c.len(), z, inv, &mut acc, weighted);
                    acc.finish(weighted, inv, mean)
                };
                *h = (log_mass(&p) - ln_n) - (log_mass(&q) - ln_m);
            }
        },
    );
    out
}
