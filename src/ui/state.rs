//! The page's state: the latest cluster and console snapshots plus the user's view choices.

use crate::live::client::ConsoleSnapshot;
use crate::live::spark::SparkSnapshot;
use crate::live::ClusterSnapshot;
use crate::zab::Sid;
use std::rc::Rc;
use yew::prelude::*;

#[derive(Clone, Debug, PartialEq)]
pub struct UiState {
    pub snapshot: Option<Rc<ClusterSnapshot>>,
    pub console: Option<Rc<ConsoleSnapshot>>,
    pub n_servers: u32,
    /// Observers beside the voting servers.
    pub observers: u32,
    /// Bumped to start a fresh ensemble of the same size.
    pub epoch_of_page: u32,
    /// Whose znode tree the tree panel shows (None: the server zkCli is on, else zk1).
    pub tree_server: Option<Sid>,
    /// The znode whose Stat the tree panel shows.
    pub selected_znode: Option<String>,
    pub spark: Option<Rc<SparkSnapshot>>,
    /// The Spark cluster's shape: (executors, cores each); a change starts a new cluster.
    pub spark_shape: (u32, u32),
    /// Which workspace is shown: the ZooKeeper ensemble, Spark, or the metrics.
    pub view: View,
    pub metrics: Option<Rc<crate::measure::MetricsView>>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum View {
    ZooKeeper,
    Spark,
    Metrics,
}

impl Default for UiState {
    fn default() -> Self {
        UiState {
            snapshot: None,
            console: None,
            n_servers: 5,
            observers: 0,
            epoch_of_page: 0,
            tree_server: None,
            selected_znode: None,
            spark: None,
            spark_shape: (2, 2),
            view: View::ZooKeeper,
            metrics: None,
        }
    }
}

pub enum Action {
    Snapshot(Rc<ClusterSnapshot>),
    Console(Rc<ConsoleSnapshot>),
    SetSize(u32),
    SetObservers(u32),
    Reset,
    PickTreeServer(Sid),
    SelectZnode(Option<String>),
    Spark(Rc<SparkSnapshot>),
    SparkShape(u32, u32),
    Show(View),
    Metrics(Rc<crate::measure::MetricsView>),
}

impl Reducible for UiState {
    type Action = Action;

    fn reduce(self: Rc<Self>, action: Action) -> Rc<Self> {
        let mut next = (*self).clone();
        match action {
            Action::Snapshot(s) => next.snapshot = Some(s),
            Action::Metrics(m) => next.metrics = Some(m),
            Action::Console(c) => next.console = Some(c),
            Action::SetSize(n) => {
                next.n_servers = n;
                next.fresh_page();
            }
            Action::SetObservers(n) => {
                next.observers = n;
                next.fresh_page();
            }
            Action::Reset => {
                next.epoch_of_page += 1;
                next.fresh_page();
            }
            Action::PickTreeServer(sid) => next.tree_server = Some(sid),
            Action::SelectZnode(path) => next.selected_znode = path,
            Action::Spark(s) => next.spark = Some(s),
            Action::SparkShape(x, c) => {
                next.spark_shape = (x, c);
                next.spark = None;
            }
            Action::Show(v) => next.view = v,
        }
        Rc::new(next)
    }
}

impl UiState {
    fn fresh_page(&mut self) {
        self.snapshot = None;
        self.console = None;
        self.tree_server = None;
        self.selected_znode = None;
    }
}
