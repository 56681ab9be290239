//! Map names, sizes, keys and values of the maps the classifier and the daemon share.
//!
//! One writer per fact: the daemon creates and deletes `MGM_MEMBERS` / `MGM_SOURCES` entries;
//! the classifier only extends the expiry of entries whose state makes a report a pure refresh.

/// ifindex → [`IfaceSettings`].
pub const MAP_IFACES: &str = "MGM_IFACES";
/// [`MemberKey`] → [`MemberState`].
pub const MAP_MEMBERS: &str = "MGM_MEMBERS";
/// [`SourceKey`] → [`SourceState`].
pub const MAP_SOURCES: &str = "MGM_SOURCES";
/// Per-CPU array with one [`crate::IgmpStats`] element.
pub const MAP_STATS: &str = "MGM_STATS";
/// Ring buffer of [`crate::IgmpEvent`] records, classifier → daemon.
pub const MAP_EVENTS: &str = "MGM_EVENTS";
/// Every map the daemon pins, in pin order.
pub const ALL_MAPS: [&str; 5] = [MAP_IFACES, MAP_MEMBERS, MAP_SOURCES, MAP_STATS, MAP_EVENTS];

/// Name of the classifier function in the object.
pub const PROGRAM_NAME: &str = "mgm_igmp_ingress";

pub const MAX_IFACES: u32 = 256;
pub const MAX_MEMBERS: u32 = 65_536;
pub const MAX_SOURCES: u32 = 262_144;
/// Ring buffer size in bytes (power of two, multiple of the page size).
pub const EVENTS_RING_BYTES: u32 = 1 << 20;

/// Filter mode of a group record (RFC 3376 §6.2).
pub const FILTER_MODE_INCLUDE: u8 = 1;
pub const FILTER_MODE_EXCLUDE: u8 = 2;

/// [`MemberState::flags`]: the daemon wants every report for this group (no fast path), e.g.
/// while it runs last-member queries or re-adopts the entry after a restart.
pub const MEMBER_FLAG_SLOW_PATH: u8 = 1 << 0;

/// Per-interface settings the classifier needs. Written by the daemon.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct IfaceSettings {
    /// Group Membership Interval: how far a refresh report pushes a group or source expiry.
    pub group_membership_interval_ns: u64,
    /// Older Host Present Interval: how far a v1/v2 report pushes the older-host timer.
    pub older_host_present_interval_ns: u64,
    /// 1 when the classifier handles IGMP on this interface; 0 ignores it (counted).
    pub enabled: u8,
    /// `IFACE_FLAG_*`.
    pub flags: u8,
    pub _pad: [u8; 6],
}

/// [`IfaceSettings::flags`]: send every report to the daemon, refresh nothing in the kernel
/// (`mgm run --no-fast-path`: for diagnosis and for measuring what the fast path saves).
pub const IFACE_FLAG_NO_FAST_PATH: u8 = 1 << 0;

/// Key of `MGM_MEMBERS`: one group on one interface.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MemberKey {
    pub ifindex: u32,
    pub group: [u8; 4],
}

/// Router-side state of one group on one interface (RFC 3376 §6.2.1).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MemberState {
    /// Group timer as an absolute deadline; meaningful in EXCLUDE mode, 0 in INCLUDE.
    pub group_expires_ns: u64,
    /// IGMPv1 Host Present timer deadline (RFC 3376 §7.3.2); 0 when not running.
    pub v1_host_expires_ns: u64,
    /// IGMPv2 Host Present timer deadline; 0 when not running.
    pub v2_host_expires_ns: u64,
    /// Source address of the last report for this group.
    pub last_reporter: [u8; 4],
    /// [`FILTER_MODE_INCLUDE`] or [`FILTER_MODE_EXCLUDE`].
    pub filter_mode: u8,
    /// Group compatibility mode: 1, 2 or 3.
    pub compat_version: u8,
    /// `MEMBER_FLAG_*`.
    pub flags: u8,
    pub _pad: u8,
    /// Number of `MGM_SOURCES` records the daemon keeps for this group.
    pub source_count: u32,
    /// Reports absorbed by the fast path for this group (wraps).
    pub fast_refreshes: u32,
}

/// Key of `MGM_SOURCES`: one source record of one group on one interface.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SourceKey {
    pub ifindex: u32,
    pub group: [u8; 4],
    pub source: [u8; 4],
}

/// Source record (RFC 3376 §6.2.1).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SourceState {
    /// Source timer as an absolute deadline; 0 for an excluded source (EXCLUDE mode, list Y).
    pub expires_ns: u64,
    pub flags: u32,
    /// Reports absorbed by the fast path for this source (wraps).
    pub fast_refreshes: u32,
}

#[cfg(feature = "user")]
mod pod {
    // SAFETY: all these are #[repr(C)] plain data with explicit padding and no invalid bit
    // patterns, which is what aya::Pod requires.
    unsafe impl aya::Pod for super::IfaceSettings {}
    // SAFETY: as above.
    unsafe impl aya::Pod for super::MemberKey {}
    // SAFETY: as above.
    unsafe impl aya::Pod for super::MemberState {}
    // SAFETY: as above.
    unsafe impl aya::Pod for super::SourceKey {}
    // SAFETY: as above.
    unsafe impl aya::Pod for super::SourceState {}
    // SAFETY: as above.
    unsafe impl aya::Pod for crate::IgmpStats {}
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::mem::size_of;

    #[test]
    fn layouts_have_no_implicit_padding() {
        assert_eq!(size_of::<IfaceSettings>(), 24);
        assert_eq!(size_of::<MemberKey>(), 8);
        assert_eq!(size_of::<MemberState>(), 40);
        assert_eq!(size_of::<SourceKey>(), 12);
        assert_eq!(size_of::<SourceState>(), 16);
    }
}
