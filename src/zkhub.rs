//! The simulator's host side of `zk::port`: nodes that are ZooKeeper clients (Spark's driver
//! and executors running kazoo, standalone masters) get one `ensemble.rs` client session per
//! handle they open, with that library's heartbeats, failover and expiry.
//!
//! ```text
//!  node ─ZkCall{Open}──▶ ZkHub ─▶ Ensemble::open(servers of hosts) ─ Connected ─▶ Opened
//!  node ─ZkCall{Op}────▶ ZkHub ─▶ Ensemble::submit ─ ClientEvent::Reply ────────▶ Op(result)
//!  node ─AwaitWatch────▶ the session's next watch event (or the timeout)  ──────▶ Watch / Timeout
//!  node ─Sleep{ms}─────▶ a timer ───────────────────────────────────────────────▶ Timeout
//!  node dies ─▶ abandon(node): its sessions go silent and expire on the servers
//! ```
//!
//! Every answered op leaves an `OpSample` (kind, request and reply times), the raw material
//! of the latency and throughput figures.

use crate::ensemble::{ClientEvent, ClientId, ClientState, Ensemble};
use crate::sim::{Millis, NodeId};
use crate::zk::{Op, SessionId};
use crate::zk::port::{servers_of, Handle, ZkAnswer, ZkCall, ZkReply, ZkRequest};
use crate::zk::watch::WatchEventType;
use std::collections::{BTreeMap, VecDeque};

/// kazoo's `start()` gives up after 15 s.
pub const START_TIMEOUT_MS: Millis = 15_000;

/// One answered request: for latency percentiles and throughput.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OpSample {
    pub node: NodeId,
    pub kind: &'static str,
    pub start: Millis,
    pub end: Millis,
    pub ok: bool,
}

struct Session {
    client: ClientId,
    /// The Open call awaiting `Connected`, and when it was made.
    opening: Option<(u64, Millis)>,
    /// Watch events not yet taken by an `AwaitWatch`.
    watch_events: VecDeque<crate::zk::watch::WatchedEvent>,
    /// An `AwaitWatch` call, when it was made and its deadline.
    awaiting: Option<(u64, Millis, Option<Millis>)>,
    /// The node's Close call awaiting the close.
    closing: Option<u64>,
    /// Op calls awaiting their replies: xid → (call id, kind, sent at).
    replies: BTreeMap<u32, (u64, &'static str, Millis)>,
    /// Ops made while the client was reconnecting: sent once it is connected again, as
    /// kazoo's connection thread does with its queue (call id, op, made at).
    queued: Vec<(u64, Op, Millis)>,
}

/// A client library the hub drives: the simulator's (`Ensemble`) or the page's
/// (`live::zkhub::LiveClients`).
pub trait ZkClients {
    fn now(&self) -> Millis;
    /// The ensemble's servers.
    fn servers(&self) -> Vec<NodeId>;
    /// Opens a session with `servers`, tried in order.
    fn open(&mut self, servers: Vec<NodeId>, timeout_ms: u32) -> ClientId;
    fn submit(&mut self, c: ClientId, op: Op) -> u32;
    /// Sends closeSession; the client is `Closed` when it is done.
    fn close(&mut self, c: ClientId);
    /// Cuts the client off from every server (its process is gone, or a partition) or lets it
    /// back: while cut off nothing it sends leaves and nothing reaches it.
    fn set_cut_off(&mut self, c: ClientId, cut: bool);
    fn state(&self, c: ClientId) -> ClientState;
    fn session(&self, c: ClientId) -> Option<SessionId>;
    fn take_events(&mut self, c: ClientId) -> Vec<ClientEvent>;
}

impl ZkClients for Ensemble {
    fn now(&self) -> Millis {
        Ensemble::now(self)
    }
    fn servers(&self) -> Vec<NodeId> {
        self.sim.ids()
    }
    fn open(&mut self, servers: Vec<NodeId>, timeout_ms: u32) -> ClientId {
        Ensemble::open(self, servers, timeout_ms)
    }
    fn submit(&mut self, c: ClientId, op: Op) -> u32 {
        Ensemble::submit(self, c, op)
    }
    fn close(&mut self, c: ClientId) {
        self.close_async(c)
    }
    fn set_cut_off(&mut self, c: ClientId, cut: bool) {
        self.set_partitioned(c, cut)
    }
    fn state(&self, c: ClientId) -> ClientState {
        Ensemble::state(self, c)
    }
    fn session(&self, c: ClientId) -> Option<SessionId> {
        Ensemble::session(self, c)
    }
    fn take_events(&mut self, c: ClientId) -> Vec<ClientEvent> {
        Ensemble::take_events(self, c)
    }
}

#[derive(Default)]
pub struct ZkHub {
    sessions: BTreeMap<(NodeId, Handle), Session>,
    /// Sleeps: (wake at, node, handle, call id).
    sleeps: Vec<(Millis, NodeId, Handle, u64)>,
    pub samples: Vec<OpSample>,
    /// Fault injection: the n-th successful reply of an op kind (`setData`, 1-based) is lost
    /// on its way back; the client sees ConnectionLoss although the server applied the op.
    pub drop_replies: Vec<(String, u32)>,
    replies_seen: BTreeMap<&'static str, u32>,
    /// Nodes whose sessions are cut off from the ensemble (a partition between them).
    isolated: std::collections::BTreeSet<NodeId>,
    /// Answers produced outside `poll` (a call refused at once), delivered by the next `poll`.
    ready: Vec<(NodeId, ZkAnswer)>,
}

impl ZkHub {
    pub fn new() -> ZkHub {
        ZkHub::default()
    }

    pub fn call(&mut self, ens: &mut impl ZkClients, node: NodeId, call: ZkCall) {
        let now = ens.now();
        let key = (node, call.handle);
        let answer = |reply| (node, ZkAnswer { id: call.id, handle: call.handle, reply });
        match call.req {
            ZkRequest::Open { hosts, timeout_ms } => {
                let ensemble: Vec<NodeId> = ens.servers();
                let client = ens.open(servers_of(&hosts, &ensemble), timeout_ms.max(1));
                if self.isolated.contains(&node) {
                    ens.set_cut_off(client, true);
                }
                if let Some(old) = self.sessions.remove(&key) {
                    ens.set_cut_off(old.client, true);
                }
                self.sessions.insert(
                    key,
                    Session {
                        client,
                        opening: Some((call.id, now)),
                        watch_events: VecDeque::new(),
                        awaiting: None,
                        closing: None,
                        replies: BTreeMap::new(),
                        queued: vec![],
                    },
                );
            }
            ZkRequest::Op(op) => {
                let Some(s) = self.sessions.get_mut(&key) else {
                    self.ready.push(answer(ZkReply::Op(Err(crate::zk::ZkError::SessionExpired))));
                    return;
                };
                if ens.state(s.client) == ClientState::Connecting {
                    s.queued.push((call.id, op, now));
                    return;
                }
                let kind = op.name();
                let xid = ens.submit(s.client, op);
                s.replies.insert(xid, (call.id, kind, now));
            }
            ZkRequest::Close => match self.sessions.get_mut(&key) {
                Some(s) if ens.state(s.client) == ClientState::Connected => {
                    ens.close(s.client);
                    s.closing = Some(call.id);
                }
                _ => {
                    self.sessions.remove(&key);
                    self.ready.push(answer(ZkReply::Closed));
                }
            },
            ZkRequest::AwaitWatch { timeout_ms } => match self.sessions.get_mut(&key) {
                Some(s) => s.awaiting = Some((call.id, now, timeout_ms.map(|t| now + t))),
                None => self.ready.push(answer(ZkReply::Timeout)),
            },
            ZkRequest::Sleep { ms } => self.sleeps.push((now + ms, node, call.handle, call.id)),
        }
    }

    /// Partitions `node`'s sessions from the ensemble (`cut`) or heals them. Cut off longer
    /// than their timeout, they expire on the servers and their ephemerals go; the client
    /// learns it when it gets through again.
    pub fn isolate(&mut self, ens: &mut impl ZkClients, node: NodeId, cut: bool) {
        if cut {
            self.isolated.insert(node);
        } else {
            self.isolated.remove(&node);
        }
        for (_, s) in self.sessions.range((node, 0)..=(node, Handle::MAX)) {
            ens.set_cut_off(s.client, cut);
        }
    }

    /// Loses the next successful reply of `kind` (the page's "lose the next reply" button).
    pub fn drop_next_reply(&mut self, kind: &str) {
        let next = self.replies_seen.get(kind).copied().unwrap_or(0) + 1;
        self.drop_replies.push((kind.to_string(), next));
    }

    /// The node's process died: its sessions stop heartbeating (they expire on the servers
    /// after their timeout), and nothing is answered to it any more.
    pub fn abandon(&mut self, ens: &mut impl ZkClients, node: NodeId) {
        let keys: Vec<(NodeId, Handle)> = self.sessions.range((node, 0)..=(node, Handle::MAX)).map(|(k, _)| *k).collect();
        for k in keys {
            if let Some(s) = self.sessions.remove(&k) {
                ens.set_cut_off(s.client, true);
            }
        }
        self.sleeps.retain(|s| s.1 != node);
        self.ready.retain(|(n, _)| *n != node);
    }

    /// Answers for whatever completed up to the ensemble's current time.
    pub fn poll(&mut self, ens: &mut impl ZkClients) -> Vec<(NodeId, ZkAnswer)> {
        let now = ens.now();
        let mut out = std::mem::take(&mut self.ready);
        let mut closed = vec![];
        for (&(node, handle), s) in self.sessions.iter_mut() {
            let answer = |id, reply| (node, ZkAnswer { id, handle, reply });
            let state = ens.state(s.client);
            if let Some((id, since)) = s.opening {
                match state {
                    ClientState::Connected => {
                        s.opening = None;
                        let session = ens.session(s.client).unwrap_or(0);
                        out.push(answer(id, ZkReply::Opened { session, timeout_ms: 0 }));
                        self.samples.push(OpSample { node, kind: "connect", start: since, end: now, ok: true });
                    }
                    ClientState::Connecting if now < since + START_TIMEOUT_MS => {}
                    _ => {
                        s.opening = None;
                        out.push(answer(id, ZkReply::OpenTimedOut));
                        self.samples.push(OpSample { node, kind: "connect", start: since, end: now, ok: false });
                    }
                }
            }
            if state != ClientState::Connecting && !s.queued.is_empty() {
                // Connected again (or the session is gone: then each fails as the client says).
                for (id, op, made) in std::mem::take(&mut s.queued) {
                    let kind = op.name();
                    let xid = ens.submit(s.client, op);
                    s.replies.insert(xid, (id, kind, made));
                }
            }
            for ev in ens.take_events(s.client) {
                match ev {
                    ClientEvent::Reply { xid, mut result, .. } => {
                        if let Some((id, kind, start)) = s.replies.remove(&xid) {
                            if result.is_ok() {
                                let n = self.replies_seen.entry(kind).or_insert(0);
                                *n += 1;
                                if self.drop_replies.iter().any(|(k, m)| k == kind && m == n) {
                                    result = Err(crate::zk::ZkError::ConnectionLoss);
                                }
                            }
                            self.samples.push(OpSample { node, kind, start, end: now, ok: result.is_ok() });
                            out.push(answer(id, ZkReply::Op(result)));
                        }
                    }
                    ClientEvent::Watch(w) if w.event_type != WatchEventType::None => s.watch_events.push_back(w),
                    _ => {}
                }
            }
            if let Some(id) = s.closing {
                if state != ClientState::Connected {
                    out.push(answer(id, ZkReply::Closed));
                    closed.push((node, handle));
                    continue;
                }
            }
            if let Some((id, since, deadline)) = s.awaiting {
                if let Some(event) = s.watch_events.pop_front() {
                    s.awaiting = None;
                    out.push(answer(id, ZkReply::Watch { event, waited_ms: now - since }));
                } else if deadline.is_some_and(|d| now >= d) {
                    s.awaiting = None;
                    out.push(answer(id, ZkReply::Timeout));
                }
            }
        }
        for k in closed {
            self.sessions.remove(&k);
        }
        let (due, later): (Vec<_>, Vec<_>) = self.sleeps.drain(..).partition(|s| s.0 <= now);
        self.sleeps = later;
        for (_, node, handle, id) in due {
            out.push((node, ZkAnswer { id, handle, reply: ZkReply::Timeout }));
        }
        out
    }
}
