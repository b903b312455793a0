//! The page's live figures (`live::measure`): a leader kill is repaired when the next leader
//! is established, a follower's when it serves again, an executor's when the next stage
//! completes; chaos mode kills and restarts from a seeded plan.

use zkspark::measure::Measure;

#[test]
fn each_kind_of_failure_is_repaired_by_its_own_recovery() {
    let mut m = Measure::new(0);
    m.zk_frame(1_000, &[(1, "following"), (2, "following"), (3, "leading")], 1);
    m.zk_killed(3, true);
    m.zk_frame(1_300, &[(1, "looking"), (2, "looking"), (3, "down")], 1);
    let open = m.view().report;
    assert_eq!(open.open_failures, 1);
    m.zk_frame(1_450, &[(1, "following"), (2, "leading"), (3, "down")], 2);
    m.zk_killed(1, false);
    m.executor_killed(2);
    m.zk_frame(2_000, &[(1, "following"), (2, "leading"), (3, "following")], 2);
    m.stage_completed("stage 3 (attempt 1) completed");
    let r = m.view().report;
    assert_eq!(r.failures_total, 3);
    assert_eq!(r.open_failures, 0);
    let ttr = |id: &str| r.failures.iter().find(|f| f.id == id).and_then(|f| f.ttr_ms);
    // zk3 (the leader) was repaired when zk2 was established, 450 ms later.
    assert_eq!(ttr("zk3"), Some(450));
    // zk1 (a follower) when it served again; exec2 when the next stage completed.
    assert_eq!(ttr("zk1"), Some(550));
    assert_eq!(ttr("exec2"), Some(550));
    assert_eq!(r.mttr_ms.per_kind.get("zk_leader").copied().flatten(), Some(450.0));
}

#[test]
fn chaos_kills_one_target_at_a_time_and_restarts_it() {
    let targets: Vec<String> = ["zk1", "zk2", "zk3", "exec1", "exec2"].iter().map(|s| s.to_string()).collect();
    let mut m = Measure::new(0);
    m.start_chaos(7, 2_000, 500, &targets);
    let mut down: Vec<String> = vec![];
    let mut kills = 0;
    for t in (0..60_000).step_by(100) {
        m.zk_frame(t, &[], 0);
        for e in m.due_chaos() {
            if e.action == zkspark::metrics::ChaosAction::Kill {
                assert!(down.is_empty(), "at {t}: {} killed while {down:?} is down", e.target);
                down.push(e.target.clone());
                kills += 1;
            } else {
                down.retain(|d| *d != e.target);
            }
        }
    }
    assert!((15..=45).contains(&kills), "{kills} kills in 60 s at a mean of 2 s");
    m.stop_chaos();
    assert_eq!(m.view().chaos_mean_ms, None);
}
