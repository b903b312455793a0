//! Argument parsing and dispatch for the `zkspark` command line (kept in the library so tests
//! can call it).

use crate::scenario::{self, ScenarioOptions};

pub const USAGE: &str = "usage: zkspark sim [--seed N] [--servers 3|5|7|K] [--duration-ms T] [--faults] [--trace]\n\
  Runs a simulated ZooKeeper ensemble and prints one JSON line: the seed, each server's final\n\
  state, the quorum-backed leader and its epoch, stragglers, leader changes, the trace hash and any invariant\n\
  violations (--trace adds every step of the run). With --faults, T ms of random kills, restarts, partitions, loss and writes are\n\
  followed by a healing phase in which a quorum-backed leader must appear within 120 s.\n\
  Exit status: 0 if no property was violated, 1 if one was, 2 on bad arguments.";

/// Runs the command: the JSON line to print and whether every property held.
pub fn run(args: &[String]) -> Result<(String, bool), String> {
    let opts = parse(args)?;
    let report = scenario::run(&opts);
    let line = serde_json::to_string(&report).map_err(|e| e.to_string())?;
    Ok((line, report.violations.is_empty()))
}

pub fn parse(args: &[String]) -> Result<ScenarioOptions, String> {
    let mut it = args.iter();
    match it.next().map(String::as_str) {
        Some("sim") => {}
        Some(other) => return Err(format!("unknown command '{other}'")),
        None => return Err("missing command".into()),
    }
    let mut opts = ScenarioOptions::new(1, 5, 60_000, false);
    while let Some(flag) = it.next() {
        let mut value = |name: &str| -> Result<u64, String> {
            let v = it.next().ok_or_else(|| format!("{name} needs a value"))?;
            v.parse::<u64>().map_err(|_| format!("{name} expects a non-negative integer, got '{v}'"))
        };
        match flag.as_str() {
            "--seed" => opts.seed = value("--seed")?,
            "--servers" => {
                let n = value("--servers")?;
                if !(1..=15).contains(&n) {
                    return Err(format!("--servers must be between 1 and 15, got {n}"));
                }
                opts.n_servers = n as u32;
            }
            "--duration-ms" => opts.duration_ms = value("--duration-ms")?,
            "--faults" => opts.faults = true,
            "--trace" => opts.keep_trace = true,
            "-h" | "--help" => return Err("help requested".into()),
            other => return Err(format!("unknown option '{other}'")),
        }
    }
    Ok(opts)
}
