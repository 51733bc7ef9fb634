//! `SimCore`: one particle flow (paper Algorithm 1) for Python, built the
//! way `sdflow run` builds it (`Scene::simulation` with the run's seed), so
//! its points match the CLI's bit for bit. `run` records the `--metrics`
//! columns: the CLI's head (`step`, `sigma2`, ...), the alignment metrics,
//! the divergences and the GAN view's columns.

use std::path::PathBuf;
use std::time::Instant;

use numpy::{PyArray1, PyArray2, PyReadonlyArray2};
use pyo3::prelude::*;
use pyo3::types::PyDict;
use sdflow::cli::gan::GanColumns;
use sdflow::engine::{DivergenceProbe, Divergences, MetricProbe, Metrics, Simulation, StepContext, StepReport};
use sdflow::scene::write_points;

use crate::arrays::{self, cloud, to_numpy};
use crate::columns::{Columns, head_names};
use crate::scene::{Loaded, at_least, fits_in_memory, scene_ron};
use crate::{Pool, value_error};

/// The probes of `run`, built on its first call (they cost a k-d tree and
/// an N^2 sum over the fixed cloud) and kept, so the measured KL rate
/// spans calls.
struct Probes {
    metrics: MetricProbe,
    divergences: DivergenceProbe,
}

/// A particle flow between two clouds.
#[pyclass(module = "sdflow._sdflow")]
pub struct SimCore {
    loaded: Loaded,
    sim: Simulation,
    gan: GanColumns,
    probes: Option<Probes>,
    last: Option<StepReport>,
    step_seconds: f64,
    pool: Pool,
}

impl SimCore {
    fn new(loaded: Loaded, threads: Option<usize>) -> PyResult<Self> {
        if loaded.file.scene.model.is_some() {
            return Err(value_error(format!(
                "{}: the scene trains a generator (`model`); use sdflow.Trainer for it",
                loaded.file.path.display()
            )));
        }
        let sim = loaded.file.scene.simulation(&loaded.clouds, loaded.seed);
        let gan = GanColumns::new(&loaded.file.scene);
        Ok(Self { loaded, sim, gan, probes: None, last: None, step_seconds: 0.0, pool: Pool::new(threads)? })
    }

    /// One step without the GIL; records what the GAN columns need.
    fn step_once(&mut self, py: Python<'_>) -> Option<StepReport> {
        let sim = &mut self.sim;
        let (report, seconds) = self.pool.run(py, || {
            let t = Instant::now();
            let report = sim.step();
            (report, t.elapsed().as_secs_f64())
        });
        if let Some(r) = &report {
            self.step_seconds += seconds;
            self.gan.record(r.driver_cosine);
            self.last = Some(*r);
        }
        report
    }

    /// One row: the head of the last step (or of the start), then metrics,
    /// divergences and GAN values, evaluated as the CLI's recorder does.
    fn record(&mut self, py: Python<'_>, columns: &mut Columns) {
        let settings = self.sim.settings().clone();
        let steps_done = self.sim.step_index();
        let start_sigma2 = settings.schedule.sigma2(0, settings.steps);
        let (sigma2, kernel_sigma2, eta, path) = match &self.last {
            Some(r) => (r.sigma2, r.kernel_sigma2, r.eta, r.path.name()),
            None => {
                (start_sigma2, settings.bandwidth.kernel_sigma2(start_sigma2), self.sim.eta().unwrap_or(f64::NAN), "")
            }
        };
        let ms = if steps_done > 0 { self.step_seconds * 1e3 / steps_done as f64 } else { f64::NAN };
        // The proxies' noise level and the KL identity's step size, as the
        // CLI's recorder takes them.
        let ctx = StepContext::after(&self.sim, self.last.as_ref());
        let (sim, loaded, probes) = (&self.sim, &self.loaded, &mut self.probes);
        let (metrics, divergences) = self.pool.run(py, || {
            let probes = probes.get_or_insert_with(|| {
                let (seed, frequencies) = (loaded.seed, loaded.file.scene.cfd_frequencies);
                let held_out = loaded.file.held_out(seed);
                Probes {
                    metrics: MetricProbe::new(sim.fixed(), seed, frequencies),
                    divergences: DivergenceProbe::new(sim.fixed(), held_out.as_ref(), seed, frequencies),
                }
            });
            (probes.metrics.evaluate(sim.moving()).0, probes.divergences.evaluate(sim.moving(), ctx))
        });
        let gan = self.gan.values(self.sim.moving()).into_iter().map(|v| v.parse().unwrap_or(f64::NAN));
        let head = [sigma2, kernel_sigma2, eta, ms];
        columns.push(steps_done, path, head.into_iter().chain(metrics.values()).chain(divergences.values()).chain(gan));
    }
}

#[pymethods]
impl SimCore {
    /// Reads a scene file as `sdflow run` does; `seed` and `steps` override
    /// the scene's.
    #[staticmethod]
    #[pyo3(signature = (path, seed=None, steps=None, threads=None))]
    fn from_scene(
        py: Python<'_>,
        path: PathBuf,
        seed: Option<u64>,
        steps: Option<i64>,
        threads: Option<usize>,
    ) -> PyResult<Self> {
        Self::new(crate::scene::from_file(py, &path, seed, steps)?, threads)
    }

    /// Parses scene text (`label` names it in messages); `target` and
    /// `source` arrays replace those fields' clouds.
    #[staticmethod]
    #[pyo3(signature = (text, label, target=None, source=None, threads=None))]
    fn from_text(
        py: Python<'_>,
        text: String,
        label: &str,
        target: Option<PyReadonlyArray2<'_, f32>>,
        source: Option<PyReadonlyArray2<'_, f32>>,
        threads: Option<usize>,
    ) -> PyResult<Self> {
        let target = target.map(|a| cloud("target", &a)).transpose()?;
        let source = source.map(|a| cloud("source", &a)).transpose()?;
        Self::new(crate::scene::from_text(py, text, label, target, source, None)?, threads)
    }

    /// One step; False (and nothing done) once every step is taken.
    fn step(&mut self, py: Python<'_>) -> bool {
        self.step_once(py).is_some()
    }

    /// Takes `steps` more steps (None: to the end), recording a row now,
    /// every `metrics_every` steps and after the last step; with
    /// `record_every` also the moving points at those steps.
    #[pyo3(signature = (steps=None, metrics_every=10, record_every=None))]
    fn run<'py>(
        &mut self,
        py: Python<'py>,
        steps: Option<i64>,
        metrics_every: i64,
        record_every: Option<i64>,
    ) -> PyResult<Bound<'py, PyDict>> {
        let every = at_least("metrics_every", metrics_every, 1)?;
        let frame_every = record_every.map(|k| at_least("record_every", k, 1)).transpose()?;
        let total = self.sim.settings().steps;
        let end = match steps {
            Some(k) => (self.sim.step_index() + at_least("steps", k, 0)?).min(total),
            None => total,
        };
        if let Some(k) = frame_every {
            let frames = 2 + (end - self.sim.step_index()) / k;
            let cloud = self.sim.moving().as_slice().len();
            fits_in_memory(
                (frames * cloud) as f64,
                &format!("{frames} frames of the moving cloud"),
                "raise `record_every`",
            )?;
        }
        let mut names = head_names();
        names.extend(Metrics::NAMES);
        names.extend(Divergences::NAMES);
        names.extend(self.gan.names());
        let mut columns = Columns::new(names);
        let (mut frames, mut frame_steps) = (Vec::new(), Vec::new());
        let mut frame = |sim: &Simulation| {
            frames.extend_from_slice(sim.moving().as_slice());
            frame_steps.push(sim.step_index() as i64);
        };
        self.record(py, &mut columns);
        if frame_every.is_some() {
            frame(&self.sim);
        }
        while self.sim.step_index() < end {
            if self.step_once(py).is_none() {
                break;
            }
            // Ctrl-C lands here, between steps.
            py.check_signals()?;
            let done = self.sim.step_index();
            if done.is_multiple_of(every) || done == end {
                self.record(py, &mut columns);
            }
            if frame_every.is_some_and(|k| done.is_multiple_of(k) || done == end) {
                frame(&self.sim);
            }
        }
        let dict = columns.into_dict(py)?;
        if frame_every.is_some() {
            let (m, d) = (self.sim.moving().len(), self.sim.moving().dim());
            dict.set_item("points", arrays::frames_to_numpy(py, frames, m, d)?)?;
            dict.set_item("points_step", PyArray1::from_vec(py, frame_steps))?;
        }
        Ok(dict)
    }

    /// The moving cloud, an (M, d) float32 copy.
    #[getter]
    fn points<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyArray2<f32>>> {
        to_numpy(py, self.sim.moving())
    }

    /// The cloud the flow aims at (the target, or the source in reverse).
    #[getter]
    fn fixed<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyArray2<f32>>> {
        to_numpy(py, self.sim.fixed())
    }

    /// The scene's target cloud as it started.
    #[getter]
    fn target<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyArray2<f32>>> {
        to_numpy(py, &self.loaded.clouds.target)
    }

    /// The scene's source cloud as it started.
    #[getter]
    fn source<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyArray2<f32>>> {
        to_numpy(py, &self.loaded.clouds.source)
    }

    #[getter]
    fn step_index(&self) -> usize {
        self.sim.step_index()
    }

    #[getter]
    fn steps(&self) -> usize {
        self.sim.settings().steps
    }

    #[getter]
    fn finished(&self) -> bool {
        self.sim.is_finished()
    }

    #[getter]
    fn seed(&self) -> u64 {
        self.loaded.seed
    }

    /// The step size in force (None before an `Auto` step size's first step).
    #[getter]
    fn eta(&self) -> Option<f64> {
        self.sim.eta()
    }

    /// Non-finite updates dropped so far (0 in a healthy run).
    #[getter]
    fn non_finite(&self) -> u64 {
        self.sim.non_finite()
    }

    #[getter]
    fn name(&self) -> String {
        self.loaded.file.scene.name.clone()
    }

    /// What the scene asks that its method will not do (the CLI's warnings).
    fn warnings(&self) -> Vec<String> {
        self.loaded.file.scene.warnings()
    }

    /// The scene as run (its seed and steps), as RON text.
    fn scene_ron(&self) -> PyResult<String> {
        scene_ron(&self.loaded, false)
    }

    /// Back to the start: step 0, the starting points.
    fn reset(&mut self) {
        self.sim.reset();
        self.gan = GanColumns::new(&self.loaded.file.scene);
        self.probes = None;
        self.last = None;
        self.step_seconds = 0.0;
    }

    /// Writes `scene.ron` (the scene as run, its clouds as CSV files beside
    /// it), `target.csv`, `source.csv` and `points.csv` (the moving cloud
    /// now) into the existing folder `folder`.
    fn save_for_app(&self, folder: PathBuf) -> PyResult<()> {
        let io = |e: sdflow::export::SaveError| pyo3::exceptions::PyOSError::new_err(e.to_string());
        write_points(&folder.join("target.csv"), &self.loaded.clouds.target).map_err(io)?;
        if self.loaded.file.scene.source.is_some() {
            write_points(&folder.join("source.csv"), &self.loaded.clouds.source).map_err(io)?;
        }
        write_points(&folder.join("points.csv"), self.sim.moving()).map_err(io)?;
        let text = scene_ron(&self.loaded, true)?;
        std::fs::write(folder.join("scene.ron"), text)
            .map_err(|e| pyo3::exceptions::PyOSError::new_err(format!("cannot write {}: {e}", folder.display())))
    }
}
