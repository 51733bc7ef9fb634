//! Presenter mode (F5, or the toggle in the lesson panel): for a room with
//! a projector. The UI is scaled up, the panels other than the caption fold
//! away, and the points are drawn thicker. Works in lessons and in the lab.

use bevy::prelude::*;

use crate::app::schedule::AppSet;
use crate::app::view::clouds::ViewSettings;

/// UI scale in presenter mode.
pub const PRESENTER_ZOOM: f32 = 1.5;
/// Point size multiplier in presenter mode.
pub const PRESENTER_POINTS: f32 = 1.6;

/// Whether presenter mode is on.
#[derive(Resource, Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Presenter(pub bool);

pub(super) struct PresenterPlugin;

impl Plugin for PresenterPlugin {
    fn build(&self, app: &mut App) {
        app.init_resource::<Presenter>().add_systems(Update, thicker_points.in_set(AppSet::Control));
    }
}

/// Scales the points when presenter mode changes (and back when it ends).
fn thicker_points(presenter: Res<Presenter>, mut view: ResMut<ViewSettings>, mut was: Local<bool>) {
    if presenter.0 != *was {
        *was = presenter.0;
        view.point_size *= if presenter.0 { PRESENTER_POINTS } else { 1.0 / PRESENTER_POINTS };
    }
}
