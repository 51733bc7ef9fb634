//! Model optimisation with SD flow (paper Algorithm 2, App. C.2 and E.4): a
//! generator g_theta(xi) is trained on unpaired data by regressing its own
//! outputs onto SD-perturbed copies of them.
//!
//! Each step t:
//! 1. draw a batch of target points x and latent inputs xi ~ N(0, I_l);
//! 2. y = g_theta(xi);
//! 3. z = y + sigma(t) eps;
//! 4. dz from a [`Drift`] source. [`KernelDrift`] runs the same code as the
//!    particle flows ([`Displace`]: Sd eq. 13, SdDenoiser eq. 16, Mmd eq. 42,
//!    MmdNormalized eq. 43) with the batch of y as the moving cloud and the
//!    batch of x as the fixed one; a discriminator (eq. 31) plugs in here;
//! 5. y' = y + eta(t) dz;
//! 6. theta <- theta - (lambda / 2) grad_theta sum_i |g_theta(xi_i) - y'_i|^2,
//!    `regression_steps` times (1 by default) against the same y'.
//!
//! Step 6 sums over the batch, as Algorithm 2 writes it, rather than taking
//! the mean: with the paper's lambda = 1e-3 and batch 1024 the effective rate
//! per sample is then ~1, and the linear generator of Fig. 6 follows the flow
//! within its 1000 steps; with a mean it would hardly move.
//!
//! Random numbers come from the same (seed, step, key) streams as particle
//! flows, so a seeded run is bit-identical on any number of threads.

use rand_distr::{Distribution, StandardNormal};
use rayon::prelude::*;

use crate::engine::cloud::Cloud;
use crate::engine::flow::{
    self, Bandwidth, CHUNK, Discriminator, Drift, DriftInput, KernelDrift, KernelPath, Method, StepSize,
};
use crate::engine::neighbors::mean_nearest_distance;
use crate::engine::nn::NnError;
use crate::engine::rng::stream;
use crate::engine::schedule::Schedule;

use super::model::{Generator, Model};

/// Stream keys of a step's random draws (noise uses the chunk keys 0, 1, ...).
const TARGET_BATCH_KEY: u64 = u64::MAX;
/// Latent inputs: chunk c of a step draws from key LATENT_KEY - c.
const LATENT_KEY: u64 = u64::MAX - 1;
/// The fixed latent inputs of [`Trainer::samples`] and of `FromNearest`.
const PREVIEW_STEP: usize = usize::MAX;

/// Everything that shapes the training, apart from the model and the data.
#[derive(Clone, Debug, PartialEq)]
pub struct TrainSettings {
    pub method: Method,
    /// `FromNearest` is resolved at the start against the untrained
    /// generator's output.
    pub schedule: Schedule,
    pub steps: usize,
    pub step_size: StepSize,
    /// Samples per step (target points and latent inputs); None: as many as
    /// the target has points.
    pub batch: Option<usize>,
    pub bandwidth: Bandwidth,
    /// Regression steps per flow step (step 6), at least 1.
    pub regression_steps: usize,
}

/// What a training step did.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TrainReport {
    /// Index of the step just taken (0-based).
    pub step: usize,
    pub sigma2: f64,
    pub kernel_sigma2: f64,
    pub eta: f64,
    pub path: KernelPath,
    /// Mean per-sample regression loss (1/B) sum_i |g(xi_i) - y'_i|^2 at the
    /// first regression step (before it), i.e. eta^2 times the mean |dz|^2.
    pub loss: f64,
    /// Batch size B.
    pub batch: usize,
    pub kernel_evaluations: u64,
    /// With a discriminator drift: mean cosine of its direction with the
    /// kernel SD direction at the generated points.
    pub driver_cosine: Option<f64>,
}

/// Problems starting a training run.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum TrainError {
    #[error("the target is empty")]
    EmptyTarget,
    #[error("the generator maps into {generator} dimensions but the target has {target}")]
    DimensionMismatch { generator: usize, target: usize },
    #[error(transparent)]
    Network(#[from] NnError),
}

/// A generator being trained against a target cloud (Algorithm 2).
pub struct Trainer {
    settings: TrainSettings,
    seed: u64,
    model: Model,
    target: Cloud,
    generator: Generator,
    drift: Box<dyn Drift>,
    /// The schedule in force (FromNearest resolved to a constant).
    schedule: Schedule,
    step: usize,
    auto_eta: Option<f64>,
    // Buffers reused from step to step (sizes O(B (d + l))).
    indices: Vec<usize>,
    x: Vec<f32>,
    xi: Vec<f32>,
    y: Vec<f32>,
    dz: Vec<f32>,
    fit: Vec<f32>,
}

impl Trainer {
    /// A run with the kernel flow of `settings.method` as the drift source.
    pub fn new(model: &Model, settings: TrainSettings, target: Cloud, seed: u64) -> Result<Self, TrainError> {
        let drift = Box::new(KernelDrift::new(settings.method, settings.bandwidth));
        Self::with_drift(model, settings, target, seed, drift)
    }

    /// A run with any drift source (the seam for a discriminator).
    pub fn with_drift(
        model: &Model,
        settings: TrainSettings,
        target: Cloud,
        seed: u64,
        drift: Box<dyn Drift>,
    ) -> Result<Self, TrainError> {
        if target.is_empty() {
            return Err(TrainError::EmptyTarget);
        }
        let generator = model.build(target.dim(), seed)?;
        let mut t = Self {
            schedule: Schedule::Constant { sigma2: 1.0 },
            settings,
            seed,
            model: model.clone(),
            target,
            generator,
            drift,
            step: 0,
            auto_eta: None,
            indices: Vec::new(),
            x: Vec::new(),
            xi: Vec::new(),
            y: Vec::new(),
            dz: Vec::new(),
            fit: Vec::new(),
        };
        t.schedule = t.resolve_schedule();
        Ok(t)
    }

    /// App. E.4's `FromNearest`: one batch of the untrained generator's output
    /// against the whole target.
    fn resolve_schedule(&mut self) -> Schedule {
        let batch = self.batch();
        self.settings.schedule.resolve(|| mean_nearest_distance(&self.samples(batch), &self.target))
    }

    pub fn settings(&self) -> &TrainSettings {
        &self.settings
    }

    pub fn model(&self) -> &Model {
        &self.model
    }

    /// The schedule in force; `FromNearest` shows as the constant it chose.
    pub fn schedule(&self) -> Schedule {
        self.schedule
    }

    pub fn generator(&self) -> &Generator {
        &self.generator
    }

    /// The discriminator of a discriminator-driven run (its h over any
    /// points: [`Discriminator::logits`]).
    pub fn discriminator(&self) -> Option<&Discriminator> {
        self.drift.discriminator()
    }

    pub fn target(&self) -> &Cloud {
        &self.target
    }

    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// Steps taken so far.
    pub fn step_index(&self) -> usize {
        self.step
    }

    pub fn is_finished(&self) -> bool {
        self.step >= self.settings.steps
    }

    /// Samples per step.
    pub fn batch(&self) -> usize {
        let n = self.target.len();
        self.settings.batch.map_or(n, |b| b.clamp(1, n))
    }

    /// Back to the untrained generator, step 0.
    pub fn reset(&mut self) -> Result<(), TrainError> {
        self.generator = self.model.build(self.target.dim(), self.seed)?;
        self.step = 0;
        self.auto_eta = None;
        Ok(())
    }

    /// `n` samples of the current generator from fixed latent inputs (the same
    /// inputs every call, so a preview moves smoothly as the generator learns).
    pub fn samples(&self, n: usize) -> Cloud {
        preview(&self.generator, self.seed, n)
    }

    /// One step of Algorithm 2; None once all steps are done.
    pub fn step(&mut self) -> Option<TrainReport> {
        if self.is_finished() {
            return None;
        }
        let (d, l, b, n) = (self.target.dim(), self.generator.latent(), self.batch(), self.target.len());
        let sigma2 = self.schedule.sigma2(self.step, self.settings.steps);

        // 1. A batch of target points and latent inputs.
        self.x.clear();
        if b < n {
            let mut rng = stream(self.seed, self.step, TARGET_BATCH_KEY);
            self.indices.clear();
            self.indices.extend(rand::seq::index::sample(&mut rng, n, b));
            for &i in &self.indices {
                self.x.extend_from_slice(self.target.point(i));
            }
        } else {
            self.x.extend_from_slice(self.target.as_slice());
        }
        // Latent inputs in chunks of rows, one noise stream each, drawn in
        // parallel (the same numbers on any thread count).
        self.xi.resize(b * l, 0.0);
        let (seed, step) = (self.seed, self.step);
        self.xi.par_chunks_mut(CHUNK * l.max(1)).enumerate().for_each(|(chunk, out)| {
            let mut rng = stream(seed, step, LATENT_KEY - chunk as u64);
            out.iter_mut().for_each(|v| *v = StandardNormal.sample(&mut rng));
        });

        // 2. y = g(xi).
        self.y.resize(b * d, 0.0);
        self.generator.forward(&self.xi, &mut self.y);

        // 3.-4. dz at z = y + sigma eps.
        let input = DriftInput { dim: d, y: &self.y, x: &self.x, sigma2, seed: self.seed, step: self.step };
        let drift = self.drift.drift(&input, &mut self.dz);

        // 5. y' = y + eta dz.
        let eta = match self.settings.step_size {
            StepSize::Fixed { eta } => eta,
            StepSize::Auto { first_norm } => *self.auto_eta.get_or_insert_with(|| {
                let mean: f64 = self
                    .dz
                    .chunks_exact(d)
                    .map(|r| r.iter().map(|&v| (v as f64) * (v as f64)).sum::<f64>().sqrt())
                    .sum::<f64>()
                    / b as f64;
                if mean > 1e-30 { first_norm / mean } else { 1.0 }
            }),
        };
        for (yi, dz) in self.y.chunks_exact_mut(d).zip(self.dz.chunks_exact(d)) {
            flow::apply(yi, dz, eta as f32);
        }

        // 6. Regression of g(xi) onto y'.
        let lr = self.model.learning_rate();
        let mut loss = 0.0;
        for r in 0..self.settings.regression_steps.max(1) {
            let l = self.generator.regress(&self.xi, &self.y, lr, &mut self.fit);
            if r == 0 {
                loss = l;
            }
        }

        let report = TrainReport {
            step: self.step,
            sigma2,
            kernel_sigma2: drift.kernel_sigma2,
            eta,
            path: drift.path,
            loss,
            batch: b,
            kernel_evaluations: drift.kernel_evaluations,
            driver_cosine: drift.driver_cosine,
        };
        self.step += 1;
        Some(report)
    }
}

/// `n` samples of `generator` from the fixed latent inputs of `seed`.
fn preview(generator: &Generator, seed: u64, n: usize) -> Cloud {
    let l = generator.latent();
    let mut rng = stream(seed, PREVIEW_STEP, LATENT_KEY);
    let xi: Vec<f32> = (0..n * l).map(|_| StandardNormal.sample(&mut rng)).collect();
    Cloud::new(generator.dim(), generator.apply(&xi))
}

/// `n` samples of the untrained generator a run with `seed` starts from (what
/// [`Trainer::samples`] gives before the first step).
pub fn initial_samples(model: &Model, dim: usize, seed: u64, n: usize) -> Result<Cloud, NnError> {
    Ok(preview(&model.build(dim, seed)?, seed, n))
}
