//! Free functions: the lab's CFD, the kernel means D(z) of eq. 15, the
//! divergence panel between two clouds, and the CLI's CSV point format.

use std::path::PathBuf;

use numpy::ndarray::Array2;
use numpy::{IntoPyArray, PyArray2, PyReadonlyArray2};
use pyo3::prelude::*;
use pyo3::types::PyDict;
use rayon::prelude::*;
use sdflow::engine::kernel::fast::{KernelImpl, LogSumExp, accumulate};
use sdflow::engine::kernel::{Centres, SIGMA2_RANGE, inv_two_sigma2};
use sdflow::engine::{DivergenceProbe, Divergences, MetricProbe, StepContext};

use crate::arrays::{cloud, same_dimension, to_numpy};
use crate::scene::at_least;
use crate::{Pool, value_error};

/// Queries per parallel task of `kernel_means`.
const CHUNK: usize = 256;

/// `sigma2` if a finite number the f32 kernels represent, else the scene's message.
fn checked_sigma2(sigma2: f64) -> PyResult<f64> {
    let (lo, hi) = SIGMA2_RANGE;
    if !(sigma2.is_finite() && sigma2 > 0.0) {
        return Err(value_error(format!("`sigma2` is {sigma2}; it must be a finite number > 0")));
    }
    if !(lo..=hi).contains(&sigma2) {
        return Err(value_error(format!(
            "`sigma2` is {sigma2}; f32 kernels represent sigma^2 only from {lo:e} to {hi:e}"
        )));
    }
    Ok(sigma2)
}

/// CFD (App. E.1) between clouds `a` and `b`: the mean over `frequencies`
/// frequencies omega ~ N(0, I), drawn from `seed`, of |phi_a - phi_b|.
#[pyfunction]
#[pyo3(signature = (a, b, frequencies=256, seed=0))]
fn cfd(
    py: Python<'_>,
    a: PyReadonlyArray2<'_, f32>,
    b: PyReadonlyArray2<'_, f32>,
    frequencies: i64,
    seed: u64,
) -> PyResult<f64> {
    let (a, b) = (cloud("a", &a)?, cloud("b", &b)?);
    same_dimension(("a", &a), ("b", &b))?;
    let frequencies = at_least("frequencies", frequencies, 1)?;
    Ok(Pool::default().run(py, || MetricProbe::new(&a, seed, frequencies).cfd(&b)))
}

/// Kernel means D(z) = sum_j w_j c_j / sum_j w_j, w_j = exp(-|z - c_j|^2 /
/// (2 sigma2)) (eq. 15: the optimal denoiser of the sigma-smoothed centres)
/// of each query over all centres, as a (Q, d) float32 array.
#[pyfunction]
fn kernel_means<'py>(
    py: Python<'py>,
    queries: PyReadonlyArray2<'py, f32>,
    centres: PyReadonlyArray2<'py, f32>,
    sigma2: f64,
) -> PyResult<Bound<'py, PyArray2<f32>>> {
    let (queries, centres) = (cloud("queries", &queries)?, cloud("centres", &centres)?);
    same_dimension(("centres", &centres), ("queries", &queries))?;
    let inv = inv_two_sigma2(checked_sigma2(sigma2)?);
    let dim = queries.dim();
    let means = Pool::default().run(py, || {
        let imp = KernelImpl::detect();
        let mut c = Centres::default();
        // The direct loop reads the structure-of-arrays copy in any dimension.
        c.set_matrix_products(false);
        c.fill(dim, centres.as_slice(), None);
        let mut means = vec![0.0f32; queries.as_slice().len()];
        means.par_chunks_mut(CHUNK * dim).zip(queries.as_slice().par_chunks(CHUNK * dim)).for_each(|(out, zs)| {
            let mut weighted = vec![0.0f64; dim];
            for (mean, z) in out.chunks_exact_mut(dim).zip(zs.chunks_exact(dim)) {
                let mut acc = LogSumExp::default();
                weighted.fill(0.0);
                accumulate(imp, &c, 0..c.len(), z, inv, &mut acc, &mut weighted);
                acc.finish(&mut weighted, inv, mean);
            }
        });
        means
    });
    let array = Array2::from_shape_vec((queries.len(), dim), means).map_err(|e| value_error(e.to_string()))?;
    Ok(array.into_pyarray(py))
}

/// Every divergence of the moving cloud `q` against the target `p` at noise
/// level `sigma2`, keyed by the CLI's column names. `held_out`, a second
/// sample of p's data, fills `cfd_heldout`, `cfd_floor` and `memorization`
/// (NaN without it); the KL rates need a run and are NaN here.
#[pyfunction]
#[pyo3(signature = (q, p, sigma2, seed=0, held_out=None, frequencies=256))]
fn divergences<'py>(
    py: Python<'py>,
    q: PyReadonlyArray2<'py, f32>,
    p: PyReadonlyArray2<'py, f32>,
    sigma2: f64,
    seed: u64,
    held_out: Option<PyReadonlyArray2<'py, f32>>,
    frequencies: i64,
) -> PyResult<Bound<'py, PyDict>> {
    let (q, p) = (cloud("q", &q)?, cloud("p", &p)?);
    same_dimension(("p", &p), ("q", &q))?;
    let held_out = held_out.map(|h| cloud("held_out", &h)).transpose()?;
    if let Some(h) = &held_out {
        same_dimension(("p", &p), ("held_out", h))?;
    }
    let frequencies = at_least("frequencies", frequencies, 1)?;
    let ctx = StepContext { steps_done: 0, sigma2: checked_sigma2(sigma2)?, sd_eta: None };
    let values = Pool::default()
        .run(py, || DivergenceProbe::new(&p, held_out.as_ref(), seed, frequencies).evaluate(&q, ctx).values());
    let dict = PyDict::new(py);
    for (name, v) in Divergences::NAMES.iter().zip(values) {
        dict.set_item(name, v)?;
    }
    Ok(dict)
}

/// Reads a point cloud from CSV as scenes do (header line and `#` comments
/// allowed), as an (n, d) float32 array.
#[pyfunction]
fn read_points<'py>(py: Python<'py>, path: PathBuf) -> PyResult<Bound<'py, PyArray2<f32>>> {
    let points = sdflow::scene::read_points(&path).map_err(value_error)?;
    to_numpy(py, &points)
}

/// Writes an (n, d) cloud as CSV (`sdflow run --points`'s format): each
/// coordinate the shortest decimal that reads back to the same float32.
#[pyfunction]
fn write_points(path: PathBuf, points: PyReadonlyArray2<'_, f32>) -> PyResult<()> {
    let points = cloud("points", &points)?;
    sdflow::scene::write_points(&path, &points).map_err(|e| pyo3::exceptions::PyOSError::new_err(e.to_string()))
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(cfd, m)?)?;
    m.add_function(wrap_pyfunction!(kernel_means, m)?)?;
    m.add_function(wrap_pyfunction!(divergences, m)?)?;
    m.add_function(wrap_pyfunction!(read_points, m)?)?;
    m.add_function(wrap_pyfunction!(write_points, m)?)?;
    Ok(())
}
