//! What the zkCli transcript tests share: reading the recorded fixtures
//! (`tests/fixtures/zkcli/<name>.cmds` + `.out`), the normalisation of what a real run cannot
//! reproduce, and a readable diff. Included by `zkcli_conformance.rs` and `live_client.rs`.
#![allow(dead_code)] // each test crate uses its own part

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

pub fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/zkcli")
}

/// The commands of a `.cmds` file: one per line; blank lines and `#` comments skipped.
pub fn commands(text: &str) -> Vec<String> {
    text.lines().filter(|l| !l.trim().is_empty() && !l.starts_with('#')).map(str::to_string).collect()
}

/// The recorded blocks of a `.out` file: (command, what zkCli printed).
pub fn blocks(text: &str) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for line in text.split_inclusive('\n') {
        if let Some(cmd) = line.strip_prefix(">>> ") {
            out.push((cmd.trim_end_matches('\n').to_string(), String::new()));
        } else if let Some((_, body)) = out.last_mut() {
            body.push_str(line);
        }
    }
    out
}

/// Rewrites volatile values; `zxids` and `sessions` carry the first-appearance numbering
/// across a whole transcript.
pub struct Normaliser {
    zxids: BTreeMap<String, usize>,
    sessions: BTreeMap<String, usize>,
}

impl Normaliser {
    pub fn new() -> Normaliser {
        Normaliser { zxids: BTreeMap::new(), sessions: BTreeMap::new() }
    }

    fn relabel(map: &mut BTreeMap<String, usize>, value: &str, prefix: &str) -> String {
        let n = map.len() + 1;
        format!("{prefix}{}", map.entry(value.to_string()).or_insert(n))
    }

    pub fn line(&mut self, line: &str) -> String {
        for key in ["cZxid = ", "mZxid = ", "pZxid = "] {
            if let Some(v) = line.strip_prefix(key) {
                if v == "0x0" {
                    return line.to_string();
                }
                return format!("{key}{}", Self::relabel(&mut self.zxids, v, "z"));
            }
        }
        for key in ["ctime = ", "mtime = "] {
            if let Some(v) = line.strip_prefix(key) {
                if v == "Thu Jan 01 00:00:00 UTC 1970" {
                    return line.to_string();
                }
                return format!("{key}<time>");
            }
        }
        if let Some(v) = line.strip_prefix("ephemeralOwner = ") {
            if v == "0x0" {
                return line.to_string();
            }
            return format!("ephemeralOwner = {}", Self::relabel(&mut self.sessions, v, "s"));
        }
        line.to_string()
    }

    pub fn text(&mut self, text: &str) -> String {
        text.split_inclusive('\n')
            .map(|l| match l.strip_suffix('\n') {
                Some(body) => format!("{}\n", self.line(body)),
                None => self.line(l),
            })
            .collect()
    }
}

/// A readable line diff of one command's output.
pub fn diff(expected: &str, actual: &str) -> String {
    let e: Vec<&str> = expected.lines().collect();
    let a: Vec<&str> = actual.lines().collect();
    let mut s = String::new();
    for i in 0..e.len().max(a.len()) {
        match (e.get(i), a.get(i)) {
            (Some(x), Some(y)) if x == y => writeln!(s, "      {x}").unwrap(),
            (x, y) => {
                if let Some(x) = x {
                    writeln!(s, "    - {x}").unwrap();
                }
                if let Some(y) = y {
                    writeln!(s, "    + {y}").unwrap();
                }
            }
        }
    }
    if expected.ends_with('\n') != actual.ends_with('\n') {
        writeln!(s, "    (trailing newline differs)").unwrap();
    }
    s
}

/// The fixture names (`<name>.cmds`), sorted.
pub fn fixture_names() -> Vec<String> {
    let dir = fixtures_dir();
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter_map(|f| f.strip_suffix(".cmds").map(str::to_string))
        .collect();
    names.sort();
    assert!(!names.is_empty(), "no fixtures in {}", dir.display());
    names
}

/// The commands of fixture `name`.
pub fn fixture_commands(name: &str) -> Vec<String> {
    commands(&std::fs::read_to_string(fixtures_dir().join(format!("{name}.cmds"))).unwrap())
}
