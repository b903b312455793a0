//! The driver's scheduler: Spark's `DAGScheduler` (jobs → stages cut at shuffle boundaries,
//! submitted once their parents' outputs exist, resubmitted when outputs are lost) and
//! `TaskSchedulerImpl`/`TaskSetManager` (tasks → executor slots, locality for cached
//! partitions, up to `spark.task.maxFailures` attempts), as one sans-IO state machine.
//!
//! ```text
//! submit_job(rdd, partitions) ─▶ stages ─▶ Launch(task) for free executor slots ─▶ host
//! host ─▶ task_finished(tid, Success | Failed | FetchFailed) ─▶ next stage / retry / abort
//! host ─▶ add_executor / remove_executor (its shuffle outputs and cached blocks are lost)
//! every change ─▶ SparkEvent (Spark's listener events) for the UI and the tests
//! ```

use super::lineage::{Lineage, RddId, ShuffleId};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

pub type StageId = u32;
pub type JobId = u32;
pub type ExecutorId = u32;
pub type TaskId = u64;

/// `spark.task.maxFailures`: attempts of one task before its stage (and job) is aborted.
pub const MAX_TASK_FAILURES: u32 = 4;
/// `spark.stage.maxConsecutiveAttempts`: fetch failures a stage survives.
pub const MAX_STAGE_ATTEMPTS: u32 = 4;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum TaskKind {
    /// Writes its partition's shuffle output, kept on the executor that ran it.
    ShuffleMap { shuffle: ShuffleId },
    /// Computes one partition the job asked for (`output` indexes the job's partitions).
    Result { job: JobId, output: u32 },
}

/// A task to run: the host computes `rdd`'s `partition` on `executor`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskSpec {
    pub tid: TaskId,
    pub stage: StageId,
    pub stage_attempt: u32,
    pub partition: u32,
    /// Which attempt of this partition within the stage attempt (0-based, Spark's `attemptNumber`).
    pub attempt: u32,
    pub rdd: RddId,
    pub kind: TaskKind,
    pub executor: ExecutorId,
    /// For each shuffle the task reads: where each map partition's output lives.
    pub map_outputs: BTreeMap<ShuffleId, Vec<Option<ExecutorId>>>,
}

/// How a task ended, as the executor (or the driver, for a lost executor) reports it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum TaskOutcome {
    Success,
    /// The task's code raised: counts towards `spark.task.maxFailures`.
    Failed {
        error: String,
    },
    /// A shuffle block could not be fetched from `executor` (its map outputs are gone), or
    /// the output had no location at all (`MetadataFetchFailedException`: executor None).
    FetchFailed {
        shuffle: ShuffleId,
        map_partition: u32,
        executor: Option<ExecutorId>,
    },
}

/// Spark's listener events (`SparkListener`), in the order they happen.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum SparkEvent {
    ExecutorAdded { executor: ExecutorId, cores: u32 },
    ExecutorRemoved { executor: ExecutorId, reason: String },
    JobStart { job: JobId, stages: Vec<StageId> },
    StageSubmitted { stage: StageId, attempt: u32, tasks: u32, rdd: RddId, shuffle_map: bool },
    TaskStart { tid: TaskId, stage: StageId, stage_attempt: u32, partition: u32, attempt: u32, executor: ExecutorId },
    TaskEnd { tid: TaskId, stage: StageId, partition: u32, executor: ExecutorId, reason: String },
    StageCompleted { stage: StageId, attempt: u32, failure: Option<String> },
    JobEnd { job: JobId, result: Result<(), String> },
}

#[derive(Clone, Debug)]
enum StageKind {
    ShuffleMap { shuffle: ShuffleId },
    Result { job: JobId },
}

#[derive(Clone, Debug)]
struct Stage {
    rdd: RddId,
    kind: StageKind,
    parents: Vec<StageId>,
    partitions: u32,
    /// Attempts made so far (the next one is numbered `attempts`).
    attempts: u32,
    /// Fetch failures suffered (for `MAX_STAGE_ATTEMPTS`).
    fetch_failures: u32,
}

/// The running attempt of a stage (`TaskSetManager`).
#[derive(Clone, Debug)]
struct TaskSet {
    attempt: u32,
    pending: Vec<u32>,
    running: BTreeMap<u32, TaskId>,
    /// Attempts started per partition, and failures counted against it.
    started: BTreeMap<u32, u32>,
    failures: BTreeMap<u32, u32>,
}

#[derive(Clone, Debug)]
struct Job {
    stage: StageId,
    partitions: Vec<u32>,
    done: Vec<bool>,
}

#[derive(Clone, Debug)]
struct Executor {
    cores: u32,
    busy: u32,
}

/// The driver's scheduler.
#[derive(Default)]
pub struct Scheduler {
    pub lineage: Lineage,
    next_stage: StageId,
    next_job: JobId,
    next_tid: TaskId,
    stages: BTreeMap<StageId, Stage>,
    shuffle_stage: BTreeMap<ShuffleId, StageId>,
    /// Where each map partition's output of each shuffle lives.
    map_outputs: BTreeMap<ShuffleId, Vec<Option<ExecutorId>>>,
    jobs: BTreeMap<JobId, Job>,
    waiting: BTreeSet<StageId>,
    task_sets: BTreeMap<StageId, TaskSet>,
    running: BTreeMap<TaskId, TaskSpec>,
    executors: BTreeMap<ExecutorId, Executor>,
    /// Cached partitions and the executors holding them.
    cached: BTreeMap<(RddId, u32), BTreeSet<ExecutorId>>,
    launches: Vec<TaskSpec>,
    events: Vec<SparkEvent>,
    /// `spark.task.maxFailures` if not the default (local mode: 1).
    max_task_failures: Option<u32>,
}

impl Scheduler {
    pub fn new() -> Scheduler {
        Scheduler::default()
    }

    /// Sets `spark.task.maxFailures` (local mode runs each task once: 1).
    pub fn set_max_task_failures(&mut self, n: u32) {
        assert!(n > 0, "a task gets at least one attempt");
        self.max_task_failures = Some(n);
    }

    /// The number of tasks a full attempt of `stage` runs (its RDD's partitions).
    pub fn stage_partitions(&self, stage: StageId) -> u32 {
        self.stages[&stage].partitions
    }

    /// Tasks to launch and listener events since the last call.
    pub fn drain(&mut self) -> (Vec<TaskSpec>, Vec<SparkEvent>) {
        (std::mem::take(&mut self.launches), std::mem::take(&mut self.events))
    }

    pub fn executors(&self) -> Vec<ExecutorId> {
        self.executors.keys().copied().collect()
    }

    /// Total task slots (`sc.defaultParallelism` in standalone/local mode).
    pub fn total_cores(&self) -> u32 {
        self.executors.values().map(|e| e.cores).sum()
    }

    pub fn running_tasks(&self) -> Vec<&TaskSpec> {
        self.running.values().collect()
    }

    /// A one-line summary of the scheduler's state (for failure messages).
    /// Task ids continue from `tid` (a driver's next program must not reuse the ids of tasks
    /// still finishing on executors).
    pub fn continue_task_ids_from(&mut self, tid: TaskId) {
        self.next_tid = self.next_tid.max(tid);
    }

    pub fn next_task_id(&self) -> TaskId {
        self.next_tid
    }

    /// `DAGScheduler.cancelJob`: the job ends with Spark's cancellation error; its running
    /// tasks finish on their executors and are ignored.
    pub fn cancel_job(&mut self, job: JobId, reason: &str) {
        self.finish_job(job, Err(format!("Job {job} cancelled {reason}")));
    }

    /// A stage's shape, for drawing the DAG: (final RDD, parent stages, partitions, whether it
    /// writes shuffle output).
    pub fn stage_shape(&self, stage: StageId) -> Option<(RddId, Vec<StageId>, u32, bool)> {
        let s = self.stages.get(&stage)?;
        Some((s.rdd, s.parents.clone(), s.partitions, matches!(s.kind, StageKind::ShuffleMap { .. })))
    }

    pub fn describe(&self) -> String {
        format!(
            "waiting={:?} task_sets={:?} running={} executors={} outputs={:?}",
            self.waiting,
            self.task_sets.iter().map(|(s, t)| (*s, t.attempt, t.pending.clone(), t.running.len())).collect::<Vec<_>>(),
            self.running.len(),
            self.executors.len(),
            self.map_outputs
        )
    }

    pub fn is_job_active(&self, job: JobId) -> bool {
        self.jobs.contains_key(&job)
    }

    /// Where the map outputs of `shuffle` live (None: not computed, or lost).
    pub fn map_output_locations(&self, shuffle: ShuffleId) -> Vec<Option<ExecutorId>> {
        self.map_outputs.get(&shuffle).cloned().unwrap_or_default()
    }

    pub fn add_executor(&mut self, executor: ExecutorId, cores: u32) {
        assert!(cores > 0, "an executor needs a core");
        self.executors.insert(executor, Executor { cores, busy: 0 });
        self.events.push(SparkEvent::ExecutorAdded { executor, cores });
        self.schedule();
    }

    /// An executor is gone (killed, or its worker crashed): its shuffle outputs and cached
    /// blocks are lost (no external shuffle service) and its running tasks fail without
    /// counting against `maxFailures` (`ExecutorLostFailure` caused by the cluster).
    pub fn remove_executor(&mut self, executor: ExecutorId, reason: &str) {
        if self.executors.remove(&executor).is_none() {
            return;
        }
        self.events.push(SparkEvent::ExecutorRemoved { executor, reason: reason.to_string() });
        for outputs in self.map_outputs.values_mut() {
            for loc in outputs.iter_mut() {
                if *loc == Some(executor) {
                    *loc = None;
                }
            }
        }
        for holders in self.cached.values_mut() {
            holders.remove(&executor);
        }
        let lost: Vec<TaskId> = self.running.values().filter(|t| t.executor == executor).map(|t| t.tid).collect();
        for tid in lost {
            let spec = self.running.remove(&tid).expect("listed");
            self.events.push(SparkEvent::TaskEnd {
                tid,
                stage: spec.stage,
                partition: spec.partition,
                executor,
                reason: format!("ExecutorLostFailure (executor {executor} exited: {reason})"),
            });
            if let Some(ts) = self.task_sets.get_mut(&spec.stage) {
                if ts.attempt == spec.stage_attempt && ts.running.remove(&spec.partition).is_some() {
                    ts.pending.push(spec.partition);
                    ts.pending.sort_unstable();
                }
            }
        }
        // Stages whose finished outputs vanished are recomputed when next needed; a running
        // stage whose task set has nothing left but misses outputs resubmits now.
        let stalled: Vec<StageId> = self
            .task_sets
            .iter()
            .filter(|(_, ts)| ts.pending.is_empty() && ts.running.is_empty())
            .map(|(&s, _)| s)
            .collect();
        for s in stalled {
            self.task_sets.remove(&s);
            self.submit_stage(s);
        }
        self.schedule();
    }

    /// `DAGScheduler.submitJob`: computes `partitions` of `rdd`; the host gets the values
    /// from the result tasks it runs.
    pub fn submit_job(&mut self, rdd: RddId, partitions: Vec<u32>) -> JobId {
        let job = self.next_job;
        self.next_job += 1;
        let parents = self.parent_stages(rdd);
        let stage = self.new_stage(rdd, StageKind::Result { job }, parents);
        let n = partitions.len();
        self.jobs.insert(job, Job { stage, partitions, done: vec![false; n] });
        let mut stages = self.ancestors(stage);
        stages.push(stage);
        stages.sort_unstable();
        self.events.push(SparkEvent::JobStart { job, stages });
        if n == 0 {
            self.finish_job(job, Ok(()));
        } else {
            self.submit_stage(stage);
            self.schedule();
        }
        job
    }

    /// The stages a job's result stage needs, transitively (Spark lists them in JobStart;
    /// those whose outputs already exist are shown as skipped).
    fn ancestors(&self, stage: StageId) -> Vec<StageId> {
        let mut out = Vec::new();
        let mut stack = self.stages[&stage].parents.clone();
        while let Some(s) = stack.pop() {
            if !out.contains(&s) {
                out.push(s);
                stack.extend(self.stages[&s].parents.iter().copied());
            }
        }
        out
    }

    fn new_stage(&mut self, rdd: RddId, kind: StageKind, parents: Vec<StageId>) -> StageId {
        let id = self.next_stage;
        self.next_stage += 1;
        let partitions = self.lineage.get(rdd).partitions;
        self.stages.insert(id, Stage { rdd, kind, parents, partitions, attempts: 0, fetch_failures: 0 });
        id
    }

    /// `getOrCreateParentStages`: one shuffle-map stage per shuffle at this stage's boundary,
    /// ancestors created first.
    fn parent_stages(&mut self, rdd: RddId) -> Vec<StageId> {
        self.lineage
            .stage_boundaries(rdd)
            .into_iter()
            .map(|(shuffle, map_rdd)| self.shuffle_map_stage(shuffle, map_rdd))
            .collect()
    }

    fn shuffle_map_stage(&mut self, shuffle: ShuffleId, map_rdd: RddId) -> StageId {
        if let Some(&s) = self.shuffle_stage.get(&shuffle) {
            return s;
        }
        let parents = self.parent_stages(map_rdd);
        let s = self.new_stage(map_rdd, StageKind::ShuffleMap { shuffle }, parents);
        let n = self.stages[&s].partitions as usize;
        self.map_outputs.entry(shuffle).or_insert_with(|| vec![None; n]);
        self.shuffle_stage.insert(shuffle, s);
        s
    }

    fn is_available(&self, stage: StageId) -> bool {
        match self.stages[&stage].kind {
            StageKind::ShuffleMap { shuffle } => self.map_outputs[&shuffle].iter().all(Option::is_some),
            StageKind::Result { .. } => false,
        }
    }

    /// Jobs that (transitively) need `stage`.
    fn jobs_using(&self, stage: StageId) -> Vec<JobId> {
        self.jobs
            .iter()
            .filter(|(_, j)| j.stage == stage || self.ancestors(j.stage).contains(&stage))
            .map(|(&id, _)| id)
            .collect()
    }

    /// `submitStage`: submit missing parents first, or this stage's missing tasks.
    fn submit_stage(&mut self, stage: StageId) {
        if self.task_sets.contains_key(&stage) || self.jobs_using(stage).is_empty() {
            return;
        }
        let missing: Vec<StageId> =
            self.stages[&stage].parents.clone().into_iter().filter(|&p| !self.is_available(p)).collect();
        if missing.is_empty() {
            self.waiting.remove(&stage);
            self.submit_missing_tasks(stage);
        } else {
            self.waiting.insert(stage);
            for p in missing {
                self.submit_stage(p);
            }
        }
    }

    fn submit_missing_tasks(&mut self, stage: StageId) {
        let st = &self.stages[&stage];
        let partitions: Vec<u32> = match st.kind {
            StageKind::ShuffleMap { shuffle } => {
                (0..st.partitions).filter(|&p| self.map_outputs[&shuffle][p as usize].is_none()).collect()
            }
            StageKind::Result { job } => {
                let j = &self.jobs[&job];
                j.partitions.iter().zip(&j.done).filter(|(_, d)| !**d).map(|(&p, _)| p).collect()
            }
        };
        if partitions.is_empty() {
            self.stage_finished(stage);
            return;
        }
        let st = self.stages.get_mut(&stage).expect("known stage");
        let attempt = st.attempts;
        st.attempts += 1;
        let shuffle_map = matches!(st.kind, StageKind::ShuffleMap { .. });
        self.events.push(SparkEvent::StageSubmitted {
            stage,
            attempt,
            tasks: partitions.len() as u32,
            rdd: st.rdd,
            shuffle_map,
        });
        self.task_sets.insert(
            stage,
            TaskSet {
                attempt,
                pending: partitions,
                running: BTreeMap::new(),
                started: BTreeMap::new(),
                failures: BTreeMap::new(),
            },
        );
    }

    fn stage_finished(&mut self, stage: StageId) {
        let attempt = self.stages[&stage].attempts.saturating_sub(1);
        self.task_sets.remove(&stage);
        self.events.push(SparkEvent::StageCompleted { stage, attempt, failure: None });
        // Waiting stages run if their parents are all available now; a parent whose outputs
        // were lost meanwhile (an executor died) is resubmitted first.
        let waiting: Vec<StageId> = self.waiting.iter().copied().collect();
        for w in waiting {
            self.submit_stage(w);
        }
    }

    /// Picks an executor with a free slot for `partition` of `stage`: one holding a cached
    /// partition of the stage's RDDs first (PROCESS_LOCAL), else the least busy.
    fn pick_executor(&self, stage: StageId, partition: u32) -> Option<ExecutorId> {
        let free = |e: &ExecutorId| self.executors.get(e).is_some_and(|x| x.busy < x.cores);
        let rdd = self.stages[&stage].rdd;
        for r in self.lineage.stage_rdds(rdd) {
            if let Some(holders) = self.cached.get(&(r, partition)) {
                if let Some(&e) = holders.iter().find(|e| free(e)) {
                    return Some(e);
                }
            }
        }
        self.executors
            .iter()
            .filter(|(_, x)| x.busy < x.cores)
            .max_by_key(|(&id, x)| (x.cores - x.busy, std::cmp::Reverse(id)))
            .map(|(&id, _)| id)
    }

    /// `TaskSchedulerImpl.resourceOffers`: FIFO by stage id, fill free slots.
    fn schedule(&mut self) {
        let stages: Vec<StageId> = self.task_sets.keys().copied().collect();
        for stage in stages {
            while let Some(&partition) = self.task_sets[&stage].pending.first() {
                let Some(executor) = self.pick_executor(stage, partition) else { return };
                self.launch(stage, partition, executor);
            }
        }
    }

    fn launch(&mut self, stage: StageId, partition: u32, executor: ExecutorId) {
        let tid = self.next_tid;
        self.next_tid += 1;
        let ts = self.task_sets.get_mut(&stage).expect("active task set");
        ts.pending.retain(|&p| p != partition);
        ts.running.insert(partition, tid);
        let attempt = *ts.started.entry(partition).and_modify(|a| *a += 1).or_insert(0);
        let stage_attempt = ts.attempt;
        let st = &self.stages[&stage];
        let kind = match st.kind {
            StageKind::ShuffleMap { shuffle } => TaskKind::ShuffleMap { shuffle },
            StageKind::Result { job } => {
                let output =
                    self.jobs[&job].partitions.iter().position(|&p| p == partition).expect("job partition") as u32;
                TaskKind::Result { job, output }
            }
        };
        let map_outputs = self
            .lineage
            .stage_boundaries(st.rdd)
            .into_iter()
            .map(|(shuffle, _)| (shuffle, self.map_outputs[&shuffle].clone()))
            .collect();
        let spec = TaskSpec { tid, stage, stage_attempt, partition, attempt, rdd: st.rdd, kind, executor, map_outputs };
        self.executors.get_mut(&executor).expect("picked").busy += 1;
        self.events.push(SparkEvent::TaskStart { tid, stage, stage_attempt, partition, attempt, executor });
        self.running.insert(tid, spec.clone());
        self.launches.push(spec);
    }

    /// The host stored cached partitions while running a task.
    pub fn block_cached(&mut self, rdd: RddId, partition: u32, executor: ExecutorId) {
        if self.executors.contains_key(&executor) {
            self.cached.entry((rdd, partition)).or_default().insert(executor);
        }
    }

    /// Whether a success reported now for `tid` merges its accumulator updates: Spark's
    /// `handleTaskCompletion` does so for every shuffle map task that succeeds and for a
    /// result task whose partition the job does not have yet. Ask before `task_finished`.
    pub fn success_merges_accumulators(&self, tid: TaskId) -> bool {
        let Some(spec) = self.running.get(&tid) else { return false };
        match spec.kind {
            TaskKind::ShuffleMap { .. } => true,
            TaskKind::Result { job, output } => self.jobs.get(&job).is_some_and(|j| !j.done[output as usize]),
        }
    }

    /// A task ended. Returns true when a result task's value is the one the job keeps (its
    /// first success for that partition).
    pub fn task_finished(&mut self, tid: TaskId, outcome: TaskOutcome) -> bool {
        let Some(spec) = self.running.remove(&tid) else { return false };
        if let Some(e) = self.executors.get_mut(&spec.executor) {
            e.busy -= 1;
        }
        let reason = match &outcome {
            TaskOutcome::Success => "Success".to_string(),
            TaskOutcome::Failed { error } => format!("ExceptionFailure: {error}"),
            TaskOutcome::FetchFailed { shuffle, map_partition, executor: Some(executor) } => {
                format!("FetchFailed(executor {executor}, shuffleId={shuffle}, mapIndex={map_partition})")
            }
            TaskOutcome::FetchFailed { shuffle, .. } => {
                format!("FetchFailed(MetadataFetchFailedException: Missing an output location for shuffle {shuffle})")
            }
        };
        self.events.push(SparkEvent::TaskEnd {
            tid,
            stage: spec.stage,
            partition: spec.partition,
            executor: spec.executor,
            reason,
        });
        let accepted = match outcome {
            TaskOutcome::Success => self.task_succeeded(&spec),
            TaskOutcome::Failed { error } => {
                self.task_failed(&spec, &error);
                false
            }
            TaskOutcome::FetchFailed { shuffle, executor, .. } => {
                self.fetch_failed(&spec, shuffle, executor);
                false
            }
        };
        self.schedule();
        accepted
    }

    fn current_set(&mut self, spec: &TaskSpec) -> Option<&mut TaskSet> {
        self.task_sets.get_mut(&spec.stage).filter(|ts| ts.attempt == spec.stage_attempt)
    }

    fn task_succeeded(&mut self, spec: &TaskSpec) -> bool {
        if let Some(ts) = self.current_set(spec) {
            ts.running.remove(&spec.partition);
        }
        let accepted = match spec.kind {
            TaskKind::ShuffleMap { shuffle } => {
                // Output written by an executor that has since died is not usable.
                if self.executors.contains_key(&spec.executor) {
                    self.map_outputs.get_mut(&shuffle).expect("registered")[spec.partition as usize] =
                        Some(spec.executor);
                }
                false
            }
            TaskKind::Result { job, output } => match self.jobs.get_mut(&job) {
                Some(j) if !j.done[output as usize] => {
                    j.done[output as usize] = true;
                    true
                }
                _ => false,
            },
        };
        if let Some(ts) = self.task_sets.get(&spec.stage) {
            if ts.pending.is_empty() && ts.running.is_empty() {
                self.task_set_drained(spec.stage);
            }
        }
        accepted
    }

    /// The task set has nothing left to run: the stage is done, or lost outputs need another
    /// attempt.
    fn task_set_drained(&mut self, stage: StageId) {
        match self.stages[&stage].kind {
            StageKind::Result { job } => {
                if self.jobs.get(&job).is_some_and(|j| j.done.iter().all(|&d| d)) {
                    self.stage_finished(stage);
                    self.finish_job(job, Ok(()));
                } else {
                    self.task_sets.remove(&stage);
                    self.submit_stage(stage);
                }
            }
            StageKind::ShuffleMap { .. } => {
                if self.is_available(stage) {
                    self.stage_finished(stage);
                } else {
                    self.task_sets.remove(&stage);
                    self.submit_stage(stage);
                }
            }
        }
    }

    fn task_failed(&mut self, spec: &TaskSpec, error: &str) {
        let max = self.max_task_failures.unwrap_or(MAX_TASK_FAILURES);
        let Some(ts) = self.current_set(spec) else { return };
        ts.running.remove(&spec.partition);
        let failures = ts.failures.entry(spec.partition).or_insert(0);
        *failures += 1;
        if *failures >= max {
            let msg = format!(
                "Job aborted due to stage failure: Task {p} in stage {s}.{a} failed {max} times, most recent failure: Lost task {p}.{t} in stage {s}.{a} (TID {tid}) (127.0.0.1 executor {e}): {error}",
                p = spec.partition,
                s = spec.stage,
                a = spec.stage_attempt,
                t = spec.attempt,
                tid = spec.tid,
                e = spec.executor
            );
            self.abort_stage(spec.stage, &msg);
        } else {
            ts.pending.push(spec.partition);
            ts.pending.sort_unstable();
        }
    }

    /// `handleTaskCompletion(FetchFailed)`: the map outputs on that executor are gone; this
    /// stage attempt is abandoned, and the map stage and this stage are resubmitted.
    fn fetch_failed(&mut self, spec: &TaskSpec, shuffle: ShuffleId, executor: Option<ExecutorId>) {
        if let Some(executor) = executor {
            for outputs in self.map_outputs.values_mut() {
                for loc in outputs.iter_mut() {
                    if *loc == Some(executor) {
                        *loc = None;
                    }
                }
            }
        }
        let _ = shuffle;
        let from = executor.map_or("an unknown location".to_string(), |e| format!("executor {e}"));
        if self.task_sets.get(&spec.stage).is_none_or(|ts| ts.attempt != spec.stage_attempt) {
            return; // an older attempt's fetch failure: already handled
        }
        self.task_sets.remove(&spec.stage);
        let st = self.stages.get_mut(&spec.stage).expect("known");
        st.fetch_failures += 1;
        let attempt = spec.stage_attempt;
        self.events.push(SparkEvent::StageCompleted {
            stage: spec.stage,
            attempt,
            failure: Some(format!("FetchFailed from {from}")),
        });
        if st.fetch_failures >= MAX_STAGE_ATTEMPTS {
            let msg = format!(
                "Job aborted due to stage failure: Stage {} has failed the maximum allowable number of times: {MAX_STAGE_ATTEMPTS}.",
                spec.stage
            );
            self.abort_stage(spec.stage, &msg);
            return;
        }
        self.submit_stage(spec.stage);
    }

    fn abort_stage(&mut self, stage: StageId, msg: &str) {
        for job in self.jobs_using(stage) {
            self.finish_job(job, Err(msg.to_string()));
        }
    }

    fn finish_job(&mut self, job: JobId, result: Result<(), String>) {
        let Some(j) = self.jobs.remove(&job) else { return };
        // Stages no remaining job needs stop (their running tasks finish and are ignored).
        let mut stages = self.ancestors(j.stage);
        stages.push(j.stage);
        for s in stages {
            if self.jobs_using(s).is_empty() {
                if self.task_sets.remove(&s).is_some() && result.is_err() {
                    let attempt = self.stages[&s].attempts.saturating_sub(1);
                    self.events.push(SparkEvent::StageCompleted { stage: s, attempt, failure: result.clone().err() });
                }
                self.waiting.remove(&s);
            }
        }
        self.events.push(SparkEvent::JobEnd { job, result });
    }
}
