//! The writes and deletes of one map held back and carried out together: one batch call per kind
//! (create, overwrite, delete) instead of one `bpf(2)` call per entry ([`super::batch`]).
//!
//! A key is queued once at most: a second write of a pending key writes the queue out first, so
//! the order of one key's writes is kept and the entries of one flush are all distinct (their
//! order no longer matters). Reads of a pending key answer from the queue.
use super::batch::{self, BatchError};
use super::maps::{write_merged, Write};
use crate::dense_map::FastHash;
use anyhow::Error;
use aya::maps::{HashMap, MapData, MapError};
use aya::Pod;
use std::hash::Hash;

/// One map's pending writes.
pub struct WriteQueue<K, V> {
    /// Entries to create (`BPF_NOEXIST`: the router never wrote them).
    create: (Vec<K>, Vec<V>),
    /// Entries to overwrite as they are.
    overwrite: (Vec<K>, Vec<V>),
    delete: Vec<K>,
    /// What each pending key will hold: its value, or none for a delete.
    pending: hashbrown::HashMap<K, Option<V>, FastHash>,
    /// Batches the kernel stopped on an entry other than an expected one (the rest then went
    /// one by one).
    pub fallbacks: u64,
    /// The map's name, for errors.
    name: &'static str,
}

impl<K: Pod + Hash + Eq, V: Pod> WriteQueue<K, V> {
    pub fn new(name: &'static str) -> Self {
        WriteQueue {
            create: (Vec::new(), Vec::new()),
            overwrite: (Vec::new(), Vec::new()),
            delete: Vec::new(),
            pending: hashbrown::HashMap::default(),
            fallbacks: 0,
            name,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.pending.is_empty()
    }

    /// Whether `key` is queued: `Some(Some(v))` to be written `v`, `Some(None)` to be deleted.
    pub fn pending(&self, key: &K) -> Option<Option<V>> {
        self.pending.get(key).copied()
    }

    /// Queues a write (`Create` or `AsIs`; a `Merge` reads the kernel and is not queued).
    /// The caller flushed first if `key` was pending.
    pub fn push_write(&mut self, key: K, value: V, create: bool) {
        debug_assert!(
            !self.pending.contains_key(&key),
            "flush a pending key first"
        );
        let (keys, values) = if create {
            &mut self.create
        } else {
            &mut self.overwrite
        };
        keys.push(key);
        values.push(value);
        self.pending.insert(key, Some(value));
    }

    pub fn push_delete(&mut self, key: K) {
        debug_assert!(
            !self.pending.contains_key(&key),
            "flush a pending key first"
        );
        self.delete.push(key);
        self.pending.insert(key, None);
    }

    /// Carries out the queued writes: deletes, overwrites, then creates, one batch call each.
    /// An entry that fails is handed to `failed` (the others still land: the rest of its batch
    /// goes one by one, counted in `fallbacks`). The queue keeps its buffers.
    pub fn flush(
        &mut self,
        map: &mut HashMap<MapData, K, V>,
        merge: fn(V, V) -> V,
        failed: &mut dyn FnMut(Error),
    ) {
        if self.pending.is_empty() {
            return;
        }
        let name = self.name;
        let mut report =
            |e: MapError, what: &str| failed(Error::new(e).context(format!("{what} {name}")));
        // Deletes: a key not there is no failure.
        let keys = std::mem::take(&mut self.delete);
        let mut from = 0;
        while from < keys.len() {
            let Err(e) = batch::delete(map, &keys[from..]) else {
                break;
            };
            let at = from + e.done;
            if e.errno != libc::ENOENT {
                self.fallbacks += 1;
                for k in &keys[at..] {
                    if let Err(e) = super::maps::ignore_absent(map.remove(k)) {
                        report(e, "deleting from");
                    }
                }
                break;
            }
            from = at + 1;
        }
        self.delete = reuse(keys);
        for create in [false, true] {
            let (keys, values) = std::mem::take(if create {
                &mut self.create
            } else {
                &mut self.overwrite
            });
            self.write_all(map, (&keys, &values), create, merge, &mut report);
            let back = (reuse(keys), reuse(values));
            if create {
                self.create = back;
            } else {
                self.overwrite = back;
            }
        }
        self.pending.clear();
        if self.pending.capacity() > 4096 {
            self.pending = hashbrown::HashMap::default();
        }
    }

    /// The writes of one kind: one batch, then single writes (as before batching) for the rest
    /// after an entry that fails.
    fn write_all(
        &mut self,
        map: &mut HashMap<MapData, K, V>,
        (keys, values): (&[K], &[V]),
        create: bool,
        merge: fn(V, V) -> V,
        report: &mut dyn FnMut(MapError, &str),
    ) {
        // The kernel's batch update takes no `BPF_NOEXIST` (its `elem_flags` allow only
        // `BPF_F_LOCK`): a create goes out as an overwrite. An entry the router never wrote is
        // one the classifier never created (it only refreshes entries in place), so only a
        // stale one can be there: left by an earlier run past its expiry, or by a delete that
        // failed. Overwriting it with the router's state loses nothing the router relies on;
        // a create written on its own (below) still merges with it.
        let how = if create { Write::Create } else { Write::AsIs };
        let Err(BatchError { done: at, errno }) = batch::update(map, keys, values, 0) else {
            return;
        };
        log::debug!(
            "{}: batch write stopped at entry {at} (errno {errno})",
            self.name
        );
        self.fallbacks += 1;
        for (k, v) in keys[at..].iter().zip(&values[at..]) {
            if let Err(e) = write_one(map, *k, *v, how, merge) {
                report(e, "writing");
            }
        }
    }
}

/// One entry written on its own, as before batching.
fn write_one<K: Pod, V: Pod>(
    map: &mut HashMap<MapData, K, V>,
    key: K,
    value: V,
    how: Write,
    merge: fn(V, V) -> V,
) -> Result<(), MapError> {
    write_merged(
        map,
        how,
        value,
        merge,
        |m| super::maps::absent_is_none(m.get(&key, 0)),
        |m, v, flags| m.insert(key, v, flags),
    )
}

/// A drained buffer back for the next batch (a storm's large one is let go).
fn reuse<T>(mut v: Vec<T>) -> Vec<T> {
    v.clear();
    if v.capacity() > 1024 {
        v = Vec::new();
    }
    v
}

impl<K, V> std::fmt::Debug for WriteQueue<K, V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WriteQueue")
            .field("map", &self.name)
            .field("pending", &self.pending.len())
            .finish()
    }
}
