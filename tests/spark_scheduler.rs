//! The DAG and task scheduler against a scripted cluster: stages cut at shuffles, skipped
//! stages reused, retries up to spark.task.maxFailures, lost executors and fetch failures
//! recomputing lost shuffle output from lineage, and cached partitions preferred.

use zkspark::spark::*;

fn rdd(l: &mut Lineage, id: RddId, name: &str, partitions: u32, deps: Vec<Dependency>) {
    l.add(RddInfo { id, name: name.into(), partitions, deps, cached: false });
}

fn narrow(parent: RddId) -> Dependency {
    Dependency::Narrow { parent }
}

fn shuffle(parent: RddId, shuffle: ShuffleId) -> Dependency {
    Dependency::Shuffle { parent, shuffle }
}

/// Word count's shape: parallelize(4) → map (narrow) → reduceByKey (shuffle into 2).
fn word_count(s: &mut Scheduler) -> RddId {
    rdd(&mut s.lineage, 0, "ParallelCollectionRDD", 4, vec![]);
    rdd(&mut s.lineage, 1, "PythonRDD", 4, vec![narrow(0)]);
    rdd(&mut s.lineage, 2, "ShuffledRDD", 2, vec![shuffle(1, 0)]);
    rdd(&mut s.lineage, 3, "PythonRDD", 2, vec![narrow(2)]);
    3
}

/// Runs launched tasks until nothing is left, deciding each outcome with `outcome`.
fn run(s: &mut Scheduler, mut outcome: impl FnMut(&TaskSpec) -> TaskOutcome) -> Vec<SparkEvent> {
    let mut events = Vec::new();
    for _ in 0..10_000 {
        let (launches, evs) = s.drain();
        events.extend(evs);
        if launches.is_empty() {
            return events;
        }
        for t in launches {
            let o = outcome(&t);
            s.task_finished(t.tid, o);
        }
    }
    panic!("the scheduler never settled");
}

fn stages_submitted(events: &[SparkEvent]) -> Vec<(StageId, u32, u32)> {
    events
        .iter()
        .filter_map(|e| match e {
            SparkEvent::StageSubmitted { stage, attempt, tasks, .. } => Some((*stage, *attempt, *tasks)),
            _ => None,
        })
        .collect()
}

fn job_end(events: &[SparkEvent], job: JobId) -> Result<(), String> {
    events
        .iter()
        .find_map(|e| match e {
            SparkEvent::JobEnd { job: j, result } if *j == job => Some(result.clone()),
            _ => None,
        })
        .expect("the job ended")
}

#[test]
fn a_shuffle_cuts_the_job_into_a_map_stage_and_a_result_stage() {
    let mut s = Scheduler::new();
    s.add_executor(1, 2);
    s.add_executor(2, 2);
    let out = word_count(&mut s);
    let job = s.submit_job(out, vec![0, 1]);
    let events = run(&mut s, |_| TaskOutcome::Success);
    assert_eq!(job_end(&events, job), Ok(()));
    assert!(events.contains(&SparkEvent::JobStart { job, stages: vec![0, 1] }));
    // The map stage (4 tasks, one per parent partition) runs first, then 2 reduce tasks.
    assert_eq!(stages_submitted(&events), vec![(0, 0, 4), (1, 0, 2)]);
}

#[test]
fn narrow_dependencies_pipeline_into_one_stage() {
    let mut s = Scheduler::new();
    s.add_executor(1, 4);
    rdd(&mut s.lineage, 0, "ParallelCollectionRDD", 3, vec![]);
    rdd(&mut s.lineage, 1, "PythonRDD", 3, vec![narrow(0)]);
    rdd(&mut s.lineage, 2, "ParallelCollectionRDD", 2, vec![]);
    rdd(&mut s.lineage, 3, "UnionRDD", 5, vec![narrow(1), narrow(2)]);
    let job = s.submit_job(3, (0..5).collect());
    let events = run(&mut s, |_| TaskOutcome::Success);
    assert_eq!(job_end(&events, job), Ok(()));
    assert_eq!(stages_submitted(&events), vec![(0, 0, 5)]);
}

#[test]
fn a_second_job_over_the_same_shuffle_skips_the_map_stage() {
    let mut s = Scheduler::new();
    s.add_executor(1, 2);
    let out = word_count(&mut s);
    s.submit_job(out, vec![0, 1]);
    run(&mut s, |_| TaskOutcome::Success);
    let job = s.submit_job(out, vec![0, 1]);
    let events = run(&mut s, |_| TaskOutcome::Success);
    assert!(events.contains(&SparkEvent::JobStart { job, stages: vec![0, 2] }), "{events:?}");
    assert_eq!(stages_submitted(&events), vec![(2, 0, 2)], "stage 0 is skipped: its outputs exist");
}

#[test]
fn a_join_of_two_shuffles_waits_for_both_map_stages() {
    let mut s = Scheduler::new();
    s.add_executor(1, 2);
    rdd(&mut s.lineage, 0, "ParallelCollectionRDD", 2, vec![]);
    rdd(&mut s.lineage, 1, "ParallelCollectionRDD", 3, vec![]);
    rdd(&mut s.lineage, 2, "CoGroupedRDD", 4, vec![shuffle(0, 0), shuffle(1, 1)]);
    let job = s.submit_job(2, (0..4).collect());
    let events = run(&mut s, |_| TaskOutcome::Success);
    assert_eq!(job_end(&events, job), Ok(()));
    assert_eq!(stages_submitted(&events), vec![(0, 0, 2), (1, 0, 3), (2, 0, 4)]);
}

#[test]
fn a_task_that_keeps_failing_aborts_the_job_after_four_attempts() {
    let mut s = Scheduler::new();
    s.add_executor(1, 2);
    let out = word_count(&mut s);
    let job = s.submit_job(out, vec![0, 1]);
    let events = run(&mut s, |t| {
        if t.stage == 0 && t.partition == 2 {
            TaskOutcome::Failed { error: "ZeroDivisionError: division by zero".into() }
        } else {
            TaskOutcome::Success
        }
    });
    let err = job_end(&events, job).unwrap_err();
    assert!(
        err.starts_with("Job aborted due to stage failure: Task 2 in stage 0.0 failed 4 times, most recent failure: Lost task 2.3 in stage 0.0"),
        "{err}"
    );
    assert!(err.ends_with("ZeroDivisionError: division by zero"));
    let attempts = events.iter().filter(|e| matches!(e, SparkEvent::TaskStart { stage: 0, partition: 2, .. })).count();
    assert_eq!(attempts, 4);
}

#[test]
fn a_task_that_fails_three_times_then_succeeds_lets_the_job_finish() {
    let mut s = Scheduler::new();
    s.add_executor(1, 2);
    let out = word_count(&mut s);
    let job = s.submit_job(out, vec![0, 1]);
    let events = run(&mut s, |t| {
        if t.stage == 0 && t.partition == 1 && t.attempt < 3 {
            TaskOutcome::Failed { error: "flaky".into() }
        } else {
            TaskOutcome::Success
        }
    });
    assert_eq!(job_end(&events, job), Ok(()));
}

#[test]
fn losing_an_executor_recomputes_its_shuffle_outputs_from_lineage() {
    let mut s = Scheduler::new();
    s.add_executor(1, 2);
    s.add_executor(2, 2);
    let out = word_count(&mut s);
    let job = s.submit_job(out, vec![0, 1]);
    // Run the whole map stage, then kill executor 2 before the reducers run.
    let (launches, mut events) = s.drain();
    assert_eq!(launches.len(), 4);
    let on_two: Vec<u32> = launches.iter().filter(|t| t.executor == 2).map(|t| t.partition).collect();
    assert!(!on_two.is_empty());
    for t in &launches {
        s.task_finished(t.tid, TaskOutcome::Success);
    }
    let (reducers, evs) = s.drain();
    events.extend(evs);
    assert_eq!(reducers.len(), 2);
    s.remove_executor(2, "killed from the page");
    // Reducers on executor 2 died with it; a reducer on 1 fails to fetch 2's outputs.
    for t in reducers.iter().filter(|t| t.executor == 1) {
        s.task_finished(t.tid, TaskOutcome::FetchFailed { shuffle: 0, map_partition: on_two[0], executor: Some(2) });
    }
    events.extend(run(&mut s, |_| TaskOutcome::Success));
    assert_eq!(job_end(&events, job), Ok(()));
    let resubmitted: Vec<(StageId, u32, u32)> =
        stages_submitted(&events).into_iter().filter(|&(_, a, _)| a > 0).collect();
    assert!(resubmitted.contains(&(0, 1, on_two.len() as u32)), "only the lost map partitions rerun: {resubmitted:?}");
    assert!(events.iter().any(|e| matches!(e, SparkEvent::StageCompleted { stage: 1, failure: Some(_), .. })));
}

#[test]
fn a_cached_partition_is_computed_where_it_is_cached() {
    let mut s = Scheduler::new();
    s.add_executor(1, 1);
    s.add_executor(2, 1);
    rdd(&mut s.lineage, 0, "ParallelCollectionRDD", 2, vec![]);
    s.lineage.rdds.get_mut(&0).unwrap().cached = true;
    s.submit_job(0, vec![0, 1]);
    let (launches, _) = s.drain();
    for t in &launches {
        s.block_cached(0, t.partition, t.executor);
        s.task_finished(t.tid, TaskOutcome::Success);
    }
    let home: Vec<(u32, ExecutorId)> = launches.iter().map(|t| (t.partition, t.executor)).collect();
    for _ in 0..3 {
        s.submit_job(0, vec![1, 0]);
        let (again, _) = s.drain();
        for t in &again {
            assert!(home.contains(&(t.partition, t.executor)), "partition {} left its cache", t.partition);
            s.task_finished(t.tid, TaskOutcome::Success);
        }
    }
}

#[test]
fn results_are_accepted_once_per_partition() {
    let mut s = Scheduler::new();
    s.add_executor(1, 2);
    rdd(&mut s.lineage, 0, "ParallelCollectionRDD", 2, vec![]);
    s.submit_job(0, vec![0, 1]);
    let (launches, _) = s.drain();
    assert!(s.task_finished(launches[0].tid, TaskOutcome::Success));
    assert!(!s.task_finished(launches[0].tid, TaskOutcome::Success), "a repeated report is ignored");
}

/// Random lineages on a cluster whose executors fail and come back: every job finishes with
/// each partition's result accepted exactly once, and no task starts before the shuffle
/// outputs it reads exist or on an executor that is gone.
#[test]
fn random_lineages_under_executor_loss_always_finish() {
    let (mut ok, mut aborted, mut shuffles) = (0, 0, 0);
    for seed in 0..3000u64 {
        let mut rng = zkspark::sim::Rng::new(seed);
        let mut s = Scheduler::new();
        let mut next_exec = 1;
        for _ in 0..3 {
            s.add_executor(next_exec, rng.range_inclusive(1, 3) as u32);
            next_exec += 1;
        }
        // A random lineage: sources, narrow maps, unions and shuffles.
        let mut ids: Vec<RddId> = Vec::new();
        let mut next_shuffle = 0;
        for id in 0..rng.range_inclusive(2, 9) as u32 {
            let parts = rng.range_inclusive(1, 5) as u32;
            let deps = match (ids.len(), rng.below(4)) {
                (0, _) | (_, 0) => vec![],
                (n, 1) => vec![narrow(ids[rng.below(n as u64) as usize])],
                (n, 2) => {
                    next_shuffle += 1;
                    vec![shuffle(ids[rng.below(n as u64) as usize], next_shuffle)]
                }
                (n, _) => vec![narrow(ids[rng.below(n as u64) as usize]), narrow(ids[rng.below(n as u64) as usize])],
            };
            // A narrow child over one parent keeps its partition count.
            let parts = match deps.as_slice() {
                [Dependency::Narrow { parent }] => s.lineage.get(*parent).partitions,
                [Dependency::Narrow { parent: a }, Dependency::Narrow { parent: b }] => {
                    s.lineage.get(*a).partitions + s.lineage.get(*b).partitions
                }
                _ => parts,
            };
            rdd(&mut s.lineage, id, "RDD", parts, deps);
            ids.push(id);
        }
        let target = *ids.last().unwrap();
        let n = s.lineage.get(target).partitions;
        let job = s.submit_job(target, (0..n).collect());
        let mut accepted = vec![0; n as usize];
        let mut ended = None;
        for _ in 0..20_000 {
            let (launches, events) = s.drain();
            for e in events {
                if let SparkEvent::JobEnd { job: j, result } = e {
                    assert_eq!(j, job);
                    ended = Some(result);
                }
            }
            if ended.is_some() {
                break;
            }
            if launches.is_empty() && s.running_tasks().is_empty() {
                // Nothing runs. That is only right when every executor is gone: bring one back.
                assert!(s.executors().is_empty(), "seed {seed}: stuck with executors: {}", s.describe());
                s.add_executor(next_exec, 2);
                next_exec += 1;
                continue;
            }
            for t in launches {
                if !s.running_tasks().iter().any(|r| r.tid == t.tid) {
                    continue; // its executor was removed earlier in this batch
                }
                assert!(s.executors().contains(&t.executor), "seed {seed}: task on a dead executor");
                // A stage submitted while its inputs existed may launch tasks after an executor
                // loss took some away: as in Spark, such a task fails to fetch.
                let missing =
                    t.map_outputs.iter().find_map(|(&sh, locs)| locs.iter().position(Option::is_none).map(|m| (sh, m)));
                if let Some((sh, m)) = missing {
                    s.task_finished(
                        t.tid,
                        TaskOutcome::FetchFailed { shuffle: sh, map_partition: m as u32, executor: None },
                    );
                    continue;
                }
                match rng.below(12) {
                    0 => {
                        let victim = t.executor;
                        s.remove_executor(victim, "chaos");
                    }
                    1 => {
                        s.task_finished(t.tid, TaskOutcome::Failed { error: "boom".into() });
                    }
                    2 if !t.map_outputs.is_empty() => {
                        let (&sh, locs) = t.map_outputs.iter().next().unwrap();
                        let from = locs[0];
                        s.task_finished(
                            t.tid,
                            TaskOutcome::FetchFailed { shuffle: sh, map_partition: 0, executor: from },
                        );
                    }
                    _ => {
                        if let TaskKind::Result { output, .. } = t.kind {
                            if s.task_finished(t.tid, TaskOutcome::Success) {
                                accepted[output as usize] += 1;
                            }
                        } else {
                            s.task_finished(t.tid, TaskOutcome::Success);
                        }
                    }
                }
                if rng.below(20) == 0 {
                    s.add_executor(next_exec, rng.range_inclusive(1, 3) as u32);
                    next_exec += 1;
                }
            }
        }
        shuffles += next_shuffle;
        match ended {
            Some(Ok(())) => {
                ok += 1;
                assert!(accepted.iter().all(|&a| a == 1), "seed {seed}: results accepted {accepted:?}")
            }
            // Random failures may legitimately exhaust maxFailures or stage attempts.
            Some(Err(msg)) => {
                aborted += 1;
                assert!(msg.starts_with("Job aborted due to stage failure"), "seed {seed}: {msg}")
            }
            None => panic!("seed {seed}: the job never ended: {}", s.describe()),
        }
    }
    assert!(ok > 2000 && aborted > 0 && shuffles > 3000, "ok={ok} aborted={aborted} shuffles={shuffles}");
}
