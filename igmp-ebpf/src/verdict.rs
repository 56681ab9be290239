//! What the classifier made of an IGMP packet, and [`count`], the one place that turns it into
//! `MGM_STATS` counters (whose names `mgm show stats` and bpftool print).

use mgm_common::{event::reason, IgmpStats};

use crate::maps;

/// Why an IGMP packet was ignored: one `ignored_*` counter each.
#[derive(Clone, Copy)]
pub(crate) enum IgnoreReason {
    /// The interface is not managed, or IGMP handling is off on it. Not counted as IGMP.
    InterfaceDisabled,
    /// More tags in the frame than the classifier looks through, on a managed interface: what
    /// it carries is not seen, so it is not counted as IGMP (`ignored_too_many_vlan_tags`).
    TagsBeyondReach,
    /// More than two tags, frame and skb metadata together (`ignored_too_many_vlan_tags`).
    TooManyVlanTags,
    /// IGMP of a VLAN's device, seen on its parent.
    VlanTagged,
    Truncated,
    BadIpVersion,
    BadIhl,
    BadTotalLength,
    Fragment,
    /// The IPv4 header checksum does not verify.
    BadIpChecksum,
    /// An IGMP message shorter than 8 bytes, or a query whose length fits no version.
    BadLength,
    BadChecksum,
    /// A report or leave from a source off the interface's subnets, or from a subnet's network
    /// or broadcast address.
    OffLinkSource,
    UnknownType,
    GroupNotMulticast,
    /// A v1/v2 report not sent to its group.
    ReportDstMismatch,
    /// A v3 group record runs past the end of the report.
    BadRecord,
    /// A report or leave on an interface where only queries go up (the proxy's upstream).
    UpstreamReport,
}

impl IgnoreReason {
    /// Whether the packet counts in `igmp_packets`: IGMP seen on a managed interface.
    #[inline(always)]
    fn is_igmp_on_managed_iface(self) -> bool {
        !matches!(self, Self::InterfaceDisabled | Self::TagsBeyondReach)
    }

    #[inline(always)]
    fn counter(self, s: &mut IgmpStats) -> &mut u64 {
        match self {
            Self::InterfaceDisabled => &mut s.ignored_interface_disabled,
            Self::TagsBeyondReach | Self::TooManyVlanTags => &mut s.ignored_too_many_vlan_tags,
            Self::VlanTagged => &mut s.ignored_vlan_tagged,
            Self::Truncated => &mut s.ignored_truncated,
            Self::BadIpVersion => &mut s.ignored_bad_ip_version,
            Self::BadIhl => &mut s.ignored_bad_ihl,
            Self::BadTotalLength => &mut s.ignored_bad_total_length,
            Self::Fragment => &mut s.ignored_fragment,
            Self::BadIpChecksum => &mut s.ignored_bad_ip_checksum,
            Self::BadLength => &mut s.ignored_bad_length,
            Self::BadChecksum => &mut s.ignored_bad_checksum,
            Self::OffLinkSource => &mut s.ignored_off_link_source,
            Self::UnknownType => &mut s.ignored_unknown_type,
            Self::GroupNotMulticast => &mut s.ignored_group_not_multicast,
            Self::ReportDstMismatch => &mut s.ignored_report_dst_mismatch,
            Self::BadRecord => &mut s.ignored_bad_record,
            Self::UpstreamReport => &mut s.ignored_upstream_report,
        }
    }
}

/// Why an accepted message goes to the daemon: the event's `reason` (`mgm_common::event::reason`).
#[derive(Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum SlowPathReason {
    Query = reason::QUERY,
    NewGroup = reason::NEW_GROUP,
    Leave = reason::LEAVE,
    StateChange = reason::STATE_CHANGE,
    TooLong = reason::TOO_LONG,
    DaemonRequest = reason::DAEMON_REQUEST,
}

/// Type of an accepted message: one `rx_*` counter each.
#[derive(Clone, Copy)]
pub(crate) enum MessageType {
    QueryV1,
    QueryV2,
    QueryV3,
    ReportV1,
    ReportV2,
    LeaveV2,
    ReportV3,
}

impl MessageType {
    #[inline(always)]
    fn counter(self, s: &mut IgmpStats) -> &mut u64 {
        match self {
            Self::QueryV1 => &mut s.rx_query_v1,
            Self::QueryV2 => &mut s.rx_query_v2,
            Self::QueryV3 => &mut s.rx_query_v3,
            Self::ReportV1 => &mut s.rx_report_v1,
            Self::ReportV2 => &mut s.rx_report_v2,
            Self::LeaveV2 => &mut s.rx_leave_v2,
            Self::ReportV3 => &mut s.rx_report_v3,
        }
    }
}

/// What a handler made of an IGMP message.
#[derive(Clone, Copy)]
pub(crate) enum Verdict {
    /// Not acted on; counted under its reason.
    Ignored(IgnoreReason),
    /// Accepted, and every part of it was a refresh applied in the maps: nothing for the daemon.
    Absorbed(MessageType),
    /// Accepted, and for the daemon (the refreshes among its parts applied all the same).
    SentUp(MessageType, SlowPathReason),
    /// Accepted, and the router's own query heard back: nothing for the daemon, which ignores
    /// its own queries.
    Own(MessageType),
}

/// What the handler of an accepted message did on the way to its verdict: group records
/// walked (v3 reports) and refreshes applied (a v1/v2 report, or v3 records). Kept apart from
/// the verdict and zeroed up front, so that every value reaching `count` is initialised on
/// every path (the verifier rejects reading a register an enum variant left undefined).
#[derive(Clone, Copy, Default)]
pub(crate) struct Tally {
    pub(crate) records: u32,
    pub(crate) refreshed: u32,
}

/// Whether a message for the daemon made it onto `MGM_EVENTS`.
#[derive(Clone, Copy)]
pub(crate) enum Delivery {
    Sent,
    RingFull,
    /// Past its interface's budget (`rate`): not sent.
    RateLimited,
}

/// Everything [`count`] counts about one IGMP packet.
#[derive(Clone, Copy)]
pub(crate) struct Outcome {
    pub(crate) verdict: Verdict,
    pub(crate) tally: Tally,
    /// For a message sent up.
    pub(crate) delivery: Option<Delivery>,
}

impl Outcome {
    #[inline(always)]
    pub(crate) fn ignored(why: IgnoreReason) -> Self {
        Self {
            verdict: Verdict::Ignored(why),
            tally: Tally::default(),
            delivery: None,
        }
    }
}

/// Counts `outcome` in this CPU's `MGM_STATS`: the only writer of the counters.
#[inline(always)]
pub(crate) fn count(outcome: Outcome) {
    let Some(stats) = maps::stats() else {
        return;
    };
    let message = match outcome.verdict {
        Verdict::Ignored(why) => {
            if why.is_igmp_on_managed_iface() {
                stats.igmp_packets += 1;
            }
            *why.counter(stats) += 1;
            return;
        }
        Verdict::Absorbed(message) | Verdict::SentUp(message, _) | Verdict::Own(message) => message,
    };
    stats.igmp_packets += 1;
    *message.counter(stats) += 1;
    stats.rx_v3_group_records += u64::from(outcome.tally.records);
    stats.fast_path_refreshes += u64::from(outcome.tally.refreshed);
    match outcome.delivery {
        Some(Delivery::Sent) => stats.events_sent += 1,
        // The daemon reads the counter and logs the losses (`daemon/ring_losses.rs`).
        Some(Delivery::RingFull) => stats.events_ring_full += 1,
        Some(Delivery::RateLimited) => stats.events_rate_limited += 1,
        None => {}
    }
}
