//! The leader side of ZAB's discovery, synchronization and broadcast (`Leader.lead`,
//! `Leader.getEpochToPropose`, `waitForEpochAck`, `waitForNewLeaderAck`, `LearnerHandler`).
//!
//! ```text
//! FOLLOWERINFO from a quorum (with us) ─▶ newEpoch = max(acceptedEpoch) + 1, LEADERINFO to all
//! ACKEPOCH from a quorum               ─▶ currentEpoch := newEpoch, NEWLEADER to each acker
//! ACK of NEWLEADER from a quorum       ─▶ established (BROADCAST), UPTODATE to each acker
//! every tickTime/2                     ─▶ PING; every tickTime check a quorum is still synced
//! ```
//! Any phase not done within `initLimit` ticks, a follower ahead of us, or a quorum unheard for
//! `syncLimit` ticks sends the leader back to LOOKING.

use super::following::conn_of;
use super::messages::{ConnId, ZabMsg};
use super::server::{Out, Role, ZabPhase, ZkEvent, ZkServer};
use super::vote::Sid;
use super::zxid::Zxid;
use crate::sim::{Effect, Millis};
use std::collections::{BTreeMap, BTreeSet};

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum LeaderPhase {
    /// Waiting for FOLLOWERINFO from a quorum to pick the new epoch.
    Discovery,
    /// Sent LEADERINFO, waiting for ACKEPOCH from a quorum.
    EpochAck,
    /// Sent NEWLEADER, waiting for its ACK from a quorum.
    NewLeaderAck,
    Broadcast,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum LearnerStage {
    Connected,
    EpochSent,
    EpochAcked,
    NewLeaderSent,
    /// Acked NEWLEADER; gets UPTODATE once the leader is established.
    NewLeaderAcked,
    Synced,
}

struct Learner {
    conn: ConnId,
    stage: LearnerStage,
    last_heard: Millis,
}

pub struct LeaderState {
    phase: LeaderPhase,
    pub new_epoch: Option<u32>,
    /// (currentEpoch, lastZxid) when we started leading: followers must not be ahead of it.
    summary: (u32, Zxid),
    /// acceptedEpoch of each server that connected while the epoch was open (with us).
    connecting: BTreeMap<Sid, u32>,
    epoch_acks: BTreeSet<Sid>,
    newleader_acks: BTreeSet<Sid>,
    learners: BTreeMap<Sid, Learner>,
    /// Deadline of the current establishment phase (initLimit ticks each).
    phase_deadline: Millis,
    next_half_tick: Millis,
    tick_skip: bool,
    zxid_counter: u32,
}

impl LeaderState {
    pub fn new(now: Millis, server: &ZkServer) -> LeaderState {
        LeaderState {
            phase: LeaderPhase::Discovery,
            new_epoch: None,
            summary: (server.current_epoch, server.last_zxid),
            connecting: BTreeMap::from([(server.sid, server.accepted_epoch)]),
            epoch_acks: BTreeSet::from([server.sid]),
            newleader_acks: BTreeSet::from([server.sid]),
            learners: BTreeMap::new(),
            phase_deadline: now + server.config.init_timeout_ms(),
            next_half_tick: now + server.config.tick_time_ms / 2,
            tick_skip: true,
            zxid_counter: 0,
        }
    }

    pub fn is_established(&self) -> bool {
        self.phase == LeaderPhase::Broadcast
    }

    pub fn phase(&self) -> ZabPhase {
        match self.phase {
            LeaderPhase::Discovery | LeaderPhase::EpochAck => ZabPhase::Discovery,
            LeaderPhase::NewLeaderAck => ZabPhase::Synchronization,
            LeaderPhase::Broadcast => ZabPhase::Broadcast,
        }
    }

    pub fn synced_followers(&self) -> Vec<Sid> {
        self.learners.iter().filter(|(_, l)| l.stage == LearnerStage::Synced).map(|(&s, _)| s).collect()
    }

    /// Forgets a learner whose connection is gone (`LearnerHandler` exits).
    pub fn drop_learner(&mut self, sid: Sid) {
        self.learners.remove(&sid);
    }

    pub fn next_deadline(&self) -> Option<Millis> {
        if self.is_established() {
            Some(self.next_half_tick)
        } else {
            Some(self.next_half_tick.min(self.phase_deadline))
        }
    }
}

impl ZkServer {
    pub(super) fn start_leading(&mut self, now: Millis, out: &mut Out) {
        self.try_propose_epoch(now, out); // a one-server ensemble is its own quorum
    }

    pub(super) fn step_leading(&mut self, now: Millis, from: Sid, msg: ZabMsg, out: &mut Out) {
        if let ZabMsg::FollowerInfo { conn, accepted_epoch, .. } = msg {
            self.handle_follower_info(now, from, conn, accepted_epoch, out);
            return;
        }
        let Some(learner) = leader(&mut self.role).learners.get_mut(&from) else { return };
        if conn_of(&msg) != Some(learner.conn) {
            return; // a packet of a connection that no longer exists
        }
        learner.last_heard = now;
        match msg {
            ZabMsg::AckEpoch { current_epoch, last_zxid, .. } => {
                self.handle_ack_epoch(now, from, current_epoch, last_zxid, out)
            }
            ZabMsg::Ack { zxid, .. } => self.handle_ack(now, from, zxid, out),
            _ => {} // PING echoes only refresh last_heard
        }
    }

    /// A learner connects (or retries): remember its accepted epoch while the new epoch is
    /// still open, and tell it the epoch once there is one.
    fn handle_follower_info(&mut self, now: Millis, from: Sid, conn: ConnId, accepted_epoch: u32, out: &mut Out) {
        let l = leader(&mut self.role);
        let retry_of_known_conn = l.learners.get(&from).is_some_and(|x| x.conn == conn);
        if !retry_of_known_conn {
            l.learners.insert(from, Learner { conn, stage: LearnerStage::Connected, last_heard: now });
            if l.phase == LeaderPhase::Discovery {
                l.connecting.insert(from, accepted_epoch);
            }
        }
        let learner = l.learners.get_mut(&from).expect("just inserted");
        learner.last_heard = now;
        if let (Some(new_epoch), true) = (l.new_epoch, learner.stage <= LearnerStage::EpochSent) {
            learner.stage = LearnerStage::EpochSent;
            self.send(from, ZabMsg::LeaderInfo { conn, new_epoch }, out);
        }
        self.try_propose_epoch(now, out);
    }

    /// `getEpochToPropose`: once a quorum (with us) has connected, the new epoch is one more
    /// than the largest accepted epoch among them.
    fn try_propose_epoch(&mut self, now: Millis, out: &mut Out) {
        let init_timeout = self.config.init_timeout_ms();
        let l = leader(&mut self.role);
        if l.phase != LeaderPhase::Discovery || !self.config.quorum.contains_quorum(l.connecting.keys()) {
            return;
        }
        let l = leader(&mut self.role);
        let new_epoch = l.connecting.values().max().copied().unwrap_or(0) + 1;
        l.new_epoch = Some(new_epoch);
        l.phase = LeaderPhase::EpochAck;
        l.phase_deadline = now + init_timeout;
        let waiting: Vec<(Sid, ConnId)> = l
            .learners
            .iter_mut()
            .filter(|(_, x)| x.stage == LearnerStage::Connected)
            .map(|(&s, x)| {
                x.stage = LearnerStage::EpochSent;
                (s, x.conn)
            })
            .collect();
        self.set_accepted_epoch(new_epoch, out);
        out.push(Effect::Event(ZkEvent::EpochProposed { epoch: new_epoch }));
        for (sid, conn) in waiting {
            self.send(sid, ZabMsg::LeaderInfo { conn, new_epoch }, out);
        }
        self.try_finish_epoch_ack(now, out);
    }

    fn handle_ack_epoch(&mut self, now: Millis, from: Sid, current_epoch: Option<u32>, last_zxid: Zxid, out: &mut Out) {
        let l = leader(&mut self.role);
        let learner = l.learners.get_mut(&from).expect("checked by caller");
        if learner.stage != LearnerStage::EpochSent {
            return;
        }
        learner.stage = LearnerStage::EpochAcked;
        if let Some(epoch) = current_epoch {
            let (my_epoch, my_zxid) = l.summary;
            if epoch > my_epoch || (epoch == my_epoch && last_zxid > my_zxid) {
                let reason = format!(
                    "Follower is ahead of the leader: leader summary {my_epoch}/{my_zxid}, follower {from} {epoch}/{last_zxid}"
                );
                self.become_looking(now, reason, out);
                return;
            }
            if l.phase == LeaderPhase::EpochAck {
                l.epoch_acks.insert(from);
            }
        }
        if l.phase >= LeaderPhase::NewLeaderAck {
            self.send_new_leader(from, out);
        }
        self.try_finish_epoch_ack(now, out);
    }

    /// `waitForEpochAck` done: take the new epoch as ours and start synchronization.
    fn try_finish_epoch_ack(&mut self, now: Millis, out: &mut Out) {
        let init_timeout = self.config.init_timeout_ms();
        let l = leader(&mut self.role);
        if l.phase != LeaderPhase::EpochAck || !self.config.quorum.contains_quorum(l.epoch_acks.iter()) {
            return;
        }
        l.phase = LeaderPhase::NewLeaderAck;
        l.phase_deadline = now + init_timeout;
        let new_epoch = l.new_epoch.expect("epoch proposed before acks");
        let ready: Vec<Sid> =
            l.learners.iter().filter(|(_, x)| x.stage == LearnerStage::EpochAcked).map(|(&s, _)| s).collect();
        self.set_current_epoch(new_epoch, out);
        for sid in ready {
            self.send_new_leader(sid, out);
        }
        self.try_establish(now, out);
    }

    fn send_new_leader(&mut self, sid: Sid, out: &mut Out) {
        let l = leader(&mut self.role);
        let zxid = Zxid::new(l.new_epoch.expect("epoch proposed"), 0);
        let learner = l.learners.get_mut(&sid).expect("known learner");
        learner.stage = LearnerStage::NewLeaderSent;
        let conn = learner.conn;
        self.send(sid, ZabMsg::NewLeader { conn, zxid }, out);
    }

    fn handle_ack(&mut self, now: Millis, from: Sid, zxid: Zxid, out: &mut Out) {
        let l = leader(&mut self.role);
        let Some(new_epoch) = l.new_epoch else { return };
        let learner = l.learners.get_mut(&from).expect("checked by caller");
        if learner.stage != LearnerStage::NewLeaderSent || zxid != Zxid::new(new_epoch, 0) {
            return; // an ACK of a proposal, or a duplicate
        }
        learner.stage = LearnerStage::NewLeaderAcked;
        if l.phase == LeaderPhase::Broadcast {
            self.send_up_to_date(from, out);
        } else {
            l.newleader_acks.insert(from);
            self.try_establish(now, out);
        }
    }

    /// `waitForNewLeaderAck` done: the leader is established and serves (ZAB phase 3).
    fn try_establish(&mut self, now: Millis, out: &mut Out) {
        let half_tick = self.config.tick_time_ms / 2;
        let l = leader(&mut self.role);
        if l.phase != LeaderPhase::NewLeaderAck || !self.config.quorum.contains_quorum(l.newleader_acks.iter()) {
            return;
        }
        l.phase = LeaderPhase::Broadcast;
        l.next_half_tick = now + half_tick;
        l.tick_skip = true;
        let epoch = l.new_epoch.expect("epoch proposed");
        let quorum: Vec<Sid> = l.newleader_acks.iter().copied().collect();
        let ready: Vec<Sid> =
            l.learners.iter().filter(|(_, x)| x.stage == LearnerStage::NewLeaderAcked).map(|(&s, _)| s).collect();
        // ZOOKEEPER-1732 (Leader.startZkServer's updateElectionVote), as followers do on UPTODATE.
        self.current_vote.peer_epoch = epoch;
        out.push(Effect::Event(ZkEvent::Established { epoch, quorum }));
        for sid in ready {
            self.send_up_to_date(sid, out);
        }
    }

    fn send_up_to_date(&mut self, sid: Sid, out: &mut Out) {
        let learner = leader(&mut self.role).learners.get_mut(&sid).expect("known learner");
        learner.stage = LearnerStage::Synced;
        let conn = learner.conn;
        self.send(sid, ZabMsg::UpToDate { conn }, out);
    }

    pub(super) fn tick_leading(&mut self, now: Millis, out: &mut Out) {
        let (half_tick, sync_timeout) = (self.config.tick_time_ms / 2, self.config.sync_timeout_ms());
        let l = leader(&mut self.role);
        if !l.is_established() && l.phase_deadline <= now {
            let reason = match l.phase {
                LeaderPhase::Discovery => "Timeout while waiting for epoch from quorum",
                LeaderPhase::EpochAck => "Timeout while waiting for epoch to be acked by quorum",
                _ => "Timeout while waiting for NEWLEADER to be acked by quorum",
            };
            self.become_looking(now, reason.to_string(), out);
            return;
        }
        if l.next_half_tick > now {
            return;
        }
        l.next_half_tick = now + half_tick;
        // Learners silent for syncLimit ticks are gone (ZooKeeper's LearnerHandler times out).
        l.learners.retain(|_, x| now.saturating_sub(x.last_heard) <= sync_timeout);
        if l.is_established() {
            if !l.tick_skip {
                let mut synced: BTreeSet<Sid> =
                    l.learners.iter().filter(|(_, x)| x.stage == LearnerStage::Synced).map(|(&s, _)| s).collect();
                synced.insert(self.sid);
                if !self.config.quorum.contains_quorum(synced.iter()) {
                    let reason = format!("Not sufficient followers synced, only synced with sids: {synced:?}");
                    self.become_looking(now, reason, out);
                    return;
                }
            }
            let l = leader(&mut self.role);
            l.tick_skip = !l.tick_skip;
        }
        let pings: Vec<(Sid, ConnId)> = leader(&mut self.role).learners.iter().map(|(&s, x)| (s, x.conn)).collect();
        for (sid, conn) in pings {
            self.send(sid, ZabMsg::Ping { conn }, out);
        }
    }

    /// A client write: the established leader stamps the next zxid and sends the proposal to
    /// its synced followers.
    pub(super) fn client_write(&mut self, _now: Millis, out: &mut Out) {
        let l = match &mut self.role {
            Role::Leading(l) if l.is_established() => l,
            _ => {
                let reason = format!("server is {}, not an active leader", self.state());
                out.push(Effect::Event(ZkEvent::WriteIgnored { reason }));
                return;
            }
        };
        l.zxid_counter += 1;
        let zxid = Zxid::new(l.new_epoch.expect("established"), l.zxid_counter);
        let targets: Vec<(Sid, ConnId)> =
            l.learners.iter().filter(|(_, x)| x.stage == LearnerStage::Synced).map(|(&s, x)| (s, x.conn)).collect();
        self.log_zxid(zxid, out);
        out.push(Effect::Event(ZkEvent::Wrote { zxid }));
        for (sid, conn) in targets {
            self.send(sid, ZabMsg::Proposal { conn, zxid }, out);
        }
    }
}

/// The LEADING role's state; asking for it in another role is a bug.
fn leader(role: &mut Role) -> &mut LeaderState {
    match role {
        Role::Leading(x) => x,
        _ => panic!("LeaderState used outside the LEADING role"),
    }
}
