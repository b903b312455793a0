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

use super::clients::{ClientConn, ClientReq, ClientResp, Clients};
use super::config::ZkConfig;
use super::following::FollowerState;
use super::leading::LeaderState;
use super::looking::Election;
use super::messages::{ConnId, ZabMsg};
use super::storage::ZkDatabase;
use super::vote::{ServerState, Sid, Vote};
use super::zxid::Zxid;
use crate::sim::{Disk, Effect, Effects, Millis, NodeId, Process};
use serde::{Deserialize, Serialize};

pub type Out = Effects<ZabMsg, ZkEvent>;

/// Files on a server's simulated disk (ZooKeeper keeps the first two in `dataDir/version-2`).
pub const CURRENT_EPOCH_FILE: &str = "currentEpoch";
pub const ACCEPTED_EPOCH_FILE: &str = "acceptedEpoch";
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
        /// The leader's whole history at that moment ends here.
        history: Zxid,
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
    /// A txn was applied to this server's tree; `chain` hashes the whole history up to it.
    Applied {
        zxid: Zxid,
        prev: Zxid,
        chain: u64,
    },
    /// The leader committed `zxid` (a quorum logged it).
    Committed {
        zxid: Zxid,
        chain: u64,
    },
    /// How the leader synchronizes a learner: DIFF, TRUNC or SNAP.
    SyncMode {
        learner: Sid,
        mode: String,
        detail: String,
    },
    Snapshot {
        zxid: Zxid,
    },
    /// The leader expired a session (it will propose closeSession).
    SessionExpiring {
        session: crate::zk::SessionId,
    },
    /// A message to a client connected to this server.
    Client {
        conn: ClientConn,
        resp: ClientResp,
    },
}

/// Outside inputs to a server.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ZkCommand {
    /// A load-generator write: an established leader proposes a setData on `/`.
    Write,
    /// A packet from a client connection (the client's TCP connection to this server).
    Client { conn: ClientConn, req: ClientReq },
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
    /// The last txn applied to the tree (committed), and the tree itself.
    pub last_applied: Zxid,
    pub tree: crate::zk::DataTree,
    /// For a leader: proposals awaiting a quorum, with the servers that acked each.
    pub pipeline: Vec<(Zxid, Vec<Sid>)>,
    /// Client connections on this server: (session, watched paths).
    pub sessions: Vec<crate::zk::SessionId>,
    pub watched: Vec<String>,
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
    /// The tree, the txn log and the snapshots.
    pub(super) db: ZkDatabase,
    pub(super) boot: u64,
    pub(super) clients: Clients,
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
        let db = ZkDatabase::recover(disk, config.snap_count);
        let last_zxid = db.last_logged();
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
            db,
            boot: read_num(disk, BOOT_FILE),
            clients: Clients::default(),
            logicalclock: 0,
            current_vote: vote,
            role: Role::Looking(Election::new(sid, last_zxid, current_epoch, 0)),
            next_conn: 0,
            last_wake: None,
            config,
        }
    }

    pub fn state(&self) -> ServerState {
        match &self.role {
            Role::Looking(_) => ServerState::Looking,
            Role::Following(f) if f.observer => ServerState::Observing,
            Role::Following(_) => ServerState::Following,
            Role::Leading(_) => ServerState::Leading,
        }
    }

    pub fn config(&self) -> &ZkConfig {
        &self.config
    }

    pub fn current_epoch(&self) -> u32 {
        self.current_epoch
    }
    pub fn accepted_epoch(&self) -> u32 {
        self.accepted_epoch
    }
    pub fn last_zxid(&self) -> Zxid {
        self.db.last_logged()
    }

    /// The last committed txn this server applied.
    pub fn last_applied(&self) -> Zxid {
        self.db.last_applied()
    }

    pub fn tree(&self) -> &crate::zk::DataTree {
        &self.db.tree
    }

    /// Hash of this server's applied history.
    pub fn history_chain(&self) -> u64 {
        self.db.chain()
    }

    /// Whether this server answers clients (a synced follower or an established leader).
    pub fn is_serving(&self) -> bool {
        self.established_epoch().is_some() || self.synced_leader().is_some()
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
        if from != ServerState::Looking {
            self.drop_clients(out); // a server that stops serving closes its client connections
        }
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
            ServerState::Following | ServerState::Observing => self.step_following(now, from, msg, out),
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
            reason: format!(
                "started (currentEpoch={}, lastZxid={}, tree at {})",
                self.current_epoch,
                self.db.last_logged(),
                self.db.last_applied()
            ),
        }));
        // `FileTxnSnapLog.restore`: the snapshot is loaded; replay the log after it.
        self.db.replay(out);
        self.look_for_leader(now, out);
        self.finish_step(now, out);
    }

    fn message(&mut self, now: Millis, from: NodeId, msg: ZabMsg, out: &mut Out) {
        if !self.config.is_member(from) || from == self.sid {
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
            ServerState::Following | ServerState::Observing => self.tick_following(now, out),
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
            ZkCommand::Client { conn, req } => self.client_packet(now, conn, req, out),
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
        let pipeline = match &self.role {
            Role::Leading(l) => l.pipeline(),
            _ => Vec::new(),
        };
        ServerView {
            sid: self.sid,
            state: self.state(),
            phase,
            current_epoch: self.current_epoch,
            accepted_epoch: self.accepted_epoch,
            last_zxid: self.db.last_logged(),
            vote,
            logicalclock: self.logicalclock,
            leader,
            followers,
            last_applied: self.db.last_applied(),
            tree: self.db.tree.clone(),
            pipeline,
            sessions: self.clients.sessions(),
            watched: self.clients.watched_paths(),
        }
    }

    fn check_invariants(&self) -> Result<(), String> {
        if self.current_epoch > self.accepted_epoch {
            return Err(format!("currentEpoch {} > acceptedEpoch {}", self.current_epoch, self.accepted_epoch));
        }
        let last = self.db.last_logged();
        if last.epoch() > self.current_epoch.max(self.accepted_epoch) {
            return Err(format!("lastZxid {last} is from an epoch after acceptedEpoch {}", self.accepted_epoch));
        }
        if self.db.last_applied() > last {
            return Err(format!("applied {} past the log's end {last}", self.db.last_applied()));
        }
        if let Some(epoch) = self.established_epoch() {
            if epoch != self.current_epoch {
                return Err(format!("established leader of epoch {epoch} has currentEpoch {}", self.current_epoch));
            }
        }
        Ok(())
    }
}
