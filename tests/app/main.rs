//! Headless tests of the app's plugins: MinimalPlugins plus the project's
//! own plugins, the fixed timestep driven by a manual clock. Worker results
//! arrive asynchronously, so each wait is a bounded loop of `app.update()`;
//! nothing asserts on timing.
//!
//! One test binary for the whole app, so a clean `cargo test` links Bevy
//! once rather than once per file (each link is over 100 MB of disk).
#![cfg(feature = "app")]

mod common;

mod arrows;
mod brush;
mod gan;
mod generator;
mod headless;
mod lesson;
mod panels;
mod runs;
mod share;
