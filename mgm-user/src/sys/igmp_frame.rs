//! The IPv4 header of the IGMP messages the router sends (queries, and the proxy's reports), and
//! the Ethernet destination of a multicast IPv4 address: pure, built here byte for byte.
//!
//! The header is what RFC 2236/3376 require: TTL 1, ToS 0xc0 (internetwork control), the
//! Router Alert option (RFC 2113), no fragment flags. On Ethernet links it goes out whole on a
//! packet socket (identification and checksum ours); on other links a raw IP socket sends it
//! with identification 0 and checksum 0, which the kernel fills (`IP_HDRINCL`).
use mgm_common::igmp::{checksum, IPPROTO_IGMP};
use std::net::Ipv4Addr;

/// IPv4 header length with the 4-byte Router Alert option.
pub(crate) const IP_HEADER_LEN: usize = 24;

/// The length of an IGMP message that fits one IPv4 packet behind our header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct IgmpLen(u16);

impl IgmpLen {
    /// `None` when `len` bytes and our header exceed the 65 535 bytes of an IPv4 packet.
    pub(crate) fn new(len: usize) -> Option<Self> {
        let max = usize::from(u16::MAX) - IP_HEADER_LEN;
        (len <= max).then_some(Self(len as u16))
    }
}

/// The IPv4 header of an IGMP message of `len` bytes from `src` to `dst`, with identification
/// `id` and its checksum; without one (`None`), identification and checksum are left 0 for the
/// kernel to fill (raw IP socket).
pub(crate) fn ip_header(
    src: Ipv4Addr,
    dst: Ipv4Addr,
    id: Option<u16>,
    len: IgmpLen,
) -> [u8; IP_HEADER_LEN] {
    // At most u16::MAX by IgmpLen's construction.
    let total = len.0 + IP_HEADER_LEN as u16;
    let mut h = [0u8; IP_HEADER_LEN];
    h[0] = 0x46; // version 4, IHL 6 words
    h[1] = 0xc0; // ToS: internetwork control
    h[2..4].copy_from_slice(&total.to_be_bytes());
    h[4..6].copy_from_slice(&id.unwrap_or(0).to_be_bytes());
    h[8] = 1; // TTL
    h[9] = IPPROTO_IGMP;
    h[12..16].copy_from_slice(&src.octets());
    h[16..20].copy_from_slice(&dst.octets());
    h[20..24].copy_from_slice(&[0x94, 0x04, 0x00, 0x00]); // Router Alert
    if id.is_some() {
        let sum = checksum(&h);
        h[10..12].copy_from_slice(&sum.to_be_bytes());
    }
    h
}

/// The Ethernet address IPv4 multicast `group` maps to (RFC 1112 §6.4): 01:00:5e and the low
/// 23 bits of the group.
pub(crate) fn multicast_mac(group: Ipv4Addr) -> [u8; 6] {
    let [_, b, c, d] = group.octets();
    [0x01, 0x00, 0x5e, b & 0x7f, c, d]
}

#[cfg(test)]
mod tests {
    use super::*;

    const SRC: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);
    const ALL_HOSTS: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 1);

    fn len(n: usize) -> IgmpLen {
        IgmpLen::new(n).expect("fits")
    }

    #[test]
    fn header_carries_ttl_1_tos_c0_and_router_alert() {
        let h = ip_header(SRC, ALL_HOSTS, None, len(12));
        assert_eq!(h[0], 0x46);
        assert_eq!(h[1], 0xc0);
        assert_eq!(u16::from_be_bytes([h[2], h[3]]), 36);
        assert_eq!(&h[6..8], &[0, 0], "no fragment flags");
        assert_eq!(h[8], 1);
        assert_eq!(h[9], 2);
        assert_eq!(&h[12..16], &[192, 0, 2, 1]);
        assert_eq!(&h[16..20], &[224, 0, 0, 1]);
        assert_eq!(&h[20..24], &[0x94, 0x04, 0, 0]);
    }

    #[test]
    fn without_an_identification_the_kernel_fills_it_and_the_checksum() {
        let h = ip_header(SRC, ALL_HOSTS, None, len(12));
        assert_eq!(&h[4..6], &[0, 0]);
        assert_eq!(&h[10..12], &[0, 0]);
    }

    #[test]
    fn header_checksum_matches_a_known_frame() {
        // A v3 general query's header (12-byte query), identification 0x1234; the checksum
        // summed by hand: 46c0+0024+1234+0102+c000+0201+e000+0001+9404 = 0x29020 -> 0x9022,
        // complemented 0x6fdd.
        let h = ip_header(SRC, ALL_HOSTS, Some(0x1234), len(12));
        let known = [
            0x46, 0xc0, 0x00, 0x24, 0x12, 0x34, 0x00, 0x00, 0x01, 0x02, 0x6f, 0xdd, 192, 0, 2, 1,
            224, 0, 0, 1, 0x94, 0x04, 0x00, 0x00,
        ];
        assert_eq!(h, known);
        assert_eq!(checksum(&h), 0, "verifies as a receiver checks it");
        let g = ip_header(SRC, Ipv4Addr::new(239, 1, 2, 3), Some(0xffff), len(1476));
        assert_eq!(u16::from_be_bytes([g[2], g[3]]), 1500);
        assert_eq!(checksum(&g), 0);
    }

    #[test]
    fn lengths_beyond_an_ipv4_packet_are_refused() {
        assert!(IgmpLen::new(65_511).is_some());
        assert!(IgmpLen::new(65_512).is_none());
        let h = ip_header(SRC, ALL_HOSTS, Some(0), len(65_511));
        assert_eq!(&h[2..4], &[0xff, 0xff]);
        // Identification 0 of our own still gets its checksum.
        assert_eq!(checksum(&h), 0);
    }

    #[test]
    fn multicast_groups_map_to_their_ethernet_address() {
        assert_eq!(multicast_mac(ALL_HOSTS), [0x01, 0x00, 0x5e, 0, 0, 1]);
        assert_eq!(
            multicast_mac(Ipv4Addr::new(224, 0, 0, 22)),
            [0x01, 0x00, 0x5e, 0, 0, 0x16]
        );
        // The 24th bit from the end is dropped: 239.129.1.2 and 239.1.1.2 share an address.
        assert_eq!(
            multicast_mac(Ipv4Addr::new(239, 129, 1, 2)),
            [0x01, 0x00, 0x5e, 1, 1, 2]
        );
        assert_eq!(
            multicast_mac(Ipv4Addr::new(239, 255, 255, 250)),
            [0x01, 0x00, 0x5e, 0x7f, 0xff, 0xfa]
        );
    }
}
