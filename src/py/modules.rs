//! The standard-library subset: `math`, `operator`, `functools`, `itertools`, `collections`,
//! `random` (CPython's Mersenne Twister, so a seeded run prints what CPython prints),
//! `time` (virtual time), `string`, `sys`.

use super::builtins::{arity, builtin, iter_value, kwarg, sort_values};
use super::error::{ExcType, PyErr};
use super::interp::Interpreter;
use super::ir::{BinOp, CmpOp, Str};
use super::native::{Module, NativeAttr, NativeObject};
use super::ops;
use super::value::*;
use std::any::Any;
use std::cell::RefCell;
use std::rc::Rc;

type Args = Vec<Value>;
type Kwargs = Vec<(Str, Value)>;

pub fn stdlib_module(name: &str) -> Option<Rc<Module>> {
    let m = Module::new(name);
    let add = |n: &str, f: BuiltinFn| m.set(n, builtin(n, name, f));
    match name {
        "math" => {
            m.set("pi", Value::Float(std::f64::consts::PI));
            m.set("e", Value::Float(std::f64::consts::E));
            m.set("tau", Value::Float(std::f64::consts::TAU));
            m.set("inf", Value::Float(f64::INFINITY));
            m.set("nan", Value::Float(f64::NAN));
            for n in ["sqrt", "exp", "log", "log2", "log10", "sin", "cos", "tan", "asin", "acos", "atan", "floor", "ceil", "trunc", "fabs", "isnan", "isinf", "isfinite", "degrees", "radians"] {
                add(n, math_unary);
            }
            add("pow", math_pow);
            add("atan2", math_atan2);
            add("hypot", math_hypot);
            add("factorial", math_factorial);
            add("gcd", math_gcd);
            add("isqrt", math_isqrt);
            add("comb", math_comb);
            add("prod", math_prod);
            add("fsum", math_fsum);
            add("isclose", math_isclose);
            add("copysign", math_copysign);
        }
        "operator" => {
            for n in ["add", "sub", "mul", "truediv", "floordiv", "mod", "pow", "and_", "or_", "xor", "lshift", "rshift", "eq", "ne", "lt", "le", "gt", "ge", "contains", "getitem", "concat"] {
                add(n, operator_binary);
            }
            add("neg", operator_neg);
            add("not_", operator_not);
            add("itemgetter", operator_itemgetter);
            add("attrgetter", operator_attrgetter);
        }
        "functools" => {
            add("reduce", functools_reduce);
            add("partial", functools_partial);
        }
        "itertools" => {
            add("count", it_count);
            add("chain", it_chain);
            add("islice", it_islice);
            add("product", it_product);
            add("permutations", it_permutations);
            add("combinations", it_combinations);
            add("groupby", it_groupby);
            add("accumulate", it_accumulate);
            add("repeat", it_repeat);
            add("zip_longest", it_zip_longest);
            add("starmap", it_starmap);
            add("takewhile", it_takewhile);
            add("dropwhile", it_dropwhile);
        }
        "collections" => {
            m.set("Counter", super::builtins::counter_class());
            m.set("defaultdict", super::builtins::defaultdict_class());
            m.set("OrderedDict", Value::Type(TypeKind::Dict));
        }
        "random" => {
            for n in ["seed", "random", "randint", "randrange", "choice", "shuffle", "uniform", "sample", "getrandbits"] {
                add(n, random_fn);
            }
        }
        "time" => {
            add("sleep", time_sleep);
            add("time", time_time);
            add("monotonic", time_time);
            add("perf_counter", time_time);
        }
        "string" => {
            m.set("ascii_lowercase", Value::str("abcdefghijklmnopqrstuvwxyz"));
            m.set("ascii_uppercase", Value::str("ABCDEFGHIJKLMNOPQRSTUVWXYZ"));
            m.set("ascii_letters", Value::str("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"));
            m.set("digits", Value::str("0123456789"));
            m.set("punctuation", Value::str("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"));
            m.set("whitespace", Value::str(" \t\n\r\x0b\x0c"));
        }
        "json" => {
            add("dumps", super::json::dumps);
            add("loads", super::json::loads);
            m.set("JSONDecodeError", Value::Class(super::json::decode_error_class()));
        }
        "sys" => {
            m.set("maxsize", Value::Int(i64::MAX));
            m.set("version", Value::str("3.11.7 (zkspark)"));
            m.set("platform", Value::str("zkspark"));
            m.set("argv", Value::list(vec![Value::str("<job>")]));
            m.set("stdout", Value::Native(Rc::new(StdStream { err: false })));
            m.set("stderr", Value::Native(Rc::new(StdStream { err: true })));
        }
        "threading" => {
            add("Lock", threading_lock);
            add("RLock", threading_lock);
        }
        _ => return None,
    }
    Some(Rc::new(m))
}

// ----- math -----

fn fname(it: &Interpreter) -> &'static str {
    let _ = it;
    ""
}

fn float_arg(v: &Value) -> PResult<f64> {
    ops::to_f64(v)?.ok_or_else(|| PyErr::new(ExcType::TypeError, format!("must be real number, not {}", v.type_name())))
}

fn domain() -> PyErr {
    PyErr::new(ExcType::ValueError, "math domain error")
}

/// All one-argument `math` functions share this entry; the name comes from the call site's
/// builtin, which `Interpreter::call_value` does not pass, so we dispatch on a thread-local.
fn math_unary(it: &mut Interpreter, args: Args, _kw: Kwargs) -> PResult<Value> {
    let _ = fname(it);
    let name = CURRENT_BUILTIN.with(|c| c.borrow().clone());
    arity(&name, &args, 1, 2)?;
    let v = &args[0];
    if matches!(name.as_str(), "floor" | "ceil" | "trunc") {
        if ops::is_int(v) {
            return Ok(match v {
                Value::Bool(b) => Value::Int(*b as i64),
                other => other.clone(),
            });
        }
        let f = float_arg(v)?;
        if f.is_nan() {
            return Err(PyErr::new(ExcType::ValueError, "cannot convert float NaN to integer"));
        }
        if f.is_infinite() {
            return Err(PyErr::new(ExcType::OverflowError, "cannot convert float infinity to integer"));
        }
        let r = match name.as_str() {
            "floor" => f.floor(),
            "ceil" => f.ceil(),
            _ => f.trunc(),
        };
        return Ok(ops::float_to_int(r));
    }
    if name == "log" && args.len() == 2 {
        let (x, b) = (float_arg(&args[0])?, float_arg(&args[1])?);
        if x <= 0.0 || b <= 0.0 || b == 1.0 {
            return Err(domain());
        }
        return Ok(Value::Float(x.ln() / b.ln()));
    }
    if matches!(name.as_str(), "log" | "log2" | "log10") {
        if let Some(b) = ops::to_big(v) {
            use num_traits::Signed;
            if !b.is_positive() {
                return Err(domain());
            }
            if ops::to_f64(v).is_err() {
                // Huge ints: log via bit length.
                let bits = b.bits() as f64;
                let ln = (bits - 1.0) * std::f64::consts::LN_2;
                return Ok(Value::Float(match name.as_str() {
                    "log" => ln,
                    "log2" => bits - 1.0,
                    _ => ln / std::f64::consts::LN_10,
                }));
            }
        }
    }
    let x = float_arg(v)?;
    let r = match name.as_str() {
        "sqrt" => {
            if x < 0.0 {
                return Err(domain());
            }
            x.sqrt()
        }
        "exp" => {
            let r = x.exp();
            if r.is_infinite() && x.is_finite() {
                return Err(PyErr::new(ExcType::OverflowError, "math range error"));
            }
            r
        }
        "log" | "log2" | "log10" => {
            if x <= 0.0 {
                return Err(domain());
            }
            match name.as_str() {
                "log" => x.ln(),
                "log2" => x.log2(),
                _ => x.log10(),
            }
        }
        "sin" => x.sin(),
        "cos" => x.cos(),
        "tan" => x.tan(),
        "asin" => {
            if !(-1.0..=1.0).contains(&x) {
                return Err(domain());
            }
            x.asin()
        }
        "acos" => {
            if !(-1.0..=1.0).contains(&x) {
                return Err(domain());
            }
            x.acos()
        }
        "atan" => x.atan(),
        "fabs" => x.abs(),
        "degrees" => x.to_degrees(),
        "radians" => x.to_radians(),
        "isnan" => return Ok(Value::Bool(x.is_nan())),
        "isinf" => return Ok(Value::Bool(x.is_infinite())),
        "isfinite" => return Ok(Value::Bool(x.is_finite())),
        _ => return Err(PyErr::new(ExcType::AttributeError, format!("module 'math' has no attribute '{name}'"))),
    };
    Ok(Value::Float(r))
}

thread_local! {
    /// The name of the builtin being called, for shared entry points like `math_unary`.
    pub(crate) static CURRENT_BUILTIN: RefCell<String> = const { RefCell::new(String::new()) };
}

fn math_pow(_it: &mut Interpreter, args: Args, _kw: Kwargs) -> PResult<Value> {
    arity("pow", &args, 2, 2)?;
    let (x, y) = (float_arg(&args[0])?, float_arg(&args[1])?);
    if x == 0.0 && y < 0.0 {
        return Err(domain());
    }
    Ok(Value::Float(x.powf(y)))
}

fn math_atan2(_it: &mut Interpreter, args: Args, _kw: Kwargs) -> PResult<Value> {
    arity("atan2", &args, 2, 2)?;
    Ok(Value::Float(float_arg(&args[0])?.atan2(float_arg(&args[1])?)))
}

fn math_hypot(_it: &mut Interpreter, args: Args, _kw: Kwargs) -> PResult<Value> {
    let mut acc = 0.0f64;
    for a in &args {
        let x = float_arg(a)?;
        acc = acc.hypot(x);
    }
    Ok(Value::Float(acc))
}

fn math_copysign(_it: &mut Interpreter, args: Args, _kw: Kwargs) -> PResult<Value> {
    arity("copysign", &args, 2, 2)?;
    Ok(Value::Float(float_arg(&args[0])?.copysign(float_arg(&args[1])?)))
}

fn int_arg(v: &Value, fname: &str) -> PResult<num_bigint::BigInt> {
    match v {
        Value::Float(_) => Err(PyErr::new(ExcType::TypeError, format!("'float' object cannot be interpreted as an integer{}", &fname[..0]))),
        other => ops::to_big(other).ok_or_else(|| PyErr::new(ExcType::TypeError, format!("'{}' object cannot be interpreted as an integer", other.type_name()))),
    }
}

fn math_factorial(_it: &mut Interpreter, args: Args, _kw: Kwargs) -> PResult<Value> {
    arity("factorial", &args, 1, 1)?;
    let n = int_arg(&args[0], "factorial")?;
    use num_traits::{Signed, ToPrimitive};
    if n.is_negative() {
        return Err(PyErr::new(ExcType::ValueError, "factorial() not defined for negative values"));
    }
    let n = n.to_u64().filter(|n| *n <= 20_000).ok_or_else(|| PyErr::new(ExcType::OverflowError, "factorial() argument should not exceed 20000 in zkspark"))?;
    let mut acc = num_bigint::BigInt::from(1);
    for i in 2..=n {
        acc *= i;
    }
    Ok(Value::big(acc))
}

fn math_gcd(_it: &mut Interpreter, args: Args, _kw: Kwargs) -> PResult<Value> {
    use num_integer::Integer;
    let mut acc = num_bigint::BigInt::from(0);
    for a in &args {
        acc = acc.gcd(&int_arg(a, "gcd")?);
    }
    Ok(Value::big(acc))
}

fn math_isqrt(_it: &mut Interpreter, args: Args, _kw: Kwargs) -> PResult<Value> {
    arity("isqrt", &args, 1, 1)?;
    let n = int_arg(&args[0], "isqrt")?;
    use num_traits::Signed;
    if n.is_negative() {
        return Err(PyErr::new(ExcType::ValueError, "isqrt() argument must be nonnegative"));
    }
    Ok(Value::big(n.sqrt()))
}

fn math_comb(_it: &mut Interpreter, args: Args, _kw: Kwargs) -> PResult<Value> {
    arity("comb", &args, 2, 2)?;
    use num_traits::ToPrimitive;
    let (n, k) = (int_arg(&args[0], "comb")?, int_arg(&args[1], "comb")?);
    let (n, k) = (n.to_i64().unwrap_or(0), k.to_i64().unwrap_or(0));
    if n < 0 || k < 0 {
        return Err(PyErr::new(ExcType::ValueError, "n must be a non-negative integer"));
    }
    if k > n {
        return Ok(Value::Int(0));
    }
    let k = k.min(n - k);
    let mut acc = num_bigint::BigInt::from(1);
    for i in 0..k {
        acc = acc * (n - i) / (i + 1);
    }
    Ok(Value::big(acc))
}

fn math_prod(it: &mut Interpreter, args: Args, kwargs: Kwargs) -> PResult<Value> {
    arity("prod", &args, 1, 1)?;
    let mut acc = kwarg(&kwargs, "start").unwrap_or(Value::Int(1));
    for x in it.collect(&args[0])? {
        acc = it.binop(BinOp::Mul, &acc, &x)?;
    }
    Ok(acc)
}

/// `math.fsum`: exact summation (Shewchuk), as CPython.
fn math_fsum(it: &mut Interpreter, args: Args, _kw: Kwargs) -> PResult<Value> {
    arity("fsum", &args, 1, 1)?;
    let mut partials: Vec<f64> = vec![];
    for v in it.collect(&args[0])? {
        let mut x = float_arg(&v)?;
        let mut i = 0;
        for j in 0..partials.len() {
            let mut y = partials[j];
            if x.abs() < y.abs() {
                std::mem::swap(&mut x, &mut y);
            }
            let hi = x + y;
            let lo = y - (hi - x);
            if lo != 0.0 {
                partials[i] = lo;
                i += 1;
            }
            x = hi;
        }
        partials.truncate(i);
        partials.push(x);
    }
    let mut n = partials.len();
    let mut hi = 0.0;
    if n > 0 {
        n -= 1;
        hi = partials[n];
        let mut lo = 0.0;
        while n > 0 {
            let x = hi;
            n -= 1;
            let y = partials[n];
            hi = x + y;
            let yr = hi - x;
            lo = y - yr;
            if lo != 0.0 {
                break;
            }
        }
        if n > 0 && ((lo < 0.0 && partials[n - 1] < 0.0) || (lo > 0.0 && partials[n - 1] > 0.0)) {
            let y = lo * 2.0;
            let x = hi + y;
            let yr = x - hi;
            if y == yr {
                hi = x;
            }
        }
    }
    Ok(Value::Float(hi))
}

fn math_isclose(_it: &mut Interpreter, args: Args, kwargs: Kwargs) -> PResult<Value> {
    arity("isclose", &args, 2, 2)?;
    let (a, b) = (float_arg(&args[0])?, float_arg(&args[1])?);
    let rel = kwarg(&kwargs, "rel_tol").map(|v| float_arg(&v)).transpose()?.unwrap_or(1e-9);
    let abs = kwarg(&kwargs, "abs_tol").map(|v| float_arg(&v)).transpose()?.unwrap_or(0.0);
    if a == b {
        return Ok(Value::Bool(true));
    }
    if a.is_infinite() || b.is_infinite() {
        return Ok(Value::Bool(false));
    }
    let diff = (b - a).abs();
    Ok(Value::Bool(diff <= (rel * b).abs() || diff <= (rel * a).abs() || diff <= abs))
}

// ----- operator -----

fn operator_binary(it: &mut Interpreter, args: Args, _kw: Kwargs) -> PResult<Value> {
    let name = CURRENT_BUILTIN.with(|c| c.borrow().clone());
    arity(&name, &args, 2, 2)?;
    let (a, b) = (&args[0], &args[1]);
    let op = match name.as_str() {
        "add" | "concat" => BinOp::Add,
        "sub" => BinOp::Sub,
        "mul" => BinOp::Mul,
        "truediv" => BinOp::Div,
        "floordiv" => BinOp::FloorDiv,
        "mod" => BinOp::Mod,
        "pow" => BinOp::Pow,
        "and_" => BinOp::BitAnd,
        "or_" => BinOp::BitOr,
        "xor" => BinOp::BitXor,
        "lshift" => BinOp::LShift,
        "rshift" => BinOp::RShift,
        "getitem" => return it.get_item(a, b),
        "contains" => return Ok(Value::Bool(it.contains(a, b)?)),
        cmp => {
            let op = match cmp {
                "eq" => CmpOp::Eq,
                "ne" => CmpOp::Ne,
                "lt" => CmpOp::Lt,
                "le" => CmpOp::Le,
                "gt" => CmpOp::Gt,
                _ => CmpOp::Ge,
            };
            return Ok(Value::Bool(it.compare(op, a, b)?));
        }
    };
    it.binop(op, a, b)
}

fn operator_neg(it: &mut Interpreter, args: Args, _kw: Kwargs) -> PResult<Value> {
    arity("neg", &args, 1, 1)?;
    let zero = Value::Int(0);
    it.binop(BinOp::Sub, &zero, &args[0])
}

fn operator_not(it: &mut Interpreter, args: Args, _kw: Kwargs) -> PResult<Value> {
    arity("not_", &args, 1, 1)?;
    Ok(Value::Bool(!it.truthy(&args[0])?))
}

/// `itemgetter`, `attrgetter` and `partial` are natives holding their arguments, so they ship.
pub struct Getter {
    pub items: Vec<Value>,
    pub attr: bool,
}

impl NativeObject for Getter {
    fn type_name(&self) -> &str {
        if self.attr {
            "operator.attrgetter"
        } else {
            "operator.itemgetter"
        }
    }

    fn call(&self, _this: &Rc<dyn NativeObject>, args: Args, _kwargs: Kwargs, it: &mut Interpreter) -> PResult<Value> {
        arity(self.type_name(), &args, 1, 1)?;
        let mut out = vec![];
        for k in &self.items {
            out.push(if self.attr {
                let mut v = args[0].clone();
                if let Value::Str(path) = k {
                    for part in path.split('.') {
                        v = it.get_attr(&v, part)?;
                    }
                }
                v
            } else {
                it.get_item(&args[0], k)?
            });
        }
        Ok(if out.len() == 1 { out.remove(0) } else { Value::tuple(out) })
    }

    fn pickle(&self) -> super::native::Pickle {
        super::native::Pickle::Unpicklable("__getter__".into())
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

fn operator_itemgetter(_it: &mut Interpreter, args: Args, _kw: Kwargs) -> PResult<Value> {
    Ok(Value::Native(Rc::new(Getter { items: args, attr: false })))
}

fn operator_attrgetter(_it: &mut Interpreter, args: Args, _kw: Kwargs) -> PResult<Value> {
    Ok(Value::Native(Rc::new(Getter { items: args, attr: true })))
}

// ----- threading (one thread: locks that never block, and refuse to be pickled) -----

fn threading_lock(_it: &mut Interpreter, args: Args, _kw: Kwargs) -> PResult<Value> {
    let name = CURRENT_BUILTIN.with(|c| c.borrow().clone());
    arity(&name, &args, 0, 0)?;
    Ok(Value::Native(Rc::new(Lock { reentrant: name == "RLock", held: std::cell::Cell::new(0) })))
}

/// `threading.Lock()` / `RLock()`: CPython's `_thread.lock` / `_thread.RLock`. The job
/// language runs one thread, so acquiring a held plain lock would deadlock: it returns False
/// when `blocking=False` and raises otherwise.
pub struct Lock {
    reentrant: bool,
    held: std::cell::Cell<u32>,
}

impl NativeObject for Lock {
    fn type_name(&self) -> &str {
        if self.reentrant {
            "RLock"
        } else {
            "lock"
        }
    }

    fn get_attr(&self, _this: &Rc<dyn NativeObject>, name: &str, _it: &mut Interpreter) -> PResult<NativeAttr> {
        Ok(match name {
            "acquire" | "release" | "__enter__" | "__exit__" => NativeAttr::Method,
            "locked" if !self.reentrant => NativeAttr::Method,
            _ => NativeAttr::Missing,
        })
    }

    fn call_method(&self, _this: &Rc<dyn NativeObject>, name: &str, args: Args, kw: Kwargs, _it: &mut Interpreter) -> PResult<Value> {
        let held = self.held.get();
        match name {
            "acquire" | "__enter__" => {
                if held > 0 && !self.reentrant {
                    let blocking = args.first().cloned().or_else(|| super::builtins::kwarg(&kw, "blocking"));
                    if blocking.is_some_and(|b| !b.truthy()) {
                        return Ok(Value::Bool(false));
                    }
                    return Err(PyErr::new(ExcType::RuntimeError, "deadlock: acquiring a held lock with one thread"));
                }
                self.held.set(held + 1);
                Ok(Value::Bool(true))
            }
            "release" | "__exit__" => {
                if held == 0 {
                    let msg = if self.reentrant { "cannot release un-acquired lock" } else { "release unlocked lock" };
                    return Err(PyErr::new(ExcType::RuntimeError, msg));
                }
                self.held.set(held - 1);
                Ok(if name == "__exit__" { Value::Bool(false) } else { Value::None })
            }
            _ => Ok(Value::Bool(held > 0)),
        }
    }

    fn repr(&self) -> String {
        let state = if self.held.get() > 0 { "locked" } else { "unlocked" };
        format!("<{state} _thread.{} object at 0x7f0000000000>", self.type_name())
    }

    fn pickle(&self) -> super::native::Pickle {
        super::native::Pickle::Unpicklable(format!("_thread.{}", self.type_name()))
    }

    fn class_module(&self) -> Option<&str> {
        Some("_thread")
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// `sys.stdout` / `sys.stderr`: `write` goes to the interpreter's buffers.
pub struct StdStream {
    pub err: bool,
}

impl NativeObject for StdStream {
    fn type_name(&self) -> &str {
        "TextIOWrapper"
    }

    fn get_attr(&self, _this: &Rc<dyn NativeObject>, name: &str, _it: &mut Interpreter) -> PResult<NativeAttr> {
        Ok(match name {
            "write" | "flush" => NativeAttr::Method,
            _ => NativeAttr::Missing,
        })
    }

    fn call_method(&self, _this: &Rc<dyn NativeObject>, name: &str, args: Args, _kw: Kwargs, it: &mut Interpreter) -> PResult<Value> {
        if name == "flush" {
            return Ok(Value::None);
        }
        arity("write", &args, 1, 1)?;
        let Value::Str(text) = &args[0] else {
            return Err(PyErr::new(ExcType::TypeError, format!("write() argument must be str, not {}", args[0].type_name())));
        };
        if self.err {
            it.write_stderr(text);
        } else {
            it.write_output(text);
        }
        Ok(Value::Int(text.chars().count() as i64))
    }

    fn repr(&self) -> String {
        format!("<_io.TextIOWrapper name='<{}>' mode='w' encoding='utf-8'>", if self.err { "stderr" } else { "stdout" })
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

// ----- functools -----

fn functools_reduce(it: &mut Interpreter, args: Args, _kw: Kwargs) -> PResult<Value> {
    arity("reduce", &args, 2, 3)?;
    let items = it.collect(&args[1])?;
    let mut iter = items.into_iter();
    let mut acc = match args.get(2) {
        Some(init) => init.clone(),
        None => iter.next().ok_or_else(|| PyErr::new(ExcType::TypeError, "reduce() of empty iterable with no initial value"))?,
    };
    for x in iter {
        acc = it.call_value(&args[0], vec![acc, x], vec![])?;
    }
    Ok(acc)
}

pub struct Partial {
    pub func: Value,
    pub args: Vec<Value>,
    pub kwargs: Vec<(Str, Value)>,
}

impl NativeObject for Partial {
    fn type_name(&self) -> &str {
        "functools.partial"
    }

    fn call(&self, _this: &Rc<dyn NativeObject>, args: Args, kwargs: Kwargs, it: &mut Interpreter) -> PResult<Value> {
        let mut a = self.args.clone();
        a.extend(args);
        let mut k = self.kwargs.clone();
        k.extend(kwargs);
        it.call_value(&self.func, a, k)
    }

    fn get_attr(&self, _this: &Rc<dyn NativeObject>, name: &str, _it: &mut Interpreter) -> PResult<NativeAttr> {
        Ok(match name {
            "func" => NativeAttr::Value(self.func.clone()),
            "args" => NativeAttr::Value(Value::tuple(self.args.clone())),
            _ => NativeAttr::Missing,
        })
    }

    fn pickle(&self) -> super::native::Pickle {
        super::native::Pickle::Unpicklable("__partial__".into())
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

fn functools_partial(_it: &mut Interpreter, mut args: Args, kwargs: Kwargs) -> PResult<Value> {
    if args.is_empty() {
        return Err(PyErr::new(ExcType::TypeError, "type 'partial' takes at least one argument"));
    }
    let func = args.remove(0);
    Ok(Value::Native(Rc::new(Partial { func, args, kwargs })))
}

/// `super(C, self)`: attribute lookup starting after `C` in the MRO.
pub struct SuperProxy {
    pub base: Option<Rc<Class>>,
    pub obj: Value,
}

impl NativeObject for SuperProxy {
    fn type_name(&self) -> &str {
        "super"
    }

    fn get_attr(&self, _this: &Rc<dyn NativeObject>, name: &str, _it: &mut Interpreter) -> PResult<NativeAttr> {
        let found = self.base.as_ref().and_then(|b| b.lookup(name));
        Ok(match found {
            Some(Value::Function(f)) => NativeAttr::Value(Value::Method(Rc::new((self.obj.clone(), Value::Function(f))))),
            Some(v) => NativeAttr::Value(v),
            None if name == "__init__" => NativeAttr::Value(builtin("__init__", "", exception_init_bound(self))),
            None => NativeAttr::Missing,
        })
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// `super().__init__(msg)` on an exception subclass sets `args`.
fn exception_init_bound(p: &SuperProxy) -> BuiltinFn {
    SUPER_TARGET.with(|t| *t.borrow_mut() = Some(p.obj.clone()));
    exception_init
}

thread_local! {
    static SUPER_TARGET: RefCell<Option<Value>> = const { RefCell::new(None) };
}

fn exception_init(_it: &mut Interpreter, args: Args, _kw: Kwargs) -> PResult<Value> {
    if let Some(Value::Instance(i)) = SUPER_TARGET.with(|t| t.borrow_mut().take()) {
        if let Some(st) = &i.exc {
            st.borrow_mut().args = args;
        }
    }
    Ok(Value::None)
}

// ----- itertools -----

fn it_count(_it: &mut Interpreter, args: Args, _kw: Kwargs) -> PResult<Value> {
    let start = args.first().cloned().unwrap_or(Value::Int(0));
    let step = args.get(1).cloned().unwrap_or(Value::Int(1));
    Ok(Value::Iter(Rc::new(RefCell::new(Iter::Count { next: start, step }))))
}

fn it_repeat(_it: &mut Interpreter, args: Args, _kw: Kwargs) -> PResult<Value> {
    arity("repeat", &args, 1, 2)?;
    let left = args.get(1).and_then(|v| v.as_int());
    Ok(Value::Iter(Rc::new(RefCell::new(Iter::Repeat { value: args[0].clone(), left }))))
}

fn it_chain(it: &mut Interpreter, args: Args, _kw: Kwargs) -> PResult<Value> {
    let mut out = vec![];
    for a in &args {
        out.extend(it.collect(a)?);
    }
    Ok(iter_value(out))
}

fn it_islice(it: &mut Interpreter, args: Args, _kw: Kwargs) -> PResult<Value> {
    arity("islice", &args, 2, 4)?;
    let ints: Vec<Option<i64>> = args[1..].iter().map(|v| v.as_int()).collect();
    let (start, stop, step) = match ints.len() {
        1 => (0, ints[0], 1),
        2 => (ints[0].unwrap_or(0), ints[1], 1),
        _ => (ints[0].unwrap_or(0), ints[1], ints[2].unwrap_or(1)),
    };
    let src = it.get_iter(&args[0])?;
    let mut out = vec![];
    let mut i = 0i64;
    let mut next_pick = start;
    while stop.is_none_or(|s| i < s) {
        match it.next(&src)? {
            Some(v) => {
                if i == next_pick {
                    out.push(v);
                    next_pick += step.max(1);
                }
            }
            None => break,
        }
        i += 1;
    }
    Ok(iter_value(out))
}

fn it_product(it: &mut Interpreter, args: Args, kwargs: Kwargs) -> PResult<Value> {
    let repeat = kwarg(&kwargs, "repeat").and_then(|v| v.as_int()).unwrap_or(1).max(0) as usize;
    let mut pools = vec![];
    for a in &args {
        pools.push(it.collect(a)?);
    }
    let pools: Vec<Vec<Value>> = (0..repeat).flat_map(|_| pools.clone()).collect();
    let mut result: Vec<Vec<Value>> = vec![vec![]];
    for pool in &pools {
        let mut next = vec![];
        for r in &result {
            for x in pool {
                let mut row = r.clone();
                row.push(x.clone());
                next.push(row);
            }
        }
        result = next;
        if result.len() > 1_000_000 {
            return Err(PyErr::bare(ExcType::MemoryError));
        }
    }
    Ok(iter_value(result.into_iter().map(Value::tuple).collect()))
}

fn it_permutations(it: &mut Interpreter, args: Args, _kw: Kwargs) -> PResult<Value> {
    arity("permutations", &args, 1, 2)?;
    let pool = it.collect(&args[0])?;
    let r = args.get(1).and_then(|v| v.as_int()).map(|r| r.max(0) as usize).unwrap_or(pool.len());
    let mut out = vec![];
    fn rec(pool: &[Value], used: &mut Vec<bool>, cur: &mut Vec<Value>, r: usize, out: &mut Vec<Value>) {
        if cur.len() == r {
            out.push(Value::tuple(cur.clone()));
            return;
        }
        for i in 0..pool.len() {
            if !used[i] && out.len() < 1_000_000 {
                used[i] = true;
                cur.push(pool[i].clone());
                rec(pool, used, cur, r, out);
                cur.pop();
                used[i] = false;
            }
        }
    }
    if r <= pool.len() {
        rec(&pool, &mut vec![false; pool.len()], &mut vec![], r, &mut out);
    }
    Ok(iter_value(out))
}

fn it_combinations(it: &mut Interpreter, args: Args, _kw: Kwargs) -> PResult<Value> {
    arity("combinations", &args, 2, 2)?;
    let pool = it.collect(&args[0])?;
    let r = args[1].as_int().unwrap_or(0).max(0) as usize;
    let mut out = vec![];
    fn rec(pool: &[Value], start: usize, cur: &mut Vec<Value>, r: usize, out: &mut Vec<Value>) {
        if cur.len() == r {
            out.push(Value::tuple(cur.clone()));
            return;
        }
        for i in start..pool.len() {
            if out.len() < 1_000_000 {
                cur.push(pool[i].clone());
                rec(pool, i + 1, cur, r, out);
                cur.pop();
            }
        }
    }
    rec(&pool, 0, &mut vec![], r, &mut out);
    Ok(iter_value(out))
}

fn it_groupby(it: &mut Interpreter, args: Args, kwargs: Kwargs) -> PResult<Value> {
    arity("groupby", &args, 1, 2)?;
    let key = args.get(1).cloned().or_else(|| kwarg(&kwargs, "key")).filter(|k| !k.is_none());
    let items = it.collect(&args[0])?;
    let mut out: Vec<(Value, Vec<Value>)> = vec![];
    for x in items {
        let k = match &key {
            Some(f) => it.call_value(f, vec![x.clone()], vec![])?,
            None => x.clone(),
        };
        let same = match out.last() {
            Some((lk, _)) => it.eq(lk, &k)?,
            None => false,
        };
        if same {
            out.last_mut().expect("non-empty").1.push(x);
        } else {
            out.push((k, vec![x]));
        }
    }
    Ok(iter_value(out.into_iter().map(|(k, g)| Value::tuple(vec![k, iter_value(g)])).collect()))
}

fn it_accumulate(it: &mut Interpreter, args: Args, kwargs: Kwargs) -> PResult<Value> {
    arity("accumulate", &args, 1, 2)?;
    let func = args.get(1).cloned().filter(|f| !f.is_none());
    let mut acc = kwarg(&kwargs, "initial").filter(|v| !v.is_none());
    let mut out: Vec<Value> = acc.iter().cloned().collect();
    for x in it.collect(&args[0])? {
        let next = match acc {
            None => x,
            Some(a) => match &func {
                Some(f) => it.call_value(f, vec![a, x], vec![])?,
                None => it.binop(BinOp::Add, &a, &x)?,
            },
        };
        out.push(next.clone());
        acc = Some(next);
    }
    Ok(iter_value(out))
}

fn it_zip_longest(it: &mut Interpreter, args: Args, kwargs: Kwargs) -> PResult<Value> {
    let fill = kwarg(&kwargs, "fillvalue").unwrap_or(Value::None);
    let mut cols = vec![];
    for a in &args {
        cols.push(it.collect(a)?);
    }
    let n = cols.iter().map(|c| c.len()).max().unwrap_or(0);
    let rows = (0..n).map(|i| Value::tuple(cols.iter().map(|c| c.get(i).cloned().unwrap_or_else(|| fill.clone())).collect())).collect();
    Ok(iter_value(rows))
}

fn it_starmap(it: &mut Interpreter, args: Args, _kw: Kwargs) -> PResult<Value> {
    arity("starmap", &args, 2, 2)?;
    let mut out = vec![];
    for x in it.collect(&args[1])? {
        let a = it.collect(&x)?;
        out.push(it.call_value(&args[0], a, vec![])?);
    }
    Ok(iter_value(out))
}

fn it_takewhile(it: &mut Interpreter, args: Args, _kw: Kwargs) -> PResult<Value> {
    arity("takewhile", &args, 2, 2)?;
    let src = it.get_iter(&args[1])?;
    let mut out = vec![];
    while let Some(x) = it.next(&src)? {
        let keep = it.call_value(&args[0], vec![x.clone()], vec![])?;
        if !it.truthy(&keep)? {
            break;
        }
        out.push(x);
    }
    Ok(iter_value(out))
}

fn it_dropwhile(it: &mut Interpreter, args: Args, _kw: Kwargs) -> PResult<Value> {
    arity("dropwhile", &args, 2, 2)?;
    let mut out = vec![];
    let mut dropping = true;
    for x in it.collect(&args[1])? {
        if dropping {
            let d = it.call_value(&args[0], vec![x.clone()], vec![])?;
            if it.truthy(&d)? {
                continue;
            }
            dropping = false;
        }
        out.push(x);
    }
    Ok(iter_value(out))
}

// ----- collections -----

pub fn m_counter(it: &mut Interpreter, args: Args, kwargs: Kwargs) -> PResult<Value> {
    arity("Counter", &args, 0, 1)?;
    let d = Rc::new(RefCell::new(Dict { kind: DictKind::Counter, ..Dict::new() }));
    if let Some(src) = args.first() {
        super::methods::counter_add(it, &d, src, 1)?;
    }
    for (k, v) in kwargs {
        d.borrow_mut().set(Value::Str(k.0.clone()), v)?;
    }
    Ok(Value::Dict(d))
}

pub fn m_defaultdict(it: &mut Interpreter, args: Args, kwargs: Kwargs) -> PResult<Value> {
    let factory = args.first().cloned().filter(|f| !f.is_none());
    let mut d = Dict { kind: DictKind::DefaultDict, default: factory, ..Dict::new() };
    if let Some(src) = args.get(1) {
        super::builtins::dict_update(it, &mut d, src)?;
    }
    for (k, v) in kwargs {
        d.set(Value::Str(k.0.clone()), v)?;
    }
    Ok(Value::dict(d))
}

// ----- random: CPython's MT19937 and its derived methods -----

pub struct Random {
    mt: [u32; 624],
    index: usize,
}

impl Random {
    pub fn new(seed: u64) -> Random {
        let mut r = Random { mt: [0; 624], index: 625 };
        r.seed_u64(seed);
        r
    }

    fn init_genrand(&mut self, s: u32) {
        self.mt[0] = s;
        for i in 1..624 {
            self.mt[i] = 1812433253u32.wrapping_mul(self.mt[i - 1] ^ (self.mt[i - 1] >> 30)).wrapping_add(i as u32);
        }
        self.index = 624;
    }

    /// `init_by_array`, which `random.seed(int)` uses with the int's 32-bit words.
    fn init_by_array(&mut self, key: &[u32]) {
        self.init_genrand(19650218);
        let (mut i, mut j) = (1usize, 0usize);
        let n = 624;
        let mut k = n.max(key.len());
        while k > 0 {
            self.mt[i] = (self.mt[i] ^ (self.mt[i - 1] ^ (self.mt[i - 1] >> 30)).wrapping_mul(1664525)).wrapping_add(key[j]).wrapping_add(j as u32);
            i += 1;
            j += 1;
            if i >= n {
                self.mt[0] = self.mt[n - 1];
                i = 1;
            }
            if j >= key.len() {
                j = 0;
            }
            k -= 1;
        }
        k = n - 1;
        while k > 0 {
            self.mt[i] = (self.mt[i] ^ (self.mt[i - 1] ^ (self.mt[i - 1] >> 30)).wrapping_mul(1566083941)).wrapping_sub(i as u32);
            i += 1;
            if i >= n {
                self.mt[0] = self.mt[n - 1];
                i = 1;
            }
            k -= 1;
        }
        self.mt[0] = 0x8000_0000;
        self.index = 624;
    }

    pub fn seed_u64(&mut self, seed: u64) {
        let mut key = vec![seed as u32];
        if seed >> 32 != 0 {
            key.push((seed >> 32) as u32);
        }
        self.init_by_array(&key);
    }

    pub fn seed_big(&mut self, seed: &num_bigint::BigInt) {
        let mag = seed.magnitude();
        let mut key: Vec<u32> = mag.to_u32_digits();
        if key.is_empty() {
            key.push(0);
        }
        self.init_by_array(&key);
    }

    fn genrand(&mut self) -> u32 {
        if self.index >= 624 {
            for i in 0..624 {
                let y = (self.mt[i] & 0x8000_0000) | (self.mt[(i + 1) % 624] & 0x7fff_ffff);
                let mut v = self.mt[(i + 397) % 624] ^ (y >> 1);
                if y & 1 != 0 {
                    v ^= 0x9908_b0df;
                }
                self.mt[i] = v;
            }
            self.index = 0;
        }
        let mut y = self.mt[self.index];
        self.index += 1;
        y ^= y >> 11;
        y ^= (y << 7) & 0x9d2c_5680;
        y ^= (y << 15) & 0xefc6_0000;
        y ^= y >> 18;
        y
    }

    pub fn random(&mut self) -> f64 {
        let a = (self.genrand() >> 5) as f64;
        let b = (self.genrand() >> 6) as f64;
        (a * 67108864.0 + b) * (1.0 / 9007199254740992.0)
    }

    pub fn getrandbits(&mut self, k: u32) -> u64 {
        if k == 0 {
            return 0;
        }
        if k <= 32 {
            return (self.genrand() >> (32 - k)) as u64;
        }
        let lo = self.genrand() as u64;
        let hi = (self.genrand() >> (64 - k.min(64))) as u64;
        lo | (hi << 32)
    }

    /// `_randbelow_with_getrandbits`.
    pub fn randbelow(&mut self, n: u64) -> u64 {
        if n == 0 {
            return 0;
        }
        let k = 64 - n.leading_zeros();
        let mut r = self.getrandbits(k);
        while r >= n {
            r = self.getrandbits(k);
        }
        r
    }
}

fn random_fn(it: &mut Interpreter, args: Args, kwargs: Kwargs) -> PResult<Value> {
    let name = CURRENT_BUILTIN.with(|c| c.borrow().clone());
    match name.as_str() {
        "seed" => {
            match args.first() {
                None | Some(Value::None) => it.rng.seed_u64(0),
                Some(v) => match ops::to_big(v) {
                    Some(b) => it.rng.seed_big(&b),
                    None => it.rng.seed_u64(super::hash::hash_value(v)? as u64),
                },
            }
            Ok(Value::None)
        }
        "random" => Ok(Value::Float(it.rng.random())),
        "getrandbits" => Ok(Value::Int(it.rng.getrandbits(args.first().and_then(|v| v.as_int()).unwrap_or(0) as u32) as i64)),
        "uniform" => {
            arity("uniform", &args, 2, 2)?;
            let (a, b) = (float_arg(&args[0])?, float_arg(&args[1])?);
            Ok(Value::Float(a + (b - a) * it.rng.random()))
        }
        "randint" | "randrange" => {
            let ints: Vec<i64> = args.iter().map(|v| v.as_int().ok_or_else(|| PyErr::new(ExcType::TypeError, "integer argument expected"))).collect::<PResult<_>>()?;
            let (start, stop, step) = match (name.as_str(), ints.len()) {
                ("randint", 2) => (ints[0], ints[1] + 1, 1),
                ("randrange", 1) => (0, ints[0], 1),
                ("randrange", 2) => (ints[0], ints[1], 1),
                ("randrange", 3) => (ints[0], ints[1], ints[2]),
                _ => return Err(PyErr::new(ExcType::TypeError, format!("{name}() takes 2 positional arguments but {} were given", ints.len()))),
            };
            let width = stop - start;
            let n = if step == 1 { width } else { (width + step - step.signum()) / step };
            if n <= 0 {
                return Err(PyErr::new(ExcType::ValueError, format!("empty range for randrange() ({start}, {stop}, {width})")));
            }
            Ok(Value::Int(start + step * it.rng.randbelow(n as u64) as i64))
        }
        "choice" => {
            arity("choice", &args, 1, 1)?;
            let items = it.collect(&args[0])?;
            if items.is_empty() {
                return Err(PyErr::new(ExcType::IndexError, "Cannot choose from an empty sequence"));
            }
            let i = it.rng.randbelow(items.len() as u64) as usize;
            Ok(items[i].clone())
        }
        "shuffle" => {
            arity("shuffle", &args, 1, 1)?;
            let Value::List(l) = &args[0] else { return Err(PyErr::new(ExcType::TypeError, "shuffle() needs a list")) };
            let n = l.borrow().len();
            for i in (1..n).rev() {
                let j = it.rng.randbelow(i as u64 + 1) as usize;
                l.borrow_mut().swap(i, j);
            }
            Ok(Value::None)
        }
        "sample" => {
            arity("sample", &args, 2, 2)?;
            let pool = it.collect(&args[0])?;
            let k = args[1].as_int().unwrap_or(0);
            let n = pool.len();
            if k < 0 || k as usize > n {
                return Err(PyErr::new(ExcType::ValueError, "Sample larger than population or is negative"));
            }
            let k = k as usize;
            let mut result = vec![Value::None; k];
            let mut setsize = 21usize;
            if k > 5 {
                setsize += 4usize.pow(((k * 3) as f64).log(4.0).ceil() as u32);
            }
            if n <= setsize {
                let mut pool = pool;
                for (i, slot) in result.iter_mut().enumerate() {
                    let j = it.rng.randbelow((n - i) as u64) as usize;
                    *slot = pool[j].clone();
                    pool[j] = pool[n - i - 1].clone();
                }
            } else {
                let mut selected = std::collections::BTreeSet::new();
                for slot in result.iter_mut() {
                    let mut j = it.rng.randbelow(n as u64) as usize;
                    while selected.contains(&j) {
                        j = it.rng.randbelow(n as u64) as usize;
                    }
                    selected.insert(j);
                    *slot = pool[j].clone();
                }
            }
            let _ = kwargs;
            Ok(Value::list(result))
        }
        _ => Err(PyErr::new(ExcType::AttributeError, format!("module 'random' has no attribute '{name}'"))),
    }
}

// ----- time (virtual) -----

fn time_sleep(it: &mut Interpreter, args: Args, _kw: Kwargs) -> PResult<Value> {
    arity("sleep", &args, 1, 1)?;
    let secs = float_arg(&args[0])?;
    if secs < 0.0 {
        return Err(PyErr::new(ExcType::ValueError, "sleep length must be non-negative"));
    }
    it.virtual_time_s += secs;
    Ok(Value::None)
}

fn time_time(it: &mut Interpreter, _args: Args, _kw: Kwargs) -> PResult<Value> {
    Ok(Value::Float(it.virtual_time_s))
}

/// `sorted` with a key, for natives that need it.
pub fn sorted_by(it: &mut Interpreter, items: Vec<Value>, key: Option<Value>, reverse: bool) -> PResult<Vec<Value>> {
    sort_values(it, items, key, reverse)
}
