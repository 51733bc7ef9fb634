//! The history `run` returns: one row per evaluation, as a dict of 1-D
//! NumPy arrays keyed by the CLI's `--metrics` column names.

use numpy::PyArray1;
use pyo3::prelude::*;
use pyo3::types::PyDict;
use sdflow::export::history::StepHead;

/// The numeric head columns of the CLI's rows (`step` and `path` are kept apart).
pub fn head_names() -> Vec<&'static str> {
    StepHead::NAMES.iter().copied().filter(|n| !matches!(*n, "step" | "path")).collect()
}

/// The columns `run` returns, filled row by row.
#[derive(Default)]
pub struct Columns {
    names: Vec<&'static str>,
    step: Vec<i64>,
    path: Vec<&'static str>,
    /// One vector per name after `step` and `path`.
    values: Vec<Vec<f64>>,
}

impl Columns {
    /// Columns `step`, `path` and `names`.
    pub fn new(names: Vec<&'static str>) -> Self {
        let values = vec![Vec::new(); names.len()];
        Self { names, values, ..Self::default() }
    }

    pub fn push(&mut self, step: usize, path: &'static str, values: impl IntoIterator<Item = f64>) {
        self.step.push(step as i64);
        self.path.push(path);
        for (column, v) in self.values.iter_mut().zip(values) {
            column.push(v);
        }
    }

    pub fn into_dict<'py>(self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let dict = PyDict::new(py);
        dict.set_item("step", PyArray1::from_vec(py, self.step))?;
        dict.set_item("path", self.path)?;
        for (name, column) in self.names.into_iter().zip(self.values) {
            dict.set_item(name, PyArray1::from_vec(py, column))?;
        }
        Ok(dict)
    }
}
