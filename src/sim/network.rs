//! The virtual network: per-link latency and jitter, loss, duplication, reordering (by jitter)
//! and partitions. Pure: given a message and the PRNG it says when (if ever) each copy arrives.
//! The simulator and the page's main thread both route every message through it.

use super::node::{Millis, NodeId};
use super::rng::Rng;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// How one direction of a link behaves.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkConfig {
    pub latency_ms: Millis,
    /// Extra delay drawn uniformly from `0..=jitter_ms`; jitter is what reorders messages.
    pub jitter_ms: Millis,
    /// Probability of dropping a message, in parts per million.
    pub loss_ppm: u32,
    /// Probability of delivering a second copy, in parts per million.
    pub dup_ppm: u32,
    /// Keep the link's order, as a TCP connection does: jitter then delays but never
    /// reorders. ZooKeeper runs every channel over TCP, so its ensembles use FIFO links.
    pub fifo: bool,
}

impl Default for LinkConfig {
    fn default() -> Self {
        LinkConfig { latency_ms: 5, jitter_ms: 5, loss_ppm: 0, dup_ppm: 0, fifo: true }
    }
}

/// The network between nodes. Links not configured use `default`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Network {
    pub default: LinkConfig,
    pub links: BTreeMap<(NodeId, NodeId), LinkConfig>,
    /// Directed pairs that cannot talk (a partition cuts both directions).
    pub cut: BTreeSet<(NodeId, NodeId)>,
    /// Latest arrival scheduled on each directed link, for FIFO links.
    #[serde(skip)]
    last_arrival: BTreeMap<(NodeId, NodeId), Millis>,
}

impl Network {
    pub fn new(default: LinkConfig) -> Network {
        Network { default, ..Network::default() }
    }

    pub fn link(&self, from: NodeId, to: NodeId) -> LinkConfig {
        self.links.get(&(from, to)).copied().unwrap_or(self.default)
    }

    pub fn connected(&self, from: NodeId, to: NodeId) -> bool {
        !self.cut.contains(&(from, to))
    }

    /// Splits the nodes into groups that can talk only inside themselves. Nodes not named in
    /// any group keep talking to everyone.
    pub fn partition(&mut self, groups: &[Vec<NodeId>]) {
        self.cut.clear();
        for (i, a) in groups.iter().enumerate() {
            for b in groups.iter().skip(i + 1) {
                for &x in a {
                    for &y in b {
                        self.cut.insert((x, y));
                        self.cut.insert((y, x));
                    }
                }
            }
        }
    }

    /// Cuts one node off from all `others`, both directions.
    pub fn isolate(&mut self, node: NodeId, others: impl IntoIterator<Item = NodeId>) {
        for other in others {
            if other != node {
                self.cut.insert((node, other));
                self.cut.insert((other, node));
            }
        }
    }

    pub fn heal(&mut self) {
        self.cut.clear();
    }

    /// The arrival times of a message sent at `now`: empty if it is lost or the link is cut,
    /// two entries if it is duplicated. Messages to self arrive at once and never get lost.
    pub fn route(&mut self, from: NodeId, to: NodeId, now: Millis, rng: &mut Rng) -> Vec<Millis> {
        if from == to {
            return vec![now];
        }
        if !self.connected(from, to) {
            return Vec::new();
        }
        let link = self.link(from, to);
        if rng.chance_ppm(link.loss_ppm) {
            return Vec::new();
        }
        let copies = if rng.chance_ppm(link.dup_ppm) { 2 } else { 1 };
        let mut arrivals = Vec::with_capacity(copies);
        for _ in 0..copies {
            let mut at = now + link.latency_ms + rng.range_inclusive(0, link.jitter_ms);
            if link.fifo {
                let last = self.last_arrival.entry((from, to)).or_insert(0);
                at = at.max(*last);
                *last = at;
            }
            arrivals.push(at);
        }
        arrivals
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partition_cuts_across_groups_only() {
        let mut net = Network::default();
        net.partition(&[vec![1, 2], vec![3, 4, 5]]);
        assert!(net.connected(1, 2));
        assert!(net.connected(3, 5));
        assert!(!net.connected(2, 3));
        assert!(!net.connected(5, 1));
        net.heal();
        assert!(net.connected(5, 1));
    }

    #[test]
    fn loss_and_duplication_follow_their_rates() {
        let mut rng = Rng::new(42);
        let mut lossy = Network::new(LinkConfig { loss_ppm: 1_000_000, ..LinkConfig::default() });
        assert!(lossy.route(1, 2, 0, &mut rng).is_empty());
        let mut dupy =
            Network::new(LinkConfig { latency_ms: 10, jitter_ms: 0, loss_ppm: 0, dup_ppm: 1_000_000, fifo: true });
        assert_eq!(dupy.route(1, 2, 5, &mut rng), vec![15, 15]);
    }

    #[test]
    fn jitter_stays_within_bounds() {
        let mut rng = Rng::new(1);
        let mut net = Network::new(LinkConfig { latency_ms: 10, jitter_ms: 20, loss_ppm: 0, dup_ppm: 0, fifo: false });
        for _ in 0..1000 {
            let t = net.route(1, 2, 100, &mut rng)[0];
            assert!((110..=130).contains(&t), "{t}");
        }
    }

    #[test]
    fn jitter_reorders_unless_the_link_is_fifo() {
        let arrivals = |fifo: bool| {
            let mut rng = Rng::new(3);
            let mut net = Network::new(LinkConfig { latency_ms: 10, jitter_ms: 50, loss_ppm: 0, dup_ppm: 0, fifo });
            (0..100).map(|t| net.route(1, 2, t, &mut rng)[0]).collect::<Vec<_>>()
        };
        let is_sorted = |v: &[Millis]| v.windows(2).all(|w| w[0] <= w[1]);
        assert!(!is_sorted(&arrivals(false)), "jitter reorders a datagram link");
        assert!(is_sorted(&arrivals(true)), "a FIFO link keeps send order");
    }
}
