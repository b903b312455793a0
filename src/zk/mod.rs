//! ZooKeeper's data model, as pure values: the znode tree with its `Stat` bookkeeping, ACLs,
//! sessions and ephemerals, and the transactions ZAB replicates (`txn.rs`). Every replica applies
//! the same transactions in zxid order to its own `DataTree` and gets the same tree and the same
//! result codes; the server the client talks to turns a result into the client's reply.
//! `cli.rs` is zkCli 3.8: its command line, its output format, its console.

pub mod acl;
pub mod cli;
pub mod local;
pub mod path;
pub mod port;
pub mod tree;
pub mod txn;
pub mod watch;

pub use tree::DataTree;
pub use txn::*;
