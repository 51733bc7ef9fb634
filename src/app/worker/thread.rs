//! The worker thread: one [`Slot`] per run and one rayon pool for all. It
//! owns every simulation and trainer, serves [`Command`]s in order and sends
//! a [`Reply`] per run served. Bevy never waits for it (see `run::link`).

use std::sync::mpsc::{Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bevy::log::warn;

use crate::engine::Timeline;
use crate::engine::metrics::metrics_every;
use crate::engine::particles::DEFAULT_CAP_BYTES;
use crate::engine::{
    DivergenceProbe, Divergences, FlowSettings, MetricProbe, Metrics, Simulation, StepContext, StepReport,
};

use super::gan::WorkerView;
use super::generator::{GeneratorRun, Run};
use super::project::project3;
use super::protocol::{
    Command, HistoryInfo, Load, Measures, MetricSample, Progress, ProjectedClouds, Reply, ReplyKind, RunKey,
    STEP_BUDGET,
};

/// Clouds below this many points (fixed + moving) get metrics every step;
/// bigger ones at most every [`METRICS_INTERVAL`] of wall time.
const METRICS_EVERY_STEP_BELOW: usize = 5000;

const METRICS_INTERVAL: Duration = Duration::from_millis(150);

/// Share of the time the divergences may take: of the flow's time in step
/// counts (as in `sdflow run`), and of the worker's wall time, so a slow or
/// paused flow still gets live values without the worker spending more.
const DIVERGENCE_SHARE: f64 = 0.1;

/// Never evaluate the divergences more often than this.
const DIVERGENCE_MIN_INTERVAL: Duration = Duration::from_millis(250);

/// The worker thread's state: one [`Slot`] per run, one rayon pool for all.
struct Worker {
    slots: std::collections::HashMap<RunKey, Slot>,
    pool: rayon::ThreadPool,
    /// Memory cap of each run's history.
    history_cap: usize,
}

/// One run's state on the worker between commands.
#[derive(Default)]
struct Slot {
    sim: Option<(u64, Run, MetricProbe)>,
    last_metrics: Option<Instant>,
    divergences: Option<DivergenceWatch>,
    view: WorkerView,
    /// Generation of a load that failed; later commands get a bare reply.
    failed: Option<u64>,
    /// Wall time of the last metrics evaluation: costly ones (a 50-D
    /// generator's 4000 samples against 10,000 targets take ~0.25 s) are
    /// spaced so they take at most a fifth of the worker's time.
    metrics_cost: Duration,
    /// Every step of a particle run, for scrubbing back and forth.
    timeline: Timeline,
}

/// What a slot gathers while serving one step request.
#[derive(Default)]
struct StepTally {
    report: Option<StepReport>,
    steps: usize,
    seconds: f64,
    samples: Vec<MetricSample>,
    last: Option<(Metrics, Vec<f64>)>,
    cosines: Vec<(usize, f64)>,
}

/// The divergence probe of a run and its cadence.
struct DivergenceWatch {
    probe: DivergenceProbe,
    cfd_frequencies: usize,
    /// Evaluate every this many steps (fixed from the first step's cost).
    every: Option<usize>,
    /// The next step count at which they are due.
    next: usize,
    /// When the last evaluation ended and how long it took.
    last: Option<(Instant, Duration)>,
}

impl DivergenceWatch {
    /// Whether the divergences are due now: at step 0, at the end, once every
    /// K steps (a multi-step request may pass several marks: one evaluation),
    /// or when 90 % of the worker's time since the last one went elsewhere.
    fn due(&mut self, sim: &Simulation, report: Option<&StepReport>) -> bool {
        let done = sim.step_index();
        if done == 0 {
            self.next = 0;
        }
        // Due by step count, or by wall time: 10 % of the time since the last one.
        let by_time = self.last.is_some_and(|(at, took)| {
            at.elapsed() >= DIVERGENCE_MIN_INTERVAL.max(took.mul_f64((1.0 - DIVERGENCE_SHARE) / DIVERGENCE_SHARE))
        });
        if done < self.next && !sim.is_finished() && !by_time {
            return false;
        }
        // Before the first step the cadence is not known (no step cost yet).
        let Some(report) = report else {
            self.next = 1;
            return true;
        };
        let every = *self.every.get_or_insert_with(|| {
            let cost = self.probe.total_cost(sim.moving().len(), self.cfd_frequencies);
            metrics_every(report.kernel_evaluations, cost, DIVERGENCE_SHARE)
        });
        self.next = done + every;
        true
    }

    fn evaluate(&mut self, sim: &Simulation, report: Option<&StepReport>) -> Divergences {
        self.probe.evaluate(sim.moving(), StepContext::after(sim, report))
    }
}

impl Worker {
    fn handle(&mut self, command: Command) -> Vec<Reply> {
        let pool = &self.pool;
        match command {
            Command::Load(load) => {
                let cap = self.history_cap;
                let slot = self.slots.entry(load.run).or_default();
                slot.timeline.set_cap(cap);
                slot.load(pool, &load).into_iter().collect()
            }
            Command::SetSettings { run, settings } => {
                if let Some(slot) = self.slots.get_mut(&run) {
                    slot.set_settings(settings);
                }
                Vec::new()
            }
            Command::Seek { runs, step } => {
                runs.iter().filter_map(|run| self.slots.get_mut(run).and_then(|s| s.seek(pool, *run, step))).collect()
            }
            Command::SetHistoryCap(cap) => {
                self.history_cap = cap;
                for slot in self.slots.values_mut() {
                    slot.timeline.set_cap(cap);
                }
                Vec::new()
            }
            Command::Step { runs, count } => self.step(&runs, count),
            Command::Reset { run } => self.slots.get_mut(&run).and_then(|s| s.reset(pool, run)).into_iter().collect(),
            Command::SetView { run, request } => self
                .slots
                .get_mut(&run)
                .and_then(|s| {
                    s.view.set_request(request);
                    s.reply(pool, run, ReplyKind::Viewed, None, 0.0, false)
                })
                .into_iter()
                .collect(),
            Command::Drop { run } => {
                self.slots.remove(&run);
                Vec::new()
            }
        }
    }

    /// Steps the listed runs in lockstep: every run takes step k before any
    /// takes step k + 1, and all take the same number of steps (a finished
    /// run stays where it is).
    fn step(&mut self, runs: &[RunKey], count: usize) -> Vec<Reply> {
        let pool = &self.pool;
        let start = Instant::now();
        let mut tallies: Vec<StepTally> = runs.iter().map(|_| StepTally::default()).collect();
        let mut rounds = 0;
        while rounds < count.max(1) && (rounds == 0 || start.elapsed() < STEP_BUDGET) {
            let mut moved = false;
            for (run, tally) in runs.iter().zip(&mut tallies) {
                if let Some(slot) = self.slots.get_mut(run) {
                    moved |= slot.step_once(pool, tally, rounds + 1 < count.max(1));
                }
            }
            if !moved {
                break;
            }
            rounds += 1;
        }
        let mut replies = Vec::with_capacity(runs.len());
        for (run, tally) in runs.iter().zip(tallies) {
            let Some(slot) = self.slots.get_mut(run) else { continue };
            if slot.sim.is_none() {
                replies.extend(slot.failed.map(|g| Reply::bare(*run, g, ReplyKind::Stepped)));
                continue;
            }
            replies.extend(slot.finish_step(pool, *run, tally));
        }
        replies
    }
}

impl Slot {
    fn load(&mut self, pool: &rayon::ThreadPool, load: &Load) -> Option<Reply> {
        let Load { run, generation, ref scene, ref clouds, ref held_out, seed } = *load;
        let held_out = held_out.as_ref();
        let mut sim = match scene.trainer(clouds, seed) {
            None => Run::Particles(Box::new(scene.simulation(clouds, seed))),
            Some(Ok(trainer)) => {
                let truth = scene.target.linear_truth();
                Run::Generator(Box::new(GeneratorRun::new(trainer, truth)))
            }
            Some(Err(e)) => {
                self.sim = None;
                self.failed = Some(generation);
                let mut reply = Reply::bare(run, generation, ReplyKind::Loaded);
                reply.progress.error = Some(format!("{}: the generator cannot start: {e}", scene.name));
                return Some(reply);
            }
        };
        self.failed = None;
        self.timeline.clear();
        if let Some(particles) = sim.as_particles() {
            self.timeline.record(particles);
        }
        let fixed = sim.fixed();
        let probe = pool.install(|| MetricProbe::new(fixed, seed, scene.cfd_frequencies));
        self.divergences = Some(DivergenceWatch {
            probe: pool.install(|| DivergenceProbe::new(fixed, held_out, seed, scene.cfd_frequencies)),
            cfd_frequencies: scene.cfd_frequencies,
            every: None,
            next: 0,
            last: None,
        });
        let fixed_nn = probe.fixed_nn().to_vec();
        let fixed = project3(sim.fixed());
        self.view.loaded(&sim.gan_state());
        self.sim = Some((generation, sim, probe));
        let mut reply = self.reply(pool, run, ReplyKind::Loaded, None, 0.0, true)?;
        reply.clouds.fixed = Some(fixed);
        reply.measures.fixed_nn = Some(fixed_nn);
        Some(reply)
    }

    /// One step; small clouds also get their metrics when more steps follow
    /// in this request. False when the run could not step (finished).
    fn step_once(&mut self, pool: &rayon::ThreadPool, tally: &mut StepTally, more_follow: bool) -> bool {
        let Some((_, sim, probe)) = self.sim.as_mut() else { return false };
        let t = Instant::now();
        let timeline = &mut self.timeline;
        let stepped = match sim.as_particles_mut() {
            Some(particles) => pool.install(|| timeline.step(particles)),
            None => pool.install(|| sim.step()),
        };
        let Some(r) = stepped else { return false };
        tally.seconds += t.elapsed().as_secs_f64();
        self.view.stepped(&r);
        tally.cosines.extend(r.driver_cosine.map(|c| (sim.step_index(), c)));
        tally.report = Some(r);
        tally.steps += 1;
        // Small clouds: metrics after every step, not only the last.
        if sim.points() < METRICS_EVERY_STEP_BELOW && !sim.is_finished() && more_follow {
            let (m, nn) = pool.install(|| probe.evaluate(sim.moving()));
            tally.samples.push(MetricSample::of(sim.step_index(), &m));
            tally.last = Some((m, nn));
        }
        true
    }

    fn finish_step(&mut self, pool: &rayon::ThreadPool, run: RunKey, tally: StepTally) -> Option<Reply> {
        let ms = tally.seconds * 1e3 / tally.steps.max(1) as f64;
        let mut reply = self.reply(pool, run, ReplyKind::Stepped, tally.report, ms, false)?;
        let measures = &mut reply.measures;
        if measures.metrics.is_none() {
            measures.metrics = tally.last;
        }
        let mut samples = tally.samples;
        samples.extend(measures.metrics.as_ref().map(|(m, _)| MetricSample::of(reply.progress.step_index, m)));
        samples.dedup_by_key(|s| s.step);
        measures.samples = samples;
        measures.cosines = tally.cosines;
        reply.progress.steps = tally.steps;
        Some(reply)
    }

    fn reset(&mut self, pool: &rayon::ThreadPool, run: RunKey) -> Option<Reply> {
        if self.sim.is_none() {
            return self.failed.map(|g| Reply::bare(run, g, ReplyKind::Reset));
        }
        let (_, sim, _) = self.sim.as_mut()?;
        sim.reset();
        self.timeline.clear();
        if let Some(particles) = sim.as_particles() {
            self.timeline.record(particles);
        }
        if let Some(watch) = &mut self.divergences {
            watch.probe.reset();
        }
        self.view.reset();
        self.reply(pool, run, ReplyKind::Reset, None, 0.0, true)
    }

    /// New settings from the run's current step on; behind the furthest
    /// recorded step this branches: the recorded future is dropped.
    fn set_settings(&mut self, settings: FlowSettings) {
        let Some((_, sim, _)) = self.sim.as_mut() else { return };
        match sim.as_particles_mut() {
            Some(particles) => self.timeline.set_settings(particles, settings),
            None => sim.set_settings(settings),
        }
    }

    /// Puts a particle run in its recorded state at `step` (or its furthest
    /// recorded one); a generator run has no history and stays.
    fn seek(&mut self, pool: &rayon::ThreadPool, run: RunKey, step: usize) -> Option<Reply> {
        let (_, sim, _) = self.sim.as_mut()?;
        let particles = sim.as_particles_mut()?;
        let step = step.clamp(self.timeline.first(), self.timeline.furthest());
        let timeline = &mut self.timeline;
        if let Err(e) = pool.install(|| timeline.seek(particles, step)) {
            warn!("cannot go to step {step}: {e}");
        }
        self.view.reset();
        if let Some(watch) = &mut self.divergences {
            watch.probe.reset();
        }
        self.reply(pool, run, ReplyKind::Sought, None, 0.0, true)
    }

    /// Builds a reply from the current state; metrics when due (or `force`).
    fn reply(
        &mut self,
        pool: &rayon::ThreadPool,
        run: RunKey,
        kind: ReplyKind,
        report: Option<StepReport>,
        step_ms: f64,
        force: bool,
    ) -> Option<Reply> {
        let (generation, sim, probe) = self.sim.as_mut()?;
        let points = sim.points();
        let due = force
            || points < METRICS_EVERY_STEP_BELOW
            || self.last_metrics.is_none_or(|t| t.elapsed() >= METRICS_INTERVAL.max(4 * self.metrics_cost))
            || sim.is_finished();
        let started = Instant::now();
        let metrics = (due && (report.is_some() || force)).then(|| pool.install(|| probe.evaluate(sim.moving())));
        if metrics.is_some() {
            self.last_metrics = Some(Instant::now());
            self.metrics_cost = started.elapsed();
        }
        let (mut divergences, mut tweedie) = (None, None);
        if let Some(particles) = sim.as_particles()
            && let Some(watch) = self.divergences.as_mut()
            && (report.is_some() || force)
            && watch.due(particles, report.as_ref())
        {
            let started = Instant::now();
            let values = pool.install(|| watch.evaluate(particles, report.as_ref()));
            divergences = Some((particles.step_index(), values.values()));
            tweedie = pool.install(|| particles.tweedie_residual());
            watch.last = Some((Instant::now(), started.elapsed()));
        }
        // A fresh heat map whenever the state will stay on screen a while.
        let fresh = force || kind == ReplyKind::Viewed || sim.is_finished();
        let view = &mut self.view;
        let state = sim.gan_state();
        let gan = pool.install(|| view.values(&state, fresh));
        let non_finite = sim.as_particles().map_or(0, |p| p.non_finite());
        let generator = sim.generator_reply(kind != ReplyKind::Stepped, metrics.is_some());
        Some(Reply {
            run,
            generation: *generation,
            kind,
            progress: Progress {
                step_index: sim.step_index(),
                finished: sim.is_finished(),
                report,
                steps: 0,
                step_ms,
                eta: sim.eta(),
                non_finite,
                error: None,
            },
            clouds: ProjectedClouds { moving: project3(sim.moving()), fixed: None },
            measures: Measures {
                samples: metrics.iter().map(|(m, _)| MetricSample::of(sim.step_index(), m)).collect(),
                metrics,
                fixed_nn: None,
                divergences,
                tweedie,
                cosines: Vec::new(),
            },
            gan,
            generator,
            history: self.sim.as_ref().and_then(|(_, sim, _)| sim.as_particles()).map(|_| HistoryInfo {
                first: self.timeline.first(),
                furthest: self.timeline.furthest(),
                line: self.timeline.describe(),
            }),
        })
    }
}

/// Starts the worker thread with a pool of max(1, cores - 1) threads,
/// leaving a core for Bevy. It serves `commands` until their sender is
/// dropped (app exit) or a command panics; the panic's message is left in
/// `last_words` for the window to show.
pub fn spawn(
    commands: Receiver<Command>,
    replies: Sender<Reply>,
    last_words: Arc<Mutex<Option<String>>>,
) -> std::io::Result<()> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).saturating_sub(1).max(1);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .thread_name(|i| format!("sdflow-flow-{i}"))
        .build()
        .map_err(std::io::Error::other)?;
    std::thread::Builder::new().name("sdflow-worker".into()).spawn(move || {
        let mut worker = Worker { slots: Default::default(), pool, history_cap: DEFAULT_CAP_BYTES };
        // Ends when Bevy drops its Sender (app exit), or on a panic, whose
        // message the window then shows.
        while let Ok(command) = commands.recv() {
            match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| worker.handle(command))) {
                Ok(out) => {
                    if out.into_iter().any(|reply| replies.send(reply).is_err()) {
                        break;
                    }
                }
                Err(payload) => {
                    let message = payload
                        .downcast_ref::<&str>()
                        .map(|s| s.to_string())
                        .or_else(|| payload.downcast_ref::<String>().cloned())
                        .unwrap_or_else(|| "unknown cause".into());
                    if let Ok(mut words) = last_words.lock() {
                        *words = Some(message);
                    }
                    break;
                }
            }
        }
    })?;
    Ok(())
}
