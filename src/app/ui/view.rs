//! The View panel at the top of the right panel: point size, which clouds
//! show, fit and auto-rotate, the colouring (with the GAN legend), the
//! arrows switch with their scale, and the legend of the app-side
//! colourings (displacement length, nearest-target distance): a colour bar
//! with its end values and units.

use bevy::ecs::system::SystemParam;
use bevy::prelude::*;
use bevy_egui::egui::{self, Color32, RichText};

use super::gan::colouring_ui;
use super::state::{Requests, RunView};
use super::style::egui_color;
use crate::app::controls::AppCommand;
use crate::app::run::{ActiveScene, Focused, RunGan, RunProgress};
use crate::app::view::arrows::{
    ARROW_EVERY, ARROW_SHARE, ArrowScale, ArrowSettings, Arrows, Displacement, MAX_ARROWS, scale_label,
};
use crate::app::view::clouds::{CloudBounds, FIXED_COLOR, MOVING_COLOR, ViewSettings};
use crate::app::view::colours::{HIGH_QUANTILE, LOW_QUANTILE, PointValues, SEQ_BINS, is_app_side, seq_bin_colour};
use crate::app::view::gan::{Colouring, GanView, has_discriminator};
use crate::engine::Direction;

/// The focused run's arrows and the values its points are coloured by.
type FlowParts = (&'static PointValues, &'static Arrows, &'static Displacement, &'static ArrowScale);

/// What the View panel reads and changes.
#[derive(SystemParam)]
pub struct ViewPanel<'w, 's> {
    view: ResMut<'w, ViewSettings>,
    gan: ResMut<'w, GanView>,
    arrows: ResMut<'w, ArrowSettings>,
    focused: Query<'w, 's, FlowParts, With<Focused>>,
    runs: Query<'w, 's, RunView>,
}

impl ViewPanel<'_, '_> {
    /// Whether the arrows are drawn (the views' labels then show their scale).
    pub fn arrows_shown(&self) -> bool {
        self.arrows.show
    }

    /// The whole View section for the focused run. Each setting is written
    /// back only when it changed.
    pub fn show(
        &mut self,
        ui: &mut egui::Ui,
        active: &ActiveScene,
        status: &RunProgress,
        gan_values: &RunGan,
        bounds: &CloudBounds,
        out: &mut Requests,
    ) {
        let reverse = active.scene().is_some_and(|s| s.direction == Direction::Reverse);
        let mut view = self.view.clone();
        if let Some(command) = view_ui(ui, &mut view, reverse, bounds.flat) {
            out.app(command);
        }
        if view != *self.view {
            *self.view = view;
        }
        let mut gan = self.gan.clone();
        colouring_ui(ui, &mut gan, has_discriminator(active), bounds.flat, gan_values.0.as_ref(), status.step_index);
        if gan != *self.gan {
            *self.gan = gan;
        }
        let run = self.focused.single().ok();
        let mut show = self.arrows.show;
        flow_view_ui(ui, &mut show, run, self.gan.colouring, self.runs.iter().count() > 1);
        if show != self.arrows.show {
            self.arrows.show = show;
        }
    }
}

/// Point size, which clouds show, fit and auto-rotate, edited in `view`
/// (`reverse`: the target moves; `flat`: a 2-D scene). Returns the command
/// of a button clicked.
pub fn view_ui(ui: &mut egui::Ui, view: &mut ViewSettings, reverse: bool, flat: bool) -> Option<AppCommand> {
    let mut command = None;
    ui.horizontal(|ui| {
        ui.label("Point size");
        ui.add(egui::Slider::new(&mut view.point_size, 0.2..=5.0).logarithmic(true));
    });
    ui.horizontal(|ui| {
        // Reverse interpolation moves the target onto the source.
        let (fixed, moving) = if reverse { ("source", "target") } else { ("target", "source") };
        ui.checkbox(&mut view.show_fixed, RichText::new(format!("{fixed} (fixed)")).color(egui_color(FIXED_COLOR)));
        ui.checkbox(&mut view.show_moving, RichText::new(format!("{moving} (moving)")).color(egui_color(MOVING_COLOR)));
    });
    ui.horizontal(|ui| {
        if ui.button("Fit view").on_hover_text(AppCommand::FitView.tooltip()).clicked() {
            command = Some(AppCommand::FitView);
        }
        ui.add_enabled(!flat, egui::Checkbox::new(&mut view.auto_rotate, "auto-rotate"))
            .on_hover_text(AppCommand::AutoRotate.tooltip());
    });
    if flat {
        ui.label(RichText::new("2-D scene: shown flat, facing the camera.").weak());
    }
    command
}

/// The arrows switch (edited in `show`) and, for the app-side colourings,
/// their legend from the focused run's `run` parts (`comparing`: several
/// runs are open).
pub fn flow_view_ui(
    ui: &mut egui::Ui,
    show: &mut bool,
    run: Option<(&PointValues, &Arrows, &Displacement, &ArrowScale)>,
    colouring: Colouring,
    comparing: bool,
) {
    let displacement = run.map(|r| r.2);
    ui.horizontal(|ui| {
        let shown = run.map_or(0, |r| r.1.indices.len());
        let help = format!(
            "an arrow from each of {shown} moving points (one in {ARROW_EVERY}, at most {MAX_ARROWS}; the same seeded \
             choice every step) \
             along its last step's displacement, lengthened by a round factor so a typical one is \
             readable; the few longer than {:.0} % of the cloud's radius are cut to that length",
            ARROW_SHARE * 100.0
        );
        ui.checkbox(show, "arrows").on_hover_text(help);
        if *show {
            let text = match (run.and_then(|r| r.3.scale), displacement.and_then(|d| d.steps)) {
                (Some(scale), Some((from, to))) => steps_note(&scale_label(scale), from, to),
                _ => "waiting for a step".into(),
            };
            ui.label(RichText::new(text).weak()).on_hover_text(
                "drawn length = displacement x this factor (side by side, each view has its own, on its label)",
            );
        }
    });
    if !is_app_side(colouring) {
        return;
    }
    let Some((values, _, displacement, _)) = run else { return };
    let (title, units) = match colouring {
        Colouring::Displacement => {
            let t = match displacement.steps {
                Some((from, to)) if to > from + 1 => format!("|Δx| over steps {from} to {to}"),
                _ => "|Δx| of the last step".to_owned(),
            };
            (t, "length in scene units")
        }
        _ => ("distance to the nearest fixed point".to_owned(), "in scene units"),
    };
    ui.label(RichText::new(title).strong()).on_hover_text(colouring.help());
    let (Some(range), Some(extremes)) = (values.range, values.extremes) else {
        let waiting = match colouring {
            Colouring::Displacement => "no displacement yet: it shows from the first step",
            _ => "waiting for the metrics' distances",
        };
        ui.label(RichText::new(waiting).weak());
        return;
    };
    colour_bar(ui, range);
    let note = format!(
        "{units}; colours span {:.0}-{:.0} % of the {} points (min {}, max {})",
        LOW_QUANTILE * 100.0,
        HIGH_QUANTILE * 100.0,
        values.values.len(),
        value_label(extremes.0),
        value_label(extremes.1),
    );
    ui.label(RichText::new(note).weak().small());
    if comparing {
        ui.label(
            RichText::new("Each view spans its own run's values; this legend is the selected run's.").weak().small(),
        );
    }
}

/// "x20" or "x20 (steps 4 to 7)" when a reply spans several steps.
fn steps_note(label: &str, from: usize, to: usize) -> String {
    if to > from + 1 { format!("{label} (steps {from} to {to})") } else { label.to_owned() }
}

/// The map's bins as a bar, the range's ends written under its ends.
fn colour_bar(ui: &mut egui::Ui, (lo, hi): (f32, f32)) {
    let pad = 4.0;
    let width = ui.available_width().clamp(120.0, 400.0) - 2.0 * pad;
    let (rect, _) = ui.allocate_exact_size(egui::vec2(width + 2.0 * pad, 32.0), egui::Sense::hover());
    let bar = egui::Rect::from_min_size(rect.min + egui::vec2(pad, 0.0), egui::vec2(width, 14.0));
    let painter = ui.painter_at(rect);
    let cell = bar.width() / SEQ_BINS as f32;
    for b in 0..SEQ_BINS {
        let x0 = bar.left() + b as f32 * cell;
        let right = (x0 + cell + 0.5).min(bar.right());
        painter.rect_filled(egui::Rect::from_x_y_ranges(x0..=right, bar.y_range()), 0.0, colour32(b as u8));
    }
    let text = ui.visuals().text_color();
    painter.rect_stroke(bar, 0.0, egui::Stroke::new(1.0, text.gamma_multiply(0.5)), egui::StrokeKind::Outside);
    let font = egui::FontId::proportional(12.0);
    let below = bar.bottom() + 3.0;
    painter.text(
        egui::pos2(bar.left(), below),
        egui::Align2::LEFT_TOP,
        format!("≤ {}", value_label(lo)),
        font.clone(),
        text,
    );
    painter.text(egui::pos2(bar.right(), below), egui::Align2::RIGHT_TOP, format!("≥ {}", value_label(hi)), font, text);
}

fn colour32(b: u8) -> Color32 {
    let [r, g, bl] = seq_bin_colour(b);
    Color32::from_rgb((r * 255.0).round() as u8, (g * 255.0).round() as u8, (bl * 255.0).round() as u8)
}

/// A value with three significant digits, in plain or scientific notation.
pub fn value_label(v: f32) -> String {
    if !v.is_finite() {
        return "-".into();
    }
    let a = v.abs();
    if a == 0.0 {
        "0".into()
    } else if (0.01..1000.0).contains(&a) {
        let decimals = (2 - a.log10().floor() as i32).max(0) as usize;
        format!("{v:.decimals$}")
    } else {
        format!("{v:.2e}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_get_three_significant_digits() {
        assert_eq!(value_label(0.0), "0");
        assert_eq!(value_label(1.234_56), "1.23");
        assert_eq!(value_label(0.012_345), "0.0123");
        assert_eq!(value_label(123.456), "123");
        assert_eq!(value_label(12.345), "12.3");
        assert_eq!(value_label(0.000_123_4), "1.23e-4");
        assert_eq!(value_label(45_678.0), "4.57e4");
        assert_eq!(value_label(f32::NAN), "-");
    }

    #[test]
    fn the_note_names_the_steps_a_reply_spans() {
        assert_eq!(steps_note("x20", 4, 5), "x20");
        assert_eq!(steps_note("x20", 4, 7), "x20 (steps 4 to 7)");
    }
}
