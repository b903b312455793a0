//! The ensemble as a ring: server cards around a circle, followers linked to their leader, and
//! every message in flight drawn as a dot travelling its link.

use super::server_card::ServerCard;
use crate::live::ClusterSnapshot;
use crate::zab::Sid;
use std::collections::BTreeMap;
use std::rc::Rc;
use yew::prelude::*;

#[derive(Properties, PartialEq)]
pub struct EnsembleProps {
    pub snapshot: Rc<ClusterSnapshot>,
    pub on_kill: Callback<Sid>,
    pub on_restart: Callback<Sid>,
    pub on_panic: Callback<Sid>,
    pub on_isolate: Callback<(Sid, bool)>,
}

const WIDTH: f64 = 840.0;
const HEIGHT: f64 = 720.0;

/// Card centres on a circle, first server at the top, clockwise.
fn positions(ids: &[Sid]) -> BTreeMap<Sid, (f64, f64)> {
    let n = ids.len().max(1) as f64;
    let (cx, cy) = (WIDTH / 2.0, HEIGHT / 2.0);
    let (rx, ry) = (WIDTH / 2.0 - 112.0, HEIGHT / 2.0 - 92.0);
    ids.iter()
        .enumerate()
        .map(|(i, &sid)| {
            let a = -std::f64::consts::FRAC_PI_2 + i as f64 * std::f64::consts::TAU / n;
            (sid, (cx + rx * a.cos(), cy + ry * a.sin()))
        })
        .collect()
}

fn flight_class(kind: &str) -> &'static str {
    match kind {
        "NOTIFICATION" => "vote",
        "PING" => "ping",
        "RST" => "rst",
        _ => "zab",
    }
}

#[function_component(Ensemble)]
pub fn ensemble(props: &EnsembleProps) -> Html {
    let snap = &props.snapshot;
    let ids: Vec<Sid> = snap.nodes.iter().map(|n| n.sid).collect();
    let pos = positions(&ids);
    let leader = snap.leader();

    let links = snap.nodes.iter().filter_map(|n| {
        let v = n.view.as_ref()?;
        let l = v.leader?;
        let observer = n.data_state() == "observing";
        if !(n.data_state() == "following" || observer) || Some(l) != leader {
            return None;
        }
        let (x1, y1) = pos[&n.sid];
        let (x2, y2) = pos[&l];
        let synced = v.phase == crate::zab::ZabPhase::Broadcast;
        Some(html! { <line class={classes!("link", synced.then_some("synced"), observer.then_some("observer"))} x1={x1.to_string()} y1={y1.to_string()} x2={x2.to_string()} y2={y2.to_string()} /> })
    });
    let flights = snap.flights.iter().filter_map(|f| {
        let (&(x1, y1), &(x2, y2)) = (pos.get(&f.from)?, pos.get(&f.to)?);
        let span = (f.arrive_at.saturating_sub(f.sent_at)).max(1) as f64;
        let t = ((snap.now_ms.saturating_sub(f.sent_at)) as f64 / span).clamp(0.0, 1.0);
        let (x, y) = (x1 + (x2 - x1) * t, y1 + (y2 - y1) * t);
        Some(html! { <circle class={classes!("flight", flight_class(&f.kind))} cx={format!("{x:.1}")} cy={format!("{y:.1}")} r="5"><title>{ &f.kind }</title></circle> })
    });

    html! {
        <div class="ensemble" style={format!("width:{WIDTH}px;height:{HEIGHT}px")}>
            <svg class="wires" viewBox={format!("0 0 {WIDTH} {HEIGHT}")} width={WIDTH.to_string()} height={HEIGHT.to_string()}>
                { for links }
                { for flights }
            </svg>
            <div class="center-label">
                { match leader {
                    Some(l) => html! { <><span class="big">{ format!("zk{l}") }</span><span>{ "leads" }</span></> },
                    None => html! { <><span class="big muted">{ "no leader" }</span><span>{ "electing…" }</span></> },
                } }
                <span class="legend"><i class="dot vote"></i>{ "vote" }<i class="dot zab"></i>{ "ZAB" }<i class="dot ping"></i>{ "ping" }<i class="dot rst"></i>{ "reset" }</span>
            </div>
            { for snap.nodes.iter().map(|n| {
                let (x, y) = pos[&n.sid];
                html! {
                    <ServerCard key={n.sid} card={n.clone()}
                        style={AttrValue::from(format!("left:{x:.0}px;top:{y:.0}px"))}
                        on_kill={props.on_kill.clone()} on_restart={props.on_restart.clone()} on_panic={props.on_panic.clone()} on_isolate={props.on_isolate.clone()} ensemble={ids.clone()} />
                }
            }) }
        </div>
    }
}
