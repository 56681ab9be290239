//! A sorted map that holds its first two entries inline: the membership tables of one (S,G)
//! (`SgMembers`), which for almost every group hold one or two entries (a (*,G) joined through
//! IGMP usually two records: one interface, two protocols). A B-tree would allocate a node of
//! eleven slots for them; this allocates nothing until a third entry comes, and gives the heap
//! back when it is down to two again.
use smallvec::SmallVec;
use std::ops::RangeInclusive;

/// Entries held inline.
const INLINE: usize = 2;

#[derive(Clone, Debug)]
pub(crate) struct SmallMap<K, V>(SmallVec<[(K, V); INLINE]>);

impl<K, V> Default for SmallMap<K, V> {
    fn default() -> Self {
        SmallMap(SmallVec::new())
    }
}

impl<K: Ord, V> SmallMap<K, V> {
    fn find(&self, k: &K) -> Result<usize, usize> {
        self.0.binary_search_by(|(x, _)| x.cmp(k))
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub(crate) fn contains_key(&self, k: &K) -> bool {
        self.find(k).is_ok()
    }

    /// Inserts or replaces; the value replaced.
    pub(crate) fn insert(&mut self, k: K, v: V) -> Option<V> {
        match self.find(&k) {
            Ok(i) => Some(std::mem::replace(&mut self.0[i].1, v)),
            Err(i) => {
                self.0.insert(i, (k, v));
                None
            }
        }
    }

    pub(crate) fn remove(&mut self, k: &K) -> Option<V> {
        let i = self.find(k).ok()?;
        let (_, v) = self.0.remove(i);
        if self.0.spilled() && self.0.len() <= INLINE {
            self.0.shrink_to_fit(); // back inline: the heap goes
        }
        Some(v)
    }

    /// Entries in key order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (&K, &V)> {
        self.0.iter().map(|(k, v)| (k, v))
    }

    pub(crate) fn keys(&self) -> impl Iterator<Item = &K> {
        self.0.iter().map(|(k, _)| k)
    }

    /// Entries with keys in `r`, in key order.
    pub(crate) fn range(&self, r: RangeInclusive<K>) -> impl Iterator<Item = (&K, &V)> {
        let from = self.0.partition_point(|(k, _)| k < r.start());
        self.0[from..]
            .iter()
            .take_while(move |(k, _)| k <= r.end())
            .map(|(k, v)| (k, v))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    /// The same operations on a `SmallMap` and a `BTreeMap` give the same answers and contents.
    #[test]
    fn behaves_as_a_btree_map() {
        let mut small = SmallMap::default();
        let mut btree = BTreeMap::new();
        // A fixed pseudo-random sequence of inserts and removes over keys 0..8.
        let mut x: u32 = 12345;
        for step in 0..2000u32 {
            x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
            let k = (x >> 16) % 8;
            if (x >> 8).is_multiple_of(3) {
                assert_eq!(small.remove(&k), btree.remove(&k), "remove {k} at {step}");
            } else {
                assert_eq!(small.insert(k, step), btree.insert(k, step), "insert {k}");
            }
            assert_eq!(small.iter().count(), btree.len());
            assert!(small.iter().eq(btree.iter()), "contents at {step}");
            assert!(small.range(2..=5).eq(btree.range(2..=5)), "range at {step}");
            assert_eq!(small.contains_key(&3), btree.contains_key(&3));
        }
        small.insert(9, 10);
        assert_eq!(small.keys().last(), Some(&9));
    }

    #[test]
    fn two_entries_stay_inline_and_a_shrunk_map_gives_its_heap_back() {
        let mut m = SmallMap::default();
        m.insert(1u64, 1u64);
        m.insert(3, 3);
        assert!(!m.0.spilled(), "two entries are held inline");
        m.insert(2, 2);
        assert!(m.0.spilled());
        assert_eq!(m.remove(&1), Some(1));
        assert!(!m.0.spilled(), "back inline once down to two entries");
        assert_eq!(m.iter().collect::<Vec<_>>(), vec![(&2, &2), (&3, &3)]);
        assert_eq!(m.remove(&7), None);
    }
}
