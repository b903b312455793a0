//! What the host plugs into the language: native objects (a `SparkContext`, an RDD, a
//! `KazooClient`) and native modules (`pyspark`, `kazoo.client`).
//!
//! A native object receives Python values and may call back into the interpreter it is
//! handed, e.g. to apply the lambda given to `rdd.map` (`Interpreter::call`).

use super::error::{ExcType, PyErr};
use super::interp::Interpreter;
use super::ir::{BinOp, Str};
use super::value::{PResult, Value};
use indexmap::IndexMap;
use serde::{Deserialize, Serialize};
use std::any::Any;
use std::cell::RefCell;
use std::rc::Rc;

/// The answer to `obj.name` on a native object.
pub enum NativeAttr {
    /// A plain attribute (`counter.value`).
    Value(Value),
    /// A method: `obj.name(...)` goes to `call_method`, `obj.name` alone is a bound method.
    Method,
    /// `AttributeError: '<type>' object has no attribute '<name>'`.
    Missing,
}

/// How a native object travels inside a shipped closure.
pub enum Pickle {
    /// Serialized state, revived on the executor by the reviver registered for `kind`
    /// (`Interpreter::register_reviver`): a broadcast variable's id, an accumulator's id.
    State(PickledNative),
    /// Cannot be shipped; the string is the type pickle complains about, which for an object
    /// holding a lock is `_thread.lock`, not the object's own type.
    Unpicklable(String),
    /// Pickling the object raises this exception (`"<Type>: <message>"`), as `SparkContext`'s
    /// and `RDD`'s `__getnewargs__` do.
    Raises(String),
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PickledNative {
    pub kind: String,
    pub state: Vec<u8>,
}

/// A host object visible to Python. Methods take `&self`: keep mutable state in a `RefCell`.
/// `this` is the object's own `Rc`, for methods that return or register it.
pub trait NativeObject: Any {
    /// `type(obj).__name__`, used in error messages.
    fn type_name(&self) -> &str;

    fn get_attr(&self, _this: &Rc<dyn NativeObject>, _name: &str, _interp: &mut Interpreter) -> PResult<NativeAttr> {
        Ok(NativeAttr::Missing)
    }

    fn set_attr(&self, _this: &Rc<dyn NativeObject>, name: &str, _value: Value, _interp: &mut Interpreter) -> PResult<()> {
        Err(PyErr::new(
            ExcType::AttributeError,
            format!("'{}' object has no attribute '{}'", self.type_name(), name),
        ))
    }

    /// `obj.name(*args, **kwargs)` for a name `get_attr` answered `Method` to.
    fn call_method(
        &self,
        _this: &Rc<dyn NativeObject>,
        name: &str,
        _args: Vec<Value>,
        _kwargs: Vec<(Str, Value)>,
        _interp: &mut Interpreter,
    ) -> PResult<Value> {
        Err(PyErr::new(
            ExcType::AttributeError,
            format!("'{}' object has no attribute '{}'", self.type_name(), name),
        ))
    }

    /// `obj(*args, **kwargs)`: native classes (`SparkContext(...)`) are callable natives.
    fn call(&self, _this: &Rc<dyn NativeObject>, _args: Vec<Value>, _kwargs: Vec<(Str, Value)>, _interp: &mut Interpreter) -> PResult<Value> {
        Err(PyErr::new(ExcType::TypeError, format!("'{}' object is not callable", self.type_name())))
    }

    /// `obj <op> other` (or `other <op> obj` when `reflected`); `None` = not supported.
    /// `counter += 1` on a kazoo `Counter` comes here as `Add`.
    fn binary_op(&self, _this: &Rc<dyn NativeObject>, _op: BinOp, _other: &Value, _reflected: bool, _interp: &mut Interpreter) -> PResult<Option<Value>> {
        Ok(None)
    }

    /// `iter(obj)`: a list of items, or `None` if not iterable.
    fn iterate(&self, _this: &Rc<dyn NativeObject>, _interp: &mut Interpreter) -> PResult<Option<Vec<Value>>> {
        Ok(None)
    }

    fn repr(&self) -> String {
        format!("<{} object>", self.type_name())
    }

    /// `obj == other` for natives with value equality (`None`: identity).
    fn native_eq(&self, _other: &dyn NativeObject) -> Option<bool> {
        None
    }

    /// `str(obj)` when it differs from the repr (`StorageLevel`'s description).
    fn str(&self) -> Option<String> {
        None
    }

    /// The module of the object's class, for `type(obj)`'s repr (`None`: just the name).
    fn class_module(&self) -> Option<&str> {
        None
    }

    fn pickle(&self) -> Pickle {
        Pickle::Unpicklable(self.type_name().to_string())
    }

    /// A namedtuple-like native (`ZnodeStat`): `isinstance(obj, tuple)` holds.
    fn is_tuple(&self) -> bool {
        false
    }

    /// For a native class: `isinstance(v, self)`.
    fn instance_check(&self, _v: &Value) -> bool {
        false
    }

    fn is_picklable(&self) -> bool {
        matches!(self.pickle(), Pickle::State(_))
    }

    fn as_any(&self) -> &dyn Any;
}

/// `type(obj)` of a native object: its class's `__name__` and repr.
pub struct NativeType {
    pub name: String,
    pub module: Option<String>,
}

impl NativeType {
    pub fn of(obj: &dyn NativeObject) -> NativeType {
        NativeType { name: obj.type_name().to_string(), module: obj.class_module().map(str::to_string) }
    }
}

impl NativeObject for NativeType {
    fn type_name(&self) -> &str {
        "type"
    }
    fn get_attr(&self, _this: &Rc<dyn NativeObject>, name: &str, _it: &mut Interpreter) -> PResult<NativeAttr> {
        Ok(match name {
            "__name__" | "__qualname__" => NativeAttr::Value(Value::str(&self.name)),
            "__module__" => NativeAttr::Value(Value::str(self.module.as_deref().unwrap_or("builtins"))),
            _ => NativeAttr::Missing,
        })
    }
    fn repr(&self) -> String {
        match &self.module {
            Some(m) => format!("<class '{m}.{}'>", self.name),
            None => format!("<class '{}'>", self.name),
        }
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// A module: a name and its attributes. Native modules are built by the host; `math` and
/// friends by `modules.rs`.
pub struct Module {
    pub name: Str,
    pub attrs: RefCell<IndexMap<Str, Value>>,
}

impl Module {
    pub fn new(name: &str) -> Module {
        Module { name: super::ir::s(name), attrs: RefCell::new(IndexMap::new()) }
    }

    pub fn set(&self, name: &str, v: Value) {
        self.attrs.borrow_mut().insert(super::ir::s(name), v);
    }

    pub fn get(&self, name: &str) -> Option<Value> {
        self.attrs.borrow().get(name).cloned()
    }
}

/// A native method's argument `i`, given by position or by keyword `name`.
pub fn arg(args: &[Value], kwargs: &[(Str, Value)], i: usize, name: &str) -> Option<Value> {
    args.get(i).cloned().or_else(|| kwargs.iter().find(|(k, _)| &**k == name).map(|(_, v)| v.clone()))
}

/// A required argument: CPython's `TypeError` when it is missing.
pub fn need(args: &[Value], kwargs: &[(Str, Value)], i: usize, name: &str, method: &str) -> PResult<Value> {
    arg(args, kwargs, i, name)
        .ok_or_else(|| PyErr::new(ExcType::TypeError, format!("{method}() missing 1 required positional argument: '{name}'")))
}
