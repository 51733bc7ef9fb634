//! The GAN view of the SD flow (paper Section 4.3, eq. 28-32): a neural
//! discriminator f = sigmoid(h) (eq. 30) trained by binary cross-entropy on
//! noisy target samples (label 1) against noisy moving samples (label 0), and
//! the flow it induces on the moving samples.
//!
//! With an optimal discriminator h = log p - log q (eq. 29-30), so grad h is
//! the score difference (eq. 31). Trained at the noise level sigma(t) of the
//! step, the optimum is h* = log p_sigma - log q_sigma, whose gradient times
//! sigma^2 / 2 is exactly the kernel SD displacement 1/2 (D_p(z) - D_q(z))
//! (eq. 13 with Tweedie's D(z) - z = sigma^2 grad log p_sigma(z)). The
//! displacement used here is therefore
//!
//!   dz = sigma^2 / 2 * w(z) * grad_z h(z),
//!
//! with w = 1 for the alternative loss (eq. 32) and w = 1 - f(z) for the
//! non-saturating loss (eq. 28, -grad L = (1 - f) grad h). A `Fixed` step size
//! then means the same for a discriminator as for the kernel flow.

use rand::Rng;
use rand_distr::{Distribution, StandardNormal};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::engine::nn::{Activation, Mlp, NnError, Optimizer, OptimizerState, Workspace, sigmoid};
use crate::engine::rng::stream;

/// Rows per parallel task when evaluating the discriminator.
const ROWS: usize = 256;

/// Which generator loss turns the discriminator into a flow.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub enum GanLoss {
    /// L_alt = -E h(x) (eq. 32): the flow is grad h, the SD flow when the
    /// discriminator is optimal.
    #[default]
    Alt,
    /// The non-saturating loss -E log f(x) (eq. 28): the flow is (1 - f) grad h,
    /// parallel to the SD flow but damped where the discriminator is fooled.
    NonSaturating,
}

impl GanLoss {
    pub fn name(self) -> &'static str {
        match self {
            GanLoss::Alt => "Alt",
            GanLoss::NonSaturating => "NonSaturating",
        }
    }
}

/// What gives the moving points their direction.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub enum Driver {
    /// The kernel sums of the scene's `method` (the optimal discriminator on
    /// the smoothed proxies, in closed form).
    #[default]
    Kernel,
    /// A trained neural discriminator.
    Discriminator {
        /// Hidden layer widths of the MLP h.
        hidden: Vec<usize>,
        /// Adam's learning rate.
        learning_rate: f64,
        /// Minibatch updates of the discriminator per flow step.
        updates_per_step: usize,
        loss: GanLoss,
        /// Hidden activation; Silu by default, so that h is smooth and
        /// grad h continuous (eq. 31 differentiates h).
        #[serde(default = "silu")]
        activation: Activation,
        /// Target and moving samples per update (each class; fewer when a
        /// cloud is smaller).
        #[serde(default = "default_minibatch")]
        minibatch: usize,
    },
}

fn silu() -> Activation {
    Activation::Silu
}

fn default_minibatch() -> usize {
    256
}

impl Driver {
    pub fn name(&self) -> &'static str {
        match self {
            Driver::Kernel => "Kernel",
            Driver::Discriminator { .. } => "Discriminator",
        }
    }

    pub fn is_kernel(&self) -> bool {
        matches!(self, Driver::Kernel)
    }

    /// Every problem with the values, as (field, what to change).
    pub fn problems(&self) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        if let Driver::Discriminator { hidden, learning_rate, updates_per_step, minibatch, .. } = self {
            if hidden.is_empty() {
                out.push((
                    "hidden",
                    "`hidden` is empty; give at least one layer, e.g. [64, 64] (a linear h has a constant gradient)"
                        .into(),
                ));
            } else if hidden.contains(&0) {
                out.push(("hidden", format!("`hidden` is {hidden:?}; every layer needs a width >= 1")));
            }
            if !(learning_rate.is_finite() && *learning_rate > 0.0) {
                out.push((
                    "learning_rate",
                    format!("`learning_rate` is {learning_rate}; it must be a finite number > 0 (e.g. 0.001)"),
                ));
            }
            if *updates_per_step == 0 {
                out.push(("updates_per_step", "`updates_per_step` is 0; give at least 1".into()));
            }
            if *minibatch == 0 {
                out.push(("minibatch", "`minibatch` is 0; give at least 1 (default 256)".into()));
            }
        }
        out
    }
}

/// A neural discriminator f = sigmoid(h) and its optimiser state.
#[derive(Clone, Debug)]
pub struct Discriminator {
    net: Mlp,
    optimizer: OptimizerState,
    loss: GanLoss,
    /// Per-block buffers of an update.
    parts: Vec<Part>,
    grads: Vec<f32>,
    rows: Vec<f32>,
    last_loss: f64,
    updates: u64,
}

impl Discriminator {
    /// An untrained discriminator on `dim`-dimensional points (Adam
    /// optimiser); deterministic for a seed.
    pub fn new(
        dim: usize,
        hidden: &[usize],
        activation: Activation,
        learning_rate: f64,
        loss: GanLoss,
        seed: u64,
    ) -> Result<Self, NnError> {
        let net = Mlp::new(dim, hidden, 1, activation, seed)?;
        let optimizer = OptimizerState::new(Optimizer::Adam, learning_rate, net.param_count());
        let grads = vec![0.0; net.param_count()];
        Ok(Self { net, optimizer, loss, parts: Vec::new(), grads, rows: Vec::new(), last_loss: f64::NAN, updates: 0 })
    }

    /// Builds the discriminator a [`Driver`] asks for (None for `Kernel`).
    pub fn from_driver(driver: &Driver, dim: usize, seed: u64) -> Option<Result<Self, NnError>> {
        match driver {
            Driver::Kernel => None,
            Driver::Discriminator { hidden, learning_rate, loss, activation, .. } => {
                Some(Self::new(dim, hidden, *activation, *learning_rate, *loss, seed))
            }
        }
    }

    pub fn loss(&self) -> GanLoss {
        self.loss
    }

    /// Switches the generator loss; the trained network is kept.
    pub fn set_loss(&mut self, loss: GanLoss) {
        self.loss = loss;
    }

    pub fn network(&self) -> &Mlp {
        &self.net
    }

    /// Binary cross-entropy of the last update (before it), in nats.
    pub fn last_bce(&self) -> f64 {
        self.last_loss
    }

    /// Minibatch updates taken so far.
    pub fn updates(&self) -> u64 {
        self.updates
    }

    /// A copy of the trained state alone (weights, optimiser moments, loss
    /// choice, counters), without the per-update buffers: what a timeline
    /// snapshot keeps. It works as a discriminator on its own; the buffers
    /// grow again at its first update.
    pub fn state_clone(&self) -> Self {
        Self {
            net: self.net.clone(),
            optimizer: self.optimizer.clone(),
            loss: self.loss,
            parts: Vec::new(),
            grads: Vec::new(),
            rows: Vec::new(),
            last_loss: self.last_loss,
            updates: self.updates,
        }
    }

    /// Takes over the trained state of `from` (see [`Self::state_clone`]),
    /// keeping this discriminator's buffers.
    pub fn restore_state(&mut self, from: &Self) {
        self.net.clone_from(&from.net);
        self.optimizer.clone_from(&from.optimizer);
        self.loss = from.loss;
        self.last_loss = from.last_loss;
        self.updates = from.updates;
    }

    /// Bytes held by the trained state: weights, plus Adam's two moments.
    pub fn state_bytes(&self) -> usize {
        let moments = if self.optimizer.kind() == Optimizer::Adam { 2 } else { 0 };
        self.net.param_count() * std::mem::size_of::<f32>() * (1 + moments) + std::mem::size_of::<Self>()
    }

    /// One Adam update on the balanced binary cross-entropy
    /// L = 1/2 [mean_pos softplus(-h) + mean_neg softplus(h)]
    /// (= -log f on label 1, -log(1 - f) on label 0; equal class priors, as
    /// eq. 29 assumes). Rows are row-major points. Returns L before the update.
    pub fn update(&mut self, positives: &[f32], negatives: &[f32]) -> f64 {
        let dim = self.net.input_dim();
        let (p, q) = (positives.len() / dim, negatives.len() / dim);
        if p == 0 || q == 0 {
            return f64::NAN;
        }
        self.rows.clear();
        self.rows.extend_from_slice(&positives[..p * dim]);
        self.rows.extend_from_slice(&negatives[..q * dim]);
        // Fixed blocks of rows in parallel, each with its own gradient, summed
        // in block order: the same sum on any number of threads.
        let blocks = (p + q).div_ceil(TRAIN_ROWS);
        if self.parts.len() < blocks {
            self.parts.resize_with(blocks, Part::default);
        }
        let net = &self.net;
        self.parts[..blocks].par_iter_mut().zip(self.rows.par_chunks(TRAIN_ROWS * dim)).enumerate().for_each(
            |(b, (part, rows))| {
                let h = net.forward(rows, &mut part.ws);
                part.grad_out.clear();
                part.loss = 0.0;
                for (i, &hi) in h.iter().enumerate() {
                    // d softplus(-h)/dh = f - 1; d softplus(h)/dh = f.
                    let positive = b * TRAIN_ROWS + i < p;
                    let weight = if positive { 0.5 / p as f32 } else { 0.5 / q as f32 };
                    let f = sigmoid(hi);
                    let (g, l) = if positive { (f - 1.0, softplus(-hi)) } else { (f, softplus(hi)) };
                    part.grad_out.push(weight * g);
                    part.loss += (weight * l) as f64;
                }
                part.grads.clear();
                part.grads.resize(net.param_count(), 0.0);
                net.backward(&mut part.ws, &part.grad_out, Some(&mut part.grads), None);
            },
        );
        // Sized here, not only in `new`: a `state_clone` starts without it.
        self.grads.clear();
        self.grads.resize(self.net.param_count(), 0.0);
        let mut loss = 0.0;
        for part in &self.parts[..blocks] {
            loss += part.loss;
            for (g, &v) in self.grads.iter_mut().zip(&part.grads) {
                *g += v;
            }
        }
        self.optimizer.step(self.net.params_mut(), &self.grads);
        self.last_loss = loss;
        self.updates += 1;
        loss
    }

    /// Draws a minibatch of `size` rows per class from `target` and `moving`
    /// (without replacement), adds N(0, sigma^2 I) noise to each and updates.
    pub fn update_noisy(
        &mut self,
        target: &[f32],
        moving: &[f32],
        size: usize,
        sigma: f32,
        rng: &mut impl Rng,
        scratch: &mut (Vec<f32>, Vec<f32>),
    ) -> f64 {
        let dim = self.net.input_dim();
        for (src, out) in [(target, &mut scratch.0), (moving, &mut scratch.1)] {
            let n = src.len() / dim;
            out.clear();
            for i in rand::seq::index::sample(rng, n, size.min(n)) {
                for &x in &src[i * dim..(i + 1) * dim] {
                    let eps: f32 = StandardNormal.sample(rng);
                    out.push(x + sigma * eps);
                }
            }
        }
        self.update(&scratch.0, &scratch.1)
    }

    /// The pre-activation h(z) at each row of `queries` (row-major), the
    /// logit of the discriminator's probability that z is target data.
    pub fn logits(&self, queries: &[f32]) -> Vec<f32> {
        let dim = self.net.input_dim();
        let mut out = vec![0.0; queries.len() / dim];
        out.par_chunks_mut(ROWS).zip(queries.par_chunks(ROWS * dim)).for_each_init(Workspace::default, |ws, (o, z)| {
            o.copy_from_slice(self.net.forward(z, ws));
        });
        out
    }

    /// The flow direction at each row of `z`: dz = scale * w(z) * grad_z h(z)
    /// with w = 1 (Alt, eq. 32) or 1 - f(z) (NonSaturating, eq. 28); the flow
    /// uses scale = sigma^2 / 2. Parallel over fixed blocks of rows, so the
    /// result does not depend on the thread count.
    pub fn directions(&self, z: &[f32], scale: f32, dz: &mut [f32]) {
        let dim = self.net.input_dim();
        let loss = self.loss;
        dz.par_chunks_mut(ROWS * dim).zip(z.par_chunks(ROWS * dim)).for_each_init(
            || (Workspace::default(), Vec::new()),
            |(ws, ones), (out, zb)| {
                let rows = zb.len() / dim;
                let h = self.net.forward(zb, ws);
                // NonSaturating's 1 - f(z) = sigmoid(-h(z)), as the output gradient.
                ones.clear();
                ones.extend(h.iter().map(|&hi| match loss {
                    GanLoss::Alt => scale,
                    GanLoss::NonSaturating => scale * sigmoid(-hi),
                }));
                self.net.backward(ws, ones, None, Some(&mut out[..rows * dim]));
            },
        );
    }
}

/// Rows per parallel block of a discriminator update.
const TRAIN_ROWS: usize = 128;

/// One block's forward/backward buffers and its share of loss and gradient.
#[derive(Clone, Debug, Default)]
struct Part {
    ws: Workspace,
    grad_out: Vec<f32>,
    grads: Vec<f32>,
    loss: f64,
}

/// Noise stream of the `u`-th discriminator update of a step: keys from
/// 2^63 up, apart from the per-chunk noise keys (0, 1, ...) and the batch and
/// latent keys (u64::MAX, u64::MAX - 1).
pub(crate) fn update_stream(seed: u64, step: usize, u: usize) -> crate::engine::rng::SeededRng {
    stream(seed, step, (1 << 63) + u as u64)
}

/// The discriminator's initialisation seed for a run's seed.
pub(crate) fn discriminator_seed(seed: u64) -> u64 {
    seed ^ 0xD15C_0000_D15C_0000
}

/// ln(1 + e^x) without overflow.
fn softplus(x: f32) -> f32 {
    x.max(0.0) + (-x.abs()).exp().ln_1p()
}

/// Mean cosine between corresponding rows of `a` and `b` (row-major, `dim`
/// columns), in f64 and a fixed order. A row where either vector is zero
/// counts as 0. 1 means the directions agree everywhere.
pub fn mean_cosine(a: &[f32], b: &[f32], dim: usize) -> f64 {
    let rows = (a.len().min(b.len()) / dim.max(1)).max(1);
    let total: f64 = a
        .chunks_exact(dim)
        .zip(b.chunks_exact(dim))
        .map(|(x, y)| {
            let (mut xy, mut xx, mut yy) = (0.0f64, 0.0f64, 0.0f64);
            for (&u, &v) in x.iter().zip(y) {
                let (u, v) = (u as f64, v as f64);
                xy += u * v;
                xx += u * u;
                yy += v * v;
            }
            if xx > 0.0 && yy > 0.0 { xy / (xx.sqrt() * yy.sqrt()) } else { 0.0 }
        })
        .sum();
    total / rows as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bce_update_lowers_the_loss_on_separable_classes() {
        let mut d = Discriminator::new(1, &[8], Activation::Tanh, 0.05, GanLoss::Alt, 1).unwrap();
        let pos: Vec<f32> = (0..32).map(|i| 1.0 + i as f32 / 32.0).collect();
        let neg: Vec<f32> = pos.iter().map(|x| -x).collect();
        let first = d.update(&pos, &neg);
        assert!((first - std::f64::consts::LN_2).abs() < 0.5, "untrained BCE {first} near ln 2");
        let mut last = first;
        for _ in 0..200 {
            last = d.update(&pos, &neg);
        }
        assert!(last < 0.05, "BCE {first} -> {last}");
        let h = d.logits(&[2.0, -2.0]);
        assert!(h[0] > 2.0 && h[1] < -2.0, "{h:?}");
    }

    #[test]
    fn mean_cosine_of_known_vectors() {
        let a = [1.0, 0.0, 0.0, 2.0, 0.0, 0.0];
        let b = [2.0, 0.0, 3.0, 0.0, 0.0, 5.0];
        // rows: cos 1, cos 0, zero vector -> 0
        assert!((mean_cosine(&a, &b, 2) - 1.0 / 3.0).abs() < 1e-12);
        assert_eq!(softplus(-200.0), 0.0);
        assert_eq!(softplus(200.0), 200.0);
    }
}
