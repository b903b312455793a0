//! `zkspark zkcli`, run as a user would: commands on stdin, zkCli's output on stdout.

use std::io::Write;
use std::process::{Command, Stdio};

fn zkcli(args: &[&str], stdin: &str) -> std::process::Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_zkspark"))
        .arg("zkcli")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run zkspark");
    child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
    child.wait_with_output().expect("zkspark exits")
}

fn stdout(out: &std::process::Output) -> String {
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout.clone()).unwrap()
}

#[test]
fn transcript_mode_prints_a_block_per_command() {
    let out = stdout(&zkcli(
        &["--transcript", "--seed", "3"],
        "# a comment\ncreate /a \"hello world\"\nget /a\nget -w /a\nset /a x\nls /\nget /nope\n",
    ));
    assert_eq!(
        out,
        ">>> create /a \"hello world\"\nCreated /a\n\
         >>> get /a\nhello world\n\
         >>> get -w /a\nhello world\n\
         >>> set /a x\n\nWATCHER::\n\nWatchedEvent state:SyncConnected type:NodeDataChanged path:/a\n\
         >>> ls /\n[a, zookeeper]\n\
         >>> get /nope\nNode does not exist: /nope\n"
    );
}

#[test]
fn terminal_mode_shows_the_banner_prompts_and_counter() {
    let out = stdout(&zkcli(&[], "ls /\nbogus\nquit\nls /\n"));
    let mut lines = out.lines();
    assert_eq!(lines.next(), Some("Connecting to 127.0.0.1:2181"));
    assert_eq!(lines.next(), Some("Welcome to ZooKeeper!"));
    assert!(out.contains(
        "WatchedEvent state:SyncConnected type:None path:null\n[zk: 127.0.0.1:2181(CONNECTED) 0] ls /\n[zookeeper]\n"
    ));
    assert!(out.contains("[zk: 127.0.0.1:2181(CONNECTED) 1] bogus\nZooKeeper -server host:port"));
    assert!(out.contains("Command not found: Command not found bogus\n[zk: 127.0.0.1:2181(CONNECTED) 2] quit\n"));
    assert!(!out.contains("2] quit\n[zk:"), "nothing runs after quit: {out}");
}

#[test]
fn the_same_seed_gives_the_same_session() {
    let script = "create -e /e\nstat /e\n";
    let a = stdout(&zkcli(&["--transcript", "--seed", "9"], script));
    assert_eq!(a, stdout(&zkcli(&["--transcript", "--seed", "9"], script)));
    assert!(a.contains("ephemeralOwner = 0x1"), "{a}");
}

#[test]
fn bad_arguments_get_the_usage_and_exit_2() {
    for (args, needle) in [
        (vec!["--servers", "0"], "--servers must be between 1 and 15"),
        (vec!["--seed", "x"], "--seed expects a non-negative integer, got 'x'"),
        (vec!["--bogus"], "unknown option '--bogus'"),
    ] {
        let out = zkcli(&args, "");
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(needle), "{args:?}: {stderr}");
        assert!(stderr.contains("usage: zkspark zkcli"), "{args:?}: {stderr}");
    }
}
