//! Methods of the builtin types (`str.split`, `list.sort`, `dict.items`, …), indexing and
//! slicing, sequence operators, and `%` / `str.format` formatting.

use super::builtins::{arity, dict_update, kwarg, len_of, sort_values};
use super::error::{ExcType, PyErr};
use super::format::{self, parse_percent, percent_pad, percent_sign};
use super::interp::{not_subscriptable, Interpreter};
use super::ir::{s, BinOp, CmpOp, Shared, Str};
use super::ops;
use super::value::*;
use std::cell::RefCell;
use std::rc::Rc;

type Args = Vec<Value>;
type Kwargs = Vec<(Str, Value)>;

const STR_METHODS: &[&str] = &[
    "split", "rsplit", "join", "strip", "lstrip", "rstrip", "upper", "lower", "title", "capitalize", "swapcase", "replace",
    "startswith", "endswith", "find", "rfind", "index", "rindex", "count", "format", "isdigit", "isalpha", "isalnum",
    "isspace", "isupper", "islower", "isnumeric", "isdecimal", "isidentifier", "istitle", "center", "ljust", "rjust", "zfill",
    "splitlines", "partition", "rpartition", "encode", "casefold", "removeprefix", "removesuffix", "expandtabs", "format_map",
];
const BYTES_METHODS: &[&str] = &[
    "decode", "split", "strip", "lstrip", "rstrip", "join", "startswith", "endswith", "upper", "lower", "replace", "hex", "find",
    "count", "index", "splitlines", "isdigit", "isalpha",
];
const LIST_METHODS: &[&str] = &["append", "extend", "insert", "pop", "remove", "index", "count", "sort", "reverse", "copy", "clear"];
const DICT_METHODS: &[&str] = &[
    "get", "keys", "values", "items", "pop", "popitem", "setdefault", "update", "copy", "clear", "most_common", "elements",
    "subtract", "total",
];
const SET_METHODS: &[&str] = &[
    "add", "remove", "discard", "pop", "clear", "copy", "union", "intersection", "difference", "symmetric_difference", "update",
    "intersection_update", "difference_update", "symmetric_difference_update", "issubset", "issuperset", "isdisjoint",
];
const TUPLE_METHODS: &[&str] = &["index", "count"];

fn method_names(v: &Value) -> &'static [&'static str] {
    match v {
        Value::Str(_) => STR_METHODS,
        Value::Bytes(_) => BYTES_METHODS,
        Value::List(_) => LIST_METHODS,
        Value::Dict(_) => DICT_METHODS,
        Value::Set(_) | Value::FrozenSet(_) => SET_METHODS,
        Value::Tuple(_) | Value::Range(_) => TUPLE_METHODS,
        Value::Int(_) | Value::Big(_) | Value::Bool(_) => &["bit_length", "conjugate", "to_bytes"],
        Value::Float(_) => &["is_integer", "conjugate"],
        _ => &[],
    }
}

pub fn has_method(obj: &Value, name: &str) -> bool {
    method_names(obj).contains(&name)
}

fn bound(obj: &Value, name: &str) -> Value {
    Value::Builtin(Rc::new(Builtin { name: s(name), f: unreachable_fn, this: Some(obj.clone()), module: s("") }))
}

fn unreachable_fn(_: &mut Interpreter, _: Args, _: Kwargs) -> PResult<Value> {
    Err(PyErr::new(ExcType::RuntimeError, "method called without receiver"))
}

/// `value.name` for builtin values: bound methods and a few properties.
pub fn get_attr(obj: &Value, name: &str) -> Option<Value> {
    match (obj, name) {
        (Value::Int(_) | Value::Big(_) | Value::Bool(_), "real" | "numerator") => return Some(ops::int_abs(obj)).map(|_| obj.clone()),
        (Value::Int(_) | Value::Big(_) | Value::Bool(_), "imag") => return Some(Value::Int(0)),
        (Value::Int(_) | Value::Big(_) | Value::Bool(_), "denominator") => return Some(Value::Int(1)),
        (Value::Float(_), "real") => return Some(obj.clone()),
        (Value::Float(_), "imag") => return Some(Value::Float(0.0)),
        (Value::Range(r), "start") => return Some(Value::Int(r.start)),
        (Value::Range(r), "stop") => return Some(Value::Int(r.stop)),
        (Value::Range(r), "step") => return Some(Value::Int(r.step)),
        (Value::Slice(sl), "start") => return Some(sl[0].clone()),
        (Value::Slice(sl), "stop") => return Some(sl[1].clone()),
        (Value::Slice(sl), "step") => return Some(sl[2].clone()),
        (Value::Dict(d), "default_factory") if d.borrow().kind == DictKind::DefaultDict => {
            return Some(d.borrow().default.clone().unwrap_or(Value::None))
        }
        (Value::Builtin(b), "__name__") => return Some(Value::str(&b.name)),
        _ => {}
    }
    if method_names(obj).contains(&name) {
        return Some(bound(obj, name));
    }
    None
}

/// `str.upper` and friends: called with the receiver as the first argument.
pub fn unbound_method(t: TypeKind, name: &str) -> Option<Value> {
    if t == TypeKind::Dict && name == "fromkeys" {
        return Some(super::builtins::builtin("fromkeys", "", dict_fromkeys));
    }
    if t == TypeKind::Str && name == "maketrans" {
        return None;
    }
    let sample = match t {
        TypeKind::Str => Value::str(""),
        TypeKind::List => Value::list(vec![]),
        TypeKind::Dict => Value::dict(Dict::new()),
        TypeKind::Set => Value::set(Set::new()),
        TypeKind::Tuple => Value::tuple(vec![]),
        TypeKind::Bytes => Value::Bytes(Rc::new(vec![])),
        TypeKind::Int => Value::Int(0),
        TypeKind::Float => Value::Float(0.0),
        _ => return None,
    };
    if !method_names(&sample).contains(&name) {
        return None;
    }
    Some(Value::Builtin(Rc::new(Builtin { name: s(name), f: unreachable_fn, this: None, module: s(&format!("<unbound {}>", t.name())) })))
}

fn dict_fromkeys(it: &mut Interpreter, args: Args, _kw: Kwargs) -> PResult<Value> {
    arity("fromkeys", &args, 1, 2)?;
    let v = args.get(1).cloned().unwrap_or(Value::None);
    let mut d = Dict::new();
    for k in it.collect(&args[0])? {
        d.set(k, v.clone())?;
    }
    Ok(Value::dict(d))
}

/// Dispatches `obj.name(args)` for builtin values; `None` if there is no such method.
pub fn call_method(it: &mut Interpreter, obj: &Value, name: &str, args: Args, kwargs: Kwargs) -> Option<PResult<Value>> {
    Some(match obj {
        Value::Str(sv) => str_method(it, sv, name, args, kwargs)?,
        Value::Bytes(b) => bytes_method(it, b, name, args)?,
        Value::List(l) => list_method(it, obj, l, name, args, kwargs)?,
        Value::Dict(d) => dict_method(it, d, name, args, kwargs)?,
        Value::Set(st) => set_method(it, obj, Some(st), name, args)?,
        Value::FrozenSet(_) => set_method(it, obj, None, name, args)?,
        Value::Tuple(t) => seq_method(it, t, name, args, "tuple")?,
        Value::Range(_) => {
            let items = it.collect(obj).ok()?;
            seq_method(it, &items, name, args, "range")?
        }
        Value::Int(_) | Value::Big(_) | Value::Bool(_) => match name {
            "bit_length" => Ok(Value::Int(ops::to_big(obj).map(|b| b.bits() as i64).unwrap_or(0))),
            "conjugate" => Ok(obj.clone()),
            _ => return None,
        },
        Value::Float(f) => match name {
            "is_integer" => Ok(Value::Bool(f.fract() == 0.0 && f.is_finite())),
            "conjugate" => Ok(obj.clone()),
            _ => return None,
        },
        Value::Builtin(b) if b.module.starts_with("<unbound") => return None,
        _ => return None,
    })
}

// ----- str -----

fn str_arg<'a>(v: &'a Value, what: &str) -> PResult<&'a Rc<str>> {
    match v {
        Value::Str(s) => Ok(s),
        other => Err(PyErr::new(ExcType::TypeError, format!("{what} must be str, not {}", other.type_name()))),
    }
}

fn opt_int(v: Option<&Value>) -> PResult<Option<i64>> {
    match v {
        None | Some(Value::None) => Ok(None),
        Some(x) => x
            .as_int()
            .map(Some)
            .ok_or_else(|| PyErr::new(ExcType::TypeError, format!("'{}' object cannot be interpreted as an integer", x.type_name()))),
    }
}

fn chars_of(s: &str) -> Vec<char> {
    s.chars().collect()
}

/// `str.isspace()` for one character: Unicode White_Space plus the ASCII separators
/// U+001C..U+001F, which CPython counts as whitespace and Rust does not.
fn py_space(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
}

/// Python's whitespace `split()`.
fn split_ws(text: &str, maxsplit: i64) -> Vec<Value> {
    let mut out = vec![];
    if text.is_ascii() {
        // Byte at a time: every byte is a character.
        let b = text.as_bytes();
        let space = |c: u8| c.is_ascii() && py_space(c as char);
        let mut i = 0;
        while i < b.len() {
            while i < b.len() && space(b[i]) {
                i += 1;
            }
            if i == b.len() {
                break;
            }
            if maxsplit >= 0 && out.len() as i64 >= maxsplit {
                out.push(Value::str(&text[i..]));
                return out;
            }
            let start = i;
            while i < b.len() && !space(b[i]) {
                i += 1;
            }
            out.push(Value::str(&text[start..i]));
        }
        return out;
    }
    let mut rest = text.trim_start_matches(py_space);
    let mut n = 0;
    while !rest.is_empty() {
        if maxsplit >= 0 && n >= maxsplit {
            out.push(Value::str(rest));
            return out;
        }
        match rest.find(py_space) {
            Some(i) => {
                out.push(Value::str(&rest[..i]));
                rest = rest[i..].trim_start_matches(py_space);
                n += 1;
            }
            None => {
                out.push(Value::str(rest));
                rest = "";
            }
        }
    }
    out
}

fn str_method(it: &mut Interpreter, sv: &Rc<str>, name: &str, args: Args, kwargs: Kwargs) -> Option<PResult<Value>> {
    let text: &str = sv;
    let r = (|| -> PResult<Value> {
        Ok(match name {
            "split" | "rsplit" => {
                let sep = args.first().cloned().or_else(|| kwarg(&kwargs, "sep")).unwrap_or(Value::None);
                let maxsplit = opt_int(args.get(1).or(kwarg(&kwargs, "maxsplit").as_ref()))?.unwrap_or(-1);
                match sep {
                    Value::None => {
                        if name == "split" {
                            Value::list(split_ws(text, maxsplit))
                        } else {
                            let rev: String = text.chars().rev().collect();
                            let mut parts: Vec<Value> = split_ws(&rev, maxsplit)
                                .into_iter()
                                .map(|p| match p {
                                    Value::Str(x) => Value::str(&x.chars().rev().collect::<String>()),
                                    o => o,
                                })
                                .collect();
                            parts.reverse();
                            Value::list(parts)
                        }
                    }
                    Value::Str(sep) => {
                        if sep.is_empty() {
                            return Err(PyErr::new(ExcType::ValueError, "empty separator"));
                        }
                        let parts: Vec<Value> = if maxsplit < 0 {
                            text.split(&*sep).map(Value::str).collect()
                        } else if name == "split" {
                            text.splitn(maxsplit as usize + 1, &*sep).map(Value::str).collect()
                        } else {
                            let mut v: Vec<Value> = text.rsplitn(maxsplit as usize + 1, &*sep).map(Value::str).collect();
                            v.reverse();
                            v
                        };
                        Value::list(parts)
                    }
                    other => return Err(PyErr::new(ExcType::TypeError, format!("must be str or None, not {}", other.type_name()))),
                }
            }
            "join" => {
                arity("join", &args, 1, 1)?;
                let items = it.collect(&args[0])?;
                let mut out = String::new();
                for (i, x) in items.iter().enumerate() {
                    if i > 0 {
                        out.push_str(text);
                    }
                    match x {
                        Value::Str(p) => out.push_str(p),
                        other => {
                            return Err(PyErr::new(
                                ExcType::TypeError,
                                format!("sequence item {i}: expected str instance, {} found", other.type_name()),
                            ))
                        }
                    }
                }
                Value::str(&out)
            }
            "strip" | "lstrip" | "rstrip" => {
                let chars: Option<Vec<char>> = match args.first() {
                    None | Some(Value::None) => None,
                    Some(v) => Some(chars_of(str_arg(v, "strip arg")?)),
                };
                let pred = |c: char| match &chars {
                    None => c.is_whitespace(),
                    Some(cs) => cs.contains(&c),
                };
                Value::str(match name {
                    "strip" => text.trim_matches(pred),
                    "lstrip" => text.trim_start_matches(pred),
                    _ => text.trim_end_matches(pred),
                })
            }
            "upper" => Value::str(&text.to_uppercase()),
            "lower" | "casefold" => Value::str(&text.to_lowercase()),
            "title" => Value::str(&title(text)),
            "capitalize" => {
                let mut cs = text.chars();
                Value::str(&match cs.next() {
                    Some(c) => c.to_uppercase().collect::<String>() + &cs.as_str().to_lowercase(),
                    None => String::new(),
                })
            }
            "swapcase" => Value::str(
                &text.chars().map(|c| if c.is_uppercase() { c.to_lowercase().collect::<String>() } else { c.to_uppercase().collect() }).collect::<String>(),
            ),
            "replace" => {
                arity("replace", &args, 2, 3)?;
                let (a, b) = (str_arg(&args[0], "replace() argument 1")?, str_arg(&args[1], "replace() argument 2")?);
                let count = opt_int(args.get(2))?.unwrap_or(-1);
                Value::str(&if count < 0 { text.replace(&**a, b) } else { text.replacen(&**a, b, count as usize) })
            }
            "startswith" | "endswith" => {
                arity(name, &args, 1, 3)?;
                let chars = chars_of(text);
                let (st, en) = slice_bounds(chars.len(), args.get(1), args.get(2))?;
                let sub: String = chars[st..en.max(st)].iter().collect();
                let test = |p: &str| if name == "startswith" { sub.starts_with(p) } else { sub.ends_with(p) };
                Value::Bool(match &args[0] {
                    Value::Str(p) => test(p),
                    Value::Tuple(ps) => ps.iter().any(|p| matches!(p, Value::Str(p) if test(p))),
                    other => {
                        return Err(PyErr::new(
                            ExcType::TypeError,
                            format!("{name} first arg must be str or a tuple of str, not {}", other.type_name()),
                        ))
                    }
                })
            }
            "find" | "rfind" | "index" | "rindex" | "count" => {
                arity(name, &args, 1, 3)?;
                let needle = chars_of(str_arg(&args[0], "must be str, not")?);
                let chars = chars_of(text);
                let (st, en) = slice_bounds(chars.len(), args.get(1), args.get(2))?;
                let hay = &chars[st..en.max(st)];
                if name == "count" {
                    return Ok(Value::Int(count_sub(hay, &needle) as i64));
                }
                let pos = if name.starts_with('r') { rfind_sub(hay, &needle) } else { find_sub(hay, &needle) };
                match pos {
                    Some(p) => Value::Int((p + st) as i64),
                    None if name.ends_with("find") => Value::Int(-1),
                    None => return Err(PyErr::new(ExcType::ValueError, "substring not found")),
                }
            }
            "format" => Value::str(&str_format(it, text, &args, &kwargs)?),
            "format_map" => {
                arity("format_map", &args, 1, 1)?;
                let kw: Kwargs = it
                    .mapping_items(&args[0])?
                    .into_iter()
                    .filter_map(|(k, v)| match k {
                        Value::Str(k) => Some((Shared(k), v)),
                        _ => None,
                    })
                    .collect();
                Value::str(&str_format(it, text, &[], &kw)?)
            }
            "isdigit" | "isnumeric" | "isdecimal" => Value::Bool(!text.is_empty() && text.chars().all(|c| c.is_numeric())),
            "isalpha" => Value::Bool(!text.is_empty() && text.chars().all(char::is_alphabetic)),
            "isalnum" => Value::Bool(!text.is_empty() && text.chars().all(char::is_alphanumeric)),
            "isspace" => Value::Bool(!text.is_empty() && text.chars().all(char::is_whitespace)),
            "isupper" => Value::Bool(text.chars().any(char::is_uppercase) && !text.chars().any(char::is_lowercase)),
            "islower" => Value::Bool(text.chars().any(char::is_lowercase) && !text.chars().any(char::is_uppercase)),
            "istitle" => Value::Bool(!text.is_empty() && title(text) == text && text.chars().any(char::is_alphabetic)),
            "isidentifier" => Value::Bool(
                text.chars().next().is_some_and(|c| c.is_alphabetic() || c == '_') && text.chars().all(|c| c.is_alphanumeric() || c == '_'),
            ),
            "center" | "ljust" | "rjust" => {
                arity(name, &args, 1, 2)?;
                let w = opt_int(args.first())?.unwrap_or(0).max(0) as usize;
                let fill = match args.get(1) {
                    Some(Value::Str(f)) if f.chars().count() == 1 => f.chars().next().unwrap_or(' '),
                    Some(_) => return Err(PyErr::new(ExcType::TypeError, "The fill character must be exactly one character long")),
                    None => ' ',
                };
                let n = text.chars().count();
                if n >= w {
                    Value::Str(sv.clone())
                } else {
                    let pad = w - n;
                    let rep = |k: usize| std::iter::repeat_n(fill, k).collect::<String>();
                    Value::str(&match name {
                        "ljust" => format!("{text}{}", rep(pad)),
                        "rjust" => format!("{}{text}", rep(pad)),
                        _ => {
                            // CPython's centering puts the extra space on the right unless odd width.
                            let left = pad / 2 + (pad & w & 1);
                            format!("{}{text}{}", rep(left), rep(pad - left))
                        }
                    })
                }
            }
            "zfill" => {
                arity("zfill", &args, 1, 1)?;
                let w = opt_int(args.first())?.unwrap_or(0).max(0) as usize;
                let n = text.chars().count();
                if n >= w {
                    Value::Str(sv.clone())
                } else {
                    let (sign, body) = match text.chars().next() {
                        Some(c @ ('+' | '-')) => (c.to_string(), &text[1..]),
                        _ => (String::new(), text),
                    };
                    Value::str(&format!("{sign}{}{body}", "0".repeat(w - n)))
                }
            }
            "splitlines" => {
                let keep = match args.first().or(kwarg(&kwargs, "keepends").as_ref()) {
                    Some(v) => v.truthy(),
                    None => false,
                };
                let mut out = vec![];
                let mut cur = String::new();
                let cs = chars_of(text);
                let mut i = 0;
                while i < cs.len() {
                    let c = cs[i];
                    if matches!(c, '\n' | '\r' | '\x0b' | '\x0c' | '\x1c' | '\x1d' | '\x1e' | '\u{85}' | '\u{2028}' | '\u{2029}') {
                        let mut end = c.to_string();
                        if c == '\r' && cs.get(i + 1) == Some(&'\n') {
                            end.push('\n');
                            i += 1;
                        }
                        if keep {
                            cur.push_str(&end);
                        }
                        out.push(Value::str(&std::mem::take(&mut cur)));
                    } else {
                        cur.push(c);
                    }
                    i += 1;
                }
                if !cur.is_empty() {
                    out.push(Value::str(&cur));
                }
                Value::list(out)
            }
            "partition" | "rpartition" => {
                arity(name, &args, 1, 1)?;
                let sep = str_arg(&args[0], "must be str, not")?;
                if sep.is_empty() {
                    return Err(PyErr::new(ExcType::ValueError, "empty separator"));
                }
                let found = if name == "partition" { text.find(&**sep) } else { text.rfind(&**sep) };
                let parts = match found {
                    Some(i) => [&text[..i], &**sep, &text[i + sep.len()..]],
                    None if name == "partition" => [text, "", ""],
                    None => ["", "", text],
                };
                Value::tuple(parts.iter().map(|p| Value::str(p)).collect())
            }
            "encode" => Value::Bytes(Rc::new(text.as_bytes().to_vec())),
            "removeprefix" => {
                let p = str_arg(args.first().unwrap_or(&Value::None), "removeprefix() argument")?;
                Value::str(text.strip_prefix(&**p).unwrap_or(text))
            }
            "removesuffix" => {
                let p = str_arg(args.first().unwrap_or(&Value::None), "removesuffix() argument")?;
                Value::str(text.strip_suffix(&**p).unwrap_or(text))
            }
            "expandtabs" => {
                let size = opt_int(args.first())?.unwrap_or(8).max(0) as usize;
                let mut out = String::new();
                let mut col = 0;
                for c in text.chars() {
                    match c {
                        '\t' => {
                            let n = if size == 0 { 0 } else { size - col % size };
                            out.push_str(&" ".repeat(n));
                            col += n;
                        }
                        '\n' | '\r' => {
                            out.push(c);
                            col = 0;
                        }
                        c => {
                            out.push(c);
                            col += 1;
                        }
                    }
                }
                Value::str(&out)
            }
            _ => return Err(PyErr::new(ExcType::AttributeError, "__missing__")),
        })
    })();
    match r {
        Err(e) if e.is(ExcType::AttributeError) && e.message() == "__missing__" => None,
        other => Some(other),
    }
}

fn title(text: &str) -> String {
    let mut out = String::new();
    let mut prev_cased = false;
    for c in text.chars() {
        if prev_cased {
            out.extend(c.to_lowercase());
        } else {
            out.extend(c.to_uppercase());
        }
        prev_cased = c.is_alphabetic();
    }
    out
}

fn find_sub(hay: &[char], needle: &[char]) -> Option<usize> {
    if needle.is_empty() {
        return Some(0);
    }
    hay.windows(needle.len()).position(|w| w == needle)
}

fn rfind_sub(hay: &[char], needle: &[char]) -> Option<usize> {
    if needle.is_empty() {
        return Some(hay.len());
    }
    hay.windows(needle.len()).rposition(|w| w == needle)
}

fn count_sub(hay: &[char], needle: &[char]) -> usize {
    if needle.is_empty() {
        return hay.len() + 1;
    }
    let mut n = 0;
    let mut i = 0;
    while i + needle.len() <= hay.len() {
        if &hay[i..i + needle.len()] == needle {
            n += 1;
            i += needle.len();
        } else {
            i += 1;
        }
    }
    n
}

/// `start`/`end` arguments of `find`, `count`, `startswith`, clamped like a slice.
fn slice_bounds(len: usize, start: Option<&Value>, end: Option<&Value>) -> PResult<(usize, usize)> {
    let n = len as i64;
    let clamp = |v: i64| -> usize { (if v < 0 { (v + n).max(0) } else { v.min(n) }) as usize };
    let st = opt_int(start)?.map(clamp).unwrap_or(0);
    let en = opt_int(end)?.map(clamp).unwrap_or(len);
    Ok((st, en))
}

// ----- str.format -----

pub fn str_format(it: &mut Interpreter, fmt: &str, args: &[Value], kwargs: &Kwargs) -> PResult<String> {
    let chars: Vec<char> = fmt.chars().collect();
    let mut out = String::new();
    let mut auto = 0usize;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '{' {
            if chars.get(i + 1) == Some(&'{') {
                out.push('{');
                i += 2;
                continue;
            }
            let start = i + 1;
            let mut depth = 1;
            i += 1;
            while i < chars.len() && depth > 0 {
                match chars[i] {
                    '{' => depth += 1,
                    '}' => depth -= 1,
                    _ => {}
                }
                i += 1;
            }
            if depth > 0 {
                return Err(PyErr::new(ExcType::ValueError, "expected '}' before end of string"));
            }
            let field: String = chars[start..i - 1].iter().collect();
            out.push_str(&format_field(it, &field, args, kwargs, &mut auto)?);
        } else if c == '}' {
            if chars.get(i + 1) == Some(&'}') {
                out.push('}');
                i += 2;
                continue;
            }
            return Err(PyErr::new(ExcType::ValueError, "Single '}' encountered in format string"));
        } else {
            out.push(c);
            i += 1;
        }
    }
    Ok(out)
}

fn format_field(it: &mut Interpreter, field: &str, args: &[Value], kwargs: &Kwargs, auto: &mut usize) -> PResult<String> {
    let (head, spec) = match field.find(':') {
        Some(p) => (&field[..p], &field[p + 1..]),
        None => (field, ""),
    };
    let (name, conv) = match head.find('!') {
        Some(p) => (&head[..p], head[p + 1..].chars().next()),
        None => (head, None),
    };
    let first_end = name.find(['.', '[']).unwrap_or(name.len());
    let first = &name[..first_end];
    let mut v = if first.is_empty() {
        if *auto == usize::MAX {
            return Err(PyErr::new(ExcType::ValueError, "cannot switch from manual field specification to automatic field numbering"));
        }
        let idx = *auto;
        *auto += 1;
        args.get(idx).cloned().ok_or_else(|| PyErr::new(ExcType::IndexError, format!("Replacement index {idx} out of range for positional args tuple")))?
    } else if let Ok(idx) = first.parse::<usize>() {
        if *auto > 0 && *auto != usize::MAX {
            return Err(PyErr::new(ExcType::ValueError, "cannot switch from automatic field numbering to manual field specification"));
        }
        *auto = usize::MAX;
        args.get(idx).cloned().ok_or_else(|| PyErr::new(ExcType::IndexError, format!("Replacement index {idx} out of range for positional args tuple")))?
    } else {
        kwarg(kwargs, first).ok_or_else(|| PyErr::key_error(&Value::str(first)))?
    };
    let mut rest = &name[first_end..];
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix('.') {
            let end = r.find(['.', '[']).unwrap_or(r.len());
            v = it.get_attr(&v, &r[..end])?;
            rest = &r[end..];
        } else if let Some(r) = rest.strip_prefix('[') {
            let end = r.find(']').ok_or_else(|| PyErr::new(ExcType::ValueError, "Missing ']' in format string"))?;
            let key = &r[..end];
            let k = match key.parse::<i64>() {
                Ok(n) => Value::Int(n),
                Err(_) => Value::str(key),
            };
            v = it.get_item(&v, &k)?;
            rest = &r[end + 1..];
        } else {
            break;
        }
    }
    let v = match conv {
        Some('r') => Value::str(&it.repr(&v)?),
        Some('s') => Value::str(&it.to_str(&v)?),
        Some('a') => Value::str(&super::repr::ascii(&it.repr(&v)?)),
        _ => v,
    };
    let spec = if spec.contains('{') { str_format(it, spec, args, kwargs)? } else { spec.to_string() };
    it.format(&v, &spec)
}

// ----- % formatting -----

pub fn percent_format(it: &mut Interpreter, fmt: &str, args: &Value) -> PResult<String> {
    let parts = parse_percent(fmt)?;
    let (items, mapping) = match args {
        Value::Tuple(t) => ((**t).clone(), None),
        Value::Dict(_) => (vec![args.clone()], Some(args.clone())),
        other => (vec![other.clone()], None),
    };
    let mut idx = 0;
    let mut out = String::new();
    let next_arg = |idx: &mut usize| -> PResult<Value> {
        let v = items.get(*idx).cloned().ok_or_else(|| PyErr::new(ExcType::TypeError, "not enough arguments for format string"))?;
        *idx += 1;
        Ok(v)
    };
    let mut used_mapping = false;
    for p in parts {
        let spec = match p {
            Ok(lit) => {
                out.push_str(&lit);
                continue;
            }
            Err(spec) => spec,
        };
        let mut spec = spec;
        if spec.star_width {
            spec.width = next_arg(&mut idx)?.as_int().map(|w| w.max(0) as usize);
        }
        if spec.star_precision {
            spec.precision = next_arg(&mut idx)?.as_int().map(|w| w.max(0) as usize);
        }
        let v = match &spec.key {
            Some(k) => {
                used_mapping = true;
                let m = mapping.clone().ok_or_else(|| PyErr::new(ExcType::TypeError, "format requires a mapping"))?;
                it.get_item(&m, &Value::str(k))?
            }
            None => next_arg(&mut idx)?,
        };
        out.push_str(&percent_one(it, &spec, &v)?);
    }
    if idx < items.len() && !used_mapping && mapping.is_none() {
        return Err(PyErr::new(ExcType::TypeError, "not all arguments converted during string formatting"));
    }
    Ok(out)
}

fn percent_one(it: &mut Interpreter, p: &format::PercentSpec, v: &Value) -> PResult<String> {
    Ok(match p.conv {
        's' | 'r' | 'a' => {
            let mut text = match p.conv {
                's' => it.to_str(v)?,
                'r' => it.repr(v)?,
                _ => super::repr::ascii(&it.repr(v)?),
            };
            if let Some(pr) = p.precision {
                text = text.chars().take(pr).collect();
            }
            percent_pad("", &text, p, false)
        }
        'd' | 'i' | 'u' | 'x' | 'X' | 'o' => {
            let b = match v {
                Value::Float(f) if matches!(p.conv, 'd' | 'i' | 'u') => ops::to_big(&ops::float_to_int(f.trunc())).expect("int"),
                _ => ops::to_big(v).ok_or_else(|| {
                    let what = if matches!(p.conv, 'd' | 'i' | 'u') { "a real number".to_string() } else { "an integer".to_string() };
                    PyErr::new(ExcType::TypeError, format!("%{} format: {} is required, not {}", p.conv, what, v.type_name()))
                })?,
            };
            use num_traits::Signed;
            let neg = b.is_negative();
            let mag = b.abs();
            let mut body = match p.conv {
                'x' => mag.to_str_radix(16),
                'X' => mag.to_str_radix(16).to_uppercase(),
                'o' => mag.to_str_radix(8),
                _ => mag.to_str_radix(10),
            };
            if let Some(pr) = p.precision {
                if body.len() < pr {
                    body = format!("{}{}", "0".repeat(pr - body.len()), body);
                }
            }
            if p.flags.contains('#') {
                body = match p.conv {
                    'x' => format!("0x{body}"),
                    'X' => format!("0X{body}"),
                    'o' => format!("0o{body}"),
                    _ => body,
                };
            }
            percent_pad(percent_sign(neg, &p.flags), &body, p, true)
        }
        'e' | 'E' | 'f' | 'F' | 'g' | 'G' => {
            let f = ops::to_f64(v)?.ok_or_else(|| PyErr::new(ExcType::TypeError, format!("must be real number, not {}", v.type_name())))?;
            let neg = f.is_sign_negative() && !f.is_nan();
            let a = f.abs();
            let prec = p.precision.unwrap_or(6);
            let alt = p.flags.contains('#');
            let mut body = if !a.is_finite() {
                if a.is_nan() { "nan".into() } else { "inf".into() }
            } else {
                match p.conv {
                    'e' | 'E' => format::fmt_e(a, prec, alt),
                    'f' | 'F' => format::fmt_f(a, prec, alt),
                    _ => format::fmt_g(a, prec, alt, false),
                }
            };
            if p.conv.is_ascii_uppercase() {
                body = body.to_uppercase();
            }
            percent_pad(percent_sign(neg, &p.flags), &body, p, a.is_finite())
        }
        'c' => {
            let c = match v {
                Value::Str(s) if s.chars().count() == 1 => s.to_string(),
                other => match other.as_int().and_then(|i| u32::try_from(i).ok()).and_then(char::from_u32) {
                    Some(c) => c.to_string(),
                    None => return Err(PyErr::new(ExcType::TypeError, "%c requires int or char")),
                },
            };
            percent_pad("", &c, p, false)
        }
        other => {
            return Err(PyErr::new(ExcType::ValueError, format!("unsupported format character '{}' (0x{:x})", other, other as u32)))
        }
    })
}

// ----- bytes -----

fn bytes_method(it: &mut Interpreter, b: &Rc<Vec<u8>>, name: &str, args: Args) -> Option<PResult<Value>> {
    let bytes_arg = |v: &Value| -> PResult<Vec<u8>> {
        match v {
            Value::Bytes(x) => Ok((**x).clone()),
            other => Err(PyErr::new(ExcType::TypeError, format!("a bytes-like object is required, not '{}'", other.type_name()))),
        }
    };
    let mk = |v: Vec<u8>| Value::Bytes(Rc::new(v));
    let r = (|| -> PResult<Value> {
        Ok(match name {
            "decode" => match String::from_utf8((**b).clone()) {
                Ok(t) => Value::str(&t),
                Err(e) => {
                    let pos = e.utf8_error().valid_up_to();
                    return Err(PyErr::new(
                        ExcType::UnicodeError,
                        format!("'utf-8' codec can't decode byte 0x{:02x} in position {}: invalid start byte", b[pos], pos),
                    ));
                }
            },
            "upper" => mk(b.to_ascii_uppercase()),
            "lower" => mk(b.to_ascii_lowercase()),
            "hex" => Value::str(&b.iter().map(|x| format!("{x:02x}")).collect::<String>()),
            "strip" | "lstrip" | "rstrip" => {
                let set: Vec<u8> = match args.first() {
                    Some(v) => bytes_arg(v)?,
                    None => b" \t\n\r\x0b\x0c".to_vec(),
                };
                let mut st = 0;
                let mut en = b.len();
                if name != "rstrip" {
                    while st < en && set.contains(&b[st]) {
                        st += 1;
                    }
                }
                if name != "lstrip" {
                    while en > st && set.contains(&b[en - 1]) {
                        en -= 1;
                    }
                }
                mk(b[st..en].to_vec())
            }
            "split" => {
                let parts: Vec<Value> = match args.first() {
                    None | Some(Value::None) => b.split(|c| c.is_ascii_whitespace()).filter(|p| !p.is_empty()).map(|p| mk(p.to_vec())).collect(),
                    Some(sep) => {
                        let sep = bytes_arg(sep)?;
                        if sep.is_empty() {
                            return Err(PyErr::new(ExcType::ValueError, "empty separator"));
                        }
                        let mut out = vec![];
                        let mut start = 0;
                        let mut i = 0;
                        while i + sep.len() <= b.len() {
                            if b[i..i + sep.len()] == sep[..] {
                                out.push(mk(b[start..i].to_vec()));
                                i += sep.len();
                                start = i;
                            } else {
                                i += 1;
                            }
                        }
                        out.push(mk(b[start..].to_vec()));
                        out
                    }
                };
                Value::list(parts)
            }
            "join" => {
                let mut out = vec![];
                for (i, x) in it.collect(args.first().unwrap_or(&Value::None))?.iter().enumerate() {
                    if i > 0 {
                        out.extend_from_slice(b);
                    }
                    out.extend(bytes_arg(x)?);
                }
                mk(out)
            }
            "startswith" => Value::Bool(b.starts_with(&bytes_arg(args.first().unwrap_or(&Value::None))?)),
            "endswith" => Value::Bool(b.ends_with(&bytes_arg(args.first().unwrap_or(&Value::None))?)),
            "replace" => {
                arity("replace", &args, 2, 2)?;
                let (from, to) = (bytes_arg(&args[0])?, bytes_arg(&args[1])?);
                let t = String::from_utf8_lossy(b).replace(&*String::from_utf8_lossy(&from), &String::from_utf8_lossy(&to));
                mk(t.into_bytes())
            }
            "find" | "index" | "count" => {
                let n = bytes_arg(args.first().unwrap_or(&Value::None))?;
                let hay: Vec<char> = b.iter().map(|x| *x as char).collect();
                let nee: Vec<char> = n.iter().map(|x| *x as char).collect();
                match name {
                    "count" => Value::Int(count_sub(&hay, &nee) as i64),
                    _ => match find_sub(&hay, &nee) {
                        Some(p) => Value::Int(p as i64),
                        None if name == "find" => Value::Int(-1),
                        None => return Err(PyErr::new(ExcType::ValueError, "subsection not found")),
                    },
                }
            }
            "splitlines" => Value::list(String::from_utf8_lossy(b).lines().map(|l| mk(l.as_bytes().to_vec())).collect()),
            "isdigit" => Value::Bool(!b.is_empty() && b.iter().all(u8::is_ascii_digit)),
            "isalpha" => Value::Bool(!b.is_empty() && b.iter().all(u8::is_ascii_alphabetic)),
            _ => return Err(PyErr::new(ExcType::AttributeError, "__missing__")),
        })
    })();
    match r {
        Err(e) if e.is(ExcType::AttributeError) && e.message() == "__missing__" => None,
        other => Some(other),
    }
}

// ----- list -----

fn list_method(it: &mut Interpreter, obj: &Value, l: &Rc<RefCell<Vec<Value>>>, name: &str, args: Args, kwargs: Kwargs) -> Option<PResult<Value>> {
    let r = (|| -> PResult<Value> {
        Ok(match name {
            "append" => {
                arity("list.append", &args, 1, 1).map_err(|_| PyErr::new(ExcType::TypeError, format!("list.append() takes exactly one argument ({} given)", args.len())))?;
                l.borrow_mut().push(args[0].clone());
                Value::None
            }
            "extend" => {
                arity("extend", &args, 1, 1)?;
                let items = it.collect(&args[0])?;
                l.borrow_mut().extend(items);
                Value::None
            }
            "insert" => {
                arity("insert", &args, 2, 2)?;
                let n = l.borrow().len() as i64;
                let i = opt_int(args.first())?.unwrap_or(0);
                let i = if i < 0 { (i + n).max(0) } else { i.min(n) } as usize;
                l.borrow_mut().insert(i, args[1].clone());
                Value::None
            }
            "pop" => {
                arity("pop", &args, 0, 1)?;
                let n = l.borrow().len() as i64;
                if n == 0 {
                    return Err(PyErr::new(ExcType::IndexError, "pop from empty list"));
                }
                let i = opt_int(args.first())?.unwrap_or(-1);
                let j = if i < 0 { i + n } else { i };
                if j < 0 || j >= n {
                    return Err(PyErr::new(ExcType::IndexError, "pop index out of range"));
                }
                l.borrow_mut().remove(j as usize)
            }
            "remove" => {
                arity("remove", &args, 1, 1)?;
                let items = l.borrow().clone();
                for (i, x) in items.iter().enumerate() {
                    if it.eq(x, &args[0])? {
                        l.borrow_mut().remove(i);
                        return Ok(Value::None);
                    }
                }
                return Err(PyErr::new(ExcType::ValueError, "list.remove(x): x not in list"));
            }
            "index" => {
                let items = l.borrow().clone();
                return seq_method(it, &items, "index", args, "list").unwrap_or_else(|| Ok(Value::None));
            }
            "count" => {
                let items = l.borrow().clone();
                return seq_method(it, &items, "count", args, "list").unwrap_or_else(|| Ok(Value::None));
            }
            "sort" => {
                if !args.is_empty() {
                    return Err(PyErr::new(ExcType::TypeError, "sort() takes no positional arguments"));
                }
                let reverse = match kwarg(&kwargs, "reverse") {
                    Some(v) => it.truthy(&v)?,
                    None => false,
                };
                let items = std::mem::take(&mut *l.borrow_mut());
                let sorted = sort_values(it, items.clone(), kwarg(&kwargs, "key"), reverse);
                match sorted {
                    Ok(v) => *l.borrow_mut() = v,
                    Err(e) => {
                        *l.borrow_mut() = items;
                        return Err(e);
                    }
                }
                Value::None
            }
            "reverse" => {
                l.borrow_mut().reverse();
                Value::None
            }
            "copy" => Value::list(l.borrow().clone()),
            "clear" => {
                l.borrow_mut().clear();
                Value::None
            }
            _ => return Err(PyErr::new(ExcType::AttributeError, "__missing__")),
        })
    })();
    let _ = obj;
    match r {
        Err(e) if e.is(ExcType::AttributeError) && e.message() == "__missing__" => None,
        other => Some(other),
    }
}

fn seq_method(it: &mut Interpreter, items: &[Value], name: &str, args: Args, tyname: &str) -> Option<PResult<Value>> {
    Some((|| -> PResult<Value> {
        match name {
            "index" => {
                arity("index", &args, 1, 3)?;
                let (st, en) = slice_bounds(items.len(), args.get(1), args.get(2))?;
                for (i, x) in items.iter().enumerate().take(en).skip(st) {
                    if it.eq(x, &args[0])? {
                        return Ok(Value::Int(i as i64));
                    }
                }
                let what = if tyname == "list" { format!("{} is not in list", it.repr(&args[0])?) } else { format!("{tyname}.index(x): x not in {tyname}") };
                Err(PyErr::new(ExcType::ValueError, what))
            }
            "count" => {
                arity("count", &args, 1, 1)?;
                let mut n = 0;
                for x in items {
                    if it.eq(x, &args[0])? {
                        n += 1;
                    }
                }
                Ok(Value::Int(n))
            }
            _ => Err(PyErr::new(ExcType::AttributeError, "__missing__")),
        }
    })())
    .filter(|r| !matches!(r, Err(e) if e.message() == "__missing__"))
}

// ----- dict -----

fn dict_method(it: &mut Interpreter, d: &Rc<RefCell<Dict>>, name: &str, args: Args, kwargs: Kwargs) -> Option<PResult<Value>> {
    let view = |k: ViewKind| Value::DictView(Rc::new((k, d.clone())));
    let r = (|| -> PResult<Value> {
        Ok(match name {
            "get" => {
                if args.is_empty() {
                    return Err(PyErr::new(ExcType::TypeError, "get expected at least 1 argument, got 0"));
                }
                arity("get", &args, 1, 2)?;
                let v = d.borrow().get(&args[0])?;
                v.unwrap_or_else(|| args.get(1).cloned().unwrap_or(Value::None))
            }
            "keys" => view(ViewKind::Keys),
            "values" => view(ViewKind::Values),
            "items" => view(ViewKind::Items),
            "pop" => {
                arity("pop", &args, 1, 2)?;
                let v = d.borrow_mut().remove(&args[0])?;
                match (v, args.get(1)) {
                    (Some(v), _) => v,
                    (None, Some(dflt)) => dflt.clone(),
                    (None, None) => return Err(PyErr::key_error(&args[0])),
                }
            }
            "popitem" => {
                let last = d.borrow_mut().map.pop();
                match last {
                    Some((k, v)) => Value::tuple(vec![k.value, v]),
                    None => return Err(PyErr::new(ExcType::KeyError, "popitem(): dictionary is empty")),
                }
            }
            "setdefault" => {
                arity("setdefault", &args, 1, 2)?;
                let cur = d.borrow().get(&args[0])?;
                match cur {
                    Some(v) => v,
                    None => {
                        let v = args.get(1).cloned().unwrap_or(Value::None);
                        d.borrow_mut().set(args[0].clone(), v.clone())?;
                        v
                    }
                }
            }
            "update" => {
                let counter = d.borrow().kind == DictKind::Counter;
                if let Some(src) = args.first() {
                    if counter {
                        counter_add(it, d, src, 1)?;
                    } else {
                        let mut tmp = d.borrow().clone();
                        dict_update(it, &mut tmp, src)?;
                        d.borrow_mut().map = tmp.map;
                    }
                }
                for (k, v) in kwargs.iter() {
                    d.borrow_mut().set(Value::Str(k.0.clone()), v.clone())?;
                }
                Value::None
            }
            "subtract" if d.borrow().kind == DictKind::Counter => {
                if let Some(src) = args.first() {
                    counter_add(it, d, src, -1)?;
                }
                Value::None
            }
            "copy" => Value::dict(d.borrow().clone()),
            "clear" => {
                d.borrow_mut().map.clear();
                Value::None
            }
            "most_common" if d.borrow().kind == DictKind::Counter => {
                let items = d.borrow().items();
                let pairs: Vec<Value> = items.into_iter().map(|(k, v)| Value::tuple(vec![k, v])).collect();
                let key = super::builtins::builtin("<count>", "", second_item);
                let mut sorted = sort_values(it, pairs, Some(key), true)?;
                if let Some(n) = opt_int(args.first())? {
                    sorted.truncate(n.max(0) as usize);
                }
                Value::list(sorted)
            }
            "elements" if d.borrow().kind == DictKind::Counter => {
                let mut out = vec![];
                for (k, v) in d.borrow().items() {
                    for _ in 0..v.as_int().unwrap_or(0).max(0) {
                        out.push(k.clone());
                    }
                }
                super::builtins::iter_value(out)
            }
            "total" if d.borrow().kind == DictKind::Counter => {
                let vals: Vec<Value> = d.borrow().map.values().cloned().collect();
                let mut acc = Value::Int(0);
                for v in vals {
                    acc = it.binop(BinOp::Add, &acc, &v)?;
                }
                acc
            }
            _ => return Err(PyErr::new(ExcType::AttributeError, "__missing__")),
        })
    })();
    match r {
        Err(e) if e.is(ExcType::AttributeError) && e.message() == "__missing__" => None,
        other => Some(other),
    }
}

fn second_item(_it: &mut Interpreter, args: Args, _kw: Kwargs) -> PResult<Value> {
    match args.first() {
        Some(Value::Tuple(t)) if t.len() == 2 => Ok(t[1].clone()),
        _ => Ok(Value::None),
    }
}

/// `Counter.update` / `subtract`: counts an iterable or adds a mapping's counts.
pub fn counter_add(it: &mut Interpreter, d: &Rc<RefCell<Dict>>, src: &Value, sign: i64) -> PResult<()> {
    let pairs: Vec<(Value, Value)> = match src {
        Value::Dict(_) => it.mapping_items(src)?,
        _ => it.collect(src)?.into_iter().map(|k| (k, Value::Int(1))).collect(),
    };
    for (k, n) in pairs {
        let cur = d.borrow().get(&k)?.unwrap_or(Value::Int(0));
        let n = if sign < 0 { ops::neg(&n).unwrap_or(n) } else { n };
        let v = it.binop(BinOp::Add, &cur, &n)?;
        d.borrow_mut().set(k, v)?;
    }
    Ok(())
}

// ----- set -----

fn set_of(v: &Value) -> Option<Set> {
    match v {
        Value::Set(s) => Some(s.borrow().clone()),
        Value::FrozenSet(s) => Some((**s).clone()),
        _ => None,
    }
}

fn same_kind(obj: &Value, s: Set) -> Value {
    match obj {
        Value::FrozenSet(_) => Value::FrozenSet(Rc::new(s)),
        _ => Value::set(s),
    }
}

/// `set_update_internal`: sets merge, dicts add their keys after one resize, anything else
/// adds element by element.
pub fn set_update(it: &mut Interpreter, target: &mut Set, src: &Value) -> PResult<()> {
    match src {
        Value::Set(o) => {
            let o = o.borrow().clone();
            target.merge(&o);
        }
        Value::FrozenSet(o) => target.merge(o),
        Value::Dict(d) => {
            let keys: Vec<Key> = d.borrow().map.keys().cloned().collect();
            target.update_from_dict_keys(keys);
        }
        other => {
            for v in it.collect(other)? {
                target.add(v)?;
            }
        }
    }
    Ok(())
}

/// An argument of a set method as a set (`set_update_internal` on a new set).
fn as_set(it: &mut Interpreter, v: &Value) -> PResult<Set> {
    match set_of(v) {
        Some(s) => Ok(s),
        None => {
            let mut s = Set::new();
            set_update(it, &mut s, v)?;
            Ok(s)
        }
    }
}

fn set_method(it: &mut Interpreter, obj: &Value, st: Option<&Rc<RefCell<Set>>>, name: &str, args: Args) -> Option<PResult<Value>> {
    let me = set_of(obj)?;
    let mutating = matches!(
        name,
        "add" | "remove" | "discard" | "pop" | "clear" | "update" | "intersection_update" | "difference_update" | "symmetric_difference_update"
    );
    if mutating && st.is_none() {
        return None;
    }
    if !SET_METHODS.contains(&name) {
        return None;
    }
    let r = (|| -> PResult<Value> {
        let cell = || st.expect("mutating methods only on sets");
        Ok(match name {
            "add" => {
                arity("add", &args, 1, 1)?;
                cell().borrow_mut().add(args[0].clone())?;
                Value::None
            }
            "remove" => {
                arity("remove", &args, 1, 1)?;
                if !cell().borrow_mut().remove(&args[0])? {
                    return Err(PyErr::key_error(&args[0]));
                }
                Value::None
            }
            "discard" => {
                arity("discard", &args, 1, 1)?;
                cell().borrow_mut().remove(&args[0])?;
                Value::None
            }
            "pop" => match cell().borrow_mut().pop() {
                Some(v) => v,
                None => return Err(PyErr::new(ExcType::KeyError, "pop from an empty set")),
            },
            "clear" => {
                cell().borrow_mut().clear();
                Value::None
            }
            "copy" => same_kind(obj, me.copy()),
            "union" => {
                let mut out = me.copy();
                for a in &args {
                    set_update(it, &mut out, a)?;
                }
                same_kind(obj, out)
            }
            "update" => {
                let mut out = me;
                for a in &args {
                    set_update(it, &mut out, a)?;
                }
                *cell().borrow_mut() = out;
                Value::None
            }
            "intersection" | "intersection_update" => {
                let mut out = me;
                for a in &args {
                    let o = as_set(it, a)?;
                    out = Set::intersection(&out, &o);
                }
                if name == "intersection_update" {
                    *cell().borrow_mut() = out;
                    Value::None
                } else {
                    same_kind(obj, out)
                }
            }
            "difference" => {
                let mut out = me;
                for a in &args {
                    let o = as_set(it, a)?;
                    out = Set::difference(&out, &o);
                }
                same_kind(obj, out)
            }
            "difference_update" => {
                let mut out = me;
                for a in &args {
                    for k in as_set(it, a)?.keys() {
                        out.remove_key(&k);
                    }
                }
                out.compact_after_difference();
                *cell().borrow_mut() = out;
                Value::None
            }
            "symmetric_difference" | "symmetric_difference_update" => {
                arity(name, &args, 1, 1)?;
                let o = as_set(it, &args[0])?;
                let out = Set::symmetric_difference(&me, &o);
                if name == "symmetric_difference_update" {
                    *cell().borrow_mut() = out;
                    Value::None
                } else {
                    same_kind(obj, out)
                }
            }
            "issubset" => {
                arity(name, &args, 1, 1)?;
                Value::Bool(me.is_subset(&as_set(it, &args[0])?))
            }
            "issuperset" => {
                arity(name, &args, 1, 1)?;
                Value::Bool(as_set(it, &args[0])?.is_subset(&me))
            }
            "isdisjoint" => {
                arity(name, &args, 1, 1)?;
                let o = as_set(it, &args[0])?;
                Value::Bool(Set::intersection(&me, &o).is_empty())
            }
            _ => unreachable!("checked against SET_METHODS"),
        })
    })();
    Some(r)
}

pub fn set_order_cmp(op: CmpOp, a: &Value, b: &Value) -> PResult<bool> {
    let (x, y) = (set_of(a).expect("set"), set_of(b).expect("set"));
    let sub = x.is_subset(&y);
    let sup = y.is_subset(&x);
    Ok(match op {
        CmpOp::Le => sub,
        CmpOp::Lt => sub && x.len() < y.len(),
        CmpOp::Ge => sup,
        _ => sup && x.len() > y.len(),
    })
}

/// `a op b` for two sets, the result of `a`'s kind.
pub fn set_binop(op: BinOp, a: &Value, b: &Value) -> Option<Value> {
    let (x, y) = (set_of(a)?, set_of(b)?);
    let out = match op {
        BinOp::BitOr => Set::union(&x, &y),
        BinOp::BitAnd => Set::intersection(&x, &y),
        BinOp::Sub => Set::difference(&x, &y),
        BinOp::BitXor => Set::symmetric_difference(&x, &y),
        _ => return None,
    };
    Some(same_kind(a, out))
}

// ----- operators on sequences, sets, dicts -----

pub fn seq_binop(it: &mut Interpreter, op: BinOp, a: &Value, b: &Value) -> PResult<Option<Value>> {
    let repeat = |n: &Value| -> Option<i64> {
        match n {
            Value::Int(i) => Some(*i),
            Value::Bool(b) => Some(*b as i64),
            _ => None,
        }
    };
    Ok(Some(match (op, a, b) {
        (BinOp::Add, Value::Str(x), Value::Str(y)) => {
            let mut s = String::with_capacity(x.len() + y.len());
            s.push_str(x);
            s.push_str(y);
            Value::str(&s)
        }
        (BinOp::Add, Value::List(x), Value::List(y)) => {
            let mut v = x.borrow().clone();
            v.extend(y.borrow().iter().cloned());
            Value::list(v)
        }
        (BinOp::Add, Value::Tuple(x), Value::Tuple(y)) => {
            let mut v = (**x).clone();
            v.extend(y.iter().cloned());
            Value::tuple(v)
        }
        (BinOp::Add, Value::Bytes(x), Value::Bytes(y)) => {
            let mut v = (**x).clone();
            v.extend_from_slice(y);
            Value::Bytes(Rc::new(v))
        }
        (BinOp::Mul, Value::Str(_) | Value::List(_) | Value::Tuple(_) | Value::Bytes(_), n) if repeat(n).is_some() => repeat_seq(a, repeat(n).unwrap_or(0))?,
        (BinOp::Mul, n, Value::Str(_) | Value::List(_) | Value::Tuple(_) | Value::Bytes(_)) if repeat(n).is_some() => repeat_seq(b, repeat(n).unwrap_or(0))?,
        (BinOp::Mod, Value::Str(f), args) => Value::str(&percent_format(it, f, args)?),
        // `b"partition-%d" % n`: ASCII formats the same way; the result is bytes again.
        (BinOp::Mod, Value::Bytes(f), args) if f.is_ascii() => {
            let text = percent_format(it, std::str::from_utf8(f).unwrap_or_default(), args)?;
            Value::Bytes(Rc::new(text.into_bytes()))
        }
        (BinOp::BitOr | BinOp::BitAnd | BinOp::Sub | BinOp::BitXor, Value::Set(_) | Value::FrozenSet(_), Value::Set(_) | Value::FrozenSet(_)) => {
            return Ok(set_binop(op, a, b));
        }
        (BinOp::BitOr, Value::Dict(x), Value::Dict(y)) => {
            let mut d = x.borrow().clone();
            for (k, v) in y.borrow().items() {
                d.set(k, v)?;
            }
            Value::dict(d)
        }
        (BinOp::Add | BinOp::Sub, Value::Dict(x), Value::Dict(y)) if x.borrow().kind == DictKind::Counter => {
            let mut d = Dict { kind: DictKind::Counter, ..Dict::new() };
            let sign = if op == BinOp::Add { 1 } else { -1 };
            let out = Rc::new(RefCell::new(d.clone()));
            counter_add(it, &out, &Value::Dict(x.clone()), 1)?;
            counter_add(it, &out, &Value::Dict(y.clone()), sign)?;
            d.map = out.borrow().map.clone();
            d.map.retain(|_, v| matches!(v, Value::Int(i) if *i > 0));
            Value::dict(d)
        }
        _ => return Ok(None),
    }))
}

fn repeat_seq(v: &Value, n: i64) -> PResult<Value> {
    let n = n.max(0) as usize;
    let too_big = |len: usize| len.saturating_mul(n) > 100_000_000;
    Ok(match v {
        Value::Str(s) => {
            if too_big(s.len()) {
                return Err(PyErr::bare(ExcType::MemoryError));
            }
            Value::str(&s.repeat(n))
        }
        Value::Bytes(b) => Value::Bytes(Rc::new(b.repeat(n))),
        Value::List(l) => {
            let items = l.borrow();
            if too_big(items.len()) {
                return Err(PyErr::bare(ExcType::MemoryError));
            }
            let mut out = Vec::with_capacity(items.len() * n);
            for _ in 0..n {
                out.extend(items.iter().cloned());
            }
            Value::list(out)
        }
        Value::Tuple(t) => {
            if too_big(t.len()) {
                return Err(PyErr::bare(ExcType::MemoryError));
            }
            let mut out = Vec::with_capacity(t.len() * n);
            for _ in 0..n {
                out.extend(t.iter().cloned());
            }
            Value::tuple(out)
        }
        _ => unreachable!("sequences only"),
    })
}

// ----- indexing -----

fn index_of(idx: &Value, len: usize, what: &str) -> PResult<usize> {
    let i = match idx {
        Value::Int(i) => *i,
        Value::Bool(b) => *b as i64,
        Value::Big(_) => return Err(PyErr::new(ExcType::IndexError, "cannot fit 'int' into an index-sized integer")),
        other => return Err(PyErr::new(ExcType::TypeError, format!("{what} indices must be integers or slices, not {}", other.type_name()))),
    };
    let n = len as i64;
    let j = if i < 0 { i + n } else { i };
    if j < 0 || j >= n {
        let name = if what == "str" { "string" } else { what };
        return Err(PyErr::new(ExcType::IndexError, format!("{name} index out of range")));
    }
    Ok(j as usize)
}

/// `PySlice_Unpack` + `PySlice_AdjustIndices`: (start, stop, step) clamped to `len`.
pub fn slice_adjust(sl: &[Value; 3], len: usize) -> PResult<(i64, i64, i64)> {
    let get = |v: &Value| -> PResult<Option<i64>> {
        match v {
            Value::None => Ok(None),
            other => other
                .as_int()
                .map(Some)
                .ok_or_else(|| PyErr::new(ExcType::TypeError, "slice indices must be integers or None or have an __index__ method")),
        }
    };
    let step = get(&sl[2])?.unwrap_or(1);
    if step == 0 {
        return Err(PyErr::new(ExcType::ValueError, "slice step cannot be zero"));
    }
    let n = len as i64;
    let adjust = |v: Option<i64>, dflt: i64, lo: i64, hi: i64| -> i64 {
        match v {
            None => dflt,
            Some(x) => {
                let x = if x < 0 { x + n } else { x };
                x.clamp(lo, hi)
            }
        }
    };
    Ok(if step > 0 {
        (adjust(get(&sl[0])?, 0, 0, n), adjust(get(&sl[1])?, n, 0, n), step)
    } else {
        (adjust(get(&sl[0])?, n - 1, -1, n - 1), adjust(get(&sl[1])?, -1, -1, n - 1), step)
    })
}

/// `PySlice_AdjustIndices`: the positions a slice selects.
pub fn slice_indices(sl: &[Value; 3], len: usize) -> PResult<Vec<usize>> {
    let get = |v: &Value| -> PResult<Option<i64>> {
        match v {
            Value::None => Ok(None),
            other => other
                .as_int()
                .map(Some)
                .ok_or_else(|| PyErr::new(ExcType::TypeError, "slice indices must be integers or None or have an __index__ method")),
        }
    };
    let step = get(&sl[2])?.unwrap_or(1);
    if step == 0 {
        return Err(PyErr::new(ExcType::ValueError, "slice step cannot be zero"));
    }
    let n = len as i64;
    let adjust = |v: Option<i64>, dflt: i64, lo: i64, hi: i64| -> i64 {
        match v {
            None => dflt,
            Some(x) => {
                let x = if x < 0 { x + n } else { x };
                x.clamp(lo, hi)
            }
        }
    };
    let (start, stop) = if step > 0 {
        (adjust(get(&sl[0])?, 0, 0, n), adjust(get(&sl[1])?, n, 0, n))
    } else {
        (adjust(get(&sl[0])?, n - 1, -1, n - 1), adjust(get(&sl[1])?, -1, -1, n - 1))
    };
    let mut out = vec![];
    let mut i = start;
    while (step > 0 && i < stop) || (step < 0 && i > stop) {
        out.push(i as usize);
        i += step;
    }
    Ok(out)
}

pub fn get_item(obj: &Value, idx: &Value) -> PResult<Value> {
    match obj {
        Value::List(l) => {
            let items = l.borrow();
            match idx {
                Value::Slice(sl) => Ok(Value::list(slice_indices(sl, items.len())?.into_iter().map(|i| items[i].clone()).collect())),
                _ => Ok(items[index_of(idx, items.len(), "list")?].clone()),
            }
        }
        Value::Tuple(t) => match idx {
            Value::Slice(sl) => Ok(Value::tuple(slice_indices(sl, t.len())?.into_iter().map(|i| t[i].clone()).collect())),
            _ => Ok(t[index_of(idx, t.len(), "tuple")?].clone()),
        },
        Value::Str(sv) => {
            if sv.is_ascii() {
                let b = sv.as_bytes();
                return match idx {
                    Value::Slice(sl) => Ok(Value::str(&slice_indices(sl, b.len())?.into_iter().map(|i| b[i] as char).collect::<String>())),
                    _ => {
                        let i = index_of(idx, b.len(), "str")?;
                        Ok(Value::str(&sv[i..i + 1]))
                    }
                };
            }
            let chars: Vec<char> = sv.chars().collect();
            match idx {
                Value::Slice(sl) => Ok(Value::str(&slice_indices(sl, chars.len())?.into_iter().map(|i| chars[i]).collect::<String>())),
                _ => Ok(Value::str(&chars[index_of(idx, chars.len(), "str")?].to_string())),
            }
        }
        Value::Bytes(b) => match idx {
            Value::Slice(sl) => Ok(Value::Bytes(Rc::new(slice_indices(sl, b.len())?.into_iter().map(|i| b[i]).collect()))),
            _ => Ok(Value::Int(b[index_of(idx, b.len(), "index")?] as i64)),
        },
        Value::Range(r) => match idx {
            Value::Slice(sl) => {
                let (start, stop, step) = slice_adjust(sl, r.len() as usize)?;
                Ok(Value::Range(Rc::new(Range { start: r.get(start), stop: r.get(stop), step: r.step * step })))
            }
            _ => {
                let i = index_of(idx, r.len() as usize, "range object").map_err(|e| {
                    if e.is(ExcType::IndexError) {
                        PyErr::new(ExcType::IndexError, "range object index out of range")
                    } else {
                        e
                    }
                })?;
                Ok(Value::Int(r.get(i as i64)))
            }
        },
        _ => Err(not_subscriptable(obj)),
    }
}

pub fn list_set_item(it: &mut Interpreter, l: &Rc<RefCell<Vec<Value>>>, idx: &Value, v: Value) -> PResult<()> {
    match idx {
        Value::Slice(sl) => {
            let new = it.collect(&v)?;
            let len = l.borrow().len();
            let picks = slice_indices(sl, len)?;
            let step = sl[2].as_int().unwrap_or(1);
            if step == 1 {
                let start = match &sl[0] {
                    Value::None => 0,
                    x => {
                        let i = x.as_int().unwrap_or(0);
                        (if i < 0 { (i + len as i64).max(0) } else { i.min(len as i64) }) as usize
                    }
                };
                let end = picks.last().map(|p| p + 1).unwrap_or(start).max(start);
                l.borrow_mut().splice(start..end, new);
            } else {
                if picks.len() != new.len() {
                    return Err(PyErr::new(
                        ExcType::ValueError,
                        format!("attempt to assign sequence of size {} to extended slice of size {}", new.len(), picks.len()),
                    ));
                }
                let mut items = l.borrow_mut();
                for (p, x) in picks.into_iter().zip(new) {
                    items[p] = x;
                }
            }
            Ok(())
        }
        _ => {
            let len = l.borrow().len();
            let i = index_of(idx, len, "list").map_err(|e| {
                if e.is(ExcType::IndexError) {
                    PyErr::new(ExcType::IndexError, "list assignment index out of range")
                } else {
                    e
                }
            })?;
            l.borrow_mut()[i] = v;
            Ok(())
        }
    }
}

pub fn list_del_item(l: &Rc<RefCell<Vec<Value>>>, idx: &Value) -> PResult<()> {
    match idx {
        Value::Slice(sl) => {
            let len = l.borrow().len();
            let mut picks = slice_indices(sl, len)?;
            picks.sort_unstable();
            let mut items = l.borrow_mut();
            for p in picks.into_iter().rev() {
                items.remove(p);
            }
            Ok(())
        }
        _ => {
            let len = l.borrow().len();
            let i = index_of(idx, len, "list").map_err(|e| {
                if e.is(ExcType::IndexError) {
                    PyErr::new(ExcType::IndexError, "list assignment index out of range")
                } else {
                    e
                }
            })?;
            l.borrow_mut().remove(i);
            Ok(())
        }
    }
}

pub fn view_items(v: &(ViewKind, Rc<RefCell<Dict>>)) -> Vec<Value> {
    let d = v.1.borrow();
    match v.0 {
        ViewKind::Keys => d.keys(),
        ViewKind::Values => d.map.values().cloned().collect(),
        ViewKind::Items => d.items().into_iter().map(|(k, v)| Value::tuple(vec![k, v])).collect(),
    }
}

pub fn len_any(it: &mut Interpreter, v: &Value) -> PResult<i64> {
    len_of(it, v)
}
