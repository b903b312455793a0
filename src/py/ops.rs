//! Arithmetic on Python numbers: `i64` fast paths that promote to big ints on overflow, float
//! semantics of floor division and modulo, and CPython's error messages.

use super::error::{ExcType, PyErr};
use super::ir::BinOp;
use super::value::{PResult, Value};
use num_bigint::BigInt;
use num_integer::Integer;
use num_traits::{Signed, ToPrimitive, Zero, One, Pow};

pub fn to_big(v: &Value) -> Option<BigInt> {
    match v {
        Value::Int(i) => Some(BigInt::from(*i)),
        Value::Bool(b) => Some(BigInt::from(*b as i64)),
        Value::Big(b) => Some((**b).clone()),
        _ => None,
    }
}

pub fn is_int(v: &Value) -> bool {
    matches!(v, Value::Int(_) | Value::Bool(_) | Value::Big(_))
}

pub fn to_f64(v: &Value) -> PResult<Option<f64>> {
    Ok(match v {
        Value::Float(f) => Some(*f),
        Value::Int(i) => Some(*i as f64),
        Value::Bool(b) => Some(*b as i64 as f64),
        Value::Big(b) => Some(big_to_f64(b)?),
        _ => None,
    })
}

pub fn big_to_f64(b: &BigInt) -> PResult<f64> {
    match b.to_f64() {
        Some(f) if f.is_finite() => Ok(f),
        _ => Err(PyErr::new(ExcType::OverflowError, "int too large to convert to float")),
    }
}

/// `a op b` for numbers; `None` when either operand is not a number.
pub fn num_binop(op: BinOp, a: &Value, b: &Value) -> PResult<Option<Value>> {
    if let (Some(x), Some(y)) = (small(a), small(b)) {
        return int_op(op, x, y).map(Some);
    }
    if is_int(a) && is_int(b) {
        let (x, y) = (to_big(a).expect("int"), to_big(b).expect("int"));
        return big_op(op, x, y).map(Some);
    }
    let (Some(x), Some(y)) = (to_f64(a)?, to_f64(b)?) else { return Ok(None) };
    if matches!(a, Value::Float(_)) || matches!(b, Value::Float(_)) {
        return float_op(op, x, y).map(Some);
    }
    Ok(None)
}

fn small(v: &Value) -> Option<i64> {
    match v {
        Value::Int(i) => Some(*i),
        Value::Bool(b) => Some(*b as i64),
        _ => None,
    }
}

fn int_op(op: BinOp, x: i64, y: i64) -> PResult<Value> {
    let promote = || big_op(op, BigInt::from(x), BigInt::from(y));
    Ok(match op {
        BinOp::Add => match x.checked_add(y) {
            Some(v) => Value::Int(v),
            None => return promote(),
        },
        BinOp::Sub => match x.checked_sub(y) {
            Some(v) => Value::Int(v),
            None => return promote(),
        },
        BinOp::Mul => match x.checked_mul(y) {
            Some(v) => Value::Int(v),
            None => return promote(),
        },
        BinOp::Div => {
            if y == 0 {
                return Err(PyErr::new(ExcType::ZeroDivisionError, "division by zero"));
            }
            if x.unsigned_abs() < (1 << 53) && y.unsigned_abs() < (1 << 53) {
                Value::Float(x as f64 / y as f64)
            } else {
                return promote();
            }
        }
        BinOp::FloorDiv => {
            if y == 0 {
                return Err(PyErr::new(ExcType::ZeroDivisionError, "integer division or modulo by zero"));
            }
            match x.checked_div_euclid(y) {
                Some(_) => Value::Int(Integer::div_floor(&x, &y)),
                None => return promote(),
            }
        }
        BinOp::Mod => {
            if y == 0 {
                return Err(PyErr::new(ExcType::ZeroDivisionError, "integer modulo by zero"));
            }
            match x.checked_rem(y) {
                Some(_) => Value::Int(x.mod_floor(&y)),
                None => Value::Int(0),
            }
        }
        BinOp::Pow => {
            if y < 0 {
                if x == 0 {
                    return Err(PyErr::new(ExcType::ZeroDivisionError, "0.0 cannot be raised to a negative power"));
                }
                return Ok(Value::Float((x as f64).powf(y as f64)));
            }
            match u32::try_from(y).ok().and_then(|e| x.checked_pow(e)) {
                Some(v) => Value::Int(v),
                None => return promote(),
            }
        }
        BinOp::LShift => {
            if y < 0 {
                return Err(PyErr::new(ExcType::ValueError, "negative shift count"));
            }
            if y < 63 && (x.unsigned_abs() >> (63 - y)) == 0 {
                Value::Int(x << y)
            } else {
                return promote();
            }
        }
        BinOp::RShift => {
            if y < 0 {
                return Err(PyErr::new(ExcType::ValueError, "negative shift count"));
            }
            Value::Int(if y >= 64 { if x < 0 { -1 } else { 0 } } else { x >> y })
        }
        BinOp::BitAnd => Value::Int(x & y),
        BinOp::BitOr => Value::Int(x | y),
        BinOp::BitXor => Value::Int(x ^ y),
        BinOp::MatMul => return Err(unsupported(op, "int", "int")),
    })
}

fn big_op(op: BinOp, x: BigInt, y: BigInt) -> PResult<Value> {
    Ok(Value::big(match op {
        BinOp::Add => x + y,
        BinOp::Sub => x - y,
        BinOp::Mul => x * y,
        BinOp::Div => {
            if y.is_zero() {
                return Err(PyErr::new(ExcType::ZeroDivisionError, "division by zero"));
            }
            return Ok(Value::Float(big_true_div(&x, &y)?));
        }
        BinOp::FloorDiv => {
            if y.is_zero() {
                return Err(PyErr::new(ExcType::ZeroDivisionError, "integer division or modulo by zero"));
            }
            x.div_floor(&y)
        }
        BinOp::Mod => {
            if y.is_zero() {
                return Err(PyErr::new(ExcType::ZeroDivisionError, "integer modulo by zero"));
            }
            x.mod_floor(&y)
        }
        BinOp::Pow => {
            if y.is_negative() {
                if x.is_zero() {
                    return Err(PyErr::new(ExcType::ZeroDivisionError, "0.0 cannot be raised to a negative power"));
                }
                return Ok(Value::Float(big_to_f64(&x)?.powf(big_to_f64(&y)?)));
            }
            let e = y.to_u32().ok_or_else(|| PyErr::new(ExcType::OverflowError, "exponent too large"))?;
            if x.bits() * e as u64 > 1_000_000 {
                return Err(PyErr::new(ExcType::OverflowError, "integer result too large (limit: 1,000,000 bits)"));
            }
            Pow::pow(x, e)
        }
        BinOp::LShift => {
            let s = y.to_u32().ok_or_else(|| PyErr::new(ExcType::ValueError, "negative shift count"))?;
            if x.bits() + s as u64 > 1_000_000 {
                return Err(PyErr::new(ExcType::OverflowError, "integer result too large (limit: 1,000,000 bits)"));
            }
            x << s
        }
        BinOp::RShift => {
            if y.is_negative() {
                return Err(PyErr::new(ExcType::ValueError, "negative shift count"));
            }
            let s = y.to_u64().unwrap_or(u64::MAX).min(1 << 20);
            // Floor semantics for negative numbers.
            let d = BigInt::one() << s;
            x.div_floor(&d)
        }
        BinOp::BitAnd => x & y,
        BinOp::BitOr => x | y,
        BinOp::BitXor => x ^ y,
        BinOp::MatMul => return Err(unsupported(op, "int", "int")),
    }))
}

fn big_true_div(x: &BigInt, y: &BigInt) -> PResult<f64> {
    match (x.to_f64(), y.to_f64()) {
        (Some(a), Some(b)) if a.is_finite() && b.is_finite() => Ok(a / b),
        _ => {
            // Scale down both to avoid overflow; precise enough for huge operands.
            let shift = x.bits().max(y.bits()).saturating_sub(1000);
            let (a, b) = ((x >> shift).to_f64().unwrap_or(f64::INFINITY), (y >> shift).to_f64().unwrap_or(f64::INFINITY));
            let r = a / b;
            if r.is_finite() {
                Ok(r)
            } else {
                Err(PyErr::new(ExcType::OverflowError, "integer division result too large for a float"))
            }
        }
    }
}

pub fn float_op(op: BinOp, x: f64, y: f64) -> PResult<Value> {
    Ok(Value::Float(match op {
        BinOp::Add => x + y,
        BinOp::Sub => x - y,
        BinOp::Mul => x * y,
        BinOp::Div => {
            if y == 0.0 {
                return Err(PyErr::new(ExcType::ZeroDivisionError, "float division by zero"));
            }
            x / y
        }
        BinOp::FloorDiv => {
            if y == 0.0 {
                return Err(PyErr::new(ExcType::ZeroDivisionError, "float floor division by zero"));
            }
            float_divmod(x, y).0
        }
        BinOp::Mod => {
            if y == 0.0 {
                return Err(PyErr::new(ExcType::ZeroDivisionError, "float modulo"));
            }
            float_divmod(x, y).1
        }
        BinOp::Pow => {
            if x == 0.0 && y < 0.0 {
                return Err(PyErr::new(ExcType::ZeroDivisionError, "0.0 cannot be raised to a negative power"));
            }
            if x < 0.0 && y.fract() != 0.0 {
                return Err(PyErr::new(ExcType::ValueError, "complex results are not supported"));
            }
            let r = x.powf(y);
            if r.is_infinite() && x.is_finite() && y.is_finite() {
                return Err(PyErr::new(ExcType::OverflowError, "(34, 'Numerical result out of range')"));
            }
            r
        }
        _ => return Err(unsupported(op, "float", "float")),
    }))
}

/// CPython's `float_divmod`: floor quotient and a remainder with the divisor's sign.
pub fn float_divmod(x: f64, y: f64) -> (f64, f64) {
    let mut m = x % y;
    let mut div = (x - m) / y;
    if m != 0.0 {
        if (y < 0.0) != (m < 0.0) {
            m += y;
            div -= 1.0;
        }
    } else {
        m = 0.0f64.copysign(y);
    }
    let floordiv = if div != 0.0 {
        let mut f = div.floor();
        if div - f > 0.5 {
            f += 1.0;
        }
        f
    } else {
        0.0f64.copysign(x / y)
    };
    (floordiv, m)
}

pub fn unsupported(op: BinOp, a: &str, b: &str) -> PyErr {
    PyErr::new(ExcType::TypeError, format!("unsupported operand type(s) for {}: '{}' and '{}'", op.symbol(), a, b))
}

pub fn neg(v: &Value) -> Option<Value> {
    match v {
        Value::Int(i) => Some(match i.checked_neg() {
            Some(n) => Value::Int(n),
            None => Value::big(-BigInt::from(*i)),
        }),
        Value::Bool(b) => Some(Value::Int(-(*b as i64))),
        Value::Big(b) => Some(Value::big(-(**b).clone())),
        Value::Float(f) => Some(Value::Float(-f)),
        _ => None,
    }
}

/// Python's `round(x)` for floats: half to even; `round(x, n)` via correctly rounded decimal.
pub fn round_float(x: f64, ndigits: Option<i64>) -> PResult<Value> {
    match ndigits {
        None => {
            if !x.is_finite() {
                return Err(PyErr::new(
                    if x.is_nan() { ExcType::ValueError } else { ExcType::OverflowError },
                    if x.is_nan() { "cannot convert float NaN to integer" } else { "cannot convert float infinity to integer" },
                ));
            }
            let r = x.round();
            let r = if (x - x.trunc()).abs() == 0.5 { 2.0 * (x / 2.0).round() } else { r };
            Ok(float_to_int(r))
        }
        Some(n) => {
            if !x.is_finite() || x == 0.0 {
                return Ok(Value::Float(x));
            }
            if n > 300 {
                return Ok(Value::Float(x));
            }
            if n < -308 {
                return Ok(Value::Float(0.0f64.copysign(x)));
            }
            if n >= 0 {
                let s = format!("{:.*}", n as usize, x);
                Ok(Value::Float(s.parse().unwrap_or(x)))
            } else {
                let p = 10f64.powi((-n) as i32);
                let y = x / p;
                let r = y.round();
                let r = if (y - y.trunc()).abs() == 0.5 { 2.0 * (y / 2.0).round() } else { r };
                Ok(Value::Float(r * p))
            }
        }
    }
}

pub fn float_to_int(f: f64) -> Value {
    if f.abs() < 9.2e18 {
        Value::Int(f as i64)
    } else {
        Value::big(super::value::float_to_big(f))
    }
}

pub fn int_abs(v: &Value) -> Value {
    match v {
        Value::Int(i) => match i.checked_abs() {
            Some(a) => Value::Int(a),
            None => Value::big(BigInt::from(*i).abs()),
        },
        Value::Big(b) => Value::big(b.abs()),
        Value::Bool(b) => Value::Int(*b as i64),
        other => other.clone(),
    }
}
