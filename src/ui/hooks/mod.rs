//! Custom hooks.

mod use_cluster;

pub use use_cluster::use_cluster;
