//! The trace hash: FNV-1a (64-bit) over a textual record of every step. Two runs of one seed
//! must produce the same hash; a different hash means nondeterminism crept in.

use std::fmt;

#[derive(Clone, Debug)]
pub struct TraceHasher {
    state: u64,
    /// When set, every record is also kept as text (for replaying a seed by eye).
    log: Option<Vec<String>>,
}

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

impl Default for TraceHasher {
    fn default() -> Self {
        TraceHasher::new()
    }
}

impl TraceHasher {
    pub fn new() -> TraceHasher {
        TraceHasher { state: FNV_OFFSET, log: None }
    }

    pub fn write_bytes(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.state ^= u64::from(b);
            self.state = self.state.wrapping_mul(FNV_PRIME);
        }
    }

    /// Hashes one formatted record, without allocating, followed by a record separator.
    pub fn record(&mut self, args: fmt::Arguments<'_>) {
        let _ = fmt::Write::write_fmt(self, args);
        self.write_bytes(b"\n");
        if let Some(log) = &mut self.log {
            log.push(args.to_string());
        }
    }

    /// Keeps every later record as text too.
    pub fn keep_log(&mut self) {
        self.log.get_or_insert_with(Vec::new);
    }

    pub fn log(&self) -> &[String] {
        self.log.as_deref().unwrap_or_default()
    }

    pub fn finish(&self) -> u64 {
        self.state
    }
}

impl fmt::Write for TraceHasher {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.write_bytes(s.as_bytes());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv1a_known_value() {
        // FNV-1a 64 of "a" is 0xaf63dc4c8601ec8c (the reference test vector).
        let mut h = TraceHasher::new();
        h.write_bytes(b"a");
        assert_eq!(h.finish(), 0xaf63_dc4c_8601_ec8c);
    }
}
