//! kazoo 2.11 in the job language: `kazoo.client.KazooClient`, `kazoo.exceptions`, the
//! `ZnodeStat` namedtuple and the recipes (`Counter`, `Lock`, `Election`, `Barrier`, `Queue`),
//! over real sessions on the simulated ensemble.
//!
//! ```text
//!  Python: zk.get("/x") ─▶ KazooClient (client.rs) ─▶ ZkGate::call(handle, Op::GetData)
//!     logged? ── yes ─▶ (b"...", ZnodeStat(...))
//!            └─ no ──▶ the run stops; the node sends ZkCall to its host (zk/port.rs) and
//!                      replays the program when the ZkAnswer is in (gate.rs)
//! ```
//!
//! Behaviour follows kazoo's source, not its docs: errors are `kazoo.exceptions` classes
//! raised without arguments (as kazoo's connection thread raises them); `create(makepath=True)`
//! and `ensure_path` create missing parents one by one; `delete(recursive=True)` deletes the
//! children first; recipes retry as `client.retry` does (forever, on ConnectionLoss,
//! OperationTimeout, a forced retry and SessionExpired), so a `set` whose reply was lost is
//! applied twice by a `Counter` — the at-least-once hazard the presets show.
//!
//! A `KazooClient` and every recipe bound to one hold a `threading.Lock`, so a closure that
//! captures them cannot be pickled (`cannot pickle '_thread.lock' object`), as in PySpark.
//! The `KazooClient` class itself travels by reference, so a function that makes its own
//! client on the executor ships fine.

pub mod client;
pub mod gate;
pub mod recipes;
pub mod watchers;

use crate::py::error::new_exception;
use crate::py::value::Class;
use crate::py::{ExcType, Interpreter, Module, NativeAttr, NativeObject, PResult, PyErr, Str, Value};
use crate::zk::{Stat, ZkError};
use gate::ZkGate;
use std::cell::RefCell;
use std::rc::Rc;

/// What the kazoo module shares between its objects in one interpreter.
pub struct Kazoo {
    pub gate: Rc<RefCell<ZkGate>>,
    /// Seeds the lock recipes' node names (kazoo uses `uuid.uuid4().hex`) and the retry
    /// jitter; reseeded at the start of every run (`reseed`) so replays draw the same.
    pub uuid_state: RefCell<u64>,
    /// The program's `DataWatch`es and `ChildrenWatch`es.
    pub watchers: RefCell<Vec<Rc<watchers::Watcher>>>,
}

impl Kazoo {
    /// Starts a run's random draws from `seed` (a task's id, the driver's program).
    pub fn reseed(&self, seed: u64) {
        *self.uuid_state.borrow_mut() = seed;
        self.watchers.borrow_mut().clear();
    }

    /// The next draw of the run's sequence (SplitMix64).
    pub fn next_u64(&self) -> u64 {
        let mut s = self.uuid_state.borrow_mut();
        *s = s.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = *s;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A fresh 32-hex-digit id, as `uuid4().hex`.
    pub fn uuid_hex(&self) -> String {
        format!("{:016x}{:016x}", self.next_u64(), self.next_u64())
    }
}

/// Makes `import kazoo.client` and friends work in `interp`, over `gate`. `seed` seeds the
/// recipes' uuids (each node and run gets its own).
pub fn register(interp: &mut Interpreter, gate: Rc<RefCell<ZkGate>>, seed: u64) -> Rc<Kazoo> {
    let k = Rc::new(Kazoo { gate, uuid_state: RefCell::new(seed), watchers: RefCell::new(vec![]) });
    // `time.sleep` lets watch events through (see watchers.rs).
    if let Some(std_time) = crate::py::modules::stdlib_module("time") {
        let time = Module::new("time");
        for (name, v) in std_time.attrs.borrow().iter() {
            time.set(name, v.clone());
        }
        time.set("sleep", Value::Native(Rc::new(watchers::Sleep(k.clone()))));
        interp.register_module(Rc::new(time));
    }
    let sleeper = k.clone();
    interp.register_reviver(
        "time.sleep",
        Rc::new(move |_p: &crate::py::PickledNative, _it: &mut Interpreter| Ok(Value::Native(Rc::new(watchers::Sleep(sleeper.clone()))))),
    );
    let client_mod = Module::new("kazoo.client");
    client_mod.set("KazooClient", Value::Native(Rc::new(client::KazooClientClass { kazoo: k.clone() })));
    client_mod.set("KazooState", Value::Native(Rc::new(KazooState)));
    interp.register_module(Rc::new(client_mod));

    let exc_mod = Module::new("kazoo.exceptions");
    for (name, _) in EXCEPTIONS {
        exc_mod.set(name, Value::Class(exception(name)));
    }
    for (alias, name) in ALIASES {
        exc_mod.set(alias, Value::Class(exception(name)));
    }
    interp.register_module(Rc::new(exc_mod));

    let states = Module::new("kazoo.protocol.states");
    states.set("KazooState", Value::Native(Rc::new(KazooState)));
    states.set("ZnodeStat", Value::Native(Rc::new(ZnodeStatClass)));
    interp.register_module(Rc::new(states));

    let package = Module::new("kazoo");
    package.set("__version__", Value::str("2.11.0"));
    interp.register_module(Rc::new(package));

    for (module, class) in [
        ("kazoo.recipe.counter", "Counter"),
        ("kazoo.recipe.lock", "Lock"),
        ("kazoo.recipe.election", "Election"),
        ("kazoo.recipe.barrier", "Barrier"),
        ("kazoo.recipe.queue", "Queue"),
    ] {
        let m = Module::new(module);
        m.set(class, Value::Native(Rc::new(recipes::RecipeClass { kazoo: k.clone(), name: class })));
        interp.register_module(Rc::new(m));
    }
    client::register_reviver(interp, k.clone());
    k
}

/// `kazoo.exceptions`: (class, parent). Order matters: a parent comes before its children.
const EXCEPTIONS: &[(&str, &str)] = &[
    ("KazooException", ""),
    ("ZookeeperError", "KazooException"),
    ("CancelledError", "KazooException"),
    ("ConfigurationError", "KazooException"),
    ("ZookeeperStoppedError", "KazooException"),
    ("ConnectionDropped", "KazooException"),
    ("LockTimeout", "KazooException"),
    ("WriterNotClosedException", "KazooException"),
    ("SASLException", "KazooException"),
    ("RolledBackError", "ZookeeperError"),
    ("SystemZookeeperError", "ZookeeperError"),
    ("RuntimeInconsistency", "ZookeeperError"),
    ("DataInconsistency", "ZookeeperError"),
    ("ConnectionLoss", "ZookeeperError"),
    ("MarshallingError", "ZookeeperError"),
    ("UnimplementedError", "ZookeeperError"),
    ("OperationTimeoutError", "ZookeeperError"),
    ("BadArgumentsError", "ZookeeperError"),
    ("NewConfigNoQuorumError", "ZookeeperError"),
    ("ReconfigInProcessError", "ZookeeperError"),
    ("APIError", "ZookeeperError"),
    ("NoNodeError", "ZookeeperError"),
    ("NoAuthError", "ZookeeperError"),
    ("BadVersionError", "ZookeeperError"),
    ("NoChildrenForEphemeralsError", "ZookeeperError"),
    ("NodeExistsError", "ZookeeperError"),
    ("NotEmptyError", "ZookeeperError"),
    ("SessionExpiredError", "ZookeeperError"),
    ("InvalidCallbackError", "ZookeeperError"),
    ("InvalidACLError", "ZookeeperError"),
    ("AuthFailedError", "ZookeeperError"),
    ("SessionMovedError", "ZookeeperError"),
    ("NotReadOnlyCallError", "ZookeeperError"),
    ("QuotaExceededError", "ZookeeperError"),
    ("ConnectionClosedError", "SessionExpiredError"),
    ("NoWatcherError", "ZookeeperError"),
    ("ForceRetryError", ""),
    ("RetryFailedError", "KazooException"),
];

/// kazoo's backwards-compatible names (`NoNodeException` is `NoNodeError`).
const ALIASES: &[(&str, &str)] = &[
    ("NoNodeException", "NoNodeError"),
    ("NodeExistsException", "NodeExistsError"),
    ("NotEmptyException", "NotEmptyError"),
    ("BadVersionException", "BadVersionError"),
    ("SessionExpiredException", "SessionExpiredError"),
    ("NoAuthException", "NoAuthError"),
    ("InvalidACLException", "InvalidACLError"),
    ("AuthFailedException", "AuthFailedError"),
    ("ZookeeperException", "ZookeeperError"),
    ("NoChildrenForEphemeralsException", "NoChildrenForEphemeralsError"),
];

/// The class `kazoo.exceptions.<name>` (classes match by module and name, so each call may
/// build it anew). `ForceRetryError` lives in `kazoo.retry`; `KazooTimeoutError` in the
/// threading handler.
pub fn exception(name: &str) -> Rc<Class> {
    let (module, parent) = match name {
        "ForceRetryError" => ("kazoo.retry", ""),
        "RetryFailedError" => ("kazoo.retry", "KazooException"),
        "KazooTimeoutError" => ("kazoo.handlers.threading", ""),
        _ => ("kazoo.exceptions", EXCEPTIONS.iter().find(|(n, _)| *n == name).map_or("KazooException", |(_, p)| *p)),
    };
    let base = if parent.is_empty() { crate::py::error::exc_class(ExcType::Exception) } else { exception(parent) };
    let class = Rc::new(Class {
        name: crate::py::ir::s(name),
        module: Some(crate::py::ir::s(module)),
        bases: vec![base.clone()],
        mro: RefCell::new(vec![]),
        ns: RefCell::new(Default::default()),
        is_exception: true,
        id: crate::py::value::next_id(),
    });
    let mut mro = vec![class.clone()];
    mro.extend(base.mro.borrow().iter().cloned());
    *class.mro.borrow_mut() = mro;
    class
}

/// The `.code` kazoo's `@_zookeeper_exception(code)` gives a server error's class.
fn error_code(name: &str) -> Option<i64> {
    Some(match name {
        "RolledBackError" => 0,
        "SystemZookeeperError" => -1,
        "RuntimeInconsistency" => -2,
        "DataInconsistency" => -3,
        "ConnectionLoss" => -4,
        "MarshallingError" => -5,
        "UnimplementedError" => -6,
        "OperationTimeoutError" => -7,
        "BadArgumentsError" => -8,
        "NewConfigNoQuorumError" => -13,
        "ReconfigInProcessError" => -14,
        "APIError" => -100,
        "NoNodeError" => -101,
        "NoAuthError" => -102,
        "BadVersionError" => -103,
        "NoChildrenForEphemeralsError" => -108,
        "NodeExistsError" => -110,
        "NotEmptyError" => -111,
        "SessionExpiredError" | "ConnectionClosedError" => -112,
        "InvalidCallbackError" => -113,
        "InvalidACLError" => -114,
        "AuthFailedError" => -115,
        "SessionMovedError" => -118,
        "NotReadOnlyCallError" => -119,
        "NoWatcherError" => -121,
        "QuotaExceededError" => -125,
        _ => return None,
    })
}

/// Raises `kazoo.exceptions.<name>(*args)`, with its class's `.code` where it has one.
pub fn raise(name: &str, args: Vec<Value>) -> PyErr {
    let inst = new_exception(exception(name), args);
    if let Some(code) = error_code(name) {
        inst.dict.borrow_mut().insert(crate::py::ir::s("code"), Value::Int(code));
    }
    PyErr::from_instance(inst)
}

/// The exception kazoo raises for a ZooKeeper error code (kazoo's `EXCEPTIONS[code]()`).
pub fn zk_error(e: ZkError) -> PyErr {
    let name = match e {
        ZkError::SystemError => "SystemZookeeperError",
        ZkError::RuntimeInconsistency => "RuntimeInconsistency",
        ZkError::DataInconsistency => "DataInconsistency",
        ZkError::ConnectionLoss => "ConnectionLoss",
        ZkError::MarshallingError => "MarshallingError",
        ZkError::Unimplemented => "UnimplementedError",
        ZkError::OperationTimeout => "OperationTimeoutError",
        ZkError::BadArguments => "BadArgumentsError",
        ZkError::UnknownSession | ZkError::SessionExpired => "SessionExpiredError",
        ZkError::ApiError => "APIError",
        ZkError::NoNode => "NoNodeError",
        ZkError::NoAuth => "NoAuthError",
        ZkError::BadVersion => "BadVersionError",
        ZkError::NoChildrenForEphemerals => "NoChildrenForEphemeralsError",
        ZkError::NodeExists => "NodeExistsError",
        ZkError::NotEmpty => "NotEmptyError",
        ZkError::InvalidCallback => "InvalidCallbackError",
        ZkError::InvalidAcl => "InvalidACLError",
        ZkError::AuthFailed => "AuthFailedError",
        ZkError::SessionMoved => "SessionMovedError",
        ZkError::NotReadOnly => "NotReadOnlyCallError",
        ZkError::NoWatcher => "NoWatcherError",
        ZkError::EphemeralOnLocalSession | ZkError::Throttled => "ZookeeperError",
        ZkError::RolledBack => "RolledBackError",
    };
    raise(name, vec![])
}

/// Whether `err` is an instance of `kazoo.exceptions.<name>` (or a subclass).
pub fn is_exc(err: &PyErr, name: &str) -> bool {
    !err.fatal && err.exc.class.is_subclass(&exception(name))
}

/// `kazoo.protocol.states.KazooState`: `CONNECTED`, `SUSPENDED`, `LOST` (plain strings).
struct KazooState;

impl NativeObject for KazooState {
    fn type_name(&self) -> &str {
        "type"
    }
    fn get_attr(&self, _this: &Rc<dyn NativeObject>, name: &str, _it: &mut Interpreter) -> PResult<NativeAttr> {
        Ok(match name {
            "CONNECTED" | "SUSPENDED" | "LOST" => NativeAttr::Value(Value::str(name)),
            _ => NativeAttr::Missing,
        })
    }
    fn repr(&self) -> String {
        "<class 'kazoo.protocol.states.KazooState'>".into()
    }
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

const STAT_FIELDS: [&str; 11] = [
    "czxid",
    "mzxid",
    "ctime",
    "mtime",
    "version",
    "cversion",
    "aversion",
    "ephemeralOwner",
    "dataLength",
    "numChildren",
    "pzxid",
];

/// `ZnodeStat`, kazoo's namedtuple of the server's `Stat`, with its convenience properties.
#[derive(Clone, Debug, PartialEq)]
pub struct ZnodeStat(pub [i64; 11]);

impl ZnodeStat {
    pub fn of(s: &Stat) -> ZnodeStat {
        ZnodeStat([
            s.czxid.0 as i64,
            s.mzxid.0 as i64,
            s.ctime as i64,
            s.mtime as i64,
            s.version as i64,
            s.cversion as i64,
            s.aversion as i64,
            s.ephemeral_owner as i64,
            s.data_length as i64,
            s.num_children as i64,
            s.pzxid.0 as i64,
        ])
    }

    pub fn value(s: &Stat) -> Value {
        Value::Native(Rc::new(ZnodeStat::of(s)))
    }

    fn field(&self, name: &str) -> Option<i64> {
        STAT_FIELDS.iter().position(|f| *f == name).map(|i| self.0[i])
    }
}

impl NativeObject for ZnodeStat {
    fn type_name(&self) -> &str {
        "ZnodeStat"
    }
    fn get_attr(&self, _this: &Rc<dyn NativeObject>, name: &str, _it: &mut Interpreter) -> PResult<NativeAttr> {
        if let Some(v) = self.field(name) {
            return Ok(NativeAttr::Value(Value::Int(v)));
        }
        let f = |n: &str| self.field(n).unwrap_or(0);
        Ok(match name {
            "acl_version" => NativeAttr::Value(Value::Int(f("aversion"))),
            "children_version" => NativeAttr::Value(Value::Int(f("cversion"))),
            "created" => NativeAttr::Value(Value::Float(f("ctime") as f64 / 1000.0)),
            "last_modified" => NativeAttr::Value(Value::Float(f("mtime") as f64 / 1000.0)),
            "children_count" => NativeAttr::Value(Value::Int(f("numChildren"))),
            "owner_session_id" => NativeAttr::Value(match f("ephemeralOwner") {
                0 => Value::None,
                o => Value::Int(o),
            }),
            "creation_transaction_id" => NativeAttr::Value(Value::Int(f("czxid"))),
            "last_modified_transaction_id" => NativeAttr::Value(Value::Int(f("mzxid"))),
            "data_length" => NativeAttr::Value(Value::Int(f("dataLength"))),
            "_fields" => NativeAttr::Value(Value::tuple(STAT_FIELDS.iter().map(|s| Value::str(s)).collect())),
            "_replace" | "_asdict" | "__len__" | "__getitem__" | "count" | "index" => NativeAttr::Method,
            _ => NativeAttr::Missing,
        })
    }
    fn is_tuple(&self) -> bool {
        true
    }
    fn call_method(
        &self,
        _this: &Rc<dyn NativeObject>,
        name: &str,
        _args: Vec<Value>,
        kwargs: Vec<(Str, Value)>,
        _it: &mut Interpreter,
    ) -> PResult<Value> {
        match name {
            "__len__" => Ok(Value::Int(11)),
            "__getitem__" => {
                let i = _args.first().and_then(|v| v.as_int()).unwrap_or(0);
                let j = if i < 0 { i + 11 } else { i };
                self.0.get(j as usize).map(|&v| Value::Int(v)).ok_or_else(|| PyErr::new(ExcType::IndexError, "tuple index out of range"))
            }
            "_replace" => {
                let mut s = self.clone();
                for (k, v) in kwargs {
                    let Some(i) = STAT_FIELDS.iter().position(|f| **f == *k) else {
                        return Err(PyErr::new(ExcType::ValueError, format!("Got unexpected field names: ['{k}']")));
                    };
                    s.0[i] = v.as_int().unwrap_or(0);
                }
                Ok(Value::Native(Rc::new(s)))
            }
            _ => {
                let mut d = crate::py::value::Dict::new();
                for (i, f) in STAT_FIELDS.iter().enumerate() {
                    d.set(Value::str(f), Value::Int(self.0[i]))?;
                }
                Ok(Value::dict(d))
            }
        }
    }
    fn iterate(&self, _this: &Rc<dyn NativeObject>, _it: &mut Interpreter) -> PResult<Option<Vec<Value>>> {
        Ok(Some(self.0.iter().map(|&v| Value::Int(v)).collect()))
    }
    fn repr(&self) -> String {
        let fields: Vec<String> = STAT_FIELDS.iter().zip(self.0.iter()).map(|(f, v)| format!("{f}={v}")).collect();
        format!("ZnodeStat({})", fields.join(", "))
    }
    fn native_eq(&self, other: &dyn NativeObject) -> Option<bool> {
        Some(other.as_any().downcast_ref::<ZnodeStat>().is_some_and(|o| o == self))
    }
    fn class_module(&self) -> Option<&str> {
        Some("kazoo.protocol.states")
    }
    fn pickle(&self) -> crate::py::Pickle {
        crate::py::Pickle::Raises("TypeError: ZnodeStat cannot be shipped".into())
    }
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

/// `ZnodeStat` the class (for `isinstance` and `ZnodeStat._fields`).
struct ZnodeStatClass;

impl NativeObject for ZnodeStatClass {
    fn type_name(&self) -> &str {
        "type"
    }
    fn get_attr(&self, _this: &Rc<dyn NativeObject>, name: &str, _it: &mut Interpreter) -> PResult<NativeAttr> {
        Ok(match name {
            "_fields" => NativeAttr::Value(Value::tuple(STAT_FIELDS.iter().map(|s| Value::str(s)).collect())),
            "__name__" => NativeAttr::Value(Value::str("ZnodeStat")),
            _ => NativeAttr::Missing,
        })
    }
    fn repr(&self) -> String {
        "<class 'kazoo.protocol.states.ZnodeStat'>".into()
    }
    fn call(&self, _this: &Rc<dyn NativeObject>, args: Vec<Value>, kwargs: Vec<(Str, Value)>, _it: &mut Interpreter) -> PResult<Value> {
        let mut f = [0i64; 11];
        for (i, name) in STAT_FIELDS.iter().enumerate() {
            let v = arg(&args, &kwargs, i, name).ok_or_else(|| {
                PyErr::new(ExcType::TypeError, format!("ZnodeStat.__new__() missing 1 required positional argument: '{name}'"))
            })?;
            f[i] = v.as_int().unwrap_or(0);
        }
        Ok(Value::Native(Rc::new(ZnodeStat(f))))
    }
    fn instance_check(&self, v: &Value) -> bool {
        matches!(v, Value::Native(n) if n.as_any().is::<ZnodeStat>())
    }
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

pub(crate) use crate::py::native::{arg, need};

pub(crate) fn str_arg(v: &Value, what: &str) -> PResult<String> {
    match v {
        Value::Str(s) => Ok(s.to_string()),
        other => Err(PyErr::new(ExcType::TypeError, format!("Invalid type for '{what}' (string expected), got {}", other.type_name()))),
    }
}

/// kazoo's `value` arguments must be bytes (`TypeError: Invalid type for 'value' (must be a
/// byte string)`).
pub(crate) fn bytes_arg(v: &Value) -> PResult<Vec<u8>> {
    match v {
        Value::Bytes(b) => Ok(b.to_vec()),
        _ => Err(PyErr::new(ExcType::TypeError, "Invalid type for 'value' (must be a byte string)")),
    }
}

pub(crate) fn truthy_kw(args: &[Value], kwargs: &[(Str, Value)], i: usize, name: &str) -> bool {
    arg(args, kwargs, i, name).is_some_and(|v| v.truthy())
}
