//! A step's claims as the class sees them: each check of the open lesson,
//! measured by the same headless runner as `sdflow lesson check` (the
//! scenes' own seeds, so the numbers are those of the runs on screen, which
//! are deterministic), on a background thread so the frame never waits.
//! A claim is shown with its value once the runs have reached its step.

use std::sync::Mutex;
use std::sync::mpsc::{Receiver, TryRecvError, channel};

use bevy::prelude::*;

use super::player::LessonPlayer;
use crate::app::schedule::DeriveSet;
use crate::lesson::check::{Outcome, measure};

/// What the measuring thread sends back.
type Measured = Result<Vec<Outcome>, String>;

/// Where the measurement of the open lesson stands.
#[derive(Resource, Debug, Default)]
pub struct Claims {
    /// The lesson file measured (to start again when another opens).
    lesson: Option<std::path::PathBuf>,
    pub state: ClaimState,
    pending: Option<Mutex<Receiver<Measured>>>,
}

/// The measurement of a lesson's checks.
#[derive(Debug, Default, Clone, PartialEq)]
pub enum ClaimState {
    #[default]
    Idle,
    Measuring,
    Done(Vec<Outcome>),
    Failed(String),
}

impl Claims {
    /// The outcomes of lesson step `step` (0-based) whose step the focused
    /// runs have reached (`reached`: their step index); None while measuring.
    pub fn shown(&self, step: usize, reached: usize) -> Option<Vec<&Outcome>> {
        match &self.state {
            ClaimState::Done(all) => Some(all.iter().filter(|o| o.step_index == step && o.step <= reached).collect()),
            _ => None,
        }
    }
}

pub(super) struct ClaimsPlugin;

impl Plugin for ClaimsPlugin {
    fn build(&self, app: &mut App) {
        app.init_resource::<Claims>().add_systems(Update, measure_claims.in_set(DeriveSet::Marks));
    }
}

/// Starts measuring when a lesson opens; collects the result when it is in.
fn measure_claims(player: Res<LessonPlayer>, mut claims: ResMut<Claims>) {
    let path = player.open.as_ref().map(|o| o.file.path.clone());
    if path != claims.lesson {
        claims.lesson = path;
        claims.pending = None;
        claims.state = ClaimState::Idle;
        if let Some(open) = &player.open {
            let (tx, rx) = channel();
            let file = open.file.clone();
            let started = std::thread::Builder::new().name("sdflow-claims".into()).spawn(move || {
                // The receiver may be gone (another lesson opened): nothing to do then.
                let _ = tx.send(measure(&file).map_err(|e| format!("{e:#}")));
            });
            match started {
                Ok(_) => {
                    claims.state = ClaimState::Measuring;
                    claims.pending = Some(Mutex::new(rx));
                }
                Err(e) => claims.state = ClaimState::Failed(format!("cannot start measuring: {e}")),
            }
        }
    }
    let received = match claims.pending.as_mut().and_then(|m| m.get_mut().ok()).map(|rx| rx.try_recv()) {
        Some(Ok(result)) => result,
        Some(Err(TryRecvError::Disconnected)) => Err("the measurement stopped unexpectedly".into()),
        Some(Err(TryRecvError::Empty)) | None => return,
    };
    claims.pending = None;
    claims.state = match received {
        Ok(outcomes) => ClaimState::Done(outcomes),
        Err(e) => ClaimState::Failed(e),
    };
}
