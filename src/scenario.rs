//! Seeded worlds for a ZooKeeper ensemble: a seed picks the network, then a fault phase of
//! kills, restarts, partitions, loss and client writes, then a healing phase in which a healthy,
//! connected quorum must settle on one leader within a bound. Used by the simulation tests, the
//! `zkspark sim` CLI and the browser tests.

use crate::sim::{LinkConfig, Millis, Network, NodeId, Rng, Simulator};
use crate::zab::properties::{
    at_most_one_leader_per_epoch, committed_survive, history_agreement, leader_changes, quorum_leader, replicas_agree,
    settled_leader,
};
use crate::zab::{QuorumMaj, ServerState, ZkCommand, ZkConfig, ZkServer};
use serde::Serialize;

/// What a run is asked to do.
#[derive(Clone, Debug)]
pub struct ScenarioOptions {
    pub seed: u64,
    /// Voting servers `1..=n_servers`.
    pub n_servers: u32,
    /// Observers, numbered after the voters.
    pub observers: u32,
    /// Virtual time the run lasts (the fault phase, when faults are on).
    pub duration_ms: Millis,
    pub faults: bool,
    /// After the faults, how long a healed ensemble may take to settle on a leader.
    pub liveness_budget_ms: Millis,
    /// Keep and return the textual trace (for `zkspark sim --trace`).
    pub keep_trace: bool,
}

impl ScenarioOptions {
    pub fn new(seed: u64, n_servers: u32, duration_ms: Millis, faults: bool) -> ScenarioOptions {
        ScenarioOptions {
            seed,
            n_servers,
            observers: 0,
            duration_ms,
            faults,
            liveness_budget_ms: LIVENESS_BUDGET_MS,
            keep_trace: false,
        }
    }
}

/// ZooKeeper's own timing bounds how long a healed ensemble takes: stale followers notice a
/// dead leader within initLimit ticks (20 s), LOOKING servers re-send after at most
/// maxNotificationInterval (60 s), and discovery plus sync take a few round trips.
pub const LIVENESS_BUDGET_MS: Millis = 120_000;

/// After the healed ensemble's last write, how long every synced follower has to apply it: a
/// follower the leader dropped during the faults still believes it is synced until its read
/// times out (syncLimit ticks, 10 s), then rejoins and syncs.
pub const CATCH_UP_MS: Millis = 30_000;

/// One line of the CLI's output.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    pub seed: u64,
    pub servers: u32,
    pub duration_ms: Millis,
    pub faults: bool,
    /// Each server's final state (`down` when not running), by id.
    pub states: Vec<(NodeId, String)>,
    /// The leader backed by a quorum of synced followers at the end, if any.
    pub leader: Option<NodeId>,
    pub epoch: Option<u32>,
    /// Running servers not synced with that leader (ZooKeeper may legitimately leave a server
    /// out: see `properties::quorum_leader`).
    pub stragglers: Vec<NodeId>,
    pub leader_changes: usize,
    /// Virtual ms from the end of the faults (or from the start) until a quorum-backed leader.
    pub settled_after_ms: Option<Millis>,
    pub messages: u64,
    pub steps: u64,
    pub trace_hash: String,
    pub violations: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub trace: Vec<String>,
}

/// Builds a fresh simulated ensemble of `n` servers with ZooKeeper's default timing.
pub fn ensemble(seed: u64, n: u32, network: Network) -> Simulator<ZkServer> {
    ensemble_with(seed, ZkConfig::ensemble(n), network)
}

/// A fresh simulated ensemble of the voters and observers in `config`.
pub fn ensemble_with(seed: u64, config: ZkConfig, network: Network) -> Simulator<ZkServer> {
    let ids: Vec<NodeId> = config.voters().chain(config.observers.iter().copied()).collect();
    Simulator::new(seed, network, &ids, Box::new(move |id, disk| ZkServer::recover(id, config.clone(), disk)))
}

/// The voters of a simulated ensemble, as any of its servers' configuration says.
pub fn voters_of(sim: &Simulator<ZkServer>) -> QuorumMaj {
    sim.ids()
        .into_iter()
        .find_map(|id| sim.node(id).map(|s| s.config().quorum.clone()))
        .unwrap_or_else(|| QuorumMaj::new(sim.ids()))
}

/// Runs until the ensemble has one leader backed by a quorum, or `budget_ms` passes; returns how
/// long it took. Checks every 50 virtual ms.
pub fn run_until_quorum_leader(sim: &mut Simulator<ZkServer>, budget_ms: Millis) -> Option<Millis> {
    run_until(sim, budget_ms, |sim, quorum| quorum_leader(sim, quorum).is_some())
}

/// Runs until every running server follows one established leader, or `budget_ms` passes.
pub fn run_until_settled(sim: &mut Simulator<ZkServer>, budget_ms: Millis) -> Option<Millis> {
    run_until(sim, budget_ms, |sim, _| settled_leader(sim).is_some())
}

fn run_until(
    sim: &mut Simulator<ZkServer>,
    budget_ms: Millis,
    done: impl Fn(&Simulator<ZkServer>, &QuorumMaj) -> bool,
) -> Option<Millis> {
    let quorum = voters_of(sim);
    let start = sim.now();
    while sim.now() - start <= budget_ms {
        if done(sim, &quorum) {
            return Some(sim.now() - start);
        }
        let next = sim.now() + 50;
        sim.run_until(next);
    }
    None
}

fn random_network(rng: &mut Rng, faults: bool) -> Network {
    let latency_ms = rng.range_inclusive(1, 20);
    let jitter_ms = rng.range_inclusive(0, 20);
    let (loss_ppm, dup_ppm) =
        if faults { (rng.range_inclusive(0, 50_000) as u32, rng.range_inclusive(0, 20_000) as u32) } else { (0, 0) };
    Network::new(LinkConfig { latency_ms, jitter_ms, loss_ppm, dup_ppm, fifo: true })
}

/// One random fault (or client write) in the fault phase.
fn inject_fault(sim: &mut Simulator<ZkServer>, rng: &mut Rng, n: u32) {
    let ids: Vec<NodeId> = (1..=n).collect();
    let up: Vec<NodeId> = ids.iter().copied().filter(|&i| sim.is_up(i)).collect();
    let down: Vec<NodeId> = ids.iter().copied().filter(|&i| !sim.is_up(i)).collect();
    let pick = |rng: &mut Rng, v: &[NodeId]| v[rng.below(v.len() as u64) as usize];
    match rng.below(10) {
        0 | 1 if !up.is_empty() => {
            // Kill a leader more often than not: that is what exercises elections.
            let leaders: Vec<NodeId> = up
                .iter()
                .copied()
                .filter(|&i| sim.node(i).is_some_and(|s| s.state() == ServerState::Leading))
                .collect();
            let victim = if !leaders.is_empty() && rng.below(3) > 0 { pick(rng, &leaders) } else { pick(rng, &up) };
            sim.crash(victim);
        }
        2 | 3 if !down.is_empty() => {
            let id = pick(rng, &down);
            sim.restart(id);
        }
        4 => {
            let mut a = Vec::new();
            let mut b = Vec::new();
            for &i in &ids {
                if rng.below(2) == 0 {
                    a.push(i)
                } else {
                    b.push(i)
                }
            }
            sim.network.partition(&[a, b]);
        }
        5 => {
            let id = pick(rng, &ids);
            sim.network.isolate(id, ids.iter().copied());
        }
        6 => sim.network.heal(),
        _ => {
            // A burst of client writes at whoever leads, so histories diverge under faults.
            for id in up {
                if sim.node(id).is_some_and(|s| s.established_epoch().is_some()) {
                    for _ in 0..rng.range_inclusive(1, 5) {
                        sim.command(id, ZkCommand::Write);
                    }
                }
            }
        }
    }
}

/// Runs one seeded world and checks the cluster properties.
pub fn run(opts: &ScenarioOptions) -> Report {
    let mut world_rng = Rng::new(opts.seed ^ 0x5A5A_5A5A_5A5A_5A5A);
    let network = random_network(&mut world_rng, opts.faults);
    let config = ZkConfig::with_observers(opts.n_servers, opts.observers);
    let n = opts.n_servers + opts.observers;
    let mut sim = ensemble_with(opts.seed, config, network);
    if opts.keep_trace {
        sim.keep_trace_log();
    }
    let settled_after_ms = if opts.faults {
        while sim.now() < opts.duration_ms {
            let next = (sim.now() + world_rng.range_inclusive(200, 4000)).min(opts.duration_ms);
            sim.run_until(next);
            inject_fault(&mut sim, &mut world_rng, n);
        }
        // Heal: every server up, a clean, connected network.
        sim.network.heal();
        sim.network.default.loss_ppm = 0;
        sim.network.default.dup_ppm = 0;
        for id in 1..=n {
            if !sim.is_up(id) {
                sim.restart(id);
            }
        }
        let settled = run_until_quorum_leader(&mut sim, opts.liveness_budget_ms);
        // A last write through the healed ensemble, then time for every follower to apply it.
        if let Some(leader) = quorum_leader(&sim, &voters_of(&sim)) {
            sim.command(leader, ZkCommand::Write);
            let until = sim.now() + CATCH_UP_MS;
            sim.run_until(until);
        }
        settled
    } else {
        let settled = run_until_quorum_leader(&mut sim, opts.duration_ms);
        sim.run_until(opts.duration_ms);
        settled
    };
    report(opts, &sim, settled_after_ms)
}

fn report(opts: &ScenarioOptions, sim: &Simulator<ZkServer>, settled_after_ms: Option<Millis>) -> Report {
    let mut violations: Vec<String> = sim.violations().to_vec();
    if let Err(e) = at_most_one_leader_per_epoch(sim.events()) {
        violations.push(e);
    }
    let leader = quorum_leader(sim, &voters_of(sim));
    let caught_up: Vec<&ZkServer> = sim
        .ids()
        .into_iter()
        .filter_map(|id| sim.node(id))
        .filter(|s| leader.is_some() && (s.established_epoch().is_some() || s.synced_leader() == leader))
        .collect();
    match history_agreement(sim.events()) {
        Ok(edges) => {
            let last: Vec<(NodeId, crate::zab::Zxid)> =
                caught_up.iter().map(|s| (crate::sim::Process::id(*s), s.last_applied())).collect();
            if let Err(e) = committed_survive(sim.events(), &edges, &last) {
                violations.push(e);
            }
        }
        Err(e) => violations.push(e),
    }
    if let Err(e) = replicas_agree(&caught_up) {
        violations.push(e);
    }
    if opts.faults {
        let lead_at = leader.and_then(|l| sim.node(l)).map(|s| s.last_applied());
        for s in &caught_up {
            if Some(s.last_applied()) != lead_at {
                violations.push(format!(
                    "server {} is synced but applied only up to {} while the leader is at {:?}",
                    crate::sim::Process::id(*s),
                    s.last_applied(),
                    lead_at.map(|z| z.to_string())
                ));
            }
        }
    }
    if settled_after_ms.is_none() {
        let budget = if opts.faults { opts.liveness_budget_ms } else { opts.duration_ms };
        violations.push(format!("no quorum-backed leader within {budget} ms of a healthy, connected quorum"));
    }
    let total = opts.n_servers + opts.observers;
    let states = (1..=total)
        .map(|id| (id, sim.node(id).map_or("down".to_string(), |s| s.state().as_str().to_string())))
        .collect();
    Report {
        seed: opts.seed,
        servers: opts.n_servers,
        duration_ms: opts.duration_ms,
        faults: opts.faults,
        states,
        leader,
        stragglers: (1..=total)
            .filter(|&id| sim.node(id).is_some_and(|s| Some(id) != leader && s.synced_leader() != leader))
            .collect(),
        epoch: leader.and_then(|l| sim.node(l)).and_then(|s| s.established_epoch()),
        leader_changes: leader_changes(sim.events()),
        settled_after_ms,
        messages: sim.messages_delivered(),
        steps: sim.steps(),
        trace_hash: format!("{:016x}", sim.trace_hash()),
        violations,
        trace: sim.trace_log().to_vec(),
    }
}
