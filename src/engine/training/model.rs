//! The generators of Algorithm 2 (paper App. C.2 and E.4): [`Model`] as a
//! scene writes it, and the trainable [`Generator`] it builds, linear
//! g(xi) = B xi + mu or a dense network, with its regression step (step 6).
//! The training loop that drives them is `trainer.rs`.

use rand_distr::{Distribution, StandardNormal};
use serde::{Deserialize, Serialize};

use crate::engine::datasets::gram;
use crate::engine::flow;
use crate::engine::nn::{Activation, Mlp, NnError, Optimizer, OptimizerState, Workspace};

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
    /// d, the dimension of the output.
    pub fn dim(&self) -> usize {
        self.dim
    }

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
