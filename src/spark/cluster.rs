//! Spark on a cluster of sans-IO nodes: one driver (node 0) and executors (nodes 1..=K), for
//! the simulator (`zkspark run`, the recovery tests) and the page's workers alike.
//!
//! ```text
//!  host ── Run{program} ──▶ Driver: replays the program; the first job not in its log is
//!                           submitted to the Scheduler and the program stops until it ends
//!  Driver ── Launch{task, plans it has not sent yet} ──▶ Executor
//!  Executor ── Fetch{blocks} ──▶ Executor holding the map outputs ── Blocks ──▶ (or FetchFailed)
//!  Executor: computes the task, and after its run time ── TaskDone{outcome, result} ──▶ Driver
//!  Executor dies ─▶ the driver's connection to it resets ─▶ Scheduler::remove_executor
//! ```
//!
//! The driver program is replayed rather than suspended: the interpreter runs a program to
//! the end, so a job's results are recorded and the program re-runs from the top, taking
//! earlier jobs' results from the log (`engine::JobGate`). A program is deterministic, so each
//! replay defines the same RDDs with the same ids and prints the same text before the job it
//! waits for; the driver emits only what is new.

use super::engine::{Engine, JobOutcome, WirePlan};
use super::fs::SimFs;
use super::lineage::{RddId, RddInfo, ShuffleId};
use super::pyspark::{register, Host};
use super::scheduler::{ExecutorId, SparkEvent, TaskId, TaskKind, TaskOutcome, TaskSpec};
use crate::py::{Interpreter, Shipped, Value};
use crate::kazoo::gate::ZkGate;
use crate::sim::{Effect, Effects, Millis, NodeId, Process};
use crate::zk::port::{ZkAnswer, ZkCall, ZkReply};
use serde::{Deserialize, Serialize};
use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::rc::Rc;

/// The driver's node id; executors are 1..=K.
pub const DRIVER: NodeId = 0;

/// How long a shuffle fetch waits for a peer that does not answer (a partitioned one).
pub const FETCH_TIMEOUT_MS: Millis = 5_000;

/// The cluster's shape and how long a task takes in virtual time.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ClusterConfig {
    pub executors: u32,
    pub cores: u32,
    /// A task's virtual run time: a fixed part plus a part per record it produced.
    pub task_base_ms: Millis,
    pub task_us_per_record: u64,
}

impl Default for ClusterConfig {
    fn default() -> Self {
        ClusterConfig { executors: 2, cores: 2, task_base_ms: 400, task_us_per_record: 20 }
    }
}

/// A block list in transit: pickled, so user-class instances and all survive the trip.
pub type Block = Shipped;

#[derive(Clone, Serialize, Deserialize)]
pub enum SparkMsg {
    /// An executor started and offers its cores (`RegisterExecutor`).
    Register { cores: u32 },
    /// Run a task; `plans` are the RDDs of its stage this executor has not been sent yet.
    Launch { task: TaskSpec, plans: Vec<(RddInfo, WirePlan)> },
    /// What a task ended with; a result task's records are `result`.
    TaskDone {
        tid: TaskId,
        outcome: TaskOutcome,
        result: Option<Block>,
        cached: Vec<(RddId, u32)>,
        printed: String,
        /// The task's accumulator updates (its task-local copies), pickled.
        accumulators: Vec<(u32, Shipped)>,
    },
    /// Asks for shuffle blocks: (shuffle, map partition, reduce partition).
    Fetch { tid: TaskId, blocks: Vec<(ShuffleId, u32, u32)> },
    /// The blocks asked for, `None` for one this executor does not have.
    Blocks { tid: TaskId, blocks: Vec<((ShuffleId, u32, u32), Option<Block>)> },
}

impl PartialEq for SparkMsg {
    fn eq(&self, other: &Self) -> bool {
        serde_json::to_string(self).ok() == serde_json::to_string(other).ok()
    }
}

/// Short: the simulator's trace formats every message, and blocks can be large.
impl std::fmt::Debug for SparkMsg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SparkMsg::Register { cores } => write!(f, "Register({cores})"),
            SparkMsg::Launch { task, plans } => write!(f, "Launch(tid {}, {} plans)", task.tid, plans.len()),
            SparkMsg::TaskDone { tid, outcome, .. } => write!(f, "TaskDone(tid {tid}, {outcome:?})"),
            SparkMsg::Fetch { tid, blocks } => write!(f, "Fetch(tid {tid}, {blocks:?})"),
            SparkMsg::Blocks { tid, blocks } => write!(f, "Blocks(tid {tid}, {} blocks)", blocks.len()),
        }
    }
}

impl SparkMsg {
    /// A short name for the message log and the network view.
    pub fn kind(&self) -> &'static str {
        match self {
            SparkMsg::Register { .. } => "RegisterExecutor",
            SparkMsg::Launch { .. } => "LaunchTask",
            SparkMsg::TaskDone { .. } => "StatusUpdate",
            SparkMsg::Fetch { .. } => "FetchBlocks",
            SparkMsg::Blocks { .. } => "BlockData",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum ClusterCommand {
    /// Run a driver program (the driver only). Replaces a finished one.
    Run { source: String, filename: String, fs: SimFs },
    /// Stop the running program: its job is cancelled, the program ends with an error.
    Cancel,
    /// The host's answer to a ZooKeeper call the node made (`ClusterEvent::Zk`).
    Zk(ZkAnswer),
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum ClusterEvent {
    /// A Spark listener event, from the driver's scheduler.
    Listener(SparkEvent),
    /// New text the driver program printed.
    Stdout(String),
    /// The program ended: `stderr` is its traceback when it failed.
    Finished { ok: bool, stderr: String },
    /// What a task printed, in its executor's log (stdout of the Python worker).
    TaskOutput { tid: TaskId, text: String },
    /// The driver replayed its program to go on after a job (for the event log).
    Replayed { jobs: u32 },
    /// A job's stages as the DAG view draws them (sent right after `JobStart`).
    JobPlan { job: u32, stages: Vec<StagePlan> },
    /// Files the program wrote (`saveAsTextFile`), when it ends: (path, size, first bytes).
    Files(Vec<(String, u64, String)>),
    /// A ZooKeeper request from the program or a task (kazoo), for the host to carry out and
    /// answer with `ClusterCommand::Zk`.
    Zk(ZkCall),
    /// The driver program ended: the sessions it left open lose their process (they expire
    /// after their timeout, as when a Python driver exits).
    ZkExit,
}

/// How much of each written file the `Files` event carries.
pub const FILE_PREVIEW_BYTES: usize = 2_000;

/// One stage of a job's DAG: the RDDs it pipelines (oldest first) and the stages it reads.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StagePlan {
    pub stage: u32,
    pub rdds: Vec<(RddId, String)>,
    pub parents: Vec<u32>,
    pub partitions: u32,
    pub shuffle_map: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum DriverPhase {
    Idle,
    /// Waiting for the job the program asked for.
    Running,
    Succeeded,
    Failed,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum SparkView {
    Driver { phase: DriverPhase, jobs: u32, executors: Vec<ExecutorId>, replays: u32 },
    Executor { cores: u32, running: Vec<TaskId>, shuffle_outputs: u32, cached_blocks: u32, shuffle_bytes: u64, tasks_done: u32 },
}

pub enum SparkNode {
    Driver(Box<DriverNode>),
    Executor(Box<ExecutorNode>),
}

impl SparkNode {
    /// Node 0 is the driver, the others executors with `cores` cores each.
    pub fn new(id: NodeId, config: &ClusterConfig) -> SparkNode {
        if id == DRIVER {
            SparkNode::Driver(Box::new(DriverNode::new(config)))
        } else {
            SparkNode::Executor(Box::new(ExecutorNode::new(id, config)))
        }
    }

    pub fn driver(&self) -> Option<&DriverNode> {
        match self {
            SparkNode::Driver(d) => Some(d),
            SparkNode::Executor(_) => None,
        }
    }
}

type Out = Effects<SparkMsg, ClusterEvent>;

impl Process for SparkNode {
    type Msg = SparkMsg;
    type Event = ClusterEvent;
    type Command = ClusterCommand;
    type View = SparkView;

    fn id(&self) -> NodeId {
        match self {
            SparkNode::Driver(_) => DRIVER,
            SparkNode::Executor(e) => e.id,
        }
    }
    fn start(&mut self, _now: Millis, out: &mut Out) {
        if let SparkNode::Executor(e) = self {
            out.push(Effect::Send { to: DRIVER, msg: SparkMsg::Register { cores: e.cores } });
        }
    }
    fn message(&mut self, now: Millis, from: NodeId, msg: SparkMsg, out: &mut Out) {
        match self {
            SparkNode::Driver(d) => d.message(from, msg, out),
            SparkNode::Executor(e) => e.message(now, from, msg, out),
        }
    }
    fn wake(&mut self, now: Millis, out: &mut Out) {
        if let SparkNode::Executor(e) = self {
            e.wake(now, out);
        }
    }
    fn connection_lost(&mut self, now: Millis, peer: NodeId, out: &mut Out) {
        match self {
            SparkNode::Driver(d) => d.executor_lost(peer, "worker lost: its process exited", out),
            SparkNode::Executor(e) => e.peer_lost(now, peer, out),
        }
    }
    fn command(&mut self, now: Millis, cmd: ClusterCommand, out: &mut Out) {
        match (self, cmd) {
            (SparkNode::Driver(d), ClusterCommand::Run { source, filename, fs }) => d.run(source, filename, fs, out),
            (SparkNode::Driver(d), ClusterCommand::Cancel) => d.cancel(out),
            (SparkNode::Driver(d), ClusterCommand::Zk(a)) => d.zk_answer(a, out),
            (SparkNode::Executor(e), ClusterCommand::Zk(a)) => e.zk_answer(now, a, out),
            (SparkNode::Executor(_), _) => {}
        }
    }
    fn view(&self) -> SparkView {
        match self {
            SparkNode::Driver(d) => SparkView::Driver {
                phase: d.phase.clone(),
                jobs: d.gate_log_len(),
                executors: d.engine.borrow().scheduler.executors(),
                replays: d.replays,
            },
            SparkNode::Executor(e) => {
                let (shuffle_outputs, cached_blocks) = e.engine.block_counts();
                SparkView::Executor {
                    cores: e.cores,
                    running: e.running_tids(),
                    shuffle_outputs,
                    cached_blocks,
                    shuffle_bytes: e.shuffle_bytes,
                    tasks_done: e.tasks_done,
                }
            }
        }
    }
    fn check_invariants(&self) -> Result<(), String> {
        Ok(())
    }
}

// ----- the driver -----

pub struct DriverNode {
    config: ClusterConfig,
    pub engine: Rc<RefCell<Engine>>,
    source: String,
    filename: String,
    pub phase: DriverPhase,
    /// What the program printed so far (emitted as `Stdout` deltas).
    pub stdout: String,
    pub stderr: String,
    pub replays: u32,
    /// Stages submitted since the program started.
    stages_submitted: usize,
    /// RDD plans each executor already has.
    sent: BTreeSet<(ExecutorId, RddId)>,
    /// The program's ZooKeeper calls and their answers (kazoo), replayed like its jobs.
    zk: Rc<RefCell<ZkGate>>,
    /// Programs run so far: the handles of each program's sessions start at `runs << 32`.
    runs: u64,
}

impl DriverNode {
    fn new(config: &ClusterConfig) -> DriverNode {
        DriverNode {
            config: config.clone(),
            engine: Rc::new(RefCell::new(driver_engine(SimFs::default()))),
            source: String::new(),
            filename: String::new(),
            phase: DriverPhase::Idle,
            stdout: String::new(),
            stderr: String::new(),
            replays: 0,
            stages_submitted: 0,
            sent: BTreeSet::new(),
            zk: Rc::new(RefCell::new(ZkGate::online())),
            runs: 0,
        }
    }

    /// The host answered a ZooKeeper call: the program runs again with the answer logged.
    fn zk_answer(&mut self, a: ZkAnswer, out: &mut Out) {
        if self.phase == DriverPhase::Running && self.zk.borrow_mut().answer(a.id, a.reply) {
            self.replay(false, out);
        }
    }

    fn gate_log_len(&self) -> u32 {
        self.engine.borrow().gate.as_ref().map_or(0, |g| g.log.len() as u32)
    }

    /// Starts a program. The executors registered so far stay; everything else is new.
    fn run(&mut self, source: String, filename: String, fs: SimFs, out: &mut Out) {
        let (executors, next_tid) = {
            let e = self.engine.borrow();
            let x: Vec<(ExecutorId, u32)> = e.scheduler.executors().into_iter().map(|x| (x, self.config.cores)).collect();
            (x, e.scheduler.next_task_id())
        };
        let mut engine = driver_engine(fs);
        engine.scheduler.continue_task_ids_from(next_tid);
        for (x, cores) in executors {
            engine.scheduler.add_executor(x, cores);
        }
        self.engine = Rc::new(RefCell::new(engine));
        self.sent.clear();
        self.source = source;
        self.filename = filename;
        self.stdout.clear();
        self.stderr.clear();
        self.replays = 0;
        self.stages_submitted = 0;
        self.phase = DriverPhase::Running;
        self.runs += 1;
        self.zk.borrow_mut().begin(self.runs << 32, false);
        self.replay(false, out);
    }

    /// Runs the program from the top against the job log (and its ZooKeeper calls' log);
    /// `after_job`: a job just ended (the event log says so).
    fn replay(&mut self, after_job: bool, out: &mut Out) {
        let mut it = Interpreter::new();
        it.filename = self.filename.clone();
        let host = Host {
            cores: self.config.executors * self.config.cores,
            fs: SimFs::default(),
            cluster: Some(self.engine.clone()),
        };
        let _state = register(&mut it, host);
        crate::kazoo::register(&mut it, self.zk.clone(), self.runs);
        self.zk.borrow_mut().begin(self.runs << 32, true);
        self.engine.borrow_mut().begin_replay();
        if after_job {
            out.push(Effect::Event(ClusterEvent::Replayed { jobs: self.gate_log_len() }));
        }
        self.replays += 1;
        let result = it.run(&self.source);
        let printed = it.take_output();
        if printed.len() > self.stdout.len() && printed.starts_with(&self.stdout) {
            out.push(Effect::Event(ClusterEvent::Stdout(printed[self.stdout.len()..].to_string())));
            self.stdout = printed;
        }
        if self.engine.borrow().suspended() {
            self.dispatch(out);
            return;
        }
        let pending = self.zk.borrow().pending.clone();
        if let Some(call) = pending {
            out.push(Effect::Event(ClusterEvent::Zk(call)));
            return;
        }
        let (ok, stderr) = match result {
            Ok(()) => (true, String::new()),
            Err(e) => (false, it.format_error(&e)),
        };
        self.finish(ok, stderr, out);
    }

    fn finish(&mut self, ok: bool, stderr: String, out: &mut Out) {
        self.phase = if ok { DriverPhase::Succeeded } else { DriverPhase::Failed };
        self.stderr = stderr.clone();
        let e = self.engine.borrow();
        let before = e.gate.as_ref().map(|g| g.fs_at_start.files.clone()).unwrap_or_default();
        let written: Vec<(String, u64, String)> = e
            .fs
            .files
            .iter()
            .filter(|(path, data)| before.get(*path) != Some(*data))
            .map(|(path, data)| {
                let head = String::from_utf8_lossy(&data[..data.len().min(FILE_PREVIEW_BYTES)]).into_owned();
                (path.clone(), data.len() as u64, head)
            })
            .collect();
        drop(e);
        if !written.is_empty() {
            out.push(Effect::Event(ClusterEvent::Files(written)));
        }
        out.push(Effect::Event(ClusterEvent::Finished { ok, stderr }));
        out.push(Effect::Event(ClusterEvent::ZkExit));
    }

    /// The user stopped the program: the job it waits for is cancelled.
    fn cancel(&mut self, out: &mut Out) {
        if self.phase != DriverPhase::Running {
            return;
        }
        let pending = self.engine.borrow_mut().gate.as_mut().and_then(|g| g.pending.take());
        if let Some(p) = pending {
            self.engine.borrow_mut().scheduler.cancel_job(p.job, "because the user stopped the program");
        }
        let (_, events) = self.engine.borrow_mut().scheduler.drain();
        for ev in events {
            out.push(Effect::Event(ClusterEvent::Listener(ev)));
        }
        self.finish(false, "KeyboardInterrupt: the program was cancelled\n".into(), out);
    }

    fn message(&mut self, from: NodeId, msg: SparkMsg, out: &mut Out) {
        match msg {
            SparkMsg::Register { cores } => {
                {
                    let mut e = self.engine.borrow_mut();
                    e.scheduler.remove_executor(from, "replaced by a new executor on its worker");
                    e.scheduler.add_executor(from, cores);
                }
                self.sent.retain(|(x, _)| *x != from);
                self.dispatch(out);
            }
            SparkMsg::TaskDone { tid, outcome, result, cached, printed, accumulators } => {
                if !printed.is_empty() {
                    out.push(Effect::Event(ClusterEvent::TaskOutput { tid, text: printed }));
                }
                let output = {
                    let e = self.engine.borrow();
                    e.scheduler.running_tasks().iter().find(|t| t.tid == tid).map(|t| t.kind.clone())
                };
                let success = matches!(outcome, TaskOutcome::Success);
                let (accepted, merges) = {
                    let mut e = self.engine.borrow_mut();
                    if success {
                        for (rdd, p) in cached {
                            e.scheduler.block_cached(rdd, p, from);
                        }
                    }
                    let merges = success && e.scheduler.success_merges_accumulators(tid);
                    (e.scheduler.task_finished(tid, outcome), merges)
                };
                if merges {
                    // Spark merges a task's accumulator updates when it accepts its success.
                    let mut e = self.engine.borrow_mut();
                    if let Some(p) = e.gate.as_mut().and_then(|g| g.pending.as_mut()) {
                        p.accumulators.extend(accumulators);
                    }
                }
                if let (true, Some(TaskKind::Result { output, .. }), Some(r)) = (accepted, output, result) {
                    let mut e = self.engine.borrow_mut();
                    if let Some(p) = e.gate.as_mut().and_then(|g| g.pending.as_mut()) {
                        p.results[output as usize] = Some(r);
                    }
                }
                self.dispatch(out);
            }
            SparkMsg::Launch { .. } | SparkMsg::Fetch { .. } | SparkMsg::Blocks { .. } => {}
        }
    }

    fn executor_lost(&mut self, peer: NodeId, reason: &str, out: &mut Out) {
        self.engine.borrow_mut().scheduler.remove_executor(peer, reason);
        self.sent.retain(|(x, _)| *x != peer);
        self.dispatch(out);
    }

    /// Sends the scheduler's launched tasks, emits its events, and replays the program when
    /// the job it waits for has ended.
    fn dispatch(&mut self, out: &mut Out) {
        let (tasks, events) = self.engine.borrow_mut().scheduler.drain();
        let mut ended = None;
        let pending_job = self.engine.borrow().gate.as_ref().and_then(|g| g.pending.as_ref().map(|p| p.job));
        for ev in events {
            if let SparkEvent::JobEnd { job, result } = &ev {
                if Some(*job) == pending_job {
                    ended = Some(result.clone());
                }
            }
            let plan = match &ev {
                SparkEvent::JobStart { job, stages } => Some(self.job_plan(*job, stages)),
                SparkEvent::StageSubmitted { .. } => {
                    self.stages_submitted += 1;
                    None
                }
                _ => None,
            };
            out.push(Effect::Event(ClusterEvent::Listener(ev)));
            out.extend(plan.map(Effect::Event));
        }
        for task in tasks {
            let plans = self.plans_for(&task);
            match plans {
                Ok(plans) => out.push(Effect::Send { to: task.executor, msg: SparkMsg::Launch { task, plans } }),
                Err(e) => {
                    // The driver could not pickle a partition's data: the task fails.
                    let error = e.last_line();
                    self.engine.borrow_mut().scheduler.task_finished(task.tid, TaskOutcome::Failed { error });
                }
            }
        }
        if let Some(result) = ended {
            {
                let mut e = self.engine.borrow_mut();
                let gate = e.gate.as_mut().expect("cluster mode");
                let pending = gate.pending.take().expect("a pending job");
                gate.accumulator_log.push(pending.accumulators);
                gate.stages_log.push(self.stages_submitted);
                gate.log.push(match result {
                    Ok(()) => JobOutcome::Done(pending.results.into_iter().map(|r| r.expect("every partition")).collect()),
                    Err(message) => JobOutcome::Failed(message),
                });
            }
            self.replay(true, out);
        }
    }

    fn job_plan(&self, job: u32, stages: &[u32]) -> ClusterEvent {
        let e = self.engine.borrow();
        let stages = stages
            .iter()
            .filter_map(|&stage| {
                let (rdd, parents, partitions, shuffle_map) = e.scheduler.stage_shape(stage)?;
                let rdds = e.stage_rdds(rdd).into_iter().map(|r| (r, e.scheduler.lineage.get(r).name.clone())).collect();
                Some(StagePlan { stage, rdds, parents, partitions, shuffle_map })
            })
            .collect();
        ClusterEvent::JobPlan { job, stages }
    }

    fn plans_for(&mut self, task: &TaskSpec) -> Result<Vec<(RddInfo, WirePlan)>, crate::py::PyErr> {
        let e = self.engine.borrow();
        let mut plans = vec![];
        let mut rdds = e.stage_rdds(task.rdd);
        if let TaskKind::ShuffleMap { shuffle } = task.kind {
            // The map side needs the reducers' count: the ShuffledRDD's shape.
            rdds.extend(e.shuffled_rdd_of(shuffle));
        }
        for rdd in rdds {
            if self.sent.insert((task.executor, rdd)) {
                let info = e.scheduler.lineage.get(rdd).clone();
                let plan = e.plan(rdd).expect("planned rdd").to_wire(&e.fs)?;
                plans.push((info, plan));
            }
        }
        Ok(plans)
    }
}

// ----- an executor -----

/// A task waiting for shuffle blocks from other executors.
struct Fetching {
    spec: TaskSpec,
    /// Outstanding blocks per peer.
    waiting: BTreeMap<NodeId, Vec<(ShuffleId, u32, u32)>>,
    /// Blocks that arrived.
    got: BTreeMap<(ShuffleId, u32, u32), Vec<Value>>,
    since: Millis,
}

pub struct ExecutorNode {
    pub id: NodeId,
    pub cores: u32,
    config: ClusterConfig,
    pub engine: Engine,
    fetching: BTreeMap<TaskId, Fetching>,
    /// Computed tasks whose run time has not elapsed: (done at, tid) → the report.
    finishing: BTreeMap<(Millis, TaskId), SparkMsg>,
    pub shuffle_bytes: u64,
    pub tasks_done: u32,
    /// The kazoo calls of the running tasks (one gate; each task's log is swapped in).
    zk: Rc<RefCell<ZkGate>>,
    /// Tasks waiting for a ZooKeeper answer, by the call id they wait for.
    zk_waiting: BTreeMap<u64, ZkTask>,
    kazoo: Rc<crate::kazoo::Kazoo>,
}

/// A task stopped at a ZooKeeper call: it runs again from the top when the answer is in.
struct ZkTask {
    spec: TaskSpec,
    log: Vec<ZkReply>,
    blocks: BTreeMap<(ShuffleId, u32, u32), Vec<Value>>,
}

impl ExecutorNode {
    fn new(id: NodeId, config: &ClusterConfig) -> ExecutorNode {
        let mut engine = Engine::new(config.cores, SimFs::default());
        engine.scheduler = super::scheduler::Scheduler::new();
        super::pyspark::prepare_executor(&mut engine);
        let zk = Rc::new(RefCell::new(ZkGate::online()));
        let kazoo = crate::kazoo::register(&mut engine.worker, zk.clone(), u64::from(id) << 48);
        ExecutorNode {
            id,
            cores: config.cores,
            config: config.clone(),
            engine,
            fetching: BTreeMap::new(),
            finishing: BTreeMap::new(),
            shuffle_bytes: 0,
            tasks_done: 0,
            zk,
            zk_waiting: BTreeMap::new(),
            kazoo,
        }
    }

    /// The host answered a task's ZooKeeper call: the task runs again with it logged.
    fn zk_answer(&mut self, now: Millis, a: ZkAnswer, out: &mut Out) {
        let Some(mut t) = self.zk_waiting.remove(&a.id) else { return };
        t.log.push(a.reply);
        self.engine.remote_blocks = t.blocks;
        self.zk.borrow_mut().log = t.log;
        self.run(now, t.spec, out);
        self.arm(out);
    }

    fn running_tids(&self) -> Vec<TaskId> {
        let mut v: Vec<TaskId> = self
            .fetching
            .keys()
            .copied()
            .chain(self.finishing.keys().map(|(_, t)| *t))
            .chain(self.zk_waiting.values().map(|t| t.spec.tid))
            .collect();
        v.sort_unstable();
        v
    }

    fn message(&mut self, now: Millis, from: NodeId, msg: SparkMsg, out: &mut Out) {
        match msg {
            SparkMsg::Launch { task, plans } => self.launch(now, task, plans, out),
            SparkMsg::Fetch { tid, blocks } => {
                let blocks = blocks
                    .into_iter()
                    .map(|b| {
                        let data = self.engine.shuffle_block(b.0, b.1, b.2).and_then(|v| crate::py::ship(&Value::list(v.clone())).ok());
                        (b, data)
                    })
                    .collect();
                out.push(Effect::Send { to: from, msg: SparkMsg::Blocks { tid, blocks } });
            }
            SparkMsg::Blocks { tid, blocks } => {
                let Some(f) = self.fetching.get_mut(&tid) else { return };
                f.waiting.remove(&from);
                let mut failed = None;
                let worker = &mut self.engine.worker;
                for ((s, m, r), data) in blocks {
                    let values = data.and_then(|d| {
                        let v = d.revive(worker).ok()?;
                        worker.collect(&v).ok()
                    });
                    match values {
                        Some(v) => {
                            f.got.insert((s, m, r), v);
                        }
                        None => {
                            failed.get_or_insert((s, m));
                        }
                    }
                }
                if let Some((shuffle, map_partition)) = failed {
                    self.fetching.remove(&tid);
                    let outcome = TaskOutcome::FetchFailed { shuffle, map_partition, executor: Some(from) };
                    out.push(Effect::Send { to: DRIVER, msg: done(tid, outcome) });
                } else if self.fetching[&tid].waiting.is_empty() {
                    let f = self.fetching.remove(&tid).expect("present");
                    self.engine.remote_blocks = f.got;
                    self.execute(now, f.spec, out);
                }
            }
            SparkMsg::Register { .. } | SparkMsg::TaskDone { .. } => {}
        }
        self.arm(out);
    }

    fn launch(&mut self, now: Millis, task: TaskSpec, plans: Vec<(RddInfo, WirePlan)>, out: &mut Out) {
        for (info, plan) in plans {
            match plan.into_plan(&mut self.engine.worker) {
                Ok(plan) => self.engine.install(info, plan),
                Err(e) => {
                    let outcome = TaskOutcome::Failed { error: e.last_line() };
                    out.push(Effect::Send { to: DRIVER, msg: done(task.tid, outcome) });
                    return;
                }
            }
        }
        let mut reads = vec![];
        if let Err(rdd) = self.engine.shuffle_reads(task.rdd, task.partition, &mut reads) {
            // Plans travel in order on one connection, so this is a host bug; fail the task
            // rather than the executor.
            let outcome = TaskOutcome::Failed { error: format!("executor {} has no plan for RDD {rdd}", self.id) };
            out.push(Effect::Send { to: DRIVER, msg: done(task.tid, outcome) });
            return;
        }
        let mut waiting: BTreeMap<NodeId, Vec<(ShuffleId, u32, u32)>> = BTreeMap::new();
        for (shuffle, reduce, maps) in reads {
            let locations = task.map_outputs.get(&shuffle).cloned().unwrap_or_default();
            for m in 0..maps {
                match locations.get(m as usize).copied().flatten() {
                    None => {
                        let outcome = TaskOutcome::FetchFailed { shuffle, map_partition: m, executor: None };
                        out.push(Effect::Send { to: DRIVER, msg: done(task.tid, outcome) });
                        return;
                    }
                    Some(x) if x == self.id => {
                        if self.engine.shuffle_block(shuffle, m, reduce).is_none() {
                            let outcome = TaskOutcome::FetchFailed { shuffle, map_partition: m, executor: Some(x) };
                            out.push(Effect::Send { to: DRIVER, msg: done(task.tid, outcome) });
                            return;
                        }
                    }
                    Some(x) => waiting.entry(x).or_default().push((shuffle, m, reduce)),
                }
            }
        }
        if waiting.is_empty() {
            self.engine.remote_blocks.clear();
            self.execute(now, task, out);
            return;
        }
        for (peer, blocks) in &waiting {
            out.push(Effect::Send { to: *peer, msg: SparkMsg::Fetch { tid: task.tid, blocks: blocks.clone() } });
        }
        self.fetching.insert(task.tid, Fetching { spec: task, waiting, got: BTreeMap::new(), since: now });
    }

    /// Starts a task (no ZooKeeper answers yet).
    fn execute(&mut self, now: Millis, spec: TaskSpec, out: &mut Out) {
        self.zk.borrow_mut().log.clear();
        self.run(now, spec, out);
    }

    /// Computes the task now, against the ZooKeeper answers in the gate's log; its report
    /// leaves when its virtual run time has passed. A task that stops at a new ZooKeeper call
    /// waits for the answer, and what it printed or added so far is dropped (the next run
    /// does it again).
    fn run(&mut self, now: Millis, spec: TaskSpec, out: &mut Out) {
        let before: BTreeSet<(RddId, u32)> = self.engine.cached_blocks().into_iter().collect();
        self.zk.borrow_mut().begin(u64::from(spec.tid) << 16, true);
        // Each run of a task draws the same lock names and retry jitter.
        self.kazoo.reseed(u64::from(self.id) << 48 ^ u64::from(spec.tid));
        let r = self.engine.run_task(&spec);
        let pending = self.zk.borrow_mut().pending.clone();
        if let Some(call) = pending {
            self.engine.task_output.clear();
            self.engine.accumulators.take_task_updates();
            let log = std::mem::take(&mut self.zk.borrow_mut().log);
            let blocks = std::mem::take(&mut self.engine.remote_blocks);
            self.zk_waiting.insert(call.id, ZkTask { spec, log, blocks });
            out.push(Effect::Event(ClusterEvent::Zk(call)));
            return;
        }
        let printed = std::mem::take(&mut self.engine.task_output);
        let accumulators: Vec<(u32, Shipped)> = self
            .engine
            .accumulators
            .take_task_updates()
            .0
            .into_iter()
            .filter_map(|(id, v)| Some((id, crate::py::ship(&v).ok()?)))
            .collect();
        let mut records = 0u64;
        let msg = match r {
            Ok(value) => {
                if let TaskKind::ShuffleMap { shuffle } = spec.kind {
                    let mut reduce = 0;
                    while let Some(b) = self.engine.shuffle_block(shuffle, spec.partition, reduce) {
                        records += b.len() as u64;
                        self.shuffle_bytes += b.iter().map(approx_size).sum::<u64>();
                        reduce += 1;
                    }
                }
                let result = match value {
                    Some(v) => {
                        records += v.len() as u64;
                        match crate::py::ship(&Value::list(v)) {
                            Ok(s) => Some(s),
                            Err(e) => {
                                let outcome = TaskOutcome::Failed { error: e.last_line() };
                                self.report(now, &spec, 0, done(spec.tid, outcome));
                                return;
                            }
                        }
                    }
                    None => None,
                };
                let cached =
                    self.engine.cached_blocks().into_iter().filter(|b| !before.contains(b)).collect::<Vec<_>>();
                SparkMsg::TaskDone { tid: spec.tid, outcome: TaskOutcome::Success, result, cached, printed, accumulators }
            }
            Err(e) => SparkMsg::TaskDone {
                tid: spec.tid,
                outcome: TaskOutcome::Failed {
                    error: format!("org.apache.spark.api.python.PythonException: {}", e.traceback),
                },
                result: None,
                cached: vec![],
                printed,
                accumulators: vec![],
            },
        };
        // Fetched blocks served their task.
        self.engine.remote_blocks.clear();
        self.report(now, &spec, records, msg);
    }

    fn report(&mut self, now: Millis, spec: &TaskSpec, records: u64, msg: SparkMsg) {
        let run = self.config.task_base_ms + records * self.config.task_us_per_record / 1000;
        self.finishing.insert((now + run, spec.tid), msg);
    }

    fn wake(&mut self, now: Millis, out: &mut Out) {
        while let Some((&(at, tid), _)) = self.finishing.iter().next() {
            if at > now {
                break;
            }
            let msg = self.finishing.remove(&(at, tid)).expect("present");
            self.tasks_done += 1;
            out.push(Effect::Send { to: DRIVER, msg });
        }
        let stale: Vec<TaskId> =
            self.fetching.iter().filter(|(_, f)| now >= f.since + FETCH_TIMEOUT_MS).map(|(&t, _)| t).collect();
        for tid in stale {
            let f = self.fetching.remove(&tid).expect("listed");
            let (peer, blocks) = f.waiting.iter().next().expect("a stale fetch waits for someone");
            let outcome = TaskOutcome::FetchFailed { shuffle: blocks[0].0, map_partition: blocks[0].1, executor: Some(*peer) };
            out.push(Effect::Send { to: DRIVER, msg: done(tid, outcome) });
        }
        self.arm(out);
    }

    /// A peer executor died: tasks fetching from it fail with FetchFailed at once.
    fn peer_lost(&mut self, _now: Millis, peer: NodeId, out: &mut Out) {
        let hit: Vec<TaskId> = self.fetching.iter().filter(|(_, f)| f.waiting.contains_key(&peer)).map(|(&t, _)| t).collect();
        for tid in hit {
            let f = self.fetching.remove(&tid).expect("listed");
            let blocks = &f.waiting[&peer];
            let outcome = TaskOutcome::FetchFailed { shuffle: blocks[0].0, map_partition: blocks[0].1, executor: Some(peer) };
            out.push(Effect::Send { to: DRIVER, msg: done(tid, outcome) });
        }
        self.arm(out);
    }

    fn arm(&self, out: &mut Out) {
        let next_finish = self.finishing.keys().next().map(|(at, _)| *at);
        let next_timeout = self.fetching.values().map(|f| f.since + FETCH_TIMEOUT_MS).min();
        if let Some(at) = next_finish.into_iter().chain(next_timeout).min() {
            out.push(Effect::WakeAt(at));
        }
    }
}

fn driver_engine(fs: SimFs) -> Engine {
    let mut e = Engine::new_driver(fs);
    super::pyspark::prepare_driver(&mut e);
    e
}

fn done(tid: TaskId, outcome: TaskOutcome) -> SparkMsg {
    SparkMsg::TaskDone { tid, outcome, result: None, cached: vec![], printed: String::new(), accumulators: vec![] }
}

/// About how many bytes a record takes pickled: for the executors panel's shuffle bytes.
pub fn approx_size(v: &Value) -> u64 {
    match v {
        Value::Str(s) => 5 + s.len() as u64,
        Value::Tuple(t) => 2 + t.iter().map(approx_size).sum::<u64>(),
        Value::List(l) => 4 + l.borrow().iter().map(approx_size).sum::<u64>(),
        _ => 9,
    }
}
