//! The flow runs on a dedicated worker thread that owns the [`Simulation`]
//! and its own rayon pool; Bevy talks to it through std channels and never
//! waits for it: systems only `try_recv`.
//!
//! A fixed-timestep system (FixedUpdate, at the steps-per-second rate) owes
//! one step per tick. At most one request is in flight; it carries the steps
//! owed (at most [`MAX_STEPS_PER_REQUEST`]) and the worker takes as many of
//! them as fit in [`STEP_BUDGET`] of wall time, dropping the rest. So fast
//! flows reach rates above the frame rate, and a slow flow never builds a
//! backlog: ticks that find the worker busy only add to the capped debt.

use std::sync::Mutex;
use std::sync::mpsc::{self, Receiver, Sender, TryRecvError};
use std::time::{Duration, Instant};

use bevy::prelude::*;

use super::gan::{GanValues, ViewRequest, WorkerView};
use super::generator::{GeneratorReply, GeneratorRun, GeneratorStatus, Run};
use crate::engine::divergence::{self, COUNT as DIVERGENCES};
use crate::engine::timeline::{DEFAULT_CAP_BYTES, Timeline};
use crate::engine::{
    Cloud, DivergenceProbe, Divergences, FlowSettings, Method, MetricProbe, Metrics, Simulation, StepContext,
    StepReport,
};
use crate::scene::{Clouds, Scene};

/// Clouds below this many points (fixed + moving) get metrics every step;
/// bigger ones at most every [`METRICS_INTERVAL`] of wall time.
const METRICS_EVERY_STEP_BELOW: usize = 5000;
const METRICS_INTERVAL: Duration = Duration::from_millis(150);
/// Most steps one request may carry.
pub const MAX_STEPS_PER_REQUEST: usize = 64;
/// Wall time after which the worker stops a multi-step request and replies,
/// so the view keeps moving smoothly.
pub const STEP_BUDGET: Duration = Duration::from_millis(25);

/// Which run a command or reply is about (the run entity's [`RunId`]).
pub type RunKey = u32;

/// What Bevy asks of the worker.
pub enum Command {
    /// Replace a run's simulation (a new scene, a restart or a new seed).
    Load {
        run: RunKey,
        generation: u64,
        scene: Box<Scene>,
        clouds: Box<Clouds>,
        /// A second sample of the fixed cloud, for the held-out divergences.
        held_out: Option<Box<Cloud>>,
        seed: u64,
    },
    /// Settings that take effect from the run's next step on.
    SetSettings {
        run: RunKey,
        settings: FlowSettings,
    },
    /// Up to this many steps of every listed run in lockstep: each step is
    /// taken by all of them before the next, within [`STEP_BUDGET`] (at
    /// least one); one reply per run.
    Step {
        runs: Vec<RunKey>,
        count: usize,
    },
    Reset {
        run: RunKey,
    },
    /// Put every listed run back (or forward) to its recorded state at this
    /// step (the timeline slider, Left arrow); runs whose history ends
    /// earlier go to their last recorded step.
    Seek {
        runs: Vec<RunKey>,
        step: usize,
    },
    /// The memory cap of every run's history, in bytes.
    SetHistoryCap(usize),
    /// What the GAN view needs with each reply from now on; answered at once
    /// with the values for the current state (once a scene is loaded).
    SetView {
        run: RunKey,
        request: ViewRequest,
    },
    /// Forget a run (its view was closed).
    Drop {
        run: RunKey,
    },
}

/// Why a reply was sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReplyKind {
    Loaded,
    Stepped,
    Reset,
    /// Only the GAN view's values changed (a new [`Command::SetView`]).
    Viewed,
    /// The run was put back to a recorded step ([`Command::Seek`]).
    Sought,
}

/// What the panel shows of a run's history (particle runs only).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct HistoryInfo {
    /// Steps that can be shown again: first ..= furthest.
    pub first: usize,
    pub furthest: usize,
    /// Memory used and cap, e.g. "history: 31.2 MiB of 256 MiB, every step".
    pub line: String,
}

/// What the worker sends back after a load, a step or a reset.
pub struct Reply {
    pub run: RunKey,
    pub generation: u64,
    pub kind: ReplyKind,
    /// Steps taken so far.
    pub step_index: usize,
    pub finished: bool,
    /// Moving cloud, projected to 3-D (x, y, z per point).
    pub moving: Vec<f32>,
    /// Fixed cloud, projected to 3-D; only on `Loaded`.
    pub fixed: Option<Vec<f32>>,
    /// Target-to-target nearest-neighbour distances; only on `Loaded`.
    pub fixed_nn: Option<Vec<f64>>,
    pub report: Option<StepReport>,
    /// Steps this reply accounts for.
    pub steps: usize,
    pub step_ms: f64,
    /// Metrics and moving-to-target nearest-neighbour distances, when computed.
    pub metrics: Option<(Metrics, Vec<f64>)>,
    /// Every step's metrics computed while serving this request (small
    /// clouds: each step), so fast runs still plot every step.
    pub samples: Vec<MetricSample>,
    pub eta: Option<f64>,
    /// Divergences (steps done, values), on their cadence.
    pub divergences: Option<(usize, [f64; DIVERGENCES])>,
    /// RectifiedFlow: Tweedie's residual, on the divergences' cadence.
    pub tweedie: Option<f64>,
    /// Non-finite updates dropped since the start.
    pub non_finite: u64,
    /// The GAN view's values at this state, while the view asks for any.
    pub gan: Option<GanValues>,
    /// (steps taken, driver cosine) of each step served by this request
    /// (`Discriminator` drivers only).
    pub cosines: Vec<(usize, f64)>,
    /// A generator run's losses, comparison and grid (None for particles).
    pub generator: Option<GeneratorReply>,
    /// Why the scene could not start (a generator that cannot be built).
    pub error: Option<String>,
    /// The run's history (particle runs).
    pub history: Option<HistoryInfo>,
}

/// Projects a cloud to 3-D for display: the first three coordinates (2-D
/// clouds get z = 0, 1-D ones y = z = 0).
pub fn project3(cloud: &Cloud) -> Vec<f32> {
    let dim = cloud.dim();
    let mut out = Vec::with_capacity(cloud.len() * 3);
    for p in cloud.points() {
        let shown = &p[..dim.min(3)];
        out.extend_from_slice(shown);
        out.extend(std::iter::repeat_n(0.0, 3 - shown.len()));
    }
    out
}

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
            divergence::metrics_every(report.kernel_evaluations, cost, DIVERGENCE_SHARE)
        });
        self.next = done + every;
        true
    }

    fn evaluate(&mut self, sim: &Simulation, report: Option<&StepReport>) -> Divergences {
        let settings = sim.settings();
        let schedule_sigma2 = settings.schedule.sigma2(sim.step_index().saturating_sub(1), settings.steps);
        // RectifiedFlow's proxies use the scene's schedule (as `sdflow run` does).
        let sigma2 = match report {
            Some(r) if settings.method != Method::RectifiedFlow => r.sigma2,
            _ => schedule_sigma2,
        };
        let sd_like = matches!(settings.method, Method::Sd | Method::MmdNormalized) && settings.batch.is_none();
        let ctx = StepContext {
            steps_done: sim.step_index(),
            sigma2,
            sd_eta: if sd_like { report.map(|r| r.eta).or(sim.eta()) } else { None },
        };
        self.probe.evaluate(sim.moving(), ctx)
    }
}

impl Worker {
    fn handle(&mut self, command: Command) -> Vec<Reply> {
        let pool = &self.pool;
        match command {
            Command::Load { run, generation, scene, clouds, held_out, seed } => {
                let cap = self.history_cap;
                let slot = self.slots.entry(run).or_default();
                slot.timeline.set_cap(cap);
                slot.load(pool, run, generation, &scene, &clouds, held_out.as_deref(), seed).into_iter().collect()
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
    #[allow(clippy::too_many_arguments)]
    fn load(
        &mut self,
        pool: &rayon::ThreadPool,
        run: RunKey,
        generation: u64,
        scene: &Scene,
        clouds: &Clouds,
        held_out: Option<&Cloud>,
        seed: u64,
    ) -> Option<Reply> {
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
                reply.error = Some(format!("{}: the generator cannot start: {e}", scene.name));
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
        reply.fixed = Some(fixed);
        reply.fixed_nn = Some(fixed_nn);
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
        if reply.metrics.is_none() {
            reply.metrics = tally.last;
        }
        let mut samples = tally.samples;
        samples.extend(reply.metrics.as_ref().map(|(m, _)| MetricSample::of(reply.step_index, m)));
        samples.dedup_by_key(|s| s.step);
        reply.samples = samples;
        reply.steps = tally.steps;
        reply.cosines = tally.cosines;
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
            tweedie = pool.install(|| crate::engine::rectified::tweedie_residual(particles));
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
            step_index: sim.step_index(),
            finished: sim.is_finished(),
            moving: project3(sim.moving()),
            fixed: None,
            fixed_nn: None,
            report,
            steps: 0,
            step_ms,
            samples: metrics.iter().map(|(m, _)| MetricSample::of(sim.step_index(), m)).collect(),
            metrics,
            eta: sim.eta(),
            divergences,
            tweedie,
            non_finite,
            gan,
            cosines: Vec::new(),
            generator,
            error: None,
            history: self.sim.as_ref().and_then(|(_, sim, _)| sim.as_particles()).map(|_| HistoryInfo {
                first: self.timeline.first(),
                furthest: self.timeline.furthest(),
                line: self.timeline.describe(),
            }),
        })
    }
}

impl Reply {
    /// A reply that moves nothing: after a load that failed.
    fn bare(run: RunKey, generation: u64, kind: ReplyKind) -> Self {
        Reply {
            run,
            generation,
            kind,
            step_index: 0,
            finished: true,
            moving: Vec::new(),
            fixed: None,
            fixed_nn: None,
            report: None,
            steps: 0,
            step_ms: 0.0,
            metrics: None,
            samples: Vec::new(),
            eta: None,
            divergences: None,
            tweedie: None,
            non_finite: 0,
            gan: None,
            cosines: Vec::new(),
            generator: None,
            error: None,
            history: None,
        }
    }
}

/// Bevy's end of the channels to the worker thread, shared by all runs.
/// Created idle with the plugin; the thread starts in `Startup`
/// ([`start_worker`]). If the thread stops, [`FlowWorker::stopped`] says
/// why and the window shows it; the next load starts a fresh one.
#[derive(Resource, Default)]
pub struct FlowWorker {
    channels: Option<Channels>,
    /// Why the worker is not running (None while it runs or before start).
    stopped: Option<String>,
    /// A panic message the worker left before it stopped.
    last_words: std::sync::Arc<Mutex<Option<String>>>,
    /// Bumped on each (re)start, so links know their pending replies are gone.
    epoch: u64,
}

struct Channels {
    tx: Sender<Command>,
    /// Receiver is not Sync; the mutex is never contended (one system at a time reads it).
    rx: Mutex<Receiver<Reply>>,
}

impl FlowWorker {
    /// Starts the worker thread with a pool of max(1, cores - 1) threads,
    /// leaving a core for Bevy.
    pub fn start(&mut self) -> std::io::Result<()> {
        let (tx, commands) = mpsc::channel::<Command>();
        let (replies, rx) = mpsc::channel::<Reply>();
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).saturating_sub(1).max(1);
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .thread_name(|i| format!("sdflow-flow-{i}"))
            .build()
            .map_err(std::io::Error::other)?;
        let last_words = self.last_words.clone();
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
        self.channels = Some(Channels { tx, rx: Mutex::new(rx) });
        self.stopped = None;
        self.epoch += 1;
        Ok(())
    }

    /// Why the worker is not running, once it has stopped or failed to start.
    pub fn stopped(&self) -> Option<&str> {
        self.stopped.as_deref()
    }

    fn send(&mut self, command: Command) -> bool {
        let Some(channels) = &self.channels else { return false };
        if channels.tx.send(command).is_err() {
            self.mark_stopped();
            return false;
        }
        true
    }

    fn mark_stopped(&mut self) {
        self.channels = None;
        let why = self.last_words.lock().ok().and_then(|mut w| w.take()).unwrap_or_else(|| "no reason given".into());
        self.stopped = Some(format!(
            "The flow worker stopped unexpectedly ({why}). Open a scene or press Apply and restart to start a new one."
        ));
    }

    /// Loads a new simulation into `link`'s run; returns its generation.
    /// Starts a new worker if the old one stopped.
    pub fn load(
        &mut self,
        link: &mut RunLink,
        scene: Scene,
        clouds: Clouds,
        held_out: Option<Cloud>,
        seed: u64,
    ) -> u64 {
        if self.stopped.is_some()
            && let Err(e) = self.start()
        {
            self.stopped = Some(format!("cannot start the flow worker thread: {e}"));
        }
        link.sync_epoch(self.epoch);
        link.generation += 1;
        link.steps = scene.steps;
        let (run, generation) = (link.run, link.generation);
        let held_out = held_out.map(Box::new);
        let command =
            Command::Load { run, generation, scene: Box::new(scene), clouds: Box::new(clouds), held_out, seed };
        if self.send(command) {
            link.owe(true);
        }
        generation
    }

    pub fn set_settings(&mut self, link: &mut RunLink, settings: FlowSettings) {
        link.steps = settings.steps;
        self.send(Command::SetSettings { run: link.run, settings });
    }

    /// Asks for up to `count` steps of every run in `links`, in lockstep.
    pub fn step(&mut self, links: &mut [Mut<RunLink>], count: usize) {
        let runs = links.iter().map(|l| l.run).collect();
        if self.send(Command::Step { runs, count }) {
            for link in links {
                link.steps_in_flight = count;
                link.owe(true);
            }
        }
    }

    pub fn reset(&mut self, link: &mut RunLink) {
        if self.send(Command::Reset { run: link.run }) {
            link.owe(true);
        }
    }

    /// Asks for the GAN view's values (now and with every reply).
    pub fn set_view(&mut self, link: &mut RunLink, request: ViewRequest) {
        link.view = request;
        // Answered once a scene is loaded (the worker gets the load first).
        if self.send(Command::SetView { run: link.run, request }) && link.generation > 0 {
            link.owe(false);
        }
    }

    /// Puts every run in `links` at its recorded `step` (lockstep scrubbing).
    pub fn seek(&mut self, links: &mut [Mut<RunLink>], step: usize) {
        let runs = links.iter().map(|l| l.run).collect();
        if self.send(Command::Seek { runs, step }) {
            for link in links {
                link.owe(false);
            }
        }
    }

    /// Sets the memory cap of every run's history.
    pub fn set_history_cap(&mut self, bytes: usize) {
        self.send(Command::SetHistoryCap(bytes));
    }

    /// Tells the worker a run is gone.
    pub fn drop_run(&mut self, run: RunKey) {
        self.send(Command::Drop { run });
    }

    /// The next reply, if one has arrived.
    fn try_recv(&mut self) -> Option<Reply> {
        let rx = self.channels.as_mut()?.rx.get_mut().ok()?;
        match rx.try_recv() {
            Ok(reply) => Some(reply),
            Err(TryRecvError::Empty) => None,
            Err(TryRecvError::Disconnected) => {
                self.mark_stopped();
                None
            }
        }
    }
}

/// A run's id in the worker protocol (unique for the app's lifetime).
#[derive(Component, Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RunId(pub RunKey);

/// One run's side of the worker protocol.
#[derive(Component, Debug)]
pub struct RunLink {
    run: RunKey,
    /// Replies still owed to this run.
    pending: usize,
    /// Generation of the last `Load` sent; older replies are stale.
    pub generation: u64,
    /// Steps asked for by the request in flight (0 when idle).
    steps_in_flight: usize,
    /// Steps T in the settings last sent (a longer T revives a finished run).
    pub steps: usize,
    /// Commands that make the worker compute (load, step, reset) sent so far.
    work_sent: usize,
    /// The GAN view request last sent.
    view: ViewRequest,
    /// The worker start these pending replies belong to.
    epoch: u64,
}

impl RunLink {
    pub fn new(run: RunKey) -> Self {
        Self {
            run,
            pending: 0,
            generation: 0,
            steps_in_flight: 0,
            steps: 0,
            work_sent: 0,
            view: ViewRequest::default(),
            epoch: 0,
        }
    }

    /// True while a command still owes its reply.
    pub fn busy(&self) -> bool {
        self.pending > 0
    }

    /// Loads, steps and resets sent so far (a paused or finished run sends none).
    pub fn work_sent(&self) -> usize {
        self.work_sent
    }

    /// Steps asked for and not yet replied to (an upper bound).
    pub fn steps_in_flight(&self) -> usize {
        if self.busy() { self.steps_in_flight } else { 0 }
    }

    /// The GAN view request last sent.
    pub fn view(&self) -> ViewRequest {
        self.view
    }

    fn owe(&mut self, work: bool) {
        self.pending += 1;
        self.work_sent += work as usize;
    }

    /// A restarted worker owes nothing from before: forget those replies
    /// and the view request it never saw.
    fn sync_epoch(&mut self, epoch: u64) {
        if self.epoch != epoch {
            self.epoch = epoch;
            self.pending = 0;
            self.view = ViewRequest::default();
        }
    }
}

/// Startup: starts the worker thread (a failure is shown in the window).
pub fn start_worker(mut worker: ResMut<FlowWorker>) {
    if let Err(e) = worker.start() {
        worker.stopped = Some(format!("cannot start the flow worker thread: {e}"));
    }
}

/// Play/pause and speed.
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
    /// After a load, the starting clouds stay still this long before playing
    /// starts, so the first view shows where the flow begins.
    pub hold_after_load: Duration,
}

impl Default for Playback {
    fn default() -> Self {
        Self {
            playing: true,
            steps_per_second: 30.0,
            single_step: false,
            seek_to: None,
            stop_at_total: None,
            hold_after_load: Duration::from_millis(1500),
        }
    }
}

/// Display positions of a run's moving cloud (x, y, z per point). Changes
/// only when a new state arrived, so followers use change detection.
#[derive(Component, Default, Debug)]
pub struct MovingPositions {
    pub generation: u64,
    pub positions: Vec<f32>,
}

/// Display positions of a run's fixed cloud; changes only on load.
#[derive(Component, Default, Debug)]
pub struct FixedPositions {
    pub generation: u64,
    pub positions: Vec<f32>,
}

/// One row of the metric history.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MetricSample {
    pub step: usize,
    pub cfd: f64,
    pub outlier_fraction: f64,
}

impl MetricSample {
    pub fn of(step: usize, m: &Metrics) -> Self {
        Self { step, cfd: m.cfd, outlier_fraction: m.outlier_fraction }
    }
}

/// Steps per second actually reached, over the last second or so of wall
/// time (the setting is a wish; a slow step or a busy core caps it).
#[derive(Clone, Debug, Default)]
pub struct RateMeter {
    /// (seconds, total steps) samples, oldest first.
    samples: std::collections::VecDeque<(f64, usize)>,
}

impl RateMeter {
    /// Window the rate is measured over.
    const WINDOW: f64 = 1.5;

    pub fn record(&mut self, seconds: f64, total_steps: usize) {
        self.samples.push_back((seconds, total_steps));
        while self.samples.len() > 2 && self.samples.front().is_some_and(|(t, _)| seconds - t > Self::WINDOW) {
            self.samples.pop_front();
        }
    }

    /// Steps per second over the window at time `now`; 0 once steps stop.
    pub fn rate(&self, now: f64) -> f64 {
        match (self.samples.front(), self.samples.back()) {
            (Some(&(t0, s0)), Some(&(t1, s1))) if t1 > t0 && now - t1 < Self::WINDOW => (s1 - s0) as f64 / (t1 - t0),
            _ => 0.0,
        }
    }

    pub fn clear(&mut self) {
        self.samples.clear();
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

/// What the UI shows about a run.
#[derive(Component, Default, Debug)]
pub struct RunStatus {
    pub generation: u64,
    pub step_index: usize,
    pub finished: bool,
    pub last_report: Option<StepReport>,
    pub step_ms: f64,
    pub eta: Option<f64>,
    pub latest: Option<Metrics>,
    pub history: Vec<MetricSample>,
    pub moving_nn: Vec<f64>,
    pub fixed_nn: Vec<f64>,
    pub moving_count: usize,
    pub fixed_count: usize,
    /// Steps completed since the app started (across loads); for tests and `--after`.
    pub total_steps: usize,
    /// Steps per second reached.
    pub rate: RateMeter,
    /// Steps where the flow settings were changed mid-run, with what changed.
    pub markers: Vec<(usize, String)>,
    /// Holding the first view after a load.
    pub holding: bool,
    /// Divergence history: (steps done, values in `Divergences::NAMES` order).
    pub divergences: Vec<(usize, [f64; DIVERGENCES])>,
    /// RectifiedFlow: the latest Tweedie residual.
    pub tweedie: Option<f64>,
    /// Non-finite updates dropped since the start.
    pub non_finite: u64,
    /// The GAN view's values of the latest state (None in the default view).
    pub gan: Option<GanValues>,
    /// (steps taken, driver cosine) per step of this run.
    pub cosines: Vec<(usize, f64)>,
    /// A generator run's model, losses, comparison and grid (None for particles).
    pub generator: Option<GeneratorStatus>,
    /// Why the current scene could not start.
    pub load_error: Option<String>,
    /// The run's history, for the timeline slider (particle runs).
    pub timeline: Option<HistoryInfo>,
}

impl RunStatus {
    /// Whether this status belongs to the scene the run has now loaded (not
    /// to the one before, or to none yet).
    pub fn is_current(&self, link: &RunLink) -> bool {
        link.generation > 0 && self.generation == link.generation
    }

    /// Current, and showing the clouds' first state.
    pub fn is_shown(&self, link: &RunLink) -> bool {
        self.is_current(link) && self.moving_count > 0
    }

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

/// Requests handled by the simulation plugin.
#[derive(Message, Debug, Clone, Copy, PartialEq, Eq)]
pub enum SimRequest {
    /// Every run back to its start positions.
    Reset,
}

/// Ordering of the simulation's systems.
#[derive(SystemSet, Debug, Clone, PartialEq, Eq, Hash)]
pub enum SimSystems {
    /// Applies replies from the worker to the runs.
    Receive,
    /// Sends requests (reset, single step).
    Control,
}

/// Owns the worker and the fixed-timestep stepping.
pub struct SimulationPlugin;

impl Plugin for SimulationPlugin {
    fn build(&self, app: &mut App) {
        let playback = Playback::default();
        app.init_resource::<FlowWorker>()
            .add_systems(Startup, start_worker)
            .insert_resource(Time::<Fixed>::from_hz(playback.steps_per_second))
            .insert_resource(playback)
            .add_message::<SimRequest>()
            .configure_sets(PreUpdate, SimSystems::Receive)
            .configure_sets(Update, SimSystems::Control)
            .add_systems(PreUpdate, receive_replies.in_set(SimSystems::Receive))
            .add_systems(Update, (handle_requests, sync_fixed_rate).in_set(SimSystems::Control))
            .add_systems(FixedUpdate, (receive_replies, request_step).chain());
    }
}

/// A run's parts the worker's replies write to.
type ReplyTargets =
    (&'static mut RunLink, &'static mut RunStatus, &'static mut MovingPositions, &'static mut FixedPositions);

/// Applies every reply that has arrived to its run; never blocks.
pub fn receive_replies(mut worker: ResMut<FlowWorker>, mut runs: Query<ReplyTargets>, time: Res<Time<Real>>) {
    while let Some(reply) = worker.try_recv() {
        let Some((mut link, mut status, mut moving, mut fixed)) =
            runs.iter_mut().find(|(link, ..)| link.run == reply.run)
        else {
            continue;
        };
        link.pending = link.pending.saturating_sub(1);
        if reply.generation != link.generation {
            continue;
        }
        apply_reply(reply, &mut status, &mut moving, &mut fixed, time.elapsed_secs_f64());
    }
    if worker.stopped().is_some() {
        for (mut link, ..) in &mut runs {
            if link.pending > 0 {
                link.pending = 0;
            }
        }
    }
}

fn apply_reply(
    reply: Reply,
    status: &mut RunStatus,
    // As `Mut`, so only a write marks them changed: the fixed cloud (and
    // its respawn and view fit) changes on load only, the moving one when
    // it moved.
    moving: &mut Mut<MovingPositions>,
    fixed: &mut Mut<FixedPositions>,
    now: f64,
) {
    status.gan = reply.gan;
    if reply.kind == ReplyKind::Viewed {
        return;
    }
    status.timeline = reply.history;
    // A new start (load, reset) forgets the curves; a seek keeps them (the
    // recorded future is still there); steps replace what was recorded from
    // their first step on (a replay gives the same values, a branch new ones).
    let fresh = matches!(reply.kind, ReplyKind::Loaded | ReplyKind::Reset);
    if reply.kind == ReplyKind::Stepped && reply.steps > 0 {
        let from = (reply.step_index + 1).saturating_sub(reply.steps);
        status.history.retain(|h| h.step < from);
        status.cosines.retain(|c| c.0 < from);
        status.divergences.retain(|d| d.0 < from);
        status.markers.retain(|m| m.0 < from);
    }
    if fresh {
        status.cosines.clear();
        status.history.clear();
        status.last_report = None;
        status.step_ms = 0.0;
        status.rate.clear();
    }
    if reply.kind == ReplyKind::Loaded {
        status.markers.clear();
        status.load_error = reply.error.clone();
        status.generator = None;
    }
    if let Some(g) = reply.generator {
        status.generator.get_or_insert_with(Default::default).apply(g, fresh);
    }
    if fresh {
        status.divergences.clear();
        status.tweedie = None;
    }
    status.divergences.extend(reply.divergences);
    if reply.tweedie.is_some() {
        status.tweedie = reply.tweedie;
    }
    status.non_finite = reply.non_finite;
    if reply.kind == ReplyKind::Stepped && reply.report.is_some() {
        status.total_steps += reply.steps;
        status.step_ms = reply.step_ms;
        status.rate.record(now, status.total_steps);
    }
    if let Some(report) = reply.report {
        status.last_report = Some(report);
    }
    if let Some(points) = reply.fixed {
        status.fixed_count = points.len() / 3;
        fixed.generation = reply.generation;
        fixed.positions = points;
    }
    if let Some(nn) = reply.fixed_nn {
        status.fixed_nn = nn;
    }
    status.history.extend(reply.samples);
    status.cosines.extend(reply.cosines);
    if let Some((metrics, nn)) = reply.metrics {
        status.latest = Some(metrics);
        status.moving_nn = nn;
    }
    status.generation = reply.generation;
    status.step_index = reply.step_index;
    status.finished = reply.finished;
    status.eta = reply.eta;
    status.moving_count = reply.moving.len() / 3;
    // A step that moved nothing (already finished) leaves the positions alone.
    if reply.kind != ReplyKind::Stepped || reply.report.is_some() {
        moving.generation = reply.generation;
        moving.positions = reply.moving;
    }
}

/// FixedUpdate: each tick while playing owes a step; the debt (capped) is
/// sent as one request for all runs, in lockstep, when the worker is free
/// of every run's last request. A paused or finished run sends nothing.
/// After a load the first view holds for [`Playback::hold_after_load`].
pub fn request_step(
    mut worker: ResMut<FlowWorker>,
    mut playback: ResMut<Playback>,
    mut runs: Query<(Entity, &mut RunLink, &mut RunStatus)>,
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
    for (_, link, status) in &mut runs {
        if status.is_current(&link) && !status.finished {
            total_steps = total_steps.min(status.total_steps);
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
