//! One ZooKeeper server: id, state, epochs, last zxid and vote, its ZAB phase (highlighted
//! while it recovers: discovery, synchronization), the last txn applied to its tree, its client
//! sessions, and for the leader the commit pipeline (each proposal in flight with the servers
//! that acked it); with kill and restart.
//! Test contract: `data-node="zkN"`, `data-kind="zk-server"`, `data-state` = looking |
//! following | leading | observing | down; buttons `data-action="kill"` / `"restart"`; fields
//! `data-field="phase"`, `"applied"`, and for the leader `"pipeline"` (how many in flight) with
//! the proposals listed under `data-testid="pipeline"` (entries `data-zxid`).

use crate::live::{NodeCard, NodeStatus};
use crate::zab::{Sid, ZabPhase};
use yew::prelude::*;

#[derive(Properties, PartialEq)]
pub struct ServerCardProps {
    pub card: NodeCard,
    #[prop_or_default]
    pub style: AttrValue,
    pub on_kill: Callback<Sid>,
    pub on_restart: Callback<Sid>,
    pub on_panic: Callback<Sid>,
    /// (server, isolate?) — cut it off from the network, or heal.
    pub on_isolate: Callback<(Sid, bool)>,
    /// Every server of the ensemble (the leader's pipeline shows who has not acked yet).
    #[prop_or_default]
    pub ensemble: Vec<Sid>,
}

/// Proposals listed on the leader's card (the rest are counted).
const MAX_PIPELINE_SHOWN: usize = 4;

fn phase_name(phase: ZabPhase) -> &'static str {
    match phase {
        ZabPhase::Election => "election",
        ZabPhase::Discovery => "discovery",
        ZabPhase::Synchronization => "synchronization",
        ZabPhase::Broadcast => "broadcast",
    }
}

#[function_component(ServerCard)]
pub fn server_card(props: &ServerCardProps) -> Html {
    let card = &props.card;
    let sid = card.sid;
    let state = card.data_state();
    let alive = matches!(card.status, NodeStatus::Starting | NodeStatus::Running);
    let kill = props.on_kill.reform(move |_: MouseEvent| sid);
    let restart = props.on_restart.reform(move |_: MouseEvent| sid);
    let panic = props.on_panic.reform(move |_: MouseEvent| sid);
    let isolated = card.isolated;
    let isolate = props.on_isolate.reform(move |_: MouseEvent| (sid, !isolated));
    let recovering = card.view.as_ref().is_some_and(|v| matches!(v.phase, ZabPhase::Discovery | ZabPhase::Synchronization))
        && matches!(card.status, NodeStatus::Running);

    let body = match (&card.status, &card.view) {
        (NodeStatus::Crashed(why), _) => {
            html! { <p class="crash" title={why.clone()}>{ "worker crashed: " }{ why }</p> }
        }
        (NodeStatus::Down, _) => {
            html! { <p class="muted">{ "process killed; its disk (currentEpoch, acceptedEpoch, log) is kept" }</p> }
        }
        (_, None) => html! { <p class="muted">{ "loading worker…" }</p> },
        (_, Some(v)) => {
            let vote = format!("zk{} · {} · e{}", v.vote.leader, v.vote.zxid, v.vote.peer_epoch);
            let recovering = matches!(v.phase, ZabPhase::Discovery | ZabPhase::Synchronization);
            let quorum = props.ensemble.len() / 2 + 1;
            let more = v.pipeline.len().saturating_sub(MAX_PIPELINE_SHOWN);
            let pipeline = v.pipeline.iter().take(MAX_PIPELINE_SHOWN).map(|(zxid, ackers)| {
                let voters = if props.ensemble.is_empty() { ackers.clone() } else { props.ensemble.clone() };
                html! {
                    <li data-zxid={zxid.to_string()} title="a proposal in flight: committed once a quorum has acked it">
                        <span class="pz">{ zxid.to_string() }</span>
                        { for voters.iter().map(|s| html! {
                            <i class={classes!("ack", ackers.contains(s).then_some("on"))}
                                title={ if ackers.contains(s) { format!("zk{s} acked") } else { format!("zk{s} has not acked yet") } }>{ format!("{s}") }</i>
                        }) }
                        if quorum > 1 { <span class="pq">{ format!("{}/{quorum}", ackers.len()) }</span> }
                    </li>
                }
            });
            html! {
                <>
                <dl class="facts">
                    <dt>{ "epoch" }</dt>
                    <dd data-field="epoch" title="currentEpoch / acceptedEpoch">{ format!("{} / {}", v.current_epoch, v.accepted_epoch) }</dd>
                    <dt>{ "last zxid" }</dt>
                    <dd data-field="zxid">{ v.last_zxid.to_string() }</dd>
                    <dt>{ "vote" }</dt>
                    <dd data-field="vote" title="proposed leader · its zxid · its epoch">{ vote }</dd>
                    <dt>{ "round" }</dt>
                    <dd title="logicalclock (election epoch)">{ v.logicalclock }</dd>
                    <dt>{ "phase" }</dt>
                    <dd data-field="phase" class={classes!(recovering.then_some("recovering"))}
                        title="ZAB phase: election → discovery → synchronization → broadcast">{ phase_name(v.phase) }</dd>
                    <dt>{ "applied" }</dt>
                    <dd data-field="applied" title="the last committed txn applied to this server's tree">{ v.last_applied.to_string() }</dd>
                    if !v.sessions.is_empty() {
                        <dt>{ "clients" }</dt>
                        <dd data-field="clients" title="client sessions connected to this server">
                            { v.sessions.iter().map(|s| format!("0x{s:x}")).collect::<Vec<_>>().join(" ") }
                        </dd>
                    }
                    if state == "leading" {
                        <dt>{ "synced" }</dt>
                        <dd data-field="synced" title="followers synced with this leader">
                            { if v.followers.is_empty() { "none".to_string() }
                              else { v.followers.iter().map(|f| format!("zk{f}")).collect::<Vec<_>>().join(" ") } }
                        </dd>
                        <dt>{ "pipeline" }</dt>
                        <dd data-field="pipeline" title="proposals in flight, with the servers that acked each">
                            if v.pipeline.is_empty() { <span class="muted">{ "idle" }</span> }
                            else { { format!("{} in flight", v.pipeline.len()) } }
                        </dd>
                    }
                </dl>
                if state == "leading" && !v.pipeline.is_empty() {
                    <ul class="pipeline" data-testid="pipeline">
                        { for pipeline }
                        if more > 0 { <li class="muted">{ format!("+{more} more") }</li> }
                    </ul>
                }
                </>
            }
        }
    };

    html! {
        <article class={classes!("server", state, isolated.then_some("isolated"), recovering.then_some("recovering"))} style={props.style.clone()}
            data-node={format!("zk{sid}")} data-kind="zk-server" data-state={state}>
            <header>
                <span class="sid">{ format!("zk{sid}") }
                    if isolated { <span class="cut" title="partitioned from every other server">{ "✂ cut off" }</span> }
                </span>
                <span class={classes!("badge", state)}>
                    { if state == "leading" { "♛ LEADING".to_string() } else { state.to_uppercase() } }
                </span>
            </header>
            { body }
            <footer>
                if alive {
                    <button class="btn btn-danger" data-action="kill" onclick={kill}>{ "Kill" }</button>
                    <button class="btn btn-ghost btn-small" data-action={if isolated { "heal" } else { "isolate" }} onclick={isolate}
                        title="Partition this server from all others: no reset is sent, peers notice by timeout">
                        { if isolated { "heal" } else { "isolate" } }
                    </button>
                    <button class="btn btn-ghost btn-small" data-action="panic" onclick={panic}
                        title="Make this worker panic, as a bug would">{ "panic" }</button>
                } else {
                    <button class="btn btn-accent" data-action="restart" onclick={restart}>{ "Restart" }</button>
                }
            </footer>
        </article>
    }
}
