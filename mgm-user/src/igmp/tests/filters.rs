//! Group and source filters (`igmp/filter.rs`, `interface/filters.rs`): applied before any
//! state is made, counted and told; and quick leave (`group.rs`, "Quick leave"), row by row
//! against the RFC 3376 §6.4.2 rows that send last-member queries.

use super::*;
use crate::igmp::action::FilterNotice;
use crate::igmp::Prefix;

const T1: u64 = T0 + 10 * SEC;
/// In 239.255.0.0/16, the deny list of most tests here.
const SSDP: Ipv4Addr = Ipv4Addr::new(239, 255, 255, 250);

fn prefixes(list: &[&str]) -> Vec<Prefix> {
    list.iter().map(|s| s.parse().unwrap()).collect()
}

fn rig(f: impl FnOnce(&mut IgmpConfig)) -> Rig {
    let mut cfg = IgmpConfig::default();
    f(&mut cfg);
    Rig::with(cfg).0
}

fn deny_groups(list: &[&str]) -> Rig {
    rig(|c| c.group_filter.deny = prefixes(list))
}

/// Whether `actions` change anything: map writes or deletes, membership deltas, queries.
fn changes(actions: &[Action]) -> Vec<&Action> {
    actions
        .iter()
        .filter(|a| !matches!(a, Action::Notice { .. }))
        .collect()
}

fn group_notice(host: Ipv4Addr, group: Ipv4Addr, suppressed: u64) -> Action {
    Action::Notice {
        ifindex: IFINDEX,
        notice: RouterNotice::Filtered(FilterNotice::Group { host, group }),
        suppressed,
    }
}

fn sources_notice(host: Ipv4Addr, group: Ipv4Addr, refused: usize) -> Action {
    Action::Notice {
        ifindex: IFINDEX,
        notice: RouterNotice::Filtered(FilterNotice::Sources {
            host,
            group,
            refused,
        }),
        suppressed: 0,
    }
}

// ---- group filters -------------------------------------------------------------------------

#[test]
fn a_filtered_group_produces_no_write_member() {
    // Every input that would create a group, each for a denied group: nothing but the notice.
    let none: &[Ipv4Addr] = &[];
    type Input = Box<dyn Fn(&mut Rig) -> Vec<Action>>;
    let inputs: Vec<(&str, Input)> = vec![
        ("v1 report", Box::new(|r: &mut Rig| r.v1_report(H1, SSDP))),
        ("v2 report", Box::new(|r: &mut Rig| r.v2_report(H1, SSDP))),
        (
            "IS_EX({})",
            Box::new(move |r: &mut Rig| r.rec(IS_EX, SSDP, none)),
        ),
        (
            "TO_EX({S1})",
            Box::new(|r: &mut Rig| r.rec(TO_EX, SSDP, &[S1])),
        ),
        (
            "IS_IN({S1})",
            Box::new(|r: &mut Rig| r.rec(IS_IN, SSDP, &[S1])),
        ),
        (
            "ALLOW({S1})",
            Box::new(|r: &mut Rig| r.rec(ALLOW, SSDP, &[S1])),
        ),
        (
            "TO_IN({S1})",
            Box::new(|r: &mut Rig| r.rec(TO_IN, SSDP, &[S1])),
        ),
    ];
    for (what, input) in &inputs {
        let mut r = deny_groups(&["239.255.0.0/16"]);
        let a = input(&mut r);
        assert!(
            !a.iter()
                .any(|a| matches!(a, Action::WriteMember { .. } | Action::WriteSource { .. })),
            "{what}: {a:?}"
        );
        assert_eq!(a, vec![group_notice(H1, SSDP, 0)], "{what}");
        assert!(!r.has_group(SSDP), "{what}");
        assert!(r.view.member_of(SSDP).is_none(), "{what}: no map entry");
        assert_eq!(r.iface.refused_filtered_groups(), 1, "{what}");
        assert_eq!(r.iface.host_count(), 0, "{what}: nothing held for the host");
    }
}

#[test]
fn refused_groups_are_counted_per_record_and_told_once_a_minute() {
    let mut r = deny_groups(&["239.255.0.0/16"]);
    assert_eq!(r.v2_report(H1, SSDP), vec![group_notice(H1, SSDP, 0)]);
    // The same report every few seconds, a leave, a v3 report with two refused records and one
    // accepted: counted, not told again within the minute.
    r.now += 5 * SEC;
    assert!(r.v2_report(H2, SSDP).is_empty());
    assert!(r.leave(H2, SSDP).is_empty());
    let other = Ipv4Addr::new(239, 255, 0, 1);
    let none: &[Ipv4Addr] = &[];
    let a = r.report(
        H1,
        &[(IS_EX, SSDP, none), (IS_EX, G, none), (IS_EX, other, none)],
    );
    assert_eq!(
        deltas(&a),
        vec![(G, None, Join)],
        "the accepted record applies"
    );
    assert!(!a.iter().any(|a| matches!(a, Action::Notice { .. })));
    assert_eq!(r.iface.refused_filtered_groups(), 5);
    assert_eq!(r.iface.group_count(), 1);
    // A minute after the first notice, the next says how many were held back.
    r.run_until(T0 + 61 * SEC);
    assert_eq!(r.v2_report(H1, SSDP), vec![group_notice(H1, SSDP, 4)]);
    assert_eq!(r.iface.refused_filtered_groups(), 6);
}

#[test]
fn group_allow_and_deny_lists_row_by_row() {
    // (allow, deny, group, accepted)
    let rows: &[(&[&str], &[&str], Ipv4Addr, bool)] = &[
        (&[], &[], SSDP, true),
        (&[], &["239.255.0.0/16"], SSDP, false),
        (&[], &["239.255.0.0/16"], G, true),
        (&["232.0.0.0/8"], &[], G, true),
        (&["232.0.0.0/8"], &[], G2, false),
        (&["232.0.0.0/8", "239.2.0.0/16"], &[], G2, true),
        (&["239.0.0.0/8"], &["239.2.2.2/32"], G2, false),
        (&["239.0.0.0/8"], &["239.2.2.2/32"], SSDP, true),
        (&["0.0.0.0/0"], &["224.0.0.0/4"], G, false),
    ];
    for (allow, deny, group, accepted) in rows {
        let mut r = rig(|c| {
            c.group_filter.allow = prefixes(allow);
            c.group_filter.deny = prefixes(deny);
        });
        let a = r.v2_report(H1, *group);
        let want = if *accepted {
            vec![(*group, None, Join)]
        } else {
            vec![]
        };
        assert_eq!(deltas(&a), want, "allow {allow:?} deny {deny:?}: {group}");
        assert_eq!(r.has_group(*group), *accepted);
        assert_eq!(r.iface.refused_filtered_groups(), u64::from(!accepted));
    }
}

#[test]
fn filtered_groups_take_no_room_from_the_limits() {
    let mut r = rig(|c| {
        c.group_filter.deny = prefixes(&["239.255.0.0/16"]);
        c.max_groups_per_host = 1;
        c.max_groups = 1;
    });
    for i in 0..10 {
        r.v2_report(H1, Ipv4Addr::new(239, 255, 0, i));
    }
    assert_eq!(r.iface.refused_filtered_groups(), 10);
    assert_eq!(deltas(&r.v2_report(H1, G)), vec![(G, None, Join)]);
    assert_eq!(
        (r.iface.refused_groups(), r.iface.refused_host_groups()),
        (0, 0),
        "the filters come first"
    );
}

/// A daemon restart: a router started with `cfg` at `now` over a copy of `maps` that re-adopts
/// every group found there; the router and all it did.
fn restarted(maps: &MapView, cfg: IgmpConfig, now: u64) -> (Rig, Vec<Action>) {
    let (iface, _) = IgmpInterface::new(IFINDEX, US, cfg, now);
    let members = maps.members.borrow().clone();
    let sources = maps.sources.borrow().clone();
    let mut r = Rig {
        iface,
        view: MapView {
            members: RefCell::new(members.clone()),
            sources: RefCell::new(sources.clone()),
        },
        now,
    };
    let mut groups: Vec<Ipv4Addr> = members.keys().map(|(_, g)| *g).collect();
    groups.sort();
    let mut all = Vec::new();
    for g in groups {
        let srcs: Vec<(Ipv4Addr, SourceState)> = sources
            .iter()
            .filter(|((_, gg, _), _)| *gg == g)
            .map(|((_, _, s), st)| (*s, *st))
            .collect();
        let a = r
            .iface
            .restore_group(r.now, g, members[&(IFINDEX, g)], &srcs, &r.view);
        r.view.apply(&a);
        all.extend(a);
    }
    r.check_invariants();
    (r, all)
}

#[test]
fn a_group_in_the_maps_that_the_filters_now_refuse_is_dropped_on_restore() {
    // An earlier run without filters leaves G2 (EXCLUDE) and G (INCLUDE {S1}) in the maps.
    let mut old = Rig::querier();
    old.v2_report(H1, G2);
    old.rec(IS_IN, G, &[S1]);
    let mut cfg = IgmpConfig::default();
    cfg.group_filter.deny = prefixes(&["239.0.0.0/8"]);
    let (r, all) = restarted(&old.view, cfg, T1);
    assert!(all.contains(&Action::DeleteMember {
        ifindex: IFINDEX,
        group: G2
    }));
    assert_eq!(deltas(&all), vec![(G, Some(S1), Join)], "G2 is not told");
    assert!(!r.has_group(G2) && r.has_group(G));
}

// ---- source filters ------------------------------------------------------------------------

fn deny_sources(list: &[&str]) -> Rig {
    rig(|c| c.source_filter.deny = prefixes(list))
}

#[test]
fn a_refused_source_is_dropped_and_the_rest_of_the_record_applies() {
    let mut r = deny_sources(&["203.0.113.2/32"]);
    let a = r.rec(IS_IN, G, &[S1, S2, S3]);
    assert_eq!(r.source_list(G), vec![S1, S3]);
    assert_eq!(deltas(&a), vec![(G, Some(S1), Join), (G, Some(S3), Join)]);
    assert!(r.view.source_of(G, S2).is_none(), "no map entry for S2");
    assert_eq!(a[0], sources_notice(H1, G, 1), "told before the changes");
    assert_eq!(r.iface.refused_filtered_sources(), 1);
    assert_eq!(r.iface.refused_sources(), 0, "not a limit refusal");
}

#[test]
fn source_filters_row_by_row() {
    // EXCLUDE(X={S1}, Y={S3}) or INCLUDE({S1}) at T1, then a record naming a denied S2 (and
    // S4, accepted): the resulting X / Y, the deltas of the record, the refusals counted.
    type Row = (
        &'static str,
        bool,
        u8,
        &'static [Ipv4Addr],
        (&'static [Ipv4Addr], &'static [Ipv4Addr]),
    );
    let rows: &[Row] = &[
        // INCLUDE-side records: S2 is as if unlisted.
        ("IS_IN", false, IS_IN, &[S2, S4], (&[S1, S4], &[])),
        ("ALLOW", false, ALLOW, &[S2], (&[S1], &[])),
        ("BLOCK", false, BLOCK, &[S2], (&[S1], &[])),
        // EXCLUDE records: a denied source is not blocked (the (*,G) join forwards it).
        ("IS_EX", false, IS_EX, &[S2, S4], (&[], &[S4])),
        ("TO_EX", true, TO_EX, &[S2], (&[], &[])),
        ("TO_EX", true, TO_EX, &[S1, S2, S3], (&[S1], &[S3])),
        ("ALLOW", true, ALLOW, &[S2, S4], (&[S1, S4], &[S3])),
        ("BLOCK", true, BLOCK, &[S2], (&[S1], &[S3])),
    ];
    for (what, exclude, rtype, sources, (x, y)) in rows {
        let mut r = deny_sources(&["203.0.113.2/32"]);
        if *exclude {
            r.rec(IS_EX, G, &[S3]);
            r.rec(ALLOW, G, &[S1]);
        } else {
            r.rec(IS_IN, G, &[S1]);
        }
        r.run_until(T1);
        r.rec(*rtype, G, sources);
        assert_eq!(r.xy(G), (x.to_vec(), y.to_vec()), "{what} {sources:?}");
        assert!(
            r.view.source_of(G, S2).is_none(),
            "{what}: S2 never in the map"
        );
        assert_eq!(r.iface.refused_filtered_sources(), 1, "{what}");
    }
}

#[test]
fn a_record_of_refused_sources_only() {
    let mut r = rig(|c| c.source_filter.allow = prefixes(&["203.0.113.0/30"]));
    // INCLUDE records with nothing left make no state: no group, no map entry.
    assert_eq!(r.rec(IS_IN, G, &[S5]), vec![sources_notice(H1, G, 1)]);
    assert!(changes(&r.rec(ALLOW, G, &[S5])).is_empty());
    assert!(!r.has_group(G));
    // An EXCLUDE record with nothing left is EXCLUDE({}): every source, S5 included.
    let a = r.rec(TO_EX, G, &[S5]);
    assert_eq!(deltas(&a), vec![(G, None, Join)]);
    assert_eq!(r.xy(G), (vec![], vec![]));
    // TO_IN of refused sources only is TO_IN({}): the leave of an EXCLUDE group.
    let a = r.rec(TO_IN, G, &[S5]);
    assert_eq!(queries(&a).len(), 1, "Q(G)");
    assert_eq!(r.iface.refused_filtered_sources(), 4);
}

#[test]
fn allow_and_deny_sources_together() {
    let mut r = rig(|c| {
        c.source_filter.allow = prefixes(&["203.0.113.0/29"]);
        c.source_filter.deny = prefixes(&["203.0.113.4/31"]);
    });
    let outside = Ipv4Addr::new(198, 51, 100, 9);
    r.rec(IS_IN, G, &[S1, S3, S4, S5, outside]);
    assert_eq!(
        r.source_list(G),
        vec![S1, S3],
        "S4, S5 denied; outside not allowed"
    );
    assert_eq!(r.iface.refused_filtered_sources(), 3);
}

#[test]
fn a_refused_group_counts_as_a_group_not_as_its_sources() {
    let mut r = rig(|c| {
        c.group_filter.deny = prefixes(&["232.0.0.0/8"]);
        c.source_filter.deny = prefixes(&["203.0.113.0/24"]);
    });
    assert_eq!(r.rec(IS_IN, G, &[S1, S2]), vec![group_notice(H1, G, 0)]);
    assert_eq!(
        (
            r.iface.refused_filtered_groups(),
            r.iface.refused_filtered_sources()
        ),
        (1, 0)
    );
}

// ---- quick leave ---------------------------------------------------------------------------

fn quick() -> Rig {
    rig(|c| c.quick_leave = true)
}

/// INCLUDE({S1,S2}), both at T0+GMI; clock at T1.
fn quick_include_s1_s2() -> Rig {
    let mut r = quick();
    r.rec(IS_IN, G, &[S1, S2]);
    r.run_until(T1);
    r
}

/// EXCLUDE(X={S1,S2}, Y={S3,S4}); clock at T1.
fn quick_exclude_x12_y34() -> Rig {
    let mut r = quick();
    r.rec(IS_EX, G, &[S3, S4]);
    r.rec(ALLOW, G, &[S1, S2]);
    r.run_until(T1);
    assert_eq!(r.xy(G), (vec![S1, S2], vec![S3, S4]));
    r
}

/// No query, and nothing left for a deadline to do for the group but its timers.
fn assert_no_last_member_queries(r: &Rig, a: &[Action]) {
    assert!(queries(a).is_empty(), "no query: {a:?}");
    if let Some(g) = r.iface.group(G) {
        assert!(!g.retransmitting());
        assert!(g.sources.values().all(|s| s.rexmit == 0));
    }
}

#[test]
fn quick_leave_v2_leave_removes_the_group_at_once() {
    let mut r = quick();
    r.v2_report(H1, G);
    r.now = T1;
    let a = r.leave(H1, G);
    assert_no_last_member_queries(&r, &a);
    assert!(!r.has_group(G));
    assert_eq!(deltas(&a), vec![(G, None, Leave)]);
    assert!(a.contains(&Action::DeleteMember {
        ifindex: IFINDEX,
        group: G
    }));
    // Without quick leave (the default), the RFC's Q(G) and the group stays for LMQT.
    let mut r = Rig::querier();
    r.v2_report(H1, G);
    r.now = T1;
    let a = r.leave(H1, G);
    assert_eq!(queries(&a).len(), 1);
    assert!(deltas(&a).is_empty());
    assert_eq!(r.group(G).group_timer, T1 + LMQT);
}

#[test]
fn quick_leave_row12_exclude_to_in_empty_removes_the_group() {
    let mut r = quick_exclude_x12_y34();
    let a = r.rec(TO_IN, G, &[]);
    assert_no_last_member_queries(&r, &a);
    assert!(!r.has_group(G));
    assert_eq!(
        deltas(&a),
        vec![
            (G, None, Leave),
            (G, Some(S3), Unblock),
            (G, Some(S4), Unblock)
        ]
    );
    assert!(r.view.member_of(G).is_none() && r.view.sources.borrow().is_empty());
}

#[test]
fn quick_leave_row12_exclude_to_in_keeps_just_the_record() {
    // EXCLUDE(X,Y) + TO_IN(A) -> INCLUDE(A), A at GMI: what Q(G,X-A) and Q(G) conclude
    // unanswered.
    let mut r = quick_exclude_x12_y34();
    let a = r.rec(TO_IN, G, &[S1, S3]);
    assert_no_last_member_queries(&r, &a);
    assert_eq!(r.group(G).mode, FilterMode::Include);
    assert_eq!(r.group(G).group_timer, 0);
    assert_eq!(r.source_list(G), vec![S1, S3]);
    assert_eq!((r.st(G, S1), r.st(G, S3)), (T1 + GMI, T1 + GMI));
    assert_eq!(
        deltas(&a),
        vec![
            (G, Some(S1), Join),
            (G, Some(S3), Join),
            (G, None, Leave),
            (G, Some(S3), Unblock),
            (G, Some(S4), Unblock)
        ]
    );
}

#[test]
fn quick_leave_row6_include_block_stops_the_sources() {
    // INCLUDE(A) + BLOCK(B) -> INCLUDE(A-B).
    let mut r = quick_include_s1_s2();
    let a = r.rec(BLOCK, G, &[S2, S3]);
    assert_no_last_member_queries(&r, &a);
    assert_eq!(r.source_list(G), vec![S1]);
    assert_eq!(r.st(G, S1), T0 + GMI, "S1 untouched");
    assert_eq!(deltas(&a), vec![(G, Some(S2), Leave)]);
    assert!(a.contains(&Action::DeleteSource {
        ifindex: IFINDEX,
        group: G,
        source: S2
    }));
    // Blocking the last source removes the group.
    let a = r.rec(BLOCK, G, &[S1]);
    assert!(!r.has_group(G));
    assert_eq!(deltas(&a), vec![(G, Some(S1), Leave)]);
}

#[test]
fn quick_leave_row8_include_to_in_keeps_just_the_record() {
    // INCLUDE(A) + TO_IN(B) -> INCLUDE(B), B at GMI.
    let mut r = quick_include_s1_s2();
    let a = r.rec(TO_IN, G, &[S2, S3]);
    assert_no_last_member_queries(&r, &a);
    assert_eq!(r.source_list(G), vec![S2, S3]);
    assert_eq!((r.st(G, S2), r.st(G, S3)), (T1 + GMI, T1 + GMI));
    assert_eq!(deltas(&a), vec![(G, Some(S3), Join), (G, Some(S1), Leave)]);
}

#[test]
fn quick_leave_row7_include_to_ex_blocks_at_once() {
    // INCLUDE(A) + TO_EX(B) -> EXCLUDE({}, B): A*B goes to Y now instead of being queried.
    let mut r = quick_include_s1_s2();
    let a = r.rec(TO_EX, G, &[S2, S3]);
    assert_no_last_member_queries(&r, &a);
    assert_eq!(r.group(G).mode, FilterMode::Exclude);
    assert_eq!(r.group(G).group_timer, T1 + GMI);
    assert_eq!(r.xy(G), (vec![], vec![S2, S3]));
    assert_eq!(
        deltas(&a),
        vec![
            (G, Some(S2), Block),
            (G, Some(S3), Block),
            (G, None, Join),
            (G, Some(S1), Leave),
            (G, Some(S2), Leave)
        ]
    );
}

#[test]
fn quick_leave_row10_exclude_block_blocks_at_once() {
    // EXCLUDE(X,Y) + BLOCK(A) -> EXCLUDE(X-A, Y+A).
    let mut r = quick_exclude_x12_y34();
    let a = r.rec(BLOCK, G, &[S1, S3, S5]);
    assert_no_last_member_queries(&r, &a);
    assert_eq!(r.xy(G), (vec![S2], vec![S1, S3, S4, S5]));
    assert_eq!(r.group(G).group_timer, T0 + GMI, "GT untouched");
    assert_eq!(deltas(&a), vec![(G, Some(S1), Block), (G, Some(S5), Block)]);
}

#[test]
fn quick_leave_row11_exclude_to_ex_blocks_at_once() {
    // EXCLUDE(X,Y) + TO_EX(A) -> EXCLUDE({}, A).
    let mut r = quick_exclude_x12_y34();
    let a = r.rec(TO_EX, G, &[S2, S4, S5]);
    assert_no_last_member_queries(&r, &a);
    assert_eq!(r.xy(G), (vec![], vec![S2, S4, S5]));
    assert_eq!(r.group(G).group_timer, T1 + GMI);
    assert_eq!(
        deltas(&a),
        vec![
            (G, Some(S2), Block),
            (G, Some(S5), Block),
            (G, Some(S3), Unblock)
        ]
    );
}

#[test]
fn quick_leave_leaves_current_state_and_additive_records_alone() {
    // Rows 1-5 and 9 send no query: quick leave changes nothing there.
    for rtype in [IS_IN, IS_EX, ALLOW] {
        let mut a = quick_exclude_x12_y34();
        let mut b = {
            let mut r = Rig::querier();
            r.rec(IS_EX, G, &[S3, S4]);
            r.rec(ALLOW, G, &[S1, S2]);
            r.run_until(T1);
            r
        };
        let da = a.rec(rtype, G, &[S2, S5]);
        let db = b.rec(rtype, G, &[S2, S5]);
        assert_eq!(da, db, "record type {rtype}");
        // The same state; only the quick-leave router lists the hosts it tracks.
        let mut sa = a.iface.summaries(a.now);
        assert!(sa.iter().all(|g| g.hosts == Some(vec![H1])), "{sa:?}");
        sa.iter_mut().for_each(|g| g.hosts = None);
        assert_eq!(sa, b.iface.summaries(b.now));
    }
}

#[test]
fn quick_leave_applies_on_a_non_querier_too() {
    let mut r = quick();
    r.query_v3(LOWER_ROUTER, Ipv4Addr::UNSPECIFIED, false, &[], 100, 2, 125);
    assert!(!r.iface.is_querier());
    r.v2_report(H1, G);
    let a = r.leave(H1, G);
    assert!(!r.has_group(G));
    assert_eq!(deltas(&a), vec![(G, None, Leave)]);
}

#[test]
fn quick_leave_keeps_ignoring_leaves_in_v1_compatibility() {
    // A v1 host is present: leaves cannot be trusted (RFC 3376 §7.3.2), quick leave or not.
    let mut r = quick();
    r.v1_report(H1, G);
    let a = r.leave(H2, G);
    assert!(changes(&a).is_empty());
    assert!(r.has_group(G));
}

// Several hosts on a quick-leave link: `tracking.rs` (explicit host tracking).

// ---- new settings on a running router (a reload) -------------------------------------------

#[test]
fn reconfigured_filters_drop_what_they_now_refuse_and_nothing_else() {
    const G3: Ipv4Addr = Ipv4Addr::new(239, 3, 3, 3);
    let mut r = Rig::querier();
    r.v2_report(H1, SSDP);
    r.v2_report(H1, G2);
    r.rec(IS_IN, G, &[S1, S2]);
    r.rec(IS_EX, G3, &[S3, S5]);
    r.rec(ALLOW, G3, &[S1]);
    assert_eq!(r.xy(G3), (vec![S1], vec![S3, S5]));
    let mut cfg = r.iface.config().clone();
    cfg.group_filter.deny = prefixes(&["239.255.0.0/16"]);
    cfg.source_filter.deny = prefixes(&["203.0.113.1/32", "203.0.113.5/32"]);
    cfg.query_interval = std::time::Duration::from_secs(60);
    // A restart with the same settings over the same maps, to compare with.
    let (mut restart, _) = restarted(&r.view, cfg.clone(), r.now);
    let a = r.iface.reconfigure(cfg, r.now, &r.view);
    r.view.apply(&a);
    let mut d = deltas(&a);
    d.sort_by_key(|x| format!("{x:?}"));
    let mut want = vec![
        // The denied group goes: its leave, its map entry deleted.
        (SSDP, None, MembershipChange::Leave),
        // S1, now refused: no longer forwarded in INCLUDE...
        (G, Some(S1), MembershipChange::Leave),
        // ...and its record dropped in EXCLUDE, where the (*,G) join forwards it still (no
        // delta); S5's record dropped likewise: no longer blocked.
        (G3, Some(S5), MembershipChange::Unblock),
    ];
    want.sort_by_key(|x| format!("{x:?}"));
    assert_eq!(d, want);
    assert!(!r.has_group(SSDP));
    assert!(r.view.member_of(SSDP).is_none(), "map entry deleted");
    assert!(r.has_group(G2), "an accepted group stays");
    assert_eq!(r.source_list(G), vec![S2]);
    assert_eq!(r.xy(G3), (vec![], vec![S3]));
    assert!(r.view.source_of(G3, S1).is_none() && r.view.source_of(G3, S5).is_none());
    assert_eq!(
        r.iface.config().query_interval,
        std::time::Duration::from_secs(60)
    );
    r.check_invariants();
    // One rule: the state a restart gives, and a host's next current-state report (S5 dropped
    // from it) changes neither.
    assert_eq!(
        r.iface.summaries(r.now),
        restart.iface.summaries(restart.now)
    );
    for rig in [&mut r, &mut restart] {
        let a = rig.rec(IS_EX, G3, &[S3, S5]);
        assert!(deltas(&a).is_empty(), "{a:?}");
        assert_eq!(rig.xy(G3), (vec![], vec![S3]));
    }
    assert_eq!(
        r.iface.summaries(r.now),
        restart.iface.summaries(restart.now)
    );
    // The same settings again: nothing to do.
    let cfg = r.iface.config().clone();
    assert!(changes(&r.iface.reconfigure(cfg, r.now, &r.view)).is_empty());
}

#[test]
fn a_reconfigured_version_is_the_one_queries_go_out_in() {
    let mut r = Rig::querier();
    let mut cfg = r.iface.config().clone();
    cfg.version = 2;
    r.iface.reconfigure(cfg, r.now, &r.view);
    assert_eq!(r.iface.version(r.now), 2);
}
