//! `LiveSpark`: a Spark driver and executors, one Web Worker each (`spark_worker`), driven by
//! the `SparkConductor` from a timer. Killing an executor terminates its worker; restarting
//! spawns a new one, which registers with the driver as a new executor process would.

use crate::live::spark::{FromSparkWorker, SparkConductor, SparkPost, SparkSnapshot};
use crate::sim::NodeId;
use crate::spark::cluster::ClusterConfig;
use gloo::timers::callback::Interval;
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::{Rc, Weak};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{ErrorEvent, MessageEvent, Worker};
use yew::Callback;

/// The loader Trunk writes for `src/bin/spark_worker.rs`, relative to the page.
pub const SPARK_WORKER_SCRIPT: &str = "spark_worker_loader.js";
const FRAME_MS: u32 = 50;

struct WorkerSlot {
    worker: Worker,
    generation: u32,
    _onmessage: Closure<dyn FnMut(MessageEvent)>,
    _onerror: Closure<dyn FnMut(ErrorEvent)>,
}

struct Inner {
    conductor: SparkConductor,
    workers: BTreeMap<NodeId, WorkerSlot>,
    worker_url: String,
    last_frame_ms: f64,
    graveyard: Vec<WorkerSlot>,
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

fn now_ms() -> f64 {
    web_sys::window().and_then(|w| w.performance()).map_or(0.0, |p| p.now())
}

impl LiveSpark {
    pub fn start(config: ClusterConfig, seed: u64, on_snapshot: Callback<Rc<SparkSnapshot>>) -> LiveSpark {
        let inner = Rc::new(RefCell::new(Inner {
            conductor: SparkConductor::new(config, seed),
            workers: BTreeMap::new(),
            worker_url: super::cluster::resolve(SPARK_WORKER_SCRIPT),
            last_frame_ms: now_ms(),
            graveyard: Vec::new(),
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
        {
            let mut inner = self.inner.borrow_mut();
            inner.conductor.kill(id);
            if let Some(slot) = inner.workers.remove(&id) {
                slot.worker.terminate();
            }
        }
        self.publish();
    }

    pub fn restart(&self, id: NodeId) {
        self.inner.borrow_mut().conductor.restart(id);
        spawn(&self.inner, id);
        self.publish();
    }

    pub fn set_paused(&self, paused: bool) {
        self.inner.borrow_mut().conductor.set_paused(paused);
    }

    pub fn set_speed(&self, speed: f64) {
        self.inner.borrow_mut().conductor.set_speed(speed);
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        for slot in self.workers.values() {
            slot.worker.terminate();
        }
    }
}

fn frame(inner: &Rc<RefCell<Inner>>, on_snapshot: &Callback<Rc<SparkSnapshot>>) {
    let posts = {
        let mut guard = inner.borrow_mut();
        let now = now_ms();
        let elapsed = now - guard.last_frame_ms;
        guard.last_frame_ms = now;
        guard.graveyard.clear();
        guard.conductor.advance(elapsed)
    };
    deliver(inner, posts);
    let snapshot = inner.borrow().conductor.snapshot();
    on_snapshot.emit(Rc::new(snapshot));
}

fn deliver(inner: &Rc<RefCell<Inner>>, posts: Vec<SparkPost>) {
    let guard = inner.borrow();
    for post in posts {
        let Some(slot) = guard.workers.get(&post.node) else { continue };
        if slot.generation != post.generation {
            continue;
        }
        match super::to_js(&post.msg) {
            Ok(value) => {
                if let Err(e) = slot.worker.post_message(&value) {
                    web_sys::console::error_2(&"zkspark: postMessage to a spark worker failed".into(), &e);
                }
            }
            Err(e) => web_sys::console::error_1(&format!("zkspark: cannot encode spark input: {e}").into()),
        }
    }
}

fn spawn(inner: &Rc<RefCell<Inner>>, id: NodeId) {
    let (url, generation) = {
        let guard = inner.borrow();
        (guard.worker_url.clone(), guard.conductor.generation(id))
    };
    let worker = match Worker::new(&url) {
        Ok(w) => w,
        Err(e) => {
            let message = format!("could not start worker: {}", e.as_string().unwrap_or_else(|| format!("{e:?}")));
            inner.borrow_mut().conductor.worker_crashed(id, generation, message);
            return;
        }
    };
    let weak: Weak<RefCell<Inner>> = Rc::downgrade(inner);
    let onmessage = Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
        let Some(inner) = weak.upgrade() else { return };
        let output: FromSparkWorker = match serde_wasm_bindgen::from_value(event.data()) {
            Ok(o) => o,
            Err(e) => {
                web_sys::console::error_1(&format!("zkspark: unreadable output from spark node {id}: {e}").into());
                return;
            }
        };
        let posts = inner.borrow_mut().conductor.worker_output(id, generation, output);
        deliver(&inner, posts);
    });
    let weak: Weak<RefCell<Inner>> = Rc::downgrade(inner);
    let onerror = Closure::<dyn FnMut(ErrorEvent)>::new(move |event: ErrorEvent| {
        event.prevent_default();
        let Some(inner) = weak.upgrade() else { return };
        let mut guard = inner.borrow_mut();
        guard.conductor.worker_crashed(id, generation, event.message());
        if let Some(slot) = guard.workers.remove(&id) {
            slot.worker.terminate();
            guard.graveyard.push(slot);
        }
    });
    worker.set_onmessage(Some(onmessage.as_ref().unchecked_ref()));
    worker.set_onerror(Some(onerror.as_ref().unchecked_ref()));
    let slot = WorkerSlot { worker, generation, _onmessage: onmessage, _onerror: onerror };
    if let Some(old) = inner.borrow_mut().workers.insert(id, slot) {
        old.worker.terminate();
    }
}
