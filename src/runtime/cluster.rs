//! `LiveCluster`: spawns one Web Worker per server, drives the `Conductor` from a timer, carries
//! posts to workers and outputs back, turns a worker's `error` event into a crashed server, runs
//! the page's zkCli console (`LiveConsole`) on the same clock, and hands the UI a fresh snapshot
//! on every frame (and the console's whenever it changed).

use super::pool::WorkerPool;
use crate::live::client::{ConsoleSnapshot, LiveConsole};
use crate::live::{ClusterSnapshot, Conductor, FromWorker, Post};
use crate::zk::cli::Completion;
use crate::zab::Sid;
use gloo::timers::callback::Interval;
use std::cell::RefCell;
use std::rc::{Rc, Weak};
use yew::Callback;

/// The loader Trunk writes for `src/bin/node_worker.rs` (`data-loader-shim`), relative to the page.
pub const WORKER_SCRIPT: &str = "node_worker_loader.js";
/// Milliseconds between frames of the conductor's clock.
const FRAME_MS: u32 = 33;

struct Inner {
    conductor: Conductor,
    console: LiveConsole,
    /// What the console looked like when last published: (transcript version, prompt, busy,
    /// state, server).
    console_key: Option<(u64, String, bool, &'static str, Option<Sid>)>,
    workers: WorkerPool,
    last_frame_ms: f64,
    /// Where the metrics go (`on_metrics`), and when they last went (wall ms).
    metrics_cb: Option<Callback<Rc<crate::measure::MetricsView>>>,
    last_metrics_ms: f64,
}

/// A handle to the live cluster; clones share it. Dropping the last one stops every worker.
#[derive(Clone)]
pub struct LiveCluster {
    inner: Rc<RefCell<Inner>>,
    on_snapshot: Callback<Rc<ClusterSnapshot>>,
    on_console: Callback<Rc<ConsoleSnapshot>>,
    _interval: Rc<Interval>,
}

impl PartialEq for LiveCluster {
    fn eq(&self, other: &Self) -> bool {
        Rc::ptr_eq(&self.inner, &other.inner)
    }
}

impl LiveCluster {
    /// Starts `n` voting servers and `observers` observers, each in its own worker, and zkCli
    /// connecting to them.
    pub fn start(
        n: u32,
        observers: u32,
        seed: u64,
        on_snapshot: Callback<Rc<ClusterSnapshot>>,
        on_console: Callback<Rc<ConsoleSnapshot>>,
    ) -> LiveCluster {
        let conductor = Conductor::with_observers(n, observers, seed);
        let console = LiveConsole::new(conductor.ids());
        let inner = Rc::new(RefCell::new(Inner {
            conductor,
            console,
            console_key: None,
            workers: WorkerPool::new(WORKER_SCRIPT),
            last_frame_ms: super::now_ms(),
            metrics_cb: None,
            last_metrics_ms: 0.0,
        }));
        let weak = Rc::downgrade(&inner);
        let (tick_cb, console_cb) = (on_snapshot.clone(), on_console.clone());
        let interval = Interval::new(FRAME_MS, move || {
            if let Some(inner) = weak.upgrade() {
                frame(&inner, &tick_cb, &console_cb);
            }
        });
        let cluster = LiveCluster { inner, on_snapshot, on_console, _interval: Rc::new(interval) };
        let ids = cluster.inner.borrow().conductor.ids();
        for sid in ids {
            spawn(&cluster.inner, sid, cluster.on_console.clone());
        }
        cluster.publish();
        publish_console(&cluster.inner, &cluster.on_console);
        cluster
    }

    fn publish(&self) {
        let snapshot = Rc::new(self.inner.borrow().conductor.snapshot());
        self.on_snapshot.emit(snapshot);
    }

    /// A line typed into zkCli.
    pub fn console_submit(&self, line: &str) {
        self.inner.borrow_mut().console.submit(line);
        tick_console(&self.inner);
        publish_console(&self.inner, &self.on_console);
    }

    /// Tab in zkCli: the completion of `line` at `cursor` (in chars).
    pub fn console_complete(&self, line: &str, cursor: usize) -> Completion {
        let mut guard = self.inner.borrow_mut();
        let Inner { console, conductor, .. } = &mut *guard;
        console.complete(line, cursor, conductor)
    }

    pub fn kill(&self, sid: Sid) {
        kill(&self.inner, sid);
        self.publish();
    }

    /// The metrics panel's feed: a `MetricsView` about twice a second.
    pub fn on_metrics(&self, cb: Callback<Rc<crate::measure::MetricsView>>) {
        self.inner.borrow_mut().metrics_cb = Some(cb);
    }

    /// Chaos mode on: kills among `targets` (`zkN`, `execN`) at exponential intervals of mean
    /// `mean_ms` (virtual), one down at a time, each restarted `restart_ms` later.
    pub fn start_chaos(&self, seed: u64, mean_ms: u64, restart_ms: u64, targets: &[String]) {
        super::zk_bridge().borrow_mut().measure.start_chaos(seed, mean_ms, restart_ms, targets);
    }

    /// Loses the next successful `kind` reply to a Spark worker's kazoo session.
    pub fn drop_next_reply(&self, kind: &str) {
        super::zk_bridge().borrow_mut().drop_next_reply(kind);
    }

    pub fn stop_chaos(&self) {
        super::zk_bridge().borrow_mut().measure.stop_chaos();
    }

    pub fn restart(&self, sid: Sid) {
        self.inner.borrow_mut().conductor.restart(sid);
        spawn(&self.inner, sid, self.on_console.clone());
        self.publish();
    }
}

/// Kills a server's worker, noting the failure (and whether it was the leader) for the metrics.
fn kill(inner: &Rc<RefCell<Inner>>, sid: Sid) {
    let mut guard = inner.borrow_mut();
    if !guard.conductor.is_alive(sid) {
        return;
    }
    let was_leader = guard.conductor.snapshot().leader() == Some(sid);
    super::zk_bridge().borrow_mut().measure.zk_killed(sid, was_leader);
    guard.conductor.kill(sid);
    guard.workers.terminate(sid);
}

impl LiveCluster {

    pub fn inject_panic(&self, sid: Sid) {
        let posts = self.inner.borrow_mut().conductor.inject_panic(sid);
        deliver(&self.inner, posts);
    }

    pub fn client_write(&self) {
        let posts = self.inner.borrow_mut().conductor.client_write();
        deliver(&self.inner, posts);
        self.publish();
    }

    pub fn set_isolated(&self, sid: Sid, isolated: bool) {
        self.inner.borrow_mut().conductor.set_isolated(sid, isolated);
        self.publish();
    }

    pub fn set_paused(&self, paused: bool) {
        self.inner.borrow_mut().conductor.set_paused(paused);
        self.publish();
    }

    pub fn set_speed(&self, speed: f64) {
        self.inner.borrow_mut().conductor.set_speed(speed);
        self.publish();
    }
}

fn frame(
    inner: &Rc<RefCell<Inner>>,
    on_snapshot: &Callback<Rc<ClusterSnapshot>>,
    on_console: &Callback<Rc<ConsoleSnapshot>>,
) {
    let posts = {
        let mut guard = inner.borrow_mut();
        let now = super::now_ms();
        let elapsed = now - guard.last_frame_ms;
        guard.last_frame_ms = now;
        guard.workers.clear_graveyard();
        guard.conductor.advance(elapsed)
    };
    deliver(inner, posts);
    tick_console(inner);
    tick_zk_bridge(inner);
    let snapshot = inner.borrow().conductor.snapshot();
    measure(inner, &snapshot, on_console);
    on_snapshot.emit(Rc::new(snapshot));
    publish_console(inner, on_console);
}

/// Lets the console take its replies, run its lines and send what it has to send.
fn tick_console(inner: &Rc<RefCell<Inner>>) {
    let posts = {
        let mut guard = inner.borrow_mut();
        let Inner { console, conductor, .. } = &mut *guard;
        console.tick(conductor)
    };
    deliver(inner, posts);
}

/// Feeds the metrics this frame's server states, carries out chaos mode's kills and restarts
/// of servers (the executors' go to the Spark side), and publishes the figures twice a second.
fn measure(inner: &Rc<RefCell<Inner>>, snapshot: &crate::live::ClusterSnapshot, on_console: &Callback<Rc<ConsoleSnapshot>>) {
    let bridge = super::zk_bridge();
    let due = {
        let mut b = bridge.borrow_mut();
        let states: Vec<(Sid, &str)> = snapshot.nodes.iter().map(|n| (n.sid, n.data_state())).collect();
        b.measure.zk_frame(snapshot.now_ms, &states, snapshot.stats.leaders_established);
        let due = b.measure.due_chaos();
        let (zk, spark): (Vec<_>, Vec<_>) = due.into_iter().partition(|e| e.target.starts_with("zk"));
        b.spark_chaos.extend(spark);
        zk
    };
    for e in due {
        let Some(sid) = e.target.strip_prefix("zk").and_then(|x| x.parse::<Sid>().ok()) else { continue };
        if !inner.borrow().conductor.ids().contains(&sid) {
            continue;
        }
        if e.action == crate::metrics::ChaosAction::Kill {
            kill(inner, sid);
        } else if !inner.borrow().conductor.is_alive(sid) {
            inner.borrow_mut().conductor.restart(sid);
            spawn(inner, sid, on_console.clone());
        }
    }
    let now = super::now_ms();
    let cb = {
        let mut guard = inner.borrow_mut();
        if now - guard.last_metrics_ms < 500.0 {
            return;
        }
        guard.last_metrics_ms = now;
        guard.metrics_cb.clone()
    };
    if let Some(cb) = cb {
        let view = bridge.borrow().measure.view();
        cb.emit(Rc::new(view));
    }
}

/// Carries out the Spark workers' kazoo calls on this ensemble (`live::zkhub`).
fn tick_zk_bridge(inner: &Rc<RefCell<Inner>>) {
    let bridge = super::zk_bridge();
    let posts = bridge.borrow_mut().tick(&mut inner.borrow_mut().conductor);
    deliver(inner, posts);
}

/// Hands the UI the console's snapshot if anything it shows changed.
fn publish_console(inner: &Rc<RefCell<Inner>>, on_console: &Callback<Rc<ConsoleSnapshot>>) {
    let snapshot = {
        let mut guard = inner.borrow_mut();
        let c = &guard.console;
        let key = (c.version(), c.prompt(), c.is_busy(), c.client_state().as_str(), c.server());
        if guard.console_key.as_ref() == Some(&key) {
            return;
        }
        guard.console_key = Some(key);
        guard.console.snapshot()
    };
    on_console.emit(Rc::new(snapshot));
}

/// Posts each input to its worker, if that worker is still the one it was meant for.
fn deliver(inner: &Rc<RefCell<Inner>>, posts: Vec<Post>) {
    let guard = inner.borrow();
    for post in posts {
        guard.workers.post(post.sid, post.generation, &post.msg);
    }
}

/// Spawns the worker for `sid`'s current generation and wires its events back. Replies to the
/// console are taken at once, so a command's round trips do not wait for the next frame.
fn spawn(inner: &Rc<RefCell<Inner>>, sid: Sid, on_console: Callback<Rc<ConsoleSnapshot>>) {
    let generation = inner.borrow().conductor.generation(sid);
    let (weak_out, weak_err): (Weak<RefCell<Inner>>, Weak<RefCell<Inner>>) = (Rc::downgrade(inner), Rc::downgrade(inner));
    let on_output = move |output: FromWorker| {
        let Some(inner) = weak_out.upgrade() else { return };
        let posts = inner.borrow_mut().conductor.worker_output(sid, generation, output);
        deliver(&inner, posts);
        if inner.borrow().conductor.has_client_mail() {
            tick_console(&inner);
            publish_console(&inner, &on_console);
        }
    };
    let on_error = move |message: String| {
        let Some(inner) = weak_err.upgrade() else { return };
        let mut guard = inner.borrow_mut();
        guard.conductor.worker_crashed(sid, generation, message);
        guard.workers.bury(sid);
    };
    let spawned = inner.borrow_mut().workers.spawn(sid, generation, on_output, on_error);
    if let Err(message) = spawned {
        inner.borrow_mut().conductor.worker_crashed(sid, generation, message);
    }
}
