//! The headless CLI, run as a user would.

use std::process::Command;

fn zkspark(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_zkspark")).args(args).output().expect("run zkspark")
}

fn json(out: &std::process::Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&out.stdout)))
}

#[test]
fn sim_prints_one_json_line_and_replays_by_seed() {
    let args = ["sim", "--seed", "17", "--servers", "5", "--duration-ms", "20000", "--faults"];
    let a = zkspark(&args);
    assert!(a.status.success(), "{}", String::from_utf8_lossy(&a.stderr));
    assert_eq!(String::from_utf8_lossy(&a.stdout).lines().count(), 1);
    let report = json(&a);
    assert_eq!(report["seed"], 17);
    assert_eq!(report["states"].as_array().unwrap().len(), 5);
    assert_eq!(report["violations"].as_array().unwrap().len(), 0);
    assert!(report["leader_changes"].as_u64().unwrap() >= 1);
    let leader = report["leader"].as_u64().expect("a settled leader after healing");
    let states = report["states"].as_array().unwrap();
    let leading: Vec<u64> = states.iter().filter(|s| s[1] == "leading").map(|s| s[0].as_u64().unwrap()).collect();
    assert_eq!(leading, vec![leader]);
    assert_eq!(json(&zkspark(&args))["trace_hash"], report["trace_hash"], "same seed, same trace");
    let other = json(&zkspark(&["sim", "--seed", "18", "--servers", "5", "--duration-ms", "20000", "--faults"]));
    assert_ne!(other["trace_hash"], report["trace_hash"]);
}

#[test]
fn a_quiet_run_elects_the_highest_id() {
    let report = json(&zkspark(&["sim", "--seed", "1", "--servers", "3", "--duration-ms", "5000"]));
    assert_eq!(report["leader"], 3);
    assert_eq!(report["epoch"], 1);
    assert_eq!(report["leader_changes"], 1);
}

#[test]
fn bad_arguments_get_a_clear_error_and_exit_2() {
    for (args, needle) in [
        (vec!["sim", "--servers", "zero"], "--servers expects a non-negative integer, got 'zero'"),
        (vec!["sim", "--servers", "0"], "--servers must be between 1 and 15"),
        (vec!["sim", "--bogus"], "unknown option '--bogus'"),
        (vec!["frobnicate"], "unknown command 'frobnicate'"),
        (vec![], "missing command"),
    ] {
        let out = zkspark(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(needle), "{args:?}: {stderr}");
        assert!(stderr.contains("usage: zkspark sim"), "{args:?}: usage is shown");
    }
}
