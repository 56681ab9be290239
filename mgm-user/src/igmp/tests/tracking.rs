//! Explicit host tracking on a quick-leave link (`igmp/tracking.rs`): a leave cuts at once only
//! what no other tracked host wants, with no query; the last tracked host's leave acts at once
//! as quick leave always did (the one-host rows are in `filters.rs`).

use super::*;
use crate::igmp::tracking::MAX_HOSTS_PER_GROUP;

const T1: u64 = T0 + 10 * SEC;

fn quick() -> Rig {
    Rig::with(IgmpConfig {
        quick_leave: true,
        ..IgmpConfig::default()
    })
    .0
}

fn host(i: u8) -> Ipv4Addr {
    Ipv4Addr::new(198, 51, 100, i)
}

fn group_queries(a: &[Action]) -> Vec<(Ipv4Addr, QueryMessage)> {
    queries(a)
        .into_iter()
        .filter(|(_, q)| !q.group.is_unspecified())
        .collect()
}

#[test]
fn a_leave_keeps_the_group_another_tracked_host_wants_with_no_query() {
    let mut r = quick();
    r.report(H1, &[(IS_EX, G, &[])]);
    r.report(H2, &[(IS_EX, G, &[])]);
    assert_eq!(r.iface.tracked_hosts(G, r.now), Some(vec![H1, H2]));
    r.run_until(T1);
    let a = r.report(H1, &[(TO_IN, G, &[])]);
    assert!(queries(&a).is_empty(), "no query: {a:?}");
    assert!(deltas(&a).is_empty(), "H2 keeps the stream: {a:?}");
    assert_eq!(r.group(G).mode, FilterMode::Exclude);
    assert_eq!(r.group(G).group_timer, T0 + GMI, "GT untouched");
    assert!(!r.group(G).retransmitting());
    assert_eq!(r.iface.tracked_hosts(G, r.now), Some(vec![H2]));
    // The last tracked host's leave acts at once, as quick leave without tracking.
    let a = r.report(H2, &[(TO_IN, G, &[])]);
    assert!(queries(&a).is_empty());
    assert_eq!(deltas(&a), vec![(G, None, MembershipChange::Leave)]);
    assert!(!r.has_group(G));
    assert_eq!(r.iface.tracked_hosts(G, r.now), Some(vec![]));
}

#[test]
fn without_quick_leave_nothing_is_tracked_and_the_rfc_queries_run() {
    let mut r = Rig::querier();
    r.report(H1, &[(IS_EX, G, &[])]);
    r.report(H2, &[(IS_EX, G, &[])]);
    assert_eq!(r.iface.tracked_hosts(G, r.now), None);
    assert_eq!(r.iface.summary(G, r.now).map(|s| s.hosts), Some(None));
    r.run_until(T1);
    let a = r.report(H1, &[(TO_IN, G, &[])]);
    assert_eq!(group_queries(&a).len(), 1, "Q(G)");
    assert_eq!(r.group(G).group_timer, T1 + LMQT);
}

#[test]
fn a_block_keeps_the_sources_another_tracked_host_wants() {
    let mut r = quick();
    r.report(H1, &[(IS_IN, G, &[S1, S2])]);
    r.report(H2, &[(IS_IN, G, &[S2])]);
    r.run_until(T1);
    let a = r.report(H1, &[(BLOCK, G, &[S1, S2])]);
    assert!(queries(&a).is_empty(), "no query: {a:?}");
    assert_eq!(deltas(&a), vec![(G, Some(S1), MembershipChange::Leave)]);
    assert_eq!(r.source_list(G), vec![S2]);
    assert_eq!(r.st(G, S2), T0 + GMI, "S2 untouched");
    assert_eq!(
        r.iface.summary(G, r.now).and_then(|s| s.hosts),
        Some(vec![H2]),
        "H1 wants nothing left: forgotten"
    );
}

#[test]
fn leaving_exclude_keeps_the_sources_an_include_host_wants() {
    // H1 EXCLUDE({S3}), H2 INCLUDE({S3}): group EXCLUDE(X={S3}, Y={}). H1's TO_IN({}) (row 12)
    // expires the group timer (no tracked host in EXCLUDE left) but not S3 (H2 wants it).
    let mut r = quick();
    r.report(H1, &[(IS_EX, G, &[S3])]);
    r.report(H2, &[(IS_IN, G, &[S3])]);
    assert_eq!(r.xy(G), (vec![S3], vec![]));
    r.run_until(T1);
    let a = r.report(H1, &[(TO_IN, G, &[])]);
    assert!(queries(&a).is_empty(), "no query: {a:?}");
    assert_eq!(r.group(G).mode, FilterMode::Include);
    assert_eq!(r.source_list(G), vec![S3]);
    assert_eq!(r.st(G, S3), T0 + GMI);
    assert_eq!(
        deltas(&a),
        vec![
            (G, Some(S3), MembershipChange::Join),
            (G, None, MembershipChange::Leave)
        ]
    );
}

#[test]
fn a_to_ex_blocks_only_what_no_other_tracked_host_wants() {
    // INCLUDE({S1,S2}) from H1, H2 INCLUDE({S2}); H1 TO_EX({S1,S2,S3}) (row 7) would move
    // A*B = {S1,S2} to Y at once: S2 stays forwarded for H2.
    let mut r = quick();
    r.report(H1, &[(IS_IN, G, &[S1, S2])]);
    r.report(H2, &[(IS_IN, G, &[S2])]);
    r.run_until(T1);
    let a = r.report(H1, &[(TO_EX, G, &[S1, S2, S3])]);
    assert!(queries(&a).is_empty(), "no query: {a:?}");
    assert_eq!(r.xy(G), (vec![S2], vec![S1, S3]));
}

#[test]
fn a_host_that_stops_reporting_is_forgotten_after_gmi() {
    let mut r = quick();
    r.report(H1, &[(IS_EX, G, &[])]);
    r.report(H2, &[(IS_EX, G, &[])]);
    // H1 answers the general queries; H2 went away without a leave.
    r.run_until(T0 + 200 * SEC);
    r.report(H1, &[(IS_EX, G, &[])]);
    r.run_until(T0 + GMI - SEC);
    assert_eq!(r.iface.tracked_hosts(G, r.now), Some(vec![H1, H2]));
    r.run_until(T0 + GMI + SEC);
    assert_eq!(r.iface.tracked_hosts(G, r.now), Some(vec![H1]));
    let a = r.report(H1, &[(TO_IN, G, &[])]);
    assert!(group_queries(&a).is_empty());
    assert_eq!(deltas(&a), vec![(G, None, MembershipChange::Leave)]);
    assert!(!r.has_group(G));
}

#[test]
fn v2_hosts_a_leave_keeps_the_group_another_tracked_host_reported() {
    let mut r = quick();
    r.v2_report(H1, G);
    r.v2_report(H2, G);
    r.now = T1;
    let a = r.leave(H1, G);
    assert!(queries(&a).is_empty(), "no query: {a:?}");
    assert!(deltas(&a).is_empty(), "H2 keeps the stream: {a:?}");
    assert_eq!(r.group(G).group_timer, T0 + GMI);
    let a = r.leave(H2, G);
    assert_eq!(deltas(&a), vec![(G, None, MembershipChange::Leave)]);
    assert!(!r.has_group(G));
    // Only the leaver tracked (the other v2 host suppressed its report): cut at once, as
    // documented.
    r.v2_report(H1, G);
    let a = r.leave(H1, G);
    assert_eq!(deltas(&a), vec![(G, None, MembershipChange::Leave)]);
}

#[test]
fn reports_from_0_0_0_0_are_not_tracked_and_the_group_gets_the_rfc_queries_for_a_gmi() {
    // Any number of hosts with no address yet may be behind 0.0.0.0: one leaving says nothing
    // about the others.
    let mut r = quick();
    let anon = Ipv4Addr::UNSPECIFIED;
    r.report(anon, &[(IS_EX, G, &[])]); // host A
    r.report(anon, &[(IS_EX, G, &[])]); // host B
    assert_eq!(r.iface.tracked_hosts(G, r.now), Some(vec![]));
    r.run_until(T1);
    let a = r.report(anon, &[(TO_IN, G, &[])]); // A leaves
    assert!(deltas(&a).is_empty(), "B may still want G: {a:?}");
    assert_eq!(group_queries(&a).len(), 1, "Q(G), as without quick leave");
    assert_eq!(r.group(G).group_timer, T1 + LMQT);

    // A tracked host among anonymous ones: its leave is not enough either.
    let mut r = quick();
    r.report(anon, &[(IS_EX, G, &[])]);
    r.report(H1, &[(IS_EX, G, &[])]);
    assert_eq!(r.iface.tracked_hosts(G, r.now), Some(vec![H1]));
    let a = r.report(H1, &[(TO_IN, G, &[])]);
    assert!(deltas(&a).is_empty(), "{a:?}");
    assert_eq!(group_queries(&a).len(), 1);

    // A GMI after the last anonymous report, tracking is complete again.
    let mut r = quick();
    r.report(anon, &[(IS_EX, G, &[])]);
    r.run_until(T0 + GMI);
    r.report(H1, &[(IS_EX, G, &[])]);
    let a = r.report(H1, &[(TO_IN, G, &[])]);
    assert!(queries(&a).is_empty(), "{a:?}");
    assert_eq!(deltas(&a), vec![(G, None, MembershipChange::Leave)]);
}

/// `n` hosts report G in EXCLUDE({}); then host 1 leaves: the actions of the leave.
fn leave_among(n: u8) -> (Rig, Vec<Action>) {
    let mut r = quick();
    for i in 1..=n {
        r.report(host(i), &[(IS_EX, G, &[])]);
    }
    r.run_until(T1);
    let a = r.report(host(1), &[(TO_IN, G, &[])]);
    (r, a)
}

#[test]
fn past_the_host_bound_the_group_falls_back_to_the_rfc_queries() {
    let n = MAX_HOSTS_PER_GROUP as u8;
    let (r, a) = leave_among(n);
    assert!(queries(&a).is_empty(), "{n} hosts: all tracked");
    assert_eq!(r.iface.tracked_hosts(G, r.now).map(|h| h.len()), Some(63));
    let (r, a) = leave_among(n + 1);
    assert_eq!(group_queries(&a).len(), 1, "{} hosts: Q(G)", n + 1);
    assert_eq!(r.group(G).group_timer, T1 + LMQT);
    assert_eq!(deltas(&a), vec![]);
}

#[test]
fn groups_held_before_tracking_started_get_the_rfc_queries_for_a_gmi() {
    // Quick leave switched on by a reload (a restart restoring the maps is the same): H2,
    // which reported before, is not known yet.
    let mut r = Rig::querier();
    r.report(H1, &[(IS_EX, G, &[])]);
    r.report(H2, &[(IS_EX, G, &[])]);
    let mut cfg = r.iface.config().clone();
    cfg.quick_leave = true;
    r.now = T1;
    let a = r.iface.reconfigure(cfg, r.now, &r.view);
    r.view.apply(&a);
    r.report(H1, &[(IS_EX, G, &[])]);
    let a = r.report(H1, &[(TO_IN, G, &[])]);
    assert_eq!(group_queries(&a).len(), 1, "Q(G), as without quick leave");
    assert_eq!(r.group(G).group_timer, T1 + LMQT);
    // H2 answers the query; a GMI after the start every host has reported.
    r.report(H2, &[(IS_EX, G, &[])]);
    r.run_until(T1 + 100 * SEC);
    r.report(H1, &[(IS_EX, G, &[])]);
    r.report(H2, &[(IS_EX, G, &[])]);
    r.run_until(T1 + GMI + SEC);
    let a = r.report(H1, &[(TO_IN, G, &[])]);
    assert!(group_queries(&a).is_empty());
    assert!(deltas(&a).is_empty(), "H2 keeps it");
    let a = r.report(H2, &[(TO_IN, G, &[])]);
    assert_eq!(deltas(&a), vec![(G, None, MembershipChange::Leave)]);
}

#[test]
fn reports_lost_before_the_router_make_every_group_untracked_for_a_gmi() {
    let mut r = quick();
    r.report(H1, &[(IS_EX, G, &[])]);
    r.run_until(T1);
    // The classifier's budget held back some of the link's reports (or the ring was full):
    // other hosts may want G unknown to the router.
    r.iface.reports_lost(r.now);
    // A group first heard after the loss is not complete either.
    r.report(H2, &[(IS_EX, G2, &[])]);
    let a = r.report(H1, &[(TO_IN, G, &[])]);
    assert_eq!(group_queries(&a).len(), 1, "the RFC's Q(G): {a:?}");
    assert!(deltas(&a).is_empty(), "G kept for its query: {a:?}");
    assert!(r.group(G).retransmitting());
    // H2 refreshes G2 within the GMI; past it, tracking is complete again.
    r.run_until(T1 + GMI - SEC);
    r.report(H2, &[(IS_EX, G2, &[])]);
    r.run_until(T1 + GMI);
    let a = r.report(H2, &[(TO_IN, G2, &[])]);
    assert!(queries(&a).is_empty(), "quick leave again: {a:?}");
    assert_eq!(deltas(&a), vec![(G2, None, MembershipChange::Leave)]);
}

#[test]
fn a_later_loss_renews_the_gmi_and_an_earlier_one_does_not_shorten_it() {
    let mut r = quick();
    r.report(H1, &[(IS_EX, G, &[])]);
    r.iface.reports_lost(T0);
    r.run_until(T1);
    // A later loss extends the window; an earlier deadline does not shorten it.
    r.iface.reports_lost(r.now);
    r.iface.reports_lost(T0);
    r.run_until(T0 + GMI);
    r.report(H1, &[(IS_EX, G, &[])]);
    let a = r.report(H1, &[(TO_IN, G, &[])]);
    assert_eq!(group_queries(&a).len(), 1, "T1 + GMI not reached: {a:?}");
}
