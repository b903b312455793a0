//! The root component: control bar on top, the ensemble ring with the election log beside it,
//! and below them zkCli and a server's znode tree.

use super::console_panel::ConsolePanel;
use super::control_bar::ControlBar;
use super::election_log::ElectionLog;
use super::ensemble::Ensemble;
use super::hooks::{use_cluster, use_spark};
use super::metrics_panel::MetricsPanel;
use super::spark_panel::SparkPanel;
use super::state::{Action, UiState, View};
use super::znode_tree::{TreeModel, ZnodeTree};
use crate::live::ClusterSnapshot;
use crate::zab::Sid;
use crate::zk::cli::Completion;
use std::rc::Rc;
use yew::prelude::*;

/// The tree panel's model: the picked server (by default the one zkCli is on), its tree's
/// digest and the selection.
fn tree_model(state: &UiState, snapshot: &Rc<ClusterSnapshot>) -> TreeModel {
    let console_server = state.console.as_ref().and_then(|c| c.server);
    let sid = state.tree_server.or(console_server).unwrap_or(1);
    let digest = snapshot
        .nodes
        .iter()
        .find(|n| n.sid == sid && n.data_state() != "down")
        .and_then(|n| n.view.as_ref())
        .map_or(0, |v| v.tree.digest());
    TreeModel {
        snapshot: snapshot.clone(),
        sid,
        digest,
        selected: state.selected_znode.clone(),
        console_session: state.console.as_ref().and_then(|c| c.session),
        console_server,
    }
}

#[function_component(App)]
pub fn app() -> Html {
    let state = use_reducer(UiState::default);
    let cluster = use_cluster(state.n_servers, state.observers, state.epoch_of_page, state.dispatcher());
    let spark = use_spark(state.spark_shape, state.dispatcher());

    let act = |f: fn(&crate::runtime::LiveCluster, Sid)| {
        let cluster = cluster.clone();
        Callback::from(move |sid: Sid| {
            if let Some(c) = &cluster {
                f(c, sid)
            }
        })
    };
    let on_kill = act(|c, sid| c.kill(sid));
    let on_restart = act(|c, sid| c.restart(sid));
    let on_panic = act(|c, sid| c.inject_panic(sid));
    let on_isolate = {
        let cluster = cluster.clone();
        Callback::from(move |(sid, on): (Sid, bool)| cluster.iter().for_each(|c| c.set_isolated(sid, on)))
    };
    // One clock setting for both worlds.
    let on_pause = {
        let (cluster, spark) = (cluster.clone(), spark.clone());
        Callback::from(move |paused: bool| {
            cluster.iter().for_each(|c| c.set_paused(paused));
            spark.iter().for_each(|s| s.set_paused(paused));
        })
    };
    let on_speed = {
        let (cluster, spark) = (cluster.clone(), spark.clone());
        Callback::from(move |speed: f64| {
            cluster.iter().for_each(|c| c.set_speed(speed));
            spark.iter().for_each(|s| s.set_speed(speed));
        })
    };
    let spark_act = |f: fn(&crate::runtime::LiveSpark, crate::sim::NodeId)| {
        let spark = spark.clone();
        Callback::from(move |id: crate::sim::NodeId| spark.iter().for_each(|s| f(s, id)))
    };
    let on_spark_kill = spark_act(|s, id| s.kill(id));
    let on_spark_restart = spark_act(|s, id| s.restart(id));
    let on_spark_isolate = spark_act(|s, id| s.isolate_zk(id, 15_000));
    let on_run = {
        let spark = spark.clone();
        Callback::from(move |src: String| spark.iter().for_each(|s| s.run(&src)))
    };
    let on_shape = {
        let dispatch = state.dispatcher();
        Callback::from(move |(x, c): (u32, u32)| dispatch.dispatch(Action::SparkShape(x, c)))
    };
    let on_cancel = {
        let spark = spark.clone();
        Callback::from(move |_| spark.iter().for_each(|s| s.cancel()))
    };
    let show = |v: View| {
        let dispatch = state.dispatcher();
        Callback::from(move |_: MouseEvent| dispatch.dispatch(Action::Show(v)))
    };
    let on_write = {
        let cluster = cluster.clone();
        Callback::from(move |_| cluster.iter().for_each(|c| c.client_write()))
    };
    let on_size = {
        let dispatch = state.dispatcher();
        Callback::from(move |n: u32| dispatch.dispatch(Action::SetSize(n)))
    };
    let on_observers = {
        let dispatch = state.dispatcher();
        Callback::from(move |n: u32| dispatch.dispatch(Action::SetObservers(n)))
    };
    let on_reset = {
        let dispatch = state.dispatcher();
        Callback::from(move |_| dispatch.dispatch(Action::Reset))
    };
    // Stable callbacks (memoized on what they use), so the console and the tree re-render
    // only when what they show changes, not on every frame.
    let on_submit = use_callback(cluster.clone(), |line: String, cluster| {
        cluster.iter().for_each(|c| c.console_submit(&line))
    });
    let on_complete = use_callback(cluster.clone(), |(line, cursor): (String, usize), cluster| match cluster {
        Some(c) => c.console_complete(&line, cursor),
        None => Completion { start: 0, candidates: Vec::new() },
    });
    let on_pick = use_callback(state.dispatcher(), |sid: Sid, dispatch| dispatch.dispatch(Action::PickTreeServer(sid)));
    let on_select =
        use_callback(state.dispatcher(), |path: Option<String>, dispatch| dispatch.dispatch(Action::SelectZnode(path)));

    let on_drop_reply = {
        let cluster = cluster.clone();
        Callback::from(move |_: MouseEvent| cluster.iter().for_each(|c| c.drop_next_reply("setData")))
    };
    // Beside Spark, the ensemble its kazoo sessions live on: the servers (kill one while a job
    // runs) and the tree its tasks write.
    let zk_side = match &state.snapshot {
        Some(snapshot) => html! {
            <section class="workspace zk-side">
                <section class="panel zk-strip-panel">
                    <h2>{ "ZooKeeper ensemble (127.0.0.1:2181 in the jobs)" }</h2>
                    <div class="zk-strip">
                        { for snapshot.nodes.iter().map(|n| {
                            let sid = n.sid;
                            let state_name = n.data_state();
                            let down = state_name == "down";
                            let (kill, restart) = (on_kill.clone(), on_restart.clone());
                            html! {
                                <div class={classes!("zk-chip", state_name)} data-node={format!("zk{sid}")} data-kind="zk-chip" data-state={state_name}>
                                    <b>{ format!("zk{sid}") }</b>
                                    <span class="muted">{ state_name }</span>
                                    if down {
                                        <button class="btn btn-small" data-action="restart" onclick={Callback::from(move |_| restart.emit(sid))}>{ "Restart" }</button>
                                    } else {
                                        <button class="btn btn-small btn-danger" data-action="kill" onclick={Callback::from(move |_| kill.emit(sid))}>{ "Kill" }</button>
                                    }
                                </div>
                            }
                        }) }
                    </div>
                    <button class="btn btn-small" data-action="drop-reply" onclick={on_drop_reply}
                        title="the server applies the next setData a task sends, but its reply is lost: kazoo sees ConnectionLoss and retries">
                        { "Lose the next setData reply" }
                    </button>
                </section>
                <section class="panel tree-panel">
                    <ZnodeTree model={tree_model(&state, snapshot)} on_pick={on_pick.clone()} on_select={on_select.clone()} />
                </section>
            </section>
        },
        None => html! {},
    };
    let body = match &state.snapshot {
        Some(snapshot) => html! {
            <main class={classes!("workspace", (state.view != View::ZooKeeper).then_some("hidden"))}>
                <section class="panel ensemble-panel">
                    <Ensemble snapshot={snapshot.clone()} {on_kill} {on_restart} {on_panic} {on_isolate} />
                </section>
                <aside class="panel log-panel">
                    <ElectionLog snapshot={snapshot.clone()} />
                </aside>
                <section class="panel console-panel">
                    <ConsolePanel console={state.console.clone()} {on_submit} {on_complete} servers={snapshot.nodes.iter().map(|n| n.sid).collect::<Vec<_>>()} />
                </section>
                <section class="panel tree-panel">
                    <ZnodeTree model={tree_model(&state, snapshot)} {on_pick} {on_select} />
                </section>
            </main>
        },
        None => html! { <main class={classes!("workspace", "loading", (state.view != View::ZooKeeper).then_some("hidden"))}>{ "starting servers…" }</main> },
    };
    let spark_body = html! {
        <div class={classes!((state.view != View::Spark).then_some("hidden"))}>
            <SparkPanel snapshot={state.spark.clone()} shape={state.spark_shape} {on_shape} {on_run} {on_cancel} on_kill={on_spark_kill} on_restart={on_spark_restart} on_isolate={on_spark_isolate} />
            { zk_side }
        </div>
    };
    let on_chaos = {
        let cluster = cluster.clone();
        let targets: Vec<String> = (1..=state.n_servers)
            .map(|s| format!("zk{s}"))
            .chain((1..=state.spark_shape.0).map(|x| format!("exec{x}")))
            .chain((1..=2).map(|m| format!("master{m}")))
            .collect();
        Callback::from(move |mean: Option<u64>| {
            cluster.iter().for_each(|c| match mean {
                Some(ms) => c.start_chaos(0xC4A05 ^ ms, ms, 5_000, &targets),
                None => c.stop_chaos(),
            })
        })
    };
    let metrics_body = html! {
        <div class={classes!((state.view != View::Metrics).then_some("hidden"))}>
            <MetricsPanel view={state.metrics.clone()} {on_chaos} />
        </div>
    };
    let tab = |v: View, label: &str, key: &str| html! {
        <button class={classes!("tab", (state.view == v).then_some("on"))} data-view={key.to_string()} onclick={show(v)}>{ label.to_string() }</button>
    };

    html! {
        <div class="app">
            <header class="topbar">
                <div class="brand">
                    <span class="logo">{ "zk" }<b>{ "spark" }</b></span>
                    <nav class="tabs">
                        { tab(View::ZooKeeper, "ZooKeeper ensemble", "zk") }
                        { tab(View::Spark, "Spark job", "spark") }
                        { tab(View::Metrics, "Metrics & chaos", "metrics") }
                    </nav>
                </div>
                <ControlBar
                    snapshot={state.snapshot.clone()}
                    n_servers={state.n_servers}
                    observers={state.observers}
                    {on_observers}
                    {on_pause} {on_speed} {on_size} {on_write} {on_reset}
                />
            </header>
            { body }
            { spark_body }
            { metrics_body }
            if state.view == View::Metrics {
                <footer class="help">
                    { "The figures follow the tutorial's formulas, in virtual time: throughput is completed requests (and tasks) per second; latency is reply time minus request time per ZooKeeper op; MTTR is the mean time from a failure to its recovery; MTBF is up time divided by the number of failures. Kill servers, executors or the active master in the other tabs, or start chaos here, and watch each failure and its repair. In the page, request latencies are counted in frames: a request and its reply each wait for the next frame (33–50 ms of wall time, times the speed) between the Spark and ZooKeeper sides; `zkspark run --json` reports the protocol's own, to the millisecond." }
                </footer>
            } else if state.view == View::Spark {
                <footer class="help">
                    { "Pick a preset and press Run. The driver (its own worker) turns each action into a job, cuts it into stages at shuffles and sends tasks to the executors (one worker each; pick how many and their cores on the right). Kill an executor while a stage runs: its running tasks are lost and re-run elsewhere, its shuffle output is gone, so the next stage fails to fetch it (FetchFailed) and the parent stage runs again from lineage; the answer does not change. Restart brings a new executor process on that worker." }
                </footer>
            } else {
            <footer class="help">
                { "Kill the leader and watch the survivors run Fast Leader Election: votes compare epoch, then zxid, then server id; a quorum agrees, waits 200 ms (finalizeWait) for a better vote, and the winner runs ZAB discovery (FOLLOWERINFO → LEADERINFO → ACKEPOCH → NEWLEADER → ACK → UPTODATE) to become established. A killed process resets its connections at once; a partitioned one is noticed only after syncLimit × tickTime (10 s). Below, zkCli talks to the ensemble (server k is 127.0.0.1:218k): create an ephemeral, kill the server its session is on, and watch the session move while the znode stays." }
            </footer>
            }
        </div>
    }
}
