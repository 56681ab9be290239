//! RFC 3376 §7.2 (host compatibility mode) and RFC 2236 §3 (the v2 host): older queriers heard,
//! v1/v2 reports and leaves, the Older Version Querier Present timers, the configured ceiling.

use super::*;

const ANY: Ipv4Addr = Ipv4Addr::UNSPECIFIED;

#[test]
fn v2_querier_means_v2_reports_and_leaves_then_v3_again() {
    let mut r = Rig::new();
    assert_eq!(r.host.version(T0), 3);
    r.query(&v2_query(ANY, 100));
    assert_eq!(r.host.version(T0), 2);
    assert!(r.asked().is_empty(), "no groups, nothing to answer");

    r.delays(&[300 * MS]);
    assert_eq!(
        r.set(G, exc(&[S1])),
        vec![Msg::V2(G)],
        "sources cannot be said in v2"
    );
    assert_eq!(r.run_until(T0 + SEC), vec![(T0 + 300 * MS, Msg::V2(G))]);
    assert!(
        r.set(G, inc(&[S2])).is_empty(),
        "still joined: nothing to tell a v2 querier"
    );
    assert_eq!(r.host.groups(), vec![(G, inc(&[S2]))]);
    r.delays(&[600 * MS]);
    assert_eq!(r.set(G2, inc(&[S1])), vec![Msg::V2(G2)]);
    assert_eq!(r.set(G, Filter::none()), vec![Msg::Leave(G)]);
    assert_eq!(
        r.run_until(T0 + 10 * SEC),
        vec![(T0 + SEC + 600 * MS, Msg::V2(G2))],
        "the leave is sent once"
    );
    assert_eq!(r.asked(), vec![URI, URI]);

    assert_eq!(r.host.version(T0 + OVQPT - 1), 2);
    assert_eq!(r.host.version(T0 + OVQPT), 3);
    assert_eq!(r.host.next_deadline(), Some(T0 + OVQPT));
    assert!(r.run_until(T0 + OVQPT).is_empty());
    assert_eq!(r.host.next_deadline(), None);
    // v3 again: the filters kept through v2 mode are what changes are reported from.
    r.delays(&[300 * MS, 300 * MS]);
    assert_eq!(r.set(G, exc(&[])), vec![v3(&[rec(TO_EX, G, &[])])]);
    assert_eq!(
        r.set(G2, Filter::none()),
        vec![v3(&[rec(BLOCK, G2, &[S1])])]
    );
}

#[test]
fn entering_v2_cancels_pending_v3_retransmissions() {
    let mut r = Rig::new();
    r.delays(&[300 * MS]);
    r.set(G, exc(&[]));
    r.run_until(T0 + 100 * MS);
    r.delays(&[2 * SEC]);
    r.query(&v2_query(ANY, 100));
    assert_eq!(r.asked(), vec![URI, 10 * SEC]);
    assert_eq!(
        r.run_until(T0 + 10 * SEC),
        vec![(T0 + 2100 * MS, Msg::V2(G))],
        "no TO_EX at +300 ms: the v2 report answers the query"
    );
}

#[test]
fn v2_queries_set_a_timer_per_group_reset_only_to_come_sooner() {
    let mut r = Rig::with(HostConfig {
        robustness: 1,
        ..HostConfig::default()
    });
    r.set(G, exc(&[]));
    r.set(G2, inc(&[S1]));
    r.delays(&[4 * SEC, 7 * SEC]);
    r.query(&v2_query(ANY, 100));
    assert!(r.run_until(T0 + SEC).is_empty());
    // G2's timer has 6 s left, more than this query's 1 s: reset.
    r.delays(&[500 * MS]);
    r.query(&v2_query(G2, 10));
    assert_eq!(
        r.run_until(T0 + 2 * SEC),
        vec![(T0 + 1500 * MS, Msg::V2(G2))]
    );
    // G's timer has 2 s left, within 10 s: kept. G2's ran out: set again.
    r.delays(&[3 * SEC]);
    r.query(&v2_query(ANY, 100));
    let later = r.run_until(T0 + 20 * SEC);
    assert_eq!(
        later,
        vec![(T0 + 4 * SEC, Msg::V2(G)), (T0 + 5 * SEC, Msg::V2(G2))]
    );
    assert_eq!(r.asked(), vec![10 * SEC, 10 * SEC, SEC, 10 * SEC]);
}

#[test]
fn v1_querier_means_v1_reports_and_no_leaves() {
    let mut r = Rig::new();
    r.query(&v1_query());
    assert_eq!(r.host.version(T0), 1);
    r.delays(&[300 * MS]);
    assert_eq!(r.set(G, exc(&[])), vec![Msg::V1(G)]);
    assert_eq!(r.run_until(T0 + SEC), vec![(T0 + 300 * MS, Msg::V1(G))]);
    // A leave sends nothing and cancels the retransmission.
    r.delays(&[300 * MS]);
    assert_eq!(r.set(G2, exc(&[])), vec![Msg::V1(G2)]);
    assert!(r.set(G2, Filter::none()).is_empty());
    assert!(r.run_until(T0 + 10 * SEC).is_empty());
    // A v1 query is answered with v1 reports after up to 10 s.
    r.delays(&[8 * SEC]);
    r.query(&v1_query());
    assert_eq!(r.asked(), vec![URI, URI, 10 * SEC]);
    assert_eq!(
        r.run_until(T0 + 20 * SEC),
        vec![(T0 + 18 * SEC, Msg::V1(G))]
    );
    assert_eq!(r.host.version(T0 + 10 * SEC + OVQPT - 1), 1);
    assert_eq!(r.host.version(T0 + 10 * SEC + OVQPT), 3);
}

#[test]
fn v1_timer_wins_over_v2_and_each_ends_on_its_own() {
    let mut r = Rig::new();
    r.query(&v2_query(ANY, 100)); // v2 until T0 + 260 s
    r.now = T0 + 100 * SEC;
    r.query(&v1_query()); // v1 until T0 + 360 s
    assert_eq!(r.host.version(T0 + 300 * SEC), 1);
    assert_eq!(
        r.host.version(T0 + 360 * SEC),
        3,
        "the v2 timer ended before"
    );
    r.now = T0 + 200 * SEC;
    r.query(&v2_query(ANY, 100)); // v2 until T0 + 460 s
    assert_eq!(r.host.version(T0 + 359 * SEC), 1);
    assert_eq!(r.host.version(T0 + 360 * SEC), 2);
    assert_eq!(r.host.version(T0 + 460 * SEC), 3);
    // Deadlines at both ends, nothing sent.
    assert!(r.run_until(T0 + 500 * SEC).is_empty());
    assert_eq!(r.host.next_deadline(), None);
}

#[test]
fn older_querier_timeout_uses_the_querier_values_heard() {
    let mut r = Rig::new();
    let mut q = general_v3(100);
    q.qrv = 3;
    q.qqic_secs = 60;
    r.query(&q);
    r.query(&v2_query(ANY, 50));
    // 3 × 60 s + 5 s.
    assert_eq!(r.host.version(T0 + 185 * SEC - 1), 2);
    assert_eq!(r.host.version(T0 + 185 * SEC), 3);
}

#[test]
fn group_specific_v2_query_keeps_v3_mode() {
    let mut r = Rig::new();
    r.query(&v2_query(G, 10));
    assert_eq!(r.host.version(T0), 3);
    assert_eq!(r.host.next_deadline(), None);
}

#[test]
fn back_to_v3_cancels_pending_v2_answers() {
    let mut r = Rig::with(HostConfig {
        robustness: 1,
        ..HostConfig::default()
    });
    // No QRV heard: the timeout takes our robustness, 1 × 125 s + 10 s = 135 s.
    r.query(&v2_query(ANY, 100));
    r.set(G, exc(&[]));
    r.now = T0 + 133 * SEC;
    r.delays(&[5 * SEC]);
    r.query(&v2_query(G, 100)); // answer due at T0 + 138 s, after the mode ends
    assert_eq!(r.host.version(T0 + 135 * SEC - 1), 2);
    assert_eq!(r.host.next_deadline(), Some(T0 + 135 * SEC));
    assert!(r.run_until(T0 + 300 * SEC).is_empty());
    assert_eq!(r.host.version(r.now), 3);
    assert_eq!(r.host.next_deadline(), None);
}

#[test]
fn configured_ceiling() {
    let mut r = Rig::with(HostConfig {
        max_version: 2,
        robustness: 1,
        ..HostConfig::default()
    });
    assert_eq!(r.host.version(T0), 2);
    assert_eq!(r.set(G, exc(&[S1])), vec![Msg::V2(G)]);
    // A v3 query is answered in v2, and sets no timer.
    r.delays(&[SEC]);
    r.query(&v3_query(G, &[S2], 100));
    assert_eq!(r.run_until(T0 + 5 * SEC), vec![(T0 + SEC, Msg::V2(G))]);
    assert_eq!(r.set(G, Filter::none()), vec![Msg::Leave(G)]);
    // A v2 querier changes nothing (no deadline for its timer); a v1 querier does.
    r.query(&v2_query(ANY, 100));
    assert_eq!(
        r.host.next_deadline(),
        None,
        "the v2 timer cannot change a v2 host's mode"
    );
    r.query(&v1_query());
    assert_eq!(r.host.version(r.now), 1);
    assert_eq!(r.host.next_deadline(), Some(r.now + OVQPT));

    let mut r = Rig::with(HostConfig {
        max_version: 1,
        robustness: 1,
        ..HostConfig::default()
    });
    assert_eq!(r.host.version(T0), 1);
    assert_eq!(r.set(G, exc(&[])), vec![Msg::V1(G)]);
    assert!(r.set(G, Filter::none()).is_empty());
    r.query(&v1_query());
    assert_eq!(r.host.next_deadline(), None);
}

#[test]
fn a_v1_query_is_general_whatever_its_group_field() {
    let mut r = Rig::with(HostConfig {
        robustness: 1,
        ..HostConfig::default()
    });
    r.set(G, exc(&[]));
    r.set(G2, inc(&[S1]));
    // Type 0x11, code 0, 8 bytes: v1 (RFC 3376 §7.1), here with G in the group field.
    let mut b = vec![igmp::TYPE_MEMBERSHIP_QUERY, 0, 0, 0];
    b.extend_from_slice(&G.octets());
    let c = igmp::checksum(&b);
    b[2..4].copy_from_slice(&c.to_be_bytes());
    let IgmpMessage::Query(q) = igmp::parse(&b).unwrap() else {
        panic!()
    };
    assert_eq!((q.version, q.group), (QueryVersion::V1, G));
    r.delays(&[SEC, 2 * SEC]);
    assert!(r.host.on_query(&q, T0).is_empty());
    assert_eq!(r.host.version(T0), 1);
    assert_eq!(
        r.run_until(T0 + 10 * SEC),
        vec![(T0 + SEC, Msg::V1(G)), (T0 + 2 * SEC, Msg::V1(G2))]
    );
}
