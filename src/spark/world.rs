//! A driver program on a simulated cluster: the seeded simulator hosting `cluster::SparkNode`s,
//! with executor kills at chosen times. `zkspark run` and the recovery tests use it.
//!
//! ```text
//! run_on_cluster(program, options) ─▶ Simulator{driver 0, executors 1..=K}
//!   ─▶ Run{program} ─▶ … kill executor i at t (its worker relaunches it after restart_ms) …
//!   ─▶ until the program ends ─▶ ClusterRun{stdout, stderr, events}
//! ```

use super::cluster::{ClusterCommand, ClusterConfig, ClusterEvent, DriverPhase, SparkNode, DRIVER};
use super::fs::SimFs;
use crate::sim::{LinkConfig, Millis, Network, NodeId, Simulator};

#[derive(Clone, Debug)]
pub struct ClusterOptions {
    pub seed: u64,
    pub config: ClusterConfig,
    /// (executor, virtual ms): kill that executor's process then.
    pub kills: Vec<(NodeId, Millis)>,
    /// How long a killed executor stays down before its worker launches a new one (None: never).
    pub restart_ms: Option<Millis>,
    /// Give up after this much virtual time.
    pub max_ms: Millis,
    /// ZooKeeper servers for programs that use kazoo (an ensemble is started only for a
    /// program whose text mentions `kazoo`, so the others cost nothing extra).
    pub zk_servers: u32,
    /// ZooKeeper servers to kill: (server, virtual ms after the program started); each comes
    /// back after `restart_ms`.
    pub zk_kills: Vec<(NodeId, Millis)>,
    /// Chaos mode: kills and restarts of executors and ZooKeeper servers at random times
    /// (`metrics::ChaosPlan`) while the program runs; times are after the program started.
    /// Chaos always starts an ensemble.
    pub chaos: Option<crate::metrics::ChaosConfig>,
    /// Partitions between a Spark node's ZooKeeper sessions and the ensemble: (node, from,
    /// to), virtual ms after the program started.
    pub zk_isolations: Vec<(NodeId, Millis, Millis)>,
    /// Lost replies: the n-th successful reply of an op kind (`("setData", 1)`) reaches its
    /// client as ConnectionLoss although the server applied the op.
    pub drop_replies: Vec<(String, u32)>,
}

impl Default for ClusterOptions {
    fn default() -> Self {
        ClusterOptions {
            seed: 1,
            config: ClusterConfig::default(),
            kills: vec![],
            restart_ms: Some(1_000),
            max_ms: 3_600_000,
            zk_servers: 3,
            zk_kills: vec![],
            chaos: None,
            drop_replies: vec![],
            zk_isolations: vec![],
        }
    }
}

#[derive(Clone, Debug)]
pub struct ClusterRun {
    pub stdout: String,
    pub stderr: String,
    /// The program ran to its end (either way) before `max_ms`.
    pub finished: bool,
    pub ok: bool,
    pub events: Vec<(Millis, NodeId, ClusterEvent)>,
    pub end_ms: Millis,
    /// The ensemble's tree at the end, as its leader (or any running server) has it, when the
    /// program used ZooKeeper.
    pub zk_tree: Option<crate::zk::DataTree>,
    /// Every ZooKeeper request the nodes made, with request and reply times.
    pub zk_samples: Vec<crate::zkhub::OpSample>,
    /// When the program started on the world's clock (after the ensemble elected a leader).
    pub start_ms: Millis,
    /// Throughput, latency, MTTR and MTBF of the run (`metrics.rs`), on the world's clock.
    pub metrics: crate::metrics::MetricsReport,
    /// The kills and restarts chaos mode made: (at, target, kill?).
    pub chaos_log: Vec<(Millis, String, bool)>,
}

impl ClusterRun {
    /// Listener events only.
    pub fn listener(&self) -> impl Iterator<Item = &super::scheduler::SparkEvent> {
        self.events.iter().filter_map(|(_, _, e)| match e {
            ClusterEvent::Listener(l) => Some(l),
            _ => None,
        })
    }

    /// Per job, per stage in id order: (tasks, skipped) as Spark's listener reports them (a
    /// skipped stage's tasks are its partitions). The first attempt of each stage counts.
    pub fn job_stages(&self) -> Vec<Vec<(u32, bool)>> {
        let mut jobs: Vec<(Vec<u32>, std::collections::BTreeMap<u32, u32>)> = vec![];
        let mut partitions = std::collections::BTreeMap::new();
        for (_, _, e) in &self.events {
            match e {
                ClusterEvent::JobPlan { stages, .. } => {
                    for s in stages {
                        partitions.insert(s.stage, s.partitions);
                    }
                }
                ClusterEvent::Listener(super::scheduler::SparkEvent::JobStart { stages, .. }) => {
                    jobs.push((stages.clone(), Default::default()));
                }
                ClusterEvent::Listener(super::scheduler::SparkEvent::StageSubmitted { stage, tasks, .. }) => {
                    if let Some((_, submitted)) = jobs.last_mut() {
                        submitted.entry(*stage).or_insert(*tasks);
                    }
                }
                _ => {}
            }
        }
        jobs.into_iter()
            .map(|(stages, submitted)| {
                stages
                    .iter()
                    .filter(|s| partitions.get(s).copied().unwrap_or(0) > 0)
                    .map(|s| match submitted.get(s) {
                        Some(&t) => (t, false),
                        None => (partitions[s], true),
                    })
                    .collect()
            })
            .collect()
    }

    /// What tasks printed, in the order their reports reached the driver.
    pub fn executor_output(&self) -> String {
        self.events
            .iter()
            .filter_map(|(_, _, e)| match e {
                ClusterEvent::TaskOutput { text, .. } => Some(text.as_str()),
                _ => None,
            })
            .collect()
    }
}

/// The network between driver and executors: a LAN with TCP (no loss, in order).
pub fn cluster_network() -> Network {
    Network::new(LinkConfig { latency_ms: 2, jitter_ms: 1, loss_ppm: 0, dup_ppm: 0, fifo: true })
}

/// The ensemble beside the Spark cluster, for programs that use kazoo.
struct ZkSide {
    ens: crate::ensemble::Ensemble,
    hub: crate::zkhub::ZkHub,
}

/// How often the two simulators meet when an ensemble runs (virtual ms).
const ZK_QUANTUM_MS: Millis = 1;

pub fn run_on_cluster(source: &str, filename: &str, fs: SimFs, opts: &ClusterOptions) -> ClusterRun {
    let config = opts.config.clone();
    let ids: Vec<NodeId> = (0..=config.executors).collect();
    let factory_config = config.clone();
    let mut sim: Simulator<SparkNode> =
        Simulator::new(opts.seed, cluster_network(), &ids, Box::new(move |id, _disk| SparkNode::new(id, &factory_config)));
    let wants_zk = opts.zk_servers > 0
        && (source.contains("kazoo") || opts.chaos.is_some() || !opts.zk_kills.is_empty() || !opts.zk_isolations.is_empty());
    let mut zk = wants_zk.then(|| {
        let mut ens = crate::ensemble::Ensemble::new(opts.seed ^ 0x5A5A, opts.zk_servers, cluster_network());
        // Request latencies to the millisecond.
        ens.set_step_ms(1);
        let mut hub = crate::zkhub::ZkHub::new();
        hub.drop_replies = opts.drop_replies.clone();
        ZkSide { ens, hub }
    });
    // The program starts once the ensemble has a leader, on one clock.
    let start = zk.as_ref().map_or(0, |z| z.ens.now());
    sim.run_until(start);
    sim.command(DRIVER, ClusterCommand::Run { source: source.to_string(), filename: filename.to_string(), fs });
    // (time, target, kill?) in time order; targets are Spark nodes, or ZooKeeper servers.
    #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
    enum Target {
        Spark(NodeId),
        Zk(NodeId),
    }
    let mut plan: Vec<(Millis, Target, bool)> = opts.kills.iter().map(|&(x, t)| (start + t, Target::Spark(x), true)).collect();
    plan.extend(opts.zk_kills.iter().map(|&(x, t)| (start + t, Target::Zk(x), true)));
    // Chaos: its own restarts, so no `restart_ms` for its kills.
    let mut chaos: Vec<(Millis, Target, bool)> = vec![];
    if let Some(c) = opts.chaos {
        let spark_targets: Vec<String> = (1..=config.executors).map(|x| format!("exec{x}")).collect();
        let zk_targets: Vec<String> = (1..=opts.zk_servers).map(|x| format!("zk{x}")).collect();
        let targets: Vec<String> = spark_targets.into_iter().chain(zk_targets).collect();
        let shifted = crate::metrics::ChaosConfig { start_ms: start + c.start_ms, ..c };
        for e in crate::metrics::ChaosPlan::new(shifted, &targets).events {
            let target = match e.target.strip_prefix("exec") {
                Some(x) => Target::Spark(x.parse().unwrap_or(1)),
                None => Target::Zk(e.target.trim_start_matches("zk").parse().unwrap_or(1)),
            };
            chaos.push((e.at, target, e.action == crate::metrics::ChaosAction::Kill));
        }
    }
    let mut chaos_log = vec![];
    plan.sort_unstable();
    let mut measure = Measure::new(start);
    // The ensemble's first election happened before the program: not a recovery.
    let mut zk_cursor = zk.as_ref().map_or(0, |z| z.ens.sim.events().len());
    let mut finished = false;
    let mut cursor = 0;
    let mut spark_cursor = 0;
    let mut isolated = std::collections::BTreeSet::new();
    loop {
        if let Some(phase) = sim.node(DRIVER).and_then(|n| n.driver()).map(|d| d.phase.clone()) {
            if matches!(phase, DriverPhase::Succeeded | DriverPhase::Failed) {
                finished = true;
                break;
            }
        }
        if sim.now() >= opts.max_ms + start {
            break;
        }
        let next_fault = plan.first().map(|p| p.0);
        let step = if zk.is_some() { ZK_QUANTUM_MS } else { 100 };
        let target = (sim.now() + step).min(next_fault.unwrap_or(Millis::MAX)).min(opts.max_ms + start);
        sim.run_until(target);
        if let Some(z) = zk.as_mut() {
            for e in &sim.events()[cursor..] {
                match &e.event {
                    ClusterEvent::Zk(call) => z.hub.call(&mut z.ens, e.node, call.clone()),
                    ClusterEvent::ZkExit => z.hub.abandon(&mut z.ens, e.node),
                    _ => {}
                }
            }
            cursor = sim.events().len();
            for &(node, from, to) in &opts.zk_isolations {
                let cut = (start + from..start + to).contains(&sim.now());
                if cut != isolated.contains(&node) {
                    z.hub.isolate(&mut z.ens, node, cut);
                    if cut {
                        isolated.insert(node);
                    } else {
                        isolated.remove(&node);
                    }
                }
            }
            while z.ens.now() < sim.now() {
                z.ens.step();
            }
            for e in &z.ens.sim.events()[zk_cursor..] {
                measure.zk_event(e.at, e.node, &e.event);
            }
            zk_cursor = z.ens.sim.events().len();
            for (node, answer) in z.hub.poll(&mut z.ens) {
                if sim.is_up(node) {
                    sim.command(node, ClusterCommand::Zk(answer));
                }
            }
        } else {
            // No ensemble: a program that opens a session anyway gets kazoo's start timeout.
            let calls: Vec<(NodeId, crate::zk::port::ZkCall)> = sim.events()[cursor..]
                .iter()
                .filter_map(|e| match &e.event {
                    ClusterEvent::Zk(c) => Some((e.node, c.clone())),
                    _ => None,
                })
                .collect();
            cursor = sim.events().len();
            for (node, call) in calls {
                let reply = crate::zk::port::ZkReply::OpenTimedOut;
                sim.command(node, ClusterCommand::Zk(crate::zk::port::ZkAnswer { id: call.id, handle: call.handle, reply }));
            }
        }
        for e in &sim.events()[spark_cursor..] {
            measure.spark_event(e.at, &e.event);
        }
        spark_cursor = sim.events().len();
        // Chaos stops when the program ends (the loop's first check).
        while chaos.first().is_some_and(|p| p.0 <= sim.now()) {
            let (at, target, kill) = chaos.remove(0);
            let name = match target {
                Target::Spark(x) => format!("exec{x}"),
                Target::Zk(x) => format!("zk{x}"),
            };
            chaos_log.push((at, name, kill));
            plan.push((at, target, kill));
            plan.sort_unstable();
        }
        while plan.first().is_some_and(|p| p.0 <= sim.now()) {
            let (_, target, kill) = plan.remove(0);
            // With chaos on, the chaos plan restarts what it killed.
            let from_chaos = opts.chaos.is_some();
            match target {
                Target::Spark(x) => {
                    if kill && sim.is_up(x) {
                        sim.crash(x);
                        measure.failure(sim.now(), format!("exec{x}"), crate::metrics::FailureKind::Executor);
                        if let Some(z) = zk.as_mut() {
                            z.hub.abandon(&mut z.ens, x);
                        }
                        if let (Some(after), false) = (opts.restart_ms, from_chaos) {
                            plan.push((sim.now() + after, target, false));
                            plan.sort_unstable();
                        }
                    } else if !kill && !sim.is_up(x) {
                        sim.restart(x);
                    }
                }
                Target::Zk(x) => {
                    let Some(z) = zk.as_mut() else { continue };
                    if kill && z.ens.sim.is_up(x) {
                        let was_leader = z.ens.sim.node(x).is_some_and(|n| n.established_epoch().is_some());
                        z.ens.sim.crash(x);
                        let kind = if was_leader { crate::metrics::FailureKind::ZkLeader } else { crate::metrics::FailureKind::ZkServer };
                        measure.failure(sim.now(), format!("zk{x}"), kind);
                        if let (Some(after), false) = (opts.restart_ms, from_chaos) {
                            plan.push((sim.now() + after, target, false));
                            plan.sort_unstable();
                        }
                    } else if !kill && !z.ens.sim.is_up(x) {
                        z.ens.sim.restart(x);
                    }
                }
            }
        }
        measure.flush(sim.now());
    }
    let driver = sim.node(DRIVER).and_then(|n| n.driver());
    let (stdout, stderr, ok) = match driver {
        Some(d) => (d.stdout.clone(), d.stderr.clone(), d.phase == DriverPhase::Succeeded),
        None => (String::new(), String::new(), false),
    };
    let events = sim.events().iter().map(|e| (e.at, e.node, e.event.clone())).collect();
    let end = sim.now();
    let (zk_tree, zk_samples) = match zk {
        Some(z) => {
            let ids = z.ens.sim.ids();
            let up: Vec<&crate::zab::ZkServer> = ids.iter().filter_map(|&i| z.ens.sim.node(i)).collect();
            let best = up.iter().find(|s| s.established_epoch().is_some()).or(up.first());
            (best.map(|n| n.tree().clone()), z.hub.samples)
        }
        None => (None, vec![]),
    };
    measure.flush(Millis::MAX);
    for sample in &zk_samples {
        measure.metrics.op(sample.kind, sample.start, sample.end, sample.ok);
    }
    let metrics = measure.metrics.report(end);
    ClusterRun { stdout, stderr, finished, ok, events, end_ms: end, zk_tree, zk_samples, start_ms: start, metrics, chaos_log }
}

/// Failures and recoveries as the world sees them (see `metrics.rs` for the figures):
/// a ZooKeeper leader is recovered when a new leader is established (a quorum acked
/// NEWLEADER, so it commits again); a follower when it has synced with a leader again; an
/// executor when the next stage completes after it was lost (its lost tasks, and any map
/// output it held, were re-run by then). The two simulators' events arrive in batches, so
/// they wait in `pending` and are applied in time order up to the time both have reached.
struct Measure {
    metrics: crate::metrics::Metrics,
    lost_executors: Vec<NodeId>,
    pending: Vec<(Millis, u64, Happening)>,
    seq: u64,
}

enum Happening {
    Failure(String, crate::metrics::FailureKind),
    Recovered(String, String),
    LeaderEstablished(String),
    ExecutorLost(NodeId),
    StageCompleted(String),
    Task(bool),
}

impl Measure {
    fn new(start: Millis) -> Measure {
        Measure { metrics: crate::metrics::Metrics::new(start), lost_executors: vec![], pending: vec![], seq: 0 }
    }

    fn push(&mut self, at: Millis, h: Happening) {
        self.seq += 1;
        self.pending.push((at, self.seq, h));
    }

    fn failure(&mut self, at: Millis, id: String, kind: crate::metrics::FailureKind) {
        if kind == crate::metrics::FailureKind::Executor {
            if let Some(x) = id.strip_prefix("exec").and_then(|x| x.parse().ok()) {
                self.push(at, Happening::ExecutorLost(x));
            }
        }
        self.push(at, Happening::Failure(id, kind));
    }

    fn zk_event(&mut self, at: Millis, node: NodeId, ev: &crate::zab::ZkEvent) {
        match ev {
            crate::zab::ZkEvent::Established { epoch, .. } => {
                self.push(at, Happening::LeaderEstablished(format!("zk{node} established epoch {epoch}")));
                self.push(at, Happening::Recovered(format!("zk{node}"), "leading again".into()));
            }
            crate::zab::ZkEvent::Synced { leader, .. } => {
                self.push(at, Happening::Recovered(format!("zk{node}"), format!("synced with zk{leader}")))
            }
            _ => {}
        }
    }

    fn spark_event(&mut self, at: Millis, ev: &ClusterEvent) {
        let ClusterEvent::Listener(l) = ev else { return };
        match l {
            super::scheduler::SparkEvent::TaskEnd { reason, .. } => self.push(at, Happening::Task(reason == "Success")),
            super::scheduler::SparkEvent::StageCompleted { stage, attempt, failure: None } => {
                self.push(at, Happening::StageCompleted(format!("stage {stage} (attempt {attempt}) completed")))
            }
            _ => {}
        }
    }

    /// Applies what happened up to `until`, in time order.
    fn flush(&mut self, until: Millis) {
        use crate::metrics::FailureKind;
        self.pending.sort_by_key(|(at, seq, _)| (*at, *seq));
        let n = self.pending.partition_point(|(at, _, _)| *at <= until);
        for (at, _, h) in self.pending.drain(..n).collect::<Vec<_>>() {
            match h {
                Happening::Failure(id, kind) => self.metrics.failure(id, kind, at),
                Happening::Recovered(id, how) => {
                    self.metrics.recover(&id, at, &how);
                }
                Happening::LeaderEstablished(how) => {
                    self.metrics.recover_kind(FailureKind::ZkLeader, at, &how);
                }
                Happening::ExecutorLost(x) => {
                    if !self.lost_executors.contains(&x) {
                        self.lost_executors.push(x);
                    }
                }
                Happening::StageCompleted(how) => {
                    for x in std::mem::take(&mut self.lost_executors) {
                        self.metrics.recover(&format!("exec{x}"), at, &how);
                    }
                }
                Happening::Task(ok) => self.metrics.task_finished(at, ok),
            }
        }
    }
}
