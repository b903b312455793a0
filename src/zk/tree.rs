//! The znode tree (`DataTree`). STUB: the interface the replication layer builds on; the helper
//! implementing the data model replaces the bodies.

use super::txn::*;
use crate::zab::Zxid;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// One znode.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Znode {
    pub data: Vec<u8>,
    pub acl: Vec<Acl>,
    pub stat: Stat,
    pub mode: CreateMode,
    pub ttl_ms: Option<i64>,
    pub children: BTreeSet<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DataTree {
    nodes: BTreeMap<String, Znode>,
    /// Live sessions and their negotiated timeouts (replicated via CreateSession/CloseSession).
    sessions: BTreeMap<SessionId, u32>,
    last_zxid: Zxid,
}

impl Default for DataTree {
    fn default() -> Self {
        DataTree::new()
    }
}

impl DataTree {
    /// A fresh tree: `/`, `/zookeeper`, `/zookeeper/quota` (and `/zookeeper/config`).
    pub fn new() -> DataTree {
        DataTree { nodes: BTreeMap::new(), sessions: BTreeMap::new(), last_zxid: Zxid::ZERO }
    }

    /// Applies one committed transaction; every replica gets the same result and triggers.
    pub fn apply(&mut self, txn: &Txn) -> (Result<OpResult, ZkError>, Vec<WatchTrigger>) {
        self.last_zxid = txn.zxid;
        match &txn.kind {
            TxnKind::CreateSession { timeout_ms } => {
                self.sessions.insert(txn.session, *timeout_ms);
                (Ok(OpResult::Done), Vec::new())
            }
            TxnKind::CloseSession => {
                self.sessions.remove(&txn.session);
                (Ok(OpResult::Done), Vec::new())
            }
            _ => (Err(ZkError::Unimplemented), Vec::new()),
        }
    }

    /// Answers a read from this replica's state, checking READ/ADMIN permission with `auth`.
    pub fn read(&self, _op: &Op, _auth: &[Id]) -> Result<OpResult, ZkError> {
        Err(ZkError::Unimplemented)
    }

    /// The zxid of the last applied transaction.
    pub fn last_zxid(&self) -> Zxid {
        self.last_zxid
    }

    pub fn sessions(&self) -> &BTreeMap<SessionId, u32> {
        &self.sessions
    }

    pub fn get(&self, path: &str) -> Option<&Znode> {
        self.nodes.get(path)
    }

    /// Every znode, in path order (for the UI and for comparing replicas).
    pub fn nodes(&self) -> impl Iterator<Item = (&String, &Znode)> {
        self.nodes.iter()
    }

    /// Containers that once had children and now have none, and TTL nodes without children
    /// whose mtime + ttl is past `now`: what `ContainerManager` would delete.
    pub fn reapable(&self, _now: u64) -> Vec<String> {
        Vec::new()
    }

    /// A hash of the whole tree (paths, data, stats, ACLs, sessions), for comparing replicas.
    pub fn digest(&self) -> u64 {
        let mut h = crate::sim::trace::TraceHasher::new();
        h.write_bytes(serde_json::to_string(self).unwrap_or_default().as_bytes());
        h.finish()
    }
}
