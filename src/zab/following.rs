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
use super::storage::Snapshot;
use super::vote::Sid;
use super::zxid::Zxid;
use crate::sim::{Effect, Millis};
use crate::zk::Txn;

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
    /// An observer: registers with OBSERVERINFO's role, gets INFORM instead of PROPOSAL and
    /// COMMIT, and never acks a proposal.
    pub observer: bool,
    conn: ConnId,
    phase: LearnerPhase,
    /// When the leader's silence ends this follower's allegiance.
    read_deadline: Millis,
    next_connect_retry: Option<Millis>,
    /// DIFF, TRUNC or SNAP received.
    got_sync: bool,
    /// Proposals that came between the sync data and NEWLEADER: logged at NEWLEADER, as
    /// `Learner.syncWithLeader` holds them in `packetsNotCommitted`.
    pending: Vec<Txn>,
    /// NEWLEADER received: proposals are logged and acked as they come.
    newleader: bool,
}

impl FollowerState {
    pub fn new(now: Millis, leader: Sid, conn: ConnId, config: &ZkConfig) -> FollowerState {
        FollowerState {
            leader,
            observer: false,
            conn,
            phase: LearnerPhase::Connecting,
            read_deadline: now + config.init_timeout_ms(),
            next_connect_retry: Some(now + config.connect_retry_ms),
            got_sync: false,
            pending: Vec::new(),
            newleader: false,
        }
    }

    /// Whether proposals and commits flow to this learner's log and tree.
    fn streaming(&self) -> bool {
        self.newleader || self.phase == LearnerPhase::Synced
    }

    pub fn conn_id(&self) -> ConnId {
        self.conn
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
        let msg = ZabMsg::FollowerInfo {
            conn,
            accepted_epoch: self.accepted_epoch,
            last_zxid: self.db.last_logged(),
            history: self.db.history_summary(),
        };
        self.send(leader, msg, out);
    }

    pub(super) fn step_following(&mut self, now: Millis, from: Sid, msg: ZabMsg, out: &mut Out) {
        let f = follower(&mut self.role);
        if from != f.leader || conn_of(&msg) != Some(f.conn) {
            return; // not our leader, or an older connection's packet
        }
        // Once synced, any packet proves the leader alive. While connecting and syncing, only a
        // step forward does: each step must come within initLimit ticks, or the follower gives
        // up and looks again (a lost ACKEPOCH or UPTODATE must not leave it half-joined for
        // ever; proposals streaming in meanwhile are not progress).
        let sync_step = matches!(
            msg,
            ZabMsg::LeaderInfo { .. }
                | ZabMsg::Diff { .. }
                | ZabMsg::Trunc { .. }
                | ZabMsg::Snap { .. }
                | ZabMsg::NewLeader { .. }
                | ZabMsg::UpToDate { .. }
        );
        if f.phase == LearnerPhase::Synced {
            f.read_deadline = now + self.config.sync_timeout_ms();
        } else if sync_step {
            f.read_deadline = now + self.config.init_timeout_ms();
        }
        match msg {
            ZabMsg::LeaderInfo { new_epoch, .. } => self.handle_leader_info(now, new_epoch, out),
            ZabMsg::NewLeader { zxid, .. } => self.handle_new_leader(now, zxid, out),
            ZabMsg::UpToDate { .. } => self.handle_up_to_date(now, out),
            ZabMsg::Ping { conn, proposed, committed, .. } => self.handle_ping(now, conn, proposed, committed, out),
            ZabMsg::Diff { txns, committed, .. } => self.handle_sync_data(now, None, txns, committed, out),
            ZabMsg::Trunc { zxid, txns, committed, .. } => self.handle_sync_data(now, Some(zxid), txns, committed, out),
            ZabMsg::Snap { snapshot, .. } => self.handle_snap(*snapshot, out),
            ZabMsg::Proposal { txn, .. } => self.handle_proposal(now, txn, out),
            ZabMsg::Commit { zxid, .. } => self.handle_commit(now, zxid, out),
            ZabMsg::Inform { txn, .. } => self.handle_inform(now, txn, out),
            ZabMsg::SyncReply { session, cxid, .. } => self.sync_done(session, cxid, out),
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
        self.send(leader, ZabMsg::AckEpoch { conn, current_epoch, last_zxid: self.db.last_logged() }, out);
    }

    fn handle_new_leader(&mut self, now: Millis, zxid: Zxid, out: &mut Out) {
        let f = follower(&mut self.role);
        if f.phase != LearnerPhase::Syncing {
            return;
        }
        if !f.got_sync {
            let reason = "NEWLEADER before DIFF/TRUNC/SNAP: lost packets from the leader".to_string();
            self.become_looking(now, reason, out);
            return;
        }
        if f.newleader {
            return; // a duplicate
        }
        f.newleader = true;
        let pending = std::mem::take(&mut f.pending);
        if self.current_epoch != zxid.epoch() {
            self.set_current_epoch(zxid.epoch(), out);
        }
        let last_pending = pending.last().map(|t| t.zxid);
        for txn in pending {
            if txn.zxid > self.db.last_logged() {
                self.db.append(txn, out);
            }
        }
        let (leader, conn) = (follower(&mut self.role).leader, follower(&mut self.role).conn);
        self.send(leader, ZabMsg::Ack { conn, zxid }, out);
        if let Some(z) = last_pending {
            self.send(leader, ZabMsg::Ack { conn, zxid: z }, out);
        }
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

    /// DIFF or TRUNC (`Learner.syncWithLeader`): drop what the leader never had, log what we
    /// lack, apply everything up to the leader's commit point.
    fn handle_sync_data(&mut self, now: Millis, trunc: Option<Zxid>, txns: Vec<Txn>, committed: Zxid, out: &mut Out) {
        let f = follower(&mut self.role);
        if f.phase != LearnerPhase::Syncing || f.got_sync {
            return;
        }
        f.got_sync = true;
        if let Some(zxid) = trunc {
            self.db.truncate(zxid, out);
        }
        for txn in txns {
            if txn.zxid > self.db.last_logged() {
                self.db.append(txn, out);
            }
        }
        let upto = committed.min(self.db.last_logged());
        let applied = self.db.commit_up_to(upto, out);
        self.on_applied(now, applied, out);
    }

    fn handle_snap(&mut self, snapshot: Snapshot, out: &mut Out) {
        let f = follower(&mut self.role);
        if f.phase != LearnerPhase::Syncing || f.got_sync {
            return;
        }
        f.got_sync = true;
        self.db.install(snapshot, out);
    }

    /// A heartbeat: echo it with our touched sessions and last logged zxid; catch up on a lost
    /// COMMIT; a proposal we never got means the stream lost packets.
    fn handle_ping(&mut self, now: Millis, conn: ConnId, proposed: Zxid, committed: Zxid, out: &mut Out) {
        let f = follower(&mut self.role);
        let (leader, streaming, observer) = (f.leader, f.streaming(), f.observer);
        // An observer only ever gets committed txns: it compares against the commit point.
        let expected = if observer { committed } else { proposed };
        if streaming {
            if expected > self.db.last_logged() {
                let reason = format!(
                    "leader is at {expected} but the last txn received is {}: lost packets from the leader",
                    self.db.last_logged()
                );
                self.become_looking(now, reason, out);
                return;
            }
            if committed > self.db.last_applied() {
                let applied = self.db.commit_up_to(committed, out);
                self.on_applied(now, applied, out);
            }
        }
        let sessions = self.clients.take_touched();
        let proposed = if streaming && !observer { self.db.last_logged() } else { Zxid::ZERO };
        self.send(leader, ZabMsg::Ping { conn, sessions, proposed, committed: Zxid::ZERO }, out);
    }

    /// A PROPOSAL: log it and ACK. Proposals come in zxid order over one connection; a gap
    /// means packets were lost, which on TCP means the connection broke: look again.
    fn handle_proposal(&mut self, now: Millis, txn: Txn, out: &mut Out) {
        let f = follower(&mut self.role);
        if !f.got_sync {
            return;
        }
        let last = f.pending.last().map_or(self.db.last_logged(), |t| t.zxid);
        let zxid = txn.zxid;
        if zxid > last {
            let next =
                if zxid.epoch() == last.epoch() { zxid.counter() == last.counter() + 1 } else { zxid.counter() == 1 };
            if !next {
                let reason = format!("Got zxid {zxid} expected the one after {last}: lost packets from the leader");
                self.become_looking(now, reason, out);
                return;
            }
            let f = follower(&mut self.role);
            if !f.streaming() {
                f.pending.push(txn);
                return;
            }
            self.db.append(txn, out);
        }
        if !follower(&mut self.role).streaming() {
            return;
        }
        let (leader, conn) = (follower(&mut self.role).leader, follower(&mut self.role).conn);
        self.send(leader, ZabMsg::Ack { conn, zxid }, out);
    }

    /// INFORM (observers): a committed txn: log and apply it at once.
    fn handle_inform(&mut self, now: Millis, txn: Txn, out: &mut Out) {
        let f = follower(&mut self.role);
        if !f.observer || !f.streaming() || txn.zxid <= self.db.last_logged() {
            return;
        }
        let (zxid, last) = (txn.zxid, self.db.last_logged());
        let next =
            if zxid.epoch() == last.epoch() { zxid.counter() == last.counter() + 1 } else { zxid.counter() == 1 };
        if !next {
            let reason = format!("Got zxid {zxid} expected the one after {last}: lost packets from the leader");
            self.become_looking(now, reason, out);
            return;
        }
        self.db.append(txn, out);
        let applied = self.db.commit_up_to(zxid, out);
        self.on_applied(now, applied, out);
        self.db.maybe_snapshot(out);
    }

    /// A COMMIT: apply every logged proposal up to it.
    fn handle_commit(&mut self, now: Millis, zxid: Zxid, out: &mut Out) {
        let f = follower(&mut self.role);
        if !f.streaming() || zxid <= self.db.last_applied() {
            return;
        }
        if zxid > self.db.last_logged() {
            let reason = format!("Committing zxid {zxid} but the last logged is {}", self.db.last_logged());
            self.become_looking(now, reason, out);
            return;
        }
        let applied = self.db.commit_up_to(zxid, out);
        self.on_applied(now, applied, out);
        self.db.maybe_snapshot(out);
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
    msg.conn()
}

/// The FOLLOWING role's state; asking for it in another role is a bug.
fn follower(role: &mut Role) -> &mut FollowerState {
    match role {
        Role::Following(x) => x,
        _ => panic!("FollowerState used outside the FOLLOWING role"),
    }
}
