//! A generator run in the view: the image of the latent grid drawn over the
//! clouds (MLP generators in 2-D/3-D).

use bevy::prelude::*;

use crate::app::run::{Focused, RunGenerator};
use crate::app::schedule::DeriveSet;

/// Whether the latent grid is drawn.
#[derive(Resource, Debug, Clone, Copy, PartialEq, Eq)]
pub struct GeneratorView {
    pub show_grid: bool,
}

impl Default for GeneratorView {
    fn default() -> Self {
        Self { show_grid: true }
    }
}

/// Windowed part: draws the latent grid with gizmos.
/// The latent-grid toggle (headless).
pub struct GeneratorViewPlugin;

impl Plugin for GeneratorViewPlugin {
    fn build(&self, app: &mut App) {
        app.init_resource::<GeneratorView>();
    }
}

/// Draws the latent grid.
pub struct GeneratorRenderPlugin;

impl Plugin for GeneratorRenderPlugin {
    fn build(&self, app: &mut App) {
        app.init_resource::<GeneratorView>().add_systems(Update, draw_grid.in_set(DeriveSet::Marks));
    }
}

/// Grid line colour: a dark green, apart from both clouds' colours and
/// readable on the light background.
const GRID_COLOR: Color = Color::srgba(0.05, 0.45, 0.25, 0.8);

/// The focused run's grid (gizmos draw on layer 0, which only the focused
/// view shows).
fn draw_grid(mut gizmos: Gizmos, runs: Query<&RunGenerator, With<Focused>>, view: Res<GeneratorView>) {
    let Ok(generator) = runs.single() else { return };
    if !view.show_grid {
        return;
    }
    let Some(generator) = &generator.0 else { return };
    for line in &generator.grid {
        gizmos.linestrip(line.chunks_exact(3).map(|p| Vec3::new(p[0], p[1], p[2])), GRID_COLOR);
    }
}
