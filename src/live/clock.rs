//! The page's virtual clock: wall time × speed, paused or not, in whole virtual milliseconds.

use super::conductor::MAX_STEP_MS;
use crate::sim::Millis;

#[derive(Clone, Debug)]
pub struct VirtualClock {
    now: Millis,
    carry_ms: f64,
    speed: f64,
    paused: bool,
}

impl Default for VirtualClock {
    fn default() -> Self {
        VirtualClock { now: 0, carry_ms: 0.0, speed: 1.0, paused: false }
    }
}

impl VirtualClock {
    pub fn now(&self) -> Millis {
        self.now
    }
    /// Moves to `t`, which the caller has checked is not in the past.
    pub fn set_now(&mut self, t: Millis) {
        self.now = self.now.max(t);
    }
    pub fn set_speed(&mut self, speed: f64) {
        self.speed = speed.clamp(0.05, 20.0);
    }
    pub fn speed(&self) -> f64 {
        self.speed
    }
    pub fn set_paused(&mut self, paused: bool) {
        self.paused = paused;
    }
    pub fn paused(&self) -> bool {
        self.paused
    }
    /// The time `wall_ms` of real time moves the clock to (None when paused or no time passed).
    /// At most `MAX_STEP_MS` pass at once, so a background tab that wakes up does not replay
    /// minutes.
    pub fn advance(&mut self, wall_ms: f64) -> Option<Millis> {
        if self.paused || !wall_ms.is_finite() || wall_ms <= 0.0 {
            return None;
        }
        self.carry_ms += (wall_ms * self.speed).min(MAX_STEP_MS);
        let whole = self.carry_ms.floor();
        self.carry_ms -= whole;
        Some(self.now + whole as Millis)
    }
}
