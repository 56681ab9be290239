//! The corpus the mutating strategies start from: one valid message of every shape the parser
//! knows, built like the parser's unit tests build their malformed cases (queries of each
//! length, reports with auxiliary data, many records, many sources).
use mgm_common::igmp::{
    checksum, ALLOW_NEW_SOURCES, BLOCK_OLD_SOURCES, CHANGE_TO_EXCLUDE_MODE, CHANGE_TO_INCLUDE_MODE,
    MODE_IS_EXCLUDE, MODE_IS_INCLUDE, TYPE_MEMBERSHIP_QUERY, TYPE_V1_REPORT, TYPE_V2_LEAVE,
    TYPE_V2_REPORT, TYPE_V3_REPORT,
};

/// Writes the IGMP checksum of `b` into bytes 2..4.
pub(crate) fn seal(b: &mut [u8]) {
    if b.len() < 4 {
        return;
    }
    b[2] = 0;
    b[3] = 0;
    let c = checksum(b);
    b[2..4].copy_from_slice(&c.to_be_bytes());
}

fn sealed(mut b: Vec<u8>) -> Vec<u8> {
    seal(&mut b);
    b
}

fn v2(msg_type: u8, code: u8, group: [u8; 4]) -> Vec<u8> {
    let mut b = vec![msg_type, code, 0, 0];
    b.extend_from_slice(&group);
    sealed(b)
}

fn v3_query(code: u8, group: [u8; 4], s_qrv: u8, qqic: u8, sources: u8) -> Vec<u8> {
    let mut b = vec![TYPE_MEMBERSHIP_QUERY, code, 0, 0];
    b.extend_from_slice(&group);
    b.extend_from_slice(&[s_qrv, qqic, 0, sources]);
    for i in 0..sources {
        b.extend_from_slice(&[203, 0, 113, i]);
    }
    sealed(b)
}

/// A group record: type, aux words (their data zero), group 239.1.0.`g`, `n` sources.
pub(crate) fn record(rtype: u8, aux_words: u8, g: u8, n: u8) -> Vec<u8> {
    let mut r = vec![rtype, aux_words, 0, n, 239, 1, 0, g];
    for i in 0..n {
        r.extend_from_slice(&[198, 51, 100, i]);
    }
    r.extend(std::iter::repeat_n(0, usize::from(aux_words) * 4));
    r
}

pub(crate) fn v3_report(records: &[Vec<u8>]) -> Vec<u8> {
    let n = u16::try_from(records.len()).unwrap_or(u16::MAX);
    let mut b = vec![TYPE_V3_REPORT, 0, 0, 0, 0, 0];
    b.extend_from_slice(&n.to_be_bytes());
    for r in records {
        b.extend_from_slice(r);
    }
    sealed(b)
}

pub(crate) fn corpus() -> Vec<Vec<u8>> {
    let g = [239, 1, 2, 3];
    vec![
        v2(TYPE_MEMBERSHIP_QUERY, 0, [0; 4]),
        v2(TYPE_MEMBERSHIP_QUERY, 100, [0; 4]),
        v2(TYPE_MEMBERSHIP_QUERY, 10, g),
        v2(TYPE_V1_REPORT, 0, g),
        v2(TYPE_V2_REPORT, 0, g),
        v2(TYPE_V2_LEAVE, 0, g),
        v3_query(100, [0; 4], 2, 125, 0),
        v3_query(10, g, 0x0a, 125, 3),
        v3_query(0x8f, g, 0x07, 0xff, 1),
        v3_report(&[record(MODE_IS_EXCLUDE, 0, 1, 0)]),
        v3_report(&[
            record(MODE_IS_INCLUDE, 0, 1, 2),
            record(CHANGE_TO_INCLUDE_MODE, 1, 2, 0),
            record(CHANGE_TO_EXCLUDE_MODE, 0, 3, 1),
            record(ALLOW_NEW_SOURCES, 2, 4, 3),
            record(BLOCK_OLD_SOURCES, 0, 5, 1),
        ]),
        v3_report(&[record(7, 0, 1, 1), record(MODE_IS_INCLUDE, 0, 2, 1)]),
        v3_report(
            &(0..60)
                .map(|i| record(MODE_IS_EXCLUDE, 0, i, 0))
                .collect::<Vec<_>>(),
        ),
        v3_report(&[record(MODE_IS_INCLUDE, 0, 1, 200)]),
    ]
}
