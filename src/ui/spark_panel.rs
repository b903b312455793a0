//! Spark in the page: the job editor with presets, Run, the program's output, the job's DAG of
//! stages (RDDs inside, shuffle edges between), a stage table with task progress, retries and
//! failures, the executors (kill / restart) and an event timeline.
//! Test contract: the editor `data-testid="job-editor"`, the preset picker
//! `data-control="preset"`, the run button `data-action="run-job"`, the output
//! `data-testid="job-output"`; stages `data-stage="<id>"` with `data-status` = pending |
//! running | succeeded | failed | retrying; executor cards `data-node="execN"` with
//! `data-kind="spark-executor"` and `data-state` = alive | down, buttons `data-action="kill"` /
//! `"restart"`; the driver's card `data-node="driver"`, `data-kind="spark-driver"`.

use crate::live::jobs::StageCard;
use crate::live::spark::{SparkNodeCard, SparkSnapshot};
use crate::live::NodeStatus;
use crate::sim::NodeId;
use crate::spark::cluster::{DriverPhase, SparkView};
use std::collections::BTreeMap;
use std::rc::Rc;
use web_sys::{HtmlSelectElement, HtmlTextAreaElement};
use yew::prelude::*;

/// The presets: (file stem, title, program). They are also recorded from real PySpark (and
/// for `zk_*`, real kazoo and ZooKeeper: `tests/fixtures/presets/`), and a test runs each on
/// the simulated cluster.
pub const PRESETS: &[(&str, &str, &str)] = &[
    ("wordcount", "Word count", include_str!("../../static/presets/wordcount.py")),
    ("stages", "Three stages (two shuffles)", include_str!("../../static/presets/stages.py")),
    ("joins", "Joins and cogroup", include_str!("../../static/presets/joins.py")),
    ("cache", "Caching and lineage", include_str!("../../static/presets/cache.py")),
    ("task_failure", "A task that keeps failing", include_str!("../../static/presets/task_failure.py")),
    ("zk_counter_seed", "ZooKeeper counter: the seed, as written", include_str!("../../static/presets/zk_counter_seed.py")),
    ("zk_counter", "ZooKeeper counter: a client per partition", include_str!("../../static/presets/zk_counter.py")),
    ("zk_counter_idempotent", "ZooKeeper counter: idempotent", include_str!("../../static/presets/zk_counter_idempotent.py")),
    ("zk_lock", "Task scheduling with a ZooKeeper Lock", include_str!("../../static/presets/zk_lock.py")),
    ("zk_config", "Configuration watched by executors", include_str!("../../static/presets/zk_config.py")),
    ("zk_metadata", "Dataset metadata in ZooKeeper", include_str!("../../static/presets/zk_metadata.py")),
    ("zk_discovery", "Service discovery with ephemerals", include_str!("../../static/presets/zk_discovery.py")),
    ("zk_hazard_double_increment", "Hazard: a lost reply counts twice", include_str!("../../static/presets/zk_hazard_double_increment.py")),
    ("zk_hazard_split_brain", "Hazard: a stale lock holder (and fencing)", include_str!("../../static/presets/zk_hazard_split_brain.py")),
    ("zk_hazard_session_expiry", "Hazard: a session ends, its ephemerals go", include_str!("../../static/presets/zk_hazard_session_expiry.py")),
];

/// Two sentences beside a preset: what to try and what it teaches.
pub fn preset_note(stem: &str) -> Option<&'static str> {
    Some(match stem {
        "zk_counter_seed" => "The tutorial's program fails before any task runs: its lambda captures a Counter bound to a started KazooClient, and a client's thread locks cannot be pickled to ship to executors. Real PySpark fails the same way, with the same PicklingError.",
        "zk_counter" => "Each partition opens its own session on its executor and counts with kazoo's Counter, so it prints 100. Kill an executor while the job runs and it prints more: the lost tasks run again and increment again (at-least-once).",
        "zk_counter_idempotent" => "Each partition adds its count in one transaction that also creates a marker named after the partition. A re-run finds its marker there and adds nothing, so it prints 100 however many executors you kill.",
        "zk_lock" => "Every task takes the same Lock before its critical section: waiters queue as sequential nodes under /scheduler/lock, each watching the one before it. Kill the executor of the holder: its node goes when its session expires, and the next in line goes in; two holders never overlap.",
        "zk_config" => "The driver writes /app/config and every task watches it with a DataWatch, reading the newest value between rounds. Change it yourself while the job runs (in the ZooKeeper tab's zkCli: set /app/config batch_size=50) and the tasks pick it up.",
        "zk_metadata" => "The job writes its dataset's metadata (location, size, format, schema) as znodes in one transaction, and another client reads them back. Find them under /datasets/wordcount in the tree below.",
        "zk_discovery" => "Each task registers an ephemeral sequential node under /services/workers and leaves its session open, as a service would. Kill an executor, or cut it off from ZooKeeper for 15 s: its nodes stay until its sessions expire (10 s), then vanish from the tree.",
        "zk_hazard_double_increment" => "kazoo's Counter retries a set whose reply was lost, and if the set had been applied it counts twice. Press \"Lose the next setData reply\" below, then Run: one increment counts twice (headless: zkspark run --drop-reply setData@1).",
        "zk_hazard_split_brain" => "A lock holder whose session ended (here: its node deleted, as expiry would) still believes it holds the lock, and its unfenced write wins. Fencing the write with the znode version it read refuses it: BadVersionError.",
        "zk_hazard_session_expiry" => "When a session ends, every ephemeral node it owned is deleted and watchers are told. Here stop() ends it at once; run the discovery preset and press \"Cut off ZK 15 s\" on an executor to see a partitioned client's sessions expire after 10 s while the executor runs on.",
        _ => return None,
    })
}

/// What a failure means, in plain words, when the traceback alone is cryptic.
pub fn failure_hint(stderr: &str) -> Option<&'static str> {
    if stderr.contains("cannot pickle '_thread.lock' object") {
        return Some("Why: Spark pickles the function you pass to map() to send it to the executors, with every variable it uses. This one uses a KazooClient (or a recipe bound to one), which holds thread locks that cannot be pickled. Open a client inside the task instead, e.g. in foreachPartition, as the next preset does.");
    }
    if stderr.contains("object has no attribute 'incr'") {
        return Some("Why: kazoo's Counter has no incr(); it counts with `counter += 1` and reads `counter.value`.");
    }
    None
}

#[derive(Properties, PartialEq)]
pub struct SparkPanelProps {
    pub snapshot: Option<Rc<SparkSnapshot>>,
    pub on_run: Callback<String>,
    #[prop_or_default]
    pub on_cancel: Callback<()>,
    /// (executors, cores each) of the running cluster, and how to ask for another.
    #[prop_or((2, 2))]
    pub shape: (u32, u32),
    #[prop_or_default]
    pub on_shape: Callback<(u32, u32)>,
    pub on_kill: Callback<NodeId>,
    pub on_restart: Callback<NodeId>,
    /// Cut an executor's ZooKeeper sessions off from the ensemble for a while.
    #[prop_or_default]
    pub on_isolate: Callback<NodeId>,
}

#[function_component(SparkPanel)]
pub fn spark_panel(props: &SparkPanelProps) -> Html {
    let source = use_state(|| PRESETS[0].2.to_string());
    let preset = use_state(|| PRESETS[0].0.to_string());
    let on_input = {
        let source = source.clone();
        Callback::from(move |e: InputEvent| source.set(e.target_unchecked_into::<HtmlTextAreaElement>().value()))
    };
    let on_preset = {
        let (source, preset) = (source.clone(), preset.clone());
        Callback::from(move |e: Event| {
            let stem = e.target_unchecked_into::<HtmlSelectElement>().value();
            if let Some((_, _, text)) = PRESETS.iter().find(|(s, _, _)| *s == stem) {
                source.set(text.to_string());
                preset.set(stem);
            }
        })
    };
    let run = {
        let (source, on_run) = (source.clone(), props.on_run.clone());
        Callback::from(move |_: MouseEvent| on_run.emit((*source).clone()))
    };
    let picked = use_state(|| None::<u32>);
    let on_pick = {
        let picked = picked.clone();
        Callback::from(move |job: Option<u32>| picked.set(job))
    };
    let snap = props.snapshot.clone();
    let running = snap.as_ref().is_some_and(|s| s.jobs.running());
    let driver_ready = snap.as_ref().is_some_and(|s| s.driver.data_state() == "alive");

    html! {
        <main class="workspace spark">
            <section class="panel editor-panel">
                <div class="panel-head">
                    <h2>{ "Job" }</h2>
                    <select data-control="preset" onchange={on_preset} title="example programs">
                        { for PRESETS.iter().map(|(stem, title, _)| html! {
                            <option value={*stem} selected={*stem == preset.as_str()}>{ *title }</option>
                        }) }
                    </select>
                    if running {
                        <button class="btn btn-danger" data-action="cancel-job" onclick={props.on_cancel.reform(|_: MouseEvent| ())}>{ "■ Cancel" }</button>
                    } else {
                        <button class="btn btn-accent" data-action="run-job" onclick={run} disabled={!driver_ready}>{ "▶ Run" }</button>
                    }
                </div>
                if let Some(note) = preset_note(preset.as_str()) {
                    <p class="preset-note" data-testid="preset-note">{ note }</p>
                }
                <textarea class="job-editor" data-testid="job-editor" spellcheck="false" wrap="off" value={(*source).clone()} oninput={on_input} />
                { output(snap.as_deref()) }
                { files(snap.as_deref()) }
            </section>
            <section class="panel dag-panel">
                { dag(snap.as_deref(), *picked, &on_pick) }
                { stage_table(snap.as_deref()) }
            </section>
            <aside class="panel exec-panel">
                { shape_picker(props.shape, &props.on_shape, running) }
                { executors(snap.as_deref(), &props.on_kill, &props.on_restart, &props.on_isolate) }
                { timeline(snap.as_deref()) }
            </aside>
        </main>
    }
}

fn output(snap: Option<&SparkSnapshot>) -> Html {
    let Some(s) = snap else { return html! { <pre class="job-output" data-testid="job-output"></pre> } };
    let status = match s.jobs.finished {
        Some((true, at)) => format!("finished at t = {:.1} s", at as f64 / 1000.0),
        Some((false, at)) => format!("failed at t = {:.1} s", at as f64 / 1000.0),
        None if s.jobs.started_at.is_some() => "running…".into(),
        None => "press Run: the driver runs the program, executors run its tasks".into(),
    };
    html! {
        <div class="job-output-wrap">
            <div class="muted small" data-testid="job-status">{ status }</div>
            <pre class="job-output" data-testid="job-output">
                { s.jobs.stdout.clone() }
                if !s.jobs.stderr.is_empty() {
                    <span class="stderr">{ s.jobs.stderr.clone() }</span>
                }
            </pre>
            if let Some(hint) = failure_hint(&s.jobs.stderr) {
                <p class="failure-hint" data-testid="failure-hint">{ hint }</p>
            }
        </div>
    }
}

/// What the program wrote to the simulated file system (`saveAsTextFile`).
fn files(snap: Option<&SparkSnapshot>) -> Html {
    let Some(s) = snap else { return html! {} };
    if s.jobs.files.is_empty() {
        return html! {};
    }
    html! {
        <div class="files" data-testid="job-files">
            <h2>{ "Files written" }</h2>
            { for s.jobs.files.iter().map(|(path, size, head)| html! {
                <details>
                    <summary><code>{ path.clone() }</code><span class="muted small">{ format!(" · {}", bytes(*size)) }</span></summary>
                    <pre>{ head.clone() }{ if *size as usize > head.len() { "…" } else { "" } }</pre>
                </details>
            }) }
        </div>
    }
}

/// Stages laid out in columns by depth (parents to the left), with shuffle edges.
fn dag(snap: Option<&SparkSnapshot>, picked: Option<u32>, on_pick: &Callback<Option<u32>>) -> Html {
    let Some(s) = snap else { return html! {} };
    let job = picked.and_then(|p| s.jobs.jobs.iter().find(|j| j.job == p)).or(s.jobs.jobs.last());
    let Some(job) = job else {
        return html! { <div class="dag empty muted">{ "Each action becomes a job; its DAG of stages appears here." }</div> };
    };
    let chips = s.jobs.jobs.iter().map(|j| {
        let id = j.job;
        let latest = picked.is_none() && Some(id) == s.jobs.jobs.last().map(|l| l.job);
        let on = picked == Some(id) || latest;
        let pick = on_pick.reform(move |_: MouseEvent| Some(id));
        html! {
            <button class={classes!("chip", j.status.clone(), on.then_some("on"))} data-job={id.to_string()} onclick={pick}
                title={format!("job {id}: stages {:?}", j.stages)}>{ format!("job {id}") }</button>
        }
    });
    let follow = on_pick.reform(|_: MouseEvent| None);
    let stages: Vec<&StageCard> = job.stages.iter().filter_map(|id| s.jobs.stages.get(id)).collect();
    let mut depth: BTreeMap<u32, u32> = BTreeMap::new();
    for st in &stages {
        let d = st.parents.iter().filter_map(|p| depth.get(p)).max().map_or(0, |d| d + 1);
        depth.insert(st.stage, d);
    }
    let (w, gap_x, gap_y) = (200.0, 60.0, 24.0);
    // (x, y, height) per stage: columns by depth, boxes of a column stacked.
    let mut pos: BTreeMap<u32, (f64, f64, f64)> = BTreeMap::new();
    let mut col_y: BTreeMap<u32, f64> = BTreeMap::new();
    for st in &stages {
        let d = depth[&st.stage];
        let box_h = 56.0 + 16.0 * st.rdds.len() as f64;
        let y = col_y.entry(d).or_insert(10.0);
        pos.insert(st.stage, (10.0 + f64::from(d) * (w + gap_x), *y, box_h));
        *y += box_h + gap_y;
    }
    let width = pos.values().map(|p| p.0 + w + 10.0).fold(0.0, f64::max);
    let height = col_y.values().copied().fold(0.0, f64::max);
    let edges = stages.iter().flat_map(|st| {
        let (x2, y2, h2) = pos[&st.stage];
        st.parents.iter().filter_map(|p| pos.get(p)).map(move |&(x1, y1, h1)| {
            let (ax, ay, bx, by) = (x1 + w, y1 + h1 / 2.0, x2, y2 + h2 / 2.0);
            let mid = (ax + bx) / 2.0;
            html! {
                <g class="edge">
                    <path d={format!("M{ax},{ay} C{mid},{ay} {mid},{by} {bx},{by}")} marker-end="url(#arrow)" />
                    <text x={mid.to_string()} y={((ay + by) / 2.0 - 4.0).to_string()} text-anchor="middle">{ "shuffle" }</text>
                </g>
            }
        })
    });
    let boxes = stages.iter().map(|st| {
        let (x, y, bh) = pos[&st.stage];
        let frac = if st.tasks == 0 { 0.0 } else { f64::from(st.tasks_succeeded) / f64::from(st.tasks) };
        let skipped = job.status != "running" && !job.ran.contains(&st.stage);
        let status = if skipped {
            "skipped".to_string()
        } else if st.attempt > 0 {
            format!("{} · attempt {}", st.status.as_str(), st.attempt)
        } else {
            st.status.as_str().to_string()
        };
        html! {
            <g class={classes!("stage-box", st.status.as_str(), skipped.then_some("skipped"))} data-dag-stage={st.stage.to_string()} transform={format!("translate({x},{y})")}>
                <rect class="frame" width={w.to_string()} height={bh.to_string()} rx="6" />
                <text class="title" x="8" y="17">{ format!("Stage {}", st.stage) }</text>
                <text class="status" x={(w - 8.0).to_string()} y="17" text-anchor="end">{ status }</text>
                { for st.rdds.iter().enumerate().map(|(i, (id, name))| html! {
                    <text class="rdd" x="12" y={(36.0 + 16.0 * i as f64).to_string()}>{ format!("{name} [{id}]") }</text>
                }) }
                <rect class="bar" x="8" y={(bh - 16.0).to_string()} width={(w - 16.0).to_string()} height="8" rx="4" />
                <rect class="bar-fill" x="8" y={(bh - 16.0).to_string()} width={((w - 16.0) * frac).to_string()} height="8" rx="4" />
            </g>
        }
    });
    html! {
        <div class="dag" data-testid="dag">
            <div class="jobs-strip">
                <span class="panel-sub">{ format!("Job {} · {} · ", job.job, job.status) }</span>
                { for chips }
                if picked.is_some() {
                    <button class="chip" onclick={follow} title="follow the latest job">{ "latest →" }</button>
                }
            </div>
            <svg width="100%" style={format!("max-width:{width}px")} viewBox={format!("0 0 {width} {height}")}>
                <defs>
                    <marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse">
                        <path d="M0,0 L10,5 L0,10 z" />
                    </marker>
                </defs>
                { for edges }
                { for boxes }
            </svg>
        </div>
    }
}

fn stage_table(snap: Option<&SparkSnapshot>) -> Html {
    let Some(s) = snap else { return html! {} };
    if s.jobs.stages.is_empty() {
        return html! {};
    }
    let job_of = |stage: u32| s.jobs.jobs.iter().filter(|j| j.stages.contains(&stage)).map(|j| j.job).max();
    html! {
        <table class="stages" data-testid="stages">
            <thead><tr><th>{ "stage" }</th><th>{ "job" }</th><th>{ "status" }</th><th>{ "tasks" }</th><th class="wide">{ "progress" }</th><th>{ "failed" }</th><th>{ "lost" }</th></tr></thead>
            <tbody>
                { for s.jobs.stages.values().rev().map(|st| {
                    let pct = if st.tasks == 0 { 0.0 } else { 100.0 * f64::from(st.tasks_succeeded) / f64::from(st.tasks) };
                    html! {
                        <tr data-stage={st.stage.to_string()} data-status={st.status.as_str()} class={st.status.as_str()} title={st.failure.clone().unwrap_or_default()}>
                            <td>{ format!("{}{}", st.stage, if st.attempt > 0 { format!(".{}", st.attempt) } else { String::new() }) }</td>
                            <td>{ job_of(st.stage).map(|j| j.to_string()).unwrap_or_default() }</td>
                            <td><span class={classes!("pill", st.status.as_str())}>{ st.status.as_str() }</span></td>
                            <td title={format!("{} partitions", st.partitions)}>{ format!("{}/{}", st.tasks_succeeded, st.tasks) }{ if st.running > 0 { format!(" ({} running)", st.running) } else { String::new() } }</td>
                            <td class="wide"><div class="progress"><div class={classes!("fill", st.status.as_str())} style={format!("width:{pct:.0}%")}></div></div></td>
                            <td class={classes!((st.failed_tasks > 0).then_some("bad"))}>{ st.failed_tasks }</td>
                            <td class={classes!((st.lost_tasks > 0).then_some("bad"))}>{ st.lost_tasks }</td>
                        </tr>
                    }
                }) }
            </tbody>
        </table>
    }
}

/// Executors and cores per executor: a new shape starts a new cluster (new workers).
fn shape_picker(shape: (u32, u32), on_shape: &Callback<(u32, u32)>, running: bool) -> Html {
    let (x, c) = shape;
    let pick = |executors: bool| {
        let on_shape = on_shape.clone();
        Callback::from(move |e: Event| {
            let n: u32 = e.target_unchecked_into::<HtmlSelectElement>().value().parse().unwrap_or(2);
            on_shape.emit(if executors { (n, c) } else { (x, n) });
        })
    };
    html! {
        <div class="shape" title="a new shape starts a new cluster: sc.defaultParallelism = executors × cores (at least 2)">
            <label class="field">{ "executors" }
                <select data-control="executors" onchange={pick(true)} disabled={running}>
                    { for (1..=4u32).map(|n| html! { <option value={n.to_string()} selected={n == x}>{ n }</option> }) }
                </select>
            </label>
            <label class="field">{ "cores" }
                <select data-control="cores" onchange={pick(false)} disabled={running}>
                    { for (1..=4u32).map(|n| html! { <option value={n.to_string()} selected={n == c}>{ n }</option> }) }
                </select>
            </label>
        </div>
    }
}

fn executors(snap: Option<&SparkSnapshot>, on_kill: &Callback<NodeId>, on_restart: &Callback<NodeId>, on_isolate: &Callback<NodeId>) -> Html {
    let Some(s) = snap else { return html! { <p class="muted">{ "starting the driver and executors…" }</p> } };
    let driver_phase = match &s.driver.view {
        Some(SparkView::Driver { phase, .. }) => match phase {
            DriverPhase::Idle => "idle",
            DriverPhase::Running => "running a program",
            DriverPhase::Succeeded => "program finished",
            DriverPhase::Failed => "program failed",
        },
        _ => "starting",
    };
    html! {
        <div class="executors">
            <h2>{ "Executors" }</h2>
            <div class="spark-node driver" data-node="driver" data-kind="spark-driver" data-state={s.driver.data_state()}>
                <div class="card-head">
                    <b>{ "driver" }</b><span class="muted small">{ format!(" · {driver_phase}") }</span>
                    if s.driver.data_state() == "down" {
                        <button class="btn btn-small" data-action="restart" onclick={on_restart.reform(|_: MouseEvent| crate::spark::cluster::DRIVER)}
                            title="start a new driver; its executors start anew with it">{ "Restart" }</button>
                    }
                </div>
                if let NodeStatus::Crashed(why) = &s.driver.status {
                    <p class="crash">{ "worker crashed: " }{ why.clone() }</p>
                }
            </div>
            { for s.executors.iter().map(|c| executor_card(c, s.jobs.executor_logs.get(&c.id), on_kill, on_restart, on_isolate)) }
            { standalone(s, on_kill, on_restart) }
        </div>
    }
}

/// The standalone cluster: masters (ZooKeeper elects the active one), workers, and the
/// application's client with its job's progress.
fn standalone(s: &SparkSnapshot, on_kill: &Callback<NodeId>, on_restart: &Callback<NodeId>) -> Html {
    use crate::spark::standalone::StandaloneView as V;
    if s.standalone.is_empty() {
        return html! {};
    }
    html! {
        <div class="standalone">
            <h2 title="spark.deploy.recoveryMode=ZOOKEEPER">{ "Standalone masters (HA through ZooKeeper)" }</h2>
            { for s.standalone.iter().map(|c| {
                let id = c.id;
                let state = c.data_state();
                let down = state == "down";
                let (kind, facts) = match &c.view {
                    Some(V::Master(m)) => ("spark-master", format!(
                        "{} workers ({} alive) · {} app(s){}",
                        m.workers.len(),
                        m.workers.iter().filter(|w| w.state == crate::spark::standalone::WorkerState::Alive).count(),
                        m.apps.len(),
                        m.latch.as_ref().map(|l| format!(" · latch {l}")).unwrap_or_default()
                    )),
                    Some(V::Worker(w)) => ("spark-worker", format!(
                        "{} · master {} · {} executor(s)",
                        if w.registered { "registered" } else { "registering" },
                        w.master.map_or("?".to_string(), |m| crate::spark::standalone::node_name(m)),
                        w.executors.len()
                    )),
                    Some(V::App(a)) => ("spark-app", format!(
                        "{} · master {} · tasks {}/{}",
                        a.app_id.clone().unwrap_or_else(|| "unregistered".into()),
                        a.master.map_or("?".to_string(), |m| crate::spark::standalone::node_name(m)),
                        a.done, a.total
                    )),
                    None => (match c.name.as_str() { n if n.starts_with("master") => "spark-master", "app" => "spark-app", _ => "spark-worker" }, String::new()),
                };
                html! {
                    <div class={classes!("spark-node", "ha", down.then_some("down"))} data-node={c.name.clone()} data-kind={kind} data-state={state}>
                        <div class="card-head">
                            <b>{ c.name.clone() }</b>
                            <span class={classes!("pill", state)}>{ state }</span>
                            if down {
                                <button class="btn btn-small" data-action="restart" onclick={on_restart.reform(move |_: MouseEvent| id)}>{ "Restart" }</button>
                            } else {
                                <button class="btn btn-small btn-danger" data-action="kill" onclick={on_kill.reform(move |_: MouseEvent| id)}>{ "Kill" }</button>
                            }
                        </div>
                        if !facts.is_empty() {
                            <p class="muted small">{ facts }</p>
                        }
                    </div>
                }
            }) }
        </div>
    }
}

fn executor_card(
    c: &SparkNodeCard,
    log: Option<&String>,
    on_kill: &Callback<NodeId>,
    on_restart: &Callback<NodeId>,
    on_isolate: &Callback<NodeId>,
) -> Html {
    let id = c.id;
    let isolate = on_isolate.reform(move |_: MouseEvent| id);
    let kill = on_kill.reform(move |_: MouseEvent| id);
    let restart = on_restart.reform(move |_: MouseEvent| id);
    let state = c.data_state();
    let body = match (&c.status, &c.view) {
        (NodeStatus::Crashed(why), _) => html! { <p class="crash">{ "worker crashed: " }{ why }</p> },
        (NodeStatus::Down, _) => html! { <p class="muted small">{ "killed: its shuffle output and cached blocks are gone" }</p> },
        (_, Some(SparkView::Executor { cores, running, shuffle_outputs, cached_blocks, shuffle_bytes, tasks_done })) => html! {
            <dl class="facts">
                <dt>{ "cores" }</dt><dd>{ cores }</dd>
                <dt>{ "running" }</dt><dd data-field="running">{ if running.is_empty() { "—".to_string() } else { running.iter().map(|t| format!("TID {t}")).collect::<Vec<_>>().join(", ") } }</dd>
                <dt>{ "tasks done" }</dt><dd>{ tasks_done }</dd>
                <dt>{ "shuffle out" }</dt><dd>{ format!("{shuffle_outputs} map outputs · {}", bytes(*shuffle_bytes)) }</dd>
                <dt>{ "cached" }</dt><dd>{ format!("{cached_blocks} blocks") }</dd>
            </dl>
        },
        _ => html! { <p class="muted small">{ "starting…" }</p> },
    };
    html! {
        <div class={classes!("spark-node", state)} data-node={format!("exec{id}")} data-kind="spark-executor" data-state={state}>
            <div class="card-head">
                <b>{ format!("exec{id}") }</b>
                <span class={classes!("pill", state)}>{ state }</span>
                if state == "alive" {
                    <button class="btn btn-small" data-action="isolate-zk" onclick={isolate}
                        title="partition this executor's ZooKeeper sessions from the ensemble for 15 s: longer than their 10 s timeout, so they expire and their ephemerals go while the executor runs on">{ "Cut off ZK 15 s" }</button>
                    <button class="btn btn-small btn-danger" data-action="kill" onclick={kill} title="terminate this executor's worker">{ "Kill" }</button>
                } else {
                    <button class="btn btn-small" data-action="restart" onclick={restart} title="launch a new executor on this worker">{ "Restart" }</button>
                }
            </div>
            { body }
            if let Some(log) = log {
                <details class="exec-log"><summary>{ "task output" }</summary><pre>{ tail(log, 2_000) }</pre></details>
            }
        </div>
    }
}

fn bytes(b: u64) -> String {
    if b >= 1 << 20 {
        format!("{:.1} MB", b as f64 / f64::from(1 << 20))
    } else if b >= 1 << 10 {
        format!("{:.1} KB", b as f64 / 1024.0)
    } else {
        format!("{b} B")
    }
}

fn tail(s: &str, n: usize) -> String {
    let start = s.char_indices().rev().nth(n).map_or(0, |(i, _)| i);
    s[start..].to_string()
}

fn timeline(snap: Option<&SparkSnapshot>) -> Html {
    let Some(s) = snap else { return html! {} };
    html! {
        <div class="timeline">
            <h2>{ "Events" }</h2>
            <ol data-testid="spark-events">
                { for s.jobs.timeline.iter().rev().take(80).map(|e| html! {
                    <li class={classes!("ev", e.kind.clone())}>
                        <span class="at">{ format!("{:>6.2}s", e.at as f64 / 1000.0) }</span>
                        <span class="text">{ e.text.clone() }</span>
                    </li>
                }) }
            </ol>
        </div>
    }
}
