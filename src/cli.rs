//! Argument parsing and dispatch for the `zkspark` command line (kept in the library so tests
//! can call it).

use crate::scenario::{self, ScenarioOptions};
use crate::zk::cli::{Console, ZkSession};
use std::io::{self, BufRead, Write};

pub const USAGE: &str = "usage: zkspark sim [--seed N] [--servers 3|5|7|K] [--observers M] [--duration-ms T] [--faults] [--trace]\n\
  Runs a simulated ZooKeeper ensemble and prints one JSON line: the seed, each server's final\n\
  state, the quorum-backed leader and its epoch, stragglers, leader changes, the trace hash and any invariant\n\
  violations (--trace adds every step of the run). With --faults, T ms of random kills, restarts, partitions, loss and writes are\n\
  followed by a healing phase in which a quorum-backed leader must appear within 120 s.\n\
  Exit status: 0 if no property was violated, 1 if one was, 2 on bad arguments.\n\
usage: zkspark zkcli [--seed N] [--servers K] [--transcript] < commands\n\
  Runs zkCli 3.8 commands read from stdin, one per line, against a fresh ZooKeeper and prints\n\
  what zkCli prints for each (prompt and echoed command first; --transcript prints `>>> command`\n\
  headers instead, the format of tests/fixtures/zkcli). Lines starting with # are skipped.";

/// The options of `zkspark zkcli`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ZkcliOptions {
    pub seed: u64,
    pub n_servers: u32,
    /// `>>> command` headers instead of prompts, and no banner.
    pub transcript: bool,
}

/// The session `zkspark zkcli` drives: a client of a simulated, replicated ensemble of
/// `n_servers` (seeded), connected to server 1 (`127.0.0.1:2181`) first.
pub fn open_session(seed: u64, n_servers: u32) -> Box<dyn ZkSession> {
    Box::new(crate::ensemble::EnsembleSession::new(seed, n_servers))
}

/// The integer after a flag, within `range`, or an error that says what was expected.
pub fn flag_number<'a>(
    it: &mut impl Iterator<Item = &'a String>,
    name: &str,
    range: std::ops::RangeInclusive<u64>,
) -> Result<u64, String> {
    let v = it.next().ok_or_else(|| format!("{name} needs a value"))?;
    let n = v.parse::<u64>().map_err(|_| format!("{name} expects a non-negative integer, got '{v}'"))?;
    if !range.contains(&n) {
        return Err(format!("{name} must be between {} and {}, got {n}", range.start(), range.end()));
    }
    Ok(n)
}

pub fn parse_zkcli(args: &[String]) -> Result<ZkcliOptions, String> {
    let mut opts = ZkcliOptions { seed: 1, n_servers: 3, transcript: false };
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        match flag.as_str() {
            "--seed" => opts.seed = flag_number(&mut it, "--seed", 0..=u64::MAX)?,
            "--servers" => opts.n_servers = flag_number(&mut it, "--servers", 1..=15)? as u32,
            "--transcript" => opts.transcript = true,
            "-h" | "--help" => return Err("help requested".into()),
            other => return Err(format!("unknown option '{other}'")),
        }
    }
    Ok(opts)
}

/// Runs `zkspark zkcli`: each input line through a zkCli console, its output written as soon as
/// it is known. `echo` writes each command after its prompt, as a terminal would show it (off
/// when the input is a terminal, which echoes by itself). Stops at `quit` or end of input.
pub fn run_zkcli(opts: &ZkcliOptions, input: impl BufRead, mut output: impl Write, echo: bool) -> io::Result<()> {
    let mut console = Console::new(open_session(opts.seed, opts.n_servers));
    let connected = console.pending_output();
    if !opts.transcript {
        let server = console.session().server();
        write!(output, "Connecting to {server}\nWelcome to ZooKeeper!\nJLine support is enabled\n{connected}")?;
        write!(output, "{}", console.prompt())?;
        output.flush()?;
    }
    for line in input.lines() {
        let line = line?;
        if line.starts_with('#') || (opts.transcript && line.trim().is_empty()) {
            continue;
        }
        if opts.transcript {
            writeln!(output, ">>> {line}")?;
        } else if echo {
            writeln!(output, "{line}")?;
        }
        write!(output, "{}", console.run_line(&line))?;
        if console.has_exited() {
            break;
        }
        if !opts.transcript {
            write!(output, "{}", console.prompt())?;
        }
        output.flush()?;
    }
    if !opts.transcript && !console.has_exited() {
        writeln!(output)?;
    }
    output.flush()
}

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
        match flag.as_str() {
            "--seed" => opts.seed = flag_number(&mut it, "--seed", 0..=u64::MAX)?,
            "--servers" => opts.n_servers = flag_number(&mut it, "--servers", 1..=15)? as u32,
            "--observers" => opts.observers = flag_number(&mut it, "--observers", 0..=8)? as u32,
            "--duration-ms" => opts.duration_ms = flag_number(&mut it, "--duration-ms", 0..=u64::MAX)?,
            "--faults" => opts.faults = true,
            "--trace" => opts.keep_trace = true,
            "-h" | "--help" => return Err("help requested".into()),
            other => return Err(format!("unknown option '{other}'")),
        }
    }
    Ok(opts)
}
