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
use crate::spark::SparkEvent;
use crate::spark::fs::SimFs;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum ToSparkWorker {
    Init { id: NodeId, config: ClusterConfig, now: Millis },
    Deliver { now: Millis, from: NodeId, msg: Box<SparkMsg> },
    Wake { now: Millis },
    ConnectionLost { now: Millis, peer: NodeId },
    Command { now: Millis, cmd: ClusterCommand },
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum FromSparkWorker {
    Ready,
    Output { effects: Effects<SparkMsg, ClusterEvent>, view: SparkView },
}

/// Drives one Spark node inside a worker.
#[derive(Default)]
pub struct SparkWorkerNode {
    node: Option<SparkNode>,
}

impl SparkWorkerNode {
    pub fn handle(&mut self, input: ToSparkWorker) -> Option<FromSparkWorker> {
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
                    ToSparkWorker::Init { .. } => unreachable!("handled above"),
                }
            }
        }
        let view = self.node.as_ref()?.view();
        Some(FromSparkWorker::Output { effects, view })
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
}

enum Wire {
    Msg(Box<SparkMsg>),
    Reset,
}

struct Slot {
    status: NodeStatus,
    generation: u32,
    view: Option<SparkView>,
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
        };
        for id in 0..=config.executors {
            c.nodes.insert(
                id,
                Slot { status: NodeStatus::Down, generation: 0, view: None, wake_at: None, pending: Vec::new() },
            );
            c.restart(id);
        }
        c
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
            self.post(id, ToSparkWorker::Command { now, cmd: ClusterCommand::Zk(answer) }, &mut posts);
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
        let peers: Vec<NodeId> = self.nodes.keys().copied().filter(|&p| p != id && self.alive(p)).collect();
        for to in peers {
            let key = (self.arrival(id, to), self.next_seq());
            self.in_flight.insert(key, (id, to, Wire::Reset));
        }
    }

    /// A new driver is a new application: its executors are new processes too (Spark's
    /// executors exit with their driver). Returns the nodes whose workers must be (re)spawned.
    pub fn restart_driver(&mut self) -> Vec<NodeId> {
        let ids = self.ids();
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
        slot.wake_at = None;
        slot.pending = vec![ToSparkWorker::Init { id, config, now }];
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
            executors: self.nodes.keys().filter(|&&id| id != DRIVER).map(|&id| card(id)).collect(),
            jobs: self.jobs.clone(),
            in_flight: self.in_flight.len() as u32,
        }
    }
}

pub fn node_name(id: NodeId) -> String {
    if id == DRIVER {
        "driver".into()
    } else {
        format!("exec{id}")
    }
}
