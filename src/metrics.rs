//! Measured stability and performance: throughput, latency percentiles, MTTR and MTBF, from
//! what a host observes on its virtual clock; and `ChaosPlan`, a seeded schedule of kills and
//! restarts that gives MTTR and MTBF something to measure.
//!
//! ```text
//!  host (CLI world, page conductor)                Metrics                       out
//!  ── op_started(key, kind, at) ─────────┐
//!  ── op_finished(key, at, ok) ──────────┼──▶ latency histograms per kind ─┐
//!  ── op(kind, start, end, ok) ──────────┘    1 s buckets (last 60 s) ─────┼─▶ report(now) ─▶ JSON
//!  ── task_finished(at, ok) ─────────────────▶ counters, buckets ──────────┤   series(now) ─▶ charts
//!  ── failure(id, kind, at) ─────────────────▶ failure records, ───────────┘
//!  ── recover(id | kind, at, how) ───────────▶ down time per kind
//! ```
//!
//! Pure and deterministic: time is virtual milliseconds (`sim::Millis`) passed in by the host,
//! maps are `BTreeMap`s, and nothing reads a clock.
//!
//! The figures, defined once here:
//!
//! - **Throughput**: completed operations per second of observed time. A ZooKeeper op is
//!   completed when the ensemble answered it (`ok = true`), whatever the answer (`NoNode` is an
//!   answer); `ok = false` (connection loss, expiry, timeout) counts as failed, not completed.
//!   A Spark task is completed when it succeeded.
//! - **Latency**: reply time − request time of each completed op, per op kind (`create`, `get`,
//!   `set`, …). Percentiles are **nearest-rank** on the exact samples: the p-th percentile of n
//!   sorted samples is the sample at rank ⌈p·n/100⌉ (1-based). For 1..=100 ms that is p50 = 50,
//!   p95 = 95, p99 = 99. No interpolation, so every reported percentile is a latency that
//!   actually happened.
//! - **MTTR** (mean time to repair): the mean over *recovered* failures of recovery time −
//!   failure time. A failure not recovered yet is *open*: listed in the report, excluded from
//!   MTTR. What counts as recovery is the host's call: for a lost ZooKeeper leader, a new leader
//!   committing; for a Spark master, the standby becoming active; for an executor, its lost
//!   stage re-run.
//! - **MTBF** (mean time between failures), the textbook reliability definition: total
//!   operating time ÷ number of failures. Operating (up) time is the observed time minus the
//!   time during which at least one failure of the scope was open (overlapping failures are
//!   down once, not twice). The scope is one failure kind, or every kind for `overall`. With no
//!   failures MTBF is undefined (`null`). When failures do not overlap, MTBF + MTTR is the mean
//!   failure-to-failure cycle.
//!
//! Memory is bounded (see the constants): latency histograms have 1 ms buckets up to
//! `LATENCY_EXACT_MAX_MS` plus an overflow count, which is exact for every integer latency up to
//! that bound (virtual latencies are whole milliseconds) at a fixed worst-case size; per-second
//! buckets are kept for the last `WINDOW_S` seconds; recovered failure records for the last
//! `FAILURES_KEPT` (their aggregates keep counting).

use crate::sim::{Millis, Rng};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, VecDeque};

/// Latencies up to this many ms are kept exactly (1 ms buckets); longer ones are counted in an
/// overflow bucket, and a percentile that falls there reports the exact maximum (an upper
/// bound). Ten seconds is far beyond any healthy reply and beyond ZooKeeper's session timeouts.
pub const LATENCY_EXACT_MAX_MS: Millis = 10_000;
/// Width of a chart bucket.
pub const BUCKET_MS: Millis = 1_000;
/// Seconds of per-second buckets kept for the charts.
pub const WINDOW_S: u64 = 60;
/// Distinct op kinds tracked; further kinds are folded into `OTHER_KIND`.
pub const MAX_OP_KINDS: usize = 32;
/// The kind that ops beyond `MAX_OP_KINDS` kinds are counted as.
pub const OTHER_KIND: &str = "other";
/// Ops started and not finished yet; beyond this the oldest (smallest key) is forgotten, as an
/// op whose reply never came.
pub const MAX_IN_FLIGHT: usize = 100_000;
/// Recovered failure records kept for the report (MTTR and MTBF still count every failure).
pub const FAILURES_KEPT: usize = 1_000;
/// Events a `ChaosPlan` may hold.
pub const MAX_CHAOS_EVENTS: usize = 100_000;

/// What failed. The recovery that closes a failure depends on its kind (see the module docs).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FailureKind {
    /// The ZooKeeper leader was lost; recovered when a new leader commits.
    ZkLeader,
    /// A ZooKeeper follower or observer was lost; recovered when it serves again.
    ZkServer,
    /// The active Spark master was lost; recovered when a standby is active.
    SparkMaster,
    /// The Spark driver was lost; recovered when a new application runs.
    SparkDriver,
    /// An executor was lost; recovered when its lost stage has been re-run.
    Executor,
}

impl FailureKind {
    pub const ALL: [FailureKind; 5] = [
        FailureKind::ZkLeader,
        FailureKind::ZkServer,
        FailureKind::SparkMaster,
        FailureKind::SparkDriver,
        FailureKind::Executor,
    ];

    /// The JSON name (also the key of the per-kind maps in `MetricsReport`).
    pub fn as_str(self) -> &'static str {
        match self {
            FailureKind::ZkLeader => "zk_leader",
            FailureKind::ZkServer => "zk_server",
            FailureKind::SparkMaster => "spark_master",
            FailureKind::SparkDriver => "spark_driver",
            FailureKind::Executor => "executor",
        }
    }
}

/// Exact latency distribution with bounded memory: a sparse 1 ms histogram up to
/// `LATENCY_EXACT_MAX_MS` (at most that many + 1 entries), an overflow count above it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LatencyHistogram {
    counts: BTreeMap<Millis, u64>,
    overflow: u64,
    n: u64,
    sum_ms: u64,
    max_ms: Millis,
}

impl LatencyHistogram {
    pub fn record(&mut self, latency_ms: Millis) {
        if latency_ms <= LATENCY_EXACT_MAX_MS {
            *self.counts.entry(latency_ms).or_insert(0) += 1;
        } else {
            self.overflow += 1;
        }
        self.n += 1;
        self.sum_ms = self.sum_ms.saturating_add(latency_ms);
        self.max_ms = self.max_ms.max(latency_ms);
        debug_assert!(self.counts.len() as u64 <= LATENCY_EXACT_MAX_MS + 1);
    }

    pub fn count(&self) -> u64 {
        self.n
    }

    pub fn max_ms(&self) -> Option<Millis> {
        (self.n > 0).then_some(self.max_ms)
    }

    /// Nearest-rank percentile, `0 < percent <= 100`: the sample at rank ⌈percent·n/100⌉.
    /// `None` with no samples.
    pub fn percentile(&self, percent: u32) -> Option<Millis> {
        assert!((1..=100).contains(&percent), "percentile {percent} outside 1..=100");
        if self.n == 0 {
            return None;
        }
        let rank = (u128::from(percent) * u128::from(self.n)).div_ceil(100) as u64;
        let mut seen = 0u64;
        for (&latency_ms, &count) in &self.counts {
            seen += count;
            if seen >= rank {
                return Some(latency_ms);
            }
        }
        // The rank falls among the overflowed samples: the maximum bounds them all.
        Some(self.max_ms)
    }

    pub fn summary(&self) -> Option<LatencySummary> {
        (self.n > 0).then(|| LatencySummary {
            count: self.n,
            p50: self.percentile(50).unwrap_or(0),
            p95: self.percentile(95).unwrap_or(0),
            p99: self.percentile(99).unwrap_or(0),
            max: self.max_ms,
            mean: self.sum_ms as f64 / self.n as f64,
        })
    }

    fn merge(&mut self, other: &LatencyHistogram) {
        for (&latency_ms, &count) in &other.counts {
            *self.counts.entry(latency_ms).or_insert(0) += count;
        }
        self.overflow += other.overflow;
        self.n += other.n;
        self.sum_ms = self.sum_ms.saturating_add(other.sum_ms);
        self.max_ms = self.max_ms.max(other.max_ms);
    }
}

/// One op kind's latencies, in virtual ms (nearest-rank percentiles).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LatencySummary {
    pub count: u64,
    pub p50: Millis,
    pub p95: Millis,
    pub p99: Millis,
    pub max: Millis,
    pub mean: f64,
}

/// One second of the chart window.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Bucket {
    zk_ops: u64,
    zk_ops_failed: u64,
    tasks: u64,
    tasks_failed: u64,
    latency: LatencyHistogram,
}

/// One point of the charts: the second starting at `t_ms`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeriesPoint {
    pub t_ms: Millis,
    /// Completed ZooKeeper ops in this second (so also ops/s).
    pub zk_ops: u64,
    pub zk_ops_failed: u64,
    /// Succeeded Spark tasks in this second (so also tasks/s).
    pub tasks: u64,
    pub tasks_failed: u64,
    /// Latency percentiles of the ops completed in this second, all kinds together.
    pub p50: Option<Millis>,
    pub p95: Option<Millis>,
    pub p99: Option<Millis>,
}

/// One failure, open (`recovered_at` is `None`) or recovered.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FailureRecord {
    pub id: String,
    pub kind: FailureKind,
    pub at: Millis,
    pub recovered_at: Option<Millis>,
    /// What recovered it ("zk3 leads epoch 4 and committed 0x400000001", "stage 2 re-run").
    pub how: Option<String>,
    /// Time to repair: `recovered_at − at`.
    pub ttr_ms: Option<Millis>,
}

/// Running failure aggregates of one scope (a kind, or all kinds).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct FailureStats {
    failures: u64,
    recovered: u64,
    ttr_sum_ms: u64,
    /// Failures of this scope open now; the scope is down while this is above zero.
    open: u32,
    down_since: Millis,
    /// Down time of closed down periods.
    down_ms: u64,
}

impl FailureStats {
    fn fail(&mut self, at: Millis) {
        self.failures += 1;
        if self.open == 0 {
            self.down_since = at;
        }
        self.open += 1;
    }

    fn recover(&mut self, failed_at: Millis, at: Millis) {
        assert!(self.open > 0, "a recovery without an open failure");
        self.open -= 1;
        self.recovered += 1;
        self.ttr_sum_ms += at - failed_at;
        if self.open == 0 {
            self.down_ms += at - self.down_since;
        }
    }

    fn mttr_ms(&self) -> Option<f64> {
        (self.recovered > 0).then(|| self.ttr_sum_ms as f64 / self.recovered as f64)
    }

    /// Observed time `[start, now]` minus the time this scope was down.
    fn up_ms(&self, observed_ms: u64, now: Millis) -> u64 {
        let open_down = if self.open > 0 { now.saturating_sub(self.down_since) } else { 0 };
        observed_ms.saturating_sub(self.down_ms + open_down)
    }

    fn mtbf_ms(&self, observed_ms: u64, now: Millis) -> Option<f64> {
        (self.failures > 0).then(|| self.up_ms(observed_ms, now) as f64 / self.failures as f64)
    }
}

/// A figure overall and per failure kind (keys: `FailureKind::as_str`); `null` when undefined.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PerKind {
    pub overall: Option<f64>,
    pub per_kind: BTreeMap<String, Option<f64>>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Throughput {
    /// Completed ZooKeeper ops and succeeded tasks since the start.
    pub zk_ops: u64,
    pub zk_ops_failed: u64,
    pub tasks: u64,
    pub tasks_failed: u64,
    /// Over the whole observed time.
    pub zk_ops_per_s: f64,
    pub tasks_per_s: f64,
    /// Over the last `window_s` complete seconds (fewer at the start).
    pub window_s: u64,
    pub recent_zk_ops_per_s: f64,
    pub recent_tasks_per_s: f64,
}

/// Everything measured, as of `now_ms`. Field names are stable: `zkspark run --chaos` prints
/// this as JSON.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MetricsReport {
    pub start_ms: Millis,
    pub now_ms: Millis,
    pub observed_ms: u64,
    pub throughput: Throughput,
    /// Per op kind.
    pub latency: BTreeMap<String, LatencySummary>,
    /// All kinds together; `None` before the first completed op.
    pub latency_all: Option<LatencySummary>,
    /// The last `FAILURES_KEPT` recovered failures and every open one, by failure time.
    pub failures: Vec<FailureRecord>,
    pub failures_total: u64,
    pub open_failures: u64,
    pub mttr_ms: PerKind,
    pub mtbf_ms: PerKind,
    /// Up time overall (observed time minus time with any failure open).
    pub uptime_ms: u64,
    /// The charts' last `WINDOW_S` complete seconds.
    pub series: Vec<SeriesPoint>,
}

/// The recorder. Feed it as things happen; read `report` or `series` at any time.
///
/// Invariant: failure and recovery times never go backwards (`last_failure_event_at`), so
/// down time can be accumulated as it happens; op and task times may arrive in any order.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Metrics {
    start: Millis,
    in_flight: BTreeMap<u64, (String, Millis)>,
    latency: BTreeMap<String, LatencyHistogram>,
    zk_ops: u64,
    zk_ops_failed: u64,
    tasks: u64,
    tasks_failed: u64,
    /// Per-second buckets keyed by second index (`at / BUCKET_MS`), at most `WINDOW_S` of them.
    buckets: BTreeMap<u64, Bucket>,
    open: Vec<FailureRecord>,
    recovered: VecDeque<FailureRecord>,
    overall: FailureStats,
    per_kind: BTreeMap<FailureKind, FailureStats>,
    last_failure_event_at: Millis,
}

impl Metrics {
    /// A recorder observing from `start` (virtual ms).
    pub fn new(start: Millis) -> Metrics {
        Metrics { start, last_failure_event_at: start, ..Metrics::default() }
    }

    /// A ZooKeeper request `key` (unique among ops in flight, e.g. session id << 32 | xid) of
    /// kind `kind` was sent at `at`.
    pub fn op_started(&mut self, key: u64, kind: &str, at: Millis) {
        if self.in_flight.len() >= MAX_IN_FLIGHT && !self.in_flight.contains_key(&key) {
            self.in_flight.pop_first();
        }
        self.in_flight.insert(key, (kind.to_string(), at));
        assert!(self.in_flight.len() <= MAX_IN_FLIGHT);
    }

    /// Request `key` ended at `at`: answered (`ok`) or failed. False if `key` was not in flight
    /// (started before this recorder, or forgotten over `MAX_IN_FLIGHT`).
    pub fn op_finished(&mut self, key: u64, at: Millis, ok: bool) -> bool {
        match self.in_flight.remove(&key) {
            Some((kind, start)) => {
                self.op(&kind, start, at, ok);
                true
            }
            None => false,
        }
    }

    /// One ZooKeeper op of `kind`, sent at `start`, ended at `end`.
    pub fn op(&mut self, kind: &str, start: Millis, end: Millis, ok: bool) {
        assert!(start <= end, "op {kind} ends at {end} before it starts at {start}");
        let bucket = window_bucket(&mut self.buckets, end);
        if !ok {
            self.zk_ops_failed += 1;
            if let Some(bucket) = bucket {
                bucket.zk_ops_failed += 1;
            }
            return;
        }
        self.zk_ops += 1;
        let latency_ms = end - start;
        if let Some(bucket) = bucket {
            bucket.zk_ops += 1;
            bucket.latency.record(latency_ms);
        }
        let kind =
            if self.latency.contains_key(kind) || self.latency.len() < MAX_OP_KINDS - 1 { kind } else { OTHER_KIND };
        self.latency.entry(kind.to_string()).or_default().record(latency_ms);
        assert!(self.latency.len() <= MAX_OP_KINDS);
    }

    /// A Spark task ended at `at`: succeeded (`ok`) or failed / lost.
    pub fn task_finished(&mut self, at: Millis, ok: bool) {
        let bucket = window_bucket(&mut self.buckets, at);
        if ok {
            self.tasks += 1;
        } else {
            self.tasks_failed += 1;
        }
        if let Some(bucket) = bucket {
            if ok {
                bucket.tasks += 1;
            } else {
                bucket.tasks_failed += 1;
            }
        }
    }

    /// `id` ("zk:leader zk2", "spark-master m1", "executor exec1") of `kind` failed at `at`.
    pub fn failure(&mut self, id: impl Into<String>, kind: FailureKind, at: Millis) {
        self.advance_failure_clock(at);
        self.overall.fail(at);
        self.per_kind.entry(kind).or_default().fail(at);
        let record = FailureRecord { id: id.into(), kind, at, recovered_at: None, how: None, ttr_ms: None };
        self.open.push(record);
    }

    /// Every open failure of `id` recovered at `at`, by `how`. Returns how many closed.
    pub fn recover(&mut self, id: &str, at: Millis, how: &str) -> usize {
        self.recover_where(at, how, |record| record.id == id)
    }

    /// Every open failure of `kind` recovered at `at` (a new leader committing recovers every
    /// lost leader before it). Returns how many closed.
    pub fn recover_kind(&mut self, kind: FailureKind, at: Millis, how: &str) -> usize {
        self.recover_where(at, how, |record| record.kind == kind)
    }

    /// Every open failure of `id` and `kind` recovered at `at` (a server serving again repairs
    /// its own loss as a server, not its loss as the leader). Returns how many closed.
    pub fn recover_id_kind(&mut self, id: &str, kind: FailureKind, at: Millis, how: &str) -> usize {
        self.recover_where(at, how, |record| record.id == id && record.kind == kind)
    }

    fn recover_where(&mut self, at: Millis, how: &str, matches: impl Fn(&FailureRecord) -> bool) -> usize {
        self.advance_failure_clock(at);
        let (closing, open): (Vec<_>, Vec<_>) = self.open.drain(..).partition(|r| matches(r));
        self.open = open;
        for mut record in closing.iter().cloned() {
            self.overall.recover(record.at, at);
            self.per_kind.get_mut(&record.kind).expect("a failed kind has stats").recover(record.at, at);
            record.recovered_at = Some(at);
            record.ttr_ms = Some(at - record.at);
            record.how = Some(how.to_string());
            if self.recovered.len() == FAILURES_KEPT {
                self.recovered.pop_front();
            }
            self.recovered.push_back(record);
        }
        assert!(self.recovered.len() <= FAILURES_KEPT);
        closing.len()
    }

    fn advance_failure_clock(&mut self, at: Millis) {
        assert!(
            at >= self.last_failure_event_at,
            "failure events go back in time: {at} after {}",
            self.last_failure_event_at
        );
        self.last_failure_event_at = at;
    }

    /// The last `WINDOW_S` complete seconds before `now` (fewer at the start), one point per
    /// second, empty seconds included, oldest first. The second `now` is in is not complete, so
    /// not shown: its partial counts would read as a drop in throughput.
    pub fn series(&self, now: Millis) -> Vec<SeriesPoint> {
        let end = now / BUCKET_MS; // exclusive
        let first = (self.start / BUCKET_MS).max(end.saturating_sub(WINDOW_S));
        (first..end)
            .map(|second| {
                let bucket = self.buckets.get(&second);
                let latency = bucket.map(|b| &b.latency);
                SeriesPoint {
                    t_ms: second * BUCKET_MS,
                    zk_ops: bucket.map_or(0, |b| b.zk_ops),
                    zk_ops_failed: bucket.map_or(0, |b| b.zk_ops_failed),
                    tasks: bucket.map_or(0, |b| b.tasks),
                    tasks_failed: bucket.map_or(0, |b| b.tasks_failed),
                    p50: latency.and_then(|l| l.percentile(50)),
                    p95: latency.and_then(|l| l.percentile(95)),
                    p99: latency.and_then(|l| l.percentile(99)),
                }
            })
            .collect()
    }

    /// Everything measured over `[start, now]`.
    pub fn report(&self, now: Millis) -> MetricsReport {
        assert!(now >= self.start, "report at {now} before the start {}", self.start);
        let observed_ms = now - self.start;
        let series = self.series(now);
        let window_s = series.len() as u64;
        let recent = |count: fn(&SeriesPoint) -> u64| rate(series.iter().map(count).sum(), window_s * BUCKET_MS);
        let throughput = Throughput {
            zk_ops: self.zk_ops,
            zk_ops_failed: self.zk_ops_failed,
            tasks: self.tasks,
            tasks_failed: self.tasks_failed,
            zk_ops_per_s: rate(self.zk_ops, observed_ms),
            tasks_per_s: rate(self.tasks, observed_ms),
            window_s,
            recent_zk_ops_per_s: recent(|p| p.zk_ops),
            recent_tasks_per_s: recent(|p| p.tasks),
        };
        let mut all = LatencyHistogram::default();
        for histogram in self.latency.values() {
            all.merge(histogram);
        }
        let latency = self.latency.iter().filter_map(|(kind, h)| Some((kind.clone(), h.summary()?))).collect();
        let mut failures: Vec<FailureRecord> = self.recovered.iter().chain(&self.open).cloned().collect();
        failures.sort_by(|a, b| (a.at, &a.id).cmp(&(b.at, &b.id)));
        let per_kind = |figure: &dyn Fn(&FailureStats) -> Option<f64>| PerKind {
            overall: figure(&self.overall),
            per_kind: self.per_kind.iter().map(|(k, s)| (k.as_str().to_string(), figure(s))).collect(),
        };
        MetricsReport {
            start_ms: self.start,
            now_ms: now,
            observed_ms,
            throughput,
            latency,
            latency_all: all.summary(),
            failures,
            failures_total: self.overall.failures,
            open_failures: self.open.len() as u64,
            mttr_ms: per_kind(&|s| s.mttr_ms()),
            mtbf_ms: per_kind(&|s| s.mtbf_ms(observed_ms, now)),
            uptime_ms: self.overall.up_ms(observed_ms, now),
            series,
        }
    }

    /// Failures not recovered yet, oldest first.
    pub fn open_failures(&self) -> &[FailureRecord] {
        &self.open
    }
}

/// The chart bucket of time `at`, created if new; `None` if it is older than the window
/// (it still counts in the totals).
fn window_bucket(buckets: &mut BTreeMap<u64, Bucket>, at: Millis) -> Option<&mut Bucket> {
    let second = at / BUCKET_MS;
    let newest = buckets.last_key_value().map_or(second, |(&s, _)| s.max(second));
    let oldest_kept = newest.saturating_sub(WINDOW_S - 1);
    if second < oldest_kept {
        return None;
    }
    while buckets.first_key_value().is_some_and(|(&s, _)| s < oldest_kept) {
        buckets.pop_first();
    }
    buckets.entry(second).or_default();
    assert!(buckets.len() as u64 <= WINDOW_S, "more chart buckets than the window");
    buckets.get_mut(&second)
}

/// `count` per second over `ms`; 0 over an empty interval.
fn rate(count: u64, ms: u64) -> f64 {
    if ms == 0 {
        0.0
    } else {
        count as f64 * 1000.0 / ms as f64
    }
}

/// What chaos does to a target.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChaosAction {
    Kill,
    Restart,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChaosEvent {
    pub at: Millis,
    pub target: String,
    pub action: ChaosAction,
}

/// The knobs of chaos mode.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChaosConfig {
    pub seed: u64,
    /// Mean time between kills (exponential inter-arrival, i.e. kills form a Poisson process).
    pub mean_interval_ms: Millis,
    /// A killed target restarts this long after its kill.
    pub restart_delay_ms: Millis,
    /// Kills happen in `[start_ms, start_ms + horizon_ms)`; restarts of those kills may fall
    /// after it, so the plan leaves every target up.
    pub start_ms: Millis,
    pub horizon_ms: Millis,
    /// At most this many targets down at once (2 of 5 ZooKeeper servers keeps a quorum); an
    /// arrival while that many are down is skipped.
    pub max_down: u32,
}

/// A deterministic schedule of kills and restarts: the same config and targets give the same
/// events on every platform (the inter-arrival times use only IEEE-exact arithmetic, see `ln`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChaosPlan {
    pub config: ChaosConfig,
    /// By time; at equal times a restart comes before a kill.
    pub events: Vec<ChaosEvent>,
}

impl ChaosPlan {
    /// Kill arrivals at exponential intervals of mean `mean_interval_ms`; each kills a target
    /// drawn uniformly from those up, and schedules its restart `restart_delay_ms` later.
    pub fn new(config: ChaosConfig, targets: &[String]) -> ChaosPlan {
        assert!(config.mean_interval_ms > 0, "chaos needs a mean interval above 0 ms");
        let mut rng = Rng::new(config.seed);
        let end = config.start_ms.saturating_add(config.horizon_ms);
        // Pending restarts: (at, target index).
        let mut restarts: BTreeMap<(Millis, usize), ()> = BTreeMap::new();
        let mut down = vec![false; targets.len()];
        let mut events = Vec::new();
        let mut at = config.start_ms;
        loop {
            at = at.saturating_add(exponential_ms(&mut rng, config.mean_interval_ms));
            if at >= end || events.len() + 2 > MAX_CHAOS_EVENTS {
                break;
            }
            while let Some((&(restart_at, idx), _)) = restarts.first_key_value() {
                if restart_at > at {
                    break;
                }
                restarts.pop_first();
                down[idx] = false;
                events.push(ChaosEvent { at: restart_at, target: targets[idx].clone(), action: ChaosAction::Restart });
            }
            let up: Vec<usize> = (0..targets.len()).filter(|&i| !down[i]).collect();
            let n_down = (targets.len() - up.len()) as u32;
            if up.is_empty() || n_down >= config.max_down {
                continue;
            }
            let idx = up[rng.below(up.len() as u64) as usize];
            down[idx] = true;
            events.push(ChaosEvent { at, target: targets[idx].clone(), action: ChaosAction::Kill });
            restarts.insert((at + config.restart_delay_ms, idx), ());
        }
        for ((restart_at, idx), ()) in restarts {
            events.push(ChaosEvent { at: restart_at, target: targets[idx].clone(), action: ChaosAction::Restart });
        }
        assert!(events.len() <= MAX_CHAOS_EVENTS);
        debug_assert!(events.windows(2).all(|w| w[0].at <= w[1].at));
        ChaosPlan { config, events }
    }

    /// Events in `(from, to]`: what a host applies when its clock moves from `from` to `to`.
    pub fn due(&self, from: Millis, to: Millis) -> impl Iterator<Item = &ChaosEvent> {
        let first = self.events.partition_point(|e| e.at <= from);
        self.events[first..].iter().take_while(move |e| e.at <= to)
    }
}

/// An exponential draw of mean `mean_ms`, rounded to whole ms, at least 1: −mean·ln(u) with `u`
/// uniform in (0, 1].
fn exponential_ms(rng: &mut Rng, mean_ms: Millis) -> Millis {
    let u = ((rng.next_u64() >> 11) + 1) as f64 / (1u64 << 53) as f64;
    let draw = -(mean_ms as f64) * ln(u);
    (draw.round() as Millis).max(1)
}

/// Natural log of `x > 0` from `+ − × ÷` only, so the result is bit-identical on every IEEE
/// platform (`f64::ln` calls the platform's libm, which differs between glibc and wasm's).
/// x = m·2^e with m in [1, 2); ln m = 2·atanh(s), s = (m−1)/(m+1) ≤ 1/3, whose series
/// converges to f64 precision in 20 terms.
fn ln(x: f64) -> f64 {
    assert!(x > 0.0 && x.is_finite(), "ln({x})");
    let bits = x.to_bits();
    let mut exponent = ((bits >> 52) & 0x7ff) as i64 - 1023;
    let mut mantissa = f64::from_bits((bits & 0x000f_ffff_ffff_ffff) | 0x3ff0_0000_0000_0000);
    if (bits >> 52) & 0x7ff == 0 {
        // Subnormal: scale into the normal range first.
        let scaled = x * (1u64 << 54) as f64;
        let bits = scaled.to_bits();
        exponent = ((bits >> 52) & 0x7ff) as i64 - 1023 - 54;
        mantissa = f64::from_bits((bits & 0x000f_ffff_ffff_ffff) | 0x3ff0_0000_0000_0000);
    }
    let s = (mantissa - 1.0) / (mantissa + 1.0);
    let s2 = s * s;
    let mut term = s;
    let mut sum = 0.0;
    for k in 0..20 {
        sum += term / (2 * k + 1) as f64;
        term *= s2;
    }
    exponent as f64 * std::f64::consts::LN_2 + 2.0 * sum
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ln_matches_the_platform() {
        for x in [1e-300, 1e-9, 0.001, 0.25, 0.5, 0.9999, 1.0, 1.5, 2.0, 10.0, 12345.678] {
            let (ours, std) = (ln(x), x.ln());
            assert!((ours - std).abs() <= 1e-12 * std.abs().max(1.0), "ln({x}) = {ours}, std {std}");
        }
    }
}
