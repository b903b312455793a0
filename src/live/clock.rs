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

/// What falls due next in a conductor: a message on the wire or a node's timer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Due<N> {
    Flight(Millis),
    Wake(Millis, N),
}

/// The earlier of the next arrival and the next wake-up (an arrival first at equal times), or
/// None if neither is due by `until`.
pub fn next_due<N>(flight: Option<Millis>, wake: Option<(Millis, N)>, until: Millis) -> Option<Due<N>> {
    let due = match (flight, wake) {
        (Some(f), Some((w, n))) => {
            if f <= w {
                Due::Flight(f)
            } else {
                Due::Wake(w, n)
            }
        }
        (Some(f), None) => Due::Flight(f),
        (None, Some((w, n))) => Due::Wake(w, n),
        (None, None) => return None,
    };
    let at = match &due {
        Due::Flight(t) | Due::Wake(t, _) => *t,
    };
    (at <= until).then_some(due)
}
