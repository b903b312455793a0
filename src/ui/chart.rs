//! `LineChart`: a live line chart drawn by uPlot (npm `uplot`, pinned in `package.json`; Trunk
//! copies `uPlot.iife.min.js` next to the page, which defines the global `uPlot`).
//!
//! ```text
//!  props.series ──▶ aligned columns [xs, ys₁, ys₂, …] ──▶ first render: new uPlot(opts, data, div)
//!                                                         later renders: plot.setData(data)
//!                                                         labels/title/height change: destroy + new
//!                                                         unmount: plot.destroy()
//! ```
//!
//! If `uPlot` is missing (the script failed to load) or throws, the chart shows its numbers
//! instead: a table of each series' latest, minimum and maximum value. Nothing panics.
//! The plot takes its host's width when created and again on each data update (no resize
//! observer: live charts update every second anyway).
//! Test contract: `data-kind="chart"`, `data-chart` = the title, `data-state` = `plot` |
//! `numbers`.

use wasm_bindgen::prelude::*;
use web_sys::HtmlElement;
use yew::prelude::*;

#[wasm_bindgen]
extern "C" {
    /// uPlot 1.6 (`dist/uPlot.iife.min.js`): only the four calls the chart needs.
    #[wasm_bindgen(js_name = uPlot)]
    type UPlot;

    #[wasm_bindgen(constructor, js_class = "uPlot", catch)]
    fn new(opts: &JsValue, data: &JsValue, target: &HtmlElement) -> Result<UPlot, JsValue>;

    #[wasm_bindgen(method, js_name = setData)]
    fn set_data(this: &UPlot, data: &JsValue);

    #[wasm_bindgen(method, js_name = setSize)]
    fn set_size(this: &UPlot, size: &JsValue);

    #[wasm_bindgen(method)]
    fn destroy(this: &UPlot);
}

/// One line: its legend label and its points `(x, y)` in x order.
pub type Series = (String, Vec<(f64, f64)>);

#[derive(Properties, PartialEq)]
pub struct LineChartProps {
    pub title: AttrValue,
    /// Lines; x need not be shared (missing points are gaps).
    pub series: Vec<Series>,
    /// The y axis' unit ("ops/s", "ms").
    pub y_unit: AttrValue,
    /// The x axis' label.
    #[prop_or(AttrValue::Static("virtual s"))]
    pub x_label: AttrValue,
    /// Plot height in CSS pixels.
    #[prop_or(180)]
    pub height: u32,
}

/// Line colours, the page's palette (`static/style.css`) in order.
const COLORS: [&str; 6] = ["#4fb3ff", "#f5b942", "#4fd18b", "#b58cff", "#ff5d6c", "#5ee0d6"];
/// Width used before the host is laid out.
const FALLBACK_WIDTH_PX: i32 = 480;

pub struct LineChart {
    host: NodeRef,
    plot: Option<Plot>,
    /// uPlot is not there or threw: show numbers from now on.
    unavailable: bool,
}

/// A live uPlot and what it was created with (changing any of it means a new plot).
struct Plot {
    uplot: UPlot,
    shape: Shape,
    width_px: i32,
}

#[derive(PartialEq)]
struct Shape {
    title: AttrValue,
    labels: Vec<String>,
    y_unit: AttrValue,
    x_label: AttrValue,
    height: u32,
}

impl Shape {
    fn of(props: &LineChartProps) -> Shape {
        Shape {
            title: props.title.clone(),
            labels: props.series.iter().map(|(label, _)| label.clone()).collect(),
            y_unit: props.y_unit.clone(),
            x_label: props.x_label.clone(),
            height: props.height,
        }
    }
}

impl Component for LineChart {
    type Message = ();
    type Properties = LineChartProps;

    fn create(_ctx: &Context<Self>) -> Self {
        let loaded = js_sys::Reflect::has(&js_sys::global(), &JsValue::from_str("uPlot")).unwrap_or(false);
        LineChart { host: NodeRef::default(), plot: None, unavailable: !loaded }
    }

    fn view(&self, ctx: &Context<Self>) -> Html {
        let props = ctx.props();
        let state = if self.unavailable { "numbers" } else { "plot" };
        html! {
            <figure class="chart" data-kind="chart" data-chart={props.title.clone()} data-state={state}>
                if self.unavailable {
                    <figcaption class="chart-title">{ props.title.clone() }</figcaption>
                    { numbers_table(props) }
                } else {
                    <div class="chart-plot" ref={self.host.clone()} style={format!("min-height: {}px", props.height)} />
                }
            </figure>
        }
    }

    fn rendered(&mut self, ctx: &Context<Self>, _first_render: bool) {
        if self.unavailable {
            return;
        }
        let Some(host) = self.host.cast::<HtmlElement>() else { return };
        let props = ctx.props();
        let shape = Shape::of(props);
        let data = columns(&props.series);
        let width_px = match host.client_width() {
            0 => FALLBACK_WIDTH_PX,
            w => w,
        };
        match &mut self.plot {
            Some(plot) if plot.shape == shape => {
                plot.uplot.set_data(&data);
                if plot.width_px != width_px {
                    plot.width_px = width_px;
                    plot.uplot.set_size(&size(width_px, props.height));
                }
            }
            _ => {
                if let Some(old) = self.plot.take() {
                    old.uplot.destroy();
                }
                match UPlot::new(&options(props, width_px), &data, &host) {
                    Ok(uplot) => self.plot = Some(Plot { uplot, shape, width_px }),
                    Err(error) => {
                        web_sys::console::warn_2(&"uPlot failed; showing numbers".into(), &error);
                        self.unavailable = true;
                        ctx.link().send_message(());
                    }
                }
            }
        }
    }

    fn update(&mut self, _ctx: &Context<Self>, _msg: ()) -> bool {
        // The only message: uPlot threw, re-render as numbers.
        true
    }

    fn destroy(&mut self, _ctx: &Context<Self>) {
        if let Some(plot) = self.plot.take() {
            plot.uplot.destroy();
        }
    }
}

/// uPlot's columnar data: `[xs, ys₁, ys₂, …]` over the union of every series' xs, ascending,
/// with `null` where a series has no point (uPlot draws a gap).
fn columns(series: &[Series]) -> JsValue {
    let mut xs: Vec<f64> = series.iter().flat_map(|(_, points)| points.iter().map(|&(x, _)| x)).collect();
    xs.sort_by(f64::total_cmp);
    xs.dedup();
    let out = js_sys::Array::new();
    out.push(&xs.iter().map(|&x| JsValue::from_f64(x)).collect::<js_sys::Array>());
    for (_, points) in series {
        let column = js_sys::Array::new_with_length(xs.len() as u32);
        column.fill(&JsValue::NULL, 0, xs.len() as u32);
        for &(x, y) in points {
            if let Ok(i) = xs.binary_search_by(|probe| probe.total_cmp(&x)) {
                column.set(i as u32, JsValue::from_f64(y));
            }
        }
        out.push(&column);
    }
    out.into()
}

fn size(width_px: i32, height: u32) -> JsValue {
    to_js(&serde_json::json!({ "width": width_px, "height": height }))
}

/// uPlot options: numeric x (virtual seconds, not dates), the page's dark colours.
fn options(props: &LineChartProps, width_px: i32) -> JsValue {
    let axis = |label: &str| {
        serde_json::json!({
            "label": label,
            "stroke": "#8d98b3",
            "grid": { "stroke": "#2a3450", "width": 1 },
            "ticks": { "stroke": "#2a3450", "width": 1 },
        })
    };
    let mut series = vec![serde_json::json!({ "label": props.x_label.as_str() })];
    for (i, (label, _)) in props.series.iter().enumerate() {
        series.push(serde_json::json!({
            "label": label,
            "stroke": COLORS[i % COLORS.len()],
            "width": 2,
            "points": { "show": false },
        }));
    }
    to_js(&serde_json::json!({
        "title": props.title.as_str(),
        "width": width_px,
        "height": props.height,
        "scales": { "x": { "time": false } },
        "series": series,
        "axes": [axis(props.x_label.as_str()), axis(props.y_unit.as_str())],
        "legend": { "live": true },
    }))
}

/// JSON to a plain JS object (maps as objects, not `Map`s; `null` stays `null`).
fn to_js(value: &serde_json::Value) -> JsValue {
    use serde::Serialize;
    value.serialize(&serde_wasm_bindgen::Serializer::json_compatible()).unwrap_or(JsValue::NULL)
}

/// What the chart shows without uPlot: each series' latest, minimum and maximum y.
fn numbers_table(props: &LineChartProps) -> Html {
    let fmt = |y: Option<f64>| y.map_or("–".to_string(), |y| format!("{y:.1}"));
    html! {
        <table class="chart-numbers">
            <thead><tr>
                <th></th>
                <th>{ format!("latest ({})", props.y_unit) }</th>
                <th>{ "min" }</th>
                <th>{ "max" }</th>
            </tr></thead>
            <tbody>
                { for props.series.iter().map(|(label, points)| {
                    let ys = points.iter().map(|&(_, y)| y);
                    let latest = points.last().map(|&(_, y)| y);
                    let min = ys.clone().reduce(f64::min);
                    let max = ys.reduce(f64::max);
                    html! {
                        <tr data-series={label.clone()}>
                            <th>{ label.clone() }</th>
                            <td data-field="latest">{ fmt(latest) }</td>
                            <td>{ fmt(min) }</td>
                            <td>{ fmt(max) }</td>
                        </tr>
                    }
                }) }
            </tbody>
        </table>
    }
}
