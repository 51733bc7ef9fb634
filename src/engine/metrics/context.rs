//! One rule for what an evaluation after a step measures at: the noise level
//! of the proxies and the step size of the KL identity. The headless runner,
//! the Python binding and the app all evaluate the divergences of a particle
//! run between steps; [`StepContext::after`] is what they all call, so the
//! three agree on every row.

use crate::engine::flow::Method;
use crate::engine::particles::{Simulation, StepReport};

/// What the caller knows about the step just taken.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct StepContext {
    /// Steps taken so far.
    pub steps_done: usize,
    /// Noise variance sigma^2 of the proxies.
    pub sigma2: f64,
    /// The step size of an SD step y <- y + eta dz, when the KL identity
    /// applies (Sd or MmdNormalized, full data); None otherwise.
    pub sd_eta: Option<f64>,
}

impl StepContext {
    /// The context of an evaluation of `sim` as it stands now, `report` the
    /// step just taken (None at the start, or when the report of the last
    /// step is not at hand, e.g. after going back in the timeline).
    ///
    /// - sigma^2: the report's. RectifiedFlow's own noise level (1 - t)^2
    ///   goes to 0, so its proxies use the scene's schedule at the step just
    ///   taken instead, the same sigma as an Sd twin's. Without a report, the
    ///   schedule at the step just taken (step 0 at the start): what the
    ///   report said.
    /// - sd_eta: only for Sd and MmdNormalized without batches (where the KL
    ///   identity applies): the report's eta, else the step size in force.
    pub fn after(sim: &Simulation, report: Option<&StepReport>) -> Self {
        let settings = sim.settings();
        let steps_done = sim.step_index();
        let sigma2 = match report {
            Some(r) if settings.method != Method::RectifiedFlow => r.sigma2,
            _ => settings.schedule.sigma2(steps_done.saturating_sub(1), settings.steps),
        };
        let sd_like = matches!(settings.method, Method::Sd | Method::MmdNormalized) && settings.batch.is_none();
        let sd_eta = if sd_like { report.map(|r| r.eta).or(sim.eta()) } else { None };
        Self { steps_done, sigma2, sd_eta }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{Cloud, FlowSettings, Schedule, StepSize};

    /// Geometric from 8 to 1 over 4 steps: sigma^2 = 8, 4, 2, 1.
    const SCHEDULE: Schedule = Schedule::Geometric { sigma2_max: 8.0, sigma2_min: 1.0 };
    const STEPS: usize = 4;

    fn sim(method: Method, step_size: StepSize, batch: Option<usize>) -> Simulation {
        let fixed = Cloud::new(2, (0..32).map(|i| (i % 5) as f32 * 0.3).collect());
        let moving = Cloud::new(2, (0..32).map(|i| 2.0 + (i % 3) as f32 * 0.2).collect());
        let settings =
            FlowSettings { method, schedule: SCHEDULE, steps: STEPS, step_size, batch, ..FlowSettings::default() };
        Simulation::new(settings, fixed, moving, 3)
    }

    #[test]
    fn sd_uses_the_report_and_agrees_without_it() {
        let mut s = sim(Method::Sd, StepSize::Fixed { eta: 0.5 }, None);
        assert_eq!(StepContext::after(&s, None), StepContext { steps_done: 0, sigma2: 8.0, sd_eta: Some(0.5) });
        for (k, expect) in [(1, 8.0), (2, 4.0), (3, 2.0), (4, 1.0)] {
            let report = s.step().expect("a step");
            let with = StepContext::after(&s, Some(&report));
            assert_eq!(with, StepContext { steps_done: k, sigma2: report.sigma2, sd_eta: Some(0.5) });
            assert!((with.sigma2 - expect).abs() < 1e-12, "step {k}: {} vs {expect}", with.sigma2);
            assert_eq!(StepContext::after(&s, None), with, "step {k}: the same without the report");
        }
    }

    #[test]
    fn rectified_flow_takes_the_scene_schedule_not_its_own_noise_level() {
        let mut s = sim(Method::RectifiedFlow, StepSize::Fixed { eta: 0.5 }, None);
        assert_eq!(StepContext::after(&s, None), StepContext { steps_done: 0, sigma2: 8.0, sd_eta: None });
        s.step();
        let report = s.step().expect("a step");
        // The report's own sigma^2 is (1 - t)^2 at t = 1/4.
        assert!((report.sigma2 - 0.5625).abs() < 1e-12);
        let ctx = StepContext::after(&s, Some(&report));
        assert_eq!(ctx, StepContext { steps_done: 2, sigma2: 4.0, sd_eta: None });
        assert_eq!(StepContext::after(&s, None), ctx);
    }

    #[test]
    fn sd_eta_only_where_the_kl_identity_applies() {
        for (method, batch, applies) in [
            (Method::Sd, None, true),
            (Method::MmdNormalized, None, true),
            (Method::Sd, Some(4), false),
            (Method::MmdNormalized, Some(4), false),
            (Method::Mmd, None, false),
            (Method::SdDenoiser, None, false),
        ] {
            let mut s = sim(method, StepSize::Fixed { eta: 0.25 }, batch);
            let report = s.step().expect("a step");
            let ctx = StepContext::after(&s, Some(&report));
            assert_eq!(ctx.sd_eta, applies.then_some(0.25), "{method:?} batch {batch:?}");
            assert_eq!(ctx.sigma2, 8.0, "{method:?} batch {batch:?}");
        }
    }

    #[test]
    fn an_auto_step_size_is_known_only_after_its_first_step() {
        let mut s = sim(Method::Sd, StepSize::Auto { first_norm: 0.1 }, None);
        assert_eq!(StepContext::after(&s, None).sd_eta, None);
        let report = s.step().expect("a step");
        assert!(report.eta > 0.0);
        assert_eq!(StepContext::after(&s, Some(&report)).sd_eta, Some(report.eta));
        assert_eq!(StepContext::after(&s, None).sd_eta, Some(report.eta));
    }
}
