//! The kernel fast path extends expiries in the maps behind our back: timers that fire must
//! re-read the maps and reschedule, and the same refresh fed either way yields the same state.

use super::*;

#[test]
fn group_timer_extended_by_fast_path_does_not_expire() {
    let mut r = Rig::querier();
    r.rec(IS_EX, G, &[]);
    // At T0+100 s the classifier absorbs an IS_EX({}) from H2.
    r.view.extend_group(G, T0 + 100 * SEC + GMI, H2);
    let a = r.run_until(T0 + GMI);
    let for_g: Vec<&Action> = a
        .iter()
        .map(|(_, a)| a)
        .filter(|a| !matches!(a, Action::SendQuery { .. }))
        .collect();
    assert!(for_g.is_empty(), "no expiry and no rewrite: {for_g:?}");
    assert_eq!(r.group(G).group_timer, T0 + 100 * SEC + GMI);
    assert_eq!(r.group(G).last_reporter, H2);
    assert_eq!(
        r.group(G).next_deadline(),
        T0 + 100 * SEC + GMI,
        "rescheduled"
    );
    assert_eq!(
        r.view.member_of(G).unwrap().fast_refreshes,
        1,
        "kernel counter untouched"
    );
    let a = r.run_until(T0 + 100 * SEC + GMI);
    assert_eq!(timed_deltas(&a), vec![(T0 + 100 * SEC + GMI, None, Leave)]);
}

#[test]
fn source_timer_extended_by_fast_path_does_not_expire() {
    let mut r = Rig::querier();
    r.rec(IS_IN, G, &[S1, S2]);
    r.view.extend_source(G, S1, T0 + 50 * SEC + GMI);
    let a = r.run_until(T0 + GMI);
    assert_eq!(timed_deltas(&a), vec![(T0 + GMI, Some(S2), Leave)]);
    assert_eq!(r.st(G, S1), T0 + 50 * SEC + GMI);
    let a = r.run_until(T0 + 50 * SEC + GMI);
    assert_eq!(
        timed_deltas(&a),
        vec![(T0 + 50 * SEC + GMI, Some(S1), Leave)]
    );
}

#[test]
fn older_host_timer_extended_by_fast_path_keeps_compat() {
    let mut r = Rig::querier();
    r.v2_report(H1, G);
    if let Some(m) = r.view.members.borrow_mut().get_mut(&(IFINDEX, G)) {
        m.group_expires_ns = T0 + 100 * SEC + GMI;
        m.v2_host_expires_ns = T0 + 100 * SEC + GMI;
    }
    r.run_until(T0 + GMI);
    assert!(r.has_group(G));
    assert_eq!(r.group(G).compat(r.now), 2);
    assert_eq!(r.group(G).v2_host_timer, T0 + 100 * SEC + GMI);
}

#[test]
fn message_adopts_before_applying_the_table() {
    // Row 10 gives a new source the *current* group timer, which the fast path extended.
    let mut r = Rig::non_querier();
    r.rec(IS_EX, G, &[S3]);
    r.run_until(T0 + 100 * SEC);
    r.view.extend_group(G, T0 + 100 * SEC + GMI, H2);
    r.run_until(T0 + 150 * SEC);
    r.rec(BLOCK, G, &[S1]);
    assert_eq!(r.st(G, S1), T0 + 100 * SEC + GMI);
}

#[test]
fn a_lowered_timer_is_not_raised_again_within_the_same_message() {
    // Two records for one group in one report: the second must not adopt the map's old value
    // (the shell applies the first record's write only after the call).
    let mut r = Rig::querier();
    r.rec(IS_IN, G, &[S1, S2]);
    r.run_until(T0 + 10 * SEC);
    r.report(H1, &[(BLOCK, G, &[S1]), (ALLOW, G, &[S2])]);
    assert_eq!(r.st(G, S1), T0 + 10 * SEC + LMQT);
}

/// The same refresh report, once through the daemon and once absorbed by the kernel, ends in
/// the same state once the daemon next touches the group.
#[test]
fn refresh_parity_exclude_no_sources() {
    let mut slow = Rig::querier();
    let mut fast = Rig::querier();
    for r in [&mut slow, &mut fast] {
        r.rec(IS_EX, G, &[]);
        r.run_until(T0 + 100 * SEC);
    }
    slow.report(H2, &[(IS_EX, G, &[])]);
    fast.view.extend_group(G, T0 + 100 * SEC + GMI, H2);
    for r in [&mut slow, &mut fast] {
        r.run_until(T0 + GMI + SEC);
    }
    assert_eq!(
        slow.iface.summaries(slow.now),
        fast.iface.summaries(fast.now)
    );
    let strip = |mut m: MemberState| {
        m.fast_refreshes = 0;
        m
    };
    assert_eq!(
        strip(slow.view.member_of(G).unwrap()),
        strip(fast.view.member_of(G).unwrap())
    );
}

#[test]
fn refresh_parity_v2_report_in_v2_compat() {
    let mut slow = Rig::querier();
    let mut fast = Rig::querier();
    for r in [&mut slow, &mut fast] {
        r.v2_report(H1, G);
        r.run_until(T0 + 100 * SEC);
    }
    slow.v2_report(H2, G);
    if let Some(m) = fast.view.members.borrow_mut().get_mut(&(IFINDEX, G)) {
        m.group_expires_ns = T0 + 100 * SEC + GMI;
        m.v2_host_expires_ns = T0 + 100 * SEC + GMI;
        m.last_reporter = H2.octets();
    }
    for r in [&mut slow, &mut fast] {
        r.run_until(T0 + GMI + SEC);
    }
    assert_eq!(
        slow.iface.summaries(slow.now),
        fast.iface.summaries(fast.now)
    );
}

#[test]
fn refresh_parity_is_in_of_forwarded_source() {
    let mut slow = Rig::querier();
    let mut fast = Rig::querier();
    for r in [&mut slow, &mut fast] {
        r.rec(IS_IN, G, &[S1]);
        r.run_until(T0 + 100 * SEC);
    }
    slow.report(H2, &[(IS_IN, G, &[S1])]);
    fast.view.extend_source(G, S1, T0 + 100 * SEC + GMI);
    fast.view
        .members
        .borrow_mut()
        .get_mut(&(IFINDEX, G))
        .unwrap()
        .last_reporter = H2.octets();
    for r in [&mut slow, &mut fast] {
        r.run_until(T0 + GMI + SEC);
    }
    assert_eq!(
        slow.iface.summaries(slow.now),
        fast.iface.summaries(fast.now)
    );
}

/// A view on which the kernel refreshes the group between every two reads: each read of the
/// group entry sees one more refresh than the one before.
struct RefreshedBetweenReads<'a> {
    maps: &'a MapView,
    reads: std::cell::Cell<u32>,
}

impl FastPathView for RefreshedBetweenReads<'_> {
    fn member(&self, ifindex: u32, group: Ipv4Addr) -> Option<MemberState> {
        self.reads.set(self.reads.get() + 1);
        self.maps.member(ifindex, group).map(|mut m| {
            m.fast_refreshes += self.reads.get();
            m
        })
    }
    fn source(&self, ifindex: u32, group: Ipv4Addr, source: Ipv4Addr) -> Option<SourceState> {
        self.maps.source(ifindex, group, source)
    }
}

#[test]
fn a_write_carries_the_refresh_count_read_when_the_group_was_adopted() {
    let mut r = Rig::querier();
    r.rec(IS_EX, G, &[]);
    r.now = T0 + 10 * SEC;
    // A v2 report changes the group's compatibility: the entry is read (adopted), then written.
    let bytes = simple(igmp::TYPE_V2_REPORT, 0, G);
    let msg = igmp::parse(&bytes).expect("a v2 report");
    let view = RefreshedBetweenReads {
        maps: &r.view,
        reads: std::cell::Cell::new(0),
    };
    let a = r.iface.on_message(r.now, H1, G, &msg, &view);
    let written: Vec<u32> = a
        .iter()
        .filter_map(|a| match a {
            Action::WriteMember { state, .. } => Some(state.fast_refreshes),
            _ => None,
        })
        .collect();
    // The router saw one refresh when it adopted the entry; one that landed later is not its
    // to overwrite, so its write must not claim it (the daemon then keeps the kernel's expiry).
    assert_eq!(written, vec![1], "{a:?}");
}

/// A view that counts the map reads the router makes; `refreshes` false is an interface
/// without fast path (`--no-fast-path`).
struct CountingView<'a> {
    maps: &'a MapView,
    refreshes: bool,
    reads: std::cell::Cell<u32>,
}

impl FastPathView for CountingView<'_> {
    fn member(&self, ifindex: u32, group: Ipv4Addr) -> Option<MemberState> {
        self.reads.set(self.reads.get() + 1);
        self.maps.member(ifindex, group)
    }
    fn source(&self, ifindex: u32, group: Ipv4Addr, source: Ipv4Addr) -> Option<SourceState> {
        self.reads.set(self.reads.get() + 1);
        self.maps.source(ifindex, group, source)
    }
    fn refreshes(&self, _: u32) -> bool {
        self.refreshes
    }
}

/// Feeds one message through a [`CountingView`]; the actions (applied to the maps) and the
/// number of map reads the router made.
fn feed_counting(
    r: &mut Rig,
    refreshes: bool,
    src: Ipv4Addr,
    dst: Ipv4Addr,
    bytes: &[u8],
) -> (Vec<Action>, u32) {
    let msg = igmp::parse(bytes).expect("test message parses");
    let view = CountingView {
        maps: &r.view,
        refreshes,
        reads: std::cell::Cell::new(0),
    };
    let a = r.iface.on_message(r.now, src, dst, &msg, &view);
    let reads = view.reads.get();
    r.view.apply(&a);
    (a, reads)
}

fn member_writes(a: &[Action]) -> Vec<MemberState> {
    a.iter()
        .filter_map(|a| match a {
            Action::WriteMember { state, .. } => Some(*state),
            _ => None,
        })
        .collect()
}

#[test]
fn without_a_fast_path_the_router_reads_nothing_back() {
    let report = v3_report(&[(IS_IN, G, &[S1, S2])]);
    let mut reads = Vec::new();
    for refreshes in [true, false] {
        let mut r = Rig::querier();
        feed_counting(&mut r, refreshes, H1, igmp::ALL_V3_ROUTERS, &report);
        r.now = T0 + 10 * SEC;
        let (a, n) = feed_counting(&mut r, refreshes, H1, igmp::ALL_V3_ROUTERS, &report);
        // The refresh is carried out the same either way: both source timers written anew.
        let sources: Vec<(Ipv4Addr, u64)> = a
            .iter()
            .filter_map(|a| match a {
                Action::WriteSource { source, state, .. } => Some((*source, state.expires_ns)),
                _ => None,
            })
            .collect();
        assert_eq!(sources, vec![(S1, r.now + GMI), (S2, r.now + GMI)]);
        reads.push(n);
    }
    assert_eq!(reads, vec![3, 0], "reads with a fast path, then without");
}

#[test]
fn new_groups_and_sources_are_not_read_back() {
    // The classifier never creates entries: one the router never wrote is not there to read.
    for refreshes in [true, false] {
        let mut r = Rig::querier();
        let join = v3_report(&[(IS_IN, G, &[S1, S2])]);
        let (a, n) = feed_counting(&mut r, refreshes, H1, igmp::ALL_V3_ROUTERS, &join);
        assert_eq!(n, 0, "a new group and its sources (fast path {refreshes})");
        assert_eq!(member_writes(&a).len(), 1, "{a:?}");
        // ... and the map layer is told, so that it does not read them back either.
        assert_eq!(news(&a), [true, true, true], "{a:?}");
        assert_eq!(member_writes(&a)[0].fast_refreshes, 0);
        let v2 = simple(igmp::TYPE_V2_REPORT, 0, G2);
        let (a, n) = feed_counting(&mut r, refreshes, H1, G2, &v2);
        assert_eq!((n, member_writes(&a).len()), (0, 1), "{a:?}");
        // A source added to a known group: the group is read back (with a fast path), the
        // new source is not.
        let allow = v3_report(&[(ALLOW, G, &[S3])]);
        let (a, n) = feed_counting(&mut r, refreshes, H1, igmp::ALL_V3_ROUTERS, &allow);
        assert_eq!(n, if refreshes { 3 } else { 0 }, "{a:?}");
        assert!(
            a.iter().any(
                |a| matches!(a, Action::WriteSource { source, unrefreshed: true, .. } if *source == S3)
            ),
            "{a:?}"
        );
        assert!(
            a.iter().all(|a| !matches!(
                a,
                Action::WriteMember {
                    unrefreshed: true,
                    ..
                }
            )),
            "{a:?}"
        );
    }
}

/// The `unrefreshed` flag of each map write, in order.
fn news(a: &[Action]) -> Vec<bool> {
    a.iter()
        .filter_map(|a| match a {
            Action::WriteMember { unrefreshed, .. } | Action::WriteSource { unrefreshed, .. } => {
                Some(*unrefreshed)
            }
            _ => None,
        })
        .collect()
}

#[test]
fn a_group_handed_to_the_slow_path_is_not_read_back() {
    let mut r = Rig::querier();
    r.v2_report(H1, G);
    r.view.extend_group(G, T0 + 30 * SEC + GMI, H2);
    r.now = T0 + 40 * SEC;
    // The leave reads the entry (one refresh seen) and hands the group to the slow path.
    let leave = simple(igmp::TYPE_V2_LEAVE, 0, G);
    let (a, n) = feed_counting(&mut r, true, H1, igmp::ALL_ROUTERS, &leave);
    assert_eq!(n, 1);
    let flagged = member_writes(&a);
    assert_eq!(flagged.len(), 1, "{a:?}");
    assert_ne!(
        flagged[0].flags & mgm_common::maps::MEMBER_FLAG_SLOW_PATH,
        0
    );
    assert_eq!(flagged[0].fast_refreshes, 1);
    // A report during the last-member queries (which run on): the classifier left the entry
    // alone, so the router reads nothing and its write carries the counter it wrote.
    r.now += 100 * MS;
    let report = simple(igmp::TYPE_V2_REPORT, 0, G);
    let (a, n) = feed_counting(&mut r, true, H1, G, &report);
    assert_eq!(n, 0, "{a:?}");
    let back = member_writes(&a);
    assert_eq!(back.len(), 1, "{a:?}");
    assert_eq!(back[0].fast_refreshes, 1);
    assert_eq!(back[0].group_expires_ns, r.now + GMI);
}

#[test]
fn the_write_ending_the_last_member_queries_is_written_as_it_is() {
    let mut r = Rig::querier();
    r.v2_report(H1, G);
    let leave = simple(igmp::TYPE_V2_LEAVE, 0, G);
    let (a, _) = feed_counting(&mut r, true, H1, igmp::ALL_ROUTERS, &leave);
    assert_eq!(
        news(&a),
        [false],
        "the leave's write follows a refreshable one: {a:?}"
    );
    // The last query: the group goes back to the fast path (its flag cleared). The classifier
    // left the entry alone since the leave's write, so the shell need not read and merge it.
    let d = r.iface.next_deadline().expect("the second query is due");
    r.now = d;
    let view = CountingView {
        maps: &r.view,
        refreshes: true,
        reads: std::cell::Cell::new(0),
    };
    let a = r.iface.on_deadline(d, &view);
    assert_eq!(view.reads.get(), 0, "{a:?}");
    r.view.apply(&a);
    let back = member_writes(&a);
    assert_eq!(back.len(), 1, "{a:?}");
    assert_eq!(back[0].flags & mgm_common::maps::MEMBER_FLAG_SLOW_PATH, 0);
    assert_eq!(news(&a), [true], "{a:?}");
    // Back on the fast path: the expiry reads the entry (an answer may have refreshed it).
    r.view.extend_group(G, r.now + GMI, H2);
    let a = r.run_until(r.now + LMQT);
    assert!(timed_deltas(&a).is_empty(), "{a:?}");
}
