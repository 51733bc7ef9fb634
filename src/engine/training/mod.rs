//! Model optimisation with SD flow (paper Algorithm 2): the generators and
//! their regression step (`model.rs`) and the training loop that moves their
//! outputs along a [`crate::engine::flow::Drift`] and regresses onto them
//! (`trainer.rs`).

mod model;
mod trainer;

pub use model::{Generator, LinearGenerator, MlpGenerator, Model};
pub use trainer::{TrainError, TrainReport, TrainSettings, Trainer, initial_samples};
