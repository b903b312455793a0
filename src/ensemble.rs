//! A simulated ZooKeeper ensemble with clients: the host-side client library (`ClientCnxn`:
//! connect, heartbeats, reconnect to another server within the session timeout, session
//! expiry) driving sessions against `zab::ZkServer`s in the deterministic simulator. Used by
//! `zkspark zkcli`, the simulation tests and the linearizability checks.
//!
//! ```text
//! Client ──ZkCommand::Client{conn, req}──▶ server (sim.command)
//!        ◀── ZkEvent::Client{conn, resp} ── server events, routed by conn
//! no reply for readTimeout (2/3 of the session timeout), or the server died
//!        ──▶ Disconnected: pending requests fail with ConnectionLoss; connect to the next
//!            server with the same session id; an unknown session comes back Expired
//! ```

use crate::scenario::ensemble as sim_ensemble;
use crate::sim::{Millis, Network, NodeId, Simulator};
use crate::zab::clients::{ClientConn, ClientReq, ClientResp};
use crate::zab::{ZkCommand, ZkEvent, ZkServer, Zxid};
use crate::zk::watch::{KeeperState, WatchedEvent, WatcherType};
use crate::zk::{Id, Op, OpResult, SessionId, ZkError};
use std::collections::BTreeMap;

/// Index of a client in an `Ensemble`.
pub type ClientId = usize;

/// What a client's owner sees.
#[derive(Clone, Debug, PartialEq)]
pub enum ClientEvent {
    Reply { xid: u32, zxid: Zxid, result: Result<OpResult, ZkError> },
    /// A watch event or a connection-state change (`type:None`), as the default watcher gets it.
    Watch(WatchedEvent),
    WhoAmI { xid: u32, ids: Vec<Id> },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClientState {
    Connecting,
    Connected,
    Expired,
    Closed,
    AuthFailed,
}

impl ClientState {
    /// As zkCli's prompt shows it (`ZooKeeper.States`).
    pub fn as_str(self) -> &'static str {
        match self {
            ClientState::Connecting => "CONNECTING",
            ClientState::Connected => "CONNECTED",
            ClientState::Expired | ClientState::Closed => "CLOSED",
            ClientState::AuthFailed => "AUTH_FAILED",
        }
    }
}

struct Client {
    servers: Vec<NodeId>,
    next_server: usize,
    server: Option<NodeId>,
    conn: ClientConn,
    session: Option<SessionId>,
    requested_timeout_ms: u32,
    timeout_ms: u32,
    state: ClientState,
    last_zxid: Zxid,
    xid: u32,
    /// Requests sent on the current connection, in order.
    pending: Vec<u32>,
    auth: Vec<(String, String)>,
    last_heard: Millis,
    last_sent: Millis,
    retry_at: Millis,
    events: Vec<ClientEvent>,
    /// Cut off from every server (its packets and theirs are lost).
    frozen: bool,
}

/// A simulated ensemble and its clients.
pub struct Ensemble {
    pub sim: Simulator<ZkServer>,
    clients: Vec<Client>,
    conns: BTreeMap<ClientConn, ClientId>,
    cursor: usize,
    next_conn: ClientConn,
}

/// How often the client loop looks at the world (virtual ms).
const STEP_MS: Millis = 10;
/// Pause before trying the next server after a failed connect (`ClientCnxn` sleeps up to 1 s).
const RECONNECT_DELAY_MS: Millis = 200;

impl Ensemble {
    /// `n` servers on `network`; runs until a leader is established (at most 60 s).
    pub fn new(seed: u64, n: u32, network: Network) -> Ensemble {
        let mut sim = sim_ensemble(seed, n, network);
        crate::scenario::run_until_quorum_leader(&mut sim, 60_000);
        Ensemble { sim, clients: Vec::new(), conns: BTreeMap::new(), cursor: 0, next_conn: 0 }
    }

    pub fn now(&self) -> Millis {
        self.sim.now()
    }

    /// Opens a session (`new ZooKeeper(connectString, timeout)`), trying `servers` in order.
    pub fn open(&mut self, servers: Vec<NodeId>, timeout_ms: u32) -> ClientId {
        assert!(!servers.is_empty(), "a client needs a server to connect to");
        let id = self.clients.len();
        let now = self.sim.now();
        self.clients.push(Client {
            servers,
            next_server: 0,
            server: None,
            conn: 0,
            session: None,
            requested_timeout_ms: timeout_ms,
            timeout_ms,
            state: ClientState::Connecting,
            last_zxid: Zxid::ZERO,
            xid: 0,
            pending: Vec::new(),
            auth: Vec::new(),
            last_heard: now,
            last_sent: now,
            retry_at: now,
            events: Vec::new(),
            frozen: false,
        });
        self.try_connect(id);
        id
    }

    pub fn state(&self, c: ClientId) -> ClientState {
        self.clients[c].state
    }

    pub fn session(&self, c: ClientId) -> Option<SessionId> {
        self.clients[c].session
    }

    pub fn server(&self, c: ClientId) -> Option<NodeId> {
        self.clients[c].server
    }

    pub fn last_zxid_seen(&self, c: ClientId) -> Zxid {
        self.clients[c].last_zxid
    }

    /// Points the client at other servers (zkCli's `connect host:port`): a new session.
    pub fn reopen(&mut self, c: ClientId, servers: Vec<NodeId>) {
        self.close(c);
        let cl = &mut self.clients[c];
        cl.servers = servers;
        cl.next_server = 0;
        cl.session = None;
        cl.state = ClientState::Connecting;
        cl.last_zxid = Zxid::ZERO;
        cl.auth.clear();
        self.try_connect(c);
    }

    /// Cuts the client off from the ensemble (`true`) or reconnects its network (`false`):
    /// while cut off nothing it sends arrives and nothing reaches it, so its session expires
    /// on the servers if this lasts longer than the session timeout.
    pub fn set_partitioned(&mut self, c: ClientId, cut: bool) {
        self.clients[c].frozen = cut;
    }

    fn send(&mut self, c: ClientId, req: ClientReq) {
        let cl = &mut self.clients[c];
        let Some(server) = cl.server else { return };
        if cl.frozen {
            return;
        }
        cl.last_sent = self.sim.now();
        let conn = cl.conn;
        if self.sim.is_up(server) {
            self.sim.command(server, ZkCommand::Client { conn, req });
        }
    }

    fn try_connect(&mut self, c: ClientId) {
        let now = self.sim.now();
        self.next_conn += 1;
        let conn = self.next_conn;
        let cl = &mut self.clients[c];
        if matches!(cl.state, ClientState::Expired | ClientState::Closed | ClientState::AuthFailed) {
            return;
        }
        let server = cl.servers[cl.next_server % cl.servers.len()];
        cl.next_server += 1;
        cl.server = Some(server);
        cl.conn = conn;
        cl.last_heard = now;
        cl.retry_at = now + RECONNECT_DELAY_MS;
        self.conns.insert(conn, c);
        let req = ClientReq::Connect {
            session: cl.session,
            timeout_ms: cl.requested_timeout_ms,
            last_zxid_seen: cl.last_zxid,
        };
        self.send(c, req);
    }

    /// Sends a request; its reply comes as a `ClientEvent::Reply` with the returned xid. A
    /// client that is not connected answers at once with ConnectionLoss (or SessionExpired).
    pub fn submit(&mut self, c: ClientId, op: Op) -> u32 {
        let cl = &mut self.clients[c];
        cl.xid += 1;
        let xid = cl.xid;
        match cl.state {
            ClientState::Connected => {
                cl.pending.push(xid);
                self.send(c, ClientReq::Op { xid, op });
            }
            state => {
                let err = if state == ClientState::Expired { ZkError::SessionExpired } else { ZkError::ConnectionLoss };
                cl.events.push(ClientEvent::Reply { xid, zxid: Zxid::ZERO, result: Err(err) });
            }
        }
        xid
    }

    /// `addAuthInfo`: sent now and again after every reconnect.
    pub fn add_auth(&mut self, c: ClientId, scheme: &str, auth: &str) {
        self.clients[c].auth.push((scheme.to_string(), auth.to_string()));
        if self.clients[c].state == ClientState::Connected {
            self.send(c, ClientReq::AddAuth { scheme: scheme.into(), auth: auth.into() });
        }
    }

    pub fn remove_watches(&mut self, c: ClientId, path: &str, kind: WatcherType) -> u32 {
        let cl = &mut self.clients[c];
        cl.xid += 1;
        let xid = cl.xid;
        if cl.state == ClientState::Connected {
            cl.pending.push(xid);
            self.send(c, ClientReq::RemoveWatches { xid, path: path.into(), kind });
        } else {
            cl.events.push(ClientEvent::Reply { xid, zxid: Zxid::ZERO, result: Err(ZkError::ConnectionLoss) });
        }
        xid
    }

    pub fn who_am_i(&mut self, c: ClientId) -> u32 {
        let cl = &mut self.clients[c];
        cl.xid += 1;
        let xid = cl.xid;
        if cl.state == ClientState::Connected {
            cl.pending.push(xid);
            self.send(c, ClientReq::WhoAmI { xid });
        }
        xid
    }

    /// `ZooKeeper.close()`: closeSession, then the connection goes.
    pub fn close(&mut self, c: ClientId) {
        if self.clients[c].state == ClientState::Connected {
            let xid = self.clients[c].xid + 1;
            self.clients[c].xid = xid;
            self.send(c, ClientReq::Close { xid });
            let budget = self.sim.now() + u64::from(self.clients[c].timeout_ms);
            while self.clients[c].state == ClientState::Connected && self.sim.now() < budget {
                self.step();
            }
        }
        self.clients[c].state = ClientState::Closed;
    }

    pub fn take_events(&mut self, c: ClientId) -> Vec<ClientEvent> {
        std::mem::take(&mut self.clients[c].events)
    }

    /// Sends `op` and runs the world until its reply (or until `budget_ms` passes: then
    /// ConnectionLoss, as a client whose request times out sees it).
    pub fn call(&mut self, c: ClientId, op: Op, budget_ms: Millis) -> Result<OpResult, ZkError> {
        let xid = self.submit(c, op);
        self.wait_reply(c, xid, budget_ms)
    }

    /// Runs until the reply to `xid`, keeping other events for `take_events`.
    pub fn wait_reply(&mut self, c: ClientId, xid: u32, budget_ms: Millis) -> Result<OpResult, ZkError> {
        let until = self.sim.now() + budget_ms;
        loop {
            let events = &mut self.clients[c].events;
            if let Some(i) = events.iter().position(|e| matches!(e, ClientEvent::Reply { xid: x, .. } if *x == xid)) {
                if let ClientEvent::Reply { result, .. } = events.remove(i) {
                    return result;
                }
            }
            if self.sim.now() >= until {
                return Err(ZkError::ConnectionLoss);
            }
            self.step();
        }
    }

    /// Runs until the client is connected (or its session is over), at most `budget_ms`.
    pub fn wait_connected(&mut self, c: ClientId, budget_ms: Millis) -> ClientState {
        let until = self.sim.now() + budget_ms;
        while self.clients[c].state == ClientState::Connecting && self.sim.now() < until {
            self.step();
        }
        self.clients[c].state
    }

    /// Runs the world for `ms` with the clients alive (heartbeats, reconnects).
    pub fn run_for(&mut self, ms: Millis) {
        let until = self.sim.now() + ms;
        while self.sim.now() < until {
            self.step();
        }
    }

    /// One slice of virtual time: deliver server events to clients, then keep each client's
    /// connection alive or move it to another server.
    pub fn step(&mut self) {
        let next = self.sim.now() + STEP_MS;
        self.sim.run_until(next);
        self.route_events();
        for c in 0..self.clients.len() {
            self.tend(c);
        }
    }

    fn route_events(&mut self) {
        let now = self.sim.now();
        let new: Vec<(ClientConn, ClientResp)> = self.sim.events()[self.cursor..]
            .iter()
            .filter_map(|e| match &e.event {
                ZkEvent::Client { conn, resp } => Some((*conn, resp.clone())),
                _ => None,
            })
            .collect();
        self.cursor = self.sim.events().len();
        for (conn, resp) in new {
            let Some(&c) = self.conns.get(&conn) else { continue };
            if self.clients[c].conn != conn || self.clients[c].frozen {
                continue; // an older connection of this client, or lost on the way
            }
            self.clients[c].last_heard = now;
            self.on_resp(c, resp);
        }
    }

    fn on_resp(&mut self, c: ClientId, resp: ClientResp) {
        let cl = &mut self.clients[c];
        match resp {
            ClientResp::Connected { session, timeout_ms } => {
                let fresh = cl.session.is_none();
                cl.session = Some(session);
                cl.timeout_ms = timeout_ms;
                cl.state = ClientState::Connected;
                let _ = fresh;
                cl.events.push(ClientEvent::Watch(WatchedEvent::state(KeeperState::SyncConnected)));
                let auth = cl.auth.clone();
                for (scheme, a) in auth {
                    self.send(c, ClientReq::AddAuth { scheme, auth: a });
                }
            }
            ClientResp::Expired => {
                cl.state = ClientState::Expired;
                cl.events.push(ClientEvent::Watch(WatchedEvent::state(KeeperState::Expired)));
                self.fail_pending(c, ZkError::SessionExpired);
            }
            ClientResp::Disconnected { .. } => self.disconnected(c),
            ClientResp::Reply { xid, zxid, result } => {
                cl.last_zxid = cl.last_zxid.max(zxid);
                cl.pending.retain(|&x| x != xid);
                cl.events.push(ClientEvent::Reply { xid, zxid, result });
            }
            ClientResp::Watch(event) => cl.events.push(ClientEvent::Watch(event)),
            ClientResp::AuthFailed => {
                cl.state = ClientState::AuthFailed;
                cl.events.push(ClientEvent::Watch(WatchedEvent::state(KeeperState::AuthFailed)));
                self.fail_pending(c, ZkError::AuthFailed);
            }
            ClientResp::Closed { xid } => {
                cl.state = ClientState::Closed;
                cl.pending.retain(|&x| x != xid);
            }
            ClientResp::Pong => {}
            ClientResp::WhoAmI { xid, ids } => {
                cl.pending.retain(|&x| x != xid);
                cl.events.push(ClientEvent::WhoAmI { xid, ids });
            }
        }
    }

    fn fail_pending(&mut self, c: ClientId, err: ZkError) {
        let cl = &mut self.clients[c];
        for xid in std::mem::take(&mut cl.pending) {
            cl.events.push(ClientEvent::Reply { xid, zxid: Zxid::ZERO, result: Err(err) });
        }
    }

    /// The connection broke: pending requests fail with ConnectionLoss, the watcher hears
    /// Disconnected, and the client tries the next server.
    fn disconnected(&mut self, c: ClientId) {
        let now = self.sim.now();
        self.fail_pending(c, ZkError::ConnectionLoss);
        let cl = &mut self.clients[c];
        if cl.state == ClientState::Connected {
            cl.events.push(ClientEvent::Watch(WatchedEvent::state(KeeperState::Disconnected)));
        }
        if cl.state == ClientState::Connected || cl.state == ClientState::Connecting {
            cl.state = ClientState::Connecting;
            cl.server = None;
            cl.retry_at = now + RECONNECT_DELAY_MS;
        }
    }

    /// `ClientCnxn.SendThread`: ping when idle, notice a dead connection, reconnect.
    fn tend(&mut self, c: ClientId) {
        let now = self.sim.now();
        let cl = &self.clients[c];
        let read_timeout = u64::from(cl.timeout_ms) * 2 / 3;
        match (cl.state, cl.server) {
            (ClientState::Connected, Some(server)) => {
                if !self.sim.is_up(server) || now.saturating_sub(cl.last_heard) > read_timeout {
                    self.disconnected(c); // the kernel's RST, or a read timeout
                } else if now.saturating_sub(cl.last_sent) >= read_timeout / 2 {
                    self.send(c, ClientReq::Ping);
                }
            }
            (ClientState::Connecting, Some(server)) => {
                if !self.sim.is_up(server) || now.saturating_sub(cl.last_heard) > read_timeout {
                    self.disconnected(c);
                }
            }
            (ClientState::Connecting, None) if now >= cl.retry_at => self.try_connect(c),
            _ => {}
        }
    }
}
