//! Generator scenes (Algorithm 2, a scene with `model:`) on the worker. The
//! worker owns a [`Run`]: either the particle [`Simulation`] of Algorithm 1
//! or a generator [`Trainer`]. For a generator the moving cloud is
//! [`Trainer::samples`] from fixed latent inputs, so the drawn cloud moves
//! smoothly as the generator learns. Each reply carries the losses of the
//! steps it served and, on the metrics cadence, Fig. 6's comparison with the
//! true parameters (linear generators on a `LinearGaussian` target) and the
//! image of a latent grid (MLP generators in 2-D/3-D).
//!
//! Flow edits in the panel reach a particle run at once; the engine's
//! trainer has no settings setter, so for generator scenes they apply on
//! "Apply and restart" (the panel says so).

use crate::engine::datasets::LinearTruth;
use crate::engine::metrics::{LinearComparison, compare_linear};
use crate::engine::{Cloud, FlowSettings, Model, RunReport, Schedule, Simulation, StepReport, StepSize, Trainer};

/// Most generator samples drawn (and measured) per state.
pub const MAX_SAMPLES: usize = 4000;

/// Latent grid: lines along each of the first two latent axes, points per
/// line, and the half-width of the grid in latent units (about 2.5 std).
pub const GRID_LINES: usize = 13;

pub const GRID_SAMPLES: usize = 64;

pub const GRID_EXTENT: f32 = 2.5;

/// What the worker runs: particles (Algorithm 1) or a generator (Algorithm 2).
pub enum Run {
    Particles(Box<Simulation>),
    Generator(Box<GeneratorRun>),
}

/// A generator being trained, with the cloud drawn for it.
pub struct GeneratorRun {
    trainer: Trainer,
    /// True B and mu of a `LinearGaussian` target.
    truth: Option<LinearTruth>,
    /// Samples drawn per state.
    shown: usize,
    /// Samples of the current generator; None after a step until asked for.
    samples: Option<Cloud>,
    /// (step, loss) of the steps taken since the last reply.
    losses: Vec<(usize, f64)>,
    last_eta: Option<f64>,
}

impl GeneratorRun {
    pub fn new(trainer: Trainer, truth: Option<LinearTruth>) -> Self {
        let shown = trainer.target().len().clamp(1, MAX_SAMPLES);
        Self { trainer, truth, shown, samples: None, losses: Vec::new(), last_eta: None }
    }

    pub fn trainer(&self) -> &Trainer {
        &self.trainer
    }

    /// What the panel shows about the model and its settings.
    pub fn info(&self) -> GeneratorInfo {
        let model = self.trainer.model();
        let settings = self.trainer.settings();
        let generator = self.trainer.generator();
        let dim = generator.dim();
        let shape = match model {
            Model::Linear { latent, .. } => format!("Linear {latent} -> {dim}"),
            Model::Mlp { latent, hidden, activation, optimizer, .. } => {
                let layers: Vec<String> = hidden.iter().map(|h| h.to_string()).collect();
                format!("Mlp {latent} -> {} -> {dim}, {}, {optimizer:?}", layers.join(" -> "), activation.name())
            }
        };
        GeneratorInfo {
            kind: model.kind_name(),
            shape,
            learning_rate: model.learning_rate(),
            latent: model.latent(),
            dim: generator.dim(),
            batch: self.trainer.batch(),
            schedule: self.trainer.schedule(),
            from_nearest: match settings.schedule {
                Schedule::FromNearest { factor } => Some(factor),
                _ => None,
            },
            regression_steps: settings.regression_steps.max(1),
            linear: generator.as_linear().is_some(),
            has_truth: self.truth.is_some(),
            grid: generator.as_mlp().is_some() && (2..=3).contains(&generator.dim()),
        }
    }

    /// Fig. 6's comparison with the true parameters (linear generators on a
    /// `LinearGaussian` target only).
    pub fn comparison(&self) -> Option<LinearComparison> {
        compare_linear(self.trainer.generator().as_linear()?, self.truth.as_ref()?)
    }

    /// The latent grid's image, projected to 3-D (MLP generators in 2-D/3-D).
    pub fn grid(&self) -> Option<Vec<Vec<f32>>> {
        let generator = self.trainer.generator();
        let dim = generator.dim();
        if generator.as_mlp().is_none() || !(2..=3).contains(&dim) {
            return None;
        }
        let lines = generator.grid_lines(GRID_LINES, GRID_SAMPLES, GRID_EXTENT);
        Some(lines.iter().map(|line| project_points(dim, line)).collect())
    }
}

/// Row-major points of dimension `dim` as x, y, z per point (missing
/// coordinates 0, extra ones dropped).
pub fn project_points(dim: usize, points: &[f32]) -> Vec<f32> {
    if dim == 0 {
        return Vec::new();
    }
    let mut out = Vec::with_capacity(points.len() / dim * 3);
    for p in points.chunks_exact(dim) {
        let shown = &p[..dim.min(3)];
        out.extend_from_slice(shown);
        out.extend(std::iter::repeat_n(0.0, 3 - shown.len()));
    }
    out
}

impl Run {
    pub fn step(&mut self) -> Option<StepReport> {
        match self {
            Run::Particles(sim) => sim.step(),
            Run::Generator(g) => {
                let report = g.trainer.step()?;
                g.samples = None;
                g.losses.push((report.step + 1, report.loss));
                g.last_eta = Some(report.eta);
                Some(RunReport::Generator(report).as_step_report())
            }
        }
    }

    pub fn reset(&mut self) {
        match self {
            Run::Particles(sim) => sim.reset(),
            Run::Generator(g) => {
                // Rebuilding the model succeeded at the start, so it does again;
                // should it not, the run stays where it is.
                if g.trainer.reset().is_ok() {
                    g.samples = None;
                    g.losses.clear();
                    g.last_eta = None;
                }
            }
        }
    }

    /// Flow settings edited in the panel: a particle run takes them from the
    /// next step on; a generator run only on restart (see the module docs).
    pub fn set_settings(&mut self, settings: FlowSettings) {
        if let Run::Particles(sim) = self {
            sim.set_settings(settings);
        }
    }

    pub fn step_index(&self) -> usize {
        match self {
            Run::Particles(sim) => sim.step_index(),
            Run::Generator(g) => g.trainer.step_index(),
        }
    }

    pub fn is_finished(&self) -> bool {
        match self {
            Run::Particles(sim) => sim.is_finished(),
            Run::Generator(g) => g.trainer.is_finished(),
        }
    }

    /// The cloud the flow aims at.
    pub fn fixed(&self) -> &Cloud {
        match self {
            Run::Particles(sim) => sim.fixed(),
            Run::Generator(g) => g.trainer.target(),
        }
    }

    /// The cloud that moves: the particles, or the generator's samples
    /// (drawn when first asked for after a step).
    pub fn moving(&mut self) -> &Cloud {
        match self {
            Run::Particles(sim) => sim.moving(),
            Run::Generator(g) => {
                let (trainer, shown) = (&g.trainer, g.shown);
                g.samples.get_or_insert_with(|| trainer.samples(shown))
            }
        }
    }

    /// Points counted for the metrics cadence.
    pub fn points(&self) -> usize {
        match self {
            Run::Particles(sim) => sim.moving().len() + sim.fixed().len(),
            Run::Generator(g) => g.shown + g.trainer.target().len(),
        }
    }

    /// The step size in force, once known.
    pub fn eta(&self) -> Option<f64> {
        match self {
            Run::Particles(sim) => sim.eta(),
            Run::Generator(g) => g.last_eta.or(match g.trainer.settings().step_size {
                StepSize::Fixed { eta } => Some(eta),
                StepSize::Auto { .. } => None,
            }),
        }
    }

    /// What the GAN view reads (the samples are drawn first if needed).
    pub fn gan_state(&mut self) -> super::gan::GanState<'_> {
        match self {
            Run::Particles(sim) => super::gan::GanState::of_particles(sim),
            Run::Generator(g) => {
                let GeneratorRun { trainer, samples, shown, .. } = &mut **g;
                let moving = &*samples.get_or_insert_with(|| trainer.samples(*shown));
                let s = trainer.settings();
                super::gan::GanState {
                    fixed: trainer.target(),
                    moving,
                    discriminator: trainer.discriminator(),
                    step_index: trainer.step_index(),
                    start_sigma2: s.bandwidth.kernel_sigma2(trainer.schedule().sigma2(0, s.steps)),
                }
            }
        }
    }

    /// The particle flow, to step it through its timeline.
    pub fn as_particles_mut(&mut self) -> Option<&mut Simulation> {
        match self {
            Run::Particles(sim) => Some(sim),
            Run::Generator(_) => None,
        }
    }

    /// The particle flow, for what only particles have (the divergences).
    pub fn as_particles(&self) -> Option<&Simulation> {
        match self {
            Run::Particles(sim) => Some(sim),
            Run::Generator(_) => None,
        }
    }

    pub fn as_generator(&self) -> Option<&GeneratorRun> {
        match self {
            Run::Generator(g) => Some(g),
            Run::Particles(_) => None,
        }
    }

    /// The generator's part of a reply: losses since the last reply, and
    /// (when `heavy`, on the metrics cadence) the comparison and the grid.
    pub fn generator_reply(&mut self, loaded: bool, heavy: bool) -> Option<GeneratorReply> {
        let Run::Generator(g) = self else { return None };
        Some(GeneratorReply {
            info: loaded.then(|| g.info()),
            losses: std::mem::take(&mut g.losses),
            comparison: if heavy { g.comparison() } else { None },
            grid: if heavy { g.grid() } else { None },
        })
    }
}

/// The model and the settings in force, sent once on load.
#[derive(Clone, Debug, PartialEq)]
pub struct GeneratorInfo {
    pub kind: &'static str,
    /// "Mlp 2 -> 128 -> 128 -> 2, Relu, Adam".
    pub shape: String,
    pub learning_rate: f64,
    pub latent: usize,
    pub dim: usize,
    pub batch: usize,
    /// The schedule in force (`FromNearest` resolved to its constant).
    pub schedule: Schedule,
    /// The `FromNearest` factor the constant came from.
    pub from_nearest: Option<f64>,
    pub regression_steps: usize,
    pub linear: bool,
    /// The target's true B and mu are known (Fig. 6's panels).
    pub has_truth: bool,
    /// The latent grid can be drawn (MLP in 2-D/3-D).
    pub grid: bool,
}

/// The generator's part of a worker reply.
#[derive(Clone, Debug, Default)]
pub struct GeneratorReply {
    /// Only on load and reset.
    pub info: Option<GeneratorInfo>,
    /// (steps taken, loss) for each step served.
    pub losses: Vec<(usize, f64)>,
    pub comparison: Option<LinearComparison>,
    /// Polylines, x, y, z per point.
    pub grid: Option<Vec<Vec<f32>>>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn points_are_projected_to_three_coordinates() {
        assert_eq!(project_points(2, &[1.0, 2.0, 3.0, 4.0]), vec![1.0, 2.0, 0.0, 3.0, 4.0, 0.0]);
        assert_eq!(project_points(4, &[1.0, 2.0, 3.0, 4.0]), vec![1.0, 2.0, 3.0]);
        assert!(project_points(0, &[1.0]).is_empty());
    }
}
