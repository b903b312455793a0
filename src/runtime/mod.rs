//! The live Web-Worker runtime (browser only): every server runs in its own `Worker`; the main
//! thread runs the `live::Conductor` (virtual clock and network) and moves messages between it
//! and the workers with `postMessage`. Nothing protocol-specific lives here.

pub mod cluster;
pub mod worker;

pub use cluster::LiveCluster;
