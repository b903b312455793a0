//! PySpark's `portable_hash` (`pyspark/rdd.py`): how `partitionBy` places a key. `None` is 0,
//! tuples hash their items with a fixed recipe (not CPython's tuple hash), everything else is
//! `hash(x)` — strings with `PYTHONHASHSEED=0`, as PySpark sets it for its workers.

use crate::py::{Interpreter, PResult, Value};

/// `sys.maxsize` on a 64-bit CPython.
const MAXSIZE: u64 = i64::MAX as u64;

pub fn portable_hash(it: &mut Interpreter, x: &Value) -> PResult<i64> {
    match x {
        Value::None => Ok(0),
        Value::Tuple(items) => {
            let mut h: u64 = 0x345678;
            for i in items.iter() {
                h ^= portable_hash(it, i)? as u64;
                h = h.wrapping_mul(1_000_003) & MAXSIZE;
            }
            h ^= items.len() as u64;
            Ok(h as i64)
        }
        other => it.hash(other),
    }
}

/// The partition `partitionBy(n)` sends `key` to.
pub fn partition_of(it: &mut Interpreter, key: &Value, n: u32) -> PResult<u32> {
    Ok(portable_hash(it, key)?.rem_euclid(n as i64) as u32)
}
