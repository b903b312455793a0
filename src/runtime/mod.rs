//! The live Web-Worker runtime (browser only): every server runs in its own `Worker`; the main
//! thread runs the `live::Conductor` (virtual clock and network) and moves messages between it
//! and the workers with `postMessage`. Nothing protocol-specific lives here.

pub mod cluster;
pub mod pool;
pub mod spark;
pub mod worker;

pub use cluster::LiveCluster;
pub use spark::LiveSpark;

use crate::live::zkhub::ZkBridge;
use std::cell::RefCell;
use std::rc::Rc;

thread_local! {
    /// The kazoo sessions of the Spark workers, shared by the page's two worlds: `LiveSpark`
    /// puts calls in and takes answers out, `LiveCluster` ticks it with the ensemble's
    /// conductor. It outlives both, so a new ensemble or a new Spark shape keeps working.
    static ZK_BRIDGE: Rc<RefCell<ZkBridge>> = Rc::new(RefCell::new(ZkBridge::new()));
}

pub(crate) fn zk_bridge() -> Rc<RefCell<ZkBridge>> {
    ZK_BRIDGE.with(Rc::clone)
}

/// Encodes a value for `postMessage`. 64-bit integers go as `BigInt`: session ids
/// (`serverId << 56 | …`) do not fit a JavaScript number.
pub(crate) fn to_js<T: serde::Serialize>(value: &T) -> Result<wasm_bindgen::JsValue, serde_wasm_bindgen::Error> {
    value.serialize(&serde_wasm_bindgen::Serializer::new().serialize_large_number_types_as_bigints(true))
}

/// The page's clock for frames (wall time; only hosts read it, never a node).
pub(crate) fn now_ms() -> f64 {
    web_sys::window().and_then(|w| w.performance()).map_or(0.0, |p| p.now())
}
