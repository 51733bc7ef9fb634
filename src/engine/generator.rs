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
use serde::{Deserialize, Serialize};

use super::cloud::Cloud;
use super::datasets::{LinearTruth, gram};
use super::flow::{
    self, Bandwidth, CHUNK, Discriminator, Drift, DriftInput, KernelDrift, KernelPath, Method, StepSize,
};
use super::neighbors::mean_nearest_distance;
use super::nn::{Activation, Mlp, NnError, Optimizer, OptimizerState, Workspace};
use super::rng::stream;
use super::schedule::Schedule;

/// Stream keys of a step's random draws (noise uses the chunk keys 0, 1, ...).
const TARGET_BATCH_KEY: u64 = u64::MAX;
/// Latent inputs: chunk c of a step draws from key LATENT_KEY - c.
const LATENT_KEY: u64 = u64::MAX - 1;
/// The fixed latent inputs of [`Trainer::samples`] and of `FromNearest`.
const PREVIEW_STEP: usize = usize::MAX;

/// A generator as written in a scene file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub enum Model {
    /// g(xi) = B xi + mu (App. E.4): B (d x latent) initialised from
    /// N(0, init_std^2), mu = 0.
    Linear {
        latent: usize,
        #[serde(default = "init_std")]
        init_std: f64,
        learning_rate: f64,
    },
    /// A dense network latent -> hidden (activated) -> d, for 2-D/3-D data.
    Mlp {
        latent: usize,
        hidden: Vec<usize>,
        #[serde(default)]
        activation: Activation,
        learning_rate: f64,
        #[serde(default)]
        optimizer: Optimizer,
    },
}

fn init_std() -> f64 {
    0.1
}

impl Model {
    pub fn kind_name(&self) -> &'static str {
        match self {
            Model::Linear { .. } => "Linear",
            Model::Mlp { .. } => "Mlp",
        }
    }

    pub fn latent(&self) -> usize {
        match *self {
            Model::Linear { latent, .. } | Model::Mlp { latent, .. } => latent,
        }
    }

    pub fn learning_rate(&self) -> f64 {
        match *self {
            Model::Linear { learning_rate, .. } | Model::Mlp { learning_rate, .. } => learning_rate,
        }
    }

    /// Every problem with the parameters, as (field, what to change).
    pub fn problems(&self) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        if self.latent() == 0 {
            out.push(("latent", "`latent` is 0; the generator needs at least 1 latent dimension".to_string()));
        }
        let lr = self.learning_rate();
        if !(lr.is_finite() && lr > 0.0) {
            out.push(("learning_rate", format!("`learning_rate` is {lr}; it must be a finite number > 0")));
        }
        match self {
            Model::Linear { init_std, .. } => {
                if !(init_std.is_finite() && *init_std >= 0.0) {
                    out.push(("init_std", format!("`init_std` is {init_std}; it must be a finite number >= 0")));
                }
            }
            Model::Mlp { hidden, .. } => {
                if hidden.is_empty() {
                    out.push(("hidden", "`hidden` is empty; give at least one layer width, e.g. [64, 64]".into()));
                }
                if hidden.contains(&0) {
                    out.push(("hidden", "`hidden` holds a width of 0; every layer needs at least 1 unit".into()));
                }
            }
        }
        out
    }

    /// A freshly initialised generator into R^dim, seeded.
    pub fn build(&self, dim: usize, seed: u64) -> Result<Generator, NnError> {
        let seed = seed ^ 0x6E4E_2A70_0000_0002;
        Ok(match *self {
            Model::Linear { latent, init_std, .. } => {
                let mut rng = crate::engine::rng::seeded(seed);
                let matrix = (0..dim * latent)
                    .map(|_| {
                        (init_std * <StandardNormal as Distribution<f64>>::sample(&StandardNormal, &mut rng)) as f32
                    })
                    .collect::<Vec<f32>>();
                Generator::Linear(LinearGenerator { dim, latent, matrix, offset: vec![0.0; dim], grad: Vec::new() })
            }
            Model::Mlp { latent, ref hidden, activation, learning_rate, optimizer } => {
                let net = Mlp::new(latent, hidden, dim, activation, seed)?;
                let opt = OptimizerState::new(optimizer, learning_rate, net.param_count());
                let grads = vec![0.0; net.param_count()];
                Generator::Mlp(Box::new(MlpGenerator { net, opt, grads, ws: Workspace::default() }))
            }
        })
    }
}

/// g(xi) = B xi + mu.
#[derive(Clone, Debug, PartialEq)]
pub struct LinearGenerator {
    dim: usize,
    latent: usize,
    /// B, `dim` rows of `latent` numbers.
    matrix: Vec<f32>,
    /// mu.
    offset: Vec<f32>,
    /// Gradient buffer of B.
    grad: Vec<f32>,
}

impl LinearGenerator {
    /// B, row-major d x latent.
    pub fn matrix(&self) -> &[f32] {
        &self.matrix
    }

    /// mu.
    pub fn offset(&self) -> &[f32] {
        &self.offset
    }

    /// B B^T (d x d, row-major, f64): the covariance of the generator's output.
    pub fn covariance(&self) -> Vec<f64> {
        let m: Vec<f64> = self.matrix.iter().map(|&v| v as f64).collect();
        gram(&m, self.dim, self.latent)
    }
}

/// A dense network with its optimiser state.
#[derive(Clone, Debug)]
pub struct MlpGenerator {
    net: Mlp,
    opt: OptimizerState,
    grads: Vec<f32>,
    ws: Workspace,
}

impl MlpGenerator {
    pub fn net(&self) -> &Mlp {
        &self.net
    }
}

/// A trainable generator g_theta: R^latent -> R^dim.
#[derive(Clone, Debug)]
pub enum Generator {
    Linear(LinearGenerator),
    Mlp(Box<MlpGenerator>),
}

impl Generator {
    pub fn latent(&self) -> usize {
        match self {
            Generator::Linear(g) => g.latent,
            Generator::Mlp(g) => g.net.input_dim(),
        }
    }

    pub fn dim(&self) -> usize {
        match self {
            Generator::Linear(g) => g.dim,
            Generator::Mlp(g) => g.net.output_dim(),
        }
    }

    /// g(xi) of row-major latent points `xi` (n x latent) into `out` (n x dim).
    pub fn forward(&mut self, xi: &[f32], out: &mut [f32]) {
        match self {
            Generator::Linear(g) => linear_forward(g, xi, out),
            Generator::Mlp(g) => out.copy_from_slice(g.net.forward(xi, &mut g.ws)),
        }
    }

    /// The image of row-major latent points (n x latent), n x dim row-major:
    /// samples, or a latent grid drawn as lines.
    pub fn apply(&self, xi: &[f32]) -> Vec<f32> {
        let n = xi.len() / self.latent();
        let mut out = vec![0.0; n * self.dim()];
        match self {
            Generator::Linear(g) => linear_forward(g, xi, &mut out),
            Generator::Mlp(g) => out.copy_from_slice(g.net.forward(xi, &mut Workspace::default())),
        }
        out
    }

    /// Step 6 of Algorithm 2: one descent step of (1/2) sum_i |g(xi_i) - y'_i|^2
    /// at learning rate `learning_rate` (SGD for Linear; the network's
    /// optimiser for Mlp). `fit` is scratch for g(xi). Returns the mean
    /// per-sample loss (1/B) sum_i |g(xi_i) - y'_i|^2 before the step.
    pub fn regress(&mut self, xi: &[f32], targets: &[f32], learning_rate: f64, fit: &mut Vec<f32>) -> f64 {
        let (l, d) = (self.latent(), self.dim());
        let batch = xi.len() / l;
        fit.resize(batch * d, 0.0);
        self.forward(xi, fit);
        // r = g(xi) - y', the gradient of the loss with respect to the outputs.
        let mut loss = 0.0f64;
        for (f, &t) in fit.iter_mut().zip(targets) {
            *f -= t;
            loss += (*f as f64) * (*f as f64);
        }
        match self {
            Generator::Linear(g) => {
                // grad_B = sum_i r_i xi_i^T = R^T Xi (d x l); grad_mu = sum_i r_i.
                g.grad.clear();
                g.grad.resize(d * l, 0.0);
                // SAFETY: R^T is `fit` (batch x d) read with strides (1, d),
                // Xi is `xi` (batch x l), the output is d x l; all in bounds.
                unsafe {
                    matrixmultiply::sgemm(
                        d,
                        batch,
                        l,
                        1.0,
                        fit.as_ptr(),
                        1,
                        d as isize,
                        xi.as_ptr(),
                        l as isize,
                        1,
                        0.0,
                        g.grad.as_mut_ptr(),
                        l as isize,
                        1,
                    );
                }
                let lr = learning_rate as f32;
                for (b, gr) in g.matrix.iter_mut().zip(&g.grad) {
                    *b -= lr * gr;
                }
                for r in fit.chunks_exact(d) {
                    for (m, &v) in g.offset.iter_mut().zip(r) {
                        *m -= lr * v;
                    }
                }
                keep_finite(&mut g.matrix);
                keep_finite(&mut g.offset);
            }
            Generator::Mlp(g) => {
                // The network still holds this batch's forward pass.
                g.grads.iter_mut().for_each(|x| *x = 0.0);
                g.net.backward(&mut g.ws, fit, Some(&mut g.grads), None);
                g.opt.step(g.net.params_mut(), &g.grads);
                keep_finite(g.net.params_mut());
            }
        }
        loss / batch.max(1) as f64
    }

    /// The linear generator, for Fig. 6's comparisons.
    pub fn as_linear(&self) -> Option<&LinearGenerator> {
        match self {
            Generator::Linear(g) => Some(g),
            Generator::Mlp(_) => None,
        }
    }

    /// The network of an Mlp generator.
    pub fn as_mlp(&self) -> Option<&Mlp> {
        match self {
            Generator::Mlp(g) => Some(&g.net),
            Generator::Linear(_) => None,
        }
    }

    /// The parameters as JSON: `{"kind": "Linear", "matrix": [[..]; d],
    /// "offset": [..]}` or `{"kind": "Mlp", "activation": .., "layers":
    /// [{"weights": [[..]], "bias": [..], "activated": ..}, ..]}`.
    pub fn params_json(&self) -> serde_json::Value {
        match self {
            Generator::Linear(g) => serde_json::json!({
                "kind": "Linear",
                "matrix": g.matrix.chunks_exact(g.latent).collect::<Vec<_>>(),
                "offset": g.offset,
            }),
            Generator::Mlp(g) => serde_json::json!({
                "kind": "Mlp",
                "activation": g.net.activation().name(),
                "layers": g.net.layers(),
            }),
        }
    }

    /// Polylines of a latent grid through the generator: `lines` lines along
    /// each of the first two latent axes over [-extent, extent], `samples`
    /// points each, the other latent coordinates 0. Each polyline is
    /// row-major points in data space (the generator's map bending space).
    pub fn grid_lines(&self, lines: usize, samples: usize, extent: f32) -> Vec<Vec<f32>> {
        let l = self.latent();
        let at = |i: usize, n: usize| if n <= 1 { 0.0 } else { -extent + 2.0 * extent * i as f32 / (n - 1) as f32 };
        let mut out = Vec::new();
        for axis in 0..l.min(2) {
            for line in 0..lines {
                let mut xi = vec![0.0f32; samples * l];
                for s in 0..samples {
                    xi[s * l + axis] = at(s, samples);
                    if l > 1 {
                        xi[s * l + (1 - axis)] = at(line, lines);
                    }
                }
                out.push(self.apply(&xi));
                if l == 1 {
                    break;
                }
            }
        }
        out
    }
}

fn linear_forward(g: &LinearGenerator, xi: &[f32], out: &mut [f32]) {
    let (l, d) = (g.latent, g.dim);
    let n = xi.len() / l;
    for row in out.chunks_exact_mut(d) {
        row.copy_from_slice(&g.offset);
    }
    // out += Xi B^T.
    // SAFETY: Xi is n x l, B^T is B (d x l) read with strides (1, l), out is n x d.
    unsafe {
        matrixmultiply::sgemm(
            n,
            l,
            d,
            1.0,
            xi.as_ptr(),
            l as isize,
            1,
            g.matrix.as_ptr(),
            1,
            l as isize,
            1.0,
            out.as_mut_ptr(),
            d as isize,
            1,
        );
    }
}

/// Parameters stay finite: a diverging run shows as an explosion, never NaN.
fn keep_finite(params: &mut [f32]) {
    for p in params {
        *p = if p.is_finite() { p.clamp(-flow::COORD_LIMIT, flow::COORD_LIMIT) } else { 0.0 };
    }
}

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
    if generator.dim != truth.dim {
        return None;
    }
    let d = truth.dim;
    let (cov_hat, cov) = (generator.covariance(), truth.covariance());
    let offset_pairs: Vec<(f64, f64)> =
        truth.offset.iter().zip(&generator.offset).map(|(&a, &b)| (a, b as f64)).collect();
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
