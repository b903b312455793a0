//! The simulation kernel: the node contract, a deterministic PRNG, the virtual network and the
//! simulator that hosts nodes. Pure: no I/O, no wall clock, no threads.

pub mod network;
pub mod node;
pub mod rng;
pub mod simulator;
pub mod trace;

pub use network::{LinkConfig, Network};
pub use node::{Disk, Effect, Effects, Millis, NodeId, Process};
pub use rng::Rng;
pub use simulator::{Emitted, Simulator};
