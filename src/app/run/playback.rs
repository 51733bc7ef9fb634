//! Play, pause, speed and the fixed-timestep pacing: each FixedUpdate tick
//! while playing owes a step; the debt (capped) goes to the worker as one
//! lockstep request for all runs when it is free. A slow flow never builds a
//! backlog and nothing on the frame's path waits for a step.

use std::time::Duration;

use bevy::ecs::message::{MessageCursor, Messages};
use bevy::prelude::*;

use crate::app::worker::MAX_STEPS_PER_REQUEST;

use super::link::{FlowWorker, RunLink};
use super::markers::Focused;
use super::status::RunProgress;
use crate::app::schedule::AppSet;

/// Playback, the fixed timestep that paces the steps, and resets.
pub struct PlaybackPlugin;

impl Plugin for PlaybackPlugin {
    fn build(&self, app: &mut App) {
        let playback = Playback::default();
        app.insert_resource(Time::<Fixed>::from_hz(playback.steps_per_second))
            .insert_resource(playback)
            .add_message::<SimRequest>()
            .add_message::<PlaybackCommand>()
            .init_resource::<PlaybackCursor>()
            // Twice, sharing one cursor so each command applies once, as
            // soon as possible: in Update after the keys and requests, and
            // before the next frame's fixed-step pacing for commands sent
            // later in the frame (panels, capture).
            .add_systems(PreUpdate, apply_playback_commands.in_set(AppSet::Control))
            .add_systems(
                Update,
                (apply_playback_commands, handle_requests, sync_fixed_rate).chain().in_set(AppSet::Control),
            );
    }
}

/// Play/pause and speed. Written only by [`apply_playback_commands`] (from
/// [`PlaybackCommand`]s) and consumed by the pacing ([`request_step`]).
#[derive(Resource, Debug, Clone, PartialEq)]
pub struct Playback {
    pub playing: bool,
    pub steps_per_second: f64,
    /// A single step asked for (Right arrow / button); sent when the worker is free.
    pub single_step: bool,
    /// Show every run's recorded state at this step (the timeline slider,
    /// Left arrow); sent when the worker is free.
    pub seek_to: Option<usize>,
    /// Never go past this many steps in total (for `--screenshot --after N`).
    pub stop_at_total: Option<usize>,
    /// Pause once the runs have taken this many steps of their scene (a
    /// lesson's `run_to`); single steps still go on.
    pub stop_at_step: Option<usize>,
    /// After a load, the starting clouds stay still this long before playing
    /// starts, so the first view shows where the flow begins.
    pub hold_after_load: Duration,
    /// While a tool holds the runs still: whether they were playing before.
    pub held: Option<bool>,
}

/// Every way to change [`Playback`]: keys, buttons, the timeline, tools,
/// the `--screenshot`/`--record` plans and lessons all send these.
#[derive(Message, Debug, Clone, Copy, PartialEq)]
pub enum PlaybackCommand {
    Play,
    Pause,
    /// Play if paused, pause if playing.
    Toggle,
    /// Pause, then take one step.
    Step,
    /// Pause and show every run's recorded state at this step.
    SeekTo(usize),
    /// Pause and show the step before the one shown.
    StepBack,
    /// Steps per second asked for.
    SetSpeed(f64),
    /// Never go past this many steps in total (None: no limit).
    StopAt(Option<usize>),
    /// Play no further than this step of the runs' scenes (None: no limit).
    StopAtStep(Option<usize>),
    /// Pause and keep paused until [`PlaybackCommand::Release`] (the brush
    /// while painting): play commands wait, single steps are dropped.
    Hold,
    /// Back to playing if the runs played before [`PlaybackCommand::Hold`].
    Release,
}

impl Playback {
    /// The playback after `command`; `shown` is the focused run's step (for
    /// [`PlaybackCommand::StepBack`]).
    pub fn after(&self, command: PlaybackCommand, shown: Option<usize>) -> Playback {
        let mut next = self.clone();
        let held = self.held.is_some();
        match command {
            PlaybackCommand::Play if held => next.held = Some(true),
            PlaybackCommand::Pause if held => next.held = Some(false),
            PlaybackCommand::Toggle if held => next.held = self.held.map(|p| !p),
            PlaybackCommand::Play => next.playing = true,
            PlaybackCommand::Pause => next.playing = false,
            PlaybackCommand::Toggle => next.playing = !self.playing,
            PlaybackCommand::Step if held => {}
            PlaybackCommand::Step => {
                next.playing = false;
                next.single_step = true;
            }
            PlaybackCommand::SeekTo(step) => {
                next.playing = false;
                next.seek_to = Some(step);
            }
            PlaybackCommand::StepBack => {
                next.playing = false;
                if let Some(now) = self.seek_to.or(shown).filter(|&s| s > 0) {
                    next.seek_to = Some(now - 1);
                }
            }
            PlaybackCommand::SetSpeed(rate) => next.steps_per_second = rate,
            PlaybackCommand::StopAt(total) => next.stop_at_total = total,
            PlaybackCommand::StopAtStep(step) => next.stop_at_step = step,
            PlaybackCommand::Hold => {
                if !held {
                    next.held = Some(self.playing);
                }
                next.playing = false;
                next.single_step = false;
            }
            PlaybackCommand::Release => {
                if let Some(was_playing) = self.held {
                    next.playing = was_playing;
                    next.held = None;
                }
            }
        }
        next
    }
}

/// How far [`apply_playback_commands`] has read, shared by its two places
/// in the frame.
#[derive(Resource, Default)]
pub struct PlaybackCursor(MessageCursor<PlaybackCommand>);

/// Applies the [`PlaybackCommand`]s not applied yet, in order; the resource
/// changes (for change detection) only when one of them changed something.
pub fn apply_playback_commands(
    commands: Res<Messages<PlaybackCommand>>,
    mut cursor: ResMut<PlaybackCursor>,
    mut playback: ResMut<Playback>,
    focused: Query<&RunProgress, With<Focused>>,
) {
    let shown = focused.single().ok().map(|s| s.step_index);
    let next = cursor.0.read(&commands).fold(playback.clone(), |p, c| p.after(*c, shown));
    if next != *playback {
        *playback = next;
    }
}

impl Default for Playback {
    fn default() -> Self {
        Self {
            playing: true,
            steps_per_second: 30.0,
            single_step: false,
            seek_to: None,
            stop_at_total: None,
            stop_at_step: None,
            hold_after_load: Duration::from_millis(1500),
            held: None,
        }
    }
}

/// Requests handled by the simulation plugin.
#[derive(Message, Debug, Clone, Copy, PartialEq, Eq)]
pub enum SimRequest {
    /// Every run back to its start positions.
    Reset,
}

/// FixedUpdate: each tick while playing owes a step; the debt (capped) is
/// sent as one request for all runs, in lockstep, when the worker is free
/// of every run's last request. A paused or finished run sends nothing.
/// After a load the first view holds for [`Playback::hold_after_load`].
pub fn request_step(
    mut worker: ResMut<FlowWorker>,
    mut playback: ResMut<Playback>,
    mut runs: Query<(Entity, &mut RunLink, &mut RunProgress)>,
    time: Res<Time>,
    mut owed: Local<usize>,
    mut loaded: Local<std::collections::HashMap<Entity, (u64, f64)>>,
) {
    let now = time.elapsed_secs_f64();
    let mut any_holding = false;
    let mut any_busy = false;
    loaded.retain(|e, _| runs.contains(*e));
    for (entity, link, mut status) in &mut runs {
        if status.finished && status.step_index < link.steps && status.generation == link.generation {
            // Steps T was raised after the run ended: it can go on.
            status.finished = false;
        }
        let since = loaded.entry(entity).or_insert((link.generation, now));
        if since.0 != link.generation {
            *since = (link.generation, now);
        }
        // Until the new scene's first reply arrives, the status still shows
        // the old run's step: hold then too.
        let holding = link.generation == 0
            || status.generation != link.generation
            || (status.step_index == 0 && now - since.1 < playback.hold_after_load.as_secs_f64());
        if status.holding != holding {
            status.holding = holding;
        }
        any_holding |= holding;
        any_busy |= link.busy();
    }
    *owed = if playback.playing && !any_holding { (*owed + 1).min(MAX_STEPS_PER_REQUEST) } else { 0 };
    if any_busy {
        return;
    }
    if let Some(step) = playback.seek_to.take() {
        let mut loaded: Vec<Mut<RunLink>> =
            runs.iter_mut().filter(|(_, link, status)| status.is_current(link)).map(|(_, link, _)| link).collect();
        worker.seek(&mut loaded, step);
        *owed = 0;
        return;
    }
    if any_holding && !playback.single_step {
        return;
    }
    let mut stepping: Vec<Mut<RunLink>> = Vec::new();
    let mut total_steps = usize::MAX;
    let mut furthest = 0;
    for (_, link, status) in &mut runs {
        if status.is_current(&link) && !status.finished {
            total_steps = total_steps.min(status.total_steps);
            furthest = furthest.max(status.step_index);
            stepping.push(link);
        }
    }
    if stepping.is_empty() {
        return;
    }
    let mut count = if playback.single_step { 1 } else { *owed };
    if let Some(stop) = playback.stop_at_total {
        count = count.min(stop.saturating_sub(total_steps));
    }
    if let Some(stop) = playback.stop_at_step.filter(|_| !playback.single_step) {
        count = count.min(stop.saturating_sub(furthest));
        if furthest >= stop {
            // Reached: pause there; playing on from here has no limit.
            playback.playing = false;
            playback.stop_at_step = None;
        }
    }
    if count > 0 {
        playback.single_step = false;
        *owed = 0;
        worker.step(&mut stepping, count);
    }
}

fn handle_requests(
    mut requests: MessageReader<SimRequest>,
    mut worker: ResMut<FlowWorker>,
    mut links: Query<&mut RunLink>,
) {
    for request in requests.read() {
        match request {
            SimRequest::Reset => {
                for mut link in &mut links {
                    if link.generation > 0 {
                        worker.reset(&mut link);
                    }
                }
            }
        }
    }
}

/// Keeps the fixed timestep at the steps-per-second setting.
fn sync_fixed_rate(playback: Res<Playback>, mut time: ResMut<Time<Fixed>>) {
    if playback.is_changed() {
        let hz = playback.steps_per_second.clamp(0.5, 1000.0);
        time.set_timestep(Duration::from_secs_f64(1.0 / hz));
    }
}

/// What the run is doing, for the status line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RunState {
    /// No scene loaded yet.
    Loading,
    /// Showing the starting clouds for a moment after a load.
    Starting,
    Playing,
    Paused,
    Finished,
    /// The worker thread is gone.
    Stopped,
}

impl RunState {
    pub fn label(self) -> &'static str {
        match self {
            RunState::Loading => "loading",
            RunState::Starting => "starting",
            RunState::Playing => "playing",
            RunState::Paused => "paused",
            RunState::Finished => "finished",
            RunState::Stopped => "worker stopped",
        }
    }
}

impl RunProgress {
    /// What the run is doing now.
    pub fn state(&self, playback: &Playback, link: &RunLink, worker: &FlowWorker) -> RunState {
        if worker.stopped().is_some() {
            RunState::Stopped
        } else if !self.is_current(link) {
            RunState::Loading
        } else if self.finished {
            RunState::Finished
        } else if !playback.playing {
            RunState::Paused
        } else if self.holding {
            RunState::Starting
        } else {
            RunState::Playing
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_change_only_what_they_name() {
        let p = Playback::default();
        assert!(!p.after(PlaybackCommand::Toggle, None).playing);
        let stepped = p.after(PlaybackCommand::Step, None);
        assert!(!stepped.playing && stepped.single_step);
        let back = p.after(PlaybackCommand::StepBack, Some(5));
        assert_eq!((back.playing, back.seek_to), (false, Some(4)));
        assert_eq!(back.after(PlaybackCommand::StepBack, Some(5)).seek_to, Some(3), "from the step shown");
        assert_eq!(p.after(PlaybackCommand::StepBack, Some(0)).seek_to, None);
        assert_eq!(p.after(PlaybackCommand::SetSpeed(90.0), None), Playback { steps_per_second: 90.0, ..p.clone() });
        assert_eq!(p.after(PlaybackCommand::StopAt(Some(7)), None).stop_at_total, Some(7));
    }

    #[test]
    fn a_hold_keeps_the_runs_still_and_its_release_restores_the_choice() {
        let playing = Playback::default();
        let held = playing.after(PlaybackCommand::Hold, None);
        assert!(!held.playing);
        assert!(!held.after(PlaybackCommand::Play, None).playing, "play waits for the release");
        assert!(!held.after(PlaybackCommand::Step, None).single_step);
        assert!(held.after(PlaybackCommand::Release, None).playing);
        // Paused while held: the release keeps it paused.
        let paused = held.after(PlaybackCommand::Pause, None);
        assert!(!paused.after(PlaybackCommand::Release, None).playing);
        // A second hold does not forget the first one's state.
        assert!(held.after(PlaybackCommand::Hold, None).after(PlaybackCommand::Release, None).playing);
    }
}
