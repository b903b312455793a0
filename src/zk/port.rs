//! How a node that is a ZooKeeper *client* (a Spark driver or executor running kazoo, a Spark
//! master electing a leader) reaches the ensemble: through its host, as a process reaches the
//! network through its kernel.
//!
//! ```text
//!  node ──Effect::Event(ZkCall{id, handle, Open|Op|Close|AwaitWatch})──▶ host
//!        host: one client library session per (node, handle) — connect, heartbeats,
//!        failover, expiry (`ensemble.rs` in the simulator, `live/client.rs` on the page)
//!  node ◀──command(ZkAnswer{id, handle, reply})────────────────────────── host
//!  node dies ─▶ host stops its sessions' heartbeats ─▶ they expire on the servers after
//!               their timeout, and their ephemerals vanish
//! ```
//!
//! A call is answered exactly once, in the order the node's calls were made on a session. The
//! types are plain values so they cross `postMessage` unchanged.

use super::txn::{Op, OpResult, SessionId, ZkError};
use super::watch::WatchedEvent;
use serde::{Deserialize, Serialize};

/// A session a node opened: unique within the node (not across nodes).
pub type Handle = u64;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum ZkRequest {
    /// `KazooClient(hosts).start()`: open a session with the servers of `hosts`.
    Open { hosts: String, timeout_ms: u32 },
    Op(Op),
    /// `stop()`: close the session (its ephemerals go at once).
    Close,
    /// Block until the next watch event this session receives (a lock waiter, a barrier),
    /// or until `timeout_ms` passes (then `Timeout`).
    AwaitWatch { timeout_ms: Option<u64> },
    /// Sleep this long (kazoo's retry backoff); answered with `Timeout`.
    Sleep { ms: u64 },
}

impl ZkRequest {
    /// Short name for logs and metrics (the op's `ZooDefs.OpCode` name).
    pub fn kind(&self) -> &'static str {
        match self {
            ZkRequest::Open { .. } => "connect",
            ZkRequest::Close => "closeSession",
            ZkRequest::AwaitWatch { .. } => "awaitWatch",
            ZkRequest::Sleep { .. } => "sleep",
            ZkRequest::Op(op) => op.name(),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ZkCall {
    /// Unique per node; the answer carries it back.
    pub id: u64,
    pub handle: Handle,
    pub req: ZkRequest,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum ZkReply {
    Opened { session: SessionId, timeout_ms: u32 },
    /// No server of `hosts` answered within the start timeout (kazoo's `KazooTimeoutError`).
    OpenTimedOut,
    Op(Result<OpResult, ZkError>),
    Closed,
    /// The watch event an `AwaitWatch` waited for, and how long it waited.
    Watch { event: WatchedEvent, waited_ms: u64 },
    Timeout,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ZkAnswer {
    pub id: u64,
    pub handle: Handle,
    pub reply: ZkReply,
}

/// The ZooKeeper servers a connect string names, in the order to try them: `zkN` / `zkN:port`
/// names server N of the simulated ensemble; any other address (`127.0.0.1:2181`, what real
/// scripts say) stands for the whole ensemble, as a DNS name that lists every server would, so
/// a script runs unchanged here and against a real server. Empty: every server.
pub fn servers_of(hosts: &str, ensemble: &[u32]) -> Vec<u32> {
    let mut named = vec![];
    for part in hosts.split('/').next().unwrap_or("").split(',') {
        let host = part.trim().split(':').next().unwrap_or("");
        match host.strip_prefix("zk").and_then(|n| n.parse::<u32>().ok()) {
            Some(s) if ensemble.contains(&s) && !named.contains(&s) => named.push(s),
            _ => {}
        }
    }
    if named.is_empty() {
        ensemble.to_vec()
    } else {
        named
    }
}
