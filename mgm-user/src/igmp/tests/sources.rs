//! The per-group source limit (`IgmpConfig::max_sources`, group.rs "Source limit"): new
//! sources beyond it are refused in ascending address order and counted; existing ones are
//! still updated; the maps and the membership deltas stay consistent.

use super::*;

const S6: Ipv4Addr = Ipv4Addr::new(203, 0, 113, 6);
const S7: Ipv4Addr = Ipv4Addr::new(203, 0, 113, 7);
const T1: u64 = T0 + 10 * SEC;

fn limited(max_sources: u32) -> Rig {
    Rig::with(IgmpConfig {
        max_sources,
        ..IgmpConfig::default()
    })
    .0
}

fn written_sources(a: &[Action]) -> Vec<Ipv4Addr> {
    a.iter()
        .filter_map(|a| match a {
            Action::WriteSource { source, .. } => Some(*source),
            _ => None,
        })
        .collect()
}

fn deleted_sources(a: &[Action]) -> Vec<Ipv4Addr> {
    a.iter()
        .filter_map(|a| match a {
            Action::DeleteSource { source, .. } => Some(*source),
            _ => None,
        })
        .collect()
}

#[test]
fn default_limit_is_1024() {
    assert_eq!(IgmpConfig::default().max_sources, 1024);
    assert_eq!(config::DEFAULT_MAX_SOURCES, 1024);
}

#[test]
fn row05_allow_beyond_the_limit_keeps_the_lowest_new_addresses() {
    let mut r = limited(4);
    r.rec(IS_IN, G, &[S1, S2]);
    r.run_until(T1);
    // Listed in descending order: the lowest addresses are kept all the same.
    let a = r.rec(ALLOW, G, &[S6, S5, S4, S3]);
    assert_eq!(r.source_list(G), vec![S1, S2, S3, S4]);
    assert_eq!(r.st(G, S3), T1 + GMI);
    assert_eq!(r.st(G, S4), T1 + GMI);
    assert_eq!(r.st(G, S1), T0 + GMI, "untouched");
    assert_eq!(r.iface.refused_sources(), 2);
    assert_eq!(deltas(&a), vec![(G, Some(S3), Join), (G, Some(S4), Join)]);
    assert_eq!(written_sources(&a), vec![S3, S4]);
    assert_eq!(r.view.member_of(G).unwrap().source_count, 4);
    assert_eq!(r.view.sources.borrow().len(), 4);
    // Duplicates and invalid sources are not counted: only S5, S6, S7 are refused.
    let zero = Ipv4Addr::UNSPECIFIED;
    let a = r.rec(ALLOW, G, &[S5, S5, zero, S6, S7]);
    assert!(a.is_empty(), "nothing to write, nobody to tell: {a:?}");
    assert_eq!(r.iface.refused_sources(), 5);
    assert_eq!(r.iface.refused_groups(), 0);
}

#[test]
fn row01_is_in_at_the_limit_refreshes_existing_sources() {
    let mut r = limited(3);
    r.rec(IS_IN, G, &[S1, S2, S3]);
    r.run_until(T1);
    let a = r.rec(IS_IN, G, &[S1, S2, S3, S4]);
    assert_eq!(r.source_list(G), vec![S1, S2, S3]);
    for s in [S1, S2, S3] {
        assert_eq!(r.st(G, s), T1 + GMI, "{s} refreshed");
    }
    assert_eq!(written_sources(&a), vec![S1, S2, S3]);
    assert!(deltas(&a).is_empty());
    assert_eq!(r.iface.refused_sources(), 1);
    // A record of existing sources only is never refused anything.
    r.rec(ALLOW, G, &[S2]);
    r.rec(TO_IN, G, &[S1, S3]); // row 8 at the limit
    assert_eq!(r.iface.refused_sources(), 1);
    // Row 8 with a new source: refused, the Q(G, A-B) is still sent.
    let a = r.rec(TO_IN, G, &[S1, S4]);
    assert_eq!(r.iface.refused_sources(), 2);
    assert!(!r.group(G).sources.contains_key(&S4));
    let q = queries(&a);
    assert_eq!(q.len(), 1);
    assert_eq!(gsq(&q[0].1), (vec![S2, S3], false));
}

#[test]
fn row02_row07_delete_first_then_the_excluded_list_up_to_the_limit() {
    // INCLUDE({S1,S2,S3}) + IS_EX({S3,S4,S5,S6,S7}) with room for 4: Delete(A-B) = {S1,S2}
    // frees room; A*B = {S3} stays; B-A is created S4, S5, S6; S7 is refused (not blocked).
    let mut r = limited(4);
    r.rec(IS_IN, G, &[S1, S2, S3]);
    r.run_until(T1);
    let a = r.rec(IS_EX, G, &[S7, S6, S5, S4, S3]);
    assert_eq!(r.group(G).mode, FilterMode::Exclude);
    assert_eq!(r.xy(G), (vec![S3], vec![S4, S5, S6]));
    assert_eq!(r.iface.refused_sources(), 1);
    assert_eq!(
        deltas(&a),
        vec![
            (G, Some(S4), Block),
            (G, Some(S5), Block),
            (G, Some(S6), Block),
            (G, None, Join),
            (G, Some(S1), Leave),
            (G, Some(S2), Leave),
            (G, Some(S3), Leave),
        ]
    );
    assert_eq!(deleted_sources(&a), vec![S1, S2]);
    assert_eq!(r.view.source_of(G, S6).unwrap().expires_ns, 0);
    assert!(r.view.source_of(G, S7).is_none());
    assert!(r.iface.group(G).unwrap().forwarding().star);
    assert!(!r.group(G).forwarding().blocked.contains(&S7));

    // Row 7 from INCLUDE at the limit with no room: TO_EX of new sources only.
    let mut r = limited(2);
    r.rec(IS_IN, G, &[S1, S2]);
    r.run_until(T1);
    let a = r.rec(TO_EX, G, &[S2, S3, S4]);
    // Delete(A-B) = {S1} leaves room for one of B-A = {S3, S4}.
    assert_eq!(r.xy(G), (vec![S2], vec![S3]));
    assert_eq!(r.iface.refused_sources(), 1);
    let q = queries(&a);
    assert_eq!(q.len(), 1);
    assert_eq!(gsq(&q[0].1), (vec![S2], false), "Q(G, A*B)");
}

#[test]
fn row04_row11_exclude_beyond_the_limit() {
    // EXCLUDE(X={S1}, Y={S2,S3}) + IS_EX({S2,S4,S5,S6,S7}), limit 4: Delete(X-A) = {S1} and
    // Delete(Y-A) = {S3} first; Y*A = {S2} stays; A-X-Y = {S4..S7} gets 3 places.
    let mut r = limited(4);
    r.rec(IS_EX, G, &[S2, S3]);
    r.rec(ALLOW, G, &[S1]);
    r.run_until(T1);
    assert_eq!(r.xy(G), (vec![S1], vec![S2, S3]));
    let a = r.rec(IS_EX, G, &[S7, S6, S5, S4, S2]);
    assert_eq!(r.xy(G), (vec![S4, S5, S6], vec![S2]));
    for s in [S4, S5, S6] {
        assert_eq!(r.st(G, s), T1 + GMI);
    }
    assert_eq!(r.group(G).group_timer, T1 + GMI);
    assert_eq!(r.iface.refused_sources(), 1);
    assert_eq!(deltas(&a), vec![(G, Some(S3), Unblock)]);
    assert_eq!(deleted_sources(&a), vec![S1, S3]);
    assert_eq!(written_sources(&a), vec![S4, S5, S6]);
    assert_eq!(r.view.member_of(G).unwrap().source_count, 4);

    // Row 11: the same with TO_EX: (A-X-Y) = GT; Q(G, A-Y) lists only recorded sources.
    let mut r = limited(4);
    r.rec(IS_EX, G, &[S2, S3]);
    r.rec(ALLOW, G, &[S1]);
    r.run_until(T1);
    let a = r.rec(TO_EX, G, &[S2, S4, S5, S6, S7]);
    assert_eq!(r.xy(G), (vec![S4, S5, S6], vec![S2]));
    assert_eq!(r.iface.refused_sources(), 1);
    assert!(!r.group(G).sources.contains_key(&S7));
    let q = queries(&a);
    assert_eq!(q.len(), 1);
    assert_eq!(
        gsq(&q[0].1),
        (vec![S4, S5, S6], false),
        "Q(G, A-Y) without the refused S7"
    );
    for s in [S4, S5, S6] {
        assert_eq!(r.st(G, s), T1 + LMQT, "lowered by the query");
    }
    // The retransmission lists the same sources; nothing about S7 ever reaches the maps.
    let later = r.run_until(T1 + LMQI);
    let q = timed_queries(&later);
    assert_eq!(q.len(), 1);
    assert_eq!(q[0].1.sources, vec![S4, S5, S6]);
    assert!(r.view.source_of(G, S7).is_none());
}

#[test]
fn rows_3_9_10_12_in_exclude_mode_at_the_limit() {
    // EXCLUDE(X={S1}, Y={S2,S3}) at a limit of 3.
    let mut r = limited(3);
    r.rec(IS_EX, G, &[S2, S3]);
    r.rec(ALLOW, G, &[S1]);
    r.run_until(T1);
    // Row 9: S2 moves from Y to X (not a new record); S4 is refused.
    let a = r.rec(ALLOW, G, &[S2, S4]);
    assert_eq!(r.xy(G), (vec![S1, S2], vec![S3]));
    assert_eq!(r.st(G, S2), T1 + GMI);
    assert_eq!(r.iface.refused_sources(), 1);
    assert_eq!(deltas(&a), vec![(G, Some(S2), Unblock)]);
    // Row 3: the same with IS_IN.
    r.rec(IS_IN, G, &[S3, S5]);
    assert_eq!(r.xy(G), (vec![S1, S2, S3], vec![]));
    assert_eq!(r.iface.refused_sources(), 2);
    // Row 10: BLOCK(A): A-X-Y would be new with the group timer: refused, no query for it.
    let a = r.rec(BLOCK, G, &[S4]);
    assert_eq!(r.iface.refused_sources(), 3);
    assert!(queries(&a).is_empty());
    assert!(a.is_empty(), "{a:?}");
    // Row 12: TO_IN(A): S1 refreshed, S6 refused; Q(G, X-A) and Q(G) are sent.
    let a = r.rec(TO_IN, G, &[S1, S6]);
    assert_eq!(r.iface.refused_sources(), 4);
    assert_eq!(r.st(G, S1), T1 + GMI);
    let q = queries(&a);
    assert_eq!(q.len(), 2);
    assert_eq!(gsq(&q[0].1), (vec![S2, S3], false));
    assert_eq!(gsq(&q[1].1), (vec![], false));
    // Below the limit, row 10 creates again.
    let mut r = limited(3);
    r.rec(IS_EX, G, &[S2]);
    r.run_until(T1);
    r.rec(BLOCK, G, &[S3, S4, S5]);
    assert_eq!(r.xy(G), (vec![S3, S4], vec![S2]));
    assert_eq!(r.st(G, S3), T1 + LMQT, "GT, then lowered by Q(G, A-Y)");
    assert_eq!(r.iface.refused_sources(), 1);
}

#[test]
fn after_sources_age_out_new_ones_fit() {
    let mut r = limited(4);
    r.rec(IS_IN, G, &[S1, S2]);
    r.run_until(T1);
    r.rec(ALLOW, G, &[S3, S4]);
    let a = r.rec(ALLOW, G, &[S5, S6]);
    assert_eq!(
        a,
        vec![Action::Notice {
            ifindex: IFINDEX,
            notice: RouterNotice::SourcesRefused {
                host: H1,
                group: G,
                refused: 2,
                total: false,
                limit: 4
            },
            suppressed: 0
        }],
        "nothing written, the refusal told"
    );
    assert_eq!(r.iface.refused_sources(), 2);
    // S1 and S2 expire at T0 + GMI; S3 and S4 stay.
    let a = r.run_until(T0 + GMI);
    assert_eq!(
        timed_deltas(&a),
        vec![(T0 + GMI, Some(S1), Leave), (T0 + GMI, Some(S2), Leave)]
    );
    assert_eq!(r.source_list(G), vec![S3, S4]);
    let a = r.rec(ALLOW, G, &[S5, S6, S7]);
    assert_eq!(r.source_list(G), vec![S3, S4, S5, S6]);
    assert_eq!(deltas(&a), vec![(G, Some(S5), Join), (G, Some(S6), Join)]);
    assert_eq!(r.iface.refused_sources(), 3);
    // EXCLUDE mode: Y records age with the group; once it falls back to INCLUDE there is room.
    let mut r = limited(2);
    r.rec(IS_EX, G, &[S1, S2]);
    r.rec(ALLOW, G, &[S3]);
    assert_eq!(r.iface.refused_sources(), 1);
    r.run_until(T0 + GMI);
    assert!(!r.has_group(G));
    r.rec(ALLOW, G, &[S3]);
    assert_eq!(r.source_list(G), vec![S3]);
    assert_eq!(r.iface.refused_sources(), 1);
}

#[test]
fn the_limit_is_per_group_and_the_counter_per_interface() {
    let mut r = limited(2);
    let a = r.report(
        H1,
        &[
            (ALLOW, G, &[S1, S2, S3]),
            (IS_EX, G2, &[S1, S2, S3, S4]),
            (ALLOW, G, &[S4]),
        ],
    );
    assert_eq!(r.source_list(G), vec![S1, S2]);
    assert_eq!(r.xy(G2), (vec![], vec![S1, S2]));
    assert_eq!(r.iface.refused_sources(), 1 + 2 + 1);
    assert_eq!(
        deltas(&a),
        vec![
            (G, Some(S1), Join),
            (G, Some(S2), Join),
            (G2, Some(S1), Block),
            (G2, Some(S2), Block),
            (G2, None, Join),
        ]
    );
    assert_eq!(r.view.sources.borrow().len(), 4);
    // v1/v2 reports and leaves carry no sources: never refused anything.
    r.v2_report(H2, G2);
    r.leave(H2, G2);
    assert_eq!(r.iface.refused_sources(), 4);
    // A limit of 1: one record per group.
    let mut r = limited(1);
    r.rec(IS_EX, G, &[S1, S2]);
    assert_eq!(r.xy(G), (vec![], vec![S1]));
    assert_eq!(r.iface.refused_sources(), 1);
}

#[test]
fn a_flood_of_new_sources_stops_at_the_default_limit() {
    let mut r = Rig::querier();
    let lists: Vec<Vec<Ipv4Addr>> = (0..12u32)
        .map(|i| {
            (0..100u32)
                .map(|j| Ipv4Addr::from(0x0a00_0000 + i * 100 + j))
                .collect()
        })
        .collect();
    let recs: Vec<(u8, Ipv4Addr, &[Ipv4Addr])> =
        lists.iter().map(|l| (ALLOW, G, l.as_slice())).collect();
    let a = r.report(H1, &recs);
    assert_eq!(r.group(G).sources.len(), 1024);
    assert_eq!(r.iface.refused_sources(), 1200 - 1024);
    assert_eq!(deltas(&a).len(), 1024);
    assert_eq!(written_sources(&a).len(), 1024);
    assert_eq!(r.view.member_of(G).unwrap().source_count, 1024);
    // Records in message order, each in address order: the first 1024 addresses are kept.
    assert_eq!(
        r.source_list(G).last().copied(),
        Some(Ipv4Addr::from(0x0a00_0000 + 1023))
    );
    // Again: the kept ones refreshed, the rest refused again, nothing new told.
    let a = r.report(H1, &recs);
    assert!(deltas(&a).is_empty());
    assert_eq!(r.iface.refused_sources(), 2 * (1200 - 1024));
}

#[test]
fn a_restored_group_above_the_limit_keeps_its_sources() {
    // A daemon with a limit of 8 leaves 6 sources in the maps; the next runs with 4.
    let mut old = limited(8);
    old.rec(IS_IN, G, &[S1, S2, S3, S4, S5, S6]);
    let members = old.view.members.borrow().clone();
    let sources = old.view.sources.borrow().clone();
    let cfg = IgmpConfig {
        max_sources: 4,
        ..IgmpConfig::default()
    };
    let (iface, _) = IgmpInterface::new(IFINDEX, US, cfg, T1);
    let mut r = Rig {
        iface,
        view: MapView::default(),
        now: T1,
    };
    *r.view.members.borrow_mut() = members.clone();
    *r.view.sources.borrow_mut() = sources.clone();
    let srcs: Vec<(Ipv4Addr, SourceState)> =
        sources.iter().map(|((_, _, s), st)| (*s, *st)).collect();
    let a = r
        .iface
        .restore_group(r.now, G, members[&(IFINDEX, G)], &srcs, &r.view);
    r.view.apply(&a);
    r.check_invariants();
    assert_eq!(r.group(G).sources.len(), 6);
    // Existing ones are still refreshed; new ones are refused until it drops below 4.
    r.rec(ALLOW, G, &[S1, S7]);
    assert_eq!(r.st(G, S1), T1 + GMI);
    assert_eq!(r.group(G).sources.len(), 6);
    assert_eq!(r.iface.refused_sources(), 1);
    r.run_until(T0 + GMI);
    assert_eq!(r.source_list(G), vec![S1]);
    r.rec(ALLOW, G, &[S7]);
    assert_eq!(r.source_list(G), vec![S1, S7]);
    assert_eq!(r.iface.refused_sources(), 1);
}
