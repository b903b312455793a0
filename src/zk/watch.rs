//! Watches, as ZooKeeper 3.8 keeps them on both sides of a connection.
//!
//! ```text
//!   read with watch / addWatch ──add()──▶ WatchManager ◀──trigger(WatchTrigger)── DataTree::apply
//!                                            │
//!                                            └──▶ Vec<(SessionId, WatchedEvent)>  (one per session)
//!   ClientWatches (the client library's ZKWatchManager): which delivered events reach the
//!   default watcher, and what `removeWatches` reports.
//! ```
//!
//! `WatchManager` is the server's pair of `org.apache.zookeeper.server.watch.WatchManager`s that
//! `DataTree` owns (`dataWatches`, `childWatches`), keyed by session instead of by connection,
//! with the watcher mode kept per (session, path) in each table as `WatcherModeManager` does.
//! The trigger rules are `WatchManager.triggerWatch` and the calls `DataTree` makes:
//!
//! - `createNode`: `dataWatches.triggerWatch(path, NodeCreated)`, then
//!   `childWatches.triggerWatch(parent, NodeChildrenChanged)`;
//! - `deleteNode`: `dataWatches.triggerWatch(path, NodeDeleted)`, then
//!   `childWatches.triggerWatch(path, NodeDeleted, suppress = those already told)`, then
//!   `childWatches.triggerWatch(parent, NodeChildrenChanged)`;
//! - `setData`: `dataWatches.triggerWatch(path, NodeDataChanged)`.
//!
//! The tree reports each of these calls as one `WatchTrigger`; `trigger` applies the matching
//! rule. Within one call a session is told at most once; a recursive watch on the path or an
//! ancestor fires for everything except `NodeChildrenChanged`; a standard or persistent watch
//! fires only on its own path; standard (one-shot) watches are removed when they fire.

use super::txn::{EventType, Op, OpResult, SessionId, WatchTrigger, ZkError};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

/// `Watcher.Event.KeeperState`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum KeeperState {
    Unknown,
    Disconnected,
    NoSyncConnected,
    SyncConnected,
    AuthFailed,
    ConnectedReadOnly,
    SaslAuthenticated,
    Expired,
    Closed,
}

impl fmt::Display for KeeperState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

/// `Watcher.Event.EventType`: the tree's four node events plus the connection-state event
/// (`None`) and the client-side notices of a removed watch.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum WatchEventType {
    None,
    NodeCreated,
    NodeDeleted,
    NodeDataChanged,
    NodeChildrenChanged,
    DataWatchRemoved,
    ChildWatchRemoved,
    PersistentWatchRemoved,
}

impl From<EventType> for WatchEventType {
    fn from(e: EventType) -> Self {
        match e {
            EventType::NodeCreated => WatchEventType::NodeCreated,
            EventType::NodeDeleted => WatchEventType::NodeDeleted,
            EventType::NodeDataChanged => WatchEventType::NodeDataChanged,
            EventType::NodeChildrenChanged => WatchEventType::NodeChildrenChanged,
        }
    }
}

impl fmt::Display for WatchEventType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

/// `org.apache.zookeeper.WatchedEvent`. `path` is `None` for connection-state events.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WatchedEvent {
    pub event_type: WatchEventType,
    pub keeper_state: KeeperState,
    pub path: Option<String>,
}

impl WatchedEvent {
    /// A node event as the server sends it (always `SyncConnected`).
    pub fn node(event_type: WatchEventType, path: &str) -> WatchedEvent {
        WatchedEvent { event_type, keeper_state: KeeperState::SyncConnected, path: Some(path.to_string()) }
    }

    /// A connection-state event (`type:None path:null`).
    pub fn state(keeper_state: KeeperState) -> WatchedEvent {
        WatchedEvent { event_type: WatchEventType::None, keeper_state, path: None }
    }
}

impl fmt::Display for WatchedEvent {
    /// `WatchedEvent.toString()`: `WatchedEvent state:SyncConnected type:NodeCreated path:/a`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "WatchedEvent state:{} type:{} path:{}",
            self.keeper_state,
            self.event_type,
            self.path.as_deref().unwrap_or("null")
        )
    }
}

/// What a session asked to watch: `Data` for getData/exists, `Child` for getChildren, and the
/// two `addWatch` modes (`AddWatchMode`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum WatchKind {
    Data,
    Child,
    Persistent,
    PersistentRecursive,
}

/// `Watcher.WatcherType`, the selector of `removeWatches`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum WatcherType {
    Children,
    Data,
    Any,
}

/// `server.watch.WatcherMode`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum WatcherMode {
    Standard,
    Persistent,
    PersistentRecursive,
}

impl WatcherMode {
    fn is_persistent(self) -> bool {
        self != WatcherMode::Standard
    }
    fn is_recursive(self) -> bool {
        self == WatcherMode::PersistentRecursive
    }
}

/// One of the server's two watch tables: path → session → mode.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
struct WatchTable {
    table: BTreeMap<String, BTreeMap<SessionId, WatcherMode>>,
}

impl WatchTable {
    /// `WatchManager.addWatch`: the latest mode for (session, path) wins, so a one-shot watch
    /// set after a persistent one on the same path turns it one-shot (as in 3.8).
    fn add(&mut self, session: SessionId, path: &str, mode: WatcherMode) {
        self.table.entry(path.to_string()).or_default().insert(session, mode);
    }

    /// `WatchManager.triggerWatch`: the sessions to tell, in session order, skipping `suppress`.
    fn trigger(&mut self, path: &str, event: EventType, suppress: &BTreeSet<SessionId>) -> BTreeSet<SessionId> {
        let mut told = BTreeSet::new();
        for (level, local_path) in path_and_parents(path).into_iter().enumerate() {
            let at_parent = level > 0;
            let Some(watchers) = self.table.get_mut(&local_path) else { continue };
            watchers.retain(|&session, mode| {
                if mode.is_recursive() {
                    if event != EventType::NodeChildrenChanged {
                        told.insert(session);
                    }
                    true
                } else if !at_parent {
                    told.insert(session);
                    mode.is_persistent()
                } else {
                    true
                }
            });
            if watchers.is_empty() {
                self.table.remove(&local_path);
            }
        }
        told.retain(|s| !suppress.contains(s));
        told
    }

    /// `WatchManager.removeWatcher(path, watcher)`.
    fn remove(&mut self, session: SessionId, path: &str) -> bool {
        let Some(watchers) = self.table.get_mut(path) else { return false };
        let removed = watchers.remove(&session).is_some();
        if watchers.is_empty() {
            self.table.remove(path);
        }
        removed
    }

    /// `WatchManager.removeWatcher(watcher)`: the session's connection went away.
    fn remove_session(&mut self, session: SessionId) {
        self.table.retain(|_, watchers| {
            watchers.remove(&session);
            !watchers.is_empty()
        });
    }
}

/// The path itself, then each ancestor up to `/` (`PathParentIterator.forAll`).
fn path_and_parents(path: &str) -> Vec<String> {
    let mut out = vec![path.to_string()];
    let mut p = path;
    while p != "/" && !p.is_empty() {
        p = match p.rfind('/') {
            Some(0) => "/",
            Some(i) => &p[..i],
            None => "",
        };
        if !p.is_empty() {
            out.push(p.to_string());
        }
    }
    out
}

/// The server's watches (`DataTree.dataWatches` + `DataTree.childWatches`), as a pure value.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WatchManager {
    data: WatchTable,
    child: WatchTable,
}

/// One watch, for views: who watches which path how.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct WatchEntry {
    pub path: String,
    pub session: SessionId,
    pub kind: WatchKind,
}

impl WatchManager {
    pub fn new() -> WatchManager {
        WatchManager::default()
    }

    /// Registers a watch: `Data` in the data table (getData, exists), `Child` in the child
    /// table (getChildren), the `addWatch` modes in both (`DataTree.addWatch`).
    pub fn add(&mut self, session: SessionId, path: &str, kind: WatchKind) {
        match kind {
            WatchKind::Data => self.data.add(session, path, WatcherMode::Standard),
            WatchKind::Child => self.child.add(session, path, WatcherMode::Standard),
            WatchKind::Persistent | WatchKind::PersistentRecursive => {
                let mode = if kind == WatchKind::Persistent {
                    WatcherMode::Persistent
                } else {
                    WatcherMode::PersistentRecursive
                };
                self.child.add(session, path, mode);
                self.data.add(session, path, mode);
            }
        }
    }

    /// Fires the watches one tree change triggers and returns one event per session told,
    /// in session order.
    pub fn trigger(&mut self, trigger: &WatchTrigger) -> Vec<(SessionId, WatchedEvent)> {
        let none = BTreeSet::new();
        let path = trigger.path.as_str();
        let told = match trigger.event {
            EventType::NodeCreated | EventType::NodeDataChanged => self.data.trigger(path, trigger.event, &none),
            EventType::NodeChildrenChanged => self.child.trigger(path, trigger.event, &none),
            EventType::NodeDeleted => {
                let mut told = self.data.trigger(path, trigger.event, &none);
                let more = self.child.trigger(path, trigger.event, &told);
                told.extend(more);
                told
            }
        };
        let event = WatchedEvent::node(trigger.event.into(), path);
        told.into_iter().map(|s| (s, event.clone())).collect()
    }

    /// Drops every watch of a closed or expired session (`DataTree.removeCnxn`).
    pub fn remove_session(&mut self, session: SessionId) {
        self.data.remove_session(session);
        self.child.remove_session(session);
    }

    /// `DataTree.removeWatch` as `FinalRequestProcessor` runs it for `removeWatches`:
    /// `NoWatcher` if the session had no watch of that type on exactly that path.
    pub fn remove(&mut self, session: SessionId, path: &str, kind: WatcherType) -> Result<(), ZkError> {
        let removed = match kind {
            WatcherType::Children => self.child.remove(session, path),
            WatcherType::Data => self.data.remove(session, path),
            WatcherType::Any => {
                let c = self.child.remove(session, path);
                let d = self.data.remove(session, path);
                c || d
            }
        };
        if removed {
            Ok(())
        } else {
            Err(ZkError::NoWatcher)
        }
    }

    /// Every watch, in (path, session, kind) order. A persistent watch is listed once.
    pub fn watches(&self) -> Vec<WatchEntry> {
        let mut out = BTreeSet::new();
        for (table, one_shot) in [(&self.data, WatchKind::Data), (&self.child, WatchKind::Child)] {
            for (path, watchers) in &table.table {
                for (&session, &mode) in watchers {
                    let kind = match mode {
                        WatcherMode::Standard => one_shot,
                        WatcherMode::Persistent => WatchKind::Persistent,
                        WatcherMode::PersistentRecursive => WatchKind::PersistentRecursive,
                    };
                    out.insert(WatchEntry { path: path.clone(), session, kind });
                }
            }
        }
        out.into_iter().collect()
    }

    /// The paths some session watches (the UI marks these nodes).
    pub fn watched_paths(&self) -> BTreeSet<String> {
        self.data.table.keys().chain(self.child.table.keys()).cloned().collect()
    }

    /// How many (session, path) watches there are, counting both tables (`DataTree.getWatchCount`).
    pub fn len(&self) -> usize {
        self.data.table.values().chain(self.child.table.values()).map(BTreeMap::len).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The server-side watch a read leaves behind, given its result (`FinalRequestProcessor` and
/// `DataTree.getData`/`statNode`/`getChildren`): getData and getChildren only on success,
/// exists also on a missing node, addWatch always.
pub fn watch_for(op: &Op, result: &Result<OpResult, ZkError>) -> Option<(String, WatchKind)> {
    match (op, result) {
        (Op::GetData { path, watch: true }, Ok(_)) => Some((path.clone(), WatchKind::Data)),
        (Op::Exists { path, watch: true }, Ok(_) | Err(ZkError::NoNode)) => Some((path.clone(), WatchKind::Data)),
        (Op::GetChildren { path, watch: true }, Ok(_)) => Some((path.clone(), WatchKind::Child)),
        (Op::AddWatch { path, recursive }, Ok(_)) => {
            Some((path.clone(), if *recursive { WatchKind::PersistentRecursive } else { WatchKind::Persistent }))
        }
        _ => None,
    }
}

/// The client library's watch registry for its default watcher (`ZKWatchManager`): which
/// events the client passes on, and what `removeWatches` reports back. zkCli only ever uses
/// the default watcher, so each table is a set of paths.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientWatches {
    data: BTreeSet<String>,
    exist: BTreeSet<String>,
    child: BTreeSet<String>,
    persistent: BTreeSet<String>,
    persistent_recursive: BTreeSet<String>,
}

impl ClientWatches {
    pub fn new() -> ClientWatches {
        ClientWatches::default()
    }

    /// The registrations a reconnecting client re-sends (`SetWatches2`): data, exist, child,
    /// persistent and persistent-recursive paths.
    pub fn to_set_watches(&self) -> [Vec<String>; 5] {
        [&self.data, &self.exist, &self.child, &self.persistent, &self.persistent_recursive]
            .map(|t| t.iter().cloned().collect())
    }

    /// `WatchRegistration.register(rc)` after a reply: exists registers on NoNode as an exist
    /// watch, addWatch on NoNode too; the others only on success.
    pub fn register(&mut self, op: &Op, result: &Result<OpResult, ZkError>) {
        let ok = result.is_ok();
        let no_node = matches!(result, Err(ZkError::NoNode));
        match op {
            Op::GetData { path, watch: true } if ok => {
                self.data.insert(path.clone());
            }
            Op::Exists { path, watch: true } => match result {
                Ok(OpResult::NoStat) | Err(ZkError::NoNode) => {
                    self.exist.insert(path.clone());
                }
                Ok(_) => {
                    self.data.insert(path.clone());
                }
                Err(_) => {}
            },
            Op::GetChildren { path, watch: true } if ok => {
                self.child.insert(path.clone());
            }
            Op::AddWatch { path, recursive } if ok || no_node => {
                if *recursive {
                    self.persistent_recursive.insert(path.clone());
                } else {
                    self.persistent.insert(path.clone());
                }
            }
            _ => {}
        }
    }

    /// `ZKWatchManager.materialize` for a node event: whether the default watcher is told,
    /// removing the one-shot registrations it consumes. Connection events always reach it.
    pub fn materialize(&mut self, event: &WatchedEvent) -> bool {
        let Some(path) = event.path.as_deref() else { return true };
        let mut told = match event.event_type {
            WatchEventType::NodeDataChanged | WatchEventType::NodeCreated => {
                let d = self.data.remove(path);
                let e = self.exist.remove(path);
                d | e
            }
            WatchEventType::NodeChildrenChanged => self.child.remove(path),
            WatchEventType::NodeDeleted => {
                let d = self.data.remove(path);
                let e = self.exist.remove(path);
                let c = self.child.remove(path);
                d | e | c
            }
            _ => return true,
        };
        told |= self.persistent.contains(path);
        told |= path_and_parents(path).iter().any(|p| self.persistent_recursive.contains(p));
        told
    }

    /// `ZKWatchManager.removeWatcher` after the server answered `removeWatches` with `rc`: the
    /// kinds of "removed" events to deliver, in the order zkCli prints them, or `NoWatcher` if
    /// the client holds no matching watch (`containsWatcher`) or removed nothing.
    pub fn remove(
        &mut self,
        path: &str,
        kind: WatcherType,
        local: bool,
        rc: Result<(), ZkError>,
    ) -> Result<Vec<WatchEventType>, ZkError> {
        let has = |set: &BTreeSet<String>| set.contains(path);
        let persistent = has(&self.persistent) || has(&self.persistent_recursive);
        let contains = match kind {
            WatcherType::Children => has(&self.child) || persistent,
            WatcherType::Data => has(&self.data) || has(&self.exist) || persistent,
            WatcherType::Any => has(&self.child) || has(&self.data) || has(&self.exist) || persistent,
        };
        if !contains {
            return Err(ZkError::NoWatcher);
        }
        if let Err(e) = rc {
            if !local {
                return Err(e);
            }
        }
        let mut removed = Vec::new();
        if matches!(kind, WatcherType::Children | WatcherType::Any) && self.child.remove(path) {
            removed.push(WatchEventType::ChildWatchRemoved);
        }
        if matches!(kind, WatcherType::Data | WatcherType::Any) {
            let d = self.data.remove(path);
            let e = self.exist.remove(path);
            if d || e {
                removed.push(WatchEventType::DataWatchRemoved);
            }
        }
        if kind == WatcherType::Any {
            let p = self.persistent.remove(path);
            let r = self.persistent_recursive.remove(path);
            if p || r {
                removed.push(WatchEventType::PersistentWatchRemoved);
            }
        }
        if removed.is_empty() {
            return Err(ZkError::NoWatcher);
        }
        Ok(removed)
    }

    /// Whether the client holds any watch (used when a session ends: the watches go).
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
            && self.exist.is_empty()
            && self.child.is_empty()
            && self.persistent.is_empty()
            && self.persistent_recursive.is_empty()
    }

    pub fn clear(&mut self) {
        *self = ClientWatches::default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trig(path: &str, event: EventType) -> WatchTrigger {
        WatchTrigger { path: path.to_string(), event }
    }

    fn fire(w: &mut WatchManager, path: &str, event: EventType) -> Vec<(SessionId, WatchEventType)> {
        w.trigger(&trig(path, event)).into_iter().map(|(s, e)| (s, e.event_type)).collect()
    }

    // DataTree.setData → dataWatches.triggerWatch(path, NodeDataChanged): a getData/exists
    // watch fires once and is gone (WatchManager.triggerWatch removes non-persistent watchers).
    #[test]
    fn a_data_watch_fires_once() {
        let mut w = WatchManager::new();
        w.add(1, "/a", WatchKind::Data);
        assert_eq!(fire(&mut w, "/a", EventType::NodeDataChanged), [(1, WatchEventType::NodeDataChanged)]);
        assert_eq!(fire(&mut w, "/a", EventType::NodeDataChanged), []);
        assert!(w.is_empty());
    }

    // DataTree.statNode adds the data watch before looking the node up, so an exists-watch on
    // a missing node is there for createNode's NodeCreated.
    #[test]
    fn an_exists_watch_on_a_missing_node_fires_on_create() {
        let mut w = WatchManager::new();
        let missing: Result<OpResult, ZkError> = Ok(OpResult::NoStat);
        let (path, kind) = watch_for(&Op::Exists { path: "/x".into(), watch: true }, &missing).unwrap();
        w.add(7, &path, kind);
        assert_eq!(fire(&mut w, "/x", EventType::NodeCreated), [(7, WatchEventType::NodeCreated)]);
        // getData on a missing node leaves no watch.
        assert_eq!(watch_for(&Op::GetData { path: "/x".into(), watch: true }, &Err(ZkError::NoNode)), None);
    }

    // Child watches live in childWatches: NodeChildrenChanged on the parent fires them, data
    // changes do not.
    #[test]
    fn a_child_watch_fires_on_children_changed_only() {
        let mut w = WatchManager::new();
        w.add(1, "/p", WatchKind::Child);
        assert_eq!(fire(&mut w, "/p", EventType::NodeDataChanged), []);
        assert_eq!(fire(&mut w, "/p", EventType::NodeChildrenChanged), [(1, WatchEventType::NodeChildrenChanged)]);
        assert_eq!(fire(&mut w, "/p", EventType::NodeChildrenChanged), []);
    }

    // DataTree.deleteNode: dataWatches then childWatches with the first call's watchers
    // suppressed: a session with both kinds on the node hears NodeDeleted once, and both go.
    #[test]
    fn delete_tells_each_session_once_and_clears_both_kinds() {
        let mut w = WatchManager::new();
        w.add(1, "/a", WatchKind::Data);
        w.add(1, "/a", WatchKind::Child);
        w.add(2, "/a", WatchKind::Child);
        assert_eq!(
            fire(&mut w, "/a", EventType::NodeDeleted),
            [(1, WatchEventType::NodeDeleted), (2, WatchEventType::NodeDeleted)]
        );
        assert!(w.is_empty());
    }

    // A PERSISTENT watch (addWatch -m PERSISTENT) is in both tables and survives firing; it
    // covers its own path only.
    #[test]
    fn a_persistent_watch_stays_and_covers_its_path_only() {
        let mut w = WatchManager::new();
        w.add(1, "/p", WatchKind::Persistent);
        assert_eq!(fire(&mut w, "/p", EventType::NodeDataChanged), [(1, WatchEventType::NodeDataChanged)]);
        assert_eq!(fire(&mut w, "/p", EventType::NodeChildrenChanged), [(1, WatchEventType::NodeChildrenChanged)]);
        assert_eq!(fire(&mut w, "/p/c", EventType::NodeCreated), []);
        assert_eq!(fire(&mut w, "/p", EventType::NodeDeleted), [(1, WatchEventType::NodeDeleted)]);
        assert_eq!(fire(&mut w, "/p", EventType::NodeCreated), [(1, WatchEventType::NodeCreated)]);
    }

    // PERSISTENT_RECURSIVE: matched on the path and every ancestor (PathParentIterator.forAll),
    // never for NodeChildrenChanged.
    #[test]
    fn a_recursive_watch_covers_descendants_but_not_children_changed() {
        let mut w = WatchManager::new();
        w.add(1, "/p", WatchKind::PersistentRecursive);
        assert_eq!(fire(&mut w, "/p/a/deep", EventType::NodeCreated), [(1, WatchEventType::NodeCreated)]);
        assert_eq!(fire(&mut w, "/p/a", EventType::NodeChildrenChanged), []);
        assert_eq!(fire(&mut w, "/p/a/deep", EventType::NodeDataChanged), [(1, WatchEventType::NodeDataChanged)]);
        assert_eq!(fire(&mut w, "/p/a/deep", EventType::NodeDeleted), [(1, WatchEventType::NodeDeleted)]);
        assert_eq!(fire(&mut w, "/q", EventType::NodeCreated), []);
        assert_eq!(fire(&mut w, "/p", EventType::NodeChildrenChanged), []);
        assert_eq!(w.watched_paths().into_iter().collect::<Vec<_>>(), ["/p"]);
    }

    // WatcherModeManager keys the mode by (watcher, path) per table: a one-shot data watch set
    // after a persistent one turns the data table's entry one-shot (3.8 behaviour); the child
    // table keeps it persistent.
    #[test]
    fn a_later_one_shot_watch_replaces_the_persistent_mode_in_its_table() {
        let mut w = WatchManager::new();
        w.add(1, "/p", WatchKind::Persistent);
        w.add(1, "/p", WatchKind::Data);
        assert_eq!(fire(&mut w, "/p", EventType::NodeDataChanged), [(1, WatchEventType::NodeDataChanged)]);
        assert_eq!(fire(&mut w, "/p", EventType::NodeDataChanged), []);
        assert_eq!(fire(&mut w, "/p", EventType::NodeChildrenChanged), [(1, WatchEventType::NodeChildrenChanged)]);
    }

    #[test]
    fn sessions_are_told_in_id_order_and_lose_their_watches_when_they_go() {
        let mut w = WatchManager::new();
        for s in [9, 3, 5] {
            w.add(s, "/a", WatchKind::Data);
        }
        w.add(3, "/b", WatchKind::PersistentRecursive);
        w.remove_session(5);
        let told: Vec<SessionId> =
            w.trigger(&trig("/a", EventType::NodeDataChanged)).into_iter().map(|(s, _)| s).collect();
        assert_eq!(told, [3, 9]);
        w.remove_session(3);
        assert!(w.is_empty());
    }

    // DataTree.removeWatch: NoWatcher unless a watch of that type is on exactly that path.
    #[test]
    fn remove_needs_a_matching_watch() {
        let mut w = WatchManager::new();
        w.add(1, "/a", WatchKind::Child);
        assert_eq!(w.remove(1, "/a", WatcherType::Data), Err(ZkError::NoWatcher));
        assert_eq!(w.remove(2, "/a", WatcherType::Any), Err(ZkError::NoWatcher));
        assert_eq!(w.remove(1, "/a", WatcherType::Children), Ok(()));
        assert_eq!(w.remove(1, "/a", WatcherType::Any), Err(ZkError::NoWatcher));
        w.add(1, "/p", WatchKind::PersistentRecursive);
        assert_eq!(w.remove(1, "/p", WatcherType::Any), Ok(()));
        assert!(w.is_empty());
    }

    // ZKWatchManager: one-shot registrations are consumed by materialize; persistent ones are
    // not; removeWatcher reports what it removed, NoWatcher when nothing matches.
    #[test]
    fn the_client_registry_consumes_one_shot_watches_and_reports_removals() {
        let mut c = ClientWatches::new();
        let ok: Result<OpResult, ZkError> = Ok(OpResult::Done);
        c.register(&Op::GetData { path: "/a".into(), watch: true }, &ok);
        let changed = WatchedEvent::node(WatchEventType::NodeDataChanged, "/a");
        assert!(c.materialize(&changed));
        assert!(!c.materialize(&changed));
        c.register(&Op::AddWatch { path: "/p".into(), recursive: true }, &ok);
        assert!(c.materialize(&WatchedEvent::node(WatchEventType::NodeCreated, "/p/x/y")));
        assert!(c.materialize(&WatchedEvent::node(WatchEventType::NodeCreated, "/p/x/y")));
        assert_eq!(c.remove("/p", WatcherType::Data, false, Ok(())), Err(ZkError::NoWatcher));
        assert_eq!(c.remove("/p", WatcherType::Any, false, Ok(())), Ok(vec![WatchEventType::PersistentWatchRemoved]));
        assert_eq!(c.remove("/p", WatcherType::Any, false, Ok(())), Err(ZkError::NoWatcher));
        assert!(c.is_empty());
    }

    #[test]
    fn parents_walk_up_to_root() {
        assert_eq!(path_and_parents("/a/b/c"), vec!["/a/b/c", "/a/b", "/a", "/"]);
        assert_eq!(path_and_parents("/"), vec!["/"]);
    }

    #[test]
    fn event_prints_as_java_does() {
        assert_eq!(
            WatchedEvent::node(WatchEventType::NodeDataChanged, "/a").to_string(),
            "WatchedEvent state:SyncConnected type:NodeDataChanged path:/a"
        );
        assert_eq!(
            WatchedEvent::state(KeeperState::SyncConnected).to_string(),
            "WatchedEvent state:SyncConnected type:None path:null"
        );
    }
}
