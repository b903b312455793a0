//! ZooKeeper's quorum protocol: Fast Leader Election and the discovery/synchronization phases of
//! ZAB that make a leader established. Pure state machines; see `server.rs` for the entry point.

pub mod clients;
pub mod config;
mod following;
mod leading;
mod looking;
pub mod messages;
pub mod properties;
pub mod server;
pub mod storage;
pub mod vote;
pub mod zxid;

pub use config::ZkConfig;
pub use messages::ZabMsg;
pub use server::{ServerView, ZabPhase, ZkCommand, ZkEvent, ZkServer};
pub use vote::{total_order_predicate, Notification, QuorumMaj, ServerState, Sid, Vote};
pub use zxid::Zxid;
