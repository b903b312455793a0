//! PySpark programs on a simulated cluster (a driver and executors as sans-IO nodes): without
//! faults they print what PySpark printed; with executors killed at random points of
//! multi-stage jobs they still print the same, and the re-runs show in the listener events;
//! a task that keeps failing aborts the job after `spark.task.maxFailures` (4) attempts.
//! `SPARK_SEEDS=a..b` picks the seeds; a failing seed prints the `zkspark run` that replays it.

mod common;

use common::pyspark_fixtures::recorded_jobs;
use std::collections::BTreeSet;
use std::fs;
use std::path::Path;
use zkspark::sim::Rng;
use zkspark::spark::cluster::ClusterConfig;
use zkspark::spark::fs::SimFs;
use zkspark::spark::world::{run_on_cluster, ClusterOptions, ClusterRun};
use zkspark::spark::SparkEvent;

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/pyspark");

/// Recorded programs with more than one stage per job, or many jobs, whose output does not
/// depend on how often a task ran (no accumulators).
const MULTI_STAGE: &[&str] = &["wordcount", "sorting", "stages", "joins", "pair_agg", "set_ops", "partitioning"];
/// Recorded programs the cluster must print exactly as PySpark's local[4] did (the others
/// print the master, or fail a task once where a cluster retries it 4 times, or are not
/// supported yet: see tests/pyspark_conformance.rs).
const EXACT: &[&str] = &[
    "accumulators",
    "actions",
    "basics",
    "broadcast",
    "cache_persist",
    "closures",
    "joins",
    "narrow",
    "no_such_method",
    "pair_agg",
    "partitioning",
    "rdd_repr",
    "sample",
    "save_text",
    "set_ops",
    "shuffle_order_localmode",
    "sorting",
    "stages",
    "task_error_uncaught",
    "task_print",
    "textfile",
    "wordcount",
    "zip_index",
];

/// The recordings' data sets are the bundled ones (`tests/spark_cli.rs` checks they are equal).
fn data_fs() -> SimFs {
    zkspark::spark::fs::bundled()
}

fn source(name: &str) -> String {
    fs::read_to_string(Path::new(FIXTURES).join(format!("{name}.py"))).expect("fixture source")
}

fn seed_range() -> std::ops::Range<u64> {
    match std::env::var("SPARK_SEEDS").ok().and_then(|s| {
        let (a, b) = s.split_once("..")?;
        Some(a.parse().ok()?..b.parse().ok()?)
    }) {
        Some(r) => r,
        None => 0..60,
    }
}

fn run(name: &str, opts: &ClusterOptions) -> ClusterRun {
    run_on_cluster(&source(name), &format!("{name}.py"), data_fs(), opts)
}

#[test]
fn without_faults_the_cluster_prints_what_pyspark_printed() {
    for name in EXACT {
        let want = fs::read_to_string(Path::new(FIXTURES).join(format!("{name}.out"))).unwrap();
        let r = run(name, &ClusterOptions::default());
        assert!(r.finished, "{name}: {}", r.stderr);
        assert_eq!(r.stdout, want, "{name}: {}", r.stderr);
    }
}

#[test]
fn the_default_parallelism_is_the_executors_cores() {
    let prog = "from pyspark import SparkContext\nsc = SparkContext()\nprint(sc.defaultParallelism, sc.parallelize(range(10)).getNumPartitions(), sc.master)\n";
    for (executors, cores, want) in [(2, 2, 4), (3, 1, 3), (1, 1, 2)] {
        let opts = ClusterOptions { config: ClusterConfig { executors, cores, ..ClusterConfig::default() }, ..ClusterOptions::default() };
        let r = run_on_cluster(prog, "p.py", SimFs::default(), &opts);
        assert_eq!(r.stdout, format!("{want} {want} spark://127.0.0.1:7077\n"), "{executors}x{cores}");
    }
}

fn count(r: &ClusterRun, f: impl Fn(&SparkEvent) -> bool) -> usize {
    r.listener().filter(|e| f(e)).count()
}

#[test]
fn killed_executors_do_not_change_what_a_job_prints() {
    let mut resubmitted_runs = 0;
    let mut fetch_failed_runs = 0;
    let mut lost_task_runs = 0;
    let seeds = seed_range();
    let n = seeds.end - seeds.start;
    for seed in seeds {
        let name = MULTI_STAGE[(seed % MULTI_STAGE.len() as u64) as usize];
        let config = ClusterConfig { executors: 2 + (seed % 2) as u32, cores: 1 + (seed / 2 % 2) as u32, ..ClusterConfig::default() };
        let clean = run(name, &ClusterOptions { seed, config: config.clone(), ..ClusterOptions::default() });
        assert!(clean.finished, "seed {seed}: {}", clean.stderr);
        let mut rng = Rng::new(seed);
        let kills: Vec<(u32, u64)> = (0..1 + rng.below(3))
            .map(|_| (1 + rng.below(config.executors as u64) as u32, rng.below(clean.end_ms)))
            .collect();
        let restart_ms = 200 + rng.below(3_000);
        let opts = ClusterOptions { seed, config: config.clone(), kills: kills.clone(), restart_ms: Some(restart_ms), ..ClusterOptions::default() };
        let r = run(name, &opts);
        let replay = format!(
            "seed {seed}: zkspark run tests/fixtures/pyspark/{name}.py --seed {seed} --executors {} --cores {} {} (restart after {restart_ms} ms)",
            config.executors,
            config.cores,
            kills.iter().map(|(x, t)| format!("--kill-executor {x}@{t}")).collect::<Vec<_>>().join(" ")
        );
        assert!(r.finished, "{replay}: not finished after {} ms", r.end_ms);
        assert_eq!(r.ok, clean.ok, "{replay}: {}", r.stderr);
        assert_eq!(r.stdout, clean.stdout, "{replay}");
        // Every kill before the end is seen by the driver.
        let killed: BTreeSet<u32> = kills.iter().filter(|(_, t)| *t < r.end_ms).map(|(x, _)| *x).collect();
        let removed: BTreeSet<u32> = r
            .listener()
            .filter_map(|e| match e {
                SparkEvent::ExecutorRemoved { executor, .. } => Some(*executor),
                _ => None,
            })
            .collect();
        assert_eq!(removed, killed, "{replay}");
        resubmitted_runs += usize::from(count(&r, |e| matches!(e, SparkEvent::StageSubmitted { attempt, .. } if *attempt > 0)) > 0);
        fetch_failed_runs += usize::from(count(&r, |e| matches!(e, SparkEvent::TaskEnd { reason, .. } if reason.starts_with("FetchFailed"))) > 0);
        lost_task_runs += usize::from(count(&r, |e| matches!(e, SparkEvent::TaskEnd { reason, .. } if reason.starts_with("ExecutorLostFailure"))) > 0);
    }
    println!("{n} runs: stages resubmitted in {resubmitted_runs}, FetchFailed in {fetch_failed_runs}, running tasks lost in {lost_task_runs}");
    // Kills land in the middle of stages often enough to exercise every recovery path.
    assert!(resubmitted_runs * 4 >= n as usize, "stages resubmitted in only {resubmitted_runs} of {n} runs");
    assert!(fetch_failed_runs * 4 >= n as usize, "FetchFailed in only {fetch_failed_runs} of {n} runs");
    assert!(lost_task_runs * 4 >= n as usize, "running tasks lost in only {lost_task_runs} of {n} runs");
}

#[test]
fn a_task_that_keeps_failing_aborts_the_job_after_four_attempts() {
    let prog = "from pyspark import SparkContext\nsc = SparkContext()\n\ndef f(x):\n    if x == 7:\n        raise ValueError('bad record')\n    return x\n\nprint(sc.parallelize(range(10), 2).map(f).collect())\n";
    let r = run_on_cluster(prog, "fail.py", SimFs::default(), &ClusterOptions::default());
    assert!(r.finished && !r.ok);
    let attempts = count(&r, |e| matches!(e, SparkEvent::TaskEnd { partition: 1, reason, .. } if reason.starts_with("ExceptionFailure")));
    assert_eq!(attempts, 4);
    assert!(r.stderr.contains("py4j.protocol.Py4JJavaError: An error occurred while calling z:org.apache.spark.api.python.PythonRDD.collectAndServe."), "{}", r.stderr);
    assert!(r.stderr.contains("Task 1 in stage 0.0 failed 4 times, most recent failure: Lost task 1.3 in stage 0.0 (TID "), "{}", r.stderr);
    assert!(r.stderr.contains("ValueError: bad record"), "{}", r.stderr);
    assert!(r.stderr.contains("line 9, in <module>"), "{}", r.stderr);
}

#[test]
fn a_job_whose_executors_all_die_waits_and_finishes_when_one_comes_back() {
    let opts = ClusterOptions { kills: vec![(1, 100), (2, 100)], restart_ms: Some(30_000), ..ClusterOptions::default() };
    let r = run("wordcount", &opts);
    assert!(r.ok, "{}", r.stderr);
    assert!(r.end_ms > 30_000, "finished at {} ms, before any executor came back", r.end_ms);
    let want = fs::read_to_string(Path::new(FIXTURES).join("wordcount.out")).unwrap();
    assert_eq!(r.stdout, want);
}

/// The page's presets (`static/presets/`) print on the cluster what PySpark 4 printed for the
/// same file, and run the same jobs, stages and tasks (`tests/fixtures/presets/`, recorded by
/// `SRC=static/presets OUT=tests/fixtures/presets scripts/record-pyspark-fixtures.sh`).
#[test]
fn the_presets_print_and_schedule_what_pyspark_did() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut names: Vec<String> = fs::read_dir(dir.join("static/presets"))
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().to_str()?.strip_suffix(".py").map(str::to_string))
        .collect();
    names.sort();
    assert!(names.len() >= 5, "{names:?}");
    for name in names {
        let src = fs::read_to_string(dir.join(format!("static/presets/{name}.py"))).unwrap();
        let want = fs::read_to_string(dir.join(format!("tests/fixtures/presets/{name}.out")))
            .unwrap_or_else(|_| panic!("{name}: no recording; run the recorder (see this test's doc)"));
        // Programs without Spark (kazoo alone) were recorded with plain Python: no job summary.
        let json = fs::read_to_string(dir.join(format!("tests/fixtures/presets/{name}.json")));
        let r = run_on_cluster(&src, &format!("{name}.py"), data_fs(), &ClusterOptions::default());
        assert!(r.finished, "{name}");
        assert_eq!(r.stdout, want, "{name}: {}", r.stderr);
        match json {
            Ok(json) => assert_eq!(r.job_stages(), recorded_jobs(&json), "{name}: jobs, stages and tasks"),
            Err(_) => assert!(!src.contains("SparkContext"), "{name}: a Spark program needs its job summary"),
        }
    }
}

#[test]
fn save_as_text_file_writes_part_files_once_and_reports_them() {
    let prog = "from pyspark import SparkContext\nsc = SparkContext()\nrdd = sc.parallelize(range(6), 3).map(lambda x: x * x)\nrdd.saveAsTextFile('/out/squares')\nprint(sorted(sc.textFile('/out/squares').map(int).collect()))\nprint(rdd.count())\n";
    let r = run_on_cluster(prog, "save.py", SimFs::default(), &ClusterOptions::default());
    assert!(r.ok, "{}", r.stderr);
    // The replays after the save do not find their own output ("already exists").
    assert_eq!(r.stdout, "[0, 1, 4, 9, 16, 25]\n6\n");
    let files = r
        .events
        .iter()
        .find_map(|(_, _, e)| match e {
            zkspark::spark::cluster::ClusterEvent::Files(f) => Some(f.clone()),
            _ => None,
        })
        .expect("a Files event");
    // Hadoop's local file system writes a .crc beside each file, as the real one does.
    let paths: Vec<&str> = files.iter().map(|f| f.0.as_str()).filter(|p| !p.ends_with(".crc")).collect();
    assert_eq!(paths, ["/out/squares/_SUCCESS", "/out/squares/part-00000", "/out/squares/part-00001", "/out/squares/part-00002"]);
    assert_eq!(files.len(), 8);
    let part1 = files.iter().find(|f| f.0 == "/out/squares/part-00001").unwrap();
    assert_eq!(part1.2, "4\n9\n");
}

/// Spark's documented caveat: an accumulator updated inside a transformation counts again
/// when that stage re-runs (here, lost map output after an executor dies), while one updated
/// in an action (`foreach`) counts each record once however many tasks are lost.
#[test]
fn accumulator_updates_in_a_recomputed_stage_count_again() {
    let prog = "from pyspark import SparkContext\nsc = SparkContext()\nseen = sc.accumulator(0)\n\ndef tag(x):\n    seen.add(1)\n    return (x % 3, x)\n\nsums = sc.parallelize(range(300), 6).map(tag).reduceByKey(lambda a, b: a + b)\nprint(sorted(sums.collect()))\nprint('seen', seen.value)\nonce = sc.accumulator(0)\nsc.parallelize(range(300), 6).foreach(lambda x: once.add(1))\nprint('once', once.value)\n";
    let clean = run_on_cluster(prog, "acc.py", SimFs::default(), &ClusterOptions::default());
    assert!(clean.ok, "{}", clean.stderr);
    assert!(clean.stdout.ends_with("seen 300\nonce 300\n"), "{}", clean.stdout);
    let mut over = 0;
    for seed in 0..40u64 {
        let mut rng = Rng::new(seed);
        let kill = (1 + rng.below(2) as u32, rng.below(clean.end_ms));
        let r = run_on_cluster(prog, "acc.py", SimFs::default(), &ClusterOptions { seed, kills: vec![kill], ..ClusterOptions::default() });
        assert!(r.ok, "seed {seed}: {}", r.stderr);
        let lines: Vec<&str> = r.stdout.lines().collect();
        assert_eq!(lines[0], clean.stdout.lines().next().unwrap(), "seed {seed}");
        let seen: u32 = lines[1].strip_prefix("seen ").unwrap().parse().unwrap();
        assert!(seen >= 300, "seed {seed}: an update was lost: {seen}");
        assert_eq!(lines[2], "once 300", "seed {seed}: a foreach update counted twice");
        over += usize::from(seen > 300);
    }
    assert!(over > 0, "no kill ever made the map stage re-run");
}
