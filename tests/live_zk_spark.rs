//! The page's two worlds joined, natively: the ZooKeeper conductor with in-process server
//! workers, the Spark conductor with in-process Spark workers (driver, executors, standalone
//! masters, workers and the application's client), and the `ZkBridge` between them, framed as
//! the page's timers frame them. A kazoo job counts on the ensemble; killing the ALIVE master
//! hands the cluster to the standby once the dead master's session expires.

mod common;

use common::fake_page::FakePage;
use std::collections::{BTreeMap, VecDeque};
use zkspark::live::spark::{SparkConductor, SparkPost, SparkWorkerNode, HA_BASE};
use zkspark::live::zkhub::ZkBridge;
use zkspark::sim::NodeId;
use zkspark::spark::cluster::ClusterConfig;
use zkspark::spark::standalone::{StandaloneConfig, StandaloneView};

struct Page {
    zk: FakePage,
    spark: SparkConductor,
    workers: BTreeMap<NodeId, (u32, SparkWorkerNode)>,
    bridge: ZkBridge,
}

impl Page {
    fn new() -> Page {
        let mut zk = FakePage::new(3);
        zk.run(3_000);
        assert!(zk.leader().is_some(), "the ensemble elected a leader");
        let ha = StandaloneConfig { masters: 2, workers: 2, ..StandaloneConfig::default() };
        let spark = SparkConductor::new(ClusterConfig::default(), 3).with_standalone(ha);
        let mut page = Page { zk, spark, workers: BTreeMap::new(), bridge: ZkBridge::new() };
        for id in page.spark.ids() {
            page.spawn(id);
        }
        page
    }

    fn spawn(&mut self, id: NodeId) {
        let generation = self.spark.generation(id);
        self.workers.insert(id, (generation, SparkWorkerNode::default()));
        let posts = self.spark.worker_ready(id, generation);
        self.dispatch(posts);
    }

    fn dispatch(&mut self, posts: Vec<SparkPost>) {
        let mut posts: VecDeque<SparkPost> = posts.into();
        while let Some(p) = posts.pop_front() {
            let Some((generation, w)) = self.workers.get_mut(&p.node) else { continue };
            if *generation != p.generation {
                continue;
            }
            if let Some(out) = w.handle(p.msg) {
                posts.extend(self.spark.worker_output(p.node, p.generation, out));
            }
        }
    }

    /// One frame of each world (the page runs them on separate timers).
    fn frame(&mut self) {
        let posts = self.zk.conductor.advance(33.0);
        self.zk.dispatch(posts);
        let posts = self.bridge.tick(&mut self.zk.conductor);
        self.zk.dispatch(posts);
        let posts = self.spark.advance(33.0);
        self.dispatch(posts);
        let (calls, exits) = self.spark.take_zk();
        for node in exits {
            self.bridge.abandon(node);
        }
        for (node, call) in calls {
            self.bridge.submit(node, call);
        }
        for (node, answer) in self.bridge.take_answers() {
            let posts = self.spark.zk_answer(node, answer);
            self.dispatch(posts);
        }
    }

    fn master_states(&self) -> Vec<(String, &'static str)> {
        self.spark.snapshot().standalone.iter().filter(|c| c.name.starts_with("master")).map(|c| (c.name.clone(), c.data_state())).collect()
    }

    fn run_until(&mut self, max_frames: u32, done: impl Fn(&Page) -> bool) -> bool {
        for _ in 0..max_frames {
            if done(self) {
                return true;
            }
            self.frame();
        }
        done(self)
    }
}

#[test]
fn a_kazoo_job_counts_on_the_ensemble_and_a_standby_master_takes_over() {
    let mut page = Page::new();
    // One master is elected through ZooKeeper; the other waits.
    let elected = page.run_until(3_000, |p| {
        let s = p.master_states();
        s.iter().any(|(_, st)| *st == "alive") && s.iter().any(|(_, st)| *st == "standby")
    });
    assert!(elected, "{:?}", page.master_states());
    let program = include_str!("../static/presets/zk_counter.py");
    let posts = page.spark.run(program, zkspark::spark::fs::bundled());
    page.dispatch(posts);
    let finished = page.run_until(6_000, |p| p.spark.jobs.finished.is_some());
    assert!(finished, "the job did not finish: {}", page.spark.jobs.stderr);
    assert_eq!(page.spark.jobs.stdout, include_str!("fixtures/presets/zk_counter.out"), "{}", page.spark.jobs.stderr);

    // Kill the ALIVE master: the standby takes over after the dead one's session expires.
    let (active, _) = page.master_states().into_iter().find(|(_, s)| *s == "alive").unwrap();
    let id = HA_BASE + active.trim_start_matches("master").parse::<NodeId>().unwrap();
    page.spark.kill(id);
    page.workers.remove(&id);
    let standby = if active == "master1" { "master2" } else { "master1" };
    let t0 = page.spark.now();
    let took_over = page.run_until(4_000, |p| p.master_states().iter().any(|(n, s)| n == standby && *s == "alive"));
    assert!(took_over, "{:?}", page.master_states());
    let failover = page.spark.now() - t0;
    // The dead master's latch lasts until its session expires (40 s granted).
    assert!((30_000..60_000).contains(&failover), "failover took {failover} ms");
    // The application's client follows the new master.
    let new_master = standby.trim_start_matches("master").parse::<NodeId>().unwrap();
    let follows = page.run_until(2_000, |p| {
        p.spark.snapshot().standalone.iter().any(|c| matches!(&c.view, Some(StandaloneView::App(a)) if a.master == Some(new_master)))
    });
    assert!(follows, "the application did not follow {standby}");
}
