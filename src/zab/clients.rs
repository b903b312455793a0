//! The client side of a server (`ZooKeeperServer`, `NIOServerCnxn`, `FinalRequestProcessor`,
//! `CommitProcessor`): client connections, sessions, the per-session request queue, reads
//! answered from the local tree, writes sent through the leader, watches.
//!
//! ```text
//! client ─Connect─▶ server ── new session: createSession txn ──▶ leader ─▶ commit ─▶ Connected
//! client ─Op(xid)─▶ read:  queued behind the session's earlier writes, then answered locally
//!                   write: forwarded to the leader as a txn; answered when its commit applies
//!                   sync:  forwarded; answered once the leader's earlier proposals committed
//! commit applied ─▶ watches fire (before any later reply on this server) ─▶ replies
//! ```
//! A session's requests are answered in the order they were sent (ZooKeeper's FIFO client
//! order): a read waits for every earlier write of its session.

use super::server::{Out, Role, ZkEvent, ZkServer};
use super::storage::Applied;
use super::zxid::Zxid;
use crate::sim::{Effect, Millis};
use crate::zk::watch::{watch_for, WatchManager, WatchedEvent, WatcherType};
use crate::zk::{Id, Op, OpResult, SessionId, TxnKind, ZkError};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet, VecDeque};

/// A client's TCP connection to one server, numbered by the host.
pub type ClientConn = u64;

/// `jute.maxbuffer`'s default: a request longer than this is refused and the connection closed.
pub const MAX_PACKET: usize = 0xfffff;

/// What a client sends its server.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ClientReq {
    /// `ConnectRequest`: a new session (None) or an existing one, with the largest zxid the
    /// client has seen (a server behind it refuses the connection).
    Connect {
        session: Option<SessionId>,
        timeout_ms: u32,
        last_zxid_seen: Zxid,
    },
    Op {
        xid: u32,
        op: Op,
    },
    AddAuth {
        scheme: String,
        auth: String,
    },
    Ping,
    /// `closeSession`: ends the session; its ephemerals go.
    Close {
        xid: u32,
    },
    /// The client dropped the connection (the session lives on until it expires).
    Disconnect,
    /// `removeWatches` / `removeAllWatches` for this session's watches on `path`.
    RemoveWatches {
        xid: u32,
        path: String,
        kind: WatcherType,
    },
    /// `whoAmI` (3.7+): the connection's authenticated ids.
    WhoAmI {
        xid: u32,
    },
    /// `SetWatches2`, sent by a client right after reconnecting: its registered watches, and
    /// the last zxid it saw so changes it missed fire at once.
    SetWatches {
        relative_zxid: Zxid,
        watches: [Vec<String>; 5],
    },
}

/// What a server sends a client.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ClientResp {
    Connected {
        session: SessionId,
        timeout_ms: u32,
    },
    /// The session is unknown here (expired or closed): the client's session is over.
    Expired,
    /// The server refused or closed the connection; the client should try another server.
    Disconnected {
        reason: String,
    },
    /// `ReplyHeader(xid, zxid, err)` and the response.
    Reply {
        xid: u32,
        zxid: Zxid,
        result: Result<OpResult, ZkError>,
    },
    Watch(WatchedEvent),
    AuthFailed,
    Closed {
        xid: u32,
    },
    /// The reply to a client PING.
    Pong,
    WhoAmI {
        xid: u32,
        ids: Vec<Id>,
    },
}

#[derive(Clone, Debug)]
enum Waiting {
    Read(Op),
    Write,
    Sync,
    Close,
}

#[derive(Clone, Debug)]
struct Queued {
    xid: u32,
    what: Waiting,
    done: Option<ClientResp>,
}

#[derive(Clone, Debug)]
struct Conn {
    session: SessionId,
    /// False until the session's createSession txn is applied here.
    connected: bool,
    /// The connection's auth ids in `ServerCnxn.authInfo`'s iteration order (`ip` first
    /// added), and in the order they were added.
    auth: Vec<Id>,
    auth_inserted: Vec<Id>,
    queue: VecDeque<Queued>,
}

/// A server's client connections, their sessions and the watches they left.
#[derive(Default)]
pub struct Clients {
    conns: BTreeMap<ClientConn, Conn>,
    by_session: BTreeMap<SessionId, ClientConn>,
    watches: WatchManager,
    /// Sessions with activity since the last PING to the leader.
    touched: BTreeSet<SessionId>,
    next_session: u32,
}

/// Bound on queued requests per connection (ZooKeeper throttles at 1000 outstanding).
const MAX_QUEUED: usize = 1000;

impl Clients {
    pub fn sessions(&self) -> Vec<SessionId> {
        self.by_session.keys().copied().collect()
    }

    pub fn watched_paths(&self) -> Vec<String> {
        self.watches.watched_paths().into_iter().collect()
    }

    pub fn take_touched(&mut self) -> Vec<SessionId> {
        std::mem::take(&mut self.touched).into_iter().collect()
    }
}

fn emit(conn: ClientConn, resp: ClientResp, out: &mut Out) {
    out.push(Effect::Event(ZkEvent::Client { conn, resp }));
}

fn too_big(op: &Op) -> bool {
    crate::zk::local::LocalSession::request_len(op) > MAX_PACKET
}

impl ZkServer {
    /// One packet from a client connection.
    pub(super) fn client_packet(&mut self, now: Millis, conn: ClientConn, req: ClientReq, out: &mut Out) {
        if !self.is_serving() {
            self.clients.conns.remove(&conn);
            let reason = format!("ZooKeeperServer not running (server is {})", self.state());
            emit(conn, ClientResp::Disconnected { reason }, out);
            return;
        }
        if let ClientReq::Connect { session, timeout_ms, last_zxid_seen } = req {
            self.client_connect(now, conn, session, timeout_ms, last_zxid_seen, out);
            return;
        }
        let Some(session) = self.clients.conns.get(&conn).map(|c| c.session) else {
            if req != ClientReq::Disconnect {
                emit(conn, ClientResp::Disconnected { reason: "no such connection".into() }, out);
            }
            return;
        };
        self.clients.touched.insert(session);
        self.touch_session(now, session);
        let c = self.clients.conns.get_mut(&conn).expect("checked above");
        match req {
            ClientReq::Connect { .. } => unreachable!("handled above"),
            ClientReq::Ping => emit(conn, ClientResp::Pong, out),
            ClientReq::RemoveWatches { xid, path, kind } => {
                let result = self.clients.watches.remove(session, &path, kind).map(|()| OpResult::Done);
                let zxid = self.db.last_applied();
                emit(conn, ClientResp::Reply { xid, zxid, result }, out);
            }
            ClientReq::WhoAmI { xid } => emit(conn, ClientResp::WhoAmI { xid, ids: c.auth.clone() }, out),
            ClientReq::SetWatches { relative_zxid, watches } => {
                self.set_watches(conn, session, relative_zxid, watches, out)
            }
            ClientReq::Disconnect => self.forget_conn(conn),
            ClientReq::AddAuth { scheme, auth } => {
                // The two providers a 3.8 server has; any other scheme fails the connection.
                let id = match scheme.as_str() {
                    "digest" if !auth.is_empty() => crate::zk::acl::digest_auth_id(&auth),
                    "ip" => Id { scheme: "ip".into(), id: "127.0.0.1".into() },
                    _ => {
                        self.clients.watches.remove_session(session);
                        self.forget_conn(conn);
                        emit(conn, ClientResp::AuthFailed, out);
                        return;
                    }
                };
                if !c.auth_inserted.contains(&id) {
                    c.auth_inserted.push(id);
                    c.auth = crate::zk::local::java_concurrent_hash_set_order(&c.auth_inserted);
                }
            }
            ClientReq::Close { xid } => {
                c.queue.push_back(Queued { xid, what: Waiting::Close, done: None });
                self.submit_txn(now, session, xid, TxnKind::CloseSession, out);
            }
            ClientReq::Op { xid, op } => self.client_op(now, conn, xid, op, out),
        }
    }

    fn client_connect(
        &mut self,
        now: Millis,
        conn: ClientConn,
        session: Option<SessionId>,
        timeout_ms: u32,
        last_zxid_seen: Zxid,
        out: &mut Out,
    ) {
        let ours = self.db.last_applied();
        if last_zxid_seen > ours {
            let reason = format!(
                "Refusing session request for client as it has seen zxid {last_zxid_seen} our last zxid is {ours} client must try another server"
            );
            emit(conn, ClientResp::Disconnected { reason }, out);
            return;
        }
        match session {
            Some(s) => {
                let Some(&timeout) = self.db.tree.sessions().get(&s) else {
                    emit(conn, ClientResp::Expired, out);
                    return;
                };
                if let Some(old) = self.clients.by_session.get(&s).copied() {
                    self.forget_conn(old);
                    emit(old, ClientResp::Disconnected { reason: "session moved to a new connection".into() }, out);
                }
                self.attach(conn, s, true);
                self.touch_session(now, s);
                emit(conn, ClientResp::Connected { session: s, timeout_ms: timeout }, out);
            }
            None => {
                self.clients.next_session += 1;
                // `SessionTrackerImpl.initializeNextSessionId`: the server id in the top byte.
                let s = (u64::from(self.sid) << 56)
                    | ((self.boot & 0xff_ffff) << 24)
                    | u64::from(self.clients.next_session);
                self.attach(conn, s, false);
                let timeout_ms = self.config.negotiate_session_timeout(timeout_ms);
                self.submit_txn(now, s, 0, TxnKind::CreateSession { timeout_ms }, out);
            }
        }
    }

    fn attach(&mut self, conn: ClientConn, session: SessionId, connected: bool) {
        // Every connection starts authenticated as its address (`IPAuthenticationProvider`).
        let ip = vec![Id { scheme: "ip".into(), id: "127.0.0.1".into() }];
        let c = Conn { session, connected, auth: ip.clone(), auth_inserted: ip, queue: VecDeque::new() };
        self.clients.conns.insert(conn, c);
        self.clients.by_session.insert(session, conn);
    }

    fn forget_conn(&mut self, conn: ClientConn) {
        if let Some(c) = self.clients.conns.remove(&conn) {
            if self.clients.by_session.get(&c.session) == Some(&conn) {
                self.clients.by_session.remove(&c.session);
            }
        }
    }

    /// `DataTree.setWatches`: a watch whose node changed after `relative_zxid` fires now;
    /// the others are registered again.
    fn set_watches(
        &mut self,
        conn: ClientConn,
        session: SessionId,
        relative_zxid: Zxid,
        watches: [Vec<String>; 5],
        out: &mut Out,
    ) {
        use crate::zk::watch::{WatchEventType as T, WatchKind};
        let [data, exist, child, persistent, recursive] = watches;
        let fire = |t: T, path: &str, out: &mut Out| emit(conn, ClientResp::Watch(WatchedEvent::node(t, path)), out);
        for path in data {
            match self.db.tree.get(&path) {
                None => fire(T::NodeDeleted, &path, out),
                Some(n) if n.stat.mzxid > relative_zxid => fire(T::NodeDataChanged, &path, out),
                Some(_) => self.clients.watches.add(session, &path, WatchKind::Data),
            }
        }
        for path in exist {
            match self.db.tree.get(&path) {
                Some(_) => fire(T::NodeCreated, &path, out),
                None => self.clients.watches.add(session, &path, WatchKind::Data),
            }
        }
        for path in child {
            match self.db.tree.get(&path) {
                None => fire(T::NodeDeleted, &path, out),
                Some(n) if n.stat.pzxid > relative_zxid => fire(T::NodeChildrenChanged, &path, out),
                Some(_) => self.clients.watches.add(session, &path, WatchKind::Child),
            }
        }
        for path in persistent {
            self.clients.watches.add(session, &path, WatchKind::Persistent);
        }
        for path in recursive {
            self.clients.watches.add(session, &path, WatchKind::PersistentRecursive);
        }
    }

    fn client_op(&mut self, now: Millis, conn: ClientConn, xid: u32, op: Op, out: &mut Out) {
        let c = self.clients.conns.get_mut(&conn).expect("checked by caller");
        if too_big(&op) || c.queue.len() >= MAX_QUEUED || !c.connected {
            let reason = if too_big(&op) { "Len error: packet over jute.maxbuffer" } else { "connection not ready" };
            self.forget_conn(conn);
            emit(conn, ClientResp::Disconnected { reason: reason.into() }, out);
            return;
        }
        let session = c.session;
        if op.is_write() {
            c.queue.push_back(Queued { xid, what: Waiting::Write, done: None });
            let auth = c.auth.clone();
            self.submit_txn(now, session, xid, TxnKind::Op { op, auth }, out);
        } else if let Op::Sync { .. } = op {
            c.queue.push_back(Queued { xid, what: Waiting::Sync, done: None });
            self.submit_sync(now, session, xid, out);
        } else {
            c.queue.push_back(Queued { xid, what: Waiting::Read(op), done: None });
            self.pump(conn, out);
        }
    }

    /// A write goes to the leader: proposed here if we lead, forwarded if we follow.
    fn submit_txn(&mut self, now: Millis, session: SessionId, cxid: u32, kind: TxnKind, out: &mut Out) {
        match &self.role {
            Role::Leading(_) => self.propose(now, session, cxid, kind, out),
            Role::Following(f) => {
                let (leader, conn) = (f.leader, f.conn_id());
                self.send(leader, super::messages::ZabMsg::Request { conn, session, cxid, kind }, out);
            }
            Role::Looking(_) => {}
        }
    }

    fn submit_sync(&mut self, now: Millis, session: SessionId, cxid: u32, out: &mut Out) {
        match &self.role {
            Role::Leading(_) => self.leader_sync(now, None, session, cxid, out),
            Role::Following(f) => {
                let (leader, conn) = (f.leader, f.conn_id());
                self.send(leader, super::messages::ZabMsg::Sync { conn, session, cxid }, out);
            }
            Role::Looking(_) => {}
        }
    }

    /// A sync this server asked for is done: everything committed before it is applied here.
    pub(super) fn sync_done(&mut self, session: SessionId, cxid: u32, out: &mut Out) {
        let zxid = self.db.last_applied();
        self.complete(
            session,
            cxid,
            |q| matches!(q.what, Waiting::Sync),
            out,
            |xid| ClientResp::Reply { xid, zxid, result: Ok(OpResult::Done) },
        );
    }

    fn complete(
        &mut self,
        session: SessionId,
        cxid: u32,
        kind: impl Fn(&Queued) -> bool,
        out: &mut Out,
        resp: impl FnOnce(u32) -> ClientResp,
    ) {
        let Some(&conn) = self.clients.by_session.get(&session) else { return };
        let c = self.clients.conns.get_mut(&conn).expect("indexed");
        if let Some(q) = c.queue.iter_mut().find(|q| q.xid == cxid && q.done.is_none() && kind(q)) {
            q.done = Some(resp(cxid));
        }
        self.pump(conn, out);
    }

    /// Answers the connection's queue from the front: finished writes, then reads, until a
    /// request still waits for its commit.
    fn pump(&mut self, conn: ClientConn, out: &mut Out) {
        loop {
            let Some(c) = self.clients.conns.get_mut(&conn) else { return };
            let Some(front) = c.queue.front_mut() else { return };
            if let Some(resp) = front.done.take() {
                c.queue.pop_front();
                emit(conn, resp, out);
                continue;
            }
            let Waiting::Read(op) = &front.what else { return };
            let (op, xid, session) = (op.clone(), front.xid, c.session);
            let auth = c.auth.clone();
            c.queue.pop_front();
            let result = self.read(&op, session, &auth);
            if let Some((path, kind)) = watch_for(&op, &result) {
                self.clients.watches.add(session, &path, kind);
            }
            emit(conn, ClientResp::Reply { xid, zxid: self.db.last_applied(), result }, out);
        }
    }

    fn read(&mut self, op: &Op, session: SessionId, auth: &[Id]) -> Result<OpResult, ZkError> {
        match op {
            Op::AddWatch { path, .. } => {
                crate::zk::path::validate_path(path, false).map_err(|_| ZkError::BadArguments)?;
                Ok(OpResult::Done)
            }
            _ => self.db.tree.read_as(op, session, auth),
        }
    }

    /// After txns are applied here: fire watches, then answer the requests they complete.
    pub(super) fn on_applied(&mut self, now: Millis, applied: Vec<Applied>, out: &mut Out) {
        for a in applied {
            for trigger in &a.triggers {
                for (session, event) in self.clients.watches.trigger(trigger) {
                    if let Some(&conn) = self.clients.by_session.get(&session) {
                        emit(conn, ClientResp::Watch(event), out);
                    }
                }
            }
            let (session, cxid, zxid) = (a.txn.session, a.txn.cxid, a.txn.zxid);
            match &a.txn.kind {
                TxnKind::CreateSession { timeout_ms } => {
                    self.session_created(now, session, *timeout_ms);
                    if let Some(&conn) = self.clients.by_session.get(&session) {
                        let c = self.clients.conns.get_mut(&conn).expect("indexed");
                        if !c.connected {
                            c.connected = true;
                            emit(conn, ClientResp::Connected { session, timeout_ms: *timeout_ms }, out);
                        }
                    }
                }
                TxnKind::CloseSession => {
                    self.session_closed(session);
                    self.clients.watches.remove_session(session);
                    if let Some(&conn) = self.clients.by_session.get(&session) {
                        let closing = self.clients.conns[&conn].queue.iter().find(|q| matches!(q.what, Waiting::Close));
                        let resp = match closing {
                            Some(q) => ClientResp::Closed { xid: q.xid },
                            None => ClientResp::Expired,
                        };
                        self.forget_conn(conn);
                        emit(conn, resp, out);
                    }
                }
                TxnKind::Op { .. } => {
                    let result = a.result.clone();
                    self.complete(
                        session,
                        cxid,
                        |q| matches!(q.what, Waiting::Write),
                        out,
                        |xid| ClientResp::Reply { xid, zxid, result },
                    );
                }
                TxnKind::DeleteContainer { .. } => {}
            }
        }
    }

    /// Leaving the serving state closes every client connection (`ZooKeeperServer.shutdown`):
    /// their requests fail with ConnectionLoss and the clients look for another server.
    pub(super) fn drop_clients(&mut self, out: &mut Out) {
        for (conn, _) in std::mem::take(&mut self.clients.conns) {
            emit(conn, ClientResp::Disconnected { reason: "server stopped serving".into() }, out);
        }
        self.clients.by_session.clear();
        self.clients.watches = WatchManager::default();
        self.clients.touched.clear();
    }
}
