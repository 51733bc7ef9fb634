//! `TrainCore`: generator training (paper Algorithm 2) for Python, built as
//! `sdflow run` builds it for scenes with a `model`. `run` records the CLI's
//! training columns: the head, `loss`, the linear generator's relative
//! errors when the target is a `LinearGaussian`, the metrics of the
//! generator's samples and the GAN view's columns.

use std::path::PathBuf;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Instant;

use numpy::{PyArray2, PyReadonlyArray2};
use pyo3::prelude::*;
use pyo3::types::PyDict;
use sdflow::cli::gan::GanColumns;
use sdflow::engine::datasets::LinearTruth;
use sdflow::engine::metrics::compare_linear;
use sdflow::engine::{MetricProbe, Metrics, TrainReport, Trainer};

use crate::arrays::{cloud, to_numpy};
use crate::columns::{Columns, head_names};
use crate::scene::{Loaded, at_least, fits_in_memory, scene_ron};
use crate::{Pool, value_error};

/// A generator being trained toward a target cloud.
#[pyclass(module = "sdflow._sdflow")]
pub struct TrainCore {
    loaded: Loaded,
    /// In a mutex only because a trainer is `Send` but not `Sync` (its
    /// drift is a `Box<dyn Drift + Send>`); `&mut self` methods skip the lock.
    trainer: Mutex<Trainer>,
    truth: Option<LinearTruth>,
    gan: GanColumns,
    /// The metric probe and its sample count (`run`'s `samples`).
    probe: Option<(MetricProbe, usize)>,
    last: Option<TrainReport>,
    step_seconds: f64,
    pool: Pool,
}

impl TrainCore {
    fn new(py: Python<'_>, loaded: Loaded, threads: Option<usize>) -> PyResult<Self> {
        let scene = &loaded.file.scene;
        let pool = Pool::new(threads)?;
        let path = loaded.file.path.display().to_string();
        let (clouds, seed) = (&loaded.clouds, loaded.seed);
        let built = pool.run(py, || scene.trainer(clouds, seed));
        let trainer = match built {
            None => {
                return Err(value_error(format!(
                    "{path}: the scene has no `model` to train; use sdflow.Simulation for a particle flow"
                )));
            }
            Some(Err(e)) => return Err(value_error(format!("cannot build the generator of {path}: {e}"))),
            Some(Ok(t)) => t,
        };
        let truth = scene.target.linear_truth();
        let gan = GanColumns::new(scene);
        Ok(Self { loaded, trainer: Mutex::new(trainer), truth, gan, probe: None, last: None, step_seconds: 0.0, pool })
    }

    fn trainer(&self) -> MutexGuard<'_, Trainer> {
        // A panic while holding the lock is impossible here (no method of
        // ours panics); if one did, the trainer's state is still whole.
        self.trainer.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn trainer_mut(&mut self) -> &mut Trainer {
        self.trainer.get_mut().unwrap_or_else(PoisonError::into_inner)
    }

    /// `n` samples (and their latent inputs) must fit in memory.
    fn check_samples(&self, n: usize) -> PyResult<()> {
        let trainer = self.trainer();
        let per_sample = (trainer.generator().dim() + trainer.generator().latent()) as f64;
        fits_in_memory(n as f64 * per_sample, &format!("{n} samples"), "ask for fewer")
    }

    fn step_once(&mut self, py: Python<'_>) -> Option<TrainReport> {
        let pool = self.pool.clone();
        let trainer = self.trainer_mut();
        let (report, seconds) = pool.run(py, || {
            let t = Instant::now();
            let report = trainer.step();
            (report, t.elapsed().as_secs_f64())
        });
        if let Some(r) = &report {
            self.step_seconds += seconds;
            self.gan.record(r.driver_cosine);
            self.last = Some(*r);
        }
        report
    }

    /// (|mu_hat - mu| / |mu|, |B_hat B_hat^T - B B^T|_F / |B B^T|_F) of a
    /// linear generator against a `LinearGaussian` target.
    fn errors(&self) -> (f64, f64) {
        let trainer = self.trainer();
        let compared = trainer.generator().as_linear().zip(self.truth.as_ref()).and_then(|(g, t)| compare_linear(g, t));
        compared.map_or((f64::NAN, f64::NAN), |c| (c.offset_error, c.covariance_error))
    }

    fn record(&mut self, py: Python<'_>, columns: &mut Columns, samples: usize) {
        let (steps_done, schedule, settings) = {
            let t = self.trainer_mut();
            (t.step_index(), t.schedule(), t.settings().clone())
        };
        let (sigma2, kernel_sigma2, eta, path, loss) = match &self.last {
            Some(r) => (r.sigma2, r.kernel_sigma2, r.eta, r.path.name(), r.loss),
            None => {
                let s2 = schedule.sigma2(0, settings.steps);
                (s2, settings.bandwidth.kernel_sigma2(s2), f64::NAN, "", f64::NAN)
            }
        };
        let ms = if steps_done > 0 { self.step_seconds * 1e3 / steps_done as f64 } else { f64::NAN };
        let trainer = self.trainer.get_mut().unwrap_or_else(PoisonError::into_inner);
        let (loaded, probe) = (&self.loaded, &mut self.probe);
        // `move`: the closure takes the `&mut Trainer` (Send) rather than a
        // shared borrow of it (a trainer is not Sync).
        let (metrics, drawn) = self.pool.run(py, move || {
            if probe.as_ref().is_none_or(|(_, n)| *n != samples) {
                let frequencies = loaded.file.scene.cfd_frequencies;
                *probe = Some((MetricProbe::new(&loaded.clouds.target, loaded.seed, frequencies), samples));
            }
            let drawn = trainer.samples(samples);
            let metrics = probe.as_ref().map(|(p, _)| p.evaluate(&drawn).0);
            (metrics, drawn)
        });
        let metrics = metrics.map_or([f64::NAN; 5], |m| m.values());
        let mut row = vec![sigma2, kernel_sigma2, eta, ms, loss];
        if self.truth.is_some() {
            let (mu, cov) = self.errors();
            row.extend([mu, cov]);
        }
        row.extend(metrics);
        row.extend(self.gan.values(&drawn).into_iter().map(|v| v.parse().unwrap_or(f64::NAN)));
        columns.push(steps_done, path, row);
    }
}

#[pymethods]
impl TrainCore {
    /// Reads a scene file with a `model` as `sdflow run` does; `seed` and
    /// `steps` override the scene's.
    #[staticmethod]
    #[pyo3(signature = (path, seed=None, steps=None, threads=None))]
    fn from_scene(
        py: Python<'_>,
        path: PathBuf,
        seed: Option<u64>,
        steps: Option<i64>,
        threads: Option<usize>,
    ) -> PyResult<Self> {
        let loaded = crate::scene::from_file(py, &path, seed, steps)?;
        Self::new(py, loaded, threads)
    }

    /// Parses scene text (`label` names it in messages); a `target` array
    /// replaces the target's cloud.
    #[staticmethod]
    #[pyo3(signature = (text, label, target=None, threads=None))]
    fn from_text(
        py: Python<'_>,
        text: String,
        label: &str,
        target: Option<PyReadonlyArray2<'_, f32>>,
        threads: Option<usize>,
    ) -> PyResult<Self> {
        let target = target.map(|a| cloud("target", &a)).transpose()?;
        let loaded = crate::scene::from_text(py, text, label, target, None, None)?;
        Self::new(py, loaded, threads)
    }

    /// One training step; False (and nothing done) once every step is taken.
    fn step(&mut self, py: Python<'_>) -> bool {
        self.step_once(py).is_some()
    }

    /// Takes `steps` more steps (None: to the end), recording a row now,
    /// every `metrics_every` steps and after the last step. Metrics use
    /// `samples` generator samples (None: as many as the target has points).
    #[pyo3(signature = (steps=None, metrics_every=10, samples=None))]
    fn run<'py>(
        &mut self,
        py: Python<'py>,
        steps: Option<i64>,
        metrics_every: i64,
        samples: Option<i64>,
    ) -> PyResult<Bound<'py, PyDict>> {
        let every = at_least("metrics_every", metrics_every, 1)?;
        let samples = match samples {
            Some(n) => at_least("samples", n, 1)?,
            None => self.trainer_mut().target().len(),
        };
        self.check_samples(samples)?;
        let (total, now) = (self.trainer_mut().settings().steps, self.trainer_mut().step_index());
        let end = match steps {
            Some(k) => (now + at_least("steps", k, 0)?).min(total),
            None => total,
        };
        let mut names = head_names();
        names.push("loss");
        if self.truth.is_some() {
            names.extend(["mu_rel_error", "cov_rel_error"]);
        }
        names.extend(Metrics::NAMES);
        names.extend(self.gan.names());
        let mut columns = Columns::new(names);
        self.record(py, &mut columns, samples);
        while self.trainer_mut().step_index() < end {
            if self.step_once(py).is_none() {
                break;
            }
            py.check_signals()?;
            let done = self.trainer_mut().step_index();
            if done.is_multiple_of(every) || done == end {
                self.record(py, &mut columns, samples);
            }
        }
        columns.into_dict(py)
    }

    /// `n` samples of the generator from fixed latent inputs, (n, d) float32.
    fn sample<'py>(&self, py: Python<'py>, n: i64) -> PyResult<Bound<'py, PyArray2<f32>>> {
        let n = at_least("n", n, 1)?;
        self.check_samples(n)?;
        let trainer = &self.trainer;
        let drawn = self.pool.run(py, || trainer.lock().unwrap_or_else(PoisonError::into_inner).samples(n));
        to_numpy(py, &drawn)
    }

    /// The generator's parameters as JSON text (`sdflow run --params`).
    fn params_json(&self) -> PyResult<String> {
        serde_json::to_string(&self.trainer().generator().params_json()).map_err(|e| value_error(e.to_string()))
    }

    /// The target cloud, (N, d) float32.
    #[getter]
    fn target<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyArray2<f32>>> {
        to_numpy(py, self.trainer().target())
    }

    #[getter]
    fn step_index(&self) -> usize {
        self.trainer().step_index()
    }

    #[getter]
    fn steps(&self) -> usize {
        self.trainer().settings().steps
    }

    #[getter]
    fn finished(&self) -> bool {
        self.trainer().is_finished()
    }

    #[getter]
    fn seed(&self) -> u64 {
        self.loaded.seed
    }

    /// Samples per step.
    #[getter]
    fn batch(&self) -> usize {
        self.trainer().batch()
    }

    #[getter]
    fn name(&self) -> String {
        self.loaded.file.scene.name.clone()
    }

    /// The generator's relative errors against a `LinearGaussian` target's
    /// true mu and B B^T (None for other targets or generators).
    fn linear_errors(&self) -> Option<(f64, f64)> {
        self.truth.as_ref()?;
        self.trainer().generator().as_linear()?;
        Some(self.errors())
    }

    fn warnings(&self) -> Vec<String> {
        self.loaded.file.scene.warnings()
    }

    /// The scene as run (its seed and steps), as RON text.
    fn scene_ron(&self) -> PyResult<String> {
        scene_ron(&self.loaded, false)
    }
}
