//! The page's conductor driven by in-process "workers" (the same `WorkerNode` the real workers
//! run): the kill / restart / crash flows of the live runtime, without a browser.

mod common;
use common::fake_page::FakePage;
use zkspark::live::{Conductor, FromWorker, NodeStatus};

#[test]
fn the_page_elects_kills_and_recovers() {
    let mut page = FakePage::new(5);
    page.run(3_000);
    assert_eq!(page.leader(), Some(5), "{:?}", page.states());
    assert_eq!(page.states().iter().filter(|s| **s == "following").count(), 4);

    page.kill(5);
    assert_eq!(page.states()[4], "down");
    page.run(3_000);
    assert_eq!(page.leader(), Some(4), "{:?}", page.states());

    page.restart(5);
    page.run(3_000);
    let booted =
        page.conductor.snapshot().log.iter().rev().find(|e| e.node == 5 && e.text.contains("started")).cloned();
    assert!(
        booted.is_some_and(|e| e.text.contains("currentEpoch=1")),
        "the new worker booted from the disk the page kept for the killed one"
    );
    assert_eq!(page.states()[4], "following", "a restarted server rejoins as a follower");
    let view = page.conductor.snapshot().nodes[4].view.clone().unwrap();
    assert_eq!(view.current_epoch, 2, "it recovered its epoch from the disk the page kept");
}

#[test]
fn inputs_wait_for_a_worker_that_is_still_loading() {
    let mut conductor = Conductor::new(3, 1);
    let posts = conductor.advance(1_000.0);
    assert!(posts.is_empty(), "nothing is posted before a worker is ready");
    let generation = conductor.generation(1);
    let released = conductor.worker_ready(1, generation);
    assert!(matches!(released.first().map(|p| &p.msg), Some(zkspark::live::ToWorker::Init { .. })));
}

#[test]
fn a_panicking_worker_shows_as_down_and_the_rest_carry_on() {
    let mut page = FakePage::new(3);
    page.run(2_000);
    assert_eq!(page.leader(), Some(3));
    let posts = page.conductor.inject_panic(3);
    page.dispatch(posts);
    assert!(matches!(page.conductor.status(3), NodeStatus::Crashed(m) if m.contains("panic")));
    assert_eq!(page.states()[2], "down");
    page.run(3_000);
    assert_eq!(page.leader(), Some(2));
}

#[test]
fn outputs_of_a_killed_worker_are_ignored() {
    let mut page = FakePage::new(3);
    page.run(2_000);
    let old_generation = page.conductor.generation(1);
    page.kill(1);
    let stale = FromWorker::Ready;
    assert!(page.conductor.worker_output(1, old_generation, stale).is_empty());
    assert_eq!(page.states()[0], "down");
}

#[test]
fn pausing_stops_virtual_time() {
    let mut page = FakePage::new(3);
    page.run(1_000);
    let t = page.conductor.now();
    page.conductor.set_paused(true);
    page.run(5_000);
    assert_eq!(page.conductor.now(), t);
    page.conductor.set_paused(false);
    page.conductor.set_speed(4.0);
    page.run(1_000);
    assert!(page.conductor.now() >= t + 3_900, "4× speed: {} ms passed", page.conductor.now() - t);
}

#[test]
fn an_isolated_leader_is_replaced_after_the_sync_timeout_and_rejoins_when_healed() {
    let mut page = FakePage::new(5);
    page.run(3_000);
    assert_eq!(page.leader(), Some(5));
    page.conductor.set_isolated(5, true);
    assert!(page.conductor.snapshot().nodes[4].isolated);
    page.run(8_000);
    assert_eq!(page.states()[0], "following", "no reset on a partition: followers wait out syncLimit");
    page.run(6_000);
    assert_eq!(page.states()[4], "looking", "the cut-off leader lost its quorum");
    let leaders: Vec<_> =
        page.conductor.snapshot().nodes.iter().filter(|n| n.data_state() == "leading").map(|n| n.sid).collect();
    assert_eq!(leaders, vec![4], "the majority elected 4");
    page.conductor.set_isolated(5, false);
    page.run(5_000);
    assert_eq!(page.leader(), Some(4));
    assert_eq!(page.states()[4], "following");
}

/// Client packets go straight to the server's worker (clients are not ensemble members, so
/// they do not cross the virtual network); a dead server refuses them, and each client takes
/// only the mail for its own connections.
#[test]
fn client_packets_reach_a_live_worker_and_replies_wait_for_their_client() {
    use zkspark::zab::clients::{ClientReq, ClientResp};
    let mut page = FakePage::new(3);
    page.run(3_000);
    let leader = page.leader().unwrap();
    let mut posts = Vec::new();
    let connect = ClientReq::Connect { session: None, timeout_ms: 30_000, last_zxid_seen: zkspark::zab::Zxid::ZERO };
    let generation = page.conductor.client_send(leader, 7 << 32 | 1, connect.clone(), &mut posts);
    assert_eq!(generation, Some(page.conductor.generation(leader)));
    page.dispatch(posts);
    page.run(500);
    assert!(page.conductor.has_client_mail());
    assert!(page.conductor.take_client_mail(|conn| conn >> 32 == 8).is_empty(), "not client 8's");
    let mail = page.conductor.take_client_mail(|conn| conn >> 32 == 7);
    assert!(
        matches!(mail.as_slice(), [m] if m.sid == leader && matches!(m.resp, ClientResp::Connected { .. })),
        "{mail:?}"
    );
    assert!(!page.conductor.has_client_mail());

    page.kill(leader);
    let mut posts = Vec::new();
    assert_eq!(page.conductor.client_send(leader, 7 << 32 | 2, connect, &mut posts), None, "refused");
    assert!(posts.is_empty());
    assert!(!page.conductor.is_up(leader, generation.unwrap()), "the old incarnation is gone");
}

#[test]
fn observers_on_the_page_observe_and_learn_writes_without_voting() {
    let mut page = FakePage::with_observers(3, 2);
    page.run(15_000);
    assert_eq!(page.states().iter().filter(|s| **s == "observing").count(), 2, "{:?}", page.states());
    let leader = page.leader().expect("a leader among the voters");
    assert!(leader <= 3, "an observer never leads");
    // Kill the leader: the two remaining voters are a quorum of three; observers stay observers.
    page.kill(leader);
    page.run(20_000);
    let new_leader = page.leader().expect("a new leader");
    assert!(new_leader <= 3 && new_leader != leader);
    assert_eq!(page.states().iter().filter(|s| **s == "observing").count(), 2, "{:?}", page.states());
}
