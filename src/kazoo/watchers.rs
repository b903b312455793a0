//! `DataWatch` and `ChildrenWatch`, and the `time.sleep` that lets them run.
//!
//! kazoo calls a watcher once at registration (in the caller's thread) and then from its event
//! thread after each change. The job language has no threads, so watch events are delivered
//! while the program sleeps: `time.sleep(s)` waits on the session's watch events for `s` of
//! virtual time and, for each one, re-reads the node (leaving a new watch) and calls the
//! watchers of that path, as kazoo's event thread would.
//!
//! ```text
//!  time.sleep(1) ─▶ AwaitWatch(1000 ms) ─▶ Watch{NodeDataChanged /cfg, after 300 ms}
//!                   ─▶ get(/cfg, watch) ─▶ func(b"v2", stat, WatchedEvent(CHANGED, /cfg))
//!               ─▶ AwaitWatch(700 ms) ─▶ Timeout ─▶ sleep returns
//! ```

use super::client::ClientCore;
use super::{is_exc, zk_error, Kazoo, ZnodeStat};
use crate::py::{ExcType, Interpreter, NativeAttr, NativeObject, PResult, Pickle, PyErr, Str, Value};
use crate::zk::port::{ZkReply, ZkRequest};
use crate::zk::watch::{WatchEventType, WatchedEvent};
use crate::zk::{Op, OpResult};
use std::cell::Cell;
use std::rc::Rc;

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Data,
    Children,
}

pub struct Watcher {
    kind: Kind,
    path: String,
    func: Value,
    core: Rc<ClientCore>,
    stopped: Cell<bool>,
    /// The mzxid (or absence) last reported, so a re-read that found nothing new is quiet.
    last: Cell<Option<i64>>,
}

/// `zk.DataWatch(path, func=None)` / `zk.ChildrenWatch(path, func=None)`: with a function,
/// registers it; without, returns a decorator.
/// Either way the result is the watch object, which takes one function.
pub fn make(kind: Kind, core: Rc<ClientCore>, path: String, func: Option<Value>, it: &mut Interpreter) -> PResult<Value> {
    let d = Decorator { kind, core, path, used: Cell::new(false) };
    if let Some(f) = func.filter(|f| !f.is_none()) {
        d.associate(f, it)?;
    }
    Ok(Value::Native(Rc::new(d)))
}

fn register(kind: Kind, core: Rc<ClientCore>, path: String, func: Value, it: &mut Interpreter) -> PResult<()> {
    let w = Rc::new(Watcher { kind, path, func, core: core.clone(), stopped: Cell::new(false), last: Cell::new(None) });
    core.kazoo().watchers.borrow_mut().push(w.clone());
    fire(&w, None, it)
}

/// Reads the watched node again (leaving a new watch) and calls the function if something
/// changed, or at registration (`event` None).
fn fire(w: &Rc<Watcher>, event: Option<&WatchedEvent>, it: &mut Interpreter) -> PResult<()> {
    if w.stopped.get() {
        return Ok(());
    }
    let ev = event.map(event_value).unwrap_or(Value::None);
    let args = match w.kind {
        Kind::Data => {
            let read = match w.core.op(Op::GetData { path: w.path.clone(), watch: true })? {
                Ok(OpResult::Data { data, stat }) => Some((data, stat)),
                Err(crate::zk::ZkError::NoNode) => match w.core.op(Op::Exists { path: w.path.clone(), watch: true })? {
                    Ok(_) => None,
                    Err(e) => return Err(zk_error(e)),
                },
                Ok(_) => None,
                Err(e) => return Err(zk_error(e)),
            };
            let mzxid = read.as_ref().map(|(_, s)| s.mzxid.0 as i64);
            if event.is_some() && mzxid == w.last.get() {
                return Ok(());
            }
            w.last.set(mzxid);
            match read {
                Some((data, stat)) => vec![Value::Bytes(Rc::new(data)), ZnodeStat::value(&stat), ev],
                None => vec![Value::None, Value::None, ev],
            }
        }
        Kind::Children => {
            let children = match w.core.op(Op::GetChildren { path: w.path.clone(), watch: true })? {
                Ok(OpResult::Children { children, .. }) => children,
                // kazoo stops a ChildrenWatch whose node is gone (and never calls it).
                Err(crate::zk::ZkError::NoNode) => {
                    w.stopped.set(true);
                    return Ok(());
                }
                Ok(_) => vec![],
                Err(e) => return Err(zk_error(e)),
            };
            vec![Value::list(children.iter().map(|c| Value::str(c)).collect())]
        }
    };
    let r = match w.kind {
        Kind::Data => match it.call(&w.func, args.clone(), vec![]) {
            // kazoo retries with (data, stat) when the function does not take the event.
            Err(e) if !e.fatal && e.exc.class.is_subclass(&crate::py::error::exc_class(ExcType::TypeError)) && e.last_line().contains("positional argument") => {
                it.call(&w.func, args[..2].to_vec(), vec![])
            }
            r => r,
        },
        Kind::Children => it.call(&w.func, args, vec![]),
    }?;
    if matches!(r, Value::Bool(false)) {
        w.stopped.set(true);
    }
    Ok(())
}

/// `WatchedEvent(type='CHANGED', state='CONNECTED', path='/w')`, kazoo's namedtuple.
fn event_value(e: &WatchedEvent) -> Value {
    let t = match e.event_type {
        WatchEventType::NodeCreated => "CREATED",
        WatchEventType::NodeDeleted => "DELETED",
        WatchEventType::NodeDataChanged => "CHANGED",
        WatchEventType::NodeChildrenChanged => "CHILD",
        _ => "NONE",
    };
    Value::Native(Rc::new(EventTuple { kind: t, path: e.path.clone().unwrap_or_default() }))
}

struct EventTuple {
    kind: &'static str,
    path: String,
}

impl NativeObject for EventTuple {
    fn type_name(&self) -> &str {
        "WatchedEvent"
    }
    fn get_attr(&self, _this: &Rc<dyn NativeObject>, name: &str, _it: &mut Interpreter) -> PResult<NativeAttr> {
        Ok(match name {
            "type" => NativeAttr::Value(Value::str(self.kind)),
            "state" => NativeAttr::Value(Value::str("CONNECTED")),
            "path" => NativeAttr::Value(Value::str(&self.path)),
            "__len__" | "__getitem__" => NativeAttr::Method,
            _ => NativeAttr::Missing,
        })
    }
    fn call_method(&self, _this: &Rc<dyn NativeObject>, name: &str, args: Vec<Value>, _kw: Vec<(Str, Value)>, _it: &mut Interpreter) -> PResult<Value> {
        let items = [Value::str(self.kind), Value::str("CONNECTED"), Value::str(&self.path)];
        match name {
            "__len__" => Ok(Value::Int(3)),
            _ => {
                let i = args.first().and_then(|v| v.as_int()).unwrap_or(0);
                let j = if i < 0 { i + 3 } else { i };
                items.get(j as usize).cloned().ok_or_else(|| PyErr::new(ExcType::IndexError, "tuple index out of range"))
            }
        }
    }
    fn iterate(&self, _this: &Rc<dyn NativeObject>, _it: &mut Interpreter) -> PResult<Option<Vec<Value>>> {
        Ok(Some(vec![Value::str(self.kind), Value::str("CONNECTED"), Value::str(&self.path)]))
    }
    fn is_tuple(&self) -> bool {
        true
    }
    fn repr(&self) -> String {
        format!("WatchedEvent(type='{}', state='CONNECTED', path='{}')", self.kind, self.path)
    }
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

struct Decorator {
    kind: Kind,
    core: Rc<ClientCore>,
    path: String,
    used: Cell<bool>,
}

impl Decorator {
    fn associate(&self, f: Value, it: &mut Interpreter) -> PResult<()> {
        if self.used.replace(true) {
            let what = if self.kind == Kind::Data { "DataWatch" } else { "ChildrenWatch" };
            return Err(super::raise("KazooException", vec![Value::str(&format!("A function has already been associated with this {what} instance."))]));
        }
        register(self.kind, self.core.clone(), self.path.clone(), f, it)
    }
}

impl NativeObject for Decorator {
    fn type_name(&self) -> &str {
        if self.kind == Kind::Data {
            "DataWatch"
        } else {
            "ChildrenWatch"
        }
    }
    fn call(&self, _this: &Rc<dyn NativeObject>, args: Vec<Value>, _kw: Vec<(Str, Value)>, it: &mut Interpreter) -> PResult<Value> {
        let f = args.into_iter().next().ok_or_else(|| PyErr::new(ExcType::TypeError, "__call__() missing 1 required positional argument: 'func'"))?;
        self.associate(f.clone(), it)?;
        Ok(f)
    }
    fn pickle(&self) -> Pickle {
        Pickle::Unpicklable("_thread.lock".into())
    }
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

/// `time.sleep(secs)`: virtual time passes; watch events of the sessions with live watchers
/// are delivered meanwhile. Without an ensemble (local mode) it only moves `time.time()`.
pub fn sleep(k: &Kazoo, it: &mut Interpreter, secs: f64) -> PResult<()> {
    if !(secs >= 0.0) {
        return Err(PyErr::new(ExcType::ValueError, "sleep length must be non-negative"));
    }
    it.virtual_time_s += secs;
    if !k.gate.borrow().online {
        return Ok(());
    }
    let ms = (secs * 1000.0).round() as u64;
    let watched = k.watchers.borrow().iter().rev().find(|w| !w.stopped.get() && w.core.is_connected()).map(|w| w.core.clone());
    let Some(core) = watched else {
        k.gate.borrow_mut().call(0, ZkRequest::Sleep { ms })?;
        return Ok(());
    };
    let mut left = ms;
    loop {
        match core.request(ZkRequest::AwaitWatch { timeout_ms: Some(left) })? {
            ZkReply::Watch { event, waited_ms } => {
                left = left.saturating_sub(waited_ms);
                let path = event.path.clone().unwrap_or_default();
                let hit: Vec<Rc<Watcher>> = k
                    .watchers
                    .borrow()
                    .iter()
                    .filter(|w| Rc::ptr_eq(&w.core, &core) && w.path == path && !w.stopped.get())
                    .filter(|w| match w.kind {
                        Kind::Data => event.event_type != WatchEventType::NodeChildrenChanged,
                        Kind::Children => matches!(event.event_type, WatchEventType::NodeChildrenChanged | WatchEventType::NodeDeleted),
                    })
                    .cloned()
                    .collect();
                for w in hit {
                    match fire(&w, Some(&event), it) {
                        Err(e) if !e.fatal && is_exc(&e, "NoNodeError") => {}
                        r => r?,
                    }
                }
            }
            _ => return Ok(()),
        }
    }
}

/// `time.sleep` as the `time` module's attribute.
pub struct Sleep(pub Rc<Kazoo>);

impl NativeObject for Sleep {
    fn type_name(&self) -> &str {
        "builtin_function_or_method"
    }
    fn call(&self, _this: &Rc<dyn NativeObject>, args: Vec<Value>, _kw: Vec<(Str, Value)>, it: &mut Interpreter) -> PResult<Value> {
        let secs = match args.first() {
            Some(Value::Int(i)) => *i as f64,
            Some(Value::Float(f)) => *f,
            Some(Value::Bool(b)) => f64::from(u8::from(*b)),
            Some(other) => return Err(PyErr::new(ExcType::TypeError, format!("'{}' object cannot be interpreted as an integer", other.type_name()))),
            None => return Err(PyErr::new(ExcType::TypeError, "time.sleep() takes exactly one argument (0 given)")),
        };
        sleep(&self.0, it, secs)?;
        Ok(Value::None)
    }
    fn repr(&self) -> String {
        "<built-in function sleep>".into()
    }
    fn pickle(&self) -> Pickle {
        Pickle::State(crate::py::PickledNative { kind: "time.sleep".into(), state: vec![] })
    }
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}
