//! The node worker's entry: one `WorkerNode` behind `onmessage`. A panic (a requested one, a
//! broken invariant or a bug) traps the wasm instance; the page sees the worker's `error` event
//! and shows the server as crashed.

use crate::live::{FromWorker, ToWorker, WorkerNode};
use std::cell::RefCell;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{DedicatedWorkerGlobalScope, MessageEvent};

fn post(scope: &DedicatedWorkerGlobalScope, msg: &FromWorker) {
    let value = super::to_js(msg).expect("worker output serializes");
    scope.post_message(&value).expect("postMessage from worker");
}

/// Installs the message handler and tells the page the worker is ready.
pub fn run() {
    console_error_panic_hook::set_once();
    let scope: DedicatedWorkerGlobalScope = js_sys::global().unchecked_into();
    let node = RefCell::new(WorkerNode::default());
    let reply_scope = scope.clone();
    let onmessage = Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
        let input: ToWorker = match serde_wasm_bindgen::from_value(event.data()) {
            Ok(input) => input,
            Err(e) => panic!("zkspark worker: unreadable message from the page: {e}"),
        };
        let result = node.borrow_mut().handle(input);
        match result {
            Ok(Some(out)) => post(&reply_scope, &out),
            Ok(None) => {}
            Err(message) => panic!("zkspark worker: {message}"),
        }
    });
    scope.set_onmessage(Some(onmessage.as_ref().unchecked_ref()));
    onmessage.forget();
    post(&scope, &FromWorker::Ready);
}
