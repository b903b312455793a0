//! One server's znode tree, live: pick the server; nodes whose data or children changed since
//! the last render flash; ephemerals show their owner session, watched nodes an eye; the
//! selected node's data and Stat print as `get -s` prints them.
//! Test contract: each entry has `data-znode="/path"`; the picker's buttons
//! `data-tree-server="zkN"`; the Stat block `data-testid="znode-stat"`.

use crate::live::{ClusterSnapshot, NodeCard};
use crate::zab::{Sid, Zxid};
use crate::zk::cli::format_stat;
use crate::zk::{CreateMode, DataTree, SessionId};
use std::collections::{BTreeMap, BTreeSet};
use std::rc::Rc;
use yew::prelude::*;

/// Bound on entries drawn (the rest are counted).
const MAX_ENTRIES: usize = 400;

/// What the panel draws. Equality looks at what changes the picture (the tree's digest, not
/// the tree), so an unchanged tree is not re-rendered on every frame.
#[derive(Clone)]
pub struct TreeModel {
    pub snapshot: Rc<ClusterSnapshot>,
    pub sid: Sid,
    /// `DataTree::digest()` of the shown tree (0 without one).
    pub digest: u64,
    pub selected: Option<String>,
    /// zkCli's session and server, to mark its ephemerals and where it is.
    pub console_session: Option<SessionId>,
    pub console_server: Option<Sid>,
}

impl TreeModel {
    fn card(&self) -> Option<&NodeCard> {
        self.snapshot.nodes.iter().find(|n| n.sid == self.sid)
    }

    /// The servers with their states, for the picker.
    fn picker(&self) -> Vec<(Sid, &'static str)> {
        self.snapshot.nodes.iter().map(|n| (n.sid, n.data_state())).collect()
    }

    fn watched(&self) -> &[String] {
        self.card().and_then(|c| c.view.as_ref()).map_or(&[], |v| v.watched.as_slice())
    }
}

impl PartialEq for TreeModel {
    fn eq(&self, other: &Self) -> bool {
        self.sid == other.sid
            && self.digest == other.digest
            && self.selected == other.selected
            && self.console_session == other.console_session
            && self.console_server == other.console_server
            && self.picker() == other.picker()
            && self.watched() == other.watched()
    }
}

#[derive(Properties, PartialEq)]
pub struct ZnodeTreeProps {
    pub model: TreeModel,
    pub on_pick: Callback<Sid>,
    pub on_select: Callback<Option<String>>,
}

/// The tree in depth-first order with each node's depth.
fn depth_first(tree: &DataTree) -> Vec<(String, usize)> {
    let mut order = Vec::new();
    let mut stack = vec![("/".to_string(), 0usize)];
    while let Some((path, depth)) = stack.pop() {
        let Some(node) = tree.get(&path) else { continue };
        for child in node.children.iter().rev() {
            let child_path = if path == "/" { format!("/{child}") } else { format!("{path}/{child}") };
            stack.push((child_path, depth + 1));
        }
        order.push((path, depth));
    }
    order
}

fn preview(data: &[u8]) -> String {
    let text: String = String::from_utf8_lossy(data).chars().map(|c| if c.is_control() { '·' } else { c }).collect();
    if text.chars().count() > 24 {
        format!("{}…", text.chars().take(23).collect::<String>())
    } else {
        text
    }
}

/// Per path, what makes it flash when it changes: (mzxid, cversion).
type Stamps = BTreeMap<String, (Zxid, i32)>;

#[function_component(ZnodeTree)]
pub fn znode_tree(props: &ZnodeTreeProps) -> Html {
    let model = &props.model;
    let previous = use_mut_ref(|| (0 as Sid, Stamps::new()));

    let picker = model.picker().into_iter().map(|(sid, state)| {
        let onclick = props.on_pick.reform(move |_: MouseEvent| sid);
        let here = model.console_server == Some(sid);
        html! {
            <button class={classes!("pick", state, (sid == model.sid).then_some("on"))} data-tree-server={format!("zk{sid}")} {onclick}
                title={ if here { "zkCli's session is on this server" } else { "" } }>
                { format!("zk{sid}") }{ if here { " ●" } else { "" } }
            </button>
        }
    });

    let card = model.card();
    let view = card.filter(|c| c.data_state() != "down").and_then(|c| c.view.as_ref());
    let body = match view {
        None => {
            previous.borrow_mut().1.clear();
            html! { <p class="muted tree-empty">{ "server down: its tree is gone with its memory (the log and snapshots are on its disk)" }</p> }
        }
        Some(view) => {
            let tree = &view.tree;
            let stamps: Stamps = tree.nodes().map(|(p, n)| (p.clone(), (n.stat.mzxid, n.stat.cversion))).collect();
            let flashing: BTreeSet<String> = {
                let prev = previous.borrow();
                if prev.0 == model.sid && !prev.1.is_empty() {
                    stamps.iter().filter(|(p, s)| prev.1.get(*p) != Some(s)).map(|(p, _)| p.clone()).collect()
                } else {
                    BTreeSet::new()
                }
            };
            *previous.borrow_mut() = (model.sid, stamps);
            let watched: BTreeSet<&str> = view.watched.iter().map(String::as_str).collect();
            let order = depth_first(tree);
            let hidden = order.len().saturating_sub(MAX_ENTRIES);
            let entries = order.into_iter().take(MAX_ENTRIES).filter_map(|(path, depth)| {
                let node = tree.get(&path)?;
                let name = if path == "/" { "/".to_string() } else { path.rsplit('/').next().unwrap_or("").to_string() };
                let owner = node.stat.ephemeral_owner;
                let ours = owner != 0 && Some(owner) == model.console_session;
                let flash = flashing.contains(&path);
                let selected = model.selected.as_deref() == Some(path.as_str());
                let is_watched = watched.contains(path.as_str());
                let key = format!("{path}#{}#{}", node.stat.mzxid.0, node.stat.cversion);
                let onclick = {
                    let path = path.clone();
                    props.on_select.reform(move |_: MouseEvent| Some(path.clone()))
                };
                let kind = match node.mode {
                    CreateMode::Container => Some("container"),
                    CreateMode::PersistentWithTtl | CreateMode::PersistentSequentialWithTtl => Some("ttl"),
                    _ => None,
                };
                Some(html! {
                    <li {key} data-znode={path.clone()} {onclick}
                        class={classes!("znode", flash.then_some("flash"), selected.then_some("selected"), (owner != 0).then_some("ephemeral"), is_watched.then_some("watched"))}
                        style={format!("padding-left:{}px", 10 + depth * 16)}>
                        <span class="zname">{ name }</span>
                        if !node.data.is_empty() { <span class="zdata">{ preview(&node.data) }</span> }
                        if owner != 0 {
                            <span class="zbadge eph" title={format!("ephemeral: goes when session 0x{owner:x} ends")}>
                                { format!("eph 0x{owner:x}") }{ if ours { " (zkCli)" } else { "" } }
                            </span>
                        }
                        if let Some(kind) = kind { <span class="zbadge">{ kind }</span> }
                        if is_watched { <span class="zbadge watch" title="a client connected to this server watches it">{ "◉ watched" }</span> }
                    </li>
                })
            });
            let stat = model.selected.as_ref().map(|path| match tree.get(path) {
                Some(node) => {
                    let data = if node.data.is_empty() { String::new() } else { String::from_utf8_lossy(&node.data).into_owned() };
                    html! {
                        <div class="stat">
                            <div class="stat-head">{ "get -s " }{ path }</div>
                            <pre data-testid="znode-stat">{ format!("{data}\n{}", format_stat(&node.stat)) }</pre>
                        </div>
                    }
                }
                None => html! { <div class="stat"><div class="stat-head">{ path }</div><p class="muted">{ "not in this server's tree" }</p></div> },
            });
            html! {
                <>
                    <div class="tree-meta">
                        { format!("applied up to {} · {} znodes · {} sessions", view.last_applied, tree.nodes().count(), tree.sessions().len()) }
                    </div>
                    <ul class="tree" data-testid="znode-tree" data-server={format!("zk{}", model.sid)}>
                        { for entries }
                        if hidden > 0 { <li class="muted">{ format!("… {hidden} more") }</li> }
                    </ul>
                    { for stat }
                </>
            }
        }
    };

    html! {
        <div class="tree-panel-body">
            <div class="tree-head">
                <h2>{ "Znode tree" }</h2>
                <div class="picker">{ for picker }</div>
            </div>
            { body }
        </div>
    }
}
