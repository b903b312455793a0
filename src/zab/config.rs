//! Ensemble configuration, with ZooKeeper 3.8's defaults.

use super::vote::{QuorumMaj, Sid};
use crate::sim::Millis;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ZkConfig {
    pub quorum: QuorumMaj,
    /// Non-voting members (`server.N=…:observer`): they follow the leader's commits (INFORM)
    /// and serve clients, but never vote, ack or lead.
    pub observers: std::collections::BTreeSet<Sid>,
    /// `tickTime`: the basic time unit (default 2000 ms in zoo_sample.cfg).
    pub tick_time_ms: Millis,
    /// `initLimit`: ticks a learner may take to connect and sync (zoo_sample.cfg: 10).
    pub init_limit: u64,
    /// `syncLimit`: ticks a learner may go unheard once synced (zoo_sample.cfg: 5).
    pub sync_limit: u64,
    /// `FastLeaderElection.finalizeWait`: how long to wait for a better vote once a quorum
    /// agrees (200 ms).
    pub finalize_wait_ms: Millis,
    /// `zookeeper.fle.minNotificationInterval` (200 ms): the first notification timeout.
    pub min_notification_interval_ms: Millis,
    /// `zookeeper.fle.maxNotificationInterval` (60 000 ms): the backoff ceiling.
    pub max_notification_interval_ms: Millis,
    /// Pause between a learner's connection attempts (`Learner.connectToLeader`: 1000 ms).
    pub connect_retry_ms: Millis,
    /// `snapCount`: txns between snapshots. ZooKeeper's default is 100 000; the playground
    /// uses 100 so snapshots, log purges and SNAP syncs happen where you can see them.
    pub snap_count: u32,
    /// `znode.container.checkIntervalMs` (60 000 ms): how often the leader reaps empty
    /// containers and expired TTL nodes.
    pub container_check_ms: Millis,
    /// Negotiated session timeouts are clamped to [2, 20] ticks (`minSessionTimeout`,
    /// `maxSessionTimeout` defaults).
    pub min_session_ticks: u64,
    pub max_session_ticks: u64,
    /// Wall-clock milliseconds at virtual time 0: ctime/mtime are stamped with this plus the
    /// virtual clock (the simulated world starts on 2023-11-14 22:13:20 UTC).
    pub wall_clock_base_ms: u64,
}

impl ZkConfig {
    /// An ensemble of servers `1..=n` with ZooKeeper's default timing.
    pub fn ensemble(n: u32) -> ZkConfig {
        ZkConfig {
            quorum: QuorumMaj::new(1..=n),
            observers: std::collections::BTreeSet::new(),
            tick_time_ms: 2000,
            init_limit: 10,
            sync_limit: 5,
            finalize_wait_ms: 200,
            min_notification_interval_ms: 200,
            max_notification_interval_ms: 60_000,
            connect_retry_ms: 1000,
            snap_count: 100,
            container_check_ms: 60_000,
            min_session_ticks: 2,
            max_session_ticks: 20,
            wall_clock_base_ms: 1_700_000_000_000,
        }
    }

    /// Voters `1..=voters` and observers after them.
    pub fn with_observers(voters: u32, observers: u32) -> ZkConfig {
        ZkConfig { observers: (voters + 1..=voters + observers).collect(), ..ZkConfig::ensemble(voters) }
    }

    pub fn is_voter(&self, sid: Sid) -> bool {
        self.quorum.voters.contains(&sid)
    }

    pub fn is_member(&self, sid: Sid) -> bool {
        self.is_voter(sid) || self.observers.contains(&sid)
    }

    pub fn voters(&self) -> impl Iterator<Item = Sid> + '_ {
        self.quorum.voters.iter().copied()
    }

    pub fn init_timeout_ms(&self) -> Millis {
        self.tick_time_ms * self.init_limit
    }

    /// `ZooKeeperServer`'s session timeout negotiation.
    pub fn negotiate_session_timeout(&self, requested_ms: u32) -> u32 {
        let lo = self.tick_time_ms * self.min_session_ticks;
        let hi = self.tick_time_ms * self.max_session_ticks;
        u64::from(requested_ms).clamp(lo, hi) as u32
    }

    pub fn sync_timeout_ms(&self) -> Millis {
        self.tick_time_ms * self.sync_limit
    }
}
