//! The page's host side of `zk::port`: the kazoo sessions of the Spark workers, as
//! `LiveClient`s on the ZooKeeper conductor's clock and network.
//!
//! ```text
//!  SparkConductor ── ClusterEvent::Zk(call) ──▶ ZkBridge.inbox ─┐
//!                                                                ▼  (each ZooKeeper frame)
//!   Conductor ◀── posts ── LiveClient per session ◀── ZkHub (zkhub.rs, shared with the simulator)
//!  SparkConductor ◀── ClusterCommand::Zk(answer) ── ZkBridge.answers ◀┘
//! ```
//!
//! The Spark side pushes calls and takes answers; the ZooKeeper side ticks the bridge with its
//! conductor. A Spark worker that dies (or a driver program that ends) abandons its sessions:
//! they go silent and expire on the servers after their timeout, as real ones do.

use super::client::LiveClient;
use super::conductor::{Conductor, Post};
use crate::ensemble::{ClientEvent, ClientId, ClientState};
use crate::sim::{Millis, NodeId};
use crate::zk::port::{ZkAnswer, ZkCall};
use crate::zk::{Op, SessionId};
use crate::zkhub::{ZkClients, ZkHub};

/// Client ids of the bridge's sessions start here (zkCli's count up from 1).
const FIRST_CLIENT_ID: u32 = 1 << 20;

#[derive(Default)]
pub struct ZkBridge {
    hub: ZkHub,
    clients: Vec<LiveClient>,
    inbox: Vec<(NodeId, ZkCall)>,
    abandoned: Vec<NodeId>,
    answers: Vec<(NodeId, ZkAnswer)>,
    /// The figures both worlds feed, and chaos mode (`measure.rs`).
    pub measure: crate::measure::Measure,
    /// Chaos kills and restarts of executors, for the Spark side to carry out.
    pub spark_chaos: Vec<crate::metrics::ChaosEvent>,
    /// Spark nodes cut off from the ensemble, until when (ZooKeeper clock).
    isolations: std::collections::BTreeMap<NodeId, Millis>,
    pending_isolations: Vec<(NodeId, Millis)>,
}

impl ZkBridge {
    pub fn new() -> ZkBridge {
        ZkBridge::default()
    }

    /// A Spark node's call, carried out at the next ZooKeeper frame.
    pub fn submit(&mut self, node: NodeId, call: ZkCall) {
        self.inbox.push((node, call));
    }

    /// The Spark node's process is gone (or its program ended).
    pub fn abandon(&mut self, node: NodeId) {
        self.inbox.retain(|(n, _)| *n != node);
        self.answers.retain(|(n, _)| *n != node);
        self.abandoned.push(node);
    }

    /// Partitions a Spark node's sessions from the ensemble for `ms` (of the ZooKeeper clock).
    pub fn isolate_for(&mut self, node: NodeId, ms: Millis) {
        self.pending_isolations.push((node, ms));
    }

    /// Fault injection: the next successful `kind` reply to a Spark worker is lost.
    pub fn drop_next_reply(&mut self, kind: &str) {
        self.hub.drop_next_reply(kind);
    }

    pub fn take_answers(&mut self) -> Vec<(NodeId, ZkAnswer)> {
        std::mem::take(&mut self.answers)
    }

    /// One ZooKeeper frame: takes the servers' replies, carries out the calls, and returns the
    /// packets to post.
    pub fn tick(&mut self, conductor: &mut Conductor) -> Vec<Post> {
        for c in &mut self.clients {
            c.poll(conductor);
        }
        let mut on = ClientsOn { clients: &mut self.clients, conductor };
        for (node, call) in std::mem::take(&mut self.inbox) {
            self.hub.call(&mut on, node, call);
        }
        for node in std::mem::take(&mut self.abandoned) {
            self.hub.abandon(&mut on, node);
        }
        let now = on.conductor.now();
        for (node, ms) in std::mem::take(&mut self.pending_isolations) {
            self.isolations.insert(node, now + ms);
            self.hub.isolate(&mut on, node, true);
        }
        let healed: Vec<NodeId> = self.isolations.iter().filter(|(_, &until)| until <= now).map(|(&n, _)| n).collect();
        for node in healed {
            self.isolations.remove(&node);
            self.hub.isolate(&mut on, node, false);
        }
        self.answers.extend(self.hub.poll(&mut on));
        self.measure.ops(self.hub.samples.drain(..));
        self.clients.iter_mut().flat_map(|c| c.flush(conductor)).collect()
    }
}

/// The bridge's clients on the conductor, as the hub's client library.
struct ClientsOn<'a> {
    clients: &'a mut Vec<LiveClient>,
    conductor: &'a mut Conductor,
}

impl ZkClients for ClientsOn<'_> {
    fn now(&self) -> Millis {
        self.conductor.now()
    }
    fn servers(&self) -> Vec<NodeId> {
        self.conductor.ids()
    }
    fn open(&mut self, servers: Vec<NodeId>, timeout_ms: u32) -> ClientId {
        let id = FIRST_CLIENT_ID + self.clients.len() as u32;
        self.clients.push(LiveClient::new(id, servers, timeout_ms));
        self.clients.len() - 1
    }
    fn submit(&mut self, c: ClientId, op: Op) -> u32 {
        self.clients[c].submit(op)
    }
    fn close(&mut self, c: ClientId) {
        self.clients[c].close()
    }
    fn set_cut_off(&mut self, c: ClientId, cut: bool) {
        self.clients[c].set_cut_off(cut)
    }
    fn state(&self, c: ClientId) -> ClientState {
        self.clients[c].state()
    }
    fn session(&self, c: ClientId) -> Option<SessionId> {
        self.clients[c].session()
    }
    fn take_events(&mut self, c: ClientId) -> Vec<ClientEvent> {
        self.clients[c].take_events()
    }
}
