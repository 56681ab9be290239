//! Limits against a flooding host (`interface/limits.rs`): groups per host, sources per
//! interface; deletes before writes; tables given back after a storm.

use super::*;

fn grp(i: u32) -> Ipv4Addr {
    Ipv4Addr::from(0xef0a_0000 + i) // 239.10.x.y
}

fn per_host(max_groups: u32, max_groups_per_host: u32) -> Rig {
    Rig::with(IgmpConfig {
        max_groups,
        max_groups_per_host,
        ..IgmpConfig::default()
    })
    .0
}

fn writes(actions: &[Action]) -> usize {
    actions
        .iter()
        .filter(|a| matches!(a, Action::WriteMember { .. } | Action::WriteSource { .. }))
        .count()
}

#[test]
fn a_flooding_host_is_capped_and_another_host_still_joins() {
    let mut r = per_host(100, 3);
    for i in 0..3 {
        assert_eq!(deltas(&r.v2_report(H1, grp(i))), vec![(grp(i), None, Join)]);
    }
    // The flood goes on: H1 holds its 3, further new groups are refused before any state.
    let a = r.v2_report(H1, grp(3));
    assert_eq!(
        a,
        vec![Action::Notice {
            ifindex: IFINDEX,
            notice: RouterNotice::GroupRefused {
                host: H1,
                group: grp(3),
                per_host: true,
                limit: 3
            },
            suppressed: 0
        }]
    );
    for i in 4..50 {
        let a = r.report(H1, &[(IS_EX, grp(i), &[])]);
        assert!(a.is_empty(), "told once a minute, nothing written: {a:?}");
    }
    assert_eq!(r.iface.refused_host_groups(), 47);
    assert_eq!(
        r.iface.refused_groups(),
        0,
        "the interface bound was not reached"
    );
    assert_eq!(r.iface.group_count(), 3);
    assert!(
        r.view.member_of(grp(3)).is_none(),
        "a refused group is not in the map"
    );
    // Another host is not locked out.
    assert_eq!(deltas(&r.v2_report(H2, G)), vec![(G, None, Join)]);
    assert_eq!(r.iface.groups_of_host(H2), 1);
    // H1 still refreshes what it holds.
    let before = r.group(grp(0)).group_timer;
    r.now += 10 * SEC;
    r.v2_report(H1, grp(0));
    assert!(r.group(grp(0)).group_timer > before);
}

#[test]
fn without_the_per_host_bound_one_host_would_take_the_interface() {
    // The interface bound alone: H1's flood takes every slot and H2 is refused.
    let mut r = per_host(5, 5);
    for i in 0..20 {
        r.v2_report(H1, grp(i));
    }
    assert!(r
        .v2_report(H2, G)
        .iter()
        .all(|a| matches!(a, Action::Notice { .. })));
    assert!(!r.has_group(G));
    // With a per-host bound below it, H2 gets in.
    let mut r = per_host(5, 4);
    for i in 0..20 {
        r.v2_report(H1, grp(i));
    }
    assert_eq!(deltas(&r.v2_report(H2, G)), vec![(G, None, Join)]);
}

#[test]
fn a_v3_report_creates_up_to_the_bound_and_the_rest_is_refused() {
    let mut r = per_host(100, 3);
    let none: &[Ipv4Addr] = &[];
    let recs: Vec<(u8, Ipv4Addr, &[Ipv4Addr])> = (0..5).map(|i| (IS_EX, grp(i), none)).collect();
    let a = r.report(H1, &recs);
    assert_eq!(writes(&a), 3);
    assert_eq!(r.iface.group_count(), 3);
    assert!(r.has_group(grp(2)) && !r.has_group(grp(3)));
    assert_eq!(r.iface.refused_host_groups(), 2);
    // INCLUDE-mode records count the same way.
    let mut r = per_host(100, 1);
    r.rec(IS_IN, G, &[S1]);
    let a = r.rec(ALLOW, G2, &[S2]);
    assert_eq!(writes(&a), 0);
    assert!(!r.has_group(G2));
}

#[test]
fn a_group_counts_for_its_last_reporter() {
    let mut r = per_host(100, 2);
    r.v2_report(H1, grp(0));
    r.v2_report(H1, grp(1));
    assert_eq!(r.iface.groups_of_host(H1), 2);
    // H2 reports one of them: it now keeps it alive, and H1 has room for one more.
    r.v2_report(H2, grp(1));
    assert_eq!(
        (r.iface.groups_of_host(H1), r.iface.groups_of_host(H2)),
        (1, 1)
    );
    assert_eq!(deltas(&r.v2_report(H1, grp(2))), vec![(grp(2), None, Join)]);
    // A leave does not move a group; a group gone counts for no one.
    r.leave(H2, grp(0));
    assert_eq!(r.iface.groups_of_host(H1), 2);
    r.run_until(r.now + LMQT + SEC);
    assert!(!r.has_group(grp(0)));
    assert_eq!(r.iface.groups_of_host(H1), 1);
    // Once its groups expire, a host holds nothing.
    r.run_until(T0 + GMI + SEC);
    assert_eq!(r.iface.group_count(), 0);
    assert_eq!(r.iface.host_count(), 0);
    assert_eq!(deltas(&r.v2_report(H1, grp(9))), vec![(grp(9), None, Join)]);
}

#[test]
fn refreshes_the_fast_path_absorbed_move_the_group_when_read_back() {
    let mut r = per_host(100, 1);
    r.rec(IS_EX, G, &[]);
    assert_eq!(r.iface.groups_of_host(H1), 1);
    // H2 refreshes G in the kernel; the router reads it back when G's timer would fire.
    r.view.extend_group(G, T0 + 100 * SEC + GMI, H2);
    r.run_until(T0 + GMI);
    assert!(r.has_group(G));
    assert_eq!(
        (r.iface.groups_of_host(H1), r.iface.groups_of_host(H2)),
        (0, 1)
    );
    // H1 may create a group again; H2, at its bound, may not.
    assert_eq!(deltas(&r.rec(IS_EX, G2, &[])), vec![(G2, None, Join)]);
    let g3 = Ipv4Addr::new(239, 3, 3, 3);
    assert!(deltas(&r.report(H2, &[(IS_EX, g3, &[])])).is_empty());
    // The flooder's own kernel refreshes keep its groups only as long as they come: once they
    // stop, the group expires at the refreshed deadline and the bound is free again.
    r.run_until(T0 + 100 * SEC + GMI);
    assert!(!r.has_group(G));
    assert_eq!(r.iface.groups_of_host(H2), 0);
    assert_eq!(
        deltas(&r.report(H2, &[(IS_EX, g3, &[])])),
        vec![(g3, None, Join)]
    );
}

fn source_limited(max_sources: u32, max_sources_total: u32) -> Rig {
    Rig::with(IgmpConfig {
        max_sources,
        max_sources_total,
        ..IgmpConfig::default()
    })
    .0
}

#[test]
fn sources_are_bounded_per_interface_across_groups() {
    let mut r = source_limited(4, 6);
    r.rec(IS_IN, G, &[S1, S2, S3, S4]);
    assert_eq!(r.iface.source_count(), 4);
    // G2 may take only the 2 left of the interface's 6, in ascending order.
    let a = r.rec(IS_IN, G2, &[S5, S4, S3, S2]);
    assert_eq!(r.source_list(G2), vec![S2, S3]);
    assert_eq!(r.iface.refused_sources_total(), 2);
    assert_eq!(
        r.iface.refused_sources(),
        0,
        "the per-group bound was not reached"
    );
    assert!(a.iter().any(|a| matches!(
        a,
        Action::Notice {
            notice: RouterNotice::SourcesRefused {
                total: true,
                limit: 6,
                refused: 2,
                ..
            },
            ..
        }
    )));
    // The per-group bound still applies on its own.
    let g3 = Ipv4Addr::new(239, 3, 3, 3);
    r.rec(BLOCK, G, &[S1]);
    let a = r.rec(IS_IN, g3, &[S1]);
    assert!(!r.has_group(g3), "no room left on the interface: {a:?}");
    // Space freed in the same record is available: IS_EX in G drops S1..S4 and takes 4 new.
    r.rec(IS_EX, G, &[S5, Ipv4Addr::new(203, 0, 113, 6)]);
    assert_eq!(r.source_list(G).len(), 2);
    assert_eq!(r.iface.source_count(), 4);
    // Expiry frees room.
    r.run_until(T0 + GMI + SEC);
    assert_eq!((r.iface.group_count(), r.iface.source_count()), (0, 0));
    r.rec(IS_IN, g3, &[S1, S2, S3, S4, S5]);
    assert_eq!(r.source_list(g3), vec![S1, S2, S3, S4]);
}

#[test]
fn a_calls_map_deletes_come_before_its_writes() {
    // One report moves sources from G2 (written after G by address) to G: the maps, sized to
    // the limits, must see G2's deletes first.
    let mut r = source_limited(4, 4);
    r.rec(IS_IN, G2, &[S1, S2, S3]);
    let a = r.report(H1, &[(IS_IN, G, &[S1, S2, S3]), (TO_EX, G2, &[])]);
    let first_write = a
        .iter()
        .position(|a| matches!(a, Action::WriteMember { .. } | Action::WriteSource { .. }))
        .expect("writes");
    let last_delete = a
        .iter()
        .rposition(|a| matches!(a, Action::DeleteMember { .. } | Action::DeleteSource { .. }))
        .expect("deletes");
    assert!(last_delete < first_write, "{a:?}");
}

#[test]
fn tables_shrink_after_a_storm() {
    let mut r = Rig::with(IgmpConfig {
        max_groups: 10_000,
        max_groups_per_host: 10_000,
        ..IgmpConfig::default()
    })
    .0;
    for i in 0..1_500 {
        r.v2_report(H1, grp(i));
    }
    let grown = r.iface.group_capacity();
    assert!(grown >= 1_500);
    // Growing past 1024 slots freed the smaller tables it moved out of: worth giving back once.
    assert!(
        r.iface.take_shrunk(),
        "the grown table's old ones were freed"
    );
    r.v2_report(H1, grp(0));
    assert!(!r.iface.take_shrunk(), "nothing to give back while full");
    r.run_until(T0 + GMI + SEC);
    assert_eq!(r.iface.group_count(), 0);
    assert!(r.iface.take_shrunk(), "the storm's tables were given back");
    assert!(!r.iface.take_shrunk(), "told once");
    assert!(
        r.iface.group_capacity() <= 1024,
        "{} of {grown}",
        r.iface.group_capacity()
    );
}

#[test]
fn leaving_a_group_nobody_holds_is_no_refusal() {
    let mut r = per_host(2, 1);
    r.v2_report(H1, grp(0));
    r.v2_report(H2, grp(1));
    // At both limits: a leave, a BLOCK and a TO_IN({}) for unknown groups make no state, so
    // there is nothing to refuse, count or tell.
    let a = r.leave(H1, grp(5));
    assert!(a.is_empty(), "{a:?}");
    r.report(H1, &[(BLOCK, grp(6), &[S1])]);
    r.report(H2, &[(TO_IN, grp(7), &[])]);
    assert_eq!(
        (r.iface.refused_groups(), r.iface.refused_host_groups()),
        (0, 0)
    );
    // A report that would make state still counts.
    r.v2_report(H1, grp(8));
    assert_eq!(r.iface.refused_groups(), 1);
}
