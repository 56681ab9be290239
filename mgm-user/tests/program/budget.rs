//! Each interface's budget of messages to the daemon (`max-reports-per-second`) and the
//! upstream's queries-only flag: what goes past them is counted, not sent up.

use mgm_common::maps::{report_cost, EVENTS_RING_BYTES, IFACE_FLAG_QUERIES_ONLY};
use mgm_user::igmp::DEFAULT_MAX_REPORTS_PER_SECOND;

use super::support::*;

/// Budget of one message a second with a burst of `burst` on the test device.
fn budget(fx: &mut Fx, burst: u32) {
    fx.enable_with(LO, |s| {
        s.max_reports_per_second = 1;
        s.report_burst = burst;
    });
}

/// Whole seconds since `start`: how many messages the budget of one a second may have let
/// through on top of its burst (the runs take microseconds; this keeps the test untimed).
fn refills_since(start: u64) -> u64 {
    (monotonic_ns() - start) / 1_000_000_000 + 1
}

#[test]
fn reports_past_the_budget_are_counted_not_sent() {
    let mut fx = fixture();
    budget(&mut fx, 3);
    let start = monotonic_ns();
    fx.run_repeat(&v2_report(G1), 100);
    let sent = fx.events().len() as u64;
    let st = fx.stats();
    assert!(
        (3..3 + refills_since(start)).contains(&sent),
        "the burst goes up, then nothing: {sent} sent"
    );
    assert_eq!(st.events_sent, sent);
    assert_eq!(st.events_rate_limited, 100 - sent);
    assert_eq!(
        (st.igmp_packets, st.rx_report_v2),
        (100, 100),
        "still counted as accepted"
    );
    assert_eq!(st.events_ring_full, 0);
    assert_eq!(
        fx.rate_limited(LO),
        100 - sent,
        "counted for the interface too"
    );
    assert_eq!(fx.rate_limited(LO + 1), 0, "and for no other");

    // Leaves share the reports' budget: a flood of either cannot hide behind the other.
    let leave = igmp8(TYPE_V2_LEAVE, 0, G1);
    fx.run_repeat(&ip_frame(&Ip::igmp(HOST, ALL_ROUTERS, leave)), 10);
    let leaves_sent = fx.events().len() as u64;
    let st = fx.stats();
    assert!(sent + leaves_sent < 3 + refills_since(start));
    assert_eq!(st.rx_leave_v2, 10);
    assert_eq!(st.events_rate_limited, 110 - sent - leaves_sent);
    assert_eq!(fx.rate_limited(LO), st.events_rate_limited);
}

/// A v3 report of 170 IS_EX records: 1 368 IGMP bytes, the most records a 1500-byte frame
/// carries, and its IGMP length.
fn largest_v3_report() -> (Vec<u8>, u32) {
    let records: Vec<Rec> = (0..170u8)
        .map(|i| rec(IS_EX, [239, 9, 0, i], &[]))
        .collect();
    (v3_frame(&records), 8 + 170 * 8)
}

#[test]
fn large_reports_are_charged_by_size_so_one_links_burst_leaves_room_in_the_ring() {
    let mut fx = fixture();
    fx.enable_with(LO, |s| s.set_report_budget(DEFAULT_MAX_REPORTS_PER_SECOND));
    let (frame, igmp_len) = largest_v3_report();
    let cost = u64::from(report_cost(igmp_len));
    assert_eq!(cost, 22);
    // 400 of them are 560 KB of ring records: twice the smallest ring.
    assert!(400 * (40 + u64::from(igmp_len)) > 2 * u64::from(EVENTS_RING_BYTES));
    let start = monotonic_ns();
    fx.run_repeat(&frame, 400);
    // Units the budget (10 000 a second: one per 100 µs) refilled meanwhile.
    let refilled = (monotonic_ns() - start) / 100_000;
    let sent = fx.events().len() as u64;
    let st = fx.stats();
    assert_eq!(
        st.events_ring_full, 0,
        "one link's burst leaves room in the ring"
    );
    let most = (u64::from(mgm_common::maps::MAX_REPORT_BURST) + refilled).div_ceil(cost);
    assert!(
        (1..=most).contains(&sent),
        "the burst in units of a small report: {sent} sent, at most {most}"
    );
    assert_eq!(st.events_sent, sent);
    assert_eq!(st.events_rate_limited, 400 - sent, "the rest held back");
    assert_eq!(fx.rate_limited(LO), 400 - sent);
}

#[test]
fn one_links_three_buckets_together_leave_room_in_the_ring() {
    let mut fx = fixture();
    fx.enable_with(LO, |s| s.set_report_budget(DEFAULT_MAX_REPORTS_PER_SECOND));
    fx.add_member(G1, exclude_member(3));
    // Messages of 57 to 63 bytes: one unit each, the most ring bytes a unit stands for (104).
    let s11: Vec<[u8; 4]> = (1..=11u8).map(|i| [192, 0, 2, 100 + i]).collect();
    let s12: Vec<[u8; 4]> = (1..=12u8).map(|i| [192, 0, 2, 100 + i]).collect();
    // One host fills every bucket of its interface: reports for a new group, state changes of
    // a group it holds, and queries (60 bytes).
    fx.run_repeat(&v3_frame(&[rec(IS_IN, G2, &s11)]), 1100);
    fx.run_repeat(&v3_frame(&[rec(ALLOW, G1, &s11)]), 1100);
    let q = query_v3([0; 4], &s12);
    fx.run_repeat(&ip_frame(&Ip::igmp(ROUTER, ALL_SYSTEMS, q)), 1100);
    let st = fx.stats();
    assert_eq!(
        st.events_ring_full, 0,
        "one link's burst leaves room in the ring"
    );
    assert!(
        st.events_sent * 104 < u64::from(EVENTS_RING_BYTES) / 2,
        "under half the ring: {} sent",
        st.events_sent
    );
    assert!(st.events_rate_limited > 0, "the rest held back");
}

#[test]
fn small_reports_cost_one_and_a_report_larger_than_the_burst_still_goes_up() {
    let mut fx = fixture();
    budget(&mut fx, 3);
    // One record with 11 sources: 60 bytes, one unit.
    let sources: Vec<[u8; 4]> = (1..=11u8).map(|i| [192, 0, 2, i]).collect();
    fx.run_repeat(&v3_frame(&[rec(IS_IN, G2, &sources)]), 3);
    assert_eq!(
        fx.events().len(),
        3,
        "three small reports fill a burst of three"
    );
    drop(fx);

    let mut fx = fixture();
    budget(&mut fx, 3);
    let (frame, _) = largest_v3_report();
    fx.run_repeat(&frame, 3);
    let sent = fx.events().len() as u64;
    // 22 units: the first goes up after a quiet spell, then the bucket owes 21 seconds.
    assert_eq!(sent, 1, "one large report takes the whole burst");
    assert_eq!(fx.stats().events_rate_limited, 2);
}

fn leave(group: [u8; 4]) -> Vec<u8> {
    ip_frame(&Ip::igmp(HOST, ALL_ROUTERS, igmp8(TYPE_V2_LEAVE, 0, group)))
}

/// Spends the new groups' bucket on reports for G2, which the interface does not
/// hold: how many went up.
fn spend_new_groups(fx: &mut Fx) -> u64 {
    fx.run_repeat(&v2_report(G2), 50);
    let sent = fx.events().len() as u64;
    assert!(fx.stats().events_rate_limited > 0, "the bucket is spent");
    sent
}

#[test]
fn held_groups_go_up_while_new_groups_are_limited() {
    let mut fx = fixture();
    // A burst of three: the three held-group messages below fit in it.
    budget(&mut fx, 3);
    // G1 is held in v3 mode: a v2 report for it changes its state.
    fx.add_member(G1, exclude_member(3));
    spend_new_groups(&mut fx);
    let limited = fx.stats().events_rate_limited;
    // A member's leave, ...
    fx.run(&leave(G1));
    let ev = fx.one_event();
    assert_eq!((ev.reason, &ev.igmp[4..8]), (reason::LEAVE, &G1[..]));
    // ... its answer to the last-member query (the daemon marks the group slow path then), ...
    let mut m = exclude_member(3);
    m.flags = MEMBER_FLAG_SLOW_PATH;
    fx.add_member(G1, m);
    fx.run(&v3_frame(&[rec(IS_EX, G1, &[])]));
    assert_eq!(fx.one_event().reason, reason::DAEMON_REQUEST);
    fx.add_member(G1, exclude_member(3));
    // ... and a state change of the group, all go up.
    fx.run(&v2_report(G1));
    assert_eq!(fx.one_event().reason, reason::STATE_CHANGE);
    assert_eq!(fx.stats().events_rate_limited, limited);
    // A report naming a held group and a new one is charged to the new groups.
    fx.run(&v3_frame(&[rec(TO_IN, G1, &[S1]), rec(TO_EX, G2, &[])]));
    fx.no_event();
    assert_eq!(fx.stats().events_rate_limited, limited + 1);
    // So is a leave for a group not held, and a report with no record.
    fx.run(&leave(G2));
    fx.run(&v3_frame(&[]));
    fx.no_event();
    assert_eq!(fx.rate_limited(LO), limited + 3);
}

#[test]
fn a_flood_for_held_groups_is_bounded_by_its_own_bucket() {
    let mut fx = fixture();
    budget(&mut fx, 2);
    fx.add_member(G1, exclude_member(2));
    let start = monotonic_ns();
    fx.run_repeat(&leave(G1), 50);
    let sent = fx.events().len() as u64;
    assert!(
        (2..2 + refills_since(start)).contains(&sent),
        "the burst goes up, then nothing: {sent} sent"
    );
    assert_eq!(fx.stats().events_rate_limited, 50 - sent);
    assert_eq!(fx.rate_limited(LO), 50 - sent);
    // The new groups' bucket is untouched: a join still goes up.
    fx.run(&v2_report(G2));
    assert_eq!(fx.one_event().reason, reason::NEW_GROUP);
}

#[test]
fn no_budget_means_no_limit() {
    let mut fx = fixture();
    fx.enable_with(LO, |s| s.report_burst = 1);
    fx.run_repeat(&v2_report(G1), 200);
    assert_eq!(fx.events().len(), 200);
    assert_eq!(fx.stats().events_rate_limited, 0);
}

#[test]
fn refreshes_on_the_fast_path_are_never_limited() {
    let mut fx = fixture();
    budget(&mut fx, 1);
    fx.add_member(G1, exclude_member(2));
    // The budget spent on a new group...
    fx.run_repeat(&v2_report(G2), 20);
    let limited = fx.stats().events_rate_limited;
    assert!(limited > 0);
    fx.events();
    // ... refreshes of a held group are still absorbed, every one.
    fx.run_repeat(&v2_report(G1), 50);
    fx.no_event();
    let st = fx.stats();
    assert_eq!(st.fast_path_refreshes, 50);
    assert_eq!(st.events_rate_limited, limited, "refreshes take no budget");
    assert_eq!(fx.member(G1).fast_refreshes, 50);
}

#[test]
fn queries_pass_while_reports_are_limited() {
    let mut fx = fixture();
    budget(&mut fx, 2);
    let start = monotonic_ns();
    fx.run_repeat(&v2_report(G1), 50);
    let reports_sent = fx.events().len() as u64;
    assert!(reports_sent < 2 + refills_since(start));
    // The querier's query still goes up: queries have a budget of their own.
    let q = igmp8(TYPE_MEMBERSHIP_QUERY, 100, [0; 4]);
    let frame = ip_frame(&Ip::igmp(ROUTER, ALL_SYSTEMS, q.clone()));
    fx.run(&frame);
    assert_event(&fx.one_event(), reason::QUERY, ROUTER, ALL_SYSTEMS, &q);
    // And it is a budget: a flood of queries is held back too.
    fx.run_repeat(&frame, 20);
    let queries_sent = 1 + fx.events().len() as u64;
    assert!(queries_sent < 2 + refills_since(start));
    let st = fx.stats();
    assert_eq!(st.rx_query_v2, 21);
    assert_eq!(
        st.events_rate_limited,
        50 + 21 - reports_sent - queries_sent
    );
}

#[test]
fn upstream_drops_reports_and_leaves_and_passes_queries() {
    let mut fx = fixture();
    fx.enable_with(LO, |s| s.flags |= IFACE_FLAG_QUERIES_ONLY);
    fx.run(&v2_report(G1));
    fx.run(&v1_report(G1));
    fx.run(&v3_frame(&[rec(TO_EX, G1, &[])]));
    let leave = igmp8(TYPE_V2_LEAVE, 0, G1);
    fx.run(&ip_frame(&Ip::igmp(HOST, ALL_ROUTERS, leave)));
    fx.no_event();
    assert_stats(
        &fx,
        IgmpStats {
            igmp_packets: 4,
            ignored_upstream_report: 4,
            ..Default::default()
        },
    );
    let q = query_v3([0; 4], &[]);
    fx.run(&ip_frame(&Ip::igmp(ROUTER, ALL_SYSTEMS, q.clone())));
    assert_event(&fx.one_event(), reason::QUERY, ROUTER, ALL_SYSTEMS, &q);
    assert_eq!(fx.stats().rx_query_v3, 1);
}
