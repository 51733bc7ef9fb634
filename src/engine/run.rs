//! A run of either algorithm behind one type: the particle flow of
//! Algorithm 1 ([`Simulation`]) or the generator training of Algorithm 2
//! ([`Trainer`]). Callers that step, show or measure "the run" without caring
//! which it is (the headless runner, the app's worker) match on [`Run`] once,
//! where they build it, and use these methods elsewhere.

use std::borrow::Cow;

use super::cloud::Cloud;
use super::flow::{Discriminator, KernelPath};
use super::particles::{Simulation, StepReport};
use super::training::{TrainError, TrainReport, Trainer};

/// Particles (Algorithm 1) or a generator (Algorithm 2).
pub enum Run {
    Particles(Box<Simulation>),
    Generator(Box<Trainer>),
}

/// What one step of a [`Run`] did.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum RunReport {
    Particles(StepReport),
    Generator(TrainReport),
}

impl RunReport {
    /// Index of the step just taken (0-based).
    pub fn step(&self) -> usize {
        match self {
            RunReport::Particles(r) => r.step,
            RunReport::Generator(r) => r.step,
        }
    }

    pub fn sigma2(&self) -> f64 {
        match self {
            RunReport::Particles(r) => r.sigma2,
            RunReport::Generator(r) => r.sigma2,
        }
    }

    /// The step size applied.
    pub fn eta(&self) -> f64 {
        match self {
            RunReport::Particles(r) => r.eta,
            RunReport::Generator(r) => r.eta,
        }
    }

    pub fn path(&self) -> KernelPath {
        match self {
            RunReport::Particles(r) => r.path,
            RunReport::Generator(r) => r.path,
        }
    }

    pub fn kernel_evaluations(&self) -> u64 {
        match self {
            RunReport::Particles(r) => r.kernel_evaluations,
            RunReport::Generator(r) => r.kernel_evaluations,
        }
    }

    /// The report in the particle step's terms (a training step moved its
    /// batch; it drops no updates).
    pub fn as_step_report(&self) -> StepReport {
        match *self {
            RunReport::Particles(r) => r,
            RunReport::Generator(r) => StepReport {
                step: r.step,
                sigma2: r.sigma2,
                kernel_sigma2: r.kernel_sigma2,
                eta: r.eta,
                path: r.path,
                moved: r.batch,
                kernel_evaluations: r.kernel_evaluations,
                non_finite: 0,
                driver_cosine: r.driver_cosine,
            },
        }
    }
}

impl From<Simulation> for Run {
    fn from(sim: Simulation) -> Self {
        Run::Particles(Box::new(sim))
    }
}

impl From<Trainer> for Run {
    fn from(trainer: Trainer) -> Self {
        Run::Generator(Box::new(trainer))
    }
}

impl Run {
    /// Advances one step; None once all steps are done.
    pub fn step(&mut self) -> Option<RunReport> {
        match self {
            Run::Particles(sim) => sim.step().map(RunReport::Particles),
            Run::Generator(t) => t.step().map(RunReport::Generator),
        }
    }

    /// Back to step 0 (rebuilding a generator can fail only as it did not at
    /// the start).
    pub fn reset(&mut self) -> Result<(), TrainError> {
        match self {
            Run::Particles(sim) => {
                sim.reset();
                Ok(())
            }
            Run::Generator(t) => t.reset(),
        }
    }

    /// Steps taken so far.
    pub fn step_index(&self) -> usize {
        match self {
            Run::Particles(sim) => sim.step_index(),
            Run::Generator(t) => t.step_index(),
        }
    }

    /// Steps the run takes in all.
    pub fn steps(&self) -> usize {
        match self {
            Run::Particles(sim) => sim.settings().steps,
            Run::Generator(t) => t.settings().steps,
        }
    }

    pub fn is_finished(&self) -> bool {
        match self {
            Run::Particles(sim) => sim.is_finished(),
            Run::Generator(t) => t.is_finished(),
        }
    }

    pub fn seed(&self) -> u64 {
        match self {
            Run::Particles(sim) => sim.seed(),
            Run::Generator(t) => t.seed(),
        }
    }

    /// The cloud the flow aims at (a generator's target).
    pub fn fixed(&self) -> &Cloud {
        match self {
            Run::Particles(sim) => sim.fixed(),
            Run::Generator(t) => t.target(),
        }
    }

    /// The cloud that moves: the particles themselves, or `samples` samples
    /// of the current generator from fixed latent inputs.
    pub fn moving(&self, samples: usize) -> Cow<'_, Cloud> {
        match self {
            Run::Particles(sim) => Cow::Borrowed(sim.moving()),
            Run::Generator(t) => Cow::Owned(t.samples(samples)),
        }
    }

    /// The trained discriminator of a discriminator-driven run.
    pub fn discriminator(&self) -> Option<&Discriminator> {
        match self {
            Run::Particles(sim) => sim.discriminator(),
            Run::Generator(t) => t.discriminator(),
        }
    }

    pub fn as_particles(&self) -> Option<&Simulation> {
        match self {
            Run::Particles(sim) => Some(sim),
            Run::Generator(_) => None,
        }
    }

    pub fn as_generator(&self) -> Option<&Trainer> {
        match self {
            Run::Generator(t) => Some(t),
            Run::Particles(_) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{FlowSettings, Method, Model, Schedule, StepSize, TrainSettings};

    fn fixed() -> Cloud {
        Cloud::new(2, (0..40).map(|i| (i % 7) as f32 * 0.25).collect())
    }

    #[test]
    fn a_particle_run_steps_and_reports_as_its_simulation_does() {
        let settings = FlowSettings { method: Method::Sd, steps: 3, ..FlowSettings::default() };
        let moving = Cloud::new(2, (0..40).map(|i| 3.0 + (i % 3) as f32 * 0.1).collect());
        let mut twin = Simulation::new(settings.clone(), fixed(), moving.clone(), 4);
        let mut run = Run::from(Simulation::new(settings, fixed(), moving, 4));
        assert_eq!((run.step_index(), run.steps(), run.seed()), (0, 3, 4));
        while let Some(report) = run.step() {
            assert_eq!(report, RunReport::Particles(twin.step().expect("the twin steps too")));
        }
        assert!(run.is_finished() && twin.is_finished());
        assert_eq!(run.moving(0).as_slice(), twin.moving().as_slice());
        run.reset().expect("a particle reset");
        assert_eq!(run.step_index(), 0);
    }

    #[test]
    fn a_generator_run_reports_its_batch_as_the_points_moved() {
        let model = Model::Linear { latent: 2, init_std: 0.1, learning_rate: 1e-3 };
        let settings = TrainSettings {
            method: Method::Sd,
            schedule: Schedule::Constant { sigma2: 0.5 },
            steps: 2,
            step_size: StepSize::Fixed { eta: 1.0 },
            batch: Some(8),
            bandwidth: crate::engine::Bandwidth::Tied,
            regression_steps: 1,
        };
        let mut run = Run::from(Trainer::new(&model, settings, fixed(), 5).expect("a trainer"));
        let report = run.step().expect("a step");
        assert_eq!((report.step(), report.sigma2(), report.eta()), (0, 0.5, 1.0));
        let step = report.as_step_report();
        assert_eq!((step.moved, step.non_finite, step.sigma2), (8, 0, 0.5));
        assert_eq!(run.moving(16).len(), 16);
        assert_eq!(run.fixed().len(), 20);
        run.step();
        assert!(run.is_finished() && run.step().is_none());
    }
}
