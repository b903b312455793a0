//! Spark in the page: the protocol between the page and a Spark node's worker, the worker-side
//! driver, and `SparkConductor`, the main thread's clock, network and job model for the
//! driver and executors (the ZooKeeper ensemble has its own `Conductor`).
//!
//! ```text
//! page ── Init{id, config} / Deliver / Wake / ConnectionLost / Command ──▶ spark worker
//! page ◀──────────── Ready / Output{effects, view} ────────────────────── spark worker
//! SparkConductor: advance(wall ms) ─▶ deliveries and wake-ups due ─▶ SparkPost{node, generation}
//!                 worker_output ─▶ sends routed through the network, events ─▶ JobsModel
//! ```

use super::clock::{next_due, Due, VirtualClock};
use super::conductor::NodeStatus;
use super::jobs::JobsModel;
use crate::sim::{Effect, Effects, LinkConfig, Millis, Network, NodeId, Process, Rng};
use crate::spark::cluster::{ClusterCommand, ClusterConfig, ClusterEvent, SparkMsg, SparkNode, SparkView, DRIVER};
use crate::spark::fs::SimFs;
use crate::spark::standalone::{MasterState, StandaloneCommand, StandaloneConfig, StandaloneEvent, StandaloneMsg, StandaloneNode, StandaloneView};
use crate::spark::SparkEvent;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum ToSparkWorker {
    Init { id: NodeId, config: ClusterConfig, now: Millis },
    Deliver { now: Millis, from: NodeId, msg: Box<SparkMsg> },
    Wake { now: Millis },
    ConnectionLost { now: Millis, peer: NodeId },
    Command { now: Millis, cmd: ClusterCommand },
    /// A standalone master, worker or the application's client (`spark::standalone`); ids
    /// and peers in these messages are the standalone nodes' own (page id − `HA_BASE`).
    InitStandalone { id: NodeId, config: StandaloneConfig, now: Millis },
    DeliverStandalone { now: Millis, from: NodeId, msg: Box<StandaloneMsg> },
    CommandStandalone { now: Millis, cmd: StandaloneCommand },
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum FromSparkWorker {
    Ready,
    Output { effects: Effects<SparkMsg, ClusterEvent>, view: SparkView },
    StandaloneOutput { effects: Effects<StandaloneMsg, StandaloneEvent>, view: StandaloneView },
}

/// The page ids of the standalone nodes: `HA_BASE + standalone id` (masters 101…, workers
/// 111…, the application 120), beside the driver (0) and executors (1…).
pub const HA_BASE: NodeId = 100;

/// Drives one Spark node, or one standalone node, inside a worker.
#[derive(Default)]
pub struct SparkWorkerNode {
    node: Option<SparkNode>,
    standalone: Option<StandaloneNode>,
}

impl SparkWorkerNode {
    pub fn handle(&mut self, input: ToSparkWorker) -> Option<FromSparkWorker> {
        if let Some(out) = self.handle_standalone(&input) {
            return out;
        }
        let mut effects = Vec::new();
        match input {
            ToSparkWorker::Init { id, config, now } => {
                let mut node = SparkNode::new(id, &config);
                node.start(now, &mut effects);
                self.node = Some(node);
            }
            other => {
                let node = self.node.as_mut()?;
                match other {
                    ToSparkWorker::Deliver { now, from, msg } => node.message(now, from, *msg, &mut effects),
                    ToSparkWorker::Wake { now } => node.wake(now, &mut effects),
                    ToSparkWorker::ConnectionLost { now, peer } => node.connection_lost(now, peer, &mut effects),
                    ToSparkWorker::Command { now, cmd } => node.command(now, cmd, &mut effects),
                    ToSparkWorker::Init { .. }
                    | ToSparkWorker::InitStandalone { .. }
                    | ToSparkWorker::DeliverStandalone { .. }
                    | ToSparkWorker::CommandStandalone { .. } => return None,
                }
            }
        }
        let view = self.node.as_ref()?.view();
        Some(FromSparkWorker::Output { effects, view })
    }

    /// Inputs for a standalone node (`None`: not one of them).
    fn handle_standalone(&mut self, input: &ToSparkWorker) -> Option<Option<FromSparkWorker>> {
        let mut effects = Vec::new();
        match input.clone() {
            ToSparkWorker::InitStandalone { id, config, now } => {
                let mut node = StandaloneNode::new(id, &config);
                node.start(now, &mut effects);
                self.standalone = Some(node);
            }
            ToSparkWorker::DeliverStandalone { now, from, msg } => self.standalone.as_mut()?.message(now, from, *msg, &mut effects),
            ToSparkWorker::CommandStandalone { now, cmd } => self.standalone.as_mut()?.command(now, cmd, &mut effects),
            ToSparkWorker::Wake { now } if self.standalone.is_some() => self.standalone.as_mut()?.wake(now, &mut effects),
            ToSparkWorker::ConnectionLost { now, peer } if self.standalone.is_some() => {
                self.standalone.as_mut()?.connection_lost(now, peer, &mut effects)
            }
            _ => return None,
        }
        let view = self.standalone.as_ref()?.view();
        Some(Some(FromSparkWorker::StandaloneOutput { effects, view }))
    }
}

/// A message for one Spark node's worker incarnation.
#[derive(Clone, Debug, PartialEq)]
pub struct SparkPost {
    pub node: NodeId,
    pub generation: u32,
    pub msg: ToSparkWorker,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SparkNodeCard {
    pub id: NodeId,
    pub status: NodeStatus,
    pub view: Option<SparkView>,
}

impl SparkNodeCard {
    /// The page's test contract: `alive` | `down`.
    pub fn data_state(&self) -> &'static str {
        match self.status {
            NodeStatus::Starting | NodeStatus::Running => "alive",
            NodeStatus::Down | NodeStatus::Crashed(_) => "down",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SparkSnapshot {
    pub now_ms: Millis,
    pub driver: SparkNodeCard,
    pub executors: Vec<SparkNodeCard>,
    pub jobs: JobsModel,
    /// Messages on the wire now, by kind.
    pub in_flight: u32,
    /// The standalone cluster made highly available through ZooKeeper: masters, workers and
    /// the application's client, by page id.
    pub standalone: Vec<StandaloneCard>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StandaloneCard {
    pub id: NodeId,
    pub name: String,
    pub status: NodeStatus,
    pub view: Option<StandaloneView>,
}

impl StandaloneCard {
    /// The page's test contract: masters `alive` | `standby` | `recovering` |
    /// `completing-recovery` | `down`; workers and the app `alive` | `down`.
    pub fn data_state(&self) -> &'static str {
        match (&self.status, &self.view) {
            (NodeStatus::Starting | NodeStatus::Running, Some(StandaloneView::Master(m))) => m.state.as_str(),
            (NodeStatus::Starting | NodeStatus::Running, _) => "alive",
            _ => "down",
        }
    }
}

enum Wire {
    Msg(Box<SparkMsg>),
    Standalone(Box<StandaloneMsg>),
    Reset,
}

struct Slot {
    status: NodeStatus,
    generation: u32,
    view: Option<SparkView>,
    standalone_view: Option<StandaloneView>,
    wake_at: Option<Millis>,
    pending: Vec<ToSparkWorker>,
}

pub struct SparkConductor {
    clock: VirtualClock,
    config: ClusterConfig,
    network: Network,
    rng: Rng,
    seq: u64,
    in_flight: BTreeMap<(Millis, u64), (NodeId, NodeId, Wire)>,
    nodes: BTreeMap<NodeId, Slot>,
    /// The last arrival time per link: a link is one TCP connection, so it keeps order.
    last_arrival: BTreeMap<(NodeId, NodeId), Millis>,
    pub jobs: JobsModel,
    /// kazoo calls from the workers, for the ZooKeeper side (`live::zkhub::ZkBridge`).
    zk_calls: Vec<(NodeId, crate::zk::port::ZkCall)>,
    /// Nodes whose ZooKeeper sessions lost their process (killed, or the program ended).
    zk_exits: Vec<NodeId>,
    /// For the metrics: task ends (success?) and completed stages since the last take.
    task_ends: Vec<bool>,
    stages_done: Vec<String>,
    /// The standalone cluster's shape, when there is one.
    ha: Option<StandaloneConfig>,
    /// Standalone masters that became ALIVE since the last take (for the metrics).
    masters_alive: Vec<NodeId>,
}

impl SparkConductor {
    /// A driver and `config.executors` executors, each waiting for its worker. Links take
    /// 5–10 ms, so a shuffle's fetches are visible at 1× speed.
    pub fn new(config: ClusterConfig, seed: u64) -> SparkConductor {
        let network = Network::new(LinkConfig { latency_ms: 5, jitter_ms: 5, loss_ppm: 0, dup_ppm: 0, fifo: true });
        let mut c = SparkConductor {
            clock: VirtualClock::default(),
            config: config.clone(),
            network,
            rng: Rng::new(seed),
            seq: 0,
            in_flight: BTreeMap::new(),
            nodes: BTreeMap::new(),
            last_arrival: BTreeMap::new(),
            jobs: JobsModel::default(),
            zk_calls: Vec::new(),
            zk_exits: Vec::new(),
            task_ends: Vec::new(),
            stages_done: Vec::new(),
            ha: None,
            masters_alive: Vec::new(),
        };
        for id in 0..=config.executors {
            c.add_slot(id);
        }
        c
    }

    fn add_slot(&mut self, id: NodeId) {
        self.nodes.insert(
            id,
            Slot { status: NodeStatus::Down, generation: 0, view: None, standalone_view: None, wake_at: None, pending: Vec::new() },
        );
        self.restart(id);
    }

    /// Adds a standalone cluster (masters electing a leader through ZooKeeper, workers, the
    /// application's client) beside the driver and executors.
    pub fn with_standalone(mut self, ha: StandaloneConfig) -> SparkConductor {
        let ids: Vec<NodeId> =
            ha.master_nodes().into_iter().chain(ha.worker_nodes()).chain([crate::spark::standalone::APP_NODE]).collect();
        self.ha = Some(ha);
        for id in ids {
            self.add_slot(HA_BASE + id);
        }
        self
    }

    fn is_standalone(id: NodeId) -> bool {
        id >= HA_BASE
    }

    /// Masters that became ALIVE since the last call.
    pub fn take_masters_alive(&mut self) -> Vec<NodeId> {
        std::mem::take(&mut self.masters_alive)
    }

    /// The node ids of the driver and executors (not the standalone nodes).
    pub fn spark_ids(&self) -> Vec<NodeId> {
        self.nodes.keys().copied().filter(|&id| !Self::is_standalone(id)).collect()
    }

    /// Whether `id` is a standalone master that is leading now.
    pub fn is_leading_master(&self, id: NodeId) -> bool {
        matches!(self.nodes.get(&id).and_then(|s| s.standalone_view.as_ref()), Some(StandaloneView::Master(m)) if m.state.is_leading())
    }

    pub fn ids(&self) -> Vec<NodeId> {
        self.nodes.keys().copied().collect()
    }
    pub fn now(&self) -> Millis {
        self.clock.now()
    }
    pub fn generation(&self, id: NodeId) -> u32 {
        self.nodes[&id].generation
    }
    pub fn status(&self, id: NodeId) -> &NodeStatus {
        &self.nodes[&id].status
    }
    pub fn set_speed(&mut self, speed: f64) {
        self.clock.set_speed(speed);
    }
    pub fn set_paused(&mut self, paused: bool) {
        self.clock.set_paused(paused);
    }

    /// Whether the node's worker is starting or running.
    pub fn is_alive(&self, id: NodeId) -> bool {
        self.nodes.contains_key(&id) && self.alive(id)
    }

    fn alive(&self, id: NodeId) -> bool {
        matches!(self.nodes[&id].status, NodeStatus::Starting | NodeStatus::Running)
    }

    /// Moves virtual time on by `wall_ms × speed` and returns the inputs that fell due.
    pub fn advance(&mut self, wall_ms: f64) -> Vec<SparkPost> {
        let Some(until) = self.clock.advance(wall_ms) else { return Vec::new() };
        self.run_to(until)
    }

    fn run_to(&mut self, until: Millis) -> Vec<SparkPost> {
        let mut posts = Vec::new();
        loop {
            let next_flight = self.in_flight.first_key_value().map(|(&(t, _), _)| t);
            let next_wake = self.nodes.iter().filter_map(|(&s, n)| n.wake_at.map(|t| (t, s))).min();
            match next_due(next_flight, next_wake, until) {
                None => break,
                Some(Due::Flight(t)) => {
                    self.clock.set_now(t);
                    let (_, (from, to, wire)) = self.in_flight.pop_first().expect("checked");
                    if !self.alive(to) {
                        continue;
                    }
                    let now = self.now();
                    let msg = match wire {
                        Wire::Msg(msg) => ToSparkWorker::Deliver { now, from, msg },
                        Wire::Standalone(msg) => ToSparkWorker::DeliverStandalone { now, from: from - HA_BASE, msg },
                        Wire::Reset if Self::is_standalone(from) => ToSparkWorker::ConnectionLost { now, peer: from - HA_BASE },
                        Wire::Reset => ToSparkWorker::ConnectionLost { now, peer: from },
                    };
                    self.post(to, msg, &mut posts);
                }
                Some(Due::Wake(t, id)) => {
                    self.clock.set_now(t);
                    self.nodes.get_mut(&id).expect("known").wake_at = None;
                    self.post(id, ToSparkWorker::Wake { now: t }, &mut posts);
                }
            }
        }
        self.clock.set_now(self.now().max(until));
        posts
    }

    fn post(&mut self, id: NodeId, msg: ToSparkWorker, posts: &mut Vec<SparkPost>) {
        let slot = self.nodes.get_mut(&id).expect("post to unknown node");
        match slot.status {
            NodeStatus::Running => posts.push(SparkPost { node: id, generation: slot.generation, msg }),
            NodeStatus::Starting => slot.pending.push(msg),
            NodeStatus::Down | NodeStatus::Crashed(_) => {}
        }
    }

    pub fn worker_ready(&mut self, id: NodeId, generation: u32) -> Vec<SparkPost> {
        let slot = self.nodes.get_mut(&id).expect("unknown node");
        if slot.generation != generation || slot.status != NodeStatus::Starting {
            return Vec::new();
        }
        slot.status = NodeStatus::Running;
        let pending = std::mem::take(&mut slot.pending);
        pending.into_iter().map(|msg| SparkPost { node: id, generation, msg }).collect()
    }

    /// Applies a worker's output: its sends go on the wire, its timer is set, its events feed
    /// the job model.
    pub fn worker_output(&mut self, id: NodeId, generation: u32, output: FromSparkWorker) -> Vec<SparkPost> {
        match output {
            FromSparkWorker::Ready => self.worker_ready(id, generation),
            FromSparkWorker::StandaloneOutput { effects, view } => {
                if self.nodes[&id].generation != generation || !self.alive(id) {
                    return Vec::new();
                }
                self.nodes.get_mut(&id).expect("known").standalone_view = Some(view);
                let mut exits = false;
                for effect in effects {
                    match effect {
                        Effect::Send { to, msg } => {
                            let to = HA_BASE + to;
                            if self.nodes.contains_key(&to) {
                                let key = (self.arrival(id, to), self.next_seq());
                                self.in_flight.insert(key, (id, to, Wire::Standalone(Box::new(msg))));
                            }
                        }
                        Effect::WakeAt(at) => self.nodes.get_mut(&id).expect("known").wake_at = Some(at),
                        Effect::Event(StandaloneEvent::Zk(call)) => self.zk_calls.push((id, call)),
                        Effect::Event(ev) => {
                            let text = match &ev {
                                StandaloneEvent::MasterState { state } => {
                                    if *state == MasterState::Alive {
                                        self.masters_alive.push(id);
                                    }
                                    exits |= *state == MasterState::Down;
                                    Some(format!("{} is {}", node_name(id), state.as_str().to_uppercase()))
                                }
                                StandaloneEvent::LeadershipRevoked { reason } => Some(format!("{}: {reason}", node_name(id))),
                                StandaloneEvent::WorkerGaveUp { .. } | StandaloneEvent::AppGaveUp => {
                                    exits = true;
                                    Some(format!("{} gave up and exited", node_name(id)))
                                }
                                StandaloneEvent::WorkerRecovered { worker } => Some(format!("{} recovered worker {worker}", node_name(id))),
                                StandaloneEvent::AppRecovered { app } => Some(format!("{} recovered application {app}", node_name(id))),
                                StandaloneEvent::WorkerRemoved { worker, reason } => Some(format!("{} removed {worker}: {reason}", node_name(id))),
                                StandaloneEvent::AppConnected { master, .. } => Some(format!("application registered with {}", node_name(HA_BASE + master))),
                                _ => None,
                            };
                            if let Some(text) = text {
                                self.jobs.note(self.clock.now(), id, text);
                            }
                        }
                        Effect::Persist { .. } | Effect::Remove { .. } => {}
                    }
                }
                if exits {
                    // Spark's master exits when it loses leadership; a worker that gave up exits.
                    self.down(id, NodeStatus::Down);
                }
                Vec::new()
            }
            FromSparkWorker::Output { effects, view } => {
                if self.nodes[&id].generation != generation || !self.alive(id) {
                    return Vec::new();
                }
                self.nodes.get_mut(&id).expect("known").view = Some(view);
                for effect in effects {
                    match effect {
                        Effect::Send { to, msg } => {
                            if self.nodes.contains_key(&to) {
                                let key = (self.arrival(id, to), self.next_seq());
                                self.in_flight.insert(key, (id, to, Wire::Msg(Box::new(msg))));
                            }
                        }
                        Effect::WakeAt(at) => self.nodes.get_mut(&id).expect("known").wake_at = Some(at),
                        Effect::Event(ClusterEvent::Zk(call)) => self.zk_calls.push((id, call)),
                        Effect::Event(ClusterEvent::ZkExit) => self.zk_exits.push(id),
                        Effect::Event(ev) => {
                            match &ev {
                                ClusterEvent::Listener(SparkEvent::TaskEnd { reason, .. }) => self.task_ends.push(reason == "Success"),
                                ClusterEvent::Listener(SparkEvent::StageCompleted { stage, attempt, failure: None }) => {
                                    self.stages_done.push(format!("stage {stage} (attempt {attempt}) completed"))
                                }
                                _ => {}
                            }
                            self.jobs.apply(self.clock.now(), id, &ev)
                        }
                        Effect::Persist { .. } | Effect::Remove { .. } => {}
                    }
                }
                Vec::new()
            }
        }
    }

    fn next_seq(&mut self) -> u64 {
        self.seq += 1;
        self.seq
    }

    fn arrival(&mut self, from: NodeId, to: NodeId) -> Millis {
        let link = self.network.link(from, to);
        let at = self.now() + link.latency_ms + self.rng.below(link.jitter_ms + 1);
        let last = self.last_arrival.entry((from, to)).or_insert(0);
        *last = (*last).max(at);
        *last
    }

    /// Runs a program on the driver (queued until the driver's worker is ready).
    pub fn run(&mut self, source: &str, fs: SimFs) -> Vec<SparkPost> {
        self.jobs.program_started(self.now());
        let cmd = ClusterCommand::Run { source: source.to_string(), filename: "job.py".into(), fs };
        let mut posts = Vec::new();
        let now = self.now();
        self.post(DRIVER, ToSparkWorker::Command { now, cmd }, &mut posts);
        posts
    }

    /// Stops the running program.
    pub fn cancel(&mut self) -> Vec<SparkPost> {
        let mut posts = Vec::new();
        let now = self.now();
        self.post(DRIVER, ToSparkWorker::Command { now, cmd: ClusterCommand::Cancel }, &mut posts);
        posts
    }

    /// The user killed a node: its worker is terminated; peers see their connections reset.
    pub fn kill(&mut self, id: NodeId) {
        if !self.alive(id) {
            return;
        }
        self.down(id, NodeStatus::Down);
        self.jobs.note(self.now(), id, format!("{} killed", node_name(id)));
    }

    pub fn worker_crashed(&mut self, id: NodeId, generation: u32, message: String) {
        if self.nodes[&id].generation != generation || !self.alive(id) {
            return;
        }
        self.jobs.note(self.now(), id, format!("{} crashed: {message}", node_name(id)));
        self.down(id, NodeStatus::Crashed(message));
    }

    /// Task ends (success?) and completed stages since the last call (for the metrics).
    pub fn take_progress(&mut self) -> (Vec<bool>, Vec<String>) {
        (std::mem::take(&mut self.task_ends), std::mem::take(&mut self.stages_done))
    }

    /// The ZooKeeper calls and abandoned sessions since the last call.
    pub fn take_zk(&mut self) -> (Vec<(NodeId, crate::zk::port::ZkCall)>, Vec<NodeId>) {
        (std::mem::take(&mut self.zk_calls), std::mem::take(&mut self.zk_exits))
    }

    /// Hands a node the answer to its ZooKeeper call.
    pub fn zk_answer(&mut self, id: NodeId, answer: crate::zk::port::ZkAnswer) -> Vec<SparkPost> {
        let mut posts = Vec::new();
        if self.nodes.contains_key(&id) && self.alive(id) {
            let now = self.now();
            let msg = if Self::is_standalone(id) {
                ToSparkWorker::CommandStandalone { now, cmd: StandaloneCommand::Zk(answer) }
            } else {
                ToSparkWorker::Command { now, cmd: ClusterCommand::Zk(answer) }
            };
            self.post(id, msg, &mut posts);
        }
        posts
    }

    fn down(&mut self, id: NodeId, status: NodeStatus) {
        self.zk_exits.push(id);
        if id == DRIVER && self.jobs.running() {
            self.jobs.driver_lost(self.clock.now());
        }
        let slot = self.nodes.get_mut(&id).expect("known");
        slot.status = status;
        slot.view = None;
        slot.wake_at = None;
        slot.pending.clear();
        let group = Self::is_standalone(id);
        let peers: Vec<NodeId> =
            self.nodes.keys().copied().filter(|&p| p != id && self.alive(p) && Self::is_standalone(p) == group).collect();
        for to in peers {
            let key = (self.arrival(id, to), self.next_seq());
            self.in_flight.insert(key, (id, to, Wire::Reset));
        }
    }

    /// A new driver is a new application: its executors are new processes too (Spark's
    /// executors exit with their driver). Returns the nodes whose workers must be (re)spawned.
    pub fn restart_driver(&mut self) -> Vec<NodeId> {
        let ids = self.spark_ids();
        for &id in &ids {
            if id != DRIVER && self.alive(id) {
                self.down(id, NodeStatus::Down);
            }
        }
        for &id in &ids {
            self.restart(id);
        }
        ids
    }

    /// A new worker for `id` (a new executor process on its worker host); returns its generation.
    pub fn restart(&mut self, id: NodeId) -> u32 {
        let now = self.now();
        let config = self.config.clone();
        let slot = self.nodes.get_mut(&id).expect("known");
        if matches!(slot.status, NodeStatus::Starting | NodeStatus::Running) {
            return slot.generation;
        }
        slot.generation += 1;
        slot.status = NodeStatus::Starting;
        slot.view = None;
        slot.standalone_view = None;
        slot.wake_at = None;
        slot.pending = match &self.ha {
            Some(ha) if Self::is_standalone(id) => {
                // Each incarnation is a new process: a new seed for its ids.
                let config = StandaloneConfig { seed: ha.seed ^ u64::from(slot.generation) << 20, ..ha.clone() };
                vec![ToSparkWorker::InitStandalone { id: id - HA_BASE, config, now }]
            }
            _ => vec![ToSparkWorker::Init { id, config, now }],
        };
        if slot.generation > 1 {
            self.jobs.note(now, id, format!("{} restarted", node_name(id)));
        }
        slot.generation
    }

    pub fn snapshot(&self) -> SparkSnapshot {
        let card = |id: NodeId| {
            let slot = &self.nodes[&id];
            SparkNodeCard {
                id,
                status: slot.status.clone(),
                view: if self.alive(id) { slot.view.clone() } else { None },
            }
        };
        SparkSnapshot {
            now_ms: self.now(),
            driver: card(DRIVER),
            executors: self.nodes.keys().filter(|&&id| id != DRIVER && !Self::is_standalone(id)).map(|&id| card(id)).collect(),
            jobs: self.jobs.clone(),
            in_flight: self.in_flight.len() as u32,
            standalone: self
                .nodes
                .iter()
                .filter(|(&id, _)| Self::is_standalone(id))
                .map(|(&id, slot)| StandaloneCard {
                    id,
                    name: node_name(id),
                    status: slot.status.clone(),
                    view: if self.alive(id) { slot.standalone_view.clone() } else { None },
                })
                .collect(),
        }
    }
}

pub fn node_name(id: NodeId) -> String {
    if id == DRIVER {
        "driver".into()
    } else if id >= HA_BASE {
        crate::spark::standalone::node_name(id - HA_BASE)
    } else {
        format!("exec{id}")
    }
}
