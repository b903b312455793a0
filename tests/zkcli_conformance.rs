//! zkCli conformance: every transcript recorded from a real ZooKeeper 3.8 zkCli
//! (`tests/fixtures/zkcli/<name>.cmds` + `<name>.out`) is replayed through a `Console` over a
//! `LocalSession`, and each command's output must match the recording.
//!
//! Only what a real run cannot reproduce is normalised: zxids (`cZxid`/`mZxid`/`pZxid`), times
//! (`ctime`/`mtime`) and session ids (`ephemeralOwner`). Zxids and session ids keep their
//! relations: each distinct value becomes `z1`, `z2`, … (`s1`, …) in order of first appearance
//! on each side, so "equal", "different" and "which came first" are still checked. The epoch
//! (zxid `0x0`, owner `0x0`, time 0 of the built-in nodes) stays as it is.

mod common;
use common::zkcli_fixtures::{blocks, diff, fixture_commands, fixture_names, fixtures_dir, Normaliser};
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
    let names = fixture_names();
    for (fixture, cmd, reason) in ALLOWLIST {
        println!("allowlisted: {fixture} `{cmd}`: {reason}");
    }
    let mut failures = Vec::new();
    let mut passed = 0;
    for name in &names {
        let cmds = fixture_commands(name);
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
