//! `kazoo.client.KazooClient` and its `TransactionRequest`.

use super::{arg, bytes_arg, is_exc, need, raise, str_arg, truthy_kw, zk_error, Kazoo, ZnodeStat};
use crate::py::{ExcType, Interpreter, NativeAttr, NativeObject, PResult, Pickle, PickledNative, PyErr, Str, Value};
use crate::zk::port::{Handle, ZkReply, ZkRequest};
use crate::zk::{Acl, CreateMode, Op, OpResult, ZkError};
use std::cell::RefCell;
use std::rc::Rc;

const CLASS_KIND: &str = "kazoo.client.KazooClient";

/// `KazooClient` the class: callable, and shipped to executors by reference.
pub struct KazooClientClass {
    pub kazoo: Rc<Kazoo>,
}

impl NativeObject for KazooClientClass {
    fn type_name(&self) -> &str {
        "type"
    }
    fn call(&self, _this: &Rc<dyn NativeObject>, args: Vec<Value>, kwargs: Vec<(Str, Value)>, _it: &mut Interpreter) -> PResult<Value> {
        let hosts = match arg(&args, &kwargs, 0, "hosts") {
            Some(v) => str_arg(&v, "hosts")?,
            None => "127.0.0.1:2181".to_string(),
        };
        let timeout_s = match arg(&args, &kwargs, 1, "timeout") {
            Some(Value::Int(i)) => i as f64,
            Some(Value::Float(f)) => f,
            _ => 10.0,
        };
        let core = ClientCore {
            kazoo: self.kazoo.clone(),
            hosts,
            timeout_ms: (timeout_s * 1000.0) as u32,
            conn: RefCell::new(Conn { handle: None, session: 0, keeper: Keeper::Closed }),
        };
        Ok(Value::Native(Rc::new(KazooClient(Rc::new(core)))))
    }
    fn get_attr(&self, _this: &Rc<dyn NativeObject>, name: &str, _it: &mut Interpreter) -> PResult<NativeAttr> {
        Ok(match name {
            "__name__" | "__qualname__" => NativeAttr::Value(Value::str("KazooClient")),
            "__module__" => NativeAttr::Value(Value::str("kazoo.client")),
            _ => NativeAttr::Missing,
        })
    }
    fn repr(&self) -> String {
        "<class 'kazoo.client.KazooClient'>".into()
    }
    fn pickle(&self) -> Pickle {
        Pickle::State(PickledNative { kind: CLASS_KIND.into(), state: vec![] })
    }
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

/// Lets an executor's interpreter revive the `KazooClient` class a shipped function names.
pub fn register_reviver(interp: &mut Interpreter, kazoo: Rc<Kazoo>) {
    let revive = move |_p: &PickledNative, _it: &mut Interpreter| -> PResult<Value> {
        Ok(Value::Native(Rc::new(KazooClientClass { kazoo: kazoo.clone() })))
    };
    interp.register_reviver(CLASS_KIND, Rc::new(revive));
}

/// The client's `KeeperState` as kazoo tracks it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Keeper {
    Closed,
    Connected,
    Expired,
}

struct Conn {
    handle: Option<Handle>,
    session: i64,
    keeper: Keeper,
}

/// A client's state, shared with the recipes bound to it.
pub struct ClientCore {
    kazoo: Rc<Kazoo>,
    pub hosts: String,
    timeout_ms: u32,
    conn: RefCell<Conn>,
}

/// How long kazoo's `retry` sleeps before attempt n: 0.1 s doubling (up to a minute here),
/// times a jitter in [0.6, 1.4] (`max_jitter` 0.4) drawn from the run's seeded sequence, so
/// two clients that collided do not collide again in lockstep, and a replay draws the same.
fn backoff_ms(attempt: u32, draw: u64) -> u64 {
    let base = (100u64 << attempt.min(15)).min(60_000);
    let jitter = 0.6 + 0.8 * ((draw >> 11) as f64 / (1u64 << 53) as f64);
    (base as f64 * jitter) as u64
}

impl ClientCore {
    pub fn kazoo(&self) -> &Rc<Kazoo> {
        &self.kazoo
    }

    pub fn is_connected(&self) -> bool {
        self.conn.borrow().keeper == Keeper::Connected
    }

    /// A request on this client's session (errors if it is not connected).
    pub fn request(&self, req: ZkRequest) -> PResult<ZkReply> {
        self.call(req)
    }

    fn call(&self, req: ZkRequest) -> PResult<ZkReply> {
        let handle = {
            let c = self.conn.borrow();
            match c.keeper {
                Keeper::Closed => return Err(raise("ConnectionClosedError", vec![Value::str("Connection has been closed")])),
                Keeper::Expired => return Err(raise("SessionExpiredError", vec![])),
                Keeper::Connected => c.handle.expect("a connected client has a session"),
            }
        };
        self.kazoo.gate.borrow_mut().call(handle, req)
    }

    /// Sends `op`; its result, or the ZooKeeper error it failed with (still to be raised).
    pub fn op(&self, op: Op) -> PResult<Result<OpResult, ZkError>> {
        match self.call(ZkRequest::Op(op))? {
            ZkReply::Op(r) => {
                if r == Err(ZkError::SessionExpired) {
                    self.conn.borrow_mut().keeper = Keeper::Expired;
                }
                Ok(r)
            }
            other => Err(PyErr::new(ExcType::RuntimeError, format!("unexpected answer {other:?}"))),
        }
    }

    /// Sleeps `ms` of virtual time (`time.sleep` inside kazoo's retry).
    pub fn sleep(&self, ms: u64) -> PResult<()> {
        let handle = self.conn.borrow().handle.unwrap_or(0);
        self.kazoo.gate.borrow_mut().call(handle, ZkRequest::Sleep { ms })?;
        Ok(())
    }

    /// Waits for the next watch event of this session, or `timeout_ms`: whether one came.
    pub fn await_watch(&self, timeout_ms: Option<u64>) -> PResult<bool> {
        Ok(matches!(self.call(ZkRequest::AwaitWatch { timeout_ms })?, ZkReply::Watch { .. }))
    }

    fn start(&self) -> PResult<()> {
        if self.conn.borrow().keeper == Keeper::Connected {
            return Ok(());
        }
        let handle = self.kazoo.gate.borrow_mut().new_handle();
        let online = self.kazoo.gate.borrow().online;
        let reply = if online {
            let req = ZkRequest::Open { hosts: self.hosts.clone(), timeout_ms: self.timeout_ms };
            self.kazoo.gate.borrow_mut().call(handle, req)?
        } else {
            ZkReply::OpenTimedOut
        };
        match reply {
            ZkReply::Opened { session, .. } => {
                *self.conn.borrow_mut() = Conn { handle: Some(handle), session: session as i64, keeper: Keeper::Connected };
                Ok(())
            }
            _ => Err(PyErr::from_instance(crate::py::error::new_exception(
                super::exception("KazooTimeoutError"),
                vec![Value::str("Connection time-out")],
            ))),
        }
    }

    fn stop(&self) -> PResult<()> {
        let open = { self.conn.borrow().keeper == Keeper::Connected };
        if open {
            self.call(ZkRequest::Close)?;
        }
        self.conn.borrow_mut().keeper = Keeper::Closed;
        Ok(())
    }

    pub fn create(&self, path: &str, data: Vec<u8>, ephemeral: bool, sequence: bool, makepath: bool) -> PResult<String> {
        let mode = match (ephemeral, sequence) {
            (false, false) => CreateMode::Persistent,
            (false, true) => CreateMode::PersistentSequential,
            (true, false) => CreateMode::Ephemeral,
            (true, true) => CreateMode::EphemeralSequential,
        };
        let op = Op::Create { path: path.to_string(), data: data.clone(), acl: Acl::open_unsafe(), mode, ttl_ms: None };
        match self.op(op.clone())? {
            Ok(OpResult::Created { path, .. }) => Ok(path),
            Err(ZkError::NoNode) if makepath => {
                self.ensure_path(parent(path))?;
                match self.op(op)? {
                    Ok(OpResult::Created { path, .. }) => Ok(path),
                    Ok(_) => Ok(path.to_string()),
                    Err(e) => Err(zk_error(e)),
                }
            }
            Ok(_) => Ok(path.to_string()),
            Err(e) => Err(zk_error(e)),
        }
    }

    /// kazoo's `ensure_path`: `exists`, else make the parent, then create (a node someone
    /// else made meanwhile is fine).
    /// Whether it created `path` (kazoo returns the path then, `True` if it existed).
    pub fn ensure_path(&self, path: &str) -> PResult<bool> {
        if path.is_empty() || path == "/" {
            return Ok(false);
        }
        if self.exists(path)?.is_some() {
            return Ok(false);
        }
        self.ensure_path(parent(path))?;
        let op = Op::Create { path: path.to_string(), data: vec![], acl: Acl::open_unsafe(), mode: CreateMode::Persistent, ttl_ms: None };
        match self.op(op)? {
            Ok(_) => Ok(true),
            Err(ZkError::NodeExists) => Ok(false),
            Err(e) => Err(zk_error(e)),
        }
    }

    pub fn exists(&self, path: &str) -> PResult<Option<crate::zk::Stat>> {
        match self.op(Op::Exists { path: path.to_string(), watch: false })? {
            Ok(OpResult::Stat(s)) => Ok(Some(s)),
            Ok(_) => Ok(None),
            Err(e) => Err(zk_error(e)),
        }
    }

    pub fn get(&self, path: &str, watch: bool) -> PResult<(Vec<u8>, crate::zk::Stat)> {
        match self.op(Op::GetData { path: path.to_string(), watch })? {
            Ok(OpResult::Data { data, stat }) => Ok((data, stat)),
            Ok(other) => Err(PyErr::new(ExcType::RuntimeError, format!("unexpected result {other:?}"))),
            Err(e) => Err(zk_error(e)),
        }
    }

    pub fn set(&self, path: &str, data: Vec<u8>, version: i32) -> PResult<crate::zk::Stat> {
        match self.op(Op::SetData { path: path.to_string(), data, version })? {
            Ok(OpResult::Stat(s)) => Ok(s),
            Ok(other) => Err(PyErr::new(ExcType::RuntimeError, format!("unexpected result {other:?}"))),
            Err(e) => Err(zk_error(e)),
        }
    }

    pub fn children(&self, path: &str, watch: bool) -> PResult<(Vec<String>, crate::zk::Stat)> {
        match self.op(Op::GetChildren { path: path.to_string(), watch })? {
            Ok(OpResult::Children { children, stat }) => Ok((children, stat)),
            Ok(other) => Err(PyErr::new(ExcType::RuntimeError, format!("unexpected result {other:?}"))),
            Err(e) => Err(zk_error(e)),
        }
    }

    /// `delete`; with `recursive`, whether the node was already missing (kazoo returns
    /// `True` then, `None` after deleting).
    pub fn delete(&self, path: &str, version: i32, recursive: bool) -> PResult<bool> {
        if recursive {
            let children = match self.children(path, false) {
                Ok((c, _)) => c,
                Err(e) if is_exc(&e, "NoNodeError") => return Ok(true),
                Err(e) => return Err(e),
            };
            for c in children {
                let child = if path == "/" { format!("/{c}") } else { format!("{path}/{c}") };
                self.delete(&child, -1, true)?;
            }
            return match self.op(Op::Delete { path: path.to_string(), version })? {
                Ok(_) | Err(ZkError::NoNode) => Ok(false),
                Err(e) => Err(zk_error(e)),
            };
        }
        match self.op(Op::Delete { path: path.to_string(), version })? {
            Ok(_) => Ok(false),
            Err(e) => Err(zk_error(e)),
        }
    }

    /// `client.retry(func, *args)`: calls until it does not raise ConnectionLoss,
    /// OperationTimeoutError, ForceRetryError or SessionExpiredError (kazoo's default
    /// `KazooRetry`: unlimited tries, backoff from 0.1 s doubling).
    pub fn retry(&self, it: &mut Interpreter, mut f: impl FnMut(&mut Interpreter) -> PResult<Value>) -> PResult<Value> {
        let mut attempt = 0;
        loop {
            match f(it) {
                Err(e) if !e.fatal && is_retryable(&e) => {
                    if is_exc(&e, "ConnectionClosedError") {
                        return Err(e);
                    }
                    self.sleep(backoff_ms(attempt, self.kazoo.next_u64()))?;
                    attempt += 1;
                }
                r => return r,
            }
        }
    }
}

fn is_retryable(e: &PyErr) -> bool {
    ["ConnectionLoss", "OperationTimeoutError", "ForceRetryError", "SessionExpiredError"].iter().any(|n| is_exc(e, n))
}

/// The parent of a path (`/a/b` → `/a`, `/a` → `/`).
pub fn parent(path: &str) -> &str {
    match path.rfind('/') {
        Some(0) | None => "/",
        Some(i) => &path[..i],
    }
}

/// A `KazooClient` instance.
pub struct KazooClient(pub Rc<ClientCore>);

const METHODS: &[&str] = &[
    "start",
    "stop",
    "close",
    "restart",
    "create",
    "ensure_path",
    "get",
    "set",
    "exists",
    "delete",
    "get_children",
    "transaction",
    "sync",
    "retry",
    "add_listener",
    "remove_listener",
    "Counter",
    "Lock",
    "Election",
    "Barrier",
    "Queue",
    "DataWatch",
    "ChildrenWatch",
];

fn path_arg(args: &[Value], kwargs: &[(Str, Value)], method: &str) -> PResult<String> {
    let p = str_arg(&need(args, kwargs, 0, "path", method)?, "path")?;
    if !p.starts_with('/') {
        return Err(PyErr::new(ExcType::ValueError, "Path must start with /"));
    }
    if p.len() > 1 && p.ends_with('/') {
        return Err(PyErr::new(ExcType::ValueError, "Path must not end with /"));
    }
    Ok(p)
}

fn version_arg(args: &[Value], kwargs: &[(Str, Value)], i: usize) -> i32 {
    arg(args, kwargs, i, "version").and_then(|v| v.as_int()).unwrap_or(-1) as i32
}

impl NativeObject for KazooClient {
    fn type_name(&self) -> &str {
        "KazooClient"
    }
    fn get_attr(&self, _this: &Rc<dyn NativeObject>, name: &str, _it: &mut Interpreter) -> PResult<NativeAttr> {
        let c = self.0.conn.borrow();
        Ok(match name {
            "hosts" => NativeAttr::Value(Value::str(&self.0.hosts)),
            "state" => NativeAttr::Value(Value::str(if c.keeper == Keeper::Connected { "CONNECTED" } else { "LOST" })),
            "connected" => NativeAttr::Value(Value::Bool(c.keeper == Keeper::Connected)),
            "client_id" => NativeAttr::Value(match c.keeper {
                Keeper::Connected => Value::tuple(vec![Value::Int(c.session), Value::Bytes(Rc::new(vec![0; 16]))]),
                _ => Value::None,
            }),
            "client_state" => NativeAttr::Value(Value::str(match c.keeper {
                Keeper::Connected => "CONNECTED",
                Keeper::Closed => "CLOSED",
                Keeper::Expired => "EXPIRED_SESSION",
            })),
            n if METHODS.contains(&n) => NativeAttr::Method,
            _ => NativeAttr::Missing,
        })
    }
    fn call_method(
        &self,
        _this: &Rc<dyn NativeObject>,
        name: &str,
        args: Vec<Value>,
        kwargs: Vec<(Str, Value)>,
        it: &mut Interpreter,
    ) -> PResult<Value> {
        let core = &self.0;
        match name {
            "start" => core.start().map(|_| Value::None),
            "stop" => core.stop().map(|_| Value::None),
            "close" | "add_listener" | "remove_listener" => Ok(Value::None),
            "restart" => {
                core.stop()?;
                core.start().map(|_| Value::None)
            }
            "create" => {
                let path = path_arg(&args, &kwargs, "create")?;
                let data = match arg(&args, &kwargs, 1, "value") {
                    Some(v) => bytes_arg(&v)?,
                    None => vec![],
                };
                let ephemeral = truthy_kw(&args, &kwargs, 3, "ephemeral");
                let sequence = truthy_kw(&args, &kwargs, 4, "sequence");
                let makepath = truthy_kw(&args, &kwargs, 5, "makepath");
                Ok(Value::str(&core.create(&path, data, ephemeral, sequence, makepath)?))
            }
            "ensure_path" => {
                let path = path_arg(&args, &kwargs, "ensure_path")?;
                Ok(if core.ensure_path(&path)? { Value::str(&path) } else { Value::Bool(true) })
            }
            "get" => {
                let path = path_arg(&args, &kwargs, "get")?;
                let (data, stat) = core.get(&path, false)?;
                Ok(Value::tuple(vec![Value::Bytes(Rc::new(data)), ZnodeStat::value(&stat)]))
            }
            "set" => {
                let path = path_arg(&args, &kwargs, "set")?;
                let data = bytes_arg(&need(&args, &kwargs, 1, "value", "set")?)?;
                Ok(ZnodeStat::value(&core.set(&path, data, version_arg(&args, &kwargs, 2))?))
            }
            "exists" => {
                let path = path_arg(&args, &kwargs, "exists")?;
                Ok(core.exists(&path)?.map_or(Value::None, |s| ZnodeStat::value(&s)))
            }
            "delete" => {
                let path = path_arg(&args, &kwargs, "delete")?;
                let recursive = truthy_kw(&args, &kwargs, 2, "recursive");
                let missing = core.delete(&path, version_arg(&args, &kwargs, 1), recursive)?;
                Ok(if !recursive || missing { Value::Bool(true) } else { Value::None })
            }
            "get_children" => {
                let path = path_arg(&args, &kwargs, "get_children")?;
                let (children, stat) = core.children(&path, false)?;
                let list = Value::list(children.iter().map(|c| Value::str(c)).collect());
                if truthy_kw(&args, &kwargs, 2, "include_data") {
                    Ok(Value::tuple(vec![list, ZnodeStat::value(&stat)]))
                } else {
                    Ok(list)
                }
            }
            "sync" => {
                let path = path_arg(&args, &kwargs, "sync")?;
                match core.op(Op::Sync { path: path.clone() })? {
                    Ok(_) => Ok(Value::str(&path)),
                    Err(e) => Err(zk_error(e)),
                }
            }
            "transaction" => Ok(Value::Native(Rc::new(Transaction { core: core.clone(), ops: RefCell::new(vec![]), committed: RefCell::new(false) }))),
            "retry" => {
                let Some(f) = args.first().cloned() else {
                    return Err(PyErr::new(ExcType::TypeError, "retry() missing 1 required positional argument: 'func'"));
                };
                let rest = args[1..].to_vec();
                core.retry(it, |it| it.call(&f, rest.clone(), kwargs.clone()))
            }
            "DataWatch" | "ChildrenWatch" => {
                let path = path_arg(&args, &kwargs, name)?;
                let kind = if name == "DataWatch" { super::watchers::Kind::Data } else { super::watchers::Kind::Children };
                super::watchers::make(kind, core.clone(), path, arg(&args, &kwargs, 1, "func"), it)
            }
            recipe => super::recipes::make(recipe, core.clone(), args, kwargs, it),
        }
    }
    fn repr(&self) -> String {
        "<kazoo.client.KazooClient object at 0x7f0000001000>".into()
    }
    fn class_module(&self) -> Option<&str> {
        Some("kazoo.client")
    }
    /// Its connection thread's locks cannot be pickled (whether started or not).
    fn pickle(&self) -> Pickle {
        Pickle::Unpicklable("_thread.lock".into())
    }
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

/// `zk.transaction()`: ops collected, then sent as one `multi`.
struct Transaction {
    core: Rc<ClientCore>,
    ops: RefCell<Vec<Op>>,
    committed: RefCell<bool>,
}

impl NativeObject for Transaction {
    fn type_name(&self) -> &str {
        "TransactionRequest"
    }
    fn get_attr(&self, _this: &Rc<dyn NativeObject>, name: &str, _it: &mut Interpreter) -> PResult<NativeAttr> {
        Ok(match name {
            "create" | "delete" | "set_data" | "check" | "commit" | "__enter__" | "__exit__" => NativeAttr::Method,
            "committed" => NativeAttr::Value(Value::Bool(*self.committed.borrow())),
            _ => NativeAttr::Missing,
        })
    }
    fn call_method(
        &self,
        _this: &Rc<dyn NativeObject>,
        name: &str,
        args: Vec<Value>,
        kwargs: Vec<(Str, Value)>,
        _it: &mut Interpreter,
    ) -> PResult<Value> {
        if name == "__enter__" {
            return Ok(Value::Native(_this.clone()));
        }
        if name == "__exit__" {
            // `with zk.transaction() as t:` commits when the block ends without an exception.
            if args.first().is_none_or(|v| v.is_none()) && !*self.committed.borrow() {
                self.call_method(_this, "commit", vec![], vec![], _it)?;
            }
            return Ok(Value::Bool(false));
        }
        if *self.committed.borrow() {
            return Err(PyErr::new(ExcType::ValueError, "Transaction already committed"));
        }
        let op = match name {
            "create" => {
                let path = path_arg(&args, &kwargs, "create")?;
                let data = match arg(&args, &kwargs, 1, "value") {
                    Some(v) => bytes_arg(&v)?,
                    None => vec![],
                };
                let mode = match (truthy_kw(&args, &kwargs, 3, "ephemeral"), truthy_kw(&args, &kwargs, 4, "sequence")) {
                    (false, false) => CreateMode::Persistent,
                    (false, true) => CreateMode::PersistentSequential,
                    (true, false) => CreateMode::Ephemeral,
                    (true, true) => CreateMode::EphemeralSequential,
                };
                Op::Create { path, data, acl: Acl::open_unsafe(), mode, ttl_ms: None }
            }
            "delete" => Op::Delete { path: path_arg(&args, &kwargs, "delete")?, version: version_arg(&args, &kwargs, 1) },
            "set_data" => Op::SetData {
                path: path_arg(&args, &kwargs, "set_data")?,
                data: bytes_arg(&need(&args, &kwargs, 1, "value", "set_data")?)?,
                version: version_arg(&args, &kwargs, 2),
            },
            "check" => Op::Check {
                path: path_arg(&args, &kwargs, "check")?,
                version: need(&args, &kwargs, 1, "version", "check")?.as_int().unwrap_or(-1) as i32,
            },
            _ => {
                *self.committed.borrow_mut() = true;
                let ops = self.ops.borrow().clone();
                let results = match self.core.op(Op::Multi(ops.clone()))? {
                    Ok(OpResult::Multi(results)) => results,
                    Ok(other) => return Err(PyErr::new(ExcType::RuntimeError, format!("unexpected result {other:?}"))),
                    Err(e) => return Err(zk_error(e)),
                };
                let values = results.into_iter().map(|r| match r {
                    Ok(OpResult::Created { path, .. }) => Value::str(&path),
                    Ok(OpResult::Stat(s)) => ZnodeStat::value(&s),
                    Ok(_) => Value::Bool(true),
                    Err(e) => Value::Instance(zk_error(e).exc),
                });
                return Ok(Value::list(values.collect()));
            }
        };
        self.ops.borrow_mut().push(op);
        Ok(Value::None)
    }
    fn repr(&self) -> String {
        "<kazoo.client.TransactionRequest object at 0x7f0000002000>".into()
    }
    fn pickle(&self) -> Pickle {
        Pickle::Unpicklable("_thread.lock".into())
    }
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}
