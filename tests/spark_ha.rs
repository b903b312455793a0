//! Spark standalone high availability through ZooKeeper (`spark.deploy.recoveryMode=ZOOKEEPER`):
//! the leading master dies, a standby wins the latch, recovers the persisted workers and
//! application, and the job goes on. Each test cites the Spark behaviour it pins down
//! (`core/src/main/scala/org/apache/spark/deploy/master/Master.scala` unless named).
//!
//! `HA_SEEDS=a..b cargo test --offline --test spark_ha` widens the chaos sweep.

use zkspark::spark::ha_world::{run_ha, HaChaos, HaOptions, HaRun, HaTarget};
use zkspark::spark::standalone::{
    master_node, node_name, AppState, MasterState, StandaloneEvent, StandaloneView, WorkerState, APP_NODE,
};

fn master_view(run: &HaRun, node: u32) -> zkspark::spark::standalone::MasterView {
    match run.views.get(&node).cloned().flatten() {
        Some(StandaloneView::Master(m)) => m,
        other => panic!("{} is {other:?}", node_name(node)),
    }
}

/// The cluster-wide properties every run must end with; `Err` says which one failed.
fn check_run(run: &HaRun) -> Result<(), String> {
    if !run.violations.is_empty() {
        return Err(format!("violations: {:#?}", &run.violations[..run.violations.len().min(5)]));
    }
    let active = run.active_master().ok_or_else(|| format!("no single ALIVE master at the end: {:?}", run.views))?;
    let m = master_view(run, active);
    // Every worker process that is up is registered (ALIVE) with the active master, and
    // believes that master active.
    for (&node, view) in &run.views {
        match view {
            Some(StandaloneView::Worker(w)) => {
                let id = w.id.clone().ok_or_else(|| format!("{} never launched", node_name(node)))?;
                if w.gave_up {
                    return Err(format!("{} gave up on the masters", node_name(node)));
                }
                let known = m.workers.iter().find(|x| x.id == id);
                if known.map(|x| x.state) != Some(WorkerState::Alive) {
                    return Err(format!("{} ({id}) is not ALIVE at {}: {known:?}", node_name(node), node_name(active)));
                }
                if w.master != Some(active) || !w.connected {
                    return Err(format!("{} follows {:?} (connected {}), not {}", node_name(node), w.master, w.connected, node_name(active)));
                }
            }
            Some(StandaloneView::App(a)) => {
                let id = a.app_id.clone().ok_or("the app never registered")?;
                if a.dead {
                    return Err("the app gave up on the masters".into());
                }
                let known = m.apps.iter().find(|x| x.id == id);
                if known.map(|x| x.state) != Some(AppState::Running) {
                    return Err(format!("app {id} is not RUNNING at {}: {known:?}", node_name(active)));
                }
                if a.master != Some(active) || a.disconnected {
                    return Err(format!("the app follows {:?} (disconnected {})", a.master, a.disconnected));
                }
                if a.done != a.total {
                    return Err(format!("the job did not finish: {}/{} tasks", a.done, a.total));
                }
            }
            None if node == APP_NODE => return Err("the app is down".into()),
            _ => {}
        }
    }
    // What ZooKeeper holds is what the active master knows (live workers, apps).
    let mut stored: Vec<String> = run.persisted.workers.iter().map(|w| w.id.clone()).collect();
    let mut known: Vec<String> = m.workers.iter().filter(|w| w.state != WorkerState::Dead).map(|w| w.id.clone()).collect();
    stored.sort();
    known.sort();
    if stored != known {
        return Err(format!("/spark/master_status has workers {stored:?}, {} knows {known:?}", node_name(active)));
    }
    let stored: Vec<&String> = run.persisted.apps.iter().map(|a| &a.id).collect();
    let known: Vec<&String> = m.apps.iter().map(|a| &a.id).collect();
    if stored != known {
        return Err(format!("/spark/master_status has apps {stored:?}, {} knows {known:?}", node_name(active)));
    }
    Ok(())
}

/// `ElectedLeader` → `beginRecovery` → (all answered) `completeRecovery` → ALIVE: a standby
/// takes over after the killed leader's session expires, and knows every worker and the app.
#[test]
fn killing_the_active_master_makes_a_standby_recover_everything() {
    let opts = HaOptions { seed: 7, masters: 2, workers: 3, kills: vec![(HaTarget::Master(1), 30_000)], ..HaOptions::default() };
    let run = run_ha(&opts);
    check_run(&run).unwrap_or_else(|e| panic!("{e}\n{}", run.timeline()));
    assert_eq!(run.failovers.len(), 1, "{:?}\n{}", run.faults, run.timeline());
    let f = &run.failovers[0];
    assert_eq!(f.killed, master_node(1));
    assert_eq!(f.new_leader, Some(master_node(2)));
    // master2 went STANDBY → RECOVERING → COMPLETING_RECOVERY → ALIVE, in that order, once.
    let states: Vec<MasterState> = run.master_states().into_iter().filter(|s| s.1 == master_node(2)).map(|s| s.2).collect();
    assert_eq!(states, vec![MasterState::Standby, MasterState::Recovering, MasterState::CompletingRecovery, MasterState::Alive]);
    // It heard from every stored worker and the app (none was dropped as silent).
    let recovered = |pred: fn(&StandaloneEvent) -> bool| run.events.iter().filter(|(_, n, e)| *n == master_node(2) && pred(e)).count();
    assert_eq!(recovered(|e| matches!(e, StandaloneEvent::WorkerRecovered { .. })), 3);
    assert_eq!(recovered(|e| matches!(e, StandaloneEvent::AppRecovered { .. })), 1);
    assert_eq!(recovered(|e| matches!(e, StandaloneEvent::WorkerRemoved { .. })), 0);
    // The session the servers granted (Spark asks 60 s; maxSessionTimeout is 40 s) bounds the
    // detection; recovery itself is a round trip to each worker.
    let mttr = f.mttr_ms.expect("an MTTR");
    let granted = u64::from(run.granted_session_timeout_ms);
    assert!(mttr + 2_000 >= granted && mttr <= granted + 3_000, "MTTR {mttr} ms with sessions of {granted} ms");
    let elected = f.elected_at.unwrap();
    assert!(f.alive_at.unwrap() - elected < 1_000, "recovery took {} ms", f.alive_at.unwrap() - elected);
    // The job ran tasks while no master was ALIVE: executors talk to the driver directly.
    let during = run.events.iter().filter(|(t, _, e)| *t > f.at && *t < elected && matches!(e, StandaloneEvent::TaskFinished { .. })).count();
    assert!(during > 0, "no task finished during the failover");
}

/// A worker that dies while no master is active cannot answer `MasterChanged`: the new leader
/// waits `spark.worker.timeout` (60 s) before `completeRecovery` drops it ("Not responding for
/// recovery") and deletes its znode; the other workers and the app carry on.
#[test]
fn a_worker_lost_during_the_failover_is_dropped_after_the_worker_timeout() {
    let kills = vec![(HaTarget::Master(1), 30_000), (HaTarget::Worker(1), 40_000)];
    let opts = HaOptions { seed: 3, masters: 2, workers: 3, kills, restart_ms: None, duration_ms: 400_000, ..HaOptions::default() };
    let run = run_ha(&opts);
    check_run(&run).unwrap_or_else(|e| panic!("{e}\n{}", run.timeline()));
    let f = &run.failovers[0];
    let (elected, alive) = (f.elected_at.unwrap(), f.alive_at.unwrap());
    assert!(alive - elected >= 60_000 && alive - elected < 61_000, "recovery took {} ms", alive - elected);
    let dropped: Vec<&StandaloneEvent> =
        run.events.iter().filter(|(_, n, e)| *n == master_node(2) && matches!(e, StandaloneEvent::WorkerRemoved { .. })).map(|e| &e.2).collect();
    assert_eq!(dropped.len(), 1, "{dropped:?}");
    assert!(matches!(dropped[0], StandaloneEvent::WorkerRemoved { reason, .. } if reason == "Not responding for recovery"));
    assert_eq!(run.persisted.workers.len(), 2);
}

/// MTTR of a master kill (kill → a standby ALIVE) over seeds: the killed master's session must
/// expire before its latch node goes, so the time is the granted session timeout (40 s: the
/// servers' maxSessionTimeout caps Spark's 60 s) plus the expiry tick, plus a recovery of a
/// few round trips.
#[test]
fn master_kill_mttr_is_the_session_timeout_plus_a_short_recovery() {
    let mut mttrs = vec![];
    for seed in 0..6 {
        let opts = HaOptions { seed, masters: 3, workers: 2, kills: vec![(HaTarget::Master(1), 20_000 + seed * 1_111)], ..HaOptions::default() };
        let run = run_ha(&opts);
        check_run(&run).unwrap_or_else(|e| panic!("seed {seed}: {e}\n{}", run.timeline()));
        let f = &run.failovers[0];
        let granted = u64::from(run.granted_session_timeout_ms);
        let mttr = f.mttr_ms.unwrap();
        // The session expires `granted` after the server last heard the master (its last probe,
        // at most `zk_probe_ms` before the kill), rounded up to the server's expiry tick (2 s).
        assert!(mttr + 2_000 >= granted && mttr < granted + 2_000 + 1_000, "seed {seed}: MTTR {mttr} ms");
        // The next master in latch order wins: master2 (its latch is master1's successor).
        assert_eq!(f.new_leader, Some(master_node(2)), "seed {seed}");
        mttrs.push(mttr);
    }
    let mean = mttrs.iter().sum::<u64>() / mttrs.len() as u64;
    eprintln!("master kill MTTR over {} seeds: {mttrs:?} ms, mean {mean} ms", mttrs.len());
}

/// The seeds of the chaos sweep: `HA_SEEDS=a..b`, default `0..20`.
fn seeds() -> std::ops::Range<u64> {
    let Ok(spec) = std::env::var("HA_SEEDS") else { return 0..20 };
    let (a, b) = spec.split_once("..").unwrap_or_else(|| panic!("HA_SEEDS={spec}: expected a..b"));
    a.parse().expect("HA_SEEDS start")..b.parse().expect("HA_SEEDS end")
}

fn chaos_options(seed: u64) -> HaOptions {
    HaOptions {
        seed,
        masters: 2 + (seed % 2) as u32,
        workers: 2 + (seed % 3) as u32,
        kills: vec![],
        restart_ms: Some(20_000 + (seed % 4) * 10_000),
        chaos: Some(HaChaos { mean_interval_ms: 45_000, start_ms: 15_000, horizon_ms: 300_000, max_down: 2 }),
        // After the chaos: a session timeout, a recovery deadline and a worker's slow
        // re-registration retries (30–90 s) to settle, and the rest of the job.
        duration_ms: 315_000 + 400_000,
        ..HaOptions::default()
    }
}

/// Random kills and restarts of masters and workers: every failover ends with one ALIVE master
/// that knows every live worker and the app, ZooKeeper holding exactly what it knows, the job
/// finished, and never two leading masters with live latch nodes.
#[test]
fn chaos_failovers_never_lose_a_registered_worker_or_the_application() {
    let mut failures = vec![];
    let mut failovers = 0;
    for seed in seeds() {
        let run = run_ha(&chaos_options(seed));
        failovers += run.failovers.len();
        if let Err(e) = check_run(&run) {
            failures.push(format!(
                "seed {seed}: {e}\n  replay: HA_SEEDS={seed}..{} cargo test --offline --test spark_ha chaos\n{}",
                seed + 1,
                run.timeline().lines().filter(|l| !l.contains("tasks done")).collect::<Vec<_>>().join("\n")
            ));
        }
    }
    eprintln!("chaos: {} seeds, {failovers} leader failovers", seeds().count());
    assert!(failures.is_empty(), "{} seeds failed:\n{}", failures.len(), failures.join("\n\n"));
}

/// A seed replays exactly: the same events at the same times.
#[test]
fn a_seed_replays_identically() {
    let a = run_ha(&chaos_options(5));
    let b = run_ha(&chaos_options(5));
    assert_eq!(a.events, b.events);
    assert_eq!(a.failovers, b.failovers);
}
