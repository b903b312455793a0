//! ZooKeeper meets Spark under chaos: the page's ZooKeeper presets on the simulated cluster
//! beside a three-server ensemble, with executors and ZooKeeper servers killed at random
//! times. Over many seeds the idempotent counter is always exact, the naive one never counts
//! less than the records (and some kill makes it count more: at-least-once), the lock never
//! has two holders, and every job completes once the chaos stops.
//! `ZK_SEEDS=a..b` picks the seeds; a failing seed prints the `zkspark run` that replays it.

use std::fs;
use std::path::Path;
use zkspark::sim::{Millis, NodeId, Rng};
use zkspark::spark::fs::SimFs;
use zkspark::spark::world::{run_on_cluster, ClusterOptions, ClusterRun};

fn preset(name: &str) -> String {
    fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("static/presets/{name}.py"))).unwrap()
}

fn seeds() -> std::ops::Range<u64> {
    std::env::var("ZK_SEEDS")
        .ok()
        .and_then(|s| {
            let (a, b) = s.split_once("..")?;
            Some(a.parse().ok()?..b.parse().ok()?)
        })
        .unwrap_or(0..12)
}

/// 1–2 executor kills and maybe a ZooKeeper server kill in the first 1.5 s of the job.
fn chaos(seed: u64) -> (Vec<(NodeId, Millis)>, Vec<(NodeId, Millis)>) {
    let mut rng = Rng::new(seed);
    let kills = (0..1 + rng.below(2)).map(|_| (1 + rng.below(2) as NodeId, 100 + rng.below(1400))).collect();
    let zk_kills = if rng.below(2) == 0 { vec![(1 + rng.below(3) as NodeId, 100 + rng.below(1400))] } else { vec![] };
    (kills, zk_kills)
}

fn run(name: &str, seed: u64) -> (ClusterRun, String) {
    let (kills, zk_kills) = chaos(seed);
    let replay = format!(
        "seed {seed}: zkspark run static/presets/{name}.py --seed {seed}{}{}",
        kills.iter().map(|(x, t)| format!(" --kill-executor {x}@{t}")).collect::<String>(),
        zk_kills.iter().map(|(x, t)| format!(" --kill-zk {x}@{t}")).collect::<String>()
    );
    let opts = ClusterOptions { seed, kills, zk_kills, restart_ms: Some(2_000), ..ClusterOptions::default() };
    let r = run_on_cluster(&preset(name), &format!("{name}.py"), SimFs::default(), &opts);
    assert!(r.finished && r.ok, "{replay}: the job did not complete\n{}", r.stderr);
    (r, replay)
}

fn last_int(stdout: &str) -> i64 {
    stdout.lines().last().and_then(|l| l.trim().parse().ok()).unwrap_or(-1)
}

#[test]
fn the_idempotent_counter_is_exact_and_the_naive_one_never_undercounts() {
    let mut over = 0;
    for seed in seeds() {
        let (naive, replay) = run("zk_counter", seed);
        let n = last_int(&naive.stdout);
        assert!(n >= 100, "{replay}: the naive counter lost increments: {n}");
        if n > 100 {
            over += 1;
        }
        let (exact, replay) = run("zk_counter_idempotent", seed);
        assert_eq!(last_int(&exact.stdout), 100, "{replay}: {}", exact.stdout);
    }
    // The hazard is real: some kill makes re-run tasks count again.
    assert!(over > 0, "no seed over-counted: the kills never hit a running task");
}

#[test]
fn the_lock_never_lets_two_holders_in() {
    for seed in seeds() {
        let (r, replay) = run("zk_lock", seed);
        assert!(r.stdout.starts_with("tasks: 8 overlaps: 0\n"), "{replay}: {}", r.stdout);
        assert_eq!(r.stdout.matches("task-0").count(), 8, "{replay}: every task finished its work once: {}", r.stdout);
    }
}

/// Without faults the counter presets print what real PySpark + kazoo + ZooKeeper printed.
#[test]
fn the_counter_presets_print_the_recorded_answer() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/presets");
    for name in ["zk_counter", "zk_counter_idempotent"] {
        let want = fs::read_to_string(dir.join(format!("{name}.out"))).unwrap();
        let r = run_on_cluster(&preset(name), &format!("{name}.py"), SimFs::default(), &ClusterOptions::default());
        assert_eq!(r.stdout, want, "{name}: {}", r.stderr);
        assert!(r.zk_samples.iter().any(|s| s.kind == "setData" || s.kind == "multi"), "{name}: the tasks wrote to ZooKeeper");
    }
}

/// The hazard the double-increment preset teaches: the server applies a set whose reply is
/// lost; kazoo's retry reads the new value and applies the increment again.
#[test]
fn a_lost_set_reply_makes_the_counter_count_twice() {
    let name = "zk_hazard_double_increment";
    let clean = run_on_cluster(&preset(name), "h.py", SimFs::default(), &ClusterOptions::default());
    assert!(clean.stdout.contains("after one increment: 1 "), "{}", clean.stdout);
    let opts = ClusterOptions { drop_replies: vec![("setData".into(), 1)], ..ClusterOptions::default() };
    let lossy = run_on_cluster(&preset(name), "h.py", SimFs::default(), &opts);
    assert!(lossy.stdout.contains("after one increment: 2 - sets applied (znode version): 2"), "{}", lossy.stdout);
    assert!(lossy.zk_samples.iter().any(|s| s.kind == "setData" && !s.ok), "the lost reply shows as a failed request");
}

/// Chaos headless: kills from a seeded plan while the lock preset runs; every kill is a
/// failure in the figures and each one is repaired before the end.
#[test]
fn chaos_figures_cover_every_kill() {
    let chaos = zkspark::metrics::ChaosConfig { seed: 5, mean_interval_ms: 700, restart_delay_ms: 1_500, start_ms: 0, horizon_ms: 3_600_000, max_down: 1 };
    let opts = ClusterOptions { seed: 5, chaos: Some(chaos), ..ClusterOptions::default() };
    let r = run_on_cluster(&preset("zk_lock"), "zk_lock.py", SimFs::default(), &opts);
    assert!(r.ok, "{}", r.stderr);
    assert!(r.stdout.starts_with("tasks: 8 overlaps: 0"), "{}", r.stdout);
    let kills = r.chaos_log.iter().filter(|(_, _, k)| *k).count() as u64;
    assert!(kills >= 1, "the plan killed nothing: {:?}", r.chaos_log);
    assert_eq!(r.metrics.failures_total, kills, "{:?}", r.metrics.failures);
    assert!(r.metrics.throughput.zk_ops > 0 && r.metrics.throughput.tasks >= 8);
    assert!(r.metrics.latency.contains_key("create"), "{:?}", r.metrics.latency.keys());
}

/// Every preset's job completes under chaos (kills and restarts of executors and ZooKeeper
/// servers every ~0.8 s on average until the program ends); those that succeed without
/// faults still succeed, unless the driver's own kazoo call was in flight on a server that
/// died: kazoo raises `ConnectionLoss` then (a request is not re-sent on the next server, it
/// might have been applied), and a program that does not wrap it in `zk.retry` stops there.
#[test]
fn every_preset_completes_under_chaos() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("static/presets");
    let mut names: Vec<String> = fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().to_str()?.strip_suffix(".py").map(str::to_string))
        .collect();
    names.sort();
    for name in names {
        let src = preset(&name);
        let clean = run_on_cluster(&src, &format!("{name}.py"), zkspark::spark::fs::bundled(), &ClusterOptions::default());
        for seed in seeds().take(3) {
            let chaos = zkspark::metrics::ChaosConfig { seed, mean_interval_ms: 800, restart_delay_ms: 1_500, start_ms: 0, horizon_ms: 3_600_000, max_down: 1 };
            let opts = ClusterOptions { seed, chaos: Some(chaos), ..ClusterOptions::default() };
            let r = run_on_cluster(&src, &format!("{name}.py"), zkspark::spark::fs::bundled(), &opts);
            let replay = format!("zkspark run static/presets/{name}.py --seed {seed} --chaos 800 --chaos-restart 1500");
            assert!(r.finished, "{replay}: did not finish by {} ms", r.end_ms);
            let lost_in_flight = r.stderr.trim_end().ends_with("kazoo.exceptions.ConnectionLoss");
            assert!(r.ok == clean.ok || (clean.ok && lost_in_flight), "{replay}: {}", r.stderr);
        }
    }
}

/// A session that expires while its client is partitioned: an executor cut off from the
/// ensemble for longer than its sessions' timeout (10 s) loses them, and their ephemerals
/// vanish while the executor itself runs on; without the partition both stay.
#[test]
fn a_partitioned_executor_loses_its_sessions_and_their_ephemerals() {
    let program = "\
import time
from pyspark import SparkContext
from kazoo.client import KazooClient
sc = SparkContext()
zk = KazooClient(hosts='127.0.0.1:2181')
zk.start()
zk.ensure_path('/svc')
def register(i, records):
    c = KazooClient(hosts='127.0.0.1:2181')
    c.start()
    c.create('/svc/w-%d' % i, ephemeral=True)
    return [i]
sc.parallelize(range(2), 2).mapPartitionsWithIndex(register).collect()
print('registered:', len(zk.get_children('/svc')))
time.sleep(20)
print('after 20 s:', len(zk.get_children('/svc')))
";
    let calm = run_on_cluster(program, "p.py", SimFs::default(), &ClusterOptions::default());
    assert_eq!(calm.stdout, "registered: 2\nafter 20 s: 2\n", "{}", calm.stderr);
    let opts = ClusterOptions { zk_isolations: vec![(1, 2_000, 17_000)], ..ClusterOptions::default() };
    let cut = run_on_cluster(program, "p.py", SimFs::default(), &opts);
    assert_eq!(cut.stdout, "registered: 2\nafter 20 s: 1\n", "{}", cut.stderr);
}
