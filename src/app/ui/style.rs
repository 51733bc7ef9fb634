//! The panels' colours: warning and error text, the clouds' colours as egui
//! colours, and one colour per run for the overlaid curves. Imports nothing
//! from the panels, so every panel can use it.

use bevy_egui::egui::Color32;

use crate::app::view::clouds::MOVING_COLOR;

/// Text that asks for attention (a restart pending, a paused recording).
pub const WARN: Color32 = Color32::from_rgb(0xff, 0xb0, 0x40);
/// Text that reports something not done (an error, a value not applied).
pub const BAD: Color32 = Color32::from_rgb(0xff, 0x70, 0x70);

/// A Bevy colour as egui's, in sRGB.
pub fn egui_color(c: bevy::color::Color) -> Color32 {
    let s = c.to_srgba();
    Color32::from_rgb((s.red * 255.0).round() as u8, (s.green * 255.0).round() as u8, (s.blue * 255.0).round() as u8)
}

/// Curve colour of the run in view `slot`: the first keeps the moving
/// cloud's orange, the others take further Okabe-Ito colours (colour-blind
/// safe and apart from the target's blue).
pub fn run_colour(slot: usize) -> Color32 {
    match slot {
        0 => egui_color(MOVING_COLOR),
        1 => Color32::from_rgb(0x00, 0x9E, 0x73),
        2 => Color32::from_rgb(0xCC, 0x79, 0xA7),
        _ => Color32::from_rgb(0xD5, 0x5E, 0x00),
    }
}
