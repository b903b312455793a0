//! The `json` module: `dumps` and `loads` with CPython's output (separators, `ensure_ascii`,
//! `sort_keys`, `indent`, `NaN`/`Infinity`) and insertion-ordered objects.

use super::builtins::{arity, kwarg};
use super::error::{exc_class, ExcType, PyErr};
use super::ir::s;
use super::value::{next_id, Class};
use indexmap::IndexMap;
use std::cell::RefCell;
use std::rc::Rc;
use super::interp::Interpreter;
use super::ir::Str;
use super::repr::float_repr;
use super::value::{Dict, PResult, Value};
use std::fmt::Write;

thread_local! {
    static DECODE_ERROR: Rc<Class> = {
        let base = exc_class(ExcType::ValueError);
        let cls = Rc::new(Class {
            name: s("JSONDecodeError"),
            module: Some(s("json.decoder")),
            bases: vec![base.clone()],
            mro: RefCell::new(vec![]),
            ns: RefCell::new(IndexMap::new()),
            is_exception: true,
            id: next_id(),
        });
        let mut mro = vec![cls.clone()];
        mro.extend(base.mro.borrow().iter().cloned());
        *cls.mro.borrow_mut() = mro;
        cls
    };
}

/// `json.JSONDecodeError`, a `ValueError`.
pub fn decode_error_class() -> Rc<Class> {
    DECODE_ERROR.with(|c| c.clone())
}

type Args = Vec<Value>;
type Kwargs = Vec<(Str, Value)>;

struct Opts {
    indent: Option<String>,
    item_sep: String,
    key_sep: String,
    sort_keys: bool,
    ensure_ascii: bool,
}

pub fn dumps(it: &mut Interpreter, args: Args, kwargs: Kwargs) -> PResult<Value> {
    arity("dumps", &args, 1, 1)?;
    let indent = match kwarg(&kwargs, "indent") {
        None | Some(Value::None) => None,
        Some(Value::Int(n)) => Some(" ".repeat(n.max(0) as usize)),
        Some(Value::Str(s)) => Some(s.to_string()),
        Some(v) => return Err(PyErr::new(ExcType::TypeError, format!("indent must be int or str, not {}", v.type_name()))),
    };
    let (mut item_sep, mut key_sep) = (if indent.is_some() { "," } else { ", " }.to_string(), ": ".to_string());
    if let Some(Value::Tuple(t)) = kwarg(&kwargs, "separators") {
        if let (Some(Value::Str(a)), Some(Value::Str(b))) = (t.first(), t.get(1)) {
            item_sep = a.to_string();
            key_sep = b.to_string();
        }
    }
    let flag = |name: &str, dflt: bool| kwarg(&kwargs, name).map(|v| v.truthy()).unwrap_or(dflt);
    let opts = Opts { indent, item_sep, key_sep, sort_keys: flag("sort_keys", false), ensure_ascii: flag("ensure_ascii", true) };
    let mut out = String::new();
    encode(it, &args[0], &opts, 0, &mut out)?;
    Ok(Value::str(&out))
}

fn encode(it: &mut Interpreter, v: &Value, o: &Opts, level: usize, out: &mut String) -> PResult<()> {
    if level > 200 {
        return Err(PyErr::new(ExcType::RecursionError, "maximum recursion depth exceeded while encoding a JSON object"));
    }
    match v {
        Value::None => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Int(i) => {
            let _ = write!(out, "{i}");
        }
        Value::Big(b) => {
            let _ = write!(out, "{b}");
        }
        Value::Float(f) => out.push_str(&float_json(*f)),
        Value::Str(s) => string(s, o.ensure_ascii, out),
        Value::List(_) | Value::Tuple(_) => {
            let items = it.collect(v)?;
            if items.is_empty() {
                out.push_str("[]");
                return Ok(());
            }
            out.push('[');
            for (i, x) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(&o.item_sep);
                }
                newline(o, level + 1, out);
                encode(it, x, o, level + 1, out)?;
            }
            newline(o, level, out);
            out.push(']');
        }
        Value::Dict(d) => {
            let mut items = d.borrow().items();
            if items.is_empty() {
                out.push_str("{}");
                return Ok(());
            }
            let mut keyed = vec![];
            for (k, val) in items.drain(..) {
                let key = match &k {
                    Value::Str(s) => s.to_string(),
                    Value::Float(f) => float_json(*f),
                    Value::Int(_) | Value::Big(_) => super::repr::repr(&k),
                    Value::Bool(b) => (if *b { "true" } else { "false" }).to_string(),
                    Value::None => "null".to_string(),
                    other => return Err(PyErr::new(ExcType::TypeError, format!("keys must be str, int, float, bool or None, not {}", other.type_name()))),
                };
                keyed.push((key, val));
            }
            if o.sort_keys {
                keyed.sort_by(|a, b| a.0.cmp(&b.0));
            }
            out.push('{');
            for (i, (k, val)) in keyed.iter().enumerate() {
                if i > 0 {
                    out.push_str(&o.item_sep);
                }
                newline(o, level + 1, out);
                string(k, o.ensure_ascii, out);
                out.push_str(&o.key_sep);
                encode(it, val, o, level + 1, out)?;
            }
            newline(o, level, out);
            out.push('}');
        }
        other => return Err(PyErr::new(ExcType::TypeError, format!("Object of type {} is not JSON serializable", other.type_name()))),
    }
    Ok(())
}

fn newline(o: &Opts, level: usize, out: &mut String) {
    if let Some(ind) = &o.indent {
        out.push('\n');
        for _ in 0..level {
            out.push_str(ind);
        }
    }
}

fn float_json(f: f64) -> String {
    if f.is_nan() {
        "NaN".into()
    } else if f.is_infinite() {
        if f > 0.0 { "Infinity".into() } else { "-Infinity".into() }
    } else {
        float_repr(f)
    }
}

fn string(s: &str, ascii: bool, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 || (ascii && (c as u32) > 0x7e) => {
                let mut buf = [0u16; 2];
                for unit in c.encode_utf16(&mut buf) {
                    let _ = write!(out, "\\u{:04x}", unit);
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

pub fn loads(_it: &mut Interpreter, args: Args, _kw: Kwargs) -> PResult<Value> {
    arity("loads", &args, 1, 1)?;
    let text = match &args[0] {
        Value::Str(s) => s.to_string(),
        Value::Bytes(b) => String::from_utf8_lossy(b).to_string(),
        v => return Err(PyErr::new(ExcType::TypeError, format!("the JSON object must be str, bytes or bytearray, not {}", v.type_name()))),
    };
    let chars: Vec<char> = text.chars().collect();
    let mut p = Parser { c: &chars, i: 0, depth: 0 };
    p.ws();
    let v = p.value()?;
    p.ws();
    if p.i < chars.len() {
        return Err(p.err("Extra data"));
    }
    Ok(v)
}

struct Parser<'a> {
    c: &'a [char],
    i: usize,
    depth: u32,
}

impl Parser<'_> {
    fn err(&self, what: &str) -> PyErr {
        let line = self.c[..self.i.min(self.c.len())].iter().filter(|c| **c == '\n').count() + 1;
        let col = self.i - self.c[..self.i.min(self.c.len())].iter().rposition(|c| *c == '\n').map(|p| p + 1).unwrap_or(0) + 1;
        let msg = format!("{what}: line {line} column {col} (char {})", self.i);
        PyErr::with_args(decode_error_class(), vec![Value::str(&msg)])
    }

    fn ws(&mut self) {
        while self.i < self.c.len() && matches!(self.c[self.i], ' ' | '\t' | '\n' | '\r') {
            self.i += 1;
        }
    }

    fn eat(&mut self, word: &str) -> bool {
        let w: Vec<char> = word.chars().collect();
        if self.c[self.i..].starts_with(&w) {
            self.i += w.len();
            true
        } else {
            false
        }
    }

    fn value(&mut self) -> PResult<Value> {
        self.depth += 1;
        if self.depth > 200 {
            return Err(PyErr::new(ExcType::RecursionError, "maximum recursion depth exceeded while decoding a JSON document"));
        }
        let r = self.value_inner();
        self.depth -= 1;
        r
    }

    fn value_inner(&mut self) -> PResult<Value> {
        let Some(&c) = self.c.get(self.i) else { return Err(self.err("Expecting value")) };
        match c {
            '{' => {
                self.i += 1;
                let mut d = Dict::new();
                self.ws();
                if self.c.get(self.i) == Some(&'}') {
                    self.i += 1;
                    return Ok(Value::dict(d));
                }
                loop {
                    self.ws();
                    if self.c.get(self.i) != Some(&'"') {
                        return Err(self.err("Expecting property name enclosed in double quotes"));
                    }
                    let k = self.string()?;
                    self.ws();
                    if self.c.get(self.i) != Some(&':') {
                        return Err(self.err("Expecting ':' delimiter"));
                    }
                    self.i += 1;
                    self.ws();
                    let v = self.value()?;
                    d.set(Value::str(&k), v)?;
                    self.ws();
                    match self.c.get(self.i) {
                        Some(',') => self.i += 1,
                        Some('}') => {
                            self.i += 1;
                            return Ok(Value::dict(d));
                        }
                        _ => return Err(self.err("Expecting ',' delimiter")),
                    }
                }
            }
            '[' => {
                self.i += 1;
                let mut items = vec![];
                self.ws();
                if self.c.get(self.i) == Some(&']') {
                    self.i += 1;
                    return Ok(Value::list(items));
                }
                loop {
                    self.ws();
                    items.push(self.value()?);
                    self.ws();
                    match self.c.get(self.i) {
                        Some(',') => self.i += 1,
                        Some(']') => {
                            self.i += 1;
                            return Ok(Value::list(items));
                        }
                        _ => return Err(self.err("Expecting ',' delimiter")),
                    }
                }
            }
            '"' => Ok(Value::str(&self.string()?)),
            _ if self.eat("null") => Ok(Value::None),
            _ if self.eat("true") => Ok(Value::Bool(true)),
            _ if self.eat("false") => Ok(Value::Bool(false)),
            _ if self.eat("NaN") => Ok(Value::Float(f64::NAN)),
            _ if self.eat("Infinity") => Ok(Value::Float(f64::INFINITY)),
            _ if self.eat("-Infinity") => Ok(Value::Float(f64::NEG_INFINITY)),
            _ => self.number(),
        }
    }

    fn number(&mut self) -> PResult<Value> {
        let start = self.i;
        while self.i < self.c.len() && matches!(self.c[self.i], '0'..='9' | '-' | '+' | '.' | 'e' | 'E') {
            self.i += 1;
        }
        let text: String = self.c[start..self.i].iter().collect();
        if text.is_empty() {
            return Err(self.err("Expecting value"));
        }
        if text.contains(['.', 'e', 'E']) {
            text.parse::<f64>().map(Value::Float).map_err(|_| self.err("Expecting value"))
        } else {
            super::builtins::parse_int(&text, 10).map_err(|_| self.err("Expecting value"))
        }
    }

    fn string(&mut self) -> PResult<String> {
        self.i += 1;
        let mut out = String::new();
        loop {
            let Some(&c) = self.c.get(self.i) else { return Err(self.err("Unterminated string starting at")) };
            self.i += 1;
            match c {
                '"' => return Ok(out),
                '\\' => {
                    let Some(&e) = self.c.get(self.i) else { return Err(self.err("Unterminated string starting at")) };
                    self.i += 1;
                    match e {
                        'n' => out.push('\n'),
                        't' => out.push('\t'),
                        'r' => out.push('\r'),
                        'b' => out.push('\u{8}'),
                        'f' => out.push('\u{c}'),
                        'u' => {
                            let hex: String = self.c.get(self.i..self.i + 4).map(|s| s.iter().collect()).unwrap_or_default();
                            let mut code = u32::from_str_radix(&hex, 16).map_err(|_| self.err("Invalid \\uXXXX escape"))?;
                            self.i += 4;
                            if (0xd800..0xdc00).contains(&code) && self.c.get(self.i) == Some(&'\\') && self.c.get(self.i + 1) == Some(&'u') {
                                let lo: String = self.c.get(self.i + 2..self.i + 6).map(|s| s.iter().collect()).unwrap_or_default();
                                if let Ok(low) = u32::from_str_radix(&lo, 16) {
                                    if (0xdc00..0xe000).contains(&low) {
                                        code = 0x10000 + ((code - 0xd800) << 10) + (low - 0xdc00);
                                        self.i += 6;
                                    }
                                }
                            }
                            out.push(char::from_u32(code).unwrap_or('\u{fffd}'));
                        }
                        other => out.push(other),
                    }
                }
                c => out.push(c),
            }
        }
    }
}
