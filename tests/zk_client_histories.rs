//! Seeded worlds with a client write load under crashes, restarts, partitions, loss and
//! duplication: ZAB's properties, converged replicas, expired sessions' ephemerals gone,
//! linearizable writes (Wing–Gong–Lowe search), FIFO client order and monotonic reads.
//! `ZKSPARK_CLIENT_SEEDS` sets how many seeds (default 1000); a failure prints its seed.

use zkspark::client_scenario::run;

#[test]
fn client_histories_hold_zookeepers_guarantees_over_many_seeds() {
    let seeds: u64 = std::env::var("ZKSPARK_CLIENT_SEEDS").ok().and_then(|s| s.parse().ok()).unwrap_or(1000);
    let (mut writes, mut unknown, mut reads, mut expired) = (0, 0, 0, 0);
    for seed in 0..seeds {
        let r = run(seed, 30_000);
        assert!(
            r.violations.is_empty(),
            "seed {seed} (replay: zkspark::client_scenario::run({seed}, 30_000)): {:#?}",
            r.violations
        );
        writes += r.writes_ok;
        unknown += r.writes_unknown;
        reads += r.reads_ok;
        expired += r.sessions_expired;
    }
    // The load must really exercise the system, or the checks above prove nothing.
    assert!(writes > 20 * seeds as usize, "only {writes} acknowledged writes over {seeds} seeds");
    assert!(reads > 10 * seeds as usize, "only {reads} reads");
    assert!(unknown > 0, "no write ever had an unknown outcome: faults are not biting");
    assert!(expired > 0 || seeds < 50, "no session ever expired");
    eprintln!(
        "{seeds} seeds: {writes} acknowledged writes, {unknown} unknown, {reads} reads, {expired} expired sessions"
    );
}
