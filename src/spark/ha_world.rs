//! Spark standalone high availability on the simulator: masters, workers and the driver's
//! application (`standalone.rs`) beside a ZooKeeper ensemble, with master and worker kills at
//! chosen times or from a chaos plan. `zkspark ha` and `tests/spark_ha.rs` use it.
//!
//! ```text
//! run_ha(options)
//!   Ensemble (3 servers, elects first) ◀─ ZkHub ◀─ Zk(ZkCall) events ── Simulator<StandaloneNode>
//!                                      ─ poll ─▶ ZkAnswer commands ──▶  masters 1..=M
//!   both clocks advance in lockstep, ZK_QUANTUM_MS at a time          workers 11..=10+W, app 20
//!   kill node ─▶ sim.crash (peers get a connection reset) + hub.abandon (its sessions go silent
//!                and expire on the servers after their negotiated timeout)
//!   a master that exits (lost leadership) or a worker that gives up ─▶ crashed the same way;
//!                a supervisor restarts every dead process after `restart_ms`
//!   every quantum: at most one leading master whose latch znode exists, and it is the lowest
//!   ─▶ HaRun{events, faults, failovers (kill → new leader ALIVE), final views, persisted state}
//! ```
//!
//! What a master kill costs, and why: the killed master's process dies without closing its
//! sessions (`kill -9`, a lost machine), so its latch node stays until the ensemble expires the
//! session. Spark asks Curator for 60 s (`SparkCuratorUtil.ZK_SESSION_TIMEOUT_MILLIS`), but a
//! server grants at most `maxSessionTimeout` = 20 × tickTime = 40 s by default, so the standby
//! waits ≈ 40 s (plus the leader's session-expiry tick) before its watch fires. Recovery then
//! takes one round trip to each stored worker and app when all of them answer, or
//! `spark.worker.timeout` (60 s) when one of them is gone.

use super::standalone::{
    master_node, node_name, role_of, worker_node, MasterState, Role, StandaloneCommand, StandaloneConfig, StandaloneEvent,
    StandaloneNode, StandaloneView, StoredApp, StoredWorker, ELECTION_DIR, STATUS_DIR,
};
use super::world::cluster_network;
use crate::ensemble::Ensemble;
use crate::metrics::{ChaosAction, ChaosConfig, ChaosPlan};
use crate::sim::{Millis, NodeId, Process, Simulator};
use crate::zkhub::{OpSample, ZkHub};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// How often the two simulators meet (virtual ms), as in `world.rs`.
const ZK_QUANTUM_MS: Millis = 5;

/// A process to kill.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum HaTarget {
    Master(u32),
    Worker(u32),
}

impl HaTarget {
    pub fn node(self) -> NodeId {
        match self {
            HaTarget::Master(n) => master_node(n),
            HaTarget::Worker(n) => worker_node(n),
        }
    }
}

/// Random kills: a Poisson process over masters and workers (`metrics::ChaosPlan`); each
/// victim restarts `HaOptions::restart_ms` later.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HaChaos {
    pub mean_interval_ms: Millis,
    /// Kills fall in `[start_ms, start_ms + horizon_ms)`, after the world's start.
    pub start_ms: Millis,
    pub horizon_ms: Millis,
    /// At most this many of the targets down at once.
    pub max_down: u32,
}

#[derive(Clone, Debug)]
pub struct HaOptions {
    pub seed: u64,
    pub masters: u32,
    pub workers: u32,
    /// (target, virtual ms after the world's start).
    pub kills: Vec<(HaTarget, Millis)>,
    /// How long a dead process stays down before its supervisor starts it again (None: never).
    pub restart_ms: Option<Millis>,
    pub chaos: Option<HaChaos>,
    /// Virtual ms to run after the world's start.
    pub duration_ms: Millis,
    pub zk_servers: u32,
    /// Timeouts, the job; `seed`, `masters` and `workers` are taken from the fields above.
    pub config: StandaloneConfig,
}

impl Default for HaOptions {
    fn default() -> Self {
        HaOptions {
            seed: 1,
            masters: 2,
            workers: 3,
            kills: vec![],
            restart_ms: Some(30_000),
            chaos: None,
            duration_ms: 240_000,
            zk_servers: 3,
            config: StandaloneConfig::default(),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FaultKind {
    /// Killed by the scenario or chaos.
    Kill,
    /// Exited by itself (a master whose leadership was revoked, a worker that gave up).
    Exit,
    Restart,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fault {
    pub at: Millis,
    pub node: NodeId,
    pub kind: FaultKind,
    /// For a master: it held leadership when it died.
    pub was_leader: bool,
}

/// One kill of the leading master and what followed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Failover {
    pub killed: NodeId,
    pub at: Millis,
    /// The master that next became ALIVE.
    pub new_leader: Option<NodeId>,
    /// When the latch made it leader (its predecessor's session had expired).
    pub elected_at: Option<Millis>,
    pub alive_at: Option<Millis>,
    /// `alive_at - at`: time to repair, as the metrics module counts it.
    pub mttr_ms: Option<Millis>,
}

/// What `/spark/master_status` holds.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Persisted {
    pub workers: Vec<StoredWorker>,
    pub apps: Vec<StoredApp>,
    /// `/spark/leader_election` children, lowest first, with the master each names.
    pub latches: Vec<(String, String)>,
}

#[derive(Clone, Debug)]
pub struct HaRun {
    /// When the ensemble had a leader and the world's clock started counting kills.
    pub start_ms: Millis,
    pub end_ms: Millis,
    /// Every event but ZooKeeper calls: (virtual ms, node, event).
    pub events: Vec<(Millis, NodeId, StandaloneEvent)>,
    pub faults: Vec<Fault>,
    pub failovers: Vec<Failover>,
    /// Each node's view at the end (None: down).
    pub views: BTreeMap<NodeId, Option<StandaloneView>>,
    pub persisted: Persisted,
    /// Node invariant violations and world safety violations, with their times.
    pub violations: Vec<String>,
    /// Virtual ms during which two masters were ALIVE at once (whatever their sessions).
    pub dual_alive_ms: Millis,
    pub zk_samples: Vec<OpSample>,
    /// The session timeout the servers grant a master (Spark asks 60 s).
    pub granted_session_timeout_ms: u32,
}

impl HaRun {
    /// The master ALIVE at the end, if exactly one is.
    pub fn active_master(&self) -> Option<NodeId> {
        let alive: Vec<NodeId> = self
            .views
            .iter()
            .filter_map(|(&n, v)| match v {
                Some(StandaloneView::Master(m)) if m.state == MasterState::Alive => Some(n),
                _ => None,
            })
            .collect();
        (alive.len() == 1).then(|| alive[0])
    }

    /// Master state transitions: (ms, master, state).
    pub fn master_states(&self) -> Vec<(Millis, NodeId, MasterState)> {
        self.events
            .iter()
            .filter_map(|(t, n, e)| match e {
                StandaloneEvent::MasterState { state } => Some((*t, *n, *state)),
                _ => None,
            })
            .collect()
    }

    /// The timeline as text, one line per fault or event worth reading (tasks are summarized).
    pub fn timeline(&self) -> String {
        let mut lines: Vec<(Millis, u8, String)> = vec![];
        for f in &self.faults {
            let what = match f.kind {
                FaultKind::Kill if f.was_leader => "KILLED (leader)",
                FaultKind::Kill => "KILLED",
                FaultKind::Exit => "exited",
                FaultKind::Restart => "restarted",
            };
            lines.push((f.at, 0, format!("{:<8} {what}", node_name(f.node))));
        }
        for (t, n, e) in &self.events {
            let text = match e {
                StandaloneEvent::MasterState { state } => format!("state {}", state.as_str()),
                StandaloneEvent::TaskFinished { done, .. } if done % 50 != 0 => continue,
                StandaloneEvent::TaskFinished { done, .. } => format!("{done} tasks done"),
                StandaloneEvent::Zk(_) | StandaloneEvent::WorkerBooted => continue,
                other => format!("{other:?}"),
            };
            lines.push((*t, 1, format!("{:<8} {text}", node_name(*n))));
        }
        // Stable by time: events of one millisecond keep the order they happened in.
        lines.sort_by_key(|l| (l.0, l.1));
        lines.into_iter().map(|(t, _, s)| format!("{:>9.3} s  {s}\n", t as f64 / 1000.0)).collect()
    }
}

/// The simulated cluster: the Spark side, the ensemble and the hub between them.
struct HaWorld {
    sim: Simulator<StandaloneNode>,
    ens: Ensemble,
    hub: ZkHub,
    cursor: usize,
    faults: Vec<Fault>,
    /// Pending restarts and kills: (at, node, kill?).
    plan: Vec<(Millis, NodeId, bool)>,
    restart_ms: Option<Millis>,
    violations: Vec<String>,
    /// Node violations already copied from the simulator.
    seen_violations: usize,
    dual_alive_ms: Millis,
}

pub fn run_ha(opts: &HaOptions) -> HaRun {
    assert!((1..=9).contains(&opts.masters), "1 to 9 masters");
    assert!((1..=9).contains(&opts.workers), "1 to 9 workers");
    let config = StandaloneConfig { seed: opts.seed, masters: opts.masters, workers: opts.workers, ..opts.config.clone() };
    let mut ids = config.master_nodes();
    ids.extend(config.worker_nodes());
    ids.push(super::standalone::APP_NODE);
    let ens = Ensemble::new(opts.seed ^ 0x5A5A, opts.zk_servers, cluster_network());
    let start = ens.now();
    let granted = ens.sim.node(1).map_or(config.zk_session_timeout_ms, |s| s.config().negotiate_session_timeout(config.zk_session_timeout_ms));
    // Workers and the app launch `launch_after_ms` after the world starts, the masters at once.
    let node_config = StandaloneConfig { launch_after_ms: start + config.launch_after_ms, ..config.clone() };
    let sim = Simulator::new(opts.seed, cluster_network(), &ids, Box::new(move |id, _disk| StandaloneNode::new(id, &node_config)));
    let mut w = HaWorld {
        sim,
        ens,
        hub: ZkHub::new(),
        cursor: 0,
        faults: vec![],
        plan: opts.kills.iter().map(|&(t, at)| (start + at, t.node(), true)).collect(),
        restart_ms: opts.restart_ms,
        violations: vec![],
        seen_violations: 0,
        dual_alive_ms: 0,
    };
    if let Some(chaos) = opts.chaos {
        w.plan.extend(chaos_plan(opts, &config, chaos, start));
    }
    w.plan.sort_unstable();
    w.sim.run_until(start);
    let end = start + opts.duration_ms;
    while w.sim.now() < end {
        let next_fault = w.plan.first().map_or(Millis::MAX, |p| p.0);
        let target = (w.sim.now() + ZK_QUANTUM_MS).min(next_fault.max(w.sim.now())).min(end);
        w.sim.run_until(target);
        w.exchange();
        w.apply_faults(opts.chaos.is_none());
        w.check_safety();
    }
    w.finish(start, granted)
}

/// Kills (and their restarts) from a `ChaosPlan` over every master and worker.
fn chaos_plan(opts: &HaOptions, config: &StandaloneConfig, chaos: HaChaos, start: Millis) -> Vec<(Millis, NodeId, bool)> {
    let nodes: Vec<NodeId> = config.master_nodes().into_iter().chain(config.worker_nodes()).collect();
    let names: Vec<String> = nodes.iter().map(|&n| node_name(n)).collect();
    let plan = ChaosPlan::new(
        ChaosConfig {
            seed: opts.seed ^ 0xC4A05,
            mean_interval_ms: chaos.mean_interval_ms,
            restart_delay_ms: opts.restart_ms.unwrap_or(30_000),
            start_ms: start + chaos.start_ms,
            horizon_ms: chaos.horizon_ms,
            max_down: chaos.max_down,
        },
        &names,
    );
    plan.events
        .iter()
        .map(|e| {
            let node = nodes[names.iter().position(|n| *n == e.target).expect("a chaos target")];
            (e.at, node, e.action == ChaosAction::Kill)
        })
        .collect()
}

impl HaWorld {
    /// Hands the nodes' ZooKeeper calls to the hub, runs the ensemble up to the Spark clock and
    /// delivers the answers; processes that exited are taken down.
    fn exchange(&mut self) {
        let mut exited = vec![];
        for e in &self.sim.events()[self.cursor..] {
            match &e.event {
                StandaloneEvent::Zk(call) => self.hub.call(&mut self.ens, e.node, call.clone()),
                StandaloneEvent::MasterState { state: MasterState::Down } | StandaloneEvent::WorkerGaveUp { .. } => exited.push(e.node),
                _ => {}
            }
        }
        self.cursor = self.sim.events().len();
        for node in exited {
            self.take_down(node, FaultKind::Exit, true);
        }
        while self.ens.now() < self.sim.now() {
            self.ens.step();
        }
        for (node, answer) in self.hub.poll(&mut self.ens) {
            if self.sim.is_up(node) {
                self.sim.command(node, StandaloneCommand::Zk(answer));
            }
        }
    }

    fn take_down(&mut self, node: NodeId, kind: FaultKind, schedule_restart: bool) {
        if !self.sim.is_up(node) {
            return;
        }
        let was_leader = matches!(self.sim.node(node).map(|n| n.view()), Some(StandaloneView::Master(m)) if m.leader);
        self.sim.crash(node);
        self.hub.abandon(&mut self.ens, node);
        self.faults.push(Fault { at: self.sim.now(), node, kind, was_leader });
        if let (true, Some(after)) = (schedule_restart, self.restart_ms) {
            self.plan.push((self.sim.now() + after, node, false));
            self.plan.sort_unstable();
        }
    }

    fn apply_faults(&mut self, restart_kills: bool) {
        while self.plan.first().is_some_and(|p| p.0 <= self.sim.now()) {
            let (_, node, kill) = self.plan.remove(0);
            if kill {
                self.take_down(node, FaultKind::Kill, restart_kills);
            } else if !self.sim.is_up(node) {
                self.sim.restart(node);
                self.faults.push(Fault { at: self.sim.now(), node, kind: FaultKind::Restart, was_leader: false });
            }
        }
    }

    /// The ensemble's tree as its leader has it (the most up to date committed state).
    fn tree(&self) -> Option<&crate::zk::DataTree> {
        let ids = self.ens.sim.ids();
        let up: Vec<&crate::zab::ZkServer> = ids.iter().filter_map(|&i| self.ens.sim.node(i)).collect();
        up.iter().find(|s| s.established_epoch().is_some()).or(up.first()).map(|s| s.tree())
    }

    /// Leader safety: a master that leads while its latch znode exists holds the lowest latch,
    /// so at most one such master exists. (A master whose session expired under it may still
    /// think it leads until its next probe; Spark has the same window.)
    fn check_safety(&mut self) {
        let now = self.sim.now();
        let new = self.sim.violations()[self.seen_violations..].to_vec();
        self.seen_violations += new.len();
        self.violations.extend(new);
        let mut found = vec![];
        let Some(tree) = self.tree() else { return };
        let lowest = tree.get(ELECTION_DIR).and_then(|d| super::standalone::sorted_latches(d.children.iter().cloned().collect()).first().cloned());
        let mut leading_with_latch = vec![];
        let mut alive = 0;
        for id in self.sim.ids() {
            let Some(StandaloneView::Master(m)) = self.sim.node(id).map(|n| n.view()) else { continue };
            alive += usize::from(m.state == MasterState::Alive);
            let Some(latch) = m.latch.as_deref().filter(|_| m.state.is_leading()) else { continue };
            if tree.get(latch).is_some() {
                leading_with_latch.push(id);
                if lowest.as_deref() != Some(crate::zk::path::basename(latch)) {
                    found.push(format!("safety t={now}: {} is {:?} but its latch {latch} is not the lowest", node_name(id), m.state));
                }
            }
        }
        self.violations.extend(found);
        if leading_with_latch.len() > 1 {
            self.violations.push(format!("safety t={now}: masters {leading_with_latch:?} lead with live sessions"));
        }
        if alive > 1 {
            self.dual_alive_ms += ZK_QUANTUM_MS;
        }
    }

    fn finish(self, start: Millis, granted: u32) -> HaRun {
        let events: Vec<(Millis, NodeId, StandaloneEvent)> = self
            .sim
            .events()
            .iter()
            .filter(|e| !matches!(e.event, StandaloneEvent::Zk(_)))
            .map(|e| (e.at, e.node, e.event.clone()))
            .collect();
        let views = self.sim.ids().into_iter().map(|id| (id, self.sim.node(id).map(|n| n.view()))).collect();
        let persisted = self.tree().map(persisted_state).unwrap_or_default();
        let failovers = failovers(&self.faults, &events);
        HaRun {
            start_ms: start,
            end_ms: self.sim.now(),
            events,
            faults: self.faults,
            failovers,
            views,
            persisted,
            violations: self.violations,
            dual_alive_ms: self.dual_alive_ms,
            zk_samples: self.hub.samples,
            granted_session_timeout_ms: granted,
        }
    }
}

/// Reads `/spark/master_status` and `/spark/leader_election` from a tree.
pub fn persisted_state(tree: &crate::zk::DataTree) -> Persisted {
    let mut p = Persisted::default();
    if let Some(dir) = tree.get(STATUS_DIR) {
        for child in &dir.children {
            let Some(node) = tree.get(&format!("{STATUS_DIR}/{child}")) else { continue };
            let text = String::from_utf8_lossy(&node.data);
            if child.starts_with("worker_") {
                p.workers.extend(serde_json::from_str::<StoredWorker>(&text).ok());
            } else if child.starts_with("app_") {
                p.apps.extend(serde_json::from_str::<StoredApp>(&text).ok());
            }
        }
    }
    if let Some(dir) = tree.get(ELECTION_DIR) {
        for child in super::standalone::sorted_latches(dir.children.iter().cloned().collect()) {
            let data = tree.get(&format!("{ELECTION_DIR}/{child}")).map(|n| String::from_utf8_lossy(&n.data).to_string());
            p.latches.push((child, data.unwrap_or_default()));
        }
    }
    p
}

/// For each kill of a leading master: the next master to become ALIVE, when the latch chose
/// it, and when it was ALIVE.
fn failovers(faults: &[Fault], events: &[(Millis, NodeId, StandaloneEvent)]) -> Vec<Failover> {
    faults
        .iter()
        .filter(|f| f.kind == FaultKind::Kill && f.was_leader && matches!(role_of(f.node), Role::Master(_)))
        .map(|f| {
            let alive = events.iter().find(|(t, _, e)| *t >= f.at && matches!(e, StandaloneEvent::MasterState { state: MasterState::Alive }));
            let new_leader = alive.map(|a| a.1);
            let alive_at = alive.map(|a| a.0);
            let elected_at = alive.and_then(|&(t_alive, n, _)| {
                events.iter().filter(|(t, m, e)| *m == n && *t >= f.at && *t <= t_alive && matches!(e, StandaloneEvent::Elected { .. })).map(|e| e.0).next_back()
            });
            Failover { killed: f.node, at: f.at, new_leader, elected_at, alive_at, mttr_ms: alive_at.map(|t| t - f.at) }
        })
        .collect()
}
