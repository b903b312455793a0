//! `zkspark spark < job.py`, run as a user would: the recorded word count prints what PySpark
//! printed, a failing job prints a Python traceback and exits 1, and the bundled data sets are
//! the ones the PySpark fixtures were recorded with.

use std::io::Write;
use std::process::{Command, Stdio};

fn spark(job: &str) -> std::process::Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_zkspark"))
        .arg("spark")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run zkspark");
    child.stdin.take().unwrap().write_all(job.as_bytes()).unwrap();
    child.wait_with_output().unwrap()
}

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/pyspark");

#[test]
fn the_recorded_word_count_prints_what_pyspark_printed() {
    let job = std::fs::read_to_string(format!("{FIXTURES}/wordcount.py")).unwrap();
    let out = spark(&job);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let expected = std::fs::read_to_string(format!("{FIXTURES}/wordcount.out")).unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), expected);
}

#[test]
fn a_failing_job_prints_a_traceback_with_its_line_and_exits_1() {
    let out = spark(
        "from pyspark import SparkContext\nsc = SparkContext('local[2]', 'x')\nprint(1)\nprint(undefined_name)\n",
    );
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "1\n");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.starts_with("Traceback (most recent call last):\n"), "{err}");
    assert!(err.contains("line 4"), "{err}");
    assert!(err.trim_end().ends_with("NameError: name 'undefined_name' is not defined"), "{err}");
}

#[test]
fn the_bundled_data_sets_are_the_recorded_ones() {
    for name in ["words.txt", "people.csv"] {
        let bundled = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/static/data/").to_string() + name).unwrap();
        let recorded = std::fs::read(format!("{FIXTURES}/data/{name}")).unwrap();
        assert_eq!(bundled, recorded, "static/data/{name} differs from what PySpark read");
    }
}

fn zkspark_run(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_zkspark")).arg("run").args(args).output().expect("run zkspark")
}

#[test]
fn zkspark_run_prints_what_pyspark_printed_through_executor_kills() {
    let root = env!("CARGO_MANIFEST_DIR");
    let want = std::fs::read_to_string(format!("{root}/tests/fixtures/presets/wordcount.out")).unwrap();
    let job = format!("{root}/static/presets/wordcount.py");
    let clean = zkspark_run(&[&job]);
    assert!(clean.status.success(), "{}", String::from_utf8_lossy(&clean.stderr));
    assert_eq!(String::from_utf8_lossy(&clean.stdout), want);
    let killed = zkspark_run(&[&job, "--seed", "3", "--executors", "3", "--cores", "1", "--kill-executor", "1@500", "--kill-executor", "2@900", "--events"]);
    assert!(killed.status.success(), "{}", String::from_utf8_lossy(&killed.stderr));
    assert_eq!(String::from_utf8_lossy(&killed.stdout), want);
    let events = String::from_utf8_lossy(&killed.stderr);
    assert!(events.contains("ExecutorRemoved { executor: 1"), "{events}");
    assert!(events.contains("ExecutorRemoved { executor: 2"), "{events}");
}

#[test]
fn zkspark_run_explains_bad_arguments_and_failing_jobs() {
    let root = env!("CARGO_MANIFEST_DIR");
    let job = format!("{root}/static/presets/wordcount.py");
    let out = zkspark_run(&[&job, "--kill-executor", "7@100"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("there is no executor 7: executors are 1..=2"));
    let out = zkspark_run(&[&job, "--executors", "0"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--executors must be between 1 and 16, got 0"));
    let out = zkspark_run(&["/nonexistent/job.py"]);
    assert_eq!(out.status.code(), Some(2));
    let failing = format!("{root}/static/presets/task_failure.py");
    let out = zkspark_run(&[&failing]);
    assert!(out.status.success(), "the preset catches its job's failure");
    assert!(String::from_utf8_lossy(&out.stdout).contains("the job failed: Py4JJavaError"));
}

/// `zkspark run --chaos … --json` prints the program's output and the figures as one JSON
/// object: every chaos kill is a failure with its repair time; bad fault options are refused.
#[test]
fn zkspark_run_reports_chaos_figures_as_json() {
    let root = env!("CARGO_MANIFEST_DIR");
    let job = format!("{root}/static/presets/zk_counter_idempotent.py");
    let out = zkspark_run(&[&job, "--seed", "5", "--chaos", "400", "--chaos-restart", "1500", "--json"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stdout));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON object");
    assert_eq!(v["stdout"].as_str().unwrap().lines().last(), Some("100"));
    let kills = v["chaos"].as_array().unwrap().iter().filter(|e| e["action"] == "kill").count() as u64;
    assert!(kills > 0, "{}", v["chaos"]);
    let m = &v["metrics"];
    assert_eq!(m["failures_total"].as_u64(), Some(kills));
    assert!(m["throughput"]["zk_ops"].as_u64().unwrap() > 0);
    assert!(m["latency"]["multi"]["p99"].as_u64().is_some(), "{}", m["latency"]);
    let out = zkspark_run(&[&job, "--kill-zk", "9@100"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("there is no ZooKeeper server 9: servers are 1..=3"));
    let out = zkspark_run(&[&job, "--isolate-zk", "1@500"]);
    assert_eq!(out.status.code(), Some(2));
}
