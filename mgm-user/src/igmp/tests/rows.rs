//! RFC 3376 §6.4.1 (rows 1–4) and §6.4.2 (rows 5–12), row by row, as querier: resulting state,
//! timers, queries and membership deltas.

use super::*;

const T1: u64 = T0 + 10 * SEC;

/// INCLUDE({S1,S2}) with both timers at T0+GMI; clock at T1.
fn include_s1_s2() -> Rig {
    let mut r = Rig::querier();
    r.rec(IS_IN, G, &[S1, S2]);
    r.run_until(T1);
    r
}

/// EXCLUDE(X={S1,S2}, Y={S3,S4}); GT = T0+GMI, S1/S2 at T0+5s+GMI; clock at T1.
fn exclude_x12_y34() -> Rig {
    let mut r = Rig::querier();
    r.rec(IS_EX, G, &[S3, S4]);
    r.run_until(T0 + 5 * SEC);
    r.rec(ALLOW, G, &[S1, S2]);
    r.run_until(T1);
    assert_eq!(r.xy(G), (vec![S1, S2], vec![S3, S4]));
    assert_eq!(r.group(G).group_timer, T0 + GMI);
    r
}

fn lmq(sources: &[Ipv4Addr], s_flag: bool) -> (Vec<Ipv4Addr>, bool) {
    (sources.to_vec(), s_flag)
}

#[test]
fn row01_include_is_in() {
    let mut r = Rig::querier();
    r.rec(IS_IN, G, &[S1]);
    r.run_until(T1);
    let a = r.rec(IS_IN, G, &[S1, S2]);
    assert_eq!(r.group(G).mode, FilterMode::Include);
    assert_eq!(r.source_list(G), vec![S1, S2]);
    assert_eq!(r.st(G, S1), T1 + GMI);
    assert_eq!(r.st(G, S2), T1 + GMI);
    assert!(queries(&a).is_empty());
    assert_eq!(deltas(&a), vec![(G, Some(S2), Join)]);
}

#[test]
fn row02_include_is_ex() {
    let mut r = include_s1_s2();
    let a = r.rec(IS_EX, G, &[S2, S3]);
    let g = r.group(G);
    assert_eq!(g.mode, FilterMode::Exclude);
    assert_eq!(g.group_timer, T1 + GMI);
    assert_eq!(r.xy(G), (vec![S2], vec![S3]));
    assert_eq!(r.st(G, S2), T0 + GMI, "A*B keeps its timer");
    assert!(queries(&a).is_empty(), "current-state records never query");
    assert_eq!(
        deltas(&a),
        vec![
            (G, Some(S3), Block),
            (G, None, Join),
            (G, Some(S1), Leave),
            (G, Some(S2), Leave)
        ]
    );
    // Map: S1 deleted, S3 written as excluded (expires 0), member in EXCLUDE with 2 sources.
    assert!(a.contains(&Action::DeleteSource {
        ifindex: IFINDEX,
        group: G,
        source: S1
    }));
    assert_eq!(r.view.source_of(G, S3).unwrap().expires_ns, 0);
    let m = r.view.member_of(G).unwrap();
    assert_eq!(m.filter_mode, mgm_common::maps::FILTER_MODE_EXCLUDE);
    assert_eq!(m.group_expires_ns, T1 + GMI);
    assert_eq!(m.source_count, 2);
    assert_eq!(m.compat_version, 3);
    assert_eq!(m.last_reporter, H1.octets());
}

#[test]
fn row03_exclude_is_in() {
    let mut r = exclude_x12_y34();
    let a = r.rec(IS_IN, G, &[S3, S5]);
    assert_eq!(r.xy(G), (vec![S1, S2, S3, S5], vec![S4]));
    assert_eq!(r.st(G, S3), T1 + GMI);
    assert_eq!(r.st(G, S5), T1 + GMI);
    assert_eq!(r.st(G, S1), T0 + 5 * SEC + GMI);
    assert_eq!(r.group(G).group_timer, T0 + GMI, "GT untouched");
    assert!(queries(&a).is_empty());
    assert_eq!(deltas(&a), vec![(G, Some(S3), Unblock)]);
}

#[test]
fn row04_exclude_is_ex() {
    let mut r = exclude_x12_y34();
    let a = r.rec(IS_EX, G, &[S2, S4, S5]);
    assert_eq!(r.xy(G), (vec![S2, S5], vec![S4]));
    assert_eq!(r.st(G, S2), T0 + 5 * SEC + GMI, "A*X keeps its timer");
    assert_eq!(r.st(G, S5), T1 + GMI, "A-X-Y = GMI");
    assert_eq!(r.group(G).group_timer, T1 + GMI);
    assert!(queries(&a).is_empty());
    assert_eq!(deltas(&a), vec![(G, Some(S3), Unblock)]);
}

#[test]
fn row05_include_allow() {
    let mut r = Rig::querier();
    r.rec(IS_IN, G, &[S1]);
    r.run_until(T1);
    let a = r.rec(ALLOW, G, &[S2]);
    assert_eq!(r.group(G).mode, FilterMode::Include);
    assert_eq!(r.st(G, S1), T0 + GMI);
    assert_eq!(r.st(G, S2), T1 + GMI);
    assert!(queries(&a).is_empty());
    assert_eq!(deltas(&a), vec![(G, Some(S2), Join)]);
}

#[test]
fn row06_include_block() {
    let mut r = include_s1_s2();
    let a = r.rec(BLOCK, G, &[S2, S3]);
    assert_eq!(r.group(G).mode, FilterMode::Include);
    assert_eq!(
        r.source_list(G),
        vec![S1, S2],
        "BLOCK never adds nor removes at once"
    );
    assert_eq!(r.st(G, S1), T0 + GMI);
    assert_eq!(r.st(G, S2), T1 + LMQT);
    let q = queries(&a);
    assert_eq!(q.len(), 1);
    assert_eq!(q[0].0, G, "sent to the group");
    assert_eq!(gsq(&q[0].1), lmq(&[S2], false));
    assert_eq!(q[0].1.version, QueryVersion::V3);
    assert_eq!(q[0].1.max_resp_tenths, 10, "LMQI");
    assert!(deltas(&a).is_empty());
}

#[test]
fn row07_include_to_ex() {
    let mut r = include_s1_s2();
    let a = r.rec(TO_EX, G, &[S2, S3]);
    assert_eq!(r.group(G).mode, FilterMode::Exclude);
    assert_eq!(r.group(G).group_timer, T1 + GMI);
    assert_eq!(r.xy(G), (vec![S2], vec![S3]));
    assert_eq!(r.st(G, S2), T1 + LMQT, "Q(G,A*B) lowered it");
    let q = queries(&a);
    assert_eq!(q.len(), 1);
    assert_eq!(gsq(&q[0].1), lmq(&[S2], false));
    assert_eq!(
        deltas(&a),
        vec![
            (G, Some(S3), Block),
            (G, None, Join),
            (G, Some(S1), Leave),
            (G, Some(S2), Leave)
        ]
    );
}

#[test]
fn row08_include_to_in() {
    let mut r = include_s1_s2();
    let a = r.rec(TO_IN, G, &[S2, S3]);
    assert_eq!(r.group(G).mode, FilterMode::Include);
    assert_eq!(r.source_list(G), vec![S1, S2, S3]);
    assert_eq!(r.st(G, S1), T1 + LMQT, "Q(G,A-B) lowered it");
    assert_eq!(r.st(G, S2), T1 + GMI);
    assert_eq!(r.st(G, S3), T1 + GMI);
    let q = queries(&a);
    assert_eq!(q.len(), 1);
    assert_eq!(gsq(&q[0].1), lmq(&[S1], false));
    assert_eq!(deltas(&a), vec![(G, Some(S3), Join)]);
}

#[test]
fn row08_leave_of_include_member_is_to_in_empty() {
    // INCLUDE(A) + TO_IN({}): state unchanged, Send Q(G,A); sources age out at LMQT.
    let mut r = include_s1_s2();
    let a = r.rec(TO_IN, G, &[]);
    assert_eq!(gsq(&queries(&a)[0].1), lmq(&[S1, S2], false));
    let later = r.run_until(T1 + LMQT);
    let q = timed_queries(&later);
    assert_eq!(q.len(), 1);
    assert_eq!(q[0].0, T1 + LMQI);
    assert_eq!(
        timed_deltas(&later),
        vec![(T1 + LMQT, Some(S1), Leave), (T1 + LMQT, Some(S2), Leave)]
    );
    assert!(!r.has_group(G));
}

#[test]
fn row09_exclude_allow() {
    let mut r = exclude_x12_y34();
    let a = r.rec(ALLOW, G, &[S4, S5]);
    assert_eq!(r.xy(G), (vec![S1, S2, S4, S5], vec![S3]));
    assert_eq!(r.st(G, S4), T1 + GMI);
    assert_eq!(r.st(G, S5), T1 + GMI);
    assert_eq!(r.st(G, S1), T0 + 5 * SEC + GMI);
    assert!(queries(&a).is_empty());
    assert_eq!(deltas(&a), vec![(G, Some(S4), Unblock)]);
}

#[test]
fn row10_exclude_block() {
    let mut r = exclude_x12_y34();
    let a = r.rec(BLOCK, G, &[S1, S3, S5]);
    // EXCLUDE(X+(A-Y), Y): S5 joins X with the group timer, then Q(G, A-Y={S1,S5}) lowers both.
    assert_eq!(r.xy(G), (vec![S1, S2, S5], vec![S3, S4]));
    assert_eq!(r.st(G, S1), T1 + LMQT);
    assert_eq!(r.st(G, S5), T1 + LMQT);
    assert_eq!(r.st(G, S2), T0 + 5 * SEC + GMI);
    assert_eq!(r.group(G).group_timer, T0 + GMI, "GT untouched");
    let q = queries(&a);
    assert_eq!(q.len(), 1);
    assert_eq!(gsq(&q[0].1), lmq(&[S1, S5], false));
    assert!(deltas(&a).is_empty());
}

#[test]
fn row10_new_source_gets_group_timer() {
    // As non-querier nothing is lowered, so (A-X-Y)=GT is visible.
    let mut r = Rig::non_querier();
    r.rec(IS_EX, G, &[S3]);
    r.run_until(T1);
    let gt = r.group(G).group_timer;
    assert_eq!(gt, T0 + GMI);
    let a = r.rec(BLOCK, G, &[S5]);
    assert_eq!(r.st(G, S5), gt);
    assert!(queries(&a).is_empty(), "only the querier sends");
}

#[test]
fn row11_exclude_to_ex() {
    let mut r = exclude_x12_y34();
    let a = r.rec(TO_EX, G, &[S2, S4, S5]);
    assert_eq!(r.xy(G), (vec![S2, S5], vec![S4]));
    assert_eq!(r.st(G, S2), T1 + LMQT);
    assert_eq!(r.st(G, S5), T1 + LMQT);
    assert_eq!(r.group(G).group_timer, T1 + GMI);
    let q = queries(&a);
    assert_eq!(q.len(), 1);
    assert_eq!(gsq(&q[0].1), lmq(&[S2, S5], false));
    assert_eq!(deltas(&a), vec![(G, Some(S3), Unblock)]);
}

#[test]
fn row11_new_source_gets_old_group_timer() {
    let mut r = Rig::non_querier();
    r.rec(IS_EX, G, &[S3]);
    r.run_until(T1);
    r.rec(TO_EX, G, &[S5]);
    assert_eq!(r.st(G, S5), T0 + GMI, "(A-X-Y)=GT before GT=GMI");
    assert_eq!(r.group(G).group_timer, T1 + GMI);
    assert_eq!(r.xy(G), (vec![S5], vec![]));
}

#[test]
fn row12_exclude_to_in() {
    let mut r = exclude_x12_y34();
    let a = r.rec(TO_IN, G, &[S2, S3]);
    assert_eq!(r.xy(G), (vec![S1, S2, S3], vec![S4]));
    assert_eq!(r.st(G, S2), T1 + GMI);
    assert_eq!(r.st(G, S3), T1 + GMI);
    assert_eq!(r.st(G, S1), T1 + LMQT, "Q(G,X-A)");
    assert_eq!(r.group(G).group_timer, T1 + LMQT, "Q(G)");
    let q = queries(&a);
    assert_eq!(q.len(), 2);
    assert_eq!(gsq(&q[0].1), lmq(&[S1], false));
    assert_eq!(gsq(&q[1].1), lmq(&[], false));
    assert_eq!(deltas(&a), vec![(G, Some(S3), Unblock)]);

    // Nobody answers: one retransmission of each at +LMQI, then GT expires at +LMQT and the
    // group falls back to INCLUDE with the sources that still have timers.
    let later = r.run_until(T1 + LMQT);
    let q = timed_queries(&later);
    assert_eq!(
        q.iter().map(|(t, m)| (*t, gsq(m))).collect::<Vec<_>>(),
        vec![(T1 + LMQI, lmq(&[S1], false)), (T1 + LMQI, lmq(&[], false))]
    );
    assert_eq!(r.group(G).mode, FilterMode::Include);
    assert_eq!(r.source_list(G), vec![S2, S3]);
    assert_eq!(
        timed_deltas(&later),
        vec![
            (T1 + LMQT, Some(S2), Join),
            (T1 + LMQT, Some(S3), Join),
            (T1 + LMQT, None, Leave),
            (T1 + LMQT, Some(S4), Unblock)
        ]
    );
}

#[test]
fn exclude_to_in_empty_is_leave_of_any_source_member() {
    // EXCLUDE(X,Y) + TO_IN({}): Send Q(G,X) and Q(G); group gone after LMQT.
    let mut r = Rig::querier();
    r.rec(IS_EX, G, &[]);
    r.run_until(T1);
    let a = r.rec(TO_IN, G, &[]);
    let q = queries(&a);
    assert_eq!(q.len(), 1, "X is empty: only Q(G)");
    assert_eq!(gsq(&q[0].1), lmq(&[], false));
    let later = r.run_until(T1 + LMQT);
    assert_eq!(timed_deltas(&later), vec![(T1 + LMQT, None, Leave)]);
    assert!(!r.has_group(G));
    assert!(r.view.member_of(G).is_none());
}

#[test]
fn rows_as_non_querier_apply_state_but_send_nothing() {
    let mut r = Rig::non_querier();
    r.rec(IS_IN, G, &[S1, S2]);
    r.run_until(T1);
    let a = r.rec(BLOCK, G, &[S2]); // row 6
    assert!(queries(&a).is_empty());
    assert_eq!(r.st(G, S2), T0 + GMI, "no lowering without the query");
    let a = r.rec(TO_EX, G, &[S2, S3]); // row 7
    assert!(queries(&a).is_empty());
    assert_eq!(r.xy(G), (vec![S2], vec![S3]));
    assert_eq!(r.st(G, S2), T0 + GMI);
    let a = r.rec(TO_IN, G, &[]); // row 12
    assert!(queries(&a).is_empty());
    assert_eq!(r.group(G).group_timer, T1 + GMI);
}

#[test]
fn unknown_record_type_is_ignored_others_processed() {
    let mut r = Rig::querier();
    let a = r.report(H1, &[(9, G, &[S1]), (IS_IN, G2, &[S2])]);
    assert!(!r.has_group(G));
    assert_eq!(r.source_list(G2), vec![S2]);
    assert_eq!(deltas(&a), vec![(G2, Some(S2), Join)]);
}
