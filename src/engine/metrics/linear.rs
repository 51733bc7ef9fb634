//! Fig. 6's errors (a metric of generator training): a trained linear generator against the true B and mu of
//! a `LinearGaussian` target.

use crate::engine::datasets::LinearTruth;

use crate::engine::training::LinearGenerator;

/// Fig. 6's comparison of a linear generator with the true B and mu.
#[derive(Clone, Debug, PartialEq)]
pub struct LinearComparison {
    /// (mu_k, mu_hat_k) for each coordinate: the left panel.
    pub offset_pairs: Vec<(f64, f64)>,
    /// ((B B^T)_ab, (B_hat B_hat^T)_ab) for a <= b: the centre panel.
    pub covariance_pairs: Vec<(f64, f64)>,
    /// |mu_hat - mu| / |mu|.
    pub offset_error: f64,
    /// |B_hat B_hat^T - B B^T|_F / |B B^T|_F.
    pub covariance_error: f64,
}

/// Compares a linear generator with the truth; None when the dimensions differ.
pub fn compare_linear(generator: &LinearGenerator, truth: &LinearTruth) -> Option<LinearComparison> {
    if generator.dim() != truth.dim {
        return None;
    }
    let d = truth.dim;
    let (cov_hat, cov) = (generator.covariance(), truth.covariance());
    let offset_pairs: Vec<(f64, f64)> =
        truth.offset.iter().zip(generator.offset()).map(|(&a, &b)| (a, b as f64)).collect();
    let mut covariance_pairs = Vec::with_capacity(d * (d + 1) / 2);
    for a in 0..d {
        for b in a..d {
            covariance_pairs.push((cov[a * d + b], cov_hat[a * d + b]));
        }
    }
    let norm = |v: &mut dyn Iterator<Item = f64>| v.map(|x| x * x).sum::<f64>().sqrt();
    let offset_error = norm(&mut offset_pairs.iter().map(|(a, b)| b - a)) / norm(&mut truth.offset.iter().copied());
    let covariance_error =
        norm(&mut cov.iter().zip(&cov_hat).map(|(a, b)| b - a)) / norm(&mut cov.iter().copied()).max(f64::MIN_POSITIVE);
    Some(LinearComparison { offset_pairs, covariance_pairs, offset_error, covariance_error })
}
