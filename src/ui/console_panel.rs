//! zkCli on the page: the transcript as a terminal shows it (each typed line after the prompt
//! it was typed at, then what zkCli printed, `WATCHER::` events as they arrive), and an input
//! line with the live prompt, history on ↑/↓ and Tab completion of commands and paths; a button
//! per server types `connect 127.0.0.1:218k` for you.
//! Test contract: `data-testid="zk-console-input"` and `data-testid="zk-console-output"`;
//! connect buttons `data-connect="zkN"`.

use crate::live::client::{apply_completion, server_address, ConsoleOutput, ConsoleSnapshot};
use crate::zab::Sid;
use crate::zk::cli::Completion;
use std::rc::Rc;
use web_sys::{Element, HtmlInputElement};
use yew::prelude::*;

#[derive(Properties, PartialEq)]
pub struct ConsolePanelProps {
    pub console: Option<Rc<ConsoleSnapshot>>,
    pub on_submit: Callback<String>,
    /// (line, cursor in chars) → where the candidates go and what they are.
    pub on_complete: Callback<(String, usize), Completion>,
    /// The ensemble's servers, for the connect buttons.
    #[prop_or_default]
    pub servers: Vec<Sid>,
}

/// JLine's history: the lines typed, oldest first, and where ↑/↓ is in it.
#[derive(Default)]
struct History {
    lines: Vec<String>,
    pos: Option<usize>,
}

/// Bound on remembered lines.
const HISTORY_CAPACITY: usize = 500;

impl History {
    fn push(&mut self, line: &str) {
        self.pos = None;
        if line.trim().is_empty() || self.lines.last().is_some_and(|l| l == line) {
            return;
        }
        if self.lines.len() == HISTORY_CAPACITY {
            self.lines.remove(0);
        }
        self.lines.push(line.to_string());
    }

    fn up(&mut self) -> Option<&str> {
        let pos = match self.pos {
            None => self.lines.len().checked_sub(1)?,
            Some(p) => p.saturating_sub(1),
        };
        self.pos = Some(pos);
        self.lines.get(pos).map(String::as_str)
    }

    /// The next line, or "" past the newest (back to an empty line).
    fn down(&mut self) -> Option<&str> {
        let pos = self.pos? + 1;
        if pos >= self.lines.len() {
            self.pos = None;
            return Some("");
        }
        self.pos = Some(pos);
        self.lines.get(pos).map(String::as_str)
    }
}

/// The cursor of an input element, in chars (the DOM counts UTF-16 units).
fn cursor_chars(input: &HtmlInputElement, value: &str) -> usize {
    let units = input.selection_start().ok().flatten().map_or(usize::MAX, |u| u as usize);
    let utf16: Vec<u16> = value.encode_utf16().take(units).collect();
    String::from_utf16_lossy(&utf16).chars().count()
}

fn set_cursor(input: &HtmlInputElement, value: &str, chars: usize) {
    let units = value.chars().take(chars).map(char::len_utf16).sum::<usize>() as u32;
    let _ = input.set_selection_range(units, units);
}

#[function_component(ConsolePanel)]
pub fn console_panel(props: &ConsolePanelProps) -> Html {
    let input_ref = use_node_ref();
    let output_ref = use_node_ref();
    let history = use_mut_ref(History::default);
    let listed = use_state(Vec::<String>::new);

    let version = props.console.as_ref().map_or(0, |c| c.version);
    {
        let output_ref = output_ref.clone();
        use_effect_with(version, move |_| {
            if let Some(el) = output_ref.cast::<Element>() {
                el.set_scroll_top(el.scroll_height());
            }
        });
    }

    let onkeydown = {
        let (input_ref, history, listed) = (input_ref.clone(), history.clone(), listed.clone());
        let (on_submit, on_complete) = (props.on_submit.clone(), props.on_complete.clone());
        Callback::from(move |e: KeyboardEvent| {
            let Some(input) = input_ref.cast::<HtmlInputElement>() else { return };
            match e.key().as_str() {
                "Enter" => {
                    let line = input.value();
                    input.set_value("");
                    history.borrow_mut().push(&line);
                    listed.set(Vec::new());
                    on_submit.emit(line);
                }
                "ArrowUp" | "ArrowDown" => {
                    e.prevent_default();
                    let mut h = history.borrow_mut();
                    let next = if e.key() == "ArrowUp" { h.up() } else { h.down() };
                    if let Some(line) = next {
                        input.set_value(line);
                        set_cursor(&input, line, line.chars().count());
                    }
                }
                "Tab" => {
                    e.prevent_default();
                    let line = input.value();
                    let cursor = cursor_chars(&input, &line);
                    let completion = on_complete.emit((line.clone(), cursor));
                    let (new_line, new_cursor, candidates) = apply_completion(&line, cursor, &completion);
                    input.set_value(&new_line);
                    set_cursor(&input, &new_line, new_cursor);
                    listed.set(candidates);
                }
                _ => {}
            }
        })
    };

    let (prompt, status) = match &props.console {
        Some(c) => {
            let on = c.server.map_or("—".to_string(), |s| format!("zk{s}"));
            let session = c.session.map_or("no session".to_string(), |s| format!("session 0x{s:x}"));
            let busy = if c.busy { " · running…" } else { "" };
            (c.prompt.clone(), format!("{session} · on {on} · {}{busy}", c.state))
        }
        None => ("[zk: (CONNECTING) 0] ".to_string(), "starting…".to_string()),
    };
    let exited = props.console.as_ref().is_some_and(|c| c.exited && !c.busy);
    let on_server = props.console.as_ref().and_then(|c| c.server);
    let connects = props.servers.iter().map(|&sid| {
        let line = format!("connect {}", server_address(sid));
        let onclick = props.on_submit.reform(move |_: MouseEvent| line.clone());
        html! {
            <button class={classes!("pick", (on_server == Some(sid)).then_some("on"))} data-connect={format!("zk{sid}")} {onclick}
                title={format!("connect {}: a new session, zk{sid} first", server_address(sid))}>{ format!("zk{sid}") }</button>
        }
    });
    let transcript = props.console.iter().flat_map(|c| c.transcript.iter()).map(|piece| match piece {
        ConsoleOutput::Echo { prompt, line } => html! {
            <span class="echo"><span class="prompt">{ prompt }</span>{ line }{ "\n" }</span>
        },
        ConsoleOutput::Text(text) => html! { <>{ text }</> },
    });

    html! {
        <div class="console">
            <div class="console-head">
                <h2>{ "zkCli" }</h2>
                <span class="console-status" data-testid="zk-console-status">{ status }</span>
                <span class="picker" title="open a new session on a chosen server">
                    <span class="console-status">{ "connect" }</span>{ for connects }
                </span>
            </div>
            <pre class="console-output" data-testid="zk-console-output" ref={output_ref}>
                { for transcript }
            </pre>
            if !listed.is_empty() {
                <div class="console-candidates" data-testid="zk-console-candidates">{ listed.join("  ") }</div>
            }
            <div class="console-input">
                <span class="prompt" data-testid="zk-console-prompt">{ prompt }</span>
                <input ref={input_ref} type="text" data-testid="zk-console-input" {onkeydown}
                    spellcheck="false" autocomplete="off" autocapitalize="off"
                    placeholder={ if exited { "zkCli exited: type a line to start a new session" } else { "help · ls / · create /demo hello · get /demo" } } />
            </div>
        </div>
    }
}
