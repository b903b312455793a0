//! The deterministic simulator: one virtual clock, one seeded PRNG, one network, any number of
//! nodes. Everything that happens is a queued event processed in (time, sequence) order, so a
//! seed replays exactly; the trace hash proves it.
//!
//! ```text
//!  queue: (time, seq) ─▶ Deliver{from,to,msg} | Wake{node}
//!     └─ pop ─▶ node.message / node.wake ─▶ effects ─▶ network.route ─▶ queue
//!                                              ├─▶ WakeAt ─▶ queue
//!                                              ├─▶ Persist ─▶ disk (survives crash)
//!                                              └─▶ Event ─▶ events log
//! ```

use super::network::Network;
use super::node::{Disk, Effect, Effects, Millis, NodeId, Process};
use super::rng::Rng;
use super::trace::TraceHasher;
use std::collections::BTreeMap;

/// Builds a node from its id and disk: at boot, and again after every restart.
pub type Factory<P> = Box<dyn Fn(NodeId, &Disk) -> P>;

enum Pending<M> {
    Deliver {
        from: NodeId,
        to: NodeId,
        msg: M,
    },
    Wake {
        node: NodeId,
    },
    /// A TCP reset from a dead process reaching a live one.
    Reset {
        dead: NodeId,
        to: NodeId,
    },
}

struct Slot<P> {
    process: Option<P>,
    disk: Disk,
    wake_at: Option<Millis>,
}

/// An event a node emitted, with when and where.
#[derive(Clone, Debug, PartialEq)]
pub struct Emitted<E> {
    pub at: Millis,
    pub node: NodeId,
    pub event: E,
}

/// Upper bound on queued items; a protocol that floods the network is a bug.
pub const MAX_PENDING: usize = 1_000_000;

pub struct Simulator<P: Process> {
    now: Millis,
    seq: u64,
    rng: Rng,
    pub network: Network,
    nodes: BTreeMap<NodeId, Slot<P>>,
    queue: BTreeMap<(Millis, u64), Pending<P::Msg>>,
    factory: Factory<P>,
    trace: TraceHasher,
    events: Vec<Emitted<P::Event>>,
    violations: Vec<String>,
    steps: u64,
    messages_delivered: u64,
}

impl<P: Process> Simulator<P> {
    /// A world with nodes `ids`, all started at time 0 from empty disks.
    pub fn new(seed: u64, network: Network, ids: &[NodeId], factory: Factory<P>) -> Simulator<P> {
        let mut sim = Simulator {
            now: 0,
            seq: 0,
            rng: Rng::new(seed),
            network,
            nodes: BTreeMap::new(),
            queue: BTreeMap::new(),
            factory,
            trace: TraceHasher::new(),
            events: Vec::new(),
            violations: Vec::new(),
            steps: 0,
            messages_delivered: 0,
        };
        for &id in ids {
            sim.nodes.insert(id, Slot { process: None, disk: Disk::default(), wake_at: None });
        }
        for &id in ids {
            sim.boot(id);
        }
        sim
    }

    pub fn now(&self) -> Millis {
        self.now
    }
    pub fn rng(&mut self) -> &mut Rng {
        &mut self.rng
    }
    pub fn ids(&self) -> Vec<NodeId> {
        self.nodes.keys().copied().collect()
    }
    pub fn is_up(&self, id: NodeId) -> bool {
        self.nodes.get(&id).is_some_and(|s| s.process.is_some())
    }
    pub fn node(&self, id: NodeId) -> Option<&P> {
        self.nodes.get(&id).and_then(|s| s.process.as_ref())
    }
    pub fn disk(&self, id: NodeId) -> Option<&Disk> {
        self.nodes.get(&id).map(|s| &s.disk)
    }
    pub fn events(&self) -> &[Emitted<P::Event>] {
        &self.events
    }
    /// Invariant violations reported by nodes' `check_invariants` so far.
    pub fn violations(&self) -> &[String] {
        &self.violations
    }
    /// Keeps a textual trace from now on (see [`Simulator::trace_log`]).
    pub fn keep_trace_log(&mut self) {
        self.trace.keep_log();
    }
    pub fn trace_log(&self) -> &[String] {
        self.trace.log()
    }
    pub fn trace_hash(&self) -> u64 {
        self.trace.finish()
    }
    pub fn steps(&self) -> u64 {
        self.steps
    }
    pub fn messages_delivered(&self) -> u64 {
        self.messages_delivered
    }

    /// Kills a node's process: its memory and timers are gone, its disk stays, and every peer
    /// it can still reach gets a connection reset one link latency later.
    pub fn crash(&mut self, id: NodeId) {
        let slot = self.nodes.get_mut(&id).expect("crash of unknown node");
        slot.process = None;
        slot.wake_at = None;
        self.trace.record(format_args!("{} crash {id}", self.now));
        let peers: Vec<NodeId> = self.nodes.keys().copied().filter(|&p| p != id).collect();
        for to in peers {
            if self.network.connected(id, to) {
                let at = self.now + self.network.link(id, to).latency_ms;
                self.push(at, Pending::Reset { dead: id, to });
            }
        }
    }

    /// Starts a crashed node again from its disk.
    pub fn restart(&mut self, id: NodeId) {
        assert!(!self.is_up(id), "restart of running node {id}");
        self.trace.record(format_args!("{} restart {id}", self.now));
        self.boot(id);
    }

    /// Hands a node an outside input (a client request, a test hook). Ignored if it is down.
    pub fn command(&mut self, id: NodeId, cmd: P::Command) {
        self.trace.record(format_args!("{} command {id} {cmd:?}", self.now));
        self.with_node(id, |node, now, out| node.command(now, cmd, out));
    }

    /// Processes the next queued event. Returns false when nothing is left to do.
    pub fn step(&mut self) -> bool {
        let Some(((at, _), pending)) = self.queue.pop_first() else { return false };
        debug_assert!(at >= self.now, "time went backwards");
        self.now = at;
        self.steps += 1;
        match pending {
            Pending::Deliver { from, to, msg } => {
                if !self.is_up(to) {
                    return true;
                }
                self.messages_delivered += 1;
                self.trace.record(format_args!("{at} {from}->{to} {msg:?}"));
                self.with_node(to, |node, now, out| node.message(now, from, msg, out));
            }
            Pending::Wake { node } => {
                let Some(slot) = self.nodes.get_mut(&node) else { return true };
                if slot.wake_at != Some(at) || slot.process.is_none() {
                    return true; // superseded timer, or the node died
                }
                slot.wake_at = None;
                self.trace.record(format_args!("{at} wake {node}"));
                self.with_node(node, |n, now, out| n.wake(now, out));
            }
            Pending::Reset { dead, to } => {
                self.trace.record(format_args!("{at} reset {dead}->{to}"));
                self.with_node(to, |n, now, out| n.connection_lost(now, dead, out));
            }
        }
        true
    }

    /// Runs every event up to and including time `until`, then sets the clock to `until`.
    pub fn run_until(&mut self, until: Millis) {
        while let Some((&(at, _), _)) = self.queue.first_key_value() {
            if at > until {
                break;
            }
            self.step();
        }
        self.now = self.now.max(until);
    }

    fn boot(&mut self, id: NodeId) {
        let slot = self.nodes.get_mut(&id).expect("boot of unknown node");
        slot.process = Some((self.factory)(id, &slot.disk));
        self.with_node(id, |node, now, out| node.start(now, out));
    }

    fn with_node(&mut self, id: NodeId, f: impl FnOnce(&mut P, Millis, &mut Effects<P::Msg, P::Event>)) {
        let now = self.now;
        let mut out = Vec::new();
        {
            let Some(node) = self.nodes.get_mut(&id).and_then(|s| s.process.as_mut()) else { return };
            f(node, now, &mut out);
            if let Err(e) = node.check_invariants() {
                self.violations.push(format!("t={now} node {id}: {e}"));
            }
        }
        self.apply(id, out);
    }

    fn apply(&mut self, id: NodeId, effects: Effects<P::Msg, P::Event>) {
        for effect in effects {
            match effect {
                Effect::Send { to, msg } => {
                    assert!(self.nodes.contains_key(&to), "node {id} sent to unknown node {to}");
                    for arrival in self.network.route(id, to, self.now, &mut self.rng) {
                        self.push(arrival, Pending::Deliver { from: id, to, msg: msg.clone() });
                    }
                }
                Effect::WakeAt(at) => {
                    let at = at.max(self.now);
                    self.nodes.get_mut(&id).expect("node vanished").wake_at = Some(at);
                    self.push(at, Pending::Wake { node: id });
                }
                Effect::Persist { file, contents } => {
                    self.trace.record(format_args!("{} persist {id} {file}", self.now));
                    self.nodes.get_mut(&id).expect("node vanished").disk.write(&file, contents);
                }
                Effect::Remove { file } => {
                    self.trace.record(format_args!("{} remove {id} {file}", self.now));
                    self.nodes.get_mut(&id).expect("node vanished").disk.remove(&file);
                }
                Effect::Event(event) => {
                    self.trace.record(format_args!("{} event {id} {event:?}", self.now));
                    self.events.push(Emitted { at: self.now, node: id, event });
                }
            }
        }
    }

    fn push(&mut self, at: Millis, pending: Pending<P::Msg>) {
        assert!(self.queue.len() < MAX_PENDING, "simulator queue exceeded {MAX_PENDING} items");
        self.seq += 1;
        self.queue.insert((at, self.seq), pending);
    }
}
