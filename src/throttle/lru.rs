//! A bounded map that evicts its least recently used entry when full: the
//! memory of [`MemoryThrottle`](super::MemoryThrottle), whose keys an
//! attacker chooses. Entries live in one `Vec` linked into a recency list by
//! index, so every operation is O(1) and nothing is ever cleared wholesale.

use std::collections::HashMap;

/// A fixed-size key: the throttle hashes what it counts.
pub(super) type Key = [u8; 16];

struct Slot<V> {
    key: Key,
    value: V,
    /// Towards the most recently used end.
    newer: Option<usize>,
    /// Towards the least recently used end.
    older: Option<usize>,
}

pub(super) struct Lru<V> {
    index: HashMap<Key, usize>,
    slots: Vec<Slot<V>>,
    newest: Option<usize>,
    oldest: Option<usize>,
    capacity: usize,
}

impl<V> Lru<V> {
    /// An empty map holding at most `capacity` entries (at least one).
    pub(super) fn new(capacity: usize) -> Self {
        Self {
            index: HashMap::new(),
            slots: Vec::new(),
            newest: None,
            oldest: None,
            capacity: capacity.max(1),
        }
    }

    pub(super) fn len(&self) -> usize {
        self.slots.len()
    }

    /// The value of `key`, marked most recently used.
    pub(super) fn get_mut(&mut self, key: &Key) -> Option<&mut V> {
        let i = *self.index.get(key)?;
        self.touch(i);
        self.slots.get_mut(i).map(|s| &mut s.value)
    }

    /// The value of `key`, without changing its recency.
    pub(super) fn peek(&self, key: &Key) -> Option<&V> {
        let i = *self.index.get(key)?;
        self.slots.get(i).map(|s| &s.value)
    }

    /// The value of `key`, inserted with `make` if absent (evicting the
    /// least recently used entry when full), marked most recently used.
    pub(super) fn entry(&mut self, key: Key, make: impl FnOnce() -> V) -> Option<&mut V> {
        if let Some(&i) = self.index.get(&key) {
            self.touch(i);
            return self.slots.get_mut(i).map(|s| &mut s.value);
        }
        let slot = Slot {
            key,
            value: make(),
            newer: None,
            older: None,
        };
        let i = if self.slots.len() < self.capacity {
            self.slots.push(slot);
            self.slots.len() - 1
        } else {
            // Full: reuse the oldest slot.
            let i = self.oldest?;
            self.unlink(i);
            let old = self.slots.get_mut(i)?;
            self.index.remove(&old.key);
            *old = slot;
            i
        };
        self.index.insert(key, i);
        self.push_newest(i);
        self.slots.get_mut(i).map(|s| &mut s.value)
    }

    fn touch(&mut self, i: usize) {
        if self.newest != Some(i) {
            self.unlink(i);
            self.push_newest(i);
        }
    }

    fn unlink(&mut self, i: usize) {
        let Some(slot) = self.slots.get(i) else {
            return;
        };
        let (newer, older) = (slot.newer, slot.older);
        match newer {
            Some(n) => {
                if let Some(s) = self.slots.get_mut(n) {
                    s.older = older;
                }
            }
            None => self.newest = older,
        }
        match older {
            Some(o) => {
                if let Some(s) = self.slots.get_mut(o) {
                    s.newer = newer;
                }
            }
            None => self.oldest = newer,
        }
    }

    fn push_newest(&mut self, i: usize) {
        let previous = self.newest;
        if let Some(slot) = self.slots.get_mut(i) {
            slot.newer = None;
            slot.older = previous;
        }
        if let Some(p) = previous.and_then(|p| self.slots.get_mut(p)) {
            p.newer = Some(i);
        }
        self.newest = Some(i);
        if self.oldest.is_none() {
            self.oldest = Some(i);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn k(n: u8) -> Key {
        [n; 16]
    }

    #[test]
    fn the_least_recently_used_entry_is_evicted_and_only_it() {
        // covers: RB-04 (issue 15 finding 2: evict, never clear)
        let mut lru = Lru::new(3);
        for n in 1..=3 {
            *lru.entry(k(n), || 0).unwrap() = n;
        }
        // Use 1, so 2 is now the oldest.
        assert_eq!(lru.get_mut(&k(1)).copied(), Some(1));
        lru.entry(k(4), || 4);
        assert_eq!(lru.len(), 3);
        assert!(lru.peek(&k(2)).is_none(), "the oldest went");
        for n in [1, 3, 4] {
            assert_eq!(lru.peek(&k(n)).copied(), Some(n), "the others stay");
        }
        // Peeking does not refresh: 3 is the oldest and goes next.
        lru.peek(&k(3));
        lru.entry(k(5), || 5);
        assert!(lru.peek(&k(3)).is_none());
        assert_eq!(lru.peek(&k(1)).copied(), Some(1));
    }

    #[test]
    fn a_flood_of_new_keys_keeps_the_ones_in_use() {
        // covers: RB-04
        let mut lru = Lru::new(100);
        *lru.entry(k(0), || 0).unwrap() = 7;
        for round in 0u32..1000 {
            let mut junk = [0xff; 16];
            junk[..4].copy_from_slice(&round.to_le_bytes());
            lru.entry(junk, || 0);
            if round % 50 == 0 {
                // The counter under attack is in use, so it stays.
                assert_eq!(lru.get_mut(&k(0)).copied(), Some(7));
            }
        }
        assert_eq!(lru.len(), 100);
        assert_eq!(lru.peek(&k(0)).copied(), Some(7));
    }

    #[test]
    fn a_capacity_of_one_still_works() {
        let mut lru = Lru::new(0);
        lru.entry(k(1), || 1);
        lru.entry(k(2), || 2);
        assert_eq!(lru.len(), 1);
        assert_eq!(lru.peek(&k(2)).copied(), Some(2));
        assert_eq!(lru.get_mut(&k(2)).copied(), Some(2));
        assert!(lru.peek(&k(1)).is_none());
    }
}
