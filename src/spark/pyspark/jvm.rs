//! What the JVM side of PySpark knows about each RDD and shows to Python: its class, the call
//! site it was created at, the name `setName` gave it and its storage level. `print(rdd)` is
//! the JVM RDD's `toString` and `rdd.toDebugString()` Spark's lineage dump.
//!
//! Creation sites are Spark's: a call inside PySpark's `SCCallSiteSync` (an action, or
//! `partitionBy` making its `PairwiseRDD`) is named after the user's call
//! (`reduceByKey at job.py:10`); any other RDD is named after the JVM frame that made it.

use super::Ctx;
use crate::py::{ExcType, Interpreter, NativeAttr, NativeObject, PResult, PyErr, Str, Value};
use crate::spark::lineage::{Dependency, RddId};
use std::rc::Rc;

/// A JVM RDD's attributes that Python can see.
#[derive(Clone, Debug)]
pub struct JvmRdd {
    pub class: String,
    pub site: String,
    pub name: Option<String>,
    pub level: Level,
}

/// Where a JVM method called through py4j creates an RDD.
pub fn native_site(method: &str) -> String {
    format!("{method} at NativeMethodAccessorImpl.java:0")
}

/// `PythonRDD`'s constructor, when no PySpark call site is set.
pub const PYTHON_RDD_SITE: &str = "RDD at PythonRDD.scala:57";
/// `parallelize` reads the driver's data back from a file.
pub const PARALLELIZE_SITE: &str = "readRDDFromFile at PythonRDD.scala:298";
/// The `values` of `PairwiseRDD` → `ShuffledRDD` in `partitionBy`.
pub const SHUFFLE_VALUES_SITE: &str = "mapPartitions at PythonRDD.scala:169";

/// `StorageLevel(useDisk, useMemory, useOffHeap, deserialized, replication)`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Level {
    pub disk: bool,
    pub memory: bool,
    pub off_heap: bool,
    pub deserialized: bool,
    pub replication: u32,
}

impl Level {
    pub const NONE: Level = Level::new(false, false, false, false, 1);
    pub const MEMORY_ONLY: Level = Level::new(false, true, false, false, 1);

    pub const fn new(disk: bool, memory: bool, off_heap: bool, deserialized: bool, replication: u32) -> Level {
        Level { disk, memory, off_heap, deserialized, replication }
    }

    /// PySpark's `StorageLevel` constants.
    pub const NAMED: &[(&str, Level)] = &[
        ("NONE", Level::NONE),
        ("DISK_ONLY", Level::new(true, false, false, false, 1)),
        ("DISK_ONLY_2", Level::new(true, false, false, false, 2)),
        ("DISK_ONLY_3", Level::new(true, false, false, false, 3)),
        ("MEMORY_ONLY", Level::MEMORY_ONLY),
        ("MEMORY_ONLY_2", Level::new(false, true, false, false, 2)),
        ("MEMORY_AND_DISK", Level::new(true, true, false, false, 1)),
        ("MEMORY_AND_DISK_2", Level::new(true, true, false, false, 2)),
        ("OFF_HEAP", Level::new(true, true, true, false, 1)),
        ("MEMORY_AND_DISK_DESER", Level::new(true, true, false, true, 1)),
    ];

    /// Python's `str(StorageLevel)`.
    pub fn python_str(&self) -> String {
        let mut s = String::new();
        for (on, word) in [(self.disk, "Disk "), (self.memory, "Memory "), (self.off_heap, "OffHeap ")] {
            if on {
                s.push_str(word);
            }
        }
        s.push_str(if self.deserialized { "Deserialized " } else { "Serialized " });
        s + &format!("{}x Replicated", self.replication)
    }

    /// The JVM's `StorageLevel.description`, shown by `toDebugString`.
    pub fn description(&self) -> String {
        let mut s = String::new();
        if self.disk {
            s.push_str("Disk ");
        }
        if self.off_heap {
            s.push_str("Memory (off heap) ");
        } else if self.memory {
            s.push_str("Memory ");
        }
        s.push_str(if self.deserialized { "Deserialized " } else { "Serialized " });
        s + &format!("{}x Replicated", self.replication)
    }
}

/// `pyspark.StorageLevel` values and the class itself (callable, with the constants).
pub struct StorageLevel(pub Option<Level>);

pub fn level_of(v: &Value) -> Option<Level> {
    match v {
        Value::Native(n) => n.as_any().downcast_ref::<StorageLevel>().and_then(|s| s.0),
        _ => None,
    }
}

pub fn level_value(l: Level) -> Value {
    Value::Native(Rc::new(StorageLevel(Some(l))))
}

impl NativeObject for StorageLevel {
    fn type_name(&self) -> &str {
        if self.0.is_some() {
            "StorageLevel"
        } else {
            "type"
        }
    }
    fn get_attr(&self, _this: &Rc<dyn NativeObject>, name: &str, _it: &mut Interpreter) -> PResult<NativeAttr> {
        let Some(l) = self.0 else {
            return Ok(match Level::NAMED.iter().find(|(n, _)| *n == name) {
                Some((_, l)) => NativeAttr::Value(level_value(*l)),
                None if name == "__name__" => NativeAttr::Value(Value::str("StorageLevel")),
                None => NativeAttr::Missing,
            });
        };
        Ok(match name {
            "useDisk" => NativeAttr::Value(Value::Bool(l.disk)),
            "useMemory" => NativeAttr::Value(Value::Bool(l.memory)),
            "useOffHeap" => NativeAttr::Value(Value::Bool(l.off_heap)),
            "deserialized" => NativeAttr::Value(Value::Bool(l.deserialized)),
            "replication" => NativeAttr::Value(Value::Int(l.replication as i64)),
            _ => NativeAttr::Missing,
        })
    }
    fn call(
        &self,
        _this: &Rc<dyn NativeObject>,
        args: Vec<Value>,
        kwargs: Vec<(Str, Value)>,
        _it: &mut Interpreter,
    ) -> PResult<Value> {
        if self.0.is_some() {
            return Err(PyErr::new(ExcType::TypeError, "'StorageLevel' object is not callable"));
        }
        let names = ["useDisk", "useMemory", "useOffHeap", "deserialized", "replication"];
        let get = |i: usize| super::arg(&args, &kwargs, i, names[i]);
        let flag = |i: usize| {
            get(i).map(|v| v.truthy()).ok_or_else(|| {
                PyErr::new(
                    ExcType::TypeError,
                    format!("StorageLevel.__init__() missing 1 required positional argument: '{}'", names[i]),
                )
            })
        };
        let replication = get(4).and_then(|v| v.as_int()).unwrap_or(1).max(0) as u32;
        Ok(level_value(Level::new(flag(0)?, flag(1)?, flag(2)?, flag(3)?, replication)))
    }
    fn repr(&self) -> String {
        match self.0 {
            Some(l) => {
                let b = |x: bool| if x { "True" } else { "False" };
                format!(
                    "StorageLevel({}, {}, {}, {}, {})",
                    b(l.disk),
                    b(l.memory),
                    b(l.off_heap),
                    b(l.deserialized),
                    l.replication
                )
            }
            None => "<class 'pyspark.storagelevel.StorageLevel'>".into(),
        }
    }
    fn str(&self) -> Option<String> {
        self.0.map(|l| l.python_str())
    }
    fn pickle(&self) -> crate::py::Pickle {
        crate::py::Pickle::Unpicklable("StorageLevel".into())
    }
    fn class_module(&self) -> Option<&str> {
        Some("pyspark.storagelevel")
    }
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

impl Ctx {
    /// The JVM RDD `id`'s attributes.
    pub fn jvm_rdd(&self, id: RddId) -> JvmRdd {
        self.jvm.borrow().get(&id).cloned().expect("every JVM RDD is recorded")
    }

    pub fn set_jvm_name(&self, id: RddId, name: Option<String>) {
        if let Some(r) = self.jvm.borrow_mut().get_mut(&id) {
            r.name = name;
        }
    }

    pub fn set_level(&self, id: RddId, level: Level) {
        if let Some(r) = self.jvm.borrow_mut().get_mut(&id) {
            r.level = level;
        }
    }

    /// The site a new RDD gets: the user's call while PySpark syncs it, else `jvm_site`.
    pub fn site_or(&self, jvm_site: &str) -> String {
        match (self.sync_depth.get() > 0, self.call_site.borrow().as_ref()) {
            (true, Some(site)) => site.clone(),
            _ => jvm_site.to_string(),
        }
    }

    /// Runs `f` inside `SCCallSiteSync`: RDDs it creates are named after the user's call.
    pub fn synced<T>(&self, f: impl FnOnce() -> T) -> T {
        self.sync_depth.set(self.sync_depth.get() + 1);
        let r = f();
        self.sync_depth.set(self.sync_depth.get() - 1);
        r
    }

    /// `rdd.toString()` on the JVM.
    pub fn jvm_string(&self, id: RddId) -> String {
        let r = self.jvm_rdd(id);
        let name = r.name.map(|n| n + " ").unwrap_or_default();
        format!("{name}{}[{id}] at {}", r.class, r.site)
    }

    /// Spark's `RDD.toDebugString` for `id`. As in Spark, every line shows the storage level
    /// of `id` itself, not of the RDD on that line.
    pub fn debug_string(&self, id: RddId) -> String {
        let level = self.jvm_rdd(id).level;
        let persistence = if level == Level::NONE { String::new() } else { level.description() };
        let e = self.engine.borrow();
        let lineage = &e.scheduler.lineage;
        let self_line = |r: RddId| format!("{} [{persistence}]", self.jvm_string(r));
        let width = |r: RddId| format!("({})", lineage.get(r).partitions);
        let mut lines = vec![];
        // (rdd, prefix, is_shuffle, is_last_child), depth-first as Spark recurses.
        let first = width(id);
        let left = (first.len() - 1) / 2;
        let next = format!("{}|{}", " ".repeat(left), " ".repeat(first.len() - left));
        lines.push(format!("{first} {}", self_line(id)));
        let mut stack: Vec<(RddId, String, bool, bool)> = children(lineage, id, &next);
        while let Some((r, prefix, shuffle, last)) = stack.pop() {
            let next = if shuffle {
                let part = width(r);
                let left = (part.len() - 1) / 2;
                let this = trim_bar(&prefix);
                lines.push(format!("{this}+-{part} {}", self_line(r)));
                format!(
                    "{this}{}{}|{}",
                    if last { "  " } else { "| " },
                    " ".repeat(left),
                    " ".repeat(part.len() - left)
                )
            } else {
                lines.push(format!("{prefix}{}", self_line(r)));
                prefix
            };
            stack.extend(children(lineage, r, &next));
        }
        lines.join("\n")
    }
}

/// `rdd`'s dependencies as stack entries, reversed so the first is visited first.
fn children(lineage: &crate::spark::lineage::Lineage, rdd: RddId, prefix: &str) -> Vec<(RddId, String, bool, bool)> {
    let deps = &lineage.get(rdd).deps;
    let n = deps.len();
    deps.iter()
        .enumerate()
        .map(|(i, d)| (d.parent(), prefix.to_string(), matches!(d, Dependency::Shuffle { .. }), i + 1 == n))
        .rev()
        .collect()
}

/// Spark's `prefix.replaceAll("\\|\\s+$", "")`.
fn trim_bar(prefix: &str) -> String {
    let t = prefix.trim_end();
    match t.strip_suffix('|') {
        Some(rest) if t.len() < prefix.len() => rest.to_string(),
        _ => prefix.to_string(),
    }
}

/// A JVM object as py4j hands it to Python: here only a `Py4JJavaError`'s `java_exception`
/// (its class and message) or that object's `getClass()`.
pub struct JavaObject {
    pub class: String,
    pub message: Option<String>,
    /// `getClass()`'s result: a `java.lang.Class` naming `class`.
    pub is_class: bool,
}

impl NativeObject for JavaObject {
    fn type_name(&self) -> &str {
        "JavaObject"
    }
    fn get_attr(&self, _this: &Rc<dyn NativeObject>, name: &str, _it: &mut Interpreter) -> PResult<NativeAttr> {
        let methods: &[&str] = if self.is_class {
            &["getName", "getSimpleName", "toString"]
        } else {
            &["getClass", "getMessage", "toString"]
        };
        Ok(if methods.contains(&name) { NativeAttr::Method } else { NativeAttr::Missing })
    }
    fn call_method(
        &self,
        _this: &Rc<dyn NativeObject>,
        name: &str,
        _args: Vec<Value>,
        _kwargs: Vec<(Str, Value)>,
        _it: &mut Interpreter,
    ) -> PResult<Value> {
        let simple = self.class.rsplit('.').next().unwrap_or(&self.class);
        Ok(match name {
            "getName" => Value::str(&self.class),
            "getSimpleName" => Value::str(simple),
            "getClass" => {
                Value::Native(Rc::new(JavaObject { class: self.class.clone(), message: None, is_class: true }))
            }
            "getMessage" => self.message.as_deref().map_or(Value::None, Value::str),
            _ => Value::str(&self.repr_text()),
        })
    }
    fn repr(&self) -> String {
        self.repr_text()
    }
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

impl JavaObject {
    fn repr_text(&self) -> String {
        match (&self.message, self.is_class) {
            (_, true) => format!("class {}", self.class),
            (Some(m), false) => format!("{}: {m}", self.class),
            (None, false) => self.class.clone(),
        }
    }
}
