//! The frame order, stated once. Every app system belongs to one set of
//! [`AppSet`], and the sets run in this order each frame (`Update`):
//!
//! 1. [`AppSet::Input`]: keys, pointer and wheel become messages;
//! 2. [`AppSet::Requests`]: messages, dropped files and edits on disk become
//!    requests (open, close, focus, play, pause, seek);
//! 3. [`AppSet::Load`]: requested scenes are read and sent to the worker, and
//!    edited settings are applied;
//! 4. [`AppSet::Control`]: playback and view requests go to the worker;
//! 5. [`AppSet::Receive`]: the worker's replies are written to the run
//!    components (the only writer of a run's state);
//! 6. [`AppSet::Derive`]: what follows from the run state, in the order of
//!    [`DeriveSet`]: point entities, then displacements, then the values
//!    points are coloured by, then the colours, then arrows, grid and notices;
//! 7. [`AppSet::Camera`]: cameras fit, turn and follow the panels;
//! 8. [`AppSet::Ui`]: the egui panels (in `EguiPrimaryContextPass`, after
//!    `Update`), which only read the runs and send messages.
//!
//! Other schedules use the same sets, unordered there:
//! - `PreUpdate` applies the last frame's playback commands
//!   ([`AppSet::Control`]) before the fixed-step pacing reads them;
//! - `FixedUpdate` (at the steps-per-second rate) runs only the pacing, in
//!   [`AppSet::Control`]: receive, then ask for the steps owed;
//! - `PostUpdate` runs wheel zoom ([`AppSet::Input`]) before the orbit
//!   controller, camera work after it ([`AppSet::Camera`]), and the screen
//!   capture of the finished frame ([`AppSet::Ui`]);
//! - `First` measures the frame and `Last` decides whether the window may
//!   rest ([`AppSet::Input`], [`AppSet::Ui`]);
//! - `Startup` systems (assets, the worker, the first run and scene) run
//!   once before the first frame.

use bevy::prelude::*;

/// The phases of a frame, in order (see the module header).
#[derive(SystemSet, Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AppSet {
    Input,
    Requests,
    Load,
    Control,
    Receive,
    Derive,
    Camera,
    Ui,
}

/// The steps inside [`AppSet::Derive`], in order.
#[derive(SystemSet, Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DeriveSet {
    /// Point entities spawned and moved to the new state.
    Points,
    /// Each point's last displacement and the arrows' scale.
    Motion,
    /// The values the app-side colourings show.
    Values,
    /// The GAN colouring and the heat map.
    Paint,
    /// What is drawn over the points: sequential colours, arrows, the
    /// latent grid; and the notices a new state raises.
    Marks,
}

/// Chains the sets of [`AppSet`] in the frame's order.
pub struct SchedulePlugin;

impl Plugin for SchedulePlugin {
    fn build(&self, app: &mut App) {
        use AppSet::*;
        app.configure_sets(Update, (Input, Requests, Load, Control, Receive, Derive, Camera, Ui).chain())
            .configure_sets(
                Update,
                (DeriveSet::Points, DeriveSet::Motion, DeriveSet::Values, DeriveSet::Paint, DeriveSet::Marks)
                    .chain()
                    .in_set(Derive),
            );
    }
}
