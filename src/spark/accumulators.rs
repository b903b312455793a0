//! Accumulator updates from tasks to the driver, as Spark moves them: a task adds to its own
//! task-local copies (starting from each accumulator's zero), the copies travel back with the
//! task's result, and the driver merges them into its values when the task succeeds: every
//! success of a shuffle map task, only the first success for its partition of a result task
//! (`DAGScheduler.updateAccumulators`). A failed task's updates are dropped; a recomputed
//! partition adds again.
//!
//! ```text
//! executor: revived accumulator.add(x) ─▶ task_add(id, x)        (task-local copy)
//! engine:   run task ─▶ take_task_updates() ─▶ success counts? ─▶ merge(updates)
//! driver:   Accumulator.value ◀─ value(id)
//! ```

use crate::py::ir::BinOp;
use crate::py::{Interpreter, PResult, Value};
use std::cell::RefCell;
use std::collections::BTreeMap;

pub type AccumulatorId = u32;

/// How an accumulator combines two values: Python's `+` (the int, float and complex params)
/// or an `AccumulatorParam`'s `addInPlace`.
#[derive(Clone)]
pub enum AddInPlace {
    Plus,
    Py(Value),
}

impl AddInPlace {
    pub fn apply(&self, it: &mut Interpreter, a: Value, b: Value) -> PResult<Value> {
        match self {
            AddInPlace::Plus => it.binop(BinOp::Add, &a, &b),
            AddInPlace::Py(f) => it.call(f, vec![a, b], vec![]),
        }
    }
}

/// One task's accumulator updates: each touched accumulator's task-local value.
#[derive(Clone, Default)]
pub struct TaskUpdates(pub Vec<(AccumulatorId, Value)>);

#[derive(Clone)]
struct Driven {
    value: Value,
    add: AddInPlace,
}

/// The engine's accumulator side-channel: the driver's values and the running task's copies.
#[derive(Default)]
pub struct Accumulators {
    driver: RefCell<BTreeMap<AccumulatorId, Driven>>,
    task: RefCell<Vec<(AccumulatorId, Value)>>,
    /// Where the driver runs `addInPlace` while merging (it holds no program state).
    merger: RefCell<Option<Interpreter>>,
}

impl Accumulators {
    /// `sc.accumulator(value, param)` on the driver: a new id.
    pub fn register(&self, value: Value, add: AddInPlace) -> AccumulatorId {
        let mut d = self.driver.borrow_mut();
        let id = d.len() as AccumulatorId;
        d.insert(id, Driven { value, add });
        id
    }

    pub fn value(&self, id: AccumulatorId) -> Value {
        self.driver.borrow().get(&id).map(|d| d.value.clone()).expect("registered accumulator")
    }

    pub fn set_value(&self, id: AccumulatorId, value: Value) {
        if let Some(d) = self.driver.borrow_mut().get_mut(&id) {
            d.value = value;
        }
    }

    pub fn adder(&self, id: AccumulatorId) -> AddInPlace {
        self.driver.borrow().get(&id).map(|d| d.add.clone()).expect("registered accumulator")
    }

    /// An executor deserialized accumulator `id`: its task-local copy starts at `zero`.
    pub fn task_touch(&self, id: AccumulatorId, zero: Value) {
        let mut t = self.task.borrow_mut();
        if !t.iter().any(|(i, _)| *i == id) {
            t.push((id, zero));
        }
    }

    /// `acc.add(x)` inside a task, in the worker's interpreter.
    pub fn task_add(&self, it: &mut Interpreter, id: AccumulatorId, add: &AddInPlace, term: Value) -> PResult<()> {
        let current = self.task.borrow().iter().find(|(i, _)| *i == id).map(|(_, v)| v.clone());
        let current = current.expect("a task adds only to accumulators it deserialized");
        let next = add.apply(it, current, term)?;
        if let Some(slot) = self.task.borrow_mut().iter_mut().find(|(i, _)| *i == id) {
            slot.1 = next;
        }
        Ok(())
    }

    /// A driver program starts over (cluster mode replays it): accumulators are registered
    /// again from id 0, and the merged updates of finished jobs are applied again.
    pub fn reset_driver(&self) {
        self.driver.borrow_mut().clear();
    }

    /// What the task that just ran added; the executor's copies are gone afterwards.
    pub fn take_task_updates(&self) -> TaskUpdates {
        TaskUpdates(std::mem::take(&mut *self.task.borrow_mut()))
    }

    /// The driver merges a successful task's updates (`addInPlace(value, update)`). As in
    /// Spark's `DAGScheduler.updateAccumulators`, an update that fails to merge is dropped
    /// and the job goes on.
    pub fn merge(&self, updates: TaskUpdates) {
        let mut merger = self.merger.borrow_mut();
        let it = merger.get_or_insert_with(Interpreter::new);
        for (id, update) in updates.0 {
            let Some(d) = self.driver.borrow().get(&id).cloned() else { continue };
            if let Ok(value) = d.add.apply(it, d.value, update) {
                self.set_value(id, value);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn task_updates_reach_the_driver_only_when_merged() {
        let acc = Accumulators::default();
        let id = acc.register(Value::Int(10), AddInPlace::Plus);
        let mut worker = Interpreter::new();
        acc.task_touch(id, Value::Int(0));
        acc.task_add(&mut worker, id, &AddInPlace::Plus, Value::Int(3)).unwrap();
        acc.task_add(&mut worker, id, &AddInPlace::Plus, Value::Int(4)).unwrap();
        assert_eq!(acc.value(id).as_int(), Some(10), "a task's copy is not the driver's value");
        let updates = acc.take_task_updates();
        assert!(acc.take_task_updates().0.is_empty(), "taking the updates ends the task's copies");
        acc.merge(updates);
        assert_eq!(acc.value(id).as_int(), Some(17));
    }
}
