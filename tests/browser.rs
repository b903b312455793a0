//! Browser tests (wasm-bindgen-test in headless Chromium): the protocol passes the same checks
//! compiled to wasm, and the Yew server card, znode tree and zkCli console render the page's
//! test contract.
#![cfg(target_arch = "wasm32")]

use std::cell::Cell;
use std::rc::Rc;
use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;
use web_sys::HtmlElement;
use yew::prelude::*;
use zkspark::live::client::{ConsoleOutput, ConsoleSnapshot};
use zkspark::live::{ClusterSnapshot, Conductor, NodeCard, NodeStatus};
use zkspark::scenario::{self, ScenarioOptions};
use zkspark::ui::console_panel::{ConsolePanel, ConsolePanelProps};
use zkspark::ui::server_card::{ServerCard, ServerCardProps};
use zkspark::ui::znode_tree::{TreeModel, ZnodeTree, ZnodeTreeProps};
use zkspark::zab::{ServerState, ServerView, Vote, ZabPhase, Zxid};
use zkspark::zk::cli::{Completion, ZkSession};
use zkspark::zk::local::{LocalOptions, LocalSession};
use zkspark::zk::{Acl, CreateMode, DataTree, Op};

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen_test]
fn simulated_ensembles_keep_their_properties_in_wasm() {
    for seed in 0..60 {
        let n = [3, 5, 7][(seed % 3) as usize];
        let report = scenario::run(&ScenarioOptions::new(seed, n, 60_000, true));
        assert!(report.violations.is_empty(), "seed {seed}: {:?}", report.violations);
    }
}

#[wasm_bindgen_test]
fn a_seed_replays_identically_in_wasm() {
    let opts = ScenarioOptions::new(11, 5, 30_000, true);
    assert_eq!(scenario::run(&opts).trace_hash, scenario::run(&opts).trace_hash);
}

#[wasm_bindgen_test]
fn the_conductor_runs_in_wasm() {
    let mut conductor = Conductor::new(3, 1);
    assert!(conductor.advance(50.0).is_empty(), "nothing posts before workers are ready");
    assert_eq!(conductor.snapshot().nodes.len(), 3);
}

fn card(sid: u32, status: NodeStatus, state: ServerState) -> NodeCard {
    let vote = Vote { leader: 3, zxid: Zxid::new(2, 5), peer_epoch: 2, election_epoch: 4, state };
    let view = ServerView {
        sid,
        state,
        phase: ZabPhase::Broadcast,
        current_epoch: 2,
        accepted_epoch: 2,
        last_zxid: Zxid::new(2, 5),
        vote,
        logicalclock: 4,
        leader: Some(3),
        followers: vec![],
        last_applied: Zxid::new(2, 4),
        tree: DataTree::new(),
        pipeline: vec![(Zxid::new(2, 5), vec![3, 1])],
        sessions: vec![],
        watched: vec![],
    };
    NodeCard { sid, status, view: Some(view), isolated: false }
}

async fn render(props: ServerCardProps) -> web_sys::Element {
    let root = gloo::utils::document().create_element("div").unwrap();
    gloo::utils::body().append_child(&root).unwrap();
    yew::Renderer::<ServerCard>::with_root_and_props(root.clone(), props).render();
    gloo::timers::future::TimeoutFuture::new(20).await;
    root.query_selector("[data-kind=\"zk-server\"]").unwrap().expect("a server card")
}

fn props(card: NodeCard, killed: Rc<Cell<Option<u32>>>) -> ServerCardProps {
    ServerCardProps {
        card,
        style: AttrValue::default(),
        on_kill: Callback::from(move |sid| killed.set(Some(sid))),
        on_restart: Callback::noop(),
        on_panic: Callback::noop(),
        on_isolate: Callback::noop(),
        ensemble: vec![1, 2, 3],
    }
}

#[wasm_bindgen_test]
async fn a_server_card_carries_the_test_contract() {
    let killed = Rc::new(Cell::new(None));
    let el = render(props(card(3, NodeStatus::Running, ServerState::Leading), killed.clone())).await;
    assert_eq!(el.get_attribute("data-node").as_deref(), Some("zk3"));
    assert_eq!(el.get_attribute("data-state").as_deref(), Some("leading"));
    assert!(el.text_content().unwrap().contains("0x200000005"), "shows the last zxid");
    let applied = el.query_selector("[data-field=\"applied\"]").unwrap().expect("the applied zxid");
    assert_eq!(applied.text_content().as_deref(), Some("0x200000004"));
    let proposal = el.query_selector("[data-testid=\"pipeline\"] [data-zxid=\"0x200000005\"]").unwrap();
    let proposal = proposal.expect("the leader lists its proposal in flight");
    assert_eq!(proposal.query_selector_all(".ack.on").unwrap().length(), 2, "acked by 3 and 1");
    assert!(proposal.text_content().unwrap().contains("2/2"), "2 acks of a quorum of 2");
    let kill: HtmlElement = el.query_selector("[data-action=\"kill\"]").unwrap().unwrap().unchecked_into();
    assert!(el.query_selector("[data-action=\"restart\"]").unwrap().is_none(), "a live server has no restart");
    kill.click();
    assert_eq!(killed.get(), Some(3), "kill reports the server id");
}

#[wasm_bindgen_test]
async fn a_dead_server_shows_down_with_restart() {
    let el = render(props(card(2, NodeStatus::Down, ServerState::Following), Rc::new(Cell::new(None)))).await;
    assert_eq!(el.get_attribute("data-state").as_deref(), Some("down"));
    assert!(el.query_selector("[data-action=\"restart\"]").unwrap().is_some());
    assert!(el.query_selector("[data-action=\"kill\"]").unwrap().is_none());
    let crashed =
        render(props(card(4, NodeStatus::Crashed("boom".into()), ServerState::Following), Rc::new(Cell::new(None))))
            .await;
    assert_eq!(crashed.get_attribute("data-state").as_deref(), Some("down"));
    assert!(crashed.text_content().unwrap().contains("boom"), "a crash says why");
}

/// A tree with `/demo` (data `hello`) and an ephemeral `/demo/eph`, as a standalone server
/// builds it; the session that owns the ephemeral.
fn demo_tree() -> (DataTree, u64) {
    let mut s = LocalSession::new(LocalOptions::default());
    let create = |path: &str, data: &str, mode| Op::Create {
        path: path.into(),
        data: data.as_bytes().to_vec(),
        acl: Acl::open_unsafe(),
        mode,
        ttl_ms: None,
    };
    s.call(create("/demo", "hello", CreateMode::Persistent)).unwrap();
    s.call(create("/demo/eph", "x", CreateMode::Ephemeral)).unwrap();
    (s.tree().clone(), s.session_id())
}

async fn mount<C: BaseComponent>(props: C::Properties) -> web_sys::Element {
    let root = gloo::utils::document().create_element("div").unwrap();
    gloo::utils::body().append_child(&root).unwrap();
    yew::Renderer::<C>::with_root_and_props(root.clone(), props).render();
    gloo::timers::future::TimeoutFuture::new(20).await;
    root
}

#[wasm_bindgen_test]
async fn a_znode_tree_marks_ephemerals_and_watches_and_shows_the_stat() {
    let (tree, session) = demo_tree();
    let mut node = card(2, NodeStatus::Running, ServerState::Following);
    let view = node.view.as_mut().unwrap();
    view.tree = tree;
    view.watched = vec!["/demo".into()];
    let snapshot = Rc::new(ClusterSnapshot {
        now_ms: 0,
        paused: false,
        speed: 1.0,
        nodes: vec![node],
        log: vec![],
        flights: vec![],
        stats: Default::default(),
    });
    let model = TreeModel {
        digest: snapshot.nodes[0].view.as_ref().unwrap().tree.digest(),
        snapshot,
        sid: 2,
        selected: Some("/demo".into()),
        console_session: Some(session),
        console_server: Some(2),
    };
    let picked = Rc::new(Cell::new(None));
    let on_pick = {
        let picked = picked.clone();
        Callback::from(move |sid| picked.set(Some(sid)))
    };
    let root = mount::<ZnodeTree>(ZnodeTreeProps { model, on_pick, on_select: Callback::noop() }).await;
    let demo = root.query_selector("[data-znode=\"/demo\"]").unwrap().expect("an entry per znode");
    let classes = demo.get_attribute("class").unwrap_or_default();
    assert!(classes.split(' ').any(|c| c == "watched"), "a watched node is marked: {classes}");
    let eph = root.query_selector("[data-znode=\"/demo/eph\"]").unwrap().expect("the ephemeral");
    assert!(eph.text_content().unwrap().contains(&format!("eph 0x{session:x} (zkCli)")), "owner shown");
    assert!(root.query_selector("[data-znode=\"/zookeeper/quota\"]").unwrap().is_some());
    let stat = root.query_selector("[data-testid=\"znode-stat\"]").unwrap().expect("the selected node's Stat");
    let text = stat.text_content().unwrap();
    assert!(text.starts_with("hello\ncZxid = 0x2\nctime = "), "{text}");
    assert!(text.ends_with("dataLength = 5\nnumChildren = 1\n"), "{text}");
    let pick: HtmlElement = root.query_selector("[data-tree-server=\"zk2\"]").unwrap().unwrap().unchecked_into();
    pick.click();
    assert_eq!(picked.get(), Some(2));
}

#[wasm_bindgen_test]
async fn the_console_panel_carries_the_test_contract() {
    let snapshot = ConsoleSnapshot {
        version: 2,
        transcript: vec![
            ConsoleOutput::Echo { prompt: "[zk: 127.0.0.1:2181(CONNECTED) 0] ".into(), line: "get /demo".into() },
            ConsoleOutput::Text("hello\n".into()),
        ],
        prompt: "[zk: 127.0.0.1:2181(CONNECTED) 1] ".into(),
        busy: false,
        exited: false,
        state: "CONNECTED",
        session: Some(0x100000001000001),
        server: Some(1),
    };
    let props = ConsolePanelProps {
        console: Some(Rc::new(snapshot)),
        on_submit: Callback::noop(),
        on_complete: Callback::from(|_: (String, usize)| Completion { start: 0, candidates: vec![] }),
        servers: vec![1, 2, 3],
    };
    let root = mount::<ConsolePanel>(props).await;
    let output = root.query_selector("[data-testid=\"zk-console-output\"]").unwrap().expect("the output");
    assert_eq!(output.text_content().as_deref(), Some("[zk: 127.0.0.1:2181(CONNECTED) 0] get /demo\nhello\n"));
    assert!(root.query_selector("input[data-testid=\"zk-console-input\"]").unwrap().is_some());
    let prompt = root.query_selector("[data-testid=\"zk-console-prompt\"]").unwrap().unwrap();
    assert_eq!(prompt.text_content().as_deref(), Some("[zk: 127.0.0.1:2181(CONNECTED) 1] "));
    let status = root.query_selector("[data-testid=\"zk-console-status\"]").unwrap().unwrap().text_content().unwrap();
    assert!(status.contains("session 0x100000001000001") && status.contains("on zk1"), "{status}");
    assert_eq!(root.query_selector_all("[data-connect]").unwrap().length(), 3, "a connect button per server");
}

// ----- Spark -----

const WORDCOUNT: &str = include_str!("../static/presets/wordcount.py");
const WORDCOUNT_OUT: &str = include_str!("fixtures/presets/wordcount.out");

#[wasm_bindgen_test]
fn a_pyspark_program_runs_on_the_simulated_cluster_in_wasm_through_an_executor_kill() {
    use zkspark::spark::world::{run_on_cluster, ClusterOptions};
    let clean = run_on_cluster(WORDCOUNT, "wordcount.py", zkspark::spark::fs::bundled(), &ClusterOptions::default());
    assert!(clean.ok, "{}", clean.stderr);
    assert_eq!(clean.stdout, WORDCOUNT_OUT);
    let opts = ClusterOptions { kills: vec![(1, 700)], ..ClusterOptions::default() };
    let r = run_on_cluster(WORDCOUNT, "wordcount.py", zkspark::spark::fs::bundled(), &opts);
    assert_eq!(r.stdout, WORDCOUNT_OUT, "{}", r.stderr);
    assert!(r.listener().any(|e| matches!(e, zkspark::spark::SparkEvent::ExecutorRemoved { executor: 1, .. })));
}

fn spark_snapshot() -> zkspark::live::spark::SparkSnapshot {
    use zkspark::live::spark::{SparkConductor, SparkWorkerNode};
    // The page's host with in-process workers, run until the word count finished.
    let mut c = SparkConductor::new(zkspark::spark::cluster::ClusterConfig::default(), 3);
    let mut workers: std::collections::BTreeMap<u32, SparkWorkerNode> = Default::default();
    let mut posts = vec![];
    for id in c.ids() {
        workers.insert(id, SparkWorkerNode::default());
        posts.extend(c.worker_ready(id, c.generation(id)));
    }
    posts.extend(c.run(WORDCOUNT, zkspark::spark::fs::bundled()));
    for _ in 0..4_000 {
        while !posts.is_empty() {
            let mut next = vec![];
            for p in posts {
                if let Some(out) = workers.get_mut(&p.node).and_then(|w| w.handle(p.msg)) {
                    next.extend(c.worker_output(p.node, p.generation, out));
                }
            }
            posts = next;
        }
        if c.jobs.finished.is_some() {
            break;
        }
        posts = c.advance(50.0);
    }
    c.snapshot()
}

#[wasm_bindgen_test]
async fn the_spark_view_renders_stages_executors_and_output() {
    use zkspark::ui::spark_panel::{SparkPanel, SparkPanelProps};
    let snapshot = Rc::new(spark_snapshot());
    assert_eq!(snapshot.jobs.stdout, WORDCOUNT_OUT);
    let root = gloo::utils::document().create_element("div").unwrap();
    gloo::utils::body().append_child(&root).unwrap();
    let killed = Rc::new(Cell::new(None));
    let k = killed.clone();
    let props = SparkPanelProps {
        snapshot: Some(snapshot.clone()),
        on_run: Callback::noop(),
        on_cancel: Callback::noop(),
        shape: (2, 2),
        on_shape: Callback::noop(),
        on_kill: Callback::from(move |id| k.set(Some(id))),
        on_restart: Callback::noop(),
        on_isolate: Callback::noop(),
    };
    yew::Renderer::<SparkPanel>::with_root_and_props(root.clone(), props).render();
    gloo::timers::future::TimeoutFuture::new(20).await;
    let output = root.query_selector("[data-testid=\"job-output\"]").unwrap().expect("output");
    assert_eq!(output.text_content().unwrap_or_default(), WORDCOUNT_OUT);
    assert!(root.query_selector("[data-testid=\"job-editor\"]").unwrap().is_some());
    assert!(root.query_selector("[data-action=\"run-job\"]").unwrap().is_some());
    let stages = root.query_selector_all("[data-stage]").unwrap();
    assert_eq!(stages.length() as usize, snapshot.jobs.stages.len());
    for i in 0..stages.length() {
        let el: web_sys::Element = stages.item(i).unwrap().unchecked_into();
        assert_eq!(el.get_attribute("data-status").as_deref(), Some("succeeded"));
    }
    let exec1 = root.query_selector("[data-node=\"exec1\"][data-kind=\"spark-executor\"]").unwrap().expect("exec1");
    assert_eq!(exec1.get_attribute("data-state").as_deref(), Some("alive"));
    let kill: HtmlElement = exec1.query_selector("[data-action=\"kill\"]").unwrap().expect("kill").unchecked_into();
    kill.click();
    assert_eq!(killed.get(), Some(1));
    root.remove();
}

#[wasm_bindgen_test]
fn a_kazoo_job_counts_on_the_simulated_ensemble_in_wasm() {
    use zkspark::spark::world::{run_on_cluster, ClusterOptions};
    let src = include_str!("../static/presets/zk_counter_idempotent.py");
    let opts = ClusterOptions { kills: vec![(1, 600)], zk_kills: vec![(3, 300)], ..ClusterOptions::default() };
    let r = run_on_cluster(src, "zk.py", zkspark::spark::fs::bundled(), &opts);
    assert_eq!(r.stdout, include_str!("fixtures/presets/zk_counter_idempotent.out"), "{}", r.stderr);
    assert!(r.zk_samples.iter().any(|s| s.kind == "multi"));
}
