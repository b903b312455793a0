//! The operators a `PythonRDD` pipelines, applied to one partition inside the Python worker:
//! PySpark's `rdd.py` functions (`map`'s `func(split, iterator)`, `combineByKey`'s
//! `combineLocally`/`_mergeCombiners`, `partitionBy`'s `add_shuffle_key`, the per-partition
//! halves of actions). Function slots index the revived functions of the chain.

use super::hash::portable_hash;
use crate::py::value::{Dict, Value};
use crate::py::{Interpreter, PResult};

/// A two-argument combine: a shipped Python function or one of PySpark's built-in lambdas.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub enum Merge {
    Py(usize),
    /// `lambda x, _: x` (distinct).
    First,
    /// `operator.add` (sum).
    Add,
    /// builtin `max` / `min`.
    Max,
    Min,
}

/// How `combineByKey` makes a key's first combiner from its first value.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub enum Create {
    /// `lambda x: x` (reduceByKey).
    Identity,
    /// `createCombiner(v)`.
    Py(usize),
    /// `merge(deepcopy(zero), v)` (foldByKey, aggregateByKey).
    Zero { zero: usize, merge: Merge },
    /// `[v]` (groupByKey).
    List,
}

/// Which cogrouped keys survive: `all(groups)` (intersection) or `first and not second`
/// (subtractByKey).
#[derive(Clone, Copy, Debug, serde::Serialize, serde::Deserialize)]
pub enum Keep {
    InEvery,
    OnlyFirst,
}

#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub enum Op {
    /// A function that passes its partition through (`parallelize(range)`'s generator, whose
    /// ranges our `ParallelCollectionRDD` already yields).
    Pass,
    Map(usize),
    Filter(usize),
    FlatMap(usize),
    MapPartitions(usize),
    MapPartitionsWithIndex(usize),
    Glom,
    MapValues(usize),
    FlatMapValues(usize),
    KeyBy(usize),
    Keys,
    Values,
    /// `combineLocally`: a dict of combiners per key, in insertion order.
    CombineLocally {
        create: Create,
        merge_value: Option<Merge>,
    },
    /// `_mergeCombiners` after the shuffle (`None`: list extend, groupByKey).
    MergeCombiners(Option<Merge>),
    /// groupByKey's `mapValues(ResultIterable)`.
    ResultIterables,
    /// `partitionBy`'s `add_shuffle_key`: `(bucket, record)`, bucket = func(k) % n.
    AddShuffleKey {
        n: u32,
        func: Option<usize>,
    },
    /// `RDDSampler` / `RDDRangeSampler`: the partition's own seeded draw.
    Sample {
        draw: super::pyspark::sampling::Draw,
        seed: i64,
    },
    /// sortByKey's `sortPartition`.
    SortPartition {
        ascending: bool,
        key: Option<usize>,
    },
    /// The first `n` records (take's `takeUpToNumLeft`).
    TakeUpTo(usize),
    Count,
    /// `reduce`'s per-partition `func(iterator)`: nothing for an empty partition.
    Reduce(Merge),
    /// `fold`/`aggregate`'s per-partition `[acc]`.
    Fold {
        zero: usize,
        merge: Merge,
    },
    /// `[sum(partition)]`.
    Sum,
    /// `[StatCounter(partition)]` as `(n, mu, m2, max, min)`.
    Stats,
    /// histogram's filter of `None` and NaN.
    DropNoneNan,
    /// histogram's `map(lambda x: (x, x)).reduce(minmax)` per partition: nothing if empty.
    MinMax,
    /// histogram's per-partition counters over the bucket bounds in slot `bounds`.
    Histogram {
        bounds: usize,
        inc: usize,
        even: bool,
    },
    Foreach(usize),
    ForeachPartition(usize),
    /// `[sorted(partition, key)[:n]]` (takeOrdered / top).
    Smallest {
        n: usize,
        key: Option<usize>,
        reverse: bool,
    },
    /// zipWithIndex: `(x, starts[split] + i)`.
    ZipWithIndex(Vec<i64>),
    /// zipWithUniqueId over n partitions: `(x, i * n + split)`.
    ZipWithUniqueId(u32),
    /// `_reserialize(BatchedSerializer(n))`: records as lists of up to n.
    Batch(usize),
    /// `PairDeserializer`: each `(keys batch, values batch)` into `(k, v)` records.
    UnpackPairBatches,
    /// saveAsTextFile: `str(x)`.
    ToStr,
    /// countByValue's per-partition dict.
    CountByValue,
    /// distinct's and intersection's `(x, None)`.
    PairWithNone,
    /// subtract's `(x, True)`.
    PairWithTrue,
    /// The filter after a two-way cogroup in intersection / subtractByKey.
    KeepCogrouped(Keep),
    /// subtractByKey's `flatMapValues(lambda x: x[0])` over `(k, (first, second))`.
    FlatFirstGroup,
    /// `coalesce(n, shuffle=True)`: PySpark re-batches the records by 10 and the JVM deals the
    /// batches round-robin to buckets from partition `split`'s `XORShiftRandom` start.
    RoundRobin {
        n: u32,
    },
    /// join/cogroup input `i`: `(k, (i, v))`.
    Tag(usize),
    /// `_do_python_join`'s dispatch for join / leftOuterJoin / rightOuterJoin / fullOuterJoin.
    Dispatch(String),
    /// cogroup of k inputs: `(k, (ResultIterable, …))`.
    Cogroup(usize),
    /// sortByKey's rangePartitioner: bisect_left(bounds, key(k)), reversed if descending.
    RangeBucket {
        n: u32,
        bounds: usize,
        ascending: bool,
        key: Option<usize>,
    },
}

/// The batch size PySpark's `coalesce(shuffle=True)` re-serializes to before the JVM deals
/// batches out: `min(10, batchSize or 1024)`.
const REPARTITION_BATCH: usize = 10;

fn call(it: &mut Interpreter, funcs: &[Value], f: usize, args: Vec<Value>) -> PResult<Value> {
    it.call(&funcs[f], args, vec![])
}

pub fn merge(it: &mut Interpreter, funcs: &[Value], m: &Merge, a: Value, b: Value) -> PResult<Value> {
    match m {
        Merge::Py(f) => call(it, funcs, *f, vec![a, b]),
        Merge::First => Ok(a),
        Merge::Add => it.binop(crate::py::ir::BinOp::Add, &a, &b),
        Merge::Max => Ok(if it.order(crate::py::ir::CmpOp::Gt, &b, &a)? { b } else { a }),
        Merge::Min => Ok(if it.order(crate::py::ir::CmpOp::Lt, &b, &a)? { b } else { a }),
    }
}

fn pair(it: &mut Interpreter, kv: &Value) -> PResult<(Value, Value)> {
    let items = it.collect(kv)?;
    if items.len() != 2 {
        return Err(crate::py::PyErr::new(
            crate::py::ExcType::ValueError,
            format!("too many values to unpack (expected 2, got {})", items.len()),
        ));
    }
    Ok((items[0].clone(), items[1].clone()))
}

fn new_dict() -> Value {
    Value::dict(Dict::default())
}

/// Applies `ops` in order to partition `split`'s records.
pub fn apply_ops(
    it: &mut Interpreter,
    split: u32,
    mut data: Vec<Value>,
    ops: &[Op],
    funcs: &[Value],
) -> PResult<Vec<Value>> {
    if let Some((Op::TakeUpTo(n), before)) = ops.split_last() {
        return take_lazily(it, split, data, before, *n, funcs);
    }
    for op in ops {
        data = apply_op(it, split, data, op, funcs)?;
    }
    Ok(data)
}

/// Whether `op` handles each record on its own, so Python's lazy iterator chain would call
/// it only for the records a consumer pulls.
fn per_record(op: &Op) -> bool {
    matches!(
        op,
        Op::Pass
            | Op::Map(_)
            | Op::Filter(_)
            | Op::FlatMap(_)
            | Op::MapValues(_)
            | Op::FlatMapValues(_)
            | Op::KeyBy(_)
            | Op::Keys
            | Op::Values
            | Op::PairWithNone
            | Op::PairWithTrue
            | Op::Tag(_)
            | Op::ToStr
    )
}

/// `take`'s `takeUpToNumLeft` pulls `n` records through the chain: the per-record operators
/// at its end run only until `n` records come out (an accumulator in a `map` before `take(2)`
/// counts 2), the operators before them over the whole partition.
fn take_lazily(
    it: &mut Interpreter,
    split: u32,
    mut data: Vec<Value>,
    ops: &[Op],
    n: usize,
    funcs: &[Value],
) -> PResult<Vec<Value>> {
    let lazy_from = ops.iter().rposition(|op| !per_record(op)).map_or(0, |i| i + 1);
    for op in &ops[..lazy_from] {
        data = apply_op(it, split, data, op, funcs)?;
    }
    let mut out = Vec::new();
    for x in data {
        if out.len() >= n {
            break;
        }
        let mut ys = vec![x];
        for op in &ops[lazy_from..] {
            ys = apply_op(it, split, ys, op, funcs)?;
        }
        out.extend(ys);
    }
    out.truncate(n);
    Ok(out)
}

fn apply_op(it: &mut Interpreter, split: u32, data: Vec<Value>, op: &Op, funcs: &[Value]) -> PResult<Vec<Value>> {
    let mut out = Vec::new();
    match op {
        Op::Pass => out = data,
        Op::Map(f) => {
            for x in data {
                out.push(call(it, funcs, *f, vec![x])?);
            }
        }
        Op::Filter(f) => {
            for x in data {
                let keep = call(it, funcs, *f, vec![x.clone()])?;
                if it.truthy(&keep)? {
                    out.push(x);
                }
            }
        }
        Op::FlatMap(f) => {
            for x in data {
                let ys = call(it, funcs, *f, vec![x])?;
                out.extend(it.collect(&ys)?);
            }
        }
        Op::MapPartitions(f) => {
            let iter = it.get_iter(&Value::list(data))?;
            let ys = call(it, funcs, *f, vec![iter])?;
            out = it.collect(&ys)?;
        }
        Op::MapPartitionsWithIndex(f) => {
            let iter = it.get_iter(&Value::list(data))?;
            let ys = call(it, funcs, *f, vec![Value::Int(split as i64), iter])?;
            out = it.collect(&ys)?;
        }
        Op::Glom => out.push(Value::list(data)),
        Op::MapValues(f) => {
            for kv in data {
                let (k, v) = pair(it, &kv)?;
                out.push(Value::tuple(vec![k, call(it, funcs, *f, vec![v])?]));
            }
        }
        Op::FlatMapValues(f) => {
            for kv in data {
                let (k, v) = pair(it, &kv)?;
                let vs = call(it, funcs, *f, vec![v])?;
                for v in it.collect(&vs)? {
                    out.push(Value::tuple(vec![k.clone(), v]));
                }
            }
        }
        Op::KeyBy(f) => {
            for x in data {
                out.push(Value::tuple(vec![call(it, funcs, *f, vec![x.clone()])?, x]));
            }
        }
        Op::Keys | Op::Values => {
            for kv in data {
                let (k, v) = pair(it, &kv)?;
                out.push(if matches!(op, Op::Keys) { k } else { v });
            }
        }
        Op::CombineLocally { create, merge_value } => {
            let d = new_dict();
            for kv in data {
                let (k, v) = pair(it, &kv)?;
                if it.contains(&d, &k)? {
                    let c = it.get_item(&d, &k)?;
                    let c = match merge_value {
                        Some(m) => merge(it, funcs, m, c, v)?,
                        None => {
                            if let Value::List(l) = &c {
                                l.borrow_mut().push(v);
                            }
                            c
                        }
                    };
                    it.set_item(&d, k, c)?;
                } else {
                    let c = match create {
                        Create::Identity => v,
                        Create::Py(f) => call(it, funcs, *f, vec![v])?,
                        Create::Zero { zero, merge: m } => {
                            let z = super::pyspark::copy_value(&funcs[*zero]);
                            merge(it, funcs, m, z, v)?
                        }
                        Create::List => Value::list(vec![v]),
                    };
                    it.set_item(&d, k, c)?;
                }
            }
            for (k, v) in it.mapping_items(&d)? {
                out.push(Value::tuple(vec![k, v]));
            }
        }
        Op::MergeCombiners(m) => {
            let d = new_dict();
            for kv in data {
                let (k, c) = pair(it, &kv)?;
                if it.contains(&d, &k)? {
                    let old = it.get_item(&d, &k)?;
                    let merged = match m {
                        Some(m) => merge(it, funcs, m, old, c)?,
                        None => {
                            if let (Value::List(a), Value::List(b)) = (&old, &c) {
                                let extra = b.borrow().clone();
                                a.borrow_mut().extend(extra);
                            }
                            old
                        }
                    };
                    it.set_item(&d, k, merged)?;
                } else {
                    let c = match (m, &c) {
                        (None, Value::List(l)) => Value::list(l.borrow().clone()),
                        _ => c,
                    };
                    it.set_item(&d, k, c)?;
                }
            }
            for (k, v) in it.mapping_items(&d)? {
                out.push(Value::tuple(vec![k, v]));
            }
        }
        Op::ResultIterables => {
            for kv in data {
                let (k, v) = pair(it, &kv)?;
                let items = it.collect(&v)?;
                out.push(Value::tuple(vec![k, super::pyspark::result_iterable(items)]));
            }
        }
        Op::AddShuffleKey { n, func } => {
            for kv in data {
                let (k, _) = pair(it, &kv)?;
                let h = match func {
                    None => portable_hash(it, &k)?,
                    Some(f) => {
                        let h = call(it, funcs, *f, vec![k])?;
                        h.as_int().ok_or_else(|| {
                            crate::py::PyErr::new(crate::py::ExcType::TypeError, "partitionFunc must return an int")
                        })?
                    }
                };
                let bucket = h.rem_euclid(*n as i64);
                out.push(Value::tuple(vec![Value::Int(bucket), kv]));
            }
        }
        Op::Sample { draw, seed } => out = super::pyspark::sampling::sample_partition(data, split, *draw, *seed),
        Op::SortPartition { ascending, key } => {
            let keyf = key.map(|k| funcs[k].clone());
            let mut keyed = vec![];
            for kv in data {
                let (k, _) = pair(it, &kv)?;
                let k = match &keyf {
                    Some(f) => it.call(f, vec![k], vec![])?,
                    None => k,
                };
                keyed.push(Value::tuple(vec![k, kv]));
            }
            let getter = first_item();
            let sorted = crate::py::modules::sorted_by(it, keyed, Some(getter), !ascending)?;
            for t in sorted {
                if let Value::Tuple(t) = t {
                    out.push(t[1].clone());
                }
            }
        }
        Op::TakeUpTo(n) => out = data.into_iter().take(*n).collect(),
        Op::Count => out.push(Value::Int(data.len() as i64)),
        Op::Reduce(m) => {
            let mut acc: Option<Value> = None;
            for x in data {
                acc = Some(match acc {
                    None => x,
                    Some(a) => merge(it, funcs, m, a, x)?,
                });
            }
            out.extend(acc);
        }
        Op::Fold { zero, merge: m } => {
            let mut acc = super::pyspark::copy_value(&funcs[*zero]);
            for x in data {
                acc = merge(it, funcs, m, acc, x)?;
            }
            out.push(acc);
        }
        Op::Sum => {
            let mut acc = Value::Int(0);
            for x in data {
                acc = it.binop(crate::py::ir::BinOp::Add, &acc, &x)?;
            }
            out.push(acc);
        }
        Op::Stats => {
            let mut m = super::pyspark::stats::Moments::default();
            for x in data {
                m.push(it, x)?;
            }
            out.push(m.to_value());
        }
        Op::DropNoneNan => {
            out = data.into_iter().filter(|x| !x.is_none() && !matches!(x, Value::Float(f) if f.is_nan())).collect()
        }
        Op::MinMax => {
            let mut mm: Option<(Value, Value)> = None;
            for x in data {
                mm = Some(match mm {
                    None => (x.clone(), x),
                    Some((lo, hi)) => {
                        (merge(it, funcs, &Merge::Min, lo, x.clone())?, merge(it, funcs, &Merge::Max, hi, x)?)
                    }
                });
            }
            out.extend(mm.map(|(lo, hi)| Value::tuple(vec![lo, hi])));
        }
        Op::Histogram { bounds, inc, even } => {
            let bounds = it.collect(&funcs[*bounds])?;
            out.push(super::pyspark::stats::histogram_partition(it, data, &bounds, &funcs[*inc], *even)?);
        }
        Op::Foreach(f) => {
            for x in data {
                call(it, funcs, *f, vec![x])?;
            }
        }
        Op::ForeachPartition(f) => {
            let iter = it.get_iter(&Value::list(data))?;
            call(it, funcs, *f, vec![iter])?;
        }
        Op::Smallest { n, key, reverse } => {
            let keyf = key.map(|k| funcs[k].clone());
            let mut sorted = crate::py::modules::sorted_by(it, data, keyf, *reverse)?;
            sorted.truncate(*n);
            out.push(Value::list(sorted));
        }
        Op::ZipWithIndex(starts) => {
            for (i, x) in data.into_iter().enumerate() {
                out.push(Value::tuple(vec![x, Value::Int(starts[split as usize] + i as i64)]));
            }
        }
        Op::ZipWithUniqueId(n) => {
            for (i, x) in data.into_iter().enumerate() {
                out.push(Value::tuple(vec![x, Value::Int(i as i64 * *n as i64 + split as i64)]));
            }
        }
        Op::Batch(n) => out = data.chunks(*n).map(|c| Value::list(c.to_vec())).collect(),
        Op::UnpackPairBatches => out = unpack_pair_batches(it, data)?,
        Op::ToStr => {
            for x in data {
                out.push(Value::str(&it.to_str(&x)?));
            }
        }
        Op::CountByValue => {
            let d = new_dict();
            for x in data {
                let c = if it.contains(&d, &x)? { it.get_item(&d, &x)? } else { Value::Int(0) };
                let c = it.binop(crate::py::ir::BinOp::Add, &c, &Value::Int(1))?;
                it.set_item(&d, x, c)?;
            }
            out.push(d);
        }
        Op::PairWithNone => out = data.into_iter().map(|x| Value::tuple(vec![x, Value::None])).collect(),
        Op::PairWithTrue => out = data.into_iter().map(|x| Value::tuple(vec![x, Value::Bool(true)])).collect(),
        Op::KeepCogrouped(keep) => {
            for kv in data {
                let (_, groups) = pair(it, &kv)?;
                let sizes: Vec<usize> = it.collect(&groups)?.iter().map(group_len).collect();
                let kept = match keep {
                    Keep::InEvery => sizes.iter().all(|&n| n > 0),
                    Keep::OnlyFirst => sizes[0] > 0 && sizes[1] == 0,
                };
                if kept {
                    out.push(kv);
                }
            }
        }
        Op::FlatFirstGroup => {
            for kv in data {
                let (k, groups) = pair(it, &kv)?;
                let first = it.collect(&groups)?.swap_remove(0);
                for v in it.collect(&first)? {
                    out.push(Value::tuple(vec![k.clone(), v]));
                }
            }
        }
        Op::RoundRobin { n } => {
            let start = super::random::XorShiftRandom::new(split as i64).next_int(*n as i32) as i64;
            for (b, batch) in data.chunks(REPARTITION_BATCH).enumerate() {
                let bucket = (start + b as i64 + 1).rem_euclid(*n as i64);
                out.extend(batch.iter().map(|x| Value::tuple(vec![Value::Int(bucket), x.clone()])));
            }
        }
        Op::Tag(i) => {
            for kv in data {
                let (k, v) = pair(it, &kv)?;
                out.push(Value::tuple(vec![k, Value::tuple(vec![Value::Int(*i as i64), v])]));
            }
        }
        Op::Dispatch(kind) => {
            for kv in data {
                let (k, vs) = pair(it, &kv)?;
                let (mut vbuf, mut wbuf) = (vec![], vec![]);
                for tv in it.collect(&vs)? {
                    let (t, v) = pair(it, &tv)?;
                    if t.as_int() == Some(0) {
                        vbuf.push(v)
                    } else {
                        wbuf.push(v)
                    }
                }
                if (kind == "leftOuterJoin" || kind == "fullOuterJoin") && wbuf.is_empty() {
                    wbuf.push(Value::None);
                }
                if (kind == "rightOuterJoin" || kind == "fullOuterJoin") && vbuf.is_empty() {
                    vbuf.push(Value::None);
                }
                for v in &vbuf {
                    for w in &wbuf {
                        out.push(Value::tuple(vec![k.clone(), Value::tuple(vec![v.clone(), w.clone()])]));
                    }
                }
            }
        }
        Op::Cogroup(n) => {
            for kv in data {
                let (k, vs) = pair(it, &kv)?;
                let mut bufs = vec![vec![]; *n];
                for tv in it.collect(&vs)? {
                    let (t, v) = pair(it, &tv)?;
                    bufs[t.as_int().unwrap_or(0) as usize].push(v);
                }
                let groups = bufs.into_iter().map(super::pyspark::result_iterable).collect();
                out.push(Value::tuple(vec![k, Value::tuple(groups)]));
            }
        }
        Op::RangeBucket { n, bounds, ascending, key } => {
            let bounds = it.collect(&funcs[*bounds])?;
            for kv in data {
                let (k, _) = pair(it, &kv)?;
                let k = match key {
                    Some(f) => call(it, funcs, *f, vec![k])?,
                    None => k,
                };
                let mut p = 0;
                while p < bounds.len() && it.order(crate::py::ir::CmpOp::Lt, &bounds[p], &k)? {
                    p += 1;
                }
                let p = if *ascending { p } else { *n as usize - 1 - p };
                out.push(Value::tuple(vec![Value::Int(p as i64), kv]));
            }
        }
    }
    Ok(out)
}

/// `PairDeserializer`: batches of different lengths are PySpark's ValueError.
pub fn unpack_pair_batches(it: &mut Interpreter, data: Vec<Value>) -> PResult<Vec<Value>> {
    let mut out = vec![];
    for kv in data {
        let (ks, vs) = pair(it, &kv)?;
        let (ks, vs) = (it.collect(&ks)?, it.collect(&vs)?);
        if ks.len() != vs.len() {
            return Err(crate::py::PyErr::new(
                crate::py::ExcType::ValueError,
                format!(
                    "Can not deserialize PairRDD with different number of items in batches: ({}, {})",
                    ks.len(),
                    vs.len()
                ),
            ));
        }
        out.extend(ks.into_iter().zip(vs).map(|(k, v)| Value::tuple(vec![k, v])));
    }
    Ok(out)
}

/// `len()` of a cogroup's `ResultIterable`.
fn group_len(v: &Value) -> usize {
    match v {
        Value::Native(n) => n.as_any().downcast_ref::<super::pyspark::ResultIterable>().map_or(0, |r| r.0.len()),
        _ => 0,
    }
}

/// `operator.itemgetter(0)` as a builtin value, for sorting `(key, record)` pairs.
fn first_item() -> Value {
    crate::py::modules::stdlib_module("operator")
        .and_then(|m| m.get("itemgetter"))
        .map(|g| {
            let mut it = Interpreter::new();
            it.call(&g, vec![Value::Int(0)], vec![]).expect("itemgetter(0)")
        })
        .expect("operator.itemgetter")
}
