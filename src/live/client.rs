//! The page's ZooKeeper client and its zkCli console, over the `Conductor`.
//!
//! `LiveClient` is the client library (`ClientCnxn`) driven by the conductor's virtual clock:
//! the same connect / heartbeat / failover / expiry rules as `ensemble.rs`, with packets posted
//! to the servers' workers and replies collected from the conductor's client inbox.
//!
//! ```text
//! LiveConsole ─line─▶ Console::run_line_suspendable ─ask─▶ ReplaySession ─▶ LiveClient.outbox
//!      ▲                      │ an answer is not known yet: the run is discarded   │ flush
//!      │ re-run the line      ▼                                                    ▼
//!      └── answer known ◀── Link.resolve ◀── ClientEvent ◀── LiveClient.poll ◀── Conductor
//! ```
//!
//! zkCli's commands call the session synchronously (`ls -R`, `deleteall` and `setAcl -R` call it
//! many times), but the page cannot block on a worker's reply. So the console runs a line over a
//! `ReplaySession` that journals what the console asks. The first question whose answer is not
//! known yet is sent; the session answers the console with a placeholder and marks the run
//! suspended, and the console throws away that run's output and state changes. When the reply
//! arrives the line runs again from the start, getting the journaled answers, until a run
//! needs nothing new: its output is exactly what the synchronous console prints.
//!
//! Servers listen for clients on `127.0.0.1:(2180 + id)`: zk1 is `127.0.0.1:2181`.

use super::conductor::{Conductor, Post};
use crate::ensemble::{ClientEvent, ClientState};
use crate::sim::Millis;
use crate::zab::clients::{ClientConn, ClientReq, ClientResp};
use crate::zab::{Sid, Zxid};
use crate::zk::cli::{Completion, Console, ZkSession};
use crate::zk::watch::{ClientWatches, KeeperState, WatchedEvent, WatcherType};
use crate::zk::{DataTree, Op, OpResult, SessionId, ZkError};
use std::cell::RefCell;
use std::collections::{BTreeMap, VecDeque};
use std::rc::Rc;

/// Server `k` takes client connections on port `CLIENT_PORT_BASE + k`.
pub const CLIENT_PORT_BASE: u32 = 2180;
/// The session timeout zkCli asks for (`zkCli.sh`'s default `-timeout 30000`).
pub const ZKCLI_SESSION_TIMEOUT_MS: u32 = 30_000;
/// Pause before the next connection attempt after one failed (`ClientCnxn` sleeps up to 1 s
/// once it has tried every server; the page keeps it short).
const RECONNECT_DELAY_MS: Millis = 200;
/// Bound on requests waiting for a connection (`ClientCnxn.outgoingQueue`).
const MAX_QUEUED: usize = 1000;
/// A connection whose first packet has not reached a worker yet.
const UNBOUND: u32 = u32::MAX;

/// `127.0.0.1:2181` for zk1.
pub fn server_address(sid: Sid) -> String {
    format!("127.0.0.1:{}", CLIENT_PORT_BASE + sid)
}

/// The server a `host:port` names: port `2180 + k` is zk`k` (any host), and `zkK` is zk`k`.
pub fn parse_address(address: &str) -> Option<Sid> {
    let address = address.trim();
    if let Some(k) = address.strip_prefix("zk").and_then(|k| k.parse::<Sid>().ok()) {
        return Some(k);
    }
    let port: u32 = address.rsplit_once(':')?.1.parse().ok()?;
    port.checked_sub(CLIENT_PORT_BASE).filter(|&k| k > 0)
}

/// The servers a connect string names, then the rest of the ensemble in ring order after the
/// first one: the page's client knows the whole ensemble and fails over to any of it.
pub fn connect_order(connect_string: &str, ensemble: &[Sid]) -> Vec<Sid> {
    let mut order: Vec<Sid> = Vec::new();
    for sid in connect_string.split(',').filter_map(parse_address) {
        if ensemble.contains(&sid) && !order.contains(&sid) {
            order.push(sid);
        }
    }
    let start = order.first().and_then(|f| ensemble.iter().position(|s| s == f)).unwrap_or(0);
    for i in 0..ensemble.len() {
        let sid = ensemble[(start + i) % ensemble.len()];
        if !order.contains(&sid) {
            order.push(sid);
        }
    }
    order
}

/// The op of a request (its reply registers the op's watch).
fn op_of(req: &ClientReq) -> Option<Op> {
    match req {
        ClientReq::Op { op, .. } => Some(op.clone()),
        _ => None,
    }
}

/// A client session to the page's ensemble (`ZooKeeper` + `ClientCnxn`). Requests and replies
/// go through `poll` / `flush`, which the host calls with the conductor on every frame.
pub struct LiveClient {
    servers: Vec<Sid>,
    next_server: usize,
    /// The server of the current connection and its worker incarnation (None between attempts).
    server: Option<(Sid, u32)>,
    conn: ClientConn,
    /// Connection ids are unique per client: `client_id << 32 | attempt`.
    conn_base: ClientConn,
    attempts: u32,
    session: Option<SessionId>,
    requested_timeout_ms: u32,
    timeout_ms: u32,
    state: ClientState,
    /// A `Close` was sent and the reply is awaited.
    closing: bool,
    last_zxid: Zxid,
    xid: u32,
    /// Requests sent on the current connection, awaiting their replies, with the op (to
    /// register the watch it leaves).
    pending: Vec<(u32, Option<Op>)>,
    /// The watch registry (`ZKWatchManager`): filters delivered events, and is re-sent to the
    /// next server after a reconnect (`SetWatches`).
    watches: ClientWatches,
    /// Requests made while connecting: sent once the connection is up, failed if it fails.
    queued: VecDeque<(u32, ClientReq)>,
    auth: Vec<(String, String)>,
    last_heard: Millis,
    last_sent: Millis,
    retry_at: Millis,
    now: Millis,
    events: Vec<ClientEvent>,
    /// Packets for the current connection, posted at the next `flush`.
    outbox: Vec<ClientReq>,
    /// Whether a connection attempt should start at the next `poll`.
    want_connect: bool,
    /// Cut off from every server: nothing it sends arrives, nothing reaches it.
    cut_off: bool,
    /// Happenings for the page's log: (server, text).
    notes: Vec<(Sid, String)>,
}

impl LiveClient {
    /// A session to be opened with `servers`, tried in order; it connects at the first `poll`.
    pub fn new(client_id: u32, servers: Vec<Sid>, timeout_ms: u32) -> LiveClient {
        assert!(!servers.is_empty(), "a client needs a server to connect to");
        LiveClient {
            servers,
            next_server: 0,
            server: None,
            conn: 0,
            conn_base: ClientConn::from(client_id) << 32,
            attempts: 0,
            session: None,
            requested_timeout_ms: timeout_ms,
            timeout_ms,
            state: ClientState::Connecting,
            closing: false,
            last_zxid: Zxid::ZERO,
            xid: 0,
            pending: Vec::new(),
            watches: ClientWatches::new(),
            queued: VecDeque::new(),
            auth: Vec::new(),
            last_heard: 0,
            last_sent: 0,
            retry_at: 0,
            now: 0,
            events: Vec::new(),
            outbox: Vec::new(),
            want_connect: true,
            cut_off: false,
            notes: Vec::new(),
        }
    }

    pub fn state(&self) -> ClientState {
        self.state
    }

    /// `States.isAlive()`: connecting or connected.
    pub fn is_alive(&self) -> bool {
        matches!(self.state, ClientState::Connecting | ClientState::Connected)
    }

    pub fn session(&self) -> Option<SessionId> {
        self.session
    }

    /// The server of the current connection (or attempt).
    pub fn server(&self) -> Option<Sid> {
        self.server.map(|(sid, _)| sid)
    }

    /// The servers this client tries, in order.
    pub fn servers(&self) -> &[Sid] {
        &self.servers
    }

    pub fn timeout_ms(&self) -> u32 {
        self.timeout_ms
    }

    pub fn last_zxid_seen(&self) -> Zxid {
        self.last_zxid
    }

    /// Cuts the client off from every server (`true`) or lets it back (`false`). Cut off
    /// longer than the session timeout, its session expires on the servers.
    pub fn set_cut_off(&mut self, cut: bool) {
        self.cut_off = cut;
    }

    pub fn take_events(&mut self) -> Vec<ClientEvent> {
        std::mem::take(&mut self.events)
    }

    fn next_xid(&mut self) -> u32 {
        self.xid += 1;
        self.xid
    }

    /// `ClientCnxn.queuePacket`: sent at once when connected, held while connecting, failed
    /// at once on a dead session (`conLossPacket`).
    fn request(&mut self, xid: u32, req: ClientReq) {
        match self.state {
            ClientState::Connected if !self.closing => {
                self.pending.push((xid, op_of(&req)));
                self.outbox.push(req);
            }
            ClientState::Connecting if self.queued.len() < MAX_QUEUED => self.queued.push_back((xid, req)),
            state => {
                let err = match state {
                    ClientState::AuthFailed => ZkError::AuthFailed,
                    ClientState::Closed | ClientState::Expired => ZkError::SessionExpired,
                    _ => ZkError::ConnectionLoss,
                };
                self.events.push(ClientEvent::Reply { xid, zxid: Zxid::ZERO, result: Err(err) });
            }
        }
    }

    /// Sends `op`; its reply comes as a `ClientEvent::Reply` with the returned xid.
    pub fn submit(&mut self, op: Op) -> u32 {
        let xid = self.next_xid();
        self.request(xid, ClientReq::Op { xid, op });
        xid
    }

    pub fn remove_watches(&mut self, path: &str, kind: WatcherType) -> u32 {
        let xid = self.next_xid();
        self.request(xid, ClientReq::RemoveWatches { xid, path: path.to_string(), kind });
        xid
    }

    /// The reply comes as `ClientEvent::WhoAmI` (or a failed `Reply`).
    pub fn who_am_i(&mut self) -> u32 {
        let xid = self.next_xid();
        self.request(xid, ClientReq::WhoAmI { xid });
        xid
    }

    /// `ZKWatchManager.removeWatcher` once the server answered `removeWatches` with `rc`: the
    /// "…WatchRemoved" event types to deliver, or `NoWatcher`.
    pub fn remove_local_watches(
        &mut self,
        path: &str,
        kind: WatcherType,
        local: bool,
        rc: Result<(), ZkError>,
    ) -> Result<Vec<crate::zk::watch::WatchEventType>, ZkError> {
        self.watches.remove(path, kind, local, rc)
    }

    /// `addAuthInfo`: sent now if connected, and again after every reconnect.
    pub fn add_auth(&mut self, scheme: &str, auth: &str) {
        self.auth.push((scheme.to_string(), auth.to_string()));
        if self.state == ClientState::Connected {
            self.outbox.push(ClientReq::AddAuth { scheme: scheme.into(), auth: auth.into() });
        }
    }

    /// `ZooKeeper.close()`: a connected session sends closeSession and is closed when the reply
    /// (or the end of the connection) comes; a connecting one closes at once.
    pub fn close(&mut self) {
        match self.state {
            ClientState::Connected if !self.closing => {
                let xid = self.next_xid();
                self.closing = true;
                self.outbox.push(ClientReq::Close { xid });
            }
            ClientState::Connecting => self.closed(),
            _ => {}
        }
    }

    fn closed(&mut self) {
        self.closing = false;
        self.state = ClientState::Closed;
        self.watches.clear();
        self.fail_all(ZkError::ConnectionLoss);
        self.server = None;
        self.events.push(ClientEvent::Watch(WatchedEvent::state(KeeperState::Closed)));
    }

    /// A new session with `servers` (zkCli's `connect`); the old one must be closed first.
    pub fn reopen(&mut self, servers: Vec<Sid>) {
        assert!(!servers.is_empty(), "a client needs a server to connect to");
        debug_assert!(!self.is_alive(), "reopen after the old session is closed");
        self.servers = servers;
        self.next_server = 0;
        self.server = None;
        self.session = None;
        self.state = ClientState::Connecting;
        self.closing = false;
        self.last_zxid = Zxid::ZERO;
        self.timeout_ms = self.requested_timeout_ms;
        self.auth.clear();
        self.watches.clear();
        self.want_connect = true;
    }

    /// Takes what servers said to this client and keeps its connection alive: notices a
    /// killed server at once (its worker is gone, like a TCP reset), times out a silent one,
    /// pings when idle, and moves to the next server after a failure.
    /// Mail for this client's earlier connections is dropped.
    pub fn poll(&mut self, conductor: &mut Conductor) {
        self.now = conductor.now();
        let base = self.conn_base;
        for mail in conductor.take_client_mail(|conn| conn >> 32 == base >> 32) {
            let ours = self.server.is_some_and(|(sid, _)| sid == mail.sid) && mail.conn == self.conn;
            if !ours || self.cut_off {
                continue; // an earlier connection of this client, or lost on the way
            }
            self.last_heard = self.now;
            self.on_resp(mail.resp);
        }
        self.tend(conductor);
    }

    /// Posts what this client has to send; call after `poll` and after the console asked.
    pub fn flush(&mut self, conductor: &mut Conductor) -> Vec<Post> {
        let mut posts = Vec::new();
        self.now = conductor.now();
        if self.want_connect && self.now >= self.retry_at {
            self.want_connect = false;
            self.try_connect();
        }
        for (sid, text) in std::mem::take(&mut self.notes) {
            conductor.log_client(sid, text);
        }
        let outbox = std::mem::take(&mut self.outbox);
        let Some((sid, mut generation)) = self.server else { return posts };
        if self.cut_off {
            return posts;
        }
        for req in outbox {
            self.last_sent = self.now;
            match conductor.client_send(sid, self.conn, req, &mut posts) {
                Some(g) if generation == UNBOUND || g == generation => {
                    generation = g;
                    self.server = Some((sid, g));
                }
                // The worker is gone (or a new one took its place): connection refused / reset.
                _ => {
                    self.disconnected(format!("connection to zk{sid} refused"));
                    break;
                }
            }
        }
        posts
    }

    fn try_connect(&mut self) {
        if self.state != ClientState::Connecting {
            return;
        }
        self.attempts += 1;
        self.conn = self.conn_base | ClientConn::from(self.attempts);
        let sid = self.servers[self.next_server % self.servers.len()];
        self.next_server += 1;
        // The worker incarnation is bound at the first send; a dead server fails it there.
        self.server = Some((sid, UNBOUND));
        self.last_heard = self.now;
        self.outbox.clear();
        self.outbox.push(ClientReq::Connect {
            session: self.session,
            timeout_ms: self.requested_timeout_ms,
            last_zxid_seen: self.last_zxid,
        });
    }

    fn on_resp(&mut self, resp: ClientResp) {
        match resp {
            ClientResp::Connected { session, timeout_ms } => self.connected(session, timeout_ms),
            ClientResp::Expired => {
                let sid = self.server().unwrap_or(0);
                self.notes
                    .push((sid, format!("session 0x{:x} has expired (told by zk{sid})", self.session.unwrap_or(0))));
                self.state = ClientState::Expired;
                self.closing = false;
                self.server = None;
                self.watches.clear();
                self.events.push(ClientEvent::Watch(WatchedEvent::state(KeeperState::Expired)));
                self.fail_all(ZkError::SessionExpired);
            }
            ClientResp::Disconnected { reason } => self.disconnected(reason),
            ClientResp::Reply { xid, zxid, result } => {
                self.last_zxid = self.last_zxid.max(zxid);
                if let Some(i) = self.pending.iter().position(|(x, _)| *x == xid) {
                    if let (_, Some(op)) = self.pending.remove(i) {
                        self.watches.register(&op, &result);
                    }
                }
                self.events.push(ClientEvent::Reply { xid, zxid, result });
            }
            ClientResp::Watch(event) => {
                if self.watches.materialize(&event) {
                    self.events.push(ClientEvent::Watch(event));
                }
            }
            ClientResp::AuthFailed => {
                self.state = ClientState::AuthFailed;
                self.closing = false;
                self.server = None;
                self.events.push(ClientEvent::Watch(WatchedEvent::state(KeeperState::AuthFailed)));
                self.fail_all(ZkError::AuthFailed);
            }
            ClientResp::Closed { .. } => self.closed(),
            ClientResp::Pong => {}
            ClientResp::WhoAmI { xid, ids } => {
                self.pending.retain(|(x, _)| *x != xid);
                self.events.push(ClientEvent::WhoAmI { xid, ids });
            }
        }
    }

    /// `ClientCnxn.onConnected` and `primeConnection`: auth first, then the watches to
    /// re-register (with the last zxid seen, so changes missed meanwhile fire), then what was
    /// queued.
    fn connected(&mut self, session: SessionId, timeout_ms: u32) {
        if self.state != ClientState::Connecting {
            return;
        }
        let sid = self.server().unwrap_or(0);
        let text = match self.session {
            Some(s) if s == session => format!("client session 0x{session:x} moved to zk{sid}"),
            _ => format!("client session 0x{session:x} opened on zk{sid} (timeout {timeout_ms} ms)"),
        };
        self.notes.push((sid, text));
        self.session = Some(session);
        self.timeout_ms = timeout_ms;
        self.state = ClientState::Connected;
        self.events.push(ClientEvent::Watch(WatchedEvent::state(KeeperState::SyncConnected)));
        for (scheme, auth) in self.auth.clone() {
            self.outbox.push(ClientReq::AddAuth { scheme, auth });
        }
        let watches = self.watches.to_set_watches();
        if watches.iter().any(|t| !t.is_empty()) {
            self.outbox.push(ClientReq::SetWatches { relative_zxid: self.last_zxid, watches });
        }
        while let Some((xid, req)) = self.queued.pop_front() {
            self.pending.push((xid, op_of(&req)));
            self.outbox.push(req);
        }
    }

    fn fail_all(&mut self, err: ZkError) {
        let queued = self.queued.drain(..).map(|(xid, _)| xid);
        let pending = std::mem::take(&mut self.pending).into_iter().map(|(xid, _)| xid);
        let xids: Vec<u32> = pending.chain(queued).collect();
        for xid in xids {
            self.events.push(ClientEvent::Reply { xid, zxid: Zxid::ZERO, result: Err(err) });
        }
    }

    /// The connection broke (`ClientCnxn.cleanup`): requests in flight and queued fail with
    /// ConnectionLoss, the watcher hears Disconnected, and the next server is tried.
    fn disconnected(&mut self, reason: String) {
        if let Some((sid, _)) = self.server {
            if self.state == ClientState::Connected {
                self.notes.push((sid, format!("client connection to zk{sid} lost: {reason}")));
            }
        }
        self.fail_all(ZkError::ConnectionLoss);
        self.server = None;
        self.outbox.clear();
        if self.closing {
            self.closed();
            return;
        }
        if self.state == ClientState::Connected {
            self.events.push(ClientEvent::Watch(WatchedEvent::state(KeeperState::Disconnected)));
            self.state = ClientState::Connecting;
        }
        if self.state == ClientState::Connecting {
            self.retry_at = self.now + RECONNECT_DELAY_MS;
            self.want_connect = true;
        }
    }

    /// `ClientCnxn.SendThread.run`'s checks, once per poll.
    fn tend(&mut self, conductor: &Conductor) {
        let Some((sid, generation)) = self.server else { return };
        let silent_ms = self.now.saturating_sub(self.last_heard);
        let read_timeout = Millis::from(self.timeout_ms) * 2 / 3;
        let connect_timeout = Millis::from(self.timeout_ms) / self.servers.len() as Millis;
        let reset = generation != UNBOUND && !conductor.is_up(sid, generation);
        match self.state {
            ClientState::Connected if reset => self.disconnected(format!("connection reset (zk{sid} is down)")),
            ClientState::Connected if silent_ms > read_timeout => {
                self.disconnected(format!("Client session timed out, have not heard from server in {silent_ms}ms"))
            }
            ClientState::Connected if self.now.saturating_sub(self.last_sent) >= read_timeout / 2 => {
                self.outbox.push(ClientReq::Ping)
            }
            ClientState::Connecting if reset || silent_ms > connect_timeout => {
                self.disconnected(format!("connection to zk{sid} failed"))
            }
            _ => {}
        }
    }
}

/// What the console asked its session while running a line, in order: a replay must ask the
/// same questions.
#[derive(Clone, Debug, PartialEq)]
enum Ask {
    Op { op: Op, null_data: bool },
    AddAuth { scheme: String, auth: Option<String> },
    RemoveWatches { path: String, kind: WatcherType, local: bool },
    WhoAmI,
    Connect { server: String },
    Close,
}

#[derive(Clone, Debug)]
enum Answer {
    Op { result: Result<OpResult, ZkError>, data_was_null: bool },
    Unit(Result<(), ZkError>),
    WhoAmI(Result<Vec<(String, String)>, ZkError>),
    Done,
}

struct Entry {
    ask: Ask,
    answer: Option<Answer>,
    /// The session's state (as the prompt shows it) once the answer came: what `state()`
    /// says after this ask in every replay, so replays take the same branches.
    state_after: &'static str,
}

/// What the line's last ask waits for.
#[derive(Clone, Debug, PartialEq)]
enum Waiting {
    Reply(u32),
    Close,
    /// The old session closing, then a new session with these servers.
    Connect(Vec<Sid>),
}

/// One line being run (and re-run).
struct LineRun {
    journal: Vec<Entry>,
    cursor: usize,
    suspended: bool,
    start_state: &'static str,
    waiting: Option<Waiting>,
    /// Watch events delivered while the line runs: printed after its output, as zkCli's
    /// event thread does in the recordings.
    events: Vec<WatchedEvent>,
    events_taken: usize,
}

/// The session's side shared by the `ReplaySession` (inside the `Console`) and the
/// `LiveConsole` (which feeds it replies): the client and the journal of the line being run.
struct Link {
    client: LiveClient,
    ensemble: Vec<Sid>,
    /// Nodes this client created with Java's `null` data, with their czxid (see
    /// `ZkSession::create_null_data`).
    null_data: BTreeMap<String, Zxid>,
    run: Option<LineRun>,
    /// Watch events delivered between lines.
    between: Vec<WatchedEvent>,
    /// Set while completing a path: reads are answered from this tree (the connected
    /// server's), as the completer's synchronous `getChildren` would be.
    completing: Option<DataTree>,
}

impl Link {
    fn state_str(&self) -> &'static str {
        match &self.run {
            Some(run) if run.cursor > 0 => run.journal[run.cursor - 1].state_after,
            Some(run) => run.start_state,
            None => self.client.state().as_str(),
        }
    }

    fn begin_line(&mut self) {
        assert!(self.run.is_none(), "one line at a time");
        let start_state = self.client.state().as_str();
        self.run = Some(LineRun {
            journal: Vec::new(),
            cursor: 0,
            suspended: false,
            start_state,
            waiting: None,
            events: Vec::new(),
            events_taken: 0,
        });
    }

    /// Before each run of the line: answers are given from the journal's start again.
    fn rewind(&mut self) {
        let run = self.run.as_mut().expect("a line is running");
        run.cursor = 0;
        run.suspended = false;
        run.events_taken = 0;
    }

    fn end_line(&mut self) {
        let run = self.run.take().expect("a line is running");
        debug_assert!(run.waiting.is_none(), "a finished line waits for nothing");
        debug_assert_eq!(run.events_taken, run.events.len(), "the final run printed every event");
    }

    fn waiting(&self) -> bool {
        self.run.as_ref().is_some_and(|r| r.waiting.is_some())
    }

    /// The console's question: the journaled answer on a replay, else the question goes out
    /// and the run is suspended (None), unless the answer is known at once.
    fn ask(&mut self, ask: Ask) -> Option<Answer> {
        let run = self.run.as_mut().expect("the console asks only while a line runs");
        if run.suspended {
            return None;
        }
        if run.cursor < run.journal.len() {
            let entry = &run.journal[run.cursor];
            assert_eq!(entry.ask, ask, "a replayed line asks what its first run asked");
            let answer = entry.answer.clone().expect("a line runs again only once its last ask is answered");
            run.cursor += 1;
            return Some(answer);
        }
        let issued = self.issue(&ask);
        let state_after = self.client.state().as_str();
        let run = self.run.as_mut().expect("checked above");
        match issued {
            Ok(answer) => {
                run.journal.push(Entry { ask, answer: Some(answer.clone()), state_after });
                run.cursor += 1;
                Some(answer)
            }
            Err(waiting) => {
                run.journal.push(Entry { ask, answer: None, state_after });
                run.waiting = Some(waiting);
                run.suspended = true;
                None
            }
        }
    }

    /// Sends a new question: its answer now, or what it waits for.
    fn issue(&mut self, ask: &Ask) -> Result<Answer, Waiting> {
        match ask {
            Ask::Op { op, .. } => Err(Waiting::Reply(self.client.submit(op.clone()))),
            Ask::RemoveWatches { path, kind, .. } => Err(Waiting::Reply(self.client.remove_watches(path, *kind))),
            Ask::WhoAmI => Err(Waiting::Reply(self.client.who_am_i())),
            // Fire-and-forget in zkCli: a bad credential shows up later as AUTH_FAILED.
            Ask::AddAuth { scheme, auth } => {
                self.client.add_auth(scheme, auth.as_deref().unwrap_or(""));
                Ok(Answer::Unit(Ok(())))
            }
            Ask::Close if self.client.is_alive() => {
                self.client.close();
                Err(Waiting::Close)
            }
            Ask::Close => Ok(Answer::Done),
            // `connectToZK`: close the old session if it is alive, then open a new one; the
            // new one connects in the background (`SyncConnected` arrives as an event).
            Ask::Connect { server } => {
                let servers = connect_order(server, &self.ensemble);
                if self.client.is_alive() {
                    self.client.close();
                    return Err(Waiting::Connect(servers));
                }
                self.reopen(servers);
                Ok(Answer::Done)
            }
        }
    }

    fn reopen(&mut self, servers: Vec<Sid>) {
        self.null_data.clear();
        self.client.reopen(servers);
    }

    /// Takes the client's events: answers the line's pending ask, passes watch events on.
    /// Returns whether the line can run again.
    fn resolve(&mut self) -> bool {
        for event in self.client.take_events() {
            match event {
                ClientEvent::Reply { xid, result, .. } if self.waits_for(xid) => self.answer_reply(result),
                ClientEvent::WhoAmI { xid, ids } if self.waits_for(xid) => {
                    let infos = ids
                        .iter()
                        .map(|id| {
                            let user = match id.scheme.as_str() {
                                "digest" => id.id.split(':').next().unwrap_or_default().to_string(),
                                _ => id.id.clone(),
                            };
                            (id.scheme.clone(), user)
                        })
                        .collect();
                    self.answer(Answer::WhoAmI(Ok(infos)));
                }
                ClientEvent::Reply { .. } | ClientEvent::WhoAmI { .. } => {} // for an abandoned line
                ClientEvent::Watch(event) => self.deliver(event),
            }
        }
        let waiting = self.run.as_ref().and_then(|r| r.waiting.clone());
        match waiting {
            Some(Waiting::Close) if !self.client.is_alive() => self.answer(Answer::Done),
            Some(Waiting::Connect(servers)) if !self.client.is_alive() => {
                self.reopen(servers);
                self.answer(Answer::Done);
            }
            _ => {}
        }
        self.run.as_ref().is_some_and(|r| r.waiting.is_none())
    }

    fn waits_for(&self, xid: u32) -> bool {
        self.run.as_ref().is_some_and(|r| r.waiting == Some(Waiting::Reply(xid)))
    }

    /// A reply to the pending ask: what the client library does with it (watch registration,
    /// `removeWatches`' local bookkeeping) and the answer the console gets.
    fn answer_reply(&mut self, result: Result<OpResult, ZkError>) {
        let ask = self.run.as_ref().and_then(|r| r.journal.last()).map(|e| e.ask.clone()).expect("an ask waits");
        let answer = match ask {
            Ask::Op { op, null_data } => {
                if let (true, Ok(OpResult::Created { path, stat })) = (null_data, &result) {
                    self.null_data.insert(path.clone(), stat.czxid);
                }
                let data_was_null = match (&op, &result) {
                    (Op::GetData { path, .. }, Ok(OpResult::Data { data, stat })) => {
                        data.is_empty() && stat.version == 0 && self.null_data.get(path) == Some(&stat.czxid)
                    }
                    _ => false,
                };
                Answer::Op { result, data_was_null }
            }
            Ask::RemoveWatches { path, kind, local } => {
                let rc = result.map(|_| ());
                match self.client.remove_local_watches(&path, kind, local, rc) {
                    Ok(removed) => {
                        for event_type in removed {
                            self.deliver(WatchedEvent::node(event_type, &path));
                        }
                        Answer::Unit(Ok(()))
                    }
                    Err(e) => Answer::Unit(Err(e)),
                }
            }
            Ask::WhoAmI => Answer::WhoAmI(result.map(|_| Vec::new())),
            other => unreachable!("{other:?} does not wait for a reply"),
        };
        self.answer(answer);
    }

    fn answer(&mut self, answer: Answer) {
        let state_after = self.client.state().as_str();
        let run = self.run.as_mut().expect("an ask waits");
        let entry = run.journal.last_mut().expect("an ask waits");
        assert!(entry.answer.is_none(), "an ask is answered once");
        entry.answer = Some(answer);
        entry.state_after = state_after;
        run.waiting = None;
    }

    /// An event for the default watcher: printed after the running line, or between lines.
    fn deliver(&mut self, event: WatchedEvent) {
        match self.run.as_mut() {
            Some(run) => run.events.push(event),
            None => self.between.push(event),
        }
    }

    fn take_events(&mut self) -> Vec<WatchedEvent> {
        match self.run.as_mut() {
            Some(run) if run.suspended => Vec::new(),
            Some(run) => {
                let events = run.events[run.events_taken..].to_vec();
                run.events_taken = run.events.len();
                events
            }
            None => std::mem::take(&mut self.between),
        }
    }
}

/// The `ZkSession` the console runs over: answers from the line's journal, or a placeholder
/// while the real answer is on its way (see the module doc).
struct ReplaySession {
    link: Rc<RefCell<Link>>,
    last_data_was_null: bool,
}

impl ReplaySession {
    fn op(&mut self, op: Op, null_data: bool) -> Result<OpResult, ZkError> {
        self.last_data_was_null = false;
        let mut link = self.link.borrow_mut();
        if let Some(tree) = &link.completing {
            return tree.read(&op, &[]);
        }
        match link.ask(Ask::Op { op, null_data }) {
            Some(Answer::Op { result, data_was_null }) => {
                self.last_data_was_null = data_was_null;
                result
            }
            _ => Err(ZkError::ConnectionLoss),
        }
    }
}

impl ZkSession for ReplaySession {
    fn call(&mut self, op: Op) -> Result<OpResult, ZkError> {
        self.op(op, false)
    }

    fn create_null_data(&mut self, op: Op) -> Result<OpResult, ZkError> {
        self.op(op, true)
    }

    fn last_data_was_null(&self) -> bool {
        self.last_data_was_null
    }

    fn add_auth(&mut self, scheme: &str, auth: Option<&str>) -> Result<(), ZkError> {
        let ask = Ask::AddAuth { scheme: scheme.to_string(), auth: auth.map(str::to_string) };
        match self.link.borrow_mut().ask(ask) {
            Some(Answer::Unit(result)) => result,
            _ => Ok(()),
        }
    }

    fn remove_watches(&mut self, path: &str, kind: WatcherType, local: bool) -> Result<(), ZkError> {
        match self.link.borrow_mut().ask(Ask::RemoveWatches { path: path.to_string(), kind, local }) {
            Some(Answer::Unit(result)) => result,
            _ => Err(ZkError::ConnectionLoss),
        }
    }

    fn who_am_i(&mut self) -> Result<Vec<(String, String)>, ZkError> {
        match self.link.borrow_mut().ask(Ask::WhoAmI) {
            Some(Answer::WhoAmI(result)) => result,
            _ => Err(ZkError::ConnectionLoss),
        }
    }

    fn take_events(&mut self) -> Vec<WatchedEvent> {
        self.link.borrow_mut().take_events()
    }

    fn session_id(&self) -> SessionId {
        self.link.borrow().client.session().unwrap_or(0)
    }

    /// The address of the server the session is on (or trying), e.g. `127.0.0.1:2182`.
    fn server(&self) -> String {
        let link = self.link.borrow();
        let client = &link.client;
        server_address(client.server().unwrap_or(client.servers()[0]))
    }

    /// Never fails: an address that names no server leaves the client trying the others.
    fn connect(&mut self, server: &str) -> Result<(), String> {
        let _ = self.link.borrow_mut().ask(Ask::Connect { server: server.to_string() });
        Ok(())
    }

    fn close(&mut self) {
        let _ = self.link.borrow_mut().ask(Ask::Close);
    }

    fn state(&self) -> &'static str {
        self.link.borrow().state_str()
    }

    fn suspended(&self) -> bool {
        self.link.borrow().run.as_ref().is_some_and(|r| r.suspended)
    }
}

/// A piece of the console's transcript.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ConsoleOutput {
    /// A line as typed, after the prompt it was typed at.
    Echo { prompt: String, line: String },
    /// What zkCli printed.
    Text(String),
}

fn common_prefix(words: &[String]) -> String {
    let Some(first) = words.first() else { return String::new() };
    let mut end = first.len();
    for w in &words[1..] {
        end = end.min(first.bytes().zip(w.bytes()).take_while(|(a, b)| a == b).count());
    }
    while !first.is_char_boundary(end) {
        end -= 1;
    }
    first[..end].to_string()
}

/// Applies a completion to `line` with the cursor at `cursor` chars: one candidate replaces
/// the word, several complete their common prefix (JLine's `CandidateListCompletionHandler`).
/// Returns the new line, the new cursor (chars) and the candidates to list, if several.
pub fn apply_completion(line: &str, cursor: usize, completion: &Completion) -> (String, usize, Vec<String>) {
    let buffer: String = line.chars().take(cursor).collect();
    let rest = &line[buffer.len()..];
    let start = completion.start.min(buffer.len());
    let insert = match completion.candidates.as_slice() {
        [] => return (line.to_string(), cursor, Vec::new()),
        [one] => one.clone(),
        many => common_prefix(many),
    };
    if insert.len() < buffer.len() - start {
        return (line.to_string(), cursor, completion.candidates.clone()); // nothing to add
    }
    let head = format!("{}{insert}", &buffer[..start]);
    let listed = if completion.candidates.len() > 1 { completion.candidates.clone() } else { Vec::new() };
    (format!("{head}{rest}"), head.chars().count(), listed)
}

/// Bound on lines typed ahead of the one running.
const MAX_TYPED_AHEAD: usize = 100;
/// Bound on the transcript pieces kept for the page.
pub const TRANSCRIPT_CAPACITY: usize = 600;

/// What the page shows of the console.
#[derive(Clone, Debug, PartialEq)]
pub struct ConsoleSnapshot {
    /// Bumped whenever the transcript grows: a cheap "changed?" for the page.
    pub version: u64,
    pub transcript: Vec<ConsoleOutput>,
    pub prompt: String,
    pub busy: bool,
    pub exited: bool,
    /// `ZooKeeper.States` as zkCli's prompt shows it.
    pub state: &'static str,
    pub session: Option<SessionId>,
    pub server: Option<Sid>,
}
/// Bound on resolve/run rounds in one tick (each round needs a new answer to go on).
const MAX_ROUNDS_PER_TICK: usize = 64;

/// zkCli on the page: a `Console` over a `LiveClient`, fed lines as they are typed and
/// replies as they arrive. Lines typed while one runs wait their turn, as in a terminal.
pub struct LiveConsole {
    console: Console,
    link: Rc<RefCell<Link>>,
    ensemble: Vec<Sid>,
    queue: VecDeque<String>,
    running: Option<String>,
    output: Vec<ConsoleOutput>,
    transcript: VecDeque<ConsoleOutput>,
    version: u64,
    sessions_started: u32,
}

impl LiveConsole {
    /// zkCli started with the whole ensemble as its connect string, first server first.
    pub fn new(ensemble: Vec<Sid>) -> LiveConsole {
        let (console, link) = Self::start(&ensemble, 1);
        let mut c = LiveConsole {
            console,
            link,
            ensemble,
            queue: VecDeque::new(),
            running: None,
            output: Vec::new(),
            transcript: VecDeque::new(),
            version: 0,
            sessions_started: 1,
        };
        c.banner();
        c
    }

    fn start(ensemble: &[Sid], client_id: u32) -> (Console, Rc<RefCell<Link>>) {
        let client = LiveClient::new(client_id, ensemble.to_vec(), ZKCLI_SESSION_TIMEOUT_MS);
        let link = Rc::new(RefCell::new(Link {
            client,
            ensemble: ensemble.to_vec(),
            null_data: BTreeMap::new(),
            run: None,
            between: Vec::new(),
            completing: None,
        }));
        let session = ReplaySession { link: link.clone(), last_data_was_null: false };
        (Console::new(Box::new(session)), link)
    }

    /// What `zkCli.sh -server <all servers>` prints before its first prompt.
    fn banner(&mut self) {
        let servers: Vec<String> = self.ensemble.iter().map(|&s| server_address(s)).collect();
        let text = format!("Connecting to {}\nWelcome to ZooKeeper!\nJLine support is enabled\n", servers.join(","));
        self.emit(ConsoleOutput::Text(text));
    }

    /// A typed line; it runs when the lines before it are done. After `quit` (or a crash of
    /// zkCli) the next line starts a new zkCli with a new session.
    pub fn submit(&mut self, line: &str) {
        if self.queue.len() < MAX_TYPED_AHEAD {
            self.queue.push_back(line.to_string());
        }
    }

    /// `ZooKeeperMain.getPrompt()`.
    pub fn prompt(&self) -> String {
        self.console.prompt()
    }

    /// A line is running or waiting to.
    pub fn is_busy(&self) -> bool {
        self.running.is_some() || !self.queue.is_empty()
    }

    /// zkCli ended (`quit`, or an exception it does not catch).
    pub fn has_exited(&self) -> bool {
        self.console.has_exited()
    }

    pub fn client_state(&self) -> ClientState {
        self.link.borrow().client.state()
    }

    pub fn session(&self) -> Option<SessionId> {
        self.link.borrow().client.session()
    }

    /// The server the session is on (or trying).
    pub fn server(&self) -> Option<Sid> {
        self.link.borrow().client.server()
    }

    /// Cuts the console's client off from every server, or lets it back (see `LiveClient`).
    pub fn set_cut_off(&mut self, cut: bool) {
        self.link.borrow_mut().client.set_cut_off(cut);
    }

    /// The transcript since the last call.
    pub fn take_output(&mut self) -> Vec<ConsoleOutput> {
        std::mem::take(&mut self.output)
    }

    fn emit(&mut self, piece: ConsoleOutput) {
        if self.transcript.len() == TRANSCRIPT_CAPACITY {
            self.transcript.pop_front();
        }
        self.transcript.push_back(piece.clone());
        self.output.push(piece);
        self.version += 1;
    }

    /// Bumped whenever the transcript grows.
    pub fn version(&self) -> u64 {
        self.version
    }

    /// The last `TRANSCRIPT_CAPACITY` pieces of the transcript and the session's status.
    pub fn snapshot(&self) -> ConsoleSnapshot {
        let prompt = self.console.prompt();
        let link = self.link.borrow();
        ConsoleSnapshot {
            version: self.version,
            transcript: self.transcript.iter().cloned().collect(),
            prompt,
            busy: self.is_busy(),
            exited: self.console.has_exited(),
            state: link.client.state().as_str(),
            session: link.client.session(),
            server: link.client.server(),
        }
    }

    /// Tab: JLine's completion of commands and paths. Paths are read from the tree of the
    /// server the session is on, as the completer's `getChildren` would read them.
    pub fn complete(&mut self, line: &str, cursor: usize, conductor: &Conductor) -> Completion {
        let tree = self.server().and_then(|sid| conductor.view(sid)).map(|v| v.tree.clone());
        self.link.borrow_mut().completing = Some(tree.unwrap_or_default());
        let completion = self.console.complete_at(line, cursor);
        self.link.borrow_mut().completing = None;
        completion
    }

    /// One frame: takes the servers' replies, runs lines as far as their answers go, prints
    /// events that arrived between lines, and returns the client's packets to post.
    pub fn tick(&mut self, conductor: &mut Conductor) -> Vec<Post> {
        self.link.borrow_mut().client.poll(conductor);
        // Late mail for the sessions of zkCli runs that ended (`quit`) has no reader.
        let current = ClientConn::from(self.sessions_started);
        let _ = conductor.take_client_mail(|conn| conn >> 32 < current);
        for _ in 0..MAX_ROUNDS_PER_TICK {
            let resolved = self.link.borrow_mut().resolve();
            if !self.step_lines() && !resolved {
                break;
            }
        }
        if self.running.is_none() {
            let text = self.console.pending_output();
            if !text.is_empty() {
                self.emit(ConsoleOutput::Text(text));
            }
        }
        self.link.borrow_mut().client.flush(conductor)
    }

    /// Starts queued lines and re-runs the running one while answers allow. Returns whether
    /// any line finished.
    fn step_lines(&mut self) -> bool {
        let mut finished = false;
        loop {
            let line = match &self.running {
                Some(_) if self.link.borrow().waiting() => return finished,
                Some(line) => line.clone(),
                None => {
                    let Some(line) = self.queue.pop_front() else { return finished };
                    self.begin(&line);
                    line
                }
            };
            self.link.borrow_mut().rewind();
            let Some(text) = self.console.run_line_suspendable(&line) else { return finished };
            if !text.is_empty() {
                self.emit(ConsoleOutput::Text(text));
            }
            self.link.borrow_mut().end_line();
            self.running = None;
            finished = true;
        }
    }

    fn begin(&mut self, line: &str) {
        if self.console.has_exited() {
            self.sessions_started += 1;
            let (console, link) = Self::start(&self.ensemble, self.sessions_started);
            self.console = console;
            self.link = link;
            self.banner();
        }
        let before = self.console.pending_output();
        if !before.is_empty() {
            self.emit(ConsoleOutput::Text(before));
        }
        self.emit(ConsoleOutput::Echo { prompt: self.console.prompt(), line: line.to_string() });
        self.link.borrow_mut().begin_line();
        self.running = Some(line.to_string());
    }
}
