//! Election rules, each pinned to the ZooKeeper 3.8 behaviour it reproduces
//! (`FastLeaderElection`, `QuorumPeer`, `Leader`, `Learner`).

use zkspark::scenario::{ensemble, run_until_settled};
use zkspark::sim::{Disk, LinkConfig, Network, Process, Simulator};
use zkspark::zab::properties::{at_most_one_leader_per_epoch, settled_leader};
use zkspark::zab::server::{ACCEPTED_EPOCH_FILE, CURRENT_EPOCH_FILE};
use zkspark::zab::{ServerState, ZkCommand, ZkEvent, ZkServer, Zxid};

const SEED: u64 = 42;

fn settled(n: u32) -> Simulator<ZkServer> {
    let mut sim = ensemble(SEED, n, Network::new(LinkConfig::default()));
    run_until_settled(&mut sim, 10_000).expect("a fresh ensemble elects a leader");
    sim
}

fn leader_of(sim: &Simulator<ZkServer>) -> u32 {
    settled_leader(sim).expect("a settled leader")
}

fn epoch_of(sim: &Simulator<ZkServer>, id: u32) -> u32 {
    sim.node(id).and_then(|s| s.established_epoch()).expect("an established leader")
}

fn reasons(sim: &Simulator<ZkServer>, node: u32) -> Vec<String> {
    sim.events()
        .iter()
        .filter(|e| e.node == node)
        .filter_map(|e| match &e.event {
            ZkEvent::StateChanged { reason, .. } => Some(reason.clone()),
            _ => None,
        })
        .collect()
}

/// totalOrderPredicate with equal epochs and zxids falls back to the server id, so a fresh
/// ensemble elects its highest id; the leader's new epoch is max(acceptedEpoch) + 1 = 1
/// (Leader.getEpochToPropose).
#[test]
fn fresh_ensemble_elects_the_highest_id_in_epoch_1() {
    for n in [3, 5, 7] {
        let sim = settled(n);
        assert_eq!(leader_of(&sim), n, "{n} servers");
        assert_eq!(epoch_of(&sim, n), 1);
        for id in 1..n {
            let s = sim.node(id).unwrap();
            assert_eq!(s.state(), ServerState::Following);
            assert_eq!(s.current_epoch(), 1, "NEWLEADER sets the follower's currentEpoch");
            assert_eq!(s.accepted_epoch(), 1, "LEADERINFO sets the follower's acceptedEpoch");
        }
    }
}

/// A killed leader's followers see its connections reset (EOF in `Follower.followLeader`), look
/// again at once, and elect the best of the survivors in a new epoch.
#[test]
fn killing_the_leader_elects_a_survivor_in_a_new_epoch() {
    let mut sim = settled(5);
    sim.crash(5);
    let took = run_until_settled(&mut sim, 60_000).expect("survivors elect a new leader");
    assert_eq!(leader_of(&sim), 4);
    assert_eq!(epoch_of(&sim, 4), 2);
    // A reset, then finalizeWait (200 ms) and a few round trips: no timeout is involved.
    assert!(took < 1_000, "took {took} ms");
    assert!(reasons(&sim, 1).iter().any(|r| r.contains("reset")), "{:?}", reasons(&sim, 1));
}

/// A leader cut off by a partition sends no reset: followers notice only when it has been
/// silent for syncLimit * tickTime = 10 s (the socket read timeout).
#[test]
fn a_partitioned_leader_is_noticed_after_sync_limit_ticks() {
    let mut sim = settled(5);
    sim.network.isolate(5, 1..=5);
    let start = sim.now();
    sim.run_until(start + 9_000);
    assert_eq!(sim.node(1).unwrap().state(), ServerState::Following, "still following after 9 s");
    sim.run_until(start + 12_000);
    assert_ne!(sim.node(1).unwrap().synced_leader(), Some(5), "gave up on 5 by 12 s");
    assert!(reasons(&sim, 1).iter().any(|r| r.contains("read timed out")), "{:?}", reasons(&sim, 1));
}

/// Votes compare zxids before ids: a server with a longer history beats a higher id.
#[test]
fn the_most_up_to_date_server_wins_over_a_higher_id() {
    let mut sim = settled(5);
    sim.command(5, ZkCommand::Write);
    sim.run_until(sim.now() + 100);
    sim.crash(4); // 4 misses the next writes
    for _ in 0..3 {
        sim.command(5, ZkCommand::Write);
    }
    sim.run_until(sim.now() + 100);
    assert_eq!(sim.node(3).unwrap().last_zxid(), Zxid::new(1, 4));
    // The leader dies as 4 comes back with its short history: 4 has the highest id left, but
    // 3 has the longest history.
    sim.crash(5);
    sim.restart(4);
    assert_eq!(sim.node(4).unwrap().last_zxid(), Zxid::new(1, 1));
    run_until_settled(&mut sim, 60_000).expect("a new leader");
    assert_eq!(leader_of(&sim), 3, "zxid 0x100000004 beats server 4's 0x100000001");
    // Synchronization then gives 4 the writes it missed (a DIFF).
    assert_eq!(sim.node(4).unwrap().last_applied(), Zxid::new(1, 4));
}

/// A restarted server (logical clock back at 1) learns the leader from the settled servers'
/// replies (the out-of-election votes and checkLeader) and joins without a new epoch.
#[test]
fn a_restarted_server_joins_the_existing_leader() {
    let mut sim = settled(5);
    sim.crash(5);
    run_until_settled(&mut sim, 60_000).expect("4 takes over");
    assert_eq!((leader_of(&sim), epoch_of(&sim, 4)), (4, 2));
    let established = |sim: &Simulator<ZkServer>| {
        sim.events().iter().filter(|e| matches!(e.event, ZkEvent::Established { .. })).count()
    };
    let before = established(&sim);
    sim.restart(5);
    let took = run_until_settled(&mut sim, 10_000).expect("5 rejoins");
    assert!(took < 1_000, "joining a live leader takes round trips, not timeouts ({took} ms)");
    assert_eq!(leader_of(&sim), 4);
    assert_eq!(epoch_of(&sim, 4), 2, "no new epoch for a rejoining server");
    assert_eq!(established(&sim), before);
    let why = reasons(&sim, 5);
    assert!(why.last().unwrap().contains("joined the established leader"), "{why:?}");
}

/// currentEpoch and acceptedEpoch are files on disk: after every server restarts, the next
/// epoch continues from them rather than from zero.
#[test]
fn epochs_survive_restarts() {
    let mut sim = settled(3);
    for _ in 0..3 {
        for id in 1..=3 {
            sim.crash(id);
        }
        for id in 1..=3 {
            sim.restart(id);
        }
        run_until_settled(&mut sim, 30_000).expect("a leader after a full restart");
    }
    let leader = leader_of(&sim);
    assert_eq!(epoch_of(&sim, leader), 4);
    let disk: &Disk = sim.disk(1).unwrap();
    assert_eq!(disk.read(CURRENT_EPOCH_FILE), Some("4"));
    assert_eq!(disk.read(ACCEPTED_EPOCH_FILE), Some("4"));
}

/// Leader.lead's loop: a leader that cannot see a quorum of synced followers shuts down
/// ("Not sufficient followers synced"); the majority side elects a new leader.
#[test]
fn an_isolated_leader_steps_down_and_the_majority_moves_on() {
    let mut sim = settled(5);
    sim.network.isolate(5, 1..=5);
    sim.run_until(sim.now() + 15_000);
    assert_eq!(sim.node(5).unwrap().state(), ServerState::Looking);
    assert!(
        reasons(&sim, 5).iter().any(|r| r.starts_with("Not sufficient followers synced")),
        "{:?}",
        reasons(&sim, 5)
    );
    let majority_leader = (1..=4).find(|&i| sim.node(i).unwrap().established_epoch().is_some());
    assert_eq!(majority_leader, Some(4));
    sim.network.heal();
    run_until_settled(&mut sim, 60_000).expect("5 rejoins after healing");
    assert_eq!(leader_of(&sim), 4, "5 rejoins as a follower: 4 leads a newer epoch");
    at_most_one_leader_per_epoch(sim.events()).unwrap();
}

/// Without a quorum nobody can lead: two of five servers stay LOOKING.
#[test]
fn a_minority_never_elects() {
    let mut sim = settled(5);
    for id in [3, 4, 5] {
        sim.crash(id);
    }
    sim.run_until(sim.now() + 120_000);
    for id in [1, 2] {
        assert_eq!(sim.node(id).unwrap().state(), ServerState::Looking, "server {id}");
    }
    // Nothing leads after the crash (the last Established event is the initial one).
    let last = sim.events().iter().rev().find(|e| matches!(e.event, ZkEvent::Established { .. })).unwrap();
    assert_eq!(last.node, 5);
}

/// A LOOKING server that hears nothing re-sends its votes with a timeout that doubles from
/// 200 ms up to maxNotificationInterval (60 s).
#[test]
fn notification_timeouts_back_off_exponentially() {
    let mut network = Network::new(LinkConfig::default());
    network.isolate(1, 1..=3);
    let mut sim = ensemble(SEED, 3, network);
    sim.keep_trace_log();
    sim.run_until(300_000);
    let sends: Vec<u64> = sim
        .trace_log()
        .iter()
        .filter(|l| l.ends_with("wake 1"))
        .map(|l| l.split(' ').next().unwrap().parse().unwrap())
        .collect();
    let gaps: Vec<u64> = sends.windows(2).map(|w| w[1] - w[0]).collect();
    assert_eq!(&gaps[..8], &[400, 800, 1600, 3200, 6400, 12800, 25600, 51200]);
    assert!(gaps[8..].iter().all(|&g| g == 60_000), "{gaps:?}");
}

/// Learner.registerWithLeader refuses a leader whose epoch is below its accepted epoch.
#[test]
fn a_learner_refuses_an_older_epoch() {
    use zkspark::sim::Effect;
    use zkspark::zab::{ZabMsg, ZkConfig};
    let mut disk = Disk::default();
    disk.write(ACCEPTED_EPOCH_FILE, "7".into());
    disk.write(CURRENT_EPOCH_FILE, "6".into());
    let mut s = ZkServer::recover(1, ZkConfig::ensemble(3), &disk);
    let mut out = Vec::new();
    s.start(0, &mut out);
    // Server 3 tells server 1 it leads; 2 agrees: 1 follows 3.
    let vote = |state| zkspark::zab::Notification {
        leader: 3,
        zxid: Zxid::new(6, 0),
        election_epoch: 1,
        state,
        peer_epoch: 6,
    };
    s.message(10, 3, ZabMsg::Notification(vote(ServerState::Leading)), &mut out);
    s.message(11, 2, ZabMsg::Notification(vote(ServerState::Following)), &mut out);
    assert_eq!(s.state(), ServerState::Following);
    let conn = out
        .iter()
        .find_map(|e| match e {
            Effect::Send { to: 3, msg: ZabMsg::FollowerInfo { conn, accepted_epoch: 7, .. } } => Some(*conn),
            _ => None,
        })
        .expect("FOLLOWERINFO with acceptedEpoch 7");
    s.message(20, 3, ZabMsg::LeaderInfo { conn, new_epoch: 5 }, &mut out);
    assert_eq!(s.state(), ServerState::Looking);
    assert_eq!(s.accepted_epoch(), 7);
}

/// lookForLeader polls `recvqueue.poll(finalizeWait)` in a loop once a quorum agrees: every
/// vote that is no better restarts the wait, so a server decides only after 200 ms of quiet.
#[test]
fn finalize_wait_restarts_on_each_vote_that_is_no_better() {
    use zkspark::zab::{Notification, ZabMsg, ZkConfig};
    let mut s = ZkServer::recover(3, ZkConfig::ensemble(3), &Disk::default());
    let mut out = Vec::new();
    s.start(0, &mut out);
    let vote_for_3 =
        Notification { leader: 3, zxid: Zxid::ZERO, election_epoch: 1, state: ServerState::Looking, peer_epoch: 0 };
    s.message(10, 2, ZabMsg::Notification(vote_for_3), &mut out); // {2, 3} agree: a quorum of 3
    s.message(150, 1, ZabMsg::Notification(vote_for_3), &mut out); // no better: the wait restarts
    s.wake(210, &mut out);
    assert_eq!(s.state(), ServerState::Looking, "210 ms is only 60 ms after the last vote");
    s.wake(349, &mut out);
    assert_eq!(s.state(), ServerState::Looking);
    s.wake(350, &mut out);
    assert_eq!(s.state(), ServerState::Leading, "200 ms of quiet after the last vote");
}
