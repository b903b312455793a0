//! The parser and evaluator never panic: seeded random bytes, random token soup and mutated
//! fixture programs all end in output or a Python error, within a small step budget.

use std::path::Path;
use zkspark::py::Interpreter;
use zkspark::sim::Rng;

fn run_bounded(src: &str) {
    let mut it = Interpreter::new();
    it.limits.max_steps = 20_000;
    it.limits.max_output_bytes = 1 << 16;
    if let Err(e) = it.run(src) {
        // Formatting the traceback must not panic either.
        let tb = it.format_error(&e);
        assert!(!tb.is_empty());
    }
}

const TOKENS: &[&str] = &[
    "x", "y", "f", "(", ")", "[", "]", "{", "}", ":", ",", ".", "=", "+", "-", "*", "/", "//", "%", "**", "<", ">", "==", "!=", "and",
    "or", "not", "in", "is", "if", "else", "elif", "for", "while", "def", "return", "lambda", "class", "try", "except", "finally",
    "raise", "import", "from", "yield", "with", "as", "pass", "break", "continue", "None", "True", "False", "0", "1", "-1", "2.5",
    "1e400", "'s'", "b'b'", "f'{x}'", "\n", "\n    ", " ", "print", "len", "range", "sorted", "list", "dict", "set", "*", "**", "@",
    ":=", "global", "nonlocal", "del", "assert", "[x for x in y]", "x[1:2]", "{1: 2}", "...", "\\", "#", "'''", "\"", "10**100",
];

#[test]
fn random_bytes_never_panic() {
    let mut rng = Rng::new(0x5eed_0001);
    for _ in 0..400 {
        let len = rng.below(200) as usize;
        let bytes: Vec<u8> = (0..len).map(|_| rng.below(128) as u8).collect();
        run_bounded(&String::from_utf8_lossy(&bytes));
    }
}

#[test]
fn random_token_soup_never_panics() {
    let mut rng = Rng::new(0x5eed_0002);
    for _ in 0..1500 {
        let n = 1 + rng.below(40) as usize;
        let src: String = (0..n).map(|_| TOKENS[rng.below(TOKENS.len() as u64) as usize]).collect::<Vec<_>>().join(" ");
        run_bounded(&src);
    }
}

#[test]
fn mutated_fixture_programs_never_panic() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/py");
    let mut sources: Vec<String> = std::fs::read_dir(&dir)
        .expect("fixtures")
        .filter_map(|e| e.ok())
        .filter(|e| e.path().extension().is_some_and(|x| x == "py"))
        .map(|e| std::fs::read_to_string(e.path()).expect("source"))
        .collect();
    sources.sort();
    let mut rng = Rng::new(0x5eed_0003);
    for round in 0..600 {
        let src = &sources[round % sources.len()];
        let mut lines: Vec<String> = src.lines().map(str::to_string).collect();
        for _ in 0..1 + rng.below(3) {
            if lines.is_empty() {
                break;
            }
            let i = rng.below(lines.len() as u64) as usize;
            match rng.below(5) {
                0 => {
                    lines.remove(i);
                }
                1 => {
                    let j = rng.below(lines.len() as u64) as usize;
                    lines.swap(i, j);
                }
                2 => {
                    let tok = TOKENS[rng.below(TOKENS.len() as u64) as usize];
                    let line = &mut lines[i];
                    let at = line.char_indices().map(|(k, _)| k).nth(rng.below(line.chars().count() as u64 + 1) as usize).unwrap_or(line.len());
                    line.insert_str(at, tok);
                }
                3 => {
                    let line = &mut lines[i];
                    let keep = rng.below(line.chars().count() as u64 + 1) as usize;
                    *line = line.chars().take(keep).collect();
                }
                _ => {
                    let dup = lines[i].clone();
                    lines.insert(i, dup);
                }
            }
        }
        run_bounded(&(lines.join("\n") + "\n"));
    }
}

#[test]
fn deep_and_long_constructs_end_in_errors_not_overflows() {
    let deep = [
        format!("x = {}\n", vec!["1"; 20000].join("+")),
        format!("x = {}1\n", "-".repeat(5000)),
        format!("x = {}0\n", "lambda: ".repeat(3000)),
        format!("x = 1{}\n", " if 1 else 1".repeat(3000)),
        format!("x = a{}\n", ".b".repeat(5000)),
        format!("x = f{}\n", "()".repeat(5000)),
        format!("x = a{}\n", "[0]".repeat(5000)),
        format!("x = {}1{}\n", "(".repeat(5000), ")".repeat(5000)),
        format!("x = {}\n", "not ".repeat(5000)),
        (0..300).map(|d| format!("{}if True:\n", " ".repeat(d))).collect::<String>() + &" ".repeat(300) + "pass\n",
        format!("s = '{}'\nprint(len(s))\n", "ab".repeat(50000)),
        format!("x = [{}]\nprint(len(x))\n", vec!["-1"; 5000].join(", ")),
    ];
    for src in &deep {
        run_bounded(src);
    }
    // A long flat literal is fine; a runaway chain is CPython's compile-time RecursionError.
    let mut it = Interpreter::new();
    it.run(&deep[11]).expect("a long list literal runs");
    assert_eq!(it.take_output(), "5000\n");
    let err = Interpreter::new().run(&deep[0]).expect_err("too deep");
    assert_eq!(err.last_line(), "RecursionError: maximum recursion depth exceeded during compilation");
}
