//! Membership query encoder: [`QueryMessage`] → IGMP bytes with a correct checksum. The raw-socket
//! shell adds the IPv4 header (TTL 1, ToS 0xc0, Router Alert).

use std::net::Ipv4Addr;

use mgm_common::igmp::{
    checksum, encode_float_code, QueryVersion, TYPE_MEMBERSHIP_QUERY, V3_QUERY_MIN_LEN,
};

/// Most sources one v3 query carries so that it fits a 1500-byte MTU: 1500 − 24 (IPv4 header with
/// Router Alert) − 12 (query header) = 1464 bytes = 366 addresses.
pub const MAX_SOURCES_PER_QUERY: usize = 366;

/// The smallest MTU a query is sized for: the datagram every IPv4 host takes (RFC 791). A link
/// that reports less is taken to have this one.
pub const MIN_QUERY_MTU: u32 = 576;

/// The IPv4 header with Router Alert and the v3 query header before the sources.
const QUERY_OVERHEAD: u32 = 24 + 12;

/// Most sources one v3 query carries on a link of MTU `mtu`: (MTU − 24 − 12) / 4, the MTU
/// taken between [`MIN_QUERY_MTU`] (135 sources) and 1500 ([`MAX_SOURCES_PER_QUERY`]; a larger
/// MTU still gets 1500-byte queries, as the proxy's reports).
pub fn sources_per_query(mtu: u32) -> usize {
    ((mtu.clamp(MIN_QUERY_MTU, 1500) - QUERY_OVERHEAD) / 4) as usize
}

/// One query packet being encoded: inline up to 64 bytes (a v3 query of 13 sources).
type Packet = smallvec::SmallVec<[u8; 64]>;

/// A query to send, described independently of its wire version.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QueryMessage {
    /// Wire format: v1 (8 bytes, code 0), v2 (8 bytes, linear max resp time), v3.
    pub version: QueryVersion,
    /// 0.0.0.0 for a general query, else the group of a group(-and-source)-specific query.
    pub group: Ipv4Addr,
    /// Sources of a group-and-source-specific query (v3 only; empty otherwise).
    pub sources: Vec<Ipv4Addr>,
    /// Suppress Router-Side Processing (v3 only).
    pub s_flag: bool,
    /// Max response time in tenths of a second (v2: clamped to 255; v3: float-coded; v1: unused).
    pub max_resp_tenths: u32,
    /// Querier's Robustness Variable (v3; values above 7 are sent as 0, RFC 3376 §4.1.6).
    pub qrv: u8,
    /// Querier's Query Interval in seconds (v3; float-coded into QQIC).
    pub qqic_secs: u32,
}

impl QueryMessage {
    /// True for a general query.
    pub fn is_general(&self) -> bool {
        self.group.is_unspecified()
    }

    /// The IGMP bytes of this query (one message, however many sources). See
    /// [`Self::encode_packets`] for MTU-sized pieces.
    pub fn encode(&self) -> Vec<u8> {
        let mut b = Packet::new();
        self.encode_with(&self.sources, &mut b);
        b.to_vec()
    }

    /// The query as one or more messages of at most `max_sources` sources each (a v3 Q(G,S) with
    /// more sources than fit one packet is split; RFC 3376 §4.1.8). Always at least one message.
    pub fn encode_packets(&self, max_sources: usize) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        self.for_each_packet(max_sources, |p| out.push(p.to_vec()));
        out
    }

    /// [`Self::encode_packets`] handed to `send` one at a time, in one buffer that allocates
    /// nothing for a query of up to 13 sources (the shell's send path).
    pub fn for_each_packet(&self, max_sources: usize, mut send: impl FnMut(&[u8])) {
        let max_sources = max_sources.max(1);
        let mut b = Packet::new();
        if self.version != QueryVersion::V3 || self.sources.len() <= max_sources {
            self.encode_with(&self.sources, &mut b);
            send(&b);
            return;
        }
        for chunk in self.sources.chunks(max_sources) {
            b.clear();
            self.encode_with(chunk, &mut b);
            send(&b);
        }
    }

    fn encode_with(&self, sources: &[Ipv4Addr], b: &mut Packet) {
        b.reserve(V3_QUERY_MIN_LEN + 4 * sources.len());
        b.push(TYPE_MEMBERSHIP_QUERY);
        match self.version {
            QueryVersion::V1 => {
                b.extend_from_slice(&[0, 0, 0]);
                // RFC 1112: the group field of a v1 query is zero; v1 has no group-specific query.
                b.extend_from_slice(&[0, 0, 0, 0]);
            }
            QueryVersion::V2 => {
                b.push(self.max_resp_tenths.clamp(1, 255) as u8);
                b.extend_from_slice(&[0, 0]);
                b.extend_from_slice(&self.group.octets());
            }
            QueryVersion::V3 => {
                b.push(encode_float_code(self.max_resp_tenths));
                b.extend_from_slice(&[0, 0]);
                b.extend_from_slice(&self.group.octets());
                let qrv = if self.qrv > 7 { 0 } else { self.qrv };
                b.push(if self.s_flag { 0x08 } else { 0 } | qrv);
                b.push(encode_float_code(self.qqic_secs));
                b.extend_from_slice(&(sources.len() as u16).to_be_bytes());
                for s in sources {
                    b.extend_from_slice(&s.octets());
                }
            }
        }
        let c = checksum(b);
        b[2..4].copy_from_slice(&c.to_be_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mgm_common::igmp::{parse_strict, IgmpMessage};

    const G: Ipv4Addr = Ipv4Addr::new(232, 1, 1, 1);

    #[test]
    fn a_query_fits_the_link_mtu() {
        assert_eq!(sources_per_query(1500), MAX_SOURCES_PER_QUERY);
        assert_eq!(sources_per_query(9000), MAX_SOURCES_PER_QUERY);
        assert_eq!(sources_per_query(1420), 346); // WireGuard
        assert_eq!(sources_per_query(1492), 364); // PPPoE
        assert_eq!(sources_per_query(576), 135);
        assert_eq!(sources_per_query(300), 135, "below 576 is taken as 576");
        assert_eq!(sources_per_query(0), 135);
        for mtu in [576, 1280, 1400, 1420, 1450, 1492, 1500] {
            assert!(24 + 12 + 4 * sources_per_query(mtu) <= mtu as usize);
            assert!(24 + 12 + 4 * (sources_per_query(mtu) + 1) > mtu as usize);
        }
    }

    fn msg(version: QueryVersion) -> QueryMessage {
        QueryMessage {
            version,
            group: Ipv4Addr::UNSPECIFIED,
            sources: vec![],
            s_flag: false,
            max_resp_tenths: 100,
            qrv: 2,
            qqic_secs: 125,
        }
    }

    #[test]
    fn v1_general_query() {
        let b = msg(QueryVersion::V1).encode();
        assert_eq!(b, vec![0x11, 0, 0xee, 0xff, 0, 0, 0, 0]);
        let IgmpMessage::Query(q) = parse_strict(&b).unwrap() else {
            panic!()
        };
        assert_eq!(q.version, QueryVersion::V1);
    }

    #[test]
    fn v2_group_specific_query() {
        let mut m = msg(QueryVersion::V2);
        m.group = G;
        m.max_resp_tenths = 10;
        let b = m.encode();
        assert_eq!(b.len(), 8);
        assert_eq!(b[1], 10);
        let IgmpMessage::Query(q) = parse_strict(&b).unwrap() else {
            panic!()
        };
        assert_eq!(q.version, QueryVersion::V2);
        assert_eq!(q.group, G);
        assert_eq!(q.max_resp_tenths(), 10);
        // Clamped into the linear byte; never 0 (that would read as v1).
        m.max_resp_tenths = 1000;
        assert_eq!(m.encode()[1], 255);
        m.max_resp_tenths = 0;
        assert_eq!(m.encode()[1], 1);
    }

    #[test]
    fn v3_group_and_source_query() {
        let mut m = msg(QueryVersion::V3);
        m.group = G;
        m.sources = vec![Ipv4Addr::new(192, 0, 2, 1), Ipv4Addr::new(192, 0, 2, 2)];
        m.s_flag = true;
        m.max_resp_tenths = 200; // float-coded: 200 = (0x19) << 3 -> 0x89
        m.qqic_secs = 125;
        let b = m.encode();
        assert_eq!(b.len(), 20);
        assert_eq!(b[1], 0x89);
        assert_eq!(b[8], 0x08 | 2);
        assert_eq!(b[9], 125);
        let IgmpMessage::Query(q) = parse_strict(&b).unwrap() else {
            panic!()
        };
        assert_eq!(q.version, QueryVersion::V3);
        assert!(q.s_flag);
        assert_eq!(q.qrv, 2);
        assert_eq!(q.max_resp_tenths(), 200);
        assert_eq!(q.sources.collect::<Vec<_>>(), m.sources);
    }

    #[test]
    fn v3_qrv_above_7_is_zero_and_qqic_float() {
        let mut m = msg(QueryVersion::V3);
        m.qrv = 9;
        m.qqic_secs = 1000; // > 127 -> floating point, rounded down to 992 (0x1f << 5)
        let b = m.encode();
        assert_eq!(b[8], 0);
        let IgmpMessage::Query(q) = parse_strict(&b).unwrap() else {
            panic!()
        };
        assert_eq!(q.qqi_secs(), 992);
    }

    #[test]
    fn large_source_lists_split() {
        let mut m = msg(QueryVersion::V3);
        m.group = G;
        m.sources = (0..10u8).map(|i| Ipv4Addr::new(192, 0, 2, i)).collect();
        let packets = m.encode_packets(4);
        assert_eq!(packets.len(), 3);
        let counts: Vec<usize> = packets
            .iter()
            .map(|p| match parse_strict(p).unwrap() {
                IgmpMessage::Query(q) => q.sources.len(),
                _ => panic!(),
            })
            .collect();
        assert_eq!(counts, vec![4, 4, 2]);
        assert_eq!(m.encode_packets(MAX_SOURCES_PER_QUERY).len(), 1);
    }
}
