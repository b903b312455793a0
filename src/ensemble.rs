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
    Reply {
        xid: u32,
        zxid: Zxid,
        result: Result<OpResult, ZkError>,
    },
    /// A watch event or a connection-state change (`type:None`), as the default watcher gets it.
    Watch(WatchedEvent),
    WhoAmI {
        xid: u32,
        ids: Vec<Id>,
    },
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
    /// Requests sent on the current connection, in order, with the op (to register watches).
    pending: Vec<(u32, Option<Op>)>,
    /// The watch registry (`ZKWatchManager`): filters delivered events and is re-sent to the
    /// next server after a reconnect.
    watches: crate::zk::watch::ClientWatches,
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
    /// How often the client loop looks at the world (`STEP_MS` unless set).
    step_ms: Millis,
}

/// How often the client loop looks at the world (virtual ms).
const STEP_MS: Millis = 10;
/// Pause before trying the next server after a failed connect (`ClientCnxn` sleeps up to 1 s).
const RECONNECT_DELAY_MS: Millis = 200;

impl Ensemble {
    /// `n` servers on `network`; runs until a leader is established (at most 60 s).
    pub fn new(seed: u64, n: u32, network: Network) -> Ensemble {
        Ensemble::with_config(seed, crate::zab::ZkConfig::ensemble(n), network)
    }

    /// An ensemble of the voters and observers in `config`.
    pub fn with_config(seed: u64, config: crate::zab::ZkConfig, network: Network) -> Ensemble {
        let mut sim = crate::scenario::ensemble_with(seed, config, network);
        crate::scenario::run_until_quorum_leader(&mut sim, 60_000);
        Ensemble { sim, clients: Vec::new(), conns: BTreeMap::new(), cursor: 0, next_conn: 0, step_ms: STEP_MS }
    }

    pub fn now(&self) -> Millis {
        self.sim.now()
    }

    /// Looks at the world every `ms` (finer steps, finer request latencies; 10 by default).
    pub fn set_step_ms(&mut self, ms: Millis) {
        self.step_ms = ms.max(1);
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
            watches: crate::zk::watch::ClientWatches::new(),
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
        cl.watches.clear();
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
                cl.pending.push((xid, Some(op.clone())));
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
            cl.pending.push((xid, None));
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
            cl.pending.push((xid, None));
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

    /// Sends closeSession without waiting: the client is `Closed` when the reply comes.
    pub fn close_async(&mut self, c: ClientId) {
        if self.clients[c].state == ClientState::Connected {
            let xid = self.clients[c].xid + 1;
            self.clients[c].xid = xid;
            self.send(c, ClientReq::Close { xid });
        } else {
            self.clients[c].state = ClientState::Closed;
        }
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
        let next = self.sim.now() + self.step_ms;
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
                cl.session = Some(session);
                cl.timeout_ms = timeout_ms;
                cl.state = ClientState::Connected;
                cl.events.push(ClientEvent::Watch(WatchedEvent::state(KeeperState::SyncConnected)));
                let auth = cl.auth.clone();
                let watches = cl.watches.to_set_watches();
                let relative_zxid = cl.last_zxid;
                for (scheme, a) in auth {
                    self.send(c, ClientReq::AddAuth { scheme, auth: a });
                }
                if watches.iter().any(|t| !t.is_empty()) {
                    self.send(c, ClientReq::SetWatches { relative_zxid, watches });
                }
            }
            ClientResp::Expired => {
                cl.state = ClientState::Expired;
                cl.watches.clear();
                cl.events.push(ClientEvent::Watch(WatchedEvent::state(KeeperState::Expired)));
                self.fail_pending(c, ZkError::SessionExpired);
            }
            ClientResp::Disconnected { .. } => self.disconnected(c),
            ClientResp::Reply { xid, zxid, result } => {
                cl.last_zxid = cl.last_zxid.max(zxid);
                if let Some(i) = cl.pending.iter().position(|(x, _)| *x == xid) {
                    if let (_, Some(op)) = cl.pending.remove(i) {
                        cl.watches.register(&op, &result);
                    }
                }
                cl.events.push(ClientEvent::Reply { xid, zxid, result });
            }
            ClientResp::Watch(event) => {
                if cl.watches.materialize(&event) {
                    cl.events.push(ClientEvent::Watch(event));
                }
            }
            ClientResp::AuthFailed => {
                cl.state = ClientState::AuthFailed;
                cl.events.push(ClientEvent::Watch(WatchedEvent::state(KeeperState::AuthFailed)));
                self.fail_pending(c, ZkError::AuthFailed);
            }
            ClientResp::Closed { xid } => {
                cl.state = ClientState::Closed;
                cl.pending.retain(|(x, _)| *x != xid);
                cl.watches.clear();
            }
            ClientResp::Pong => {}
            ClientResp::WhoAmI { xid, ids } => {
                cl.pending.retain(|(x, _)| *x != xid);
                cl.events.push(ClientEvent::WhoAmI { xid, ids });
            }
        }
    }

    fn fail_pending(&mut self, c: ClientId, err: ZkError) {
        let cl = &mut self.clients[c];
        for (xid, _) in std::mem::take(&mut cl.pending) {
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
            (ClientState::Connecting, Some(server))
                if !self.sim.is_up(server) || now.saturating_sub(cl.last_heard) > read_timeout =>
            {
                self.disconnected(c);
            }
            (ClientState::Connecting, None) if now >= cl.retry_at => self.try_connect(c),
            _ => {}
        }
    }
}

/// The client port a server listens on in the playground: server `k` is `127.0.0.1:218k`
/// (server 1 is ZooKeeper's default 2181).
pub fn client_address(sid: NodeId) -> String {
    format!("127.0.0.1:{}", 2180 + sid)
}

/// Parses `host:port` back to a server id (`connect 127.0.0.1:2183` → server 3).
pub fn server_of(address: &str) -> Option<NodeId> {
    let (_, port) = address.rsplit_once(':')?;
    let port: u32 = port.parse().ok()?;
    port.checked_sub(2180).filter(|&s| s >= 1)
}

/// `zkCli`'s session over a simulated ensemble: each call runs the world until its reply.
pub struct EnsembleSession {
    pub ensemble: Ensemble,
    client: ClientId,
    servers: Vec<NodeId>,
    events: Vec<WatchedEvent>,
    null_data: BTreeMap<String, Zxid>,
    last_data_was_null: bool,
}

/// How long a call may take (virtual ms) before the console reports ConnectionLoss.
const CALL_BUDGET_MS: Millis = 40_000;

impl EnsembleSession {
    /// An ensemble of `n` servers (seeded), and a session to server 1 first (zkCli's 30 s).
    pub fn new(seed: u64, n: u32) -> EnsembleSession {
        let net = Network::new(crate::sim::LinkConfig::default());
        let mut ensemble = Ensemble::new(seed, n, net);
        let servers: Vec<NodeId> = (1..=n).collect();
        let client = ensemble.open(servers.clone(), 30_000);
        ensemble.wait_connected(client, CALL_BUDGET_MS);
        let mut s = EnsembleSession {
            ensemble,
            client,
            servers,
            events: Vec::new(),
            null_data: BTreeMap::new(),
            last_data_was_null: false,
        };
        s.pull_events();
        s
    }

    /// Moves the watch events the client library delivered into the console's queue.
    fn pull_events(&mut self) {
        for ev in self.ensemble.take_events(self.client) {
            if let ClientEvent::Watch(w) = ev {
                self.events.push(w);
            }
        }
    }

    fn alive(&self) -> bool {
        self.ensemble.state(self.client) == ClientState::Connected
    }
}

impl crate::zk::cli::ZkSession for EnsembleSession {
    fn call(&mut self, op: Op) -> Result<OpResult, ZkError> {
        self.last_data_was_null = false;
        let xid = self.ensemble.submit(self.client, op.clone());
        let result = self.ensemble.wait_reply(self.client, xid, CALL_BUDGET_MS);
        self.pull_events();
        if let (Op::GetData { path, .. }, Ok(OpResult::Data { data, stat })) = (&op, &result) {
            self.last_data_was_null =
                data.is_empty() && stat.version == 0 && self.null_data.get(path) == Some(&stat.czxid);
        }
        result
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

    fn add_auth(&mut self, scheme: &str, auth: Option<&str>) -> Result<(), ZkError> {
        if !self.alive() {
            return Err(ZkError::ConnectionLoss);
        }
        self.ensemble.add_auth(self.client, scheme, auth.unwrap_or(""));
        // The server answers only a failure; give it a round trip to do so.
        self.ensemble.run_for(50);
        self.pull_events();
        match self.ensemble.state(self.client) {
            ClientState::AuthFailed => Err(ZkError::AuthFailed),
            _ => Ok(()),
        }
    }

    fn remove_watches(&mut self, path: &str, kind: WatcherType, local: bool) -> Result<(), ZkError> {
        let rc = if self.alive() {
            let xid = self.ensemble.remove_watches(self.client, path, kind);
            self.ensemble.wait_reply(self.client, xid, CALL_BUDGET_MS).map(|_| ())
        } else {
            Err(ZkError::ConnectionLoss)
        };
        self.pull_events();
        let removed = self.ensemble.clients[self.client].watches.remove(path, kind, local, rc)?;
        for event_type in removed {
            self.events.push(WatchedEvent::node(event_type, path));
        }
        Ok(())
    }

    fn who_am_i(&mut self) -> Result<Vec<(String, String)>, ZkError> {
        if !self.alive() {
            return Err(ZkError::ConnectionLoss);
        }
        let xid = self.ensemble.who_am_i(self.client);
        let until = self.ensemble.now() + CALL_BUDGET_MS;
        while self.ensemble.now() < until {
            let events = self.ensemble.take_events(self.client);
            let mut found = None;
            for ev in events {
                match ev {
                    ClientEvent::WhoAmI { xid: x, ids } if x == xid => found = Some(ids),
                    other => self.ensemble.clients[self.client].events.push(other),
                }
            }
            if let Some(ids) = found {
                return Ok(ids
                    .into_iter()
                    .map(|id| {
                        let user = match id.scheme.as_str() {
                            "digest" => id.id.split(':').next().unwrap_or_default().to_string(),
                            _ => id.id.clone(),
                        };
                        (id.scheme, user)
                    })
                    .collect());
            }
            self.ensemble.step();
        }
        Err(ZkError::ConnectionLoss)
    }

    fn take_events(&mut self) -> Vec<WatchedEvent> {
        self.pull_events();
        std::mem::take(&mut self.events)
    }

    fn session_id(&self) -> SessionId {
        self.ensemble.session(self.client).unwrap_or(0)
    }

    fn server(&self) -> String {
        client_address(self.ensemble.server(self.client).unwrap_or(self.servers[0]))
    }

    /// `connect host:port`: closes the session if alive and opens a new one to that server.
    fn connect(&mut self, server: &str) -> Result<(), String> {
        let sid = server_of(server).filter(|s| self.servers.contains(s)).ok_or_else(|| {
            format!(
                "no such server: {server} (servers are {})",
                self.servers.iter().map(|&s| client_address(s)).collect::<Vec<_>>().join(", ")
            )
        })?;
        self.close();
        self.ensemble.reopen(self.client, vec![sid]);
        self.ensemble.wait_connected(self.client, CALL_BUDGET_MS);
        self.pull_events();
        Ok(())
    }

    fn close(&mut self) {
        if !self.alive() {
            return;
        }
        self.ensemble.close(self.client);
        self.pull_events();
        self.events.push(WatchedEvent::state(KeeperState::Closed));
    }

    fn state(&self) -> &'static str {
        self.ensemble.state(self.client).as_str()
    }
}
