//! Votes, notifications and the order Fast Leader Election uses to compare them.

use super::zxid::Zxid;
use crate::sim::NodeId;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

/// A server id (`myid`).
pub type Sid = NodeId;

/// `QuorumPeer.ServerState`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum ServerState {
    Looking,
    Following,
    Leading,
    /// A non-voting member (`peerType=observer`) that learns from the leader.
    Observing,
}

impl ServerState {
    /// The name the page's test contract and ZooKeeper's logs use, lower-cased.
    pub fn as_str(self) -> &'static str {
        match self {
            ServerState::Looking => "looking",
            ServerState::Following => "following",
            ServerState::Leading => "leading",
            ServerState::Observing => "observing",
        }
    }
}

impl fmt::Display for ServerState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.as_str().to_uppercase())
    }
}

/// A vote: who should lead, and the evidence (the candidate's last zxid and current epoch),
/// plus the election round it was cast in and the voter's state (`Vote` in ZooKeeper).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Vote {
    pub leader: Sid,
    pub zxid: Zxid,
    /// The proposed leader's epoch (`peerEpoch`).
    pub peer_epoch: u32,
    /// The logical clock of the election round (`electionEpoch`).
    pub election_epoch: u64,
    pub state: ServerState,
}

impl Vote {
    /// `Vote.equals` in ZooKeeper 3.8: if either vote was cast while LOOKING, leader, zxid,
    /// election epoch and peer epoch must all match; between two settled votes (FOLLOWING or
    /// LEADING) only the leader and its epoch count, since servers that joined in different
    /// rounds report different election epochs for the same leader.
    pub fn matches(&self, other: &Vote) -> bool {
        if self.state == ServerState::Looking || other.state == ServerState::Looking {
            self.leader == other.leader
                && self.zxid == other.zxid
                && self.election_epoch == other.election_epoch
                && self.peer_epoch == other.peer_epoch
        } else {
            self.leader == other.leader && self.peer_epoch == other.peer_epoch
        }
    }
}

/// The election message (`FastLeaderElection.Notification` / `ToSend`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notification {
    pub leader: Sid,
    pub zxid: Zxid,
    pub election_epoch: u64,
    pub state: ServerState,
    pub peer_epoch: u32,
}

impl Notification {
    pub fn vote(&self) -> Vote {
        Vote {
            leader: self.leader,
            zxid: self.zxid,
            peer_epoch: self.peer_epoch,
            election_epoch: self.election_epoch,
            state: self.state,
        }
    }
}

/// `FastLeaderElection.totalOrderPredicate`: is the new proposal better than the current one?
/// Higher epoch wins; then higher zxid; then higher server id. `new_weight == 0` (a non-voter)
/// never wins.
pub fn total_order_predicate(new: (Sid, Zxid, u32), cur: (Sid, Zxid, u32), new_weight: u64) -> bool {
    let (new_id, new_zxid, new_epoch) = new;
    let (cur_id, cur_zxid, cur_epoch) = cur;
    if new_weight == 0 {
        return false;
    }
    new_epoch > cur_epoch
        || (new_epoch == cur_epoch && (new_zxid > cur_zxid || (new_zxid == cur_zxid && new_id > cur_id)))
}

/// The voters and what a quorum is (`QuorumMaj`: more than half of the voters).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuorumMaj {
    pub voters: BTreeSet<Sid>,
}

impl QuorumMaj {
    pub fn new(voters: impl IntoIterator<Item = Sid>) -> QuorumMaj {
        let voters: BTreeSet<Sid> = voters.into_iter().collect();
        assert!(!voters.is_empty(), "an ensemble needs at least one voter");
        QuorumMaj { voters }
    }

    pub fn weight(&self, sid: Sid) -> u64 {
        u64::from(self.voters.contains(&sid))
    }

    /// `QuorumMaj.containsQuorum`: strictly more than half of the voters.
    pub fn contains_quorum<'a>(&self, ack_set: impl IntoIterator<Item = &'a Sid>) -> bool {
        let n = ack_set.into_iter().filter(|s| self.voters.contains(s)).count();
        n > self.voters.len() / 2
    }

    pub fn quorum_size(&self) -> usize {
        self.voters.len() / 2 + 1
    }
}

/// `getVoteTracker(votes, vote).hasAllQuorums()`: do the servers whose vote matches `vote` form
/// a quorum?
pub fn has_quorum_for(quorum: &QuorumMaj, votes: &BTreeMap<Sid, Vote>, vote: &Vote) -> bool {
    let agreeing: Vec<Sid> = votes.iter().filter(|(_, v)| v.matches(vote)).map(|(&sid, _)| sid).collect();
    quorum.contains_quorum(&agreeing)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn higher_epoch_beats_higher_zxid_and_id() {
        // totalOrderPredicate checks the epoch first: a candidate from a newer epoch wins even
        // with an older zxid and a lower id.
        assert!(total_order_predicate((1, Zxid::new(2, 0), 2), (5, Zxid::new(1, 99), 1), 1));
        assert!(!total_order_predicate((5, Zxid::new(1, 99), 1), (1, Zxid::new(2, 0), 2), 1));
    }

    #[test]
    fn same_epoch_higher_zxid_wins() {
        assert!(total_order_predicate((1, Zxid::new(1, 5), 1), (3, Zxid::new(1, 4), 1), 1));
        assert!(!total_order_predicate((3, Zxid::new(1, 4), 1), (1, Zxid::new(1, 5), 1), 1));
    }

    #[test]
    fn ties_are_broken_by_the_larger_server_id() {
        let z = Zxid::new(1, 1);
        assert!(total_order_predicate((3, z, 1), (2, z, 1), 1));
        assert!(!total_order_predicate((2, z, 1), (3, z, 1), 1));
        assert!(!total_order_predicate((2, z, 1), (2, z, 1), 1), "a vote is not better than itself");
    }

    #[test]
    fn a_zero_weight_server_never_wins() {
        assert!(!total_order_predicate((9, Zxid::new(9, 9), 9), (1, Zxid::ZERO, 0), 0));
    }

    #[test]
    fn settled_votes_match_across_election_rounds() {
        let looking =
            Vote { leader: 3, zxid: Zxid::new(1, 2), peer_epoch: 1, election_epoch: 4, state: ServerState::Looking };
        let following = Vote { election_epoch: 2, zxid: Zxid::new(1, 9), state: ServerState::Following, ..looking };
        let leading = Vote { election_epoch: 4, state: ServerState::Leading, ..looking };
        assert!(following.matches(&leading), "FOLLOWING vs LEADING ignores zxid and round");
        assert!(!looking.matches(&following), "LOOKING compares every field");
        assert!(looking.matches(&Vote { state: ServerState::Leading, ..looking }));
    }

    #[test]
    fn majority_quorums() {
        let q = QuorumMaj::new([1, 2, 3, 4, 5]);
        assert!(q.contains_quorum(&[1, 2, 3]));
        assert!(!q.contains_quorum(&[1, 2]));
        assert!(!q.contains_quorum(&[1, 2, 9, 10]), "non-voters do not count");
        let q4 = QuorumMaj::new([1, 2, 3, 4]);
        assert!(!q4.contains_quorum(&[1, 2]), "half is not a majority");
        assert_eq!(q4.quorum_size(), 3);
    }
}
