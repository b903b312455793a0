//! An RDD lineage as the scheduler sees it: each RDD states its partitions and its
//! dependencies (narrow, or a shuffle), nothing about how it computes. The DAG scheduler cuts
//! stages from this metadata alone (Spark's `RDD.dependencies` / `partitions`).

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

pub type RddId = u32;
pub type ShuffleId = u32;

/// How an RDD depends on a parent.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Dependency {
    /// Each partition of the child reads a known set of the parent's partitions, in the same
    /// task (map, filter, union, coalesce, zip, cartesian…): pipelined into one stage.
    Narrow { parent: RddId },
    /// The child's partitions each read a slice of every parent partition: a stage boundary.
    Shuffle { parent: RddId, shuffle: ShuffleId },
}

impl Dependency {
    pub fn parent(&self) -> RddId {
        match self {
            Dependency::Narrow { parent } | Dependency::Shuffle { parent, .. } => *parent,
        }
    }
}

/// One RDD's shape.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RddInfo {
    pub id: RddId,
    /// Spark's class name for it (`ParallelCollectionRDD`, `PythonRDD`, `ShuffledRDD`…).
    pub name: String,
    pub partitions: u32,
    pub deps: Vec<Dependency>,
    /// `cache()`/`persist()` was called: computed partitions are kept on their executor.
    pub cached: bool,
}

/// Every RDD a driver has defined, by id.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lineage {
    pub rdds: BTreeMap<RddId, RddInfo>,
}

impl Lineage {
    pub fn get(&self, id: RddId) -> &RddInfo {
        self.rdds.get(&id).unwrap_or_else(|| panic!("RDD {id} is not in the lineage"))
    }

    pub fn add(&mut self, info: RddInfo) {
        assert!(
            info.deps.iter().all(|d| self.rdds.contains_key(&d.parent())),
            "RDD {} depends on an RDD defined after it",
            info.id
        );
        self.rdds.insert(info.id, info);
    }

    /// The shuffle dependencies reachable from `rdd` through narrow dependencies only: the
    /// boundaries of the stage that computes `rdd` (`DAGScheduler.getShuffleDependencies`).
    pub fn stage_boundaries(&self, rdd: RddId) -> Vec<(ShuffleId, RddId)> {
        let mut out = Vec::new();
        let mut seen = std::collections::BTreeSet::new();
        let mut stack = vec![rdd];
        while let Some(r) = stack.pop() {
            if !seen.insert(r) {
                continue;
            }
            for dep in &self.get(r).deps {
                match *dep {
                    Dependency::Narrow { parent } => stack.push(parent),
                    Dependency::Shuffle { parent, shuffle } => {
                        if !out.contains(&(shuffle, parent)) {
                            out.push((shuffle, parent));
                        }
                    }
                }
            }
        }
        out.sort();
        out
    }

    /// The RDDs computed inside the stage that ends at `rdd` (narrow ancestors), for
    /// looking up cached partitions.
    pub fn stage_rdds(&self, rdd: RddId) -> Vec<RddId> {
        let mut out = Vec::new();
        let mut stack = vec![rdd];
        while let Some(r) = stack.pop() {
            if out.contains(&r) {
                continue;
            }
            out.push(r);
            for dep in &self.get(r).deps {
                if let Dependency::Narrow { parent } = *dep {
                    stack.push(parent);
                }
            }
        }
        out
    }
}
