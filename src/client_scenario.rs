//! Seeded worlds with clients: a write load from several sessions while servers crash,
//! restart and get partitioned, then a healing phase; afterwards the run is checked for ZAB's
//! properties, converged replicas, expired sessions' ephemerals, linearizable writes and each
//! client's FIFO order and monotonic reads.

use crate::ensemble::{ClientEvent, ClientId, Ensemble};
use crate::linearizability::{check, Operation, RegisterOp, Verdict, ZnodeRegister};
use crate::sim::{LinkConfig, Millis, Network, NodeId, Rng};
use crate::zab::properties::{committed_survive, history_agreement, quorum_leader, replicas_agree};
use crate::zab::{QuorumMaj, ZkServer, Zxid};
use crate::zk::{Acl, CreateMode, Op, OpResult};
use serde::Serialize;
use std::collections::BTreeMap;

const KEYS: usize = 3;
const CLIENTS: usize = 3;
const SESSION_TIMEOUT_MS: u32 = 8_000;
/// A request unanswered this long counts as an unknown outcome (the client gave up on it).
const REQUEST_TIMEOUT_MS: Millis = 15_000;

#[derive(Clone, Debug, Serialize)]
pub struct ClientReport {
    pub seed: u64,
    pub writes_ok: usize,
    pub writes_unknown: usize,
    pub reads_ok: usize,
    pub sessions_expired: usize,
    pub violations: Vec<String>,
}

#[derive(Clone, Debug)]
enum Kind {
    Set { key: usize, value: String },
    Get { key: usize },
    Ephemeral,
}

struct InFlight {
    xid: u32,
    kind: Kind,
    call: Millis,
}

struct Recorder {
    writes: Vec<Vec<Operation<RegisterOp, i32>>>,
    /// Per client: (key, version seen, completion time, session generation) of reads, and of
    /// acknowledged writes.
    reads: Vec<Vec<(usize, i32, Millis, u32)>>,
    acked_versions: Vec<Vec<(usize, i32, Millis, u32)>>,
    /// Per client: how many times it had to open a new session.
    generation: Vec<u32>,
    /// Per client: the zxids of its successful writes, in the order it issued them.
    write_zxids: Vec<Vec<Zxid>>,
}

fn key_path(k: usize) -> String {
    format!("/k{k}")
}

/// Runs one seeded world with clients and checks it.
pub fn run(seed: u64, fault_ms: Millis) -> ClientReport {
    run_with(seed, fault_ms, |_| {})
}

/// `run`, handing the finished world to `inspect` (for debugging a seed).
pub fn run_with(seed: u64, fault_ms: Millis, inspect: impl FnOnce(&Ensemble)) -> ClientReport {
    let mut rng = Rng::new(seed ^ 0xC11E_17C1_1E17_C11E);
    let latency_ms = rng.range_inclusive(1, 15);
    let jitter_ms = rng.range_inclusive(0, 15);
    let loss_ppm = rng.range_inclusive(0, 20_000) as u32;
    let dup_ppm = rng.range_inclusive(0, 10_000) as u32;
    // Set-up on a calm network; loss and duplication start with the load.
    let net = Network::new(LinkConfig { latency_ms, jitter_ms, loss_ppm: 0, dup_ppm: 0, fifo: true });
    let n = 5;
    let mut e = Ensemble::new(seed, n, net);
    let mut violations = Vec::new();

    // Set-up on a calm ensemble: the keys exist before the load starts.
    let admin = e.open((1..=n).collect(), 30_000);
    e.wait_connected(admin, 30_000);
    for k in 0..KEYS {
        let op = Op::Create {
            path: key_path(k),
            data: Vec::new(),
            acl: Acl::open_unsafe(),
            mode: CreateMode::Persistent,
            ttl_ms: None,
        };
        if let Err(err) = e.call(admin, op, 30_000) {
            violations.push(format!("set-up create {} failed: {err:?}", key_path(k)));
        }
    }
    e.close(admin);
    e.sim.network.default.loss_ppm = loss_ppm;
    e.sim.network.default.dup_ppm = dup_ppm;

    let clients: Vec<ClientId> = (0..CLIENTS)
        .map(|_| {
            let mut servers: Vec<NodeId> = (1..=n).collect();
            rng.shuffle(&mut servers);
            e.open(servers, SESSION_TIMEOUT_MS)
        })
        .collect();
    let mut rec = Recorder {
        writes: vec![Vec::new(); KEYS],
        reads: vec![Vec::new(); CLIENTS],
        acked_versions: vec![Vec::new(); CLIENTS],
        write_zxids: vec![Vec::new(); CLIENTS],
        generation: vec![0; CLIENTS],
    };
    let mut in_flight: Vec<Option<InFlight>> = (0..CLIENTS).map(|_| None).collect();
    let mut counter = 0u64;
    let mut expired = 0;
    let start = e.now();
    let mut next_fault = start + rng.range_inclusive(500, 3_000);
    let mut healed = false;
    // After the faults: up to LIVENESS_BUDGET_MS for a quorum-backed leader, then 10 s more
    // of load on the healed ensemble.
    let mut settled_at: Option<Millis> = None;
    let quorum = QuorumMaj::new(1..=n);
    loop {
        let faulting = e.now() < start + fault_ms;
        if !faulting {
            if settled_at.is_none() && quorum_leader(&e.sim, &quorum).is_some() {
                settled_at = Some(e.now());
            }
            let budget_over = e.now() > start + fault_ms + crate::scenario::LIVENESS_BUDGET_MS;
            if budget_over || settled_at.is_some_and(|t| e.now() > t + 10_000) {
                break;
            }
        }
        if faulting && e.now() >= next_fault {
            fault(&mut e, &mut rng, n);
            next_fault = e.now() + rng.range_inclusive(500, 4_000);
        }
        if !faulting && !healed {
            heal(&mut e, n);
            healed = true;
        }
        e.step();
        for (i, &c) in clients.iter().enumerate() {
            collect(&mut e, c, i, &mut in_flight[i], &mut rec);
            if e.state(c) == crate::ensemble::ClientState::Expired {
                if in_flight[i].is_none() {
                    expired += 1;
                    rec.generation[i] += 1;
                    // A new session for this client, as an application would open one.
                    let mut servers: Vec<NodeId> = (1..=n).collect();
                    rng.shuffle(&mut servers);
                    e.reopen(c, servers);
                }
                continue;
            }
            if in_flight[i].is_none() && e.state(c) == crate::ensemble::ClientState::Connected && rng.below(10) == 0 {
                counter += 1;
                let kind = match rng.below(10) {
                    0..=5 => Kind::Set { key: rng.below(KEYS as u64) as usize, value: format!("c{i}-{counter}") },
                    6..=8 => Kind::Get { key: rng.below(KEYS as u64) as usize },
                    _ => Kind::Ephemeral,
                };
                let op = match &kind {
                    Kind::Set { key, value } => {
                        Op::SetData { path: key_path(*key), data: value.clone().into_bytes(), version: -1 }
                    }
                    Kind::Get { key } => Op::GetData { path: key_path(*key), watch: false },
                    Kind::Ephemeral => Op::Create {
                        path: format!("/eph-c{i}-{counter}"),
                        data: Vec::new(),
                        acl: Acl::open_unsafe(),
                        mode: CreateMode::Ephemeral,
                        ttl_ms: None,
                    },
                };
                let xid = e.submit(c, op);
                in_flight[i] = Some(InFlight { xid, kind, call: e.now() });
                collect(&mut e, c, i, &mut in_flight[i], &mut rec);
            }
        }
    }
    // Requests never answered: unknown outcomes.
    for (i, f) in in_flight.iter_mut().enumerate() {
        if let Some(InFlight { kind: Kind::Set { key, value }, call, .. }) = f.take() {
            rec.writes[key].push(Operation { client: i, call, ret: None, input: RegisterOp::Set(value), output: None });
        }
    }
    inspect(&e);
    check_world(&e, &mut violations);
    check_clients(&rec, &mut violations);
    ClientReport {
        seed,
        writes_ok: rec.writes.iter().flatten().filter(|o| o.ret.is_some()).count(),
        writes_unknown: rec.writes.iter().flatten().filter(|o| o.ret.is_none()).count(),
        reads_ok: rec.reads.iter().map(Vec::len).sum(),
        sessions_expired: expired,
        violations,
    }
}

fn fault(e: &mut Ensemble, rng: &mut Rng, n: u32) {
    let ids: Vec<NodeId> = (1..=n).collect();
    let up: Vec<NodeId> = ids.iter().copied().filter(|&i| e.sim.is_up(i)).collect();
    let down: Vec<NodeId> = ids.iter().copied().filter(|&i| !e.sim.is_up(i)).collect();
    match rng.below(6) {
        0 if up.len() > 1 => {
            let leaders: Vec<NodeId> = up
                .iter()
                .copied()
                .filter(|&i| e.sim.node(i).is_some_and(|s| s.established_epoch().is_some()))
                .collect();
            let pool = if !leaders.is_empty() && rng.below(2) == 0 { leaders } else { up };
            let victim = pool[rng.below(pool.len() as u64) as usize];
            e.sim.crash(victim);
        }
        1 | 2 if !down.is_empty() => {
            let id = down[rng.below(down.len() as u64) as usize];
            e.sim.restart(id);
        }
        3 => {
            let id = ids[rng.below(ids.len() as u64) as usize];
            e.sim.network.isolate(id, ids.iter().copied());
        }
        _ => e.sim.network.heal(),
    }
}

fn heal(e: &mut Ensemble, n: u32) {
    e.sim.network.heal();
    e.sim.network.default.loss_ppm = 0;
    e.sim.network.default.dup_ppm = 0;
    for id in 1..=n {
        if !e.sim.is_up(id) {
            e.sim.restart(id);
        }
    }
}

/// Takes the reply to the client's request (or gives up on it after the request timeout).
fn collect(e: &mut Ensemble, c: ClientId, i: usize, slot: &mut Option<InFlight>, rec: &mut Recorder) {
    let now = e.now();
    let events = e.take_events(c);
    let Some(f) = slot.as_ref() else { return };
    let reply = events.into_iter().find_map(|ev| match ev {
        ClientEvent::Reply { xid, zxid, result } if xid == f.xid => Some((zxid, result)),
        _ => None,
    });
    let Some((zxid, result)) = reply else {
        if now - f.call > REQUEST_TIMEOUT_MS {
            let f = slot.take().expect("checked");
            if let Kind::Set { key, value } = f.kind {
                rec.writes[key].push(Operation {
                    client: i,
                    call: f.call,
                    ret: None,
                    input: RegisterOp::Set(value),
                    output: None,
                });
            }
        }
        return;
    };
    let f = slot.take().expect("checked");
    match (f.kind, result) {
        (Kind::Set { key, value }, Ok(OpResult::Stat(stat))) => {
            rec.writes[key].push(Operation {
                client: i,
                call: f.call,
                ret: Some(now),
                input: RegisterOp::Set(value),
                output: Some(stat.version),
            });
            rec.acked_versions[i].push((key, stat.version, now, rec.generation[i]));
            rec.write_zxids[i].push(zxid);
        }
        (Kind::Set { key, value }, Err(_)) => {
            // ConnectionLoss and the like: the write may or may not have happened.
            rec.writes[key].push(Operation {
                client: i,
                call: f.call,
                ret: None,
                input: RegisterOp::Set(value),
                output: None,
            });
        }
        (Kind::Get { key }, Ok(OpResult::Data { stat, .. })) => {
            rec.reads[i].push((key, stat.version, now, rec.generation[i]))
        }
        _ => {}
    }
}

fn check_world(e: &Ensemble, violations: &mut Vec<String>) {
    let sim = &e.sim;
    let leader = quorum_leader(sim, &crate::scenario::voters_of(sim));
    let Some(leader) = leader else {
        let states: Vec<String> = sim
            .ids()
            .into_iter()
            .map(|id| match sim.node(id) {
                Some(s) => format!("{id}:{} epoch {} at {}", s.state(), s.current_epoch(), s.last_applied()),
                None => format!("{id}:down"),
            })
            .collect();
        violations.push(format!("no quorum-backed leader after healing: {}", states.join(", ")));
        return;
    };
    let caught_up: Vec<&ZkServer> = sim
        .ids()
        .into_iter()
        .filter_map(|id| sim.node(id))
        .filter(|s| s.established_epoch().is_some() || s.synced_leader() == Some(leader))
        .collect();
    match history_agreement(sim.events()) {
        Ok(edges) => {
            let last: Vec<(NodeId, Zxid)> =
                caught_up.iter().map(|s| (crate::sim::Process::id(*s), s.last_applied())).collect();
            if let Err(err) = committed_survive(sim.events(), &edges, &last) {
                violations.push(err);
            }
        }
        Err(err) => violations.push(err),
    }
    if let Err(err) = replicas_agree(&caught_up) {
        violations.push(err);
    }
    // Every ephemeral belongs to a live session (expired sessions' ephemerals are gone).
    let tree = sim.node(leader).expect("leader is up").tree();
    for (path, node) in tree.nodes() {
        let owner = node.stat.ephemeral_owner;
        if node.mode.is_ephemeral() && !tree.sessions().contains_key(&owner) {
            violations.push(format!("ephemeral {path} outlived its session 0x{owner:x}"));
        }
    }
}

fn check_clients(rec: &Recorder, violations: &mut Vec<String>) {
    for (k, history) in rec.writes.iter().enumerate() {
        match check(&ZnodeRegister, history) {
            Verdict::Linearizable => {}
            Verdict::NotLinearizable => {
                let shown: Vec<String> = history
                    .iter()
                    .map(|o| {
                        format!(
                            "c{} [{}, {}] v={:?}",
                            o.client,
                            o.call,
                            o.ret.map_or("?".into(), |r| r.to_string()),
                            o.output
                        )
                    })
                    .collect();
                violations.push(format!("writes to {} are not linearizable: {}", key_path(k), shown.join("; ")))
            }
            Verdict::Unknown => violations.push(format!("linearizability search on {} gave up", key_path(k))),
        }
    }
    // FIFO client order: a client's acknowledged writes carry increasing zxids.
    for (i, zxids) in rec.write_zxids.iter().enumerate() {
        if zxids.windows(2).any(|w| w[0] >= w[1]) {
            violations.push(format!("client {i}'s writes were not applied in the order it sent them: {zxids:?}"));
        }
    }
    // Monotonic reads and read-your-writes within a session's life: a read never shows an
    // older version than the client already saw or wrote on that key.
    for i in 0..CLIENTS {
        let mut seen: BTreeMap<(u32, usize), (i32, Millis)> = BTreeMap::new();
        let mut events: Vec<(Millis, usize, i32, u32)> =
            rec.acked_versions[i].iter().chain(rec.reads[i].iter()).map(|&(k, v, t, g)| (t, k, v, g)).collect();
        events.sort();
        for (t, k, v, g) in events {
            let k_gen = (g, k);
            if let Some(&(prev, at)) = seen.get(&k_gen) {
                if v < prev {
                    violations.push(format!(
                        "client {i} read version {v} of {} at t={t} ms after seeing version {prev} at t={at} ms",
                        key_path(k)
                    ));
                }
            }
            if seen.get(&k_gen).is_none_or(|&(p, _)| v >= p) {
                seen.insert(k_gen, (v, t));
            }
        }
    }
}
