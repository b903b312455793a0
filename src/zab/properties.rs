//! Named cluster properties of an ensemble, checked by the simulator tests, the CLI and the
//! browser tests alike.

use super::server::{ZkEvent, ZkServer};
use super::vote::Sid;
use super::zxid::Zxid;
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
    // An old leader cut off from its followers may still believe it leads until its next
    // quorum check (syncLimit): it is not backed by a quorum, so it does not count.
    let backed: Vec<Sid> = up
        .iter()
        .filter(|s| s.established_epoch().is_some())
        .map(|s| crate::sim::Process::id(*s))
        .filter(|&leader| {
            let mut backing: Vec<Sid> =
                up.iter().filter(|s| s.synced_leader() == Some(leader)).map(|s| crate::sim::Process::id(*s)).collect();
            backing.push(leader);
            quorum.contains_quorum(&backing)
        })
        .collect();
    match backed.as_slice() {
        [leader] => Some(*leader),
        _ => None,
    }
}

/// How many times a leader was established.
pub fn leader_changes(events: &[Emitted<ZkEvent>]) -> usize {
    events.iter().filter(|e| matches!(e.event, ZkEvent::Established { .. })).count()
}

/// **History agreement**: whenever any server applies zxid z, it is the same txn after the same
/// predecessor with the same history hash (all servers that commit z commit the same txn, in
/// the same order). Returns the edges `zxid → prev` for `committed_survive`.
pub fn history_agreement(events: &[Emitted<ZkEvent>]) -> Result<BTreeMap<Zxid, Zxid>, String> {
    let mut seen: BTreeMap<Zxid, (Zxid, u64, Sid)> = BTreeMap::new();
    for e in events {
        if let ZkEvent::Applied { zxid, prev, chain } = e.event {
            match seen.get(&zxid) {
                Some(&(p, c, who)) if (p, c) != (prev, chain) => {
                    return Err(format!(
                        "server {} applied {zxid} after {prev} (history {chain:016x}) but server {who} applied it after {p} (history {c:016x}) (t={} ms)",
                        e.node, e.at
                    ));
                }
                Some(_) => {}
                None => {
                    seen.insert(zxid, (prev, chain, e.node));
                }
            }
        }
    }
    Ok(seen.into_iter().map(|(z, (p, _, _))| (z, p)).collect())
}

/// **Committed txns survive**: every txn a leader committed is in the history of every server
/// that is caught up at the end (walking back from its last applied txn through `edges`), and
/// every leader established after the commit started with a history reaching it.
pub fn committed_survive(
    events: &[Emitted<ZkEvent>],
    edges: &BTreeMap<Zxid, Zxid>,
    caught_up: &[(Sid, Zxid)],
) -> Result<(), String> {
    let mut committed: Vec<(Zxid, u64)> = Vec::new();
    for e in events {
        match &e.event {
            ZkEvent::Committed { zxid, .. } => committed.push((*zxid, e.at)),
            ZkEvent::Established { epoch, history, .. } => {
                if let Some(&(z, at)) = committed.iter().filter(|(z, _)| z > history).max() {
                    return Err(format!(
                        "leader {} of epoch {epoch} started with history ending at {history}, without {z} committed at t={at} ms",
                        e.node
                    ));
                }
            }
            _ => {}
        }
    }
    for &(sid, last) in caught_up {
        let mut ancestors = std::collections::BTreeSet::new();
        let mut z = last;
        while z != Zxid::ZERO && ancestors.insert(z) {
            match edges.get(&z) {
                Some(&p) => z = p,
                None => break,
            }
        }
        for &(c, at) in &committed {
            if c <= last && !ancestors.contains(&c) {
                return Err(format!("server {sid} (at {last}) lost {c}, committed at t={at} ms"));
            }
        }
    }
    Ok(())
}

/// **Replicas converge**: caught-up servers that applied the same last zxid have identical
/// trees (compared by digest).
pub fn replicas_agree(servers: &[&ZkServer]) -> Result<(), String> {
    let mut by_zxid: BTreeMap<Zxid, (u64, Sid)> = BTreeMap::new();
    for s in servers {
        let (z, d) = (s.last_applied(), s.tree().digest());
        match by_zxid.get(&z) {
            Some(&(other, who)) if other != d => {
                return Err(format!(
                    "servers {who} and {} both at {z} have different trees",
                    crate::sim::Process::id(*s)
                ))
            }
            _ => {
                by_zxid.insert(z, (d, crate::sim::Process::id(*s)));
            }
        }
    }
    Ok(())
}
