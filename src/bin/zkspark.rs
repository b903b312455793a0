//! The headless CLI.
//! - `zkspark sim --seed N --servers K --duration-ms T [--faults] [--trace]` runs a seeded
//!   ensemble without a browser and prints one JSON line; it is how a seed is replayed.
//! - `zkspark bench [--seeds N]` measures simulation throughput in seeds per second.
//! - `zkspark zkcli [--seed N] [--servers K] [--transcript] < commands` runs zkCli commands and
//!   prints what zkCli 3.8 prints.

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

/// The data sets bundled with the playground: `sc.textFile("data/words.txt")`.
#[cfg(not(target_arch = "wasm32"))]
const BUNDLED_DATA: &[(&str, &str)] = &[
    ("words.txt", include_str!("../../static/data/words.txt")),
    ("people.csv", include_str!("../../static/data/people.csv")),
];

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
    let mut fs = zkspark::spark::fs::SimFs::default();
    for (name, text) in BUNDLED_DATA {
        fs.write(&format!("/data/{name}"), text.as_bytes().to_vec());
    }
    let run =
        zkspark::spark::pyspark::run_spark_program(&source, "job.py", zkspark::spark::pyspark::Host { cores, fs });
    print!("{}", run.stdout);
    eprint!("{}", run.stderr);
    if !run.ok {
        std::process::exit(1);
    }
}
