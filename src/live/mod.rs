//! The live host's pure parts: the messages between the page and a node's Web Worker, the
//! worker-side driver of one node, the `Conductor`, the main thread's virtual clock and
//! network through which every message passes, and the page's ZooKeeper client with its zkCli
//! console, and the same for Spark's driver and executors (`spark.rs`, `jobs.rs`). No `web_sys` here, so all of it is tested natively; `runtime` only moves these
//! values across `postMessage`.

pub mod client;
pub mod clock;
pub mod conductor;
pub mod jobs;
pub mod protocol;
pub mod spark;
pub mod zkhub;

pub use client::{LiveClient, LiveConsole};
pub use conductor::{ClientMail, ClusterSnapshot, Conductor, LogEntry, LogKind, NodeCard, NodeStatus, Post};
pub use protocol::{FromWorker, ToWorker, WorkerNode};
