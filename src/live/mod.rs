//! The live host's pure parts: the messages between the page and a node's Web Worker, the
//! worker-side driver of one node, and the `Conductor`, the main thread's virtual clock and
//! network through which every message passes. No `web_sys` here, so all of it is tested
//! natively; `runtime` only moves these values across `postMessage`.

pub mod conductor;
pub mod protocol;

pub use conductor::{ClusterSnapshot, Conductor, LogEntry, LogKind, NodeCard, NodeStatus, Post};
pub use protocol::{FromWorker, ToWorker, WorkerNode};
