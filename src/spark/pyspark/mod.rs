//! The `pyspark` module the job language imports: `SparkConf`, `SparkContext` and the RDD
//! natives (`rdd.rs` transformations, `actions.rs` actions, `sampling.rs` samplers, `stats.rs`
//! `StatCounter`/histogram), over a local `Engine`; `jvm.rs` is what the JVM side shows
//! (RDD reprs, `toDebugString`, `StorageLevel`), `accumulators.rs` and `broadcast.rs` the
//! shared variables, `files.rs` the driver's `os`/`open` over the simulated file system.
//!
//! ```text
//! SparkContext(conf) ─▶ Ctx { Engine (Scheduler + one local executor of N cores) }
//! rdd.map(f) ─▶ PyRdd { prev JVM rdd, pipelined ops + their functions }   (nothing runs)
//! rdd.collect() ─▶ jrdd(): functions shipped (PicklingError here) ─▶ Engine::run_job
//! ```

mod accumulators;
mod actions;
mod broadcast;
mod files;
pub mod jvm;
mod rdd;
pub mod sampling;
pub mod stats;

pub use rdd::PyRdd;

use super::engine::Engine;
use super::fs::SimFs;
use crate::py::error::{exc_class, new_exception};
use crate::py::value::{Class, Instance};
use crate::py::{ExcType, Interpreter, Module, NativeAttr, NativeObject, PResult, PyErr, Str, Value};
use std::cell::{Cell, RefCell};
use std::rc::Rc;

/// What the host gives a driver: task slots and the file system, and in cluster mode the
/// driver's engine, which outlives one run of the program (`spark::cluster` replays it).
#[derive(Clone, Default)]
pub struct Host {
    pub cores: u32,
    pub fs: SimFs,
    pub cluster: Option<Rc<RefCell<Engine>>>,
}

/// Shared state of the `pyspark` module in one interpreter.
pub struct SparkState {
    pub host: RefCell<Host>,
    /// The running context's engine, for the host to inspect after the program.
    pub engine: RefCell<Option<Rc<Ctx>>>,
}

/// A started SparkContext.
pub struct Ctx {
    pub engine: Rc<RefCell<Engine>>,
    pub master: String,
    pub app_name: String,
    pub conf: Vec<(String, String)>,
    pub default_parallelism: u32,
    pub stopped: Cell<bool>,
    /// The JVM side's view of each RDD (class, creation site, name, storage level).
    pub jvm: RefCell<std::collections::BTreeMap<super::RddId, jvm::JvmRdd>>,
    /// `<method> at <file>:<line>` of the RDD method the program is in, for call sites.
    pub call_site: RefCell<Option<String>>,
    /// Nesting of `SCCallSiteSync` blocks.
    pub sync_depth: Cell<u32>,
    /// `textFile` RDDs over paths that do not exist, with Hadoop's error.
    pub missing_inputs: RefCell<std::collections::BTreeMap<super::RddId, String>>,
    pub broadcasts: broadcast::Broadcasts,
}

impl Ctx {
    /// `_defaultReducePartitions`: `spark.default.parallelism` if set, else the RDD's own.
    pub fn default_reduce_partitions(&self, own: u32) -> u32 {
        self.conf
            .iter()
            .find(|(k, _)| k == "spark.default.parallelism")
            .and_then(|(_, v)| v.parse().ok())
            .unwrap_or(own)
    }

    /// Adds a JVM RDD of Spark class `class`, created at `site`.
    pub fn add_rdd(
        &self,
        class: &str,
        site: String,
        partitions: u32,
        narrow: &[super::RddId],
        plan: super::engine::Plan,
    ) -> super::RddId {
        let id = self.engine.borrow_mut().add_rdd(class, partitions, narrow, plan);
        self.record(id, class, site);
        id
    }

    /// A `ShuffledRDD` over `parent` (made by the JVM's `partitionBy`).
    pub fn add_shuffled(&self, parent: super::RddId, partitions: u32) -> super::RddId {
        let id = self.engine.borrow_mut().add_shuffled(parent, partitions);
        self.record(id, "ShuffledRDD", jvm::native_site("partitionBy"));
        id
    }

    /// Records the JVM attributes of an RDD the engine added directly.
    pub fn record(&self, id: super::RddId, class: &str, site: String) {
        let r = jvm::JvmRdd { class: class.to_string(), site, name: None, level: jvm::Level::NONE };
        self.jvm.borrow_mut().insert(id, r);
    }

    /// Runs a job, turning a failure into the `Py4JJavaError` PySpark raises. An input path
    /// that does not exist fails the call before any job is submitted, as Hadoop's
    /// `getSplits` does when Spark computes the partitions.
    pub fn run_job(&self, rdd: super::RddId, partitions: Vec<u32>, method: &str) -> PResult<Vec<Vec<Value>>> {
        if let Some(message) = self.missing_input(rdd) {
            return Err(py4j_error(method, "org.apache.hadoop.mapred.InvalidInputException", &message));
        }
        if let Some(message) = self.broadcasts.destroyed_in(self.ancestors(rdd)) {
            return Err(py4j_error(method, "org.apache.spark.SparkException", &message));
        }
        let r = self.engine.borrow_mut().run_job(rdd, partitions);
        r.map_err(|f| {
            if self.engine.borrow().suspended() {
                suspend_error()
            } else {
                py4j_error(method, "org.apache.spark.SparkException", &f.message)
            }
        })
    }

    /// The error of a `textFile` input that `rdd` reads and that does not exist.
    fn missing_input(&self, rdd: super::RddId) -> Option<String> {
        let missing = self.missing_inputs.borrow();
        self.ancestors(rdd).into_iter().find_map(|r| missing.get(&r).cloned())
    }

    /// `rdd` and every RDD it depends on.
    fn ancestors(&self, rdd: super::RddId) -> std::collections::BTreeSet<super::RddId> {
        let e = self.engine.borrow();
        let mut stack = vec![rdd];
        let mut seen = std::collections::BTreeSet::new();
        while let Some(r) = stack.pop() {
            if seen.insert(r) {
                stack.extend(e.scheduler.lineage.get(r).deps.iter().map(|d| d.parent()));
            }
        }
        seen
    }
}

/// Stops a cluster-mode driver program while its job runs: no `except` clause catches it.
fn suspend_error() -> PyErr {
    let mut e = PyErr::new(ExcType::RuntimeError, "the driver waits for a job to finish on the cluster");
    e.fatal = true;
    e
}

pub(crate) fn py4j_error(method: &str, java_class: &str, message: &str) -> PyErr {
    let msg = format!(
        "An error occurred while calling z:org.apache.spark.api.python.PythonRDD.{method}.\n: {java_class}: {message}"
    );
    let inst: Rc<Instance> =
        new_exception(exception_class("Py4JJavaError", "py4j.protocol", ExcType::Exception), vec![Value::str(&msg)]);
    // `message` may go on with `Caused by:` lines; the exception's own message is the first.
    let own = message.lines().next().unwrap_or_default();
    let java = jvm::JavaObject { class: java_class.into(), message: Some(own.into()), is_class: false };
    inst.dict.borrow_mut().insert(crate::py::ir::s("java_exception"), Value::Native(Rc::new(java)));
    PyErr::from_instance(inst)
}

/// An exception class defined outside the builtins (`py4j.protocol.Py4JJavaError`).
fn exception_class(name: &str, module: &str, base: ExcType) -> Rc<Class> {
    let class = Rc::new(Class {
        name: crate::py::ir::s(name),
        module: Some(crate::py::ir::s(module)),
        bases: vec![exc_class(base)],
        mro: RefCell::new(vec![]),
        ns: RefCell::new(Default::default()),
        is_exception: true,
        id: crate::py::value::next_id(),
    });
    let mut mro = vec![class.clone()];
    mro.extend(exc_class(base).mro.borrow().iter().cloned());
    *class.mro.borrow_mut() = mro;
    class
}

/// One of `pyspark.errors`' exceptions (`PySparkRuntimeError` derives from `RuntimeError`).
pub fn pyspark_exception(name: &str, base: ExcType, message: &str) -> PyErr {
    let class = exception_class(name, "pyspark.errors.exceptions.base", base);
    PyErr::from_instance(new_exception(class, vec![Value::str(message)]))
}

/// A copy of driver data as the executor sees it after pickling: containers are new objects.
pub fn copy_value(v: &Value) -> Value {
    match v {
        Value::List(l) => Value::list(l.borrow().iter().map(copy_value).collect()),
        Value::Tuple(t) => Value::tuple(t.iter().map(copy_value).collect()),
        Value::Dict(d) => Value::Dict(Rc::new(RefCell::new(d.borrow().clone()))),
        Value::Set(s) => Value::Set(Rc::new(RefCell::new(s.borrow().copy()))),
        other => other.clone(),
    }
}

/// `pyspark.resultiterable.ResultIterable`: groupByKey's values.
pub struct ResultIterable(pub Vec<Value>);

impl NativeObject for ResultIterable {
    fn type_name(&self) -> &str {
        "ResultIterable"
    }
    fn get_attr(&self, _this: &Rc<dyn NativeObject>, name: &str, _it: &mut Interpreter) -> PResult<NativeAttr> {
        Ok(match name {
            "__len__" => NativeAttr::Method,
            "data" => NativeAttr::Value(Value::list(self.0.clone())),
            _ => NativeAttr::Missing,
        })
    }
    fn call_method(
        &self,
        _this: &Rc<dyn NativeObject>,
        name: &str,
        _a: Vec<Value>,
        _k: Vec<(Str, Value)>,
        _it: &mut Interpreter,
    ) -> PResult<Value> {
        match name {
            "__len__" => Ok(Value::Int(self.0.len() as i64)),
            _ => Err(PyErr::new(ExcType::AttributeError, format!("'ResultIterable' object has no attribute '{name}'"))),
        }
    }
    fn iterate(&self, _this: &Rc<dyn NativeObject>, _it: &mut Interpreter) -> PResult<Option<Vec<Value>>> {
        Ok(Some(self.0.clone()))
    }
    fn repr(&self) -> String {
        "<pyspark.resultiterable.ResultIterable object at 0x7f0000000000>".into()
    }
    /// A Python class in PySpark, so it pickles with its items (a grouped value travels
    /// from an executor to the driver or to another executor's shuffle).
    fn pickle(&self) -> crate::py::Pickle {
        match crate::py::ship(&Value::list(self.0.clone())) {
            Ok(items) => crate::py::Pickle::State(crate::py::PickledNative {
                kind: RESULT_ITERABLE.into(),
                state: items.to_json().into_bytes(),
            }),
            Err(_) => crate::py::Pickle::Unpicklable("ResultIterable".into()),
        }
    }
    fn class_module(&self) -> Option<&str> {
        Some("pyspark.resultiterable")
    }
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

const RESULT_ITERABLE: &str = "pyspark.resultiterable.ResultIterable";

/// Lets `interp` unpickle ResultIterables.
fn register_result_iterable(interp: &mut Interpreter) {
    let revive = |p: &crate::py::PickledNative, it: &mut Interpreter| -> PResult<Value> {
        let text = String::from_utf8_lossy(&p.state);
        let items = crate::py::Shipped::from_json(&text).map_err(|e| PyErr::new(ExcType::RuntimeError, e))?;
        let list = items.revive(it)?;
        Ok(result_iterable(it.collect(&list)?))
    };
    interp.register_reviver(RESULT_ITERABLE, Rc::new(revive));
}

/// Readies a cluster driver's engine: its interpreter unpickles what tasks send back.
pub fn prepare_driver(engine: &mut Engine) {
    register_result_iterable(&mut engine.worker);
}

pub fn result_iterable(items: Vec<Value>) -> Value {
    Value::Native(Rc::new(ResultIterable(items)))
}

use crate::py::native::arg;

fn str_arg(v: Option<Value>) -> Option<String> {
    match v {
        Some(Value::Str(s)) => Some(s.to_string()),
        _ => None,
    }
}

/// `SparkConf`.
pub struct SparkConf {
    pub entries: RefCell<Vec<(String, String)>>,
}

impl SparkConf {
    fn set(&self, k: &str, v: String) {
        let mut e = self.entries.borrow_mut();
        e.retain(|(x, _)| x != k);
        e.push((k.to_string(), v));
    }
    fn get(&self, k: &str) -> Option<String> {
        self.entries.borrow().iter().find(|(x, _)| x == k).map(|(_, v)| v.clone())
    }
}

impl NativeObject for SparkConf {
    fn type_name(&self) -> &str {
        "SparkConf"
    }
    fn get_attr(&self, _this: &Rc<dyn NativeObject>, name: &str, _it: &mut Interpreter) -> PResult<NativeAttr> {
        Ok(match name {
            "setAppName" | "setMaster" | "set" | "get" | "getAll" | "contains" | "setIfMissing" => NativeAttr::Method,
            _ => NativeAttr::Missing,
        })
    }
    fn call_method(
        &self,
        this: &Rc<dyn NativeObject>,
        name: &str,
        args: Vec<Value>,
        kwargs: Vec<(Str, Value)>,
        it: &mut Interpreter,
    ) -> PResult<Value> {
        let s = |i: usize, it: &mut Interpreter| -> PResult<String> {
            match args.get(i) {
                Some(v) => it.to_str(v),
                None => Err(PyErr::new(ExcType::TypeError, format!("SparkConf.{name}() missing an argument"))),
            }
        };
        match name {
            "setAppName" => self.set("spark.app.name", s(0, it)?),
            "setMaster" => self.set("spark.master", s(0, it)?),
            "set" => self.set(&s(0, it)?, s(1, it)?),
            "setIfMissing" => {
                let k = s(0, it)?;
                if self.get(&k).is_none() {
                    self.set(&k, s(1, it)?);
                }
            }
            "get" => {
                let k = s(0, it)?;
                return Ok(match self.get(&k) {
                    Some(v) => Value::str(&v),
                    None => arg(&args, &kwargs, 1, "defaultValue").unwrap_or(Value::None),
                });
            }
            "contains" => return Ok(Value::Bool(self.get(&s(0, it)?).is_some())),
            "getAll" => {
                let items = self
                    .entries
                    .borrow()
                    .iter()
                    .map(|(k, v)| Value::tuple(vec![Value::str(k), Value::str(v)]))
                    .collect();
                return Ok(Value::list(items));
            }
            _ => unreachable!("listed method"),
        }
        Ok(Value::Native(this.clone()))
    }
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

/// A callable native class (`SparkConf`, `SparkContext`).
struct Constructor {
    name: &'static str,
    state: Rc<SparkState>,
}

impl NativeObject for Constructor {
    fn type_name(&self) -> &str {
        "type"
    }
    fn call(
        &self,
        _this: &Rc<dyn NativeObject>,
        args: Vec<Value>,
        kwargs: Vec<(Str, Value)>,
        it: &mut Interpreter,
    ) -> PResult<Value> {
        match self.name {
            "SparkConf" => Ok(Value::Native(Rc::new(SparkConf {
                entries: RefCell::new(vec![("spark.master".into(), "local[*]".into())]),
            }))),
            _ => new_context(&self.state, args, kwargs, it),
        }
    }
    fn repr(&self) -> String {
        format!("<class 'pyspark.core.context.{}'>", self.name)
    }
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

fn new_context(
    state: &Rc<SparkState>,
    args: Vec<Value>,
    kwargs: Vec<(Str, Value)>,
    _it: &mut Interpreter,
) -> PResult<Value> {
    let mut conf: Vec<(String, String)> = vec![];
    if let Some(Value::Native(c)) = arg(&args, &kwargs, 2, "conf") {
        if let Some(c) = c.as_any().downcast_ref::<SparkConf>() {
            conf = c.entries.borrow().clone();
        }
    }
    let mut master =
        conf.iter().find(|(k, _)| k == "spark.master").map(|(_, v)| v.clone()).unwrap_or_else(|| "local[*]".into());
    if let Some(m) = str_arg(arg(&args, &kwargs, 0, "master")) {
        master = m;
    }
    let mut app_name = conf.iter().find(|(k, _)| k == "spark.app.name").map(|(_, v)| v.clone()).unwrap_or_default();
    if let Some(a) = str_arg(arg(&args, &kwargs, 1, "appName")) {
        app_name = a;
    }
    let cluster = state.host.borrow().cluster.clone();
    if let Some(engine) = cluster {
        // Submitted to the cluster: the program's own master setting does not apply, and
        // the default parallelism is the executors' cores (at least 2), as in standalone mode.
        let cores = state.host.borrow().cores.max(1);
        let default_parallelism = conf
            .iter()
            .find(|(k, _)| k == "spark.default.parallelism")
            .and_then(|(_, v)| v.parse().ok())
            .unwrap_or(cores.max(2));
        return Ok(start_context(state, engine, CLUSTER_MASTER.into(), app_name, conf, default_parallelism));
    }
    let cores = match master.as_str() {
        "local" => 1,
        m => m
            .strip_prefix("local[")
            .and_then(|r| r.strip_suffix(']'))
            .and_then(|n| n.parse().ok())
            .unwrap_or(state.host.borrow().cores.max(1)),
    };
    // spark-submit --master local[4] is what the fixtures ran under: "local[*]" from the
    // default conf means the host's cores.
    let default_parallelism =
        conf.iter().find(|(k, _)| k == "spark.default.parallelism").and_then(|(_, v)| v.parse().ok()).unwrap_or(cores);
    let mut engine = Engine::new(cores, state.host.borrow().fs.clone());
    accumulators::register_reviver(&mut engine.worker, engine.accumulators.clone());
    broadcast::register_reviver(&mut engine.worker);
    let master = if master == "local[*]" { format!("local[{cores}]") } else { master };
    Ok(start_context(state, Rc::new(RefCell::new(engine)), master, app_name, conf, default_parallelism))
}

/// The running context over `engine`, made the module's current one.
fn start_context(
    state: &Rc<SparkState>,
    engine: Rc<RefCell<Engine>>,
    master: String,
    app_name: String,
    conf: Vec<(String, String)>,
    default_parallelism: u32,
) -> Value {
    let ctx = Rc::new(Ctx {
        engine,
        master,
        app_name,
        conf,
        default_parallelism,
        stopped: Cell::new(false),
        jvm: RefCell::new(Default::default()),
        call_site: RefCell::new(None),
        sync_depth: Cell::new(0),
        missing_inputs: RefCell::new(Default::default()),
        broadcasts: Default::default(),
    });
    *state.engine.borrow_mut() = Some(ctx.clone());
    Value::Native(Rc::new(SparkContext { ctx }))
}

/// The master URL a cluster-mode program sees.
pub const CLUSTER_MASTER: &str = "spark://127.0.0.1:7077";

/// `SparkContext`.
pub struct SparkContext {
    pub ctx: Rc<Ctx>,
}

const CONTEXT_ON_WORKER: &str = "PySparkRuntimeError: [CONTEXT_ONLY_VALID_ON_DRIVER] It appears that you are attempting to reference SparkContext from a broadcast variable, action, or transformation. SparkContext can only be used on the driver, not in code that it run on workers. For more information, see SPARK-5063.";

impl NativeObject for SparkContext {
    fn type_name(&self) -> &str {
        "SparkContext"
    }
    fn get_attr(&self, _this: &Rc<dyn NativeObject>, name: &str, _it: &mut Interpreter) -> PResult<NativeAttr> {
        Ok(match name {
            "defaultParallelism" => NativeAttr::Value(Value::Int(self.ctx.default_parallelism as i64)),
            "defaultMinPartitions" => NativeAttr::Value(Value::Int(self.ctx.default_parallelism.min(2) as i64)),
            "master" => NativeAttr::Value(Value::str(&self.ctx.master)),
            "appName" => NativeAttr::Value(Value::str(&self.ctx.app_name)),
            "version" => NativeAttr::Value(Value::str("4.0.5")),
            "parallelize" | "range" | "emptyRDD" | "textFile" | "stop" | "union" | "setLogLevel" | "accumulator"
            | "broadcast" => NativeAttr::Method,
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
        rdd::context_method(&self.ctx, name, args, kwargs, it)
    }
    fn pickle(&self) -> crate::py::Pickle {
        crate::py::Pickle::Raises(CONTEXT_ON_WORKER.into())
    }
    fn class_module(&self) -> Option<&str> {
        Some("pyspark.core.context")
    }
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

/// Readies an executor's engine: its Python worker revives accumulators as task-local copies.
pub fn prepare_executor(engine: &mut Engine) {
    accumulators::register_reviver(&mut engine.worker, engine.accumulators.clone());
    broadcast::register_reviver(&mut engine.worker);
    register_result_iterable(&mut engine.worker);
}

/// Registers `pyspark` in `interp`; the returned state gives the host the context afterwards.
pub fn register(interp: &mut Interpreter, host: Host) -> Rc<SparkState> {
    let state = Rc::new(SparkState { host: RefCell::new(host), engine: RefCell::new(None) });
    files::register(interp, &state);
    // kazoo without an ensemble (local mode): a cluster's driver registers it again, online.
    crate::kazoo::register(interp, Rc::new(RefCell::new(crate::kazoo::gate::ZkGate::default())), 0);
    let m = Module::new("pyspark");
    for name in ["SparkConf", "SparkContext"] {
        m.set(name, Value::Native(Rc::new(Constructor { name, state: state.clone() })));
    }
    m.set("StorageLevel", Value::Native(Rc::new(jvm::StorageLevel(None))));
    let param = accumulators::accumulator_param_class();
    m.set("AccumulatorParam", param.clone());
    let accumulators_module = Module::new("pyspark.accumulators");
    accumulators_module.set("AccumulatorParam", param);
    interp.register_module(Rc::new(accumulators_module));
    interp.register_module(Rc::new(m));
    state
}

/// A PicklingError whose message is `Could not serialize object: <what>`.
pub fn pickling_error_raw(what: &str) -> PyErr {
    PyErr::new(ExcType::PicklingError, format!("Could not serialize object: {what}"))
}

/// What a PySpark program run produced, with the jobs the engine recorded.
pub struct SparkRun {
    pub stdout: String,
    pub stderr: String,
    pub ok: bool,
    pub jobs: Vec<super::engine::JobRecord>,
}

/// Runs a PySpark program locally with `cores` slots and `fs` as its file system.
pub fn run_spark_program(source: &str, filename: &str, host: Host) -> SparkRun {
    let mut it = Interpreter::new();
    it.filename = filename.to_string();
    let state = register(&mut it, host);
    let r = it.run(source);
    let stdout = it.take_output();
    let ctx = state.engine.borrow().clone();
    let (task_out, jobs) = match &ctx {
        Some(c) => {
            let e = c.engine.borrow();
            (e.task_output.clone(), e.jobs.clone())
        }
        None => (String::new(), vec![]),
    };
    match r {
        Ok(()) => SparkRun { stdout, stderr: task_out, ok: true, jobs },
        Err(e) => SparkRun { stdout, stderr: task_out + &it.format_error(&e), ok: false, jobs },
    }
}
