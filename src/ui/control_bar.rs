//! Pause/resume, speed, cluster size and observers, a client write and a reset, plus the
//! virtual clock.

use crate::live::ClusterSnapshot;
use std::rc::Rc;
use web_sys::HtmlSelectElement;
use yew::prelude::*;

#[derive(Properties, PartialEq)]
pub struct ControlBarProps {
    pub snapshot: Option<Rc<ClusterSnapshot>>,
    pub n_servers: u32,
    #[prop_or_default]
    pub observers: u32,
    #[prop_or_default]
    pub on_observers: Callback<u32>,
    pub on_pause: Callback<bool>,
    pub on_speed: Callback<f64>,
    pub on_size: Callback<u32>,
    pub on_write: Callback<()>,
    pub on_reset: Callback<()>,
}

pub const SPEEDS: [f64; 6] = [0.1, 0.25, 0.5, 1.0, 2.0, 5.0];

fn select_value(e: &Event) -> String {
    e.target_unchecked_into::<HtmlSelectElement>().value()
}

#[function_component(ControlBar)]
pub fn control_bar(props: &ControlBarProps) -> Html {
    let paused = props.snapshot.as_ref().is_some_and(|s| s.paused);
    let speed = props.snapshot.as_ref().map_or(1.0, |s| s.speed);
    let now_s = props.snapshot.as_ref().map_or(0.0, |s| s.now_ms as f64 / 1000.0);
    let leader = props.snapshot.as_ref().and_then(|s| s.leader());

    let toggle = {
        let on_pause = props.on_pause.clone();
        Callback::from(move |_| on_pause.emit(!paused))
    };
    let on_speed = {
        let cb = props.on_speed.clone();
        Callback::from(move |e: Event| cb.emit(select_value(&e).parse().unwrap_or(1.0)))
    };
    let on_size = {
        let cb = props.on_size.clone();
        Callback::from(move |e: Event| cb.emit(select_value(&e).parse().unwrap_or(5)))
    };
    let on_observers = {
        let cb = props.on_observers.clone();
        Callback::from(move |e: Event| cb.emit(select_value(&e).parse().unwrap_or(0)))
    };
    let write = props.on_write.reform(|_: MouseEvent| ());
    let reset = props.on_reset.reform(|_: MouseEvent| ());

    html! {
        <div class="controls" role="toolbar">
            <button class={classes!("btn", if paused { "btn-accent" } else { "" })} data-action="pause" onclick={toggle}>
                { if paused { "Resume" } else { "Pause" } }
            </button>
            <label class="field">{ "speed" }
                <select data-control="speed" onchange={on_speed}>
                    { for SPEEDS.iter().map(|&s| html! {
                        <option value={s.to_string()} selected={(s - speed).abs() < 1e-9}>{ format!("{s}×") }</option>
                    }) }
                </select>
            </label>
            <label class="field">{ "servers" }
                <select data-control="size" onchange={on_size}>
                    { for [3u32, 5, 7].iter().map(|&n| html! {
                        <option value={n.to_string()} selected={n == props.n_servers}>{ n }</option>
                    }) }
                </select>
            </label>
            <label class="field" title="observers: non-voting servers that learn committed txns (INFORM) and serve clients">{ "observers" }
                <select data-control="observers" onchange={on_observers}>
                    { for [0u32, 1, 2].iter().map(|&n| html! {
                        <option value={n.to_string()} selected={n == props.observers}>{ n }</option>
                    }) }
                </select>
            </label>
            <button class="btn" data-action="write" onclick={write} disabled={leader.is_none()}
                title="A client write: the leader stamps it with the next zxid and sends it to its followers">
                { "✎ Client write" }
            </button>
            <button class="btn btn-ghost" data-action="reset" onclick={reset}>{ "↺ New ensemble" }</button>
            if let Some(s) = &props.snapshot {
                <span class="stats" title="messages delivered · lost to partitions or dead servers · leaders established">
                    { format!("{} msgs · {} lost · leaders: {}", s.stats.delivered, s.stats.dropped, s.stats.leaders_established) }
                </span>
            }
            <span class="clock" data-testid="clock">{ format!("t = {now_s:.1} s") }</span>
        </div>
    }
}
