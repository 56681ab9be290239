//! RFC 3376 §5.2: responses to general, group-specific and group-and-source-specific queries,
//! the five scheduling rules, and what is (not) answered.

use super::*;

/// Robustness 1 (no retransmissions to get in the way): G in EXCLUDE({S1}), G2 in
/// INCLUDE({S1, S2}); clock at T0.
fn members() -> Rig {
    let mut r = Rig::with(HostConfig {
        robustness: 1,
        ..HostConfig::default()
    });
    r.set(G, exc(&[S1]));
    r.set(G2, inc(&[S1, S2]));
    assert_eq!(r.host.next_deadline(), None);
    r
}

fn at(r: &mut Rig, t: u64) {
    assert!(r.run_until(t).is_empty(), "nothing before {t}");
}

#[test]
fn general_query_is_answered_after_a_delay_within_max_resp_time() {
    let mut r = members();
    r.delays(&[3 * SEC]);
    r.query(&general_v3(100));
    assert_eq!(r.asked(), vec![10 * SEC], "drawn within Max Resp Time");
    assert_eq!(r.host.next_deadline(), Some(T0 + 3 * SEC));
    let later = r.settle();
    assert_eq!(
        later,
        vec![(
            T0 + 3 * SEC,
            v3(&[rec(IS_EX, G, &[S1]), rec(IS_IN, G2, &[S1, S2])])
        )]
    );
}

#[test]
fn several_general_queries_get_one_response() {
    let mut r = members();
    r.delays(&[3 * SEC, 5 * SEC, 500 * MS]);
    r.query(&general_v3(100));
    at(&mut r, T0 + SEC);
    // Rule 1: the pending response is sooner than T0 + 6 s: nothing more.
    r.query(&general_v3(100));
    assert_eq!(r.host.next_deadline(), Some(T0 + 3 * SEC));
    at(&mut r, T0 + 2 * SEC);
    // Rule 2: T0 + 2.5 s is sooner: it replaces the one at T0 + 3 s.
    r.query(&general_v3(100));
    let later = r.settle();
    assert_eq!(
        later,
        vec![(
            T0 + 2500 * MS,
            v3(&[rec(IS_EX, G, &[S1]), rec(IS_IN, G2, &[S1, S2])])
        )]
    );
}

#[test]
fn group_query_is_answered_with_that_group_only() {
    let mut r = members();
    r.delays(&[400 * MS]);
    r.query(&v3_query(G, &[], 10));
    assert_eq!(r.asked(), vec![SEC]);
    assert_eq!(
        r.settle(),
        vec![(T0 + 400 * MS, v3(&[rec(IS_EX, G, &[S1])]))]
    );
    // A v2 group-specific query heard in v3 mode: the same, and no v2 mode.
    r.delays(&[200 * MS]);
    let t = r.now;
    r.query(&v2_query(G2, 10));
    assert_eq!(r.host.version(t), 3);
    assert_eq!(
        r.settle(),
        vec![(t + 200 * MS, v3(&[rec(IS_IN, G2, &[S1, S2])]))]
    );
}

#[test]
fn group_and_source_query_answers_per_the_table() {
    let mut r = members();
    // INCLUDE(B): IS_IN(A*B).
    r.delays(&[100 * MS]);
    r.query(&v3_query(G2, &[S2, S3], 10));
    assert_eq!(
        r.settle(),
        vec![(T0 + 100 * MS, v3(&[rec(IS_IN, G2, &[S2])]))]
    );
    // EXCLUDE(B): IS_IN(A-B).
    r.delays(&[100 * MS]);
    let t = r.now;
    r.query(&v3_query(G, &[S1, S2], 10));
    assert_eq!(
        r.settle(),
        vec![(t + 100 * MS, v3(&[rec(IS_IN, G, &[S2])]))]
    );
    // Nothing in common: no response at all.
    r.delays(&[100 * MS]);
    r.query(&v3_query(G2, &[S3], 10));
    assert_eq!(r.settle(), vec![]);
    r.delays(&[100 * MS]);
    r.query(&v3_query(G, &[S1], 10));
    assert_eq!(r.settle(), vec![]);
    assert_eq!(r.asked(), vec![SEC; 4]);
}

#[test]
fn group_query_after_a_source_query_answers_the_whole_group() {
    // Rule 4, both ways: the earlier time, no source list.
    let mut r = members();
    r.delays(&[800 * MS, 300 * MS]);
    r.query(&v3_query(G2, &[S1], 10));
    at(&mut r, T0 + 100 * MS);
    r.query(&v3_query(G2, &[], 10));
    assert_eq!(
        r.settle(),
        vec![(T0 + 400 * MS, v3(&[rec(IS_IN, G2, &[S1, S2])]))]
    );

    let mut r = members();
    r.delays(&[300 * MS, 900 * MS]);
    r.query(&v3_query(G2, &[], 10));
    r.query(&v3_query(G2, &[S1], 10));
    assert_eq!(
        r.settle(),
        vec![(T0 + 300 * MS, v3(&[rec(IS_IN, G2, &[S1, S2])]))],
        "a pending group query stays whole"
    );
}

#[test]
fn source_queries_for_a_group_are_united() {
    // Rule 5: A = {S1} ∪ {S2, S3}, answered at the earlier time against INCLUDE({S1, S2}).
    let mut r = members();
    r.delays(&[800 * MS, 200 * MS]);
    r.query(&v3_query(G2, &[S1], 10));
    at(&mut r, T0 + 100 * MS);
    r.query(&v3_query(G2, &[S2, S3], 10));
    assert_eq!(
        r.settle(),
        vec![(T0 + 300 * MS, v3(&[rec(IS_IN, G2, &[S1, S2])]))]
    );
}

/// `n` sources of 198.51.100.0/24 and then 192.0.2.0/24, from the `from`-th on.
fn many_sources(from: usize, n: usize) -> Vec<Ipv4Addr> {
    (from..from + n)
        .map(|i| {
            let net = if i < 256 { [198, 51, 100] } else { [192, 0, 2] };
            Ipv4Addr::new(net[0], net[1], net[2], (i % 256) as u8)
        })
        .collect()
}

#[test]
fn united_source_lists_stop_at_what_one_record_carries() {
    // Rule 5 up to the sources one record of a full report carries (365): past them the pending
    // answer becomes the group's (rule 4's superset), so a querier cannot grow it without bound.
    let mut r = members();
    let (a, b) = (many_sources(0, 200), many_sources(200, 165));
    r.delays(&[800 * MS, 200 * MS]);
    r.query(&v3_query(G, &a, 10));
    r.query(&v3_query(G, &b, 10));
    let mut all: Vec<Ipv4Addr> = a.iter().chain(&b).copied().collect();
    all.sort();
    assert_eq!(
        r.settle(),
        vec![(T0 + 200 * MS, v3(&[rec(IS_IN, G, &all)]))],
        "365 sources: still the source answer, IS_IN(A-B) in one record"
    );

    let mut r = members();
    let c = many_sources(365, 1);
    r.delays(&[800 * MS, 200 * MS, 500 * MS]);
    r.query(&v3_query(G, &a, 10));
    r.query(&v3_query(G, &b, 10));
    r.query(&v3_query(G, &c, 10));
    assert_eq!(
        r.settle(),
        vec![(T0 + 200 * MS, v3(&[rec(IS_EX, G, &[S1])]))],
        "366 sources: the group answer"
    );
}

#[test]
fn a_sooner_general_response_covers_group_queries() {
    let mut r = members();
    r.delays(&[2 * SEC, 3 * SEC, 500 * MS]);
    r.query(&general_v3(100));
    at(&mut r, T0 + 500 * MS);
    // Rule 1: the general response (T0 + 2 s) is sooner than T0 + 3.5 s.
    r.query(&v3_query(G, &[], 100));
    // Not sooner than T0 + 1 s: the group gets its own answer first.
    r.query(&v3_query(G2, &[], 100));
    assert_eq!(
        r.settle(),
        vec![
            (T0 + SEC, v3(&[rec(IS_IN, G2, &[S1, S2])])),
            (
                T0 + 2 * SEC,
                v3(&[rec(IS_EX, G, &[S1]), rec(IS_IN, G2, &[S1, S2])])
            ),
        ]
    );
}

#[test]
fn group_and_general_due_together_send_the_general_response_once() {
    let mut r = members();
    r.delays(&[2 * SEC, SEC]);
    r.query(&v3_query(G, &[S4], 100));
    at(&mut r, T0 + SEC);
    r.query(&general_v3(100));
    assert_eq!(
        r.settle(),
        vec![(
            T0 + 2 * SEC,
            v3(&[rec(IS_EX, G, &[S1]), rec(IS_IN, G2, &[S1, S2])])
        )]
    );
}

#[test]
fn the_response_reports_the_state_when_it_is_sent() {
    // Robustness 2, 5 s interval: G2's leave is still being retransmitted when the response goes.
    let mut r = Rig::with(HostConfig {
        unsolicited_report_interval_ns: 5 * SEC,
        ..HostConfig::default()
    });
    r.delays(&[100 * MS, 100 * MS]);
    r.set(G, exc(&[S1]));
    r.set(G2, inc(&[S1, S2]));
    r.settle();
    let t = r.now;
    r.delays(&[2 * SEC]);
    r.query(&general_v3(100));
    at(&mut r, t + SEC);
    r.delays(&[3 * SEC, 3 * SEC]);
    assert_eq!(r.set(G, exc(&[])), vec![v3(&[rec(ALLOW, G, &[S1])])]);
    assert_eq!(
        r.set(G2, Filter::none()),
        vec![v3(&[rec(BLOCK, G2, &[S1, S2])])]
    );
    assert_eq!(
        r.settle(),
        vec![
            (t + 2 * SEC, v3(&[rec(IS_EX, G, &[])])),
            (
                t + 4 * SEC,
                v3(&[rec(ALLOW, G, &[S1]), rec(BLOCK, G2, &[S1, S2])])
            ),
        ],
        "G2 was left: not in the response"
    );
}

#[test]
fn a_group_left_before_its_answer_is_not_reported() {
    let mut r = members();
    r.delays(&[500 * MS]);
    r.query(&v3_query(G, &[], 10));
    assert_eq!(r.set(G, Filter::none()), vec![v3(&[rec(TO_IN, G, &[])])]);
    assert_eq!(
        r.host.next_deadline(),
        None,
        "the answer went with the group"
    );
    assert_eq!(r.settle(), vec![]);

    // While the leave is retransmitted the group is still known; its answer is gone all the same.
    let mut r = Rig::new();
    r.delays(&[100 * MS]);
    r.set(G, exc(&[]));
    r.settle();
    let t = r.now;
    r.delays(&[200 * MS, 500 * MS]);
    r.query(&v3_query(G, &[], 10));
    r.set(G, Filter::none());
    assert_eq!(
        r.host.next_deadline(),
        Some(t + 500 * MS),
        "no wake-up at +200 ms"
    );
    assert_eq!(r.settle(), vec![(t + 500 * MS, v3(&[rec(TO_IN, G, &[])]))]);
}

#[test]
fn nothing_to_report_nothing_drawn() {
    let mut r = members();
    r.query(&v3_query(G3, &[], 100));
    r.query(&v3_query(G3, &[S1], 100));
    r.query(&v2_query(G3, 100));
    assert!(r.asked().is_empty());
    assert_eq!(r.host.next_deadline(), None);
    let mut empty = Rig::new();
    empty.query(&general_v3(100));
    assert!(empty.asked().is_empty());
    assert_eq!(empty.host.next_deadline(), None);
}

#[test]
fn zero_max_resp_time_is_one_tenth() {
    let mut r = members();
    r.delays(&[50 * MS]);
    r.query(&general_v3(0));
    assert_eq!(r.asked(), vec![100 * MS]);
    assert_eq!(
        r.settle(),
        vec![(
            T0 + 50 * MS,
            v3(&[rec(IS_EX, G, &[S1]), rec(IS_IN, G2, &[S1, S2])])
        )]
    );
}

#[test]
fn max_resp_time_float_code() {
    // 200 tenths: code 0x89 (RFC 3376 §4.1.1), 20 s.
    let mut r = members();
    r.delays(&[15 * SEC]);
    r.query(&general_v3(200));
    assert_eq!(r.asked(), vec![20 * SEC]);
    assert_eq!(r.settle().len(), 1);
}
