//! What the 3-D view draws from the run components, and nothing else: it
//! reads runs and never writes their state.
//!
//! - [`clouds`]: one entity per point, following the moving cloud;
//! - [`cameras`]: one orbit camera per run, framed and turned together;
//! - [`palette`]: the colour maps and their one interpolation;
//! - [`colours`]: app-side colourings (displacement, nearest target);
//! - [`gan`]: the GAN view's choice and its request to the worker;
//! - [`heat_map`]: the GAN colouring of the points and the heat map;
//! - [`arrows`]: each point's last displacement as an arrow;
//! - [`generator`]: the latent grid of a generator run;
//! - `viewport`: the part of the window the views get.

pub mod arrows;
mod cameras;
pub mod clouds;
pub mod colours;
pub mod gan;
pub mod generator;
pub mod heat_map;
pub mod palette;
mod viewport;

pub use cameras::{CamerasPlugin, ViewOf, fit_distance, view_angles};
pub use viewport::ViewportRect;
