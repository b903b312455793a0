//! The replay gate between a Python program and the ensemble.
//!
//! The interpreter runs a program (or a task) from start to end and cannot park inside
//! `zk.get(...)` while the request travels. So, as the driver does for jobs
//! (`spark::engine::JobGate`), a run takes the answers of calls it already made from a log; the
//! first call not in the log becomes `pending` and stops the run with an error no `except`
//! catches. The node sends that call to its host, appends the answer to the log and runs the
//! program again from the top. The program is deterministic, so every run makes the same calls
//! in the same order up to the one it waits for.
//!
//! ```text
//!   run 1: start() ─▶ not logged: pending Open ─▶ stop      log: []
//!   run 2: start() ◀ Opened · get() ─▶ pending Op ─▶ stop   log: [Opened]
//!   run 3: start() ◀ · get() ◀ Data · print(...) · end      log: [Opened, Data]
//! ```
//!
//! Sessions are named by handles that count `KazooClient.start()`s from `handle_base`; a run
//! hands out the same handles again, so the host's sessions outlive the runs.

use crate::py::{ExcType, PResult, PyErr};
use crate::zk::port::{Handle, ZkCall, ZkReply, ZkRequest};

#[derive(Clone, Debug, Default)]
pub struct ZkGate {
    /// Answers, in the order the calls were made.
    pub log: Vec<ZkReply>,
    cursor: usize,
    /// The call the current run stopped at.
    pub pending: Option<ZkCall>,
    handle_base: Handle,
    next_handle: Handle,
    next_call: u64,
    /// Whether a host answers at all (a cluster). Local mode has no ensemble: `start()` times
    /// out as kazoo's does with no server listening.
    pub online: bool,
}

impl ZkGate {
    pub fn online() -> ZkGate {
        ZkGate { online: true, ..ZkGate::default() }
    }

    /// Starts a run whose sessions count from `handle_base` (a task's id, the driver's run).
    /// `keep_log`: the log is this run's own history (a replay); otherwise it starts empty.
    pub fn begin(&mut self, handle_base: Handle, keep_log: bool) {
        if !keep_log {
            self.log.clear();
        }
        self.cursor = 0;
        self.pending = None;
        self.handle_base = handle_base;
        self.next_handle = handle_base;
    }

    /// A handle for the next `start()`.
    pub fn new_handle(&mut self) -> Handle {
        self.next_handle += 1;
        self.next_handle
    }

    pub fn suspended(&self) -> bool {
        self.pending.is_some()
    }

    /// The answer to `req` on `handle`: from the log, or the run stops until the host answers.
    pub fn call(&mut self, handle: Handle, req: ZkRequest) -> PResult<ZkReply> {
        if self.pending.is_some() {
            // Stopped already (a `finally` or `__exit__` runs while the run unwinds).
            return Err(suspend_error());
        }
        if let Some(r) = self.log.get(self.cursor) {
            self.cursor += 1;
            return Ok(r.clone());
        }
        self.next_call += 1;
        self.pending = Some(ZkCall { id: self.next_call, handle, req });
        Err(suspend_error())
    }

    /// The host answered call `id`: true if it was the pending one (a replay should follow).
    pub fn answer(&mut self, id: u64, reply: ZkReply) -> bool {
        match &self.pending {
            Some(c) if c.id == id => {
                self.pending = None;
                self.log.push(reply);
                true
            }
            _ => false,
        }
    }
}

/// Stops a run while its call travels: no `except` clause catches it.
pub fn suspend_error() -> PyErr {
    let mut e = PyErr::new(ExcType::RuntimeError, "the program waits for ZooKeeper");
    e.fatal = true;
    e
}
