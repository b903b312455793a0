//! The node workers' entry: one sans-IO node behind `onmessage` (a ZooKeeper server, or a
//! Spark driver or executor). A panic (a requested one, a broken invariant or a bug) traps the
//! wasm instance; the page sees the worker's `error` event and shows the node as crashed.

use crate::live::spark::{FromSparkWorker, SparkWorkerNode, ToSparkWorker};
use crate::live::{FromWorker, ToWorker, WorkerNode};
use serde::{de::DeserializeOwned, Serialize};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{DedicatedWorkerGlobalScope, MessageEvent};

fn post<T: Serialize>(scope: &DedicatedWorkerGlobalScope, msg: &T) {
    let value = super::to_js(msg).expect("worker output serializes");
    scope.post_message(&value).expect("postMessage from worker");
}

/// Installs `handle` as the message handler and tells the page the worker is ready.
fn serve<I: DeserializeOwned, O: Serialize + 'static>(
    ready: O,
    mut handle: impl FnMut(I) -> Result<Option<O>, String> + 'static,
) {
    console_error_panic_hook::set_once();
    let scope: DedicatedWorkerGlobalScope = js_sys::global().unchecked_into();
    let reply_scope = scope.clone();
    let onmessage = Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
        let input: I = match serde_wasm_bindgen::from_value(event.data()) {
            Ok(input) => input,
            Err(e) => panic!("zkspark worker: unreadable message from the page: {e}"),
        };
        match handle(input) {
            Ok(Some(out)) => post(&reply_scope, &out),
            Ok(None) => {}
            Err(message) => panic!("zkspark worker: {message}"),
        }
    });
    scope.set_onmessage(Some(onmessage.as_ref().unchecked_ref()));
    onmessage.forget();
    post(&scope, &ready);
}

/// A ZooKeeper server's worker.
pub fn run() {
    let mut node = WorkerNode::default();
    serve::<ToWorker, FromWorker>(FromWorker::Ready, move |input| node.handle(input));
}

/// A Spark driver's or executor's worker.
pub fn run_spark() {
    let mut node = SparkWorkerNode::default();
    serve::<ToSparkWorker, FromSparkWorker>(FromSparkWorker::Ready, move |input| Ok(node.handle(input)));
}
