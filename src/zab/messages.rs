//! What ZooKeeper servers send each other: election notifications (the election port) and the
//! quorum-port packets of discovery and synchronization (`Leader.FOLLOWERINFO`, `LEADERINFO`,
//! `ACKEPOCH`, `NEWLEADER`, `ACK`, `UPTODATE`, `PING`, `PROPOSAL`).
//!
//! Quorum packets carry `conn`, the id of the learner's connection: ZooKeeper runs each learner
//! over its own TCP connection, and a packet from an older connection never reaches a newer one.

use super::vote::Notification;
use super::zxid::Zxid;
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
    /// Leader → learner heartbeat, echoed back by the learner.
    Ping {
        conn: ConnId,
    },
    /// A write the leader stamped with the next zxid. Until replication lands it only advances
    /// the learner's last zxid (so elections have histories to compare).
    Proposal {
        conn: ConnId,
        zxid: Zxid,
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
            ZabMsg::Proposal { .. } => "PROPOSAL",
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
            ZabMsg::Ping { .. } => f.write_str("PING"),
            ZabMsg::Proposal { zxid, .. } => write!(f, "PROPOSAL zxid={zxid}"),
        }
    }
}
