//! A run's history: snapshots of a [`Simulation`] as it steps, so
//! that any earlier step can be shown again, bit for bit.
//!
//! Every step of a seeded run is a pure function of the state before it and
//! of (seed, step): the noise, the batches and the discriminator's minibatches
//! come from streams keyed by them (`stream()` in `engine/rng.rs`). So a
//! [`SimSnapshot`] (positions, step, Auto eta, settings, discriminator
//! weights and optimiser) plus replaying the steps after it reproduces any
//! later step exactly. A [`Timeline`] keeps a snapshot of every step while
//! they fit under its memory cap; past the cap it keeps keyframes only, at
//! every `interval`-th step (doubling the interval and dropping every second
//! keyframe each time the cap would be passed), and reaches the steps between
//! by replaying at most `interval - 1` steps.
//!
//! Settings changes are part of the history: [`Timeline::set_settings`]
//! applies one at the run's current step, drops any recorded future after it
//! (a branch) and logs it, so that replays apply it at the same step.
//! Changes at a step count as made before that step is taken; the keyframe of
//! a step holds the state after them.

use std::mem::size_of;

use crate::engine::flow::Discriminator;

use super::settings::FlowSettings;
use super::simulation::{Simulation, StepReport};
use super::snapshot::{RunIdentity, SimSnapshot, TimelineError, settings_heap};

/// Memory cap of a new [`Timeline`]: 256 MiB.
pub const DEFAULT_CAP_BYTES: usize = 256 << 20;

/// Spare snapshot buffers kept for reuse after thinning or a branch.
const SPARES: usize = 2;

/// The recorded history of one run, under a memory cap.
///
/// Use from the loop that owns the [`Simulation`]:
/// - after a scene loads (or a reset): [`Timeline::clear`], then [`Timeline::record`];
/// - to step: [`Timeline::step`] (steps, applies the settings changes logged
///   for the new step when it replays recorded history, records);
/// - to change a setting: [`Timeline::set_settings`] (branches there);
/// - to scrub: [`Timeline::seek`] to any step in [`Timeline::first`] ..= [`Timeline::furthest`].
#[derive(Debug)]
pub struct Timeline {
    cap: usize,
    /// Keyframes sit at steps `first + i * interval` (a power of two).
    interval: usize,
    identity: Option<RunIdentity>,
    /// Sorted by step; the first one is the start of the history.
    keyframes: Vec<SimSnapshot>,
    /// Bytes of `keyframes` and `spare`.
    bytes: usize,
    spare: Vec<SimSnapshot>,
    /// Settings changes in the order made, as (step, settings given).
    changes: Vec<(usize, FlowSettings)>,
    furthest: usize,
    /// The step at which this timeline last left the run in a recorded
    /// state (after a record, step, settings change or seek): a seek forward
    /// from there replays from the run itself instead of a keyframe.
    position: Option<usize>,
}

impl Default for Timeline {
    fn default() -> Self {
        Self::new(DEFAULT_CAP_BYTES)
    }
}

impl Timeline {
    /// An empty history that holds at most `cap_bytes` (apart from its first
    /// snapshot, which is kept whatever its size).
    pub fn new(cap_bytes: usize) -> Self {
        Self {
            cap: cap_bytes,
            interval: 1,
            identity: None,
            keyframes: Vec::new(),
            bytes: 0,
            spare: Vec::new(),
            changes: Vec::new(),
            furthest: 0,
            position: None,
        }
    }

    /// The memory cap in bytes.
    pub fn cap(&self) -> usize {
        self.cap
    }

    /// Sets the memory cap, thinning the keyframes at once if they pass it.
    pub fn set_cap(&mut self, cap_bytes: usize) {
        self.cap = cap_bytes;
        self.make_room(0);
    }

    /// Bytes held by the snapshots and the settings log.
    pub fn memory_bytes(&self) -> usize {
        self.bytes
            + self.changes.iter().map(|(_, s)| size_of::<(usize, FlowSettings)>() + settings_heap(s)).sum::<usize>()
    }

    /// Steps between keyframes: 1 while every step has its snapshot.
    pub fn keyframe_interval(&self) -> usize {
        self.interval
    }

    /// Snapshots held.
    pub fn keyframes(&self) -> usize {
        self.keyframes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.keyframes.is_empty()
    }

    /// The earliest step held (0 for a history recorded from the load).
    pub fn first(&self) -> usize {
        self.keyframes.first().map_or(0, SimSnapshot::step)
    }

    /// The latest step recorded (0 when empty).
    pub fn furthest(&self) -> usize {
        self.furthest
    }

    /// The settings changes in force in the history, as (step, settings), in
    /// the order made.
    pub fn changes(&self) -> &[(usize, FlowSettings)] {
        &self.changes
    }

    /// One line for the panel, e.g. "history: 31.2 MiB of 256 MiB, every step"
    /// or "history: 255 MiB of 256 MiB, keyframe every 4 steps".
    pub fn describe(&self) -> String {
        let every = match self.interval {
            1 => "every step".to_string(),
            n => format!("keyframe every {n} steps"),
        };
        format!("history: {} of {}, {every}", mib(self.memory_bytes()), mib(self.cap))
    }

    /// Forgets everything (a new scene, or a reset); the cap stays.
    pub fn clear(&mut self) {
        self.keyframes.clear();
        self.spare.clear();
        self.changes.clear();
        self.bytes = 0;
        self.interval = 1;
        self.identity = None;
        self.furthest = 0;
        self.position = None;
    }

    /// Records the state of `sim` if it is past the furthest step recorded
    /// (a snapshot when its step is a keyframe step). A state at or before
    /// the furthest step is already in the history and is left alone. A
    /// different run (seed or sizes) starts a new history.
    pub fn record(&mut self, sim: &Simulation) {
        let step = sim.step_index();
        if self.identity != Some(sim.identity()) || self.keyframes.is_empty() || step < self.first() {
            self.clear();
            self.identity = Some(sim.identity());
            self.furthest = step;
            self.push(sim);
        } else if step > self.furthest {
            self.furthest = step;
            if self.is_keyframe_step(step) {
                self.push(sim);
            }
        } else {
            return;
        }
        self.position = Some(step);
    }

    /// Steps `sim` and records the new state. Behind the furthest step this
    /// replays the recorded history: the settings changes logged for the new
    /// step are applied, as they were the first time. None once the run's
    /// steps are done.
    pub fn step(&mut self, sim: &mut Simulation) -> Option<StepReport> {
        let report = sim.step()?;
        if self.identity == Some(sim.identity()) && sim.step_index() <= self.furthest {
            self.apply_changes_at(sim, sim.step_index());
        }
        self.record(sim);
        self.position = Some(sim.step_index());
        Some(report)
    }

    /// Changes the settings of `sim` at its current step k: drops the
    /// recorded history after k (a branch), applies the settings and logs
    /// them, so that replays through k apply them too. Settings equal to
    /// those in force change nothing.
    pub fn set_settings(&mut self, sim: &mut Simulation, settings: FlowSettings) {
        if settings == *sim.settings() {
            return;
        }
        self.record(sim);
        let step = sim.step_index();
        self.branch(step);
        sim.set_settings(settings.clone());
        self.changes.push((step, settings));
        self.position = Some(step);
        // The keyframe of a step holds the state after that step's changes.
        if let Ok(i) = self.keyframes.binary_search_by_key(&step, SimSnapshot::step) {
            self.bytes -= self.keyframes[i].bytes();
            sim.snapshot_into(&mut self.keyframes[i]);
            self.bytes += self.keyframes[i].bytes();
        }
        self.make_room(0);
    }

    /// Drops everything recorded after `step`: keyframes and settings
    /// changes. Afterwards [`Self::furthest`] is `step` (or the history is
    /// empty, for a step before its start).
    pub fn branch(&mut self, step: usize) {
        if self.keyframes.is_empty() || step >= self.furthest {
            return;
        }
        if step < self.first() {
            self.clear();
            return;
        }
        let cut = self.keyframes.partition_point(|k| k.step <= step);
        let dropped: Vec<SimSnapshot> = self.keyframes.drain(cut..).collect();
        for snapshot in dropped {
            self.bytes -= snapshot.bytes();
            self.keep_spare(snapshot);
        }
        let cut = self.changes.iter().position(|&(s, _)| s > step).unwrap_or(self.changes.len());
        self.changes.truncate(cut);
        self.furthest = step;
        self.position = self.position.filter(|&p| p <= step);
    }

    /// Puts `sim` in its recorded state at `step`: restores the nearest
    /// keyframe at or before it and replays the steps between (fewer than
    /// [`Self::keyframe_interval`]), applying the settings changes logged for
    /// them. Bit-identical to the state first recorded. A seek forward from
    /// where this timeline left the run, with no keyframe in between, replays
    /// from the run's own state.
    pub fn seek(&mut self, sim: &mut Simulation, step: usize) -> Result<(), TimelineError> {
        let Some(first) = self.keyframes.first() else {
            return Err(TimelineError::Empty);
        };
        if step < first.step || step > self.furthest {
            return Err(TimelineError::OutOfRange { step, first: first.step, furthest: self.furthest });
        }
        let keyframe = &self.keyframes[self.keyframes.partition_point(|k| k.step <= step) - 1];
        let now = sim.step_index();
        let on_history = self.position == Some(now) && self.identity == Some(sim.identity());
        if !(on_history && keyframe.step <= now && now <= step) {
            self.position = None;
            sim.restore(keyframe)?;
        }
        while sim.step_index() < step {
            if sim.step().is_none() {
                return Err(TimelineError::Finished { at: sim.step_index(), target: step });
            }
            self.apply_changes_at(sim, sim.step_index());
        }
        self.position = Some(step);
        Ok(())
    }

    /// Applies, in order, the settings changes logged for `step` (the log is
    /// sorted by step: changes are made at the run's step, after a branch).
    fn apply_changes_at(&self, sim: &mut Simulation, step: usize) {
        let start = self.changes.partition_point(|&(s, _)| s < step);
        for (_, settings) in self.changes[start..].iter().take_while(|&&(s, _)| s == step) {
            sim.set_settings(settings.clone());
        }
    }

    fn is_keyframe_step(&self, step: usize) -> bool {
        (step - self.first()).is_multiple_of(self.interval)
    }

    /// Appends a snapshot of `sim` if it fits under the cap after thinning
    /// (the first snapshot always goes in).
    fn push(&mut self, sim: &Simulation) {
        let size = snapshot_bytes(sim);
        if !self.keyframes.is_empty() {
            self.make_room(size);
            if !self.is_keyframe_step(sim.step_index()) {
                return;
            }
            if self.memory_bytes() + size > self.cap {
                // Only the first snapshot is left and this one does not fit
                // beside it: widen the grid past this step.
                self.interval = (sim.step_index() - self.first() + 1).next_power_of_two();
                return;
            }
        }
        let mut snapshot = match self.spare.pop() {
            Some(spare) => {
                self.bytes -= spare.bytes();
                spare
            }
            None => SimSnapshot::default(),
        };
        sim.snapshot_into(&mut snapshot);
        self.bytes += snapshot.bytes();
        self.keyframes.push(snapshot);
    }

    /// Doubles the keyframe interval, dropping the keyframes off the new
    /// grid, until `extra` more bytes fit under the cap or only the first
    /// keyframe is left. Spare buffers go first.
    fn make_room(&mut self, extra: usize) {
        while self.memory_bytes() + extra > self.cap {
            if let Some(spare) = self.spare.pop() {
                self.bytes -= spare.bytes();
                continue;
            }
            if self.keyframes.len() <= 1 {
                return;
            }
            self.interval *= 2;
            let (first, interval) = (self.first(), self.interval);
            let dropped: Vec<SimSnapshot> =
                self.keyframes.extract_if(.., |k| !(k.step - first).is_multiple_of(interval)).collect();
            for snapshot in dropped {
                self.bytes -= snapshot.bytes();
                if self.memory_bytes() + extra + size_of::<SimSnapshot>() + snapshot.moving.capacity() * 4 <= self.cap {
                    self.keep_spare(snapshot);
                }
            }
        }
    }

    /// Keeps a dropped snapshot's point buffer for the next keyframe.
    fn keep_spare(&mut self, mut snapshot: SimSnapshot) {
        if self.spare.len() < SPARES {
            snapshot.discriminator = None;
            self.bytes += snapshot.bytes();
            self.spare.push(snapshot);
        }
    }
}

/// Bytes a snapshot of `sim` will hold.
fn snapshot_bytes(sim: &Simulation) -> usize {
    size_of::<SimSnapshot>()
        + std::mem::size_of_val(sim.moving().as_slice())
        + settings_heap(sim.settings())
        + sim.discriminator().map_or(0, Discriminator::state_bytes)
}

/// Bytes as MiB for the panel: one decimal below 10 MiB.
fn mib(bytes: usize) -> String {
    let m = bytes as f64 / (1u64 << 20) as f64;
    if m < 10.0 { format!("{m:.1} MiB") } else { format!("{m:.0} MiB") }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{Cloud, Method};

    fn sim(points: usize) -> Simulation {
        let fixed = Cloud::new(2, (0..2 * points).map(|i| (i % 7) as f32).collect());
        let moving = Cloud::new(2, (0..2 * points).map(|i| 10.0 + (i % 5) as f32).collect());
        let settings = FlowSettings { method: Method::Mmd, steps: 40, ..FlowSettings::default() };
        Simulation::new(settings, fixed, moving, 9)
    }

    /// Bytes held, counted afresh (the timeline keeps a running total).
    fn recount(t: &Timeline) -> usize {
        let changes: usize = t.changes.iter().map(|(_, s)| size_of::<(usize, FlowSettings)>() + settings_heap(s)).sum();
        t.keyframes.iter().chain(&t.spare).map(SimSnapshot::bytes).sum::<usize>() + changes
    }

    #[test]
    fn the_running_byte_count_matches_a_recount() {
        let mut s = sim(50);
        let mut t = Timeline::new(6 * s.snapshot().bytes());
        t.record(&s);
        for k in 0..30 {
            t.step(&mut s);
            assert_eq!(t.memory_bytes(), recount(&t), "after step {}", k + 1);
            if k == 12 {
                t.seek(&mut s, 5).expect("recorded");
                let settings = FlowSettings { method: Method::Sd, ..s.settings().clone() };
                t.set_settings(&mut s, settings);
                assert_eq!(t.memory_bytes(), recount(&t), "after the branch");
            }
        }
        t.set_cap(2 * s.snapshot().bytes());
        assert_eq!(t.memory_bytes(), recount(&t));
        assert!(t.memory_bytes() <= t.cap());
        t.clear();
        assert_eq!((t.memory_bytes(), t.keyframes(), t.furthest()), (0, 0, 0));
    }

    #[test]
    fn the_panel_line_names_memory_cap_and_spacing() {
        let mut t = Timeline::default();
        assert_eq!(t.describe(), "history: 0.0 MiB of 256 MiB, every step");
        t.interval = 4;
        t.bytes = 31 << 20;
        assert_eq!(t.describe(), "history: 31 MiB of 256 MiB, keyframe every 4 steps");
        assert_eq!(mib(3 << 19), "1.5 MiB");
    }
}
