//! Mutated PySpark programs on the simulated cluster and on the local engine never panic: each
//! run ends in output or a Python traceback (a missing method, a bad argument, a failed job),
//! whatever lines were dropped, doubled, swapped or had their numbers and names changed.
//! `SPARK_FUZZ_SEEDS=N` runs more; a failing case prints its seed and the program.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;
use zkspark::sim::Rng;
use zkspark::spark::pyspark::{run_spark_program, Host};
use zkspark::spark::world::{run_on_cluster, ClusterOptions};

fn programs() -> Vec<String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut out = vec![];
    for dir in ["static/presets", "tests/fixtures/pyspark"] {
        let mut names: Vec<_> = std::fs::read_dir(root.join(dir)).unwrap().filter_map(|e| e.ok()).map(|e| e.path()).collect();
        names.sort();
        for p in names {
            if p.extension().is_some_and(|x| x == "py") {
                out.push(std::fs::read_to_string(p).unwrap());
            }
        }
    }
    out
}

const WORDS: &[&str] = &[
    "sc", "rdd", "x", "0", "1", "-1", "3", "100", "None", "[]", "()", "''", "lambda x: x", "collect", "count", "map", "reduceByKey",
    "groupByKey", "join", "cache", "take", "first", "sortByKey", "union", "zip", "repartition", "coalesce", "glom", "sample",
];

fn mutate(src: &str, rng: &mut Rng) -> String {
    let mut lines: Vec<String> = src.lines().map(str::to_string).collect();
    for _ in 0..1 + rng.below(3) {
        if lines.is_empty() {
            break;
        }
        let i = rng.below(lines.len() as u64) as usize;
        match rng.below(5) {
            0 => {
                lines.remove(i);
            }
            1 => {
                let l = lines[i].clone();
                lines.insert(i, l);
            }
            2 => {
                let j = rng.below(lines.len() as u64) as usize;
                lines.swap(i, j);
            }
            3 => {
                // Replace one word-ish token with another.
                let toks: Vec<&str> = lines[i].split(|c: char| !c.is_alphanumeric() && c != '_').filter(|t| !t.is_empty()).collect();
                if let Some(t) = toks.get(rng.below(toks.len().max(1) as u64) as usize) {
                    let w = WORDS[rng.below(WORDS.len() as u64) as usize];
                    lines[i] = lines[i].replacen(t, w, 1);
                }
            }
            _ => {
                let cut = rng.below(lines[i].len() as u64 + 1) as usize;
                let cut = (0..=cut).rev().find(|&c| lines[i].is_char_boundary(c)).unwrap_or(0);
                lines[i].truncate(cut);
            }
        }
    }
    lines.join("\n") + "\n"
}


#[test]
fn mutated_programs_end_in_output_or_a_traceback() {
    let n: u64 = std::env::var("SPARK_FUZZ_SEEDS").ok().and_then(|v| v.parse().ok()).unwrap_or(150);
    let progs = programs();
    let fs = zkspark::spark::fs::bundled();
    for seed in 0..n {
        let mut rng = Rng::new(seed);
        let base = &progs[rng.below(progs.len() as u64) as usize];
        let prog = mutate(base, &mut rng);
        let opts = ClusterOptions { seed, max_ms: 600_000, ..ClusterOptions::default() };
        let cluster = catch_unwind(AssertUnwindSafe(|| run_on_cluster(&prog, "fuzz.py", fs.clone(), &opts)));
        let r = cluster.unwrap_or_else(|_| panic!("seed {seed}: the cluster panicked on:\n{prog}"));
        if r.finished && !r.ok {
            assert!(
                r.stderr.starts_with("Traceback (most recent call last):\n") || r.stderr.contains("Error"),
                "seed {seed}: a failure without a Python error:\n{}\n--- program:\n{prog}",
                r.stderr
            );
        }
        let local = catch_unwind(AssertUnwindSafe(|| {
            run_spark_program(&prog, "fuzz.py", Host { cores: 4, fs: fs.clone(), cluster: None })
        }));
        assert!(local.is_ok(), "seed {seed}: the local engine panicked on:\n{prog}");
    }
}
