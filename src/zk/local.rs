//! `LocalSession`: a `ZkSession` over one in-process `DataTree` and `WatchManager` — a
//! standalone ZooKeeper server without replication, with the client library's watch registry,
//! so tests and the CLI run without an ensemble.
//!
//! ```text
//!   Console ──Op──▶ LocalSession ──Txn (zxid 1, 2, 3…; virtual time)──▶ DataTree::apply
//!                        │  reads ──read_as──▶ DataTree            │ WatchTriggers
//!                        │                                         ▼
//!                        ◀── WatchedEvents ── ClientWatches ◀── WatchManager::trigger
//! ```
//!
//! As in a standalone server, every write consumes a zxid whether or not it succeeds (the first
//! one, 0x1, opens the session); times come from a virtual clock that advances a fixed step per
//! request. The connection carries `ip:127.0.0.1` as its first auth id, as `ServerCnxn` adds.

use super::acl;
use super::cli::ZkSession;
use super::txn::{Id, Op, OpResult, SessionId, Txn, TxnKind, ZkError};
use super::watch::{ClientWatches, KeeperState, WatchManager, WatchedEvent, WatcherType};
use super::DataTree;
use crate::zab::Zxid;
use std::collections::BTreeMap;

/// `jute.maxbuffer`'s default (`0xfffff`): a request longer than this makes the server drop the
/// connection ("Len error"), which the client sees as `ConnectionLoss`.
pub const JUTE_MAX_BUFFER: usize = 0xfffff;

/// How a `LocalSession`'s server is set up.
#[derive(Clone, Debug)]
pub struct LocalOptions {
    /// Seeds the session id (a standalone server derives it from its start time).
    pub seed: u64,
    /// `zookeeper.extendedTypesEnabled` (TTL nodes).
    pub extended_types: bool,
    /// The virtual time of the first request, in ms since the epoch.
    pub start_ms: u64,
    /// How far the virtual clock moves per request.
    pub tick_ms: u64,
    /// The connect string shown in the prompt.
    pub server: String,
}

impl Default for LocalOptions {
    fn default() -> Self {
        LocalOptions {
            seed: 1,
            extended_types: true,
            start_ms: 1_700_000_000_000,
            tick_ms: 1000,
            server: "127.0.0.1:2181".to_string(),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ConnState {
    Connected,
    Closed,
    AuthFailed,
}

/// One client session against a private standalone server.
pub struct LocalSession {
    tree: DataTree,
    watches: WatchManager,
    client_watches: ClientWatches,
    session: SessionId,
    /// The connection's auth ids in the order `ServerCnxn.getAuthInfo` lists them (a
    /// `ConcurrentHashMap`-backed set), which is the order `whoami` prints and `auth` ACLs
    /// expand in; `auth_inserted` keeps the order they were added.
    auth: Vec<Id>,
    auth_inserted: Vec<Id>,
    state: ConnState,
    server: String,
    next_zxid: u64,
    now_ms: u64,
    tick_ms: u64,
    events: Vec<WatchedEvent>,
    /// Nodes created with Java's `null` data, by path, with their czxid (so a later node at
    /// the same path is not taken for them).
    null_data: BTreeMap<String, Zxid>,
    last_data_was_null: bool,
}

impl LocalSession {
    pub fn new(options: LocalOptions) -> LocalSession {
        // `SessionTrackerImpl.initializeNextSessionId`: (time << 24) >>> 8 | (serverId << 56).
        let time_bits = (options.seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 24) & 0xff_ffff_ffff;
        let first_session = (1u64 << 56) | ((time_bits << 24) >> 8);
        let mut s = LocalSession {
            tree: DataTree::with_extended_types(options.extended_types),
            watches: WatchManager::new(),
            client_watches: ClientWatches::new(),
            session: first_session,
            auth: Vec::new(),
            auth_inserted: Vec::new(),
            state: ConnState::Closed,
            server: options.server,
            next_zxid: 1,
            now_ms: options.start_ms,
            tick_ms: options.tick_ms,
            events: Vec::new(),
            null_data: BTreeMap::new(),
            last_data_was_null: false,
        };
        s.open(first_session);
        s.events.push(WatchedEvent::state(KeeperState::SyncConnected));
        s
    }

    /// The server's tree (for views and tests).
    pub fn tree(&self) -> &DataTree {
        &self.tree
    }

    /// The server's watches (the UI marks watched nodes).
    pub fn watches(&self) -> &WatchManager {
        &self.watches
    }

    /// The connection's auth ids.
    pub fn auth(&self) -> &[Id] {
        &self.auth
    }

    /// Applies a txn stamped with the next zxid and the current virtual time.
    fn commit(&mut self, session: SessionId, kind: TxnKind) -> Result<OpResult, ZkError> {
        let txn = Txn { zxid: Zxid(self.next_zxid), time: self.now_ms, session, cxid: 0, kind };
        self.next_zxid += 1;
        let (result, triggers) = self.tree.apply(&txn);
        for trigger in &triggers {
            for (to, event) in self.watches.trigger(trigger) {
                if to == self.session && self.state == ConnState::Connected && self.client_watches.materialize(&event) {
                    self.events.push(event);
                }
            }
        }
        result
    }

    /// Opens `session` (`createSession`) with the connection's default auth id.
    fn open(&mut self, session: SessionId) {
        self.session = session;
        self.state = ConnState::Connected;
        self.auth_inserted = vec![Id { scheme: "ip".to_string(), id: "127.0.0.1".to_string() }];
        self.auth = self.auth_inserted.clone();
        self.client_watches.clear();
        // The timeout zkCli asks for, 30 s, is within a standalone server's bounds (4 s .. 40 s).
        let _ = self.commit(session, TxnKind::CreateSession { timeout_ms: 30_000 });
    }

    /// The serialized length of a request as the server reads it (request header + record), for
    /// the `jute.maxbuffer` check; reads are small.
    pub fn request_len(op: &Op) -> usize {
        let string = |s: &str| 4 + s.len();
        let acl_len = |acl: &[super::txn::Acl]| {
            4 + acl.iter().map(|a| 4 + string(&a.id.scheme) + string(&a.id.id)).sum::<usize>()
        };
        8 + match op {
            Op::Create { path, data, acl, ttl_ms, .. } => {
                string(path) + 4 + data.len() + acl_len(acl) + 4 + if ttl_ms.is_some() { 8 } else { 0 }
            }
            Op::SetData { path, data, .. } => string(path) + 4 + data.len() + 4,
            Op::SetAcl { path, acl, .. } => string(path) + acl_len(acl) + 4,
            Op::Multi(ops) => ops.iter().map(|o| 9 + Self::request_len(o)).sum::<usize>() + 9,
            _ => 64,
        }
    }

    /// A request the server refused to read: the connection drops and comes back.
    fn connection_loss(&mut self) -> ZkError {
        self.events.push(WatchedEvent::state(KeeperState::Disconnected));
        self.events.push(WatchedEvent::state(KeeperState::SyncConnected));
        ZkError::ConnectionLoss
    }

    fn read(&mut self, op: &Op) -> Result<OpResult, ZkError> {
        let result = self.tree.read_as(op, self.session, &self.auth);
        if let Some((path, kind)) = super::watch::watch_for(op, &result) {
            self.watches.add(self.session, &path, kind);
        }
        self.client_watches.register(op, &result);
        if let (Op::GetData { path, .. }, Ok(OpResult::Data { data, stat })) = (op, &result) {
            self.last_data_was_null =
                data.is_empty() && stat.version == 0 && self.null_data.get(path) == Some(&stat.czxid);
        }
        result
    }
}

impl ZkSession for LocalSession {
    fn call(&mut self, op: Op) -> Result<OpResult, ZkError> {
        if self.state != ConnState::Connected {
            return Err(ZkError::ConnectionLoss);
        }
        self.now_ms += self.tick_ms;
        self.last_data_was_null = false;
        if Self::request_len(&op) > JUTE_MAX_BUFFER {
            return Err(self.connection_loss());
        }
        if op.is_write() || matches!(op, Op::Sync { .. }) {
            // A failed multi comes back as `Ok(Multi)` with the errors inside
            // (`OpResult::multi_error`), as the reply carries them.
            self.commit(self.session, TxnKind::Op { op, auth: self.auth.clone() })
        } else {
            self.read(&op)
        }
    }

    fn create_null_data(&mut self, op: Op) -> Result<OpResult, ZkError> {
        let result = self.call(op);
        if let Ok(OpResult::Created { path, stat }) = &result {
            self.null_data.insert(path.clone(), stat.czxid);
        }
        result
    }

    fn last_data_was_null(&self) -> bool {
        self.last_data_was_null
    }

    /// `AuthenticationProvider.handleAuthentication` for the two providers a 3.8 server has:
    /// `digest` adds `digest:user:hash`, `ip` the connection's address; any other scheme (or a
    /// missing credential) fails: the connection goes to `AUTH_FAILED`.
    fn add_auth(&mut self, scheme: &str, auth: Option<&str>) -> Result<(), ZkError> {
        if self.state != ConnState::Connected {
            return Err(ZkError::ConnectionLoss);
        }
        let id = match (scheme, auth) {
            ("digest", Some(credential)) => acl::digest_auth_id(credential),
            ("ip", _) => Id { scheme: "ip".to_string(), id: "127.0.0.1".to_string() },
            _ => {
                // The server answers AUTHFAILED and drops the connection (and with it the
                // connection's watches); the session itself lives on until it expires.
                self.state = ConnState::AuthFailed;
                self.watches.remove_session(self.session);
                self.events.push(WatchedEvent::state(KeeperState::AuthFailed));
                return Err(ZkError::AuthFailed);
            }
        };
        if !self.auth_inserted.contains(&id) {
            self.auth_inserted.push(id);
            self.auth = java_concurrent_hash_set_order(&self.auth_inserted);
        }
        Ok(())
    }

    fn remove_watches(&mut self, path: &str, kind: WatcherType, local: bool) -> Result<(), ZkError> {
        let rc = if self.state == ConnState::Connected {
            self.watches.remove(self.session, path, kind)
        } else {
            Err(ZkError::ConnectionLoss)
        };
        let removed = self.client_watches.remove(path, kind, local, rc)?;
        for event_type in removed {
            self.events.push(WatchedEvent::node(event_type, path));
        }
        Ok(())
    }

    /// `AuthUtil.getClientInfos`: the user part of each id (`digest`: before the colon).
    fn who_am_i(&mut self) -> Result<Vec<(String, String)>, ZkError> {
        if self.state != ConnState::Connected {
            return Err(ZkError::ConnectionLoss);
        }
        Ok(self
            .auth
            .iter()
            .map(|id| {
                let user = match id.scheme.as_str() {
                    "digest" => id.id.split(':').next().unwrap_or_default().to_string(),
                    _ => id.id.clone(),
                };
                (id.scheme.clone(), user)
            })
            .collect())
    }

    fn take_events(&mut self) -> Vec<WatchedEvent> {
        std::mem::take(&mut self.events)
    }

    fn session_id(&self) -> SessionId {
        self.session
    }

    fn server(&self) -> String {
        self.server.clone()
    }

    /// `ZooKeeperMain.connectToZK`: closes the current session only if it is alive (an
    /// `AUTH_FAILED` one is left to expire), then opens a new one.
    fn connect(&mut self, server: &str) -> Result<(), String> {
        self.close();
        self.server = server.to_string();
        self.open(self.session + 1);
        self.events.push(WatchedEvent::state(KeeperState::SyncConnected));
        Ok(())
    }

    /// `closeSession`: the session's ephemerals go (firing other watches), then its watches.
    /// A session that is not alive is left alone (`ZooKeeper.close` on a dead handle does
    /// nothing); an `AUTH_FAILED` one keeps its ephemerals until it would expire.
    fn close(&mut self) {
        if self.state != ConnState::Connected {
            return;
        }
        self.state = ConnState::Closed;
        self.now_ms += self.tick_ms;
        let _ = self.commit(self.session, TxnKind::CloseSession);
        self.watches.remove_session(self.session);
        self.client_watches.clear();
        self.events.push(WatchedEvent::state(KeeperState::Closed));
    }

    fn state(&self) -> &'static str {
        match self.state {
            ConnState::Connected => "CONNECTED",
            ConnState::Closed => "CLOSED",
            ConnState::AuthFailed => "AUTH_FAILED",
        }
    }
}

/// The iteration order of a `ConcurrentHashMap`-backed set of `Id`s (`ServerCnxn.authInfo`),
/// given the ids in the order they were added: by bin, then by arrival within a bin.
pub fn java_concurrent_hash_set_order(inserted: &[Id]) -> Vec<Id> {
    let mut cap = 16usize;
    while inserted.len() * 4 > cap * 3 {
        cap *= 2;
    }
    let bin = |id: &Id| {
        // Jute's `Id.hashCode`: 37 * (37 * 17 + scheme.hashCode()) + id.hashCode().
        let h = 17u32
            .wrapping_mul(37)
            .wrapping_add(java_string_hash(&id.scheme))
            .wrapping_mul(37)
            .wrapping_add(java_string_hash(&id.id));
        (java_spread(h) & 0x7fff_ffff) as usize & (cap - 1)
    };
    let mut order: Vec<(usize, usize)> = inserted.iter().enumerate().map(|(i, id)| (bin(id), i)).collect();
    order.sort();
    order.into_iter().map(|(_, i)| inserted[i].clone()).collect()
}

/// `String.hashCode`: s[0]*31^(n-1) + … over UTF-16 code units, wrapping.
fn java_string_hash(s: &str) -> u32 {
    s.encode_utf16().fold(0u32, |h, c| h.wrapping_mul(31).wrapping_add(u32::from(c)))
}

/// `HashMap.hash`: the high half folded into the low half.
fn java_spread(h: u32) -> u32 {
    h ^ (h >> 16)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auth_ids_come_back_in_concurrent_hash_map_order() {
        // Recorded from a 3.8 server (fixture 09-auth): whoami after three addauths.
        let ip = Id { scheme: "ip".into(), id: "127.0.0.1".into() };
        let alice = acl::digest_auth_id("alice:secret");
        let wrong = acl::digest_auth_id("user:wrongpass");
        let right = acl::digest_auth_id("user:pass");
        let order = java_concurrent_hash_set_order(&[ip.clone(), alice.clone(), wrong.clone(), right.clone()]);
        assert_eq!(order, [alice, wrong, ip, right]);
    }

    #[test]
    fn a_request_over_jute_maxbuffer_loses_the_connection_and_it_comes_back() {
        let mut s = LocalSession::new(LocalOptions::default());
        let _ = s.take_events();
        let big = Op::Create {
            path: "/big".into(),
            data: vec![b'x'; JUTE_MAX_BUFFER],
            acl: super::super::txn::Acl::open_unsafe(),
            mode: super::super::txn::CreateMode::Persistent,
            ttl_ms: None,
        };
        assert_eq!(s.call(big), Err(ZkError::ConnectionLoss));
        let states: Vec<KeeperState> = s.take_events().into_iter().map(|e| e.keeper_state).collect();
        assert_eq!(states, [KeeperState::Disconnected, KeeperState::SyncConnected]);
        assert!(s.tree().get("/big").is_none());
        let fits = Op::SetData { path: "/".into(), data: vec![b'x'; JUTE_MAX_BUFFER - 100], version: -1 };
        assert!(s.call(fits).is_ok());
    }

    #[test]
    fn every_write_takes_a_zxid_even_when_it_fails() {
        let mut s = LocalSession::new(LocalOptions::default());
        let create = |p: &str| Op::Create {
            path: p.into(),
            data: Vec::new(),
            acl: super::super::txn::Acl::open_unsafe(),
            mode: super::super::txn::CreateMode::Persistent,
            ttl_ms: None,
        };
        assert!(s.call(create("/a")).is_ok());
        assert_eq!(s.call(create("/a")), Err(ZkError::NodeExists));
        assert!(s.call(create("/b")).is_ok());
        // 0x1 opened the session, 0x2 made /a, 0x3 failed.
        assert_eq!(s.tree().get("/a").unwrap().stat.czxid, Zxid(2));
        assert_eq!(s.tree().get("/b").unwrap().stat.czxid, Zxid(4));
    }

    #[test]
    fn java_string_hash_matches() {
        assert_eq!(java_string_hash("a") as i32, 97);
        assert_eq!(java_string_hash("hello") as i32, 99_162_322);
    }
}
