//! Custom hooks.

mod use_cluster;
mod use_spark;

pub use use_cluster::use_cluster;
pub use use_spark::use_spark;
