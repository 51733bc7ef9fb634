//! Bevy's end of the worker protocol: the [`FlowWorker`] resource that owns
//! the channels (and restarts a stopped worker), and each run's [`RunLink`]
//! (its id, generation and the replies it is owed).

use std::sync::Mutex;
use std::sync::mpsc::{self, Receiver, Sender, TryRecvError};

use bevy::prelude::*;

use crate::app::worker::{Command, Load, Reply, RunKey, ViewRequest, spawn};
use crate::engine::{Cloud, FlowSettings};
use crate::scene::{Clouds, Scene};

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
        spawn(commands, replies, self.last_words.clone())?;
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
        let command = Command::Load(Box::new(Load { run, generation, scene, clouds, held_out, seed }));
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
    pub(super) fn try_recv(&mut self) -> Option<Reply> {
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
    pub(super) run: RunKey,
    /// Replies still owed to this run.
    pub(super) pending: usize,
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
