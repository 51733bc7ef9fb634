//! A generator run's state as the panels see it: the model, its losses,
//! Fig. 6's comparison and the latent grid, gathered from the replies.

use crate::app::worker::{GeneratorInfo, GeneratorReply};
use crate::engine::metrics::LinearComparison;

/// What the UI shows about a generator run (None in a particle run).
#[derive(Clone, Debug, Default)]
pub struct GeneratorStatus {
    pub info: Option<GeneratorInfo>,
    /// (steps taken, loss) for every step.
    pub losses: Vec<(usize, f64)>,
    pub comparison: Option<LinearComparison>,
    pub grid: Vec<Vec<f32>>,
}

impl GeneratorStatus {
    /// Folds a reply in; `fresh` (load or reset) starts the history over.
    pub fn apply(&mut self, reply: GeneratorReply, fresh: bool) {
        if fresh {
            *self = Self::default();
        }
        if reply.info.is_some() {
            self.info = reply.info;
        }
        self.losses.extend(reply.losses);
        if reply.comparison.is_some() {
            self.comparison = reply.comparison;
        }
        if let Some(grid) = reply.grid {
            self.grid = grid;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::worker::GeneratorReply;

    #[test]
    fn a_fresh_reply_starts_the_history_over() {
        let mut s = GeneratorStatus::default();
        s.apply(GeneratorReply { losses: vec![(1, 2.0), (2, 1.5)], ..Default::default() }, false);
        s.apply(GeneratorReply { losses: vec![(3, 1.0)], grid: Some(vec![vec![0.0; 6]]), ..Default::default() }, false);
        assert_eq!(s.losses.len(), 3);
        assert_eq!(s.grid.len(), 1);
        // A reply without a grid keeps the last one.
        s.apply(GeneratorReply::default(), false);
        assert_eq!(s.grid.len(), 1);
        s.apply(GeneratorReply::default(), true);
        assert!(s.losses.is_empty() && s.grid.is_empty());
    }
}
