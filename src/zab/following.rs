//! The follower side of ZAB's discovery and synchronization (`Learner.registerWithLeader`,
//! `Learner.syncWithLeader`, `Follower.followLeader`), and the heartbeat that tells it the
//! leader is alive.
//!
//! ```text
//! FOLLOWERINFO(acceptedEpoch, lastZxid) ──▶ leader     (retried every second while connecting)
//!            ◀── LEADERINFO(newEpoch)                  acceptedEpoch := newEpoch
//! ACKEPOCH(currentEpoch, lastZxid)      ──▶
//!            ◀── NEWLEADER(zxid)                        currentEpoch := epoch(zxid)
//! ACK                                   ──▶
//!            ◀── UPTODATE                               serving; PINGs echoed
//! ```
//! No packet from the leader for `initLimit` ticks while syncing, or `syncLimit` ticks once
//! synced, and the follower goes back to LOOKING.

use super::config::ZkConfig;
use super::messages::{ConnId, ZabMsg};
use super::server::{Out, Role, ZabPhase, ZkEvent, ZkServer};
use super::vote::Sid;
use super::zxid::Zxid;
use crate::sim::{Effect, Millis};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum LearnerPhase {
    /// Sent FOLLOWERINFO, waiting for LEADERINFO.
    Connecting,
    /// Acked the epoch, waiting for NEWLEADER and then UPTODATE.
    Syncing,
    Synced,
}

pub struct FollowerState {
    pub leader: Sid,
    conn: ConnId,
    phase: LearnerPhase,
    /// When the leader's silence ends this follower's allegiance.
    read_deadline: Millis,
    next_connect_retry: Option<Millis>,
}

impl FollowerState {
    pub fn new(now: Millis, leader: Sid, conn: ConnId, config: &ZkConfig) -> FollowerState {
        FollowerState {
            leader,
            conn,
            phase: LearnerPhase::Connecting,
            read_deadline: now + config.init_timeout_ms(),
            next_connect_retry: Some(now + config.connect_retry_ms),
        }
    }

    pub fn is_synced(&self) -> bool {
        self.phase == LearnerPhase::Synced
    }

    pub fn phase(&self) -> ZabPhase {
        match self.phase {
            LearnerPhase::Connecting => ZabPhase::Discovery,
            LearnerPhase::Syncing => ZabPhase::Synchronization,
            LearnerPhase::Synced => ZabPhase::Broadcast,
        }
    }

    pub fn next_deadline(&self) -> Option<Millis> {
        Some(self.next_connect_retry.map_or(self.read_deadline, |r| r.min(self.read_deadline)))
    }
}

impl ZkServer {
    pub(super) fn start_following(&mut self, _now: Millis, out: &mut Out) {
        self.send_follower_info(out);
    }

    fn send_follower_info(&mut self, out: &mut Out) {
        let (leader, conn) = (follower(&mut self.role).leader, follower(&mut self.role).conn);
        let msg = ZabMsg::FollowerInfo { conn, accepted_epoch: self.accepted_epoch, last_zxid: self.last_zxid };
        self.send(leader, msg, out);
    }

    pub(super) fn step_following(&mut self, now: Millis, from: Sid, msg: ZabMsg, out: &mut Out) {
        let f = follower(&mut self.role);
        if from != f.leader || conn_of(&msg) != Some(f.conn) {
            return; // not our leader, or an older connection's packet
        }
        // Once synced, any packet proves the leader alive. While connecting and syncing, only a
        // step forward does: each step must come within initLimit ticks, or the follower gives
        // up and looks again (a lost ACKEPOCH must not leave it half-joined for ever).
        if f.phase == LearnerPhase::Synced {
            f.read_deadline = now + self.config.sync_timeout_ms();
        } else if !matches!(msg, ZabMsg::Ping { .. }) {
            f.read_deadline = now + self.config.init_timeout_ms();
        }
        match msg {
            ZabMsg::LeaderInfo { new_epoch, .. } => self.handle_leader_info(now, new_epoch, out),
            ZabMsg::NewLeader { zxid, .. } => self.handle_new_leader(zxid, out),
            ZabMsg::UpToDate { .. } => self.handle_up_to_date(now, out),
            ZabMsg::Ping { conn } => self.send(from, ZabMsg::Ping { conn }, out),
            ZabMsg::Proposal { zxid, .. } => self.handle_proposal(zxid, out),
            _ => {}
        }
    }

    /// `registerWithLeader`: accept a newer epoch, re-ack the one already accepted, refuse an
    /// older one.
    fn handle_leader_info(&mut self, now: Millis, new_epoch: u32, out: &mut Out) {
        if follower(&mut self.role).phase != LearnerPhase::Connecting {
            return; // a duplicate
        }
        let current_epoch = if new_epoch > self.accepted_epoch {
            self.set_accepted_epoch(new_epoch, out);
            Some(self.current_epoch)
        } else if new_epoch == self.accepted_epoch {
            None // "don't ack epoch since we already did": ZooKeeper sends -1
        } else {
            let reason = format!("Leaders epoch, {new_epoch} is less than accepted epoch, {}", self.accepted_epoch);
            self.become_looking(now, reason, out);
            return;
        };
        let f = follower(&mut self.role);
        f.phase = LearnerPhase::Syncing;
        f.next_connect_retry = None;
        let (leader, conn) = (f.leader, f.conn);
        self.send(leader, ZabMsg::AckEpoch { conn, current_epoch, last_zxid: self.last_zxid }, out);
    }

    fn handle_new_leader(&mut self, zxid: Zxid, out: &mut Out) {
        if follower(&mut self.role).phase != LearnerPhase::Syncing {
            return;
        }
        if self.current_epoch != zxid.epoch() {
            self.set_current_epoch(zxid.epoch(), out);
        }
        let (leader, conn) = (follower(&mut self.role).leader, follower(&mut self.role).conn);
        self.send(leader, ZabMsg::Ack { conn, zxid }, out);
    }

    fn handle_up_to_date(&mut self, now: Millis, out: &mut Out) {
        let sync_timeout = self.config.sync_timeout_ms();
        let epoch = self.current_epoch;
        let f = follower(&mut self.role);
        if f.phase != LearnerPhase::Syncing {
            return;
        }
        f.phase = LearnerPhase::Synced;
        f.read_deadline = now + sync_timeout;
        let leader = f.leader;
        // ZOOKEEPER-1732 (Learner.syncWithLeader's updateElectionVote): report the new epoch in
        // our vote, so every member tells a joining server the same (leader, epoch).
        self.current_vote.peer_epoch = epoch;
        out.push(Effect::Event(ZkEvent::Synced { leader, epoch }));
    }

    fn handle_proposal(&mut self, zxid: Zxid, out: &mut Out) {
        if !follower(&mut self.role).is_synced() || zxid <= self.last_zxid {
            return; // not serving yet, or a duplicate
        }
        self.log_zxid(zxid, out);
        let (leader, conn) = (follower(&mut self.role).leader, follower(&mut self.role).conn);
        self.send(leader, ZabMsg::Ack { conn, zxid }, out);
    }

    pub(super) fn tick_following(&mut self, now: Millis, out: &mut Out) {
        let retry = self.config.connect_retry_ms;
        let f = follower(&mut self.role);
        if f.read_deadline <= now {
            let reason = match f.phase {
                LearnerPhase::Connecting => format!("could not connect to leader {}", f.leader),
                _ => {
                    format!("Exception when following the leader: no packet from leader {} (read timed out)", f.leader)
                }
            };
            self.become_looking(now, reason, out);
            return;
        }
        if f.next_connect_retry.is_some_and(|t| t <= now) {
            f.next_connect_retry = Some(now + retry);
            self.send_follower_info(out);
        }
    }
}

/// The connection a quorum packet belongs to.
pub(super) fn conn_of(msg: &ZabMsg) -> Option<ConnId> {
    match msg {
        ZabMsg::Notification(_) => None,
        ZabMsg::FollowerInfo { conn, .. }
        | ZabMsg::LeaderInfo { conn, .. }
        | ZabMsg::AckEpoch { conn, .. }
        | ZabMsg::NewLeader { conn, .. }
        | ZabMsg::Ack { conn, .. }
        | ZabMsg::UpToDate { conn }
        | ZabMsg::Ping { conn }
        | ZabMsg::Proposal { conn, .. } => Some(*conn),
    }
}

/// The FOLLOWING role's state; asking for it in another role is a bug.
fn follower(role: &mut Role) -> &mut FollowerState {
    match role {
        Role::Following(x) => x,
        _ => panic!("FollowerState used outside the FOLLOWING role"),
    }
}
