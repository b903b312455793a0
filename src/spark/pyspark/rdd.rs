//! RDD natives and their transformations, shaped as PySpark's `rdd.py` shapes them: narrow
//! functions pipeline into one `PythonRDD`; key aggregations are combineLocally → partitionBy
//! (portable_hash % n) → mergeCombiners; joins are tag, union, groupByKey, dispatch.

use super::sampling::Draw;
use super::{jvm, Ctx};
use crate::py::native::{arg, need};
use crate::py::{ExcType, Interpreter, NativeAttr, NativeObject, PResult, PyErr, Str, Value};
use crate::spark::engine::Plan;
use crate::spark::ops::{Create, Keep, Merge, Op};
use crate::spark::slicing::{list_slices, range_slices};
use crate::spark::RddId;
use std::cell::Cell;
use std::rc::Rc;

/// `Partitioner(numPartitions, partitionFunc)`: equal when n and the function object match.
#[derive(Clone)]
pub struct Partitioner {
    pub n: u32,
    pub func: Option<Value>,
}

impl PartialEq for Partitioner {
    fn eq(&self, o: &Partitioner) -> bool {
        self.n == o.n
            && match (&self.func, &o.func) {
                (None, None) => true,
                (Some(a), Some(b)) => crate::py::value::same_object(a, b),
                _ => false,
            }
    }
}

/// A Python-side RDD: a JVM RDD (`prev`) plus, for a `PipelinedRDD`, the operators pipelined
/// onto it and the values they use; its own `PythonRDD` is made (and shipped) on first need.
pub struct PyRdd {
    pub ctx: Rc<Ctx>,
    pub prev: RddId,
    pub ops: Vec<Op>,
    pub funcs: Vec<Value>,
    pub jrdd: Cell<Option<RddId>>,
    pub partitioner: Option<Partitioner>,
    pub cached: Cell<bool>,
}

impl PyRdd {
    pub fn plain(ctx: &Rc<Ctx>, jrdd: RddId, partitioner: Option<Partitioner>) -> Rc<PyRdd> {
        Rc::new(PyRdd {
            ctx: ctx.clone(),
            prev: jrdd,
            ops: vec![],
            funcs: vec![],
            jrdd: Cell::new(Some(jrdd)),
            partitioner,
            cached: Cell::new(false),
        })
    }

    fn pipelined(&self) -> bool {
        !self.ops.is_empty() && !self.deserializes_only()
    }

    /// A JVM RDD read through PySpark's pair deserializer (`zip`), with nothing pipelined yet.
    pub fn deserializes_only(&self) -> bool {
        matches!(self.ops.as_slice(), [Op::UnpackPairBatches])
    }

    pub fn num_partitions(&self) -> u32 {
        self.ctx.engine.borrow().num_partitions(self.prev)
    }

    /// `_jrdd`: the JVM RDD, creating the `PythonRDD` (and shipping its functions) once.
    pub fn jrdd(&self) -> PResult<RddId> {
        if let Some(id) = self.jrdd.get() {
            return Ok(id);
        }
        self.ctx.broadcasts.start_pickling();
        let mut shipped = Vec::with_capacity(self.funcs.len());
        for f in &self.funcs {
            shipped.push(crate::py::ship(f)?);
        }
        let n = self.ctx.engine.borrow().num_partitions(self.prev);
        let plan = Plan::Python { parent: self.prev, ops: self.ops.clone(), shipped };
        let id = self.ctx.add_rdd("PythonRDD", self.ctx.site_or(jvm::PYTHON_RDD_SITE), n, &[self.prev], plan);
        self.ctx.broadcasts.attach_pickled(id);
        self.jrdd.set(Some(id));
        Ok(id)
    }

    /// The JVM RDD Python holds (`_jrdd`) for `repr`, `id`, names, storage levels and debug
    /// strings: a zip's is the JVM's zipped RDD itself, read through the pair deserializer.
    pub fn jvm_handle(&self) -> PResult<RddId> {
        if self.deserializes_only() {
            Ok(self.prev)
        } else {
            self.jrdd()
        }
    }

    /// `PipelinedRDD(self, op)`: composes with this RDD's chain unless it is cached.
    pub fn pipe(
        self: &Rc<Self>,
        op: impl FnOnce(usize) -> Vec<Op>,
        funcs: Vec<Value>,
        keep_partitioner: bool,
    ) -> PResult<Rc<PyRdd>> {
        // A zip's records are deserialized by the next Python function, cached or not.
        let (prev, mut ops, mut all) = if self.deserializes_only() || (self.pipelined() && !self.cached.get()) {
            (self.prev, self.ops.clone(), self.funcs.clone())
        } else {
            (self.jrdd()?, vec![], vec![])
        };
        ops.extend(op(all.len()));
        all.extend(funcs);
        Ok(Rc::new(PyRdd {
            ctx: self.ctx.clone(),
            prev,
            ops,
            funcs: all,
            jrdd: Cell::new(None),
            partitioner: if keep_partitioner { self.partitioner.clone() } else { None },
            cached: Cell::new(false),
        }))
    }

    /// `partitionBy(n, partitionFunc)`: add_shuffle_key → PairwiseRDD → ShuffledRDD → values.
    pub fn partition_by(self: &Rc<Self>, n: u32, func: Option<Value>) -> PResult<Rc<PyRdd>> {
        let partitioner = Partitioner { n, func: func.clone() };
        if self.partitioner.as_ref() == Some(&partitioner) {
            return Ok(self.clone());
        }
        let keyed = match func {
            None => self.pipe(|_| vec![Op::AddShuffleKey { n, func: None }], vec![], false)?,
            Some(f) => self.pipe(|b| vec![Op::AddShuffleKey { n, func: Some(b) }], vec![f], false)?,
        };
        self.shuffle_keyed(&keyed, n, Some(partitioner))
    }

    fn shuffle_keyed(&self, keyed: &Rc<PyRdd>, n: u32, partitioner: Option<Partitioner>) -> PResult<Rc<PyRdd>> {
        let ctx = &self.ctx;
        let pairwise = ctx.synced(|| -> PResult<RddId> {
            let k = keyed.jrdd()?;
            let maps = ctx.engine.borrow().num_partitions(k);
            Ok(ctx.add_rdd("PairwiseRDD", ctx.site_or(&jvm::native_site("partitionBy")), maps, &[k], Plan::Identity(k)))
        })?;
        let shuffled = ctx.add_shuffled(pairwise, n);
        let values =
            ctx.add_rdd("MapPartitionsRDD", jvm::SHUFFLE_VALUES_SITE.into(), n, &[shuffled], Plan::Identity(shuffled));
        Ok(PyRdd::plain(ctx, values, partitioner))
    }

    /// `combineByKey` with PySpark's three steps.
    pub fn combine_by_key(
        self: &Rc<Self>,
        create: Create,
        merge_value: Option<Merge>,
        merge_combiners: Option<Merge>,
        funcs: Vec<Value>,
        n: Option<u32>,
        func: Option<Value>,
    ) -> PResult<Rc<PyRdd>> {
        let n = n.unwrap_or_else(|| self.ctx.default_reduce_partitions(self.num_partitions()));
        let (c, mv, mc) = (create, merge_value, merge_combiners);
        let local = self.pipe(
            move |b| vec![Op::CombineLocally { create: shift_create(c, b), merge_value: mv.map(|m| shift(m, b)) }],
            funcs.clone(),
            true,
        )?;
        let shuffled = local.partition_by(n, func)?;
        let base_offset_funcs = funcs;
        shuffled.pipe(move |b| vec![Op::MergeCombiners(mc.map(|m| shift(m, b)))], base_offset_funcs, true)
    }

    pub fn group_by_key(self: &Rc<Self>, n: Option<u32>, func: Option<Value>) -> PResult<Rc<PyRdd>> {
        self.combine_by_key(Create::List, None, None, vec![], n, func)
    }
}

fn shift(m: Merge, b: usize) -> Merge {
    match m {
        Merge::Py(i) => Merge::Py(i + b),
        other => other,
    }
}

fn shift_create(c: Create, b: usize) -> Create {
    match c {
        Create::Py(i) => Create::Py(i + b),
        Create::Zero { zero, merge } => Create::Zero { zero: zero + b, merge: shift(merge, b) },
        other => other,
    }
}

/// `pyspark.Partitioner`, as `rdd.partitioner` shows it.
impl NativeObject for Partitioner {
    fn type_name(&self) -> &str {
        "Partitioner"
    }
    fn get_attr(&self, _this: &Rc<dyn NativeObject>, name: &str, _it: &mut Interpreter) -> PResult<NativeAttr> {
        Ok(match name {
            "numPartitions" => NativeAttr::Value(Value::Int(self.n as i64)),
            "partitionFunc" => NativeAttr::Value(self.func.clone().unwrap_or(Value::None)),
            _ => NativeAttr::Missing,
        })
    }
    fn native_eq(&self, other: &dyn NativeObject) -> Option<bool> {
        Some(other.as_any().downcast_ref::<Partitioner>().is_some_and(|o| o == self))
    }
    fn class_module(&self) -> Option<&str> {
        Some("pyspark.core.rdd")
    }
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

pub fn rdd_value(r: Rc<PyRdd>) -> Value {
    Value::Native(r)
}

fn int_arg(v: Option<Value>) -> Option<u32> {
    v.and_then(|v| v.as_int()).map(|i| i.max(0) as u32)
}

/// `sc.parallelize`, `sc.range`, `sc.emptyRDD`, `sc.textFile`, `sc.stop`, `sc.union`.
pub fn context_method(
    ctx: &Rc<Ctx>,
    name: &str,
    args: Vec<Value>,
    kwargs: Vec<(Str, Value)>,
    it: &mut Interpreter,
) -> PResult<Value> {
    match name {
        "parallelize" => {
            let c = need(&args, &kwargs, 0, "c", "parallelize")?;
            let n = int_arg(arg(&args, &kwargs, 1, "numSlices")).unwrap_or(ctx.default_parallelism);
            parallelize(ctx, c, n, it)
        }
        "range" => {
            let a = need(&args, &kwargs, 0, "start", "range")?.as_int().unwrap_or(0);
            let end = arg(&args, &kwargs, 1, "end").filter(|v| !v.is_none()).and_then(|v| v.as_int());
            let step = arg(&args, &kwargs, 2, "step").and_then(|v| v.as_int()).unwrap_or(1);
            let n = int_arg(arg(&args, &kwargs, 3, "numSlices")).unwrap_or(ctx.default_parallelism);
            let (start, stop) = match end {
                Some(e) => (a, e),
                None => (0, a),
            };
            let r = Value::Range(Rc::new(crate::py::value::Range { start, stop, step }));
            parallelize(ctx, r, n, it)
        }
        "emptyRDD" => {
            let id = ctx.add_rdd("EmptyRDD", jvm::native_site("emptyRDD"), 0, &[], Plan::Empty);
            Ok(rdd_value(PyRdd::plain(ctx, id, None)))
        }
        "textFile" => {
            let path = need(&args, &kwargs, 0, "name", "textFile")?;
            let path = it.to_str(&path)?;
            let min = int_arg(arg(&args, &kwargs, 1, "minPartitions")).unwrap_or(ctx.default_parallelism.min(2));
            let e = ctx.engine.borrow();
            let (splits, missing) = match e.fs.input_files(&path) {
                // HadoopRDD drops empty splits (`spark.hadoopRDD.ignoreEmptySplits`, default on).
                Ok(files) => (e.fs.splits(&files, min).into_iter().filter(|s| s.length > 0).collect(), None),
                Err(m) => (vec![], Some(m)),
            };
            drop(e);
            let n = splits.len() as u32;
            let site = jvm::native_site("textFile");
            let hadoop = ctx.add_rdd("HadoopRDD", site.clone(), n, &[], Plan::Text(splits));
            if let Some(m) = missing {
                ctx.missing_inputs.borrow_mut().insert(hadoop, m);
            }
            let lines = ctx.add_rdd("MapPartitionsRDD", site, n, &[hadoop], Plan::Identity(hadoop));
            ctx.set_jvm_name(hadoop, Some(path.clone()));
            ctx.set_jvm_name(lines, Some(path));
            Ok(rdd_value(PyRdd::plain(ctx, lines, None)))
        }
        "union" => {
            let rdds = it.collect(&need(&args, &kwargs, 0, "rdds", "union")?)?;
            let mut acc: Option<Rc<PyRdd>> = None;
            for r in rdds {
                let r = as_rdd(&r)?;
                acc = Some(match acc {
                    None => r,
                    Some(a) => union(&a, &r)?,
                });
            }
            Ok(acc.map(rdd_value).unwrap_or(Value::None))
        }
        "stop" => {
            ctx.stopped.set(true);
            Ok(Value::None)
        }
        "setLogLevel" => Ok(Value::None),
        "broadcast" => Ok(super::broadcast::new_broadcast(ctx, need(&args, &kwargs, 0, "value", name)?)),
        "accumulator" => {
            let value = need(&args, &kwargs, 0, "value", name)?;
            let param = arg(&args, &kwargs, 1, "accum_param").filter(|p| !p.is_none());
            super::accumulators::new_accumulator(ctx, value, param, it)
        }
        _ => unreachable!("listed method {name}"),
    }
}

fn parallelize(ctx: &Rc<Ctx>, c: Value, n: u32, it: &mut Interpreter) -> PResult<Value> {
    if let Value::Range(r) = &c {
        let size = r.len().max(0) as usize;
        if size > 0 {
            // `parallelize([], n).mapPartitionsWithIndex(f)`, f yielding each slice's range:
            // our ParallelCollectionRDD yields the slices itself, so f is a pass-through.
            let plan = Plan::Range(range_slices(r.start, size, r.step, n));
            let id = ctx.add_rdd("ParallelCollectionRDD", jvm::PARALLELIZE_SITE.into(), n, &[], plan);
            let empty = PyRdd::plain(ctx, id, None);
            return Ok(rdd_value(empty.pipe(|_| vec![Op::Pass], vec![], false)?));
        }
    }
    let items: Vec<Value> = it.collect(&c)?.iter().map(super::copy_value).collect();
    let plan = Plan::Parallel(list_slices(items.len(), n).into_iter().map(|r| items[r].to_vec()).collect());
    let id = ctx.add_rdd("ParallelCollectionRDD", jvm::PARALLELIZE_SITE.into(), n, &[], plan);
    Ok(rdd_value(PyRdd::plain(ctx, id, None)))
}

pub fn as_rdd(v: &Value) -> PResult<Rc<PyRdd>> {
    if let Value::Native(n) = v {
        if n.as_any().is::<PyRdd>() {
            let rc: Rc<dyn std::any::Any> = n.clone();
            if let Ok(r) = rc.downcast::<PyRdd>() {
                return Ok(r);
            }
        }
    }
    Err(PyErr::new(ExcType::TypeError, format!("expected an RDD, got {}", v.type_name())))
}

/// `rdd.union(other)`: UnionRDD, or PartitionerAwareUnionRDD when both share a partitioner.
pub fn union(a: &Rc<PyRdd>, b: &Rc<PyRdd>) -> PResult<Rc<PyRdd>> {
    let (ja, jb) = (a.jrdd()?, b.jrdd()?);
    let (na, nb) = (a.ctx.engine.borrow().num_partitions(ja), a.ctx.engine.borrow().num_partitions(jb));
    let site = jvm::native_site("union");
    if a.partitioner.is_some() && a.partitioner == b.partitioner && na == nb {
        let plan = Plan::AwareUnion(vec![ja, jb]);
        let id = a.ctx.add_rdd("PartitionerAwareUnionRDD", site, na, &[ja, jb], plan);
        return Ok(PyRdd::plain(&a.ctx, id, a.partitioner.clone()));
    }
    let parts = (0..na).map(|p| (ja, p)).chain((0..nb).map(|p| (jb, p))).collect();
    let id = a.ctx.add_rdd("UnionRDD", site, na + nb, &[ja, jb], Plan::Union(parts));
    Ok(PyRdd::plain(&a.ctx, id, None))
}

/// `RDD.__getnewargs__`'s error (PySpark's message, its line breaks and trailing spaces).
const RDD_ON_WORKER: &str = "PySparkRuntimeError: [RDD_TRANSFORM_ONLY_VALID_ON_DRIVER] It appears that you are attempting to broadcast an RDD or reference an RDD from an \naction or transformation. RDD transformations and actions can only be invoked by the \ndriver, not inside of other transformations; for example, \nrdd1.map(lambda x: rdd2.values.count() * x) is invalid because the values \ntransformation and count action cannot be performed inside of the rdd1.map \ntransformation. For more information, see SPARK-5063.";

pub const METHODS: &[&str] = &[
    "map",
    "flatMap",
    "filter",
    "mapPartitions",
    "mapPartitionsWithIndex",
    "glom",
    "mapValues",
    "flatMapValues",
    "keys",
    "values",
    "keyBy",
    "distinct",
    "union",
    "partitionBy",
    "reduceByKey",
    "groupByKey",
    "foldByKey",
    "aggregateByKey",
    "combineByKey",
    "groupBy",
    "cache",
    "persist",
    "unpersist",
    "getNumPartitions",
    "coalesce",
    "repartition",
    "cartesian",
    "zip",
    "zipWithUniqueId",
    "zipWithIndex",
    "join",
    "leftOuterJoin",
    "rightOuterJoin",
    "fullOuterJoin",
    "cogroup",
    "groupWith",
    "sortByKey",
    "sortBy",
    "collect",
    "count",
    "first",
    "take",
    "takeOrdered",
    "top",
    "reduce",
    "fold",
    "aggregate",
    "sum",
    "max",
    "min",
    "mean",
    "stats",
    "variance",
    "stdev",
    "sampleVariance",
    "sampleStdev",
    "histogram",
    "countByKey",
    "countByValue",
    "collectAsMap",
    "foreach",
    "foreachPartition",
    "isEmpty",
    "saveAsTextFile",
    "lookup",
    "intersection",
    "subtract",
    "subtractByKey",
    "sample",
    "takeSample",
    "randomSplit",
    "is_cached",
    "name",
    "setName",
    "toDebugString",
    "getStorageLevel",
    "id",
];

impl NativeObject for PyRdd {
    fn type_name(&self) -> &str {
        if self.pipelined() {
            "PipelinedRDD"
        } else {
            "RDD"
        }
    }
    fn get_attr(&self, _this: &Rc<dyn NativeObject>, name: &str, _it: &mut Interpreter) -> PResult<NativeAttr> {
        if name == "is_cached" {
            return Ok(NativeAttr::Value(Value::Bool(self.cached.get())));
        }
        if name == "partitioner" {
            let p = self.partitioner.clone().map_or(Value::None, |p| Value::Native(Rc::new(p)));
            return Ok(NativeAttr::Value(p));
        }
        if name == "context" {
            return Ok(NativeAttr::Value(Value::Native(Rc::new(super::SparkContext { ctx: self.ctx.clone() }))));
        }
        Ok(if METHODS.contains(&name) { NativeAttr::Method } else { NativeAttr::Missing })
    }
    fn call_method(
        &self,
        this: &Rc<dyn NativeObject>,
        name: &str,
        args: Vec<Value>,
        kwargs: Vec<(Str, Value)>,
        it: &mut Interpreter,
    ) -> PResult<Value> {
        let me = as_rdd(&Value::Native(this.clone()))?;
        let outermost = self.ctx.call_site.borrow().is_none();
        if outermost {
            *self.ctx.call_site.borrow_mut() = Some(format!("{name} at {}:{}", it.filename, it.line));
        }
        let r = match transform(&me, name, &args, &kwargs, it) {
            Ok(Some(v)) => Ok(v),
            Ok(None) => super::actions::action(&me, name, &args, &kwargs, it),
            Err(e) => Err(e),
        };
        if outermost {
            *self.ctx.call_site.borrow_mut() = None;
        }
        r
    }
    fn pickle(&self) -> crate::py::Pickle {
        crate::py::Pickle::Raises(RDD_ON_WORKER.into())
    }
    fn class_module(&self) -> Option<&str> {
        Some("pyspark.core.rdd")
    }
    /// The JVM RDD's `toString`; like PySpark, this creates a pipelined RDD's `PythonRDD`.
    fn repr(&self) -> String {
        let id = self.jvm_handle().unwrap_or(self.prev);
        // `cartesian` and `zip` hand Python a `JavaPairRDD`, whose toString is Object's.
        match self.ctx.jvm_rdd(id).class.as_str() {
            "CartesianRDD" | "ZippedPartitionsRDD2" if !self.pipelined() => {
                format!(
                    "org.apache.spark.api.java.JavaPairRDD@{:x}",
                    0x1b6d_3586u32.wrapping_add(id.wrapping_mul(0x9e37))
                )
            }
            _ => self.ctx.jvm_string(id),
        }
    }
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

fn f1(args: &[Value], kwargs: &[(Str, Value)], name: &str, method: &str) -> PResult<Value> {
    need(args, kwargs, 0, name, method)
}

/// Transformations; `None` means `name` is an action.
fn transform(
    me: &Rc<PyRdd>,
    name: &str,
    args: &[Value],
    kwargs: &[(Str, Value)],
    it: &mut Interpreter,
) -> PResult<Option<Value>> {
    let preserves = arg(args, kwargs, 1, "preservesPartitioning").is_some_and(|v| v.truthy());
    let num = |i: usize| int_arg(arg(args, kwargs, i, "numPartitions").filter(|v| !v.is_none()));
    let r = match name {
        "map" => me.pipe(|b| vec![Op::Map(b)], vec![f1(args, kwargs, "f", name)?], preserves)?,
        "flatMap" => me.pipe(|b| vec![Op::FlatMap(b)], vec![f1(args, kwargs, "f", name)?], preserves)?,
        "filter" => me.pipe(|b| vec![Op::Filter(b)], vec![f1(args, kwargs, "f", name)?], true)?,
        "mapPartitions" => me.pipe(|b| vec![Op::MapPartitions(b)], vec![f1(args, kwargs, "f", name)?], preserves)?,
        "mapPartitionsWithIndex" => {
            me.pipe(|b| vec![Op::MapPartitionsWithIndex(b)], vec![f1(args, kwargs, "f", name)?], preserves)?
        }
        "glom" => me.pipe(|_| vec![Op::Glom], vec![], false)?,
        "mapValues" => me.pipe(|b| vec![Op::MapValues(b)], vec![f1(args, kwargs, "f", name)?], true)?,
        "flatMapValues" => me.pipe(|b| vec![Op::FlatMapValues(b)], vec![f1(args, kwargs, "f", name)?], true)?,
        "keyBy" => me.pipe(|b| vec![Op::KeyBy(b)], vec![f1(args, kwargs, "f", name)?], false)?,
        "keys" => me.pipe(|_| vec![Op::Keys], vec![], false)?,
        "values" => me.pipe(|_| vec![Op::Values], vec![], false)?,
        "partitionBy" => {
            let n = int_arg(arg(args, kwargs, 0, "numPartitions")).unwrap_or(me.ctx.default_parallelism);
            let f = arg(args, kwargs, 1, "partitionFunc");
            me.partition_by(n, f)?
        }
        "reduceByKey" => {
            let f = f1(args, kwargs, "func", name)?;
            let func = arg(args, kwargs, 2, "partitionFunc");
            me.combine_by_key(Create::Identity, Some(Merge::Py(0)), Some(Merge::Py(0)), vec![f], num(1), func)?
        }
        "foldByKey" => {
            let zero = need(args, kwargs, 0, "zeroValue", name)?;
            let f = need(args, kwargs, 1, "func", name)?;
            me.combine_by_key(
                Create::Zero { zero: 0, merge: Merge::Py(1) },
                Some(Merge::Py(1)),
                Some(Merge::Py(1)),
                vec![zero, f],
                num(2),
                None,
            )?
        }
        "aggregateByKey" => {
            let zero = need(args, kwargs, 0, "zeroValue", name)?;
            let seq = need(args, kwargs, 1, "seqFunc", name)?;
            let comb = need(args, kwargs, 2, "combFunc", name)?;
            me.combine_by_key(
                Create::Zero { zero: 0, merge: Merge::Py(1) },
                Some(Merge::Py(1)),
                Some(Merge::Py(2)),
                vec![zero, seq, comb],
                num(3),
                None,
            )?
        }
        "combineByKey" => {
            let c = need(args, kwargs, 0, "createCombiner", name)?;
            let mv = need(args, kwargs, 1, "mergeValue", name)?;
            let mc = need(args, kwargs, 2, "mergeCombiners", name)?;
            me.combine_by_key(Create::Py(0), Some(Merge::Py(1)), Some(Merge::Py(2)), vec![c, mv, mc], num(3), None)?
        }
        "groupByKey" => {
            let g = me.group_by_key(num(0), arg(args, kwargs, 1, "partitionFunc"))?;
            g.pipe(|_| vec![Op::ResultIterables], vec![], true)?
        }
        "groupBy" => {
            let f = f1(args, kwargs, "f", name)?;
            let keyed = me.pipe(|b| vec![Op::KeyBy(b)], vec![f], false)?;
            let g = keyed.group_by_key(num(1), None)?;
            g.pipe(|_| vec![Op::ResultIterables], vec![], true)?
        }
        "distinct" => {
            let keyed = me.pipe(|_| vec![Op::PairWithNone], vec![], false)?;
            let r =
                keyed.combine_by_key(Create::Identity, Some(Merge::First), Some(Merge::First), vec![], num(0), None)?;
            r.pipe(|_| vec![Op::Keys], vec![], false)?
        }
        "union" => union(me, &as_rdd(&f1(args, kwargs, "other", name)?)?)?,
        "cache" | "persist" => {
            let level = match arg(args, kwargs, 0, "storageLevel").filter(|_| name == "persist") {
                Some(v) => jvm::level_of(&v)
                    .ok_or_else(|| PyErr::new(ExcType::TypeError, "persist() expects a StorageLevel"))?,
                None => jvm::Level::MEMORY_ONLY,
            };
            let id = me.jvm_handle()?;
            me.cached.set(true);
            me.ctx.set_level(id, level);
            me.ctx.engine.borrow_mut().set_cached(id, true);
            me.clone()
        }
        "unpersist" => {
            let id = me.jvm_handle()?;
            me.ctx.set_level(id, jvm::Level::NONE);
            me.ctx.engine.borrow_mut().set_cached(id, false);
            me.cached.set(false);
            me.clone()
        }
        "setName" => {
            let n = it.to_str(&f1(args, kwargs, "name", name)?)?;
            me.ctx.set_jvm_name(me.jvm_handle()?, Some(n));
            me.clone()
        }
        "coalesce" | "repartition" => {
            let n = int_arg(arg(args, kwargs, 0, "numPartitions")).unwrap_or(1).max(1);
            let shuffle = name == "repartition" || arg(args, kwargs, 1, "shuffle").is_some_and(|v| v.truthy());
            if shuffle {
                shuffled_coalesce(me, n)?
            } else {
                let j = me.jrdd()?;
                let parents = me.num_partitions();
                let m = n.min(parents.max(1));
                let groups: Vec<Vec<u32>> =
                    (0..m).map(|i| (i * parents / m..(i + 1) * parents / m).collect()).collect();
                let id = me.ctx.add_rdd(
                    "CoalescedRDD",
                    jvm::native_site("coalesce"),
                    if parents == 0 { 0 } else { m },
                    &[j],
                    Plan::Coalesce { parent: j, groups },
                );
                PyRdd::plain(&me.ctx, id, None)
            }
        }
        "cartesian" => {
            let o = as_rdd(&f1(args, kwargs, "other", name)?)?;
            let (a, b) = (me.jrdd()?, o.jrdd()?);
            let (na, nb) = (me.ctx.engine.borrow().num_partitions(a), me.ctx.engine.borrow().num_partitions(b));
            let site = jvm::native_site("cartesian");
            let id = me.ctx.add_rdd("CartesianRDD", site, na * nb, &[a, b], Plan::Cartesian { a, b, nb });
            PyRdd::plain(&me.ctx, id, None)
        }
        "zip" => zip(me, &as_rdd(&f1(args, kwargs, "other", name)?)?)?,
        "zipWithUniqueId" => {
            let n = me.num_partitions();
            me.pipe(|_| vec![Op::ZipWithUniqueId(n)], vec![], false)?
        }
        "zipWithIndex" => {
            let n = me.num_partitions();
            let starts = if n > 1 {
                let counts = me.pipe(|_| vec![Op::Count], vec![], false)?;
                let id = counts.jrdd()?;
                let parts = me.ctx.run_job(id, (0..n).collect(), "collectAndServe")?;
                let mut s = vec![0i64];
                for p in &parts[..parts.len() - 1] {
                    let c = p.first().and_then(|v| v.as_int()).unwrap_or(0);
                    s.push(s.last().copied().unwrap_or(0) + c);
                }
                s
            } else {
                vec![0; n as usize]
            };
            me.pipe(|_| vec![Op::ZipWithIndex(starts)], vec![], false)?
        }
        "join" | "leftOuterJoin" | "rightOuterJoin" | "fullOuterJoin" => {
            let o = as_rdd(&f1(args, kwargs, "other", name)?)?;
            let vs = me.pipe(|_| vec![Op::Tag(0)], vec![], true)?;
            let ws = o.pipe(|_| vec![Op::Tag(1)], vec![], true)?;
            let u = union(&vs, &ws)?;
            let g = u.group_by_key(num(1), None)?;
            g.pipe(|_| vec![Op::Dispatch(name.to_string())], vec![], true)?
        }
        "cogroup" | "groupWith" => {
            let mut rdds = vec![me.clone()];
            if name == "cogroup" {
                rdds.push(as_rdd(&f1(args, kwargs, "other", name)?)?);
            } else {
                for a in args {
                    rdds.push(as_rdd(a)?);
                }
            }
            let n = if name == "cogroup" { num(1) } else { None };
            cogroup(&rdds, n)?
        }
        "intersection" => {
            let o = as_rdd(&f1(args, kwargs, "other", name)?)?;
            let a = me.pipe(|_| vec![Op::PairWithNone], vec![], false)?;
            let b = o.pipe(|_| vec![Op::PairWithNone], vec![], false)?;
            let g = cogroup(&[a, b], None)?;
            g.pipe(|_| vec![Op::KeepCogrouped(Keep::InEvery), Op::Keys], vec![], false)?
        }
        "subtractByKey" => subtract_by_key(me, &as_rdd(&f1(args, kwargs, "other", name)?)?, num(1))?,
        "subtract" => {
            let o = as_rdd(&f1(args, kwargs, "other", name)?)?;
            let a = me.pipe(|_| vec![Op::PairWithTrue], vec![], false)?;
            let b = o.pipe(|_| vec![Op::PairWithTrue], vec![], false)?;
            let s = subtract_by_key(&a, &b, num(1))?;
            s.pipe(|_| vec![Op::Keys], vec![], false)?
        }
        "sample" => super::sampling::sample(me, args, kwargs, it)?,
        "sortByKey" => {
            let asc = arg(args, kwargs, 0, "ascending").is_none_or(|v| v.truthy());
            let key = arg(args, kwargs, 2, "keyfunc");
            sort_by_key(me, asc, num(1), key, it)?
        }
        "sortBy" => {
            let f = f1(args, kwargs, "keyfunc", name)?;
            let asc = arg(args, kwargs, 1, "ascending").is_none_or(|v| v.truthy());
            let keyed = me.pipe(|b| vec![Op::KeyBy(b)], vec![f], false)?;
            let s = sort_by_key(&keyed, asc, num(2), None, it)?;
            s.pipe(|_| vec![Op::Values], vec![], false)?
        }
        _ => return Ok(None),
    };
    Ok(Some(rdd_value(r)))
}

/// `zip`: both sides re-batched (`_reserialize` to 100-record batches), the JVM zips the
/// batches, and the pair deserializer turns each `(batch, batch)` into records: on the driver
/// for a plain `collect`, in the worker under further operators.
fn zip(me: &Rc<PyRdd>, other: &Rc<PyRdd>) -> PResult<Rc<PyRdd>> {
    if me.num_partitions() != other.num_partitions() {
        return Err(PyErr::new(ExcType::ValueError, "Can only zip with RDD which has the same number of partitions"));
    }
    let a = me.pipe(|_| vec![Op::Batch(ZIP_BATCH)], vec![], true)?.jrdd()?;
    let b = other.pipe(|_| vec![Op::Batch(ZIP_BATCH)], vec![], true)?.jrdd()?;
    let n = me.ctx.engine.borrow().num_partitions(a);
    let id = me.ctx.add_rdd("ZippedPartitionsRDD2", jvm::native_site("zip"), n, &[a, b], Plan::Zip { a, b });
    Ok(Rc::new(PyRdd {
        ctx: me.ctx.clone(),
        prev: id,
        ops: vec![Op::UnpackPairBatches],
        funcs: vec![],
        jrdd: Cell::new(None),
        partitioner: None,
        cached: Cell::new(false),
    }))
}

/// The batch size `zip` re-serializes both sides to when their batch sizes differ or are
/// automatic (PySpark's default for `parallelize(range)` and every `PipelinedRDD`).
const ZIP_BATCH: usize = 100;

/// `coalesce(n, shuffle=True)` as the JVM builds it over PySpark's re-batched `PythonRDD`:
/// the round-robin keying (`MapPartitionsRDD`), `ShuffledRDD`, `CoalescedRDD`, `values`.
/// Our `PythonRDD` does the batching and keying; the JVM RDDs pass records through.
fn shuffled_coalesce(me: &Rc<PyRdd>, n: u32) -> PResult<Rc<PyRdd>> {
    let batched = me.pipe(|_| vec![Op::RoundRobin { n }], vec![], true)?.jrdd()?;
    let ctx = &me.ctx;
    let site = jvm::native_site("coalesce");
    let maps = ctx.engine.borrow().num_partitions(batched);
    let keyed = ctx.add_rdd("MapPartitionsRDD", site.clone(), maps, &[batched], Plan::Identity(batched));
    let shuffled = ctx.engine.borrow_mut().add_shuffled(keyed, n);
    ctx.record(shuffled, "ShuffledRDD", site.clone());
    let groups = (0..n).map(|i| vec![i]).collect();
    let coalesced =
        ctx.add_rdd("CoalescedRDD", site.clone(), n, &[shuffled], Plan::Coalesce { parent: shuffled, groups });
    let values = ctx.add_rdd("MapPartitionsRDD", site, n, &[coalesced], Plan::Identity(coalesced));
    Ok(PyRdd::plain(ctx, values, None))
}

/// `python_cogroup`: each input's values tagged with its index, one union, groupByKey, and a
/// tuple of `ResultIterable`s per key.
fn cogroup(rdds: &[Rc<PyRdd>], n: Option<u32>) -> PResult<Rc<PyRdd>> {
    let k = rdds.len();
    let mut u: Option<Rc<PyRdd>> = None;
    for (i, r) in rdds.iter().enumerate() {
        let t = r.pipe(|_| vec![Op::Tag(i)], vec![], true)?;
        u = Some(match u {
            None => t,
            Some(a) => union(&a, &t)?,
        });
    }
    let g = u.expect("at least one rdd").group_by_key(n, None)?;
    g.pipe(|_| vec![Op::Cogroup(k)], vec![], true)
}

/// `subtractByKey`: cogroup, keep keys only `me` has, flatten `me`'s values.
fn subtract_by_key(me: &Rc<PyRdd>, other: &Rc<PyRdd>, n: Option<u32>) -> PResult<Rc<PyRdd>> {
    let g = cogroup(&[me.clone(), other.clone()], n)?;
    g.pipe(|_| vec![Op::KeepCogrouped(Keep::OnlyFirst), Op::FlatFirstGroup], vec![], true)
}

/// `sortByKey`: count, sample the keys (two jobs), range-partition by the sampled bounds,
/// sort each partition.
fn sort_by_key(
    me: &Rc<PyRdd>,
    asc: bool,
    n: Option<u32>,
    key: Option<Value>,
    it: &mut Interpreter,
) -> PResult<Rc<PyRdd>> {
    let n = n.unwrap_or_else(|| me.ctx.default_reduce_partitions(me.num_partitions()));
    let sort_op = |b: usize, has_key: bool| vec![Op::SortPartition { ascending: asc, key: has_key.then_some(b) }];
    let kf: Vec<Value> = key.clone().into_iter().collect();
    if n == 1 {
        let src = if me.num_partitions() > 1 {
            as_rdd(&transform(me, "coalesce", &[Value::Int(1)], &[], it)?.expect("rdd"))?
        } else {
            me.clone()
        };
        let has = key.is_some();
        return src.pipe(move |b| sort_op(b, has), kf, true);
    }
    let size = super::actions::count(me)?;
    if size == 0 {
        return Ok(me.clone());
    }
    let fraction = ((n as f64 * 20.0) / size.max(1) as f64).min(1.0);
    let sample =
        me.pipe(|_| vec![Op::Sample { draw: Draw::Bernoulli { fraction }, seed: 1 }, Op::Keys], vec![], false)?;
    let mut samples = super::actions::collect(&sample, it)?;
    if let Some(k) = &key {
        let mut keyed = vec![];
        for s in samples {
            keyed.push(it.call(k, vec![s], vec![])?);
        }
        samples = keyed;
    }
    let samples = crate::py::modules::sorted_by(it, samples, None, false)?;
    let bounds: Vec<Value> =
        (0..n as usize - 1).filter_map(|i| samples.get(samples.len() * (i + 1) / n as usize).cloned()).collect();
    let mut funcs = vec![Value::list(bounds)];
    funcs.extend(kf.clone());
    let has = key.is_some();
    let keyed = me.pipe(
        move |b| vec![Op::RangeBucket { n, bounds: b, ascending: asc, key: has.then_some(b + 1) }],
        funcs,
        false,
    )?;
    let shuffled = me.shuffle_keyed(&keyed, n, None)?;
    shuffled.pipe(move |b| sort_op(b, has), kf, true)
}
