//! Step 4 of Algorithms 1 and 2 as a seam: the [`Drift`] trait gives the
//! direction dz (before eta) each generated point should move, from the
//! generator's outputs y and a target batch x. [`KernelDrift`] is the kernel
//! flows (through [`Displace`], the code the particle flow runs);
//! `discriminator.rs` holds the neural one (eq. 31). [`KernelPath`] names how
//! a step's kernel sums were computed, for particle steps and drifts alike.

use crate::engine::kernel::fast::KernelImpl;
use crate::engine::kernel::{Centres, inv_two_sigma2};

use crate::engine::nn::NnError;

use super::discriminator::{Discriminator, Driver, discriminator_seed, mean_cosine, update_stream};
use super::displace::{Displace, Source, noisy_points};
use super::formulas::{Bandwidth, Method};

/// How the kernel sums of a step were computed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KernelPath {
    /// Every centre for every query.
    Full,
    /// Every centre for every query, as matrix products (d >= 8).
    Gemm,
    /// Cell list; `fallbacks` queries (of `queries` kernel sums) needed the
    /// full sum to meet the error bound.
    CutOff { fallbacks: usize, queries: usize },
}

impl KernelPath {
    pub fn name(&self) -> &'static str {
        match self {
            KernelPath::Full => "full",
            KernelPath::Gemm => "gemm",
            KernelPath::CutOff { .. } => "cut-off",
        }
    }
}

/// What step 4 needs: the generator's outputs y (the moving cloud) and the
/// target batch x (the fixed one), row-major, and the noise of step 3.
pub struct DriftInput<'a> {
    pub dim: usize,
    pub y: &'a [f32],
    pub x: &'a [f32],
    pub sigma2: f64,
    pub seed: u64,
    pub step: usize,
}

/// What a drift source did.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DriftReport {
    pub kernel_sigma2: f64,
    pub path: KernelPath,
    pub kernel_evaluations: u64,
    /// Mean cosine with the kernel SD direction (a discriminator drift).
    pub driver_cosine: Option<f64>,
}

/// Step 4 of Algorithm 2: the direction dz (before eta) each generated
/// point should move. [`KernelDrift`] is the kernel flows; a neural
/// discriminator (eq. 31, grad_z h) is another implementation.
pub trait Drift: Send {
    /// Writes dz of each row of `input.y` to `dz` (resized to its length).
    fn drift(&mut self, input: &DriftInput, dz: &mut Vec<f32>) -> DriftReport;

    /// The trained discriminator, for a drift that has one.
    fn discriminator(&self) -> Option<&Discriminator> {
        None
    }
}

/// The kernel flows of the particle simulation as a drift source: the same
/// [`Displace`] code, y as the moving cloud, x as the fixed one.
pub struct KernelDrift {
    pub method: Method,
    pub bandwidth: Bandwidth,
    imp: KernelImpl,
    fixed: Centres,
    moving: Centres,
}

impl KernelDrift {
    pub fn new(method: Method, bandwidth: Bandwidth) -> Self {
        // Only `Displace` reads these centres: in high dimensions it needs
        // the row-major copy alone.
        let (mut fixed, mut moving) = (Centres::default(), Centres::default());
        fixed.set_rows_only(true);
        moving.set_rows_only(true);
        Self { method, bandwidth, imp: KernelImpl::detect(), fixed, moving }
    }
}

impl Drift for KernelDrift {
    fn drift(&mut self, input: &DriftInput, dz: &mut Vec<f32>) -> DriftReport {
        let dim = input.dim;
        let kernel_sigma2 = self.bandwidth.kernel_sigma2(input.sigma2);
        let uses_q = self.method.uses_moving_kernel();
        // The two centre sets are independent: fill them side by side.
        let (fixed, moving) = (&mut self.fixed, &mut self.moving);
        rayon::join(
            || fixed.fill(dim, input.x, None),
            || {
                if uses_q {
                    moving.fill(dim, input.y, None);
                }
            },
        );
        let (count_p, count_q) = (input.x.len() / dim, input.y.len() / dim);
        Displace {
            method: self.method,
            imp: self.imp,
            dim,
            moving: input.y,
            moving_idx: None,
            seed: input.seed,
            step: input.step,
            noise_sigma: input.sigma2.sqrt() as f32,
            inv_two_sigma2: inv_two_sigma2(kernel_sigma2),
            fixed: Source::Full(&self.fixed),
            count_p,
            moving_centres: uses_q.then_some(Source::Full(&self.moving)),
            count_q,
        }
        .run(dz);
        let path = if self.fixed.rows().is_some() { KernelPath::Gemm } else { KernelPath::Full };
        let kernel_evaluations = (count_q * (count_p + if uses_q { count_q } else { 0 })) as u64;
        DriftReport { kernel_sigma2, path, kernel_evaluations, driver_cosine: None }
    }
}

/// Generator training (Algorithm 2) driven by a discriminator: step 4's dz
/// is the discriminator's (eq. 28 or 32) at the same z the kernel flow would
/// use, after `updates_per_step` updates on the target batch x against the
/// generated batch y, both noised at sigma(t). The kernel SD dz is computed
/// too, for the cosine.
pub struct DiscriminatorDrift {
    discriminator: Discriminator,
    kernel: KernelDrift,
    updates_per_step: usize,
    minibatch: usize,
    rows: (Vec<f32>, Vec<f32>),
    z: Vec<f32>,
    kernel_dz: Vec<f32>,
}

impl DiscriminatorDrift {
    /// None for the `Kernel` driver.
    pub fn new(driver: &Driver, dim: usize, seed: u64) -> Option<Result<Self, NnError>> {
        let Driver::Discriminator { updates_per_step, minibatch, .. } = driver else {
            return None;
        };
        Some(Discriminator::from_driver(driver, dim, discriminator_seed(seed))?.map(|discriminator| Self {
            discriminator,
            kernel: KernelDrift::new(Method::Sd, Bandwidth::Tied),
            updates_per_step: *updates_per_step,
            minibatch: *minibatch,
            rows: (Vec::new(), Vec::new()),
            z: Vec::new(),
            kernel_dz: Vec::new(),
        }))
    }
}

impl Drift for DiscriminatorDrift {
    fn drift(&mut self, input: &DriftInput, dz: &mut Vec<f32>) -> DriftReport {
        let sigma = input.sigma2.sqrt() as f32;
        for u in 0..self.updates_per_step {
            let mut rng = update_stream(input.seed, input.step, u);
            self.discriminator.update_noisy(input.x, input.y, self.minibatch, sigma, &mut rng, &mut self.rows);
        }
        let report = self.kernel.drift(input, &mut self.kernel_dz);
        noisy_points(input.dim, input.y, None, (input.seed, input.step), sigma, &mut self.z);
        dz.clear();
        dz.resize(self.z.len(), 0.0);
        self.discriminator.directions(&self.z, (0.5 * input.sigma2) as f32, dz);
        DriftReport { driver_cosine: Some(mean_cosine(dz, &self.kernel_dz, input.dim)), ..report }
    }

    fn discriminator(&self) -> Option<&Discriminator> {
        Some(&self.discriminator)
    }
}
