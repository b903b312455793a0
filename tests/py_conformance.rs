//! Every `tests/fixtures/py/<name>.py` runs through our interpreter and must print exactly what
//! CPython 3.11 printed (`<name>.out`) and, if it failed, the same traceback (`<name>.err`),
//! as recorded by `scripts/record-py-fixtures.sh`.

use std::fs;
use std::path::Path;
use zkspark::py::run_program;

fn first_difference(want: &str, got: &str) -> String {
    for (i, (w, g)) in want.lines().zip(got.lines()).enumerate() {
        if w != g {
            return format!("line {}:\n  want: {w}\n  got:  {g}", i + 1);
        }
    }
    format!("lengths differ: want {} lines, got {} lines\n--- want tail:\n{}\n--- got tail:\n{}", want.lines().count(), got.lines().count(), tail(want), tail(got))
}

fn tail(s: &str) -> String {
    let lines: Vec<&str> = s.lines().collect();
    lines[lines.len().saturating_sub(8)..].join("\n")
}

#[test]
fn fixtures_print_what_cpython_printed() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/py");
    let mut names: Vec<String> = fs::read_dir(&dir)
        .expect("fixtures directory")
        .filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().to_str().and_then(|n| n.strip_suffix(".py")).map(str::to_string))
        .collect();
    names.sort();
    assert!(names.len() >= 20, "expected the recorded fixtures, found {}", names.len());
    let only = std::env::var("PY_FIXTURE").ok();
    let mut failures = vec![];
    let mut passed = 0;
    for name in &names {
        if only.as_deref().is_some_and(|o| o != name) {
            continue;
        }
        let src = fs::read_to_string(dir.join(format!("{name}.py"))).expect("source");
        let want_out = fs::read_to_string(dir.join(format!("{name}.out"))).unwrap_or_default();
        let want_err = fs::read_to_string(dir.join(format!("{name}.err"))).unwrap_or_default();
        let got = run_program(&src);
        if std::env::var("PY_SHOW").is_ok() {
            println!("--- {name} stdout:\n{}--- {name} stderr:\n{}", got.stdout, got.stderr);
        }
        if got.stdout != want_out {
            failures.push(format!("{name}: stdout differs at {}", first_difference(&want_out, &got.stdout)));
        } else if got.stderr != want_err {
            failures.push(format!("{name}: stderr differs at {}", first_difference(&want_err, &got.stderr)));
        } else {
            passed += 1;
        }
    }
    println!("py fixtures: {passed} passed, {} failed", failures.len());
    assert!(failures.is_empty(), "{} of {} fixtures differ from CPython:\n\n{}", failures.len(), names.len(), failures.join("\n\n"));
}
