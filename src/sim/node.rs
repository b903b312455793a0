//! The contract between a protocol node and whoever hosts it.
//!
//! ```text
//!   host ──start / message(from, msg) / wake / command──▶ node
//!   host ◀── Effect::{Send, WakeAt, Persist, Remove, Event} ──── node
//! ```
//!
//! A node is a deterministic state machine: it never reads a clock (the host passes virtual
//! milliseconds in), never does I/O (it asks for sends and writes through effects) and draws
//! randomness only from what the host gave it. The simulator and the Web-Worker runtime are the
//! two hosts; neither reaches into a node's internals.

use serde::{de::DeserializeOwned, Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt::Debug;

/// A node's identity; for ZooKeeper servers this is the `myid` (server id, "sid").
pub type NodeId = u32;

/// Virtual time in milliseconds since the world started.
pub type Millis = u64;

/// A node's simulated disk: what survives a crash. Keys are file names, values serialized text.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Disk {
    pub files: BTreeMap<String, String>,
}

impl Disk {
    pub fn read(&self, name: &str) -> Option<&str> {
        self.files.get(name).map(String::as_str)
    }

    pub fn write(&mut self, name: &str, contents: String) {
        self.files.insert(name.to_string(), contents);
    }

    pub fn remove(&mut self, name: &str) {
        self.files.remove(name);
    }

    /// Files whose names start with `prefix`, in name order.
    pub fn list<'a>(&'a self, prefix: &'a str) -> impl Iterator<Item = (&'a str, &'a str)> + 'a {
        self.files
            .range(prefix.to_string()..)
            .take_while(move |(k, _)| k.starts_with(prefix))
            .map(|(k, v)| (k.as_str(), v.as_str()))
    }
}

/// What a node asks its host to do.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Effect<M, E> {
    /// Send `msg` to `to` through the (lossy, delaying) network.
    Send { to: NodeId, msg: M },
    /// Call `wake` at or after this time. Replaces any earlier request.
    WakeAt(Millis),
    /// Write a file on the node's disk; it is durable once the effect is drained.
    Persist { file: String, contents: String },
    /// Delete a file from the node's disk (a purged log segment, a truncated txn).
    Remove { file: String },
    /// Something the UI and the tests may want to know about (state changes, decisions).
    Event(E),
}

/// Effects produced by one step, in order.
pub type Effects<M, E> = Vec<Effect<M, E>>;

/// A sans-IO protocol node.
pub trait Process: Sized {
    type Msg: Clone + Debug + PartialEq + Serialize + DeserializeOwned;
    type Event: Clone + Debug + PartialEq + Serialize + DeserializeOwned;
    /// Inputs from outside the protocol (a client write, a test hook).
    type Command: Clone + Debug + Serialize + DeserializeOwned;
    /// What the UI shows of the node.
    type View: Clone + Debug + PartialEq + Serialize + DeserializeOwned;

    fn id(&self) -> NodeId;
    /// Called once after the node is built from its disk.
    fn start(&mut self, now: Millis, out: &mut Effects<Self::Msg, Self::Event>);
    fn message(&mut self, now: Millis, from: NodeId, msg: Self::Msg, out: &mut Effects<Self::Msg, Self::Event>);
    fn wake(&mut self, now: Millis, out: &mut Effects<Self::Msg, Self::Event>);
    /// The connection to `peer` broke because its process died: the kernel resets the TCP
    /// connection, so the node learns at once instead of waiting for a timeout. A partition
    /// sends no such notice.
    fn connection_lost(&mut self, now: Millis, peer: NodeId, out: &mut Effects<Self::Msg, Self::Event>);
    fn command(&mut self, now: Millis, cmd: Self::Command, out: &mut Effects<Self::Msg, Self::Event>);
    fn view(&self) -> Self::View;
    /// Local invariants, checked by hosts after every step. `Err` is a bug, never a user error.
    fn check_invariants(&self) -> Result<(), String>;
}
