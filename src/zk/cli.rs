//! zkCli 3.8 (`ZooKeeperMain` and `org.apache.zookeeper.cli.*Command`), as a pure console over a
//! `ZkSession`.
//!
//! ```text
//!   line ──tokenize──▶ args ──Console::run_line──▶ parse options (commons-cli DefaultParser)
//!                                   │                       │
//!                                   │                exec: ZkSession::call(Op) …
//!                                   ▼                       ▼
//!                      exactly what zkCli prints: results (stdout), "Created /x", errors and
//!                      usage (stderr), WATCHER:: blocks for events delivered meanwhile
//! ```
//!
//! zkCli prints results on stdout and "Created …", errors and usage on stderr; a person sees
//! both in the terminal, so `run_line` returns them merged in the order zkCli writes them. The
//! client library's own checks (`PathUtils.validatePath`, `validateACL`, TTL bounds) run here,
//! before a request reaches the session, as they run in `ZooKeeper` before a request is sent.

use super::acl;
use super::path::validate_path;
use super::txn::{Acl, CreateMode, Op, OpResult, SessionId, Stat, ZkError};
use super::watch::{WatchedEvent, WatcherType};
use std::collections::BTreeMap;

/// A client session as zkCli sees it (the `ZooKeeper` handle). The local implementation answers
/// from one in-process tree; the ensemble-backed one runs the simulator until the reply comes.
pub trait ZkSession {
    /// Sends one request and waits for its reply. Watches requested by reads are registered on
    /// both sides (server and client library) by the session.
    fn call(&mut self, op: Op) -> Result<OpResult, ZkError>;

    /// `create` without a data argument: zkCli sends Java's `null`, the server keeps it, and
    /// `get` prints `null`. `Op` has no null, so the console calls this instead of `call`;
    /// sessions that cannot keep the difference store empty data.
    fn create_null_data(&mut self, op: Op) -> Result<OpResult, ZkError> {
        self.call(op)
    }

    /// Whether the data the last `GetData` returned was Java's `null` (see `create_null_data`).
    fn last_data_was_null(&self) -> bool {
        false
    }

    /// `addAuthInfo`: fire-and-forget in zkCli; a failure shows up as an `AuthFailed` event and
    /// a dead session.
    fn add_auth(&mut self, scheme: &str, auth: Option<&str>) -> Result<(), ZkError>;

    /// `removeAllWatches(path, type, local)`: the "…WatchRemoved" events go to `take_events`.
    fn remove_watches(&mut self, path: &str, kind: WatcherType, local: bool) -> Result<(), ZkError>;

    /// `whoAmI`: (scheme, user) for each of the connection's auth ids.
    fn who_am_i(&mut self) -> Result<Vec<(String, String)>, ZkError>;

    /// Watch events delivered to the default watcher since the last call, in order.
    fn take_events(&mut self) -> Vec<WatchedEvent>;

    fn session_id(&self) -> SessionId;

    /// The connect string, `127.0.0.1:2181`-style, for the prompt.
    fn server(&self) -> String;

    /// Closes the current session (if alive) and opens a new one to `server`.
    fn connect(&mut self, server: &str) -> Result<(), String>;

    /// `ZooKeeper.close()`.
    fn close(&mut self);

    /// `ZooKeeper.States` as the prompt shows it: `CONNECTED`, `CLOSED`, `AUTH_FAILED`, …
    fn state(&self) -> &'static str;

    /// `States.isAlive()`.
    fn is_alive(&self) -> bool {
        !matches!(self.state(), "CLOSED" | "AUTH_FAILED")
    }

    /// Whether the session could not answer something the current line asked (its reply has
    /// not come yet) and gave a placeholder instead: the run must be discarded and the line run
    /// again once the reply is in (`Console::run_line_suspendable`). Synchronous sessions
    /// never suspend.
    fn suspended(&self) -> bool {
        false
    }
}

/// `ZooKeeperMain.MyCommandOptions.parseCommand`: `\s*([^"']\S*|"[^"]*"|'[^']*')\s*` applied
/// with `Matcher.find`, then one level of matching quotes stripped from each token. An unclosed
/// quote is not an error: the regex skips it (or, after spaces, keeps a space in the token).
pub fn tokenize(line: &str) -> Vec<String> {
    let chars: Vec<char> = line.chars().collect();
    let is_space = |c: char| matches!(c, ' ' | '\t' | '\n' | '\u{0B}' | '\u{0C}' | '\r');
    let mut tokens = Vec::new();
    let mut from = 0;
    while from < chars.len() {
        let mut found = None;
        'start: for p in from..chars.len() {
            let mut ws = 0;
            while p + ws < chars.len() && is_space(chars[p + ws]) {
                ws += 1;
            }
            for k in (0..=ws).rev() {
                let q = p + k;
                if let Some(end) = match_group(&chars, q, is_space) {
                    let mut next = end;
                    while next < chars.len() && is_space(chars[next]) {
                        next += 1;
                    }
                    found = Some((q, end, next));
                    break 'start;
                }
            }
        }
        let Some((start, end, next)) = found else { break };
        let token: String = chars[start..end].iter().collect();
        tokens.push(strip_quotes(token));
        from = next;
    }
    tokens
}

/// The group of `ARGS_PATTERN` at `q`: its end, if one of the three alternatives matches.
fn match_group(chars: &[char], q: usize, is_space: impl Fn(char) -> bool) -> Option<usize> {
    let c = *chars.get(q)?;
    if c != '"' && c != '\'' {
        let mut end = q + 1;
        while end < chars.len() && !is_space(chars[end]) {
            end += 1;
        }
        return Some(end);
    }
    chars[q + 1..].iter().position(|&x| x == c).map(|i| q + 1 + i + 1)
}

/// `QUOTED_PATTERN` `^(['"])(.*)(\1)$`: strip one level of matching quotes.
fn strip_quotes(token: String) -> String {
    let chars: Vec<char> = token.chars().collect();
    if chars.len() >= 2 && (chars[0] == '"' || chars[0] == '\'') && chars[chars.len() - 1] == chars[0] {
        let inner = &chars[1..chars.len() - 1];
        if !inner.iter().any(|&c| c == '\n' || c == '\r') {
            return inner.iter().collect();
        }
    }
    token
}

/// One option of a command (`Options.addOption(key, hasArg, description)`).
#[derive(Clone, Copy, Debug)]
struct OptSpec {
    key: char,
    has_arg: bool,
    description: &'static str,
}

const fn flag(key: char, description: &'static str) -> OptSpec {
    OptSpec { key, has_arg: false, description }
}

const fn with_arg(key: char, description: &'static str) -> OptSpec {
    OptSpec { key, has_arg: true, description }
}

/// What commons-cli's `DefaultParser` returns: the options seen (with their values) and the
/// remaining arguments, the command name first.
#[derive(Clone, Debug, Default)]
struct CommandLine {
    opts: Vec<(char, Option<String>)>,
    args: Vec<String>,
}

impl CommandLine {
    fn has(&self, key: char) -> bool {
        self.opts.iter().any(|(k, _)| *k == key)
    }
    /// `getOptionValue`: the first value given.
    fn value(&self, key: char) -> Option<&str> {
        self.opts.iter().find(|(k, v)| *k == key && v.is_some()).and_then(|(_, v)| v.as_deref())
    }
}

/// commons-cli 1.5 `DefaultParser.parse(options, args)` for short options without long forms:
/// concatenated flags (`-sw`), attached values (`-v3`, `-v=3`), `--`, negative numbers as
/// values. The error is the `ParseException`'s `toString()`, which zkCli prints.
fn parse_options(specs: &[OptSpec], tokens: &[String]) -> Result<CommandLine, String> {
    parse_options_in_group(specs, tokens, None)
}

/// `parse_options` where every option belongs to one `OptionGroup` (at most one may be given;
/// `Some(true)`: one must be).
fn parse_options_in_group(specs: &[OptSpec], tokens: &[String], group: Option<bool>) -> Result<CommandLine, String> {
    let mut p = OptionParser { specs, cl: CommandLine::default(), current: None, skip: false, group, selected: None };
    for token in tokens {
        p.handle_token(token)?;
    }
    p.check_required_args()?;
    if p.group == Some(true) && p.selected.is_none() {
        let names: Vec<String> = specs.iter().map(|o| format!("-{} {}", o.key, o.description)).collect();
        return Err(format!(
            "org.apache.commons.cli.MissingOptionException: Missing required option: [{}]",
            names.join(", ")
        ));
    }
    Ok(p.cl)
}

struct OptionParser<'a> {
    specs: &'a [OptSpec],
    cl: CommandLine,
    /// Index into `cl.opts` of an option still waiting for its value.
    current: Option<usize>,
    skip: bool,
    /// Whether the options form an `OptionGroup`, and whether it is required.
    group: Option<bool>,
    selected: Option<char>,
}

const UNRECOGNIZED: &str = "org.apache.commons.cli.UnrecognizedOptionException: Unrecognized option: ";
const MISSING_ARGUMENT: &str = "org.apache.commons.cli.MissingArgumentException: Missing argument for option: ";

impl OptionParser<'_> {
    fn spec(&self, key: &str) -> Option<OptSpec> {
        let mut chars = key.chars();
        let (Some(c), None) = (chars.next(), chars.next()) else { return None };
        self.specs.iter().copied().find(|s| s.key == c)
    }

    fn handle_token(&mut self, token: &str) -> Result<(), String> {
        if self.skip {
            self.cl.args.push(token.to_string());
        } else if token == "--" {
            self.skip = true;
        } else if self.current.is_some() && self.is_argument(token) {
            let i = self.current.take().expect("current option");
            self.cl.opts[i].1 = Some(strip_option_quotes(token));
        } else if token.starts_with("--") {
            return Err(format!("{UNRECOGNIZED}{token}"));
        } else if token.starts_with('-') && token != "-" {
            self.handle_short(token)?;
        } else {
            self.cl.args.push(token.to_string());
        }
        Ok(())
    }

    fn handle_short(&mut self, token: &str) -> Result<(), String> {
        let t = &token[1..];
        match t.find('=') {
            _ if t.chars().count() == 1 => match self.spec(t) {
                Some(spec) => self.handle_option(spec),
                None => Err(format!("{UNRECOGNIZED}{token}")),
            },
            None => self.handle_concatenated(token),
            Some(pos) => {
                let (opt, value) = (&t[..pos], &t[pos + 1..]);
                match self.spec(opt) {
                    Some(spec) if spec.has_arg => {
                        self.handle_option(spec)?;
                        let i = self.current.take().expect("option with a value");
                        self.cl.opts[i].1 = Some(value.to_string());
                        Ok(())
                    }
                    _ => Err(format!("{UNRECOGNIZED}{token}")),
                }
            }
        }
    }

    fn handle_concatenated(&mut self, token: &str) -> Result<(), String> {
        for (i, c) in token.char_indices().skip(1) {
            let Some(spec) = self.specs.iter().copied().find(|s| s.key == c) else {
                return Err(format!("{UNRECOGNIZED}{token}"));
            };
            self.handle_option(spec)?;
            let rest = &token[i + c.len_utf8()..];
            if let (Some(cur), false) = (self.current, rest.is_empty()) {
                self.cl.opts[cur].1 = Some(rest.to_string());
                self.current = None;
                break;
            }
        }
        Ok(())
    }

    fn handle_option(&mut self, spec: OptSpec) -> Result<(), String> {
        self.check_required_args()?;
        if self.group.is_some() {
            // `OptionGroup.setSelected`.
            match self.selected {
                Some(other) if other != spec.key => {
                    return Err(format!(
                        "org.apache.commons.cli.AlreadySelectedException: The option '{}' was specified but an option from this group has already been selected: '{other}'",
                        spec.key
                    ));
                }
                _ => self.selected = Some(spec.key),
            }
        }
        self.cl.opts.push((spec.key, None));
        self.current = spec.has_arg.then(|| self.cl.opts.len() - 1);
        Ok(())
    }

    fn check_required_args(&self) -> Result<(), String> {
        match self.current {
            Some(i) => Err(format!("{MISSING_ARGUMENT}{}", self.cl.opts[i].0)),
            None => Ok(()),
        }
    }

    /// `isArgument`: not an option, or a number (`Double.parseDouble` accepts it).
    fn is_argument(&self, token: &str) -> bool {
        !self.is_short_option(token) || java_parses_double(token)
    }

    fn is_short_option(&self, token: &str) -> bool {
        if !token.starts_with('-') || token.len() == 1 {
            return false;
        }
        let name = match token.find('=') {
            Some(pos) => &token[1..pos],
            None => &token[1..],
        };
        self.spec(name).is_some() || name.chars().next().is_some_and(|c| self.specs.iter().any(|s| s.key == c))
    }
}

/// `Util.stripLeadingAndTrailingQuotes` (on by default for an option's separate value).
fn strip_option_quotes(token: &str) -> String {
    if token.len() > 1 && token.starts_with('"') && token.ends_with('"') && !token[1..token.len() - 1].contains('"') {
        token[1..token.len() - 1].to_string()
    } else {
        token.to_string()
    }
}

/// Whether Java's `Double.parseDouble` accepts `s` (decimal and special forms; close enough for
/// telling `-5` from an option).
fn java_parses_double(s: &str) -> bool {
    let t = s.trim_matches(|c: char| c <= ' ');
    let unsigned = t.strip_prefix(['+', '-']).unwrap_or(t);
    if unsigned == "Infinity" || unsigned == "NaN" {
        return true;
    }
    let body = unsigned.strip_suffix(['d', 'D', 'f', 'F']).unwrap_or(unsigned);
    !body.is_empty()
        && body.chars().all(|c| c.is_ascii_digit() || matches!(c, '.' | 'e' | 'E' | '+' | '-'))
        && body.chars().any(|c| c.is_ascii_digit())
        && body.parse::<f64>().is_ok()
}

/// `Integer.parseInt` (and `Long.parseLong`): optional sign, decimal digits, in range.
fn java_parse_int<T: std::str::FromStr>(s: &str) -> Option<T> {
    let digits = s.strip_prefix(['+', '-']).unwrap_or(s);
    if digits.is_empty() || !digits.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let normalized = s.strip_prefix('+').unwrap_or(s);
    normalized.parse().ok()
}

/// `Integer.decode` (used by `redo`): decimal, `0x`/`#` hex, leading `0` octal.
fn java_decode(s: &str) -> Option<i64> {
    let (neg, rest) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let value = if let Some(hex) =
        rest.strip_prefix("0x").or_else(|| rest.strip_prefix("0X")).or_else(|| rest.strip_prefix('#'))
    {
        i64::from_str_radix(hex, 16).ok()?
    } else if rest.len() > 1 && rest.starts_with('0') {
        i64::from_str_radix(&rest[1..], 8).ok()?
    } else {
        if rest.is_empty() || !rest.chars().all(|c| c.is_ascii_digit()) {
            return None;
        }
        rest.parse().ok()?
    };
    let value = if neg { -value } else { value };
    (i64::from(i32::MIN)..=i64::from(i32::MAX)).contains(&value).then_some(value)
}

/// A command zkCli knows: its name and the option string of its usage line.
struct CommandInfo {
    name: &'static str,
    options: &'static str,
}

const ADD_WATCH_USAGE: &str =
    "[-m mode] path # optional mode is one of [PERSISTENT, PERSISTENT_RECURSIVE] - default is PERSISTENT_RECURSIVE";
const RECONFIG_USAGE: &str = "[-s] [-v version] [[-file path] | [-members serverID=host:port1:port2;port3[,...]*]] | [-add serverId=host:port1:port2;port3[,...]]* [-remove serverId[,...]*]";

/// `ZooKeeperMain.commandMap`: the shell's own commands and every `CliCommand`.
const COMMANDS: &[CommandInfo] = &[
    CommandInfo { name: "connect", options: "host:port" },
    CommandInfo { name: "history", options: "" },
    CommandInfo { name: "redo", options: "cmdno" },
    CommandInfo { name: "printwatches", options: "on|off" },
    CommandInfo { name: "quit", options: "" },
    CommandInfo { name: "close", options: "" },
    CommandInfo { name: "create", options: "[-s] [-e] [-c] [-t ttl] path [data] [acl]" },
    CommandInfo { name: "delete", options: "[-v version] path" },
    CommandInfo { name: "deleteall", options: "path [-b batch size]" },
    CommandInfo { name: "set", options: "[-s] [-v version] path data" },
    CommandInfo { name: "get", options: "[-s] [-w] path" },
    CommandInfo { name: "ls", options: "[-s] [-w] [-R] path" },
    CommandInfo { name: "getAcl", options: "[-s] path" },
    CommandInfo { name: "setAcl", options: "[-s] [-v version] [-R] path acl" },
    CommandInfo { name: "stat", options: "[-w] path" },
    CommandInfo { name: "sync", options: "path" },
    CommandInfo { name: "setquota", options: "-n|-b|-N|-B val path" },
    CommandInfo { name: "listquota", options: "path" },
    CommandInfo { name: "delquota", options: "[-n|-b|-N|-B] path" },
    CommandInfo { name: "addauth", options: "scheme auth" },
    CommandInfo { name: "reconfig", options: RECONFIG_USAGE },
    CommandInfo { name: "config", options: "[-c] [-w] [-s]" },
    CommandInfo { name: "removewatches", options: "path [-c|-d|-a] [-l]" },
    CommandInfo { name: "getEphemerals", options: "path" },
    CommandInfo { name: "getAllChildrenNumber", options: "path" },
    CommandInfo { name: "version", options: "" },
    CommandInfo { name: "addWatch", options: ADD_WATCH_USAGE },
    CommandInfo { name: "whoami", options: "" },
];

/// `CliCommand.getUsageStr()`: `name + " " + options`.
fn usage_of(name: &str) -> String {
    let info = COMMANDS.iter().find(|c| c.name == name).expect("known command");
    format!("{} {}", info.name, info.options)
}

/// Every command name, sorted as `ZooKeeperMain.getCommands` sorts them (`String` order).
pub fn command_names() -> Vec<&'static str> {
    let mut names: Vec<&str> = COMMANDS.iter().map(|c| c.name).collect();
    names.sort_unstable();
    names
}

/// `ZooKeeperMain.usage()`, which zkCli prints for an unknown command (including `help`).
pub fn usage_text() -> String {
    let mut s = String::from("ZooKeeper -server host:port -client-configuration properties-file cmd args\n");
    for name in command_names() {
        let info = COMMANDS.iter().find(|c| c.name == name).expect("known command");
        s.push_str(&format!("\t{} {}\n", info.name, info.options));
    }
    s
}

/// The version `version` reports (zkCli prints `ZooKeeper CLI version: ` + this).
/// Debian 12's build of 3.8.0, the zkCli the recordings in `tests/fixtures/zkcli` come from.
pub const ZK_FULL_VERSION: &str = "3.8.0-${mvngit.commit.id}, built on 2024-12-29 17:54 UTC";

/// How a command ended, when not normally (`CliException` and its subclasses, or a Java
/// exception zkCli does not catch, which ends the shell).
#[derive(Clone, Debug, PartialEq, Eq)]
enum CliError {
    /// `CliException.getMessage()`, printed on stderr.
    Message(String),
    /// An uncaught runtime exception: the JVM prints it with its stack trace (this text, from
    /// the exception's class on) and zkCli exits.
    Crash(String),
}

type CliResult = Result<(), CliError>;

fn fail(message: impl Into<String>) -> CliResult {
    Err(CliError::Message(message.into()))
}

/// `KeeperException.getCodeMessage` (the text of `KeeperErrorCode = …`).
pub fn code_message(e: ZkError) -> &'static str {
    match e {
        ZkError::NoAuth => "NoAuth",
        ZkError::RolledBack => "ok",
        other => other.message(),
    }
}

/// `KeeperException.getMessage()`: `KeeperErrorCode = NoNode for /a`.
pub fn keeper_message(e: ZkError, path: Option<&str>) -> String {
    match path {
        Some(p) if !p.is_empty() => format!("KeeperErrorCode = {} for {p}", code_message(e)),
        _ => format!("KeeperErrorCode = {}", code_message(e)),
    }
}

/// `CliWrapperException.getMessage(KeeperException)`: zkCli's one-line error for a failed call.
pub fn wrapper_message(e: ZkError, path: Option<&str>) -> String {
    let p = path.unwrap_or("null");
    match e {
        ZkError::NoNode => format!("Node does not exist: {p}"),
        ZkError::NoChildrenForEphemerals => format!("Ephemerals cannot have children: {p}"),
        ZkError::NodeExists => format!("Node already exists: {p}"),
        ZkError::NotEmpty => format!("Node not empty: {p}"),
        ZkError::NotReadOnly => format!("Not a read-only call: {p}"),
        ZkError::InvalidAcl => format!("Acl is not valid : {p}"),
        ZkError::NoAuth => format!("Insufficient permission : {p}"),
        ZkError::BadArguments => format!("Arguments are not valid : {p}"),
        ZkError::BadVersion => format!("version No is not valid : {p}"),
        other => keeper_message(other, path),
    }
}

fn wrap(e: ZkError, path: &str) -> CliError {
    CliError::Message(wrapper_message(e, Some(path)))
}

/// `StatPrinter.print`.
pub fn format_stat(stat: &Stat) -> String {
    format!(
        "cZxid = 0x{:x}\nctime = {}\nmZxid = 0x{:x}\nmtime = {}\npZxid = 0x{:x}\ncversion = {}\ndataVersion = {}\naclVersion = {}\nephemeralOwner = 0x{:x}\ndataLength = {}\nnumChildren = {}\n",
        stat.czxid.0,
        java_date(stat.ctime),
        stat.mzxid.0,
        java_date(stat.mtime),
        stat.pzxid.0,
        stat.cversion,
        stat.version,
        stat.aversion,
        stat.ephemeral_owner,
        stat.data_length,
        stat.num_children
    )
}

/// `new Date(ms).toString()` in UTC: `Thu Jan 01 00:00:00 UTC 1970`.
pub fn java_date(ms: u64) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    let secs = ms / 1000;
    let days = secs / 86_400;
    let rem = secs % 86_400;
    let (y, m, d) = civil_from_days(days as i64);
    format!(
        "{} {} {:02} {:02}:{:02}:{:02} UTC {}",
        DAYS[(days % 7) as usize],
        MONTHS[(m - 1) as usize],
        d,
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        y
    )
}

/// Howard Hinnant's `civil_from_days`: (year, month 1..=12, day 1..=31) of a day count since
/// 1970-01-01.
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// What a `Console` prints: stdout and stderr merged, in order.
#[derive(Default)]
struct Out {
    text: String,
}

impl Out {
    fn println(&mut self, line: &str) {
        self.text.push_str(line);
        self.text.push('\n');
    }
    fn print(&mut self, s: &str) {
        self.text.push_str(s);
    }
}

/// Where a completion's candidates go: they replace `line[start..cursor]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Completion {
    pub start: usize,
    pub candidates: Vec<String>,
}

/// What a line can change in the shell itself (not in the session), saved before a run that
/// may be discarded.
#[derive(Clone)]
struct ShellState {
    history: BTreeMap<i64, String>,
    command_count: i64,
    print_watches: bool,
    last_args: Option<Vec<String>>,
    add_watch_recursive: bool,
    exited: bool,
}

/// The zkCli shell: history, the prompt counter, the sticky state of its command objects, and
/// the session it drives.
pub struct Console {
    session: Box<dyn ZkSession>,
    history: BTreeMap<i64, String>,
    command_count: i64,
    print_watches: bool,
    /// `MyCommandOptions.cmdArgs`: a blank line leaves it as it was, and runs it again.
    last_args: Option<Vec<String>>,
    /// `AddWatchCommand.mode`: the command object is a singleton, so `-m` sticks.
    add_watch_recursive: bool,
    exited: bool,
}

impl Console {
    pub fn new(session: Box<dyn ZkSession>) -> Console {
        Console {
            session,
            history: BTreeMap::new(),
            command_count: 0,
            print_watches: true,
            last_args: None,
            add_watch_recursive: true,
            exited: false,
        }
    }

    pub fn session(&self) -> &dyn ZkSession {
        self.session.as_ref()
    }

    pub fn session_mut(&mut self) -> &mut dyn ZkSession {
        self.session.as_mut()
    }

    /// `ZooKeeperMain.getPrompt()`: `[zk: 127.0.0.1:2181(CONNECTED) 3] `.
    pub fn prompt(&self) -> String {
        format!("[zk: {}({}) {}] ", self.session.server(), self.session.state(), self.command_count)
    }

    /// Whether `quit` ran or zkCli died of an uncaught exception; later lines do nothing.
    pub fn has_exited(&self) -> bool {
        self.exited
    }

    /// The WATCHER:: blocks for events delivered since the last line (e.g. the connection's
    /// `SyncConnected`), as zkCli prints them when they arrive.
    pub fn pending_output(&mut self) -> String {
        let mut out = Out::default();
        self.drain_events(&mut out);
        out.text
    }

    /// `ZooKeeperMain.executeLine`: runs one line and returns everything zkCli prints for it.
    pub fn run_line(&mut self, line: &str) -> String {
        let mut out = Out::default();
        if self.exited {
            return out.text;
        }
        self.drain_events(&mut out);
        self.execute_line(line, &mut out);
        out.text
    }

    /// `run_line` over a session that may not have every answer yet (`ZkSession::suspended`):
    /// `None` if the session suspended, with the shell exactly as before the call (history,
    /// prompt counter, sticky options) and the run's output dropped; the caller runs the line
    /// again once the session can answer more. Events delivered before the line are not
    /// printed here: the caller prints them (`pending_output`) before it starts the line.
    pub fn run_line_suspendable(&mut self, line: &str) -> Option<String> {
        let mut out = Out::default();
        if self.exited {
            return Some(out.text);
        }
        let saved = self.save_shell();
        self.execute_line(line, &mut out);
        if self.session.suspended() {
            self.restore_shell(saved);
            return None;
        }
        Some(out.text)
    }

    fn save_shell(&self) -> ShellState {
        ShellState {
            history: self.history.clone(),
            command_count: self.command_count,
            print_watches: self.print_watches,
            last_args: self.last_args.clone(),
            add_watch_recursive: self.add_watch_recursive,
            exited: self.exited,
        }
    }

    fn restore_shell(&mut self, saved: ShellState) {
        self.history = saved.history;
        self.command_count = saved.command_count;
        self.print_watches = saved.print_watches;
        self.last_args = saved.last_args;
        self.add_watch_recursive = saved.add_watch_recursive;
        self.exited = saved.exited;
    }

    /// The body of `executeLine` after the events that came before it.
    fn execute_line(&mut self, line: &str, out: &mut Out) {
        if line.is_empty() {
            return;
        }
        let tokens = tokenize(line);
        if !tokens.is_empty() {
            self.last_args = Some(tokens);
        }
        self.history.insert(self.command_count, line.to_string());
        if let Some(args) = self.last_args.clone() {
            self.process_cmd(args, out);
        }
        self.command_count += 1;
        self.drain_events(out);
    }

    /// JLine's `JLineZNodeCompleter.complete`: the candidates for the word before `cursor` —
    /// command names, or the children of the typed path's parent that start with its last
    /// component (sorted).
    pub fn complete(&mut self, line: &str, cursor: usize) -> Vec<String> {
        self.complete_at(line, cursor).candidates
    }

    /// `complete`, with where the candidates go.
    pub fn complete_at(&mut self, line: &str, cursor: usize) -> Completion {
        let buffer: String = line.chars().take(cursor).collect();
        let token = if buffer.ends_with(' ') {
            ""
        } else {
            buffer.rsplit(' ').next().unwrap_or("")
        };
        if !token.starts_with('/') {
            let candidates = command_names().into_iter().filter(|c| c.starts_with(token)).map(String::from).collect();
            return Completion { start: buffer.rfind(' ').map_or(0, |i| i + 1), candidates };
        }
        let idx = token.rfind('/').expect("starts with /") + 1;
        let prefix = &token[idx..];
        let dir = if idx == 1 { "/".to_string() } else { token[..idx - 1].to_string() };
        let children = match self.session.call(Op::GetChildren { path: dir, watch: false }) {
            Ok(OpResult::Children { children, .. }) => children,
            _ => return Completion { start: 0, candidates: Vec::new() },
        };
        let mut candidates: Vec<String> = children.into_iter().filter(|c| c.starts_with(prefix)).collect();
        candidates.sort();
        let start = if candidates.is_empty() { buffer.len() } else { buffer.rfind('/').map_or(0, |i| i + 1) };
        Completion { start, candidates }
    }

    /// `ZooKeeperMain.MyWatcher.process` for each delivered event: `printMessage("WATCHER::")`
    /// and `printMessage(event.toString())`, each a blank line and the text.
    fn drain_events(&mut self, out: &mut Out) {
        for event in self.session.take_events() {
            if self.print_watches {
                out.println("");
                out.println("WATCHER::");
                out.println("");
                out.println(&event.to_string());
            }
        }
    }

    /// Calls the session. The events it delivers meanwhile are printed after the command's
    /// own output: zkCli's event thread prints them, and in recordings they land after what
    /// the main thread printed for the command (including "Created /x" and errors).
    fn call(&mut self, _out: &mut Out, op: Op) -> Result<OpResult, ZkError> {
        self.session.call(op)
    }

    /// `ZooKeeperMain.processCmd`: a `CliException` is printed; an uncaught exception ends zkCli.
    fn process_cmd(&mut self, args: Vec<String>, out: &mut Out) {
        match self.process_zk_cmd(args, out) {
            Ok(()) => {}
            Err(CliError::Message(m)) => out.println(&m),
            Err(CliError::Crash(trace)) => {
                out.print(&format!("Exception in thread \"main\" {trace}"));
                self.session.close();
                // The JVM is gone: nothing the event thread had queued gets printed.
                let _ = self.session.take_events();
                self.exited = true;
            }
        }
    }

    /// `ZooKeeperMain.processZKCmd`.
    fn process_zk_cmd(&mut self, args: Vec<String>, out: &mut Out) -> CliResult {
        let cmd = args[0].clone();
        if !COMMANDS.iter().any(|c| c.name == cmd) {
            out.print(&usage_text());
            return fail(format!("Command not found: Command not found {cmd}"));
        }
        match cmd.as_str() {
            "quit" => {
                self.session.close();
                self.exited = true;
                return Ok(());
            }
            "redo" if args.len() >= 2 => self.redo(&args[1], out)?,
            "history" => {
                for i in (self.command_count - 10).max(0)..=self.command_count {
                    let line = self.history.get(&i).map_or("null", String::as_str);
                    out.println(&format!("{i} - {line}"));
                }
            }
            "printwatches" => {
                if args.len() == 1 {
                    out.println(&format!("printwatches is {}", if self.print_watches { "on" } else { "off" }));
                } else {
                    self.print_watches = args[1] == "on";
                }
            }
            "connect" => {
                let server = args.get(1).cloned().unwrap_or_else(|| self.session.server());
                if let Err(e) = self.session.connect(&server) {
                    return Err(crash(&format!("java.io.IOException: {e}"), MAIN_FRAMES));
                }
            }
            _ => {}
        }
        if !self.session.is_alive() {
            out.println("Not connected");
            return Ok(());
        }
        self.exec(&cmd, args, out)
    }

    /// The `redo` branch of `processZKCmd`.
    fn redo(&mut self, index: &str, out: &mut Out) -> CliResult {
        let Some(i) = java_decode(index) else {
            let mut frames = vec![
                "java.base/java.lang.NumberFormatException.forInputString(NumberFormatException.java:67)",
                "java.base/java.lang.Integer.parseInt(Integer.java:668)",
                "java.base/java.lang.Integer.valueOf(Integer.java:989)",
                "java.base/java.lang.Integer.decode(Integer.java:1442)",
                "org.apache.zookeeper.ZooKeeperMain.processZKCmd(ZooKeeperMain.java:397)",
            ];
            frames.extend_from_slice(&MAIN_FRAMES[1..]);
            return Err(crash(&format!("java.lang.NumberFormatException: For input string: \"{index}\""), &frames));
        };
        if self.command_count <= i || i < 0 {
            return fail("Command index out of range");
        }
        let line = self.history.get(&i).cloned().unwrap_or_default();
        let tokens = tokenize(&line);
        if !tokens.is_empty() {
            self.last_args = Some(tokens);
        }
        let Some(args) = self.last_args.clone() else { return Ok(()) };
        if args[0] == "redo" {
            return fail("No redoing redos");
        }
        self.history.insert(self.command_count, line);
        self.process_cmd(args, out);
        Ok(())
    }

    /// `commandMapCli.get(cmd).parse(args).exec()`.
    fn exec(&mut self, cmd: &str, args: Vec<String>, out: &mut Out) -> CliResult {
        match cmd {
            "ls" => self.ls(args, out),
            "create" => self.create(args, out),
            "get" => self.get(args, out),
            "set" => self.set(args, out),
            "stat" => self.stat(args, out),
            "delete" => self.delete(args, out),
            "deleteall" => self.deleteall(args, out),
            "getAcl" => self.get_acl(args, out),
            "setAcl" => self.set_acl(args, out),
            "addauth" => self.addauth(args),
            "sync" => self.sync(args, out),
            "getEphemerals" => self.get_ephemerals(args, out),
            "getAllChildrenNumber" => self.get_all_children_number(args, out),
            "addWatch" => self.add_watch(args, out),
            "removewatches" => self.remove_watches(args, out),
            "whoami" => self.whoami(out),
            "version" => {
                let cl = parse(&[], &args)?;
                if cl.args.len() > 1 {
                    return fail(usage_of("version"));
                }
                out.println(&format!("ZooKeeper CLI version: {ZK_FULL_VERSION}"));
                Ok(())
            }
            "close" => {
                self.session.close();
                Ok(())
            }
            "config" => self.config(args, out),
            "setquota" => self.set_quota(args, out),
            "listquota" => self.list_quota(args, out),
            "delquota" => self.del_quota(args, out),
            "reconfig" => fail("reconfig: not supported by this simulator (the ensemble is static)"),
            _ => Ok(()),
        }
    }

    /// `LsCommand`.
    fn ls(&mut self, mut args: Vec<String>, out: &mut Out) -> CliResult {
        const OPTS: &[OptSpec] = &[flag('?', "help"), flag('s', "stat"), flag('w', "watch"), flag('R', "recurse")];
        let mut cl = parse(OPTS, &args)?;
        if cl.has('?') {
            out.print(&help_text("ls [options] path", OPTS));
        }
        if cl.args.len() > 2 {
            args[2] = "-w".to_string();
            out.println("'ls path [watch]' has been deprecated. Please use 'ls [-w] path' instead.");
            cl = parse(OPTS, &args)?;
        }
        if cl.args.len() < 2 {
            return fail(usage_of("ls"));
        }
        let path = cl.args[1].clone();
        let watch = cl.has('w');
        if cl.has('R') {
            return self.ls_recursive(&path, watch, out);
        }
        validate(&path, false)?;
        let result = self.call(out, Op::GetChildren { path: path.clone(), watch });
        let (mut children, stat) = match result {
            Ok(OpResult::Children { children, stat }) => (children, stat),
            Ok(other) => return Err(unexpected(&other)),
            Err(e) => return Err(wrap(e, &path)),
        };
        children.sort();
        out.println(&format!("[{}]", children.join(", ")));
        if cl.has('s') {
            out.print(&format_stat(&stat));
        }
        Ok(())
    }

    /// `ZKUtil.visitSubTreeDFS` printing each path: the node, then each level's children
    /// (sorted) before descending into them.
    fn ls_recursive(&mut self, path: &str, watch: bool, out: &mut Out) -> CliResult {
        validate(path, false)?;
        if let Err(e) = self.call(out, Op::GetData { path: path.to_string(), watch }) {
            return Err(wrap(e, path));
        }
        out.println(path);
        self.visit_children(path, watch, &mut |p| out.println(p))
    }

    /// `visitSubTreeDFSHelper`: a node that vanished meanwhile is skipped; other errors end
    /// the walk.
    fn visit_children(&mut self, path: &str, watch: bool, visit: &mut dyn FnMut(&str)) -> CliResult {
        let result = self.session.call(Op::GetChildren { path: path.to_string(), watch });
        let mut children = match result {
            Ok(OpResult::Children { children, .. }) => children,
            Ok(other) => return Err(unexpected(&other)),
            Err(ZkError::NoNode) => return Ok(()),
            Err(e) => return Err(wrap(e, path)),
        };
        children.sort();
        let paths: Vec<String> = children.iter().map(|c| super::path::join(path, c)).collect();
        for p in &paths {
            visit(p);
        }
        for p in &paths {
            self.visit_children(p, watch, visit)?;
        }
        Ok(())
    }

    /// `CreateCommand`.
    fn create(&mut self, args: Vec<String>, out: &mut Out) -> CliResult {
        const OPTS: &[OptSpec] =
            &[flag('e', "ephemeral"), flag('s', "sequential"), flag('c', "container"), with_arg('t', "ttl")];
        let cl = parse(OPTS, &args)?;
        if cl.args.len() < 2 {
            return fail(usage_of("create"));
        }
        let (e, s, c, t) = (cl.has('e'), cl.has('s'), cl.has('c'), cl.has('t'));
        if c && (e || s) {
            return fail("-c cannot be combined with -s or -e. Containers cannot be ephemeral or sequential.");
        }
        let ttl: i64 = match cl.value('t') {
            Some(v) if t => {
                java_parse_int(v).ok_or_else(|| CliError::Message("-t argument must be a long value".into()))?
            }
            _ => 0,
        };
        if t && e {
            return fail("TTLs cannot be used with Ephemeral znodes");
        }
        if t && c {
            return fail("TTLs cannot be used with Container znodes");
        }
        let mode = match (e, s, c, t) {
            (true, true, _, _) => CreateMode::EphemeralSequential,
            (true, false, _, _) => CreateMode::Ephemeral,
            (false, true, _, true) => CreateMode::PersistentSequentialWithTtl,
            (false, true, _, false) => CreateMode::PersistentSequential,
            (false, false, true, _) => CreateMode::Container,
            (false, false, false, true) => CreateMode::PersistentWithTtl,
            (false, false, false, false) => CreateMode::Persistent,
        };
        if t && !(1..=TTL_MAX_MS).contains(&ttl) {
            return fail(format!("ttl must be positive and cannot be larger than: {TTL_MAX_MS}"));
        }
        let path = cl.args[1].clone();
        let data = cl.args.get(2).map(|d| d.as_bytes().to_vec());
        let acl = match cl.args.get(3) {
            Some(text) => parse_acl_printing(text, out),
            None => Acl::open_unsafe(),
        };
        validate(&path, mode.is_sequential())?;
        if acl.is_empty() {
            out.println(&keeper_message(ZkError::InvalidAcl, None));
            return fail(wrapper_message(ZkError::InvalidAcl, None));
        }
        let null_data = data.is_none();
        let op = Op::Create { path: path.clone(), data: data.unwrap_or_default(), acl, mode, ttl_ms: t.then_some(ttl) };
        let result = if null_data { self.session.create_null_data(op) } else { self.session.call(op) };
        match result {
            Ok(OpResult::Created { path: created, .. }) => {
                out.println(&format!("Created {created}"));
                Ok(())
            }
            Ok(other) => Err(unexpected(&other)),
            Err(ZkError::EphemeralOnLocalSession) => {
                out.println("Unable to create ephemeral node on a local session");
                Err(wrap(ZkError::EphemeralOnLocalSession, &path))
            }
            Err(ZkError::InvalidAcl) => {
                out.println(&keeper_message(ZkError::InvalidAcl, Some(&path)));
                Err(wrap(ZkError::InvalidAcl, &path))
            }
            Err(e) => Err(wrap(e, &path)),
        }
    }

    /// `GetCommand`.
    fn get(&mut self, mut args: Vec<String>, out: &mut Out) -> CliResult {
        const OPTS: &[OptSpec] = &[flag('s', "stats"), flag('w', "watch")];
        let mut cl = parse(OPTS, &args)?;
        if cl.args.len() < 2 {
            return fail(usage_of("get"));
        }
        if cl.args.len() > 2 {
            args[2] = "-w".to_string();
            out.println("'get path [watch]' has been deprecated. Please use 'get [-s] [-w] path' instead.");
            cl = parse(OPTS, &args)?;
        }
        let path = cl.args[1].clone();
        validate(&path, false)?;
        let result = self.call(out, Op::GetData { path: path.clone(), watch: cl.has('w') });
        let (data, stat) = match result {
            Ok(OpResult::Data { data, stat }) => (data, stat),
            Ok(other) => return Err(unexpected(&other)),
            Err(e) => return Err(wrap(e, &path)),
        };
        if self.session.last_data_was_null() {
            out.println("null");
        } else {
            out.println(&String::from_utf8_lossy(&data));
        }
        if cl.has('s') {
            out.print(&format_stat(&stat));
        }
        Ok(())
    }

    /// `SetCommand`.
    fn set(&mut self, args: Vec<String>, out: &mut Out) -> CliResult {
        const OPTS: &[OptSpec] = &[flag('s', "stats"), with_arg('v', "version")];
        let cl = parse(OPTS, &args)?;
        if cl.args.len() < 3 {
            return fail(usage_of("set"));
        }
        let path = cl.args[1].clone();
        let data = cl.args[2].as_bytes().to_vec();
        let version = version_option(&cl, "org.apache.zookeeper.cli.SetCommand.exec(SetCommand.java:69)")?;
        validate(&path, false)?;
        match self.call(out, Op::SetData { path: path.clone(), data, version }) {
            Ok(OpResult::Stat(stat)) => {
                if cl.has('s') {
                    out.print(&format_stat(&stat));
                }
                Ok(())
            }
            Ok(other) => Err(unexpected(&other)),
            Err(e) => Err(wrap(e, &path)),
        }
    }

    /// `StatCommand`.
    fn stat(&mut self, mut args: Vec<String>, out: &mut Out) -> CliResult {
        const OPTS: &[OptSpec] = &[flag('w', "watch")];
        let mut cl = parse(OPTS, &args)?;
        if cl.args.len() < 2 {
            return fail(usage_of("stat"));
        }
        if cl.args.len() > 2 {
            args[2] = "-w".to_string();
            out.println("'stat path [watch]' has been deprecated. Please use 'stat [-w] path' instead.");
            cl = parse(OPTS, &args)?;
        }
        let path = cl.args[1].clone();
        validate(&path, false)?;
        match self.call(out, Op::Exists { path: path.clone(), watch: cl.has('w') }) {
            Ok(OpResult::Stat(stat)) => {
                out.print(&format_stat(&stat));
                Ok(())
            }
            Ok(OpResult::NoStat) => Err(wrap(ZkError::NoNode, &path)),
            Ok(other) => Err(unexpected(&other)),
            Err(e) => Err(wrap(e, &path)),
        }
    }

    /// `DeleteCommand`.
    fn delete(&mut self, args: Vec<String>, out: &mut Out) -> CliResult {
        const OPTS: &[OptSpec] = &[with_arg('v', "version")];
        let cl = parse(OPTS, &args)?;
        if cl.args.len() < 2 {
            return fail(usage_of("delete"));
        }
        if cl.args.len() > 2 {
            out.println("'delete path [version]' has been deprecated. Please use 'delete [-v version] path' instead.");
        }
        let path = cl.args[1].clone();
        let version = version_option(&cl, "org.apache.zookeeper.cli.DeleteCommand.exec(DeleteCommand.java:81)")?;
        validate(&path, false)?;
        match self.call(out, Op::Delete { path: path.clone(), version }) {
            Ok(_) => Ok(()),
            Err(e) => Err(wrap(e, &path)),
        }
    }

    /// `DeleteAllCommand` → `ZKUtil.deleteRecursive`: list the subtree breadth-first, then
    /// delete it leaves first in multis of `-b` ops (default 1000).
    fn deleteall(&mut self, args: Vec<String>, out: &mut Out) -> CliResult {
        const OPTS: &[OptSpec] = &[with_arg('b', "batch size")];
        let cl = parse(OPTS, &args)?;
        if cl.args.len() < 2 {
            return fail(usage_of("deleteall"));
        }
        let batch: i32 = match cl.value('b') {
            Some(v) => java_parse_int(v).ok_or_else(|| CliError::Message("-b argument must be an int value".into()))?,
            None => 1000,
        };
        let path = cl.args[1].clone();
        validate(&path, false)?;
        let mut tree = vec![path.clone()];
        let mut next = 0;
        while next < tree.len() {
            let node = tree[next].clone();
            next += 1;
            match self.call(out, Op::GetChildren { path: node.clone(), watch: false }) {
                Ok(OpResult::Children { children, .. }) => {
                    tree.extend(children.iter().map(|c| super::path::join(&node, c)));
                }
                Ok(other) => return Err(unexpected(&other)),
                Err(e) => return Err(wrap(e, &node)),
            }
        }
        // 3.8.0 always goes through `deleteInBatch`; a batch size that is never reached
        // (0 or less) sends the whole tree as one multi.
        let batch = if batch > 0 { batch as usize } else { tree.len() };
        if !self.delete_in_batches(&tree, batch, out) {
            out.println("Failed to delete some node(s) in the subtree!");
        }
        Ok(())
    }

    /// `ZKUtil.deleteInBatch`: whether every batch succeeded; stops sending after a failed one.
    /// (In 3.8.0 the callback releases its semaphore before recording a failure, so zkCli
    /// reports a failed `deleteall` only when it loses that race; we always report it, as 3.8.4
    /// does.)
    fn delete_in_batches(&mut self, tree: &[String], batch: usize, out: &mut Out) -> bool {
        let ops: Vec<Op> = tree.iter().rev().map(|p| Op::Delete { path: p.clone(), version: -1 }).collect();
        for chunk in ops.chunks(batch) {
            let failed = match self.call(out, Op::Multi(chunk.to_vec())) {
                Ok(result) => result.multi_error().is_some(),
                Err(_) => true,
            };
            if failed {
                return false;
            }
        }
        true
    }

    /// `GetAclCommand`.
    fn get_acl(&mut self, args: Vec<String>, out: &mut Out) -> CliResult {
        const OPTS: &[OptSpec] = &[flag('s', "stats")];
        let cl = parse(OPTS, &args)?;
        if cl.args.len() < 2 {
            return fail(usage_of("getAcl"));
        }
        let path = cl.args[1].clone();
        validate(&path, false)?;
        match self.call(out, Op::GetAcl { path: path.clone() }) {
            Ok(OpResult::Acl { acl, stat }) => {
                for a in &acl {
                    out.println(&acl::getacl_entry(a));
                }
                if cl.has('s') {
                    out.print(&format_stat(&stat));
                }
                Ok(())
            }
            Ok(other) => Err(unexpected(&other)),
            Err(e) => Err(wrap(e, &path)),
        }
    }

    /// `SetAclCommand`; `-R` sets each node of the subtree, printing (without a newline) the
    /// message of each failure and going on.
    fn set_acl(&mut self, args: Vec<String>, out: &mut Out) -> CliResult {
        const OPTS: &[OptSpec] = &[flag('s', "stats"), with_arg('v', "version"), flag('R', "recursive")];
        let cl = parse(OPTS, &args)?;
        if cl.args.len() < 3 {
            return fail(usage_of("setAcl"));
        }
        let path = cl.args[1].clone();
        let acl = parse_acl_printing(&cl.args[2], out);
        let version = version_option(&cl, "org.apache.zookeeper.cli.SetAclCommand.exec(SetAclCommand.java:76)")?;
        validate(&path, false)?;
        if cl.has('R') {
            if let Err(e) = self.call(out, Op::GetData { path: path.clone(), watch: false }) {
                return Err(wrap(e, &path));
            }
            let mut paths = vec![path.clone()];
            self.visit_children(&path, false, &mut |p| paths.push(p.to_string()))?;
            for p in paths {
                if acl.is_empty() {
                    return fail(wrapper_message(ZkError::InvalidAcl, None));
                }
                if let Err(e) = self.call(out, Op::SetAcl { path: p.clone(), acl: acl.clone(), version }) {
                    out.print(&keeper_message(e, Some(&p)));
                }
            }
            return Ok(());
        }
        if acl.is_empty() {
            return fail(wrapper_message(ZkError::InvalidAcl, None));
        }
        match self.call(out, Op::SetAcl { path: path.clone(), acl, version }) {
            Ok(OpResult::Stat(stat)) => {
                if cl.has('s') {
                    out.print(&format_stat(&stat));
                }
                Ok(())
            }
            Ok(other) => Err(unexpected(&other)),
            Err(e) => Err(wrap(e, &path)),
        }
    }

    /// `AddAuthCommand`: fire and forget.
    fn addauth(&mut self, args: Vec<String>) -> CliResult {
        let cl = parse(&[], &args)?;
        if cl.args.len() < 2 {
            return fail(usage_of("addauth"));
        }
        let _ = self.session.add_auth(&cl.args[1], cl.args.get(2).map(String::as_str));
        Ok(())
    }

    /// `SyncCommand`.
    fn sync(&mut self, args: Vec<String>, out: &mut Out) -> CliResult {
        let cl = parse(&[], &args)?;
        if cl.args.len() < 2 {
            return fail(usage_of("sync"));
        }
        let path = cl.args[1].clone();
        validate(&path, false)?;
        match self.call(out, Op::Sync { path }) {
            Ok(_) => out.println("Sync is OK"),
            Err(e) => out.println(&format!("Sync has failed. rc={}", e.code())),
        }
        Ok(())
    }

    /// `GetEphemeralsCommand`: prints the list as Java's `List.toString`.
    fn get_ephemerals(&mut self, args: Vec<String>, out: &mut Out) -> CliResult {
        let cl = parse(&[], &args)?;
        let prefix = match cl.args.get(1) {
            Some(p) => {
                validate(p, false)?;
                p.clone()
            }
            None => "/".to_string(),
        };
        match self.call(out, Op::GetEphemerals { prefix: prefix.clone() }) {
            Ok(OpResult::Paths(paths)) => {
                out.println(&format!("[{}]", paths.join(", ")));
                Ok(())
            }
            Ok(other) => Err(unexpected(&other)),
            Err(e) => Err(wrap(e, &prefix)),
        }
    }

    /// `GetAllChildrenNumberCommand`.
    fn get_all_children_number(&mut self, args: Vec<String>, out: &mut Out) -> CliResult {
        let cl = parse(&[], &args)?;
        if cl.args.len() < 2 {
            return fail(usage_of("getAllChildrenNumber"));
        }
        let path = cl.args[1].clone();
        validate(&path, false)?;
        match self.call(out, Op::GetAllChildrenNumber { path: path.clone() }) {
            Ok(OpResult::Count(n)) => {
                out.println(&n.to_string());
                Ok(())
            }
            Ok(other) => Err(unexpected(&other)),
            Err(e) => Err(wrap(e, &path)),
        }
    }

    /// `AddWatchCommand`. Its `mode` field outlives the call: `-m` stays in force for later
    /// `addWatch`es without `-m`.
    fn add_watch(&mut self, args: Vec<String>, out: &mut Out) -> CliResult {
        const OPTS: &[OptSpec] = &[with_arg('m', "")];
        let cl = parse(OPTS, &args)?;
        if cl.args.len() != 2 {
            return fail(usage_of("addWatch"));
        }
        if let Some(mode) = cl.value('m') {
            match mode.to_uppercase().as_str() {
                "PERSISTENT" => self.add_watch_recursive = false,
                "PERSISTENT_RECURSIVE" => self.add_watch_recursive = true,
                _ => return fail(usage_of("addWatch")),
            }
        }
        let path = cl.args[1].clone();
        if let Err(reason) = validate_path(&path, false) {
            // `AddWatchCommand` catches only `KeeperException`: the client's path check ends zkCli.
            let line = match reason.as_str() {
                "Path length must be > 0" => 46,
                "Path must start with / character" => 49,
                "Path must not end with / character" => 55,
                _ => 91,
            };
            let check = format!("org.apache.zookeeper.common.PathUtils.validatePath(PathUtils.java:{line})");
            let mut frames = vec![
                check.as_str(),
                "org.apache.zookeeper.ZooKeeper.addWatch(ZooKeeper.java:2808)",
                "org.apache.zookeeper.ZooKeeper.addWatch(ZooKeeper.java:2840)",
                "org.apache.zookeeper.cli.AddWatchCommand.exec(AddWatchCommand.java:77)",
            ];
            frames.extend_from_slice(MAIN_FRAMES);
            return Err(crash(&format!("java.lang.IllegalArgumentException: {reason}"), &frames));
        }
        match self.call(out, Op::AddWatch { path: path.clone(), recursive: self.add_watch_recursive }) {
            Ok(_) => Ok(()),
            Err(e) => Err(wrap(e, &path)),
        }
    }

    /// `RemoveWatchesCommand`: `-c` beats `-d` beats `-a`; the default is any.
    fn remove_watches(&mut self, args: Vec<String>, _out: &mut Out) -> CliResult {
        const OPTS: &[OptSpec] = &[
            flag('c', "child watcher type"),
            flag('d', "data watcher type"),
            flag('a', "any watcher type"),
            flag('l', "remove locally when there is no server connection"),
        ];
        let cl = parse(OPTS, &args)?;
        if cl.args.len() < 2 {
            return fail(usage_of("removewatches"));
        }
        let path = cl.args[1].clone();
        let kind = if cl.has('c') {
            WatcherType::Children
        } else if cl.has('d') {
            WatcherType::Data
        } else {
            WatcherType::Any
        };
        validate(&path, false)?;
        self.session.remove_watches(&path, kind, cl.has('l')).map_err(|e| wrap(e, &path))
    }

    /// `GetConfigCommand`: the data of `/zookeeper/config` (`ZooKeeper.getConfig`), or with
    /// `-c` its client connection string (`ConfigUtils.getClientConfigStr`).
    fn config(&mut self, args: Vec<String>, out: &mut Out) -> CliResult {
        const OPTS: &[OptSpec] = &[flag('s', "stats"), flag('w', "watch"), flag('c', "client connection string")];
        let cl = parse(OPTS, &args)?;
        let path = "/zookeeper/config";
        let (data, stat) = match self.call(out, Op::GetData { path: path.to_string(), watch: cl.has('w') }) {
            Ok(OpResult::Data { data, stat }) => (data, stat),
            Ok(other) => return Err(unexpected(&other)),
            Err(e) => return Err(CliError::Message(wrapper_message(e, Some(path)))),
        };
        let text = String::from_utf8_lossy(&data).into_owned();
        if cl.has('c') {
            out.println(&client_config_string(&text));
        } else {
            out.println(&text);
        }
        if cl.has('s') {
            out.print(&format_stat(&stat));
        }
        Ok(())
    }

    /// `WhoAmICommand`.
    fn whoami(&mut self, out: &mut Out) -> CliResult {
        let infos = self.session.who_am_i().map_err(|e| CliError::Message(keeper_message(e, None)))?;
        out.println("Auth scheme: User");
        for (scheme, user) in infos {
            out.println(&format!("{scheme}: {user}"));
        }
        Ok(())
    }
}

/// Why a quota command stopped: an `IllegalArgumentException` (printed as its message) or a
/// `KeeperException` for a path.
enum QuotaError {
    Illegal(String),
    Keeper(ZkError, String),
}

impl From<QuotaError> for CliError {
    fn from(e: QuotaError) -> CliError {
        match e {
            QuotaError::Illegal(m) => CliError::Message(m),
            QuotaError::Keeper(code, path) => wrap(code, &path),
        }
    }
}

const QUOTA_ROOT: &str = "/zookeeper/quota";
const LIMIT_NODE: &str = "zookeeper_limits";
const STAT_NODE: &str = "zookeeper_stats";

/// `org.apache.zookeeper.StatsTrack`: `count=…,bytes=…` and, if any other key is set, `=`
/// followed by `;key=value` for each in name order.
#[derive(Clone, Debug, Default)]
struct StatsTrack {
    stats: BTreeMap<String, i64>,
}

impl StatsTrack {
    /// The `String` constructor: pairs split on `[,;]+`, each on `=`; an empty value is -1.
    fn parse(text: &str) -> StatsTrack {
        let mut stats = BTreeMap::new();
        for pair in text.split([',', ';']).filter(|p| !p.is_empty()) {
            let mut kv = pair.split('=');
            let key = kv.next().unwrap_or_default().to_string();
            let value = kv.next().filter(|v| !v.is_empty()).and_then(|v| v.parse().ok()).unwrap_or(-1);
            stats.insert(key, value);
        }
        StatsTrack { stats }
    }
    fn get(&self, key: &str) -> i64 {
        self.stats.get(key).copied().unwrap_or(-1)
    }
    fn set(&mut self, key: &str, value: i64) {
        self.stats.insert(key.to_string(), value);
    }
    fn to_text(&self) -> String {
        let mut s = format!("count={},bytes={}", self.get("count"), self.get("bytes"));
        let others: Vec<(&String, &i64)> = self.stats.iter().filter(|(k, _)| *k != "count" && *k != "bytes").collect();
        if !others.is_empty() {
            s.push('=');
            for (k, v) in others {
                s.push_str(&format!(";{k}={v}"));
            }
        }
        s
    }
}

/// Java's `String.split(regex)` for a one-character separator: trailing empty parts dropped.
fn java_split(s: &str, sep: char) -> Vec<&str> {
    let mut parts: Vec<&str> = s.split(sep).collect();
    while parts.last() == Some(&"") {
        parts.pop();
    }
    parts
}

/// The quota commands (`SetQuotaCommand`, `ListQuotaCommand`, `DelQuotaCommand`): client-side
/// bookkeeping under `/zookeeper/quota`; the server keeps `zookeeper_stats` up to date.
impl Console {
    fn q_exists(&mut self, path: &str) -> Result<Option<Stat>, QuotaError> {
        validate_path(path, false).map_err(QuotaError::Illegal)?;
        match self.session.call(Op::Exists { path: path.to_string(), watch: false }) {
            Ok(OpResult::Stat(stat)) => Ok(Some(stat)),
            Ok(_) => Ok(None),
            Err(e) => Err(QuotaError::Keeper(e, path.to_string())),
        }
    }

    fn q_get(&mut self, path: &str) -> Result<StatsTrack, QuotaError> {
        validate_path(path, false).map_err(QuotaError::Illegal)?;
        match self.session.call(Op::GetData { path: path.to_string(), watch: false }) {
            Ok(OpResult::Data { data, .. }) => Ok(StatsTrack::parse(&String::from_utf8_lossy(&data))),
            Ok(_) => Ok(StatsTrack::default()),
            Err(e) => Err(QuotaError::Keeper(e, path.to_string())),
        }
    }

    fn q_children(&mut self, path: &str) -> Result<Vec<String>, QuotaError> {
        validate_path(path, false).map_err(QuotaError::Illegal)?;
        match self.session.call(Op::GetChildren { path: path.to_string(), watch: false }) {
            Ok(OpResult::Children { children, .. }) => Ok(children),
            Ok(_) => Ok(Vec::new()),
            Err(e) => Err(QuotaError::Keeper(e, path.to_string())),
        }
    }

    /// A persistent, world-open node; `None` data is Java's `null`. `NodeExists` is ignored
    /// where zkCli ignores it (`ignore_exists`).
    fn q_create(&mut self, path: &str, data: Option<String>, ignore_exists: bool) -> Result<(), QuotaError> {
        validate_path(path, false).map_err(QuotaError::Illegal)?;
        let op = Op::Create {
            path: path.to_string(),
            data: data.clone().unwrap_or_default().into_bytes(),
            acl: Acl::open_unsafe(),
            mode: CreateMode::Persistent,
            ttl_ms: None,
        };
        let result = if data.is_none() { self.session.create_null_data(op) } else { self.session.call(op) };
        match result {
            Ok(_) => Ok(()),
            Err(ZkError::NodeExists) if ignore_exists => Ok(()),
            Err(e) => Err(QuotaError::Keeper(e, path.to_string())),
        }
    }

    fn q_set(&mut self, path: &str, track: &StatsTrack) -> Result<(), QuotaError> {
        let op = Op::SetData { path: path.to_string(), data: track.to_text().into_bytes(), version: -1 };
        self.session.call(op).map(|_| ()).map_err(|e| QuotaError::Keeper(e, path.to_string()))
    }

    fn q_delete(&mut self, path: &str) -> Result<(), QuotaError> {
        validate_path(path, false).map_err(QuotaError::Illegal)?;
        let op = Op::Delete { path: path.to_string(), version: -1 };
        self.session.call(op).map(|_| ()).map_err(|e| QuotaError::Keeper(e, path.to_string()))
    }

    /// `SetQuotaCommand`: exactly one of `-n`, `-b`, `-N`, `-B`.
    fn set_quota(&mut self, args: Vec<String>, out: &mut Out) -> CliResult {
        const OPTS: &[OptSpec] = &[
            with_arg('n', "num soft quota"),
            with_arg('b', "bytes soft quota"),
            with_arg('N', "num hard quota"),
            with_arg('B', "bytes hard quota"),
        ];
        let cl = parse_options_in_group(OPTS, &args, Some(true)).map_err(CliError::Message)?;
        if cl.args.len() < 2 {
            return fail(usage_of("setquota"));
        }
        let path = cl.args[1].clone();
        if path.starts_with(QUOTA_ROOT) {
            out.println(&format!("cannot set a quota under the path: {QUOTA_ROOT}"));
            return Ok(());
        }
        let mut quota = StatsTrack::default();
        for key in ["count", "bytes", "countHardLimit", "byteHardLimit"] {
            quota.set(key, -1);
        }
        for (flag, key, positive) in
            [('n', "count", true), ('b', "bytes", false), ('N', "countHardLimit", true), ('B', "byteHardLimit", false)]
        {
            let Some(text) = cl.value(flag) else { continue };
            let value = if positive { java_parse_int::<i32>(text).map(i64::from) } else { java_parse_int::<i64>(text) };
            let Some(value) = value else {
                out.println("NumberFormatException happens when parsing the option value");
                return Ok(());
            };
            if positive && value <= 0 {
                out.println("the num quota must be greater than zero");
                return Ok(());
            }
            if !positive && value < 0 {
                out.println("the bytes quota must be greater than or equal to zero");
                return Ok(());
            }
            quota.set(key, value);
        }
        self.create_quota(&path, &quota, out).map_err(CliError::from)
    }

    /// `SetQuotaCommand.createQuota`.
    fn create_quota(&mut self, path: &str, quota: &StatsTrack, out: &mut Out) -> Result<(), QuotaError> {
        if self.q_exists(path)?.is_none() {
            return Err(QuotaError::Illegal(format!("{path} does not exist.")));
        }
        self.check_if_child_quota(path)?;
        self.check_if_parent_quota(path)?;
        if self.q_exists(QUOTA_ROOT)?.is_none() {
            self.q_create("/zookeeper", None, true)?;
            self.q_create(QUOTA_ROOT, None, true)?;
        }
        let mut quota_path = QUOTA_ROOT.to_string();
        for part in java_split(path, '/').into_iter().skip(1) {
            quota_path = format!("{quota_path}/{part}");
            if self.q_exists(&quota_path)?.is_none() {
                self.q_create(&quota_path, None, true)?;
            }
        }
        let stat_path = format!("{quota_path}/{STAT_NODE}");
        let limit_path = format!("{quota_path}/{LIMIT_NODE}");
        if self.q_exists(&limit_path)?.is_none() {
            self.q_create(&limit_path, Some(quota.to_text()), false)?;
            self.q_create(&stat_path, Some("count=0,bytes=0".to_string()), false)?;
            let limits = self.q_get(&limit_path)?;
            let stats = self.q_get(&stat_path)?;
            check_quota(&limits, &stats, out);
        } else {
            let mut limits = self.q_get(&limit_path)?;
            for key in ["count", "bytes", "countHardLimit", "byteHardLimit"] {
                if quota.get(key) > -1 {
                    limits.set(key, quota.get(key));
                }
            }
            let stats = self.q_get(&stat_path)?;
            check_quota(&limits, &stats, out);
            self.q_set(&limit_path, &limits)?;
        }
        Ok(())
    }

    /// `checkIfChildQuota`: no node below `path` may have a quota of its own.
    fn check_if_child_quota(&mut self, path: &str) -> Result<(), QuotaError> {
        let real = format!("{QUOTA_ROOT}{path}");
        validate_path(&real, false).map_err(QuotaError::Illegal)?;
        match self.session.call(Op::GetData { path: real.clone(), watch: false }) {
            Ok(_) => {}
            Err(ZkError::NoNode) => return Ok(()),
            Err(e) => return Err(QuotaError::Keeper(e, real)),
        }
        let mut visited = vec![real.clone()];
        match self.visit_children(&real, false, &mut |p| visited.push(p.to_string())) {
            Ok(()) => {}
            Err(CliError::Message(m)) | Err(CliError::Crash(m)) => return Err(QuotaError::Illegal(m)),
        }
        for quota_path in visited {
            let children = match self.q_children(&quota_path) {
                Ok(c) => c,
                Err(_) => continue,
            };
            if quota_path != real && children.iter().any(|c| c == LIMIT_NODE) {
                let trimmed = &quota_path[QUOTA_ROOT.len()..];
                return Err(QuotaError::Illegal(format!("{path} has a child {trimmed} which has a quota")));
            }
        }
        Ok(())
    }

    /// `checkIfParentQuota`: no ancestor of `path` may have a quota.
    fn check_if_parent_quota(&mut self, path: &str) -> Result<(), QuotaError> {
        let parts = java_split(path, '/');
        let mut quota_path = QUOTA_ROOT.to_string();
        for part in parts.iter().take(parts.len().saturating_sub(1)).skip(1) {
            quota_path = format!("{quota_path}/{part}");
            let children = match self.q_children(&quota_path) {
                Ok(c) => c,
                Err(QuotaError::Keeper(ZkError::NoNode, _)) => return Ok(()),
                Err(e) => return Err(e),
            };
            if children.is_empty() {
                return Ok(());
            }
            if quota_path != format!("{QUOTA_ROOT}{path}") && children.iter().any(|c| c == LIMIT_NODE) {
                let trimmed = &quota_path[QUOTA_ROOT.len()..];
                return Err(QuotaError::Illegal(format!("{path} has a parent {trimmed} which has a quota")));
            }
        }
        Ok(())
    }

    /// `ListQuotaCommand`.
    fn list_quota(&mut self, args: Vec<String>, out: &mut Out) -> CliResult {
        let cl = parse(&[], &args)?;
        if cl.args.len() < 2 {
            return fail(usage_of("listquota"));
        }
        let path = cl.args[1].clone();
        let limit_path = format!("{QUOTA_ROOT}{path}/{LIMIT_NODE}");
        out.println(&format!("absolute path is {limit_path}"));
        let tracks = self.q_get(&limit_path).and_then(|limits| {
            let stats = self.q_get(&format!("{QUOTA_ROOT}{path}/{STAT_NODE}"))?;
            Ok((limits, stats))
        });
        match tracks {
            Ok((limits, stats)) => {
                out.println(&format!("Output quota for {path} {}", limits.to_text()));
                out.println(&format!("Output stat for {path} {}", stats.to_text()));
                Ok(())
            }
            Err(QuotaError::Keeper(ZkError::NoNode, _)) => {
                out.println(&format!("quota for {path} does not exist."));
                Ok(())
            }
            Err(e) => Err(e.into()),
        }
    }

    /// `DelQuotaCommand`: with a flag, that limit goes back to -1; without, the quota's nodes go.
    fn del_quota(&mut self, args: Vec<String>, out: &mut Out) -> CliResult {
        const OPTS: &[OptSpec] = &[
            flag('n', "num soft quota"),
            flag('b', "bytes soft quota"),
            flag('N', "num hard quota"),
            flag('B', "bytes hard quota"),
        ];
        let cl = parse_options_in_group(OPTS, &args, Some(false)).map_err(CliError::Message)?;
        if cl.args.len() < 2 {
            return fail(usage_of("delquota"));
        }
        let path = cl.args[1].clone();
        let flags: Vec<&str> = [('n', "count"), ('b', "bytes"), ('N', "countHardLimit"), ('B', "byteHardLimit")]
            .into_iter()
            .filter(|(f, _)| cl.has(*f))
            .map(|(_, key)| key)
            .collect();
        match self.del_quota_nodes(&path, &flags, out) {
            Ok(()) => Ok(()),
            Err(QuotaError::Keeper(ZkError::NoNode, _)) => {
                out.println(&format!("quota for {path} does not exist."));
                Ok(())
            }
            Err(e) => Err(e.into()),
        }
    }

    /// `DelQuotaCommand.delQuota`.
    fn del_quota_nodes(&mut self, path: &str, flags: &[&str], out: &mut Out) -> Result<(), QuotaError> {
        let parent_path = format!("{QUOTA_ROOT}{path}");
        let limit_path = format!("{parent_path}/{LIMIT_NODE}");
        if self.q_exists(&limit_path)?.is_none() {
            out.println(&format!("Quota does not exist for {path}"));
            return Ok(());
        }
        let mut limits = self.q_get(&limit_path)?;
        if flags.is_empty() {
            for child in self.q_children(&parent_path)? {
                self.q_delete(&format!("{parent_path}/{child}"))?;
            }
            let mut p = parent_path;
            while p != QUOTA_ROOT {
                if !self.q_children(&p)?.is_empty() {
                    break;
                }
                self.q_delete(&p)?;
                p = p[..p.rfind('/').unwrap_or(0)].to_string();
            }
        } else {
            for key in flags {
                limits.set(key, -1);
            }
            self.q_set(&limit_path, &limits)?;
        }
        Ok(())
    }
}

/// `SetQuotaCommand.checkQuota`: warns when the new limits are already exceeded.
fn check_quota(limits: &StatsTrack, stats: &StatsTrack, out: &mut Out) {
    let exceeded = |soft: &str, hard: &str, current: i64| {
        (limits.get(soft) > -1 && limits.get(soft) < current) || (limits.get(hard) > -1 && limits.get(hard) < current)
    };
    if exceeded("count", "countHardLimit", stats.get("count")) {
        out.println(&format!(
            "[Warning]: the count quota you create is less than the existing count:{}",
            stats.get("count")
        ));
    }
    if exceeded("bytes", "byteHardLimit", stats.get("bytes")) {
        out.println(&format!(
            "[Warning]: the bytes quota you create is less than the existing bytes:{}",
            stats.get("bytes")
        ));
    }
}

/// `ConfigUtils.getClientConfigStr`: `version` + " " + the servers' client addresses, from a
/// dynamic config (`server.1=host:2888:3888:participant;0.0.0.0:2181`, `version=100000000`).
fn client_config_string(config: &str) -> String {
    let mut version = "";
    let mut clients = Vec::new();
    for line in config.lines() {
        let Some((key, value)) = line.split_once('=') else { continue };
        let (key, value) = (key.trim(), value.trim());
        if key == "version" {
            version = value;
        }
        if !key.starts_with("server.") {
            continue;
        }
        let client = value.split_once(';').map(|(_, c)| c.trim()).unwrap_or("");
        clients.push(match client.rsplit_once(':') {
            Some((host, port)) => format!("{host}:{port}"),
            None if !client.is_empty() => format!("0.0.0.0:{client}"),
            None => String::new(),
        });
    }
    format!("{version} {}", clients.join(","))
}

/// `EphemeralType.TTL.maxValue()`.
const TTL_MAX_MS: i64 = 0x0000_00ff_ffff_ffff;

fn parse(specs: &[OptSpec], args: &[String]) -> Result<CommandLine, CliError> {
    parse_options(specs, args).map_err(CliError::Message)
}

/// The client library's `PathUtils.validatePath`; its message is what zkCli prints
/// (`MalformedPathException`).
fn validate(path: &str, sequential: bool) -> CliResult {
    validate_path(path, sequential).map_err(CliError::Message)
}

/// `-v version`, read with `Integer.parseInt` at `site` (`SetCommand.java:69`), whose failure
/// zkCli does not catch.
fn version_option(cl: &CommandLine, site: &str) -> Result<i32, CliError> {
    match cl.value('v') {
        Some(v) => java_parse_int(v).ok_or_else(|| number_format_crash(v, &[site])),
        None => Ok(-1),
    }
}

/// The frames below a command's `exec` in zkCli 3.8.0 (`ZooKeeperMain`), as the JVM prints
/// them for an exception nothing catches.
const MAIN_FRAMES: &[&str] = &[
    "org.apache.zookeeper.ZooKeeperMain.processZKCmd(ZooKeeperMain.java:438)",
    "org.apache.zookeeper.ZooKeeperMain.processCmd(ZooKeeperMain.java:367)",
    "org.apache.zookeeper.ZooKeeperMain.executeLine(ZooKeeperMain.java:359)",
    "org.apache.zookeeper.ZooKeeperMain.run(ZooKeeperMain.java:327)",
    "org.apache.zookeeper.ZooKeeperMain.main(ZooKeeperMain.java:293)",
];

/// `Integer.parseInt(text)` failing inside a command (JDK 17's frames, then `sites`).
fn number_format_crash(text: &str, sites: &[&str]) -> CliError {
    let mut frames = vec![
        "java.base/java.lang.NumberFormatException.forInputString(NumberFormatException.java:67)",
        "java.base/java.lang.Integer.parseInt(Integer.java:668)",
        "java.base/java.lang.Integer.parseInt(Integer.java:786)",
    ];
    frames.extend_from_slice(sites);
    frames.extend_from_slice(MAIN_FRAMES);
    crash(&format!("java.lang.NumberFormatException: For input string: \"{text}\""), &frames)
}

fn crash(exception: &str, frames: &[&str]) -> CliError {
    let mut text = format!("{exception}\n");
    for f in frames {
        text.push_str(&format!("\tat {f}\n"));
    }
    CliError::Crash(text)
}

/// `AclParser.parse`, which prints its complaints on stderr as it goes.
fn parse_acl_printing(text: &str, out: &mut Out) -> Vec<Acl> {
    let (acl, warnings) = acl::parse_acl(text);
    for w in warnings {
        out.println(&w);
    }
    acl
}

fn unexpected(result: &OpResult) -> CliError {
    CliError::Message(format!("unexpected reply {result:?}"))
}

/// `HelpFormatter.printHelp(cmdLineSyntax, options)` at its default width of 74.
fn help_text(syntax: &str, opts: &[OptSpec]) -> String {
    let mut sorted: Vec<&OptSpec> = opts.iter().collect();
    sorted.sort_by_key(|o| o.key.to_ascii_lowercase());
    let mut s = format!("usage: {syntax}\n");
    for o in sorted {
        let left = if o.has_arg { format!(" -{} <arg>", o.key) } else { format!(" -{}", o.key) };
        let width = opts.iter().map(|o| if o.has_arg { 9 } else { 3 }).max().unwrap_or(3);
        s.push_str(&format!("{left:<width$}   {}\n", o.description));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(line: &str) -> Vec<String> {
        tokenize(line)
    }

    #[test]
    fn tokenizer_strips_one_level_of_quotes() {
        assert_eq!(toks("create /a \"hello world\""), ["create", "/a", "hello world"]);
        assert_eq!(toks("create /a 'single quoted'"), ["create", "/a", "single quoted"]);
        assert_eq!(toks("create /a \"\""), ["create", "/a", ""]);
        assert_eq!(toks("  ls   /  "), ["ls", "/"]);
        assert_eq!(toks("set /a x\"y z\""), ["set", "/a", "x\"y", "z\""]);
    }

    #[test]
    fn an_unclosed_quote_is_skipped_or_keeps_a_space() {
        // The space before the quote went with the previous match's trailing `\s*`.
        assert_eq!(toks("create /a \"abc"), ["create", "/a", "abc"]);
        assert_eq!(toks("\"abc"), ["abc"]);
        // Leading spaces can backtrack: `[^"']` then matches a space.
        assert_eq!(toks("  \"abc d"), [" \"abc", "d"]);
    }

    #[test]
    fn options_parse_as_commons_cli_does() {
        let specs = [flag('s', ""), with_arg('v', "")];
        let args = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let cl = parse_options(&specs, &args(&["set", "-s", "-v", "3", "/a", "x"])).unwrap();
        assert!(cl.has('s'));
        assert_eq!(cl.value('v'), Some("3"));
        assert_eq!(cl.args, ["set", "/a", "x"]);
        let cl = parse_options(&specs, &args(&["set", "-sv3", "/a"])).unwrap();
        assert_eq!(cl.value('v'), Some("3"));
        let cl = parse_options(&specs, &args(&["set", "-v", "-1", "/a"])).unwrap();
        assert_eq!(cl.value('v'), Some("-1"));
        assert_eq!(
            parse_options(&specs, &args(&["set", "-x", "/a"])).unwrap_err(),
            "org.apache.commons.cli.UnrecognizedOptionException: Unrecognized option: -x"
        );
        assert_eq!(
            parse_options(&specs, &args(&["set", "/a", "-v"])).unwrap_err(),
            "org.apache.commons.cli.MissingArgumentException: Missing argument for option: v"
        );
        let cl = parse_options(&specs, &args(&["set", "--", "-s"])).unwrap();
        assert_eq!(cl.args, ["set", "-s"]);
    }

    fn console() -> Console {
        let mut c = Console::new(Box::new(crate::zk::local::LocalSession::new(Default::default())));
        let _ = c.pending_output();
        c
    }

    #[test]
    fn bad_options_and_missing_arguments_print_zkclis_messages() {
        let mut c = console();
        assert_eq!(
            c.run_line("ls -x /"),
            "org.apache.commons.cli.UnrecognizedOptionException: Unrecognized option: -x\n"
        );
        assert_eq!(c.run_line("create"), "create [-s] [-e] [-c] [-t ttl] path [data] [acl]\n");
        assert_eq!(c.run_line("set /a"), "set [-s] [-v version] path data\n");
        assert_eq!(
            c.run_line("create -t"),
            "org.apache.commons.cli.MissingArgumentException: Missing argument for option: t\n"
        );
        assert_eq!(c.run_line("addWatch -m BOGUS /p"), format!("addWatch {ADD_WATCH_USAGE}\n"));
        assert_eq!(c.run_line("version extra"), "version \n");
        assert!(c.run_line("help").ends_with("\twhoami \nCommand not found: Command not found help\n"));
        assert_eq!(c.prompt(), "[zk: 127.0.0.1:2181(CONNECTED) 7] ");
    }

    #[test]
    fn quoted_data_reaches_the_tree_whole() {
        let mut c = console();
        assert_eq!(c.run_line("create /a \"hello world\""), "Created /a\n");
        assert_eq!(c.run_line("get /a"), "hello world\n");
        assert_eq!(c.run_line("create /b"), "Created /b\n");
        assert_eq!(c.run_line("get /b"), "null\n");
        assert_eq!(c.run_line("create /c ''"), "Created /c\n");
        assert_eq!(c.run_line("get /c"), "\n");
    }

    #[test]
    fn an_uncaught_number_format_exception_ends_the_shell() {
        let mut c = console();
        c.run_line("create /v x");
        let out = c.run_line("set -v abc /v y");
        assert!(out.starts_with(
            "Exception in thread \"main\" java.lang.NumberFormatException: For input string: \"abc\"\n\tat "
        ));
        assert!(c.has_exited());
        assert_eq!(c.run_line("ls /"), "");
    }

    #[test]
    fn history_and_redo() {
        let mut c = console();
        c.run_line("create /h");
        c.run_line("ls /");
        assert_eq!(c.run_line("redo 1"), "[h, zookeeper]\n");
        assert_eq!(c.run_line("history"), "0 - create /h\n1 - ls /\n2 - ls /\n3 - history\n");
        assert_eq!(c.run_line("redo 9"), "Command index out of range\n");
    }

    #[test]
    fn completion_offers_commands_and_children() {
        let mut c = console();
        c.run_line("create /apple");
        c.run_line("create /apricot");
        c.run_line("create /apple/seed");
        assert_eq!(c.complete("get", 3), ["get", "getAcl", "getAllChildrenNumber", "getEphemerals"]);
        assert_eq!(c.complete("ls /ap", 6), ["apple", "apricot"]);
        assert_eq!(c.complete_at("ls /apple/s", 11), Completion { start: 10, candidates: vec!["seed".to_string()] });
        assert_eq!(c.complete("ls /zz", 6), Vec::<String>::new());
    }

    #[test]
    fn dates_print_as_java_util_date() {
        assert_eq!(java_date(0), "Thu Jan 01 00:00:00 UTC 1970");
        assert_eq!(java_date(1_795_900_935_000), "Sat Nov 28 21:22:15 UTC 2026");
    }

    #[test]
    fn usage_lists_commands_in_string_order() {
        let names = command_names();
        assert_eq!(&names[..3], ["addWatch", "addauth", "close"]);
        assert!(usage_text().contains("\tls [-s] [-w] [-R] path\n"));
    }

    #[test]
    fn java_integer_parsing() {
        assert_eq!(java_parse_int::<i32>("-1"), Some(-1));
        assert_eq!(java_parse_int::<i32>("+7"), Some(7));
        assert_eq!(java_parse_int::<i32>("abc"), None);
        assert_eq!(java_parse_int::<i32>("99999999999"), None);
        assert_eq!(java_decode("0x10"), Some(16));
        assert_eq!(java_decode("010"), Some(8));
    }
}
