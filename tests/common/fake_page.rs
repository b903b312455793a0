//! A stand-in for the page's Web-Worker runtime, shared by the conductor and live-client tests:
//! the conductor with one in-process `WorkerNode` per live worker (the code the real workers
//! run), posts handled at once and in order.
#![allow(dead_code)] // each test crate uses its own part

use std::collections::{BTreeMap, VecDeque};
use zkspark::live::{Conductor, Post, WorkerNode};
use zkspark::zab::Sid;

/// Stands in for the Web-Worker runtime: one `WorkerNode` per live worker, posts handled at once.
pub struct FakePage {
    pub conductor: Conductor,
    pub workers: BTreeMap<Sid, (u32, WorkerNode)>,
}

impl FakePage {
    pub fn new(n: u32) -> FakePage {
        FakePage::with_observers(n, 0)
    }

    pub fn with_observers(n: u32, observers: u32) -> FakePage {
        let conductor = Conductor::with_observers(n, observers, 7);
        let mut page = FakePage { conductor, workers: BTreeMap::new() };
        for sid in page.conductor.ids() {
            page.spawn(sid);
        }
        page
    }

    pub fn spawn(&mut self, sid: Sid) {
        let generation = self.conductor.generation(sid);
        self.workers.insert(sid, (generation, WorkerNode::default()));
        let posts = self.conductor.worker_ready(sid, generation);
        self.dispatch(posts);
    }

    /// Posts reach each worker in the order they were made, as `postMessage` guarantees.
    pub fn dispatch(&mut self, posts: Vec<Post>) {
        let mut posts: VecDeque<Post> = posts.into();
        while let Some(post) = posts.pop_front() {
            let Some((generation, worker)) = self.workers.get_mut(&post.sid) else { continue };
            if *generation != post.generation {
                continue;
            }
            let generation = *generation;
            match worker.handle(post.msg) {
                Ok(Some(out)) => posts.extend(self.conductor.worker_output(post.sid, generation, out)),
                Ok(None) => {}
                Err(message) => {
                    self.workers.remove(&post.sid);
                    self.conductor.worker_crashed(post.sid, generation, message);
                }
            }
        }
    }

    /// Runs `ms` of virtual time in 16 ms frames, as the page's animation loop does.
    pub fn run(&mut self, ms: u64) {
        for _ in 0..ms / 16 {
            let posts = self.conductor.advance(16.0);
            self.dispatch(posts);
        }
    }

    pub fn states(&self) -> Vec<&'static str> {
        self.conductor.snapshot().nodes.iter().map(|n| n.data_state()).collect()
    }

    pub fn leader(&self) -> Option<Sid> {
        self.conductor.snapshot().leader()
    }

    pub fn kill(&mut self, sid: Sid) {
        self.conductor.kill(sid);
        self.workers.remove(&sid);
    }

    pub fn restart(&mut self, sid: Sid) {
        self.conductor.restart(sid);
        self.spawn(sid);
    }

    /// One 16 ms animation frame; `host` is the page's client side (a client or a console).
    pub fn frame(&mut self, host: &mut dyn FnMut(&mut Conductor) -> Vec<Post>) {
        let posts = self.conductor.advance(16.0);
        self.dispatch(posts);
        let posts = host(&mut self.conductor);
        self.dispatch(posts);
    }
}
