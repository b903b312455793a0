//! Named cluster properties of an ensemble, checked by the simulator tests, the CLI and the
//! browser tests alike.

use super::server::{ZkEvent, ZkServer};
use super::vote::Sid;
use crate::sim::{Emitted, Simulator};
use std::collections::BTreeMap;

/// **At most one leader per epoch**: no two servers ever get a quorum to establish the same
/// epoch (ZAB's primary-uniqueness, Junqueira et al. 2011, §III). Returns a violation message.
pub fn at_most_one_leader_per_epoch(events: &[Emitted<ZkEvent>]) -> Result<(), String> {
    let mut leaders: BTreeMap<u32, Sid> = BTreeMap::new();
    for e in events {
        if let ZkEvent::Established { epoch, .. } = e.event {
            if let Some(&other) = leaders.get(&epoch) {
                if other != e.node {
                    return Err(format!("two leaders for epoch {epoch}: {other} and {} (t={} ms)", e.node, e.at));
                }
            }
            leaders.insert(epoch, e.node);
        }
    }
    Ok(())
}

/// The leader every running server agrees on, if the ensemble is settled: exactly one running
/// server leads an established epoch and every other running server follows it, synced.
pub fn settled_leader(sim: &Simulator<ZkServer>) -> Option<Sid> {
    let up: Vec<&ZkServer> = sim.ids().into_iter().filter_map(|id| sim.node(id)).collect();
    let leaders: Vec<&&ZkServer> = up.iter().filter(|s| s.established_epoch().is_some()).collect();
    let [leader] = leaders.as_slice() else { return None };
    let leader_id = crate::sim::Process::id(**leader);
    let all_follow =
        up.iter().filter(|s| crate::sim::Process::id(**s) != leader_id).all(|s| s.synced_leader() == Some(leader_id));
    all_follow.then_some(leader_id)
}

/// The leader of a healthy ensemble: exactly one running server leads an established epoch, and
/// it with its synced followers forms a quorum. This is what ZooKeeper promises once a quorum is
/// up and connected. It does not promise that *every* server joins: a server whose acceptedEpoch
/// is ahead of the leader's epoch (it accepted a LEADERINFO from a leader that never got
/// established) is refused by `Learner.registerWithLeader` ("Leaders epoch, X is less than
/// accepted epoch, Y") until the leadership changes, exactly as in ZooKeeper.
pub fn quorum_leader(sim: &Simulator<ZkServer>, quorum: &super::vote::QuorumMaj) -> Option<Sid> {
    let up: Vec<&ZkServer> = sim.ids().into_iter().filter_map(|id| sim.node(id)).collect();
    let leaders: Vec<&&ZkServer> = up.iter().filter(|s| s.established_epoch().is_some()).collect();
    let [leader] = leaders.as_slice() else { return None };
    let leader_id = crate::sim::Process::id(**leader);
    let mut backing: Vec<Sid> =
        up.iter().filter(|s| s.synced_leader() == Some(leader_id)).map(|s| crate::sim::Process::id(*s)).collect();
    backing.push(leader_id);
    quorum.contains_quorum(&backing).then_some(leader_id)
}

/// How many times a leader was established.
pub fn leader_changes(events: &[Emitted<ZkEvent>]) -> usize {
    events.iter().filter(|e| matches!(e.event, ZkEvent::Established { .. })).count()
}
