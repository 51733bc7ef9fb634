//! The window's own input: wheel zoom. The shortcuts live in
//! [`super::controls`], which works headless; screenshots (key S and
//! `--screenshot`) in [`super::tools::screenshot`].

use bevy::input::mouse::{MouseScrollUnit, MouseWheel};
use bevy::prelude::*;
use bevy_panorbit_camera::{PanOrbitCamera, PanOrbitCameraSystemSet};

/// Radius factor of one wheel notch: small, and the same in both directions.
pub const ZOOM_PER_NOTCH: f32 = 1.12;
/// Pixels of a trackpad scroll that count as one notch.
const PIXELS_PER_NOTCH: f32 = 40.0;

pub struct InputPlugin;

impl Plugin for InputPlugin {
    fn build(&self, app: &mut App) {
        app.add_systems(
            PostUpdate,
            wheel_zoom.before(PanOrbitCameraSystemSet).in_set(crate::app::schedule::AppSet::Input),
        );
    }
}

/// Radius after `notches` wheel notches (positive: closer). n notches in and
/// n out give back the same radius.
pub fn zoomed_radius(radius: f32, notches: f32) -> f32 {
    radius * ZOOM_PER_NOTCH.powf(-notches.clamp(-10.0, 10.0))
}

fn wheel_zoom(mut wheel: MessageReader<MouseWheel>, mut cameras: Query<&mut PanOrbitCamera>) {
    let notches: f32 = wheel
        .read()
        .map(|e| match e.unit {
            MouseScrollUnit::Line => e.y,
            MouseScrollUnit::Pixel => e.y / PIXELS_PER_NOTCH,
        })
        .sum();
    if notches == 0.0 {
        return;
    }
    for mut cam in &mut cameras {
        // Disabled while the pointer is on a panel (the panel scrolls instead).
        if cam.enabled {
            cam.target_radius = zoomed_radius(cam.target_radius, notches).max(cam.zoom_lower_limit);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wheel_zoom_is_small_and_symmetric() {
        let r = 10.0;
        let one = zoomed_radius(r, 1.0);
        assert!(one < r && one > r / 1.15, "{one}");
        let mut x = r;
        for _ in 0..5 {
            x = zoomed_radius(x, 1.0);
        }
        for _ in 0..5 {
            x = zoomed_radius(x, -1.0);
        }
        assert!((x - r).abs() < 1e-4, "{x}");
    }
}
