//! The maps the classifier shares with the daemon (names, keys and values in
//! `mgm_common::maps`), and its own per-CPU scratch.
//!
//! One writer per fact: the daemon writes `MGM_IFACES` and creates and deletes `MGM_MEMBERS` /
//! `MGM_SOURCES` entries; the classifier extends expiries of existing entries (`fastpath`),
//! counts in `MGM_STATS` (`verdict::count`), sends on `MGM_EVENTS` (`events`) and keeps the
//! budget buckets and their per-interface count in `MGM_RATE` (`rate`; the daemon only reads it).

use aya_ebpf::{
    bindings::BPF_F_NO_PREALLOC,
    btf_maps::{HashMap, LruPerCpuHashMap, PerCpuArray, RingBuf},
    macros::btf_map,
};
use mgm_common::{
    maps::{EVENTS_RING_BYTES, MAX_IFACES, MAX_MEMBERS, MAX_SOURCES},
    EventHeader, IfaceSettings, IgmpStats, MemberKey, MemberState, RateBuckets, SourceKey,
    SourceState,
};

use crate::scratch::Scratch;

#[btf_map]
pub(crate) static MGM_IFACES: HashMap<u32, IfaceSettings, { MAX_IFACES as usize }> = HashMap::new();

/// The membership maps are large and mostly empty, and only the daemon inserts into them, so
/// they are not preallocated (a preallocated MGM_SOURCES alone would pin tens of MB).
const NO_PREALLOC: usize = BPF_F_NO_PREALLOC as usize;

#[btf_map]
pub(crate) static MGM_MEMBERS: HashMap<
    MemberKey,
    MemberState,
    { MAX_MEMBERS as usize },
    NO_PREALLOC,
> = HashMap::new();

#[btf_map]
pub(crate) static MGM_SOURCES: HashMap<
    SourceKey,
    SourceState,
    { MAX_SOURCES as usize },
    NO_PREALLOC,
> = HashMap::new();

#[btf_map]
pub(crate) static MGM_STATS: PerCpuArray<IgmpStats, 1> = PerCpuArray::new();

/// Records of `EventHeader` + IGMP bytes, as long as each message (`events::send`).
#[btf_map]
pub(crate) static MGM_EVENTS: RingBuf<EventHeader, { EVENTS_RING_BYTES as usize }> = RingBuf::new();

/// ifindex → this CPU's budget buckets (`rate`). Not pinned: a restart starts every interface
/// with a full budget and a count of 0. The daemon reads the counts (`mgm show interfaces`). LRU, four times `MAX_IFACES`, so that interfaces
/// gone never fill it.
#[btf_map]
pub(crate) static MGM_RATE: LruPerCpuHashMap<u32, RateBuckets, { 4 * MAX_IFACES as usize }> =
    LruPerCpuHashMap::new();

/// Per-CPU working copy of the IGMP message being parsed and of its event record (too large
/// for the BPF stack).
#[btf_map]
pub(crate) static MGM_SCRATCH: PerCpuArray<Scratch, 1> = PerCpuArray::new();

/// This CPU's counters.
#[inline(always)]
pub(crate) fn stats() -> Option<&'static mut IgmpStats> {
    // SAFETY: the per-CPU slot of this CPU; the program does not run twice at once on one CPU.
    MGM_STATS.get_ptr_mut(0).map(|p| unsafe { &mut *p })
}

/// This CPU's scratch.
#[inline(always)]
pub(crate) fn scratch() -> Option<*mut Scratch> {
    MGM_SCRATCH.get_ptr_mut(0)
}

/// The settings of interface `ifindex`, when the classifier handles IGMP on it.
#[inline(always)]
pub(crate) fn managed_iface(ifindex: u32) -> Option<&'static IfaceSettings> {
    let s = MGM_IFACES.get_ptr(ifindex)?;
    // SAFETY: a value pointer returned by the map lookup, valid for this program run. The
    // daemon may rewrite the entry meanwhile: a packet judged on settings half old, half new
    // is harmless (the next one sees the new ones).
    let s = unsafe { &*s };
    (s.enabled != 0).then_some(s)
}

/// The entry of a group on an interface, to refresh in place.
#[inline(always)]
pub(crate) fn member(key: MemberKey) -> Option<&'static mut MemberState> {
    let m = MGM_MEMBERS.get_ptr_mut(key)?;
    // SAFETY: value pointer from the lookup, valid for this run. The daemon may replace the
    // entry concurrently; a lost refresh is harmless (the daemon re-reads on expiry).
    Some(unsafe { &mut *m })
}

/// The entry of a source record, to refresh in place.
#[inline(always)]
pub(crate) fn source(key: SourceKey) -> Option<&'static mut SourceState> {
    let s = MGM_SOURCES.get_ptr_mut(key)?;
    // SAFETY: as in `member`.
    Some(unsafe { &mut *s })
}

/// This CPU's budget buckets of interface `ifindex`, created full on first use.
#[inline(always)]
pub(crate) fn rate_buckets(ifindex: u32) -> Option<&'static mut RateBuckets> {
    if let Some(b) = MGM_RATE.get_ptr_mut(ifindex) {
        // SAFETY: this CPU's value from the lookup, valid for this run; the program does not
        // run twice at once on one CPU.
        return Some(unsafe { &mut *b });
    }
    let full = RateBuckets {
        new_groups_due_ns: 0,
        known_groups_due_ns: 0,
        queries_due_ns: 0,
        rate_limited: 0,
    };
    MGM_RATE.insert(ifindex, full, 0).ok()?;
    let b = MGM_RATE.get_ptr_mut(ifindex)?;
    // SAFETY: as above.
    Some(unsafe { &mut *b })
}
