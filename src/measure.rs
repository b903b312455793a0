//! What counts as a failure and as its recovery, for both hosts: the page (on the ZooKeeper
//! conductor's clock, with chaos mode) and `spark::world` headless (on the simulators' clock).
//! The figures themselves are `metrics.rs`'s.
//!
//! ```text
//!  ZooKeeper side ─ kills, server states, leaders established, request samples ─┐
//!  Spark side ──── executor and master kills, task ends, stage completions ──────┤
//!                                                                          Measure
//!  UI / --json ◀── MetricsView / MetricsReport ◀─────────────────────────────────┘
//!  chaos plan ─ due kills/restarts ─▶ each side applies its own targets (zkN / execN / masterN)
//! ```
//!
//! Recovery: a ZooKeeper leader kill ends when a new leader is established; a follower kill
//! when that server serves again; an executor kill when the next stage completes after it (its
//! lost work was redone by then); a master kill when a standby is ALIVE.

use crate::metrics::{ChaosAction, ChaosConfig, ChaosEvent, ChaosPlan, FailureKind, Metrics, MetricsReport};
use crate::sim::{Millis, NodeId};
use crate::zkhub::OpSample;
use serde::{Deserialize, Serialize};

/// What the metrics panel shows.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MetricsView {
    pub report: MetricsReport,
    /// Chaos mode's mean interval between kills, when it is on.
    pub chaos_mean_ms: Option<Millis>,
    /// Kills and restarts chaos made so far: (at, target, kill?).
    pub chaos_log: Vec<(Millis, String, bool)>,
}

pub struct Measure {
    pub metrics: Metrics,
    leaders_established: Option<u64>,
    /// ZooKeeper servers down since a kill, waiting to serve again.
    zk_down: Vec<NodeId>,
    /// Executors lost since the last stage completed.
    lost_executors: Vec<NodeId>,
    chaos: Option<ChaosPlan>,
    chaos_cursor: Millis,
    chaos_log: Vec<(Millis, String, bool)>,
    now: Millis,
}

impl Default for Measure {
    fn default() -> Self {
        Measure::new(0)
    }
}

impl Measure {
    pub fn new(now: Millis) -> Measure {
        Measure {
            metrics: Metrics::new(now),
            leaders_established: None,
            zk_down: vec![],
            lost_executors: vec![],
            chaos: None,
            chaos_cursor: now,
            chaos_log: vec![],
            now,
        }
    }

    pub fn now(&self) -> Millis {
        self.now
    }

    /// A ZooKeeper frame: the clock, each server's state and how many leaders were
    /// established so far.
    pub fn zk_frame(&mut self, now: Millis, states: &[(NodeId, &str)], leaders_established: u64) {
        self.now = self.now.max(now);
        let before = self.leaders_established.replace(leaders_established);
        if before.is_some_and(|b| leaders_established > b) {
            let leader = states.iter().find(|(_, s)| *s == "leading").map_or(String::new(), |(sid, _)| format!("zk{sid}"));
            self.metrics.recover_kind(FailureKind::ZkLeader, self.now, &format!("{leader} established"));
        }
        let serving: Vec<NodeId> = states
            .iter()
            .filter(|(_, s)| matches!(*s, "leading" | "following" | "observing"))
            .map(|(sid, _)| *sid)
            .collect();
        let back: Vec<NodeId> = self.zk_down.iter().copied().filter(|s| serving.contains(s)).collect();
        for sid in back {
            self.zk_down.retain(|&s| s != sid);
            self.metrics.recover_id_kind(&format!("zk{sid}"), FailureKind::ZkServer, self.now, "serving again");
        }
    }

    /// A lost leader is repaired when a new leader is established; a lost follower when it
    /// serves again.
    pub fn zk_killed(&mut self, sid: NodeId, was_leader: bool) {
        if was_leader {
            self.metrics.failure(format!("zk{sid}"), FailureKind::ZkLeader, self.now);
        } else {
            self.metrics.failure(format!("zk{sid}"), FailureKind::ZkServer, self.now);
            if !self.zk_down.contains(&sid) {
                self.zk_down.push(sid);
            }
        }
    }

    pub fn executor_killed(&mut self, x: NodeId) {
        self.metrics.failure(format!("exec{x}"), FailureKind::Executor, self.now);
        if !self.lost_executors.contains(&x) {
            self.lost_executors.push(x);
        }
    }

    /// The active standalone master was killed.
    pub fn master_killed(&mut self, name: &str) {
        self.metrics.failure(name.to_string(), FailureKind::SparkMaster, self.now);
    }

    /// A standalone master became ALIVE: a failover, if the active one had been lost.
    pub fn master_alive(&mut self, name: &str) {
        self.metrics.recover_kind(FailureKind::SparkMaster, self.now, &format!("{name} ALIVE"));
    }

    pub fn tasks(&mut self, ends: &[bool]) {
        for &ok in ends {
            self.metrics.task_finished(self.now, ok);
        }
    }

    pub fn stage_completed(&mut self, what: &str) {
        for x in std::mem::take(&mut self.lost_executors) {
            self.metrics.recover(&format!("exec{x}"), self.now, what);
        }
    }

    pub fn ops(&mut self, samples: impl IntoIterator<Item = OpSample>) {
        for s in samples {
            self.metrics.op(s.kind, s.start, s.end, s.ok);
        }
    }

    /// Chaos mode: kills at exponential intervals of mean `mean_ms` among `targets` (`zkN`,
    /// `execN`), one down at a time, each back after `restart_ms`.
    pub fn start_chaos(&mut self, seed: u64, mean_ms: Millis, restart_ms: Millis, targets: &[String]) {
        let config = ChaosConfig {
            seed,
            mean_interval_ms: mean_ms.max(100),
            restart_delay_ms: restart_ms,
            start_ms: self.now,
            horizon_ms: 6 * 3_600_000,
            max_down: 1,
        };
        self.chaos = Some(ChaosPlan::new(config, targets));
        self.chaos_cursor = self.now;
    }

    /// Stops new kills; what is down now comes back at its planned time.
    pub fn stop_chaos(&mut self) {
        if let Some(plan) = self.chaos.take() {
            let pending: Vec<ChaosEvent> =
                plan.due(self.chaos_cursor, Millis::MAX).filter(|e| e.action == ChaosAction::Restart).cloned().collect();
            let mut restarts_only = plan;
            restarts_only.events = pending;
            // A stopped plan only restarts (its mean is reported as off).
            restarts_only.config.mean_interval_ms = 0;
            self.chaos = Some(restarts_only);
        }
    }

    /// The chaos events that fell due since the last call.
    pub fn due_chaos(&mut self) -> Vec<ChaosEvent> {
        let Some(plan) = &self.chaos else { return vec![] };
        let due: Vec<ChaosEvent> = plan.due(self.chaos_cursor, self.now).cloned().collect();
        self.chaos_cursor = self.now;
        for e in &due {
            self.chaos_log.push((e.at, e.target.clone(), e.action == ChaosAction::Kill));
        }
        due
    }

    pub fn view(&self) -> MetricsView {
        let chaos_mean_ms = self.chaos.as_ref().map(|p| p.config.mean_interval_ms).filter(|&m| m > 0);
        MetricsView { report: self.metrics.report(self.now), chaos_mean_ms, chaos_log: self.chaos_log.clone() }
    }
}
