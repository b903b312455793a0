//! A linearizability checker for client histories: the Wing–Gong–Lowe search (as in
//! Porcupine and Knossos) with Lowe's memoisation of (linearized set, model state).
//!
//! A history is a list of operations, each with an invocation time, a completion time (None
//! when the outcome is unknown: a ConnectionLoss, a timeout), an input and an output. It is
//! linearizable when the operations can be put in one order, consistent with real time (an op
//! that completed before another was invoked comes first), in which the model produces every
//! known output. An op with an unknown outcome may take effect at any time after its
//! invocation, or never.

use std::collections::BTreeSet;

/// A sequential specification.
pub trait Model {
    type State: Clone + Ord;
    type Input: Clone;
    type Output: Clone;
    fn init(&self) -> Self::State;
    /// Applies `input` to `state`: the new state, if `output` (None: unknown) is what the
    /// model would return; None if it would not.
    fn step(&self, state: &Self::State, input: &Self::Input, output: Option<&Self::Output>) -> Option<Self::State>;
}

#[derive(Clone, Debug)]
pub struct Operation<I, O> {
    pub client: usize,
    pub call: u64,
    /// None: the outcome is unknown.
    pub ret: Option<u64>,
    pub input: I,
    pub output: Option<O>,
}

/// Bound on search steps, so a pathological history fails loudly instead of hanging.
pub const MAX_STEPS: u64 = 5_000_000;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    Linearizable,
    NotLinearizable,
    /// The search hit `MAX_STEPS`.
    Unknown,
}

/// Checks one history (operations on one object) against `model`.
pub fn check<M: Model>(model: &M, history: &[Operation<M::Input, M::Output>]) -> Verdict {
    let n = history.len();
    if n == 0 {
        return Verdict::Linearizable;
    }
    // Known outcomes must be linearized; unknown ones may be left out (they never happened).
    let words = n.div_ceil(64);
    let mut done = vec![0u64; words];
    let mut state = model.init();
    let mut stack: Vec<(usize, M::State)> = Vec::new();
    let mut cache: BTreeSet<(Vec<u64>, M::State)> = BTreeSet::new();
    let is_done = |d: &[u64], i: usize| d[i / 64] & (1 << (i % 64)) != 0;
    let flip = |d: &mut [u64], i: usize| d[i / 64] ^= 1 << (i % 64);
    let ret_time = |op: &Operation<M::Input, M::Output>| op.ret.unwrap_or(u64::MAX);
    let mut steps = 0u64;
    let mut start = 0usize; // the candidate to try next at this depth
    loop {
        steps += 1;
        if steps > MAX_STEPS {
            return Verdict::Unknown;
        }
        // Finished when every op with a known outcome is linearized.
        if (0..n).all(|i| is_done(&done, i) || history[i].ret.is_none()) {
            return Verdict::Linearizable;
        }
        // The earliest return among pending ops bounds which ops may go next.
        let horizon = (0..n).filter(|&i| !is_done(&done, i)).map(|i| ret_time(&history[i])).min().unwrap_or(u64::MAX);
        let mut advanced = false;
        let mut i = start;
        while i < n {
            if !is_done(&done, i) && history[i].call <= horizon {
                let op = &history[i];
                if let Some(next) = model.step(&state, &op.input, op.output.as_ref()) {
                    flip(&mut done, i);
                    if cache.insert((done.clone(), next.clone())) {
                        stack.push((i, state.clone()));
                        state = next;
                        start = 0;
                        advanced = true;
                        break;
                    }
                    flip(&mut done, i);
                }
            }
            i += 1;
        }
        if advanced {
            continue;
        }
        // Backtrack: undo the last choice and try the op after it.
        match stack.pop() {
            Some((last, prev)) => {
                flip(&mut done, last);
                state = prev;
                start = last + 1;
            }
            None => return Verdict::NotLinearizable,
        }
    }
}

/// A znode used as a register: `setData(path, value, -1)` returns the new `Stat.version`;
/// the state is (data, version).
pub struct ZnodeRegister;

#[derive(Clone, Debug)]
pub enum RegisterOp {
    Set(String),
}

impl Model for ZnodeRegister {
    type State = (String, i32);
    type Input = RegisterOp;
    /// The version returned by a successful set.
    type Output = i32;

    fn init(&self) -> (String, i32) {
        (String::new(), 0)
    }

    fn step(&self, state: &(String, i32), input: &RegisterOp, output: Option<&i32>) -> Option<(String, i32)> {
        let RegisterOp::Set(v) = input;
        let next = (v.clone(), state.1 + 1);
        match output {
            Some(&version) if version != next.1 => None,
            _ => Some(next),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(client: usize, call: u64, ret: Option<u64>, v: &str, out: Option<i32>) -> Operation<RegisterOp, i32> {
        Operation { client, call, ret, input: RegisterOp::Set(v.into()), output: out }
    }

    #[test]
    fn concurrent_writes_may_go_either_way() {
        let h = [set(0, 0, Some(10), "a", Some(2)), set(1, 1, Some(9), "b", Some(1))];
        assert_eq!(check(&ZnodeRegister, &h), Verdict::Linearizable);
    }

    #[test]
    fn a_write_that_finished_first_cannot_be_ordered_second() {
        let h = [set(0, 0, Some(5), "a", Some(2)), set(1, 6, Some(9), "b", Some(1))];
        assert_eq!(check(&ZnodeRegister, &h), Verdict::NotLinearizable);
    }

    #[test]
    fn an_unknown_outcome_may_or_may_not_have_happened() {
        let happened = [set(0, 0, None, "a", None), set(1, 5, Some(9), "b", Some(2))];
        assert_eq!(check(&ZnodeRegister, &happened), Verdict::Linearizable);
        let did_not = [set(0, 0, None, "a", None), set(1, 5, Some(9), "b", Some(1))];
        assert_eq!(check(&ZnodeRegister, &did_not), Verdict::Linearizable);
        let impossible = [set(0, 0, None, "a", None), set(1, 5, Some(9), "b", Some(3))];
        assert_eq!(check(&ZnodeRegister, &impossible), Verdict::NotLinearizable);
    }
}
