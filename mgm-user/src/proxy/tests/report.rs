//! The report encoder: exact bytes, packing, splitting at the packet size (RFC 3376 §4.2.16).

use super::*;
use crate::proxy::report::{v1_report, v2_leave, v2_report};

fn records(bytes: &[u8]) -> Vec<Rec> {
    match parse_strict(bytes).expect("parses") {
        IgmpMessage::V3Report(r) => r
            .records()
            .map(|g| (g.record_type, g.group, g.sources.collect()))
            .collect(),
        other => panic!("not a v3 report: {other:?}"),
    }
}

/// `n` sources 10.0.x.y.
fn many(n: u32) -> Vec<Ipv4Addr> {
    (0..n).map(|i| Ipv4Addr::from(0x0a00_0000 + i)).collect()
}

#[test]
fn exact_bytes() {
    let join = encode_v3(&[ReportRecord::new(TO_EX, G, [])], MAX_REPORT_LEN);
    assert_eq!(
        join,
        vec![vec![
            0x22, 0, 0xf0, 0xfb, 0, 0, 0, 1, // type, reserved, checksum, reserved, 1 record
            4, 0, 0, 0, 232, 1, 1, 1, // TO_EX, no aux data, 0 sources, G
        ]]
    );
    let allow = encode_v3(&[ReportRecord::new(ALLOW, G, [S1])], MAX_REPORT_LEN);
    assert_eq!(
        allow[0][8..],
        [5, 0, 0, 1, 232, 1, 1, 1, 203, 0, 113, 1],
        "ALLOW, one source"
    );
    assert_eq!(v2_report(G), vec![0x16, 0, 0x00, 0xfd, 232, 1, 1, 1]);
    assert_eq!(v2_leave(G), vec![0x17, 0, 0xff, 0xfc, 232, 1, 1, 1]);
    assert_eq!(v1_report(G), vec![0x12, 0, 0x04, 0xfd, 232, 1, 1, 1]);
    for b in [&join[0], &allow[0]] {
        parse_strict(b).expect("checksum and layout");
    }
    for b in [v2_report(G), v2_leave(G), v1_report(G)] {
        parse_strict(&b).expect("checksum and layout");
    }
}

#[test]
fn no_records_no_report() {
    assert!(encode_v3(&[], MAX_REPORT_LEN).is_empty());
}

#[test]
fn records_are_packed_in_order_up_to_the_size() {
    // Room for 8 + 3 × 12 = 44 bytes: three one-source records per report.
    let recs: Vec<ReportRecord> = (0..7u8)
        .map(|i| ReportRecord::new(ALLOW, Ipv4Addr::new(239, 0, 0, i), [S1]))
        .collect();
    let out = encode_v3(&recs, 44);
    let counts: Vec<usize> = out.iter().map(|b| records(b).len()).collect();
    assert_eq!(counts, vec![3, 3, 1]);
    assert!(out.iter().all(|b| b.len() <= 44));
    let groups: Vec<Ipv4Addr> = out.iter().flat_map(|b| records(b)).map(|r| r.1).collect();
    let want: Vec<Ipv4Addr> = recs.iter().map(|r| r.group).collect();
    assert_eq!(groups, want);
    assert_eq!(out[0].len(), 44);
}

#[test]
fn a_long_allow_is_cut_into_records_of_their_own_reports() {
    // 8 + 8 + 4 × 3 = 28 bytes: three sources per record.
    let out = encode_v3(
        &[
            ReportRecord::new(IS_EX, G2, []),
            ReportRecord::new(ALLOW, G, many(7)),
            ReportRecord::new(TO_IN, G3, []),
        ],
        28,
    );
    let all: Vec<Vec<Rec>> = out.iter().map(|b| records(b)).collect();
    let s = many(7);
    assert_eq!(
        all,
        vec![
            vec![rec(IS_EX, G2, &[])],
            vec![rec(ALLOW, G, &s[0..3])],
            vec![rec(ALLOW, G, &s[3..6])],
            vec![rec(ALLOW, G, &s[6..7]), rec(TO_IN, G3, &[])],
        ]
    );
}

#[test]
fn a_long_exclude_is_truncated_not_cut() {
    let out = encode_v3(
        &[
            ReportRecord::new(TO_EX, G, many(7)),
            ReportRecord::new(IS_EX, G2, many(5)),
            ReportRecord::new(TO_IN, G3, many(4)),
        ],
        28,
    );
    let all: Vec<Vec<Rec>> = out.iter().map(|b| records(b)).collect();
    let s = many(7);
    assert_eq!(
        all,
        vec![
            vec![rec(TO_EX, G, &s[0..3])],
            vec![rec(IS_EX, G2, &s[0..3])],
            vec![rec(TO_IN, G3, &s[0..3])],
            vec![rec(TO_IN, G3, &s[3..4])],
        ]
    );
}

#[test]
fn real_packet_size() {
    assert_eq!(MAX_REPORT_LEN, 1476);
    assert_eq!(MAX_SOURCES_PER_RECORD, 365);
    // 365 sources fill a report exactly; 366 take two.
    let full = encode_v3(&[ReportRecord::new(IS_IN, G, many(365))], MAX_REPORT_LEN);
    assert_eq!(full.len(), 1);
    assert_eq!(full[0].len(), 1476);
    let over = encode_v3(&[ReportRecord::new(IS_IN, G, many(366))], MAX_REPORT_LEN);
    assert_eq!(over.len(), 2);
    assert_eq!(records(&over[1]), vec![rec(IS_IN, G, &many(366)[365..])]);
    // 1000 joins: 183 empty records (8 + 183 × 8 = 1472 bytes) per report.
    let joins: Vec<ReportRecord> = (0..1000u32)
        .map(|i| ReportRecord::new(IS_EX, Ipv4Addr::from(0xef00_0000 + i), []))
        .collect();
    let out = encode_v3(&joins, MAX_REPORT_LEN);
    let counts: Vec<usize> = out.iter().map(|b| records(b).len()).collect();
    assert_eq!(counts, vec![183, 183, 183, 183, 183, 85]);
    assert!(out.iter().all(|b| b.len() <= MAX_REPORT_LEN));
}
