//! Spark's standalone cluster manager with ZooKeeper high availability
//! (`spark.deploy.recoveryMode=ZOOKEEPER`), as sans-IO nodes: masters that elect a leader with a
//! Curator `LeaderLatch` and persist what they know, workers that register and heartbeat, and
//! one application (the driver's `StandaloneAppClient`) whose job runs tasks on the executors
//! the masters launch on the workers.
//!
//! ```text
//!             ZooKeeper (through the host, zk::port)
//!   /spark/leader_election/latch-000000000N   ephemeral sequential, one per master session
//!   /spark/master_status/worker_<id>, app_<id> persistent, written by the active master
//!        ▲ ZkCall / ZkAnswer ▼
//!   master1 (ALIVE) ◀─RegisterWorker/Heartbeat── worker1..W ◀──LaunchTask── app
//!   master2 (STANDBY)  ──RegisteredWorker/LaunchExecutor──▶  ──StatusUpdate──▶
//!   master3 (STANDBY)  ◀──────────────RegisterApplication──────────────────── app
//!
//!   kill master1 ─▶ its session expires (ZooKeeper caps Spark's 60 s request at maxSessionTimeout)
//!     ─▶ latch-…1 vanishes ─▶ master2's watch on its predecessor fires ─▶ lowest ─▶ elected
//!     ─▶ reads /spark/master_status ─▶ RECOVERING: workers, apps UNKNOWN, MasterChanged to each
//!     ─▶ WorkerSchedulerStateResponse / MasterChangeAcknowledged ─▶ all answered (or 60 s)
//!     ─▶ COMPLETING_RECOVERY (drop the silent) ─▶ ALIVE ─▶ schedule()
//! ```
//!
//! What each piece follows (Apache Spark 3.x, `core/src/main/scala/org/apache/spark/deploy`):
//! - `master/Master.scala`: `ElectedLeader` (RECOVERING if anything is stored, else ALIVE),
//!   `beginRecovery` (stored workers and apps UNKNOWN, `MasterChanged` to each),
//!   `canCompleteRecovery` / `completeRecovery` (scheduled `spark.worker.timeout` after election;
//!   earlier once nothing is UNKNOWN), `RevokedLeadership` (the master exits), `RegisterWorker`
//!   (`MasterInStandby` from a standby; duplicate ids acknowledged), `Heartbeat`
//!   (`ReconnectWorker` to a worker it had removed), `CheckForWorkerTimeOut` every
//!   `spark.worker.timeout`, `onDisconnected` (a worker's or driver's connection reset removes it),
//!   `schedule()` (one executor per alive worker, only when ALIVE).
//! - `master/ZooKeeperLeaderElectionAgent.scala` over Curator's `LeaderLatch`: an
//!   EPHEMERAL_SEQUENTIAL `latch-` node under `/spark/leader_election`; the lowest sequence leads;
//!   the others watch their predecessor. Curator drops leadership on SUSPENDED and LOST
//!   connection states, and the agent then tells the master, which exits.
//! - `master/ZooKeeperPersistenceEngine.scala`: its own Curator session; `worker_<id>` and
//!   `app_<id>` znodes under `/spark/master_status` (Java serialization there, JSON here).
//!   Spark writes synchronously before answering, so the master here acknowledges a registration
//!   only once its znode is written.
//! - `worker/Worker.scala`: `tryRegisterAllMasters`, `reregisterWithMaster` (6 attempts at 5–15 s,
//!   then up to 16 at 30–90 s, then "All masters are unresponsive! Giving up."; a worker that has
//!   had a master retries only that one), heartbeats every `spark.worker.timeout / 4` (15 s)
//!   while connected, `MasterChanged` → `changeMaster` + `WorkerSchedulerStateResponse`,
//!   `masterDisconnected` on a reset from its master.
//! - `client/StandaloneAppClient.scala`: `RegisterApplication` to every master, retried every 20 s
//!   up to 3 times; `MasterChanged` → `MasterChangeAcknowledged`; a reset from the master only
//!   marks it disconnected (it waits for a new master to call).
//! - `master/RecoveryState.scala`: STANDBY, ALIVE, RECOVERING, COMPLETING_RECOVERY (plus `Down`
//!   here: the process has exited).
//!
//! Simplifications, stated: an executor lives inside its worker node (killing a worker kills
//! its executors); a worker's id carries its boot time, as Spark's carries its random port, so a
//! restarted worker is a new endpoint and messages to the old one (`endpoint`) are dropped; one
//! core per worker and one task per executor; no drivers in cluster mode (`driver_` znodes).
//! Curator keeps a session across a SUSPENDED connection and re-creates its latch node on
//! RECONNECTED; a standby here instead closes a session that failed and opens a fresh one.

use crate::sim::{Effect, Effects, Millis, NodeId, Process, Rng};
use crate::zk::port::{Handle, ZkAnswer, ZkCall, ZkReply, ZkRequest};
use crate::zk::{Acl, CreateMode, Op, OpResult, SessionId, ZkError};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// `spark.deploy.zookeeper.dir` + `/leader_election`.
pub const ELECTION_DIR: &str = "/spark/leader_election";
/// `spark.deploy.zookeeper.dir` + `/master_status`.
pub const STATUS_DIR: &str = "/spark/master_status";
/// Curator's `LeaderLatch.LOCK_NAME`.
pub const LATCH_PREFIX: &str = "latch-";

/// The node ids of a standalone cluster: masters `1..=M`, workers `11..=10+W`, the app `20`.
pub fn master_node(n: u32) -> NodeId {
    n
}
pub fn worker_node(n: u32) -> NodeId {
    10 + n
}
pub const APP_NODE: NodeId = 20;

/// What kind of node an id names in a standalone cluster.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Role {
    Master(u32),
    Worker(u32),
    App,
}

pub fn role_of(node: NodeId) -> Role {
    match node {
        APP_NODE => Role::App,
        n if n > 10 => Role::Worker(n - 10),
        n => Role::Master(n),
    }
}

/// A node's display name: `master1`, `worker2`, `app`.
pub fn node_name(node: NodeId) -> String {
    match role_of(node) {
        Role::Master(n) => format!("master{n}"),
        Role::Worker(n) => format!("worker{n}"),
        Role::App => "app".to_string(),
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StandaloneConfig {
    pub seed: u64,
    pub masters: u32,
    pub workers: u32,
    /// `spark.deploy.zookeeper.url`; empty: every server of the ensemble.
    pub zk_hosts: String,
    /// What Spark's `SparkCuratorUtil` asks for (`ZK_SESSION_TIMEOUT_MILLIS`, 60 s); the servers
    /// clamp it to their `maxSessionTimeout` (20 ticks = 40 s with the default tickTime).
    pub zk_session_timeout_ms: u32,
    /// `spark.worker.timeout` (60 s): recovery deadline, dead-worker timeout, heartbeat × 4.
    pub worker_timeout_ms: Millis,
    /// Workers and the app start this long after the masters (`start-master.sh` first).
    pub launch_after_ms: Millis,
    /// The job: this many tasks, each running this long on an executor.
    pub job_tasks: u32,
    pub task_ms: Millis,
    /// How often a master asks ZooKeeper about its own latch node, standing in for the
    /// connection-state events Curator's listener gets (see `handle_probe`).
    pub zk_probe_ms: Millis,
}

impl Default for StandaloneConfig {
    fn default() -> Self {
        StandaloneConfig {
            seed: 1,
            masters: 2,
            workers: 3,
            zk_hosts: String::new(),
            zk_session_timeout_ms: 60_000,
            worker_timeout_ms: 60_000,
            launch_after_ms: 2_000,
            job_tasks: 300,
            task_ms: 1_000,
            zk_probe_ms: 2_000,
        }
    }
}

impl StandaloneConfig {
    pub fn master_nodes(&self) -> Vec<NodeId> {
        (1..=self.masters).map(master_node).collect()
    }
    pub fn worker_nodes(&self) -> Vec<NodeId> {
        (1..=self.workers).map(worker_node).collect()
    }
    pub fn heartbeat_ms(&self) -> Millis {
        self.worker_timeout_ms / 4
    }
}

/// `RecoveryState`, plus `Down` for a master process that has exited.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum MasterState {
    Standby,
    Alive,
    Recovering,
    CompletingRecovery,
    Down,
}

impl MasterState {
    pub fn as_str(self) -> &'static str {
        match self {
            MasterState::Standby => "standby",
            MasterState::Alive => "alive",
            MasterState::Recovering => "recovering",
            MasterState::CompletingRecovery => "completing-recovery",
            MasterState::Down => "down",
        }
    }
    /// The states of a master that holds (or believes it holds) leadership.
    pub fn is_leading(self) -> bool {
        matches!(self, MasterState::Alive | MasterState::Recovering | MasterState::CompletingRecovery)
    }
}

/// `WorkerState` as a master records it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum WorkerState {
    Alive,
    Unknown,
    Dead,
}

/// `ApplicationState` as a master records it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AppState {
    Waiting,
    Running,
    Unknown,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum StandaloneMsg {
    RegisterWorker { worker_id: String, cores: u32 },
    RegisteredWorker { duplicate: bool },
    RegisterWorkerFailed { message: String },
    MasterInStandby,
    Heartbeat { worker_id: String },
    ReconnectWorker,
    /// From a newly elected master to the endpoint (worker or app id) it read from storage.
    MasterChanged { master: NodeId, endpoint: String },
    WorkerSchedulerStateResponse { worker_id: String, executors: Vec<(String, u32)> },
    RegisterApplication { name: String },
    RegisteredApplication { app_id: String },
    MasterChangeAcknowledged { app_id: String },
    LaunchExecutor { worker_id: String, app_id: String, exec_id: u32, app_node: NodeId },
    /// Master → app: an executor is gone (`ExecutorState.LOST`).
    ExecutorLost { app_id: String, exec_id: u32 },
    /// Executor → driver (`RegisterExecutor` of `CoarseGrainedSchedulerBackend`).
    RegisterExecutor { app_id: String, exec_id: u32, worker_id: String },
    LaunchTask { exec_id: u32, task: u32 },
    StatusUpdate { exec_id: u32, task: u32 },
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum StandaloneEvent {
    /// For the host: a ZooKeeper call (see `zk::port`).
    Zk(ZkCall),
    /// A master's `RecoveryState` changed (also emitted once at start: `Standby`).
    MasterState { state: MasterState },
    /// The latch says this master leads ("I have been elected leader!").
    Elected { latch: String },
    /// "Leadership has been revoked -- master shutting down."
    LeadershipRevoked { reason: String },
    /// Master side.
    WorkerRegistered { worker: String, node: NodeId },
    WorkerRecovered { worker: String },
    WorkerRemoved { worker: String, reason: String },
    AppRegistered { app: String },
    AppRecovered { app: String },
    AppRemoved { app: String, reason: String },
    /// Worker side: the process started (it launches after `launch_after_ms`).
    WorkerBooted,
    /// Worker side: started with this id; now talks to `master`; gave up (exits).
    WorkerStarted { worker: String },
    WorkerConnected { worker: String, master: NodeId },
    WorkerDisconnected { worker: String, master: NodeId },
    WorkerGaveUp { worker: String },
    /// App side.
    AppConnected { app: String, master: NodeId },
    AppDisconnected { master: NodeId },
    AppGaveUp,
    TaskFinished { task: u32, done: u32 },
    JobFinished { tasks: u32 },
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum StandaloneCommand {
    Zk(ZkAnswer),
}

/// What a master knows of a worker.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkerEntry {
    pub id: String,
    pub node: NodeId,
    pub state: WorkerState,
    pub last_heartbeat: Millis,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppEntry {
    pub id: String,
    pub node: NodeId,
    pub state: AppState,
    /// exec id → worker id.
    pub executors: BTreeMap<u32, String>,
    pub next_exec_id: u32,
}

/// What the persistence engine stores per worker (`worker_<id>`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredWorker {
    pub id: String,
    pub node: NodeId,
    pub cores: u32,
}

/// What the persistence engine stores per app (`app_<id>`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredApp {
    pub id: String,
    pub node: NodeId,
    pub name: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MasterView {
    pub node: NodeId,
    pub state: MasterState,
    /// The latch made it leader (true from election on, while it reads the stored state too).
    pub leader: bool,
    /// This master's latch znode, once created.
    pub latch: Option<String>,
    pub election_session: Option<SessionId>,
    pub workers: Vec<WorkerEntry>,
    pub apps: Vec<AppEntry>,
    pub recovery_deadline: Option<Millis>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkerView {
    pub node: NodeId,
    /// None until launched.
    pub id: Option<String>,
    pub registered: bool,
    pub connected: bool,
    /// The master it believes active.
    pub master: Option<NodeId>,
    /// (app id, exec id).
    pub executors: Vec<(String, u32)>,
    pub running_tasks: u32,
    pub gave_up: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppView {
    pub node: NodeId,
    pub app_id: Option<String>,
    pub master: Option<NodeId>,
    pub disconnected: bool,
    pub executors: Vec<(u32, NodeId)>,
    pub running: u32,
    pub done: u32,
    pub total: u32,
    pub dead: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum StandaloneView {
    Master(MasterView),
    Worker(WorkerView),
    App(AppView),
}

/// Timers of a node, earliest first; the node asks for a wake at the first one after each step.
#[derive(Clone, Debug)]
struct Timers<T: Ord + Copy> {
    due: BTreeSet<(Millis, T)>,
}

impl<T: Ord + Copy> Default for Timers<T> {
    fn default() -> Self {
        Timers { due: BTreeSet::new() }
    }
}

impl<T: Ord + Copy> Timers<T> {
    fn set(&mut self, at: Millis, t: T) {
        self.due.retain(|&(_, x)| x != t);
        self.due.insert((at, t));
    }
    fn cancel(&mut self, t: T) {
        self.due.retain(|&(_, x)| x != t);
    }
    fn is_set(&self, t: T) -> bool {
        self.due.iter().any(|&(_, x)| x == t)
    }
    fn take_due(&mut self, now: Millis) -> Vec<T> {
        let mut fired = vec![];
        while let Some(&(at, t)) = self.due.first() {
            if at > now {
                break;
            }
            self.due.pop_first();
            fired.push(t);
        }
        fired
    }
    fn arm<M, E>(&self, out: &mut Effects<M, E>) {
        if let Some(&(at, _)) = self.due.first() {
            out.push(Effect::WakeAt(at));
        }
    }
}

type Out = Effects<StandaloneMsg, StandaloneEvent>;

fn send(out: &mut Out, to: NodeId, msg: StandaloneMsg) {
    out.push(Effect::Send { to, msg });
}

fn emit(out: &mut Out, e: StandaloneEvent) {
    out.push(Effect::Event(e));
}

// ───────────────────────────── master ─────────────────────────────

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum MasterTimer {
    Probe,
    CheckWorkerTimeout,
    CompleteRecovery,
    ReopenElection,
    ReopenPersistence,
}

/// What a master's outstanding ZooKeeper call was for.
#[derive(Clone, Debug, PartialEq, Eq)]
enum MasterCall {
    OpenElection,
    OpenPersistence,
    EnsureDir,
    LatchCreate,
    LatchChildren,
    LatchWatch,
    LatchAwait,
    Probe,
    ReadChildren,
    ReadData,
    /// Persist, then take on `entry` and send the reply to `to`.
    PersistAdd { to: NodeId, reply: StandaloneMsg, entry: Registration },
    PersistRemove,
    Close,
}

/// A registration a master takes on once its znode is written.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Registration {
    Worker(WorkerEntry),
    App(AppEntry),
}

/// One ZooKeeper session of a master: which handle, and whether it is open.
#[derive(Clone, Debug, Default)]
struct ZkSession {
    handle: Handle,
    session: Option<SessionId>,
}

#[derive(Clone, Debug)]
pub struct Master {
    node: NodeId,
    config: StandaloneConfig,
    state: MasterState,
    election: ZkSession,
    persistence: ZkSession,
    next_handle: Handle,
    next_call: u64,
    calls: BTreeMap<u64, (Handle, MasterCall)>,
    latch: Option<String>,
    /// The latch made this master leader (set at election, before the stored state is read).
    leader: bool,
    awaiting_watch: bool,
    /// Elected, waiting for the persistence session to read the stored state.
    read_pending: bool,
    /// Reading the stored state: answers still due, and what came back.
    reading: Option<(u32, Vec<StoredWorker>, Vec<StoredApp>)>,
    workers: BTreeMap<String, WorkerEntry>,
    apps: BTreeMap<String, AppEntry>,
    next_app_number: u32,
    recovery_deadline: Option<Millis>,
    timers: Timers<MasterTimer>,
}

/// Upper bound on a master's outstanding ZooKeeper calls.
const MAX_CALLS: usize = 10_000;

impl Master {
    pub fn new(node: NodeId, config: &StandaloneConfig) -> Master {
        Master {
            node,
            config: config.clone(),
            state: MasterState::Standby,
            election: ZkSession::default(),
            persistence: ZkSession::default(),
            next_handle: 0,
            next_call: 0,
            calls: BTreeMap::new(),
            latch: None,
            leader: false,
            awaiting_watch: false,
            read_pending: false,
            reading: None,
            workers: BTreeMap::new(),
            apps: BTreeMap::new(),
            next_app_number: 0,
            recovery_deadline: None,
            timers: Timers::default(),
        }
    }

    pub fn state(&self) -> MasterState {
        self.state
    }

    fn start(&mut self, now: Millis, out: &mut Out) {
        emit(out, StandaloneEvent::MasterState { state: MasterState::Standby });
        self.open_election(out);
        self.open_persistence(out);
        self.timers.set(now + self.config.zk_probe_ms, MasterTimer::Probe);
        self.timers.set(now + self.config.worker_timeout_ms, MasterTimer::CheckWorkerTimeout);
    }

    fn call(&mut self, out: &mut Out, handle: Handle, purpose: MasterCall, req: ZkRequest) {
        assert!(self.calls.len() < MAX_CALLS, "master {} has {MAX_CALLS} ZooKeeper calls outstanding", self.node);
        self.next_call += 1;
        self.calls.insert(self.next_call, (handle, purpose));
        emit(out, StandaloneEvent::Zk(ZkCall { id: self.next_call, handle, req }));
    }

    fn open_request(&self) -> ZkRequest {
        ZkRequest::Open { hosts: self.config.zk_hosts.clone(), timeout_ms: self.config.zk_session_timeout_ms }
    }

    fn open_election(&mut self, out: &mut Out) {
        self.next_handle += 1;
        self.election = ZkSession { handle: self.next_handle, session: None };
        self.latch = None;
        self.awaiting_watch = false;
        let req = self.open_request();
        self.call(out, self.election.handle, MasterCall::OpenElection, req);
    }

    fn open_persistence(&mut self, out: &mut Out) {
        self.next_handle += 1;
        self.persistence = ZkSession { handle: self.next_handle, session: None };
        let req = self.open_request();
        self.call(out, self.persistence.handle, MasterCall::OpenPersistence, req);
    }

    fn answer(&mut self, now: Millis, a: ZkAnswer, out: &mut Out) {
        let Some((handle, purpose)) = self.calls.remove(&a.id) else { return };
        assert_eq!(handle, a.handle, "answer {} came back on another handle", a.id);
        if self.state == MasterState::Down {
            return;
        }
        let current = handle == self.election.handle || handle == self.persistence.handle;
        if !current {
            return; // a session this master has given up
        }
        match (purpose, a.reply) {
            (MasterCall::OpenElection, ZkReply::Opened { session, .. }) => {
                self.election.session = Some(session);
                self.create_latch(out);
            }
            (MasterCall::OpenPersistence, ZkReply::Opened { session, .. }) => {
                self.persistence.session = Some(session);
                if std::mem::take(&mut self.read_pending) {
                    self.read_persisted(out);
                }
            }
            (MasterCall::OpenElection, _) => self.timers.set(now + 1_000, MasterTimer::ReopenElection),
            (MasterCall::OpenPersistence, _) => self.timers.set(now + 1_000, MasterTimer::ReopenPersistence),
            (MasterCall::Close, _) | (MasterCall::EnsureDir, ZkReply::Op(Ok(_) | Err(ZkError::NodeExists))) => {}
            (MasterCall::LatchAwait, reply) => {
                self.awaiting_watch = false;
                if matches!(reply, ZkReply::Watch { .. }) {
                    self.check_latch(out);
                }
            }
            (MasterCall::Probe, ZkReply::Op(Ok(r))) => self.handle_probe(now, r, out),
            (MasterCall::LatchCreate, ZkReply::Op(Ok(OpResult::Created { path, .. }))) => {
                self.latch = Some(path);
                self.check_latch(out);
            }
            (MasterCall::LatchChildren, ZkReply::Op(Ok(OpResult::Children { children, .. }))) => {
                self.handle_latch_children(now, children, out)
            }
            (MasterCall::LatchWatch, ZkReply::Op(Ok(OpResult::NoStat))) => self.check_latch(out),
            (MasterCall::LatchWatch, ZkReply::Op(Ok(_))) => {
                if !self.awaiting_watch {
                    self.awaiting_watch = true;
                    let handle = self.election.handle;
                    self.call(out, handle, MasterCall::LatchAwait, ZkRequest::AwaitWatch { timeout_ms: None });
                }
            }
            (MasterCall::ReadChildren, ZkReply::Op(r)) => self.handle_stored_children(now, r, out),
            (MasterCall::ReadData, ZkReply::Op(r)) => self.handle_stored_data(now, r, out),
            (MasterCall::PersistAdd { to, reply, entry }, ZkReply::Op(Ok(_) | Err(ZkError::NodeExists))) => {
                self.registered(to, reply, entry, out)
            }
            (MasterCall::PersistRemove, ZkReply::Op(Ok(_) | Err(ZkError::NoNode))) => {}
            (purpose, ZkReply::Op(Err(e))) => self.handle_zk_error(now, handle, purpose, e, out),
            (purpose, reply) => panic!("master {}: unexpected reply {reply:?} to {purpose:?}", self.node),
        }
    }

    /// An op failed. On the election session a leader loses leadership (Curator's SUSPENDED or
    /// LOST) and exits; a standby starts over on a new session. The persistence session is
    /// reopened after an expiry; the write it carried is lost and its requester retries.
    fn handle_zk_error(&mut self, now: Millis, handle: Handle, purpose: MasterCall, e: ZkError, out: &mut Out) {
        if handle == self.election.handle {
            if self.leader {
                self.revoke(format!("{} on {purpose:?}", e.java_name()), out);
            } else {
                let handle = self.election.handle;
                self.call(out, handle, MasterCall::Close, ZkRequest::Close);
                self.election.session = None;
                self.timers.set(now + 1_000, MasterTimer::ReopenElection);
            }
        } else if e == ZkError::SessionExpired && self.persistence.session.is_some() {
            self.persistence.session = None;
            self.timers.set(now + 1_000, MasterTimer::ReopenPersistence);
        }
    }

    /// Curator's `LeaderLatch.start`: create the parents (`creatingParentContainersIfNeeded`)
    /// and an EPHEMERAL_SEQUENTIAL `latch-` node. Calls on one session are answered in order, so
    /// the creates can go out together.
    fn create_latch(&mut self, out: &mut Out) {
        let handle = self.election.handle;
        for dir in ["/spark", ELECTION_DIR, STATUS_DIR] {
            let op = Op::Create { path: dir.into(), data: vec![], acl: Acl::open_unsafe(), mode: CreateMode::Persistent, ttl_ms: None };
            self.call(out, handle, MasterCall::EnsureDir, ZkRequest::Op(op));
        }
        let op = Op::Create {
            path: format!("{ELECTION_DIR}/{LATCH_PREFIX}"),
            data: node_name(self.node).into_bytes(),
            acl: Acl::open_unsafe(),
            mode: CreateMode::EphemeralSequential,
            ttl_ms: None,
        };
        self.call(out, handle, MasterCall::LatchCreate, ZkRequest::Op(op));
    }

    /// `LeaderLatch.getChildren` → `checkLeadership`.
    fn check_latch(&mut self, out: &mut Out) {
        let op = Op::GetChildren { path: ELECTION_DIR.into(), watch: false };
        let handle = self.election.handle;
        self.call(out, handle, MasterCall::LatchChildren, ZkRequest::Op(op));
    }

    fn handle_latch_children(&mut self, now: Millis, children: Vec<String>, out: &mut Out) {
        let Some(ours) = self.latch.as_deref().map(crate::zk::path::basename).map(str::to_string) else { return };
        let sorted = sorted_latches(children);
        match sorted.iter().position(|c| *c == ours) {
            None => {
                // Our node is gone (its session expired under us): start over.
                if self.leader {
                    self.revoke("latch node vanished".into(), out);
                } else {
                    self.handle_zk_error(now, self.election.handle, MasterCall::LatchChildren, ZkError::NoNode, out);
                }
            }
            Some(0) => {
                if !self.leader {
                    self.leader = true;
                    emit(out, StandaloneEvent::Elected { latch: self.latch.clone().unwrap_or_default() });
                    self.elected(out);
                }
            }
            Some(i) => {
                let op = Op::Exists { path: format!("{ELECTION_DIR}/{}", sorted[i - 1]), watch: true };
                let handle = self.election.handle;
                self.call(out, handle, MasterCall::LatchWatch, ZkRequest::Op(op));
            }
        }
    }

    /// Curator's connection-state listener learns of SUSPENDED and LOST from the ZooKeeper
    /// client's watcher; `zk::port` passes no such events, so a master asks about its own latch
    /// node every `zk_probe_ms`: ConnectionLoss is SUSPENDED, SessionExpired is LOST (both in
    /// `handle_zk_error`), and a missing node means the session died.
    fn handle_probe(&mut self, now: Millis, r: OpResult, out: &mut Out) {
        if r == OpResult::NoStat {
            if self.leader {
                self.revoke("latch node vanished".into(), out);
            } else {
                self.handle_zk_error(now, self.election.handle, MasterCall::Probe, ZkError::NoNode, out);
            }
        }
    }

    /// `ElectedLeader`: read what the previous leader persisted.
    fn elected(&mut self, out: &mut Out) {
        if self.persistence.session.is_some() {
            self.read_persisted(out);
        } else {
            self.read_pending = true;
        }
    }

    fn read_persisted(&mut self, out: &mut Out) {
        self.reading = Some((1, vec![], vec![]));
        let op = Op::GetChildren { path: STATUS_DIR.into(), watch: false };
        let handle = self.persistence.handle;
        self.call(out, handle, MasterCall::ReadChildren, ZkRequest::Op(op));
    }

    fn handle_stored_children(&mut self, now: Millis, r: Result<OpResult, ZkError>, out: &mut Out) {
        let Some((pending, _, _)) = self.reading.as_mut() else { return };
        *pending -= 1;
        let children = match r {
            Ok(OpResult::Children { children, .. }) => children,
            Ok(other) => panic!("getChildren answered {other:?}"),
            Err(ZkError::NoNode) => vec![],
            Err(e) => {
                self.reading = None;
                return self.revoke(format!("cannot read {STATUS_DIR}: {}", e.java_name()), out);
            }
        };
        let handle = self.persistence.handle;
        for c in children.iter().filter(|c| c.starts_with("worker_") || c.starts_with("app_")) {
            self.reading.as_mut().expect("reading").0 += 1;
            let op = Op::GetData { path: format!("{STATUS_DIR}/{c}"), watch: false };
            self.call(out, handle, MasterCall::ReadData, ZkRequest::Op(op));
        }
        self.maybe_begin_recovery(now, out);
    }

    fn handle_stored_data(&mut self, now: Millis, r: Result<OpResult, ZkError>, out: &mut Out) {
        let Some((pending, workers, apps)) = self.reading.as_mut() else { return };
        *pending -= 1;
        if let Ok(OpResult::Data { data, .. }) = r {
            // Spark's `readPersistedData` deserializes each file; a corrupt one is deleted.
            let text = String::from_utf8_lossy(&data);
            if let Ok(w) = serde_json::from_str::<StoredWorker>(&text) {
                workers.push(w);
            } else if let Ok(a) = serde_json::from_str::<StoredApp>(&text) {
                apps.push(a);
            }
        }
        self.maybe_begin_recovery(now, out);
    }

    /// Once every stored file is read: RECOVERING (`beginRecovery`) or, with nothing stored,
    /// straight to ALIVE.
    fn maybe_begin_recovery(&mut self, now: Millis, out: &mut Out) {
        if self.reading.as_ref().is_some_and(|r| r.0 > 0) {
            return;
        }
        let Some((_, stored_workers, stored_apps)) = self.reading.take() else { return };
        if stored_workers.is_empty() && stored_apps.is_empty() {
            return self.become_alive(out);
        }
        self.become_state(MasterState::Recovering, out);
        for a in stored_apps {
            let number = a.id.rsplit('-').next().and_then(|n| n.parse::<u32>().ok()).unwrap_or(0);
            self.next_app_number = self.next_app_number.max(number + 1);
            let entry = AppEntry { id: a.id.clone(), node: a.node, state: AppState::Unknown, executors: BTreeMap::new(), next_exec_id: 0 };
            self.apps.insert(a.id.clone(), entry);
            send(out, a.node, StandaloneMsg::MasterChanged { master: self.node, endpoint: a.id });
        }
        for w in stored_workers {
            let entry = WorkerEntry { id: w.id.clone(), node: w.node, state: WorkerState::Unknown, last_heartbeat: now };
            self.workers.insert(w.id.clone(), entry);
            send(out, w.node, StandaloneMsg::MasterChanged { master: self.node, endpoint: w.id });
        }
        self.recovery_deadline = Some(now + self.config.worker_timeout_ms);
        self.timers.set(now + self.config.worker_timeout_ms, MasterTimer::CompleteRecovery);
    }

    fn can_complete_recovery(&self) -> bool {
        self.workers.values().all(|w| w.state != WorkerState::Unknown) && self.apps.values().all(|a| a.state != AppState::Unknown)
    }

    /// `completeRecovery`: drop whatever has not answered, then ALIVE and `schedule()`.
    fn complete_recovery(&mut self, now: Millis, out: &mut Out) {
        if self.state != MasterState::Recovering {
            return;
        }
        self.become_state(MasterState::CompletingRecovery, out);
        let silent: Vec<String> = self.workers.values().filter(|w| w.state == WorkerState::Unknown).map(|w| w.id.clone()).collect();
        for id in silent {
            self.remove_worker(now, &id, "Not responding for recovery", out);
        }
        let silent: Vec<String> = self.apps.values().filter(|a| a.state == AppState::Unknown).map(|a| a.id.clone()).collect();
        for id in silent {
            self.remove_app(&id, "Not responding for recovery", out);
        }
        self.recovery_deadline = None;
        self.timers.cancel(MasterTimer::CompleteRecovery);
        self.become_alive(out);
    }

    fn become_alive(&mut self, out: &mut Out) {
        for a in self.apps.values_mut() {
            if a.state == AppState::Waiting {
                a.state = AppState::Running;
            }
        }
        self.become_state(MasterState::Alive, out);
        self.schedule(out);
    }

    fn become_state(&mut self, state: MasterState, out: &mut Out) {
        let allowed = matches!(
            (self.state, state),
            (MasterState::Standby, MasterState::Alive | MasterState::Recovering)
                | (MasterState::Recovering, MasterState::CompletingRecovery)
                | (MasterState::CompletingRecovery, MasterState::Alive)
                | (_, MasterState::Down)
        );
        assert!(allowed, "master {}: invalid transition {:?} -> {state:?}", self.node, self.state);
        self.state = state;
        emit(out, StandaloneEvent::MasterState { state });
    }

    /// `RevokedLeadership`: the master exits; its sessions are closed on the way out.
    fn revoke(&mut self, reason: String, out: &mut Out) {
        emit(out, StandaloneEvent::LeadershipRevoked { reason });
        self.stop(out);
    }

    fn stop(&mut self, out: &mut Out) {
        for handle in [self.election.handle, self.persistence.handle] {
            self.call(out, handle, MasterCall::Close, ZkRequest::Close);
        }
        self.timers = Timers::default();
        self.become_state(MasterState::Down, out);
    }

    fn persist_add(&mut self, file: String, data: String, to: NodeId, reply: StandaloneMsg, entry: Registration, out: &mut Out) {
        let op = Op::Create { path: format!("{STATUS_DIR}/{file}"), data: data.into_bytes(), acl: Acl::open_unsafe(), mode: CreateMode::Persistent, ttl_ms: None };
        let handle = self.persistence.handle;
        self.call(out, handle, MasterCall::PersistAdd { to, reply, entry }, ZkRequest::Op(op));
    }

    fn persist_remove(&mut self, file: String, out: &mut Out) {
        let op = Op::Delete { path: format!("{STATUS_DIR}/{file}"), version: -1 };
        let handle = self.persistence.handle;
        self.call(out, handle, MasterCall::PersistRemove, ZkRequest::Op(op));
    }

    fn message(&mut self, now: Millis, from: NodeId, msg: StandaloneMsg, out: &mut Out) {
        if self.state == MasterState::Down {
            return;
        }
        if self.state == MasterState::Standby {
            // A standby answers only worker registrations, and only to say it is one.
            if let StandaloneMsg::RegisterWorker { .. } = msg {
                send(out, from, StandaloneMsg::MasterInStandby);
            }
            return;
        }
        match msg {
            StandaloneMsg::RegisterWorker { worker_id, cores } => self.handle_register_worker(now, from, worker_id, cores, out),
            StandaloneMsg::Heartbeat { worker_id } => match self.workers.get_mut(&worker_id) {
                Some(w) if w.state != WorkerState::Dead => w.last_heartbeat = now,
                Some(_) => send(out, from, StandaloneMsg::ReconnectWorker),
                None => {} // never registered here: ignored
            },
            StandaloneMsg::WorkerSchedulerStateResponse { worker_id, executors } => {
                self.handle_worker_state(worker_id, executors, out);
                if self.state == MasterState::Recovering && self.can_complete_recovery() {
                    self.complete_recovery(now, out);
                }
            }
            StandaloneMsg::RegisterApplication { name } => self.handle_register_app(now, from, name, out),
            StandaloneMsg::MasterChangeAcknowledged { app_id } => {
                if let Some(a) = self.apps.get_mut(&app_id) {
                    if a.state == AppState::Unknown {
                        a.state = AppState::Waiting;
                        emit(out, StandaloneEvent::AppRecovered { app: app_id });
                    }
                }
                if self.state == MasterState::Recovering && self.can_complete_recovery() {
                    self.complete_recovery(now, out);
                }
            }
            other => panic!("master {} got {other:?} from {from}", self.node),
        }
    }

    fn handle_register_worker(&mut self, now: Millis, from: NodeId, worker_id: String, cores: u32, out: &mut Out) {
        if self.workers.get(&worker_id).is_some_and(|w| w.state != WorkerState::Dead) {
            send(out, from, StandaloneMsg::RegisteredWorker { duplicate: true });
            return;
        }
        let entry = Registration::Worker(WorkerEntry { id: worker_id.clone(), node: from, state: WorkerState::Alive, last_heartbeat: now });
        let stored = serde_json::to_string(&StoredWorker { id: worker_id.clone(), node: from, cores }).expect("json");
        let reply = StandaloneMsg::RegisteredWorker { duplicate: false };
        self.persist_add(format!("worker_{worker_id}"), stored, from, reply, entry, out);
    }

    /// The znode of a registration is written: take it on, answer, `schedule()` (Spark's order:
    /// `persistenceEngine.addWorker`, `RegisteredWorker`, `schedule()`).
    fn registered(&mut self, to: NodeId, reply: StandaloneMsg, entry: Registration, out: &mut Out) {
        if !self.state.is_leading() {
            return;
        }
        match entry {
            Registration::Worker(w) => {
                emit(out, StandaloneEvent::WorkerRegistered { worker: w.id.clone(), node: w.node });
                self.workers.insert(w.id.clone(), w);
            }
            Registration::App(a) => {
                emit(out, StandaloneEvent::AppRegistered { app: a.id.clone() });
                self.apps.insert(a.id.clone(), a);
            }
        }
        send(out, to, reply);
        self.schedule(out);
    }

    fn handle_worker_state(&mut self, worker_id: String, executors: Vec<(String, u32)>, out: &mut Out) {
        let Some(w) = self.workers.get_mut(&worker_id) else { return }; // "from unknown worker"
        if w.state == WorkerState::Unknown {
            w.state = WorkerState::Alive;
            emit(out, StandaloneEvent::WorkerRecovered { worker: worker_id.clone() });
        }
        for (app_id, exec_id) in executors {
            if let Some(app) = self.apps.get_mut(&app_id) {
                app.executors.insert(exec_id, worker_id.clone());
                app.next_exec_id = app.next_exec_id.max(exec_id + 1);
            }
        }
    }

    fn handle_register_app(&mut self, now: Millis, from: NodeId, name: String, out: &mut Out) {
        let app_id = format!("app-{:08}-{:04}", now / 1000, self.next_app_number);
        self.next_app_number += 1;
        let entry = Registration::App(AppEntry { id: app_id.clone(), node: from, state: AppState::Waiting, executors: BTreeMap::new(), next_exec_id: 0 });
        let stored = serde_json::to_string(&StoredApp { id: app_id.clone(), node: from, name }).expect("json");
        self.persist_add(format!("app_{app_id}"), stored, from, StandaloneMsg::RegisteredApplication { app_id }, entry, out);
    }

    /// `schedule()`: one executor of every waiting or running app on every alive worker that has
    /// none of it yet (spread out, one core each). Only an ALIVE master schedules.
    fn schedule(&mut self, out: &mut Out) {
        if self.state != MasterState::Alive {
            return;
        }
        let alive: Vec<(String, NodeId)> = self.workers.values().filter(|w| w.state == WorkerState::Alive).map(|w| (w.id.clone(), w.node)).collect();
        for app in self.apps.values_mut().filter(|a| a.state != AppState::Unknown) {
            for (worker_id, node) in &alive {
                if app.executors.values().any(|w| w == worker_id) {
                    continue;
                }
                let exec_id = app.next_exec_id;
                app.next_exec_id += 1;
                app.executors.insert(exec_id, worker_id.clone());
                app.state = AppState::Running;
                let msg = StandaloneMsg::LaunchExecutor { worker_id: worker_id.clone(), app_id: app.id.clone(), exec_id, app_node: app.node };
                send(out, *node, msg);
            }
        }
    }

    /// `removeWorker`: DEAD, its executors lost (the apps hear of it), its znode deleted.
    fn remove_worker(&mut self, _now: Millis, id: &str, reason: &str, out: &mut Out) {
        let Some(w) = self.workers.get_mut(id) else { return };
        if w.state == WorkerState::Dead {
            return;
        }
        w.state = WorkerState::Dead;
        for app in self.apps.values_mut() {
            let lost: Vec<u32> = app.executors.iter().filter(|(_, wid)| *wid == id).map(|(&e, _)| e).collect();
            for exec_id in lost {
                app.executors.remove(&exec_id);
                send(out, app.node, StandaloneMsg::ExecutorLost { app_id: app.id.clone(), exec_id });
            }
        }
        emit(out, StandaloneEvent::WorkerRemoved { worker: id.to_string(), reason: reason.to_string() });
        self.persist_remove(format!("worker_{id}"), out);
    }

    /// `finishApplication` / `removeApplication`.
    fn remove_app(&mut self, id: &str, reason: &str, out: &mut Out) {
        if self.apps.remove(id).is_none() {
            return;
        }
        emit(out, StandaloneEvent::AppRemoved { app: id.to_string(), reason: reason.to_string() });
        self.persist_remove(format!("app_{id}"), out);
    }

    /// `onDisconnected`: a worker's or a driver's process died (its connection reset).
    fn connection_lost(&mut self, now: Millis, peer: NodeId, out: &mut Out) {
        if !self.state.is_leading() {
            return;
        }
        let gone: Vec<String> = self.workers.values().filter(|w| w.node == peer && w.state != WorkerState::Dead).map(|w| w.id.clone()).collect();
        for id in gone {
            self.remove_worker(now, &id, "worker disconnected", out);
        }
        let gone: Vec<String> = self.apps.values().filter(|a| a.node == peer).map(|a| a.id.clone()).collect();
        for id in gone {
            self.remove_app(&id, "driver disconnected", out);
        }
    }

    fn wake(&mut self, now: Millis, out: &mut Out) {
        for t in self.timers.take_due(now) {
            if self.state == MasterState::Down {
                break;
            }
            match t {
                MasterTimer::Probe => {
                    if let (Some(latch), Some(_)) = (self.latch.clone(), self.election.session) {
                        let handle = self.election.handle;
                        self.call(out, handle, MasterCall::Probe, ZkRequest::Op(Op::Exists { path: latch, watch: false }));
                    }
                    self.timers.set(now + self.config.zk_probe_ms, MasterTimer::Probe);
                }
                MasterTimer::CheckWorkerTimeout => {
                    self.time_out_dead_workers(now, out);
                    self.timers.set(now + self.config.worker_timeout_ms, MasterTimer::CheckWorkerTimeout);
                }
                MasterTimer::CompleteRecovery => self.complete_recovery(now, out),
                MasterTimer::ReopenElection => self.open_election(out),
                MasterTimer::ReopenPersistence => self.open_persistence(out),
            }
        }
    }

    /// `timeOutDeadWorkers`: remove workers silent for `spark.worker.timeout`; forget DEAD ones
    /// after `spark.dead.worker.persistence` (15) more timeouts.
    fn time_out_dead_workers(&mut self, now: Millis, out: &mut Out) {
        let timeout = self.config.worker_timeout_ms;
        let silent: Vec<String> = self
            .workers
            .values()
            .filter(|w| w.state != WorkerState::Dead && w.last_heartbeat + timeout < now)
            .map(|w| w.id.clone())
            .collect();
        for id in silent {
            self.remove_worker(now, &id, "Worker heartbeat timeout", out);
        }
        self.workers.retain(|_, w| w.state != WorkerState::Dead || w.last_heartbeat + 16 * timeout >= now);
    }

    pub fn view(&self) -> MasterView {
        MasterView {
            node: self.node,
            state: self.state,
            leader: self.leader,
            latch: self.latch.clone(),
            election_session: self.election.session,
            workers: self.workers.values().cloned().collect(),
            apps: self.apps.values().cloned().collect(),
            recovery_deadline: self.recovery_deadline,
        }
    }

    fn check_invariants(&self) -> Result<(), String> {
        if self.state == MasterState::Standby && !(self.workers.is_empty() && self.apps.is_empty()) {
            return Err("a standby master holds workers or apps".into());
        }
        if (self.state == MasterState::Recovering) != self.recovery_deadline.is_some() {
            return Err(format!("{:?} with recovery deadline {:?}", self.state, self.recovery_deadline));
        }
        if self.state.is_leading() && !(self.leader && self.latch.is_some()) {
            return Err("leading without holding the latch".into());
        }
        for app in self.apps.values() {
            for w in app.executors.values() {
                if self.workers.get(w).is_none_or(|w| w.state == WorkerState::Dead) {
                    return Err(format!("{} has an executor on dead or unknown worker {w}", app.id));
                }
            }
        }
        Ok(())
    }
}

/// Latch children in Curator's order: by the sequence suffix (`LockInternals.getSortedChildren`).
pub fn sorted_latches(children: Vec<String>) -> Vec<String> {
    let mut latches: Vec<String> = children.into_iter().filter(|c| c.contains(LATCH_PREFIX)).collect();
    latches.sort_by_key(|c| (c.rsplit(LATCH_PREFIX).next().unwrap_or("").to_string(), c.clone()));
    latches
}

// ───────────────────────────── worker ─────────────────────────────

/// `Worker.INITIAL_REGISTRATION_RETRIES` and `TOTAL_REGISTRATION_RETRIES`.
const INITIAL_REGISTRATION_RETRIES: u32 = 6;
const TOTAL_REGISTRATION_RETRIES: u32 = 16;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum WorkerTimer {
    Launch,
    Reregister,
    Heartbeat,
    TaskDone(u32, u32),
}

#[derive(Clone, Debug)]
pub struct Worker {
    node: NodeId,
    config: StandaloneConfig,
    id: Option<String>,
    registered: bool,
    connected: bool,
    master: Option<NodeId>,
    attempts: u32,
    /// The registration retry timer is running (`registrationRetryTimer`).
    retrying: bool,
    /// `REGISTRATION_RETRY_FUZZ_MULTIPLIER` in thousandths, drawn once per process.
    fuzz_permille: u64,
    /// (app id, exec id) → the app's node.
    executors: BTreeMap<(String, u32), NodeId>,
    /// Tasks running: (exec id, task).
    running: BTreeSet<(u32, u32)>,
    gave_up: bool,
    timers: Timers<WorkerTimer>,
}

impl Worker {
    pub fn new(node: NodeId, config: &StandaloneConfig) -> Worker {
        Worker {
            node,
            config: config.clone(),
            id: None,
            registered: false,
            connected: false,
            master: None,
            attempts: 0,
            retrying: false,
            fuzz_permille: 1000,
            executors: BTreeMap::new(),
            running: BTreeSet::new(),
            gave_up: false,
            timers: Timers::default(),
        }
    }

    fn start(&mut self, now: Millis, out: &mut Out) {
        let mut rng = Rng::new(self.config.seed ^ (u64::from(self.node) << 32) ^ now);
        self.fuzz_permille = 500 + rng.below(1000);
        self.timers.set(now.max(self.config.launch_after_ms), WorkerTimer::Launch);
        emit(out, StandaloneEvent::WorkerBooted);
    }

    fn launch(&mut self, now: Millis, out: &mut Out) {
        let id = format!("worker-{now:08}-{}", node_name(self.node));
        emit(out, StandaloneEvent::WorkerStarted { worker: id.clone() });
        self.id = Some(id);
        self.register_with_master(now, out);
    }

    fn id(&self) -> String {
        self.id.clone().expect("worker launched")
    }

    fn send_register(&self, to: NodeId, out: &mut Out) {
        send(out, to, StandaloneMsg::RegisterWorker { worker_id: self.id(), cores: 1 });
    }

    /// `registerWithMaster`: unless a retry timer runs already, try every master and start one.
    fn register_with_master(&mut self, now: Millis, out: &mut Out) {
        if self.retrying {
            return;
        }
        self.registered = false;
        for m in self.config.master_nodes() {
            self.send_register(m, out);
        }
        self.attempts = 0;
        self.retrying = true;
        self.timers.set(now + 10 * self.fuzz_permille, WorkerTimer::Reregister);
    }

    /// `reregisterWithMaster`: a worker that has had a master retries that one only.
    fn reregister(&mut self, now: Millis, out: &mut Out) {
        self.attempts += 1;
        if self.registered {
            self.retrying = false;
            return;
        }
        if self.attempts > TOTAL_REGISTRATION_RETRIES {
            self.gave_up = true;
            self.retrying = false;
            self.timers = Timers::default();
            emit(out, StandaloneEvent::WorkerGaveUp { worker: self.id() });
            return;
        }
        match self.master {
            Some(m) => self.send_register(m, out),
            None => {
                for m in self.config.master_nodes() {
                    self.send_register(m, out);
                }
            }
        }
        let interval = if self.attempts >= INITIAL_REGISTRATION_RETRIES { 60 } else { 10 };
        self.timers.set(now + interval * self.fuzz_permille, WorkerTimer::Reregister);
    }

    fn change_master(&mut self, master: NodeId, out: &mut Out) {
        self.master = Some(master);
        self.connected = true;
        self.retrying = false;
        self.timers.cancel(WorkerTimer::Reregister);
        emit(out, StandaloneEvent::WorkerConnected { worker: self.id(), master });
    }

    fn message(&mut self, now: Millis, from: NodeId, msg: StandaloneMsg, out: &mut Out) {
        if self.id.is_none() || self.gave_up {
            return;
        }
        match msg {
            StandaloneMsg::RegisteredWorker { .. } => {
                self.registered = true;
                self.change_master(from, out);
                if !self.timers.is_set(WorkerTimer::Heartbeat) {
                    self.timers.set(now, WorkerTimer::Heartbeat);
                }
            }
            StandaloneMsg::MasterInStandby => {}
            StandaloneMsg::RegisterWorkerFailed { .. } => {
                if !self.registered {
                    self.gave_up = true;
                    self.timers = Timers::default();
                    emit(out, StandaloneEvent::WorkerGaveUp { worker: self.id() });
                }
            }
            StandaloneMsg::ReconnectWorker => self.register_with_master(now, out),
            StandaloneMsg::MasterChanged { master, endpoint } => {
                if Some(&endpoint) != self.id.as_ref() {
                    return; // sent to an earlier process of this node: that endpoint is gone
                }
                self.change_master(master, out);
                let executors = self.executors.keys().cloned().collect();
                send(out, master, StandaloneMsg::WorkerSchedulerStateResponse { worker_id: self.id(), executors });
                if !self.timers.is_set(WorkerTimer::Heartbeat) {
                    self.timers.set(now, WorkerTimer::Heartbeat);
                }
            }
            StandaloneMsg::LaunchExecutor { worker_id, app_id, exec_id, app_node } => {
                if Some(from) != self.master || Some(&worker_id) != self.id.as_ref() {
                    return; // "Invalid Master attempted to launch executor"
                }
                self.executors.insert((app_id.clone(), exec_id), app_node);
                send(out, app_node, StandaloneMsg::RegisterExecutor { app_id, exec_id, worker_id });
            }
            StandaloneMsg::LaunchTask { exec_id, task } => {
                if self.executors.keys().any(|(_, e)| *e == exec_id) && self.running.insert((exec_id, task)) {
                    self.timers.set(now + self.config.task_ms, WorkerTimer::TaskDone(exec_id, task));
                }
            }
            other => panic!("worker {} got {other:?} from {from}", self.node),
        }
    }

    fn connection_lost(&mut self, now: Millis, peer: NodeId, out: &mut Out) {
        if self.id.is_none() || self.gave_up {
            return;
        }
        if Some(peer) == self.master && self.connected {
            // `masterDisconnected`: "Connection to master failed! Waiting for master to reconnect..."
            self.connected = false;
            emit(out, StandaloneEvent::WorkerDisconnected { worker: self.id(), master: peer });
            self.register_with_master(now, out);
        }
        // An executor whose driver died exits.
        let gone: Vec<(String, u32)> = self.executors.iter().filter(|(_, &n)| n == peer).map(|(k, _)| k.clone()).collect();
        for k in gone {
            self.executors.remove(&k);
            self.running.retain(|&(e, _)| e != k.1);
        }
    }

    fn wake(&mut self, now: Millis, out: &mut Out) {
        for t in self.timers.take_due(now) {
            match t {
                WorkerTimer::Launch => self.launch(now, out),
                WorkerTimer::Reregister => self.reregister(now, out),
                WorkerTimer::Heartbeat => {
                    if let (true, Some(m)) = (self.connected, self.master) {
                        send(out, m, StandaloneMsg::Heartbeat { worker_id: self.id() });
                    }
                    self.timers.set(now + self.config.heartbeat_ms(), WorkerTimer::Heartbeat);
                }
                WorkerTimer::TaskDone(exec_id, task) => {
                    if self.running.remove(&(exec_id, task)) {
                        if let Some((_, &app)) = self.executors.iter().find(|((_, e), _)| *e == exec_id) {
                            send(out, app, StandaloneMsg::StatusUpdate { exec_id, task });
                        }
                    }
                }
            }
        }
    }

    pub fn view(&self) -> WorkerView {
        WorkerView {
            node: self.node,
            id: self.id.clone(),
            registered: self.registered,
            connected: self.connected,
            master: self.master,
            executors: self.executors.keys().cloned().collect(),
            running_tasks: self.running.len() as u32,
            gave_up: self.gave_up,
        }
    }

    fn check_invariants(&self) -> Result<(), String> {
        if self.connected && self.master.is_none() {
            return Err("connected without a master".into());
        }
        if self.running.len() > self.executors.len() {
            return Err(format!("{} tasks on {} executors", self.running.len(), self.executors.len()));
        }
        Ok(())
    }
}

// ───────────────────────────── app ─────────────────────────────

/// `StandaloneAppClient.REGISTRATION_TIMEOUT_SECONDS` and `REGISTRATION_RETRIES`.
const APP_REGISTRATION_TIMEOUT_MS: Millis = 20_000;
const APP_REGISTRATION_RETRIES: u32 = 3;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum AppTimer {
    Launch,
    RegistrationRetry,
}

/// The driver's application: its `StandaloneAppClient` and a job of independent tasks that the
/// driver runs on its executors directly, so the job goes on while no master is active.
#[derive(Clone, Debug)]
pub struct App {
    node: NodeId,
    config: StandaloneConfig,
    launched: bool,
    app_id: Option<String>,
    master: Option<NodeId>,
    disconnected: bool,
    attempts: u32,
    /// exec id → (worker node, worker id).
    executors: BTreeMap<u32, (NodeId, String)>,
    /// task → exec id.
    running: BTreeMap<u32, u32>,
    pending: BTreeSet<u32>,
    done: BTreeSet<u32>,
    dead: bool,
    timers: Timers<AppTimer>,
}

impl App {
    pub fn new(node: NodeId, config: &StandaloneConfig) -> App {
        App {
            node,
            config: config.clone(),
            launched: false,
            app_id: None,
            master: None,
            disconnected: false,
            attempts: 0,
            executors: BTreeMap::new(),
            running: BTreeMap::new(),
            pending: (0..config.job_tasks).collect(),
            done: BTreeSet::new(),
            dead: false,
            timers: Timers::default(),
        }
    }

    fn start(&mut self, now: Millis) {
        self.timers.set(now.max(self.config.launch_after_ms), AppTimer::Launch);
    }

    fn register(&mut self, now: Millis, out: &mut Out) {
        for m in self.config.master_nodes() {
            send(out, m, StandaloneMsg::RegisterApplication { name: "PythonPi".into() });
        }
        self.timers.set(now + APP_REGISTRATION_TIMEOUT_MS, AppTimer::RegistrationRetry);
    }

    fn message(&mut self, _now: Millis, from: NodeId, msg: StandaloneMsg, out: &mut Out) {
        if !self.launched || self.dead {
            return;
        }
        match msg {
            StandaloneMsg::RegisteredApplication { app_id } => {
                if self.app_id.is_some() {
                    return; // a second registration answered: Spark would take it; we keep the first
                }
                self.timers.cancel(AppTimer::RegistrationRetry);
                self.app_id = Some(app_id.clone());
                self.master = Some(from);
                self.disconnected = false;
                emit(out, StandaloneEvent::AppConnected { app: app_id, master: from });
            }
            StandaloneMsg::MasterChanged { master, endpoint } => {
                if self.app_id.as_ref() != Some(&endpoint) {
                    return;
                }
                self.master = Some(master);
                self.disconnected = false;
                send(out, master, StandaloneMsg::MasterChangeAcknowledged { app_id: endpoint.clone() });
                emit(out, StandaloneEvent::AppConnected { app: endpoint, master });
            }
            StandaloneMsg::RegisterExecutor { app_id, exec_id, worker_id } => {
                if self.app_id.as_ref() == Some(&app_id) {
                    self.executors.insert(exec_id, (from, worker_id));
                    self.dispatch(out);
                }
            }
            StandaloneMsg::ExecutorLost { app_id, exec_id } => {
                if self.app_id.as_ref() == Some(&app_id) {
                    self.lose_executors(|e, _| e == exec_id);
                    self.dispatch(out);
                }
            }
            StandaloneMsg::StatusUpdate { exec_id, task } => {
                if self.running.get(&task) == Some(&exec_id) {
                    self.running.remove(&task);
                    self.done.insert(task);
                    let done = self.done.len() as u32;
                    emit(out, StandaloneEvent::TaskFinished { task, done });
                    if done == self.config.job_tasks {
                        emit(out, StandaloneEvent::JobFinished { tasks: done });
                    }
                    self.dispatch(out);
                }
            }
            other => panic!("app got {other:?} from {from}"),
        }
    }

    /// One task per idle executor, lowest task first.
    fn dispatch(&mut self, out: &mut Out) {
        let busy: BTreeSet<u32> = self.running.values().copied().collect();
        let idle: Vec<(u32, NodeId)> = self.executors.iter().filter(|(e, _)| !busy.contains(e)).map(|(&e, (n, _))| (e, *n)).collect();
        for (exec_id, node) in idle {
            let Some(task) = self.pending.pop_first() else { break };
            self.running.insert(task, exec_id);
            send(out, node, StandaloneMsg::LaunchTask { exec_id, task });
        }
    }

    /// Executors gone: their running tasks go back to pending (a resubmitted task).
    fn lose_executors(&mut self, lost: impl Fn(u32, NodeId) -> bool) {
        let gone: Vec<u32> = self.executors.iter().filter(|(&e, (n, _))| lost(e, *n)).map(|(&e, _)| e).collect();
        for e in gone {
            self.executors.remove(&e);
            let tasks: Vec<u32> = self.running.iter().filter(|(_, &x)| x == e).map(|(&t, _)| t).collect();
            for t in tasks {
                self.running.remove(&t);
                self.pending.insert(t);
            }
        }
    }

    fn connection_lost(&mut self, _now: Millis, peer: NodeId, out: &mut Out) {
        if !self.launched || self.dead {
            return;
        }
        if Some(peer) == self.master && !self.disconnected {
            // `markDisconnected`: wait for a new master to call with MasterChanged.
            self.disconnected = true;
            emit(out, StandaloneEvent::AppDisconnected { master: peer });
        }
        self.lose_executors(|_, n| n == peer);
        self.dispatch(out);
    }

    fn wake(&mut self, now: Millis, out: &mut Out) {
        for t in self.timers.take_due(now) {
            match t {
                AppTimer::Launch => {
                    self.launched = true;
                    self.register(now, out);
                }
                AppTimer::RegistrationRetry => {
                    if self.app_id.is_some() {
                        continue;
                    }
                    self.attempts += 1;
                    if self.attempts >= APP_REGISTRATION_RETRIES {
                        self.dead = true; // "All masters are unresponsive! Giving up."
                        emit(out, StandaloneEvent::AppGaveUp);
                    } else {
                        self.register(now, out);
                    }
                }
            }
        }
    }

    pub fn view(&self) -> AppView {
        AppView {
            node: self.node,
            app_id: self.app_id.clone(),
            master: self.master,
            disconnected: self.disconnected,
            executors: self.executors.iter().map(|(&e, (n, _))| (e, *n)).collect(),
            running: self.running.len() as u32,
            done: self.done.len() as u32,
            total: self.config.job_tasks,
            dead: self.dead,
        }
    }

    fn check_invariants(&self) -> Result<(), String> {
        let accounted = self.pending.len() + self.running.len() + self.done.len();
        if accounted != self.config.job_tasks as usize {
            return Err(format!("{accounted} tasks accounted for, the job has {}", self.config.job_tasks));
        }
        if self.running.len() > self.executors.len() {
            return Err(format!("{} tasks running on {} executors", self.running.len(), self.executors.len()));
        }
        Ok(())
    }
}

// ───────────────────────────── the node ─────────────────────────────

/// A process of a standalone cluster.
#[derive(Clone, Debug)]
pub enum StandaloneNode {
    Master(Master),
    Worker(Worker),
    App(App),
}

impl StandaloneNode {
    /// The node `id` of a cluster laid out as `role_of` says.
    pub fn new(id: NodeId, config: &StandaloneConfig) -> StandaloneNode {
        match role_of(id) {
            Role::Master(_) => StandaloneNode::Master(Master::new(id, config)),
            Role::Worker(_) => StandaloneNode::Worker(Worker::new(id, config)),
            Role::App => StandaloneNode::App(App::new(id, config)),
        }
    }

    pub fn master(&self) -> Option<&Master> {
        match self {
            StandaloneNode::Master(m) => Some(m),
            _ => None,
        }
    }

    fn arm(&self, out: &mut Out) {
        match self {
            StandaloneNode::Master(m) => m.timers.arm(out),
            StandaloneNode::Worker(w) => w.timers.arm(out),
            StandaloneNode::App(a) => a.timers.arm(out),
        }
    }
}

impl Process for StandaloneNode {
    type Msg = StandaloneMsg;
    type Event = StandaloneEvent;
    type Command = StandaloneCommand;
    type View = StandaloneView;

    fn id(&self) -> NodeId {
        match self {
            StandaloneNode::Master(m) => m.node,
            StandaloneNode::Worker(w) => w.node,
            StandaloneNode::App(a) => a.node,
        }
    }

    fn start(&mut self, now: Millis, out: &mut Out) {
        match self {
            StandaloneNode::Master(m) => m.start(now, out),
            StandaloneNode::Worker(w) => w.start(now, out),
            StandaloneNode::App(a) => a.start(now),
        }
        self.arm(out);
    }

    fn message(&mut self, now: Millis, from: NodeId, msg: StandaloneMsg, out: &mut Out) {
        match self {
            StandaloneNode::Master(m) => m.message(now, from, msg, out),
            StandaloneNode::Worker(w) => w.message(now, from, msg, out),
            StandaloneNode::App(a) => a.message(now, from, msg, out),
        }
        self.arm(out);
    }

    fn wake(&mut self, now: Millis, out: &mut Out) {
        match self {
            StandaloneNode::Master(m) => m.wake(now, out),
            StandaloneNode::Worker(w) => w.wake(now, out),
            StandaloneNode::App(a) => a.wake(now, out),
        }
        self.arm(out);
    }

    fn connection_lost(&mut self, now: Millis, peer: NodeId, out: &mut Out) {
        match self {
            StandaloneNode::Master(m) => m.connection_lost(now, peer, out),
            StandaloneNode::Worker(w) => w.connection_lost(now, peer, out),
            StandaloneNode::App(a) => a.connection_lost(now, peer, out),
        }
        self.arm(out);
    }

    fn command(&mut self, now: Millis, cmd: StandaloneCommand, out: &mut Out) {
        match (self as &mut StandaloneNode, cmd) {
            (StandaloneNode::Master(m), StandaloneCommand::Zk(a)) => m.answer(now, a, out),
            (_, StandaloneCommand::Zk(a)) => panic!("ZooKeeper answer {a:?} for a node that made no call"),
        }
        self.arm(out);
    }

    fn view(&self) -> StandaloneView {
        match self {
            StandaloneNode::Master(m) => StandaloneView::Master(m.view()),
            StandaloneNode::Worker(w) => StandaloneView::Worker(w.view()),
            StandaloneNode::App(a) => StandaloneView::App(a.view()),
        }
    }

    fn check_invariants(&self) -> Result<(), String> {
        match self {
            StandaloneNode::Master(m) => m.check_invariants(),
            StandaloneNode::Worker(w) => w.check_invariants(),
            StandaloneNode::App(a) => a.check_invariants(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latches_sort_by_sequence_not_by_name() {
        let sorted = sorted_latches(vec!["latch-0000000012".into(), "x".into(), "latch-0000000003".into()]);
        assert_eq!(sorted, vec!["latch-0000000003".to_string(), "latch-0000000012".to_string()]);
    }

    #[test]
    fn node_layout_round_trips() {
        assert_eq!(role_of(master_node(2)), Role::Master(2));
        assert_eq!(role_of(worker_node(3)), Role::Worker(3));
        assert_eq!(role_of(APP_NODE), Role::App);
        assert_eq!(node_name(worker_node(1)), "worker1");
    }
}
