//! Python exceptions as values, and CPython 3.11's traceback format.
//!
//! A `PyErr` is a raised exception instance. Its traceback grows as it unwinds: the innermost
//! expression that raised records its location in the current frame; each call expression on
//! the way out records the caller's. `format_traceback` prints what CPython prints to stderr
//! for an uncaught exception, carets included.

use super::ir::{s, Loc, Str};
use super::repr;
use super::value::{next_id, Class, Instance, Value};
use indexmap::IndexMap;
use std::cell::RefCell;
use std::fmt::Write;
use std::rc::Rc;

macro_rules! exc_types {
    ($($name:ident : $parent:ident),* $(,)?) => {
        /// The builtin exception classes.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum ExcType { BaseException, $($name),* }

        impl ExcType {
            pub const ALL: &'static [ExcType] = &[ExcType::BaseException, $(ExcType::$name),*];

            pub fn name(self) -> &'static str {
                match self {
                    ExcType::BaseException => "BaseException",
                    $(ExcType::$name => stringify!($name)),*
                }
            }

            pub fn parent(self) -> Option<ExcType> {
                match self {
                    ExcType::BaseException => None,
                    $(ExcType::$name => Some(ExcType::$parent)),*
                }
            }
        }
    };
}

exc_types! {
    Exception: BaseException,
    SystemExit: BaseException,
    KeyboardInterrupt: BaseException,
    GeneratorExit: BaseException,
    ArithmeticError: Exception,
    ZeroDivisionError: ArithmeticError,
    OverflowError: ArithmeticError,
    LookupError: Exception,
    KeyError: LookupError,
    IndexError: LookupError,
    ValueError: Exception,
    UnicodeError: ValueError,
    TypeError: Exception,
    NameError: Exception,
    UnboundLocalError: NameError,
    AttributeError: Exception,
    RuntimeError: Exception,
    RecursionError: RuntimeError,
    NotImplementedError: RuntimeError,
    AssertionError: Exception,
    StopIteration: Exception,
    ImportError: Exception,
    ModuleNotFoundError: ImportError,
    OSError: Exception,
    TimeoutError: OSError,
    FileNotFoundError: OSError,
    ConnectionError: OSError,
    MemoryError: Exception,
    SyntaxError: Exception,
    PicklingError: Exception,
}

thread_local! {
    static CLASSES: Vec<Rc<Class>> = make_classes();
}

fn make_classes() -> Vec<Rc<Class>> {
    let mut out: Vec<Rc<Class>> = vec![];
    for t in ExcType::ALL {
        let bases: Vec<Rc<Class>> = t.parent().map(|p| out[p as usize].clone()).into_iter().collect();
        let module = if *t == ExcType::PicklingError { Some(s("_pickle")) } else { None };
        let cls = Rc::new(Class {
            name: s(t.name()),
            module,
            bases: bases.clone(),
            mro: RefCell::new(vec![]),
            ns: RefCell::new(IndexMap::new()),
            is_exception: true,
            id: next_id(),
        });
        let mut mro = vec![cls.clone()];
        if let Some(b) = bases.first() {
            mro.extend(b.mro.borrow().iter().cloned());
        }
        *cls.mro.borrow_mut() = mro;
        out.push(cls);
    }
    out
}

/// The class object of a builtin exception type.
pub fn exc_class(t: ExcType) -> Rc<Class> {
    CLASSES.with(|c| c[t as usize].clone())
}

pub fn exc_type_by_name(name: &str) -> Option<ExcType> {
    ExcType::ALL.iter().copied().find(|t| t.name() == name)
}

/// One line of a traceback: where a frame was when the exception passed through it.
#[derive(Clone, Debug)]
pub struct TbEntry {
    pub func: Str,
    pub loc: Loc,
}

/// What an exception instance carries beyond its attributes.
#[derive(Clone, Default)]
pub struct ExcState {
    pub args: Vec<Value>,
    /// Innermost frame first.
    pub tb: Vec<TbEntry>,
    pub context: Option<PyErr>,
    pub cause: Option<PyErr>,
    pub suppress_context: bool,
    /// For `SyntaxError`: (line, col, end_col) in the program source.
    pub syntax: Option<(u32, u32, u32)>,
}

/// A raised Python exception.
#[derive(Clone)]
pub struct PyErr {
    pub exc: Rc<Instance>,
    /// Whether the frame currently unwinding has recorded its traceback line.
    pub located: bool,
    /// Budget exhaustion: no `except` clause catches it.
    pub fatal: bool,
}

impl std::fmt::Debug for PyErr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PyErr({})", self.last_line())
    }
}

impl PyErr {
    pub fn new(t: ExcType, msg: impl Into<String>) -> PyErr {
        PyErr::with_args(exc_class(t), vec![Value::str(&msg.into())])
    }

    pub fn bare(t: ExcType) -> PyErr {
        PyErr::with_args(exc_class(t), vec![])
    }

    pub fn with_args(class: Rc<Class>, args: Vec<Value>) -> PyErr {
        PyErr::from_instance(new_exception(class, args))
    }

    pub fn from_instance(exc: Rc<Instance>) -> PyErr {
        PyErr { exc, located: false, fatal: false }
    }

    pub fn key_error(key: &Value) -> PyErr {
        PyErr::with_args(exc_class(ExcType::KeyError), vec![key.clone()])
    }

    pub fn syntax(line: u32, col: u32, end_col: u32, msg: &str) -> PyErr {
        let e = PyErr::new(ExcType::SyntaxError, msg);
        e.state().borrow_mut().syntax = Some((line, col, end_col));
        e.located_now()
    }

    fn located_now(mut self) -> PyErr {
        self.located = true;
        self
    }

    pub fn state(&self) -> &RefCell<ExcState> {
        self.exc.exc.as_ref().expect("exception instances carry ExcState")
    }

    pub fn class(&self) -> &Rc<Class> {
        &self.exc.class
    }

    pub fn is(&self, t: ExcType) -> bool {
        self.exc.class.is_subclass(&exc_class(t))
    }

    pub fn type_name(&self) -> String {
        self.exc.class.name.to_string()
    }

    /// `str(exc)`.
    pub fn message(&self) -> String {
        exc_str(&self.exc)
    }

    /// The traceback's last line, e.g. `ZeroDivisionError: division by zero`.
    pub fn last_line(&self) -> String {
        let msg = self.message();
        let name = match self.exc.class.module.as_deref() {
            None | Some("__main__") => self.exc.class.name.to_string(),
            Some(m) => format!("{m}.{}", self.exc.class.name),
        };
        if msg.is_empty() {
            name
        } else {
            format!("{name}: {msg}")
        }
    }

    /// Records `loc` as this frame's line if the frame has none yet.
    pub fn locate(mut self, func: &Str, loc: Loc) -> PyErr {
        if !self.located {
            self.state().borrow_mut().tb.push(TbEntry { func: func.clone(), loc });
            self.located = true;
        }
        self
    }

    pub fn value(&self) -> Value {
        Value::Instance(self.exc.clone())
    }
}

pub fn new_exception(class: Rc<Class>, args: Vec<Value>) -> Rc<Instance> {
    Rc::new(Instance {
        class,
        dict: RefCell::new(IndexMap::new()),
        exc: Some(RefCell::new(ExcState { args, ..Default::default() })),
        id: next_id(),
    })
}

/// `str()` of an exception instance: CPython's `BaseException.__str__` (and `KeyError`'s).
pub fn exc_str(inst: &Instance) -> String {
    let Some(st) = &inst.exc else { return String::new() };
    let st = st.borrow();
    match st.args.len() {
        0 => String::new(),
        1 => {
            if inst.class.is_subclass(&exc_class(ExcType::KeyError)) {
                repr::repr(&st.args[0])
            } else {
                repr::to_str(&st.args[0])
            }
        }
        _ => repr::repr(&Value::tuple(st.args.clone())),
    }
}

/// The text CPython prints to stderr for an uncaught exception.
pub fn format_traceback(err: &PyErr, source: &str, filename: &str) -> String {
    let mut out = String::new();
    format_chain(err, source, filename, &mut out, 0);
    out
}

fn format_chain(err: &PyErr, source: &str, filename: &str, out: &mut String, depth: u32) {
    let st = err.state().borrow();
    if depth < 32 {
        if let Some(cause) = &st.cause {
            format_chain(cause, source, filename, out, depth + 1);
            out.push_str("\nThe above exception was the direct cause of the following exception:\n\n");
        } else if let (Some(ctx), false) = (&st.context, st.suppress_context) {
            format_chain(ctx, source, filename, out, depth + 1);
            out.push_str("\nDuring handling of the above exception, another exception occurred:\n\n");
        }
    }
    let lines: Vec<&str> = source.split('\n').collect();
    if let Some((line, col, end_col)) = st.syntax {
        format_syntax_error(err, &lines, filename, line, col, end_col, out);
        return;
    }
    if !st.tb.is_empty() {
        out.push_str("Traceback (most recent call last):\n");
        format_entries(&st.tb, &lines, filename, out);
    }
    out.push_str(&err.last_line());
    out.push('\n');
}

fn format_entries(tb: &[TbEntry], lines: &[&str], filename: &str, out: &mut String) {
    // Outermost first; runs of the same line collapse after three, as CPython does.
    let mut last: Option<(u32, &str)> = None;
    let mut count = 0usize;
    for e in tb.iter().rev() {
        let key = (e.loc.line, &*e.func);
        if last == Some(key) {
            count += 1;
        } else {
            flush_repeats(count, out);
            last = Some(key);
            count = 1;
        }
        if count > 3 {
            continue;
        }
        let _ = writeln!(out, "  File \"{}\", line {}, in {}", filename, e.loc.line, e.func);
        if let Some(text) = (e.loc.line as usize).checked_sub(1).and_then(|i| lines.get(i)) {
            format_source_line(text, &e.loc, out);
        }
    }
    flush_repeats(count, out);
}

fn flush_repeats(count: usize, out: &mut String) {
    if count > 3 {
        let n = count - 3;
        let _ = writeln!(out, "  [Previous line repeated {} more time{}]", n, if n > 1 { "s" } else { "" });
    }
}

/// `traceback.StackSummary.format_frame_summary` of 3.11: the stripped line, then carets
/// unless they would underline the whole line.
fn format_source_line(line: &str, loc: &Loc, out: &mut String) {
    let stripped = line.trim();
    if stripped.is_empty() {
        return;
    }
    let _ = writeln!(out, "    {stripped}");
    let stripped_chars = line.chars().count() - line.trim_start().chars().count();
    let start = char_at(line, loc.col);
    let mut end = char_at(line, loc.end_col);
    let anchors = if loc.line == loc.end_line { loc.anchors } else { None };
    if loc.end_line != loc.line {
        end = line.trim_end().chars().count();
    }
    if end < start {
        return;
    }
    let stripped_len = stripped.chars().count();
    let has_anchors = anchors.is_some_and(|(l, r)| r > l);
    if !(end - start < stripped_len || has_anchors) {
        return;
    }
    out.push_str("    ");
    out.push_str(&" ".repeat(start.saturating_sub(stripped_chars)));
    match anchors {
        Some((l, r)) => {
            let (l, r) = (l as usize, r as usize);
            out.push_str(&"~".repeat(l));
            out.push_str(&"^".repeat(r.saturating_sub(l)));
            out.push_str(&"~".repeat((end - start).saturating_sub(r)));
        }
        None => out.push_str(&"^".repeat(end - start)),
    }
    out.push('\n');
}

fn char_at(line: &str, byte: u32) -> usize {
    let byte = (byte as usize).min(line.len());
    line.char_indices().take_while(|(i, _)| *i < byte).count()
}

fn format_syntax_error(err: &PyErr, lines: &[&str], filename: &str, line: u32, col: u32, end_col: u32, out: &mut String) {
    let _ = writeln!(out, "  File \"{filename}\", line {line}");
    if let Some(text) = lines.get(line as usize - 1) {
        let stripped = text.trim_start();
        let lead = text.len() - stripped.len();
        let shown = stripped.trim_end();
        if !shown.is_empty() {
            let _ = writeln!(out, "    {shown}");
            let start = char_at(text, col).saturating_sub(text[..lead].chars().count());
            let width = char_at(text, end_col.max(col + 1)).saturating_sub(char_at(text, col)).max(1);
            let _ = writeln!(out, "    {}{}", " ".repeat(start), "^".repeat(width));
        }
    }
    let _ = writeln!(out, "{}", err.last_line());
}
