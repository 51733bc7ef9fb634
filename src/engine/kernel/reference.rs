//! Plain f64 kernel means: the reference the fast paths are tested against.

/// Returns `(log_mass, mean)` of the kernel at `z` over row-major `centres`.
pub fn kernel_mean(z: &[f64], centres: &[f64], dim: usize, sigma2: f64) -> (f64, Vec<f64>) {
    let d2: Vec<f64> =
        centres.chunks_exact(dim).map(|c| c.iter().zip(z).map(|(a, b)| (a - b) * (a - b)).sum()).collect();
    let m = d2.iter().cloned().fold(f64::INFINITY, f64::min);
    let mut mass = 0.0;
    let mut mean = vec![0.0; dim];
    for (c, &d) in centres.chunks_exact(dim).zip(&d2) {
        let w = (-(d - m) / (2.0 * sigma2)).exp();
        mass += w;
        for k in 0..dim {
            mean[k] += w * c[k];
        }
    }
    mean.iter_mut().for_each(|x| *x /= mass);
    (-m / (2.0 * sigma2) + mass.ln(), mean)
}
