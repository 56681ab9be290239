//! Map names, sizes, keys and values of the maps the classifier and the daemon share.
//!
//! One writer per fact: the daemon creates and deletes `MGM_MEMBERS` / `MGM_SOURCES` entries;
//! the classifier only extends the expiry of entries whose state makes a report a pure refresh.

use crate::event::MAX_EVENT_IGMP_LEN;

/// ifindex → [`IfaceSettings`].
pub const MAP_IFACES: &str = "MGM_IFACES";
/// [`MemberKey`] → [`MemberState`].
pub const MAP_MEMBERS: &str = "MGM_MEMBERS";
/// [`SourceKey`] → [`SourceState`].
pub const MAP_SOURCES: &str = "MGM_SOURCES";
/// Per-CPU array with one [`crate::IgmpStats`] element.
pub const MAP_STATS: &str = "MGM_STATS";
/// Ring buffer of records (an [`crate::EventHeader`] then the IGMP bytes, as long as the
/// message: [`crate::IgmpEvent`] decodes them), classifier → daemon.
pub const MAP_EVENTS: &str = "MGM_EVENTS";
/// ifindex → [`RateBuckets`], per CPU: each interface's budget of messages to the daemon and
/// what it held back. The classifier's own (not pinned); the daemon only reads it.
pub const MAP_RATE: &str = "MGM_RATE";
/// Every map the daemon pins, in pin order.
pub const ALL_MAPS: [&str; 5] = [MAP_IFACES, MAP_MEMBERS, MAP_SOURCES, MAP_STATS, MAP_EVENTS];

/// Name of the classifier function in the object: the one for Ethernet links.
pub const PROGRAM_NAME: &str = "mgm_igmp_ingress";
/// The classifier of links without a link-layer header (tun, WireGuard, PPP, ipip): packets start
/// at the IPv4 header.
pub const PROGRAM_NAME_IP: &str = "mgm_igmp_ingress_ip";
/// The classifier of GRE links: the IPv4 header first, or the outer IPv4 and GRE headers.
pub const PROGRAM_NAME_GRE: &str = "mgm_igmp_ingress_gre";
/// Every classifier the daemon may attach, one per kind of link.
pub const ALL_PROGRAMS: [&str; 3] = [PROGRAM_NAME, PROGRAM_NAME_IP, PROGRAM_NAME_GRE];

pub const MAX_IFACES: u32 = 256;
pub const MAX_MEMBERS: u32 = 65_536;
pub const MAX_SOURCES: u32 = 262_144;
/// Ring buffer size in bytes as the object declares it (power of two, multiple of the page
/// size): 256 KiB, about 2 600 v3 reports of one group record and 10 sources, or 5 400 v2
/// reports, in flight. The daemon loads it larger when the limits allow many groups (8 bytes a
/// group, at most 4 MiB: `MapSizes` in mgm-user's `sys/bpf/loader.rs`). The kernel maps every
/// page of a BPF ring buffer into the daemon when it is opened, the data pages twice: 512 KiB
/// of the daemon's resident memory at this size, whatever the traffic. A loss is counted
/// (`events_ring_full`), logged by the daemon, and healed by the hosts' next report.
pub const EVENTS_RING_BYTES: u32 = 1 << 18;

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
    /// How many of `subnets` are set; 0: the link's subnets are not known here (more than
    /// [`MAX_LINK_SUBNETS`]), every source is accepted and the daemon judges.
    pub subnet_count: u8,
    /// This router's address on the interface, the source of its queries; 0.0.0.0: unknown.
    /// Every multicast the router sends is looped back to its own ingress: a query from this
    /// address is counted but not sent up (the daemon ignores its own queries).
    pub address: [u8; 4],
    pub _pad: [u8; 1],
    /// The budget of reports and leaves sent to the daemon from this interface, per second and
    /// per CPU, in units of a small report (a larger message costs more: [`report_cost`]);
    /// 0: no limit. Past it they are passed on and counted (`events_rate_limited`).
    /// Reports and leaves naming only groups the interface holds have a budget of their own,
    /// and so do queries, each of the same size, so that a flood of reports for new groups
    /// cannot make the classifier drop the members' changes or the querier's queries.
    pub max_reports_per_second: u32,
    /// How many units may go up at once after a quiet spell (the bucket's depth).
    pub report_burst: u32,
    /// The interface's subnets: reports and leaves from other sources (except 0.0.0.0) are
    /// ignored (RFC 2236 §9, RFC 3376 §9), as the daemon ignores them.
    pub subnets: [LinkSubnet; MAX_LINK_SUBNETS],
}

/// Most subnets of one interface the classifier checks report sources against.
pub const MAX_LINK_SUBNETS: usize = 4;

/// One IPv4 prefix of an interface.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LinkSubnet {
    pub network: [u8; 4],
    pub prefix_len: u8,
    pub _pad: [u8; 3],
}

impl LinkSubnet {
    /// The prefix as a netmask (host order).
    #[inline(always)]
    pub fn mask(&self) -> u32 {
        if self.prefix_len == 0 {
            0
        } else if self.prefix_len >= 32 {
            u32::MAX
        } else {
            u32::MAX << (32 - u32::from(self.prefix_len))
        }
    }

    /// Whether `addr` is in this prefix.
    #[inline(always)]
    pub fn contains(&self, addr: [u8; 4]) -> bool {
        let mask = self.mask();
        u32::from_be_bytes(addr) & mask == u32::from_be_bytes(self.network) & mask
    }

    /// Whether `addr` is this prefix's network or directed-broadcast address (prefixes of /30
    /// and shorter; a /31 or /32 has neither): no host sends from those.
    #[inline(always)]
    pub fn is_subnet_address(&self, addr: [u8; 4]) -> bool {
        if self.prefix_len >= 31 || !self.contains(addr) {
            return false;
        }
        let host = u32::from_be_bytes(addr) & !self.mask();
        host == 0 || host == !self.mask()
    }

    /// Whether `addr` is a host address of this prefix: in it, and neither its network nor its
    /// broadcast address.
    #[inline(always)]
    pub fn has_host(&self, addr: [u8; 4]) -> bool {
        self.contains(addr) && !self.is_subnet_address(addr)
    }
}

/// Bytes of IGMP message captured that cost one more unit of the budget ([`report_cost`]).
pub const REPORT_COST_BYTES: u32 = 64;

/// What a message going up costs of its interface's budget, in units of a small report: the
/// ring fills by bytes, so one unit, and one more per [`REPORT_COST_BYTES`] of the IGMP
/// message captured. A v2 message (8 bytes) or a v3 report of one record with up to 11
/// sources (at most 60 bytes) costs 1; a 170-record v3 report filling a 1500-byte frame
/// (1 368 bytes) costs 22.
#[inline(always)]
pub fn report_cost(igmp_len: u32) -> u32 {
    let captured = if igmp_len > MAX_EVENT_IGMP_LEN as u32 {
        MAX_EVENT_IGMP_LEN as u32
    } else {
        igmp_len
    };
    1 + captured / REPORT_COST_BYTES
}

/// Most units ([`report_cost`]) one interface's reports bucket may send up back to back, per
/// CPU. Each interface has three buckets (new groups, held groups, queries), all reachable by
/// one host, so the bound is on their sum: the two reports buckets' bursts and the queries'
/// ([`MAX_QUERY_BURST`]) together stay under half the smallest event ring
/// ([`EVENTS_RING_BYTES`], 262 144 bytes) whatever the messages' sizes, so that one link's
/// burst never fills it for the others. A ring record is 8 bytes of ring header, the 32-byte
/// [`crate::EventHeader`] and the message rounded up to 8 bytes, so one unit stands for at most
/// 104 ring bytes (a message of 57 to 63 bytes), 48 for a v2 message, about 64 for a large
/// message. A bucket lets a message through while it owes less than its burst, so each
/// overshoots by at most one message (a record of at most 15 400 bytes): 384 units take at
/// most 383 × 104 + 15 400 = 55 232 bytes, the three buckets together 2 × 55 232 + 31 × 104 +
/// 15 400 = 129 088 bytes, 49 % of the ring; 384 v2 reports take 18 432 bytes. Not bounded by
/// this: the buckets are per CPU (a flood the NIC spreads over n receive queues may take n
/// times as much).
pub const MAX_REPORT_BURST: u32 = 384;
/// Most units the queries bucket sends up back to back: a querier sends a handful of queries
/// per query interval (a general query, group-specific ones repeated robustness times), so a
/// small burst serves it and leaves the ring's room to the reports.
pub const MAX_QUERY_BURST: u32 = 32;
// The bound above: 104 ring bytes a unit at most, one message of at most 15 400 bytes over,
// per bucket, for the three buckets of one interface together.
const _: () = assert!(
    2 * (MAX_REPORT_BURST * 104 + 15_400) + MAX_QUERY_BURST * 104 + 15_400 < EVENTS_RING_BYTES / 2
);

impl IfaceSettings {
    /// Sets the budget of messages to the daemon: `per_second` units of a small report
    /// ([`report_cost`]; 0: no limit), with a burst of as many, at most [`MAX_REPORT_BURST`]
    /// (the queries' bucket: at most [`MAX_QUERY_BURST`]).
    pub fn set_report_budget(&mut self, per_second: u32) {
        self.max_reports_per_second = per_second;
        self.report_burst = per_second.min(MAX_REPORT_BURST);
    }

    /// Whether a query from `src` is this router's own, heard back.
    #[inline(always)]
    pub fn is_own_address(&self, src: [u8; 4]) -> bool {
        self.address != [0; 4] && src == self.address
    }

    /// Whether a report or leave from `src` is from a host on this link: a host address of one
    /// of its subnets, not a network or broadcast address (or may be: unknown subnets, the
    /// off-link check turned off, or 0.0.0.0).
    #[inline(always)]
    pub fn on_link(&self, src: [u8; 4]) -> bool {
        if self.flags & IFACE_FLAG_ACCEPT_OFF_LINK != 0 || self.subnet_count == 0 || src == [0; 4] {
            return true;
        }
        let mut i = 0;
        while i < MAX_LINK_SUBNETS {
            if i < usize::from(self.subnet_count) && self.subnets[i].has_host(src) {
                return true;
            }
            i += 1;
        }
        false
    }
}

/// [`IfaceSettings::flags`]: send every report to the daemon, refresh nothing in the kernel
/// (`mgm run --no-fast-path`: for diagnosis and for measuring what the fast path saves).
pub const IFACE_FLAG_NO_FAST_PATH: u8 = 1 << 0;
/// [`IfaceSettings::flags`]: accept reports from sources off the interface's subnets
/// (`mgm run --accept-off-link-reports`).
pub const IFACE_FLAG_ACCEPT_OFF_LINK: u8 = 1 << 1;
/// [`IfaceSettings::flags`]: only queries go to the daemon; reports and leaves are counted
/// (`ignored_upstream_report`) and passed on. Set on the proxy's upstream interface, where the
/// daemon acts on queries only (the neighbours' reports are not its to act on).
pub const IFACE_FLAG_QUERIES_ONLY: u8 = 1 << 2;

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

/// One interface's budget buckets on one CPU (`MGM_RATE`), written by the classifier only.
/// Each bucket is the deadline of its next message (GCRA; 0: full). Three buckets, each of the
/// interface's `max_reports_per_second`: reports and leaves naming only groups the interface
/// holds (in `MGM_MEMBERS`: members' state changes, leaves, answers to the router's
/// group-specific queries), the other reports and leaves (new groups), and queries.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RateBuckets {
    pub new_groups_due_ns: u64,
    pub known_groups_due_ns: u64,
    pub queries_due_ns: u64,
    /// Messages held back past a bucket on this CPU (wraps; the classifier-wide total is
    /// `events_rate_limited`). Starts at 0 when the entry is made (classifier loaded).
    pub rate_limited: u64,
}

#[cfg(feature = "user")]
mod pod {
    // SAFETY: all these are #[repr(C)] plain data with explicit padding and no invalid bit
    // patterns, which is what aya::Pod requires.
    unsafe impl aya::Pod for super::IfaceSettings {}
    // SAFETY: as above.
    unsafe impl aya::Pod for super::LinkSubnet {}
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
    // SAFETY: as above.
    unsafe impl aya::Pod for super::RateBuckets {}
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::mem::size_of;

    #[test]
    fn on_link_checks_the_subnets_unless_told_not_to() {
        let mut s = IfaceSettings::default();
        assert!(s.on_link([203, 0, 113, 9]), "no subnets known: everything");
        s.subnet_count = 2;
        s.subnets[0] = LinkSubnet {
            network: [192, 0, 2, 0],
            prefix_len: 24,
            _pad: [0; 3],
        };
        s.subnets[1] = LinkSubnet {
            network: [198, 51, 100, 7],
            prefix_len: 32,
            _pad: [0; 3],
        };
        s.subnets[2] = LinkSubnet {
            network: [203, 0, 113, 0],
            prefix_len: 24,
            _pad: [0; 3],
        };
        assert!(s.on_link([192, 0, 2, 200]));
        assert!(s.on_link([198, 51, 100, 7]));
        assert!(!s.on_link([198, 51, 100, 8]));
        assert!(!s.on_link([203, 0, 113, 9]), "beyond subnet_count");
        assert!(s.on_link([0, 0, 0, 0]), "hosts without an address yet");
        assert!(
            !s.on_link([192, 0, 2, 255]),
            "the subnet's broadcast address"
        );
        assert!(!s.on_link([192, 0, 2, 0]), "the subnet's network address");
        assert!(
            s.on_link([198, 51, 100, 7]),
            "a /32 has no subnet addresses"
        );
        s.subnets[1] = LinkSubnet {
            network: [192, 0, 2, 0],
            prefix_len: 25,
            _pad: [0; 3],
        };
        assert!(
            s.on_link([192, 0, 2, 127]),
            "the /25's broadcast is a host of the /24"
        );
        s.flags |= IFACE_FLAG_ACCEPT_OFF_LINK;
        assert!(s.on_link([203, 0, 113, 9]));
        assert!(s.on_link([192, 0, 2, 255]));
        assert!(LinkSubnet {
            network: [203, 0, 113, 0],
            prefix_len: 0,
            _pad: [0; 3]
        }
        .contains([192, 0, 2, 1]));
    }

    #[test]
    fn own_queries_are_told_by_the_interface_address() {
        let mut s = IfaceSettings::default();
        assert!(
            !s.is_own_address([0; 4]),
            "an unknown address matches nothing, not even 0.0.0.0 (a snooping switch's query)"
        );
        s.address = [192, 0, 2, 1];
        assert!(s.is_own_address([192, 0, 2, 1]));
        assert!(!s.is_own_address([192, 0, 2, 2]), "another router");
        assert!(!s.is_own_address([0; 4]));
    }

    #[test]
    fn layouts_have_no_implicit_padding() {
        assert_eq!(size_of::<IfaceSettings>(), 32 + 8 * MAX_LINK_SUBNETS);
        assert_eq!(
            core::mem::offset_of!(IfaceSettings, max_reports_per_second),
            24
        );
        assert_eq!(core::mem::offset_of!(IfaceSettings, subnets), 32);
        assert_eq!(size_of::<LinkSubnet>(), 8);
        assert_eq!(size_of::<MemberKey>(), 8);
        assert_eq!(size_of::<MemberState>(), 40);
        assert_eq!(size_of::<SourceKey>(), 12);
        assert_eq!(size_of::<SourceState>(), 16);
        assert_eq!(size_of::<RateBuckets>(), 32);
        assert_eq!(core::mem::offset_of!(RateBuckets, rate_limited), 24);
    }

    #[test]
    fn subnet_addresses_are_the_network_and_the_broadcast() {
        let net = |a, b, c, d, len| LinkSubnet {
            network: [a, b, c, d],
            prefix_len: len,
            _pad: [0; 3],
        };
        let lan = net(192, 0, 2, 0, 24);
        assert!(lan.is_subnet_address([192, 0, 2, 0]));
        assert!(lan.is_subnet_address([192, 0, 2, 255]));
        assert!(!lan.is_subnet_address([192, 0, 2, 1]));
        assert!(
            !lan.is_subnet_address([198, 51, 100, 0]),
            "not in the prefix"
        );
        let p2p = net(203, 0, 113, 4, 31);
        assert!(
            !p2p.is_subnet_address([203, 0, 113, 4]),
            "a /31 has no network address"
        );
        assert!(!p2p.is_subnet_address([203, 0, 113, 5]));
    }

    #[test]
    fn a_message_costs_one_unit_and_one_more_per_64_bytes_captured() {
        // v2; one v3 record with 11 sources; with 12; 170 records; past what is captured.
        let costs = [8, 60, 64, 1368, 1 << 20].map(report_cost);
        assert_eq!(costs, [1, 1, 2, 22, 241]);
    }
}
