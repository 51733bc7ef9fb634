//! The part of the window the 3-D views get: what the panels leave, in
//! window (logical) pixels. The panels write it each frame; the cameras, the
//! screen capture and the idle check read it.

use bevy::prelude::*;
use bevy_egui::egui;

/// The part of the window left for the 3-D view, in logical pixels.
#[derive(Resource, Default, Debug, Clone, Copy, PartialEq)]
pub struct ViewportRect(pub Option<egui::Rect>);
