//! Python values: the object model the evaluator, the builtins and the host share.
//!
//! Mutable containers are `Rc<RefCell<…>>` (Python's aliasing), immutable ones plain `Rc`.
//! Dicts keep insertion order; sets keep insertion order and iterate in the order CPython's
//! hash table would (see `hash.rs`). Nothing here depends on a `HashMap`'s iteration order.

use super::error::PyErr;
use super::hash;
use super::ir::{FuncDef, Shared, Str};
use super::native::{NativeObject, Module};
use indexmap::IndexMap;
use num_bigint::BigInt;
use std::cell::RefCell;
use std::hash::{BuildHasherDefault, Hash, Hasher};
use std::rc::Rc;

pub type PResult<T> = Result<T, PyErr>;

#[derive(Clone)]
pub enum Value {
    None,
    Ellipsis,
    NotImplemented,
    Bool(bool),
    Int(i64),
    /// Only for values outside `i64`; arithmetic normalizes back to `Int`.
    Big(Rc<BigInt>),
    Float(f64),
    Str(Rc<str>),
    Bytes(Rc<Vec<u8>>),
    List(Rc<RefCell<Vec<Value>>>),
    Tuple(Rc<Vec<Value>>),
    Dict(Rc<RefCell<Dict>>),
    Set(Rc<RefCell<Set>>),
    FrozenSet(Rc<Set>),
    Range(Rc<Range>),
    Slice(Rc<[Value; 3]>),
    Function(Rc<Function>),
    /// A builtin function, or a method of a builtin type bound to its receiver.
    Builtin(Rc<Builtin>),
    /// A Python function bound to an instance.
    Method(Rc<(Value, Value)>),
    Type(TypeKind),
    Class(Rc<Class>),
    Instance(Rc<Instance>),
    Module(Rc<Module>),
    Iter(Rc<RefCell<Iter>>),
    Native(Rc<dyn NativeObject>),
    /// `native.method` taken as a value.
    NativeMethod(Rc<(Rc<dyn NativeObject>, Str)>),
    /// `d.keys()`, `d.values()`, `d.items()`: live views of a dict.
    DictView(Rc<(ViewKind, Rc<RefCell<Dict>>)>),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ViewKind {
    Keys,
    Values,
    Items,
}

/// `collections.Counter` and `defaultdict` are dicts with a twist.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum DictKind {
    #[default]
    Plain,
    Counter,
    DefaultDict,
}

/// The builtin types that are values themselves (`int`, `str`, …): callable constructors and
/// `isinstance` targets.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum TypeKind {
    Object,
    NoneType,
    Bool,
    Int,
    Float,
    Str,
    Bytes,
    List,
    Tuple,
    Dict,
    Set,
    FrozenSet,
    Range,
    Slice,
    Type,
    Function,
    BuiltinFunction,
    Method,
    Module,
    Iterator,
    Generator,
    Ellipsis,
    NotImplementedType,
    DictKeys,
    DictValues,
    DictItems,
}

impl TypeKind {
    pub fn name(self) -> &'static str {
        use TypeKind::*;
        match self {
            Object => "object",
            NoneType => "NoneType",
            Bool => "bool",
            Int => "int",
            Float => "float",
            Str => "str",
            Bytes => "bytes",
            List => "list",
            Tuple => "tuple",
            Dict => "dict",
            Set => "set",
            FrozenSet => "frozenset",
            Range => "range",
            Slice => "slice",
            Type => "type",
            Function => "function",
            BuiltinFunction => "builtin_function_or_method",
            Method => "method",
            Module => "module",
            Iterator => "iterator",
            Generator => "generator",
            Ellipsis => "ellipsis",
            NotImplementedType => "NotImplementedType",
            DictKeys => "dict_keys",
            DictValues => "dict_values",
            DictItems => "dict_items",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Range {
    pub start: i64,
    pub stop: i64,
    pub step: i64,
}

impl Range {
    pub fn len(&self) -> i64 {
        if self.step > 0 && self.start < self.stop {
            ((self.stop as i128 - self.start as i128 - 1) / self.step as i128 + 1) as i64
        } else if self.step < 0 && self.start > self.stop {
            ((self.start as i128 - self.stop as i128 - 1) / (-(self.step as i128)) + 1) as i64
        } else {
            0
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn get(&self, i: i64) -> i64 {
        self.start + i * self.step
    }
}

/// A `def` or `lambda` value: code plus what it closed over.
pub struct Function {
    pub def: Shared<FuncDef>,
    pub defaults: Vec<Value>,
    pub kw_defaults: Vec<Option<Value>>,
    /// The scope the function was defined in (`None` at module level).
    pub closure: Option<Rc<Scope>>,
    pub globals: Rc<Globals>,
    pub id: u64,
    /// Attributes set on the function (`f.calls = 0`), rarely used.
    pub dict: RefCell<IndexMap<Str, Value>>,
    /// The class whose body defined this method, for `super()`.
    pub owner: RefCell<Option<Rc<Class>>>,
}

/// A function or comprehension activation: its slots, and the scope it was defined in.
pub struct Scope {
    pub slots: RefCell<Vec<Option<Value>>>,
    pub parent: Option<Rc<Scope>>,
}

impl Scope {
    pub fn new(n: usize, parent: Option<Rc<Scope>>) -> Rc<Scope> {
        Rc::new(Scope { slots: RefCell::new(vec![None; n]), parent })
    }

    pub fn ancestor(self: &Rc<Scope>, depth: u32) -> Option<&Rc<Scope>> {
        let mut s = self;
        for _ in 0..depth {
            s = s.parent.as_ref()?;
        }
        Some(s)
    }
}

/// A module's namespace.
pub struct Globals {
    pub vars: RefCell<IndexMap<Str, Value>>,
    pub name: Str,
}

pub type BuiltinFn = fn(&mut super::interp::Interpreter, Vec<Value>, Vec<(Str, Value)>) -> PResult<Value>;

pub struct Builtin {
    pub name: Str,
    pub f: BuiltinFn,
    /// The receiver of a method of a builtin type (`"a b".split`), passed as the first argument.
    pub this: Option<Value>,
    /// Where it lives, for shipping by reference (`"math"` for `math.sqrt`, `""` for builtins).
    pub module: Str,
}

pub struct Class {
    pub name: Str,
    /// Module shown in tracebacks (`_pickle` for `PicklingError`); `None` for builtins.
    pub module: Option<Str>,
    pub bases: Vec<Rc<Class>>,
    pub mro: RefCell<Vec<Rc<Class>>>,
    pub ns: RefCell<IndexMap<Str, Value>>,
    /// Builtin exception classes and their subclasses.
    pub is_exception: bool,
    pub id: u64,
}

impl Class {
    pub fn is_subclass(self: &Rc<Class>, other: &Rc<Class>) -> bool {
        Rc::ptr_eq(self, other) || self.mro.borrow().iter().any(|c| Rc::ptr_eq(c, other) || c.name == other.name && c.module == other.module && c.ns.borrow().is_empty() && other.ns.borrow().is_empty() && c.is_exception)
    }

    pub fn lookup(&self, name: &str) -> Option<Value> {
        if let Some(v) = self.ns.borrow().get(name) {
            return Some(v.clone());
        }
        for c in self.mro.borrow().iter().skip(1) {
            if let Some(v) = c.ns.borrow().get(name) {
                return Some(v.clone());
            }
        }
        None
    }

    pub fn qualified_name(&self) -> String {
        match &self.module {
            Some(m) => format!("{}.{}", m, self.name),
            None => self.name.to_string(),
        }
    }
}

pub struct Instance {
    pub class: Rc<Class>,
    pub dict: RefCell<IndexMap<Str, Value>>,
    /// Exception state, for instances of exception classes.
    pub exc: Option<RefCell<super::error::ExcState>>,
    pub id: u64,
}

/// Iterators. Generators run eagerly (see `mod.rs`), so they are `Seq` iterators too.
pub enum Iter {
    Seq { items: Rc<Vec<Value>>, pos: usize, kind: TypeKind },
    List { list: Rc<RefCell<Vec<Value>>>, pos: usize },
    Range { next: i64, stop: i64, step: i64 },
    Str { s: Rc<str>, pos: usize },
    Count { next: Value, step: Value },
    Repeat { value: Value, left: Option<i64> },
    /// Lazy builtins: `map`, `filter`, `zip`, `enumerate` pull from their sources on demand.
    Map { func: Value, srcs: Vec<Value> },
    Filter { func: Value, src: Value },
    Zip { srcs: Vec<Value> },
    Enumerate { next: i64, src: Value },
    /// A generator that raised after yielding `items`: yields them, then raises `error`.
    Failing { items: Rc<Vec<Value>>, pos: usize, error: PyErr },
    Done,
}

// ----- dict and set -----

#[derive(Default, Clone, Copy)]
pub struct KeyHasher(u64);

impl Hasher for KeyHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0 ^ *b as u64).wrapping_mul(0x100000001b3);
        }
    }
    fn write_i64(&mut self, v: i64) {
        self.0 = (v as u64 ^ (v as u64 >> 29)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

/// A hashable value with its CPython hash.
#[derive(Clone)]
pub struct Key {
    pub hash: i64,
    pub value: Value,
}

impl Hash for Key {
    fn hash<H: Hasher>(&self, h: &mut H) {
        h.write_i64(self.hash)
    }
}

impl PartialEq for Key {
    fn eq(&self, other: &Key) -> bool {
        self.hash == other.hash && key_eq(&self.value, &other.value)
    }
}

impl Eq for Key {}

pub type KeyMap<V> = IndexMap<Key, V, BuildHasherDefault<KeyHasher>>;

#[derive(Clone, Default)]
pub struct Dict {
    pub map: KeyMap<Value>,
    pub kind: DictKind,
    /// `defaultdict`'s factory.
    pub default: Option<Value>,
}

impl Dict {
    pub fn new() -> Dict {
        Dict::default()
    }

    pub fn get(&self, k: &Value) -> PResult<Option<Value>> {
        let key = Key::new(k.clone())?;
        Ok(self.map.get(&key).cloned())
    }

    pub fn set(&mut self, k: Value, v: Value) -> PResult<()> {
        let key = Key::new(k)?;
        self.map.insert(key, v);
        Ok(())
    }

    pub fn remove(&mut self, k: &Value) -> PResult<Option<Value>> {
        let key = Key::new(k.clone())?;
        Ok(self.map.shift_remove(&key))
    }

    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    pub fn keys(&self) -> Vec<Value> {
        self.map.keys().map(|k| k.value.clone()).collect()
    }

    pub fn items(&self) -> Vec<(Value, Value)> {
        self.map.iter().map(|(k, v)| (k.value.clone(), v.clone())).collect()
    }
}

pub use super::set::Set;

impl Key {
    pub fn new(value: Value) -> PResult<Key> {
        let hash = hash::hash_value(&value)?;
        Ok(Key { hash, value })
    }
}

/// Equality of dict keys: Python's `==` for the hashable builtin types, identity otherwise.
pub fn key_eq(a: &Value, b: &Value) -> bool {
    structural_eq(a, b)
}

/// Numbers as comparable values (bool, int, big int, float).
#[derive(Debug, Clone)]
pub enum Num {
    I(i64),
    B(BigInt),
    F(f64),
}

pub fn num(v: &Value) -> Option<Num> {
    match v {
        Value::Bool(b) => Some(Num::I(*b as i64)),
        Value::Int(i) => Some(Num::I(*i)),
        Value::Big(b) => Some(Num::B((**b).clone())),
        Value::Float(f) => Some(Num::F(*f)),
        _ => None,
    }
}

impl Num {
    /// Exact comparison across int and float, as CPython does.
    pub fn compare(&self, other: &Num) -> Option<std::cmp::Ordering> {
        use Num::*;
        match (self, other) {
            (I(a), I(b)) => Some(a.cmp(b)),
            (B(a), B(b)) => Some(a.cmp(b)),
            (I(a), B(b)) => Some(BigInt::from(*a).cmp(b)),
            (B(a), I(b)) => Some(a.cmp(&BigInt::from(*b))),
            (F(a), F(b)) => a.partial_cmp(b),
            (F(a), _) => {
                if a.is_nan() {
                    return None;
                }
                if a.is_infinite() {
                    return Some(if *a > 0.0 { std::cmp::Ordering::Greater } else { std::cmp::Ordering::Less });
                }
                let other_big = match other {
                    I(i) => BigInt::from(*i),
                    B(b) => b.clone(),
                    F(_) => unreachable!("handled above"),
                };
                let fl = a.floor();
                match float_to_big(fl).cmp(&other_big) {
                    std::cmp::Ordering::Equal => Some(if *a > fl { std::cmp::Ordering::Greater } else { std::cmp::Ordering::Equal }),
                    o => Some(o),
                }
            }
            (_, F(_)) => other.compare(self).map(|o| o.reverse()),
        }
    }
}

pub fn float_to_big(f: f64) -> BigInt {
    use num_traits::FromPrimitive;
    BigInt::from_f64(f.trunc()).unwrap_or_default()
}

impl PartialEq for Num {
    fn eq(&self, other: &Num) -> bool {
        self.compare(other) == Some(std::cmp::Ordering::Equal)
    }
}

/// Structural equality of builtin values (no user `__eq__`), used for dict keys and as the
/// fallback of `==`.
pub fn structural_eq(a: &Value, b: &Value) -> bool {
    use Value::*;
    if let (Some(x), Some(y)) = (num(a), num(b)) {
        return x == y;
    }
    match (a, b) {
        (None, None) | (Ellipsis, Ellipsis) | (NotImplemented, NotImplemented) => true,
        (Str(x), Str(y)) => x == y,
        (Bytes(x), Bytes(y)) => x == y,
        (List(x), List(y)) => Rc::ptr_eq(x, y) || seq_eq(&x.borrow(), &y.borrow()),
        (Tuple(x), Tuple(y)) => seq_eq(x, y),
        (Dict(x), Dict(y)) => {
            if Rc::ptr_eq(x, y) {
                return true;
            }
            let (x, y) = (x.borrow(), y.borrow());
            x.len() == y.len() && x.map.iter().all(|(k, v)| y.map.get(k).is_some_and(|w| structural_eq(v, w)))
        }
        (Set(x), Set(y)) => set_eq(&x.borrow(), &y.borrow()),
        (FrozenSet(x), FrozenSet(y)) => set_eq(x, y),
        (Set(x), FrozenSet(y)) => set_eq(&x.borrow(), y),
        (FrozenSet(x), Set(y)) => set_eq(x, &y.borrow()),
        (Range(x), Range(y)) => {
            let (lx, ly) = (x.len(), y.len());
            lx == ly && (lx == 0 || x.start == y.start && (lx == 1 || x.step == y.step))
        }
        (Type(x), Type(y)) => x == y,
        _ => same_object(a, b),
    }
}

fn seq_eq(x: &[Value], y: &[Value]) -> bool {
    x.len() == y.len() && x.iter().zip(y.iter()).all(|(p, q)| same_object(p, q) || structural_eq(p, q))
}

fn set_eq(x: &Set, y: &Set) -> bool {
    x.len() == y.len() && x.is_subset(y)
}

/// `is`.
pub fn same_object(a: &Value, b: &Value) -> bool {
    use Value::*;
    match (a, b) {
        (None, None) | (Ellipsis, Ellipsis) | (NotImplemented, NotImplemented) => true,
        (Bool(x), Bool(y)) => x == y,
        // Small ints are cached in CPython; we treat all equal ints as identical.
        (Int(x), Int(y)) => x == y,
        (Float(x), Float(y)) => x.to_bits() == y.to_bits(),
        (Str(x), Str(y)) => Rc::ptr_eq(x, y) || x == y,
        (Bytes(x), Bytes(y)) => Rc::ptr_eq(x, y),
        (List(x), List(y)) => Rc::ptr_eq(x, y),
        (Tuple(x), Tuple(y)) => Rc::ptr_eq(x, y) || (x.is_empty() && y.is_empty()),
        (Dict(x), Dict(y)) => Rc::ptr_eq(x, y),
        (Set(x), Set(y)) => Rc::ptr_eq(x, y),
        (FrozenSet(x), FrozenSet(y)) => Rc::ptr_eq(x, y),
        (Range(x), Range(y)) => Rc::ptr_eq(x, y),
        (Function(x), Function(y)) => Rc::ptr_eq(x, y),
        (Builtin(x), Builtin(y)) => Rc::ptr_eq(x, y) || (x.name == y.name && x.this.is_none() && y.this.is_none()),
        (Method(x), Method(y)) => Rc::ptr_eq(x, y),
        (Type(x), Type(y)) => x == y,
        (Class(x), Class(y)) => Rc::ptr_eq(x, y),
        (Instance(x), Instance(y)) => Rc::ptr_eq(x, y),
        (Module(x), Module(y)) => Rc::ptr_eq(x, y),
        (Iter(x), Iter(y)) => Rc::ptr_eq(x, y),
        (Native(x), Native(y)) => Rc::ptr_eq(x, y),
        _ => false,
    }
}

impl Value {
    pub fn str(s: &str) -> Value {
        Value::Str(Rc::from(s))
    }

    pub fn list(items: Vec<Value>) -> Value {
        Value::List(Rc::new(RefCell::new(items)))
    }

    pub fn tuple(items: Vec<Value>) -> Value {
        Value::Tuple(Rc::new(items))
    }

    pub fn dict(d: Dict) -> Value {
        Value::Dict(Rc::new(RefCell::new(d)))
    }

    pub fn set(s: Set) -> Value {
        Value::Set(Rc::new(RefCell::new(s)))
    }

    pub fn big(b: BigInt) -> Value {
        use num_traits::ToPrimitive;
        match b.to_i64() {
            Some(i) => Value::Int(i),
            None => Value::Big(Rc::new(b)),
        }
    }

    /// `type(x).__name__`.
    pub fn type_name(&self) -> String {
        match self {
            Value::Instance(i) => i.class.name.to_string(),
            Value::Class(_) => "type".into(),
            Value::Dict(d) => match d.borrow().kind {
                DictKind::Plain => "dict".into(),
                DictKind::Counter => "Counter".into(),
                DictKind::DefaultDict => "defaultdict".into(),
            },
            Value::Native(n) => n.type_name().to_string(),
            Value::NativeMethod(_) => "method".into(),
            other => other.type_kind().name().to_string(),
        }
    }

    pub fn type_kind(&self) -> TypeKind {
        use Value::*;
        match self {
            None => TypeKind::NoneType,
            Ellipsis => TypeKind::Ellipsis,
            NotImplemented => TypeKind::NotImplementedType,
            Bool(_) => TypeKind::Bool,
            Int(_) | Big(_) => TypeKind::Int,
            Float(_) => TypeKind::Float,
            Str(_) => TypeKind::Str,
            Bytes(_) => TypeKind::Bytes,
            List(_) => TypeKind::List,
            Tuple(_) => TypeKind::Tuple,
            Dict(_) => TypeKind::Dict,
            Set(_) => TypeKind::Set,
            FrozenSet(_) => TypeKind::FrozenSet,
            Range(_) => TypeKind::Range,
            Slice(_) => TypeKind::Slice,
            Function(_) => TypeKind::Function,
            Builtin(_) => TypeKind::BuiltinFunction,
            Method(_) | NativeMethod(_) => TypeKind::Method,
            Type(_) | Class(_) => TypeKind::Type,
            Module(_) => TypeKind::Module,
            Iter(i) => match &*i.borrow() {
                super::value::Iter::Seq { kind, .. } => *kind,
                super::value::Iter::Failing { .. } => TypeKind::Generator,
                _ => TypeKind::Iterator,
            },
            DictView(v) => match v.0 {
                ViewKind::Keys => TypeKind::DictKeys,
                ViewKind::Values => TypeKind::DictValues,
                ViewKind::Items => TypeKind::DictItems,
            },
            Instance(_) | Native(_) => TypeKind::Object,
        }
    }

    /// Truthiness of builtin values; instances are handled by the interpreter.
    pub fn truthy(&self) -> bool {
        use Value::*;
        match self {
            None => false,
            Bool(b) => *b,
            Int(i) => *i != 0,
            Big(_) => true,
            Float(f) => *f != 0.0,
            Str(s) => !s.is_empty(),
            Bytes(b) => !b.is_empty(),
            List(l) => !l.borrow().is_empty(),
            Tuple(t) => !t.is_empty(),
            Dict(d) => !d.borrow().is_empty(),
            Set(s) => !s.borrow().is_empty(),
            FrozenSet(s) => !s.is_empty(),
            Range(r) => !r.is_empty(),
            DictView(v) => !v.1.borrow().is_empty(),
            _ => true,
        }
    }

    pub fn as_int(&self) -> Option<i64> {
        match self {
            Value::Int(i) => Some(*i),
            Value::Bool(b) => Some(*b as i64),
            _ => Option::None,
        }
    }

    pub fn is_none(&self) -> bool {
        matches!(self, Value::None)
    }
}

thread_local! {
    static NEXT_ID: std::cell::Cell<u64> = const { std::cell::Cell::new(1) };
}

/// A fresh object id (deterministic per thread: ids only order and hash identity objects).
pub fn next_id() -> u64 {
    NEXT_ID.with(|c| {
        let id = c.get();
        c.set(id + 1);
        id
    })
}

impl std::fmt::Debug for Value {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&super::repr::repr(self))
    }
}
