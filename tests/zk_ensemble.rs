//! ZooKeeper as its clients see it, on a simulated 5-server ensemble: replication, sessions,
//! ephemerals, failover, watches, sync, snapshots and the three ways a learner is synced.

use zkspark::ensemble::{ClientEvent, ClientState, Ensemble};
use zkspark::sim::{LinkConfig, Network};
use zkspark::zab::{ZkEvent, ZkServer};
use zkspark::zk::watch::{KeeperState, WatchEventType};
use zkspark::zk::{Acl, CreateMode, Op, OpResult, ZkError};

const T: u64 = 10_000; // budget per call, virtual ms

fn ensemble(seed: u64) -> Ensemble {
    let net = Network::new(LinkConfig { latency_ms: 5, jitter_ms: 5, loss_ppm: 0, dup_ppm: 0, fifo: true });
    Ensemble::new(seed, 5, net)
}

fn leader(e: &Ensemble) -> u32 {
    (1..=5).find(|&i| e.sim.node(i).is_some_and(|s| s.established_epoch().is_some())).expect("a leader")
}

fn create(path: &str, data: &str, mode: CreateMode) -> Op {
    Op::Create { path: path.into(), data: data.as_bytes().to_vec(), acl: Acl::open_unsafe(), mode, ttl_ms: None }
}

fn get(path: &str, watch: bool) -> Op {
    Op::GetData { path: path.into(), watch }
}

fn data_of(r: Result<OpResult, ZkError>) -> String {
    match r {
        Ok(OpResult::Data { data, .. }) => String::from_utf8(data).unwrap(),
        other => panic!("expected data, got {other:?}"),
    }
}

fn trees_agree(e: &Ensemble) {
    let up: Vec<&ZkServer> = (1..=5).filter_map(|i| e.sim.node(i)).collect();
    let first = up[0];
    for s in &up[1..] {
        assert_eq!(s.last_applied(), first.last_applied(), "every server applied the same txns");
        assert_eq!(s.tree().digest(), first.tree().digest(), "identical trees");
    }
}

#[test]
fn a_write_through_a_follower_is_committed_everywhere_and_read_back() {
    let mut e = ensemble(1);
    let follower = (1..=5).find(|&i| i != leader(&e)).unwrap();
    let c = e.open(vec![follower], 30_000);
    assert_eq!(e.wait_connected(c, T), ClientState::Connected);
    let r = e.call(c, create("/app", "v1", CreateMode::Persistent), T);
    assert!(matches!(r, Ok(OpResult::Created { ref path, .. }) if path == "/app"), "{r:?}");
    assert_eq!(data_of(e.call(c, get("/app", false), T)), "v1");
    assert_eq!(e.call(c, create("/app", "v2", CreateMode::Persistent), T), Err(ZkError::NodeExists));
    e.run_for(1_000);
    trees_agree(&e);
}

#[test]
fn an_ephemeral_goes_when_its_session_expires_and_the_client_learns_it_expired() {
    let mut e = ensemble(2);
    let c = e.open(vec![1, 2, 3, 4, 5], 6_000);
    assert_eq!(e.wait_connected(c, T), ClientState::Connected);
    e.call(c, create("/lock", "", CreateMode::Ephemeral), T).unwrap();
    let owner = e.sim.node(leader(&e)).unwrap().tree().get("/lock").unwrap().stat.ephemeral_owner;
    assert_eq!(Some(owner), e.session(c), "ephemeralOwner is the session");
    e.set_partitioned(c, true);
    e.run_for(5_000);
    assert!(e.sim.node(leader(&e)).unwrap().tree().get("/lock").is_some(), "alive within the timeout");
    e.run_for(5_000); // > 6 s without a heartbeat: the leader expires the session
    for i in 1..=5 {
        assert!(e.sim.node(i).unwrap().tree().get("/lock").is_none(), "server {i} still has /lock");
    }
    assert!(e.sim.events().iter().any(|x| matches!(x.event, ZkEvent::SessionExpiring { .. })));
    e.set_partitioned(c, false);
    e.run_for(3_000);
    assert_eq!(e.state(c), ClientState::Expired);
    let events = e.take_events(c);
    assert!(events.contains(&ClientEvent::Watch(zkspark::zk::watch::WatchedEvent::state(KeeperState::Expired))));
    assert_eq!(e.call(c, get("/", false), T), Err(ZkError::SessionExpired));
}

#[test]
fn a_client_whose_server_dies_moves_to_another_and_keeps_its_session() {
    let mut e = ensemble(3);
    let follower = (1..=5).find(|&i| i != leader(&e)).unwrap();
    let others: Vec<u32> = (1..=5).filter(|&i| i != follower).collect();
    let mut servers = vec![follower];
    servers.extend(others);
    let c = e.open(servers, 10_000);
    assert_eq!(e.wait_connected(c, T), ClientState::Connected);
    e.call(c, create("/eph", "x", CreateMode::Ephemeral), T).unwrap();
    let session = e.session(c);
    e.sim.crash(follower);
    e.run_for(2_000);
    assert_eq!(e.state(c), ClientState::Connected);
    assert_ne!(e.server(c), Some(follower));
    assert_eq!(e.session(c), session, "same session after failover");
    assert_eq!(data_of(e.call(c, get("/eph", false), T)), "x", "its ephemeral survived");
    let events = e.take_events(c);
    let states: Vec<KeeperState> = events
        .iter()
        .filter_map(|x| match x {
            ClientEvent::Watch(w) if w.event_type == WatchEventType::None => Some(w.keeper_state),
            _ => None,
        })
        .collect();
    assert_eq!(states, vec![KeeperState::SyncConnected, KeeperState::Disconnected, KeeperState::SyncConnected]);
}

#[test]
fn a_watch_event_arrives_before_the_read_that_sees_the_change() {
    let mut e = ensemble(4);
    let a = e.open(vec![1], 30_000);
    let b = e.open(vec![2], 30_000);
    e.wait_connected(a, T);
    e.wait_connected(b, T);
    e.call(a, create("/cfg", "1", CreateMode::Persistent), T).unwrap();
    e.run_for(500);
    assert_eq!(data_of(e.call(b, get("/cfg", true), T)), "1");
    e.take_events(b);
    e.call(a, Op::SetData { path: "/cfg".into(), data: b"2".to_vec(), version: -1 }, T).unwrap();
    // b reads until it sees "2"; the NodeDataChanged event must already be in its queue.
    loop {
        let xid = e.submit(b, get("/cfg", false));
        let r = e.wait_reply(b, xid, T);
        let events = e.take_events(b);
        let fired = events
            .iter()
            .any(|x| matches!(x, ClientEvent::Watch(w) if w.event_type == WatchEventType::NodeDataChanged));
        if data_of(r) == "2" {
            assert!(fired, "the read saw the new data before the watch event: {events:?}");
            break;
        }
    }
}

#[test]
fn sync_makes_a_lagging_follower_read_the_latest_write() {
    let mut e = ensemble(5);
    let l = leader(&e);
    let f = (1..=5).find(|&i| i != l).unwrap();
    let w = e.open(vec![l], 30_000);
    let r = e.open(vec![f], 30_000);
    e.wait_connected(w, T);
    e.wait_connected(r, T);
    e.call(w, create("/x", "0", CreateMode::Persistent), T).unwrap();
    e.run_for(200);
    // Slow the follower's link from the leader: its commits lag behind.
    e.sim
        .network
        .links
        .insert((l, f), LinkConfig { latency_ms: 400, jitter_ms: 0, loss_ppm: 0, dup_ppm: 0, fifo: true });
    e.call(w, Op::SetData { path: "/x".into(), data: b"1".to_vec(), version: -1 }, T).unwrap();
    assert_eq!(data_of(e.call(r, get("/x", false), T)), "0", "a plain read may be stale");
    e.call(r, Op::Sync { path: "/".into() }, T).unwrap();
    assert_eq!(data_of(e.call(r, get("/x", false), T)), "1", "after sync it is not");
}

#[test]
fn kill_the_leader_mid_burst_and_no_acknowledged_write_is_lost() {
    let mut e = ensemble(6);
    let l = leader(&e);
    let c = e.open((1..=5).filter(|&i| i != l).collect(), 30_000);
    e.wait_connected(c, T);
    e.call(c, create("/burst", "", CreateMode::Persistent), T).unwrap();
    let mut acked = Vec::new();
    let mut xids = Vec::new();
    for i in 0..40 {
        xids.push((i, e.submit(c, create(&format!("/burst/n{i:02}"), "", CreateMode::Persistent))));
        if i == 20 {
            e.sim.crash(l);
        }
        e.step();
    }
    e.run_for(30_000);
    for ev in e.take_events(c) {
        if let ClientEvent::Reply { xid, result: Ok(_), .. } = ev {
            acked.extend(xids.iter().filter(|(_, x)| *x == xid).map(|(i, _)| *i));
        }
    }
    assert!(!acked.is_empty());
    let new_leader = leader(&e);
    assert_ne!(new_leader, l);
    let tree = e.sim.node(new_leader).unwrap().tree();
    for i in &acked {
        assert!(tree.get(&format!("/burst/n{i:02}")).is_some(), "acknowledged /burst/n{i:02} lost");
    }
    e.sim.restart(l);
    e.run_for(20_000);
    trees_agree(&e);
}

fn sync_modes(e: &Ensemble, learner: u32) -> Vec<String> {
    e.sim
        .events()
        .iter()
        .filter_map(|x| match &x.event {
            ZkEvent::SyncMode { learner: s, mode, .. } if *s == learner => Some(mode.clone()),
            _ => None,
        })
        .collect()
}

#[test]
fn a_server_that_missed_little_gets_a_diff_and_one_that_missed_much_gets_a_snap() {
    let mut e = ensemble(7);
    let l = leader(&e);
    let c = e.open(vec![l], 30_000);
    e.wait_connected(c, T);
    let (near, far) = {
        let f: Vec<u32> = (1..=5).filter(|&i| i != l).collect();
        (f[0], f[1])
    };
    e.sim.crash(near);
    e.sim.crash(far);
    e.call(c, create("/d", "", CreateMode::Persistent), T).unwrap();
    e.sim.restart(near);
    e.run_for(5_000);
    assert_eq!(sync_modes(&e, near).last().map(String::as_str), Some("DIFF"));
    // snapCount is 100: 250 more txns leave a log that no longer reaches back to `far`.
    for i in 0..250 {
        let xid = e.submit(c, create(&format!("/d/{i}"), "", CreateMode::Persistent));
        if i % 50 == 49 {
            e.wait_reply(c, xid, T).unwrap();
        }
    }
    e.run_for(2_000);
    assert!(e.sim.events().iter().any(|x| matches!(x.event, ZkEvent::Snapshot { .. })));
    e.sim.restart(far);
    e.run_for(5_000);
    assert_eq!(sync_modes(&e, far).last().map(String::as_str), Some("SNAP"));
    trees_agree(&e);
}

#[test]
fn a_restarted_server_rebuilds_its_tree_from_snapshot_and_log() {
    let mut e = ensemble(8);
    let l = leader(&e);
    let c = e.open(vec![l], 30_000);
    e.wait_connected(c, T);
    for i in 0..130 {
        let xid = e.submit(c, create(&format!("/r{i}"), "", CreateMode::Persistent));
        if i % 40 == 39 {
            e.wait_reply(c, xid, T).unwrap();
        }
    }
    e.run_for(2_000);
    let f = (1..=5).find(|&i| i != l).unwrap();
    let before = (e.sim.node(f).unwrap().last_applied(), e.sim.node(f).unwrap().tree().digest());
    let disk = e.sim.disk(f).unwrap();
    assert!(disk.files.keys().any(|k| k.starts_with("snapshot.")), "{:?}", disk.files.keys().collect::<Vec<_>>());
    e.sim.crash(f);
    e.sim.restart(f);
    let s = e.sim.node(f).unwrap();
    assert_eq!((s.last_applied(), s.tree().digest()), before, "rebuilt from disk before any sync");
}

#[test]
fn the_leader_reaps_an_emptied_container_and_an_expired_ttl_node() {
    let mut e = ensemble(9);
    let c = e.open(vec![1, 2, 3, 4, 5], 30_000);
    e.wait_connected(c, T);
    e.call(c, create("/box", "", CreateMode::Container), T).unwrap();
    e.call(c, create("/box/item", "", CreateMode::Persistent), T).unwrap();
    let ttl = Op::Create {
        path: "/lease".into(),
        data: Vec::new(),
        acl: Acl::open_unsafe(),
        mode: CreateMode::PersistentWithTtl,
        ttl_ms: Some(5_000),
    };
    e.call(c, ttl, T).unwrap();
    e.call(c, Op::Delete { path: "/box/item".into(), version: -1 }, T).unwrap();
    assert!(e.call(c, Op::Exists { path: "/box".into(), watch: false }, T).unwrap() != OpResult::NoStat);
    // ContainerManager runs every 60 s (znode.container.checkIntervalMs).
    e.run_for(61_000);
    for path in ["/box", "/lease"] {
        assert_eq!(
            e.call(c, Op::Exists { path: path.into(), watch: false }, T),
            Ok(OpResult::NoStat),
            "{path} not reaped"
        );
    }
}

#[test]
fn a_failed_multi_changes_nothing_on_any_replica() {
    let mut e = ensemble(10);
    let c = e.open(vec![2], 30_000);
    e.wait_connected(c, T);
    e.call(c, create("/m", "", CreateMode::Persistent), T).unwrap();
    let before = e.sim.node(leader(&e)).unwrap().tree().digest();
    let multi =
        Op::Multi(vec![create("/m/a", "", CreateMode::Persistent), Op::Delete { path: "/nope".into(), version: -1 }]);
    match e.call(c, multi, T) {
        Ok(OpResult::Multi(results)) => {
            assert_eq!(results[0], Err(ZkError::RolledBack));
            assert_eq!(results[1], Err(ZkError::NoNode));
        }
        other => panic!("{other:?}"),
    }
    e.run_for(500);
    assert_eq!(e.call(c, Op::Exists { path: "/m/a".into(), watch: false }, T), Ok(OpResult::NoStat));
    trees_agree(&e);
    let after = e.sim.node(leader(&e)).unwrap().tree();
    assert_ne!(after.digest(), before, "the failed multi still consumed a zxid");
    assert!(after.get("/m/a").is_none());
}

#[test]
fn a_request_over_one_megabyte_loses_the_connection_and_the_client_reconnects() {
    let mut e = ensemble(11);
    let c = e.open(vec![1, 2, 3, 4, 5], 30_000);
    e.wait_connected(c, T);
    let big = Op::Create {
        path: "/big".into(),
        data: vec![b'x'; 1024 * 1024],
        acl: Acl::open_unsafe(),
        mode: CreateMode::Persistent,
        ttl_ms: None,
    };
    assert_eq!(e.call(c, big, T), Err(ZkError::ConnectionLoss));
    assert_eq!(e.wait_connected(c, T), ClientState::Connected);
    let ok = Op::Create {
        path: "/almost".into(),
        data: vec![b'x'; 1_000_000],
        acl: Acl::open_unsafe(),
        mode: CreateMode::Persistent,
        ttl_ms: None,
    };
    assert!(e.call(c, ok, T).is_ok());
    assert_eq!(e.call(c, Op::Exists { path: "/big".into(), watch: false }, T), Ok(OpResult::NoStat));
}

#[test]
fn a_deposed_leader_with_an_uncommitted_proposal_is_truncated_when_it_returns() {
    let mut e = ensemble(12);
    let old = leader(&e);
    let c = e.open((1..=5).filter(|&i| i != old).collect(), 30_000);
    e.wait_connected(c, T);
    e.call(c, create("/t", "", CreateMode::Persistent), T).unwrap();
    e.run_for(500);
    // Cut the leader off, then have it propose: only its own log gets the txn.
    e.sim.network.isolate(old, 1..=5);
    e.sim.command(old, zkspark::zab::ZkCommand::Write);
    let orphan = e.sim.node(old).unwrap().last_zxid();
    e.step();
    e.sim.crash(old);
    e.sim.network.heal();
    // The followers elect a new leader; the client's requests fail until they have one.
    let mut tries = 0;
    // (A ConnectionLoss may hide a create that happened: NodeExists on the retry is success.)
    while !matches!(e.call(c, create("/t/after", "", CreateMode::Persistent), T), Ok(_) | Err(ZkError::NodeExists)) {
        tries += 1;
        assert!(tries < 10, "no new leader took the write");
        e.run_for(1_000);
    }
    let new_leader = leader(&e);
    assert_ne!(new_leader, old);
    e.sim.restart(old);
    e.run_for(10_000);
    assert_eq!(sync_modes(&e, old).last().map(String::as_str), Some("TRUNC"));
    let s = e.sim.node(old).unwrap();
    assert!(s.last_zxid() > orphan && s.tree().get("/t/after").is_some());
    assert_ne!(s.tree().get("/").unwrap().data, b"write 1".to_vec(), "the orphan write was dropped");
    trees_agree(&e);
}

#[test]
fn a_watch_survives_failover_and_a_change_missed_meanwhile_fires_on_reconnect() {
    let mut e = ensemble(13);
    let l = leader(&e);
    let f = (1..=5).find(|&i| i != l).unwrap();
    let writer = e.open(vec![l], 30_000);
    let mut servers = vec![f];
    servers.extend((1..=5).filter(|&i| i != f));
    let watcher = e.open(servers, 30_000);
    e.wait_connected(writer, T);
    e.wait_connected(watcher, T);
    e.call(writer, create("/w1", "a", CreateMode::Persistent), T).unwrap();
    e.call(writer, create("/w2", "a", CreateMode::Persistent), T).unwrap();
    e.run_for(300);
    e.call(watcher, get("/w1", true), T).unwrap();
    e.call(watcher, get("/w2", true), T).unwrap();
    e.take_events(watcher);
    // The watcher's server dies; /w1 changes while the client is between servers.
    e.sim.crash(f);
    e.call(writer, Op::SetData { path: "/w1".into(), data: b"b".to_vec(), version: -1 }, T).unwrap();
    e.run_for(2_000);
    assert_eq!(e.state(watcher), ClientState::Connected);
    // Then /w2 changes on the new server.
    e.call(writer, Op::SetData { path: "/w2".into(), data: b"b".to_vec(), version: -1 }, T).unwrap();
    e.run_for(1_000);
    let fired: Vec<String> = e
        .take_events(watcher)
        .into_iter()
        .filter_map(|x| match x {
            ClientEvent::Watch(w) if w.event_type == WatchEventType::NodeDataChanged => w.path,
            _ => None,
        })
        .collect();
    assert_eq!(fired, vec!["/w1".to_string(), "/w2".to_string()], "SetWatches re-armed both watches");
}

#[test]
fn observers_serve_reads_and_forward_writes_but_never_vote() {
    let net = Network::new(LinkConfig { latency_ms: 5, jitter_ms: 5, loss_ppm: 0, dup_ppm: 0, fifo: true });
    let mut e = Ensemble::with_config(14, zkspark::zab::ZkConfig::with_observers(3, 2), net);
    e.run_for(3_000);
    for o in [4, 5] {
        assert_eq!(e.sim.node(o).unwrap().state(), zkspark::zab::ServerState::Observing, "server {o}");
    }
    // A client on an observer writes (forwarded to the leader) and reads its write back.
    let c = e.open(vec![4], 30_000);
    assert_eq!(e.wait_connected(c, T), ClientState::Connected);
    e.call(c, create("/obs", "seen", CreateMode::Persistent), T).unwrap();
    assert_eq!(data_of(e.call(c, get("/obs", false), T)), "seen");
    e.run_for(500);
    assert!(e.sim.node(5).unwrap().tree().get("/obs").is_some(), "the other observer got the INFORM");
    // Both other voters down: three servers run (the leader and two observers), but one voter
    // is no quorum: the leader steps down and nobody leads.
    let l = (1..=3).find(|&i| e.sim.node(i).is_some_and(|s| s.established_epoch().is_some())).unwrap();
    for v in (1..=3).filter(|&v| v != l) {
        e.sim.crash(v);
    }
    e.run_for(30_000);
    assert!(
        (1..=5).all(|i| e.sim.node(i).is_none_or(|s| s.established_epoch().is_none())),
        "a leader without a quorum of voters"
    );
    assert!([4, 5].iter().all(|&o| e.sim.node(o).unwrap().state() != zkspark::zab::ServerState::Leading));
}
