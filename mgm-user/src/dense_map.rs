//! A hash map for the tables that hold one entry per group (the IGMP router's groups of an
//! interface, the manager's memberships by (S,G)), laid out for memory:
//!
//! - the values sit densely in one vector, each holding its own key ([`Keyed`]): no key is
//!   stored twice, and no slot is left empty between them;
//! - the hash index holds only a `u32` position per entry (5 bytes a slot with its control
//!   byte), so its power-of-two growth costs little;
//! - the vector grows by a quarter at a time, not by doubling: at most a quarter of it is
//!   spare capacity (a doubling `HashMap` of large entries wastes up to half of its slots).
//!
//! Removal moves the last value into the hole (`swap_remove`), so iteration order is arbitrary
//! and changes as entries come and go, as a `HashMap`'s does.
//!
//! Keys are hashed with foldhash ([`FastHash`]), a few times cheaper than the standard library's
//! SipHash on the small keys used here (group addresses, (S,G) pairs), and hashed on every
//! report. The group addresses come from hosts on the link, so a host could try to choose keys
//! that collide. Three things keep that harmless:
//! - the hasher is seeded at random per process, so colliding keys cannot be computed ahead;
//! - the tables are bounded by the configured limits (`max_groups` per interface, the maps'
//!   sizes);
//! - hashbrown's probing degrades gradually: a collision costs a longer probe, never a rebuild.
use hashbrown::HashTable;
use std::hash::{BuildHasher, Hash};

/// The hasher of the daemon's tables keyed by values from the network (see the module
/// documentation): foldhash, seeded at random per process.
pub type FastHash = foldhash::fast::RandomState;
/// A `HashMap` with [`FastHash`].
pub type FastHashMap<K, V> = std::collections::HashMap<K, V, FastHash>;
/// A `HashSet` with [`FastHash`].
pub type FastHashSet<T> = std::collections::HashSet<T, FastHash>;

/// A value that carries its own key.
pub trait Keyed {
    type Key: Copy + Eq + Hash;
    fn key(&self) -> Self::Key;
}

/// See the module documentation.
#[derive(Debug, Clone)]
pub struct DenseMap<V: Keyed> {
    values: Vec<V>,
    index: HashTable<u32>,
    hasher: FastHash,
}

impl<V: Keyed> Default for DenseMap<V> {
    fn default() -> Self {
        DenseMap {
            values: Vec::new(),
            index: HashTable::new(),
            hasher: FastHash::default(),
        }
    }
}

/// Smallest growth step of the value vector.
const MIN_GROWTH: usize = 16;

impl<V: Keyed> DenseMap<V> {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn len(&self) -> usize {
        self.values.len()
    }

    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// Values the map has room for without growing.
    pub fn capacity(&self) -> usize {
        self.values.capacity()
    }

    fn hash(&self, k: &V::Key) -> u64 {
        self.hasher.hash_one(k)
    }

    fn position(&self, k: &V::Key) -> Option<usize> {
        let values = &self.values;
        self.index
            .find(self.hash(k), |&i| values[i as usize].key() == *k)
            .map(|&i| i as usize)
    }

    pub fn get(&self, k: &V::Key) -> Option<&V> {
        self.position(k).map(|i| &self.values[i])
    }

    pub fn get_mut(&mut self, k: &V::Key) -> Option<&mut V> {
        self.position(k).map(|i| &mut self.values[i])
    }

    pub fn contains_key(&self, k: &V::Key) -> bool {
        self.position(k).is_some()
    }

    /// Inserts `v` under its key; the value it replaced.
    pub fn insert(&mut self, v: V) -> Option<V> {
        let k = v.key();
        if let Some(i) = self.position(&k) {
            return Some(std::mem::replace(&mut self.values[i], v));
        }
        self.push(k, v);
        None
    }

    /// The value of `k`, made by `make` when missing.
    pub fn get_or_insert_with(&mut self, k: V::Key, make: impl FnOnce() -> V) -> &mut V {
        let i = match self.position(&k) {
            Some(i) => i,
            None => {
                let v = make();
                debug_assert!(v.key() == k, "made value carries its key");
                self.push(k, v)
            }
        };
        &mut self.values[i]
    }

    fn push(&mut self, k: V::Key, v: V) -> usize {
        let i = self.values.len();
        let pos = u32::try_from(i).expect("fewer than 2^32 entries");
        if self.values.len() == self.values.capacity() {
            self.values.reserve_exact((i / 4).max(MIN_GROWTH));
        }
        self.values.push(v);
        let h = self.hash(&k);
        let (values, hasher) = (&self.values, &self.hasher);
        self.index
            .insert_unique(h, pos, |&j| hasher.hash_one(values[j as usize].key()));
        i
    }

    /// Removes the value of `k`; the last value moves into its place.
    pub fn remove(&mut self, k: &V::Key) -> Option<V> {
        let values = &self.values;
        let entry = self
            .index
            .find_entry(self.hasher.hash_one(k), |&i| values[i as usize].key() == *k)
            .ok()?;
        let (i, _) = entry.remove();
        let i = i as usize;
        let last = self.values.len() - 1;
        if i != last {
            let moved = self.values[last].key();
            let h = self.hash(&moved);
            let slot = self
                .index
                .find_mut(h, |&j| j as usize == last)
                .expect("every value is indexed");
            *slot = i as u32;
        }
        Some(self.values.swap_remove(i))
    }

    pub fn iter(&self) -> std::slice::Iter<'_, V> {
        self.values.iter()
    }

    pub fn values(&self) -> std::slice::Iter<'_, V> {
        self.values.iter()
    }

    pub fn values_mut(&mut self) -> std::slice::IterMut<'_, V> {
        self.values.iter_mut()
    }

    pub fn keys(&self) -> impl Iterator<Item = V::Key> + '_ {
        self.values.iter().map(|v| v.key())
    }

    /// Gives back capacity beyond `min` values (and the index's beyond what it holds).
    pub fn shrink_to(&mut self, min: usize) {
        self.values.shrink_to(min);
        let (values, hasher) = (&self.values, &self.hasher);
        self.index
            .shrink_to(min, |&j| hasher.hash_one(values[j as usize].key()));
    }

    /// Bytes held on the heap by the map itself (not by what its values own).
    pub fn heap_bytes(&self) -> usize {
        self.values.capacity() * std::mem::size_of::<V>()
            + self.index.capacity() * (std::mem::size_of::<u32>() + 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[derive(Debug, Clone, PartialEq)]
    struct Entry(u32, u64);

    impl Keyed for Entry {
        type Key = u32;
        fn key(&self) -> u32 {
            self.0
        }
    }

    /// The same operations on a `DenseMap` and a `HashMap` give the same answers and contents.
    #[test]
    fn behaves_as_a_hash_map() {
        let mut dense = DenseMap::new();
        let mut std = HashMap::new();
        let mut x: u32 = 12345;
        for step in 0..20_000u64 {
            x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
            let k = (x >> 16) % 500;
            match (x >> 8) % 4 {
                0 => assert_eq!(
                    dense.remove(&k).map(|e: Entry| e.1),
                    std.remove(&k),
                    "remove {k} at {step}"
                ),
                1 => {
                    let d = dense.get_or_insert_with(k, || Entry(k, step));
                    d.1 += 1;
                    *std.entry(k).or_insert(step) += 1;
                }
                _ => assert_eq!(
                    dense.insert(Entry(k, step)).map(|e| e.1),
                    std.insert(k, step),
                    "insert {k} at {step}"
                ),
            }
            assert_eq!(dense.len(), std.len());
            let probe = (x >> 3) % 600;
            assert_eq!(dense.get(&probe).map(|e| e.1), std.get(&probe).copied());
            assert_eq!(dense.contains_key(&probe), std.contains_key(&probe));
        }
        let mut a: Vec<_> = dense.iter().map(|e| (e.0, e.1)).collect();
        let mut b: Vec<_> = std.into_iter().collect();
        a.sort();
        b.sort();
        assert_eq!(a, b);
    }

    #[test]
    fn spare_capacity_stays_below_a_quarter_and_shrinks_back() {
        let mut m = DenseMap::new();
        for k in 0..100_000u32 {
            m.insert(Entry(k, 0));
            assert!(
                m.capacity() <= m.len() + (m.len() / 4).max(MIN_GROWTH),
                "capacity {} for {} values",
                m.capacity(),
                m.len()
            );
        }
        for k in 100..100_000u32 {
            m.remove(&k);
        }
        m.shrink_to(200);
        assert!(m.capacity() <= 200, "capacity {}", m.capacity());
        assert!(m.heap_bytes() < 200 * 16 + 1024 * 5);
        assert!((0..100).all(|k| m.get(&k) == Some(&Entry(k, 0))));
        assert!(m.get(&100).is_none());
    }
}
