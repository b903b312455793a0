//! The headless CLI.
//! - `zkspark sim --seed N --servers K --duration-ms T [--faults] [--trace]` runs a seeded
//!   ensemble without a browser and prints one JSON line; it is how a seed is replayed.
//! - `zkspark bench [--seeds N]` measures simulation throughput in seeds per second.
//! - `zkspark zkcli [--seed N] [--servers K] [--transcript] < commands` runs zkCli commands and
//!   prints what zkCli 3.8 prints.
//! - `zkspark spark [--cores N] < job.py` runs a PySpark job on the local engine (local[N]).
//! - `zkspark run JOB.py [--seed N] [--executors K] [--cores C] [--kill-executor ID@MS]…
//!   [--events]` runs it on a simulated cluster (a driver and K executors) and prints what it
//!   prints; `--events` adds the listener events on stderr.

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
    if args.first().map(String::as_str) == Some("run") {
        run_job(&args[1..]);
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
    let usage = "usage: zkspark run JOB.py [--seed N] [--executors K] [--cores C] [--kill-executor ID@MS]... [--events]";
    let fail = |msg: String| -> ! {
        eprintln!("zkspark run: {msg}\n{usage}");
        std::process::exit(2)
    };
    let mut opts = ClusterOptions::default();
    let mut path = None;
    let mut events = false;
    let mut i = 0;
    let number = |flag: &str, v: Option<&String>, lo: u64, hi: u64| -> u64 {
        match v.and_then(|v| v.parse::<u64>().ok()).filter(|n| (lo..=hi).contains(n)) {
            Some(n) => n,
            None => fail(format!("{flag} expects a number in {lo}..={hi}, got '{}'", v.map_or("", |s| s.as_str()))),
        }
    };
    while i < args.len() {
        let a = args[i].as_str();
        match a {
            "--seed" => opts.seed = number(a, args.get(i + 1), 0, u64::MAX),
            "--executors" => opts.config.executors = number(a, args.get(i + 1), 1, 16) as u32,
            "--cores" => opts.config.cores = number(a, args.get(i + 1), 1, 16) as u32,
            "--kill-executor" => {
                let v = args.get(i + 1).cloned().unwrap_or_default();
                let parsed = v.split_once('@').and_then(|(x, t)| Some((x.parse::<u32>().ok()?, t.parse::<u64>().ok()?)));
                match parsed {
                    Some(k) => opts.kills.push(k),
                    None => fail(format!("--kill-executor expects ID@MS (e.g. 1@1500), got '{v}'")),
                }
            }
            "--events" => {
                events = true;
                i += 1;
                continue;
            }
            _ if a.starts_with("--") => fail(format!("unknown option {a}")),
            _ if path.is_none() => {
                path = Some(a.to_string());
                i += 1;
                continue;
            }
            _ => fail(format!("unexpected argument '{a}'")),
        }
        i += 2;
    }
    for (x, _) in &opts.kills {
        if *x == 0 || *x > opts.config.executors {
            fail(format!("there is no executor {x}: executors are 1..={}", opts.config.executors));
        }
    }
    let Some(path) = path else { fail("which job? give the path of a .py file".into()) };
    let source = std::fs::read_to_string(&path).unwrap_or_else(|e| fail(format!("cannot read {path}: {e}")));
    let name = std::path::Path::new(&path).file_name().map_or("job.py".into(), |n| n.to_string_lossy().to_string());
    let run = run_on_cluster(&source, &name, zkspark::spark::fs::bundled(), &opts);
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
