//! `sdflow._sdflow`: the compiled half of the Python package. It wraps the
//! engine's public API (scenes, simulations, generator training, metrics)
//! for the thin pure-Python layer in `sdflow/__init__.py`, which adds the
//! keyword constructors, `over_seeds` and `show`.
//!
//! Rules kept at this boundary:
//! - bad input is a Python exception with the CLI's words (`ValueError` or
//!   its subclass `SceneError`), never a panic: every check the engine
//!   asserts is made here first;
//! - steps and metric evaluations run with the GIL released (`py.detach`),
//!   so rayon uses every core, and a long `run` checks for Ctrl-C between
//!   steps.

mod arrays;
mod columns;
mod functions;
mod scene;
mod sim;
mod train;

use std::sync::Arc;

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyList;
use sdflow::scene::SceneError as EngineSceneError;

pyo3::create_exception!(
    _sdflow,
    SceneError,
    PyValueError,
    "A scene that cannot be used. The message has one `file:line:column: what to change` line per problem; \
     `problems` holds them as (line, column, message) tuples."
);

/// A [`SceneError`] exception carrying the engine error's text and problems.
fn scene_error(py: Python<'_>, e: &EngineSceneError) -> PyErr {
    let err = SceneError::new_err(e.to_string());
    let problems: Vec<(usize, usize, String)> =
        e.problems.iter().map(|p| (p.line, p.column, p.message.clone())).collect();
    // Attaching the list can only fail on memory exhaustion; the message
    // alone still says everything then.
    if let Ok(list) = PyList::new(py, problems) {
        let _ = err.value(py).setattr("problems", list);
    }
    err
}

fn value_error(message: impl Into<String>) -> PyErr {
    PyValueError::new_err(message.into())
}

/// An optional dedicated rayon pool (`threads=`), else the global one.
#[derive(Clone, Default)]
struct Pool(Option<Arc<rayon::ThreadPool>>);

impl Pool {
    fn new(threads: Option<usize>) -> PyResult<Self> {
        match threads {
            None => Ok(Self(None)),
            Some(0) => Err(value_error("`threads` is 0; give at least 1, or None for one per core")),
            Some(n) => rayon::ThreadPoolBuilder::new()
                .num_threads(n)
                .build()
                .map(|p| Self(Some(Arc::new(p))))
                .map_err(|e| value_error(format!("cannot start {n} threads: {e}"))),
        }
    }

    /// Runs `f` without the GIL, in this pool.
    fn run<T: Send>(&self, py: Python<'_>, f: impl FnOnce() -> T + Send) -> T {
        py.detach(|| match &self.0 {
            Some(pool) => pool.install(f),
            None => f(),
        })
    }
}

#[pymodule]
fn _sdflow(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("SceneError", m.py().get_type::<SceneError>())?;
    m.add("REPO_DIR", concat!(env!("CARGO_MANIFEST_DIR"), "/.."))?;
    m.add("METRIC_NAMES", sdflow::engine::Metrics::NAMES.to_vec())?;
    m.add("DIVERGENCE_NAMES", sdflow::engine::Divergences::NAMES.to_vec())?;
    m.add("DIVERGENCE_EXPLANATIONS", sdflow::engine::Divergences::EXPLANATIONS.to_vec())?;
    m.add("HEAD_NAMES", sdflow::export::history::StepHead::NAMES.to_vec())?;
    m.add_class::<sim::SimCore>()?;
    m.add_class::<train::TrainCore>()?;
    functions::register(m)?;
    Ok(())
}
