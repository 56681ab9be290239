//! Report encoder for the upstream host: v3 reports (RFC 3376 §4.2) split to fit the link's
//! packets (§4.2.16), v1/v2 reports and v2 leaves (RFC 2236 §2). IGMP bytes only, with a correct
//! checksum; the daemon adds the IPv4 header (TTL 1, Router Alert).

use std::net::Ipv4Addr;

use mgm_common::igmp::{
    checksum, RecordType, HEADER_LEN, RECORD_HEADER_LEN, TYPE_V1_REPORT, TYPE_V2_LEAVE,
    TYPE_V2_REPORT, TYPE_V3_REPORT,
};

/// Longest IGMP message that fits a 1500-byte packet after an IPv4 header with Router Alert
/// (24 bytes).
pub const MAX_REPORT_LEN: usize = 1500 - 24;

/// Most sources one group record carries in a [`MAX_REPORT_LEN`] report: (1476 − 8 − 8) / 4.
pub const MAX_SOURCES_PER_RECORD: usize = sources_per_record(MAX_REPORT_LEN);

/// Most sources one group record carries in a report of at most `max_len` bytes.
pub const fn sources_per_record(max_len: usize) -> usize {
    max_len.saturating_sub(HEADER_LEN + RECORD_HEADER_LEN) / 4
}

/// One group record of a v3 report, before encoding.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReportRecord {
    pub record_type: RecordType,
    pub group: Ipv4Addr,
    pub sources: Vec<Ipv4Addr>,
}

impl ReportRecord {
    pub fn new(
        record_type: RecordType,
        group: Ipv4Addr,
        sources: impl IntoIterator<Item = Ipv4Addr>,
    ) -> ReportRecord {
        ReportRecord {
            record_type,
            group,
            sources: sources.into_iter().collect(),
        }
    }

    fn encoded_len(&self) -> usize {
        RECORD_HEADER_LEN + 4 * self.sources.len()
    }

    fn encode_into(&self, b: &mut Vec<u8>) {
        b.push(self.record_type.as_u8());
        b.push(0); // no auxiliary data
        b.extend_from_slice(&(self.sources.len() as u16).to_be_bytes());
        b.extend_from_slice(&self.group.octets());
        for s in &self.sources {
            b.extend_from_slice(&s.octets());
        }
    }
}

/// The records as v3 reports of at most `max_len` bytes each ([`MAX_REPORT_LEN`] on the wire),
/// records kept in order and packed greedily (RFC 3376 §4.2.16). A record too long for a report
/// of its own is cut into records of as many sources as fit, each in its own report; IS_EX and
/// TO_EX records are not cut but truncated to the first sources that fit (the same ones every
/// time: the lists are sorted). No records: no reports.
pub fn encode_v3(records: &[ReportRecord], max_len: usize) -> Vec<Vec<u8>> {
    let max_sources = (max_len.saturating_sub(HEADER_LEN + RECORD_HEADER_LEN) / 4).max(1);
    let mut pieces: Vec<ReportRecord> = Vec::new();
    for r in records {
        if r.sources.len() <= max_sources {
            pieces.push(r.clone());
        } else if matches!(r.record_type, RecordType::IsExclude | RecordType::ToExclude) {
            pieces.push(ReportRecord {
                sources: r.sources[..max_sources].to_vec(),
                ..r.clone()
            });
        } else {
            for chunk in r.sources.chunks(max_sources) {
                pieces.push(ReportRecord {
                    sources: chunk.to_vec(),
                    ..r.clone()
                });
            }
        }
    }
    let mut reports = Vec::new();
    let mut current: Vec<ReportRecord> = Vec::new();
    let mut len = HEADER_LEN;
    for p in pieces {
        if !current.is_empty() && len + p.encoded_len() > max_len {
            reports.push(v3_report(&current));
            current.clear();
            len = HEADER_LEN;
        }
        len += p.encoded_len();
        current.push(p);
    }
    if !current.is_empty() {
        reports.push(v3_report(&current));
    }
    reports
}

/// One v3 report holding `records` (no size check).
fn v3_report(records: &[ReportRecord]) -> Vec<u8> {
    let len = HEADER_LEN + records.iter().map(ReportRecord::encoded_len).sum::<usize>();
    let mut b = Vec::with_capacity(len);
    b.extend_from_slice(&[TYPE_V3_REPORT, 0, 0, 0, 0, 0]);
    b.extend_from_slice(&(records.len() as u16).to_be_bytes());
    for r in records {
        r.encode_into(&mut b);
    }
    seal(b)
}

/// A v1 membership report (RFC 1112: type 0x12, sent to the group).
pub fn v1_report(group: Ipv4Addr) -> Vec<u8> {
    simple(TYPE_V1_REPORT, group)
}

/// A v2 membership report (type 0x16, sent to the group).
pub fn v2_report(group: Ipv4Addr) -> Vec<u8> {
    simple(TYPE_V2_REPORT, group)
}

/// A v2 leave group message (type 0x17, sent to 224.0.0.2).
pub fn v2_leave(group: Ipv4Addr) -> Vec<u8> {
    simple(TYPE_V2_LEAVE, group)
}

fn simple(msg_type: u8, group: Ipv4Addr) -> Vec<u8> {
    let mut b = vec![msg_type, 0, 0, 0];
    b.extend_from_slice(&group.octets());
    seal(b)
}

fn seal(mut b: Vec<u8>) -> Vec<u8> {
    let c = checksum(&b);
    b[2..4].copy_from_slice(&c.to_be_bytes());
    b
}
