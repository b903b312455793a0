//! The election log: votes, ZAB packets, state changes and faults as they happen, newest first,
//! with filters by kind.

use crate::live::{ClusterSnapshot, LogKind};
use std::rc::Rc;
use yew::prelude::*;

#[derive(Properties, PartialEq)]
pub struct ElectionLogProps {
    pub snapshot: Rc<ClusterSnapshot>,
}

const KINDS: [(LogKind, &str); 5] = [
    (LogKind::State, "state"),
    (LogKind::Vote, "votes"),
    (LogKind::Zab, "zab"),
    (LogKind::Fault, "faults"),
    (LogKind::Client, "writes"),
];

fn kind_class(kind: LogKind) -> &'static str {
    match kind {
        LogKind::Vote => "vote",
        LogKind::Zab => "zab",
        LogKind::State => "state",
        LogKind::Fault => "fault",
        LogKind::Client => "client",
    }
}

#[function_component(ElectionLog)]
pub fn election_log(props: &ElectionLogProps) -> Html {
    let hidden = use_state(Vec::<LogKind>::new);
    let toggles = KINDS.iter().map(|&(kind, label)| {
        let hidden = hidden.clone();
        let on = !hidden.contains(&kind);
        let onclick = Callback::from(move |_| {
            let mut h = (*hidden).clone();
            if let Some(i) = h.iter().position(|k| *k == kind) {
                h.remove(i);
            } else {
                h.push(kind);
            }
            hidden.set(h);
        });
        html! { <button class={classes!("chip", kind_class(kind), on.then_some("on"))} {onclick}>{ label }</button> }
    });
    let rows = props.snapshot.log.iter().rev().filter(|e| !hidden.contains(&e.kind)).take(150).map(|e| {
        let who = match e.peer {
            Some(to) => format!("zk{} → zk{}", e.node, to),
            None if e.node == 0 => "client".to_string(),
            None => format!("zk{}", e.node),
        };
        html! {
            <li key={e.seq} class={classes!("entry", kind_class(e.kind))}>
                <time>{ format!("{:>7.3}s", e.at as f64 / 1000.0) }</time>
                <span class="who">{ who }</span>
                <span class="what">{ &e.text }</span>
            </li>
        }
    });
    html! {
        <div class="log" data-testid="election-log">
            <div class="log-head">
                <h2>{ "Election log" }</h2>
                <div class="chips">{ for toggles }</div>
            </div>
            <ol class="entries">{ for rows }</ol>
        </div>
    }
}
