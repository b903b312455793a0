//! `pyspark.statcounter.StatCounter` (Welford's running moments, merged pairwise as Spark's
//! Chan et al. update), `stats()` and the numeric actions built on it, and `histogram`.
//!
//! Without numpy (as the fixtures ran), `maximum`/`minimum` are Python's `max`/`min`, so the
//! extremes keep their own type: `stats()` of ints prints `max: 10`.

use super::rdd::PyRdd;
use crate::py::ir::{BinOp, CmpOp};
use crate::py::{ExcType, Interpreter, NativeAttr, NativeObject, PResult, PyErr, Str, Value};
use crate::spark::ops::Op;
use std::cell::RefCell;
use std::rc::Rc;

/// A StatCounter's state.
#[derive(Clone, Debug)]
pub struct Moments {
    pub n: i64,
    pub mu: f64,
    pub m2: f64,
    pub max: Value,
    pub min: Value,
}

impl Default for Moments {
    fn default() -> Moments {
        Moments { n: 0, mu: 0.0, m2: 0.0, max: Value::Float(f64::NEG_INFINITY), min: Value::Float(f64::INFINITY) }
    }
}

fn as_f64(v: &Value) -> PResult<f64> {
    match v {
        Value::Int(i) => Ok(*i as f64),
        Value::Float(f) => Ok(*f),
        Value::Bool(b) => Ok(*b as i64 as f64),
        other => Err(PyErr::new(
            ExcType::TypeError,
            format!("unsupported operand type(s) for -: '{}' and 'float'", other.type_name()),
        )),
    }
}

/// Python's `max(a, b)`: `b` only if it is strictly greater.
fn py_max(it: &mut Interpreter, a: Value, b: Value) -> PResult<Value> {
    Ok(if it.order(CmpOp::Gt, &b, &a)? { b } else { a })
}

fn py_min(it: &mut Interpreter, a: Value, b: Value) -> PResult<Value> {
    Ok(if it.order(CmpOp::Lt, &b, &a)? { b } else { a })
}

impl Moments {
    /// `StatCounter.merge(value)`.
    pub fn push(&mut self, it: &mut Interpreter, value: Value) -> PResult<()> {
        let x = as_f64(&value)?;
        let delta = x - self.mu;
        self.n += 1;
        self.mu += delta / self.n as f64;
        self.m2 += delta * (x - self.mu);
        self.max = py_max(it, self.max.clone(), value.clone())?;
        self.min = py_min(it, self.min.clone(), value)?;
        Ok(())
    }

    /// `StatCounter.mergeStats(other)`.
    pub fn merge(&mut self, it: &mut Interpreter, o: &Moments) -> PResult<()> {
        if self.n == 0 {
            *self = o.clone();
        } else if o.n != 0 {
            let delta = o.mu - self.mu;
            let (n, on) = (self.n as f64, o.n as f64);
            self.mu = if o.n * 10 < self.n {
                self.mu + (delta * on) / (n + on)
            } else if self.n * 10 < o.n {
                o.mu - (delta * n) / (n + on)
            } else {
                (self.mu * n + o.mu * on) / (n + on)
            };
            self.max = py_max(it, self.max.clone(), o.max.clone())?;
            self.min = py_min(it, self.min.clone(), o.min.clone())?;
            self.m2 += o.m2 + (delta * delta * n * on) / (n + on);
            self.n += o.n;
        }
        Ok(())
    }

    pub fn variance(&self) -> f64 {
        if self.n == 0 {
            f64::NAN
        } else {
            self.m2 / self.n as f64
        }
    }

    pub fn sample_variance(&self) -> f64 {
        if self.n <= 1 {
            f64::NAN
        } else {
            self.m2 / (self.n - 1) as f64
        }
    }

    /// The partition result shipped to the driver: `(n, mu, m2, max, min)`.
    pub fn to_value(&self) -> Value {
        Value::tuple(vec![
            Value::Int(self.n),
            Value::Float(self.mu),
            Value::Float(self.m2),
            self.max.clone(),
            self.min.clone(),
        ])
    }

    fn from_value(v: &Value) -> Moments {
        let Value::Tuple(t) = v else { panic!("a partition's stats are a 5-tuple") };
        let f = |v: &Value| if let Value::Float(f) = v { *f } else { 0.0 };
        Moments { n: t[0].as_int().unwrap_or(0), mu: f(&t[1]), m2: f(&t[2]), max: t[3].clone(), min: t[4].clone() }
    }
}

/// `StatCounter` as the job language sees it.
pub struct StatCounter(pub RefCell<Moments>);

impl NativeObject for StatCounter {
    fn type_name(&self) -> &str {
        "StatCounter"
    }
    fn get_attr(&self, _this: &Rc<dyn NativeObject>, name: &str, _it: &mut Interpreter) -> PResult<NativeAttr> {
        let m = self.0.borrow();
        Ok(match name {
            "n" => NativeAttr::Value(Value::Int(m.n)),
            "mu" => NativeAttr::Value(Value::Float(m.mu)),
            "m2" => NativeAttr::Value(Value::Float(m.m2)),
            "maxValue" => NativeAttr::Value(m.max.clone()),
            "minValue" => NativeAttr::Value(m.min.clone()),
            "count" | "mean" | "sum" | "min" | "max" | "variance" | "sampleVariance" | "stdev" | "sampleStdev"
            | "merge" | "mergeStats" | "copy" | "asDict" => NativeAttr::Method,
            _ => NativeAttr::Missing,
        })
    }
    fn call_method(
        &self,
        this: &Rc<dyn NativeObject>,
        name: &str,
        args: Vec<Value>,
        _kwargs: Vec<(Str, Value)>,
        it: &mut Interpreter,
    ) -> PResult<Value> {
        if name == "merge" || name == "mergeStats" {
            let v = args.into_iter().next().ok_or_else(|| {
                PyErr::new(ExcType::TypeError, format!("{name}() missing 1 required positional argument"))
            })?;
            if name == "merge" {
                self.0.borrow_mut().push(it, v)?;
            } else {
                let other = match &v {
                    Value::Native(n) => n.as_any().downcast_ref::<StatCounter>().map(|s| s.0.borrow().clone()),
                    _ => None,
                };
                let other = other.ok_or_else(|| {
                    let t = crate::py::repr::repr(&crate::py::builtins::type_of(&v));
                    PyErr::new(ExcType::TypeError, format!("Can only merge StatCounter but got {t}"))
                })?;
                self.0.borrow_mut().merge(it, &other)?;
            }
            return Ok(Value::Native(this.clone()));
        }
        let m = self.0.borrow().clone();
        Ok(match name {
            "count" => Value::Int(m.n),
            "mean" => Value::Float(m.mu),
            "sum" => Value::Float(m.n as f64 * m.mu),
            "min" => m.min,
            "max" => m.max,
            "variance" => Value::Float(m.variance()),
            "sampleVariance" => Value::Float(m.sample_variance()),
            "stdev" => Value::Float(m.variance().sqrt()),
            "sampleStdev" => Value::Float(m.sample_variance().sqrt()),
            "copy" => Value::Native(Rc::new(StatCounter(RefCell::new(m)))),
            "asDict" => {
                let d = Value::dict(Default::default());
                let sample = args.first().is_some_and(|v| v.truthy());
                // PySpark's own (inverted) choice: sample=False gives the sample statistics.
                let (var, sd) = if sample {
                    (m.variance(), m.variance().sqrt())
                } else {
                    (m.sample_variance(), m.sample_variance().sqrt())
                };
                let items = [
                    ("count", Value::Int(m.n)),
                    ("mean", Value::Float(m.mu)),
                    ("sum", Value::Float(m.n as f64 * m.mu)),
                    ("min", m.min.clone()),
                    ("max", m.max.clone()),
                    ("stdev", Value::Float(sd)),
                    ("variance", Value::Float(var)),
                ];
                for (k, v) in items {
                    it.set_item(&d, Value::str(k), v)?;
                }
                d
            }
            _ => unreachable!("listed method {name}"),
        })
    }
    fn repr(&self) -> String {
        let m = self.0.borrow();
        format!(
            "(count: {}, mean: {}, stdev: {}, max: {}, min: {})",
            m.n,
            crate::py::repr::float_repr(m.mu),
            crate::py::repr::float_repr(m.variance().sqrt()),
            crate::py::repr::to_str(&m.max),
            crate::py::repr::to_str(&m.min)
        )
    }
    fn pickle(&self) -> crate::py::Pickle {
        crate::py::Pickle::Unpicklable("StatCounter".into())
    }
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

/// `rdd.stats()`: a StatCounter per partition, merged on the driver in partition order.
pub fn stats(me: &Rc<PyRdd>, it: &mut Interpreter) -> PResult<Moments> {
    let parts = super::actions::run_op(me, vec![Op::Stats], vec![])?;
    let mut acc: Option<Moments> = None;
    for p in parts {
        let m = Moments::from_value(&p);
        match &mut acc {
            None => acc = Some(m),
            Some(a) => a.merge(it, &m)?,
        }
    }
    acc.ok_or_else(|| PyErr::new(ExcType::ValueError, "Can not reduce() empty RDD"))
}

pub fn stat_counter(m: Moments) -> Value {
    Value::Native(Rc::new(StatCounter(RefCell::new(m))))
}

/// The numeric actions over `stats()`: one job each.
pub fn numeric_action(me: &Rc<PyRdd>, name: &str, it: &mut Interpreter) -> PResult<Value> {
    let m = stats(me, it)?;
    Ok(match name {
        "stats" => stat_counter(m),
        "mean" => Value::Float(m.mu),
        "variance" => Value::Float(m.variance()),
        "stdev" => Value::Float(m.variance().sqrt()),
        "sampleVariance" => Value::Float(m.sample_variance()),
        "sampleStdev" => Value::Float(m.sample_variance().sqrt()),
        _ => unreachable!("numeric action {name}"),
    })
}

fn is_nan(v: &Value) -> bool {
    matches!(v, Value::Float(f) if f.is_nan())
}

/// `rdd.histogram(buckets)`: an int → a min/max job and even buckets; a sorted list → its
/// buckets (even if their steps agree); then one job counting per partition.
pub fn histogram(me: &Rc<PyRdd>, buckets: Value, it: &mut Interpreter) -> PResult<Value> {
    let (bounds, even, inc) = match &buckets {
        Value::Int(n) => {
            let n = *n;
            if n < 1 {
                return Err(PyErr::new(ExcType::ValueError, "number of buckets must be >= 1"));
            }
            let filtered = me.pipe(|_| vec![Op::DropNoneNan], vec![], false)?;
            let parts = super::actions::run_op(&filtered, vec![Op::MinMax], vec![])?;
            let mut mm: Option<(Value, Value)> = None;
            for p in parts {
                let Value::Tuple(t) = p else { continue };
                mm = Some(match mm {
                    None => (t[0].clone(), t[1].clone()),
                    Some((a, b)) => (py_min(it, a, t[0].clone())?, py_max(it, b, t[1].clone())?),
                });
            }
            let (minv, maxv) = mm.ok_or_else(|| PyErr::new(ExcType::ValueError, "Can not reduce() empty RDD"))?;
            if it.eq(&minv, &maxv)? || n == 1 {
                let c = super::actions::count(&filtered)?;
                return Ok(Value::tuple(vec![Value::list(vec![minv, maxv]), Value::list(vec![Value::Int(c)])]));
            }
            let span = it.binop(BinOp::Sub, &maxv, &minv)?;
            let inc = it.binop(BinOp::Div, &span, &Value::Int(n))?;
            if matches!(inc, Value::Float(f) if f.is_infinite()) {
                return Err(PyErr::new(ExcType::ValueError, "Can not generate buckets with infinite value"));
            }
            let mut inc = Value::Int(as_f64(&inc)?.trunc() as i64);
            let back = it.binop(BinOp::Mul, &inc, &Value::Int(n))?;
            if !it.eq(&back, &span)? {
                let s = it.binop(BinOp::Mul, &span, &Value::Float(1.0))?;
                inc = it.binop(BinOp::Div, &s, &Value::Int(n))?;
            }
            let mut bounds = vec![];
            for i in 0..n {
                let x = it.binop(BinOp::Mul, &Value::Int(i), &inc)?;
                bounds.push(it.binop(BinOp::Add, &x, &minv)?);
            }
            bounds.push(maxv);
            (bounds, true, inc)
        }
        Value::List(_) | Value::Tuple(_) => {
            let bounds = it.collect(&buckets)?;
            if bounds.len() < 2 {
                return Err(PyErr::new(ExcType::ValueError, "buckets should have more than one value"));
            }
            if bounds.iter().any(|b| b.is_none() || is_nan(b)) {
                return Err(PyErr::new(ExcType::ValueError, "can not have None or NaN in buckets"));
            }
            for w in bounds.windows(2) {
                if it.order(CmpOp::Lt, &w[1], &w[0])? {
                    return Err(PyErr::new(ExcType::ValueError, "buckets should be sorted"));
                }
                if it.eq(&w[1], &w[0])? {
                    return Err(PyErr::new(ExcType::ValueError, "buckets should not contain duplicated values"));
                }
            }
            let steps: Option<Vec<f64>> =
                bounds.windows(2).map(|w| Some(as_f64(&w[1]).ok()? - as_f64(&w[0]).ok()?)).collect();
            let even = steps.is_some_and(|s| {
                let (hi, lo) = s.iter().fold((f64::MIN, f64::MAX), |(h, l), x| (h.max(*x), l.min(*x)));
                hi - lo < 1e-10
            });
            let inc = if even {
                let span = it.binop(BinOp::Sub, &bounds[bounds.len() - 1], &bounds[0])?;
                it.binop(BinOp::Div, &span, &Value::Int(bounds.len() as i64 - 1))?
            } else {
                Value::None
            };
            (bounds, even, inc)
        }
        _ => {
            return Err(PyErr::new(ExcType::TypeError, "buckets should be a list or tuple or number(int or long)"));
        }
    };
    let funcs = vec![Value::list(bounds.clone()), inc];
    let parts = super::actions::run_op(me, vec![Op::Histogram { bounds: 0, inc: 1, even }], funcs)?;
    let mut counts: Option<Vec<Value>> = None;
    for p in parts {
        let c = it.collect(&p)?;
        counts = Some(match counts {
            None => c,
            Some(acc) => {
                let mut out = vec![];
                for (a, b) in acc.iter().zip(&c) {
                    out.push(it.binop(BinOp::Add, a, b)?);
                }
                out
            }
        });
    }
    let counts = counts.ok_or_else(|| PyErr::new(ExcType::ValueError, "Can not reduce() empty RDD"))?;
    Ok(Value::tuple(vec![Value::list(bounds), Value::list(counts)]))
}

/// The per-partition half of `histogram`: counts per bucket, the last two added together.
pub fn histogram_partition(
    it: &mut Interpreter,
    data: Vec<Value>,
    bounds: &[Value],
    inc: &Value,
    even: bool,
) -> PResult<Value> {
    let mut counters = vec![0i64; bounds.len()];
    let (minv, maxv) = (&bounds[0], &bounds[bounds.len() - 1]);
    for x in data {
        if x.is_none() || is_nan(&x) || it.order(CmpOp::Gt, &x, maxv)? || it.order(CmpOp::Lt, &x, minv)? {
            continue;
        }
        let t = if even {
            let d = it.binop(BinOp::Sub, &x, minv)?;
            let q = it.binop(BinOp::Div, &d, inc)?;
            as_f64(&q)?.trunc() as usize
        } else {
            let mut i = 0;
            while i < bounds.len() && !it.order(CmpOp::Lt, &x, &bounds[i])? {
                i += 1;
            }
            i - 1
        };
        counters[t] += 1;
    }
    let last = counters.pop().unwrap_or(0);
    if let Some(l) = counters.last_mut() {
        *l += last;
    }
    Ok(Value::list(counters.into_iter().map(Value::Int).collect()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `sc.parallelize(range(1, 11), 4).stats()` as PySpark 4.0.5 printed it
    /// (`tests/fixtures/pyspark/actions.out`): per-partition counters merged in order.
    #[test]
    fn merged_moments_match_pyspark() {
        let mut it = Interpreter::new();
        let mut acc = Moments::default();
        for part in [1..3, 3..6, 6..8, 8..11] {
            let mut m = Moments::default();
            for x in part {
                m.push(&mut it, Value::Int(x)).unwrap();
            }
            acc.merge(&mut it, &m).unwrap();
        }
        assert_eq!((acc.n, acc.mu, acc.variance()), (10, 5.5, 8.25));
        assert_eq!(acc.sample_variance(), 9.166666666666666);
        assert_eq!((acc.max.as_int(), acc.min.as_int()), (Some(10), Some(1)), "extremes keep their int type");
    }

    /// `histogram(3)` of 1..=10: buckets [1, 4, 7, 10], the last bucket closed.
    #[test]
    fn histogram_counts_with_a_closed_last_bucket() {
        let mut it = Interpreter::new();
        let bounds: Vec<Value> = [1, 4, 7, 10].into_iter().map(Value::Int).collect();
        let data: Vec<Value> = (1..=10).map(Value::Int).collect();
        let even = histogram_partition(&mut it, data.clone(), &bounds, &Value::Int(3), true).unwrap();
        let uneven = histogram_partition(&mut it, data, &bounds, &Value::None, false).unwrap();
        for counts in [even, uneven] {
            let got: Vec<i64> = it.collect(&counts).unwrap().iter().filter_map(|v| v.as_int()).collect();
            assert_eq!(got, [3, 3, 4]);
        }
    }
}
