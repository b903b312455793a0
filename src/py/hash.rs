//! CPython 3.11's hash functions and its set table's iteration order.
//!
//! `hash()` of ints, floats, tuples and frozensets is CPython's exactly. `str` and `bytes`
//! hashes are SipHash-1-3 keyed with zeros, which is what CPython computes when hash
//! randomization is off (`PYTHONHASHSEED=0`); with randomization on, even CPython's own set
//! order of strings changes from run to run. Sets iterate in the order CPython's open-addressing
//! table (`Objects/setobject.c`: 8 slots to start, linear probes of 9, perturbed probing,
//! growth at 60% fill) would hold their elements after inserting them in insertion order.

use super::error::{PyErr, ExcType};
use super::value::{Value, Set};
use num_bigint::{BigInt, Sign};
use num_traits::{ToPrimitive, Zero};

const MODULUS: u64 = (1u64 << 61) - 1;
const HASH_BITS: u32 = 61;
const HASH_INF: i64 = 314159;

pub fn hash_value(v: &Value) -> Result<i64, PyErr> {
    Ok(match v {
        Value::None => 0x1_0000_7e90,
        Value::Ellipsis => 0x1_0000_7f10,
        Value::NotImplemented => 0x1_0000_7f50,
        Value::Bool(b) => *b as i64,
        Value::Int(i) => hash_int(*i),
        Value::Big(b) => hash_big(b),
        Value::Float(f) => hash_float(*f),
        Value::Str(s) => hash_str(s),
        Value::Bytes(b) => hash_bytes(b),
        Value::Tuple(t) => {
            let mut lanes = Vec::with_capacity(t.len());
            for x in t.iter() {
                lanes.push(hash_value(x)?);
            }
            hash_tuple(&lanes)
        }
        Value::FrozenSet(s) => hash_frozenset(s),
        Value::Range(r) => hash_tuple(&[hash_int(r.len()), hash_int(r.start), hash_int(r.step)]),
        Value::List(_) | Value::Dict(_) | Value::Set(_) | Value::Slice(_) | Value::DictView(_) => {
            return Err(PyErr::new(ExcType::TypeError, format!("unhashable type: '{}'", v.type_name())))
        }
        Value::Function(f) => identity_hash(f.id),
        Value::Class(c) => identity_hash(c.id),
        Value::Instance(i) => identity_hash(i.id),
        Value::Type(t) => hash_str(t.name()),
        Value::Builtin(b) => hash_str(&b.name),
        Value::Module(m) => hash_str(&m.name),
        Value::Method(m) => hash_value(&m.0)? ^ hash_value(&m.1)?,
        Value::Native(n) => hash_str(n.type_name()) ^ (std::rc::Rc::as_ptr(n) as *const u8 as usize as i64 >> 4),
        Value::NativeMethod(m) => hash_str(&m.1),
        Value::Iter(i) => std::rc::Rc::as_ptr(i) as usize as i64 >> 4,
    })
}

fn identity_hash(id: u64) -> i64 {
    // CPython hashes by address (id >> 4); ids here are small counters.
    (id as i64).wrapping_mul(16) >> 4
}

pub fn hash_int(i: i64) -> i64 {
    let m = MODULUS as i128;
    let r = (i as i128).abs() % m;
    let h = if i < 0 { -r } else { r } as i64;
    if h == -1 {
        -2
    } else {
        h
    }
}

pub fn hash_big(b: &BigInt) -> i64 {
    let m = BigInt::from(MODULUS);
    let r = (b.magnitude().clone() % m.magnitude()).to_i64().unwrap_or(0);
    let h = if b.sign() == Sign::Minus { -r } else { r };
    if h == -1 {
        -2
    } else {
        h
    }
}

/// `_Py_HashDouble` (nan hashes by identity in CPython; we use 0).
pub fn hash_float(v: f64) -> i64 {
    if v.is_nan() {
        return 0;
    }
    if v.is_infinite() {
        return if v > 0.0 { HASH_INF } else { -HASH_INF };
    }
    if v.fract() == 0.0 && v.abs() < 9.2e18 {
        return hash_int(v as i64);
    }
    let (mut m, mut e) = frexp(v);
    let mut sign: i64 = 1;
    if m < 0.0 {
        sign = -1;
        m = -m;
    }
    let mut x: u64 = 0;
    while m != 0.0 {
        x = ((x << 28) & MODULUS) | x >> (HASH_BITS - 28);
        m *= 268435456.0;
        e -= 28;
        let y = m as u64;
        m -= y as f64;
        x += y;
        if x >= MODULUS {
            x -= MODULUS;
        }
    }
    let e = if e >= 0 { e % HASH_BITS as i32 } else { HASH_BITS as i32 - 1 - ((-1 - e) % HASH_BITS as i32) } as u32;
    x = ((x << e) & MODULUS) | x >> (HASH_BITS - e);
    let h = (x as i64).wrapping_mul(sign);
    if h == -1 {
        -2
    } else {
        h
    }
}

fn frexp(v: f64) -> (f64, i32) {
    if v == 0.0 || !v.is_finite() {
        return (v, 0);
    }
    let bits = v.to_bits();
    let exp = ((bits >> 52) & 0x7ff) as i32;
    if exp == 0 {
        // Subnormal: scale up first.
        let (m, e) = frexp(v * (1u64 << 54) as f64);
        return (m, e - 54);
    }
    let e = exp - 1022;
    let m = f64::from_bits((bits & !(0x7ffu64 << 52)) | (1022u64 << 52));
    (m, e)
}

pub fn hash_tuple(lanes: &[i64]) -> i64 {
    const P1: u64 = 11400714785074694791;
    const P2: u64 = 14029467366897019727;
    const P5: u64 = 2870177450012600261;
    let mut acc: u64 = P5;
    for &lane in lanes {
        acc = acc.wrapping_add((lane as u64).wrapping_mul(P2));
        acc = acc.rotate_left(31);
        acc = acc.wrapping_mul(P1);
    }
    acc = acc.wrapping_add(lanes.len() as u64 ^ (P5 ^ 3527539));
    if acc == u64::MAX {
        return 1546275796;
    }
    acc as i64
}

pub fn hash_str(s: &str) -> i64 {
    if s.is_empty() {
        return 0;
    }
    if s.is_ascii() {
        // CPython hashes a compact ASCII string's one byte per character: its UTF-8.
        return hash_bytes(s.as_bytes());
    }
    let max = s.chars().map(|c| c as u32).max().unwrap_or(0);
    let mut buf = Vec::with_capacity(s.len() * 2);
    for c in s.chars() {
        let c = c as u32;
        if max < 256 {
            buf.push(c as u8);
        } else if max < 65536 {
            buf.extend_from_slice(&(c as u16).to_le_bytes());
        } else {
            buf.extend_from_slice(&c.to_le_bytes());
        }
    }
    hash_bytes(&buf)
}

pub fn hash_bytes(b: &[u8]) -> i64 {
    if b.is_empty() {
        return 0;
    }
    let h = siphash13(0, 0, b) as i64;
    if h == -1 {
        -2
    } else {
        h
    }
}

fn siphash13(k0: u64, k1: u64, data: &[u8]) -> u64 {
    let mut v0 = k0 ^ 0x736f6d6570736575;
    let mut v1 = k1 ^ 0x646f72616e646f6d;
    let mut v2 = k0 ^ 0x6c7967656e657261;
    let mut v3 = k1 ^ 0x7465646279746573;
    macro_rules! round {
        () => {
            v0 = v0.wrapping_add(v1);
            v1 = v1.rotate_left(13);
            v1 ^= v0;
            v0 = v0.rotate_left(32);
            v2 = v2.wrapping_add(v3);
            v3 = v3.rotate_left(16);
            v3 ^= v2;
            v0 = v0.wrapping_add(v3);
            v3 = v3.rotate_left(21);
            v3 ^= v0;
            v2 = v2.wrapping_add(v1);
            v1 = v1.rotate_left(17);
            v1 ^= v2;
            v2 = v2.rotate_left(32);
        };
    }
    let chunks = data.chunks_exact(8);
    let tail = chunks.remainder();
    for c in chunks {
        let m = u64::from_le_bytes(c.try_into().expect("8 bytes"));
        v3 ^= m;
        round!();
        v0 ^= m;
    }
    let mut t: u64 = (data.len() as u64 & 0xff) << 56;
    for (i, b) in tail.iter().enumerate() {
        t |= (*b as u64) << (8 * i);
    }
    v3 ^= t;
    round!();
    v0 ^= t;
    v2 ^= 0xff;
    round!();
    round!();
    round!();
    v0 ^ v1 ^ v2 ^ v3
}

fn hash_frozenset(s: &Set) -> i64 {
    fn shuffle(h: u64) -> u64 {
        ((h ^ 89869747) ^ (h << 16)).wrapping_mul(3644798167)
    }
    let (size, fill, used) = s.shape();
    let mut hash: u64 = 0;
    for k in s.keys() {
        hash ^= shuffle(k.hash as u64);
    }
    if (size - fill) & 1 == 1 {
        hash ^= shuffle(0);
    }
    if (fill - used) & 1 == 1 {
        hash ^= shuffle(u64::MAX);
    }
    hash ^= (used as u64 + 1).wrapping_mul(1927868237);
    hash ^= (hash >> 11) ^ (hash >> 25);
    hash = hash.wrapping_mul(69069).wrapping_add(907133923);
    if hash == u64::MAX {
        hash = 590923713;
    }
    hash as i64
}

pub fn big_is_zero(b: &BigInt) -> bool {
    b.is_zero()
}
