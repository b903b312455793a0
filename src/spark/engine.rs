//! The local engine: the scheduler, one in-process executor and its block stores. Every action
//! becomes `run_job`, which submits to `Scheduler`, runs the tasks it launches and feeds their
//! outcomes back, so stages, tasks and listener events are the scheduler's own.
//!
//! ```text
//! run_job(rdd, partitions) ─▶ Scheduler::submit_job ─▶ TaskSpec ─▶ compute(rdd, p)
//!   compute walks the plan: a cached block, a source slice, a shuffle read (map outputs in
//!   map-partition order) or a parent partition through a pipelined Python function chain
//! ShuffleMap task ─▶ (bucket, record) pairs ─▶ shuffle_out[(shuffle, map)][bucket]
//! ```
//!
//! Each plan node states its shape to the scheduler as an `RddInfo` (partitions, narrow or
//! shuffle dependencies); how it computes a partition is `Plan`, separately.

use super::fs::{SimFs, Split};
use super::lineage::{Dependency, RddId, RddInfo, ShuffleId};
use super::ops::{apply_ops, Op};
use super::scheduler::{Scheduler, SparkEvent, TaskKind, TaskOutcome, TaskSpec};
use crate::py::{Interpreter, PyErr, Shipped, Value};
use std::collections::BTreeMap;

/// The one executor of local mode (`local[N]`: N cores, Spark's executor id `driver`).
pub const LOCAL_EXECUTOR: u32 = 0;

/// How an RDD computes one partition.
#[derive(Clone)]
pub enum Plan {
    /// `ParallelCollectionRDD`: the driver's data, already sliced.
    Parallel(Vec<Vec<Value>>),
    /// `parallelize(range(...))`: `(start, stop, step)` per partition.
    Range(Vec<(i64, i64, i64)>),
    /// `HadoopRDD` over text splits.
    Text(Vec<Split>),
    /// A JVM-side `MapPartitionsRDD` that passes its parent's partition through.
    Identity(RddId),
    /// `PythonRDD`: a pipelined chain of Python operators over the parent's partition, with
    /// the functions (and captured values) the chain uses, shipped when the RDD was created.
    Python { parent: RddId, ops: Vec<Op>, shipped: Vec<Shipped> },
    /// `ShuffledRDD`: reduce partition p reads bucket p of every map output, in map order.
    Shuffled { shuffle: ShuffleId, maps: u32 },
    /// `UnionRDD`: partition i is `parents[i]`.
    Union(Vec<(RddId, u32)>),
    /// `PartitionerAwareUnionRDD`: partition i concatenates partition i of each parent.
    AwareUnion(Vec<RddId>),
    /// `CoalescedRDD`: partition i concatenates the listed parent partitions.
    Coalesce { parent: RddId, groups: Vec<Vec<u32>> },
    /// `CartesianRDD`: partition i*nb+j pairs a's i with b's j.
    Cartesian { a: RddId, b: RddId, nb: u32 },
    /// `ZippedPartitionsRDD2`: partition i zips a's i with b's i.
    Zip { a: RddId, b: RddId },
    /// `EmptyRDD`.
    Empty,
}

/// Why a task failed: the Python error and the traceback the worker prints.
#[derive(Clone, Debug)]
pub struct TaskError {
    pub err: PyErr,
    pub traceback: String,
}

/// How a job ended badly: Spark's abort message, and the task error that caused it.
#[derive(Clone, Debug)]
pub struct JobFailure {
    pub message: String,
    pub task: Option<TaskError>,
}

/// A job as the listener saw it: for the conformance tests and the UI.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct JobRecord {
    pub job: u32,
    /// Per stage of the job: (tasks, skipped), in stage-id order.
    pub stages: Vec<(u32, bool)>,
    pub succeeded: bool,
}

pub struct Engine {
    pub scheduler: Scheduler,
    /// Cluster mode: jobs run on remote executors and the driver program is replayed
    /// (`spark::cluster`); `None` in local mode, where `run_job` runs tasks in-process.
    pub gate: Option<JobGate>,
    /// Shuffle blocks fetched from other executors for the running task: (shuffle, map, reduce).
    pub remote_blocks: BTreeMap<(ShuffleId, u32, u32), Vec<Value>>,
    plans: BTreeMap<RddId, Plan>,
    next_rdd: RddId,
    next_shuffle: ShuffleId,
    shuffle_out: BTreeMap<(ShuffleId, u32), Vec<Vec<Value>>>,
    blocks: BTreeMap<(RddId, u32), Vec<Value>>,
    /// The executor's Python worker: closures are revived here, never in the driver.
    pub worker: Interpreter,
    /// What tasks printed (a Python worker's stdout reaches the console's stderr).
    pub task_output: String,
    pub fs: SimFs,
    pub events: Vec<SparkEvent>,
    pub jobs: Vec<JobRecord>,
    pub cores: u32,
    /// Accumulator updates: the running task's copies and the driver's merged values.
    pub accumulators: std::rc::Rc<super::accumulators::Accumulators>,
}

impl Engine {
    /// A local engine with `cores` task slots (`local[cores]`); in local mode a failed task
    /// is not retried (`spark.task.maxFailures` is 1 for `local[N]`).
    pub fn new(cores: u32, fs: SimFs) -> Engine {
        let mut scheduler = Scheduler::new();
        scheduler.set_max_task_failures(1);
        scheduler.add_executor(LOCAL_EXECUTOR, cores);
        let mut worker = Interpreter::new();
        worker.filename = "<job>".into();
        crate::kazoo::register(&mut worker, Default::default(), 0);
        let mut e = Engine {
            scheduler,
            gate: None,
            remote_blocks: BTreeMap::new(),
            plans: BTreeMap::new(),
            next_rdd: 0,
            next_shuffle: 0,
            shuffle_out: BTreeMap::new(),
            blocks: BTreeMap::new(),
            worker,
            task_output: String::new(),
            fs,
            events: Vec::new(),
            jobs: Vec::new(),
            cores,
            accumulators: Default::default(),
        };
        e.drain_events();
        e
    }

    pub fn num_partitions(&self, rdd: RddId) -> u32 {
        self.scheduler.lineage.get(rdd).partitions
    }

    /// Adds an RDD with `partitions` partitions, narrow dependencies on `narrow` and its plan.
    pub fn add_rdd(&mut self, name: &str, partitions: u32, narrow: &[RddId], plan: Plan) -> RddId {
        let id = self.next_rdd;
        self.next_rdd += 1;
        let deps = narrow.iter().map(|&parent| Dependency::Narrow { parent }).collect();
        self.scheduler.lineage.add(RddInfo { id, name: name.into(), partitions, deps, cached: false });
        self.plans.insert(id, plan);
        id
    }

    /// A `ShuffledRDD` over `parent`, whose records are `(bucket, record)` tuples.
    pub fn add_shuffled(&mut self, parent: RddId, partitions: u32) -> RddId {
        let shuffle = self.next_shuffle;
        self.next_shuffle += 1;
        let id = self.next_rdd;
        self.next_rdd += 1;
        let maps = self.num_partitions(parent);
        self.scheduler.lineage.add(RddInfo {
            id,
            name: "ShuffledRDD".into(),
            partitions,
            deps: vec![Dependency::Shuffle { parent, shuffle }],
            cached: false,
        });
        self.plans.insert(id, Plan::Shuffled { shuffle, maps });
        id
    }

    pub fn set_cached(&mut self, rdd: RddId, cached: bool) {
        self.scheduler.lineage.rdds.get_mut(&rdd).expect("known rdd").cached = cached;
        if !cached {
            self.blocks.retain(|(r, _), _| *r != rdd);
        }
    }

    pub fn is_cached(&self, rdd: RddId) -> bool {
        self.scheduler.lineage.get(rdd).cached
    }

    fn drain_events(&mut self) -> Vec<TaskSpec> {
        let (tasks, events) = self.scheduler.drain();
        self.events.extend(events);
        tasks
    }

    /// Runs a job computing `partitions` of `rdd`; the values of each, in order.
    pub fn run_job(&mut self, rdd: RddId, partitions: Vec<u32>) -> Result<Vec<Vec<Value>>, JobFailure> {
        if self.gate.is_some() {
            return self.gated_job(rdd, partitions);
        }
        let first_event = self.events.len();
        let n = partitions.len();
        let job = self.scheduler.submit_job(rdd, partitions);
        let mut results: Vec<Option<Vec<Value>>> = vec![None; n];
        let mut failure: Option<TaskError> = None;
        let mut failed_spec: Option<TaskSpec> = None;
        for _round in 0..100_000 {
            let tasks = self.drain_events();
            if tasks.is_empty() {
                break;
            }
            for spec in tasks {
                if !self.scheduler.is_job_active(job) {
                    // The job ended (aborted): launched tasks end without running.
                    self.scheduler.task_finished(spec.tid, TaskOutcome::Failed { error: "job cancelled".into() });
                    continue;
                }
                let outcome = self.run_task(&spec);
                let updates = self.accumulators.take_task_updates();
                match outcome {
                    Ok(value) => {
                        let merges = self.scheduler.success_merges_accumulators(spec.tid);
                        let accepted = self.scheduler.task_finished(spec.tid, TaskOutcome::Success);
                        // DAGScheduler.updateAccumulators: every shuffle map success, a result
                        // task's first success for its partition.
                        if merges {
                            self.accumulators.merge(updates);
                        }
                        if let (true, TaskKind::Result { output, .. }, Some(v)) = (accepted, &spec.kind, value) {
                            results[*output as usize] = Some(v);
                        }
                    }
                    Err(e) => {
                        let error = e.traceback.clone();
                        failure.get_or_insert(e);
                        failed_spec.get_or_insert(spec.clone());
                        self.scheduler.task_finished(spec.tid, TaskOutcome::Failed { error });
                    }
                }
            }
        }
        self.drain_events();
        let record = self.record_job(first_event);
        let ok = record.succeeded;
        self.jobs.push(record);
        if ok {
            return Ok(results.into_iter().map(|r| r.expect("every partition computed")).collect());
        }
        let spec = failed_spec.expect("a failed job has a failed task");
        let task = failure.expect("a failed job has a task error");
        let message = format!(
            "Job aborted due to stage failure: Task {p} in stage {s}.{a} failed 1 times, most recent failure: Lost task {p}.{t} in stage {s}.{a} (TID {tid}) (localhost executor driver): org.apache.spark.api.python.PythonException: {tb}",
            p = spec.partition,
            s = spec.stage,
            a = spec.stage_attempt,
            t = spec.attempt,
            tid = spec.tid,
            tb = task.traceback
        );
        Err(JobFailure { message, task: Some(task) })
    }

    /// The job's stages, tasks per stage and skipped stages, from the events since `from`.
    fn record_job(&self, from: usize) -> JobRecord {
        let mut record = JobRecord::default();
        let mut submitted = std::collections::BTreeMap::new();
        let mut stage_ids = vec![];
        for ev in &self.events[from..] {
            match ev {
                SparkEvent::JobStart { job, stages } => {
                    record.job = *job;
                    stage_ids = stages.clone();
                }
                SparkEvent::StageSubmitted { stage, tasks, .. } => {
                    submitted.entry(*stage).or_insert(*tasks);
                }
                SparkEvent::JobEnd { result, .. } => record.succeeded = result.is_ok(),
                _ => {}
            }
        }
        record.stages = stage_ids
            .iter()
            .filter(|s| self.scheduler.stage_partitions(**s) > 0)
            .map(|s| match submitted.get(s) {
                Some(&tasks) => (tasks, false),
                None => (self.scheduler.stage_partitions(*s), true),
            })
            .collect();
        record
    }

    /// Runs one task in this engine: a result task's records, or `None` for a shuffle map
    /// task, whose buckets stay here (the local engine, or an executor).
    pub fn run_task(&mut self, spec: &TaskSpec) -> Result<Option<Vec<Value>>, TaskError> {
        let records = self.compute(spec.rdd, spec.partition)?;
        match spec.kind {
            TaskKind::Result { .. } => Ok(Some(records)),
            TaskKind::ShuffleMap { shuffle } => {
                let reducers = self.reducers_of(shuffle);
                let mut buckets = vec![Vec::new(); reducers as usize];
                for r in records {
                    let Value::Tuple(t) = &r else { panic!("shuffle records are (bucket, record) tuples") };
                    let b = t[0].as_int().expect("bucket index") as usize;
                    buckets[b].push(t[1].clone());
                }
                self.shuffle_out.insert((shuffle, spec.partition), buckets);
                Ok(None)
            }
        }
    }

    fn reducers_of(&self, shuffle: ShuffleId) -> u32 {
        self.num_partitions(self.shuffled_rdd_of(shuffle).expect("a shuffle has its ShuffledRDD"))
    }

    /// The `ShuffledRDD` reading `shuffle`.
    pub fn shuffled_rdd_of(&self, shuffle: ShuffleId) -> Option<RddId> {
        self.plans.iter().find(|(_, p)| matches!(p, Plan::Shuffled { shuffle: s, .. } if *s == shuffle)).map(|(&id, _)| id)
    }

    /// Computes partition `p` of `rdd` on the executor: a cached block if there is one,
    /// otherwise from the plan, storing it if the RDD is cached.
    pub fn compute(&mut self, rdd: RddId, p: u32) -> Result<Vec<Value>, TaskError> {
        if let Some(b) = self.blocks.get(&(rdd, p)) {
            return Ok(b.clone());
        }
        let plan = self.plans.get(&rdd).expect("planned rdd").clone();
        let out = match plan {
            Plan::Parallel(slices) => slices[p as usize].iter().map(super::pyspark::copy_value).collect(),
            Plan::Range(slices) => {
                let (start, stop, step) = slices[p as usize];
                let mut v = vec![];
                let mut x = start;
                while (step > 0 && x < stop) || (step < 0 && x > stop) {
                    v.push(Value::Int(x));
                    x += step;
                }
                v
            }
            Plan::Text(splits) => self.fs.read_split(&splits[p as usize]).into_iter().map(|l| Value::str(&l)).collect(),
            Plan::Identity(parent) => self.compute(parent, p)?,
            Plan::Python { parent, ops, shipped } => {
                let input = self.compute(parent, p)?;
                self.run_python(p, input, &ops, &shipped)?
            }
            Plan::Shuffled { shuffle, maps } => {
                let mut v = vec![];
                for m in 0..maps {
                    // Local mode: every map output is here. An executor fetched the others
                    // before it started the task.
                    match self.shuffle_out.get(&(shuffle, m)) {
                        Some(out) => v.extend(out[p as usize].iter().cloned()),
                        None => v.extend(
                            self.remote_blocks.get(&(shuffle, m, p)).expect("shuffle block fetched before the task").iter().cloned(),
                        ),
                    }
                }
                v
            }
            Plan::Union(parts) => {
                let (parent, q) = parts[p as usize];
                self.compute(parent, q)?
            }
            Plan::AwareUnion(parents) => {
                let mut v = vec![];
                for parent in parents {
                    v.extend(self.compute(parent, p)?);
                }
                v
            }
            Plan::Coalesce { parent, groups } => {
                let mut v = vec![];
                for q in &groups[p as usize] {
                    v.extend(self.compute(parent, *q)?);
                }
                v
            }
            Plan::Cartesian { a, b, nb } => {
                let xs = self.compute(a, p / nb)?;
                let ys = self.compute(b, p % nb)?;
                let mut v = vec![];
                for x in &xs {
                    for y in &ys {
                        v.push(Value::tuple(vec![x.clone(), y.clone()]));
                    }
                }
                v
            }
            Plan::Zip { a, b } => {
                let xs = self.compute(a, p)?;
                let ys = self.compute(b, p)?;
                if xs.len() != ys.len() {
                    let err = PyErr::new(
                        crate::py::ExcType::ValueError,
                        "Can not deserialize PairRDD with different number of items in batches",
                    );
                    return Err(TaskError { traceback: format!("ValueError: {}", err.message()), err });
                }
                xs.into_iter().zip(ys).map(|(x, y)| Value::tuple(vec![x, y])).collect()
            }
            Plan::Empty => vec![],
        };
        if self.is_cached(rdd) {
            self.blocks.insert((rdd, p), out.clone());
            self.scheduler.block_cached(rdd, p, LOCAL_EXECUTOR);
        }
        Ok(out)
    }

    /// Runs a pipelined chain in the worker: each task unpickles the functions afresh, so a
    /// task's changes to captured values never reach the driver or another task.
    fn run_python(
        &mut self,
        p: u32,
        input: Vec<Value>,
        ops: &[Op],
        shipped: &[Shipped],
    ) -> Result<Vec<Value>, TaskError> {
        let saved = self.worker.take_output();
        let result = (|| {
            let mut funcs = Vec::with_capacity(shipped.len());
            for s in shipped {
                funcs.push(s.revive(&mut self.worker)?);
            }
            apply_ops(&mut self.worker, p, input, ops, &funcs)
        })();
        let printed = self.worker.take_output();
        self.task_output.push_str(&printed);
        self.worker.write_output(&saved);
        result.map_err(|err| {
            let traceback = self.worker.format_error(&err);
            TaskError { err, traceback }
        })
    }
}

// ----- cluster mode: the driver's gate, and what an executor needs -----

/// How a job the driver program ran ended, as its replays see it.
#[derive(Clone, Debug)]
pub enum JobOutcome {
    /// The value of each requested partition, pickled.
    Done(Vec<Shipped>),
    /// Spark's abort message.
    Failed(String),
}

/// The job the driver program is waiting for.
#[derive(Clone, Debug)]
pub struct PendingJob {
    pub job: super::scheduler::JobId,
    pub results: Vec<Option<Shipped>>,
    /// Accumulator updates of the job's accepted tasks, in the order they were accepted.
    pub accumulators: Vec<(u32, Shipped)>,
}

/// Cluster mode's gate between a driver program and the scheduler. The interpreter cannot
/// wait for remote tasks in the middle of a call, so the driver replays its program: a job
/// already in `log` returns its recorded outcome; the first new one is submitted to the
/// scheduler, marks the run `suspended`, and stops the program until the job ends.
#[derive(Clone, Debug, Default)]
pub struct JobGate {
    pub log: Vec<JobOutcome>,
    /// Per logged job, the accumulator updates its accepted tasks brought (merged again by
    /// every replay as it passes the job).
    pub accumulator_log: Vec<Vec<(u32, Shipped)>>,
    /// Per logged job, the stages submitted since the program started, when it ended.
    pub stages_log: Vec<usize>,
    /// Jobs asked for by the current replay so far.
    pub cursor: usize,
    pub pending: Option<PendingJob>,
    pub suspended: bool,
    /// The file system as the program found it: each replay starts from it again, so
    /// `saveAsTextFile` does not find its own earlier output.
    pub fs_at_start: SimFs,
}

impl Engine {
    /// A driver's engine for cluster mode: no executor until one registers, and Spark's
    /// `spark.task.maxFailures` (4) outside local mode.
    pub fn new_driver(fs: SimFs) -> Engine {
        let mut e = Engine::new(1, fs.clone());
        e.scheduler = Scheduler::new();
        e.gate = Some(JobGate { fs_at_start: fs, ..JobGate::default() });
        e.drain_events();
        e.events.clear();
        e
    }

    /// Starts a replay of the driver program: RDD and shuffle ids are handed out again from
    /// zero (a replay defines the same RDDs in the same order), jobs come from the log.
    pub fn begin_replay(&mut self) {
        self.next_rdd = 0;
        self.next_shuffle = 0;
        if let Some(g) = self.gate.as_mut() {
            g.cursor = 0;
            g.suspended = false;
            self.fs = g.fs_at_start.clone();
        }
        self.accumulators.reset_driver();
    }

    fn gated_job(&mut self, rdd: RddId, partitions: Vec<u32>) -> Result<Vec<Vec<Value>>, JobFailure> {
        let gate = self.gate.as_mut().expect("cluster mode");
        let i = gate.cursor;
        gate.cursor += 1;
        if let Some(updates) = gate.accumulator_log.get(i).cloned() {
            let mut merged = Vec::with_capacity(updates.len());
            for (id, u) in updates {
                if let Ok(v) = u.revive(&mut self.worker) {
                    merged.push((id, v));
                }
            }
            self.accumulators.merge(super::accumulators::TaskUpdates(merged));
        }
        let gate = self.gate.as_mut().expect("cluster mode");
        match gate.log.get(i).cloned() {
            Some(JobOutcome::Done(parts)) => {
                let mut out = Vec::with_capacity(parts.len());
                for p in parts {
                    let v = p.revive(&mut self.worker).map_err(|e| JobFailure { message: e.last_line(), task: None })?;
                    out.push(self.worker.collect(&v).map_err(|e| JobFailure { message: e.last_line(), task: None })?);
                }
                Ok(out)
            }
            Some(JobOutcome::Failed(message)) => Err(JobFailure { message, task: None }),
            None => {
                if gate.pending.is_none() {
                    let n = partitions.len();
                    let job = self.scheduler.submit_job(rdd, partitions);
                    let gate = self.gate.as_mut().expect("cluster mode");
                    gate.pending = Some(PendingJob { job, results: vec![None; n], accumulators: vec![] });
                }
                let gate = self.gate.as_mut().expect("cluster mode");
                gate.suspended = true;
                Err(JobFailure { message: "waiting for the cluster".into(), task: None })
            }
        }
    }

    /// Stages submitted so far as the program sees it (Spark numbers broadcasts together with
    /// the one it makes per submitted stage): in cluster mode, as of the jobs replayed so far.
    pub fn stages_submitted(&self) -> usize {
        match &self.gate {
            Some(g) => g.cursor.checked_sub(1).and_then(|i| g.stages_log.get(i)).copied().unwrap_or(0),
            None => self.events.iter().filter(|e| matches!(e, SparkEvent::StageSubmitted { .. })).count(),
        }
    }

    /// Whether the program stopped to wait for a job (cluster mode).
    pub fn suspended(&self) -> bool {
        self.gate.as_ref().is_some_and(|g| g.suspended)
    }

    pub fn plan(&self, rdd: RddId) -> Option<&Plan> {
        self.plans.get(&rdd)
    }

    /// An executor learns an RDD from the driver.
    /// A plan arrives once per program: blocks cached under this id before (an earlier
    /// program's RDD) are dropped.
    pub fn install(&mut self, info: RddInfo, plan: Plan) {
        self.blocks.retain(|(r, _), _| *r != info.id);
        self.plans.insert(info.id, plan);
        self.scheduler.lineage.rdds.insert(info.id, info);
    }

    pub fn has_plan(&self, rdd: RddId) -> bool {
        self.plans.contains_key(&rdd)
    }

    /// The RDDs a task on `rdd` computes in its stage: `rdd` and its narrow ancestors, down
    /// to (and including) the shuffled RDDs it reads.
    pub fn stage_rdds(&self, rdd: RddId) -> Vec<RddId> {
        let mut out = vec![];
        let mut todo = vec![rdd];
        while let Some(r) = todo.pop() {
            if out.contains(&r) {
                continue;
            }
            out.push(r);
            for d in &self.scheduler.lineage.get(r).deps {
                if let Dependency::Narrow { parent } = d {
                    todo.push(*parent);
                }
            }
        }
        out.sort_unstable();
        out
    }

    /// The shuffle blocks computing partition `p` of `rdd` reads, as (shuffle, reduce
    /// partition, map partitions), skipping what a cached block here already holds.
    pub fn shuffle_reads(&self, rdd: RddId, p: u32, out: &mut Vec<(ShuffleId, u32, u32)>) -> Result<(), RddId> {
        if self.blocks.contains_key(&(rdd, p)) {
            return Ok(());
        }
        match self.plans.get(&rdd).ok_or(rdd)? {
            Plan::Parallel(_) | Plan::Range(_) | Plan::Text(_) | Plan::Empty => {}
            Plan::Identity(parent) | Plan::Python { parent, .. } => self.shuffle_reads(*parent, p, out)?,
            Plan::Shuffled { shuffle, maps } => {
                if !out.contains(&(*shuffle, p, *maps)) {
                    out.push((*shuffle, p, *maps));
                }
            }
            Plan::Union(parts) => {
                let (parent, q) = parts[p as usize];
                self.shuffle_reads(parent, q, out)?
            }
            Plan::AwareUnion(parents) => {
                for parent in parents {
                    self.shuffle_reads(*parent, p, out)?;
                }
            }
            Plan::Coalesce { parent, groups } => {
                for q in &groups[p as usize] {
                    self.shuffle_reads(*parent, *q, out)?;
                }
            }
            Plan::Cartesian { a, b, nb } => {
                self.shuffle_reads(*a, p / nb, out)?;
                self.shuffle_reads(*b, p % nb, out)?;
            }
            Plan::Zip { a, b } => {
                self.shuffle_reads(*a, p, out)?;
                self.shuffle_reads(*b, p, out)?;
            }
        }
        Ok(())
    }

    /// This executor's output of map partition `map` of `shuffle` for reducer `reduce`.
    pub fn shuffle_block(&self, shuffle: ShuffleId, map: u32, reduce: u32) -> Option<&Vec<Value>> {
        self.shuffle_out.get(&(shuffle, map)).and_then(|b| b.get(reduce as usize))
    }

    /// Shuffle map outputs and cached blocks held here: (shuffle outputs, cached blocks).
    pub fn block_counts(&self) -> (u32, u32) {
        (self.shuffle_out.len() as u32, self.blocks.len() as u32)
    }

    pub fn cached_blocks(&self) -> Vec<(RddId, u32)> {
        self.blocks.keys().copied().collect()
    }
}

/// A plan as it travels to an executor: driver data pickled, text splits read.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub enum WirePlan {
    Parallel(Vec<Shipped>),
    Range(Vec<(i64, i64, i64)>),
    /// A `HadoopRDD`'s splits as lines (the simulated HDFS is read where the task runs).
    Lines(Vec<Vec<String>>),
    Identity(RddId),
    Python { parent: RddId, ops: Vec<Op>, shipped: Vec<Shipped> },
    Shuffled { shuffle: ShuffleId, maps: u32 },
    Union(Vec<(RddId, u32)>),
    AwareUnion(Vec<RddId>),
    Coalesce { parent: RddId, groups: Vec<Vec<u32>> },
    Cartesian { a: RddId, b: RddId, nb: u32 },
    Zip { a: RddId, b: RddId },
    Empty,
}

impl Plan {
    pub fn to_wire(&self, fs: &SimFs) -> Result<WirePlan, PyErr> {
        Ok(match self {
            Plan::Parallel(slices) => WirePlan::Parallel(
                slices.iter().map(|s| crate::py::ship(&Value::list(s.clone()))).collect::<Result<_, _>>()?,
            ),
            Plan::Range(r) => WirePlan::Range(r.clone()),
            Plan::Text(splits) => WirePlan::Lines(splits.iter().map(|s| fs.read_split(s)).collect()),
            Plan::Identity(p) => WirePlan::Identity(*p),
            Plan::Python { parent, ops, shipped } => {
                WirePlan::Python { parent: *parent, ops: ops.clone(), shipped: shipped.clone() }
            }
            Plan::Shuffled { shuffle, maps } => WirePlan::Shuffled { shuffle: *shuffle, maps: *maps },
            Plan::Union(u) => WirePlan::Union(u.clone()),
            Plan::AwareUnion(u) => WirePlan::AwareUnion(u.clone()),
            Plan::Coalesce { parent, groups } => WirePlan::Coalesce { parent: *parent, groups: groups.clone() },
            Plan::Cartesian { a, b, nb } => WirePlan::Cartesian { a: *a, b: *b, nb: *nb },
            Plan::Zip { a, b } => WirePlan::Zip { a: *a, b: *b },
            Plan::Empty => WirePlan::Empty,
        })
    }
}

impl WirePlan {
    pub fn into_plan(self, interp: &mut Interpreter) -> Result<Plan, PyErr> {
        Ok(match self {
            WirePlan::Parallel(slices) => {
                let mut out = Vec::with_capacity(slices.len());
                for s in slices {
                    let v = s.revive(interp)?;
                    out.push(interp.collect(&v)?);
                }
                Plan::Parallel(out)
            }
            WirePlan::Range(r) => Plan::Range(r),
            WirePlan::Lines(splits) => {
                Plan::Parallel(splits.into_iter().map(|s| s.iter().map(|l| Value::str(l)).collect()).collect())
            }
            WirePlan::Identity(p) => Plan::Identity(p),
            WirePlan::Python { parent, ops, shipped } => Plan::Python { parent, ops, shipped },
            WirePlan::Shuffled { shuffle, maps } => Plan::Shuffled { shuffle, maps },
            WirePlan::Union(u) => Plan::Union(u),
            WirePlan::AwareUnion(u) => Plan::AwareUnion(u),
            WirePlan::Coalesce { parent, groups } => Plan::Coalesce { parent, groups },
            WirePlan::Cartesian { a, b, nb } => Plan::Cartesian { a, b, nb },
            WirePlan::Zip { a, b } => Plan::Zip { a, b },
            WirePlan::Empty => Plan::Empty,
        })
    }
}
