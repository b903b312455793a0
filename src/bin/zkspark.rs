//! The headless CLI.
//! - `zkspark sim --seed N --servers K --duration-ms T [--faults] [--trace]` runs a seeded
//!   ensemble without a browser and prints one JSON line; it is how a seed is replayed.
//! - `zkspark bench [--seeds N]` measures simulation throughput in seeds per second.
//! - `zkspark zkcli [--seed N] [--servers K] [--transcript] < commands` runs zkCli commands and
//!   prints what zkCli 3.8 prints.
//! - `zkspark bench-spark [--mb N] [--write FILE]` times a word count over N MB (default 10) of generated text:
//!   the engine on one executor, a hand-written Rust loop, and two executors on two threads.
//! - `zkspark spark [--cores N] < job.py` runs a PySpark job on the local engine (local[N]).
//! - `zkspark run JOB.py [--seed N] [--executors K] [--cores C] [--kill-executor ID@MS]… [--kill-zk SID@MS]…
//!   [--events]` runs it on a simulated cluster (a driver and K executors) and prints what it
//!   prints; `--events` adds the listener events on stderr.
//! - `zkspark ha [--seed N] [--masters M] [--workers W] [--kill-master ID@MS]… [--kill-worker ID@MS]…
//!   [--restart-after MS] [--duration-ms T] [--json]` runs Spark standalone masters with ZooKeeper
//!   recovery and prints the timeline and each failover's time (kill → new master ALIVE).

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("bench") {
        bench(&args[1..]);
        return;
    }
    if args.first().map(String::as_str) == Some("zkcli") {
        zkcli(&args[1..]);
        return;
    }
    if args.first().map(String::as_str) == Some("spark") {
        spark(&args[1..]);
        return;
    }
    if args.first().map(String::as_str) == Some("bench-spark") {
        bench_spark(&args[1..]);
        return;
    }
    if args.first().map(String::as_str) == Some("run") {
        run_job(&args[1..]);
        return;
    }
    if args.first().map(String::as_str) == Some("ha") {
        ha(&args[1..]);
        return;
    }
    match zkspark::cli::run(&args) {
        Ok((line, ok)) => {
            println!("{line}");
            if !ok {
                std::process::exit(1);
            }
        }
        Err(e) => {
            eprintln!("zkspark: {e}\n\n{}", zkspark::cli::USAGE);
            std::process::exit(2);
        }
    }
}

/// Runs the simulation test's workload (60 s of faults, then healing; 3, 5 and 7 servers in
/// turn) and reports seeds per second. The wall clock is read here, in the host, never in the
/// simulation.
#[cfg(not(target_arch = "wasm32"))]
fn bench(args: &[String]) {
    use zkspark::scenario::{run, ScenarioOptions};
    let seeds: u64 = match args {
        [flag, n] if flag == "--seeds" => n.parse().unwrap_or_else(|_| {
            eprintln!("zkspark bench: --seeds expects a number, got '{n}'");
            std::process::exit(2)
        }),
        [] => 2000,
        _ => {
            eprintln!("usage: zkspark bench [--seeds N]");
            std::process::exit(2)
        }
    };
    let start = std::time::Instant::now();
    let mut steps = 0;
    let mut failures = 0;
    for seed in 0..seeds {
        let report = run(&ScenarioOptions::new(seed, [3, 5, 7][(seed % 3) as usize], 60_000, true));
        steps += report.steps;
        failures += usize::from(!report.violations.is_empty());
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "{{\"bench\":\"election-sim\",\"seeds\":{seeds},\"seconds\":{secs:.3},\"seeds_per_sec\":{:.0},\"steps_per_sec\":{:.0},\"failures\":{failures}}}",
        seeds as f64 / secs,
        steps as f64 / secs
    );
    // The client-load worlds of tests/zk_client_histories.rs: acknowledged writes per
    // wall-clock second through the whole stack (client library, ZAB, tree, checker).
    let client_seeds = (seeds / 20).max(10);
    let start = std::time::Instant::now();
    let (mut writes, mut reads, mut failures) = (0, 0, 0);
    for seed in 0..client_seeds {
        let r = zkspark::client_scenario::run(seed, 30_000);
        writes += r.writes_ok;
        reads += r.reads_ok;
        failures += usize::from(!r.violations.is_empty());
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "{{\"bench\":\"client-histories\",\"seeds\":{client_seeds},\"seconds\":{secs:.3},\"seeds_per_sec\":{:.1},\"acked_writes_per_sec\":{:.0},\"reads_per_sec\":{:.0},\"failures\":{failures}}}",
        client_seeds as f64 / secs,
        writes as f64 / secs,
        reads as f64 / secs
    );
}

/// Reads zkCli commands from stdin and prints zkCli's output as it goes.
#[cfg(not(target_arch = "wasm32"))]
fn zkcli(args: &[String]) {
    use std::io::IsTerminal;
    let opts = zkspark::cli::parse_zkcli(args).unwrap_or_else(|e| {
        eprintln!("zkspark: {e}\n\n{}", zkspark::cli::USAGE);
        std::process::exit(2)
    });
    let stdin = std::io::stdin();
    let echo = !stdin.is_terminal();
    if let Err(e) = zkspark::cli::run_zkcli(&opts, stdin.lock(), std::io::stdout().lock(), echo) {
        if e.kind() != std::io::ErrorKind::BrokenPipe {
            eprintln!("zkspark zkcli: {e}");
            std::process::exit(1);
        }
    }
}

#[cfg(target_arch = "wasm32")]
fn main() {}



/// `zkspark run JOB.py [--seed N] [--executors K] [--cores C] [--kill-executor ID@MS]… [--events]`
#[cfg(not(target_arch = "wasm32"))]
fn run_job(args: &[String]) {
    use zkspark::spark::world::{run_on_cluster, ClusterOptions};
    let usage = "usage: zkspark run JOB.py [--seed N] [--executors K] [--cores C] [--kill-executor ID@MS]... [--zk-servers N] [--kill-zk SID@MS]... [--restart-after MS] [--chaos MEAN_MS [--chaos-restart MS]] [--drop-reply OP@N]... [--isolate-zk NODE@FROM-TO]... [--json] [--events]";
    let fail = |msg: String| -> ! {
        eprintln!("zkspark run: {msg}\n{usage}");
        std::process::exit(2)
    };
    let mut opts = ClusterOptions::default();
    let mut path = None;
    let mut events = false;
    let mut json = false;
    let mut chaos_mean = None;
    let mut chaos_restart = 3_000;
    let mut it = args.iter();
    let number = |it: &mut std::slice::Iter<String>, flag: &str, range| {
        zkspark::cli::flag_number(it, flag, range).unwrap_or_else(|e| fail(e))
    };
    while let Some(a) = it.next() {
        match a.as_str() {
            "--seed" => opts.seed = number(&mut it, "--seed", 0..=u64::MAX),
            "--executors" => opts.config.executors = number(&mut it, "--executors", 1..=16) as u32,
            "--cores" => opts.config.cores = number(&mut it, "--cores", 1..=16) as u32,
            flag @ ("--kill-executor" | "--kill-zk") => {
                let v = it.next().cloned().unwrap_or_default();
                let parsed = v.split_once('@').and_then(|(x, t)| Some((x.parse::<u32>().ok()?, t.parse::<u64>().ok()?)));
                match (parsed, flag) {
                    (Some(k), "--kill-executor") => opts.kills.push(k),
                    (Some(k), _) => opts.zk_kills.push(k),
                    (None, _) => fail(format!("{flag} expects ID@MS (e.g. 1@1500), got '{v}'")),
                }
            }
            "--zk-servers" => opts.zk_servers = number(&mut it, "--zk-servers", 1..=7) as u32,
            "--chaos" => chaos_mean = Some(number(&mut it, "--chaos", 100..=3_600_000)),
            "--chaos-restart" => chaos_restart = number(&mut it, "--chaos-restart", 0..=3_600_000),
            "--json" => json = true,
            "--isolate-zk" => {
                let v = it.next().cloned().unwrap_or_default();
                let parsed = v.split_once('@').and_then(|(n, span)| {
                    let (a, b) = span.split_once('-')?;
                    Some((n.parse::<u32>().ok()?, a.parse::<u64>().ok()?, b.parse::<u64>().ok()?))
                });
                match parsed {
                    Some((n, a, b)) if a < b => opts.zk_isolations.push((n, a, b)),
                    _ => fail(format!("--isolate-zk expects NODE@FROM-TO in ms (e.g. 1@500-15500; 0 is the driver), got '{v}'")),
                }
            }
            "--drop-reply" => {
                let v = it.next().cloned().unwrap_or_default();
                match v.split_once('@').and_then(|(k, n)| Some((k.to_string(), n.parse::<u32>().ok().filter(|&n| n > 0)?))) {
                    Some(d) => opts.drop_replies.push(d),
                    None => fail(format!("--drop-reply expects OP@N (e.g. setData@1), got '{v}'")),
                }
            }
            "--restart-after" => opts.restart_ms = Some(number(&mut it, "--restart-after", 0..=3_600_000)),
            "--events" => events = true,
            other if other.starts_with("--") => fail(format!("unknown option {other}")),
            other if path.is_none() => path = Some(other.to_string()),
            other => fail(format!("unexpected argument '{other}'")),
        }
    }
    for (x, _) in &opts.kills {
        if *x == 0 || *x > opts.config.executors {
            fail(format!("there is no executor {x}: executors are 1..={}", opts.config.executors));
        }
    }
    for (x, _) in &opts.zk_kills {
        if *x == 0 || *x > opts.zk_servers {
            fail(format!("there is no ZooKeeper server {x}: servers are 1..={}", opts.zk_servers));
        }
    }
    if let Some(mean) = chaos_mean {
        opts.chaos = Some(zkspark::metrics::ChaosConfig {
            seed: opts.seed,
            mean_interval_ms: mean,
            restart_delay_ms: chaos_restart,
            start_ms: 0,
            horizon_ms: opts.max_ms,
            // One target down at a time: a three-server ensemble keeps its quorum.
            max_down: 1,
        });
    }
    let Some(path) = path else { fail("which job? give the path of a .py file".into()) };
    let source = std::fs::read_to_string(&path).unwrap_or_else(|e| fail(format!("cannot read {path}: {e}")));
    let name = std::path::Path::new(&path).file_name().map_or("job.py".into(), |n| n.to_string_lossy().to_string());
    let run = run_on_cluster(&source, &name, zkspark::spark::fs::bundled(), &opts);
    if json {
        let chaos: Vec<serde_json::Value> = run
            .chaos_log
            .iter()
            .map(|(at, target, kill)| serde_json::json!({"at_ms": at, "target": target, "action": if *kill { "kill" } else { "restart" }}))
            .collect();
        let out = serde_json::json!({
            "program": name,
            "seed": opts.seed,
            "finished": run.finished,
            "ok": run.ok,
            "stdout": run.stdout,
            "stderr": run.stderr,
            "start_ms": run.start_ms,
            "end_ms": run.end_ms,
            "chaos": chaos,
            "metrics": run.metrics,
        });
        println!("{}", serde_json::to_string_pretty(&out).unwrap_or_default());
        std::process::exit(if run.finished && run.ok { 0 } else { 1 });
    }
    print!("{}", run.stdout);
    if events {
        for (at, node, ev) in &run.events {
            eprintln!("{at:>8} ms  node {node}  {ev:?}");
        }
    }
    eprint!("{}", run.stderr);
    if !run.finished {
        eprintln!("zkspark run: the job had not finished after {} virtual ms", run.end_ms);
        std::process::exit(1);
    }
    if !run.ok {
        std::process::exit(1);
    }
}

/// `zkspark spark [--cores N] < job.py`: runs a PySpark job on the local engine (local[N]) and
/// prints what it prints; a failing job prints its traceback on stderr and exits 1.
#[cfg(not(target_arch = "wasm32"))]
fn spark(args: &[String]) {
    use std::io::Read;
    let usage = "usage: zkspark spark [--cores N] < job.py";
    let cores: u32 = match args {
        [] => 4,
        [flag, n] if flag == "--cores" => n.parse().ok().filter(|&c| (1..=64).contains(&c)).unwrap_or_else(|| {
            eprintln!("zkspark spark: --cores expects 1..64, got '{n}'\n{usage}");
            std::process::exit(2)
        }),
        _ => {
            eprintln!("{usage}");
            std::process::exit(2)
        }
    };
    let mut source = String::new();
    if let Err(e) = std::io::stdin().read_to_string(&mut source) {
        eprintln!("zkspark spark: cannot read the job from stdin: {e}");
        std::process::exit(2);
    }
    let fs = zkspark::spark::fs::bundled();
    let run = zkspark::spark::pyspark::run_spark_program(
        &source,
        "job.py",
        zkspark::spark::pyspark::Host { cores, fs, cluster: None },
    );
    print!("{}", run.stdout);
    eprint!("{}", run.stderr);
    if !run.ok {
        std::process::exit(1);
    }
}

/// The word count the Spark benchmark runs (the same program `scripts/bench-pyspark.sh` times
/// on PySpark): words per distinct word, over every line of the input.
#[cfg(not(target_arch = "wasm32"))]
const BENCH_JOB: &str = "from operator import add\nfrom pyspark import SparkContext\nsc = SparkContext('local[1]', 'bench')\ncounts = sc.textFile('/bench/input.txt', PARTS).flatMap(lambda line: line.split()).map(lambda w: (w, 1)).reduceByKey(add)\nprint(sum(counts.values().collect()), counts.count())\n";

/// Runs the benchmark word count over `text` on one executor (local[1]); returns the printed
/// "words distinct" line.
#[cfg(not(target_arch = "wasm32"))]
fn bench_engine(text: &[u8], parts: u32) -> String {
    let mut fs = zkspark::spark::fs::SimFs::default();
    fs.write("/bench/input.txt", text.to_vec());
    let job = BENCH_JOB.replace("PARTS", &parts.to_string());
    let host = zkspark::spark::pyspark::Host { cores: 1, fs, cluster: None };
    let run = zkspark::spark::pyspark::run_spark_program(&job, "bench.py", host);
    assert!(run.ok, "benchmark job failed: {}", run.stderr);
    run.stdout
}

/// `zkspark bench-spark [--mb N]`: records (words) per second of the engine on one executor,
/// of a hand-written single-threaded Rust loop doing the same counting, their ratio, and the
/// speed-up of two executors (two threads, each an executor engine over half the splits, then
/// the reduce) over one. Wall clock read here, in the host.
#[cfg(not(target_arch = "wasm32"))]
fn bench_spark(args: &[String]) {
    use std::collections::HashMap;
    use std::time::Instant;
    let usage = "usage: zkspark bench-spark [--mb N] [--write FILE]";
    let mut mb: usize = 10;
    let mut write = None;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match (a.as_str(), it.next()) {
            ("--mb", Some(n)) => {
                mb = n.parse().unwrap_or_else(|_| {
                    eprintln!("zkspark bench-spark: --mb expects a number, got '{n}'");
                    std::process::exit(2)
                })
            }
            ("--write", Some(f)) => write = Some(f.clone()),
            _ => {
                eprintln!("{usage}");
                std::process::exit(2)
            }
        }
    }
    // Deterministic text: a 5,000-word vocabulary, 5-15 words a line.
    let mut rng = zkspark::sim::Rng::new(42);
    let vocab: Vec<String> = (0..5000)
        .map(|_| (0..2 + rng.below(8)).map(|_| (b'a' + rng.below(26) as u8) as char).collect())
        .collect();
    let mut text = String::with_capacity(mb << 20);
    while text.len() < mb * 1_000_000 {
        let n = 5 + rng.below(11);
        for i in 0..n {
            if i > 0 {
                text.push(' ');
            }
            text.push_str(&vocab[rng.below(vocab.len() as u64) as usize]);
        }
        text.push('\n');
    }
    if let Some(path) = write {
        // The same input for scripts/bench-pyspark.sh.
        std::fs::write(&path, &text).unwrap_or_else(|e| {
            eprintln!("zkspark bench-spark: cannot write {path}: {e}");
            std::process::exit(2)
        });
        println!("wrote {path}");
        return;
    }
    let words = text.split_whitespace().count() as f64;
    println!("input: {:.1} MB, {} lines, {} words", text.len() as f64 / 1e6, text.lines().count(), words);

    let t = Instant::now();
    let mut counts: HashMap<&str, u64> = HashMap::new();
    for line in text.lines() {
        for w in line.split_whitespace() {
            *counts.entry(w).or_insert(0) += 1;
        }
    }
    let native_s = t.elapsed().as_secs_f64();
    let native_line = format!("{} {}\n", counts.values().sum::<u64>(), counts.len());

    let t = Instant::now();
    let engine_line = bench_engine(text.as_bytes(), 4);
    let engine_s = t.elapsed().as_secs_f64();
    assert_eq!(engine_line, native_line, "the engine and the loop disagree");

    // Two executors: each thread runs an executor engine over half of the input's splits
    // (its map side), then the two partial counts are merged (the reduce side).
    let half = text.len() / 2;
    let cut = half + text[half..].find('\n').map_or(0, |i| i + 1);
    let (a, b) = text.split_at(cut);
    let t = Instant::now();
    let (ra, rb) = std::thread::scope(|s| {
        let ha = s.spawn(|| bench_engine(a.as_bytes(), 2));
        let hb = s.spawn(|| bench_engine(b.as_bytes(), 2));
        (ha.join().expect("executor thread"), hb.join().expect("executor thread"))
    });
    let two_s = t.elapsed().as_secs_f64();
    let total = |l: &str| l.split_whitespace().next().and_then(|n| n.parse::<u64>().ok()).unwrap_or(0);
    assert_eq!(total(&ra) + total(&rb), total(&native_line), "two executors lost words");

    println!("hand-written Rust loop:   {:>12.0} words/s  ({native_s:.3} s)", words / native_s);
    println!("engine, 1 executor:       {:>12.0} words/s  ({engine_s:.3} s)", words / engine_s);
    println!("engine / loop time ratio: {:>12.1}x  (target 1.5x)", engine_s / native_s);
    println!("engine, 2 executors:      {:>12.0} words/s  ({two_s:.3} s)  speed-up {:.2}x", words / two_s, engine_s / two_s);
}

/// `zkspark ha`: Spark standalone HA on the simulator (`spark::ha_world`); the timeline and
/// failover times, or with `--json` a summary with `failovers: [{killed, at, new_leader,
/// alive_at, mttr_ms}]` (times in virtual ms since the ensemble was up).
#[cfg(not(target_arch = "wasm32"))]
fn ha(args: &[String]) {
    use zkspark::spark::ha_world::{run_ha, HaOptions, HaTarget};
    use zkspark::spark::standalone::node_name;
    let usage = "usage: zkspark ha [--seed N] [--masters M] [--workers W] [--kill-master ID@MS]... [--kill-worker ID@MS]... [--restart-after MS] [--duration-ms T] [--json]";
    let fail = |msg: String| -> ! {
        eprintln!("zkspark ha: {msg}\n{usage}");
        std::process::exit(2)
    };
    let mut opts = HaOptions { kills: vec![], ..HaOptions::default() };
    let mut json = false;
    let mut it = args.iter();
    let number = |it: &mut std::slice::Iter<String>, flag: &str, range| {
        zkspark::cli::flag_number(it, flag, range).unwrap_or_else(|e| fail(e))
    };
    while let Some(a) = it.next() {
        match a.as_str() {
            "--seed" => opts.seed = number(&mut it, "--seed", 0..=u64::MAX),
            "--masters" => opts.masters = number(&mut it, "--masters", 1..=9) as u32,
            "--workers" => opts.workers = number(&mut it, "--workers", 1..=9) as u32,
            "--restart-after" => opts.restart_ms = Some(number(&mut it, "--restart-after", 0..=3_600_000)),
            "--duration-ms" => opts.duration_ms = number(&mut it, "--duration-ms", 1..=24 * 3_600_000),
            flag @ ("--kill-master" | "--kill-worker") => {
                let v = it.next().cloned().unwrap_or_default();
                let parsed = v.split_once('@').and_then(|(x, t)| Some((x.parse::<u32>().ok()?, t.parse::<u64>().ok()?)));
                match (parsed, flag) {
                    (Some((x, t)), "--kill-master") => opts.kills.push((HaTarget::Master(x), t)),
                    (Some((x, t)), _) => opts.kills.push((HaTarget::Worker(x), t)),
                    (None, _) => fail(format!("{flag} expects ID@MS (e.g. 1@30000), got '{v}'")),
                }
            }
            "--json" => json = true,
            other => fail(format!("unexpected argument '{other}'")),
        }
    }
    for (t, _) in &opts.kills {
        let (x, n, what) = match *t {
            HaTarget::Master(x) => (x, opts.masters, "master"),
            HaTarget::Worker(x) => (x, opts.workers, "worker"),
        };
        if x == 0 || x > n {
            fail(format!("there is no {what} {x}: {what}s are 1..={n}"));
        }
    }
    if opts.kills.is_empty() {
        opts.kills.push((HaTarget::Master(1), 30_000));
    }
    let run = run_ha(&opts);
    let rel = |t: u64| t - run.start_ms;
    if json {
        let failovers: Vec<serde_json::Value> = run
            .failovers
            .iter()
            .map(|f| {
                serde_json::json!({
                    "killed": node_name(f.killed),
                    "at": rel(f.at),
                    "new_leader": f.new_leader.map(node_name),
                    "elected_at": f.elected_at.map(rel),
                    "alive_at": f.alive_at.map(rel),
                    "mttr_ms": f.mttr_ms,
                })
            })
            .collect();
        let summary = serde_json::json!({
            "seed": opts.seed,
            "masters": opts.masters,
            "workers": opts.workers,
            "session_timeout_requested_ms": opts.config.zk_session_timeout_ms,
            "session_timeout_granted_ms": run.granted_session_timeout_ms,
            "active_master": run.active_master().map(node_name),
            "failovers": failovers,
            "persisted_workers": run.persisted.workers.iter().map(|w| w.id.clone()).collect::<Vec<_>>(),
            "persisted_apps": run.persisted.apps.iter().map(|a| a.id.clone()).collect::<Vec<_>>(),
            "violations": run.violations,
        });
        println!("{summary}");
    } else {
        println!("# times in virtual seconds; the ensemble was up at {:.3} s", run.start_ms as f64 / 1000.0);
        print!("{}", run.timeline());
        println!(
            "# ZooKeeper session timeout: Spark asks {} ms, the servers grant {} ms",
            opts.config.zk_session_timeout_ms, run.granted_session_timeout_ms
        );
        for f in &run.failovers {
            let ms = |t: Option<u64>| t.map_or("never".to_string(), |t| format!("{} ms", t - f.at));
            println!(
                "failover: {} killed at {:.3} s -> {} elected after {}, ALIVE after {} (MTTR)",
                node_name(f.killed),
                f.at as f64 / 1000.0,
                f.new_leader.map_or("no master".to_string(), node_name),
                ms(f.elected_at),
                ms(f.alive_at)
            );
        }
        for v in &run.violations {
            println!("VIOLATION {v}");
        }
    }
    if !run.violations.is_empty() {
        std::process::exit(1);
    }
}
