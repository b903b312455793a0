//! `set` and `frozenset` as CPython 3.11 stores them (`Objects/setobject.c`): an
//! open-addressing table of 8 slots to start, linear probes of 9 then perturbed probing,
//! dummies left by deletions, growth at 60% fill, and `set_merge`'s bulk copy. Iteration walks
//! the table, so a set prints its elements in the order CPython prints them, provided the
//! element hashes are CPython's (see `hash.rs`). Membership goes through an index map.

use super::value::{Key, KeyMap, PResult, Value};

#[derive(Clone, Debug)]
enum Slot {
    Empty,
    Dummy,
    Full(usize),
}

#[derive(Clone)]
pub struct Set {
    /// Key → its slot in `table`.
    index: KeyMap<usize>,
    table: Vec<Slot>,
    keys: Vec<Option<Key>>,
    fill: usize,
    finger: usize,
}

impl Default for Set {
    fn default() -> Set {
        Set::new()
    }
}

const LINEAR_PROBES: usize = 9;
const PERTURB_SHIFT: u32 = 5;

impl Set {
    pub fn new() -> Set {
        Set { index: KeyMap::default(), table: vec![Slot::Empty; 8], keys: vec![], fill: 0, finger: 0 }
    }

    fn mask(&self) -> usize {
        self.table.len() - 1
    }

    pub fn len(&self) -> usize {
        self.index.len()
    }

    pub fn is_empty(&self) -> bool {
        self.index.is_empty()
    }

    pub fn contains_key(&self, k: &Key) -> bool {
        self.index.contains_key(k)
    }

    pub fn contains(&self, v: &Value) -> PResult<bool> {
        Ok(self.index.contains_key(&Key::new(v.clone())?))
    }

    /// Keys in table order.
    pub fn keys(&self) -> Vec<Key> {
        self.table
            .iter()
            .filter_map(|s| match s {
                Slot::Full(i) => self.keys[*i].clone(),
                _ => None,
            })
            .collect()
    }

    /// Elements in CPython's iteration order.
    pub fn ordered(&self) -> Vec<Value> {
        self.keys().into_iter().map(|k| k.value).collect()
    }

    pub fn add(&mut self, v: Value) -> PResult<()> {
        let k = Key::new(v)?;
        self.add_key(k);
        Ok(())
    }

    /// `set_add_entry`.
    pub fn add_key(&mut self, k: Key) {
        if self.index.contains_key(&k) {
            return;
        }
        let mask = self.mask();
        let mut perturb = k.hash as u64;
        let mut i = (k.hash as u64 as usize) & mask;
        let mut freeslot: Option<usize> = None;
        let pos = 'found: loop {
            let probes = if i + LINEAR_PROBES <= mask { LINEAR_PROBES } else { 0 };
            for (j, slot) in self.table.iter().enumerate().skip(i).take(probes + 1) {
                match slot {
                    Slot::Empty => break 'found freeslot.unwrap_or(j),
                    Slot::Dummy => {
                        if freeslot.is_none() {
                            freeslot = Some(j);
                        }
                    }
                    Slot::Full(_) => {}
                }
            }
            perturb >>= PERTURB_SHIFT;
            i = (i.wrapping_mul(5).wrapping_add(1).wrapping_add(perturb as usize)) & mask;
        };
        let reused_dummy = matches!(self.table[pos], Slot::Dummy);
        let ki = self.keys.len();
        self.keys.push(Some(k.clone()));
        self.table[pos] = Slot::Full(ki);
        self.index.insert(k, pos);
        if reused_dummy {
            return;
        }
        self.fill += 1;
        if self.fill * 5 >= mask * 3 {
            let used = self.len();
            self.resize(if used > 50000 { used * 2 } else { used * 4 });
        }
    }

    /// `set_insert_clean` into a table known to have no dummies and no equal key.
    fn insert_clean(table: &mut [Slot], hash: i64, ki: usize) -> usize {
        let mask = table.len() - 1;
        let mut perturb = hash as u64;
        let mut i = (hash as u64 as usize) & mask;
        loop {
            if matches!(table[i], Slot::Empty) {
                table[i] = Slot::Full(ki);
                return i;
            }
            if i + LINEAR_PROBES <= mask {
                if let Some(j) = (i + 1..=i + LINEAR_PROBES).find(|&j| matches!(table[j], Slot::Empty)) {
                    table[j] = Slot::Full(ki);
                    return j;
                }
            }
            perturb >>= PERTURB_SHIFT;
            i = (i.wrapping_mul(5).wrapping_add(1).wrapping_add(perturb as usize)) & mask;
        }
    }

    /// `set_table_resize`: a table of the smallest power of two above `minused`, the live
    /// entries reinserted in old-table order.
    fn resize(&mut self, minused: usize) {
        let mut newsize = 8usize;
        while newsize <= minused {
            newsize <<= 1;
        }
        let old = std::mem::replace(&mut self.table, vec![Slot::Empty; newsize]);
        let old_keys = std::mem::take(&mut self.keys);
        self.index.clear();
        for slot in old {
            if let Slot::Full(i) = slot {
                let k = old_keys[i].clone().expect("live key");
                let ki = self.keys.len();
                self.keys.push(Some(k.clone()));
                let pos = Set::insert_clean(&mut self.table, k.hash, ki);
                self.index.insert(k, pos);
            }
        }
        self.fill = self.index.len();
    }

    /// `set_discard_entry`: leaves a dummy.
    pub fn remove(&mut self, v: &Value) -> PResult<bool> {
        let k = Key::new(v.clone())?;
        Ok(self.remove_key(&k))
    }

    pub fn remove_key(&mut self, k: &Key) -> bool {
        match self.index.swap_remove(k) {
            Some(pos) => {
                if let Slot::Full(i) = self.table[pos] {
                    self.keys[i] = None;
                }
                self.table[pos] = Slot::Dummy;
                true
            }
            None => false,
        }
    }

    pub fn clear(&mut self) {
        *self = Set::new();
    }

    /// `set.pop()`: from the finger onwards, as CPython.
    pub fn pop(&mut self) -> Option<Value> {
        if self.is_empty() {
            return None;
        }
        let mask = self.mask();
        let mut i = self.finger & mask;
        loop {
            if let Slot::Full(ki) = self.table[i] {
                let k = self.keys[ki].clone().expect("live key");
                self.remove_key(&k);
                self.finger = i + 1;
                return Some(k.value);
            }
            i = (i + 1) & mask;
        }
    }

    /// `set_merge`: bulk-adds another set (one resize up front; into an empty set, a clean
    /// reinsert in the other's table order).
    pub fn merge(&mut self, other: &Set) {
        if other.is_empty() {
            return;
        }
        let mask = self.mask();
        if (self.fill + other.len()) * 5 >= mask * 3 {
            let used = self.len();
            self.resize((used + other.len()) * 2);
        }
        if self.fill == 0 && self.is_empty() {
            if self.table.len() == other.table.len() && other.fill == other.len() {
                // Same size, no dummies: CPython copies the table as is.
                *self = Set { index: KeyMap::default(), table: vec![Slot::Empty; other.table.len()], keys: vec![], fill: 0, finger: 0 };
                for (pos, s) in other.table.iter().enumerate() {
                    if let Slot::Full(i) = s {
                        let k = other.keys[*i].clone().expect("live key");
                        let ki = self.keys.len();
                        self.keys.push(Some(k.clone()));
                        self.table[pos] = Slot::Full(ki);
                        self.index.insert(k, pos);
                    }
                }
                self.fill = self.index.len();
                return;
            }
            for k in other.keys() {
                let ki = self.keys.len();
                self.keys.push(Some(k.clone()));
                let pos = Set::insert_clean(&mut self.table, k.hash, ki);
                self.index.insert(k, pos);
            }
            self.fill = self.index.len();
            return;
        }
        for k in other.keys() {
            self.add_key(k);
        }
    }

    /// `set_update_internal` for a dict's keys: one resize up front, then adds.
    pub fn update_from_dict_keys(&mut self, keys: Vec<Key>) {
        let mask = self.mask();
        if (self.fill + keys.len()) * 5 >= mask * 3 {
            let used = self.len();
            self.resize((used + keys.len()) * 2);
        }
        for k in keys {
            self.add_key(k);
        }
    }

    pub fn from_values(items: impl IntoIterator<Item = Value>) -> PResult<Set> {
        let mut s = Set::new();
        for v in items {
            s.add(v)?;
        }
        Ok(s)
    }

    /// `set_copy`.
    pub fn copy(&self) -> Set {
        let mut s = Set::new();
        s.merge(self);
        s
    }

    /// What `frozenset.__hash__` needs: table size, fill, used.
    pub fn shape(&self) -> (usize, usize, usize) {
        (self.table.len(), self.fill, self.len())
    }

    /// After `difference_update`: drop dummies if more than a quarter of the table.
    pub fn compact_after_difference(&mut self) {
        if self.fill - self.len() > self.mask() / 4 {
            let used = self.len();
            self.resize(if used > 50000 { used * 2 } else { used * 4 });
        }
    }

    // ----- CPython's set algebra, element order included -----

    /// `a & b`: iterates the smaller set, adding its elements found in the larger.
    pub fn intersection(a: &Set, b: &Set) -> Set {
        let (small, large) = if b.len() > a.len() { (a, b) } else { (b, a) };
        let mut out = Set::new();
        for k in small.keys() {
            if large.contains_key(&k) {
                out.add_key(k);
            }
        }
        out
    }

    /// `a - b`.
    pub fn difference(a: &Set, b: &Set) -> Set {
        if (a.len() >> 2) > b.len() {
            let mut out = a.copy();
            for k in b.keys() {
                out.remove_key(&k);
            }
            return out;
        }
        let mut out = Set::new();
        for k in a.keys() {
            if !b.contains_key(&k) {
                out.add_key(k);
            }
        }
        out
    }

    /// `a ^ b`.
    pub fn symmetric_difference(a: &Set, b: &Set) -> Set {
        let mut out = a.copy();
        for k in b.keys() {
            if !out.remove_key(&k) {
                out.add_key(k);
            }
        }
        out
    }

    /// `a | b`.
    pub fn union(a: &Set, b: &Set) -> Set {
        let mut out = a.copy();
        out.merge(b);
        out
    }

    pub fn is_subset(&self, other: &Set) -> bool {
        self.len() <= other.len() && self.index.keys().all(|k| other.contains_key(k))
    }
}
