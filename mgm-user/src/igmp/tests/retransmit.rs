//! §6.6.3 last-member queries: counts, intervals, S flag, split messages; §6.6.1 timer
//! lowering on received queries.

use super::*;
use mgm_common::maps::MEMBER_FLAG_SLOW_PATH;

const T1: u64 = T0 + 10 * SEC;

fn gsqs(a: &[(u64, Action)]) -> Vec<(u64, Vec<Ipv4Addr>, bool)> {
    timed_queries(a)
        .into_iter()
        .filter(|(_, q)| !q.is_general())
        .map(|(t, q)| (t, q.sources.clone(), q.s_flag))
        .collect()
}

#[test]
fn v2_leave_querier_sends_lmqc_group_queries_every_lmqi() {
    let mut r = Rig::querier();
    r.v2_report(H1, G);
    r.run_until(T1);
    let a = r.leave(H1, G);
    let q = queries(&a);
    assert_eq!(q.len(), 1);
    assert_eq!(q[0].0, G);
    assert_eq!(q[0].1.group, G);
    assert_eq!(q[0].1.max_resp_tenths, 10);
    assert_eq!(gsq(&q[0].1), (vec![], false));
    assert_eq!(r.group(G).group_timer, T1 + LMQT);
    assert_eq!(
        r.view.member_of(G).unwrap().flags & MEMBER_FLAG_SLOW_PATH,
        MEMBER_FLAG_SLOW_PATH,
        "the fast path stays out while last-member queries run"
    );
    let later = r.run_until(T1 + LMQT);
    assert_eq!(gsqs(&later), vec![(T1 + LMQI, vec![], false)]);
    assert_eq!(timed_deltas(&later), vec![(T1 + LMQT, None, Leave)]);
    assert!(!r.has_group(G));
}

#[test]
fn re_report_during_leave_sets_s_flag_and_keeps_group() {
    let mut r = Rig::querier();
    r.v2_report(H1, G);
    r.run_until(T1);
    r.leave(H1, G);
    r.run_until(T1 + 500 * MS);
    r.v2_report(H2, G); // the other member answers
    assert_eq!(r.group(G).group_timer, T1 + 500 * MS + GMI);
    let later = r.run_until(T1 + 10 * SEC);
    assert_eq!(
        gsqs(&later),
        vec![(T1 + LMQI, vec![], true)],
        "S=1 when GT > LMQT"
    );
    assert!(timed_deltas(&later).is_empty());
    assert!(r.has_group(G));
    assert_eq!(
        r.view.member_of(G).unwrap().flags,
        0,
        "slow-path flag cleared"
    );
}

#[test]
fn source_query_split_into_suppressed_and_plain() {
    let mut r = Rig::querier();
    r.rec(IS_IN, G, &[S1, S2]);
    r.run_until(T1);
    let a = r.rec(BLOCK, G, &[S1, S2]);
    assert_eq!(gsq(&queries(&a)[0].1), (vec![S1, S2], false));
    r.run_until(T1 + 500 * MS);
    r.report(H2, &[(IS_IN, G, &[S1])]); // S1 re-reported: timer back to GMI
    let later = r.run_until(T1 + LMQT);
    assert_eq!(
        gsqs(&later),
        vec![(T1 + LMQI, vec![S1], true), (T1 + LMQI, vec![S2], false)]
    );
    assert_eq!(timed_deltas(&later), vec![(T1 + LMQT, Some(S2), Leave)]);
    assert_eq!(r.source_list(G), vec![S1]);
    assert_eq!(r.st(G, S1), T1 + 500 * MS + GMI);
}

#[test]
fn all_sources_re_reported_only_suppressed_message() {
    let mut r = Rig::querier();
    r.rec(IS_IN, G, &[S1]);
    r.run_until(T1);
    r.rec(BLOCK, G, &[S1]);
    r.run_until(T1 + 500 * MS);
    r.report(H2, &[(ALLOW, G, &[S1])]);
    let later = r.run_until(T1 + 5 * SEC);
    assert_eq!(
        gsqs(&later),
        vec![(T1 + LMQI, vec![S1], true)],
        "empty S=0 message not sent"
    );
}

#[test]
fn lmqc_three_means_three_transmissions_and_lmqt_three_intervals() {
    let cfg = IgmpConfig {
        last_member_query_count: Some(3),
        ..IgmpConfig::default()
    };
    let (mut r, _) = Rig::with(cfg);
    r.v2_report(H1, G);
    r.run_until(T1);
    let a = r.leave(H1, G);
    assert_eq!(queries(&a).len(), 1);
    assert_eq!(r.group(G).group_timer, T1 + 3 * SEC);
    let later = r.run_until(T1 + 3 * SEC);
    assert_eq!(
        gsqs(&later),
        vec![(T1 + SEC, vec![], false), (T1 + 2 * SEC, vec![], false)]
    );
    assert_eq!(timed_deltas(&later), vec![(T1 + 3 * SEC, None, Leave)]);
}

#[test]
fn repeated_leave_does_not_restart_the_cycle() {
    let mut r = Rig::querier();
    r.v2_report(H1, G);
    r.run_until(T1);
    r.leave(H1, G);
    r.run_until(T1 + 500 * MS);
    let a = r.leave(H1, G);
    assert!(queries(&a).is_empty());
    assert_eq!(r.group(G).group_timer, T1 + LMQT);
    let later = r.run_until(T1 + LMQT);
    assert_eq!(gsqs(&later), vec![(T1 + LMQI, vec![], false)]);
    assert!(!r.has_group(G));
}

#[test]
fn repeated_block_sends_nothing_new_and_unknown_sources_no_query() {
    let mut r = Rig::querier();
    r.rec(IS_IN, G, &[S1]);
    r.run_until(T1);
    assert!(
        queries(&r.rec(BLOCK, G, &[S3])).is_empty(),
        "A*B empty: no query"
    );
    assert!(!r.source_list(G).contains(&S3));
    assert_eq!(queries(&r.rec(BLOCK, G, &[S1])).len(), 1);
    r.run_until(T1 + 300 * MS);
    assert!(
        queries(&r.rec(BLOCK, G, &[S1])).is_empty(),
        "S1 already at or below LMQT: nothing marked, nothing sent"
    );
    let later = r.run_until(T1 + LMQT);
    assert_eq!(gsqs(&later), vec![(T1 + LMQI, vec![S1], false)]);
}

#[test]
fn losing_querier_role_cancels_retransmissions() {
    let mut r = Rig::querier();
    r.v2_report(H1, G);
    r.run_until(T1);
    r.leave(H1, G);
    r.run_until(T1 + 500 * MS);
    r.query_v3(LOWER_ROUTER, Ipv4Addr::UNSPECIFIED, false, &[], 100, 2, 125);
    assert!(!r.iface.is_querier());
    assert_eq!(r.view.member_of(G).unwrap().flags, 0);
    let later = r.run_until(T1 + LMQT);
    assert!(gsqs(&later).is_empty());
    assert_eq!(
        timed_deltas(&later),
        vec![(T1 + LMQT, None, Leave)],
        "lowered timer still runs out"
    );
}

#[test]
fn non_querier_lowers_group_timer_on_received_group_query() {
    let mut r = Rig::non_querier();
    r.v2_report(H1, G);
    r.run_until(T1);
    // S=1: no change.
    r.query_v3(LOWER_ROUTER, G, true, &[], 10, 2, 125);
    assert_eq!(r.group(G).group_timer, T0 + GMI);
    // S=0, MRT 1 s: lowered to LMQC x MRT = 2 s.
    let a = r.query_v3(LOWER_ROUTER, G, false, &[], 10, 2, 125);
    assert!(queries(&a).is_empty());
    assert_eq!(r.group(G).group_timer, T1 + 2 * SEC);
    assert_eq!(r.view.member_of(G).unwrap().group_expires_ns, T1 + 2 * SEC);
    let later = r.run_until(T1 + 2 * SEC);
    assert_eq!(timed_deltas(&later), vec![(T1 + 2 * SEC, None, Leave)]);
}

#[test]
fn non_querier_uses_the_queries_max_resp_time() {
    let mut r = Rig::non_querier();
    r.v2_report(H1, G);
    r.run_until(T1);
    r.query_v3(LOWER_ROUTER, G, false, &[], 25, 2, 125);
    assert_eq!(r.group(G).group_timer, T1 + 5 * SEC);
}

#[test]
fn non_querier_lowers_listed_source_timers() {
    let mut r = Rig::non_querier();
    r.rec(IS_IN, G, &[S1, S2]);
    r.run_until(T1);
    r.query_v3(LOWER_ROUTER, G, false, &[S1], 10, 2, 125);
    assert_eq!(r.st(G, S1), T1 + 2 * SEC);
    assert_eq!(r.st(G, S2), T0 + GMI);
    r.query_v3(LOWER_ROUTER, G, true, &[S2], 10, 2, 125);
    assert_eq!(r.st(G, S2), T0 + GMI, "S=1: no lowering");
    let later = r.run_until(T1 + 2 * SEC);
    assert_eq!(timed_deltas(&later), vec![(T1 + 2 * SEC, Some(S1), Leave)]);
}

#[test]
fn rfc2236_non_querier_receiving_v2_gsq_lowers_to_lmqc_times_mrt() {
    let mut r = Rig::non_querier();
    r.v2_report(H1, G);
    r.run_until(T1);
    r.query_v2(LOWER_ROUTER, G, 10);
    assert_eq!(r.group(G).group_timer, T1 + LMQT);
    // A report in "Checking Membership" brings it back to GMI.
    r.v2_report(H2, G);
    assert_eq!(r.group(G).group_timer, T1 + GMI);
}

#[test]
fn our_own_queries_looped_back_change_nothing() {
    let mut r = Rig::querier();
    r.v2_report(H1, G);
    r.run_until(T1);
    let a = r.query_v3(US, Ipv4Addr::UNSPECIFIED, false, &[], 100, 2, 125);
    assert!(a.is_empty());
    assert!(r.iface.is_querier());
    r.query_v3(US, G, false, &[], 10, 2, 125);
    assert_eq!(r.group(G).group_timer, T0 + GMI);
}

#[test]
fn querier_also_lowers_on_a_group_query_from_another_router() {
    // A higher router still querying (before it hears us) sends Q(G): §6.6.1 applies to all.
    let mut r = Rig::querier();
    r.v2_report(H1, G);
    r.run_until(T1);
    r.query_v3(HIGHER_ROUTER, G, false, &[], 10, 2, 125);
    assert!(r.iface.is_querier());
    assert_eq!(r.group(G).group_timer, T1 + LMQT);
}

#[test]
fn block_repeated_at_the_same_instant_sends_once() {
    let mut r = Rig::querier();
    r.rec(IS_IN, G, &[S1]);
    r.run_until(T1);
    assert_eq!(queries(&r.rec(BLOCK, G, &[S1])).len(), 1);
    assert!(
        queries(&r.rec(BLOCK, G, &[S1])).is_empty(),
        "timer == LMQT is not above it"
    );
    let later = r.run_until(T1 + LMQT);
    assert_eq!(gsqs(&later), vec![(T1 + LMQI, vec![S1], false)]);
}
