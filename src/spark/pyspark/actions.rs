//! RDD actions, each one or more jobs shaped as PySpark's: a `mapPartitions` of the
//! per-partition half pipelined onto the RDD, collected, and finished on the driver.

use super::arg;
use super::rdd::PyRdd;
use crate::py::{ExcType, Interpreter, PResult, PyErr, Str, Value};
use crate::spark::ops::{merge, Merge, Op};
use std::rc::Rc;

/// `collect()`: every partition of this RDD's own `PythonRDD`.
pub fn collect(me: &Rc<PyRdd>, _it: &mut Interpreter) -> PResult<Vec<Value>> {
    let parts = collect_parts(me, None, "collectAndServe")?;
    Ok(parts.into_iter().flatten().collect())
}

fn collect_parts(me: &Rc<PyRdd>, partitions: Option<Vec<u32>>, method: &str) -> PResult<Vec<Vec<Value>>> {
    if me.deserializes_only() {
        // The pair deserializer runs where the batches arrive: here, on the driver.
        let n = me.ctx.engine.borrow().num_partitions(me.prev);
        let parts = me.ctx.run_job(me.prev, partitions.unwrap_or_else(|| (0..n).collect()), method)?;
        let mut driver = Interpreter::new();
        return parts.into_iter().map(|p| crate::spark::ops::unpack_pair_batches(&mut driver, p)).collect();
    }
    let id = me.ctx.synced(|| me.jrdd())?;
    let n = me.ctx.engine.borrow().num_partitions(id);
    me.ctx.run_job(id, partitions.unwrap_or_else(|| (0..n).collect()), method)
}

/// One job over `op` pipelined onto `me`.
pub(super) fn run_op(me: &Rc<PyRdd>, ops: Vec<Op>, funcs: Vec<Value>) -> PResult<Vec<Value>> {
    let shift = funcs.len();
    let r = me.pipe(move |b| ops.into_iter().map(|o| shift_op(o, b, shift)).collect(), funcs, false)?;
    Ok(collect_parts(&r, None, "collectAndServe")?.into_iter().flatten().collect())
}

fn shift_op(o: Op, b: usize, _n: usize) -> Op {
    let s = |m: Merge| match m {
        Merge::Py(i) => Merge::Py(i + b),
        other => other,
    };
    match o {
        Op::Reduce(m) => Op::Reduce(s(m)),
        Op::Fold { zero, merge } => Op::Fold { zero: zero + b, merge: s(merge) },
        Op::Foreach(f) => Op::Foreach(f + b),
        Op::ForeachPartition(f) => Op::ForeachPartition(f + b),
        Op::Smallest { n, key, reverse } => Op::Smallest { n, key: key.map(|k| k + b), reverse },
        other => other,
    }
}

pub fn count(me: &Rc<PyRdd>) -> PResult<i64> {
    Ok(run_op(me, vec![Op::Count], vec![])?.iter().filter_map(|v| v.as_int()).sum())
}

/// `take(num)`: jobs over growing partition ranges, as PySpark's `take` runs them.
pub fn take(me: &Rc<PyRdd>, num: usize) -> PResult<Vec<Value>> {
    let mut items: Vec<Value> = vec![];
    let total = me.num_partitions() as usize;
    let mut scanned = 0usize;
    while items.len() < num && scanned < total {
        let mut try_parts = 1usize;
        if scanned > 0 {
            if items.is_empty() {
                try_parts = scanned * 4;
            } else {
                let t = (1.5 * num as f64 * scanned as f64 / items.len() as f64) as i64 - scanned as i64;
                try_parts = (t.max(1) as usize).min(scanned * 4);
            }
        }
        let left = num - items.len();
        let parts: Vec<u32> = (scanned..(scanned + try_parts).min(total)).map(|p| p as u32).collect();
        let r = me.pipe(|_| vec![Op::TakeUpTo(left)], vec![], false)?;
        let got = collect_parts(&r, Some(parts), "runJob")?;
        items.extend(got.into_iter().flatten());
        scanned += try_parts;
    }
    items.truncate(num);
    Ok(items)
}

fn reduce_driver(it: &mut Interpreter, vals: Vec<Value>, f: &Merge, funcs: &[Value]) -> PResult<Option<Value>> {
    let mut acc = None;
    for v in vals {
        acc = Some(match acc {
            None => v,
            Some(a) => merge(it, funcs, f, a, v)?,
        });
    }
    Ok(acc)
}

fn dict_of(it: &mut Interpreter, pairs: Vec<(Value, Value)>) -> PResult<Value> {
    let d = Value::dict(Default::default());
    for (k, v) in pairs {
        it.set_item(&d, k, v)?;
    }
    Ok(d)
}

pub fn action(
    me: &Rc<PyRdd>,
    name: &str,
    args: &[Value],
    kwargs: &[(Str, Value)],
    it: &mut Interpreter,
) -> PResult<Value> {
    let a = |i: usize, n: &str| arg(args, kwargs, i, n);
    let need = |i: usize, n: &str| {
        arg(args, kwargs, i, n).ok_or_else(|| {
            PyErr::new(ExcType::TypeError, format!("{name}() missing 1 required positional argument: '{n}'"))
        })
    };
    Ok(match name {
        "getNumPartitions" => Value::Int(me.num_partitions() as i64),
        "id" => Value::Int(me.jvm_handle()? as i64),
        "name" => me.ctx.jvm_rdd(me.jvm_handle()?).name.map_or(Value::None, |n| Value::str(&n)),
        "toDebugString" => {
            let text = me.ctx.debug_string(me.jvm_handle()?);
            Value::Bytes(Rc::new(text.into_bytes()))
        }
        "getStorageLevel" => super::jvm::level_value(me.ctx.jvm_rdd(me.jvm_handle()?).level),
        "collect" => Value::list(collect(me, it)?),
        "count" => Value::Int(count(me)?),
        "take" => {
            let n = need(0, "num")?.as_int().unwrap_or(0).max(0) as usize;
            Value::list(take(me, n)?)
        }
        "first" => match take(me, 1)?.into_iter().next() {
            Some(v) => v,
            None => return Err(PyErr::new(ExcType::ValueError, "RDD is empty")),
        },
        "isEmpty" => Value::Bool(me.num_partitions() == 0 || take(me, 1)?.is_empty()),
        "reduce" => {
            let f = need(0, "f")?;
            let vals = run_op(me, vec![Op::Reduce(Merge::Py(0))], vec![f.clone()])?;
            match reduce_driver(it, vals, &Merge::Py(0), &[f])? {
                Some(v) => v,
                None => return Err(PyErr::new(ExcType::ValueError, "Can not reduce() empty RDD")),
            }
        }
        "fold" => {
            let zero = need(0, "zeroValue")?;
            let f = need(1, "op")?;
            let vals = run_op(me, vec![Op::Fold { zero: 0, merge: Merge::Py(1) }], vec![zero.clone(), f.clone()])?;
            let mut acc = super::copy_value(&zero);
            for v in vals {
                acc = it.call(&f, vec![acc, v], vec![])?;
            }
            acc
        }
        "aggregate" => {
            let zero = need(0, "zeroValue")?;
            let seq = need(1, "seqOp")?;
            let comb = need(2, "combOp")?;
            let vals = run_op(me, vec![Op::Fold { zero: 0, merge: Merge::Py(1) }], vec![zero.clone(), seq])?;
            let mut acc = super::copy_value(&zero);
            for v in vals {
                acc = it.call(&comb, vec![acc, v], vec![])?;
            }
            acc
        }
        "sum" => {
            let vals = run_op(me, vec![Op::Sum], vec![])?;
            let mut acc = Value::Int(0);
            for v in vals {
                acc = it.binop(crate::py::ir::BinOp::Add, &acc, &v)?;
            }
            acc
        }
        "max" | "min" => {
            let m = if name == "max" { Merge::Max } else { Merge::Min };
            if let Some(key) = a(0, "key").filter(|k| !k.is_none()) {
                let b = if name == "max" { "max" } else { "min" };
                let vals = collect(me, it)?;
                let f = it.get_global(b).unwrap_or(Value::None);
                let _ = f;
                let sorted = crate::py::modules::sorted_by(it, vals, Some(key), name == "max")?;
                return sorted
                    .into_iter()
                    .next()
                    .ok_or_else(|| PyErr::new(ExcType::ValueError, "Can not reduce() empty RDD"));
            }
            let vals = run_op(me, vec![Op::Reduce(m.clone())], vec![])?;
            reduce_driver(it, vals, &m, &[])?
                .ok_or_else(|| PyErr::new(ExcType::ValueError, "Can not reduce() empty RDD"))?
        }
        "mean" | "stats" | "variance" | "stdev" | "sampleVariance" | "sampleStdev" => {
            super::stats::numeric_action(me, name, it)?
        }
        "histogram" => super::stats::histogram(me, need(0, "buckets")?, it)?,
        "countByKey" => {
            let keys = me.pipe(|_| vec![Op::Keys, Op::CountByValue], vec![], false)?;
            merge_counts(&keys, it)?
        }
        "countByValue" => {
            let r = me.pipe(|_| vec![Op::CountByValue], vec![], false)?;
            merge_counts(&r, it)?
        }
        "collectAsMap" => {
            let vals = collect(me, it)?;
            let mut pairs = vec![];
            for kv in vals {
                let items = it.collect(&kv)?;
                pairs.push((items[0].clone(), items[1].clone()));
            }
            dict_of(it, pairs)?
        }
        "lookup" => {
            let key = need(0, "key")?;
            let vals = collect(me, it)?;
            let mut out = vec![];
            for kv in vals {
                let items = it.collect(&kv)?;
                if it.eq(&items[0], &key)? {
                    out.push(items[1].clone());
                }
            }
            Value::list(out)
        }
        "foreach" => {
            run_op(me, vec![Op::Foreach(0), Op::Count], vec![need(0, "f")?])?;
            Value::None
        }
        "foreachPartition" => {
            run_op(me, vec![Op::ForeachPartition(0), Op::Count], vec![need(0, "f")?])?;
            Value::None
        }
        "takeOrdered" | "top" => {
            let n = need(0, "num")?.as_int().unwrap_or(0).max(0) as usize;
            let key = a(1, "key").filter(|k| !k.is_none());
            let reverse = name == "top";
            let funcs: Vec<Value> = key.clone().into_iter().collect();
            let parts = run_op(me, vec![Op::Smallest { n, key: key.as_ref().map(|_| 0), reverse }], funcs)?;
            let mut all = vec![];
            for p in parts {
                all.extend(it.collect(&p)?);
            }
            let mut sorted = crate::py::modules::sorted_by(it, all, key, reverse)?;
            sorted.truncate(n);
            Value::list(sorted)
        }
        "saveAsTextFile" => {
            let path = it.to_str(&need(0, "path")?)?;
            // Hadoop checks the output spec on the driver before the job is submitted.
            if let Err(m) = me.ctx.engine.borrow().fs.check_output_dir(&path) {
                let class = "org.apache.hadoop.mapred.FileAlreadyExistsException";
                return Err(super::py4j_error("saveAsTextFile", class, &m));
            }
            let r = me.pipe(|_| vec![Op::ToStr], vec![], false)?;
            let parts = collect_parts(&r, None, "saveAsTextFile")?;
            let lines: Vec<Vec<String>> =
                parts.iter().map(|p| p.iter().map(crate::py::repr::to_str).collect()).collect();
            me.ctx.engine.borrow_mut().fs.save_text(&path, &lines).map_err(|m| PyErr::new(ExcType::RuntimeError, m))?;
            Value::None
        }
        "takeSample" => super::sampling::take_sample(me, args, kwargs, it)?,
        "randomSplit" => super::sampling::random_split(me, args, kwargs, it)?,
        other => {
            return Err(PyErr::new(
                ExcType::AttributeError,
                format!("'{}' object has no attribute '{other}'", crate::py::NativeObject::type_name(&**me)),
            ))
        }
    })
}

/// countByKey / countByValue: per-partition dicts merged on the driver in partition order.
fn merge_counts(r: &Rc<PyRdd>, it: &mut Interpreter) -> PResult<Value> {
    let parts = collect_parts(r, None, "collectAndServe")?;
    let int = Value::Type(crate::py::value::TypeKind::Int);
    let total = crate::py::modules::m_defaultdict(it, vec![int], vec![])?;
    for d in parts.into_iter().flatten() {
        for (k, v) in it.mapping_items(&d)? {
            let c = if it.contains(&total, &k)? { it.get_item(&total, &k)? } else { Value::Int(0) };
            let c = it.binop(crate::py::ir::BinOp::Add, &c, &v)?;
            it.set_item(&total, k, c)?;
        }
    }
    Ok(total)
}
