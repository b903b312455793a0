//! zkspark: a ZooKeeper × Spark playground.
//!
//! Layers, bottom up: `sim` (the sans-IO node contract and the deterministic simulator),
//! `zab` (ZooKeeper's election and ZAB as pure state machines), `scenario` (seeded worlds
//! with faults, for tests and the CLI), and, in the browser only, `runtime` (nodes in Web
//! Workers, the virtual network on the main thread) and `ui` (the Yew page).

pub mod cli;
pub mod client_scenario;
pub mod ensemble;
pub mod kazoo;
pub mod linearizability;
pub mod measure;
pub mod metrics;
pub mod live;
pub mod py;
pub mod scenario;
pub mod sim;
pub mod spark;
pub mod zab;
pub mod zk;
pub mod zkhub;

#[cfg(target_arch = "wasm32")]
pub mod runtime;
#[cfg(target_arch = "wasm32")]
pub mod ui;
