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
    // Faults in time order: (at, target, kill?, from chaos?). Chaos restarts what it kills;
    // other kills come back after `restart_ms`.
    #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
    enum Target {
        Spark(NodeId),
        Zk(NodeId),
    }
    let mut plan: Vec<(Millis, Target, bool, bool)> = opts.kills.iter().map(|&(x, t)| (start + t, Target::Spark(x), true, false)).collect();
    plan.extend(opts.zk_kills.iter().map(|&(x, t)| (start + t, Target::Zk(x), true, false)));
    if let Some(c) = opts.chaos {
        let targets: Vec<String> =
            (1..=config.executors).map(|x| format!("exec{x}")).chain((1..=opts.zk_servers).map(|x| format!("zk{x}"))).collect();
        for e in crate::metrics::ChaosPlan::new(crate::metrics::ChaosConfig { start_ms: start + c.start_ms, ..c }, &targets).events {
            let target = match e.target.strip_prefix("exec") {
                Some(x) => Target::Spark(x.parse().unwrap_or(1)),
                None => Target::Zk(e.target.trim_start_matches("zk").parse().unwrap_or(1)),
            };
            plan.push((e.at, target, e.action == crate::metrics::ChaosAction::Kill, true));
        }
    }
    plan.sort_unstable();
    let mut chaos_log = vec![];
    let mut measure = crate::measure::Measure::new(start);
    // The ensemble's first election happened before the program: not a recovery.
    let mut zk_cursor = zk.as_ref().map_or(0, |z| z.ens.sim.events().len());
    let mut established = 0;
    let mut finished = false;
    let mut cursor = 0;
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
        let now = sim.now();
        // What the Spark nodes did since the last look: ZooKeeper calls, exits, task ends.
        let mut calls = vec![];
        for e in &sim.events()[cursor..] {
            match &e.event {
                ClusterEvent::Zk(call) => calls.push((e.node, Some(call.clone()))),
                ClusterEvent::ZkExit => calls.push((e.node, None)),
                ClusterEvent::Listener(super::scheduler::SparkEvent::TaskEnd { reason, .. }) => measure.tasks(&[reason == "Success"]),
                ClusterEvent::Listener(super::scheduler::SparkEvent::StageCompleted { stage, attempt, failure: None }) => {
                    measure.stage_completed(&format!("stage {stage} (attempt {attempt}) completed"))
                }
                _ => {}
            }
        }
        cursor = sim.events().len();
        match zk.as_mut() {
            Some(z) => {
                for (node, call) in calls {
                    match call {
                        Some(call) => z.hub.call(&mut z.ens, node, call),
                        None => z.hub.abandon(&mut z.ens, node),
                    }
                }
                for &(node, from, to) in &opts.zk_isolations {
                    let cut = (start + from..start + to).contains(&now);
                    if cut != isolated.contains(&node) {
                        z.hub.isolate(&mut z.ens, node, cut);
                        if cut {
                            isolated.insert(node);
                        } else {
                            isolated.remove(&node);
                        }
                    }
                }
                while z.ens.now() < now {
                    z.ens.step();
                }
                let new = &z.ens.sim.events()[zk_cursor..];
                established += new.iter().filter(|e| matches!(e.event, crate::zab::ZkEvent::Established { .. })).count() as u64;
                zk_cursor = z.ens.sim.events().len();
                let states: Vec<(NodeId, &str)> =
                    z.ens.sim.ids().into_iter().filter_map(|i| Some((i, z.ens.sim.node(i)?.state().as_str()))).collect();
                measure.zk_frame(now, &states, established);
                for (node, answer) in z.hub.poll(&mut z.ens) {
                    if sim.is_up(node) {
                        sim.command(node, ClusterCommand::Zk(answer));
                    }
                }
            }
            None => {
                // No ensemble: a program that opens a session anyway gets kazoo's start timeout.
                for (node, call) in calls {
                    if let Some(call) = call {
                        let reply = crate::zk::port::ZkReply::OpenTimedOut;
                        sim.command(node, ClusterCommand::Zk(crate::zk::port::ZkAnswer { id: call.id, handle: call.handle, reply }));
                    }
                }
                measure.zk_frame(now, &[], 0);
            }
        }
        while plan.first().is_some_and(|p| p.0 <= now) {
            let (at, target, kill, from_chaos) = plan.remove(0);
            if from_chaos {
                let name = match target {
                    Target::Spark(x) => format!("exec{x}"),
                    Target::Zk(x) => format!("zk{x}"),
                };
                chaos_log.push((at, name, kill));
            }
            let up = match target {
                Target::Spark(x) => sim.is_up(x),
                Target::Zk(x) => zk.as_ref().is_some_and(|z| z.ens.sim.is_up(x)),
            };
            match (target, kill, up) {
                (Target::Spark(x), true, true) => {
                    sim.crash(x);
                    measure.executor_killed(x);
                    if let Some(z) = zk.as_mut() {
                        z.hub.abandon(&mut z.ens, x);
                    }
                }
                (Target::Spark(x), false, false) => sim.restart(x),
                (Target::Zk(x), true, true) => {
                    let z = zk.as_mut().expect("up");
                    measure.zk_killed(x, z.ens.sim.node(x).is_some_and(|n| n.established_epoch().is_some()));
                    z.ens.sim.crash(x);
                }
                (Target::Zk(x), false, false) => {
                    if let Some(z) = zk.as_mut() {
                        z.ens.sim.restart(x);
                    }
                }
                _ => continue,
            }
            if let (true, false, Some(after)) = (kill, from_chaos, opts.restart_ms) {
                plan.push((now + after, target, false, false));
                plan.sort_unstable();
            }
        }
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
    measure.ops(zk_samples.iter().cloned());
    let metrics = measure.metrics.report(end);
    ClusterRun { stdout, stderr, finished, ok, events, end_ms: end, zk_tree, zk_samples, start_ms: start, metrics, chaos_log }
}
