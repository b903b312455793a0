//! `LiveSpark`: a Spark driver and executors, one Web Worker each (`spark_worker`), driven by
//! the `SparkConductor` from a timer. Killing an executor terminates its worker; restarting
//! spawns a new one, which registers with the driver as a new executor process would.

use super::pool::WorkerPool;
use crate::live::spark::{FromSparkWorker, SparkConductor, SparkPost, SparkSnapshot};
use crate::sim::NodeId;
use crate::spark::cluster::ClusterConfig;
use gloo::timers::callback::Interval;
use std::cell::RefCell;
use std::rc::{Rc, Weak};
use yew::Callback;

/// The loader Trunk writes for `src/bin/spark_worker.rs`, relative to the page.
pub const SPARK_WORKER_SCRIPT: &str = "spark_worker_loader.js";
const FRAME_MS: u32 = 50;

struct Inner {
    conductor: SparkConductor,
    workers: WorkerPool,
    last_frame_ms: f64,
}

/// A handle to the live Spark cluster; clones share it. Dropping the last one stops its workers.
#[derive(Clone)]
pub struct LiveSpark {
    inner: Rc<RefCell<Inner>>,
    on_snapshot: Callback<Rc<SparkSnapshot>>,
    _interval: Rc<Interval>,
}

impl PartialEq for LiveSpark {
    fn eq(&self, other: &Self) -> bool {
        Rc::ptr_eq(&self.inner, &other.inner)
    }
}

impl LiveSpark {
    pub fn start(config: ClusterConfig, seed: u64, on_snapshot: Callback<Rc<SparkSnapshot>>) -> LiveSpark {
        let inner = Rc::new(RefCell::new(Inner {
            conductor: SparkConductor::new(config, seed).with_standalone(standalone_config(seed)),
            workers: WorkerPool::new(SPARK_WORKER_SCRIPT),
            last_frame_ms: super::now_ms(),
        }));
        let weak = Rc::downgrade(&inner);
        let cb = on_snapshot.clone();
        let interval = Interval::new(FRAME_MS, move || {
            if let Some(inner) = weak.upgrade() {
                frame(&inner, &cb);
            }
        });
        let live = LiveSpark { inner, on_snapshot, _interval: Rc::new(interval) };
        let ids = live.inner.borrow().conductor.ids();
        for id in ids {
            spawn(&live.inner, id);
        }
        live.publish();
        live
    }

    fn publish(&self) {
        let snapshot = Rc::new(self.inner.borrow().conductor.snapshot());
        self.on_snapshot.emit(snapshot);
    }

    /// Runs a program on the driver.
    pub fn run(&self, source: &str) {
        let posts = self.inner.borrow_mut().conductor.run(source, crate::spark::fs::bundled());
        deliver(&self.inner, posts);
        self.publish();
    }

    pub fn cancel(&self) {
        let posts = self.inner.borrow_mut().conductor.cancel();
        deliver(&self.inner, posts);
    }

    pub fn kill(&self, id: NodeId) {
        let (alive, leading) = {
            let inner = self.inner.borrow();
            (inner.conductor.is_alive(id), inner.conductor.is_leading_master(id))
        };
        if alive && leading {
            super::zk_bridge().borrow_mut().measure.master_killed(&crate::live::spark::node_name(id));
        } else if alive && id != crate::spark::cluster::DRIVER && id < crate::live::spark::HA_BASE {
            super::zk_bridge().borrow_mut().measure.executor_killed(id);
        }
        {
            let mut inner = self.inner.borrow_mut();
            inner.conductor.kill(id);
            inner.workers.terminate(id);
        }
        self.publish();
    }

    /// Restarts a node; a new driver comes with new executors (a new application).
    pub fn restart(&self, id: NodeId) {
        let ids = if id == crate::spark::cluster::DRIVER {
            let mut inner = self.inner.borrow_mut();
            let ids = inner.conductor.restart_driver();
            for &x in &ids {
                inner.workers.terminate(x);
            }
            ids
        } else {
            self.inner.borrow_mut().conductor.restart(id);
            vec![id]
        };
        for id in ids {
            spawn(&self.inner, id);
        }
        self.publish();
    }

    /// Partitions a node's ZooKeeper sessions from the ensemble for `ms` of virtual time.
    pub fn isolate_zk(&self, id: NodeId, ms: u64) {
        super::zk_bridge().borrow_mut().isolate_for(id, ms);
        let mut inner = self.inner.borrow_mut();
        let now = inner.conductor.now();
        let text = format!("{} cut off from ZooKeeper for {} s", crate::live::spark::node_name(id), ms / 1000);
        inner.conductor.jobs.note(now, id, text);
    }

    pub fn set_paused(&self, paused: bool) {
        self.inner.borrow_mut().conductor.set_paused(paused);
    }

    pub fn set_speed(&self, speed: f64) {
        self.inner.borrow_mut().conductor.set_speed(speed);
    }
}

/// The page's standalone cluster: two masters (ZooKeeper picks the active one), two workers
/// of one core and the application's client, whose job of 300 one-second tasks keeps running
/// through a master failover.
fn standalone_config(seed: u64) -> crate::spark::standalone::StandaloneConfig {
    crate::spark::standalone::StandaloneConfig { seed, masters: 2, workers: 2, ..Default::default() }
}

fn frame(inner: &Rc<RefCell<Inner>>, on_snapshot: &Callback<Rc<SparkSnapshot>>) {
    let posts = {
        let mut guard = inner.borrow_mut();
        let now = super::now_ms();
        let elapsed = now - guard.last_frame_ms;
        guard.last_frame_ms = now;
        guard.workers.clear_graveyard();
        guard.conductor.advance(elapsed)
    };
    deliver(inner, posts);
    exchange_zk(inner);
    let snapshot = inner.borrow().conductor.snapshot();
    on_snapshot.emit(Rc::new(snapshot));
}

/// Hands the workers' kazoo calls to the ZooKeeper side and its answers back to them, feeds
/// the metrics, and carries out chaos mode's kills and restarts of executors.
fn exchange_zk(inner: &Rc<RefCell<Inner>>) {
    let bridge = super::zk_bridge();
    let (ends, stages) = inner.borrow_mut().conductor.take_progress();
    let alive = inner.borrow_mut().conductor.take_masters_alive();
    let chaos = {
        let mut b = bridge.borrow_mut();
        for m in alive {
            b.measure.master_alive(&crate::live::spark::node_name(m));
        }
        b.measure.tasks(&ends);
        for s in stages {
            b.measure.stage_completed(&s);
        }
        std::mem::take(&mut b.spark_chaos)
    };
    for e in chaos {
        let target = match (e.target.strip_prefix("exec"), e.target.strip_prefix("master")) {
            (Some(x), _) => x.parse::<NodeId>().ok(),
            (_, Some(m)) => m.parse::<NodeId>().ok().map(|m| crate::live::spark::HA_BASE + m),
            _ => None,
        };
        let Some(x) = target else { continue };
        if !inner.borrow().conductor.ids().contains(&x) {
            continue;
        }
        let kill = e.action == crate::metrics::ChaosAction::Kill;
        if kill && inner.borrow().conductor.is_alive(x) {
            if inner.borrow().conductor.is_leading_master(x) {
                bridge.borrow_mut().measure.master_killed(&e.target);
            } else if x < crate::live::spark::HA_BASE {
                bridge.borrow_mut().measure.executor_killed(x);
            }
            let mut guard = inner.borrow_mut();
            guard.conductor.kill(x);
            guard.workers.terminate(x);
        } else if !kill && !inner.borrow().conductor.is_alive(x) {
            inner.borrow_mut().conductor.restart(x);
            spawn(inner, x);
        }
    }
    let (calls, exits) = inner.borrow_mut().conductor.take_zk();
    let answers = {
        let mut b = bridge.borrow_mut();
        for node in exits {
            b.abandon(node);
        }
        for (node, call) in calls {
            b.submit(node, call);
        }
        b.take_answers()
    };
    for (node, answer) in answers {
        let posts = inner.borrow_mut().conductor.zk_answer(node, answer);
        deliver(inner, posts);
    }
}

fn deliver(inner: &Rc<RefCell<Inner>>, posts: Vec<SparkPost>) {
    let guard = inner.borrow();
    for post in posts {
        guard.workers.post(post.node, post.generation, &post.msg);
    }
}

fn spawn(inner: &Rc<RefCell<Inner>>, id: NodeId) {
    let generation = inner.borrow().conductor.generation(id);
    let (weak_out, weak_err): (Weak<RefCell<Inner>>, Weak<RefCell<Inner>>) = (Rc::downgrade(inner), Rc::downgrade(inner));
    let on_output = move |output: FromSparkWorker| {
        let Some(inner) = weak_out.upgrade() else { return };
        let posts = inner.borrow_mut().conductor.worker_output(id, generation, output);
        deliver(&inner, posts);
    };
    let on_error = move |message: String| {
        let Some(inner) = weak_err.upgrade() else { return };
        let mut guard = inner.borrow_mut();
        guard.conductor.worker_crashed(id, generation, message);
        guard.workers.bury(id);
    };
    let spawned = inner.borrow_mut().workers.spawn(id, generation, on_output, on_error);
    if let Err(message) = spawned {
        inner.borrow_mut().conductor.worker_crashed(id, generation, message);
    }
}
