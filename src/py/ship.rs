//! Shipping closures to executors, as PySpark does with cloudpickle.
//!
//! `ship(value)` walks a value the way cloudpickle walks a function: a function travels as its
//! code (our IR) plus, by value, the closure cells and the globals its code refers to
//! (transitively through the functions those reference); modules travel by name; host natives
//! travel only if they can pickle themselves. The result is plain serde data, deterministic
//! and independent of the driver: `Shipped::revive` rebuilds it in any interpreter, and
//! `Shipped::call` in a fresh one.
//!
//! ```text
//! driver Value ──ship──▶ Shipped { value: Wire, functions, scopes, classes, globals }
//!                              │ serde (bytes)
//! executor Interpreter ◀──revive── Shipped      (fresh builtins, no driver state)
//! ```

use super::error::{exc_class, exc_type_by_name, new_exception, ExcType, PyErr};
use super::interp::Interpreter;
use super::ir::{s, FuncDef, Shared};
use super::native::{Pickle, PickledNative};
use super::value::*;
use indexmap::IndexMap;
use serde::{Deserialize, Serialize};
use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

/// A value in transit: plain data, or references into the `Shipped` tables.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Wire {
    None,
    Ellipsis,
    Bool(bool),
    Int(i64),
    BigInt(String),
    /// Bit-exact (NaN, -0.0 and all), whatever the serde format.
    Float(#[serde(with = "float_bits")] f64),
    Str(String),
    Bytes(Vec<u8>),
    List(Vec<Wire>),
    Tuple(Vec<Wire>),
    Dict { items: Vec<(Wire, Wire)>, kind: u8, default: Option<Box<Wire>> },
    Set(Vec<Wire>),
    FrozenSet(Vec<Wire>),
    Range(i64, i64, i64),
    Slice(Box<[Wire; 3]>),
    Type(TypeKind),
    /// A builtin exception class, by name.
    ExcClass(String),
    Exception { class: Box<Wire>, args: Vec<Wire> },
    Function(u32),
    Class(u32),
    Instance { class: u32, attrs: Vec<(String, Wire)> },
    /// `obj.method` of a user class.
    Method(Box<Wire>, Box<Wire>),
    /// A builtin function (`len`, `math.sqrt`), by module and name.
    Builtin { module: String, name: String },
    /// A method of a builtin value (`"-".join`).
    BoundBuiltin(Box<Wire>, String),
    Module(String),
    Native(PickledNative),
    /// `operator.itemgetter(...)` / `attrgetter(...)`.
    Getter { items: Vec<Wire>, attr: bool },
    /// `functools.partial(func, *args, **kwargs)`.
    Partial { func: Box<Wire>, args: Vec<Wire>, kwargs: Vec<(String, Wire)> },
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct WireFunction {
    pub def: Shared<FuncDef>,
    pub defaults: Vec<Wire>,
    pub kw_defaults: Vec<Option<Wire>>,
    /// Index into `Shipped::scopes` of the defining scope.
    pub closure: Option<u32>,
}

/// A captured scope: only the slots some shipped function reads.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct WireScope {
    pub parent: Option<u32>,
    pub slots: Vec<Option<Wire>>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct WireClass {
    pub name: String,
    pub bases: Vec<Wire>,
    pub ns: Vec<(String, Wire)>,
    pub is_exception: bool,
    /// A host module's class (`kazoo.exceptions`) keeps its module, so `except NoNodeError`
    /// on the executor still matches; the program's own classes revive in `__main__`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub module: Option<String>,
}

/// A shipped value (usually a function) with everything it needs.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Shipped {
    pub value: Wire,
    pub functions: Vec<WireFunction>,
    pub scopes: Vec<WireScope>,
    pub classes: Vec<WireClass>,
    /// The globals the shipped functions refer to, captured by value at ship time.
    pub globals: Vec<(String, Wire)>,
    /// Program text, for tracebacks raised on the executor.
    pub source: String,
}

/// A shipped function: what `rdd.map(f)` sends to each task.
pub type ShippedFn = Shipped;

/// Serializes `v` for an executor, or fails with PySpark's
/// `_pickle.PicklingError: Could not serialize object: TypeError: cannot pickle '<type>' object`.
pub fn ship(v: &Value) -> PResult<Shipped> {
    let mut p = Pickler::default();
    let value = p.value(v, 0)?;
    Ok(Shipped {
        value,
        functions: p.functions.into_iter().map(|f| f.expect("every reserved function is filled")).collect(),
        scopes: p.scopes,
        classes: p.classes.into_iter().map(|c| c.expect("every reserved class is filled")).collect(),
        globals: p.globals.into_iter().map(|(k, v)| (k, v.expect("every reserved global is filled"))).collect(),
        source: String::new(),
    })
}

/// `ship`, keeping the program source for executor-side tracebacks.
pub fn ship_with_source(v: &Value, interp: &Interpreter) -> PResult<Shipped> {
    let mut sh = ship(v)?;
    sh.source = interp.source.to_string();
    Ok(sh)
}

/// Plain data (no functions) to wire form: what a task's input and output records are.
pub fn to_wire(v: &Value) -> PResult<Wire> {
    Pickler::default().value(v, 0)
}

/// Plain data back from wire form.
pub fn from_wire(w: &Wire) -> PResult<Value> {
    let empty = Shipped { value: Wire::None, functions: vec![], scopes: vec![], classes: vec![], globals: vec![], source: String::new() };
    let mut it = Interpreter::new();
    Unpickler::new(&empty, &mut it).value(w)
}

pub fn pickling_error(type_name: &str) -> PyErr {
    PyErr::new(ExcType::PicklingError, format!("Could not serialize object: TypeError: cannot pickle '{type_name}' object"))
}

/// PySpark wraps whatever pickling raised: `Could not serialize object: <Type>: <message>`.
pub fn raised_while_pickling(error: &str) -> PyErr {
    PyErr::new(ExcType::PicklingError, format!("Could not serialize object: {error}"))
}

const MAX_DEPTH: u32 = 500;

#[derive(Default)]
struct Pickler {
    functions: Vec<Option<WireFunction>>,
    fn_ids: HashMap<usize, u32>,
    scopes: Vec<WireScope>,
    scope_ids: HashMap<usize, u32>,
    classes: Vec<Option<WireClass>>,
    class_ids: HashMap<usize, u32>,
    globals: IndexMap<String, Option<Wire>>,
}

impl Pickler {
    fn value(&mut self, v: &Value, depth: u32) -> PResult<Wire> {
        if depth > MAX_DEPTH {
            return Err(PyErr::new(ExcType::PicklingError, "Could not serialize object: RecursionError: maximum recursion depth exceeded while pickling an object"));
        }
        let d = depth + 1;
        Ok(match v {
            Value::None => Wire::None,
            Value::Ellipsis => Wire::Ellipsis,
            Value::NotImplemented => return Err(pickling_error("NotImplementedType")),
            Value::Bool(b) => Wire::Bool(*b),
            Value::Int(i) => Wire::Int(*i),
            Value::Big(b) => Wire::BigInt(b.to_string()),
            Value::Float(f) => Wire::Float(*f),
            Value::Str(s) => Wire::Str(s.to_string()),
            Value::Bytes(b) => Wire::Bytes((**b).clone()),
            Value::List(l) => Wire::List(self.values(&l.borrow().clone(), d)?),
            Value::Tuple(t) => Wire::Tuple(self.values(t, d)?),
            Value::Dict(dc) => {
                let dc = dc.borrow().clone();
                let mut items = vec![];
                for (k, v) in dc.items() {
                    items.push((self.value(&k, d)?, self.value(&v, d)?));
                }
                let kind = match dc.kind {
                    DictKind::Plain => 0,
                    DictKind::Counter => 1,
                    DictKind::DefaultDict => 2,
                };
                let default = match &dc.default {
                    Some(f) => Some(Box::new(self.value(f, d)?)),
                    None => None,
                };
                Wire::Dict { items, kind, default }
            }
            Value::Set(st) => Wire::Set(self.values(&st.borrow().ordered(), d)?),
            Value::FrozenSet(st) => Wire::FrozenSet(self.values(&st.ordered(), d)?),
            Value::Range(r) => Wire::Range(r.start, r.stop, r.step),
            Value::Slice(sl) => Wire::Slice(Box::new([self.value(&sl[0], d)?, self.value(&sl[1], d)?, self.value(&sl[2], d)?])),
            Value::Type(t) => Wire::Type(*t),
            Value::Function(f) => Wire::Function(self.function(f, d)?),
            Value::Builtin(b) => match &b.this {
                Some(this) => Wire::BoundBuiltin(Box::new(self.value(this, d)?), b.name.to_string()),
                None => Wire::Builtin { module: b.module.to_string(), name: b.name.to_string() },
            },
            Value::Method(m) => Wire::Method(Box::new(self.value(&m.0, d)?), Box::new(self.value(&m.1, d)?)),
            Value::Class(c) => self.class(c, d)?,
            Value::Instance(i) => {
                if let Some(st) = &i.exc {
                    let args = st.borrow().args.clone();
                    Wire::Exception { class: Box::new(self.class(&i.class, d)?), args: self.values(&args, d)? }
                } else {
                    let Wire::Class(id) = self.class(&i.class, d)? else {
                        return Err(pickling_error(&i.class.name));
                    };
                    let mut attrs = vec![];
                    for (k, v) in i.dict.borrow().clone() {
                        attrs.push((k.to_string(), self.value(&v, d)?));
                    }
                    Wire::Instance { class: id, attrs }
                }
            }
            Value::Module(m) => Wire::Module(m.name.to_string()),
            Value::Iter(_) => return Err(pickling_error(&v.type_name())),
            Value::DictView(_) => return Err(pickling_error(&v.type_name())),
            Value::Native(n) => {
                if let Some(g) = n.as_any().downcast_ref::<super::modules::Getter>() {
                    return Ok(Wire::Getter { items: self.values(&g.items, d)?, attr: g.attr });
                }
                if let Some(p) = n.as_any().downcast_ref::<super::modules::Partial>() {
                    let mut kwargs = vec![];
                    for (k, v) in &p.kwargs {
                        kwargs.push((k.to_string(), self.value(v, d)?));
                    }
                    return Ok(Wire::Partial { func: Box::new(self.value(&p.func, d)?), args: self.values(&p.args, d)?, kwargs });
                }
                match n.pickle() {
                    Pickle::State(st) => Wire::Native(st),
                    Pickle::Unpicklable(t) => return Err(pickling_error(&t)),
                    Pickle::Raises(e) => return Err(raised_while_pickling(&e)),
                }
            }
            Value::NativeMethod(m) => match m.0.pickle() {
                Pickle::State(_) => return Err(pickling_error("method")),
                Pickle::Unpicklable(t) => return Err(pickling_error(&t)),
                Pickle::Raises(e) => return Err(raised_while_pickling(&e)),
            },
        })
    }

    fn values(&mut self, vs: &[Value], d: u32) -> PResult<Vec<Wire>> {
        vs.iter().map(|v| self.value(v, d)).collect()
    }

    fn function(&mut self, f: &Rc<Function>, d: u32) -> PResult<u32> {
        let key = Rc::as_ptr(f) as *const u8 as usize;
        if let Some(id) = self.fn_ids.get(&key) {
            return Ok(*id);
        }
        let id = self.functions.len() as u32;
        self.functions.push(None);
        self.fn_ids.insert(key, id);
        // Closure cells the code reads, by value.
        let mut closure = None;
        if let Some(scope) = &f.closure {
            let max_depth = f.def.captures.iter().map(|(dd, _)| *dd).max().unwrap_or(0);
            if max_depth > 0 {
                closure = Some(self.scope_chain(scope, max_depth)?);
                for (dd, slot) in f.def.captures.clone() {
                    let Some(sc) = scope.ancestor(dd - 1) else { continue };
                    let sid = self.scope_chain(sc, 1)?;
                    let val = sc.slots.borrow().get(slot as usize).cloned().flatten();
                    if let Some(val) = val {
                        if self.scopes[sid as usize].slots[slot as usize].is_none() {
                            let w = self.value(&val, d)?;
                            self.scopes[sid as usize].slots[slot as usize] = Some(w);
                        }
                    }
                }
            }
        }
        // Globals the code refers to, by value (builtins are resolved on the executor).
        for name in f.def.globals.clone() {
            if self.globals.contains_key(&*name) {
                continue;
            }
            let gv = f.globals.vars.borrow().get(&*name).cloned();
            if let Some(gv) = gv {
                self.globals.insert(name.to_string(), None);
                let w = self.value(&gv, d)?;
                self.globals.insert(name.to_string(), Some(w));
            }
        }
        let defaults = self.values(&f.defaults, d)?;
        let mut kw_defaults = vec![];
        for k in &f.kw_defaults {
            kw_defaults.push(match k {
                Some(v) => Some(self.value(v, d)?),
                None => None,
            });
        }
        self.functions[id as usize] = Some(WireFunction { def: f.def.clone(), defaults, kw_defaults, closure });
        Ok(id)
    }

    /// Registers `scope` and `levels - 1` of its ancestors; returns the id of `scope`.
    fn scope_chain(&mut self, scope: &Rc<Scope>, levels: u32) -> PResult<u32> {
        let key = Rc::as_ptr(scope) as *const u8 as usize;
        let parent = match (&scope.parent, levels > 1) {
            (Some(p), true) => Some(self.scope_chain(p, levels - 1)?),
            _ => None,
        };
        if let Some(id) = self.scope_ids.get(&key) {
            let id = *id;
            if self.scopes[id as usize].parent.is_none() {
                self.scopes[id as usize].parent = parent;
            }
            return Ok(id);
        }
        let id = self.scopes.len() as u32;
        self.scopes.push(WireScope { parent, slots: vec![None; scope.slots.borrow().len()] });
        self.scope_ids.insert(key, id);
        Ok(id)
    }

    fn class(&mut self, c: &Rc<Class>, d: u32) -> PResult<Wire> {
        if c.module.is_none() || c.module.as_deref() == Some("_pickle") {
            return Ok(Wire::ExcClass(c.name.to_string()));
        }
        let key = Rc::as_ptr(c) as *const u8 as usize;
        if let Some(id) = self.class_ids.get(&key) {
            return Ok(Wire::Class(*id));
        }
        let id = self.classes.len() as u32;
        self.classes.push(None);
        self.class_ids.insert(key, id);
        let mut bases = vec![];
        for b in &c.bases {
            bases.push(self.class(b, d)?);
        }
        let mut ns = vec![];
        for (k, v) in c.ns.borrow().clone() {
            ns.push((k.to_string(), self.value(&v, d)?));
        }
        let module = c.module.as_deref().filter(|m| *m != "__main__").map(str::to_string);
        self.classes[id as usize] = Some(WireClass { name: c.name.to_string(), bases, ns, is_exception: c.is_exception, module });
        Ok(Wire::Class(id))
    }
}

struct Unpickler<'a> {
    sh: &'a Shipped,
    it: &'a mut Interpreter,
    functions: Vec<Option<Value>>,
    scopes: Vec<Rc<Scope>>,
    classes: Vec<Option<Rc<Class>>>,
    building: Vec<u32>,
}

impl<'a> Unpickler<'a> {
    fn new(sh: &'a Shipped, it: &'a mut Interpreter) -> Unpickler<'a> {
        // Scopes first (parents precede children only by id order not guaranteed: build lazily).
        let mut scopes: Vec<Option<Rc<Scope>>> = vec![None; sh.scopes.len()];
        fn build(i: usize, sh: &Shipped, out: &mut Vec<Option<Rc<Scope>>>, depth: u32) -> Rc<Scope> {
            if let Some(s) = &out[i] {
                return s.clone();
            }
            let parent = match sh.scopes[i].parent {
                Some(p) if depth < 10_000 && (p as usize) < sh.scopes.len() => Some(build(p as usize, sh, out, depth + 1)),
                _ => None,
            };
            let s = Scope::new(sh.scopes[i].slots.len(), parent);
            out[i] = Some(s.clone());
            s
        }
        for i in 0..sh.scopes.len() {
            build(i, sh, &mut scopes, 0);
        }
        Unpickler {
            sh,
            it,
            functions: vec![None; sh.functions.len()],
            scopes: scopes.into_iter().map(|s| s.expect("built above")).collect(),
            classes: vec![None; sh.classes.len()],
            building: vec![],
        }
    }

    fn fill(&mut self) -> PResult<()> {
        for (i, ws) in self.sh.scopes.iter().enumerate() {
            for (slot, w) in ws.slots.iter().enumerate() {
                if let Some(w) = w {
                    let v = self.value(w)?;
                    self.scopes[i].slots.borrow_mut()[slot] = Some(v);
                }
            }
        }
        for (name, w) in &self.sh.globals {
            let v = self.value(w)?;
            self.it.set_global(name, v);
        }
        Ok(())
    }

    fn value(&mut self, w: &Wire) -> PResult<Value> {
        Ok(match w {
            Wire::None => Value::None,
            Wire::Ellipsis => Value::Ellipsis,
            Wire::Bool(b) => Value::Bool(*b),
            Wire::Int(i) => Value::Int(*i),
            Wire::BigInt(t) => Value::big(t.parse().unwrap_or_default()),
            Wire::Float(f) => Value::Float(*f),
            Wire::Str(t) => Value::str(t),
            Wire::Bytes(b) => Value::Bytes(Rc::new(b.clone())),
            Wire::List(items) => Value::list(self.values(items)?),
            Wire::Tuple(items) => Value::tuple(self.values(items)?),
            Wire::Dict { items, kind, default } => {
                let mut dc = Dict::new();
                dc.kind = match kind {
                    1 => DictKind::Counter,
                    2 => DictKind::DefaultDict,
                    _ => DictKind::Plain,
                };
                dc.default = match default {
                    Some(f) => Some(self.value(f)?),
                    None => None,
                };
                for (k, v) in items {
                    let (k, v) = (self.value(k)?, self.value(v)?);
                    dc.set(k, v)?;
                }
                Value::dict(dc)
            }
            Wire::Set(items) => Value::set(Set::from_values(self.values(items)?)?),
            Wire::FrozenSet(items) => Value::FrozenSet(Rc::new(Set::from_values(self.values(items)?)?)),
            Wire::Range(a, b, c) => Value::Range(Rc::new(Range { start: *a, stop: *b, step: *c })),
            Wire::Slice(p) => Value::Slice(Rc::new([self.value(&p[0])?, self.value(&p[1])?, self.value(&p[2])?])),
            Wire::Type(t) => Value::Type(*t),
            Wire::ExcClass(name) => Value::Class(exc_class(exc_type_by_name(name).unwrap_or(ExcType::Exception))),
            Wire::Exception { class, args } => {
                let Value::Class(c) = self.value(class)? else { return Err(bad_wire()) };
                let args = self.values(args)?;
                Value::Instance(new_exception(c, args))
            }
            Wire::Function(id) => self.function(*id)?,
            Wire::Class(id) => Value::Class(self.class(*id)?),
            Wire::Instance { class, attrs } => {
                let c = self.class(*class)?;
                let mut dict = IndexMap::new();
                for (k, v) in attrs {
                    dict.insert(s(k), self.value(v)?);
                }
                Value::Instance(Rc::new(Instance { class: c, dict: RefCell::new(dict), exc: None, id: next_id() }))
            }
            Wire::Method(a, b) => Value::Method(Rc::new((self.value(a)?, self.value(b)?))),
            Wire::Builtin { module, name } => {
                if let Some(ty) = module.strip_prefix("<unbound ").and_then(|m| m.strip_suffix('>')) {
                    let Some(Value::Type(t)) = self.it.builtins.get(ty).cloned() else { return Err(bad_wire()) };
                    return super::methods::unbound_method(t, name).ok_or_else(bad_wire);
                }
                if module.is_empty() {
                    self.it.builtins.get(name.as_str()).cloned().ok_or_else(bad_wire)?
                } else {
                    let m = super::modules::stdlib_module(module).or_else(|| self.it.modules.get(module).cloned()).ok_or_else(bad_wire)?;
                    m.get(name).ok_or_else(bad_wire)?
                }
            }
            Wire::BoundBuiltin(this, name) => {
                let this = self.value(this)?;
                self.it.get_attr(&this, name)?
            }
            Wire::Module(name) => {
                let m = self
                    .it
                    .modules
                    .get(name)
                    .cloned()
                    .or_else(|| super::modules::stdlib_module(name))
                    .ok_or_else(|| PyErr::new(ExcType::ModuleNotFoundError, format!("No module named '{name}'")))?;
                Value::Module(m)
            }
            Wire::Getter { items, attr } => {
                let items = self.values(items)?;
                Value::Native(Rc::new(super::modules::Getter { items, attr: *attr }))
            }
            Wire::Partial { func, args, kwargs } => {
                let func = self.value(func)?;
                let args = self.values(args)?;
                let mut kw = vec![];
                for (k, v) in kwargs {
                    kw.push((s(k), self.value(v)?));
                }
                Value::Native(Rc::new(super::modules::Partial { func, args, kwargs: kw }))
            }
            Wire::Native(p) => {
                let reviver = self.it.revivers.get(&p.kind).cloned().ok_or_else(|| {
                    PyErr::new(ExcType::RuntimeError, format!("no reviver registered for shipped '{}' objects", p.kind))
                })?;
                reviver(p, self.it)?
            }
        })
    }

    fn values(&mut self, ws: &[Wire]) -> PResult<Vec<Value>> {
        ws.iter().map(|w| self.value(w)).collect()
    }

    fn function(&mut self, id: u32) -> PResult<Value> {
        let i = id as usize;
        if let Some(Some(v)) = self.functions.get(i) {
            return Ok(v.clone());
        }
        let wf = self.sh.functions.get(i).ok_or_else(bad_wire)?;
        if self.building.contains(&id) {
            return Err(PyErr::new(ExcType::RuntimeError, "a shipped function's default refers to itself"));
        }
        self.building.push(id);
        let defaults = self.values(&wf.defaults)?;
        let mut kw_defaults = vec![];
        for k in &wf.kw_defaults {
            kw_defaults.push(match k {
                Some(w) => Some(self.value(w)?),
                None => None,
            });
        }
        self.building.pop();
        let closure = match wf.closure {
            Some(c) => Some(self.scopes.get(c as usize).cloned().ok_or_else(bad_wire)?),
            None => None,
        };
        let v = Value::Function(Rc::new(Function {
            def: wf.def.clone(),
            defaults,
            kw_defaults,
            closure,
            globals: self.it.globals.clone(),
            id: next_id(),
            dict: RefCell::new(IndexMap::new()),
            owner: RefCell::new(None),
        }));
        self.functions[i] = Some(v.clone());
        Ok(v)
    }

    fn class(&mut self, id: u32) -> PResult<Rc<Class>> {
        let i = id as usize;
        if let Some(Some(c)) = self.classes.get(i) {
            return Ok(c.clone());
        }
        let wc = self.sh.classes.get(i).ok_or_else(bad_wire)?;
        let mut bases = vec![];
        for b in &wc.bases {
            match self.value(b)? {
                Value::Class(c) => bases.push(c),
                _ => return Err(bad_wire()),
            }
        }
        let cls = Rc::new(Class {
            name: s(&wc.name),
            module: Some(s(wc.module.as_deref().unwrap_or("__main__"))),
            bases: bases.clone(),
            mro: RefCell::new(vec![]),
            ns: RefCell::new(IndexMap::new()),
            is_exception: wc.is_exception,
            id: next_id(),
        });
        let mut mro = vec![cls.clone()];
        for b in &bases {
            for c in b.mro.borrow().iter() {
                if !mro.iter().any(|m| Rc::ptr_eq(m, c)) {
                    mro.push(c.clone());
                }
            }
        }
        *cls.mro.borrow_mut() = mro;
        self.classes[i] = Some(cls.clone());
        for (k, w) in &wc.ns {
            let v = self.value(w)?;
            cls.ns.borrow_mut().insert(s(k), v);
        }
        Ok(cls)
    }
}

mod float_bits {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(f: &f64, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(f.to_bits())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
        Ok(f64::from_bits(u64::deserialize(d)?))
    }
}

fn bad_wire() -> PyErr {
    PyErr::new(ExcType::RuntimeError, "malformed shipped closure")
}

impl Shipped {
    /// Rebuilds the shipped value inside `interp` (an executor's interpreter, with whatever
    /// host modules and revivers it registered). Captured globals become its globals.
    pub fn revive(&self, interp: &mut Interpreter) -> PResult<Value> {
        if !self.source.is_empty() && interp.source.is_empty() {
            interp.source = Rc::from(self.source.as_str());
        }
        let mut u = Unpickler::new(self, interp);
        u.fill()?;
        u.value(&self.value)
    }

    /// Calls the shipped function in a fresh interpreter (stdlib only, no driver state).
    pub fn call(&self, args: Vec<Value>) -> PResult<Value> {
        let mut it = Interpreter::new();
        let f = self.revive(&mut it)?;
        it.call(&f, args, vec![])
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("shipped values serialize")
    }

    pub fn from_json(text: &str) -> Result<Shipped, String> {
        serde_json::from_str(text).map_err(|e| e.to_string())
    }
}
