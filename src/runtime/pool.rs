//! The page's Web Workers, one per node: spawn, post to the incarnation a message is for,
//! terminate on kill, and keep a crashed worker's handlers alive until the next frame (a
//! closure must not be dropped while it runs, and a crash is noticed inside its own handler).

use serde::{de::DeserializeOwned, Serialize};
use std::collections::BTreeMap;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{ErrorEvent, MessageEvent, Worker};

struct Slot {
    worker: Worker,
    generation: u32,
    _onmessage: Closure<dyn FnMut(MessageEvent)>,
    _onerror: Closure<dyn FnMut(ErrorEvent)>,
}

pub struct WorkerPool {
    url: String,
    slots: BTreeMap<u32, Slot>,
    graveyard: Vec<Slot>,
}

/// Resolves a worker script against the page's URL, so it loads from any base path.
pub fn resolve(script: &str) -> String {
    let base = web_sys::window().and_then(|w| w.location().href().ok()).unwrap_or_default();
    web_sys::Url::new_with_base(script, &base).map_or(script.to_string(), |u| u.href())
}

impl Slot {
    /// Stops the worker and detaches its handlers first: a message it posted before it was
    /// terminated may still be dispatched, and must not reach a dropped closure.
    fn retire(&self) {
        self.worker.set_onmessage(None);
        self.worker.set_onerror(None);
        self.worker.terminate();
    }
}

impl WorkerPool {
    /// Workers of the Trunk loader script `script` (relative to the page).
    pub fn new(script: &str) -> WorkerPool {
        WorkerPool { url: resolve(script), slots: BTreeMap::new(), graveyard: Vec::new() }
    }

    /// Starts node `id`'s worker for `generation`. Its outputs, decoded, go to `on_output`;
    /// its `error` event (a panic: the wasm instance trapped) to `on_error`. `Err` if the
    /// browser would not start it.
    pub fn spawn<O: DeserializeOwned + 'static>(
        &mut self,
        id: u32,
        generation: u32,
        on_output: impl Fn(O) + 'static,
        on_error: impl Fn(String) + 'static,
    ) -> Result<(), String> {
        let worker = Worker::new(&self.url)
            .map_err(|e| format!("could not start worker: {}", e.as_string().unwrap_or_else(|| format!("{e:?}"))))?;
        let onmessage = Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
            match serde_wasm_bindgen::from_value::<O>(event.data()) {
                Ok(o) => on_output(o),
                Err(e) => web_sys::console::error_1(&format!("zkspark: unreadable output from node {id}: {e}").into()),
            }
        });
        let onerror = Closure::<dyn FnMut(ErrorEvent)>::new(move |event: ErrorEvent| {
            event.prevent_default(); // handled: shown on the node's card, not as an uncaught error
            on_error(event.message());
        });
        worker.set_onmessage(Some(onmessage.as_ref().unchecked_ref()));
        worker.set_onerror(Some(onerror.as_ref().unchecked_ref()));
        let slot = Slot { worker, generation, _onmessage: onmessage, _onerror: onerror };
        if let Some(old) = self.slots.insert(id, slot) {
            old.retire();
        }
        Ok(())
    }

    /// Posts `msg` to node `id` if its worker is still the incarnation `generation`.
    pub fn post<T: Serialize>(&self, id: u32, generation: u32, msg: &T) {
        let Some(slot) = self.slots.get(&id) else { return };
        if slot.generation != generation {
            return;
        }
        match super::to_js(msg) {
            Ok(value) => {
                if let Err(e) = slot.worker.post_message(&value) {
                    web_sys::console::error_2(&"zkspark: postMessage to a worker failed".into(), &e);
                }
            }
            Err(e) => web_sys::console::error_1(&format!("zkspark: cannot encode a worker's input: {e}").into()),
        }
    }

    /// The user killed the node: `Worker.terminate()`.
    pub fn terminate(&mut self, id: u32) {
        if let Some(slot) = self.slots.remove(&id) {
            slot.retire();
        }
    }

    /// The worker died on its own (called from its `error` handler).
    pub fn bury(&mut self, id: u32) {
        if let Some(slot) = self.slots.remove(&id) {
            slot.retire();
            self.graveyard.push(slot);
        }
    }

    /// Drops buried workers' handlers (once per frame, outside any handler).
    pub fn clear_graveyard(&mut self) {
        self.graveyard.clear();
    }
}

impl Drop for WorkerPool {
    fn drop(&mut self) {
        for slot in self.slots.values() {
            slot.retire();
        }
    }
}
