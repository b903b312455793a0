//! A server's database (`ZKDatabase` over `FileTxnSnapLog`): the znode tree in memory, the
//! transaction log and the snapshots on the simulated disk.
//!
//! ```text
//! disk:  snapshot.<zxid>   the committed tree at zxid (the two newest are kept)
//!        log.<zxid>        one logged transaction (proposal), committed or not
//! memory: tree (applied = committed txns) ─ log (every txn after the oldest kept snapshot)
//! ```
//! A proposal is logged before it is acked and applied to the tree when committed. On restart
//! the newest readable snapshot is loaded and every logged txn after it replayed, as
//! `FileTxnSnapLog.restore` does; TRUNC removes logged txns past a zxid and rebuilds the tree.

use super::server::{Out, ZkEvent};
use super::zxid::Zxid;
use crate::sim::{Disk, Effect};
use crate::zk::{DataTree, OpResult, Txn, WatchTrigger, ZkError};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

pub const LOG_PREFIX: &str = "log.";
pub const SNAP_PREFIX: &str = "snapshot.";

/// What a snapshot file holds: the tree, plus the history hash at its zxid so replicas can be
/// compared txn by txn even after their logs were purged.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Snapshot {
    pub tree: DataTree,
    pub chain: u64,
}

/// One txn applied to the tree.
pub struct Applied {
    pub txn: Txn,
    /// The txn applied just before this one on this server.
    pub prev: Zxid,
    pub result: Result<OpResult, ZkError>,
    pub triggers: Vec<WatchTrigger>,
}

pub struct ZkDatabase {
    pub tree: DataTree,
    /// Hash chain over every applied txn: equal chains at a zxid mean equal histories.
    chain: u64,
    /// Every logged txn after `base` (the oldest kept snapshot), committed or not.
    log: BTreeMap<Zxid, Txn>,
    base: Zxid,
    /// The kept snapshots (at most two), also in memory so TRUNC can rebuild without reading.
    snapshots: BTreeMap<Zxid, Snapshot>,
    last_logged: Zxid,
    since_snapshot: u32,
    snap_count: u32,
}

pub fn file_name(prefix: &str, zxid: Zxid) -> String {
    format!("{prefix}{:016x}", zxid.0)
}

fn parse_name(name: &str, prefix: &str) -> Option<Zxid> {
    u64::from_str_radix(name.strip_prefix(prefix)?, 16).ok().map(Zxid)
}

/// FNV-1a over a txn's canonical JSON, mixed into the running chain.
pub fn chain_step(chain: u64, txn: &Txn) -> u64 {
    let mut h = chain ^ 0xcbf2_9ce4_8422_2325;
    for b in serde_json::to_vec(txn).unwrap_or_default() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

impl ZkDatabase {
    pub fn empty(snap_count: u32) -> ZkDatabase {
        ZkDatabase {
            tree: DataTree::with_extended_types(true),
            chain: 0,
            log: BTreeMap::new(),
            base: Zxid::ZERO,
            snapshots: BTreeMap::new(),
            last_logged: Zxid::ZERO,
            since_snapshot: 0,
            snap_count: snap_count.max(1),
        }
    }

    /// `FileTxnSnapLog.restore`: newest readable snapshot, then every logged txn after it.
    pub fn recover(disk: &Disk, snap_count: u32) -> ZkDatabase {
        let mut db = ZkDatabase::empty(snap_count);
        for (name, contents) in disk.list(SNAP_PREFIX) {
            if let (Some(zxid), Ok(snap)) = (parse_name(name, SNAP_PREFIX), serde_json::from_str::<Snapshot>(contents))
            {
                db.snapshots.insert(zxid, snap);
            }
        }
        db.base = db.snapshots.keys().next().copied().unwrap_or(Zxid::ZERO);
        for (name, contents) in disk.list(LOG_PREFIX) {
            if let (Some(zxid), Ok(txn)) = (parse_name(name, LOG_PREFIX), serde_json::from_str::<Txn>(contents)) {
                db.log.insert(zxid, txn);
            }
        }
        db.last_logged = db.log.keys().next_back().copied().unwrap_or(Zxid::ZERO);
        db.load_snapshot();
        db
    }

    /// Replays the logged txns after the loaded snapshot (at start, so it can be reported).
    pub fn replay(&mut self, out: &mut Out) -> Vec<Applied> {
        let last = self.last_logged;
        self.commit_up_to(last, out)
    }

    /// Loads the newest snapshot and replays the log after it.
    fn rebuild(&mut self) {
        self.load_snapshot();
        let start = self.tree.last_zxid();
        let replay: Vec<Txn> = self.log.range(Zxid(start.0 + 1)..).map(|(_, t)| t.clone()).collect();
        for txn in replay {
            self.apply_one(txn);
        }
    }

    fn load_snapshot(&mut self) {
        match self.snapshots.values().next_back() {
            Some(s) => {
                self.tree = s.tree.clone();
                self.chain = s.chain;
            }
            None => {
                self.tree = DataTree::with_extended_types(true);
                self.chain = 0;
            }
        }
        self.last_logged = self.last_logged.max(self.tree.last_zxid());
    }

    pub fn last_logged(&self) -> Zxid {
        self.last_logged
    }

    pub fn last_applied(&self) -> Zxid {
        self.tree.last_zxid()
    }

    pub fn chain(&self) -> u64 {
        self.chain
    }

    pub fn logged(&self, zxid: Zxid) -> Option<&Txn> {
        self.log.get(&zxid)
    }

    /// Logs a proposal (durable before the ACK goes out).
    pub fn append(&mut self, txn: Txn, out: &mut Out) {
        assert!(txn.zxid > self.last_logged, "txn {} logged after {}", txn.zxid, self.last_logged);
        self.last_logged = txn.zxid;
        let contents = serde_json::to_string(&txn).expect("txn serializes");
        out.push(Effect::Persist { file: file_name(LOG_PREFIX, txn.zxid), contents });
        self.log.insert(txn.zxid, txn);
    }

    fn apply_one(&mut self, txn: Txn) -> Applied {
        let prev = self.tree.last_zxid();
        let (result, triggers) = self.tree.apply(&txn);
        self.chain = chain_step(self.chain, &txn);
        Applied { txn, prev, result, triggers }
    }

    /// Applies every logged txn up to and including `zxid`, in order.
    pub fn commit_up_to(&mut self, zxid: Zxid, out: &mut Out) -> Vec<Applied> {
        let from = Zxid(self.last_applied().0 + 1);
        if zxid < from {
            return Vec::new();
        }
        let txns: Vec<Txn> = self.log.range(from..=zxid).map(|(_, t)| t.clone()).collect();
        let mut applied = Vec::with_capacity(txns.len());
        for txn in txns {
            let a = self.apply_one(txn);
            out.push(Effect::Event(ZkEvent::Applied { zxid: a.txn.zxid, prev: a.prev, chain: self.chain }));
            applied.push(a);
            self.since_snapshot += 1;
        }
        applied
    }

    /// `SyncRequestProcessor`'s snapshot every `snapCount` txns; keeps the two newest snapshots
    /// and the log after the older one (as autopurge with snapRetainCount would).
    pub fn maybe_snapshot(&mut self, out: &mut Out) {
        if self.since_snapshot < self.snap_count {
            return;
        }
        self.since_snapshot = 0;
        let zxid = self.last_applied();
        if self.snapshots.contains_key(&zxid) {
            return;
        }
        let snap = Snapshot { tree: self.tree.clone(), chain: self.chain };
        out.push(Effect::Persist {
            file: file_name(SNAP_PREFIX, zxid),
            contents: serde_json::to_string(&snap).expect("snapshot serializes"),
        });
        self.snapshots.insert(zxid, snap);
        while self.snapshots.len() > 2 {
            let (old, _) = self.snapshots.pop_first().expect("non-empty");
            out.push(Effect::Remove { file: file_name(SNAP_PREFIX, old) });
        }
        let new_base = *self.snapshots.keys().next().expect("just inserted");
        let purged: Vec<Zxid> = self.log.range(..=new_base).map(|(&z, _)| z).collect();
        for z in purged {
            self.log.remove(&z);
            out.push(Effect::Remove { file: file_name(LOG_PREFIX, z) });
        }
        self.base = new_base;
        out.push(Effect::Event(ZkEvent::Snapshot { zxid }));
    }

    /// Committed txns after `zxid`, if the log reaches back that far (DIFF); None means SNAP.
    pub fn txns_after(&self, zxid: Zxid, upto: Zxid) -> Option<Vec<Txn>> {
        if zxid < self.base || (zxid != self.base && !self.log.contains_key(&zxid)) {
            return None;
        }
        if upto <= zxid {
            return Some(Vec::new());
        }
        Some(self.log.range(Zxid(zxid.0 + 1)..=upto).map(|(_, t)| t.clone()).collect())
    }

    /// The newest zxid in our history at or before `zxid` (`LearnerHandler`'s prevProposalZxid).
    pub fn history_floor(&self, zxid: Zxid) -> Option<Zxid> {
        match self.log.range(..=zxid).next_back() {
            Some((&z, _)) => Some(z),
            None if zxid >= self.base => Some(self.base),
            None => None,
        }
    }

    /// This history in brief: the oldest diffable zxid (the base), then the last logged zxid
    /// of each epoch after it. Within an epoch every server holds a prefix of what that
    /// epoch's one leader proposed, so these points say where two histories part.
    pub fn history_summary(&self) -> Vec<Zxid> {
        let mut out = vec![self.base];
        for &z in self.log.keys() {
            let n = out.len();
            if n > 1 && out[n - 1].epoch() == z.epoch() {
                out[n - 1] = z;
            } else {
                out.push(z);
            }
        }
        out
    }

    /// TRUNC: drops logged txns (and snapshots) past `zxid` and rebuilds the tree from disk.
    pub fn truncate(&mut self, zxid: Zxid, out: &mut Out) {
        let dropped: Vec<Zxid> = self.log.range(Zxid(zxid.0 + 1)..).map(|(&z, _)| z).collect();
        for z in &dropped {
            self.log.remove(z);
            out.push(Effect::Remove { file: file_name(LOG_PREFIX, *z) });
        }
        let late: Vec<Zxid> = self.snapshots.range(Zxid(zxid.0 + 1)..).map(|(&z, _)| z).collect();
        for s in late {
            self.snapshots.remove(&s);
            out.push(Effect::Remove { file: file_name(SNAP_PREFIX, s) });
        }
        self.base = self.snapshots.keys().next().copied().unwrap_or(Zxid::ZERO);
        self.last_logged = self.log.keys().next_back().copied().unwrap_or(self.base).max(self.base);
        self.rebuild();
    }

    /// The snapshot the leader sends with SNAP.
    pub fn snapshot(&self) -> Snapshot {
        Snapshot { tree: self.tree.clone(), chain: self.chain }
    }

    /// SNAP: replaces everything with the leader's tree.
    pub fn install(&mut self, snap: Snapshot, out: &mut Out) {
        for z in std::mem::take(&mut self.log).into_keys() {
            out.push(Effect::Remove { file: file_name(LOG_PREFIX, z) });
        }
        for s in std::mem::take(&mut self.snapshots).into_keys() {
            out.push(Effect::Remove { file: file_name(SNAP_PREFIX, s) });
        }
        let zxid = snap.tree.last_zxid();
        out.push(Effect::Persist {
            file: file_name(SNAP_PREFIX, zxid),
            contents: serde_json::to_string(&snap).expect("snapshot serializes"),
        });
        self.tree = snap.tree.clone();
        self.chain = snap.chain;
        self.snapshots = BTreeMap::from([(zxid, snap)]);
        self.base = zxid;
        self.last_logged = zxid;
        self.since_snapshot = 0;
    }
}

/// The newest zxid two histories share, from their `history_summary`s (first entry: base).
/// Epochs compacted into a snapshot on either side are committed and so shared; from the
/// later base's epoch on, histories agree while each epoch ends at the same zxid. None when
/// the point lies before either base (only a SNAP can bridge it).
pub fn common_point(peer: &[Zxid], ours: &[Zxid]) -> Option<Zxid> {
    let (&peer_base, &our_base) = (peer.first()?, ours.first()?);
    let by_epoch = |h: &[Zxid]| {
        let mut m: BTreeMap<u32, Zxid> = BTreeMap::new();
        for &z in h {
            let e = m.entry(z.epoch()).or_insert(z);
            *e = (*e).max(z);
        }
        m
    };
    let (pm, om) = (by_epoch(peer), by_epoch(ours));
    let first_epoch = peer_base.epoch().max(our_base.epoch());
    let epochs: std::collections::BTreeSet<u32> =
        pm.keys().chain(om.keys()).copied().filter(|&e| e >= first_epoch).collect();
    let mut common = None;
    for e in epochs {
        match (pm.get(&e), om.get(&e)) {
            (Some(&a), Some(&b)) if a == b => common = Some(a),
            (Some(&a), Some(&b)) => {
                common = Some(a.min(b));
                break;
            }
            _ => break,
        }
    }
    common.filter(|&t| t >= peer_base && t >= our_base)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn z(e: u32, c: u32) -> Zxid {
        Zxid::new(e, c)
    }

    #[test]
    fn common_point_finds_where_histories_part() {
        let leader = [z(0, 0), z(1, 5), z(3, 2)];
        // A prefix of the leader's history: DIFF from its end.
        assert_eq!(common_point(&[z(0, 0), z(1, 5)], &leader), Some(z(1, 5)));
        assert_eq!(common_point(&[z(0, 0), z(1, 3)], &leader), Some(z(1, 3)));
        // Ahead inside a shared epoch: TRUNC back to the leader's end of it.
        assert_eq!(common_point(&[z(0, 0), z(1, 7)], &leader), Some(z(1, 5)));
        // An epoch the leader never saw (a failed leader's proposals): TRUNC to before it.
        assert_eq!(common_point(&[z(0, 0), z(1, 5), z(2, 1)], &leader), Some(z(1, 5)));
        // A learner whose history ends before the leader's oldest snapshot: SNAP.
        assert_eq!(common_point(&[z(0, 0), z(1, 2)], &[z(1, 4), z(3, 2)]), None);
        assert_eq!(common_point(&[z(0, 0)], &[z(0, 0)]), Some(z(0, 0)));
    }
}
