//! The metrics view: throughput and latency charts over the last minute (virtual time), the
//! numbers (per-op latency percentiles, MTTR and MTBF per kind of failure, every failure with
//! its time to repair) and chaos mode's controls.
//! Test contract: `data-testid="metrics-panel"`; each failure row `data-failure="<id>"` with
//! `data-kind` and `data-ttr` (ms, empty while open); MTTR cells `data-mttr="<kind>"`; the
//! chaos toggle `data-action="chaos"`, its interval `data-control="chaos-mean"`.

use super::chart::LineChart;
use crate::measure::MetricsView;
use crate::metrics::MetricsReport;
use std::rc::Rc;
use web_sys::HtmlInputElement;
use yew::prelude::*;

#[derive(Properties, PartialEq)]
pub struct MetricsPanelProps {
    pub view: Option<Rc<MetricsView>>,
    /// Chaos on with this mean interval (virtual ms), or off (`None`).
    pub on_chaos: Callback<Option<u64>>,
}

fn secs(ms: f64) -> String {
    if ms >= 10_000.0 {
        format!("{:.1} s", ms / 1000.0)
    } else {
        format!("{ms:.0} ms")
    }
}

fn opt(v: Option<f64>) -> String {
    v.map_or("—".to_string(), secs)
}

#[function_component(MetricsPanel)]
pub fn metrics_panel(props: &MetricsPanelProps) -> Html {
    let mean = use_state(|| 8u64);
    let on_mean = {
        let mean = mean.clone();
        Callback::from(move |e: Event| {
            if let Ok(v) = e.target_unchecked_into::<HtmlInputElement>().value().parse::<u64>() {
                mean.set(v.clamp(1, 600));
            }
        })
    };
    let Some(view) = props.view.clone() else {
        return html! { <main class="workspace metrics" data-testid="metrics-panel"><p class="muted">{ "collecting…" }</p></main> };
    };
    let r: &MetricsReport = &view.report;
    let chaos_on = view.chaos_mean_ms.is_some();
    let toggle = {
        let (on_chaos, mean) = (props.on_chaos.clone(), *mean);
        Callback::from(move |_: MouseEvent| on_chaos.emit(if chaos_on { None } else { Some(mean * 1000) }))
    };
    let t = |p: &crate::metrics::SeriesPoint| p.t_ms as f64 / 1000.0;
    let throughput = vec![
        ("ZooKeeper ops/s".to_string(), r.series.iter().map(|p| (t(p), p.zk_ops as f64)).collect()),
        ("Spark tasks/s".to_string(), r.series.iter().map(|p| (t(p), p.tasks as f64)).collect()),
    ];
    let latency = vec![
        ("p50".to_string(), r.series.iter().filter_map(|p| Some((t(p), p.p50? as f64))).collect()),
        ("p95".to_string(), r.series.iter().filter_map(|p| Some((t(p), p.p95? as f64))).collect()),
        ("p99".to_string(), r.series.iter().filter_map(|p| Some((t(p), p.p99? as f64))).collect()),
    ];
    let kinds: Vec<&String> = r.mttr_ms.per_kind.keys().chain(r.mtbf_ms.per_kind.keys()).collect::<std::collections::BTreeSet<_>>().into_iter().collect();
    html! {
        <main class="workspace metrics" data-testid="metrics-panel">
            <section class="panel">
                <h2>{ "Throughput (last minute, virtual time)" }</h2>
                <LineChart title="throughput" series={throughput} y_unit="per s" />
                <p class="muted small">{ format!("{} ZooKeeper ops ({} failed), {} tasks ({} failed) · {:.1} ops/s, {:.2} tasks/s over {:.0} s",
                    r.throughput.zk_ops, r.throughput.zk_ops_failed, r.throughput.tasks, r.throughput.tasks_failed,
                    r.throughput.zk_ops_per_s, r.throughput.tasks_per_s, r.observed_ms as f64 / 1000.0) }</p>
                <h2>{ "Latency, request to reply (all ops)" }</h2>
                <LineChart title="latency" series={latency} y_unit="ms" />
                <table class="numbers" data-testid="latency-table">
                    <tr><th>{ "op" }</th><th>{ "count" }</th><th>{ "p50" }</th><th>{ "p95" }</th><th>{ "p99" }</th><th>{ "max" }</th></tr>
                    { for r.latency.iter().map(|(kind, l)| html! {
                        <tr data-op={kind.clone()}><td>{ kind.clone() }</td><td>{ l.count }</td><td>{ l.p50 }</td><td>{ l.p95 }</td><td>{ l.p99 }</td><td>{ l.max }</td></tr>
                    }) }
                </table>
                <p class="muted small">{ "Virtual milliseconds. The ops are the kazoo calls of the Spark jobs (see the Spark tab's ZooKeeper presets)." }</p>
            </section>
            <section class="panel">
                <h2>{ "Stability" }</h2>
                <div class="chaos">
                    <label>{ "chaos: a kill every " }
                        <input type="number" min="1" max="600" value={mean.to_string()} data-control="chaos-mean" onchange={on_mean} />
                        { " s on average (virtual): a ZooKeeper server, an executor or a master, one at a time, back after 5 s" }
                    </label>
                    <button class={classes!("btn", if chaos_on { "btn-danger" } else { "btn-accent" })} data-action="chaos" onclick={toggle}>
                        { if chaos_on { "Stop chaos" } else { "Start chaos" } }
                    </button>
                </div>
                <table class="numbers" data-testid="mttr-table">
                    <tr><th>{ "failures" }</th><th>{ "MTTR" }</th><th>{ "MTBF" }</th></tr>
                    <tr><td>{ "all" }</td><td data-mttr="overall">{ opt(r.mttr_ms.overall) }</td><td>{ opt(r.mtbf_ms.overall) }</td></tr>
                    { for kinds.iter().map(|k| html! {
                        <tr><td>{ k.replace('_', " ") }</td>
                            <td data-mttr={(*k).clone()}>{ opt(r.mttr_ms.per_kind.get(*k).copied().flatten()) }</td>
                            <td>{ opt(r.mtbf_ms.per_kind.get(*k).copied().flatten()) }</td></tr>
                    }) }
                </table>
                <p class="muted small">{ "MTTR: mean time from a failure to its recovery (a new ZooKeeper leader established, a server serving again, the next Spark stage completed after an executor loss). MTBF: up time divided by the number of failures." }</p>
                <h2>{ format!("Failures ({}, {} open)", r.failures_total, r.open_failures) }</h2>
                <table class="numbers failures" data-testid="failures-table">
                    <tr><th>{ "at" }</th><th>{ "what" }</th><th>{ "repaired in" }</th><th>{ "how" }</th></tr>
                    { for r.failures.iter().rev().take(30).map(|f| html! {
                        <tr data-failure={f.id.clone()} data-kind={f.kind.as_str()} data-ttr={f.ttr_ms.map(|t| t.to_string()).unwrap_or_default()}>
                            <td>{ format!("{:.1} s", f.at as f64 / 1000.0) }</td>
                            <td>{ format!("{} ({})", f.id, f.kind.as_str().replace('_', " ")) }</td>
                            <td>{ f.ttr_ms.map_or("open".to_string(), |t| secs(t as f64)) }</td>
                            <td class="muted">{ f.how.clone().unwrap_or_default() }</td>
                        </tr>
                    }) }
                </table>
            </section>
        </main>
    }
}
