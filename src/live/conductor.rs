//! The page's main-thread brain: a virtual clock that runs at a chosen speed (or pauses), the
//! virtual network every message crosses, each node's timers and simulated disk, and a log of
//! what happened. It never touches a worker: it returns `Post`s for the runtime to deliver and
//! takes the workers' outputs back.
//!
//! ```text
//! runtime ── advance(wall ms) / worker_output / kill / restart / command ──▶ Conductor
//! runtime ◀──────────── Post{sid, generation, ToWorker} ──────────────────── Conductor
//! UI      ◀──────────── snapshot() ───────────────────────────────────────── Conductor
//! client  ── client_send(sid, conn, req) ──▶ Conductor ──Post──▶ that server's worker
//! client  ◀── take_client_mail(owns): what servers said to its connections ── Conductor
//! ```

use super::clock::{next_due, Due};
use super::protocol::{FromWorker, ToWorker};
use crate::sim::{Disk, Effect, LinkConfig, Millis, Network, Rng};
use crate::zab::clients::{ClientConn, ClientReq, ClientResp};
use crate::zab::{ServerView, Sid, ZabMsg, ZkCommand, ZkConfig, ZkEvent};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet, VecDeque};

/// How many log entries the page keeps.
pub const LOG_CAPACITY: usize = 400;
/// Bound on client mail nobody collected.
pub const CLIENT_INBOX_CAPACITY: usize = 10_000;
/// At most this much virtual time passes in one `advance`, so a background tab that wakes up
/// does not replay minutes at once.
pub const MAX_STEP_MS: f64 = 2_000.0;

/// A message for one node's worker. `generation` names the worker incarnation it is for.
#[derive(Clone, Debug, PartialEq)]
pub struct Post {
    pub sid: Sid,
    pub generation: u32,
    pub msg: ToWorker,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum NodeStatus {
    /// Worker spawned, wasm still loading.
    Starting,
    Running,
    /// Killed by the user (`Worker.terminate()`).
    Down,
    /// The worker died on its own (a panic); the message says why.
    Crashed(String),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum LogKind {
    Vote,
    Zab,
    State,
    Fault,
    Client,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogEntry {
    pub seq: u64,
    pub at: Millis,
    pub kind: LogKind,
    pub node: Sid,
    pub peer: Option<Sid>,
    pub text: String,
}

/// What a server said to one client connection.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientMail {
    pub sid: Sid,
    pub conn: ClientConn,
    pub resp: ClientResp,
}

/// A message on the wire, for drawing.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Flight {
    pub from: Sid,
    pub to: Sid,
    pub kind: String,
    pub sent_at: Millis,
    pub arrive_at: Millis,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeCard {
    pub sid: Sid,
    pub status: NodeStatus,
    pub view: Option<ServerView>,
    /// Cut off from every other server by a partition.
    pub isolated: bool,
}

impl NodeCard {
    /// The page's test contract: `looking` | `following` | `leading` | `down`.
    pub fn data_state(&self) -> &'static str {
        match (&self.status, &self.view) {
            (NodeStatus::Running, Some(v)) => v.state.as_str(),
            (NodeStatus::Starting, _) | (NodeStatus::Running, None) => "looking",
            _ => "down",
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stats {
    pub delivered: u64,
    pub dropped: u64,
    pub leaders_established: u64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ClusterSnapshot {
    pub now_ms: Millis,
    pub paused: bool,
    pub speed: f64,
    pub nodes: Vec<NodeCard>,
    pub log: Vec<LogEntry>,
    pub flights: Vec<Flight>,
    pub stats: Stats,
}

impl ClusterSnapshot {
    pub fn leader(&self) -> Option<Sid> {
        let leaders: Vec<Sid> = self.nodes.iter().filter(|n| n.data_state() == "leading").map(|n| n.sid).collect();
        (leaders.len() == 1).then(|| leaders[0])
    }
}

enum Wire {
    Msg(ZabMsg),
    Reset,
}

struct InFlight {
    from: Sid,
    to: Sid,
    sent_at: Millis,
    wire: Wire,
}

struct Slot {
    status: NodeStatus,
    generation: u32,
    view: Option<ServerView>,
    disk: Disk,
    wake_at: Option<Millis>,
    /// Inputs held until the worker says it is ready.
    pending: Vec<ToWorker>,
}

pub struct Conductor {
    now: Millis,
    carry_ms: f64,
    speed: f64,
    paused: bool,
    config: ZkConfig,
    network: Network,
    rng: Rng,
    seq: u64,
    in_flight: BTreeMap<(Millis, u64), InFlight>,
    nodes: BTreeMap<Sid, Slot>,
    isolated: BTreeSet<Sid>,
    log: VecDeque<LogEntry>,
    log_seq: u64,
    stats: Stats,
    /// What servers said to client connections, for the page's clients to collect.
    client_inbox: Vec<ClientMail>,
}

impl Conductor {
    /// A cluster of `n` servers, each waiting for its worker. The network is a LAN: 20–40 ms
    /// per hop, slow enough to watch at 1× speed.
    pub fn new(n: u32, seed: u64) -> Conductor {
        Conductor::with_observers(n, 0, seed)
    }

    /// `voters` voting servers and `observers` observers (ids after the voters'), which never
    /// vote, learn committed txns from INFORM and serve clients.
    pub fn with_observers(voters: u32, observers: u32, seed: u64) -> Conductor {
        let n = voters + observers;
        let config = ZkConfig::with_observers(voters, observers);
        let network = Network::new(LinkConfig { latency_ms: 20, jitter_ms: 20, loss_ppm: 0, dup_ppm: 0, fifo: true });
        let mut c = Conductor {
            now: 0,
            carry_ms: 0.0,
            speed: 1.0,
            paused: false,
            config,
            network,
            rng: Rng::new(seed),
            seq: 0,
            in_flight: BTreeMap::new(),
            nodes: BTreeMap::new(),
            isolated: BTreeSet::new(),
            log: VecDeque::new(),
            log_seq: 0,
            stats: Stats::default(),
            client_inbox: Vec::new(),
        };
        for sid in 1..=n {
            c.nodes.insert(
                sid,
                Slot {
                    status: NodeStatus::Down,
                    generation: 0,
                    view: None,
                    disk: Disk::default(),
                    wake_at: None,
                    pending: Vec::new(),
                },
            );
            c.restart(sid);
        }
        c
    }

    pub fn now(&self) -> Millis {
        self.now
    }
    pub fn ids(&self) -> Vec<Sid> {
        self.nodes.keys().copied().collect()
    }
    pub fn generation(&self, sid: Sid) -> u32 {
        self.nodes[&sid].generation
    }
    pub fn status(&self, sid: Sid) -> &NodeStatus {
        &self.nodes[&sid].status
    }
    /// The latest view a server's worker reported (None while it loads or once it is dead).
    pub fn view(&self, sid: Sid) -> Option<&ServerView> {
        let slot = self.nodes.get(&sid)?;
        if self.is_alive(sid) {
            slot.view.as_ref()
        } else {
            None
        }
    }
    pub fn set_speed(&mut self, speed: f64) {
        self.speed = speed.clamp(0.05, 20.0);
    }
    pub fn set_paused(&mut self, paused: bool) {
        self.paused = paused;
    }
    /// Moves virtual time forward by `wall_ms × speed` (unless paused) and returns the inputs
    /// that fell due: deliveries, resets and timer wake-ups, in time order.
    pub fn advance(&mut self, wall_ms: f64) -> Vec<Post> {
        if self.paused || !wall_ms.is_finite() || wall_ms <= 0.0 {
            return Vec::new();
        }
        self.carry_ms += (wall_ms * self.speed).min(MAX_STEP_MS);
        let whole = self.carry_ms.floor();
        self.carry_ms -= whole;
        self.run_to(self.now + whole as Millis)
    }

    /// Processes everything due up to `until`, in (time, sequence) order.
    fn run_to(&mut self, until: Millis) -> Vec<Post> {
        let mut posts = Vec::new();
        loop {
            let next_flight = self.in_flight.first_key_value().map(|(&(t, _), _)| t);
            let next_wake = self.nodes.iter().filter_map(|(&s, n)| n.wake_at.map(|t| (t, s))).min();
            match next_due(next_flight, next_wake, until) {
                None => break,
                Some(Due::Flight(t)) => {
                    self.now = t;
                    let (_, flight) = self.in_flight.pop_first().expect("checked");
                    self.deliver(flight, &mut posts);
                }
                Some(Due::Wake(t, sid)) => {
                    self.now = t;
                    self.nodes.get_mut(&sid).expect("known").wake_at = None;
                    self.post(sid, ToWorker::Wake { now: t }, &mut posts);
                }
            }
        }
        self.now = self.now.max(until);
        posts
    }

    fn deliver(&mut self, flight: InFlight, posts: &mut Vec<Post>) {
        let InFlight { from, to, wire, .. } = flight;
        // A partition also swallows what was already on the wire.
        if !self.is_alive(to) || !self.network.connected(from, to) {
            self.stats.dropped += 1;
            return;
        }
        match wire {
            Wire::Msg(msg) => {
                self.stats.delivered += 1;
                match &msg {
                    ZabMsg::Notification(_) => self.log(LogKind::Vote, from, Some(to), format!("{msg}")),
                    ZabMsg::Ping { .. } => {}
                    _ => self.log(LogKind::Zab, from, Some(to), format!("{msg}")),
                }
                self.post(to, ToWorker::Deliver { now: self.now, from, msg }, posts);
            }
            Wire::Reset => self.post(to, ToWorker::ConnectionLost { now: self.now, peer: from }, posts),
        }
    }

    pub fn is_alive(&self, sid: Sid) -> bool {
        matches!(self.nodes[&sid].status, NodeStatus::Starting | NodeStatus::Running)
    }

    /// Sends to a running worker, holds for a starting one, drops for a dead one.
    fn post(&mut self, sid: Sid, msg: ToWorker, posts: &mut Vec<Post>) {
        let slot = self.nodes.get_mut(&sid).expect("post to unknown node");
        match slot.status {
            NodeStatus::Running => posts.push(Post { sid, generation: slot.generation, msg }),
            NodeStatus::Starting => slot.pending.push(msg),
            NodeStatus::Down | NodeStatus::Crashed(_) => {}
        }
    }

    /// A worker finished loading: release what was held for it.
    pub fn worker_ready(&mut self, sid: Sid, generation: u32) -> Vec<Post> {
        let slot = self.nodes.get_mut(&sid).expect("unknown node");
        if slot.generation != generation || slot.status != NodeStatus::Starting {
            return Vec::new();
        }
        slot.status = NodeStatus::Running;
        let pending = std::mem::take(&mut slot.pending);
        pending.into_iter().map(|msg| Post { sid, generation, msg }).collect()
    }

    /// Applies a worker's output: routes its sends, sets its timer, writes its disk, logs.
    pub fn worker_output(&mut self, sid: Sid, generation: u32, output: FromWorker) -> Vec<Post> {
        let FromWorker::Output { effects, view } = output else {
            return self.worker_ready(sid, generation);
        };
        if self.nodes[&sid].generation != generation || !self.is_alive(sid) {
            return Vec::new(); // from a worker that has since been killed
        }
        self.nodes.get_mut(&sid).expect("known").view = Some(*view);
        for effect in effects {
            match effect {
                Effect::Send { to, msg } => self.send(sid, to, Wire::Msg(msg)),
                Effect::WakeAt(at) => self.nodes.get_mut(&sid).expect("known").wake_at = Some(at.max(self.now)),
                Effect::Persist { file, contents } => {
                    self.nodes.get_mut(&sid).expect("known").disk.write(&file, contents)
                }
                Effect::Remove { file } => self.nodes.get_mut(&sid).expect("known").disk.remove(&file),
                Effect::Event(event) => self.log_event(sid, event),
            }
        }
        Vec::new()
    }

    fn send(&mut self, from: Sid, to: Sid, wire: Wire) {
        if !self.nodes.contains_key(&to) {
            return;
        }
        for arrive_at in self.network.route(from, to, self.now, &mut self.rng) {
            self.seq += 1;
            let wire = match &wire {
                Wire::Msg(m) => Wire::Msg(m.clone()),
                Wire::Reset => Wire::Reset,
            };
            self.in_flight.insert((arrive_at, self.seq), InFlight { from, to, sent_at: self.now, wire });
        }
    }

    /// Kills a node's worker: it stops at once, its disk stays, its peers see the reset.
    pub fn kill(&mut self, sid: Sid) {
        if !self.is_alive(sid) {
            return;
        }
        self.take_down(sid, NodeStatus::Down);
        self.log(LogKind::Fault, sid, None, "killed (Worker.terminate)".into());
    }

    /// The worker died by itself (a panic or a load error).
    pub fn worker_crashed(&mut self, sid: Sid, generation: u32, message: String) {
        if self.nodes[&sid].generation != generation || !self.is_alive(sid) {
            return;
        }
        self.log(LogKind::Fault, sid, None, format!("worker crashed: {message}"));
        self.take_down(sid, NodeStatus::Crashed(message));
    }

    fn take_down(&mut self, sid: Sid, status: NodeStatus) {
        let slot = self.nodes.get_mut(&sid).expect("unknown node");
        slot.status = status;
        slot.generation += 1;
        slot.wake_at = None;
        slot.pending.clear();
        for peer in self.ids() {
            if peer != sid && self.network.connected(sid, peer) {
                self.send(sid, peer, Wire::Reset);
            }
        }
    }

    /// Starts a fresh worker for a dead node, from its disk. Returns the new generation; the
    /// runtime spawns the worker and reports `Ready`.
    pub fn restart(&mut self, sid: Sid) -> u32 {
        let now = self.now;
        let config = self.config.clone();
        let slot = self.nodes.get_mut(&sid).expect("unknown node");
        if matches!(slot.status, NodeStatus::Starting | NodeStatus::Running) {
            return slot.generation;
        }
        slot.generation += 1;
        slot.status = NodeStatus::Starting;
        slot.view = None;
        slot.pending = vec![ToWorker::Init { sid, config, disk: slot.disk.clone(), now }];
        let generation = slot.generation;
        if now > 0 {
            self.log(LogKind::Fault, sid, None, "restarted from its disk".into());
        }
        generation
    }

    /// Cuts a server off from all others (a partition), or lets it back in. Unlike a kill, no
    /// connection reset reaches anyone: its peers notice only by their timeouts.
    pub fn set_isolated(&mut self, sid: Sid, isolated: bool) {
        let changed = if isolated { self.isolated.insert(sid) } else { self.isolated.remove(&sid) };
        if !changed {
            return;
        }
        self.network.heal();
        let ids = self.ids();
        for &s in &self.isolated {
            self.network.isolate(s, ids.iter().copied());
        }
        let text = if isolated { "isolated by a network partition" } else { "partition healed" };
        self.log(LogKind::Fault, sid, None, text.into());
    }

    /// A client write, sent to the current leader.
    pub fn client_write(&mut self) -> Vec<Post> {
        let mut posts = Vec::new();
        let leader = self.snapshot_nodes().into_iter().find(|n| n.data_state() == "leading").map(|n| n.sid);
        match leader {
            Some(sid) => self.post(sid, ToWorker::Command { now: self.now, cmd: ZkCommand::Write }, &mut posts),
            None => self.log(LogKind::Client, 0, None, "write refused: no leader (ConnectionLoss)".into()),
        }
        posts
    }

    /// A client's packet on its connection `conn` to server `sid`. Client connections do not
    /// cross the virtual network (clients are not ensemble members): the packet goes to the
    /// worker at once. Returns the worker incarnation it went to, or None if the server is
    /// dead (the client's connect is refused / its connection was reset) and nothing is sent.
    pub fn client_send(&mut self, sid: Sid, conn: ClientConn, req: ClientReq, posts: &mut Vec<Post>) -> Option<u32> {
        if !self.nodes.contains_key(&sid) || !self.is_alive(sid) {
            return None;
        }
        let cmd = ZkCommand::Client { conn, req };
        self.post(sid, ToWorker::Command { now: self.now, cmd }, posts);
        Some(self.nodes[&sid].generation)
    }

    /// Whether `sid`'s worker is still incarnation `generation` and alive: a client whose
    /// server was killed sees its TCP connection reset.
    pub fn is_up(&self, sid: Sid, generation: u32) -> bool {
        self.nodes.get(&sid).is_some_and(|s| s.generation == generation) && self.is_alive(sid)
    }

    /// Hands out what servers said to the connections `owns` claims, in order; the rest stays
    /// for its own client.
    pub fn take_client_mail(&mut self, owns: impl Fn(ClientConn) -> bool) -> Vec<ClientMail> {
        let (mine, rest) = std::mem::take(&mut self.client_inbox).into_iter().partition(|m| owns(m.conn));
        self.client_inbox = rest;
        mine
    }

    /// Whether servers said something to clients that nobody collected yet.
    pub fn has_client_mail(&self) -> bool {
        !self.client_inbox.is_empty()
    }

    /// A client-side happening for the log (a session connected, moved, expired).
    pub fn log_client(&mut self, sid: Sid, text: String) {
        self.log(LogKind::Client, sid, None, text);
    }

    /// Asks a worker to panic (to show a crashed worker).
    pub fn inject_panic(&mut self, sid: Sid) -> Vec<Post> {
        let mut posts = Vec::new();
        self.post(sid, ToWorker::Panic, &mut posts);
        posts
    }

    fn log_event(&mut self, sid: Sid, event: ZkEvent) {
        let (kind, text) = match event {
            ZkEvent::StateChanged { from, to, reason, .. } => match from {
                Some(from) => (LogKind::State, format!("{from} → {to}: {reason}")),
                None => (LogKind::State, format!("{to}: {reason}")),
            },
            ZkEvent::EpochProposed { epoch } => (LogKind::Zab, format!("proposes epoch {epoch}")),
            ZkEvent::Established { epoch, quorum, .. } => {
                self.stats.leaders_established += 1;
                (LogKind::State, format!("established as leader of epoch {epoch} with quorum {quorum:?}"))
            }
            ZkEvent::Synced { leader, epoch } => (LogKind::Zab, format!("synced with leader {leader} (epoch {epoch})")),
            ZkEvent::Wrote { zxid } => (LogKind::Client, format!("write stamped zxid {zxid}")),
            ZkEvent::WriteIgnored { reason } => (LogKind::Client, format!("write ignored: {reason}")),
            ZkEvent::Applied { .. } => return, // one per txn per server: shown in the cards instead
            ZkEvent::Committed { zxid, .. } => (LogKind::Zab, format!("committed {zxid}")),
            ZkEvent::SyncMode { learner, mode, detail } => {
                (LogKind::Zab, format!("syncs {learner} with {mode}: {detail}"))
            }
            ZkEvent::Snapshot { zxid } => (LogKind::Zab, format!("took a snapshot at {zxid}")),
            ZkEvent::SessionExpiring { session } => (LogKind::Client, format!("session 0x{session:x} expired")),
            ZkEvent::Client { conn, resp } => {
                if self.client_inbox.len() == CLIENT_INBOX_CAPACITY {
                    self.client_inbox.remove(0); // unclaimed mail of a client that is gone
                }
                self.client_inbox.push(ClientMail { sid, conn, resp });
                return;
            }
        };
        self.log(kind, sid, None, text);
    }

    fn log(&mut self, kind: LogKind, node: Sid, peer: Option<Sid>, text: String) {
        self.log_seq += 1;
        if self.log.len() == LOG_CAPACITY {
            self.log.pop_front();
        }
        self.log.push_back(LogEntry { seq: self.log_seq, at: self.now, kind, node, peer, text });
    }

    fn snapshot_nodes(&self) -> Vec<NodeCard> {
        self.nodes
            .iter()
            .map(|(&sid, s)| NodeCard {
                sid,
                status: s.status.clone(),
                view: s.view.clone(),
                isolated: self.isolated.contains(&sid),
            })
            .collect()
    }

    /// What the UI draws.
    pub fn snapshot(&self) -> ClusterSnapshot {
        let flights = self
            .in_flight
            .iter()
            .map(|(&(arrive_at, _), f)| {
                let kind = match &f.wire {
                    Wire::Msg(m) => m.kind().to_string(),
                    Wire::Reset => "RST".to_string(),
                };
                Flight { from: f.from, to: f.to, kind, sent_at: f.sent_at, arrive_at }
            })
            .take(200)
            .collect();
        ClusterSnapshot {
            now_ms: self.now,
            paused: self.paused,
            speed: self.speed,
            nodes: self.snapshot_nodes(),
            log: self.log.iter().cloned().collect(),
            flights,
            stats: self.stats.clone(),
        }
    }
}
