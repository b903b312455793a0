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
}

impl Default for ClusterOptions {
    fn default() -> Self {
        ClusterOptions { seed: 1, config: ClusterConfig::default(), kills: vec![], restart_ms: Some(1_000), max_ms: 3_600_000 }
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

pub fn run_on_cluster(source: &str, filename: &str, fs: SimFs, opts: &ClusterOptions) -> ClusterRun {
    let config = opts.config.clone();
    let ids: Vec<NodeId> = (0..=config.executors).collect();
    let factory_config = config.clone();
    let mut sim: Simulator<SparkNode> =
        Simulator::new(opts.seed, cluster_network(), &ids, Box::new(move |id, _disk| SparkNode::new(id, &factory_config)));
    sim.command(DRIVER, ClusterCommand::Run { source: source.to_string(), filename: filename.to_string(), fs });
    // (time, executor, kill?) in time order.
    let mut plan: Vec<(Millis, NodeId, bool)> = opts.kills.iter().map(|&(x, t)| (t, x, true)).collect();
    plan.sort_unstable();
    let mut finished = false;
    loop {
        if let Some(phase) = sim.node(DRIVER).and_then(|n| n.driver()).map(|d| d.phase.clone()) {
            if matches!(phase, DriverPhase::Succeeded | DriverPhase::Failed) {
                finished = true;
                break;
            }
        }
        if sim.now() >= opts.max_ms {
            break;
        }
        let next_fault = plan.first().map(|p| p.0);
        let target = (sim.now() + 100).min(next_fault.unwrap_or(Millis::MAX)).min(opts.max_ms);
        sim.run_until(target);
        while plan.first().is_some_and(|p| p.0 <= sim.now()) {
            let (_, x, kill) = plan.remove(0);
            if kill && sim.is_up(x) {
                sim.crash(x);
                if let Some(after) = opts.restart_ms {
                    plan.push((sim.now() + after, x, false));
                    plan.sort_unstable();
                }
            } else if !kill && !sim.is_up(x) {
                sim.restart(x);
            }
        }
    }
    let driver = sim.node(DRIVER).and_then(|n| n.driver());
    let (stdout, stderr, ok) = match driver {
        Some(d) => (d.stdout.clone(), d.stderr.clone(), d.phase == DriverPhase::Succeeded),
        None => (String::new(), String::new(), false),
    };
    let events = sim.events().iter().map(|e| (e.at, e.node, e.event.clone())).collect();
    ClusterRun { stdout, stderr, finished, ok, events, end_ms: sim.now() }
}
