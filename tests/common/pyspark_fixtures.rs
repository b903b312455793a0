//! Reading what the PySpark recorder (`scripts/record-pyspark-fixtures.sh`) wrote, shared by the
//! local-engine conformance test and the cluster tests.
#![allow(dead_code)] // each test crate uses its own part

/// `[ (tasks, skipped) per stage ]` per job, from the recorded summary lines such as
/// `job 1 [...] stages=2 skipped=1 [2:8t(skipped) 3:8t] JobSucceeded`.
pub fn recorded_jobs(json: &str) -> Vec<Vec<(u32, bool)>> {
    let v: serde_json::Value = serde_json::from_str(json).expect("json");
    v["summary"]
        .as_array()
        .map(|a| a.iter().filter_map(|l| l.as_str()).map(parse_summary).collect())
        .unwrap_or_default()
}

fn parse_summary(line: &str) -> Vec<(u32, bool)> {
    let inner = line.rsplit_once('[').map(|(_, r)| r).unwrap_or("");
    let inner = inner.split(']').next().unwrap_or("");
    inner
        .split_whitespace()
        .filter_map(|s| {
            let (_, t) = s.split_once(':')?;
            let skipped = t.ends_with("(skipped)");
            let n = t.trim_end_matches("(skipped)").trim_end_matches('t').parse().ok()?;
            Some((n, skipped))
        })
        .collect()
}
