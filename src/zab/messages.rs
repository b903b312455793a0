//! What ZooKeeper servers send each other: election notifications (the election port) and the
//! quorum-port packets of discovery and synchronization (`Leader.FOLLOWERINFO`, `LEADERINFO`,
//! `ACKEPOCH`, `NEWLEADER`, `ACK`, `UPTODATE`, `PING`, `PROPOSAL`).
//!
//! Quorum packets carry `conn`, the id of the learner's connection: ZooKeeper runs each learner
//! over its own TCP connection, and a packet from an older connection never reaches a newer one.

use super::storage::Snapshot;
use super::vote::Notification;
use super::zxid::Zxid;
use crate::zk::{SessionId, Txn, TxnKind};
use serde::{Deserialize, Serialize};
use std::fmt;

/// Identifies one learner connection: the learner's boot count (from its disk) and a counter.
pub type ConnId = u64;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ZabMsg {
    Notification(Notification),
    /// Learner → leader on connect: the learner's accepted epoch and last zxid.
    FollowerInfo {
        conn: ConnId,
        accepted_epoch: u32,
        last_zxid: Zxid,
        /// The learner's oldest diffable zxid and the last zxid of each epoch in its log, so the
        /// leader finds exactly where the histories part (ZooKeeper sends only lastZxid and
        /// assumes the rest; see `storage::common_point`).
        history: Vec<Zxid>,
    },
    /// Leader → learner: the epoch the leader proposes for its reign.
    LeaderInfo {
        conn: ConnId,
        new_epoch: u32,
    },
    /// Learner → leader: its current epoch (None when it had already accepted this epoch, which
    /// ZooKeeper sends as -1) and last zxid.
    AckEpoch {
        conn: ConnId,
        current_epoch: Option<u32>,
        last_zxid: Zxid,
    },
    /// Leader → learner once a quorum acked the epoch; synchronization (DIFF/TRUNC/SNAP) comes
    /// with the replication issue, until then the learner's history is taken as it is.
    NewLeader {
        conn: ConnId,
        zxid: Zxid,
    },
    /// Learner → leader: acknowledges NEWLEADER (and, later, proposals).
    Ack {
        conn: ConnId,
        zxid: Zxid,
    },
    /// Leader → learner: the quorum is established; start serving.
    UpToDate {
        conn: ConnId,
    },
    /// Leader → learner heartbeat, echoed back by the learner with the sessions its clients
    /// touched since the last one (`LearnerSessionTracker`'s touch table).
    Ping {
        conn: ConnId,
        sessions: Vec<SessionId>,
        /// Leader → learner: the last zxid proposed and the last committed; learner → leader:
        /// the last zxid logged. ZooKeeper relies on TCP never losing a packet; our links may,
        /// so these let either side notice a lost PROPOSAL, ACK or COMMIT at the next
        /// heartbeat (a lost proposal is treated like the broken connection TCP would report).
        proposed: Zxid,
        committed: Zxid,
    },
    /// Synchronization: the committed txns the learner lacks (`Leader.DIFF`).
    Diff {
        conn: ConnId,
        txns: Vec<Txn>,
        /// The leader's last committed zxid: the learner applies what it has up to here.
        committed: Zxid,
    },
    /// Synchronization: drop logged txns after `zxid`, then take `txns` (`Leader.TRUNC`).
    Trunc {
        conn: ConnId,
        zxid: Zxid,
        txns: Vec<Txn>,
        committed: Zxid,
    },
    /// Synchronization: the leader's whole committed tree (`Leader.SNAP`).
    Snap {
        conn: ConnId,
        snapshot: Box<Snapshot>,
    },
    /// A txn the leader stamped with the next zxid; learners log it and ACK.
    Proposal {
        conn: ConnId,
        txn: Txn,
    },
    /// Leader → observer: a committed txn (`Leader.INFORM`), proposal and commit in one.
    Inform {
        conn: ConnId,
        txn: Txn,
    },
    /// Every proposal up to `zxid` is committed: apply it.
    Commit {
        conn: ConnId,
        zxid: Zxid,
    },
    /// Learner → leader: a client's write, forwarded (`Leader.REQUEST`).
    Request {
        conn: ConnId,
        session: SessionId,
        cxid: u32,
        kind: TxnKind,
    },
    /// Learner → leader: a client's `sync`; the leader answers once what it has proposed so
    /// far is committed (`Leader.SYNC`).
    Sync {
        conn: ConnId,
        session: SessionId,
        cxid: u32,
    },
    SyncReply {
        conn: ConnId,
        session: SessionId,
        cxid: u32,
    },
}

impl ZabMsg {
    /// The packet's name as ZooKeeper logs it.
    pub fn kind(&self) -> &'static str {
        match self {
            ZabMsg::Notification(_) => "NOTIFICATION",
            ZabMsg::FollowerInfo { .. } => "FOLLOWERINFO",
            ZabMsg::LeaderInfo { .. } => "LEADERINFO",
            ZabMsg::AckEpoch { .. } => "ACKEPOCH",
            ZabMsg::NewLeader { .. } => "NEWLEADER",
            ZabMsg::Ack { .. } => "ACK",
            ZabMsg::UpToDate { .. } => "UPTODATE",
            ZabMsg::Ping { .. } => "PING",
            ZabMsg::Diff { .. } => "DIFF",
            ZabMsg::Trunc { .. } => "TRUNC",
            ZabMsg::Snap { .. } => "SNAP",
            ZabMsg::Proposal { .. } => "PROPOSAL",
            ZabMsg::Commit { .. } => "COMMIT",
            ZabMsg::Inform { .. } => "INFORM",
            ZabMsg::Request { .. } => "REQUEST",
            ZabMsg::Sync { .. } => "SYNC",
            ZabMsg::SyncReply { .. } => "SYNC",
        }
    }

    /// The learner connection a quorum packet belongs to (None for election notifications).
    pub fn conn(&self) -> Option<ConnId> {
        match self {
            ZabMsg::Notification(_) => None,
            ZabMsg::FollowerInfo { conn, .. }
            | ZabMsg::LeaderInfo { conn, .. }
            | ZabMsg::AckEpoch { conn, .. }
            | ZabMsg::NewLeader { conn, .. }
            | ZabMsg::Ack { conn, .. }
            | ZabMsg::UpToDate { conn }
            | ZabMsg::Ping { conn, .. }
            | ZabMsg::Diff { conn, .. }
            | ZabMsg::Trunc { conn, .. }
            | ZabMsg::Snap { conn, .. }
            | ZabMsg::Proposal { conn, .. }
            | ZabMsg::Commit { conn, .. }
            | ZabMsg::Inform { conn, .. }
            | ZabMsg::Request { conn, .. }
            | ZabMsg::Sync { conn, .. }
            | ZabMsg::SyncReply { conn, .. } => Some(*conn),
        }
    }
}

impl fmt::Display for ZabMsg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ZabMsg::Notification(n) => write!(
                f,
                "vote leader={} zxid={} peerEpoch={} round={} {}",
                n.leader, n.zxid, n.peer_epoch, n.election_epoch, n.state
            ),
            ZabMsg::FollowerInfo { accepted_epoch, last_zxid, .. } => {
                write!(f, "FOLLOWERINFO acceptedEpoch={accepted_epoch} lastZxid={last_zxid}")
            }
            ZabMsg::LeaderInfo { new_epoch, .. } => write!(f, "LEADERINFO newEpoch={new_epoch}"),
            ZabMsg::AckEpoch { current_epoch, last_zxid, .. } => match current_epoch {
                Some(e) => write!(f, "ACKEPOCH currentEpoch={e} lastZxid={last_zxid}"),
                None => write!(f, "ACKEPOCH currentEpoch=-1 (already accepted)"),
            },
            ZabMsg::NewLeader { zxid, .. } => write!(f, "NEWLEADER zxid={zxid}"),
            ZabMsg::Ack { zxid, .. } => write!(f, "ACK zxid={zxid}"),
            ZabMsg::UpToDate { .. } => f.write_str("UPTODATE"),
            ZabMsg::Ping { sessions, .. } if sessions.is_empty() => f.write_str("PING"),
            ZabMsg::Ping { sessions, .. } => write!(f, "PING touching {} session(s)", sessions.len()),
            ZabMsg::Diff { txns, .. } => match (txns.first(), txns.last()) {
                (Some(a), Some(b)) => write!(f, "DIFF {} txn(s) {}..{}", txns.len(), a.zxid, b.zxid),
                _ => f.write_str("DIFF (empty: already in sync)"),
            },
            ZabMsg::Trunc { zxid, txns, .. } => write!(f, "TRUNC to {zxid} then {} txn(s)", txns.len()),
            ZabMsg::Snap { snapshot, .. } => write!(f, "SNAP tree at {}", snapshot.tree.last_zxid()),
            ZabMsg::Proposal { txn, .. } => write!(f, "PROPOSAL zxid={} {}", txn.zxid, txn.kind.name()),
            ZabMsg::Commit { zxid, .. } => write!(f, "COMMIT zxid={zxid}"),
            ZabMsg::Inform { txn, .. } => write!(f, "INFORM zxid={} {}", txn.zxid, txn.kind.name()),
            ZabMsg::Request { session, kind, .. } => write!(f, "REQUEST {} session=0x{session:x}", kind.name()),
            ZabMsg::Sync { session, .. } => write!(f, "SYNC session=0x{session:x}"),
            ZabMsg::SyncReply { session, .. } => write!(f, "SYNC reply session=0x{session:x}"),
        }
    }
}
