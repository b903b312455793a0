//! Zxids: ZooKeeper transaction ids. The high 32 bits are the epoch of the leader that issued the
//! transaction, the low 32 bits a counter reset by every new leader (`ZxidUtils` in ZooKeeper).

use serde::{Deserialize, Serialize};
use std::fmt;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Zxid(pub u64);

impl Zxid {
    pub const ZERO: Zxid = Zxid(0);

    pub fn new(epoch: u32, counter: u32) -> Zxid {
        Zxid((u64::from(epoch) << 32) | u64::from(counter))
    }
    pub fn epoch(self) -> u32 {
        (self.0 >> 32) as u32
    }
    pub fn counter(self) -> u32 {
        self.0 as u32
    }
}

impl fmt::Display for Zxid {
    /// As ZooKeeper prints zxids: `0x` and lower-case hex.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "0x{:x}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn epoch_is_the_high_32_bits() {
        // ZxidUtils.makeZxid(epoch, counter) = (epoch << 32L) | (counter & 0xffffffffL)
        let z = Zxid::new(3, 7);
        assert_eq!(z.0, 0x0000_0003_0000_0007);
        assert_eq!(z.epoch(), 3);
        assert_eq!(z.counter(), 7);
        assert_eq!(z.to_string(), "0x300000007");
        assert!(Zxid::new(2, u32::MAX) < Zxid::new(3, 0), "any zxid of a later epoch is newer");
    }
}
