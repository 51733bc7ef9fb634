//! The library without a window: the engine against closed forms and f64
//! references, the scene and lesson formats, exports and the command line.
//! One test binary, so a clean `cargo test` links the crate once rather than
//! once per file.

mod cli;
mod divergence;
mod engine;
mod faults;
mod gan;
mod generator;
mod golden;
mod lesson;
mod properties;
mod scene_formats;
mod scene_properties;
mod share;
mod theory;
mod timeline;
