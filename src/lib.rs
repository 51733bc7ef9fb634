//! sdflow: score-difference flow and MMD gradient flow between point clouds
//! (Weber, "The Score-Difference Flow for Implicit Generative Modeling",
//! TMLR 2023).
//!
//! - [`engine`]: the pure math (no Bevy).
//! - [`scene`]: the RON scene format, its validation and loading.
//! - [`cli`]: the headless runner, `validate` and the benchmark.
//! - [`lesson`]: lessons whose claims the lab checks (`sdflow lesson check`).
//! - [`export`]: files for sharing (metric CSV, GIF, PNG frames).
//! - `app` (feature `app`): the Bevy desktop app.

pub mod cli;
pub mod engine;
pub mod export;
pub mod lesson;
pub mod scene;

#[cfg(feature = "app")]
pub mod app;
