//! Builtin functions and the constructors of the builtin types.

use super::error::{exc_class, ExcType, PyErr};
use super::interp::Interpreter;
use super::ir::{s, BinOp, CmpOp, Str};
use super::ops;
use super::value::*;
use indexmap::IndexMap;
use num_bigint::BigInt;
use std::cell::RefCell;
use std::rc::Rc;

type Args = Vec<Value>;
type Kwargs = Vec<(Str, Value)>;

pub fn builtin(name: &str, module: &str, f: BuiltinFn) -> Value {
    Value::Builtin(Rc::new(Builtin { name: s(name), f, this: None, module: s(module) }))
}

pub fn make_builtins() -> IndexMap<Str, Value> {
    let mut m = IndexMap::new();
    let fns: &[(&str, BuiltinFn)] = &[
        ("print", b_print),
        ("len", b_len),
        ("sorted", b_sorted),
        ("sum", b_sum),
        ("min", b_min),
        ("max", b_max),
        ("enumerate", b_enumerate),
        ("zip", b_zip),
        ("isinstance", b_isinstance),
        ("issubclass", b_issubclass),
        ("abs", b_abs),
        ("all", b_all),
        ("any", b_any),
        ("repr", b_repr),
        ("ascii", b_ascii),
        ("round", b_round),
        ("divmod", b_divmod),
        ("pow", b_pow),
        ("reversed", b_reversed),
        ("map", b_map),
        ("filter", b_filter),
        ("hash", b_hash),
        ("iter", b_iter),
        ("next", b_next),
        ("getattr", b_getattr),
        ("setattr", b_setattr),
        ("hasattr", b_hasattr),
        ("callable", b_callable),
        ("chr", b_chr),
        ("ord", b_ord),
        ("id", b_id),
        ("hex", b_hex),
        ("oct", b_oct),
        ("bin", b_bin),
        ("format", b_format),
        ("super", b_super),
    ];
    for (name, f) in fns {
        m.insert(s(name), builtin(name, "", *f));
    }
    use TypeKind as T;
    for t in [T::Int, T::Float, T::Str, T::Bool, T::List, T::Tuple, T::Dict, T::Set, T::FrozenSet, T::Bytes, T::Range, T::Object, T::Type, T::Slice] {
        m.insert(s(t.name()), Value::Type(t));
    }
    for t in ExcType::ALL {
        if *t != ExcType::PicklingError {
            m.insert(s(t.name()), Value::Class(exc_class(*t)));
        }
    }
    m.insert(s("NotImplemented"), Value::NotImplemented);
    m.insert(s("Ellipsis"), Value::Ellipsis);
    m.insert(s("__name__"), Value::str("__main__"));
    m
}

pub fn type_of(v: &Value) -> Value {
    match v {
        Value::Instance(i) => Value::Class(i.class.clone()),
        Value::Dict(d) => match d.borrow().kind {
            DictKind::Counter => counter_class(),
            DictKind::DefaultDict => defaultdict_class(),
            DictKind::Plain => Value::Type(TypeKind::Dict),
        },
        Value::Native(n) if n.type_name() != "type" => {
            Value::Native(Rc::new(super::native::NativeType::of(&**n)))
        }
        other => Value::Type(other.type_kind()),
    }
}

/// Stand-ins for `collections.Counter` / `defaultdict` as type objects.
pub fn counter_class() -> Value {
    builtin("Counter", "collections", super::modules::m_counter)
}

pub fn defaultdict_class() -> Value {
    builtin("defaultdict", "collections", super::modules::m_defaultdict)
}

pub fn kwarg(kwargs: &Kwargs, name: &str) -> Option<Value> {
    kwargs.iter().find(|(k, _)| &**k == name).map(|(_, v)| v.clone())
}

fn check_kwargs(fname: &str, kwargs: &Kwargs, allowed: &[&str]) -> PResult<()> {
    for (k, _) in kwargs {
        if !allowed.contains(&&**k) {
            return Err(PyErr::new(ExcType::TypeError, format!("{fname}() got an unexpected keyword argument '{k}'")));
        }
    }
    Ok(())
}

pub fn arity(fname: &str, args: &Args, min: usize, max: usize) -> PResult<()> {
    if args.len() < min || args.len() > max {
        let msg = if min == max {
            if min == 1 {
                format!("{fname}() takes exactly one argument ({} given)", args.len())
            } else {
                format!("{fname} expected {min} arguments, got {}", args.len())
            }
        } else if args.len() < min {
            format!("{fname} expected at least {min} argument{}, got {}", if min == 1 { "" } else { "s" }, args.len())
        } else {
            format!("{fname} expected at most {max} argument{}, got {}", if max == 1 { "" } else { "s" }, args.len())
        };
        return Err(PyErr::new(ExcType::TypeError, msg));
    }
    Ok(())
}

fn b_print(it: &mut Interpreter, args: Args, kwargs: Kwargs) -> PResult<Value> {
    check_kwargs("print", &kwargs, &["sep", "end", "file", "flush"])?;
    let sep = match kwarg(&kwargs, "sep") {
        None | Some(Value::None) => " ".to_string(),
        Some(Value::Str(s)) => s.to_string(),
        Some(v) => return Err(PyErr::new(ExcType::TypeError, format!("sep must be None or a string, not {}", v.type_name()))),
    };
    let end = match kwarg(&kwargs, "end") {
        None | Some(Value::None) => "\n".to_string(),
        Some(Value::Str(s)) => s.to_string(),
        Some(v) => return Err(PyErr::new(ExcType::TypeError, format!("end must be None or a string, not {}", v.type_name()))),
    };
    let mut out = String::new();
    for (i, a) in args.iter().enumerate() {
        if i > 0 {
            out.push_str(&sep);
        }
        out.push_str(&it.to_str(a)?);
    }
    out.push_str(&end);
    match kwarg(&kwargs, "file") {
        None | Some(Value::None) => it.write_output(&out),
        Some(f) => {
            it.call_method(&f, "write", vec![Value::str(&out)], vec![])?;
        }
    }
    Ok(Value::None)
}

pub fn len_of(it: &mut Interpreter, v: &Value) -> PResult<i64> {
    Ok(match v {
        Value::Str(s) => s.chars().count() as i64,
        Value::Bytes(b) => b.len() as i64,
        Value::List(l) => l.borrow().len() as i64,
        Value::Tuple(t) => t.len() as i64,
        Value::Dict(d) => d.borrow().len() as i64,
        Value::Set(st) => st.borrow().len() as i64,
        Value::FrozenSet(st) => st.len() as i64,
        Value::Range(r) => r.len(),
        Value::DictView(dv) => dv.1.borrow().len() as i64,
        Value::Instance(i) if i.class.lookup("__len__").is_some() => {
            let m = i.class.lookup("__len__").expect("checked");
            let r = it.call_value(&m, vec![v.clone()], vec![])?;
            r.as_int().ok_or_else(|| PyErr::new(ExcType::TypeError, "'__len__' should return an integer"))?
        }
        Value::Native(n) => {
            let n = n.clone();
            match n.get_attr(&n, "__len__", it)? {
                super::native::NativeAttr::Method => n.call_method(&n, "__len__", vec![], vec![], it)?.as_int().unwrap_or(0),
                _ => return Err(PyErr::new(ExcType::TypeError, format!("object of type '{}' has no len()", v.type_name()))),
            }
        }
        _ => return Err(PyErr::new(ExcType::TypeError, format!("object of type '{}' has no len()", v.type_name()))),
    })
}

fn b_len(it: &mut Interpreter, args: Args, _kw: Kwargs) -> PResult<Value> {
    arity("len", &args, 1, 1)?;
    Ok(Value::Int(len_of(it, &args[0])?))
}

/// Stable sort by `key`, using only `<` as CPython's `list.sort` does.
pub fn sort_values(it: &mut Interpreter, items: Vec<Value>, key: Option<Value>, reverse: bool) -> PResult<Vec<Value>> {
    let mut keyed: Vec<(Value, Value)> = Vec::with_capacity(items.len());
    for x in items {
        let k = match &key {
            Some(f) if !f.is_none() => it.call_value(f, vec![x.clone()], vec![])?,
            _ => x.clone(),
        };
        keyed.push((k, x));
    }
    if reverse {
        keyed.reverse();
    }
    let mut err: Option<PyErr> = None;
    let all_int = keyed.iter().all(|(k, _)| matches!(k, Value::Int(_)));
    let all_str = keyed.iter().all(|(k, _)| matches!(k, Value::Str(_)));
    if all_int {
        keyed.sort_by_key(|(k, _)| k.as_int().unwrap_or(0));
    } else if all_str {
        keyed.sort_by(|(a, _), (b, _)| match (a, b) {
            (Value::Str(x), Value::Str(y)) => x.cmp(y),
            _ => std::cmp::Ordering::Equal,
        });
    } else {
        keyed = merge_sort(it, keyed, &mut err);
    }
    if let Some(e) = err {
        return Err(e);
    }
    if reverse {
        keyed.reverse();
    }
    Ok(keyed.into_iter().map(|(_, x)| x).collect())
}

fn b_sorted(it: &mut Interpreter, args: Args, kwargs: Kwargs) -> PResult<Value> {
    check_kwargs("sort", &kwargs, &["key", "reverse"])?;
    if args.len() != 1 {
        return Err(PyErr::new(ExcType::TypeError, format!("sorted expected 1 argument, got {}", args.len())));
    }
    let items = it.collect(&args[0])?;
    let reverse = match kwarg(&kwargs, "reverse") {
        Some(v) => it.truthy(&v)?,
        None => false,
    };
    Ok(Value::list(sort_values(it, items, kwarg(&kwargs, "key"), reverse)?))
}

fn b_sum(it: &mut Interpreter, args: Args, kwargs: Kwargs) -> PResult<Value> {
    arity("sum", &args, 1, 2)?;
    let mut acc = args.get(1).cloned().or_else(|| kwarg(&kwargs, "start")).unwrap_or(Value::Int(0));
    if let Value::Str(_) = acc {
        return Err(PyErr::new(ExcType::TypeError, "sum() can't sum strings [use ''.join(seq) instead]"));
    }
    let items = it.collect(&args[0])?;
    for x in items {
        acc = it.binop(BinOp::Add, &acc, &x)?;
    }
    Ok(acc)
}

fn min_max(it: &mut Interpreter, args: Args, kwargs: Kwargs, name: &str, op: CmpOp) -> PResult<Value> {
    check_kwargs(name, &kwargs, &["key", "default"])?;
    let items = match args.len() {
        0 => return Err(PyErr::new(ExcType::TypeError, format!("{name} expected at least 1 argument, got 0"))),
        1 => it.collect(&args[0])?,
        _ => args,
    };
    let key = kwarg(&kwargs, "key").filter(|k| !k.is_none());
    let mut best: Option<(Value, Value)> = None;
    for x in items {
        let k = match &key {
            Some(f) => it.call_value(f, vec![x.clone()], vec![])?,
            None => x.clone(),
        };
        best = match best {
            None => Some((k, x)),
            Some((bk, bx)) => {
                if it.order(op, &k, &bk)? {
                    Some((k, x))
                } else {
                    Some((bk, bx))
                }
            }
        };
    }
    match best {
        Some((_, x)) => Ok(x),
        None => kwarg(&kwargs, "default").ok_or_else(|| PyErr::new(ExcType::ValueError, format!("{name}() arg is an empty sequence"))),
    }
}

fn b_min(it: &mut Interpreter, args: Args, kwargs: Kwargs) -> PResult<Value> {
    min_max(it, args, kwargs, "min", CmpOp::Lt)
}

fn b_max(it: &mut Interpreter, args: Args, kwargs: Kwargs) -> PResult<Value> {
    min_max(it, args, kwargs, "max", CmpOp::Gt)
}

/// A stable merge sort that asks only "is the later item less than the earlier one", as
/// CPython's timsort does, so a failing comparison names its operands in CPython's order.
fn merge_sort(it: &mut Interpreter, items: Vec<(Value, Value)>, err: &mut Option<PyErr>) -> Vec<(Value, Value)> {
    let mut lt = |it: &mut Interpreter, later: &Value, earlier: &Value| -> bool {
        if err.is_some() {
            return false;
        }
        match it.order(CmpOp::Lt, later, earlier) {
            Ok(b) => b,
            Err(e) => {
                *err = Some(e);
                false
            }
        }
    };
    let n = items.len();
    if n <= 1 {
        return items;
    }
    // Binary insertion sort of runs of 32, then bottom-up merges.
    let mut v = items;
    let run = 32;
    let mut start = 0;
    while start < n {
        let end = (start + run).min(n);
        for i in start + 1..end {
            let mut lo = start;
            let mut hi = i;
            while lo < hi {
                let mid = (lo + hi) / 2;
                if lt(it, &v[i].0, &v[mid].0) {
                    hi = mid;
                } else {
                    lo = mid + 1;
                }
            }
            let x = v.remove(i);
            v.insert(lo, x);
        }
        start = end;
    }
    let mut width = run;
    while width < n {
        let mut out = Vec::with_capacity(n);
        let mut lo = 0;
        while lo < n {
            let mid = (lo + width).min(n);
            let hi = (lo + 2 * width).min(n);
            let (mut i, mut j) = (lo, mid);
            while i < mid && j < hi {
                if lt(it, &v[j].0, &v[i].0) {
                    out.push(v[j].clone());
                    j += 1;
                } else {
                    out.push(v[i].clone());
                    i += 1;
                }
            }
            out.extend_from_slice(&v[i..mid]);
            out.extend_from_slice(&v[j..hi]);
            lo = hi;
        }
        v = out;
        width *= 2;
    }
    v
}

pub fn iter_value(items: Vec<Value>) -> Value {
    Value::Iter(Rc::new(RefCell::new(Iter::Seq { items: Rc::new(items), pos: 0, kind: TypeKind::Iterator })))
}

fn lazy(it: Iter) -> Value {
    Value::Iter(Rc::new(RefCell::new(it)))
}

fn b_enumerate(it: &mut Interpreter, args: Args, kwargs: Kwargs) -> PResult<Value> {
    arity("enumerate", &args, 1, 2)?;
    let start = args.get(1).cloned().or_else(|| kwarg(&kwargs, "start")).unwrap_or(Value::Int(0));
    let next = start.as_int().ok_or_else(|| PyErr::new(ExcType::TypeError, format!("'{}' object cannot be interpreted as an integer", start.type_name())))?;
    let src = it.get_iter(&args[0])?;
    Ok(lazy(Iter::Enumerate { next, src }))
}

fn b_zip(it: &mut Interpreter, args: Args, kwargs: Kwargs) -> PResult<Value> {
    check_kwargs("zip", &kwargs, &["strict"])?;
    let mut srcs = vec![];
    for (i, a) in args.iter().enumerate() {
        if !it.is_iterable(a) {
            return Err(PyErr::new(ExcType::TypeError, format!("'{}' object is not iterable", a.type_name())).with_note_zip(i));
        }
        srcs.push(it.get_iter(a)?);
    }
    Ok(lazy(Iter::Zip { srcs }))
}

trait ZipNote {
    fn with_note_zip(self, i: usize) -> Self;
}

impl ZipNote for PyErr {
    fn with_note_zip(self, _i: usize) -> Self {
        self
    }
}

pub fn isinstance(v: &Value, t: &Value) -> PResult<bool> {
    Ok(match t {
        Value::Tuple(ts) => {
            for x in ts.iter() {
                if isinstance(v, x)? {
                    return Ok(true);
                }
            }
            false
        }
        Value::Type(k) => {
            let vk = v.type_kind();
            *k == TypeKind::Object
                || vk == *k
                || (*k == TypeKind::Int && vk == TypeKind::Bool)
                || (*k == TypeKind::Type && matches!(v, Value::Class(_)))
                || (*k == TypeKind::Iterator && vk == TypeKind::Generator)
                || (*k == TypeKind::Tuple && matches!(v, Value::Native(n) if n.is_tuple()))
        }
        Value::Class(c) => match v {
            Value::Instance(i) => i.class.is_subclass(c),
            _ => false,
        },
        Value::Builtin(b) if &*b.module == "collections" => match v {
            Value::Dict(d) => matches!((&*b.name, d.borrow().kind), ("Counter", DictKind::Counter) | ("defaultdict", DictKind::DefaultDict)),
            _ => false,
        },
        Value::Native(n) => n.instance_check(v),
        _ => return Err(PyErr::new(ExcType::TypeError, "isinstance() arg 2 must be a type, a tuple of types, or a union")),
    })
}

fn b_isinstance(_it: &mut Interpreter, args: Args, _kw: Kwargs) -> PResult<Value> {
    arity("isinstance", &args, 2, 2)?;
    Ok(Value::Bool(isinstance(&args[0], &args[1])?))
}

fn b_issubclass(_it: &mut Interpreter, args: Args, _kw: Kwargs) -> PResult<Value> {
    arity("issubclass", &args, 2, 2)?;
    Ok(Value::Bool(match (&args[0], &args[1]) {
        (Value::Class(a), Value::Class(b)) => a.is_subclass(b),
        (Value::Type(a), Value::Type(b)) => a == b || *b == TypeKind::Object || (*a == TypeKind::Bool && *b == TypeKind::Int),
        (Value::Class(_), Value::Type(TypeKind::Object)) => true,
        _ => false,
    }))
}

fn b_abs(_it: &mut Interpreter, args: Args, _kw: Kwargs) -> PResult<Value> {
    arity("abs", &args, 1, 1)?;
    match &args[0] {
        Value::Float(f) => Ok(Value::Float(f.abs())),
        v @ (Value::Int(_) | Value::Big(_) | Value::Bool(_)) => Ok(ops::int_abs(v)),
        v => Err(PyErr::new(ExcType::TypeError, format!("bad operand type for abs(): '{}'", v.type_name()))),
    }
}

fn b_all(it: &mut Interpreter, args: Args, _kw: Kwargs) -> PResult<Value> {
    arity("all", &args, 1, 1)?;
    let i = it.get_iter(&args[0])?;
    while let Some(x) = it.next(&i)? {
        if !it.truthy(&x)? {
            return Ok(Value::Bool(false));
        }
    }
    Ok(Value::Bool(true))
}

fn b_any(it: &mut Interpreter, args: Args, _kw: Kwargs) -> PResult<Value> {
    arity("any", &args, 1, 1)?;
    let i = it.get_iter(&args[0])?;
    while let Some(x) = it.next(&i)? {
        if it.truthy(&x)? {
            return Ok(Value::Bool(true));
        }
    }
    Ok(Value::Bool(false))
}

fn b_repr(it: &mut Interpreter, args: Args, _kw: Kwargs) -> PResult<Value> {
    arity("repr", &args, 1, 1)?;
    Ok(Value::str(&it.repr(&args[0])?))
}

fn b_ascii(it: &mut Interpreter, args: Args, _kw: Kwargs) -> PResult<Value> {
    arity("ascii", &args, 1, 1)?;
    Ok(Value::str(&super::repr::ascii(&it.repr(&args[0])?)))
}

fn b_round(_it: &mut Interpreter, args: Args, kwargs: Kwargs) -> PResult<Value> {
    arity("round", &args, 1, 2)?;
    let nd = args.get(1).cloned().or_else(|| kwarg(&kwargs, "ndigits"));
    let nd = match nd {
        None | Some(Value::None) => None,
        Some(v) => Some(v.as_int().ok_or_else(|| PyErr::new(ExcType::TypeError, format!("'{}' object cannot be interpreted as an integer", v.type_name())))?),
    };
    match &args[0] {
        Value::Float(f) => ops::round_float(*f, nd),
        v @ (Value::Int(_) | Value::Big(_) | Value::Bool(_)) => match nd {
            None => Ok(ops::int_abs(v)).map(|_| match v {
                Value::Bool(b) => Value::Int(*b as i64),
                other => other.clone(),
            }),
            Some(n) if n >= 0 => Ok(match v {
                Value::Bool(b) => Value::Int(*b as i64),
                other => other.clone(),
            }),
            Some(n) => {
                use num_integer::Integer;
                let x = ops::to_big(v).expect("int");
                let p = num_traits::pow(BigInt::from(10), (-n) as usize);
                let (q, r) = x.div_mod_floor(&p);
                let twice = &r * 2;
                let q = if twice > p || (twice == p && q.is_odd()) { q + 1 } else { q };
                Ok(Value::big(q * p))
            }
        },
        v => Err(PyErr::new(ExcType::TypeError, format!("type {} doesn't define __round__ method", v.type_name()))),
    }
}

fn b_divmod(it: &mut Interpreter, args: Args, _kw: Kwargs) -> PResult<Value> {
    arity("divmod", &args, 2, 2)?;
    if let (Value::Float(_), _) | (_, Value::Float(_)) = (&args[0], &args[1]) {
        let (Some(x), Some(y)) = (ops::to_f64(&args[0])?, ops::to_f64(&args[1])?) else {
            return Err(ops::unsupported(BinOp::FloorDiv, &args[0].type_name(), &args[1].type_name()).retitle("divmod()"));
        };
        if y == 0.0 {
            return Err(PyErr::new(ExcType::ZeroDivisionError, "float divmod()"));
        }
        let (q, r) = ops::float_divmod(x, y);
        return Ok(Value::tuple(vec![Value::Float(q), Value::Float(r)]));
    }
    let q = it.binop(BinOp::FloorDiv, &args[0], &args[1]).map_err(|e| e.retitle("divmod()"))?;
    let r = it.binop(BinOp::Mod, &args[0], &args[1]).map_err(|e| if e.is(ExcType::ZeroDivisionError) { PyErr::new(ExcType::ZeroDivisionError, "integer division or modulo by zero") } else { e })?;
    Ok(Value::tuple(vec![q, r]))
}

trait Retitle {
    fn retitle(self, what: &str) -> Self;
}

impl Retitle for PyErr {
    /// `unsupported operand type(s) for //` becomes `... for divmod()`.
    fn retitle(self, what: &str) -> Self {
        let msg = self.message();
        if let Some(rest) = msg.strip_prefix("unsupported operand type(s) for //:") {
            return PyErr::new(ExcType::TypeError, format!("unsupported operand type(s) for {what}:{rest}"));
        }
        self
    }
}

fn b_pow(it: &mut Interpreter, args: Args, _kw: Kwargs) -> PResult<Value> {
    arity("pow", &args, 2, 3)?;
    if args.len() == 3 && !args[2].is_none() {
        let (Some(b), Some(e), Some(m)) = (ops::to_big(&args[0]), ops::to_big(&args[1]), ops::to_big(&args[2])) else {
            return Err(PyErr::new(ExcType::TypeError, "pow() 3rd argument not allowed unless all arguments are integers"));
        };
        use num_traits::{Signed, Zero};
        if m.is_zero() {
            return Err(PyErr::new(ExcType::ValueError, "pow() 3rd argument cannot be 0"));
        }
        if e.is_negative() {
            return Err(PyErr::new(ExcType::ValueError, "base is not invertible for the given modulus"));
        }
        let r = b.modpow(&e, &m);
        let r = if !r.is_zero() && r.is_negative() != m.is_negative() { r + &m } else { r };
        return Ok(Value::big(r));
    }
    it.binop(BinOp::Pow, &args[0], &args[1])
}

fn b_reversed(it: &mut Interpreter, args: Args, _kw: Kwargs) -> PResult<Value> {
    arity("reversed", &args, 1, 1)?;
    let mut items = match &args[0] {
        Value::List(_) | Value::Tuple(_) | Value::Str(_) | Value::Range(_) | Value::Bytes(_) => it.collect(&args[0])?,
        Value::Dict(d) => d.borrow().keys(),
        Value::Instance(_) => it.collect(&args[0])?,
        v => return Err(PyErr::new(ExcType::TypeError, format!("'{}' object is not reversible", v.type_name()))),
    };
    items.reverse();
    Ok(iter_value(items))
}

fn b_map(it: &mut Interpreter, args: Args, _kw: Kwargs) -> PResult<Value> {
    if args.len() < 2 {
        return Err(PyErr::new(ExcType::TypeError, "map() must have at least two arguments."));
    }
    let mut srcs = vec![];
    for a in &args[1..] {
        srcs.push(it.get_iter(a)?);
    }
    Ok(lazy(Iter::Map { func: args[0].clone(), srcs }))
}

fn b_filter(it: &mut Interpreter, args: Args, _kw: Kwargs) -> PResult<Value> {
    arity("filter", &args, 2, 2)?;
    let src = it.get_iter(&args[1])?;
    Ok(lazy(Iter::Filter { func: args[0].clone(), src }))
}

fn b_hash(it: &mut Interpreter, args: Args, _kw: Kwargs) -> PResult<Value> {
    arity("hash", &args, 1, 1)?;
    Ok(Value::Int(it.hash(&args[0])?))
}

fn b_iter(it: &mut Interpreter, args: Args, _kw: Kwargs) -> PResult<Value> {
    arity("iter", &args, 1, 1)?;
    it.get_iter(&args[0])
}

fn b_next(it: &mut Interpreter, args: Args, _kw: Kwargs) -> PResult<Value> {
    arity("next", &args, 1, 2)?;
    if let Value::Instance(_) = &args[0] {
        return it.call_method(&args[0], "__next__", vec![], vec![]);
    }
    if !matches!(args[0], Value::Iter(_)) {
        return Err(PyErr::new(ExcType::TypeError, format!("'{}' object is not an iterator", args[0].type_name())));
    }
    match it.next(&args[0])? {
        Some(v) => Ok(v),
        None => match args.get(1) {
            Some(d) => Ok(d.clone()),
            None => Err(PyErr::bare(ExcType::StopIteration)),
        },
    }
}

fn attr_name(v: &Value) -> PResult<String> {
    match v {
        Value::Str(s) => Ok(s.to_string()),
        other => Err(PyErr::new(ExcType::TypeError, format!("attribute name must be string, not '{}'", other.type_name()))),
    }
}

fn b_getattr(it: &mut Interpreter, args: Args, _kw: Kwargs) -> PResult<Value> {
    arity("getattr", &args, 2, 3)?;
    let name = attr_name(&args[1])?;
    match it.get_attr(&args[0], &name) {
        Ok(v) => Ok(v),
        Err(e) if e.is(ExcType::AttributeError) && args.len() == 3 => Ok(args[2].clone()),
        Err(e) => Err(e),
    }
}

fn b_setattr(it: &mut Interpreter, args: Args, _kw: Kwargs) -> PResult<Value> {
    arity("setattr", &args, 3, 3)?;
    let name = attr_name(&args[1])?;
    it.set_attr(&args[0], &name, args[2].clone())?;
    Ok(Value::None)
}

fn b_hasattr(it: &mut Interpreter, args: Args, _kw: Kwargs) -> PResult<Value> {
    arity("hasattr", &args, 2, 2)?;
    let name = attr_name(&args[1])?;
    match it.get_attr(&args[0], &name) {
        Ok(_) => Ok(Value::Bool(true)),
        Err(e) if e.is(ExcType::AttributeError) => Ok(Value::Bool(false)),
        Err(e) => Err(e),
    }
}

fn b_callable(_it: &mut Interpreter, args: Args, _kw: Kwargs) -> PResult<Value> {
    arity("callable", &args, 1, 1)?;
    Ok(Value::Bool(match &args[0] {
        Value::Function(_) | Value::Builtin(_) | Value::Method(_) | Value::Type(_) | Value::Class(_) | Value::NativeMethod(_) => true,
        Value::Instance(i) => i.class.lookup("__call__").is_some(),
        Value::Native(_) => true,
        _ => false,
    }))
}

fn b_chr(_it: &mut Interpreter, args: Args, _kw: Kwargs) -> PResult<Value> {
    arity("chr", &args, 1, 1)?;
    let i = args[0].as_int().ok_or_else(|| PyErr::new(ExcType::TypeError, format!("'{}' object cannot be interpreted as an integer", args[0].type_name())))?;
    let c = u32::try_from(i).ok().and_then(char::from_u32).ok_or_else(|| PyErr::new(ExcType::ValueError, "chr() arg not in range(0x110000)"))?;
    Ok(Value::str(&c.to_string()))
}

fn b_ord(_it: &mut Interpreter, args: Args, _kw: Kwargs) -> PResult<Value> {
    arity("ord", &args, 1, 1)?;
    match &args[0] {
        Value::Str(s) => {
            let mut cs = s.chars();
            match (cs.next(), cs.next()) {
                (Some(c), None) => Ok(Value::Int(c as i64)),
                _ => Err(PyErr::new(ExcType::TypeError, format!("ord() expected a character, but string of length {} found", s.chars().count()))),
            }
        }
        Value::Bytes(b) if b.len() == 1 => Ok(Value::Int(b[0] as i64)),
        v => Err(PyErr::new(ExcType::TypeError, format!("ord() expected string of length 1, but {} found", v.type_name()))),
    }
}

fn b_id(_it: &mut Interpreter, args: Args, _kw: Kwargs) -> PResult<Value> {
    arity("id", &args, 1, 1)?;
    Ok(Value::Int(super::hash::hash_value(&args[0]).unwrap_or(0).abs()))
}

fn radix(args: &Args, name: &str, r: u32, prefix: &str) -> PResult<Value> {
    arity(name, args, 1, 1)?;
    let Some(b) = ops::to_big(&args[0]) else {
        return Err(PyErr::new(ExcType::TypeError, format!("'{}' object cannot be interpreted as an integer", args[0].type_name())));
    };
    use num_traits::Signed;
    let sign = if b.is_negative() { "-" } else { "" };
    Ok(Value::str(&format!("{sign}{prefix}{}", b.abs().to_str_radix(r))))
}

fn b_hex(_it: &mut Interpreter, args: Args, _kw: Kwargs) -> PResult<Value> {
    radix(&args, "hex", 16, "0x")
}

fn b_oct(_it: &mut Interpreter, args: Args, _kw: Kwargs) -> PResult<Value> {
    radix(&args, "oct", 8, "0o")
}

fn b_bin(_it: &mut Interpreter, args: Args, _kw: Kwargs) -> PResult<Value> {
    radix(&args, "bin", 2, "0b")
}

fn b_format(it: &mut Interpreter, args: Args, _kw: Kwargs) -> PResult<Value> {
    arity("format", &args, 1, 2)?;
    let spec = match args.get(1) {
        Some(Value::Str(s)) => s.to_string(),
        Some(v) => return Err(PyErr::new(ExcType::TypeError, format!("format() argument 2 must be str, not {}", v.type_name()))),
        None => String::new(),
    };
    Ok(Value::str(&it.format(&args[0], &spec)?))
}

pub fn make_super(owner: &Rc<Class>, obj: Value) -> PResult<Value> {
    let base = owner.mro.borrow().get(1).cloned();
    Ok(Value::Native(Rc::new(super::modules::SuperProxy { base, obj })))
}

/// `super(Class, self)` (the two-argument form).
fn b_super(_it: &mut Interpreter, args: Args, _kw: Kwargs) -> PResult<Value> {
    match (args.first(), args.get(1)) {
        (Some(Value::Class(c)), Some(obj @ Value::Instance(_))) => {
            let base = c.mro.borrow().get(1).cloned();
            Ok(Value::Native(Rc::new(super::modules::SuperProxy { base, obj: obj.clone() })))
        }
        _ => Err(PyErr::new(ExcType::RuntimeError, "super(): use the two-argument form super(Class, self) in zkspark's Python")),
    }
}

// ----- constructors of builtin types -----

pub fn construct(it: &mut Interpreter, t: TypeKind, args: Args, kwargs: Kwargs) -> PResult<Value> {
    use TypeKind as T;
    match t {
        T::Int => to_int(it, &args, &kwargs),
        T::Float => {
            arity("float", &args, 0, 1)?;
            match args.first() {
                None => Ok(Value::Float(0.0)),
                Some(v) => Ok(Value::Float(to_float(v)?)),
            }
        }
        T::Str => {
            arity("str", &args, 0, 3)?;
            match args.first() {
                None => Ok(Value::str("")),
                Some(Value::Bytes(b)) if args.len() > 1 || kwarg(&kwargs, "encoding").is_some() => Ok(Value::str(&String::from_utf8_lossy(b))),
                Some(v) => Ok(Value::str(&it.to_str(v)?)),
            }
        }
        T::Bool => {
            arity("bool", &args, 0, 1)?;
            match args.first() {
                None => Ok(Value::Bool(false)),
                Some(v) => Ok(Value::Bool(it.truthy(v)?)),
            }
        }
        T::List => {
            arity("list", &args, 0, 1)?;
            Ok(Value::list(match args.first() {
                None => vec![],
                Some(v) => it.collect(v)?,
            }))
        }
        T::Tuple => {
            arity("tuple", &args, 0, 1)?;
            match args.first() {
                None => Ok(Value::tuple(vec![])),
                Some(v @ Value::Tuple(_)) => Ok(v.clone()),
                Some(v) => Ok(Value::tuple(it.collect(v)?)),
            }
        }
        T::Dict => {
            arity("dict", &args, 0, 1)?;
            let mut d = Dict::new();
            if let Some(src) = args.first() {
                dict_update(it, &mut d, src)?;
            }
            for (k, v) in kwargs {
                d.set(Value::Str(k.0.clone()), v)?;
            }
            Ok(Value::dict(d))
        }
        T::Set => {
            arity("set", &args, 0, 1)?;
            let mut s = Set::new();
            if let Some(v) = args.first() {
                super::methods::set_update(it, &mut s, v)?;
            }
            Ok(Value::set(s))
        }
        T::FrozenSet => {
            arity("frozenset", &args, 0, 1)?;
            if let Some(v @ Value::FrozenSet(_)) = args.first() {
                return Ok(v.clone());
            }
            let mut s = Set::new();
            if let Some(v) = args.first() {
                super::methods::set_update(it, &mut s, v)?;
            }
            Ok(Value::FrozenSet(Rc::new(s)))
        }
        T::Bytes => {
            arity("bytes", &args, 0, 3)?;
            match args.first() {
                None => Ok(Value::Bytes(Rc::new(vec![]))),
                Some(Value::Str(s)) => Ok(Value::Bytes(Rc::new(s.as_bytes().to_vec()))),
                Some(Value::Int(n)) => {
                    if *n < 0 {
                        return Err(PyErr::new(ExcType::ValueError, "negative count"));
                    }
                    Ok(Value::Bytes(Rc::new(vec![0; *n as usize])))
                }
                Some(v) => {
                    let mut out = vec![];
                    for x in it.collect(v)? {
                        match x.as_int() {
                            Some(b) if (0..256).contains(&b) => out.push(b as u8),
                            _ => return Err(PyErr::new(ExcType::ValueError, "bytes must be in range(0, 256)")),
                        }
                    }
                    Ok(Value::Bytes(Rc::new(out)))
                }
            }
        }
        T::Range => {
            arity("range", &args, 1, 3)?;
            let mut n = vec![];
            for a in &args {
                n.push(a.as_int().ok_or_else(|| PyErr::new(ExcType::TypeError, format!("'{}' object cannot be interpreted as an integer", a.type_name())))?);
            }
            let (start, stop, step) = match n.len() {
                1 => (0, n[0], 1),
                2 => (n[0], n[1], 1),
                _ => (n[0], n[1], n[2]),
            };
            if step == 0 {
                return Err(PyErr::new(ExcType::ValueError, "range() arg 3 must not be zero"));
            }
            Ok(Value::Range(Rc::new(Range { start, stop, step })))
        }
        T::Slice => {
            arity("slice", &args, 1, 3)?;
            let parts = match args.len() {
                1 => [Value::None, args[0].clone(), Value::None],
                2 => [args[0].clone(), args[1].clone(), Value::None],
                _ => [args[0].clone(), args[1].clone(), args[2].clone()],
            };
            Ok(Value::Slice(Rc::new(parts)))
        }
        T::Type => {
            if args.len() == 1 {
                Ok(type_of(&args[0]))
            } else {
                Err(PyErr::new(ExcType::TypeError, "type() takes 1 argument in zkspark's Python"))
            }
        }
        T::Object => {
            let cls = Rc::new(Class { name: s("object"), module: None, bases: vec![], mro: RefCell::new(vec![]), ns: RefCell::new(IndexMap::new()), is_exception: false, id: next_id() });
            Ok(Value::Instance(Rc::new(Instance { class: cls, dict: RefCell::new(IndexMap::new()), exc: None, id: next_id() })))
        }
        other => Err(PyErr::new(ExcType::TypeError, format!("cannot create '{}' instances", other.name()))),
    }
}

pub fn dict_update(it: &mut Interpreter, d: &mut Dict, src: &Value) -> PResult<()> {
    match src {
        Value::Dict(_) | Value::Instance(_) => {
            for (k, v) in it.mapping_items(src)? {
                d.set(k, v)?;
            }
        }
        _ => {
            for (i, item) in it.collect(src)?.into_iter().enumerate() {
                let pair = match &item {
                    Value::Tuple(_) | Value::List(_) | Value::Str(_) => it.collect(&item)?,
                    _ => return Err(PyErr::new(ExcType::TypeError, format!("cannot convert dictionary update sequence element #{i} to a sequence"))),
                };
                if pair.len() != 2 {
                    return Err(PyErr::new(
                        ExcType::ValueError,
                        format!("dictionary update sequence element #{i} has length {}; 2 is required", pair.len()),
                    ));
                }
                d.set(pair[0].clone(), pair[1].clone())?;
            }
        }
    }
    Ok(())
}

fn to_int(_it: &mut Interpreter, args: &Args, kwargs: &Kwargs) -> PResult<Value> {
    arity("int", args, 0, 2)?;
    let base = args.get(1).cloned().or_else(|| kwarg(kwargs, "base"));
    let Some(v) = args.first() else { return Ok(Value::Int(0)) };
    if let Some(b) = base {
        let b = b.as_int().unwrap_or(10);
        let Value::Str(text) = v else {
            return Err(PyErr::new(ExcType::TypeError, "int() can't convert non-string with explicit base"));
        };
        return parse_int(text, b as u32);
    }
    match v {
        Value::Int(_) | Value::Big(_) => Ok(v.clone()),
        Value::Bool(b) => Ok(Value::Int(*b as i64)),
        Value::Float(f) => {
            if f.is_nan() {
                return Err(PyErr::new(ExcType::ValueError, "cannot convert float NaN to integer"));
            }
            if f.is_infinite() {
                return Err(PyErr::new(ExcType::OverflowError, "cannot convert float infinity to integer"));
            }
            Ok(ops::float_to_int(f.trunc()))
        }
        Value::Str(s) => parse_int(s, 10),
        Value::Bytes(b) => parse_int(&String::from_utf8_lossy(b), 10),
        other => Err(PyErr::new(
            ExcType::TypeError,
            format!("int() argument must be a string, a bytes-like object or a real number, not '{}'", other.type_name()),
        )),
    }
}

pub fn parse_int(text: &str, base: u32) -> PResult<Value> {
    if base != 0 && !(2..=36).contains(&base) {
        return Err(PyErr::new(ExcType::ValueError, "int() base must be >= 2 and <= 36, or 0"));
    }
    let bad = || PyErr::new(ExcType::ValueError, format!("invalid literal for int() with base {}: {}", base, super::repr::str_repr(text)));
    let t = text.trim();
    let (neg, body) = match t.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, t.strip_prefix('+').unwrap_or(t)),
    };
    let lower = body.to_ascii_lowercase();
    let (base, digits) = match (base, lower.get(..2)) {
        (0 | 16, Some("0x")) => (16, &lower[2..]),
        (0 | 8, Some("0o")) => (8, &lower[2..]),
        (0 | 2, Some("0b")) => (2, &lower[2..]),
        (0, _) => (10, &lower[..]),
        (b, _) => (b, &lower[..]),
    };
    let digits = digits.strip_prefix('_').unwrap_or(digits);
    if digits.is_empty() || digits.starts_with('_') || digits.ends_with('_') || digits.contains("__") {
        return Err(bad());
    }
    let clean: String = digits.chars().filter(|c| *c != '_').collect();
    let b = BigInt::parse_bytes(clean.as_bytes(), base).ok_or_else(bad)?;
    Ok(Value::big(if neg { -b } else { b }))
}

pub fn to_float(v: &Value) -> PResult<f64> {
    match v {
        Value::Float(f) => Ok(*f),
        Value::Int(_) | Value::Big(_) | Value::Bool(_) => Ok(ops::to_f64(v)?.expect("number")),
        Value::Str(s) => parse_float(s),
        other => Err(PyErr::new(ExcType::TypeError, format!("float() argument must be a string or a real number, not '{}'", other.type_name()))),
    }
}

pub fn parse_float(s: &str) -> PResult<f64> {
    let t = s.trim();
    let lower = t.to_ascii_lowercase();
    let body = lower.trim_start_matches(['+', '-']);
    let neg = lower.starts_with('-');
    let special = match body {
        "inf" | "infinity" => Some(f64::INFINITY),
        "nan" => Some(f64::NAN),
        _ => None,
    };
    if let Some(v) = special {
        return Ok(if neg { -v } else { v });
    }
    let ok_chars = !t.is_empty() && t.chars().all(|c| c.is_ascii_digit() || matches!(c, '.' | 'e' | 'E' | '+' | '-' | '_'));
    let clean: String = t.chars().filter(|c| *c != '_').collect();
    match (ok_chars, clean.parse::<f64>()) {
        (true, Ok(v)) => Ok(v),
        _ => Err(PyErr::new(ExcType::ValueError, format!("could not convert string to float: {}", super::repr::str_repr(s)))),
    }
}
