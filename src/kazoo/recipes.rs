//! kazoo's recipes over `ClientCore`: `Counter` (a versioned-set retry loop), `Lock` (ephemeral
//! sequential `<uuid>__lock__` nodes, each waiter watching its predecessor), `Election` (a
//! lock whose holder runs a function), `Barrier` and `Queue`. Each is bound to a client, so
//! none can be pickled into a task.

use super::client::ClientCore;
use super::{arg, bytes_arg, is_exc, need, raise, str_arg, zk_error};
use crate::py::ir::BinOp;
use crate::py::{ExcType, Interpreter, NativeAttr, NativeObject, PResult, Pickle, PyErr, Str, Value};
use crate::zk::{Op, OpResult, ZkError};
use std::cell::RefCell;
use std::rc::Rc;

/// `kazoo.recipe.counter.Counter` etc. as classes: `Counter(client, path, ...)`.
pub struct RecipeClass {
    pub kazoo: Rc<super::Kazoo>,
    pub name: &'static str,
}

impl NativeObject for RecipeClass {
    fn type_name(&self) -> &str {
        "type"
    }
    fn call(&self, _this: &Rc<dyn NativeObject>, args: Vec<Value>, kwargs: Vec<(Str, Value)>, it: &mut Interpreter) -> PResult<Value> {
        let client = need(&args, &kwargs, 0, "client", self.name)?;
        let core = match &client {
            Value::Native(n) => n.as_any().downcast_ref::<super::client::KazooClient>().map(|c| c.0.clone()),
            _ => None,
        };
        let Some(core) = core else {
            return Err(PyErr::new(ExcType::AttributeError, format!("'{}' object has no attribute 'retry'", client.type_name())));
        };
        let rest: Vec<Value> = args.into_iter().skip(1).collect();
        let kwargs: Vec<(Str, Value)> = kwargs.into_iter().filter(|(k, _)| &**k != "client").collect();
        make(self.name, core, rest, kwargs, it)
    }
    fn repr(&self) -> String {
        format!("<class 'kazoo.recipe.{}.{}'>", self.name.to_lowercase(), self.name)
    }
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

/// `zk.Counter(path, default=0)`, `zk.Lock(path, identifier=None)`, ….
pub fn make(name: &str, core: Rc<ClientCore>, args: Vec<Value>, kwargs: Vec<(Str, Value)>, _it: &mut Interpreter) -> PResult<Value> {
    let path = str_arg(&need(&args, &kwargs, 0, "path", name)?, "path")?;
    let path = path.trim_end_matches('/').to_string();
    let ident = |i: usize| -> PResult<Vec<u8>> {
        Ok(match arg(&args, &kwargs, i, "identifier") {
            Some(Value::None) | None => vec![],
            Some(Value::Str(s)) => s.as_bytes().to_vec(),
            Some(v) => crate::py::repr::to_str(&v).into_bytes(),
        })
    };
    let obj: Rc<dyn NativeObject> = match name {
        "Counter" => {
            let default = arg(&args, &kwargs, 1, "default").unwrap_or(Value::Int(0));
            if !matches!(default, Value::Int(_) | Value::Float(_)) {
                return Err(PyErr::new(ExcType::TypeError, "zkspark's Counter supports int and float defaults"));
            }
            let curator = arg(&args, &kwargs, 2, "support_curator").is_some_and(|v| v.truthy());
            if curator && !matches!(default, Value::Int(_)) {
                return Err(PyErr::new(ExcType::TypeError, "when support_curator is enabled the default type must be an int"));
            }
            Rc::new(Counter { core, path, default, curator, ensured: RefCell::new(false), pre: RefCell::new(Value::None), post: RefCell::new(Value::None) })
        }
        "Lock" => Rc::new(Lock::new(core, path, ident(1)?)),
        "Election" => Rc::new(Election { lock: Rc::new(Lock::new(core, path, ident(1)?)) }),
        "Barrier" => Rc::new(Barrier { core, path }),
        "Queue" => Rc::new(Queue { core, path, children: RefCell::new(vec![]), ensured: RefCell::new(false) }),
        other => return Err(PyErr::new(ExcType::AttributeError, format!("'KazooClient' object has no attribute '{other}'"))),
    };
    Ok(Value::Native(obj))
}


// ----- Counter -----

pub struct Counter {
    core: Rc<ClientCore>,
    path: String,
    default: Value,
    /// Curator's `SharedCount` encoding: a 4-byte big-endian int.
    curator: bool,
    ensured: RefCell<bool>,
    pre: RefCell<Value>,
    post: RefCell<Value>,
}

impl Counter {
    /// `_value()`: the node's value parsed as the default's type, and the node's version.
    fn read(&self) -> PResult<(Value, i32)> {
        if !*self.ensured.borrow() {
            self.core.ensure_path(&self.path)?;
            *self.ensured.borrow_mut() = true;
        }
        let (data, stat) = self.core.get(&self.path, false)?;
        if data.is_empty() {
            return Ok((self.default.clone(), stat.version));
        }
        if self.curator {
            let b: [u8; 4] = data.get(..4).and_then(|b| b.try_into().ok()).ok_or_else(|| PyErr::new(ExcType::ValueError, "unpack requires a buffer of 4 bytes"))?;
            return Ok((Value::Int(i64::from(i32::from_be_bytes(b))), stat.version));
        }
        let text = String::from_utf8_lossy(&data).trim().to_string();
        let v = match self.default {
            Value::Float(_) => text.parse::<f64>().map(Value::Float).ok(),
            _ => text.parse::<i64>().map(Value::Int).ok(),
        };
        let v = v.ok_or_else(|| {
            let kind = if matches!(self.default, Value::Float(_)) { "could not convert string to float: " } else { "invalid literal for int() with base 10: " };
            PyErr::new(ExcType::ValueError, format!("{kind}{}", crate::py::repr::str_repr(&text)))
        })?;
        Ok((v, stat.version))
    }

    /// `_change(delta)`: read, add, `set` at the version read; retried (through kazoo's retry)
    /// when someone else changed it first — or when the reply was lost, which re-applies it.
    fn change(&self, delta: &Value, it: &mut Interpreter) -> PResult<()> {
        let same_type = matches!((&self.default, delta), (Value::Int(_), Value::Int(_)) | (Value::Float(_), Value::Float(_)));
        if !same_type {
            return Err(PyErr::new(ExcType::TypeError, "invalid type for value change"));
        }
        self.core.clone().retry(it, |_it| {
            let (pre, version) = self.read()?;
            let post = match (&pre, delta) {
                (Value::Int(a), Value::Int(b)) => a.checked_add(*b).map(Value::Int).ok_or_else(|| PyErr::new(ExcType::OverflowError, "counter out of range"))?,
                (Value::Float(a), Value::Float(b)) => Value::Float(a + b),
                _ => return Err(PyErr::new(ExcType::TypeError, "invalid type for value change")),
            };
            *self.pre.borrow_mut() = pre;
            let data = match (&post, self.curator) {
                (Value::Int(i), true) => i32::try_from(*i).map_err(|_| PyErr::new(ExcType::ValueError, "'i' format requires -2147483648 <= number <= 2147483647"))?.to_be_bytes().to_vec(),
                _ => crate::py::repr::repr(&post).into_bytes(),
            };
            match self.core.set(&self.path, data, version) {
                Ok(_) => {
                    *self.post.borrow_mut() = post;
                    Ok(Value::None)
                }
                Err(e) if is_exc(&e, "BadVersionError") => {
                    *self.pre.borrow_mut() = Value::None;
                    *self.post.borrow_mut() = Value::None;
                    Err(raise("ForceRetryError", vec![]))
                }
                Err(e) => Err(e),
            }
        })?;
        Ok(())
    }
}

impl NativeObject for Counter {
    fn type_name(&self) -> &str {
        "Counter"
    }
    fn get_attr(&self, _this: &Rc<dyn NativeObject>, name: &str, _it: &mut Interpreter) -> PResult<NativeAttr> {
        Ok(match name {
            "value" => NativeAttr::Value(self.read()?.0),
            "pre_value" => NativeAttr::Value(self.pre.borrow().clone()),
            "post_value" => NativeAttr::Value(self.post.borrow().clone()),
            "path" => NativeAttr::Value(Value::str(&self.path)),
            "default" => NativeAttr::Value(self.default.clone()),
            _ => NativeAttr::Missing,
        })
    }
    fn binary_op(&self, this: &Rc<dyn NativeObject>, op: BinOp, other: &Value, reflected: bool, it: &mut Interpreter) -> PResult<Option<Value>> {
        if reflected {
            return Ok(None);
        }
        let delta = match op {
            BinOp::Add => other.clone(),
            BinOp::Sub => match other {
                Value::Int(i) => Value::Int(-i),
                Value::Float(f) => Value::Float(-f),
                _ => return Err(PyErr::new(ExcType::TypeError, "invalid type for value change")),
            },
            _ => return Ok(None),
        };
        self.change(&delta, it)?;
        Ok(Some(Value::Native(this.clone())))
    }
    fn repr(&self) -> String {
        "<kazoo.recipe.counter.Counter object at 0x7f0000003000>".into()
    }
    fn class_module(&self) -> Option<&str> {
        Some("kazoo.recipe.counter")
    }
    fn pickle(&self) -> Pickle {
        Pickle::Unpicklable("_thread.lock".into())
    }
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

// ----- Lock and Election -----

const LOCK_NAME: &str = "__lock__";

pub struct Lock {
    core: Rc<ClientCore>,
    path: String,
    data: Vec<u8>,
    prefix: String,
    node: RefCell<Option<String>>,
    acquired: RefCell<bool>,
}

/// A lock node's sequence number: its last ten digits.
fn seq_of(name: &str) -> u64 {
    name.get(name.len().saturating_sub(10)..).and_then(|d| d.parse().ok()).unwrap_or(u64::MAX)
}

impl Lock {
    fn new(core: Rc<ClientCore>, path: String, data: Vec<u8>) -> Lock {
        let prefix = format!("{}{LOCK_NAME}", core.kazoo().uuid_hex());
        Lock { core, path, data, prefix, node: RefCell::new(None), acquired: RefCell::new(false) }
    }

    /// The lock's contending nodes in sequence order.
    fn sorted_children(&self) -> PResult<Vec<String>> {
        let (mut children, _) = self.core.children(&self.path, false)?;
        children.retain(|c| c.contains(LOCK_NAME));
        children.sort_by_key(|c| seq_of(c));
        Ok(children)
    }

    /// `acquire(blocking=True, timeout=None)`.
    fn acquire(&self, blocking: bool, timeout_ms: Option<u64>) -> PResult<bool> {
        if *self.acquired.borrow() {
            // kazoo guards acquire with a plain (non-reentrant) thread lock: a second
            // acquire by the holder fails without touching ZooKeeper.
            return Ok(false);
        }
        self.core.ensure_path(&self.path)?;
        let node = self.core.create(&format!("{}/{}", self.path, self.prefix), self.data.clone(), true, true, false)?;
        let name = node[self.path.len() + 1..].to_string();
        *self.node.borrow_mut() = Some(name.clone());
        loop {
            let children = self.sorted_children()?;
            let Some(i) = children.iter().position(|c| *c == name) else {
                // Our node vanished (the session expired): kazoo raises ForceRetryError and retries.
                *self.node.borrow_mut() = None;
                return Err(raise("ForceRetryError", vec![]));
            };
            if i == 0 {
                *self.acquired.borrow_mut() = true;
                return Ok(true);
            }
            if !blocking {
                self.cleanup()?;
                return Ok(false);
            }
            let predecessor = format!("{}/{}", self.path, children[i - 1]);
            let exists = match self.core.op(Op::Exists { path: predecessor, watch: true })? {
                Ok(OpResult::Stat(_)) => true,
                Ok(_) => false,
                Err(e) => return Err(zk_error(e)),
            };
            if exists && !self.core.await_watch(timeout_ms)? {
                self.cleanup()?;
                return Err(raise("LockTimeout", vec![Value::str(&format!("Failed to acquire lock on {} after {} seconds", self.path, timeout_ms.unwrap_or(0) as f64 / 1000.0))]));
            }
        }
    }

    fn cleanup(&self) -> PResult<()> {
        if let Some(n) = self.node.borrow_mut().take() {
            match self.core.op(Op::Delete { path: format!("{}/{n}", self.path), version: -1 })? {
                Ok(_) | Err(ZkError::NoNode) => {}
                Err(e) => return Err(zk_error(e)),
            }
        }
        Ok(())
    }

    fn release(&self) -> PResult<bool> {
        if !*self.acquired.borrow() {
            return Ok(false);
        }
        self.cleanup()?;
        *self.acquired.borrow_mut() = false;
        Ok(true)
    }

    /// The identifiers of the contenders, holder first (`contenders()`).
    fn contenders(&self) -> PResult<Vec<Value>> {
        let children = match self.sorted_children() {
            Ok(c) => c,
            Err(e) if is_exc(&e, "NoNodeError") => return Ok(vec![]),
            Err(e) => return Err(e),
        };
        let mut out = vec![];
        for c in children {
            match self.core.get(&format!("{}/{c}", self.path), false) {
                Ok((data, _)) => out.push(Value::str(&String::from_utf8_lossy(&data))),
                Err(e) if is_exc(&e, "NoNodeError") => {}
                Err(e) => return Err(e),
            }
        }
        Ok(out)
    }

    fn method(&self, name: &str, args: &[Value], kwargs: &[(Str, Value)]) -> PResult<Value> {
        match name {
            "acquire" | "__enter__" => {
                let blocking = arg(args, kwargs, 0, "blocking").is_none_or(|v| v.truthy());
                let timeout = match arg(args, kwargs, 1, "timeout") {
                    Some(Value::Int(i)) => Some(i as u64 * 1000),
                    Some(Value::Float(f)) => Some((f * 1000.0) as u64),
                    _ => None,
                };
                let got = self.acquire(blocking, timeout)?;
                Ok(if name == "__enter__" { Value::None } else { Value::Bool(got) })
            }
            "release" => Ok(Value::Bool(self.release()?)),
            "__exit__" => {
                self.release()?;
                Ok(Value::Bool(false))
            }
            "contenders" => Ok(Value::list(self.contenders()?)),
            _ => Err(PyErr::new(ExcType::AttributeError, format!("'Lock' object has no attribute '{name}'"))),
        }
    }
}

impl NativeObject for Lock {
    fn type_name(&self) -> &str {
        "Lock"
    }
    fn get_attr(&self, _this: &Rc<dyn NativeObject>, name: &str, _it: &mut Interpreter) -> PResult<NativeAttr> {
        Ok(match name {
            "acquire" | "release" | "contenders" | "__enter__" | "__exit__" | "cancel" => NativeAttr::Method,
            "is_acquired" => NativeAttr::Value(Value::Bool(*self.acquired.borrow())),
            "path" => NativeAttr::Value(Value::str(&self.path)),
            "prefix" => NativeAttr::Value(Value::str(&self.prefix)),
            "identifier" => NativeAttr::Value(Value::str(&String::from_utf8_lossy(&self.data))),
            "node" => NativeAttr::Value(self.node.borrow().as_deref().map_or(Value::None, Value::str)),
            _ => NativeAttr::Missing,
        })
    }
    fn call_method(&self, _this: &Rc<dyn NativeObject>, name: &str, args: Vec<Value>, kwargs: Vec<(Str, Value)>, _it: &mut Interpreter) -> PResult<Value> {
        if name == "cancel" {
            return Ok(Value::None);
        }
        self.method(name, &args, &kwargs)
    }
    fn repr(&self) -> String {
        "<kazoo.recipe.lock.Lock object at 0x7f0000004000>".into()
    }
    fn class_module(&self) -> Option<&str> {
        Some("kazoo.recipe.lock")
    }
    fn pickle(&self) -> Pickle {
        Pickle::Unpicklable("_thread.lock".into())
    }
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

pub struct Election {
    lock: Rc<Lock>,
}

impl NativeObject for Election {
    fn type_name(&self) -> &str {
        "Election"
    }
    fn get_attr(&self, _this: &Rc<dyn NativeObject>, name: &str, _it: &mut Interpreter) -> PResult<NativeAttr> {
        Ok(match name {
            "run" | "cancel" | "contenders" => NativeAttr::Method,
            "path" => NativeAttr::Value(Value::str(&self.lock.path)),
            "lock" => NativeAttr::Value(Value::Native(self.lock.clone())),
            _ => NativeAttr::Missing,
        })
    }
    /// `run(func, *args)`: blocks until elected, runs `func`, then gives up leadership.
    fn call_method(&self, _this: &Rc<dyn NativeObject>, name: &str, args: Vec<Value>, kwargs: Vec<(Str, Value)>, it: &mut Interpreter) -> PResult<Value> {
        match name {
            "run" => {
                let Some(f) = args.first().cloned() else {
                    return Err(PyErr::new(ExcType::TypeError, "run() missing 1 required positional argument: 'func'"));
                };
                if !matches!(f, Value::Function(_) | Value::Builtin(_) | Value::Method(_) | Value::Native(_) | Value::NativeMethod(_) | Value::Class(_)) {
                    return Err(PyErr::new(ExcType::ValueError, "leader function is not callable"));
                }
                self.lock.acquire(true, None)?;
                let r = it.call(&f, args[1..].to_vec(), kwargs);
                if r.as_ref().is_err_and(|e| e.fatal) {
                    return r;
                }
                self.lock.release()?;
                r.map(|_| Value::None)
            }
            "contenders" => Ok(Value::list(self.lock.contenders()?)),
            _ => Ok(Value::None),
        }
    }
    fn repr(&self) -> String {
        "<kazoo.recipe.election.Election object at 0x7f0000005000>".into()
    }
    fn pickle(&self) -> Pickle {
        Pickle::Unpicklable("_thread.lock".into())
    }
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

// ----- Barrier and Queue -----

pub struct Barrier {
    core: Rc<ClientCore>,
    path: String,
}

impl NativeObject for Barrier {
    fn type_name(&self) -> &str {
        "Barrier"
    }
    fn get_attr(&self, _this: &Rc<dyn NativeObject>, name: &str, _it: &mut Interpreter) -> PResult<NativeAttr> {
        Ok(match name {
            "create" | "remove" | "wait" => NativeAttr::Method,
            "path" => NativeAttr::Value(Value::str(&self.path)),
            _ => NativeAttr::Missing,
        })
    }
    fn call_method(&self, _this: &Rc<dyn NativeObject>, name: &str, args: Vec<Value>, kwargs: Vec<(Str, Value)>, _it: &mut Interpreter) -> PResult<Value> {
        match name {
            "create" => {
                self.core.ensure_path(&self.path)?;
                Ok(Value::None)
            }
            "remove" => match self.core.delete(&self.path, -1, false) {
                Ok(_) => Ok(Value::Bool(true)),
                Err(e) if is_exc(&e, "NoNodeError") => Ok(Value::Bool(false)),
                Err(e) => Err(e),
            },
            _ => {
                let timeout = match arg(&args, &kwargs, 0, "timeout") {
                    Some(Value::Int(i)) => Some(i as u64 * 1000),
                    Some(Value::Float(f)) => Some((f * 1000.0) as u64),
                    _ => None,
                };
                loop {
                    let exists = match self.core.op(Op::Exists { path: self.path.clone(), watch: true })? {
                        Ok(OpResult::Stat(_)) => true,
                        Ok(_) => false,
                        Err(e) => return Err(zk_error(e)),
                    };
                    if !exists {
                        return Ok(Value::Bool(true));
                    }
                    if !self.core.await_watch(timeout)? {
                        return Ok(Value::Bool(false));
                    }
                }
            }
        }
    }
    fn repr(&self) -> String {
        "<kazoo.recipe.barrier.Barrier object at 0x7f0000006000>".into()
    }
    fn pickle(&self) -> Pickle {
        Pickle::Unpicklable("_thread.lock".into())
    }
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

pub struct Queue {
    core: Rc<ClientCore>,
    path: String,
    children: RefCell<Vec<String>>,
    ensured: RefCell<bool>,
}

impl Queue {
    fn ensure(&self) -> PResult<()> {
        if !*self.ensured.borrow() {
            self.core.ensure_path(&self.path)?;
            *self.ensured.borrow_mut() = true;
        }
        Ok(())
    }
}

impl NativeObject for Queue {
    fn type_name(&self) -> &str {
        "Queue"
    }
    fn get_attr(&self, _this: &Rc<dyn NativeObject>, name: &str, _it: &mut Interpreter) -> PResult<NativeAttr> {
        Ok(match name {
            "put" | "get" | "put_all" | "__len__" => NativeAttr::Method,
            "path" => NativeAttr::Value(Value::str(&self.path)),
            _ => NativeAttr::Missing,
        })
    }
    fn call_method(&self, _this: &Rc<dyn NativeObject>, name: &str, args: Vec<Value>, kwargs: Vec<(Str, Value)>, it: &mut Interpreter) -> PResult<Value> {
        self.ensure()?;
        match name {
            "put" => {
                let Value::Bytes(value) = need(&args, &kwargs, 0, "value", "put")? else {
                    return Err(PyErr::new(ExcType::TypeError, "value must be a byte string"));
                };
                let value = value.to_vec();
                let priority = match arg(&args, &kwargs, 1, "priority") {
                    None => 100,
                    Some(Value::Int(p)) => p,
                    Some(_) => return Err(PyErr::new(ExcType::TypeError, "priority must be an int")),
                };
                if !(0..=999).contains(&priority) {
                    return Err(PyErr::new(ExcType::ValueError, "priority must be between 0 and 999"));
                }
                self.core.create(&format!("{}/entry-{priority:03}-", self.path), value, false, true, false)?;
                Ok(Value::None)
            }
            "put_all" => {
                let values = it.collect(&need(&args, &kwargs, 0, "values", "put_all")?)?;
                let priority = arg(&args, &kwargs, 1, "priority").and_then(|v| v.as_int()).unwrap_or(100);
                for v in values {
                    self.core.create(&format!("{}/entry-{priority:03}-", self.path), bytes_arg(&v)?, false, true, false)?;
                }
                Ok(Value::None)
            }
            "__len__" => Ok(Value::Int(self.core.children(&self.path, false)?.0.len() as i64)),
            _ => loop {
                if self.children.borrow().is_empty() {
                    let (mut c, _) = self.core.children(&self.path, false)?;
                    c.sort();
                    *self.children.borrow_mut() = c;
                }
                let Some(first) = self.children.borrow().first().cloned() else { return Ok(Value::None) };
                let path = format!("{}/{first}", self.path);
                let got = self.core.get(&path, false).and_then(|(data, _)| self.core.delete(&path, -1, false).map(|_| data));
                self.children.borrow_mut().remove(0);
                match got {
                    Ok(data) => return Ok(Value::Bytes(Rc::new(data))),
                    Err(e) if is_exc(&e, "NoNodeError") => continue,
                    Err(e) => return Err(e),
                }
            },
        }
    }
    fn repr(&self) -> String {
        "<kazoo.recipe.queue.Queue object at 0x7f0000007000>".into()
    }
    fn pickle(&self) -> Pickle {
        Pickle::Unpicklable("_thread.lock".into())
    }
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}
