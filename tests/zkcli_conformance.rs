//! zkCli conformance: every transcript recorded from a real ZooKeeper 3.8 zkCli
//! (`tests/fixtures/zkcli/<name>.cmds` + `<name>.out`) is replayed through a `Console` over a
//! `LocalSession`, and each command's output must match the recording.
//!
//! Only what a real run cannot reproduce is normalised: zxids (`cZxid`/`mZxid`/`pZxid`), times
//! (`ctime`/`mtime`) and session ids (`ephemeralOwner`). Zxids and session ids keep their
//! relations: each distinct value becomes `z1`, `z2`, … (`s1`, …) in order of first appearance
//! on each side, so "equal", "different" and "which came first" are still checked. The epoch
//! (zxid `0x0`, owner `0x0`, time 0 of the built-in nodes) stays as it is.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use zkspark::zk::cli::Console;
use zkspark::zk::local::{LocalOptions, LocalSession};

/// Commands whose recorded output this simulator does not reproduce, with the reason. Each is
/// still replayed (its effects count for the commands after it); only its output is not
/// compared. Keep this short.
const ALLOWLIST: &[(&str, &str, &str)] = &[
    ("07-zookeeper-reserved", "deleteall /zookeeper", DELETEALL_RACE),
    ("13-usage-errors", "deleteall -b 0 /", DELETEALL_RACE),
];

/// Why a failing `deleteall`'s output cannot be compared.
const DELETEALL_RACE: &str = "a race in zkCli 3.8.0: ZKUtil.deleteInBatch's callback releases the semaphore before it \
     records the failure, so \"Failed to delete some node(s) in the subtree!\" is printed or not at random (successive \
     recordings of the same fixture differ); we always print it, as 3.8.4 does";

fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/zkcli")
}

/// The commands of a `.cmds` file: one per line; blank lines and `#` comments skipped.
fn commands(text: &str) -> Vec<String> {
    text.lines().filter(|l| !l.trim().is_empty() && !l.starts_with('#')).map(str::to_string).collect()
}

/// The recorded blocks of a `.out` file: (command, what zkCli printed).
fn blocks(text: &str) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for line in text.split_inclusive('\n') {
        if let Some(cmd) = line.strip_prefix(">>> ") {
            out.push((cmd.trim_end_matches('\n').to_string(), String::new()));
        } else if let Some((_, body)) = out.last_mut() {
            body.push_str(line);
        }
    }
    out
}

/// Rewrites volatile values; `zxids` and `sessions` carry the first-appearance numbering
/// across a whole transcript.
struct Normaliser {
    zxids: BTreeMap<String, usize>,
    sessions: BTreeMap<String, usize>,
}

impl Normaliser {
    fn new() -> Normaliser {
        Normaliser { zxids: BTreeMap::new(), sessions: BTreeMap::new() }
    }

    fn relabel(map: &mut BTreeMap<String, usize>, value: &str, prefix: &str) -> String {
        let n = map.len() + 1;
        format!("{prefix}{}", map.entry(value.to_string()).or_insert(n))
    }

    fn line(&mut self, line: &str) -> String {
        for key in ["cZxid = ", "mZxid = ", "pZxid = "] {
            if let Some(v) = line.strip_prefix(key) {
                if v == "0x0" {
                    return line.to_string();
                }
                return format!("{key}{}", Self::relabel(&mut self.zxids, v, "z"));
            }
        }
        for key in ["ctime = ", "mtime = "] {
            if let Some(v) = line.strip_prefix(key) {
                if v == "Thu Jan 01 00:00:00 UTC 1970" {
                    return line.to_string();
                }
                return format!("{key}<time>");
            }
        }
        if let Some(v) = line.strip_prefix("ephemeralOwner = ") {
            if v == "0x0" {
                return line.to_string();
            }
            return format!("ephemeralOwner = {}", Self::relabel(&mut self.sessions, v, "s"));
        }
        line.to_string()
    }

    fn text(&mut self, text: &str) -> String {
        text.split_inclusive('\n')
            .map(|l| match l.strip_suffix('\n') {
                Some(body) => format!("{}\n", self.line(body)),
                None => self.line(l),
            })
            .collect()
    }
}

/// A readable line diff of one command's output.
fn diff(expected: &str, actual: &str) -> String {
    let e: Vec<&str> = expected.lines().collect();
    let a: Vec<&str> = actual.lines().collect();
    let mut s = String::new();
    for i in 0..e.len().max(a.len()) {
        match (e.get(i), a.get(i)) {
            (Some(x), Some(y)) if x == y => writeln!(s, "      {x}").unwrap(),
            (x, y) => {
                if let Some(x) = x {
                    writeln!(s, "    - {x}").unwrap();
                }
                if let Some(y) = y {
                    writeln!(s, "    + {y}").unwrap();
                }
            }
        }
    }
    if expected.ends_with('\n') != actual.ends_with('\n') {
        writeln!(s, "    (trailing newline differs)").unwrap();
    }
    s
}

/// Replays one fixture; returns its failures (empty when it conforms).
fn check_fixture(
    name: &str,
    cmds: &[String],
    recorded: &[(String, String)],
    session: Box<dyn zkspark::zk::cli::ZkSession>,
) -> Vec<String> {
    let mut failures = Vec::new();
    // A recording stops early only when zkCli exited (quit, or an exception it does not catch).
    if recorded.len() > cmds.len() || cmds.iter().zip(recorded).any(|(c, (r, _))| c != r) {
        failures.push(format!("{name}: the .out does not record the .cmds one block per command"));
        return failures;
    }
    let mut console = Console::new(session);
    // The connection's SyncConnected event is stripped from the recordings.
    let _ = console.pending_output();
    let (mut expected_norm, mut actual_norm) = (Normaliser::new(), Normaliser::new());
    for (i, (cmd, expected)) in recorded.iter().enumerate() {
        // The recording server listened on 127.0.0.1:21810; the simulated ensemble's server 1
        // listens on 127.0.0.1:2181 (the standalone session accepts any address).
        let actual = console.run_line(&cmd.replace("127.0.0.1:21810", "127.0.0.1:2181"));
        let (e, a) = (expected_norm.text(expected), actual_norm.text(&actual));
        if ALLOWLIST.iter().any(|(f, c, _)| *f == name && c == cmd) {
            continue;
        }
        if e != a {
            failures.push(format!("{name} #{} `{cmd}`:\n{}", i + 1, diff(&e, &a)));
        }
    }
    if recorded.len() < cmds.len() && !console.has_exited() {
        let next = &cmds[recorded.len()];
        failures.push(format!("{name}: zkCli had exited before `{next}`, the console had not"));
    }
    failures
}

#[test]
fn zkcli_transcripts_replay_exactly() {
    replay_all("a standalone LocalSession", &|| Box::new(LocalSession::new(LocalOptions::default())));
}

/// The same transcripts against a replicated, simulated 3-server ensemble: reads answered by
/// the connected server, writes through the leader, watches fired on commit.
#[test]
fn zkcli_transcripts_replay_exactly_on_a_simulated_ensemble() {
    replay_all("a 3-server simulated ensemble", &|| Box::new(zkspark::ensemble::EnsembleSession::new(1, 3)));
}

fn replay_all(what: &str, open: &dyn Fn() -> Box<dyn zkspark::zk::cli::ZkSession>) {
    let dir = fixtures_dir();
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter_map(|f| f.strip_suffix(".cmds").map(str::to_string))
        .collect();
    names.sort();
    assert!(!names.is_empty(), "no fixtures in {}", dir.display());
    for (fixture, cmd, reason) in ALLOWLIST {
        println!("allowlisted: {fixture} `{cmd}`: {reason}");
    }
    let mut failures = Vec::new();
    let mut passed = 0;
    for name in &names {
        let cmds = commands(&std::fs::read_to_string(dir.join(format!("{name}.cmds"))).unwrap());
        let out_path = dir.join(format!("{name}.out"));
        let Ok(out) = std::fs::read_to_string(&out_path) else {
            failures.push(format!("{name}: no recording ({} is missing)", out_path.display()));
            continue;
        };
        let fixture_failures = check_fixture(name, &cmds, &blocks(&out), open());
        if fixture_failures.is_empty() {
            passed += 1;
        }
        failures.extend(fixture_failures);
    }
    println!("zkCli conformance on {what}: {passed}/{} fixtures pass", names.len());
    assert!(failures.is_empty(), "{} mismatches:\n\n{}", failures.len(), failures.join("\n"));
}

#[test]
fn normalising_keeps_zxid_relations() {
    let mut n = Normaliser::new();
    let text = "cZxid = 0x5\nmZxid = 0x7\npZxid = 0x5\nctime = Sat Nov 28 21:22:15 UTC 2026\nephemeralOwner = 0x0\n";
    assert_eq!(n.text(text), "cZxid = z1\nmZxid = z2\npZxid = z1\nctime = <time>\nephemeralOwner = 0x0\n");
    assert_eq!(n.line("cZxid = 0x7"), "cZxid = z2");
}
