//! What the page and a node's worker say to each other, and the worker-side driver.
//!
//! ```text
//! page ── Init{sid, config, disk} / Deliver / Wake / ConnectionLost / Command / Panic ──▶ worker
//! page ◀──────────────── Ready / Output{effects, view} ───────────────────────────────── worker
//! ```

use crate::sim::{Disk, Effects, Millis, Process};
use crate::zab::{ServerView, Sid, ZabMsg, ZkCommand, ZkConfig, ZkEvent, ZkServer};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum ToWorker {
    /// Boot the server from its disk (empty on first start).
    Init {
        sid: Sid,
        config: ZkConfig,
        disk: Disk,
        now: Millis,
    },
    Deliver {
        now: Millis,
        from: Sid,
        msg: ZabMsg,
    },
    Wake {
        now: Millis,
    },
    ConnectionLost {
        now: Millis,
        peer: Sid,
    },
    Command {
        now: Millis,
        cmd: ZkCommand,
    },
    /// Makes the worker panic: shows what a crashed (not killed) worker looks like.
    Panic,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum FromWorker {
    /// The worker's wasm is loaded and listening.
    Ready,
    Output {
        effects: Effects<ZabMsg, ZkEvent>,
        view: Box<ServerView>,
    },
}

/// Drives one server inside a worker. Inputs before `Init` are a host bug and are ignored.
#[derive(Default)]
pub struct WorkerNode {
    server: Option<ZkServer>,
}

impl WorkerNode {
    /// Handles one input. `Err` carries a message for a worker that must die (`Panic`).
    pub fn handle(&mut self, input: ToWorker) -> Result<Option<FromWorker>, String> {
        let mut effects = Vec::new();
        match input {
            ToWorker::Init { sid, config, disk, now } => {
                let mut server = ZkServer::recover(sid, config, &disk);
                server.start(now, &mut effects);
                self.server = Some(server);
            }
            ToWorker::Panic => return Err("panic requested from the page".into()),
            other => {
                let Some(server) = self.server.as_mut() else { return Ok(None) };
                match other {
                    ToWorker::Deliver { now, from, msg } => server.message(now, from, msg, &mut effects),
                    ToWorker::Wake { now } => server.wake(now, &mut effects),
                    ToWorker::ConnectionLost { now, peer } => server.connection_lost(now, peer, &mut effects),
                    ToWorker::Command { now, cmd } => server.command(now, cmd, &mut effects),
                    ToWorker::Init { .. } | ToWorker::Panic => unreachable!("handled above"),
                }
            }
        }
        let server = self.server.as_ref().expect("initialized above");
        if let Err(e) = server.check_invariants() {
            return Err(format!("invariant violated: {e}"));
        }
        Ok(Some(FromWorker::Output { effects, view: Box::new(server.view()) }))
    }
}
