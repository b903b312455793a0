//! `sc.accumulator(value[, param])`: the driver's `Accumulator` (its value lives in the
//! engine's `spark::accumulators` channel) and the task-local copy a task deserializes, which
//! adds into the running task's updates and refuses `.value`.

use super::Ctx;
use crate::py::ir::BinOp;
use crate::py::{ExcType, Interpreter, NativeAttr, NativeObject, PResult, PickledNative, PyErr, Str, Value};
use crate::spark::accumulators::{AccumulatorId, Accumulators, AddInPlace};
use serde::{Deserialize, Serialize};
use std::rc::Rc;

const KIND: &str = "pyspark.Accumulator";

/// What a pickled accumulator carries: its id, its param's zero, and the param itself when
/// it is a Python `AccumulatorParam`.
#[derive(Serialize, Deserialize)]
struct Wired {
    id: AccumulatorId,
    zero: crate::py::Wire,
    param: Option<crate::py::Shipped>,
}

/// The driver's `Accumulator`.
pub struct Accumulator {
    id: AccumulatorId,
    channel: Rc<Accumulators>,
    zero: Value,
    param: Option<Value>,
}

/// `SparkContext.accumulator(value, accum_param=None)`.
pub fn new_accumulator(ctx: &Rc<Ctx>, value: Value, param: Option<Value>, it: &mut Interpreter) -> PResult<Value> {
    let channel = ctx.engine.borrow().accumulators.clone();
    let (zero, add) = match &param {
        Some(p) => {
            let zero_fn = it.get_attr(p, "zero")?;
            let zero = it.call(&zero_fn, vec![value.clone()], vec![])?;
            (zero, AddInPlace::Py(it.get_attr(p, "addInPlace")?))
        }
        None => {
            let zero = match &value {
                Value::Int(_) | Value::Big(_) | Value::Bool(_) => Value::Int(0),
                Value::Float(_) => Value::Float(0.0),
                other => {
                    return Err(PyErr::new(
                        ExcType::TypeError,
                        format!("No default accumulator param for type <class '{}'>", other.type_name()),
                    ))
                }
            };
            (zero, AddInPlace::Plus)
        }
    };
    let id = channel.register(value, add);
    Ok(Value::Native(Rc::new(Accumulator { id, channel, zero, param })))
}

fn add_arg(args: &[Value], name: &str) -> PResult<Value> {
    args.first().cloned().ok_or_else(|| {
        PyErr::new(ExcType::TypeError, format!("Accumulator.{name}() missing 1 required positional argument: 'term'"))
    })
}

impl NativeObject for Accumulator {
    fn type_name(&self) -> &str {
        "Accumulator"
    }
    fn get_attr(&self, _this: &Rc<dyn NativeObject>, name: &str, _it: &mut Interpreter) -> PResult<NativeAttr> {
        Ok(match name {
            "value" => NativeAttr::Value(self.channel.value(self.id)),
            "aid" => NativeAttr::Value(Value::Int(self.id as i64)),
            "add" => NativeAttr::Method,
            _ => NativeAttr::Missing,
        })
    }
    fn set_attr(&self, _this: &Rc<dyn NativeObject>, name: &str, value: Value, _it: &mut Interpreter) -> PResult<()> {
        if name != "value" {
            return Err(PyErr::new(ExcType::AttributeError, format!("'Accumulator' object has no attribute '{name}'")));
        }
        self.channel.set_value(self.id, value);
        Ok(())
    }
    fn call_method(
        &self,
        _this: &Rc<dyn NativeObject>,
        name: &str,
        args: Vec<Value>,
        _kwargs: Vec<(Str, Value)>,
        it: &mut Interpreter,
    ) -> PResult<Value> {
        let term = add_arg(&args, name)?;
        let v = self.channel.adder(self.id).apply(it, self.channel.value(self.id), term)?;
        self.channel.set_value(self.id, v);
        Ok(Value::None)
    }
    /// `acc += term` is `__iadd__`: add on the driver, the same object back.
    fn binary_op(
        &self,
        this: &Rc<dyn NativeObject>,
        op: BinOp,
        other: &Value,
        reflected: bool,
        it: &mut Interpreter,
    ) -> PResult<Option<Value>> {
        if op != BinOp::Add || reflected {
            return Ok(None);
        }
        self.call_method(this, "add", vec![other.clone()], vec![], it)?;
        Ok(Some(Value::Native(this.clone())))
    }
    fn repr(&self) -> String {
        format!("Accumulator<id={}, value={}>", self.id, crate::py::repr::to_str(&self.channel.value(self.id)))
    }
    fn str(&self) -> Option<String> {
        Some(crate::py::repr::to_str(&self.channel.value(self.id)))
    }
    fn pickle(&self) -> crate::py::Pickle {
        let zero = crate::py::to_wire(&self.zero);
        let param = self.param.as_ref().map(crate::py::ship);
        match (zero, param.transpose()) {
            (Ok(zero), Ok(param)) => {
                let state = serde_json::to_vec(&Wired { id: self.id, zero, param }).expect("wire data serializes");
                crate::py::Pickle::State(PickledNative { kind: KIND.into(), state })
            }
            _ => crate::py::Pickle::Unpicklable("Accumulator".into()),
        }
    }
    fn class_module(&self) -> Option<&str> {
        Some("pyspark.accumulators")
    }
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

/// An accumulator as a task sees it: `add` goes to the task's copy.
struct TaskAccumulator {
    id: AccumulatorId,
    channel: Rc<Accumulators>,
    add: AddInPlace,
    zero: Value,
}

const VALUE_IN_TASK: &str = "[VALUE_NOT_ACCESSIBLE] Value `Accumulator.value` cannot be accessed inside tasks.";

impl NativeObject for TaskAccumulator {
    fn type_name(&self) -> &str {
        "Accumulator"
    }
    fn get_attr(&self, _this: &Rc<dyn NativeObject>, name: &str, _it: &mut Interpreter) -> PResult<NativeAttr> {
        match name {
            "value" => Err(super::pyspark_exception("PySparkRuntimeError", ExcType::RuntimeError, VALUE_IN_TASK)),
            "aid" => Ok(NativeAttr::Value(Value::Int(self.id as i64))),
            "add" => Ok(NativeAttr::Method),
            _ => Ok(NativeAttr::Missing),
        }
    }
    fn call_method(
        &self,
        _this: &Rc<dyn NativeObject>,
        name: &str,
        args: Vec<Value>,
        _kwargs: Vec<(Str, Value)>,
        it: &mut Interpreter,
    ) -> PResult<Value> {
        let term = add_arg(&args, name)?;
        // A copy kept past its task (in some worker-side state) starts a new task-local copy.
        self.channel.task_touch(self.id, super::copy_value(&self.zero));
        self.channel.task_add(it, self.id, &self.add, term)?;
        Ok(Value::None)
    }
    fn binary_op(
        &self,
        this: &Rc<dyn NativeObject>,
        op: BinOp,
        other: &Value,
        reflected: bool,
        it: &mut Interpreter,
    ) -> PResult<Option<Value>> {
        if op != BinOp::Add || reflected {
            return Ok(None);
        }
        self.call_method(this, "add", vec![other.clone()], vec![], it)?;
        Ok(Some(Value::Native(this.clone())))
    }
    fn class_module(&self) -> Option<&str> {
        Some("pyspark.accumulators")
    }
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

/// Lets the executor's interpreter deserialize accumulators into task-local copies.
pub fn register_reviver(worker: &mut Interpreter, channel: Rc<Accumulators>) {
    let revive = move |p: &PickledNative, it: &mut Interpreter| -> PResult<Value> {
        let w: Wired = serde_json::from_slice(&p.state)
            .map_err(|e| PyErr::new(ExcType::RuntimeError, format!("bad accumulator state: {e}")))?;
        let add = match &w.param {
            Some(s) => {
                let param = s.revive(it)?;
                AddInPlace::Py(it.get_attr(&param, "addInPlace")?)
            }
            None => AddInPlace::Plus,
        };
        let zero = crate::py::from_wire(&w.zero)?;
        channel.task_touch(w.id, super::copy_value(&zero));
        Ok(Value::Native(Rc::new(TaskAccumulator { id: w.id, channel: channel.clone(), add, zero })))
    };
    worker.register_reviver(KIND, Rc::new(revive));
}

/// `pyspark.accumulators.AccumulatorParam`: the base class a program subclasses with its own
/// `zero(value)` and `addInPlace(value1, value2)`.
pub fn accumulator_param_class() -> Value {
    let class = Rc::new(crate::py::value::Class {
        name: crate::py::ir::s("AccumulatorParam"),
        module: Some(crate::py::ir::s("pyspark.accumulators")),
        bases: vec![],
        mro: std::cell::RefCell::new(vec![]),
        ns: std::cell::RefCell::new(Default::default()),
        is_exception: false,
        id: crate::py::value::next_id(),
    });
    *class.mro.borrow_mut() = vec![class.clone()];
    Value::Class(class)
}

#[cfg(test)]
mod tests {
    use super::super::{run_spark_program, Host};

    /// Updates from shuffle map tasks count on every success: the map stage runs once for
    /// `reduceByKey`'s two actions (the second skips it) and again for a new shuffle. The
    /// values are a local PySpark 4.0.5 run's.
    #[test]
    fn shuffle_map_updates_count_once_per_run_of_the_stage() {
        let program = "\
from pyspark import SparkContext
sc = SparkContext('local[4]', 'acc')
pairs = sc.parallelize(range(1, 21), 4).map(lambda x: (x % 3, x))
acc = sc.accumulator(0)
def f(kv):
    acc.add(1)
    return kv
red = pairs.map(f).reduceByKey(lambda a, b: a + b)
print(sorted(red.collect()), acc.value)
print(red.count(), acc.value)
print(sorted(pairs.map(f).groupByKey().mapValues(len).collect()), acc.value)
";
        let run = run_spark_program(program, "acc.py", Host { cores: 4, fs: Default::default(), cluster: None });
        assert!(run.ok, "{}", run.stderr);
        assert_eq!(run.stdout, "[(0, 63), (1, 70), (2, 77)] 20\n3 20\n[(0, 6), (1, 7), (2, 7)] 40\n");
    }
}
