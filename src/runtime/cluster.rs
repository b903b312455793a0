//! `LiveCluster`: spawns one Web Worker per server, drives the `Conductor` from a timer, carries
//! posts to workers and outputs back, turns a worker's `error` event into a crashed server, runs
//! the page's zkCli console (`LiveConsole`) on the same clock, and hands the UI a fresh snapshot
//! on every frame (and the console's whenever it changed).

use crate::live::client::{ConsoleSnapshot, LiveConsole};
use crate::live::{ClusterSnapshot, Conductor, FromWorker, Post};
use crate::zk::cli::Completion;
use crate::zab::Sid;
use gloo::timers::callback::Interval;
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::{Rc, Weak};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{ErrorEvent, MessageEvent, Worker};
use yew::Callback;

/// The loader Trunk writes for `src/bin/node_worker.rs` (`data-loader-shim`), relative to the page.
pub const WORKER_SCRIPT: &str = "node_worker_loader.js";
/// Milliseconds between frames of the conductor's clock.
const FRAME_MS: u32 = 33;

struct WorkerSlot {
    worker: Worker,
    generation: u32,
    _onmessage: Closure<dyn FnMut(MessageEvent)>,
    _onerror: Closure<dyn FnMut(ErrorEvent)>,
}

struct Inner {
    conductor: Conductor,
    console: LiveConsole,
    /// What the console looked like when last published: (transcript version, prompt, busy,
    /// state, server).
    console_key: Option<(u64, String, bool, &'static str, Option<Sid>)>,
    workers: BTreeMap<Sid, WorkerSlot>,
    worker_url: String,
    last_frame_ms: f64,
    /// Slots of crashed workers, dropped on the next frame: a closure must not be dropped while
    /// it runs, and the crash is noticed inside the worker's own `error` handler.
    graveyard: Vec<WorkerSlot>,
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

fn now_ms() -> f64 {
    web_sys::window().and_then(|w| w.performance()).map_or(0.0, |p| p.now())
}

/// Resolves a worker script against the page's URL, so it loads from any base path.
pub(crate) fn resolve(script: &str) -> String {
    let base = web_sys::window().and_then(|w| w.location().href().ok()).unwrap_or_default();
    web_sys::Url::new_with_base(script, &base).map_or(script.to_string(), |u| u.href())
}

fn worker_url() -> String {
    resolve(WORKER_SCRIPT)
}

impl LiveCluster {
    /// Starts `n` servers, each in its own worker, and zkCli connecting to them.
    pub fn start(
        n: u32,
        seed: u64,
        on_snapshot: Callback<Rc<ClusterSnapshot>>,
        on_console: Callback<Rc<ConsoleSnapshot>>,
    ) -> LiveCluster {
        let conductor = Conductor::new(n, seed);
        let console = LiveConsole::new(conductor.ids());
        let inner = Rc::new(RefCell::new(Inner {
            conductor,
            console,
            console_key: None,
            workers: BTreeMap::new(),
            worker_url: worker_url(),
            last_frame_ms: now_ms(),
            graveyard: Vec::new(),
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
        {
            let mut inner = self.inner.borrow_mut();
            inner.conductor.kill(sid);
            if let Some(slot) = inner.workers.remove(&sid) {
                slot.worker.terminate();
            }
        }
        self.publish();
    }

    pub fn restart(&self, sid: Sid) {
        self.inner.borrow_mut().conductor.restart(sid);
        spawn(&self.inner, sid, self.on_console.clone());
        self.publish();
    }

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

impl Drop for Inner {
    fn drop(&mut self) {
        for slot in self.workers.values() {
            slot.worker.terminate();
        }
    }
}

fn frame(
    inner: &Rc<RefCell<Inner>>,
    on_snapshot: &Callback<Rc<ClusterSnapshot>>,
    on_console: &Callback<Rc<ConsoleSnapshot>>,
) {
    let posts = {
        let mut guard = inner.borrow_mut();
        let now = now_ms();
        let elapsed = now - guard.last_frame_ms;
        guard.last_frame_ms = now;
        guard.graveyard.clear();
        guard.conductor.advance(elapsed)
    };
    deliver(inner, posts);
    tick_console(inner);
    let snapshot = inner.borrow().conductor.snapshot();
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
        let Some(slot) = guard.workers.get(&post.sid) else { continue };
        if slot.generation != post.generation {
            continue;
        }
        match super::to_js(&post.msg) {
            Ok(value) => {
                if let Err(e) = slot.worker.post_message(&value) {
                    web_sys::console::error_2(&"zkspark: postMessage to worker failed".into(), &e);
                }
            }
            Err(e) => web_sys::console::error_1(&format!("zkspark: cannot encode input: {e}").into()),
        }
    }
}

/// Spawns the worker for `sid`'s current generation and wires its events back. Replies to the
/// console are taken at once, so a command's round trips do not wait for the next frame.
fn spawn(inner: &Rc<RefCell<Inner>>, sid: Sid, on_console: Callback<Rc<ConsoleSnapshot>>) {
    let (url, generation) = {
        let guard = inner.borrow();
        (guard.worker_url.clone(), guard.conductor.generation(sid))
    };
    let worker = match Worker::new(&url) {
        Ok(w) => w,
        Err(e) => {
            let message = format!("could not start worker: {}", e.as_string().unwrap_or_else(|| format!("{e:?}")));
            inner.borrow_mut().conductor.worker_crashed(sid, generation, message);
            return;
        }
    };
    let weak: Weak<RefCell<Inner>> = Rc::downgrade(inner);
    let onmessage = Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
        let Some(inner) = weak.upgrade() else { return };
        let output: FromWorker = match serde_wasm_bindgen::from_value(event.data()) {
            Ok(o) => o,
            Err(e) => {
                web_sys::console::error_1(&format!("zkspark: unreadable output from zk{sid}: {e}").into());
                return;
            }
        };
        let posts = inner.borrow_mut().conductor.worker_output(sid, generation, output);
        deliver(&inner, posts);
        if inner.borrow().conductor.has_client_mail() {
            tick_console(&inner);
            publish_console(&inner, &on_console);
        }
    });
    let weak: Weak<RefCell<Inner>> = Rc::downgrade(inner);
    let onerror = Closure::<dyn FnMut(ErrorEvent)>::new(move |event: ErrorEvent| {
        event.prevent_default(); // handled: shown on the server's card, not as an uncaught error
        let Some(inner) = weak.upgrade() else { return };
        let mut guard = inner.borrow_mut();
        guard.conductor.worker_crashed(sid, generation, event.message());
        if let Some(slot) = guard.workers.remove(&sid) {
            slot.worker.terminate();
            guard.graveyard.push(slot);
        }
    });
    worker.set_onmessage(Some(onmessage.as_ref().unchecked_ref()));
    worker.set_onerror(Some(onerror.as_ref().unchecked_ref()));
    let slot = WorkerSlot { worker, generation, _onmessage: onmessage, _onerror: onerror };
    if let Some(old) = inner.borrow_mut().workers.insert(sid, slot) {
        old.worker.terminate();
    }
}
