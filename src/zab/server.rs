//! A ZooKeeper server (`QuorumPeer`): its durable epochs, its role, and the dispatch from
//! inputs to the role's handlers.
//!
//! ```text
//!            start / lost leader / lost quorum
//!   ┌──────────────────────────────────────────────┐
//!   ▼                                              │
//! LOOKING ──FLE decides for another──▶ FOLLOWING ──┤   (looking.rs, following.rs)
//!   │                                              │
//!   └──────FLE decides for itself───▶ LEADING ─────┘   (leading.rs)
//! ```
//!
//! In: `Notification`s on the election port, quorum packets, wake-ups, client writes.
//! Out: sends, one wake-up deadline, `currentEpoch`/`acceptedEpoch`/`lastZxid` writes, events.

use super::config::ZkConfig;
use super::following::FollowerState;
use super::leading::LeaderState;
use super::looking::Election;
use super::messages::{ConnId, ZabMsg};
use super::vote::{ServerState, Sid, Vote};
use super::zxid::Zxid;
use crate::sim::{Disk, Effect, Effects, Millis, NodeId, Process};
use serde::{Deserialize, Serialize};

pub type Out = Effects<ZabMsg, ZkEvent>;

/// Files on a server's simulated disk (ZooKeeper keeps the first two in `dataDir/version-2`).
pub const CURRENT_EPOCH_FILE: &str = "currentEpoch";
pub const ACCEPTED_EPOCH_FILE: &str = "acceptedEpoch";
/// Stand-in for the transaction log until replication lands: the last logged zxid.
pub const LAST_ZXID_FILE: &str = "lastZxid";
/// How many times this server has booted; makes connection ids unique across restarts.
pub const BOOT_FILE: &str = "boot";

/// What a server reports to the UI and to tests.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ZkEvent {
    StateChanged {
        from: Option<ServerState>,
        to: ServerState,
        round: u64,
        reason: String,
    },
    EpochProposed {
        epoch: u32,
    },
    /// A leader got NEWLEADER acks from a quorum: it now leads `epoch` (ZAB phase 3).
    Established {
        epoch: u32,
        quorum: Vec<Sid>,
    },
    /// A follower received UPTODATE from its leader.
    Synced {
        leader: Sid,
        epoch: u32,
    },
    Wrote {
        zxid: Zxid,
    },
    WriteIgnored {
        reason: String,
    },
}

/// Outside inputs to a server.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ZkCommand {
    /// A client write: an established leader stamps it with the next zxid and sends it to its
    /// followers, which advances everyone's last zxid.
    Write,
}

/// ZAB's phase as ZooKeeper 3.8 names it (`QuorumPeer.ZabState`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ZabPhase {
    Election,
    Discovery,
    Synchronization,
    Broadcast,
}

/// The UI's view of one server.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServerView {
    pub sid: Sid,
    pub state: ServerState,
    pub phase: ZabPhase,
    pub current_epoch: u32,
    pub accepted_epoch: u32,
    pub last_zxid: Zxid,
    /// The server's vote: its proposal while LOOKING, the decided vote otherwise.
    pub vote: Vote,
    pub logicalclock: u64,
    pub leader: Option<Sid>,
    /// For a leader: the followers synced with it.
    pub followers: Vec<Sid>,
}

pub(super) enum Role {
    Looking(Election),
    Following(FollowerState),
    Leading(LeaderState),
}

pub struct ZkServer {
    pub(super) sid: Sid,
    pub(super) config: ZkConfig,
    // Durable (on disk).
    pub(super) current_epoch: u32,
    pub(super) accepted_epoch: u32,
    pub(super) last_zxid: Zxid,
    boot: u64,
    // Volatile.
    pub(super) logicalclock: u64,
    pub(super) current_vote: Vote,
    pub(super) role: Role,
    next_conn: u32,
    last_wake: Option<Millis>,
}

fn read_num<T: std::str::FromStr + Default>(disk: &Disk, file: &str) -> T {
    disk.read(file).and_then(|s| s.trim().parse().ok()).unwrap_or_default()
}

impl ZkServer {
    /// Builds a server from its disk (empty on first boot), in state LOOKING.
    pub fn recover(sid: Sid, config: ZkConfig, disk: &Disk) -> ZkServer {
        let last_zxid = disk
            .read(LAST_ZXID_FILE)
            .and_then(|s| u64::from_str_radix(s.trim().trim_start_matches("0x"), 16).ok())
            .map(Zxid)
            .unwrap_or(Zxid::ZERO);
        let current_epoch = read_num(disk, CURRENT_EPOCH_FILE);
        let vote = Vote {
            leader: sid,
            zxid: last_zxid,
            peer_epoch: current_epoch,
            election_epoch: 0,
            state: ServerState::Looking,
        };
        ZkServer {
            sid,
            current_epoch,
            accepted_epoch: read_num(disk, ACCEPTED_EPOCH_FILE),
            last_zxid,
            boot: read_num(disk, BOOT_FILE),
            logicalclock: 0,
            current_vote: vote,
            role: Role::Looking(Election::new(sid, last_zxid, current_epoch, 0)),
            next_conn: 0,
            last_wake: None,
            config,
        }
    }

    pub fn state(&self) -> ServerState {
        match self.role {
            Role::Looking(_) => ServerState::Looking,
            Role::Following(_) => ServerState::Following,
            Role::Leading(_) => ServerState::Leading,
        }
    }

    pub fn current_epoch(&self) -> u32 {
        self.current_epoch
    }
    pub fn accepted_epoch(&self) -> u32 {
        self.accepted_epoch
    }
    pub fn last_zxid(&self) -> Zxid {
        self.last_zxid
    }

    /// The epoch this server leads with a quorum (ZAB broadcast phase), if any.
    pub fn established_epoch(&self) -> Option<u32> {
        match &self.role {
            Role::Leading(l) if l.is_established() => l.new_epoch,
            _ => None,
        }
    }

    /// The leader this server follows and is synced with, if any.
    pub fn synced_leader(&self) -> Option<Sid> {
        match &self.role {
            Role::Following(f) if f.is_synced() => Some(f.leader),
            _ => None,
        }
    }

    pub(super) fn set_current_epoch(&mut self, epoch: u32, out: &mut Out) {
        self.current_epoch = epoch;
        out.push(Effect::Persist { file: CURRENT_EPOCH_FILE.into(), contents: epoch.to_string() });
    }

    pub(super) fn set_accepted_epoch(&mut self, epoch: u32, out: &mut Out) {
        self.accepted_epoch = epoch;
        out.push(Effect::Persist { file: ACCEPTED_EPOCH_FILE.into(), contents: epoch.to_string() });
    }

    pub(super) fn log_zxid(&mut self, zxid: Zxid, out: &mut Out) {
        assert!(zxid > self.last_zxid, "zxid {zxid} logged after {}", self.last_zxid);
        self.last_zxid = zxid;
        out.push(Effect::Persist { file: LAST_ZXID_FILE.into(), contents: zxid.to_string() });
    }

    pub(super) fn new_conn_id(&mut self) -> ConnId {
        self.next_conn += 1;
        (self.boot << 32) | u64::from(self.next_conn)
    }

    pub(super) fn send(&self, to: Sid, msg: ZabMsg, out: &mut Out) {
        debug_assert_ne!(to, self.sid, "quorum packets never go to self");
        out.push(Effect::Send { to, msg });
    }

    pub(super) fn change_state(&mut self, role: Role, reason: String, out: &mut Out) {
        let from = self.state();
        self.role = role;
        let to = self.state();
        assert!(
            from == ServerState::Looking || to == ServerState::Looking,
            "invalid transition {from} -> {to}: a server only leaves FOLLOWING/LEADING for LOOKING"
        );
        out.push(Effect::Event(ZkEvent::StateChanged { from: Some(from), to, round: self.logicalclock, reason }));
    }

    /// The next time this server needs waking, from its role's deadlines.
    fn next_deadline(&self) -> Option<Millis> {
        match &self.role {
            Role::Looking(e) => e.next_deadline(),
            Role::Following(f) => f.next_deadline(),
            Role::Leading(l) => l.next_deadline(),
        }
    }

    fn finish_step(&mut self, now: Millis, out: &mut Out) {
        self.drain_self_notifications(now, out);
        let next = self.next_deadline();
        if next != self.last_wake {
            if let Some(at) = next {
                out.push(Effect::WakeAt(at.max(now)));
            }
            self.last_wake = next;
        }
    }

    fn handle_quorum_packet(&mut self, now: Millis, from: Sid, msg: ZabMsg, out: &mut Out) {
        match self.state() {
            ServerState::Following => self.step_following(now, from, msg, out),
            ServerState::Leading => self.step_leading(now, from, msg, out),
            // A LOOKING server has no quorum connections: ZooKeeper would refuse the connection.
            ServerState::Looking => {}
        }
    }
}

impl Process for ZkServer {
    type Msg = ZabMsg;
    type Event = ZkEvent;
    type Command = ZkCommand;
    type View = ServerView;

    fn id(&self) -> NodeId {
        self.sid
    }

    fn start(&mut self, now: Millis, out: &mut Out) {
        self.boot += 1;
        out.push(Effect::Persist { file: BOOT_FILE.into(), contents: self.boot.to_string() });
        out.push(Effect::Event(ZkEvent::StateChanged {
            from: None,
            to: ServerState::Looking,
            round: self.logicalclock + 1,
            reason: format!("started (currentEpoch={}, lastZxid={})", self.current_epoch, self.last_zxid),
        }));
        self.look_for_leader(now, out);
        self.finish_step(now, out);
    }

    fn message(&mut self, now: Millis, from: NodeId, msg: ZabMsg, out: &mut Out) {
        if !self.config.quorum.voters.contains(&from) || from == self.sid {
            return; // not a member of this ensemble: ZooKeeper drops the connection
        }
        match msg {
            ZabMsg::Notification(n) => self.receive_notification(now, from, n, out),
            other => self.handle_quorum_packet(now, from, other, out),
        }
        self.finish_step(now, out);
    }

    fn wake(&mut self, now: Millis, out: &mut Out) {
        self.last_wake = None;
        match self.state() {
            ServerState::Looking => self.tick_looking(now, out),
            ServerState::Following => self.tick_following(now, out),
            ServerState::Leading => self.tick_leading(now, out),
        }
        self.finish_step(now, out);
    }

    fn connection_lost(&mut self, now: Millis, peer: NodeId, out: &mut Out) {
        match &mut self.role {
            Role::Following(f) if f.leader == peer => {
                let reason = format!("Exception when following the leader: connection to leader {peer} reset (EOF)");
                self.become_looking(now, reason, out);
            }
            // The learner's handler dies; the next quorum check counts without it.
            Role::Leading(l) => l.drop_learner(peer),
            _ => {}
        }
        self.finish_step(now, out);
    }

    fn command(&mut self, now: Millis, cmd: ZkCommand, out: &mut Out) {
        match cmd {
            ZkCommand::Write => self.client_write(now, out),
        }
        self.finish_step(now, out);
    }

    fn view(&self) -> ServerView {
        let (phase, leader, followers) = match &self.role {
            Role::Looking(_) => (ZabPhase::Election, None, Vec::new()),
            Role::Following(f) => (f.phase(), Some(f.leader), Vec::new()),
            Role::Leading(l) => (l.phase(), Some(self.sid), l.synced_followers()),
        };
        let vote = match &self.role {
            Role::Looking(e) => e.proposal_vote(self.logicalclock),
            _ => self.current_vote,
        };
        ServerView {
            sid: self.sid,
            state: self.state(),
            phase,
            current_epoch: self.current_epoch,
            accepted_epoch: self.accepted_epoch,
            last_zxid: self.last_zxid,
            vote,
            logicalclock: self.logicalclock,
            leader,
            followers,
        }
    }

    fn check_invariants(&self) -> Result<(), String> {
        if self.current_epoch > self.accepted_epoch {
            return Err(format!("currentEpoch {} > acceptedEpoch {}", self.current_epoch, self.accepted_epoch));
        }
        if self.last_zxid.epoch() > self.current_epoch {
            return Err(format!(
                "lastZxid {} is from an epoch after currentEpoch {}",
                self.last_zxid, self.current_epoch
            ));
        }
        if let Some(epoch) = self.established_epoch() {
            if epoch != self.current_epoch {
                return Err(format!("established leader of epoch {epoch} has currentEpoch {}", self.current_epoch));
            }
        }
        Ok(())
    }
}
