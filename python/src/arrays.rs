//! NumPy arrays in and out: checked conversion to engine clouds (shape,
//! finiteness) with messages that name the argument, and copies back.

use numpy::ndarray::{Array2, Array3};
use numpy::{IntoPyArray, PyArray2, PyArray3, PyReadonlyArray2};
use pyo3::prelude::*;
use sdflow::engine::Cloud;

use crate::value_error;

/// A cloud from an (n, d) float32 array: n >= 1 points, d >= 1, all finite.
/// `role` names the argument in messages ("target", "queries", ...).
pub fn cloud(role: &str, array: &PyReadonlyArray2<'_, f32>) -> PyResult<Cloud> {
    let view = array.as_array();
    let (n, d) = view.dim();
    if n == 0 || d == 0 {
        return Err(value_error(format!(
            "{role}: the array has shape ({n}, {d}); give at least one point of at least one coordinate"
        )));
    }
    // Logical (row-major) order whatever the memory layout.
    let data: Vec<f32> = view.iter().copied().collect();
    if let Some(k) = data.iter().position(|x| !x.is_finite()) {
        return Err(value_error(format!(
            "{role}: point {}, coordinate {} is `{}`; coordinates must be finite",
            k / d,
            k % d,
            data[k]
        )));
    }
    Ok(Cloud::new(d, data))
}

/// An (n, d) float32 copy of `cloud`.
pub fn to_numpy<'py>(py: Python<'py>, cloud: &Cloud) -> PyResult<Bound<'py, PyArray2<f32>>> {
    let shape = (cloud.len(), cloud.dim());
    let array = Array2::from_shape_vec(shape, cloud.as_slice().to_vec()).map_err(|e| value_error(e.to_string()))?;
    Ok(array.into_pyarray(py))
}

/// Frames of `moving` points in `dim` dimensions as a (T, M, d) float32 array.
pub fn frames_to_numpy<'py>(
    py: Python<'py>,
    frames: Vec<f32>,
    moving: usize,
    dim: usize,
) -> PyResult<Bound<'py, PyArray3<f32>>> {
    let count = frames.len() / (moving * dim).max(1);
    let array = Array3::from_shape_vec((count, moving, dim), frames).map_err(|e| value_error(e.to_string()))?;
    Ok(array.into_pyarray(py))
}

/// Rejects a second cloud whose dimension differs, in the CLI's words.
pub fn same_dimension(first: (&str, &Cloud), second: (&str, &Cloud)) -> PyResult<()> {
    if first.1.dim() != second.1.dim() {
        return Err(value_error(format!(
            "{} has dimension {} but {} has {}; both clouds must live in one space",
            second.0,
            second.1.dim(),
            first.0,
            first.1.dim()
        )));
    }
    Ok(())
}
