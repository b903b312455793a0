//! `repr()` and `str()` exactly as CPython 3.11 prints them: shortest round-trip floats,
//! string escapes and quote choice, container punctuation, recursion markers.

use super::error::exc_str;
use super::value::{Instance, Iter, Value};
use std::fmt::Write;
use std::rc::Rc;

/// Lets the interpreter supply `__repr__`/`__str__` of user-defined instances inside
/// containers. `None` means: use the default.
pub trait ReprHook {
    fn instance_repr(&mut self, inst: &Rc<Instance>) -> Option<Result<String, super::error::PyErr>>;
}

pub struct NoHook;

impl ReprHook for NoHook {
    fn instance_repr(&mut self, _inst: &Rc<Instance>) -> Option<Result<String, super::error::PyErr>> {
        None
    }
}

pub fn repr(v: &Value) -> String {
    let mut out = String::new();
    let _ = repr_into(v, &mut out, &mut NoHook, &mut vec![]);
    out
}

/// `str(v)` for builtin values (instances use their default or `__str__` via the interpreter).
pub fn to_str(v: &Value) -> String {
    match v {
        Value::Str(s) => s.to_string(),
        Value::Instance(i) if i.exc.is_some() => exc_str(i),
        Value::Native(n) => n.str().unwrap_or_else(|| n.repr()),
        other => repr(other),
    }
}

pub fn repr_into(v: &Value, out: &mut String, hook: &mut dyn ReprHook, seen: &mut Vec<usize>) -> Result<(), super::error::PyErr> {
    match v {
        Value::None => out.push_str("None"),
        Value::Ellipsis => out.push_str("Ellipsis"),
        Value::NotImplemented => out.push_str("NotImplemented"),
        Value::Bool(b) => out.push_str(if *b { "True" } else { "False" }),
        Value::Int(i) => {
            let _ = write!(out, "{i}");
        }
        Value::Big(b) => {
            let _ = write!(out, "{b}");
        }
        Value::Float(f) => out.push_str(&float_repr(*f)),
        Value::Str(s) => str_repr_into(s, out),
        Value::Bytes(b) => bytes_repr_into(b, out),
        Value::List(l) => {
            let id = Rc::as_ptr(l) as *const u8 as usize;
            if seen.contains(&id) {
                out.push_str("[...]");
                return Ok(());
            }
            seen.push(id);
            out.push('[');
            let items = l.borrow().clone();
            seq_into(&items, out, hook, seen)?;
            out.push(']');
            seen.pop();
        }
        Value::Tuple(t) => {
            out.push('(');
            seq_into(t, out, hook, seen)?;
            if t.len() == 1 {
                out.push(',');
            }
            out.push(')');
        }
        Value::Dict(d) => {
            let id = Rc::as_ptr(d) as *const u8 as usize;
            if seen.contains(&id) {
                out.push_str("{...}");
                return Ok(());
            }
            let (kind, factory) = {
                let b = d.borrow();
                (b.kind, b.default.clone())
            };
            match kind {
                super::value::DictKind::Counter => {
                    let items = d.borrow().items();
                    if items.is_empty() {
                        out.push_str("Counter()");
                        return Ok(());
                    }
                    // Counter.__repr__ lists most_common(): by count, descending, stable.
                    let mut items = items;
                    items.sort_by(|a, b| match (super::value::num(&b.1), super::value::num(&a.1)) {
                        (Some(x), Some(y)) => x.compare(&y).unwrap_or(std::cmp::Ordering::Equal),
                        _ => std::cmp::Ordering::Equal,
                    });
                    seen.push(id);
                    out.push_str("Counter({");
                    for (i, (k, v)) in items.iter().enumerate() {
                        if i > 0 {
                            out.push_str(", ");
                        }
                        repr_into(k, out, hook, seen)?;
                        out.push_str(": ");
                        repr_into(v, out, hook, seen)?;
                    }
                    out.push_str("})");
                    seen.pop();
                    return Ok(());
                }
                super::value::DictKind::DefaultDict => {
                    out.push_str("defaultdict(");
                    match &factory {
                        Some(f) => repr_into(f, out, hook, seen)?,
                        None => out.push_str("None"),
                    }
                    out.push_str(", ");
                }
                super::value::DictKind::Plain => {}
            }
            seen.push(id);
            out.push('{');
            let items = d.borrow().items();
            for (i, (k, v)) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                repr_into(k, out, hook, seen)?;
                out.push_str(": ");
                repr_into(v, out, hook, seen)?;
            }
            out.push('}');
            if kind == super::value::DictKind::DefaultDict {
                out.push(')');
            }
            seen.pop();
        }
        Value::Set(s) => {
            let items = s.borrow().ordered();
            if items.is_empty() {
                out.push_str("set()");
            } else {
                out.push('{');
                seq_into(&items, out, hook, seen)?;
                out.push('}');
            }
        }
        Value::FrozenSet(s) => {
            let items = s.ordered();
            if items.is_empty() {
                out.push_str("frozenset()");
            } else {
                out.push_str("frozenset({");
                seq_into(&items, out, hook, seen)?;
                out.push_str("})");
            }
        }
        Value::Range(r) => {
            if r.step == 1 {
                let _ = write!(out, "range({}, {})", r.start, r.stop);
            } else {
                let _ = write!(out, "range({}, {}, {})", r.start, r.stop, r.step);
            }
        }
        Value::Slice(sl) => {
            out.push_str("slice(");
            for (i, p) in sl.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                repr_into(p, out, hook, seen)?;
            }
            out.push(')');
        }
        Value::Function(f) => {
            let _ = write!(out, "<function {} at {}>", f.def.qualname, fake_addr(f.id));
        }
        Value::Builtin(b) => match &b.this {
            Some(this) => {
                let _ = write!(out, "<built-in method {} of {} object at {}>", b.name, this.type_name(), fake_addr(0));
            }
            None => {
                let _ = write!(out, "<built-in function {}>", b.name);
            }
        },
        Value::Method(m) => {
            let fname = match &m.1 {
                Value::Function(f) => f.def.qualname.to_string(),
                other => other.type_name(),
            };
            let mut recv = String::new();
            repr_into(&m.0, &mut recv, hook, seen)?;
            let _ = write!(out, "<bound method {fname} of {recv}>");
        }
        Value::Type(t) => {
            let _ = write!(out, "<class '{}'>", t.name());
        }
        Value::Class(c) => {
            let _ = write!(out, "<class '{}'>", c.qualified_name());
        }
        Value::Instance(i) => {
            if let Some(r) = hook.instance_repr(i) {
                out.push_str(&r?);
            } else if i.exc.is_some() {
                let args = i.exc.as_ref().map(|e| e.borrow().args.clone()).unwrap_or_default();
                let _ = write!(out, "{}(", i.class.name);
                seq_into(&args, out, hook, seen)?;
                out.push(')');
            } else {
                let _ = write!(out, "<{} object at {}>", i.class.qualified_name(), fake_addr(i.id));
            }
        }
        Value::Module(m) => {
            let _ = write!(out, "<module '{}' (built-in)>", m.name);
        }
        Value::Iter(it) => {
            let name = match &*it.borrow() {
                Iter::Seq { kind, .. } if *kind == super::value::TypeKind::Generator => "generator",
                Iter::List { .. } => "list_iterator",
                Iter::Range { .. } => "range_iterator",
                Iter::Str { .. } => "str_ascii_iterator",
                _ => "iterator",
            };
            let _ = write!(out, "<{} object at {}>", name, fake_addr(Rc::as_ptr(it) as *const u8 as u64));
        }
        Value::Native(n) => out.push_str(&n.repr()),
        Value::DictView(dv) => {
            let name = match dv.0 {
                super::value::ViewKind::Keys => "dict_keys",
                super::value::ViewKind::Values => "dict_values",
                super::value::ViewKind::Items => "dict_items",
            };
            out.push_str(name);
            out.push_str("([");
            seq_into(&super::methods::view_items(dv), out, hook, seen)?;
            out.push_str("])");
        }
        Value::NativeMethod(m) => {
            let _ = write!(out, "<bound method {}.{} of {}>", m.0.type_name(), m.1, m.0.repr());
        }
    }
    Ok(())
}

fn seq_into(items: &[Value], out: &mut String, hook: &mut dyn ReprHook, seen: &mut Vec<usize>) -> Result<(), super::error::PyErr> {
    for (i, x) in items.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        repr_into(x, out, hook, seen)?;
    }
    Ok(())
}

/// CPython prints object addresses; ours are stable fake ones.
fn fake_addr(id: u64) -> String {
    format!("0x{:012x}", 0x7f00_0000_0000u64 + (id & 0xffff_ffff) * 16)
}

/// `repr(float)`: the shortest string that round-trips, fixed notation for exponents in
/// [-4, 16), scientific otherwise, always with a `.0` or an exponent.
pub fn float_repr(f: f64) -> String {
    if f.is_nan() {
        return "nan".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { "inf".into() } else { "-inf".into() };
    }
    let (neg, digits, exp) = shortest_digits(f);
    let mut out = String::new();
    if neg {
        out.push('-');
    }
    if (-4..16).contains(&exp) {
        out.push_str(&fixed_from_digits(&digits, exp, true));
    } else {
        out.push_str(&digits[..1]);
        if digits.len() > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        let _ = write!(out, "e{}{:02}", if exp < 0 { '-' } else { '+' }, exp.abs());
    }
    out
}

/// (negative, significant digits, decimal exponent of the first digit).
pub fn shortest_digits(f: f64) -> (bool, String, i32) {
    let s = format!("{:e}", f);
    let (mant, exp) = s.split_once('e').expect("{:e} has an exponent");
    let neg = mant.starts_with('-');
    let mant = mant.trim_start_matches('-');
    let digits: String = mant.chars().filter(|c| *c != '.').collect();
    (neg, digits, exp.parse().expect("exponent is an integer"))
}

/// Digits `d1d2…` with the first at 10^exp, written in fixed notation.
fn fixed_from_digits(digits: &str, exp: i32, force_point: bool) -> String {
    let mut out = String::new();
    if exp < 0 {
        out.push_str("0.");
        out.push_str(&"0".repeat((-exp - 1) as usize));
        out.push_str(digits);
    } else {
        let int_len = exp as usize + 1;
        if digits.len() <= int_len {
            out.push_str(digits);
            out.push_str(&"0".repeat(int_len - digits.len()));
            if force_point {
                out.push_str(".0");
            }
        } else {
            out.push_str(&digits[..int_len]);
            out.push('.');
            out.push_str(&digits[int_len..]);
        }
    }
    out
}

pub fn str_repr(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    str_repr_into(s, &mut out);
    out
}

fn str_repr_into(s: &str, out: &mut String) {
    let quote = if s.contains('\'') && !s.contains('"') { '"' } else { '\'' };
    out.push(quote);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c if (c as u32) < 0x7f => out.push(c),
            c if is_printable(c) => out.push(c),
            c if (c as u32) < 0x100 => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c if (c as u32) < 0x10000 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => {
                let _ = write!(out, "\\U{:08x}", c as u32);
            }
        }
    }
    out.push(quote);
}

/// An approximation of `Py_UNICODE_ISPRINTABLE` for non-ASCII characters: separators,
/// controls, format characters and private use are not printable.
fn is_printable(c: char) -> bool {
    let u = c as u32;
    !matches!(u,
        0x80..=0xa0 | 0xad | 0x1680 | 0x2000..=0x200f | 0x2028..=0x202f | 0x205f..=0x2064
        | 0x2066..=0x206f | 0x3000 | 0xd800..=0xf8ff | 0xfeff | 0xfff9..=0xfffb
        | 0xe0001 | 0xe0020..=0xe007f | 0xf0000..=0x10ffff)
}

pub fn bytes_repr(b: &[u8]) -> String {
    let mut out = String::new();
    bytes_repr_into(b, &mut out);
    out
}

fn bytes_repr_into(b: &[u8], out: &mut String) {
    let quote = if b.contains(&b'\'') && !b.contains(&b'"') { b'"' } else { b'\'' };
    out.push('b');
    out.push(quote as char);
    for &c in b {
        match c {
            b'\\' => out.push_str("\\\\"),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c as char);
            }
            0x20..=0x7e => out.push(c as char),
            c => {
                let _ = write!(out, "\\x{:02x}", c);
            }
        }
    }
    out.push(quote as char);
}

/// `ascii()`: `repr` with every non-ASCII character escaped.
pub fn ascii(r: &str) -> String {
    let mut out = String::new();
    for c in r.chars() {
        let u = c as u32;
        if u < 0x80 {
            out.push(c);
        } else if u < 0x100 {
            let _ = write!(out, "\\x{u:02x}");
        } else if u < 0x10000 {
            let _ = write!(out, "\\u{u:04x}");
        } else {
            let _ = write!(out, "\\U{u:08x}");
        }
    }
    out
}
