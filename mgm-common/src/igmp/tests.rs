extern crate std;

use super::*;
use std::vec;
use std::vec::Vec;

const G: Ipv4Addr = Ipv4Addr::new(232, 1, 2, 3);
const S1: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);
const S2: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 2);

/// Writes the checksum into bytes 2..4.
fn seal(mut b: Vec<u8>) -> Vec<u8> {
    b[2] = 0;
    b[3] = 0;
    let c = checksum(&b);
    b[2..4].copy_from_slice(&c.to_be_bytes());
    b
}

fn v2(msg_type: u8, mrc: u8, group: Ipv4Addr) -> Vec<u8> {
    let mut b = vec![msg_type, mrc, 0, 0];
    b.extend_from_slice(&group.octets());
    seal(b)
}

fn v3_query(mrc: u8, group: Ipv4Addr, s: bool, qrv: u8, qqic: u8, srcs: &[Ipv4Addr]) -> Vec<u8> {
    let mut b = vec![TYPE_MEMBERSHIP_QUERY, mrc, 0, 0];
    b.extend_from_slice(&group.octets());
    b.push((if s { 0x08 } else { 0 }) | qrv);
    b.push(qqic);
    b.extend_from_slice(&(srcs.len() as u16).to_be_bytes());
    for s in srcs {
        b.extend_from_slice(&s.octets());
    }
    seal(b)
}

fn record(rtype: u8, group: Ipv4Addr, srcs: &[Ipv4Addr], aux_words: u8) -> Vec<u8> {
    let mut b = vec![rtype, aux_words];
    b.extend_from_slice(&(srcs.len() as u16).to_be_bytes());
    b.extend_from_slice(&group.octets());
    for s in srcs {
        b.extend_from_slice(&s.octets());
    }
    b.extend(core::iter::repeat_n(0xaa, usize::from(aux_words) * 4));
    b
}

fn v3_report(num: u16, records: &[Vec<u8>], trailer: &[u8]) -> Vec<u8> {
    let mut b = vec![TYPE_V3_REPORT, 0, 0, 0, 0, 0];
    b.extend_from_slice(&num.to_be_bytes());
    for r in records {
        b.extend_from_slice(r);
    }
    b.extend_from_slice(trailer);
    seal(b)
}

#[test]
fn checksum_known_vector() {
    // v2 report for 239.1.1.1, by hand: 0x1600 + 0xef01 + 0x0101 = 0x10602 -> 0x0603 -> !0x0603.
    let b = v2(TYPE_V2_REPORT, 0, Ipv4Addr::new(239, 1, 1, 1));
    assert_eq!(&b[2..4], &[0xf9, 0xfc]);
    assert_eq!(checksum(&b), 0);
    // Odd length pads with zero.
    assert_eq!(checksum(&[0x01]), !0x0100);
    assert_eq!(checksum(&[]), 0xffff);
}

#[test]
fn parses_v1_v2_messages() {
    assert_eq!(
        parse(&v2(TYPE_V1_REPORT, 0, G)),
        Ok(IgmpMessage::V1Report { group: G })
    );
    assert_eq!(
        parse(&v2(TYPE_V2_REPORT, 0, G)),
        Ok(IgmpMessage::V2Report { group: G })
    );
    assert_eq!(
        parse(&v2(TYPE_V2_LEAVE, 0, G)),
        Ok(IgmpMessage::V2Leave { group: G })
    );
}

#[test]
fn query_version_by_length_and_mrc() {
    let b = v2(TYPE_MEMBERSHIP_QUERY, 0, Ipv4Addr::UNSPECIFIED);
    let IgmpMessage::Query(q) = parse(&b).unwrap() else {
        panic!()
    };
    assert_eq!(q.version, QueryVersion::V1);
    assert!(q.is_general());
    assert_eq!(q.max_resp_tenths(), 100);

    let b = v2(TYPE_MEMBERSHIP_QUERY, 200, G);
    let IgmpMessage::Query(q) = parse(&b).unwrap() else {
        panic!()
    };
    assert_eq!(q.version, QueryVersion::V2);
    assert_eq!(q.group, G);
    // v2 Max Resp Time is linear, not floating point.
    assert_eq!(q.max_resp_tenths(), 200);
    assert_eq!(q.sources.len(), 0);

    let b = v3_query(0x8a, G, true, 2, 125, &[S1, S2]);
    let IgmpMessage::Query(q) = parse(&b).unwrap() else {
        panic!()
    };
    assert_eq!(q.version, QueryVersion::V3);
    assert_eq!(q.group, G);
    assert!(q.s_flag);
    assert_eq!(q.qrv, 2);
    assert_eq!(q.qqic, 125);
    assert_eq!(q.qqi_secs(), 125);
    assert_eq!(q.max_resp_tenths(), (0xa | 0x10) << 3);
    assert_eq!(q.sources.collect::<Vec<_>>(), vec![S1, S2]);

    // v3 query with MRC 0 is still v3 (length decides).
    let b = v3_query(0, Ipv4Addr::UNSPECIFIED, false, 0, 0, &[]);
    let IgmpMessage::Query(q) = parse(&b).unwrap() else {
        panic!()
    };
    assert_eq!(q.version, QueryVersion::V3);
    assert!(!q.s_flag);
}

#[test]
fn query_of_9_to_11_bytes_is_rejected() {
    for len in 9..=11 {
        let mut b = v2(TYPE_MEMBERSHIP_QUERY, 100, G);
        b.resize(len, 0);
        let b = seal(b);
        assert_eq!(parse(&b), Err(ParseError::BadQueryLength { len }));
    }
}

#[test]
fn truncated_messages() {
    for len in 0..8 {
        let b = v2(TYPE_V2_REPORT, 0, G);
        assert_eq!(parse(&b[..len]), Err(ParseError::Truncated { len }));
    }
}

#[test]
fn bad_checksum_names_found_and_expected() {
    let good = v2(TYPE_V2_REPORT, 0, G);
    let mut bad = good.clone();
    bad[2] ^= 0x01;
    let found = u16::from_be_bytes([bad[2], bad[3]]);
    let want = u16::from_be_bytes([good[2], good[3]]);
    assert_eq!(
        parse(&bad),
        Err(ParseError::BadChecksum {
            found,
            computed: want
        })
    );
    // A flipped payload bit is caught as well.
    let mut bad = good.clone();
    bad[7] ^= 0x10;
    assert!(matches!(parse(&bad), Err(ParseError::BadChecksum { .. })));
    // Trailing bytes are covered by the checksum.
    let mut t = good.clone();
    t.extend_from_slice(&[1, 2, 3, 4]);
    assert!(matches!(parse(&t), Err(ParseError::BadChecksum { .. })));
}

#[test]
fn unknown_type() {
    assert_eq!(
        parse(&v2(0x13, 0, G)),
        Err(ParseError::UnknownType { msg_type: 0x13 })
    );
    assert_eq!(
        parse(&v2(0x00, 0, G)),
        Err(ParseError::UnknownType { msg_type: 0 })
    );
}

#[test]
fn v3_report_records_and_sources() {
    let b = v3_report(
        3,
        &[
            record(1, G, &[S1, S2], 0),
            record(4, Ipv4Addr::new(239, 9, 9, 9), &[], 0),
            record(6, G, &[S2], 0),
        ],
        &[],
    );
    let IgmpMessage::V3Report(r) = parse_strict(&b).unwrap() else {
        panic!()
    };
    assert_eq!(r.num_records, 3);
    let recs: Vec<_> = r.records().collect();
    assert_eq!(recs.len(), 3);
    assert_eq!(recs[0].record_type, RecordType::IsInclude);
    assert_eq!(recs[0].group, G);
    assert_eq!(recs[0].sources.collect::<Vec<_>>(), vec![S1, S2]);
    assert_eq!(recs[1].record_type, RecordType::ToExclude);
    assert_eq!(recs[1].group, Ipv4Addr::new(239, 9, 9, 9));
    assert_eq!(recs[1].sources.len(), 0);
    assert_eq!(recs[2].record_type, RecordType::BlockOld);
    assert_eq!(recs[2].sources.collect::<Vec<_>>(), vec![S2]);
}

#[test]
fn v3_report_aux_data_is_skipped() {
    let b = v3_report(2, &[record(2, G, &[S1], 2), record(5, G, &[S2], 1)], &[]);
    let IgmpMessage::V3Report(r) = parse(&b).unwrap() else {
        panic!()
    };
    let recs: Vec<_> = r.records().collect();
    assert_eq!(recs[0].aux_words, 2);
    assert_eq!(recs[0].sources.collect::<Vec<_>>(), vec![S1]);
    assert_eq!(recs[1].record_type, RecordType::AllowNew);
    assert_eq!(recs[1].sources.collect::<Vec<_>>(), vec![S2]);
}

#[test]
fn v3_report_bounds() {
    // Aux data past the end.
    let mut rec = record(2, G, &[S1], 0);
    rec[1] = 3; // claims 12 bytes of aux data that are not there
    let b = v3_report(1, &[rec], &[0; 4]);
    assert_eq!(
        parse(&b),
        Err(ParseError::AuxDataBeyondEnd {
            index: 0,
            aux_words: 3
        })
    );
    // nsrc past the end.
    let mut rec = record(1, G, &[S1], 0);
    rec[2..4].copy_from_slice(&500u16.to_be_bytes());
    let b = v3_report(2, &[record(1, G, &[], 0), rec], &[]);
    assert_eq!(
        parse(&b),
        Err(ParseError::RecordSourcesBeyondEnd {
            index: 1,
            nsrc: 500
        })
    );
    // More records announced than present.
    let b = v3_report(3, &[record(1, G, &[], 0)], &[]);
    assert_eq!(
        parse(&b),
        Err(ParseError::RecordBeyondEnd {
            index: 1,
            num_records: 3
        })
    );
    // A partial record header.
    let b = v3_report(1, &[], &[1, 0, 0]);
    assert_eq!(
        parse(&b),
        Err(ParseError::RecordBeyondEnd {
            index: 0,
            num_records: 1
        })
    );
    // Zero records is a valid (useless) report.
    let b = v3_report(0, &[], &[]);
    let IgmpMessage::V3Report(r) = parse(&b).unwrap() else {
        panic!()
    };
    assert_eq!(r.records().count(), 0);
}

#[test]
fn v3_query_sources_beyond_end() {
    let mut b = v3_query(100, G, false, 2, 125, &[S1]);
    b[10..12].copy_from_slice(&2u16.to_be_bytes());
    let b = seal(b);
    assert_eq!(
        parse(&b),
        Err(ParseError::QuerySourcesBeyondEnd { nsrc: 2, len: 16 })
    );
}

#[test]
fn unknown_record_type_policy() {
    let b = v3_report(2, &[record(9, G, &[S1], 0), record(5, G, &[S2], 0)], &[]);
    // Lenient: walked and yielded as Unknown, later records intact.
    let IgmpMessage::V3Report(r) = parse(&b).unwrap() else {
        panic!()
    };
    let recs: Vec<_> = r.records().collect();
    assert_eq!(recs[0].record_type, RecordType::Unknown(9));
    assert_eq!(recs[1].record_type, RecordType::AllowNew);
    assert_eq!(recs[1].sources.collect::<Vec<_>>(), vec![S2]);
    // Strict: rejected, naming the record.
    assert_eq!(
        parse_strict(&b),
        Err(ParseError::UnknownRecordType {
            index: 0,
            record_type: 9
        })
    );
    let b0 = v3_report(1, &[record(0, G, &[], 0)], &[]);
    assert_eq!(
        parse_strict(&b0),
        Err(ParseError::UnknownRecordType {
            index: 0,
            record_type: 0
        })
    );
}

#[test]
fn trailing_bytes_policy() {
    // v2 report with 4 extra bytes: ignored by parse (RFC 2236 §2.5), rejected by parse_strict.
    let mut b = v2(TYPE_V2_REPORT, 0, G);
    b.extend_from_slice(&[9, 9, 9, 9]);
    let b = seal(b);
    assert_eq!(parse(&b), Ok(IgmpMessage::V2Report { group: G }));
    assert_eq!(
        parse_strict(&b),
        Err(ParseError::TrailingBytes { extra: 4 })
    );

    // v3 report with bytes after the last record.
    let b = v3_report(1, &[record(2, G, &[], 0)], &[1, 2, 3]);
    let IgmpMessage::V3Report(r) = parse(&b).unwrap() else {
        panic!()
    };
    assert_eq!(r.records().count(), 1);
    assert_eq!(
        parse_strict(&b),
        Err(ParseError::TrailingBytes { extra: 3 })
    );

    // v3 query with bytes after the source list.
    let mut q = v3_query(100, G, false, 2, 125, &[S1]);
    q.extend_from_slice(&[0, 0]);
    let q = seal(q);
    let IgmpMessage::Query(qq) = parse(&q).unwrap() else {
        panic!()
    };
    assert_eq!(qq.sources.collect::<Vec<_>>(), vec![S1]);
    assert_eq!(
        parse_strict(&q),
        Err(ParseError::TrailingBytes { extra: 2 })
    );
}

#[test]
fn float_code_exact_below_128() {
    for v in 0..128u32 {
        assert_eq!(encode_float_code(v), v as u8);
        assert_eq!(decode_float_code(v as u8), v);
    }
}

#[test]
fn float_code_edges() {
    assert_eq!(decode_float_code(0x80), 128);
    assert_eq!(encode_float_code(128), 0x80);
    assert_eq!(decode_float_code(0x8f), 31 << 3); // 248
    assert_eq!(decode_float_code(0x90), 256);
    assert_eq!(decode_float_code(0xff), FLOAT_CODE_MAX);
    assert_eq!(FLOAT_CODE_MAX, 31_744);
    assert_eq!(encode_float_code(31_744), 0xff);
    assert_eq!(encode_float_code(1_000_000), 0xff);
    assert_eq!(encode_float_code(u32::MAX), 0xff);
    // Rounds down between representable values.
    assert_eq!(encode_float_code(129), 0x80);
    assert_eq!(encode_float_code(135), 0x80);
    assert_eq!(encode_float_code(136), 0x81);
    assert_eq!(encode_float_code(255), 0x8f);
    assert_eq!(encode_float_code(31_743), 0xfe);
    assert_eq!(decode_float_code(0xfe), 30 << 10);
}

#[test]
fn float_code_round_trips() {
    // Every code round-trips through decode → encode.
    for code in 0..=255u8 {
        assert_eq!(
            encode_float_code(decode_float_code(code)),
            code,
            "code {code:#x}"
        );
    }
    // encode never overstates and decodes monotonically.
    let mut prev = 0;
    for v in 0..40_000u32 {
        let d = decode_float_code(encode_float_code(v));
        assert!(d <= v.min(FLOAT_CODE_MAX));
        assert!(d >= prev);
        prev = d;
    }
}

#[test]
fn errors_display_names_the_problem() {
    use core::fmt::Write;
    let mut s = std::string::String::new();
    write!(
        s,
        "{}",
        ParseError::RecordSourcesBeyondEnd { index: 2, nsrc: 7 }
    )
    .unwrap();
    assert_eq!(s, "v3 report: group record 2 lists 7 sources past the end");
}

// ---- parse_truncated ----------------------------------------------------------------------

/// `n` distinct sources 10.x.y.z, starting at `from`.
fn srcs(from: u32, n: u32) -> Vec<Ipv4Addr> {
    (from..from + n)
        .map(|i| Ipv4Addr::from(0x0a00_0000 + i))
        .collect()
}

fn group_n(i: u8) -> Ipv4Addr {
    Ipv4Addr::new(239, 1, 1, i)
}

fn v3(msg: Result<IgmpMessage<'_>, ParseError>) -> V3Report<'_> {
    match msg {
        Ok(IgmpMessage::V3Report(r)) => r,
        other => panic!("not a v3 report: {other:?}"),
    }
}

/// (type, group, sources) of every yielded record.
fn contents(r: &V3Report<'_>) -> Vec<(RecordType, Ipv4Addr, Vec<Ipv4Addr>)> {
    r.records()
        .map(|g| (g.record_type, g.group, g.sources.collect()))
        .collect()
}

/// 400 sources in 4 records of 100 (408 bytes each): 8 + 4 × 408 = 1640 bytes.
fn jumbo_report() -> (Vec<u8>, Vec<Vec<Ipv4Addr>>) {
    let lists: Vec<Vec<Ipv4Addr>> = (0..4).map(|i| srcs(i * 100, 100)).collect();
    let recs: Vec<Vec<u8>> = lists
        .iter()
        .enumerate()
        .map(|(i, l)| record(5, group_n(i as u8), l, 0))
        .collect();
    let b = v3_report(4, &recs, &[]);
    assert_eq!(b.len(), 1640);
    (b, lists)
}

#[test]
fn truncated_report_keeps_the_complete_records_before_the_cut() {
    let (full, lists) = jumbo_report();
    // A capture cut at 1480 bytes (the classifier cuts longer messages than it carries).
    let cut = &full[..1480];
    // Records 0..3 end at 8 + 3 × 408 = 1232; record 3 (header at 1232) is cut in its sources.
    let r = v3(parse_truncated(cut));
    assert_eq!(r.announced_records(), 4);
    assert_eq!(r.num_records, 4);
    assert_eq!(r.complete_records(), 3);
    assert_eq!(r.lost_records(), 1);
    assert_eq!(r.records().len(), 3);
    assert_eq!(r.records().count(), 3);
    let got = contents(&r);
    for (i, (t, g, s)) in got.iter().enumerate() {
        assert_eq!(*t, RecordType::AllowNew);
        assert_eq!(*g, group_n(i as u8));
        assert_eq!(*s, lists[i]);
    }
    // parse rejects the same bytes: the checksum over the prefix, and with a checksum made to
    // fit, the record count.
    assert!(matches!(parse(cut), Err(ParseError::BadChecksum { .. })));
    let resealed = seal(cut.to_vec());
    assert_eq!(
        parse(&resealed),
        Err(ParseError::RecordSourcesBeyondEnd {
            index: 3,
            nsrc: 100
        })
    );
    assert_eq!(v3(parse_truncated(&resealed)).complete_records(), 3);
    // The full message: the same as parse, nothing lost.
    let r = v3(parse_truncated(&full));
    assert_eq!((r.complete_records(), r.lost_records()), (4, 0));
    assert_eq!(r, v3(parse(&full)));
    // One record of 400 sources (1608 bytes) cut at 1480: nothing survives, one lost.
    let one = v3_report(1, &[record(2, G, &srcs(0, 400), 0)], &[]);
    let r = v3(parse_truncated(&one[..1480]));
    assert_eq!((r.announced_records(), r.complete_records()), (1, 0));
    assert_eq!(r.lost_records(), 1);
    assert_eq!(r.records().next(), None);
}

#[test]
fn cut_in_a_record_header_or_source_list_drops_that_record() {
    let (full, _) = jumbo_report();
    let boundary = 8 + 3 * 408;
    for (cut, complete) in [
        (boundary, 3),           // exactly after record 2: record 3 absent
        (boundary + 1, 3),       // one byte of record 3's header
        (boundary + 7, 3),       // header one byte short
        (boundary + 8, 3),       // header complete, no sources
        (boundary + 8 + 4, 3),   // one source of 100
        (boundary + 8 + 399, 3), // last source partial
        (full.len() - 1, 3),
        (full.len(), 4),
        (8 + 408 + 3, 1),   // in record 1's header
        (8 + 408 + 200, 1), // in record 1's sources
        (8, 0),
        (9, 0),
    ] {
        let r = v3(parse_truncated(&full[..cut]));
        assert_eq!(r.complete_records(), complete, "cut at {cut}");
        assert_eq!(r.records().count(), usize::from(complete), "cut at {cut}");
        assert_eq!(r.lost_records(), 4 - complete, "cut at {cut}");
        if cut < full.len() {
            assert!(parse(&full[..cut]).is_err(), "cut at {cut}");
            assert!(parse(&seal(full[..cut].to_vec())).is_err(), "cut at {cut}");
        }
    }
}

#[test]
fn truncated_report_keeps_a_record_whose_aux_data_is_cut() {
    let b = v3_report(2, &[record(1, G, &[S1], 0), record(2, G, &[S2], 3)], &[]);
    // Record 1 spans 20..44: header 20..28, source 28..32, aux 32..44.
    let r = v3(parse_truncated(&b[..36]));
    assert_eq!((r.complete_records(), r.lost_records()), (2, 0));
    let got = contents(&r);
    assert_eq!(got[1], (RecordType::IsExclude, G, vec![S2]));
    assert_eq!(r.records().nth(1).unwrap().aux_words, 3);
    // Cut inside its source instead: dropped.
    let r = v3(parse_truncated(&b[..30]));
    assert_eq!((r.complete_records(), r.lost_records()), (1, 1));
}

#[test]
fn truncated_query_keeps_the_sources_that_fit() {
    let all = srcs(0, 10);
    let b = v3_query(100, G, true, 2, 125, &all);
    assert_eq!(b.len(), 12 + 40);
    for (cut, kept) in [
        (12, 0),
        (15, 0),
        (16, 1),
        (12 + 4 * 3 + 2, 3),
        (51, 9),
        (52, 10),
    ] {
        let Ok(IgmpMessage::Query(q)) = parse_truncated(&b[..cut]) else {
            panic!("cut at {cut}")
        };
        assert_eq!(q.version, QueryVersion::V3);
        assert_eq!((q.group, q.s_flag, q.qrv, q.qqic), (G, true, 2, 125));
        assert_eq!(
            q.sources.collect::<Vec<_>>(),
            all[..kept].to_vec(),
            "cut at {cut}"
        );
        if cut < b.len() {
            assert!(parse(&b[..cut]).is_err());
            assert_eq!(
                parse(&seal(b[..cut].to_vec())),
                Err(ParseError::QuerySourcesBeyondEnd { nsrc: 10, len: cut })
            );
        }
    }
    // 9–11 bytes stay an error, as does anything under 8.
    assert_eq!(
        parse_truncated(&b[..10]),
        Err(ParseError::BadQueryLength { len: 10 })
    );
    assert_eq!(
        parse_truncated(&b[..7]),
        Err(ParseError::Truncated { len: 7 })
    );
}

#[test]
fn truncated_other_messages_parse_as_usual_without_checksum() {
    let mut b = v2(TYPE_V2_REPORT, 0, G);
    assert_eq!(parse_truncated(&b), parse(&b));
    b[2] ^= 0xff; // checksum no longer verifies: parse_truncated does not look
    assert!(parse(&b).is_err());
    assert_eq!(parse_truncated(&b), Ok(IgmpMessage::V2Report { group: G }));
    b.extend_from_slice(&[1, 2, 3]); // trailing bytes ignored
    assert_eq!(parse_truncated(&b), Ok(IgmpMessage::V2Report { group: G }));
    let leave = v2(TYPE_V2_LEAVE, 0, G);
    assert_eq!(
        parse_truncated(&leave),
        Ok(IgmpMessage::V2Leave { group: G })
    );
    assert_eq!(
        parse_truncated(&v2(0x42, 0, G)),
        Err(ParseError::UnknownType { msg_type: 0x42 })
    );
    // Unknown record types are yielded, as by parse.
    let r = v3_report(2, &[record(9, G, &[S1], 0), record(5, G, &[S2], 0)], &[]);
    assert_eq!(v3(parse_truncated(&r)), v3(parse(&r)));
}

#[test]
fn every_cut_position_is_safe_and_a_prefix_of_the_full_parse() {
    let recs = vec![
        record(1, group_n(1), &srcs(0, 3), 0),
        record(9, group_n(2), &[], 1),
        record(4, group_n(3), &srcs(10, 1), 2),
        record(6, group_n(4), &srcs(20, 7), 0),
        record(2, group_n(5), &[], 0),
    ];
    let full = v3_report(5, &recs, &[0xee; 5]);
    let expected = contents(&v3(parse(&full)));
    assert_eq!(expected.len(), 5);
    // Where each record's header + sources end (aux data may be cut).
    let mut ends = Vec::new();
    let mut at = 8;
    for r in &recs {
        let nsrc = usize::from(u16::from_be_bytes([r[2], r[3]]));
        ends.push(at + 8 + nsrc * 4);
        at += r.len();
    }
    let mut last = 0;
    for cut in 0..=full.len() {
        let prefix = &full[..cut];
        let res = parse_truncated(prefix);
        if cut < 8 {
            assert_eq!(res, Err(ParseError::Truncated { len: cut }));
            continue;
        }
        let r = v3(res);
        let n = r.complete_records();
        assert_eq!(
            n,
            ends.iter().filter(|e| **e <= cut).count() as u16,
            "cut {cut}"
        );
        assert!(n >= last, "monotonic");
        last = n;
        assert_eq!(r.announced_records(), 5);
        assert_eq!(r.lost_records(), 5 - n);
        assert_eq!(r.records().len(), usize::from(n));
        let got = contents(&r);
        assert_eq!(got[..], expected[..usize::from(n)], "cut {cut}");
        // parse of the same bytes fails unless the cut is past the records.
        if cut < at {
            assert!(parse(prefix).is_err(), "cut {cut}");
        }
    }
    // Same for a query and for garbage of every length (no panic, whatever the result).
    let q = v3_query(100, G, false, 2, 125, &srcs(0, 5));
    for cut in 0..=q.len() {
        let _ = parse_truncated(&q[..cut]);
    }
    let mut junk = full.clone();
    for (i, byte) in junk.iter_mut().enumerate().skip(8) {
        *byte = (i * 37) as u8;
    }
    for cut in 0..=junk.len() {
        if let Ok(IgmpMessage::V3Report(r)) = parse_truncated(&junk[..cut]) {
            assert_eq!(r.records().count(), usize::from(r.complete_records()));
        }
    }
}

#[test]
fn record_type_constants_are_the_rfc_values_and_round_trip() {
    let all = [
        (MODE_IS_INCLUDE, 1, RecordType::IsInclude),
        (MODE_IS_EXCLUDE, 2, RecordType::IsExclude),
        (CHANGE_TO_INCLUDE_MODE, 3, RecordType::ToInclude),
        (CHANGE_TO_EXCLUDE_MODE, 4, RecordType::ToExclude),
        (ALLOW_NEW_SOURCES, 5, RecordType::AllowNew),
        (BLOCK_OLD_SOURCES, 6, RecordType::BlockOld),
    ];
    for (constant, wire, parsed) in all {
        assert_eq!(constant, wire);
        assert_eq!(RecordType::from_u8(constant), parsed);
        assert_eq!(parsed.as_u8(), constant);
    }
    assert_eq!(RecordType::from_u8(0), RecordType::Unknown(0));
    assert_eq!(RecordType::from_u8(7).as_u8(), 7);
}
