//! Membership deltas exactly once per transition; bad input ignored; display and stop.

use super::*;

#[test]
fn repeated_reports_join_once() {
    let mut r = Rig::querier();
    let mut all = Vec::new();
    all.extend(r.rec(IS_EX, G, &[]));
    all.extend(r.v2_report(H2, G));
    all.extend(r.rec(IS_EX, G, &[]));
    all.extend(r.rec(IS_IN, G2, &[S1]));
    all.extend(r.rec(ALLOW, G2, &[S1]));
    all.extend(r.rec(IS_IN, G2, &[S1]));
    assert_eq!(deltas(&all), vec![(G, None, Join), (G2, Some(S1), Join)]);
}

#[test]
fn join_leave_join_pairs() {
    let mut r = Rig::querier();
    let mut all = Vec::new();
    all.extend(r.rec(IS_IN, G, &[S1]));
    all.extend(r.rec(IS_EX, G, &[S2])); // row 2: INCLUDE -> EXCLUDE
    r.run_until(T0 + 10 * SEC);
    all.extend(r.rec(IS_IN, G, &[S2])); // row 3: S2 leaves Y, timer T0+10s+GMI > GT
    all.extend(untimed(r.run_until(T0 + 10 * SEC + GMI))); // GT, then S2 age out
    assert_eq!(
        deltas(&all),
        vec![
            (G, Some(S1), Join),
            (G, Some(S2), Block),
            (G, None, Join),
            (G, Some(S1), Leave),
            (G, Some(S2), Unblock),
            (G, Some(S2), Join),
            (G, None, Leave),
            (G, Some(S2), Leave),
        ]
    );
    assert!(!r.has_group(G));
    // Every join has its leave, every block its unblock.
    let d = deltas(&all);
    let count = |c| d.iter().filter(|(_, _, x)| *x == c).count();
    assert_eq!(count(Join), count(Leave));
    assert_eq!(count(Block), count(Unblock));
}

#[test]
fn reports_for_non_multicast_or_link_local_groups_are_ignored() {
    let mut r = Rig::querier();
    let unicast = Ipv4Addr::new(192, 0, 2, 99);
    let all_systems = Ipv4Addr::new(224, 0, 0, 1);
    let mdns = Ipv4Addr::new(224, 0, 0, 251);
    assert!(r.v2_report(H1, unicast).is_empty());
    assert!(r.v2_report(H1, all_systems).is_empty());
    assert!(r.v1_report(H1, mdns).is_empty());
    assert!(r.rec(IS_EX, unicast, &[]).is_empty());
    assert!(r.rec(TO_EX, mdns, &[]).is_empty());
    assert!(r.leave(H1, Ipv4Addr::UNSPECIFIED).is_empty());
    assert_eq!(r.iface.group_count(), 0);
}

#[test]
fn bogus_sources_are_dropped_from_records() {
    let mut r = Rig::querier();
    r.rec(
        IS_IN,
        G,
        &[
            Ipv4Addr::UNSPECIFIED,
            Ipv4Addr::BROADCAST,
            Ipv4Addr::new(232, 9, 9, 9),
            S1,
        ],
    );
    assert_eq!(r.source_list(G), vec![S1]);
}

#[test]
fn leave_or_block_for_unknown_group_creates_nothing() {
    let mut r = Rig::querier();
    assert!(r.leave(H1, G).is_empty());
    assert!(r.rec(BLOCK, G, &[S1]).is_empty());
    assert!(r.rec(TO_IN, G, &[]).is_empty());
    assert_eq!(r.iface.group_count(), 0);
    assert!(r.view.members.borrow().is_empty());
}

#[test]
fn summaries_for_show_groups() {
    let mut r = Rig::querier();
    r.rec(IS_EX, G, &[S2]);
    r.rec(ALLOW, G, &[S1]);
    r.rec(IS_IN, G2, &[S3]);
    let s = r.iface.summaries(r.now);
    assert_eq!(
        s,
        vec![
            GroupSummary {
                group: G,
                filter_mode: FilterMode::Exclude,
                expires_ns: T0 + GMI,
                compat_version: 3,
                last_reporter: H1,
                v1_host_expires_ns: 0,
                v2_host_expires_ns: 0,
                sources: vec![
                    SourceSummary {
                        source: S1,
                        expires_ns: T0 + GMI,
                        forwarding: true
                    },
                    SourceSummary {
                        source: S2,
                        expires_ns: 0,
                        forwarding: false
                    },
                ],
                hosts: None,
            },
            GroupSummary {
                group: G2,
                filter_mode: FilterMode::Include,
                expires_ns: T0 + GMI,
                compat_version: 3,
                last_reporter: H1,
                v1_host_expires_ns: 0,
                v2_host_expires_ns: 0,
                sources: vec![SourceSummary {
                    source: S3,
                    expires_ns: T0 + GMI,
                    forwarding: true
                }],
                hosts: None,
            },
        ]
    );
    assert_eq!(FilterMode::Exclude.as_str(), "exclude");
}

#[test]
fn stop_removes_everything_once() {
    let mut r = Rig::querier();
    r.rec(IS_EX, G, &[S2]);
    r.rec(IS_IN, G2, &[S3]);
    let a = r.iface.stop(r.now, &r.view);
    r.view.apply(&a);
    assert_eq!(
        deltas(&a),
        vec![
            (G, None, Leave),
            (G, Some(S2), Unblock),
            (G2, Some(S3), Leave)
        ]
    );
    assert!(queries(&a).is_empty());
    assert!(r.view.members.borrow().is_empty());
    assert!(r.view.sources.borrow().is_empty());
    assert_eq!(r.iface.group_count(), 0);
    assert_eq!(r.iface.next_deadline(), None);
}

#[test]
fn restart_readopts_map_entries() {
    // A first daemon builds state; a second one starts from its maps.
    let mut old = Rig::querier();
    old.rec(IS_EX, G, &[S2]);
    old.rec(ALLOW, G, &[S1]);
    old.rec(IS_IN, G2, &[S3]);
    old.run_until(T0 + 50 * SEC);
    let members = old.view.members.borrow().clone();
    let sources = old.view.sources.borrow().clone();

    let (iface, _) = IgmpInterface::new(IFINDEX, US, IgmpConfig::default(), T0 + 50 * SEC);
    let mut new = Rig {
        iface,
        view: MapView::default(),
        now: T0 + 50 * SEC,
    };
    *new.view.members.borrow_mut() = members.clone();
    *new.view.sources.borrow_mut() = sources.clone();
    let mut all = Vec::new();
    let mut keys: Vec<_> = members.keys().copied().collect();
    keys.sort();
    for (ifindex, g) in keys {
        let srcs: Vec<(Ipv4Addr, SourceState)> = sources
            .iter()
            .filter(|((i, gg, _), _)| *i == ifindex && *gg == g)
            .map(|((_, _, s), st)| (*s, *st))
            .collect();
        let a = new
            .iface
            .restore_group(new.now, g, members[&(ifindex, g)], &srcs, &new.view);
        new.view.apply(&a);
        all.extend(a);
    }
    new.check_invariants();
    assert_eq!(
        deltas(&all),
        vec![(G, Some(S2), Block), (G, None, Join), (G2, Some(S3), Join)]
    );
    assert!(
        !all.iter()
            .any(|a| matches!(a, Action::WriteSource { .. } | Action::DeleteSource { .. })),
        "sources already right in the maps are not rewritten"
    );
    assert_eq!(new.iface.summaries(new.now), old.iface.summaries(old.now));
    // And it ages out like the original.
    let a = new.run_until(T0 + GMI);
    assert_eq!(
        timed_deltas(&a),
        vec![
            (T0 + GMI, None, Leave),
            (T0 + GMI, Some(S2), Unblock),
            (T0 + GMI, Some(S3), Leave)
        ]
    );
}

#[test]
fn restore_drops_garbage_and_expired() {
    let (mut r, _) = Rig::new();
    let unicast = Ipv4Addr::new(192, 0, 2, 99);
    let m = MemberState {
        filter_mode: mgm_common::maps::FILTER_MODE_INCLUDE,
        compat_version: 3,
        source_count: 1,
        ..MemberState::default()
    };
    let st = SourceState {
        expires_ns: T0 + 10 * SEC,
        ..SourceState::default()
    };
    r.view.members.borrow_mut().insert((IFINDEX, unicast), m);
    r.view
        .sources
        .borrow_mut()
        .insert((IFINDEX, unicast, S1), st);
    let a = r
        .iface
        .restore_group(r.now, unicast, m, &[(S1, st)], &r.view);
    r.view.apply(&a);
    assert!(deltas(&a).is_empty());
    assert!(a.contains(&Action::DeleteMember {
        ifindex: IFINDEX,
        group: unicast
    }));
    // An INCLUDE group whose only source already expired.
    let old = SourceState {
        expires_ns: T0 - SEC,
        ..SourceState::default()
    };
    r.view.members.borrow_mut().insert((IFINDEX, G), m);
    r.view.sources.borrow_mut().insert((IFINDEX, G, S1), old);
    let a = r.iface.restore_group(r.now, G, m, &[(S1, old)], &r.view);
    r.view.apply(&a);
    assert!(deltas(&a).is_empty());
    assert_eq!(r.iface.group_count(), 0);
    r.check_invariants();
}

#[test]
fn new_groups_beyond_max_groups_are_refused_and_counted() {
    let cfg = IgmpConfig {
        max_groups: 2,
        ..IgmpConfig::default()
    };
    let mut r = Rig::with(cfg).0;
    let g3 = Ipv4Addr::new(239, 3, 3, 3);
    assert_eq!(deltas(&r.rec(IS_EX, G, &[])), vec![(G, None, Join)]);
    assert_eq!(deltas(&r.v2_report(H1, G2)), vec![(G2, None, Join)]);
    // A third group: nothing kept, nothing written, nothing joined; the first refusal told.
    assert_eq!(
        r.rec(IS_EX, g3, &[]),
        vec![Action::Notice {
            ifindex: IFINDEX,
            notice: RouterNotice::GroupRefused {
                host: H1,
                group: g3,
                per_host: false,
                limit: 2
            },
            suppressed: 0
        }]
    );
    assert!(r.v2_report(H1, g3).is_empty(), "told at most once a minute");
    assert!(!r.has_group(g3));
    assert_eq!(r.iface.refused_groups(), 2);
    // Groups already held are still served.
    assert!(r
        .rec(IS_EX, G, &[])
        .iter()
        .all(|a| !matches!(a, Action::Membership { .. })));
    assert!(r.has_group(G));
    // Once one goes, a new one fits.
    r.run_until(T0 + GMI + SEC);
    assert!(!r.has_group(G) && !r.has_group(G2));
    assert_eq!(deltas(&r.rec(IS_EX, g3, &[])), vec![(g3, None, Join)]);
}

#[test]
fn truncated_report_applies_the_records_captured_completely() {
    // A 1632-byte report, captured cut at 1480 bytes (as a longer message than an event carries).
    let g3 = Ipv4Addr::new(239, 3, 3, 3);
    let a: Vec<Ipv4Addr> = (0..200u32)
        .map(|i| Ipv4Addr::from(0x0a00_0000 + i))
        .collect();
    let b: Vec<Ipv4Addr> = (0..200u32)
        .map(|i| Ipv4Addr::from(0x0a01_0000 + i))
        .collect();
    let full = v3_report(&[(ALLOW, G, &a), (IS_EX, G2, &[]), (ALLOW, g3, &b)]);
    assert_eq!(full.len(), 8 + 808 + 8 + 808);
    let cut = &full[..1480];
    assert!(igmp::parse(cut).is_err());
    let msg = igmp::parse_truncated(cut).unwrap();
    let igmp::IgmpMessage::V3Report(rep) = msg else {
        panic!()
    };
    assert_eq!(
        (
            rep.announced_records(),
            rep.complete_records(),
            rep.lost_records()
        ),
        (3, 2, 1)
    );
    let mut r = Rig::querier();
    let acts = r
        .iface
        .on_message(r.now, H1, igmp::ALL_V3_ROUTERS, &msg, &r.view);
    r.view.apply(&acts);
    r.check_invariants();
    assert_eq!(r.group(G).sources.len(), 200);
    assert_eq!(r.group(G2).mode, FilterMode::Exclude);
    assert!(!r.has_group(g3));
    assert_eq!(deltas(&acts).len(), 200 + 1);
}

#[test]
fn the_replay_builds_what_was_told_blocks_first_and_the_withdrawal_undoes_it() {
    let mut r = Rig::querier();
    r.rec(IS_EX, G, &[S1]); // EXCLUDE({}, {S1}): (*,G) joined, S1 blocked
    r.rec(IS_IN, G2, &[S2]); // INCLUDE({S2})
    let changes = |a: Vec<Action>| {
        let mut d = deltas(&a);
        d.sort_by_key(|(g, _, _)| *g != G); // G's changes first, each group in its own order
        d
    };
    assert_eq!(
        changes(r.iface.membership_replay()),
        vec![(G, Some(S1), Block), (G, None, Join), (G2, Some(S2), Join)]
    );
    assert_eq!(
        changes(r.iface.membership_withdrawal()),
        vec![
            (G, None, Leave),
            (G, Some(S1), Unblock),
            (G2, Some(S2), Leave)
        ]
    );
    assert_eq!(
        r.iface.group_count(),
        2,
        "the withdrawal leaves the router's state as it is"
    );
}
