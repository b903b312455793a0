//! Fast Leader Election (`FastLeaderElection.lookForLeader` and its `WorkerReceiver`), as
//! ZooKeeper 3.8 runs it, turned inside out: instead of a thread blocking on a queue, each
//! notification and each timeout is one step.
//!
//! ```text
//! in:  Notification(leader, zxid, peerEpoch, round, state) from a voter; timeouts
//! out: Notifications to every voter; on decision FOLLOWING(leader) or LEADING
//! ```
//!
//! A round: bump the logical clock, vote for yourself, tell everyone. Adopt any better vote
//! (epoch, then zxid, then id) and tell everyone again. Once a quorum's votes match yours, wait
//! `finalizeWait` for something better; if nothing comes, decide. Votes from servers that already
//! follow or lead are collected separately, so a server that restarts joins the leader that is
//! already there.

use super::messages::ZabMsg;
use super::server::{Out, Role, ZkServer};
use super::vote::{has_quorum_for, total_order_predicate, Notification, ServerState, Sid, Vote};
use super::zxid::Zxid;
use super::{following::FollowerState, leading::LeaderState};
use crate::sim::{Effect, Millis};
use std::collections::BTreeMap;

/// One run of `lookForLeader`.
pub struct Election {
    /// (proposedLeader, proposedZxid, proposedEpoch)
    proposal: (Sid, Zxid, u32),
    /// Votes of this round, from LOOKING servers and settled ones in the same round.
    recvset: BTreeMap<Sid, Vote>,
    /// Votes from servers already FOLLOWING or LEADING, whatever their round.
    outofelection: BTreeMap<Sid, Vote>,
    /// The current notification timeout; doubles up to maxNotificationInterval.
    not_timeout_ms: Millis,
    poll_deadline: Option<Millis>,
    /// Set while waiting `finalizeWait` after a quorum agreed.
    finalize_deadline: Option<Millis>,
    /// Our own notification, which ZooKeeper delivers to itself through its queue.
    self_pending: bool,
}

impl Election {
    pub fn new(sid: Sid, zxid: Zxid, epoch: u32, not_timeout_ms: Millis) -> Election {
        Election {
            proposal: (sid, zxid, epoch),
            recvset: BTreeMap::new(),
            outofelection: BTreeMap::new(),
            not_timeout_ms,
            poll_deadline: None,
            finalize_deadline: None,
            self_pending: false,
        }
    }

    pub fn next_deadline(&self) -> Option<Millis> {
        match (self.finalize_deadline, self.poll_deadline) {
            (Some(f), _) => Some(f),
            (None, p) => p,
        }
    }

    pub fn proposal_vote(&self, round: u64) -> Vote {
        let (leader, zxid, peer_epoch) = self.proposal;
        Vote { leader, zxid, peer_epoch, election_epoch: round, state: ServerState::Looking }
    }
}

impl ZkServer {
    /// `getInitId`/`getInitLastLoggedZxid`/`getPeerEpoch`: a non-voter proposes nobody (id 0,
    /// below every real server), so its vote never wins and it adopts the voters'.
    fn init_proposal(&self) -> (Sid, Zxid, u32) {
        if self.config.is_voter(self.sid) {
            (self.sid, self.db.last_logged(), self.current_epoch)
        } else {
            (0, Zxid::ZERO, 0)
        }
    }

    /// Starts a new election round (`lookForLeader`'s prologue).
    pub(super) fn look_for_leader(&mut self, now: Millis, out: &mut Out) {
        self.logicalclock += 1;
        let (id, zxid, epoch) = self.init_proposal();
        let mut election = Election::new(id, zxid, epoch, self.config.min_notification_interval_ms);
        election.poll_deadline = Some(now + election.not_timeout_ms);
        self.role = Role::Looking(election);
        self.send_notifications(out);
    }

    /// Leaves FOLLOWING or LEADING for a new election.
    pub(super) fn become_looking(&mut self, now: Millis, reason: String, out: &mut Out) {
        let placeholder = Election::new(self.sid, self.db.last_logged(), self.current_epoch, 0);
        self.change_state(Role::Looking(placeholder), reason, out);
        self.look_for_leader(now, out);
    }

    fn send_notifications(&mut self, out: &mut Out) {
        let n = self.my_notification();
        for sid in self.config.voters().filter(|&s| s != self.sid) {
            out.push(Effect::Send { to: sid, msg: ZabMsg::Notification(n) });
        }
        election(&mut self.role).self_pending = true;
    }

    /// What this server says when asked for its vote: its proposal while LOOKING, its decided
    /// vote otherwise.
    fn my_notification(&self) -> Notification {
        match &self.role {
            Role::Looking(e) => {
                let (leader, zxid, peer_epoch) = e.proposal;
                Notification {
                    leader,
                    zxid,
                    peer_epoch,
                    election_epoch: self.logicalclock,
                    state: ServerState::Looking,
                }
            }
            _ => {
                let v = self.current_vote;
                Notification {
                    leader: v.leader,
                    zxid: v.zxid,
                    peer_epoch: v.peer_epoch,
                    election_epoch: v.election_epoch,
                    state: self.state(),
                }
            }
        }
    }

    /// Processes our own notification, as ZooKeeper's self-delivery through the queue does.
    pub(super) fn drain_self_notifications(&mut self, now: Millis, out: &mut Out) {
        // Each pass either decides nothing new or changes state; bounded by the vote order.
        for _ in 0..4 {
            let Role::Looking(e) = &mut self.role else { return };
            if !e.self_pending {
                return;
            }
            e.self_pending = false;
            let n = self.my_notification();
            self.handle_notification(now, self.sid, n, out);
        }
    }

    /// `WorkerReceiver`: every notification lands here, whatever our state.
    pub(super) fn receive_notification(&mut self, now: Millis, from: Sid, n: Notification, out: &mut Out) {
        if !self.config.is_voter(from) {
            // `WorkerReceiver`: a non-voting member (an observer) just gets our current vote.
            out.push(Effect::Send { to: from, msg: ZabMsg::Notification(self.my_notification()) });
            return;
        }
        if !self.config.is_voter(n.leader) {
            return; // `validVoter(n.leader)`: votes for non-voters are ignored
        }
        if self.state() == ServerState::Looking {
            // A LOOKING sender still in an older round gets our current proposal back.
            let reply_needed = n.state == ServerState::Looking && n.election_epoch < self.logicalclock;
            self.handle_notification(now, from, n, out);
            if reply_needed && self.state() == ServerState::Looking {
                out.push(Effect::Send { to: from, msg: ZabMsg::Notification(self.my_notification()) });
            }
        } else if n.state == ServerState::Looking {
            // A settled server tells a LOOKING one whom it follows or that it leads.
            out.push(Effect::Send { to: from, msg: ZabMsg::Notification(self.my_notification()) });
        }
    }

    /// The body of `lookForLeader`'s loop for one received notification.
    fn handle_notification(&mut self, now: Millis, from: Sid, n: Notification, out: &mut Out) {
        let not_timeout = election(&mut self.role).not_timeout_ms;
        let e = election(&mut self.role);
        e.poll_deadline = Some(now + not_timeout);
        if e.finalize_deadline.is_some() {
            // Waiting out finalizeWait: only a better vote interrupts it. Others are consumed,
            // and, as `recvqueue.poll(finalizeWait)` in a loop does, each restarts the wait: the
            // decision comes after finalizeWait of quiet.
            if !total_order_predicate((n.leader, n.zxid, n.peer_epoch), e.proposal, 1) {
                e.finalize_deadline = Some(now + self.config.finalize_wait_ms);
                return;
            }
            e.finalize_deadline = None;
        }
        match n.state {
            ServerState::Looking => self.handle_looking_vote(now, from, n, out),
            ServerState::Following | ServerState::Leading => self.handle_settled_vote(now, from, n, out),
            ServerState::Observing => {}
        }
    }

    fn handle_looking_vote(&mut self, now: Millis, from: Sid, n: Notification, out: &mut Out) {
        let weight = self.config.quorum.weight(n.leader);
        let theirs = (n.leader, n.zxid, n.peer_epoch);
        if n.election_epoch > self.logicalclock {
            // We are behind: jump to their round and start over from the better of ours and theirs.
            self.logicalclock = n.election_epoch;
            let init = self.init_proposal();
            let e = election(&mut self.role);
            e.recvset.clear();
            e.proposal = if total_order_predicate(theirs, init, weight) { theirs } else { init };
            self.send_notifications(out);
        } else if n.election_epoch < self.logicalclock {
            return; // an older round: ignored
        } else if total_order_predicate(theirs, election(&mut self.role).proposal, weight) {
            election(&mut self.role).proposal = theirs;
            self.send_notifications(out);
        }
        let round = self.logicalclock;
        let e = election(&mut self.role);
        e.recvset.insert(from, n.vote());
        let mine = e.proposal_vote(round);
        if has_quorum_for(&self.config.quorum, &e.recvset, &mine) {
            e.finalize_deadline = Some(now + self.config.finalize_wait_ms);
        }
    }

    fn handle_settled_vote(&mut self, now: Millis, from: Sid, n: Notification, out: &mut Out) {
        let theirs = n.vote();
        if n.election_epoch == self.logicalclock {
            let e = election(&mut self.role);
            e.recvset.insert(from, theirs);
            let agreed = has_quorum_for(&self.config.quorum, &e.recvset, &theirs);
            if agreed && self.check_leader(true, n.leader, n.election_epoch) {
                self.decide(now, theirs, "a quorum of this round follows it".into(), out);
                return;
            }
        }
        let e = election(&mut self.role);
        e.outofelection.insert(from, theirs);
        let agreed = has_quorum_for(&self.config.quorum, &e.outofelection, &theirs);
        if agreed && self.check_leader(false, n.leader, n.election_epoch) {
            self.logicalclock = n.election_epoch;
            self.decide(now, theirs, "joined the established leader".into(), out);
        }
    }

    /// `checkLeader`: a leader other than us must itself say it is LEADING; if the votes name
    /// us, they must be of our round.
    fn check_leader(&mut self, in_round: bool, leader: Sid, election_epoch: u64) -> bool {
        let sid = self.sid;
        let round = self.logicalclock;
        let e = election(&mut self.role);
        let votes = if in_round { &e.recvset } else { &e.outofelection };
        if leader != sid {
            votes.get(&leader).is_some_and(|v| v.state == ServerState::Leading)
        } else {
            round == election_epoch
        }
    }

    pub(super) fn tick_looking(&mut self, now: Millis, out: &mut Out) {
        let max = self.config.max_notification_interval_ms;
        let e = election(&mut self.role);
        if e.finalize_deadline.is_some_and(|t| t <= now) {
            let vote = e.proposal_vote(self.logicalclock);
            self.decide(now, vote, "no better vote within finalizeWait".into(), out);
            return;
        }
        if e.poll_deadline.is_some_and(|t| t <= now) {
            // Nothing heard for a whole timeout: say it again, and back off.
            e.not_timeout_ms = (e.not_timeout_ms * 2).min(max);
            e.poll_deadline = Some(now + e.not_timeout_ms);
            self.send_notifications(out);
        }
    }

    /// `setPeerState`: lead if the vote names us, follow otherwise.
    fn decide(&mut self, now: Millis, vote: Vote, why: String, out: &mut Out) {
        self.current_vote = Vote { election_epoch: self.logicalclock, state: ServerState::Looking, ..vote };
        if vote.leader == self.sid {
            self.current_vote.state = ServerState::Leading;
            let reason = format!("elected leader in round {} ({why})", self.logicalclock);
            let leader = LeaderState::new(now, self);
            self.change_state(Role::Leading(leader), reason, out);
            self.start_leading(now, out);
        } else {
            let observer = !self.config.is_voter(self.sid);
            self.current_vote.state = if observer { ServerState::Observing } else { ServerState::Following };
            let verb = if observer { "observing" } else { "following" };
            let reason = format!("{verb} {} after round {} ({why})", vote.leader, self.logicalclock);
            let conn = self.new_conn_id();
            let mut follower = FollowerState::new(now, vote.leader, conn, &self.config);
            follower.observer = observer;
            self.change_state(Role::Following(follower), reason, out);
            self.start_following(now, out);
        }
    }
}

/// The LOOKING role's state; asking for it in another role is a bug.
fn election(role: &mut Role) -> &mut Election {
    match role {
        Role::Looking(x) => x,
        _ => panic!("Election used outside the LOOKING role"),
    }
}
