//! The Spark-like engine, as pure state machines: the RDD lineage the scheduler reads
//! (`lineage.rs`), the driver's DAG + task scheduler (`scheduler.rs`), partition computation
//! and the local engine (`engine.rs`, `ops.rs`), the `pyspark` module (`pyspark/`), and the
//! cluster: a driver and executors as sans-IO nodes (`cluster.rs`) on the simulator
//! (`world.rs`) or in the page's workers.

pub mod accumulators;
pub mod cluster;
pub mod engine;
pub mod fs;
pub mod ha_world;
pub mod hash;
pub mod lineage;
pub mod ops;
pub mod pyspark;
pub mod random;
pub mod scheduler;
pub mod slicing;
pub mod standalone;
pub mod world;

pub use lineage::{Dependency, Lineage, RddId, RddInfo, ShuffleId};
pub use scheduler::{ExecutorId, JobId, Scheduler, SparkEvent, StageId, TaskId, TaskKind, TaskOutcome, TaskSpec};
