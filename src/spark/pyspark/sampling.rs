//! `sample`, `takeSample` and `randomSplit` as PySpark's `rdd.py` and `rddsampler.py` do them:
//! each partition draws from its own `random.Random(seed ^ split)`, mixed by ten `randint(0, 1)`
//! calls; without replacement a record is kept when `random() < fraction` (or falls in
//! `[lb, ub)` for `randomSplit`); with replacement it repeats Poisson(fraction) times.

use super::arg;
use super::rdd::PyRdd;
use crate::py::builtins::to_float;
use crate::py::modules::Random;
use crate::py::{ExcType, Interpreter, PResult, PyErr, Str, Value};
use crate::spark::ops::Op;
use std::rc::Rc;

/// `sys.maxsize` on the 64-bit CPython the fixtures ran.
const MAXSIZE: u64 = i64::MAX as u64;

/// How a partition's records are drawn (`RDDSampler` / `RDDRangeSampler`).
#[derive(Clone, Copy, Debug, serde::Serialize, serde::Deserialize)]
pub enum Draw {
    Bernoulli { fraction: f64 },
    Poisson { mean: f64 },
    Range { lb: f64, ub: f64 },
}

/// `initRandomGenerator(split)`.
fn partition_rng(seed: i64, split: u32) -> Random {
    let mut rng = Random::new((seed ^ split as i64).unsigned_abs());
    for _ in 0..10 {
        rng.randbelow(2);
    }
    rng
}

/// `getPoissonSample(mean)`: Knuth's product of uniforms below 20, summed exponentials above.
fn poisson(rng: &mut Random, mean: f64) -> usize {
    let mut k = 0;
    if mean < 20.0 {
        let l = (-mean).exp();
        let mut p = rng.random();
        while p > l {
            k += 1;
            p *= rng.random();
        }
    } else {
        let expo = |rng: &mut Random| -(1.0 - rng.random()).ln() / mean;
        let mut p = expo(rng);
        while p < 1.0 {
            k += 1;
            p += expo(rng);
        }
    }
    k
}

/// The sampler's `func(split, iterator)` over one partition.
pub fn sample_partition(data: Vec<Value>, split: u32, draw: Draw, seed: i64) -> Vec<Value> {
    let mut rng = partition_rng(seed, split);
    let mut out = vec![];
    for x in data {
        match draw {
            Draw::Bernoulli { fraction } => {
                if rng.random() < fraction {
                    out.push(x);
                }
            }
            Draw::Range { lb, ub } => {
                let u = rng.random();
                if lb <= u && u < ub {
                    out.push(x);
                }
            }
            Draw::Poisson { mean } => {
                let n = poisson(&mut rng, mean);
                out.extend(std::iter::repeat_n(x, n));
            }
        }
    }
    out
}

/// A seed argument, or `random.randint(0, sys.maxsize)` on the driver when it is `None`.
fn seed_of(v: Option<Value>, it: &mut Interpreter) -> PResult<i64> {
    match v {
        None | Some(Value::None) => Ok(it.rng.randbelow(MAXSIZE + 1) as i64),
        Some(v) => v.as_int().ok_or_else(|| PyErr::new(ExcType::TypeError, "seed must be an integer")),
    }
}

/// `rdd.sample(withReplacement, fraction, seed)`.
pub fn sample(me: &Rc<PyRdd>, args: &[Value], kwargs: &[(Str, Value)], it: &mut Interpreter) -> PResult<Rc<PyRdd>> {
    let with_replacement = arg(args, kwargs, 0, "withReplacement").is_some_and(|v| v.truthy());
    let fraction = to_float(&arg(args, kwargs, 1, "fraction").unwrap_or(Value::None))?;
    if fraction.is_nan() || fraction < 0.0 {
        return Err(PyErr::new(ExcType::ValueError, "Fraction must be nonnegative."));
    }
    let seed = seed_of(arg(args, kwargs, 2, "seed"), it)?;
    sampled(me, with_replacement, fraction, seed)
}

fn sampled(me: &Rc<PyRdd>, with_replacement: bool, fraction: f64, seed: i64) -> PResult<Rc<PyRdd>> {
    let draw = if with_replacement { Draw::Poisson { mean: fraction } } else { Draw::Bernoulli { fraction } };
    me.pipe(|_| vec![Op::Sample { draw, seed }], vec![], true)
}

/// `rdd.randomSplit(weights, seed)`: one range sampler per cumulative weight interval.
pub fn random_split(me: &Rc<PyRdd>, args: &[Value], kwargs: &[(Str, Value)], it: &mut Interpreter) -> PResult<Value> {
    let weights = it.collect(&arg(args, kwargs, 0, "weights").unwrap_or(Value::None))?;
    let weights: Vec<f64> = weights.iter().map(to_float).collect::<PResult<_>>()?;
    if !weights.iter().all(|w| *w >= 0.0) {
        return Err(PyErr::new(ExcType::ValueError, "Weights must be nonnegative"));
    }
    let total: f64 = weights.iter().sum();
    if total.is_nan() || total <= 0.0 {
        return Err(PyErr::new(ExcType::ValueError, "Sum of weights must be positive"));
    }
    let seed = match arg(args, kwargs, 1, "seed") {
        None | Some(Value::None) => it.rng.randbelow(1 << 32) as i64,
        Some(v) => seed_of(Some(v), it)?,
    };
    let mut bounds = vec![0.0];
    for w in &weights {
        bounds.push(bounds[bounds.len() - 1] + w / total);
    }
    let mut out = vec![];
    for pair in bounds.windows(2) {
        let draw = Draw::Range { lb: pair[0], ub: pair[1] };
        out.push(super::rdd::rdd_value(me.pipe(|_| vec![Op::Sample { draw, seed }], vec![], true)?));
    }
    Ok(Value::list(out))
}

/// `_computeFractionForSampleSize`: a fraction that yields at least `num` records with
/// probability 0.9999.
fn fraction_for(num: u64, total: u64, with_replacement: bool) -> f64 {
    let fraction = num as f64 / total as f64;
    if with_replacement {
        let n_std_dev = if num < 12 { 9.0 } else { 5.0 };
        return fraction + n_std_dev * (fraction / total as f64).sqrt();
    }
    let gamma = -(0.00005f64).ln() / total as f64;
    (fraction + gamma + (gamma * gamma + 2.0 * gamma * fraction).sqrt()).min(1.0)
}

/// `rdd.takeSample(withReplacement, num, seed)`: a count job, then sample jobs until enough,
/// shuffled on the driver by `random.Random(seed)`.
pub fn take_sample(me: &Rc<PyRdd>, args: &[Value], kwargs: &[(Str, Value)], it: &mut Interpreter) -> PResult<Value> {
    let with_replacement = arg(args, kwargs, 0, "withReplacement").is_some_and(|v| v.truthy());
    let num = arg(args, kwargs, 1, "num").and_then(|v| v.as_int()).unwrap_or(0);
    if num < 0 {
        return Err(PyErr::new(ExcType::ValueError, "Sample size cannot be negative."));
    }
    if num == 0 {
        return Ok(Value::list(vec![]));
    }
    let initial = super::actions::count(me)?;
    if initial == 0 {
        return Ok(Value::list(vec![]));
    }
    let mut seed = seed_of(arg(args, kwargs, 2, "seed"), it)?;
    let mut rand = Random::new(seed.unsigned_abs());
    if !with_replacement && num >= initial {
        let mut samples = super::actions::collect(me, it)?;
        shuffle(&mut rand, &mut samples);
        return Ok(Value::list(samples));
    }
    let fraction = fraction_for(num as u64, initial as u64, with_replacement);
    let mut samples = super::actions::collect(&sampled(me, with_replacement, fraction, seed)?, it)?;
    while (samples.len() as i64) < num {
        seed = rand.randbelow(MAXSIZE + 1) as i64;
        samples = super::actions::collect(&sampled(me, with_replacement, fraction, seed)?, it)?;
    }
    shuffle(&mut rand, &mut samples);
    samples.truncate(num as usize);
    Ok(Value::list(samples))
}

/// `Random.shuffle` (CPython 3.11).
fn shuffle(rng: &mut Random, items: &mut [Value]) {
    for i in (1..items.len()).rev() {
        let j = rng.randbelow(i as u64 + 1) as usize;
        items.swap(i, j);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Partition 0 (`range(25)`) of `sc.parallelize(range(100), 4).sample(False, 0.5, 7)` as
    /// PySpark 4.0.5 sampled it (`tests/fixtures/pyspark/sample.out`).
    #[test]
    fn bernoulli_matches_pyspark_sampler() {
        let data: Vec<Value> = (0..25).map(Value::Int).collect();
        let got: Vec<i64> =
            sample_partition(data, 0, Draw::Bernoulli { fraction: 0.5 }, 7).iter().filter_map(|v| v.as_int()).collect();
        assert_eq!(got, vec![0, 1, 2, 4, 9, 11, 12, 14, 15, 20, 22, 23]);
    }
}
