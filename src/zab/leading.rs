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
use crate::zk::{Op, SessionId, Txn, TxnKind};
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
    /// The learner's history summary from FOLLOWERINFO: its oldest diffable zxid, then the
    /// last zxid of each epoch in its log.
    history: Vec<Zxid>,
}

/// Who waits for a sync: a client of ours, or a learner's client.
#[derive(Clone, Copy, Debug)]
struct SyncWaiter {
    after: Zxid,
    learner: Option<(Sid, ConnId)>,
    session: SessionId,
    cxid: u32,
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
    /// Proposals not yet committed, with who acked each (the leader acks its own).
    outstanding: BTreeMap<Zxid, BTreeSet<Sid>>,
    syncs: Vec<SyncWaiter>,
    /// `SessionTrackerImpl`: when each live session expires unless touched.
    session_expiry: BTreeMap<SessionId, (u32, Millis)>,
    closing: BTreeSet<SessionId>,
    next_reap: Millis,
    writes: u64,
    /// The last request id proposed for each session (duplicate suppression).
    last_cxid: BTreeMap<SessionId, u32>,
}

impl LeaderState {
    pub fn new(now: Millis, server: &ZkServer) -> LeaderState {
        LeaderState {
            phase: LeaderPhase::Discovery,
            new_epoch: None,
            summary: (server.current_epoch, server.db.last_logged()),
            connecting: BTreeMap::from([(server.sid, server.accepted_epoch)]),
            epoch_acks: BTreeSet::from([server.sid]),
            newleader_acks: BTreeSet::from([server.sid]),
            learners: BTreeMap::new(),
            phase_deadline: now + server.config.init_timeout_ms(),
            next_half_tick: now + server.config.tick_time_ms / 2,
            tick_skip: true,
            zxid_counter: 0,
            outstanding: BTreeMap::new(),
            syncs: Vec::new(),
            session_expiry: BTreeMap::new(),
            closing: BTreeSet::new(),
            next_reap: now + server.config.container_check_ms,
            writes: 0,
            last_cxid: BTreeMap::new(),
        }
    }

    /// Proposals in flight and the servers that acked each (for the UI).
    pub fn pipeline(&self) -> Vec<(Zxid, Vec<Sid>)> {
        self.outstanding.iter().map(|(&z, acks)| (z, acks.iter().copied().collect())).collect()
    }

    /// Learners that receive proposals and commits (or, observers, INFORMs): those already
    /// sent their sync data.
    fn forwarding(&self) -> Vec<(Sid, ConnId)> {
        self.learners
            .iter()
            .filter(|(_, x)| x.stage >= LearnerStage::NewLeaderSent)
            .map(|(&s, x)| (s, x.conn))
            .collect()
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
        // `Leader.lead` starts with `zk.loadData()`: everything in our log is our history.
        let last = self.db.last_logged();
        let applied = self.db.commit_up_to(last, out);
        self.on_applied(now, applied, out);
        self.try_propose_epoch(now, out); // a one-server ensemble is its own quorum
    }

    pub(super) fn step_leading(&mut self, now: Millis, from: Sid, msg: ZabMsg, out: &mut Out) {
        if let ZabMsg::FollowerInfo { conn, accepted_epoch, history, .. } = msg {
            self.handle_follower_info(now, from, conn, accepted_epoch, history, out);
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
            ZabMsg::Ack { zxid, .. } if zxid.counter() == 0 => self.handle_ack(now, from, zxid, out),
            ZabMsg::Ack { zxid, .. } => self.handle_proposal_ack(now, from, zxid, out),
            ZabMsg::Request { session, cxid, kind, .. } => {
                // TCP never delivers a packet twice; our links may. A session's requests carry
                // increasing xids, so a repeat is recognisable.
                let l = leader(&mut self.role);
                let last = l.last_cxid.get(&session).copied();
                let fresh = match kind {
                    TxnKind::CreateSession { .. } => last.is_none(),
                    _ => last.is_none_or(|x| cxid > x),
                };
                if fresh && self.established_epoch().is_some() {
                    leader(&mut self.role).last_cxid.insert(session, cxid);
                    self.propose(now, session, cxid, kind, out);
                }
            }
            ZabMsg::Sync { conn, session, cxid } => self.leader_sync(now, Some((from, conn)), session, cxid, out),
            ZabMsg::Ping { sessions, proposed, .. } => {
                for s in sessions {
                    self.touch_session(now, s);
                }
                if proposed > Zxid::ZERO {
                    self.handle_proposal_ack(now, from, proposed, out);
                }
            }
            _ => {}
        }
    }

    /// A learner connects (or retries): remember its accepted epoch while the new epoch is
    /// still open, and tell it the epoch once there is one.
    fn handle_follower_info(
        &mut self,
        now: Millis,
        from: Sid,
        conn: ConnId,
        accepted_epoch: u32,
        history: Vec<Zxid>,
        out: &mut Out,
    ) {
        let l = leader(&mut self.role);
        let retry_of_known_conn = l.learners.get(&from).is_some_and(|x| x.conn == conn);
        if !retry_of_known_conn {
            l.learners.insert(from, Learner { conn, stage: LearnerStage::Connected, last_heard: now, history });
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
        // `Leader.waitForEpochAck`: only while the epoch is being agreed (once it is, the
        // method returns at once and latecomers are simply synced).
        if let (Some(epoch), LeaderPhase::EpochAck) = (current_epoch, l.phase) {
            let (my_epoch, my_zxid) = l.summary;
            if epoch > my_epoch || (epoch == my_epoch && last_zxid > my_zxid) {
                let reason = format!(
                    "Follower is ahead of the leader: leader summary {my_epoch}/{my_zxid}, follower {from} {epoch}/{last_zxid}"
                );
                self.become_looking(now, reason, out);
                return;
            }
            l.epoch_acks.insert(from);
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

    /// `LearnerHandler.syncFollower` then NEWLEADER: the learner's missing history (DIFF,
    /// TRUNC+DIFF or SNAP), the proposals still in flight, then NEWLEADER.
    fn send_new_leader(&mut self, sid: Sid, out: &mut Out) {
        let committed = self.db.last_applied();
        let l = leader(&mut self.role);
        let zxid = Zxid::new(l.new_epoch.expect("epoch proposed"), 0);
        let learner = l.learners.get_mut(&sid).expect("known learner");
        learner.stage = LearnerStage::NewLeaderSent;
        let conn = learner.conn;
        let peer_history = learner.history.clone();
        let in_flight: Vec<Zxid> = l.outstanding.keys().copied().collect();
        let peer_last = peer_history.iter().copied().max().unwrap_or(Zxid::ZERO);
        let common = super::storage::common_point(&peer_history, &self.db.history_summary());
        let diffable = common.and_then(|t| self.db.txns_after(t, committed).map(|txns| (t, txns)));
        let (mode, detail, msg) = match diffable {
            Some((t, txns)) if t == peer_last => {
                let detail =
                    format!("learner at {peer_last}, sending {} committed txn(s) up to {committed}", txns.len());
                ("DIFF", detail, ZabMsg::Diff { conn, txns, committed })
            }
            Some((t, txns)) => {
                let detail = format!("learner at {peer_last} diverged after {t}: truncate, then {} txn(s)", txns.len());
                ("TRUNC", detail, ZabMsg::Trunc { conn, zxid: t, txns, committed })
            }
            None => {
                let detail =
                    format!("learner at {peer_last} is older than the log kept here: sending the tree at {committed}");
                ("SNAP", detail, ZabMsg::Snap { conn, snapshot: Box::new(self.db.snapshot()) })
            }
        };
        out.push(Effect::Event(ZkEvent::SyncMode { learner: sid, mode: mode.into(), detail }));
        self.send(sid, msg, out);
        // Observers get in-flight txns as INFORMs once committed; voters get the proposals now.
        for z in in_flight.into_iter().filter(|_| self.config.is_voter(sid)) {
            let txn = self.db.logged(z).expect("outstanding proposals are logged").clone();
            self.send(sid, ZabMsg::Proposal { conn, txn }, out);
        }
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
        // The leader's SessionTracker starts every known session afresh.
        let sessions: Vec<(SessionId, u32)> = self.db.tree.sessions().iter().map(|(&s, &t)| (s, t)).collect();
        let l = leader(&mut self.role);
        for (s, t) in sessions {
            l.session_expiry.insert(s, (t, now + u64::from(t)));
        }
        out.push(Effect::Event(ZkEvent::Established { epoch, quorum, history: self.db.last_applied() }));
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
        let (proposed, committed) = (self.db.last_logged(), self.db.last_applied());
        for (sid, conn) in pings {
            self.send(sid, ZabMsg::Ping { conn, sessions: Vec::new(), proposed, committed }, out);
        }
        if self.established_epoch().is_some() {
            self.expire_sessions(now, out);
            self.reap_containers(now, out);
        }
    }

    /// A load-generator write: the established leader proposes a setData on `/`.
    pub(super) fn client_write(&mut self, now: Millis, out: &mut Out) {
        let writes = match &mut self.role {
            Role::Leading(l) if l.is_established() => {
                l.writes += 1;
                l.writes
            }
            _ => {
                let reason = format!("server is {}, not an active leader", self.state());
                out.push(Effect::Event(ZkEvent::WriteIgnored { reason }));
                return;
            }
        };
        let op = Op::SetData { path: "/".into(), data: format!("write {writes}").into_bytes(), version: -1 };
        self.propose(now, 0, 0, TxnKind::Op { op, auth: Vec::new() }, out);
    }

    /// `ProposalRequestProcessor`: stamp the next zxid, log it, send PROPOSAL to the learners.
    pub(super) fn propose(&mut self, now: Millis, session: SessionId, cxid: u32, kind: TxnKind, out: &mut Out) {
        let me = self.sid;
        let l = match &mut self.role {
            Role::Leading(l) if l.is_established() => l,
            _ => return,
        };
        l.zxid_counter += 1;
        let zxid = Zxid::new(l.new_epoch.expect("established"), l.zxid_counter);
        l.outstanding.insert(zxid, BTreeSet::from([me]));
        let targets: Vec<(Sid, ConnId)> =
            l.forwarding().into_iter().filter(|(s, _)| self.config.is_voter(*s)).collect();
        let time = self.config.wall_clock_base_ms + now;
        let txn = Txn { zxid, time, session, cxid, kind };
        self.db.append(txn.clone(), out);
        out.push(Effect::Event(ZkEvent::Wrote { zxid }));
        for (sid, conn) in targets {
            self.send(sid, ZabMsg::Proposal { conn, txn: txn.clone() }, out);
        }
        self.try_commit(now, out);
    }

    /// An ACK of proposal `zxid`. A learner logs proposals in order (a gap makes it
    /// reconnect), so its ACK of `zxid` vouches for every earlier outstanding one too.
    fn handle_proposal_ack(&mut self, now: Millis, from: Sid, zxid: Zxid, out: &mut Out) {
        let voter = self.config.is_voter(from);
        let l = leader(&mut self.role);
        if !voter || l.learners.get(&from).is_none_or(|x| x.stage < LearnerStage::NewLeaderSent) {
            return; // observers never ack proposals
        }
        for (_, acks) in l.outstanding.range_mut(..=zxid) {
            acks.insert(from);
        }
        self.try_commit(now, out);
    }

    /// `Leader.tryToCommit`: commit, in zxid order, every proposal a quorum has logged.
    fn try_commit(&mut self, now: Millis, out: &mut Out) {
        loop {
            let l = leader(&mut self.role);
            let Some((&zxid, acks)) = l.outstanding.first_key_value() else { break };
            if !self.config.quorum.contains_quorum(acks.iter()) {
                break;
            }
            l.outstanding.remove(&zxid);
            let targets = l.forwarding();
            for (sid, conn) in targets {
                if self.config.is_voter(sid) {
                    self.send(sid, ZabMsg::Commit { conn, zxid }, out);
                } else {
                    let txn = self.db.logged(zxid).expect("committed txns are logged").clone();
                    self.send(sid, ZabMsg::Inform { conn, txn }, out);
                }
            }
            let applied = self.db.commit_up_to(zxid, out);
            out.push(Effect::Event(ZkEvent::Committed { zxid, chain: self.db.chain() }));
            self.on_applied(now, applied, out);
            self.db.maybe_snapshot(out);
        }
        self.release_syncs(out);
    }

    /// `Leader.processSync`: answer once every proposal made before the sync is committed.
    pub(super) fn leader_sync(
        &mut self,
        _now: Millis,
        learner: Option<(Sid, ConnId)>,
        session: SessionId,
        cxid: u32,
        out: &mut Out,
    ) {
        let l = leader(&mut self.role);
        let after = l.outstanding.keys().next_back().copied().unwrap_or(Zxid::ZERO);
        l.syncs.push(SyncWaiter { after, learner, session, cxid });
        self.release_syncs(out);
    }

    fn release_syncs(&mut self, out: &mut Out) {
        let l = leader(&mut self.role);
        let pending_from = l.outstanding.keys().next().copied();
        let (ready, waiting): (Vec<SyncWaiter>, Vec<SyncWaiter>) =
            l.syncs.drain(..).partition(|w| pending_from.is_none_or(|p| w.after < p));
        l.syncs = waiting;
        for w in ready {
            match w.learner {
                Some((sid, conn)) => self.send(sid, ZabMsg::SyncReply { conn, session: w.session, cxid: w.cxid }, out),
                None => self.sync_done(w.session, w.cxid, out),
            }
        }
    }

    /// Session activity seen by the leader (its own clients, or learners' PINGs).
    pub(super) fn touch_session(&mut self, now: Millis, session: SessionId) {
        if let Role::Leading(l) = &mut self.role {
            if let Some((timeout, expires)) = l.session_expiry.get_mut(&session) {
                *expires = now + u64::from(*timeout);
            }
        }
    }

    pub(super) fn session_created(&mut self, now: Millis, session: SessionId, timeout_ms: u32) {
        if let Role::Leading(l) = &mut self.role {
            l.session_expiry.insert(session, (timeout_ms, now + u64::from(timeout_ms)));
        }
    }

    pub(super) fn session_closed(&mut self, session: SessionId) {
        if let Role::Leading(l) = &mut self.role {
            l.session_expiry.remove(&session);
            l.closing.remove(&session);
        }
    }

    /// `SessionTrackerImpl.run`: a session unheard for its timeout is expired, and the leader
    /// proposes closeSession (which deletes its ephemerals).
    fn expire_sessions(&mut self, now: Millis, out: &mut Out) {
        let l = leader(&mut self.role);
        let expired: Vec<SessionId> = l
            .session_expiry
            .iter()
            .filter(|(s, (_, at))| *at <= now && !l.closing.contains(s))
            .map(|(&s, _)| s)
            .collect();
        for s in expired {
            leader(&mut self.role).closing.insert(s);
            out.push(Effect::Event(ZkEvent::SessionExpiring { session: s }));
            self.propose(now, s, 0, TxnKind::CloseSession, out);
        }
    }

    /// `ContainerManager.checkContainers`: delete empty containers and expired TTL nodes.
    fn reap_containers(&mut self, now: Millis, out: &mut Out) {
        let interval = self.config.container_check_ms;
        let l = leader(&mut self.role);
        if l.next_reap > now {
            return;
        }
        l.next_reap = now + interval;
        for path in self.db.tree.reapable(self.config.wall_clock_base_ms + now) {
            self.propose(now, 0, 0, TxnKind::DeleteContainer { path }, out);
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
