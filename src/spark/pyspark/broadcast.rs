//! `sc.broadcast(value)`: a read-only value tasks see through `.value`. Spark numbers
//! broadcasts together with the task binaries it broadcasts itself (one per submitted stage),
//! so a program's second broadcast after one single-stage job is `Broadcast(2)`. A closure
//! that captures a broadcast registers it with the `PythonRDD` being made (PySpark's
//! `_pickled_broadcast_vars`); running a job over a destroyed one fails before submission.

use super::Ctx;
use crate::py::{ExcType, Interpreter, NativeAttr, NativeObject, PResult, PickledNative, PyErr, Str, Value};
use crate::spark::RddId;
use serde::{Deserialize, Serialize};
use std::cell::{Cell, RefCell};
use std::rc::Rc;

const KIND: &str = "pyspark.Broadcast";

/// The driver's broadcasts and the ones the closures being pickled captured.
#[derive(Default)]
pub struct Broadcasts {
    user: Cell<u32>,
    destroyed: RefCell<Vec<u32>>,
    /// Captured while pickling the functions of the `PythonRDD` being made.
    pickled: RefCell<Vec<u32>>,
    /// The broadcasts each `PythonRDD` ships with its functions.
    by_rdd: RefCell<std::collections::BTreeMap<RddId, Vec<u32>>>,
}

impl Broadcasts {
    /// Starts pickling a `PythonRDD`'s functions: nothing captured yet.
    pub fn start_pickling(&self) {
        self.pickled.borrow_mut().clear();
    }

    /// Moves the broadcasts captured since the last call onto `rdd`.
    pub fn attach_pickled(&self, rdd: RddId) {
        let ids = std::mem::take(&mut *self.pickled.borrow_mut());
        if !ids.is_empty() {
            self.by_rdd.borrow_mut().insert(rdd, ids);
        }
    }

    /// Spark's error (`SparkException` and its causes, without Java frames) for a job whose
    /// RDDs `rdds` use a destroyed broadcast.
    pub fn destroyed_in(&self, rdds: impl IntoIterator<Item = RddId>) -> Option<String> {
        let by_rdd = self.by_rdd.borrow();
        let destroyed = self.destroyed.borrow();
        let id = rdds
            .into_iter()
            .flat_map(|r| by_rdd.get(&r).cloned().unwrap_or_default())
            .find(|b| destroyed.contains(b))?;
        let cause = format!(
            "org.apache.spark.SparkException: [INTERNAL_ERROR_BROADCAST] Attempted to use Broadcast({id}) after it was destroyed ({})  SQLSTATE: XX000",
            super::jvm::native_site("destroy")
        );
        // The closure cleaner serializes the task's function, and with it the broadcast.
        Some(format!("Task not serializable\nCaused by: java.io.IOException: {cause}\nCaused by: {cause}"))
    }
}

#[derive(Serialize, Deserialize)]
struct Wired {
    id: u32,
    value: crate::py::Wire,
}

/// The driver's `Broadcast`.
pub struct Broadcast {
    id: u32,
    value: Value,
    ctx: Rc<Ctx>,
}

/// `sc.broadcast(value)`.
pub fn new_broadcast(ctx: &Rc<Ctx>, value: Value) -> Value {
    let stages = ctx.engine.borrow().stages_submitted();
    let b = &ctx.broadcasts;
    let id = b.user.get() + stages as u32;
    b.user.set(b.user.get() + 1);
    Value::Native(Rc::new(Broadcast { id, value: super::copy_value(&value), ctx: ctx.clone() }))
}

impl Broadcast {
    fn destroyed(&self) -> bool {
        self.ctx.broadcasts.destroyed.borrow().contains(&self.id)
    }
}

impl NativeObject for Broadcast {
    fn type_name(&self) -> &str {
        "Broadcast"
    }
    fn get_attr(&self, _this: &Rc<dyn NativeObject>, name: &str, _it: &mut Interpreter) -> PResult<NativeAttr> {
        match name {
            // The driver reads the value back from its broadcast file, which destroy removed.
            "value" if self.destroyed() => Err(PyErr::new(
                ExcType::FileNotFoundError,
                format!("[Errno 2] No such file or directory: '/tmp/spark-local/pyspark/broadcast{}'", self.id),
            )),
            "value" => Ok(NativeAttr::Value(self.value.clone())),
            "unpersist" | "destroy" => Ok(NativeAttr::Method),
            _ => Ok(NativeAttr::Missing),
        }
    }
    fn call_method(
        &self,
        _this: &Rc<dyn NativeObject>,
        name: &str,
        _args: Vec<Value>,
        _kwargs: Vec<(Str, Value)>,
        _it: &mut Interpreter,
    ) -> PResult<Value> {
        if name == "destroy" && !self.destroyed() {
            self.ctx.broadcasts.destroyed.borrow_mut().push(self.id);
        }
        Ok(Value::None)
    }
    fn repr(&self) -> String {
        "<pyspark.core.broadcast.Broadcast object at 0x7f0000000000>".into()
    }
    fn pickle(&self) -> crate::py::Pickle {
        match crate::py::to_wire(&self.value) {
            Ok(value) => {
                self.ctx.broadcasts.pickled.borrow_mut().push(self.id);
                let state = serde_json::to_vec(&Wired { id: self.id, value }).expect("wire data serializes");
                crate::py::Pickle::State(PickledNative { kind: KIND.into(), state })
            }
            Err(e) => crate::py::Pickle::Raises(e.last_line()),
        }
    }
    fn class_module(&self) -> Option<&str> {
        Some("pyspark.core.broadcast")
    }
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

/// A broadcast inside a task: just its value.
struct TaskBroadcast(Value);

impl NativeObject for TaskBroadcast {
    fn type_name(&self) -> &str {
        "Broadcast"
    }
    fn get_attr(&self, _this: &Rc<dyn NativeObject>, name: &str, _it: &mut Interpreter) -> PResult<NativeAttr> {
        Ok(if name == "value" { NativeAttr::Value(self.0.clone()) } else { NativeAttr::Missing })
    }
    fn class_module(&self) -> Option<&str> {
        Some("pyspark.core.broadcast")
    }
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

/// Lets the executor's interpreter read broadcasts.
pub fn register_reviver(worker: &mut Interpreter) {
    let revive = |p: &PickledNative, _it: &mut Interpreter| -> PResult<Value> {
        let w: Wired = serde_json::from_slice(&p.state)
            .map_err(|e| PyErr::new(ExcType::RuntimeError, format!("bad broadcast state: {e}")))?;
        Ok(Value::Native(Rc::new(TaskBroadcast(crate::py::from_wire(&w.value)?))))
    };
    worker.register_reviver(KIND, Rc::new(revive));
}
