//! A small dense multilayer perceptron with hand-derived gradients, shared by
//! the neural generators (Algorithm 2) and the neural discriminators (Section
//! 4.3, eq. 28-32).
//!
//! Rows are samples: a batch of B inputs is a row-major B x `input` matrix.
//! Layer l computes a_{l+1} = act(a_l W_l^T + b_l) for the hidden layers and a
//! plain affine map for the output layer; W_l is stored row-major as
//! `outputs x inputs` (the usual y = W x + b). All parameters live in one
//! flat f32 vector, so gradients and optimiser moments are flat vectors of the
//! same layout and the optimisers are a few lines each.
//!
//! The matrix products go through `matrixmultiply` (blocked, runtime AVX/FMA
//! detection, single-threaded and so bit-for-bit deterministic). Backward
//! gives the parameter gradient of sum_b <G_b, out_b> for an output gradient G
//! and, when asked, the gradient with respect to the inputs (a discriminator
//! flow needs grad_z h(z)).

use rand_distr::{Distribution, StandardNormal};
use serde::{Deserialize, Serialize};

use super::kernel::fast::{KernelImpl, exp_nonpositive};

/// Nonlinearity of the hidden layers.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub enum Activation {
    /// max(0, x); He initialisation.
    #[default]
    Relu,
    /// tanh(x); Xavier (Glorot) initialisation.
    Tanh,
    /// x sigmoid(x) (swish); He initialisation.
    Silu,
}

impl Activation {
    pub fn name(self) -> &'static str {
        match self {
            Activation::Relu => "Relu",
            Activation::Tanh => "Tanh",
            Activation::Silu => "Silu",
        }
    }

    /// (act(x), what [`Activation::derivative`] needs besides act(x)): x for
    /// Relu and Tanh, sigmoid(x) for Silu (so backward needs no exp).
    fn apply(self, x: f32) -> (f32, f32) {
        match self {
            Activation::Relu => (x.max(0.0), x),
            Activation::Tanh => (x.tanh(), x),
            Activation::Silu => {
                let s = sigmoid(x);
                (x * s, s)
            }
        }
    }

    /// [`Activation::apply`] over a whole layer in place, keeping the
    /// derivative's values in `kept`. Silu's sigmoid runs on 8-wide AVX2 when
    /// the CPU has it (the scalar loop cost more than the matrix products).
    fn apply_all(self, out: &mut [f32], kept: &mut [f32]) {
        #[cfg(target_arch = "x86_64")]
        if self == Activation::Silu && KernelImpl::detect().has_avx2() {
            // SAFETY: `has_avx2` is only true on CPUs with AVX2 and FMA.
            unsafe { apply_all_avx2(self, out, kept) };
            return;
        }
        apply_all_generic(self, out, kept);
    }

    /// d act / dx from the output `a = act(x)` and the kept value of `apply`.
    /// Silu: d(x s)/dx = s + x s (1 - s) = s + a (1 - s).
    fn derivative(self, kept: f32, a: f32) -> f32 {
        match self {
            Activation::Relu => {
                if kept > 0.0 {
                    1.0
                } else {
                    0.0
                }
            }
            Activation::Tanh => 1.0 - a * a,
            Activation::Silu => kept + a * (1.0 - kept),
        }
    }
}

#[inline(always)]
fn apply_all_generic(act: Activation, out: &mut [f32], kept: &mut [f32]) {
    match act {
        Activation::Silu => {
            for (o, k) in out.iter_mut().zip(kept.iter_mut()) {
                let s = sigmoid(*o);
                *k = s;
                *o *= s;
            }
        }
        _ => {
            for (o, k) in out.iter_mut().zip(kept.iter_mut()) {
                (*o, *k) = act.apply(*o);
            }
        }
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn apply_all_avx2(act: Activation, out: &mut [f32], kept: &mut [f32]) {
    apply_all_generic(act, out, kept)
}

/// Logistic sigmoid, stable for any x: both branches take exp(-|x|) <= 1,
/// on the kernels' vectorisable polynomial exp.
#[inline(always)]
pub fn sigmoid(x: f32) -> f32 {
    let e = exp_nonpositive(-x.abs());
    let r = 1.0 / (1.0 + e);
    if x >= 0.0 { r } else { e * r }
}

/// Parameter update rule.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub enum Optimizer {
    /// theta <- theta - lr g.
    Sgd,
    /// Adam (Kingma & Ba 2015) with beta1 = 0.9, beta2 = 0.999, eps = 1e-8.
    #[default]
    Adam,
}

impl Optimizer {
    pub fn name(self) -> &'static str {
        match self {
            Optimizer::Sgd => "Sgd",
            Optimizer::Adam => "Adam",
        }
    }
}

/// Why a network could not be built.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum NnError {
    #[error("every layer width must be at least 1 (got input {input}, hidden {hidden:?}, output {output})")]
    ZeroWidth { input: usize, hidden: Vec<usize>, output: usize },
}

/// Where one layer's parameters sit in the flat vector.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Shape {
    inputs: usize,
    outputs: usize,
    /// Offset of W (outputs x inputs, row-major); b follows it.
    offset: usize,
}

impl Shape {
    fn weights(self) -> std::ops::Range<usize> {
        self.offset..self.offset + self.outputs * self.inputs
    }

    fn bias(self) -> std::ops::Range<usize> {
        let start = self.offset + self.outputs * self.inputs;
        start..start + self.outputs
    }
}

/// One layer's parameters, for export (JSON) and inspection.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct LayerParams {
    /// `outputs` rows of `inputs` numbers: y = W x + b.
    pub weights: Vec<Vec<f32>>,
    pub bias: Vec<f32>,
    /// Whether the hidden activation follows (false for the output layer).
    pub activated: bool,
}

/// A dense network: `input` -> hidden widths (activated) -> `output` (linear).
#[derive(Clone, Debug, PartialEq)]
pub struct Mlp {
    activation: Activation,
    shapes: Vec<Shape>,
    params: Vec<f32>,
}

impl Mlp {
    /// A freshly initialised network: weights N(0, s^2) with s^2 = 2 / fan_in
    /// (He) for Relu/Silu and 2 / (fan_in + fan_out) (Xavier) for Tanh; the
    /// output layer uses 1 / fan_in; biases 0. Deterministic for a seed.
    pub fn new(
        input: usize,
        hidden: &[usize],
        output: usize,
        activation: Activation,
        seed: u64,
    ) -> Result<Self, NnError> {
        if input == 0 || output == 0 || hidden.contains(&0) {
            return Err(NnError::ZeroWidth { input, hidden: hidden.to_vec(), output });
        }
        let widths: Vec<usize> = std::iter::once(input).chain(hidden.iter().copied()).chain([output]).collect();
        let mut shapes = Vec::with_capacity(widths.len() - 1);
        let mut offset = 0;
        for w in widths.windows(2) {
            shapes.push(Shape { inputs: w[0], outputs: w[1], offset });
            offset += w[1] * w[0] + w[1];
        }
        let mut params = vec![0.0; offset];
        let mut rng = crate::engine::rng::seeded(seed);
        let last = shapes.len() - 1;
        for (l, s) in shapes.iter().enumerate() {
            let (fan_in, fan_out) = (s.inputs as f64, s.outputs as f64);
            let var = match (l == last, activation) {
                (true, _) => 1.0 / fan_in,
                (false, Activation::Tanh) => 2.0 / (fan_in + fan_out),
                (false, Activation::Relu | Activation::Silu) => 2.0 / fan_in,
            };
            let std = var.sqrt();
            for w in &mut params[s.weights()] {
                let e: f64 = StandardNormal.sample(&mut rng);
                *w = (std * e) as f32;
            }
        }
        Ok(Self { activation, shapes, params })
    }

    pub fn activation(&self) -> Activation {
        self.activation
    }

    pub fn input_dim(&self) -> usize {
        self.shapes[0].inputs
    }

    pub fn output_dim(&self) -> usize {
        self.shapes[self.shapes.len() - 1].outputs
    }

    /// Hidden widths, in order.
    pub fn hidden(&self) -> Vec<usize> {
        self.shapes[..self.shapes.len() - 1].iter().map(|s| s.outputs).collect()
    }

    /// Number of parameters (weights and biases).
    pub fn param_count(&self) -> usize {
        self.params.len()
    }

    /// All parameters, flat: per layer W (outputs x inputs, row-major) then b.
    pub fn params(&self) -> &[f32] {
        &self.params
    }

    pub fn params_mut(&mut self) -> &mut [f32] {
        &mut self.params
    }

    /// Per-layer weights and biases, for JSON export.
    pub fn layers(&self) -> Vec<LayerParams> {
        let last = self.shapes.len() - 1;
        self.shapes
            .iter()
            .enumerate()
            .map(|(l, &s)| LayerParams {
                weights: self.params[s.weights()].chunks_exact(s.inputs).map(<[f32]>::to_vec).collect(),
                bias: self.params[s.bias()].to_vec(),
                activated: l != last,
            })
            .collect()
    }

    /// Forward pass of `batch` rows of `input` (row-major, batch x input_dim);
    /// returns the batch x output_dim outputs, kept in `ws` for [`Mlp::backward`].
    pub fn forward<'w>(&self, input: &[f32], ws: &'w mut Workspace) -> &'w [f32] {
        let batch = input.len() / self.input_dim();
        ws.prepare(self, batch);
        ws.acts[0].copy_from_slice(&input[..batch * self.input_dim()]);
        let last = self.shapes.len() - 1;
        for (l, &s) in self.shapes.iter().enumerate() {
            let (before, after) = ws.acts.split_at_mut(l + 1);
            let (a_in, out) = (&before[l], &mut after[0]);
            // out = 1 b^T, then out += a_in W^T.
            for row in out.chunks_exact_mut(s.outputs) {
                row.copy_from_slice(&self.params[s.bias()]);
            }
            gemm(batch, s.inputs, s.outputs, a_in, (s.inputs, 1), &self.params[s.weights()], (1, s.inputs), 1.0, out);
            if l != last {
                self.activation.apply_all(out, &mut ws.pre[l]);
            }
        }
        &ws.acts[last + 1]
    }

    /// Backward pass after [`Mlp::forward`] on `ws`, for the scalar
    /// L = sum_b <grad_output_b, out_b>. Adds dL/dtheta into `grads` (length
    /// `param_count`, not cleared here) when given, and writes dL/dinput
    /// (batch x input_dim) into `grad_input` when given.
    pub fn backward(
        &self,
        ws: &mut Workspace,
        grad_output: &[f32],
        mut grads: Option<&mut [f32]>,
        grad_input: Option<&mut [f32]>,
    ) {
        let batch = ws.batch;
        let last = self.shapes.len() - 1;
        ws.delta.clear();
        ws.delta.extend_from_slice(&grad_output[..batch * self.output_dim()]);
        for l in (0..=last).rev() {
            let s = self.shapes[l];
            if l != last {
                // delta is dL/d(activation output): through the nonlinearity.
                for ((d, &x), &a) in ws.delta.iter_mut().zip(&ws.pre[l]).zip(&ws.acts[l + 1]) {
                    *d *= self.activation.derivative(x, a);
                }
            }
            if let Some(g) = grads.as_deref_mut() {
                // dW += delta^T a_in (outputs x inputs); db += column sums.
                gemm(
                    s.outputs,
                    batch,
                    s.inputs,
                    &ws.delta,
                    (1, s.outputs),
                    &ws.acts[l],
                    (s.inputs, 1),
                    1.0,
                    &mut g[s.weights()],
                );
                let gb = &mut g[s.bias()];
                for row in ws.delta.chunks_exact(s.outputs) {
                    for (b, &d) in gb.iter_mut().zip(row) {
                        *b += d;
                    }
                }
            }
            if l == 0 && grad_input.is_none() {
                break;
            }
            // dL/da_in = delta W (batch x inputs).
            ws.delta_in.clear();
            ws.delta_in.resize(batch * s.inputs, 0.0);
            gemm(
                batch,
                s.outputs,
                s.inputs,
                &ws.delta,
                (s.outputs, 1),
                &self.params[s.weights()],
                (s.inputs, 1),
                0.0,
                &mut ws.delta_in,
            );
            std::mem::swap(&mut ws.delta, &mut ws.delta_in);
        }
        if let Some(gi) = grad_input {
            gi[..ws.delta.len()].copy_from_slice(&ws.delta);
        }
    }
}

/// Activations of the last forward pass and backward scratch, reused across
/// calls so that a training loop allocates only when the batch grows.
#[derive(Clone, Debug, Default)]
pub struct Workspace {
    batch: usize,
    /// acts[0] the input, acts[l + 1] the output of layer l (after its
    /// activation for hidden layers).
    acts: Vec<Vec<f32>>,
    /// Per hidden unit, what the activation's derivative needs (see
    /// `Activation::apply`).
    pre: Vec<Vec<f32>>,
    delta: Vec<f32>,
    delta_in: Vec<f32>,
}

impl Workspace {
    fn prepare(&mut self, net: &Mlp, batch: usize) {
        self.batch = batch;
        let layers = net.shapes.len();
        self.acts.resize_with(layers + 1, Vec::new);
        self.pre.resize_with(layers - 1, Vec::new);
        self.acts[0].resize(batch * net.input_dim(), 0.0);
        for (l, s) in net.shapes.iter().enumerate() {
            self.acts[l + 1].resize(batch * s.outputs, 0.0);
            if l + 1 < layers {
                self.pre[l].resize(batch * s.outputs, 0.0);
            }
        }
    }

    /// Rows in the last forward pass.
    pub fn batch(&self) -> usize {
        self.batch
    }

    /// Outputs of the last forward pass.
    pub fn output(&self) -> &[f32] {
        self.acts.last().map_or(&[], Vec::as_slice)
    }
}

/// Optimiser state (moments for Adam) for one network's flat parameters.
#[derive(Clone, Debug, PartialEq)]
pub struct OptimizerState {
    kind: Optimizer,
    learning_rate: f64,
    first: Vec<f32>,
    second: Vec<f32>,
    steps: u32,
}

impl OptimizerState {
    const BETA1: f64 = 0.9;
    const BETA2: f64 = 0.999;
    const EPS: f64 = 1e-8;

    pub fn new(kind: Optimizer, learning_rate: f64, param_count: usize) -> Self {
        let moments = if kind == Optimizer::Adam { param_count } else { 0 };
        Self { kind, learning_rate, first: vec![0.0; moments], second: vec![0.0; moments], steps: 0 }
    }

    pub fn kind(&self) -> Optimizer {
        self.kind
    }

    pub fn learning_rate(&self) -> f64 {
        self.learning_rate
    }

    /// Updates taken so far.
    pub fn steps(&self) -> u32 {
        self.steps
    }

    /// One descent step on `params` along the gradient `grads`.
    pub fn step(&mut self, params: &mut [f32], grads: &[f32]) {
        self.steps += 1;
        match self.kind {
            Optimizer::Sgd => {
                let lr = self.learning_rate as f32;
                for (p, &g) in params.iter_mut().zip(grads) {
                    *p -= lr * g;
                }
            }
            Optimizer::Adam => {
                let t = self.steps as i32;
                // Bias corrections folded into the step size.
                let c1 = 1.0 - Self::BETA1.powi(t);
                let c2 = 1.0 - Self::BETA2.powi(t);
                let lr = (self.learning_rate * c2.sqrt() / c1) as f32;
                let eps = (Self::EPS * c2.sqrt()) as f32;
                let (b1, b2) = (Self::BETA1 as f32, Self::BETA2 as f32);
                for (((p, &g), m), v) in params.iter_mut().zip(grads).zip(&mut self.first).zip(&mut self.second) {
                    *m = b1 * *m + (1.0 - b1) * g;
                    *v = b2 * *v + (1.0 - b2) * g * g;
                    *p -= lr * *m / (v.sqrt() + eps);
                }
            }
        }
    }
}

/// C (m x n, row-major) = beta C + A B with A (m x k) and B (k x n) given by
/// (row stride, column stride). Checks that every index read or written lies
/// inside its slice, which is what makes the unsafe call sound.
#[allow(clippy::too_many_arguments)]
fn gemm(
    m: usize,
    k: usize,
    n: usize,
    a: &[f32],
    sa: (usize, usize),
    b: &[f32],
    sb: (usize, usize),
    beta: f32,
    c: &mut [f32],
) {
    if m == 0 || n == 0 {
        return;
    }
    let last = |rows: usize, cols: usize, (rs, cs): (usize, usize)| (rows - 1) * rs + (cols - 1) * cs;
    assert!(c.len() >= m * n, "gemm: C too short");
    if k > 0 {
        assert!(a.len() > last(m, k, sa) && b.len() > last(k, n, sb), "gemm: operand too short");
    }
    // SAFETY: the asserts above bound every element matrixmultiply touches
    // (A[i, p] at i*rs+p*cs for i < m, p < k, likewise B and C); the slices
    // do not alias since `c` is borrowed mutably.
    unsafe {
        matrixmultiply::sgemm(
            m,
            k,
            n,
            1.0,
            a.as_ptr(),
            sa.0 as isize,
            sa.1 as isize,
            b.as_ptr(),
            sb.0 as isize,
            sb.1 as isize,
            beta,
            c.as_mut_ptr(),
            n as isize,
            1,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_distr::Normal;

    /// Plain f64 forward pass from the exported layers, independent of the
    /// flat layout and of matrixmultiply.
    fn reference(net: &Mlp, params: &[f64], x: &[f64]) -> Vec<f64> {
        let mut a = x.to_vec();
        let last = net.shapes.len() - 1;
        for (l, s) in net.shapes.iter().enumerate() {
            let w = &params[s.weights()];
            let b = &params[s.bias()];
            let mut out: Vec<f64> =
                (0..s.outputs).map(|o| b[o] + (0..s.inputs).map(|i| w[o * s.inputs + i] * a[i]).sum::<f64>()).collect();
            if l != last {
                for v in &mut out {
                    *v = match net.activation {
                        Activation::Relu => v.max(0.0),
                        Activation::Tanh => v.tanh(),
                        Activation::Silu => *v / (1.0 + (-*v).exp()),
                    };
                }
            }
            a = out;
        }
        a
    }

    /// Loss sum_b <g_b, net(x_b)> in f64.
    fn loss(net: &Mlp, params: &[f64], x: &[f64], g: &[f32]) -> f64 {
        let (din, dout) = (net.input_dim(), net.output_dim());
        x.chunks_exact(din)
            .zip(g.chunks_exact(dout))
            .map(|(xb, gb)| reference(net, params, xb).iter().zip(gb).map(|(o, &gi)| o * gi as f64).sum::<f64>())
            .sum()
    }

    fn close(analytic: f32, numeric: f64, what: &str) {
        let err = (analytic as f64 - numeric).abs();
        assert!(err <= 2e-3 * (1.0 + numeric.abs()), "{what}: analytic {analytic}, f64 central difference {numeric}");
    }

    #[test]
    fn gradients_match_f64_central_differences() {
        for act in [Activation::Relu, Activation::Tanh, Activation::Silu] {
            let net = Mlp::new(3, &[7, 5], 2, act, 11).unwrap();
            let batch = 4;
            let mut rng = crate::engine::rng::seeded(5);
            let x: Vec<f32> = (0..batch * 3).map(|_| Normal::new(0.0, 1.0).unwrap().sample(&mut rng)).collect();
            let g: Vec<f32> = (0..batch * 2).map(|_| Normal::new(0.0, 1.0).unwrap().sample(&mut rng)).collect();
            let mut ws = Workspace::default();
            let out = net.forward(&x, &mut ws).to_vec();
            let mut grads = vec![0.0; net.param_count()];
            let mut grad_x = vec![0.0; x.len()];
            net.backward(&mut ws, &g, Some(&mut grads), Some(&mut grad_x));

            let p64: Vec<f64> = net.params().iter().map(|&p| p as f64).collect();
            let x64: Vec<f64> = x.iter().map(|&v| v as f64).collect();
            // The f32 forward agrees with the f64 reference.
            for (b, xb) in x64.chunks_exact(3).enumerate() {
                for (o, r) in reference(&net, &p64, xb).iter().enumerate() {
                    assert!((out[b * 2 + o] as f64 - r).abs() < 1e-5 * (1.0 + r.abs()), "{act:?} forward");
                }
            }
            let h = 1e-6;
            for i in 0..p64.len() {
                let (mut up, mut down) = (p64.clone(), p64.clone());
                up[i] += h;
                down[i] -= h;
                let numeric = (loss(&net, &up, &x64, &g) - loss(&net, &down, &x64, &g)) / (2.0 * h);
                close(grads[i], numeric, &format!("{act:?} param {i}"));
            }
            for i in 0..x64.len() {
                let (mut up, mut down) = (x64.clone(), x64.clone());
                up[i] += h;
                down[i] -= h;
                let numeric = (loss(&net, &p64, &up, &g) - loss(&net, &p64, &down, &g)) / (2.0 * h);
                close(grad_x[i], numeric, &format!("{act:?} input {i}"));
            }
            // Some gradient is far from zero, so the comparison has teeth.
            assert!(grads.iter().any(|v| v.abs() > 0.1) && grad_x.iter().any(|v| v.abs() > 0.1));
        }
    }

    /// Mean squared error of fitting y = sin(2x) on [-2, 2]; fills `grads`.
    fn regression_step(net: &Mlp, ws: &mut Workspace, x: &[f32], grads: &mut [f32]) -> f64 {
        let out = net.forward(x, ws).to_vec();
        let n = x.len() as f32;
        let residual: Vec<f32> = out.iter().zip(x).map(|(o, &xi)| o - (2.0 * xi).sin()).collect();
        let g: Vec<f32> = residual.iter().map(|r| 2.0 * r / n).collect();
        grads.iter_mut().for_each(|v| *v = 0.0);
        net.backward(ws, &g, Some(grads), None);
        residual.iter().map(|&r| (r * r) as f64).sum::<f64>() / n as f64
    }

    #[test]
    fn optimisers_decrease_a_regression_loss() {
        let x: Vec<f32> = (0..64).map(|i| -2.0 + 4.0 * i as f32 / 63.0).collect();
        for (kind, lr) in [(Optimizer::Sgd, 0.05), (Optimizer::Adam, 0.01)] {
            let mut net = Mlp::new(1, &[32, 32], 1, Activation::Tanh, 3).unwrap();
            let mut opt = OptimizerState::new(kind, lr, net.param_count());
            let mut ws = Workspace::default();
            let mut grads = vec![0.0; net.param_count()];
            let first = regression_step(&net, &mut ws, &x, &mut grads);
            let mut last = first;
            for _ in 0..500 {
                last = regression_step(&net, &mut ws, &x, &mut grads);
                opt.step(net.params_mut(), &grads);
            }
            assert!(last < 0.1 * first, "{kind:?}: loss {first} -> {last}");
        }
    }

    #[test]
    fn seeded_initialisation_and_training_are_deterministic() {
        let a = Mlp::new(2, &[16, 16], 1, Activation::Silu, 9).unwrap();
        let b = Mlp::new(2, &[16, 16], 1, Activation::Silu, 9).unwrap();
        let c = Mlp::new(2, &[16, 16], 1, Activation::Silu, 10).unwrap();
        assert_eq!(a, b);
        assert_ne!(a.params(), c.params());
        let x: Vec<f32> = (0..2 * 300).map(|i| (i as f32 * 0.37).sin()).collect();
        let train = |mut net: Mlp| {
            let mut opt = OptimizerState::new(Optimizer::Adam, 1e-2, net.param_count());
            let mut ws = Workspace::default();
            let mut grads = vec![0.0; net.param_count()];
            for _ in 0..20 {
                let out = net.forward(&x, &mut ws).to_vec();
                grads.iter_mut().for_each(|v| *v = 0.0);
                net.backward(&mut ws, &out, Some(&mut grads), None);
                opt.step(net.params_mut(), &grads);
            }
            net
        };
        assert_eq!(train(a).params(), train(b).params());
    }

    #[test]
    fn layers_export_shapes_and_errors() {
        let net = Mlp::new(2, &[4], 3, Activation::Relu, 1).unwrap();
        let layers = net.layers();
        assert_eq!(layers.len(), 2);
        assert_eq!((layers[0].weights.len(), layers[0].weights[0].len(), layers[0].bias.len()), (4, 2, 4));
        assert_eq!((layers[1].weights.len(), layers[1].weights[0].len(), layers[1].bias.len()), (3, 4, 3));
        assert!(layers[0].activated && !layers[1].activated);
        assert_eq!(net.param_count(), 4 * 2 + 4 + 3 * 4 + 3);
        assert!(matches!(Mlp::new(2, &[0], 1, Activation::Relu, 1), Err(NnError::ZeroWidth { .. })));
        assert!(Mlp::new(0, &[], 1, Activation::Relu, 1).is_err());
        // No hidden layers: a plain affine map.
        let affine = Mlp::new(2, &[], 1, Activation::Tanh, 1).unwrap();
        let mut ws = Workspace::default();
        let p = affine.params().to_vec();
        let out = affine.forward(&[1.0, -2.0], &mut ws);
        assert!((out[0] - (p[0] - 2.0 * p[1] + p[2])).abs() < 1e-6);
    }
}
