//! The page's Spark host without a browser: `SparkConductor` with every worker replaced by an
//! in-process `SparkWorkerNode`, moved by the same posts the page would `postMessage`. A word
//! count runs to the recorded answer; killing an executor mid-stage shows the stage retrying
//! and the executor down, and the answer does not change.

use std::collections::BTreeMap;
use zkspark::live::jobs::StageStatus;
use zkspark::live::spark::{SparkConductor, SparkPost, SparkWorkerNode};
use zkspark::sim::NodeId;
use zkspark::spark::cluster::ClusterConfig;

const PRESET: &str = include_str!("../static/presets/wordcount.py");
const WANT: &str = include_str!("fixtures/presets/wordcount.out");

struct Page {
    conductor: SparkConductor,
    workers: BTreeMap<NodeId, (u32, SparkWorkerNode)>,
}

impl Page {
    fn new() -> Page {
        let conductor = SparkConductor::new(ClusterConfig::default(), 7);
        let mut page = Page { conductor, workers: BTreeMap::new() };
        for id in page.conductor.ids() {
            page.spawn(id);
        }
        page
    }

    fn spawn(&mut self, id: NodeId) {
        let generation = self.conductor.generation(id);
        self.workers.insert(id, (generation, SparkWorkerNode::default()));
        let posts = self.conductor.worker_ready(id, generation);
        self.deliver(posts);
    }

    fn deliver(&mut self, mut posts: Vec<SparkPost>) {
        while !posts.is_empty() {
            let mut next = vec![];
            for p in posts {
                let Some((generation, worker)) = self.workers.get_mut(&p.node) else { continue };
                if *generation != p.generation {
                    continue;
                }
                if let Some(out) = worker.handle(p.msg) {
                    let g = *generation;
                    next.extend(self.conductor.worker_output(p.node, g, out));
                }
            }
            posts = next;
        }
    }

    /// One 50 ms frame.
    fn frame(&mut self) {
        let posts = self.conductor.advance(50.0);
        self.deliver(posts);
    }

    fn run_until(&mut self, mut done: impl FnMut(&Page) -> bool, max_frames: u32) -> bool {
        for _ in 0..max_frames {
            if done(self) {
                return true;
            }
            self.frame();
        }
        done(self)
    }

    fn kill(&mut self, id: NodeId) {
        self.conductor.kill(id);
        self.workers.remove(&id);
    }

    fn restart(&mut self, id: NodeId) {
        self.conductor.restart(id);
        self.spawn(id);
    }
}

#[test]
fn a_word_count_runs_on_the_page_host() {
    let mut page = Page::new();
    assert!(page.run_until(|p| p.conductor.snapshot().executors.iter().all(|e| e.view.is_some()), 20));
    let posts = page.conductor.run(PRESET, zkspark::spark::fs::bundled());
    page.deliver(posts);
    assert!(page.run_until(|p| p.conductor.jobs.finished.is_some(), 2_000), "the job did not finish");
    let s = page.conductor.snapshot();
    assert_eq!(s.jobs.finished.map(|f| f.0), Some(true), "{}", s.jobs.stderr);
    assert_eq!(s.jobs.stdout, WANT);
    assert!(s.jobs.stages.values().all(|st| st.status == StageStatus::Succeeded), "{:?}", s.jobs.stages);
    assert_eq!(s.jobs.jobs.len(), 5);
    assert!(s.jobs.timeline.iter().any(|e| e.text.starts_with("job 4 succeeded")));
}

#[test]
fn killing_an_executor_mid_stage_retries_and_keeps_the_answer() {
    let mut page = Page::new();
    let posts = page.conductor.run(PRESET, zkspark::spark::fs::bundled());
    page.deliver(posts);
    // Wait until exec1 runs a task of a stage that reads a shuffle (the second stage).
    let busy = |p: &Page| {
        let s = p.conductor.snapshot();
        let exec1_busy = s.executors.iter().any(|e| {
            e.id == 1 && matches!(&e.view, Some(zkspark::spark::cluster::SparkView::Executor { running, .. }) if !running.is_empty())
        });
        exec1_busy && s.jobs.stages.get(&1).is_some_and(|st| st.status == StageStatus::Running)
    };
    assert!(page.run_until(busy, 2_000), "exec1 never ran a task of stage 1");
    page.kill(1);
    let s = page.conductor.snapshot();
    assert_eq!(s.executors.iter().find(|e| e.id == 1).map(|e| e.data_state()), Some("down"));
    let retried = |p: &Page| p.conductor.jobs.stages.values().any(|st| st.status == StageStatus::Retrying);
    assert!(page.run_until(retried, 400), "no stage retried after the kill");
    page.restart(1);
    assert!(page.run_until(|p| p.conductor.jobs.finished.is_some(), 4_000), "the job did not finish");
    let s = page.conductor.snapshot();
    assert_eq!(s.jobs.stdout, WANT, "{}", s.jobs.stderr);
    assert!(s.jobs.stages.values().any(|st| st.lost_tasks > 0 || st.failed_tasks > 0));
    assert!(s.jobs.timeline.iter().any(|e| e.text.contains("executor 1 removed")));
    assert_eq!(s.executors.iter().find(|e| e.id == 1).map(|e| e.data_state()), Some("alive"));
}

#[test]
fn cancel_stops_the_program_and_the_next_run_works() {
    let mut page = Page::new();
    let posts = page.conductor.run(include_str!("../static/presets/stages.py"), zkspark::spark::fs::bundled());
    page.deliver(posts);
    assert!(page.run_until(|p| p.conductor.jobs.stages.values().any(|s| s.status == StageStatus::Running), 400));
    let posts = page.conductor.cancel();
    page.deliver(posts);
    assert!(page.run_until(|p| p.conductor.jobs.finished.is_some(), 10));
    let s = page.conductor.snapshot();
    assert_eq!(s.jobs.finished.map(|f| f.0), Some(false));
    assert!(s.jobs.stderr.contains("KeyboardInterrupt"), "{}", s.jobs.stderr);
    assert!(s.jobs.jobs.iter().any(|j| j.status == "failed"));
    // The cancelled job's tasks drain; a new program runs to its recorded answer.
    let posts = page.conductor.run(PRESET, zkspark::spark::fs::bundled());
    page.deliver(posts);
    assert!(page.run_until(|p| p.conductor.jobs.finished.is_some(), 4_000));
    assert_eq!(page.conductor.snapshot().jobs.stdout, WANT);
}

#[test]
fn a_lost_driver_ends_the_program_and_a_new_one_comes_with_new_executors() {
    let mut page = Page::new();
    let posts = page.conductor.run(PRESET, zkspark::spark::fs::bundled());
    page.deliver(posts);
    assert!(page.run_until(|p| !p.conductor.jobs.jobs.is_empty(), 400));
    page.kill(0);
    let s = page.conductor.snapshot();
    assert_eq!(s.driver.data_state(), "down");
    assert_eq!(s.jobs.finished.map(|f| f.0), Some(false), "the program ends with its driver");
    assert!(s.jobs.stderr.contains("driver"));
    for id in page.conductor.restart_driver() {
        page.workers.remove(&id);
        page.spawn(id);
    }
    assert!(page.run_until(|p| p.conductor.snapshot().executors.iter().all(|e| e.view.is_some()), 40));
    let posts = page.conductor.run(PRESET, zkspark::spark::fs::bundled());
    page.deliver(posts);
    assert!(page.run_until(|p| p.conductor.jobs.finished.is_some(), 4_000));
    assert_eq!(page.conductor.snapshot().jobs.stdout, WANT);
}
