//! The page's model of a Spark program's run, folded from the driver's events: jobs, their
//! stages (RDDs inside, parent stages, task progress per partition, retries and failures), what
//! the program printed, what tasks printed per executor, and a timeline.
//!
//! ```text
//! ClusterEvent::{JobPlan, Listener(JobStart | StageSubmitted | TaskStart | TaskEnd | …), Stdout,
//!                Finished, TaskOutput} ─▶ JobsModel::apply ─▶ what the job view draws
//! ```

use crate::sim::{Millis, NodeId};
use crate::spark::cluster::{ClusterEvent, StagePlan};
use crate::spark::SparkEvent;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, VecDeque};

/// Timeline entries kept.
pub const TIMELINE_CAPACITY: usize = 300;

/// The page's test contract for a stage: `data-status`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum StageStatus {
    Pending,
    Running,
    Succeeded,
    Failed,
    /// Running again after a failure: lost tasks, a fetch failure, or lost map outputs.
    Retrying,
}

impl StageStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            StageStatus::Pending => "pending",
            StageStatus::Running => "running",
            StageStatus::Succeeded => "succeeded",
            StageStatus::Failed => "failed",
            StageStatus::Retrying => "retrying",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StageCard {
    pub stage: u32,
    pub attempt: u32,
    pub partitions: u32,
    pub rdds: Vec<(u32, String)>,
    pub parents: Vec<u32>,
    pub shuffle_map: bool,
    pub status: StageStatus,
    /// Tasks of the latest attempt (a resubmitted stage runs only its missing partitions; a
    /// `take` runs only the partitions it needs), and how many of them succeeded.
    pub tasks: u32,
    pub tasks_succeeded: u32,
    pub running: u32,
    /// Tasks that raised, or failed to fetch their input.
    pub failed_tasks: u32,
    /// Tasks lost with their executor.
    pub lost_tasks: u32,
    pub failure: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobCard {
    pub job: u32,
    pub stages: Vec<u32>,
    /// Stages submitted while this job ran; the others were skipped (their output existed).
    pub ran: Vec<u32>,
    /// `running` | `succeeded` | `failed`.
    pub status: String,
    pub started: Millis,
    pub ended: Option<Millis>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimelineEntry {
    pub at: Millis,
    /// `job` | `stage` | `task` | `executor` | `fault` | `driver`.
    pub kind: String,
    pub text: String,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobsModel {
    /// Programs run so far (the view resets when a new one starts).
    pub runs: u32,
    pub started_at: Option<Millis>,
    /// Set when the program ended: (ok, when).
    pub finished: Option<(bool, Millis)>,
    pub stdout: String,
    pub stderr: String,
    pub jobs: Vec<JobCard>,
    pub stages: BTreeMap<u32, StageCard>,
    pub executor_logs: BTreeMap<NodeId, String>,
    /// Files the program wrote: (path, size, first bytes).
    pub files: Vec<(String, u64, String)>,
    pub timeline: VecDeque<TimelineEntry>,
    /// Running and finished tasks: tid → (stage, partition, executor).
    tasks: BTreeMap<u64, (u32, u32, u32)>,
}

impl JobsModel {
    pub fn program_started(&mut self, now: Millis) {
        let runs = self.runs + 1;
        let logs = std::mem::take(&mut self.executor_logs);
        *self = JobsModel { runs, started_at: Some(now), executor_logs: logs, ..JobsModel::default() };
        self.push(now, "driver", "program submitted".into());
    }

    pub fn running(&self) -> bool {
        self.started_at.is_some() && self.finished.is_none()
    }

    /// The driver's process died mid-program: the program is over.
    pub fn driver_lost(&mut self, at: Millis) {
        self.finished = Some((false, at));
        self.stderr = "the driver's process died: the application ended with it\n".into();
        self.push(at, "fault", "driver lost: the application ended".into());
    }

    /// A fault or recovery step the host saw (a kill, a restart).
    pub fn note(&mut self, at: Millis, _node: NodeId, text: String) {
        self.push(at, "fault", text);
    }

    fn push(&mut self, at: Millis, kind: &str, text: String) {
        if self.timeline.len() == TIMELINE_CAPACITY {
            self.timeline.pop_front();
        }
        self.timeline.push_back(TimelineEntry { at, kind: kind.into(), text });
    }

    pub fn apply(&mut self, at: Millis, _node: NodeId, ev: &ClusterEvent) {
        match ev {
            ClusterEvent::Stdout(text) => self.stdout.push_str(text),
            ClusterEvent::Finished { ok, stderr } => {
                self.finished = Some((*ok, at));
                self.stderr = stderr.clone();
                let text = if *ok { "program finished".to_string() } else { "program failed".to_string() };
                self.push(at, "driver", text);
            }
            ClusterEvent::TaskOutput { tid, text } => {
                let exec = self.tasks.get(tid).map_or(0, |t| t.2);
                self.executor_logs.entry(exec).or_default().push_str(text);
            }
            ClusterEvent::Replayed { jobs } => {
                self.push(at, "driver", format!("driver program resumes after job {}", jobs.saturating_sub(1)))
            }
            ClusterEvent::JobPlan { job, stages } => self.plan(*job, stages),
            ClusterEvent::Files(files) => self.files = files.clone(),
            ClusterEvent::Listener(l) => self.listener(at, l),
            // ZooKeeper traffic shows on the ZooKeeper side (its sessions, its tree).
            ClusterEvent::Zk(_) | ClusterEvent::ZkExit => {}
        }
    }

    fn plan(&mut self, _job: u32, stages: &[StagePlan]) {
        for s in stages {
            self.stages.entry(s.stage).or_insert_with(|| StageCard {
                stage: s.stage,
                attempt: 0,
                partitions: s.partitions,
                rdds: s.rdds.clone(),
                parents: s.parents.clone(),
                shuffle_map: s.shuffle_map,
                status: StageStatus::Pending,
                tasks: 0,
                tasks_succeeded: 0,
                running: 0,
                failed_tasks: 0,
                lost_tasks: 0,
                failure: None,
            });
        }
    }

    fn listener(&mut self, at: Millis, ev: &SparkEvent) {
        match ev {
            SparkEvent::ExecutorAdded { executor, cores } => {
                self.push(at, "executor", format!("executor {executor} added ({cores} cores)"))
            }
            SparkEvent::ExecutorRemoved { executor, reason } => {
                self.push(at, "executor", format!("executor {executor} removed: {reason}"))
            }
            SparkEvent::JobStart { job, stages } => {
                self.jobs.push(JobCard {
                    job: *job,
                    stages: stages.clone(),
                    ran: vec![],
                    status: "running".into(),
                    started: at,
                    ended: None,
                });
                self.push(at, "job", format!("job {job} started: stages {stages:?}"));
            }
            SparkEvent::StageSubmitted { stage, attempt, tasks, .. } => {
                if let Some(j) = self.jobs.iter_mut().rev().find(|j| j.status == "running" && j.stages.contains(stage)) {
                    if !j.ran.contains(stage) {
                        j.ran.push(*stage);
                    }
                }
                if let Some(s) = self.stages.get_mut(stage) {
                    // Submitted before (a resubmission runs only the missing partitions), or
                    // tasks of this stage have failed: it is running again.
                    let again = *attempt > 0 || s.tasks > 0 || s.failed_tasks + s.lost_tasks > 0;
                    s.attempt = *attempt;
                    s.tasks = *tasks;
                    s.tasks_succeeded = 0;
                    s.status = if again { StageStatus::Retrying } else { StageStatus::Running };
                    s.failure = None;
                }
                let what = if *attempt > 0 { format!(" (attempt {attempt})") } else { String::new() };
                self.push(at, "stage", format!("stage {stage}{what} submitted: {tasks} tasks"));
            }
            SparkEvent::TaskStart { tid, stage, partition, executor, .. } => {
                self.tasks.insert(*tid, (*stage, *partition, *executor));
                if let Some(s) = self.stages.get_mut(stage) {
                    s.running += 1;
                }
            }
            SparkEvent::TaskEnd { tid, stage, partition, executor, reason } => {
                let Some(s) = self.stages.get_mut(stage) else { return };
                s.running = s.running.saturating_sub(1);
                if reason == "Success" {
                    s.tasks_succeeded = (s.tasks_succeeded + 1).min(s.tasks);
                    return;
                }
                if reason.starts_with("ExecutorLostFailure") {
                    s.lost_tasks += 1;
                } else {
                    s.failed_tasks += 1;
                }
                if s.status == StageStatus::Running {
                    s.status = StageStatus::Retrying;
                }
                let short = reason.lines().next().unwrap_or("").chars().take(140).collect::<String>();
                self.push(at, "task", format!("task {tid} (stage {stage}, partition {partition}) on executor {executor}: {short}"));
            }
            SparkEvent::StageCompleted { stage, attempt, failure } => {
                if let Some(s) = self.stages.get_mut(stage) {
                    match failure {
                        None => {
                            s.status = StageStatus::Succeeded;
                            s.tasks_succeeded = s.tasks;
                        }
                        Some(f) if f.starts_with("Job aborted") => {
                            s.status = StageStatus::Failed;
                            s.failure = Some(f.clone());
                        }
                        Some(f) => {
                            s.status = StageStatus::Retrying;
                            s.failure = Some(f.clone());
                        }
                    }
                }
                let how = match failure {
                    None => "succeeded".to_string(),
                    Some(f) => format!("failed: {}", f.chars().take(140).collect::<String>()),
                };
                self.push(at, "stage", format!("stage {stage}.{attempt} {how}"));
            }
            SparkEvent::JobEnd { job, result } => {
                let ok = result.is_ok();
                let stages = self.jobs.iter().find(|j| j.job == *job).map(|j| j.stages.clone()).unwrap_or_default();
                if let Some(j) = self.jobs.iter_mut().find(|j| j.job == *job) {
                    j.status = if ok { "succeeded".into() } else { "failed".into() };
                    j.ended = Some(at);
                }
                for st in stages {
                    if let Some(s) = self.stages.get_mut(&st) {
                        if !ok && s.status != StageStatus::Succeeded {
                            s.status = StageStatus::Failed;
                        }
                        if ok && s.status == StageStatus::Pending {
                            // Skipped: its shuffle output was already there.
                            s.status = StageStatus::Succeeded;
                        }
                    }
                }
                let how = match result {
                    Ok(()) => "succeeded".to_string(),
                    Err(e) => format!("failed: {}", e.chars().take(160).collect::<String>()),
                };
                self.push(at, "job", format!("job {job} {how}"));
            }
        }
    }
}
