//! The Spark-like engine, as pure state machines: the RDD lineage the scheduler reads
//! (`lineage.rs`) and the driver's DAG + task scheduler (`scheduler.rs`). Computing
//! partitions, executors and the PySpark API come next (issue 4).

pub mod accumulators;
pub mod engine;
pub mod fs;
pub mod hash;
pub mod lineage;
pub mod ops;
pub mod pyspark;
pub mod random;
pub mod scheduler;
pub mod slicing;

pub use lineage::{Dependency, Lineage, RddId, RddInfo, ShuffleId};
pub use scheduler::{ExecutorId, JobId, Scheduler, SparkEvent, StageId, TaskId, TaskKind, TaskOutcome, TaskSpec};
