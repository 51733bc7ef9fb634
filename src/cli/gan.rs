//! The GAN view in `sdflow run`: the `driver_cosine` column (Discriminator
//! driver) and the `modes_covered` column (a Grid25 cloud to flow toward),
//! and their summary lines.

use crate::engine::metrics::{GRID_MODES, grid25_modes_covered};
use crate::engine::{Cloud, Dataset, Direction, Driver};
use crate::scene::Scene;

/// Which extra columns a run has, and their running summary.
pub struct GanColumns {
    driver: Option<String>,
    /// Component std of the Grid25 data set the flow aims at.
    grid_std: Option<f64>,
    cosine_sum: f64,
    cosine_steps: usize,
    last_cosine: Option<f64>,
}

impl GanColumns {
    pub fn new(scene: &Scene) -> Self {
        let driver = match &scene.driver {
            Driver::Kernel => None,
            Driver::Discriminator { hidden, loss, updates_per_step, learning_rate, .. } => Some(format!(
                "Discriminator {hidden:?}, {} loss, {updates_per_step} updates of lr {learning_rate} per step",
                loss.name()
            )),
        };
        let fixed_data = match scene.direction {
            Direction::Forward => Some(&scene.target),
            Direction::Reverse => scene.source.as_ref(),
        };
        let grid_std = match fixed_data {
            Some(Dataset::Grid25 { std, .. }) => Some(*std),
            _ => None,
        };
        Self { driver, grid_std, cosine_sum: 0.0, cosine_steps: 0, last_cosine: None }
    }

    /// Column names, after the metrics.
    pub fn names(&self) -> Vec<&'static str> {
        let mut out = Vec::new();
        if self.driver.is_some() {
            out.push("driver_cosine");
        }
        if self.grid_std.is_some() {
            out.push("modes_covered");
        }
        out
    }

    /// Records a step's driver cosine (every step, whether or not a row is
    /// written): `StepReport::driver_cosine` or `TrainReport::driver_cosine`.
    pub fn record(&mut self, driver_cosine: Option<f64>) {
        if let Some(c) = driver_cosine {
            self.cosine_sum += c;
            self.cosine_steps += 1;
            self.last_cosine = Some(c);
        }
    }

    /// Values of a row, in the order of [`GanColumns::names`].
    pub fn values(&self, moving: &Cloud) -> Vec<String> {
        let mut out = Vec::new();
        if self.driver.is_some() {
            out.push(self.last_cosine.map_or(String::new(), |c| c.to_string()));
        }
        if let Some(std) = self.grid_std {
            out.push(grid25_modes_covered(moving, std).to_string());
        }
        out
    }

    /// Grid modes covered by `cloud`, when the flow aims at a Grid25 cloud.
    pub fn modes_covered(&self, cloud: &Cloud) -> Option<f64> {
        self.grid_std.map(|std| grid25_modes_covered(cloud, std) as f64)
    }

    /// Summary lines for the end of a run.
    pub fn summary(&self, start: &Cloud, end: &Cloud) -> Vec<String> {
        let mut out = Vec::new();
        if let Some(driver) = &self.driver {
            out.push(format!("driver       {driver}"));
            if self.cosine_steps > 0 {
                out.push(format!(
                    "cosine w/ SD mean {:.3}, last step {:.3} (1 = the optimal discriminator's flow)",
                    self.cosine_sum / self.cosine_steps as f64,
                    self.last_cosine.unwrap_or(f64::NAN)
                ));
            }
        }
        if let Some(std) = self.grid_std {
            out.push(format!(
                "modes        {} -> {} of {GRID_MODES} covered",
                grid25_modes_covered(start, std),
                grid25_modes_covered(end, std)
            ));
        }
        out
    }
}
