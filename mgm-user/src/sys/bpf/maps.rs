//! Typed access to the maps the daemon shares with the classifier.
use super::write_queue::WriteQueue;
use anyhow::{anyhow, Context, Error, Result};
use aya::maps::{HashMap, MapData, MapError, PerCpuArray, PerCpuHashMap};
use aya::{Ebpf, Pod};
use mgm_common::maps::{
    MAP_IFACES, MAP_MEMBERS, MAP_RATE, MAP_SOURCES, MAP_STATS, MEMBER_FLAG_SLOW_PATH,
};
use mgm_common::{
    IfaceSettings, IgmpStats, MemberKey, MemberState, RateBuckets, SourceKey, SourceState,
};
use std::hash::Hash;

pub struct KernelMaps {
    /// Whether the classifier refreshes entries (false with `--no-fast-path`): only then can
    /// an entry change between the router's read and its write.
    pub fast_path: bool,
    pub ifaces: HashMap<MapData, u32, IfaceSettings>,
    pub members: HashMap<MapData, MemberKey, MemberState>,
    pub sources: HashMap<MapData, SourceKey, SourceState>,
    pub stats: PerCpuArray<MapData, IgmpStats>,
    /// The classifier's budget buckets per interface; read for what they held back.
    pub rate: PerCpuHashMap<MapData, u32, RateBuckets>,
    /// Member and source writes held back until [`Self::flush`] (one batch call per kind).
    pub member_writes: WriteQueue<MemberKey, MemberState>,
    pub source_writes: WriteQueue<SourceKey, SourceState>,
}

fn take(ebpf: &mut Ebpf, name: &str) -> Result<aya::maps::Map> {
    ebpf.take_map(name)
        .ok_or_else(|| anyhow!("map {name} missing from the object"))
}

impl KernelMaps {
    pub fn take_from(ebpf: &mut Ebpf) -> Result<Self> {
        Ok(Self {
            fast_path: true,
            ifaces: HashMap::try_from(take(ebpf, MAP_IFACES)?).context(MAP_IFACES)?,
            members: HashMap::try_from(take(ebpf, MAP_MEMBERS)?).context(MAP_MEMBERS)?,
            sources: HashMap::try_from(take(ebpf, MAP_SOURCES)?).context(MAP_SOURCES)?,
            stats: PerCpuArray::try_from(take(ebpf, MAP_STATS)?).context(MAP_STATS)?,
            rate: PerCpuHashMap::try_from(take(ebpf, MAP_RATE)?).context(MAP_RATE)?,
            member_writes: WriteQueue::new(MAP_MEMBERS),
            source_writes: WriteQueue::new(MAP_SOURCES),
        })
    }

    /// Counters summed over every CPU.
    pub fn stats(&self) -> Result<IgmpStats> {
        let per_cpu = self.stats.get(&0, 0).context("reading MGM_STATS")?;
        let mut total = IgmpStats::default();
        for cpu in per_cpu.iter() {
            total.accumulate(cpu);
        }
        Ok(total)
    }

    /// Reports and leaves the budget of interface `ifindex` held back, summed over every CPU
    /// (0 before its first message: the classifier makes the entry then). One syscall.
    pub fn rate_limited(&self, ifindex: u32) -> Result<u64> {
        let per_cpu = absent_is_none(self.rate.get(&ifindex, 0)).context("reading MGM_RATE")?;
        Ok(per_cpu.map_or(0, |cpus| {
            cpus.iter()
                .fold(0u64, |n, b| n.wrapping_add(b.rate_limited))
        }))
    }

    /// The entry for `key` as written, queued writes included.
    pub fn member(&self, key: &MemberKey) -> Result<Option<MemberState>> {
        if let Some(queued) = self.member_writes.pending(key) {
            return Ok(queued);
        }
        absent_is_none(self.members.get(key, 0)).context("reading MGM_MEMBERS")
    }

    /// The entry for `key` as written, queued writes included.
    pub fn source(&self, key: &SourceKey) -> Result<Option<SourceState>> {
        if let Some(queued) = self.source_writes.pending(key) {
            return Ok(queued);
        }
        absent_is_none(self.sources.get(key, 0)).context("reading MGM_SOURCES")
    }

    /// Writes the router's `state` for `key`, keeping what the fast path refreshed since the
    /// router read the entry (see [`merge_member`]): re-read just before the write, unless
    /// nothing can have refreshed it (no fast path, or an entry `new` to the kernel) or the
    /// write stands as it is (an entry handed to the slow path).
    pub fn write_member(&mut self, key: MemberKey, state: MemberState, new: bool) -> Result<()> {
        let how = self.how_to_write_member(&state, new);
        self.member_entries().write(key, state, how)
    }

    pub fn delete_member(&mut self, key: &MemberKey) -> Result<()> {
        ignore_absent(self.members.remove(key)).context("deleting from MGM_MEMBERS")
    }

    /// Writes the router's `state` for `key`, keeping a refresh the fast path made since the
    /// router read the entry (see [`merge_source`]): re-read just before the write, unless
    /// nothing can have refreshed it (no fast path, or an entry `new` to the kernel).
    pub fn write_source(&mut self, key: SourceKey, state: SourceState, new: bool) -> Result<()> {
        let how = how_to_write(self.fast_path, new);
        self.source_entries().write(key, state, how)
    }

    pub fn delete_source(&mut self, key: &SourceKey) -> Result<()> {
        ignore_absent(self.sources.remove(key)).context("deleting from MGM_SOURCES")
    }

    /// [`Self::write_member`], queued: an entry that needs no read of the kernel's (created, or
    /// written as it is) waits for [`Self::flush`]; one that is merged is written now. A write
    /// that fails goes to `failed`, now or at the flush.
    pub fn queue_member(
        &mut self,
        key: MemberKey,
        (state, new): (MemberState, bool),
        failed: &mut dyn FnMut(Error),
    ) {
        let how = self.how_to_write_member(&state, new);
        self.member_entries().queue_write(key, state, how, failed);
    }

    /// [`Self::delete_member`], queued.
    pub fn queue_member_delete(&mut self, key: MemberKey, failed: &mut dyn FnMut(Error)) {
        self.member_entries().queue_delete(key, failed);
    }

    /// [`Self::write_source`], queued as [`Self::queue_member`].
    pub fn queue_source(
        &mut self,
        key: SourceKey,
        (state, new): (SourceState, bool),
        failed: &mut dyn FnMut(Error),
    ) {
        let how = how_to_write(self.fast_path, new);
        self.source_entries().queue_write(key, state, how, failed);
    }

    /// [`Self::delete_source`], queued.
    pub fn queue_source_delete(&mut self, key: SourceKey, failed: &mut dyn FnMut(Error)) {
        self.source_entries().queue_delete(key, failed);
    }

    /// A member entry is refreshed by the fast path unless it is handed to the slow path.
    fn how_to_write_member(&self, state: &MemberState, new: bool) -> Write {
        let slow = state.flags & MEMBER_FLAG_SLOW_PATH != 0;
        how_to_write(self.fast_path && !slow, new)
    }

    fn member_entries(&mut self) -> Entries<'_, MemberKey, MemberState> {
        Entries {
            map: &mut self.members,
            queue: &mut self.member_writes,
            merge: merge_member,
            name: MAP_MEMBERS,
        }
    }

    fn source_entries(&mut self) -> Entries<'_, SourceKey, SourceState> {
        Entries {
            map: &mut self.sources,
            queue: &mut self.source_writes,
            merge: merge_source,
            name: MAP_SOURCES,
        }
    }

    /// Carries out the queued writes (members, then sources); each that fails goes to `failed`.
    pub fn flush(&mut self, failed: &mut dyn FnMut(Error)) {
        self.member_writes
            .flush(&mut self.members, merge_member, failed);
        self.source_writes
            .flush(&mut self.sources, merge_source, failed);
    }

    /// Removes the member and source entries of every interface not in `managed` (left by an
    /// earlier run that managed other interfaces: nothing would ever refresh or expire them).
    /// Returns how many entries went.
    pub fn retain_interfaces(&mut self, managed: &[u32]) -> Result<usize> {
        let stale = |ifindex: u32| !managed.contains(&ifindex);
        let members: Vec<MemberKey> = self
            .members
            .keys()
            .filter_map(|k| k.ok())
            .filter(|k| stale(k.ifindex))
            .collect();
        let sources: Vec<SourceKey> = self
            .sources
            .keys()
            .filter_map(|k| k.ok())
            .filter(|k| stale(k.ifindex))
            .collect();
        for k in &sources {
            self.delete_source(k)?;
        }
        for k in &members {
            self.delete_member(k)?;
        }
        Ok(members.len() + sources.len())
    }
}

/// One kind of entry the router writes (member or source records): its map, its queue of
/// held-back writes and how the router's value merges with the kernel's. The one path both
/// kinds' writes take.
struct Entries<'a, K, V> {
    map: &'a mut HashMap<MapData, K, V>,
    queue: &'a mut WriteQueue<K, V>,
    merge: fn(V, V) -> V,
    /// The map's name, for errors.
    name: &'static str,
}

impl<K: Pod + Hash + Eq, V: Pod> Entries<'_, K, V> {
    /// Writes `state` for `key` now, as `how` says.
    fn write(&mut self, key: K, state: V, how: Write) -> Result<()> {
        write_merged(
            self.map,
            how,
            state,
            self.merge,
            |m| absent_is_none(m.get(&key, 0)),
            |m, v, flags| m.insert(key, v, flags),
        )
        .with_context(|| format!("writing {}", self.name))
    }

    /// A write of a pending key writes the queue out first: one key's writes keep their order.
    fn flush_if_pending(&mut self, key: &K, failed: &mut dyn FnMut(Error)) {
        if self.queue.pending(key).is_some() {
            self.queue.flush(self.map, self.merge, failed);
        }
    }

    /// Queues a write that needs no read of the kernel's entry; a `Merge` is written now.
    fn queue_write(&mut self, key: K, state: V, how: Write, failed: &mut dyn FnMut(Error)) {
        self.flush_if_pending(&key, failed);
        match how {
            Write::Merge => {
                if let Err(e) = self.write(key, state, how) {
                    failed(e);
                }
            }
            how => self.queue.push_write(key, state, how == Write::Create),
        }
    }

    fn queue_delete(&mut self, key: K, failed: &mut dyn FnMut(Error)) {
        self.flush_if_pending(&key, failed);
        self.queue.push_delete(key);
    }
}

/// The entry to write when the router wants `ours` and the map holds `kernel`.
///
/// The fast path refreshes entries in place (expiries raised, `fast_refreshes` counted) while the
/// router reads an entry, decides and writes it whole: a refresh landing in between would be
/// overwritten, and the group would expire early. The router copies the kernel's refresh counter
/// into what it writes, so a different counter in the map means refreshes it has not seen: those
/// are kept (later expiries, the counter, the last reporter). Equal counters mean the router saw
/// every refresh, and its values stand, lower ones included (a timer it lowered deliberately).
/// An entry the router hands to the slow path (`MEMBER_FLAG_SLOW_PATH`: it lowered the group
/// timer for last-member queries) is written as it is: the fast path no longer touches it.
pub fn merge_member(kernel: MemberState, ours: MemberState) -> MemberState {
    if kernel.fast_refreshes == ours.fast_refreshes || ours.flags & MEMBER_FLAG_SLOW_PATH != 0 {
        return ours;
    }
    let mut merged = ours;
    if kernel.filter_mode == ours.filter_mode {
        merged.group_expires_ns = ours.group_expires_ns.max(kernel.group_expires_ns);
    }
    merged.v1_host_expires_ns = ours.v1_host_expires_ns.max(kernel.v1_host_expires_ns);
    merged.v2_host_expires_ns = ours.v2_host_expires_ns.max(kernel.v2_host_expires_ns);
    merged.last_reporter = kernel.last_reporter;
    merged.fast_refreshes = kernel.fast_refreshes;
    merged
}

/// As [`merge_member`] for a source record: a refresh the router has not seen (another counter)
/// keeps its later expiry.
pub fn merge_source(kernel: SourceState, ours: SourceState) -> SourceState {
    if kernel.fast_refreshes == ours.fast_refreshes {
        return ours;
    }
    SourceState {
        expires_ns: ours.expires_ns.max(kernel.expires_ns),
        fast_refreshes: kernel.fast_refreshes,
        ..ours
    }
}

/// How one write of the router's state reaches the kernel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Write {
    /// Overwrite, nothing read: the classifier cannot have changed the entry.
    AsIs,
    /// Create (`BPF_NOEXIST`), nothing read: the router never wrote the entry and the
    /// classifier never creates one. Should it be there after all (left by an earlier run),
    /// the write falls back to `Merge`.
    Create,
    /// Read the kernel's entry, merge, overwrite.
    Merge,
}

fn how_to_write(refreshable: bool, new: bool) -> Write {
    match (refreshable, new) {
        (false, _) => Write::AsIs,
        (true, true) => Write::Create,
        (true, false) => Write::Merge,
    }
}

/// `BPF_NOEXIST`: create only.
pub(super) const NOEXIST: u64 = 1;

/// One write to `map` as `how` says: `read` the kernel's entry (only for `Merge`), `insert`
/// with the given `bpf_map_update_elem` flags.
pub(super) fn write_merged<M, V: Copy>(
    map: &mut M,
    how: Write,
    state: V,
    merge: fn(V, V) -> V,
    read: impl Fn(&M) -> Result<Option<V>, MapError>,
    insert: impl Fn(&mut M, V, u64) -> Result<(), MapError>,
) -> Result<(), MapError> {
    match how {
        Write::AsIs => return insert(map, state, 0),
        Write::Create => match insert(map, state, NOEXIST) {
            Err(MapError::SyscallError(e)) if e.io_error.raw_os_error() == Some(libc::EEXIST) => {}
            other => return other,
        },
        Write::Merge => {}
    }
    let state = match read(map)? {
        Some(kernel) => merge(kernel, state),
        None => state,
    };
    insert(map, state, 0)
}

pub(super) fn absent_is_none<V>(r: Result<V, MapError>) -> Result<Option<V>, MapError> {
    match r {
        Ok(v) => Ok(Some(v)),
        Err(MapError::KeyNotFound) => Ok(None),
        Err(e) => Err(e),
    }
}

/// A delete of a key that is not there is no failure: aya reports it as the syscall's ENOENT.
pub(super) fn ignore_absent(r: Result<(), MapError>) -> Result<(), MapError> {
    match r {
        Err(MapError::KeyNotFound) => Ok(()),
        Err(MapError::SyscallError(e)) if e.io_error.raw_os_error() == Some(libc::ENOENT) => Ok(()),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aya::sys::SyscallError;
    use mgm_common::maps::{FILTER_MODE_EXCLUDE, FILTER_MODE_INCLUDE};

    fn failed(errno: i32) -> Result<(), MapError> {
        Err(MapError::SyscallError(SyscallError {
            call: "bpf_map_delete_elem",
            io_error: std::io::Error::from_raw_os_error(errno),
        }))
    }

    #[test]
    fn deleting_an_absent_key_is_no_failure_but_other_errors_are() {
        assert!(ignore_absent(failed(libc::ENOENT)).is_ok());
        assert!(ignore_absent(Err(MapError::KeyNotFound)).is_ok());
        assert!(ignore_absent(failed(libc::EPERM)).is_err());
        assert!(ignore_absent(failed(libc::E2BIG)).is_err());
    }

    /// A map of one entry that counts its reads and honours `BPF_NOEXIST` like the kernel.
    #[derive(Default)]
    struct Fake {
        entry: Option<u32>,
        reads: std::cell::Cell<u32>,
        writes: Vec<(u32, u64)>,
    }

    fn write(fake: &mut Fake, how: Write, state: u32) -> Result<(), MapError> {
        let read = |f: &Fake| {
            f.reads.set(f.reads.get() + 1);
            Ok(f.entry)
        };
        let insert = |f: &mut Fake, v: u32, flags: u64| {
            if flags == NOEXIST && f.entry.is_some() {
                return failed(libc::EEXIST);
            }
            f.entry = Some(v);
            f.writes.push((v, flags));
            Ok(())
        };
        write_merged(fake, how, state, u32::max, read, insert)
    }

    #[test]
    fn a_new_entry_is_created_without_a_read_back() {
        let mut f = Fake::default();
        write(&mut f, how_to_write(true, true), 5).expect("create");
        assert_eq!((f.reads.get(), f.writes.clone()), (0, vec![(5, NOEXIST)]));
    }

    #[test]
    fn a_known_entry_is_read_back_and_merged() {
        let mut f = Fake {
            entry: Some(9),
            ..Fake::default()
        };
        write(&mut f, how_to_write(true, false), 5).expect("merge");
        assert_eq!((f.reads.get(), f.writes.clone()), (1, vec![(9, 0)]));
    }

    #[test]
    fn a_new_entry_found_in_the_kernel_after_all_is_merged() {
        // Left by an earlier run: the create fails, the write falls back to read and merge.
        let mut f = Fake {
            entry: Some(9),
            ..Fake::default()
        };
        write(&mut f, how_to_write(true, true), 5).expect("create, then merge");
        assert_eq!((f.reads.get(), f.writes.clone()), (1, vec![(9, 0)]));
    }

    #[test]
    fn without_refreshes_nothing_is_read_and_the_write_stands() {
        for new in [true, false] {
            let mut f = Fake {
                entry: Some(9),
                ..Fake::default()
            };
            write(&mut f, how_to_write(false, new), 5).expect("overwrite");
            assert_eq!((f.reads.get(), f.writes.clone()), (0, vec![(5, 0)]));
        }
    }

    #[test]
    fn other_create_failures_are_not_retried() {
        let mut f = Fake::default();
        let insert = |_: &mut Fake, _: u32, _: u64| failed(libc::E2BIG);
        let read = |_: &Fake| Ok(None);
        assert!(write_merged(&mut f, Write::Create, 5, u32::max, read, insert).is_err());
    }

    const GMI: u64 = 260_000_000_000;

    fn exclude(expires: u64, refreshes: u32) -> MemberState {
        MemberState {
            group_expires_ns: expires,
            filter_mode: FILTER_MODE_EXCLUDE,
            compat_version: 3,
            last_reporter: [192, 0, 2, 10],
            fast_refreshes: refreshes,
            ..MemberState::default()
        }
    }

    #[test]
    fn a_refresh_the_router_has_not_seen_survives_its_write() {
        // The router read the entry at 5 refreshes and writes expiry 100 s; meanwhile the fast
        // path refreshed it (6 refreshes, expiry 100 s + GMI, another reporter).
        let ours = exclude(100_000_000_000, 5);
        let mut kernel = exclude(100_000_000_000 + GMI, 6);
        kernel.last_reporter = [192, 0, 2, 11];
        kernel.v2_host_expires_ns = 7;
        let m = merge_member(kernel, ours);
        assert_eq!(m.group_expires_ns, 100_000_000_000 + GMI);
        assert_eq!((m.fast_refreshes, m.last_reporter), (6, [192, 0, 2, 11]));
        assert_eq!(m.v2_host_expires_ns, 7);
        // The router's own later expiry wins over an older refresh.
        let later = exclude(100_000_000_000 + 2 * GMI, 5);
        assert_eq!(
            merge_member(kernel, later).group_expires_ns,
            later.group_expires_ns
        );
    }

    #[test]
    fn the_router_lowers_what_it_has_seen_and_what_it_hands_to_the_slow_path() {
        let kernel = exclude(100_000_000_000 + GMI, 6);
        // Seen every refresh (same counter): its lower timer stands.
        let seen = exclude(2_000_000_000, 6);
        assert_eq!(merge_member(kernel, seen), seen);
        // Last-member queries: lowered and flagged, written as is.
        let mut lmq = exclude(2_000_000_000, 5);
        lmq.flags = MEMBER_FLAG_SLOW_PATH;
        assert_eq!(merge_member(kernel, lmq), lmq);
        // A mode change: the group timer of the other mode is not carried over.
        let include = MemberState {
            filter_mode: FILTER_MODE_INCLUDE,
            source_count: 1,
            fast_refreshes: 5,
            ..MemberState::default()
        };
        let m = merge_member(kernel, include);
        assert_eq!((m.group_expires_ns, m.fast_refreshes), (0, 6));
    }

    #[test]
    fn a_source_refresh_the_router_has_not_seen_survives_its_write() {
        let src = |expires_ns, fast_refreshes| SourceState {
            expires_ns,
            flags: 0,
            fast_refreshes,
        };
        let m = merge_source(src(GMI + 50, 3), src(50, 2));
        assert_eq!(m, src(GMI + 50, 3));
        // Seen: the router's value stands, an excluded source (0) included.
        assert_eq!(merge_source(src(GMI + 50, 3), src(0, 3)), src(0, 3));
    }
}
