//! Browser tests (wasm-bindgen-test in headless Chromium): the protocol passes the same checks
//! compiled to wasm, and the Yew server card renders the page's test contract.
#![cfg(target_arch = "wasm32")]

use std::cell::Cell;
use std::rc::Rc;
use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;
use web_sys::HtmlElement;
use yew::prelude::*;
use zkspark::live::{Conductor, NodeCard, NodeStatus};
use zkspark::scenario::{self, ScenarioOptions};
use zkspark::ui::server_card::{ServerCard, ServerCardProps};
use zkspark::zab::{ServerState, ServerView, Vote, ZabPhase, Zxid};

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
    }
}

#[wasm_bindgen_test]
async fn a_server_card_carries_the_test_contract() {
    let killed = Rc::new(Cell::new(None));
    let el = render(props(card(3, NodeStatus::Running, ServerState::Leading), killed.clone())).await;
    assert_eq!(el.get_attribute("data-node").as_deref(), Some("zk3"));
    assert_eq!(el.get_attribute("data-state").as_deref(), Some("leading"));
    assert!(el.text_content().unwrap().contains("0x200000005"), "shows the last zxid");
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
