//! The JVM random-number generators Spark's own code draws from, bit for bit, where their
//! draws decide where records go: `org.apache.spark.util.random.XORShiftRandom` (seeded
//! through Scala's `MurmurHash3.bytesHash`) and `java.util.Random.nextInt(bound)` over it.
//! `coalesce(shuffle = true)` starts partition `index`'s round robin at
//! `new XORShiftRandom(index).nextInt(numPartitions)`.

/// Scala's `MurmurHash3.arraySeed`.
const ARRAY_SEED: u32 = 0x3c07_4a61;

fn mix_last(h: u32, k: u32) -> u32 {
    let k = k.wrapping_mul(0xcc9e_2d51).rotate_left(15).wrapping_mul(0x1b87_3593);
    h ^ k
}

fn mix(h: u32, k: u32) -> u32 {
    mix_last(h, k).rotate_left(13).wrapping_mul(5).wrapping_add(0xe654_6b64)
}

fn finalize(h: u32, len: u32) -> u32 {
    let mut h = h ^ len;
    h ^= h >> 16;
    h = h.wrapping_mul(0x85eb_ca6b);
    h ^= h >> 13;
    h = h.wrapping_mul(0xc2b2_ae35);
    h ^ (h >> 16)
}

/// Scala's `MurmurHash3.bytesHash(data, seed)`: little-endian 4-byte blocks, then the tail.
fn bytes_hash(data: &[u8], seed: u32) -> u32 {
    let mut h = seed;
    let mut blocks = data.chunks_exact(4);
    for b in &mut blocks {
        h = mix(h, u32::from_le_bytes([b[0], b[1], b[2], b[3]]));
    }
    let tail = blocks.remainder();
    if !tail.is_empty() {
        let k = tail.iter().enumerate().fold(0u32, |k, (i, &b)| k ^ ((b as u32) << (8 * i)));
        h = mix_last(h, k);
    }
    finalize(h, data.len() as u32)
}

/// `XORShiftRandom.hashSeed`: the seed's big-endian bytes hashed twice.
fn hash_seed(seed: i64) -> u64 {
    let bytes = seed.to_be_bytes();
    let low = bytes_hash(&bytes, ARRAY_SEED);
    let high = bytes_hash(&bytes, low);
    ((high as u64) << 32) | low as u64
}

/// Spark's `XORShiftRandom(init)`.
pub struct XorShiftRandom {
    seed: u64,
}

impl XorShiftRandom {
    pub fn new(init: i64) -> XorShiftRandom {
        XorShiftRandom { seed: hash_seed(init) }
    }

    /// `next(bits)`: one xorshift step, the low `bits` bits.
    fn next(&mut self, bits: u32) -> i32 {
        let mut s = self.seed ^ (self.seed << 21);
        s ^= s >> 35;
        s ^= s << 4;
        self.seed = s;
        (s & ((1u64 << bits) - 1)) as i32
    }

    /// `java.util.Random.nextInt(bound)` (Java 17) over `next`.
    pub fn next_int(&mut self, bound: i32) -> i32 {
        assert!(bound > 0, "nextInt's bound must be positive");
        let r = self.next(31);
        let m = bound - 1;
        if bound & m == 0 {
            return ((bound as i64 * r as i64) >> 31) as i32;
        }
        let mut u = r;
        loop {
            let r = u % bound;
            if u.wrapping_sub(r).wrapping_add(m) >= 0 {
                return r;
            }
            u = self.next(31);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Values from the JVM (OpenJDK 17, jshell) running the same algorithms.
    #[test]
    fn hash_seed_matches_the_jvm() {
        assert_eq!(hash_seed(0) as i64, -9171266021732529057);
        assert_eq!(hash_seed(1) as i64, -202554933444998644);
        assert_eq!(hash_seed(2) as i64, 2422337058538498501);
    }

    #[test]
    fn next_int_matches_the_jvm() {
        let draws = |n: i32| (0..6).map(|i| XorShiftRandom::new(i).next_int(n)).collect::<Vec<_>>();
        assert_eq!(draws(3), [2, 0, 1, 2, 1, 1]);
        assert_eq!(draws(8), [1, 1, 7, 5, 4, 7]);
        assert_eq!(draws(2), [0, 0, 1, 1, 1, 1]);
        assert_eq!(draws(7), [2, 5, 1, 6, 1, 1]);
        assert_eq!(draws(1000), [28, 703, 828, 447, 53, 425]);
    }
}
