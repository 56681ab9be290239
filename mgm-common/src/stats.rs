//! Classifier counters: one per accepted message type and one per reason to ignore a packet.
//! `MGM_STATS` is a per-CPU array with one element of this struct, so bpftool prints each
//! counter by name for each CPU; userspace sums the CPUs.

macro_rules! igmp_stats {
    ($( $(#[$doc:meta])* $field:ident ),* $(,)?) => {
        #[repr(C)]
        #[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
        pub struct IgmpStats {
            $( $(#[$doc])* pub $field: u64, )*
        }

        impl IgmpStats {
            /// Counter names, in field order.
            pub const NAMES: &'static [&'static str] = &[$(stringify!($field)),*];

            /// Counter values, in the order of [`Self::NAMES`].
            pub fn values(&self) -> [u64; Self::NAMES.len()] {
                [$(self.$field),*]
            }

            /// Adds another CPU's counters to these.
            pub fn accumulate(&mut self, other: &Self) {
                $( self.$field = self.$field.wrapping_add(other.$field); )*
            }
        }
    };
}

igmp_stats! {
    /// IPv4 packets with protocol 2 seen on a managed interface.
    igmp_packets,
    /// Accepted messages by type.
    rx_query_v1,
    rx_query_v2,
    rx_query_v3,
    rx_report_v1,
    rx_report_v2,
    rx_leave_v2,
    rx_report_v3,
    /// Group records walked in accepted v3 reports.
    rx_v3_group_records,
    /// Reports (or v3 records) absorbed in the kernel as pure refreshes.
    fast_path_refreshes,
    /// Messages sent to the daemon.
    events_sent,
    /// Messages that could not be sent because the ring buffer was full.
    events_ring_full,
    /// Reasons to ignore a packet.
    ignored_interface_disabled,
    /// More than two VLAN tags (frame + skb metadata); or more than four in the frame, which the
    /// classifier cannot see through (those are not counted in `igmp_packets`).
    ignored_too_many_vlan_tags,
    ignored_truncated,
    ignored_bad_ihl,
    ignored_bad_total_length,
    ignored_fragment,
    ignored_bad_checksum,
    ignored_bad_length,
    ignored_unknown_type,
    ignored_group_not_multicast,
    ignored_report_dst_mismatch,
    ignored_bad_record,
    /// Ethertype IPv4 with protocol 2 but an IP version other than 4.
    ignored_bad_ip_version,
    /// IGMP in a VLAN (one or two tags with a VLAN id, in the frame or in skb metadata): it
    /// belongs to the VLAN's device, which is managed by listing it, not to this interface.
    /// Counted in `igmp_packets` too. More than two tags count in `ignored_too_many_vlan_tags`.
    ignored_vlan_tagged,
    /// A report or leave whose source is not on the interface's subnets (RFC 2236 §9,
    /// RFC 3376 §9), or is a subnet's network or broadcast address (no host sends from those);
    /// 0.0.0.0 is accepted. Off with `--accept-off-link-reports`.
    ignored_off_link_source,
    /// The IPv4 header checksum does not verify (RFC 791). Only the classifier sees IP headers:
    /// the daemon's events carry IGMP bytes of packets that passed this check.
    ignored_bad_ip_checksum,
    /// Reports, leaves or queries for the daemon held back by their interface's budget
    /// (`max-reports-per-second`, per CPU): passed on, not sent up. Counted in `igmp_packets`
    /// and `rx_*` like the messages sent.
    events_rate_limited,
    /// Reports and leaves heard on the proxy's upstream interface, where the daemon acts on
    /// queries only: counted here instead of sent up.
    ignored_upstream_report,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_are_packed_u64s() {
        assert_eq!(
            core::mem::size_of::<IgmpStats>(),
            8 * IgmpStats::NAMES.len()
        );
        assert_eq!(IgmpStats::NAMES.len(), 30);
        assert_eq!(IgmpStats::NAMES[24], "ignored_bad_ip_version");
        assert_eq!(IgmpStats::NAMES[25], "ignored_vlan_tagged");
        assert_eq!(IgmpStats::NAMES[26], "ignored_off_link_source");
        assert_eq!(IgmpStats::NAMES[27], "ignored_bad_ip_checksum");
        assert_eq!(IgmpStats::NAMES[28], "events_rate_limited");
        assert_eq!(IgmpStats::NAMES[29], "ignored_upstream_report");
    }
}
