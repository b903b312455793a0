//! The page's ZooKeeper client and zkCli console over the conductor, with in-process workers
//! (the same `WorkerNode` the real workers run) standing in for the Web Workers.
//!
//! - `LiveClient` keeps `ensemble.rs`'s rules (`ClientCnxn`): a killed server is noticed at
//!   once and the session moves to another server; cut off past its timeout, the session is
//!   expired by the ensemble and the client learns it when it gets through again.
//! - `LiveConsole` (the replaying, asynchronous zkCli) prints, for every recorded transcript in
//!   `tests/fixtures/zkcli`, what the synchronous `Console` over `LocalSession` prints.

mod common;
use common::fake_page::FakePage;
use common::zkcli_fixtures::{diff, fixture_commands, fixture_names, Normaliser};
use zkspark::ensemble::{ClientEvent, ClientState};
use zkspark::live::client::{apply_completion, connect_order, parse_address, server_address, ConsoleOutput};
use zkspark::live::{LiveClient, LiveConsole};
use zkspark::zk::cli::Completion;
use zkspark::zk::cli::Console;
use zkspark::zk::local::{LocalOptions, LocalSession};
use zkspark::zk::watch::KeeperState;
use zkspark::zk::{Acl, CreateMode, Op, OpResult, ZkError};

/// Frames until `done` or `budget_ms` of virtual time; returns whether `done` held.
fn run_client(
    page: &mut FakePage,
    client: &mut LiveClient,
    budget_ms: u64,
    mut done: impl FnMut(&LiveClient) -> bool,
) -> bool {
    let until = page.conductor.now() + budget_ms;
    while page.conductor.now() < until {
        if done(client) {
            return true;
        }
        page.frame(&mut |c| {
            client.poll(c);
            client.flush(c)
        });
    }
    done(client)
}

/// Sends `op` and runs until its reply (other events are dropped).
fn call(page: &mut FakePage, client: &mut LiveClient, op: Op) -> Result<OpResult, ZkError> {
    let xid = client.submit(op);
    let until = page.conductor.now() + 30_000;
    loop {
        for e in client.take_events() {
            if let ClientEvent::Reply { xid: x, result, .. } = e {
                if x == xid {
                    return result;
                }
            }
        }
        assert!(page.conductor.now() < until, "a reply within 30 s");
        page.frame(&mut |c| {
            client.poll(c);
            client.flush(c)
        });
    }
}

fn ephemeral(path: &str, data: &str) -> Op {
    Op::Create {
        path: path.into(),
        data: data.as_bytes().to_vec(),
        acl: Acl::open_unsafe(),
        mode: CreateMode::Ephemeral,
        ttl_ms: None,
    }
}

fn get(path: &str) -> Op {
    Op::GetData { path: path.into(), watch: false }
}

/// A page with a leader and a client connected through it.
fn connected(n: u32) -> (FakePage, LiveClient) {
    let mut page = FakePage::new(n);
    let mut client = LiveClient::new(1, (1..=n).collect(), 30_000);
    assert!(run_client(&mut page, &mut client, 20_000, |c| c.state() == ClientState::Connected), "connected");
    (page, client)
}

fn watch_states(events: &[ClientEvent]) -> Vec<KeeperState> {
    events
        .iter()
        .filter_map(|e| match e {
            ClientEvent::Watch(w) if w.path.is_none() => Some(w.keeper_state),
            _ => None,
        })
        .collect()
}

#[test]
fn servers_map_to_client_ports() {
    assert_eq!(server_address(3), "127.0.0.1:2183");
    assert_eq!(parse_address("127.0.0.1:2182"), Some(2));
    assert_eq!(parse_address("localhost:2185"), Some(5));
    assert_eq!(parse_address("zk4"), Some(4));
    assert_eq!(parse_address("127.0.0.1"), None);
    assert_eq!(connect_order("127.0.0.1:2183", &[1, 2, 3, 4, 5]), vec![3, 4, 5, 1, 2]);
    assert_eq!(connect_order("127.0.0.1:21810", &[1, 2, 3]), vec![1, 2, 3], "an unknown address: the ensemble");
}

#[test]
fn a_client_opens_a_session_once_a_leader_serves_and_reads_its_own_write() {
    let (mut page, mut client) = connected(3);
    assert!(page.leader().is_some());
    let states = watch_states(&client.take_events());
    assert_eq!(states, [KeeperState::SyncConnected]);
    let session = client.session().expect("a session");
    let created = call(&mut page, &mut client, ephemeral("/e", "hi"));
    assert!(matches!(created, Ok(OpResult::Created { .. })), "{created:?}");
    match call(&mut page, &mut client, get("/e")) {
        Ok(OpResult::Data { data, stat }) => {
            assert_eq!(data, b"hi");
            assert_eq!(stat.ephemeral_owner, session, "the ephemeral belongs to the session");
        }
        other => panic!("{other:?}"),
    }
}

/// `ClientCnxn`: a connection whose server dies is reset at once; the client reconnects to the
/// next server with the same session id and password, within the session timeout, and its
/// ephemerals stay.
#[test]
fn killing_the_connected_server_moves_the_session_to_another_server() {
    let (mut page, mut client) = connected(5);
    let session = client.session().unwrap();
    call(&mut page, &mut client, ephemeral("/mine", "x")).unwrap();
    let _ = client.take_events();
    let first = client.server().expect("on a server");
    page.kill(first);
    page.frame(&mut |c| {
        client.poll(c);
        client.flush(c)
    });
    assert_eq!(client.state(), ClientState::Connecting, "the reset is noticed in the next frame");
    assert_eq!(watch_states(&client.take_events()), [KeeperState::Disconnected]);
    let t0 = page.conductor.now();
    assert!(run_client(&mut page, &mut client, 30_000, |c| c.state() == ClientState::Connected), "reconnected");
    assert!(page.conductor.now() - t0 < 30_000, "within the session timeout");
    assert_ne!(client.server(), Some(first));
    assert_eq!(client.session(), Some(session), "the same session");
    assert_eq!(watch_states(&client.take_events()), [KeeperState::SyncConnected]);
    match call(&mut page, &mut client, get("/mine")) {
        Ok(OpResult::Data { stat, .. }) => assert_eq!(stat.ephemeral_owner, session, "its ephemeral survived"),
        other => panic!("{other:?}"),
    }
}

/// Killing the leader while the client sits on a follower: the follower stops serving and
/// closes its connections ("server stopped serving"), the ensemble elects a new leader, and
/// the client gets back in with its session.
#[test]
fn the_session_survives_the_loss_of_the_leader() {
    let (mut page, mut client) = connected(3);
    let session = client.session().unwrap();
    let leader = page.leader().unwrap();
    page.kill(leader);
    assert!(run_client(&mut page, &mut client, 2_000, |c| c.state() == ClientState::Connecting));
    assert!(run_client(&mut page, &mut client, 30_000, |c| c.state() == ClientState::Connected), "reconnected");
    assert_eq!(client.session(), Some(session));
    assert_ne!(client.server(), Some(leader));
}

/// A request made while the client is reconnecting is held, then sent once the connection is
/// up (`ClientCnxn.outgoingQueue`); a request in flight when the connection breaks fails with
/// ConnectionLoss.
#[test]
fn requests_wait_for_the_connection_or_fail_with_connection_loss() {
    let (mut page, mut client) = connected(5);
    let first = client.server().unwrap();
    let in_flight = client.submit(get("/"));
    page.kill(first);
    page.frame(&mut |c| {
        client.poll(c);
        client.flush(c)
    });
    let events = client.take_events();
    let lost = events.iter().any(
        |e| matches!(e, ClientEvent::Reply { xid, result: Err(ZkError::ConnectionLoss), .. } if *xid == in_flight),
    );
    assert!(lost, "{events:?}");
    // The next attempts may hit servers that are not serving yet; keep asking until one answers.
    let mut answered = false;
    for _ in 0..20 {
        if matches!(call(&mut page, &mut client, get("/")), Ok(OpResult::Data { .. })) {
            answered = true;
            break;
        }
    }
    assert!(answered, "a request made while reconnecting is answered once connected");
}

/// The ensemble expires a session it has not heard from for its timeout; the client learns it
/// when it next reaches a server (`Expired`, prompt `CLOSED`), and the ephemerals are gone.
#[test]
fn a_client_cut_off_past_its_session_timeout_finds_its_session_expired() {
    let (mut page, mut client) = connected(3);
    let session = client.session().unwrap();
    call(&mut page, &mut client, ephemeral("/gone", "x")).unwrap();
    let _ = client.take_events();
    client.set_cut_off(true);
    assert!(run_client(&mut page, &mut client, 25_000, |c| c.state() == ClientState::Connecting), "read timeout");
    run_client(&mut page, &mut client, 20_000, |_| false);
    assert_eq!(client.state(), ClientState::Connecting, "a cut-off client keeps trying");
    let leader = page.leader().unwrap();
    let tree = page.conductor.view(leader).unwrap().tree.clone();
    assert!(tree.get("/gone").is_none(), "the leader expired the session and its ephemeral");
    assert!(!tree.sessions().contains_key(&session));
    client.set_cut_off(false);
    assert!(run_client(&mut page, &mut client, 10_000, |c| c.state() != ClientState::Connecting));
    assert_eq!(client.state(), ClientState::Expired);
    assert_eq!(client.state().as_str(), "CLOSED");
    let states = watch_states(&client.take_events());
    assert_eq!(states, [KeeperState::Disconnected, KeeperState::Expired]);
    assert_eq!(call(&mut page, &mut client, get("/")), Err(ZkError::SessionExpired));
}

// ---- the console ----

/// Frames until the console is idle (at most `budget_ms`).
fn run_console(page: &mut FakePage, console: &mut LiveConsole, budget_ms: u64) {
    let until = page.conductor.now() + budget_ms;
    while page.conductor.now() < until && console.is_busy() {
        page.frame(&mut |c| console.tick(c));
    }
}

fn frames(page: &mut FakePage, console: &mut LiveConsole, ms: u64) {
    for _ in 0..ms / 16 {
        page.frame(&mut |c| console.tick(c));
    }
}

/// What the console printed (without the typed lines).
fn printed(console: &mut LiveConsole) -> String {
    console
        .take_output()
        .into_iter()
        .filter_map(|o| match o {
            ConsoleOutput::Text(t) => Some(t),
            ConsoleOutput::Echo { .. } => None,
        })
        .collect()
}

/// A console connected to a fresh 3-server ensemble, its banner and SyncConnected taken.
fn console_page() -> (FakePage, LiveConsole) {
    let mut page = FakePage::new(3);
    let mut console = LiveConsole::new(vec![1, 2, 3]);
    let until = page.conductor.now() + 20_000;
    while console.client_state() != ClientState::Connected && page.conductor.now() < until {
        page.frame(&mut |c| console.tick(c));
    }
    assert_eq!(console.client_state(), ClientState::Connected);
    frames(&mut page, &mut console, 100);
    let banner = printed(&mut console);
    assert!(banner.starts_with("Connecting to 127.0.0.1:2181,127.0.0.1:2182,127.0.0.1:2183\n"), "{banner}");
    assert!(banner.ends_with("WatchedEvent state:SyncConnected type:None path:null\n"), "{banner}");
    (page, console)
}

/// Runs one command and lets the events it causes arrive (the recordings attribute to a
/// command everything printed before the next one was typed).
fn type_line(page: &mut FakePage, console: &mut LiveConsole, line: &str) -> String {
    console.submit(line);
    run_console(page, console, 60_000);
    assert!(!console.is_busy(), "`{line}` finished within 60 s");
    let until = page.conductor.now() + 10_000;
    while console.client_state() == ClientState::Connecting && page.conductor.now() < until {
        page.frame(&mut |c| console.tick(c));
    }
    frames(page, console, 300);
    printed(console)
}

#[test]
fn the_console_prints_what_zkcli_prints_and_keeps_the_prompt() {
    let (mut page, mut console) = console_page();
    assert!(console.prompt().starts_with("[zk: 127.0.0.1:218"), "{}", console.prompt());
    assert!(console.prompt().ends_with("(CONNECTED) 0] "), "{}", console.prompt());
    assert_eq!(type_line(&mut page, &mut console, "create /demo hello"), "Created /demo\n");
    assert_eq!(type_line(&mut page, &mut console, "get /demo"), "hello\n");
    assert_eq!(type_line(&mut page, &mut console, "ls /"), "[demo, zookeeper]\n");
    assert!(console.prompt().ends_with("(CONNECTED) 3] "), "{}", console.prompt());
    let leader = page.leader().unwrap();
    let tree = &page.conductor.view(leader).unwrap().tree;
    assert_eq!(tree.get("/demo").unwrap().data, b"hello");
}

/// Lines typed while one runs wait their turn; each is echoed after the prompt it ran at.
#[test]
fn typed_ahead_lines_run_in_order() {
    let (mut page, mut console) = console_page();
    console.submit("create /a 1");
    console.submit("create /a/b 2");
    console.submit("ls -R /a");
    run_console(&mut page, &mut console, 30_000);
    let out = console.take_output();
    let echoes: Vec<String> = out
        .iter()
        .filter_map(|o| match o {
            ConsoleOutput::Echo { prompt, line } => Some(format!("{prompt}{line}")),
            _ => None,
        })
        .collect();
    assert!(echoes[0].ends_with("(CONNECTED) 0] create /a 1"), "{echoes:?}");
    assert!(echoes[2].ends_with("(CONNECTED) 2] ls -R /a"), "{echoes:?}");
    let text: String =
        out.into_iter().filter_map(|o| if let ConsoleOutput::Text(t) = o { Some(t) } else { None }).collect();
    assert_eq!(text, "Created /a\nCreated /a/b\n/a\n/a/b\n");
}

/// A watch that fires between commands is printed when it arrives, as zkCli's event thread
/// prints it.
#[test]
fn watch_events_between_commands_print_as_they_arrive() {
    let (mut page, mut console) = console_page();
    type_line(&mut page, &mut console, "create /w");
    assert_eq!(type_line(&mut page, &mut console, "get -w /w"), "null\n");
    // Another client changes /w.
    let mut other = LiveClient::new(9, vec![2, 3, 1], 30_000);
    let until = page.conductor.now() + 10_000;
    while other.state() != ClientState::Connected && page.conductor.now() < until {
        page.frame(&mut |c| {
            let mut posts = console.tick(c);
            other.poll(c);
            posts.extend(other.flush(c));
            posts
        });
    }
    assert_eq!(other.state(), ClientState::Connected);
    other.submit(Op::SetData { path: "/w".into(), data: b"x".to_vec(), version: -1 });
    for _ in 0..60 {
        page.frame(&mut |c| {
            let mut posts = console.tick(c);
            other.poll(c);
            posts.extend(other.flush(c));
            posts
        });
    }
    assert_eq!(printed(&mut console), "\nWATCHER::\n\nWatchedEvent state:SyncConnected type:NodeDataChanged path:/w\n");
}

/// The console's server dies: zkCli prints Disconnected, then SyncConnected once the session
/// is on another server; its ephemeral and its watch survive (the client re-sends its watches
/// with `SetWatches`).
#[test]
fn the_console_keeps_its_session_and_watches_across_a_failover() {
    let (mut page, mut console) = console_page();
    type_line(&mut page, &mut console, "create -e /eph x");
    type_line(&mut page, &mut console, "create /w a");
    assert_eq!(type_line(&mut page, &mut console, "get -w /w"), "a\n");
    let session = console.session().unwrap();
    let first = console.server().unwrap();
    page.kill(first);
    let mut other = LiveClient::new(9, vec![1, 2, 3].into_iter().filter(|&s| s != first).collect(), 30_000);
    let both = |page: &mut FakePage, console: &mut LiveConsole, other: &mut LiveClient, frames: usize| {
        for _ in 0..frames {
            page.frame(&mut |c| {
                let mut posts = console.tick(c);
                other.poll(c);
                posts.extend(other.flush(c));
                posts
            });
        }
    };
    both(&mut page, &mut console, &mut other, 200);
    assert_eq!(other.state(), ClientState::Connected);
    other.submit(Op::SetData { path: "/w".into(), data: b"b".to_vec(), version: -1 });
    both(&mut page, &mut console, &mut other, 100);
    assert_eq!(console.client_state(), ClientState::Connected);
    assert_eq!(console.session(), Some(session));
    assert!(console.prompt().starts_with(&format!("[zk: 127.0.0.1:218{}(CONNECTED)", console.server().unwrap())));
    assert_eq!(
        printed(&mut console),
        "\nWATCHER::\n\nWatchedEvent state:Disconnected type:None path:null\n\
         \nWATCHER::\n\nWatchedEvent state:SyncConnected type:None path:null\n\
         \nWATCHER::\n\nWatchedEvent state:SyncConnected type:NodeDataChanged path:/w\n"
    );
    assert_eq!(type_line(&mut page, &mut console, "getEphemerals"), "[/eph]\n");
}

/// Tab completes paths from the tree of the server the session is on.
#[test]
fn tab_completes_children() {
    let (mut page, mut console) = console_page();
    type_line(&mut page, &mut console, "create /app");
    type_line(&mut page, &mut console, "create /app/config");
    type_line(&mut page, &mut console, "create /app/cache");
    let c = console.complete("get /app/c", 10, &page.conductor);
    assert_eq!(c.candidates, ["cache", "config"]);
    assert_eq!(c.start, 9);
    let c = console.complete("ls /zoo", 7, &page.conductor);
    assert_eq!(c.candidates, ["zookeeper"]);
    let c = console.complete("dele", 4, &page.conductor);
    assert_eq!(c.candidates, ["delete", "deleteall"]);
}

/// JLine's `CandidateListCompletionHandler`: one candidate replaces the word, several
/// complete their common prefix and are listed.
#[test]
fn completions_apply_as_jline_applies_them() {
    let one = Completion { start: 4, candidates: vec!["zookeeper".into()] };
    assert_eq!(apply_completion("ls /zo", 6, &one), ("ls /zookeeper".into(), 13, vec![]));
    let many = Completion { start: 9, candidates: vec!["cache".into(), "config".into()] };
    assert_eq!(
        apply_completion("get /app/c x", 10, &many),
        ("get /app/c x".into(), 10, vec!["cache".into(), "config".into()])
    );
    let prefix = Completion { start: 4, candidates: vec!["alpha1".into(), "alpha2".into()] };
    assert_eq!(apply_completion("ls /a", 5, &prefix).0, "ls /alpha");
    let cmds = Completion { start: 0, candidates: vec!["delete".into(), "deleteall".into()] };
    assert_eq!(apply_completion("del", 3, &cmds).0, "delete");
    assert_eq!(apply_completion("ls /x", 5, &Completion { start: 5, candidates: vec![] }).0, "ls /x");
}

/// `quit` ends zkCli; the next line starts a new one with a new session.
#[test]
fn after_quit_the_next_line_starts_a_new_zkcli() {
    let (mut page, mut console) = console_page();
    let first = console.session().unwrap();
    type_line(&mut page, &mut console, "create -e /mine x");
    let out = type_line(&mut page, &mut console, "quit");
    assert_eq!(out, "\nWATCHER::\n\nWatchedEvent state:Closed type:None path:null\n");
    assert!(console.has_exited());
    let out = type_line(&mut page, &mut console, "ls /");
    assert!(out.starts_with("Connecting to 127.0.0.1:2181"), "{out}");
    assert!(out.contains("[zookeeper]\n"), "the closed session's ephemeral is gone: {out}");
    assert_ne!(console.session(), Some(first));
}

// ---- the recorded transcripts, through the asynchronous console ----

/// Fixture commands whose live output differs from the standalone `LocalSession` console's,
/// with why. Each still runs (its effects count for the commands after it).
const EXCEPTIONS: &[(&str, &str, &str)] = &[];

/// Each fixture through both consoles; returns the mismatches.
fn compare_fixture(name: &str, cmds: &[String]) -> Vec<String> {
    let mut reference = Console::new(Box::new(LocalSession::new(LocalOptions::default())));
    let _ = reference.pending_output();
    let (mut page, mut live) = console_page();
    let (mut ref_norm, mut live_norm) = (Normaliser::new(), Normaliser::new());
    let mut failures = Vec::new();
    for (i, cmd) in cmds.iter().enumerate() {
        if reference.has_exited() {
            break;
        }
        let expected = ref_norm.text(&reference.run_line(cmd));
        let raw = type_line(&mut page, &mut live, cmd);
        if std::env::var_os("ZKSPARK_DEBUG_CONSOLE").is_some() {
            eprintln!("[{} ms] {cmd}\n{raw}", page.conductor.now());
        }
        let actual = live_norm.text(&raw);
        if EXCEPTIONS.iter().any(|(f, c, _)| *f == name && c == cmd) {
            continue;
        }
        if expected != actual {
            failures.push(format!("{name} #{} `{cmd}`:\n{}", i + 1, diff(&expected, &actual)));
        }
    }
    failures
}

#[test]
fn recorded_transcripts_print_the_same_through_the_live_console() {
    let names = fixture_names();
    for (fixture, cmd, reason) in EXCEPTIONS {
        println!("exception: {fixture} `{cmd}`: {reason}");
    }
    let mut failures = Vec::new();
    for name in &names {
        let cmds = fixture_commands(name);
        let f = compare_fixture(name, &cmds);
        println!("{name}: {}", if f.is_empty() { "same" } else { "DIFFERS" });
        failures.extend(f);
    }
    assert!(failures.is_empty(), "{} mismatches:\n\n{}", failures.len(), failures.join("\n"));
}
