//! Each message type goes up with its reason; Router Alert is found among other options.

use super::support::*;

// ---------------------------------------------------------------------------------------------
// Each message type
// ---------------------------------------------------------------------------------------------

#[test]
fn query_v1_v2_v3_go_up_as_queries() {
    let mut fx = fixture();
    let q1 = igmp8(TYPE_MEMBERSHIP_QUERY, 0, [0; 4]);
    let q2 = igmp8(TYPE_MEMBERSHIP_QUERY, 100, [0; 4]);
    let q2gs = igmp8(TYPE_MEMBERSHIP_QUERY, 10, G1);
    let q3 = query_v3([0; 4], &[]);
    let q3gss = query_v3(G1, &[S1, S2]);
    for (q, dst) in [
        (&q1, ALL_SYSTEMS),
        (&q2, ALL_SYSTEMS),
        (&q2gs, G1),
        (&q3, ALL_SYSTEMS),
        (&q3gss, G1),
    ] {
        fx.run(&ip_frame(&Ip::igmp(ROUTER, dst, q.clone())));
        let ev = fx.one_event();
        assert_event(&ev, reason::QUERY, ROUTER, dst, q);
        assert_eq!(ev.flags, EVENT_FLAG_ROUTER_ALERT);
        assert_eq!(ev.vlan_id, 0);
    }
    assert_stats(
        &fx,
        IgmpStats {
            igmp_packets: 5,
            rx_query_v1: 1,
            rx_query_v2: 2,
            rx_query_v3: 2,
            events_sent: 5,
            ..Default::default()
        },
    );
}

#[test]
fn our_own_queries_heard_back_are_counted_but_not_sent_up() {
    let mut fx = fixture();
    // The daemon writes the interface's address: the source of its queries.
    let mut s = fx.ifaces.get(&LO, 0).unwrap();
    s.address = ROUTER;
    fx.ifaces.insert(LO, s, 0).unwrap();
    let general = igmp8(TYPE_MEMBERSHIP_QUERY, 100, [0; 4]);
    let specific = query_v3(G1, &[S1]);
    fx.run(&ip_frame(&Ip::igmp(ROUTER, ALL_SYSTEMS, general.clone())));
    fx.run(&ip_frame(&Ip::igmp(ROUTER, G1, specific.clone())));
    fx.no_event();
    // Another router's query still goes up: the election needs it.
    let other = [192, 0, 2, 2];
    fx.run(&ip_frame(&Ip::igmp(other, ALL_SYSTEMS, general.clone())));
    assert_event(&fx.one_event(), reason::QUERY, other, ALL_SYSTEMS, &general);
    // Reports from our address (the router's own host stack, a local member) still go up.
    let r2 = igmp8(TYPE_V2_REPORT, 0, G1);
    fx.run(&ip_frame(&Ip::igmp(ROUTER, G1, r2.clone())));
    assert_event(&fx.one_event(), reason::NEW_GROUP, ROUTER, G1, &r2);
    assert_stats(
        &fx,
        IgmpStats {
            igmp_packets: 4,
            rx_query_v2: 2,
            rx_query_v3: 1,
            rx_report_v2: 1,
            events_sent: 2,
            ..Default::default()
        },
    );
}

#[test]
fn reports_and_leave_for_unknown_groups_go_up() {
    let mut fx = fixture();
    let r1 = igmp8(TYPE_V1_REPORT, 0, G1);
    fx.run(&ip_frame(&Ip::igmp(HOST, G1, r1.clone()).no_options()));
    let ev = fx.one_event();
    assert_event(&ev, reason::NEW_GROUP, HOST, G1, &r1);
    assert_eq!(ev.flags, 0, "no Router Alert, no VLAN");

    let r2 = igmp8(TYPE_V2_REPORT, 0, G1);
    fx.run(&ip_frame(&Ip::igmp(HOST, G1, r2.clone())));
    let ev = fx.one_event();
    assert_event(&ev, reason::NEW_GROUP, HOST, G1, &r2);
    assert_eq!(ev.flags, EVENT_FLAG_ROUTER_ALERT);

    let leave = igmp8(TYPE_V2_LEAVE, 0, G1);
    fx.run(&ip_frame(&Ip::igmp(HOST, ALL_ROUTERS, leave.clone())));
    assert_event(&fx.one_event(), reason::LEAVE, HOST, ALL_ROUTERS, &leave);

    let r3 = report_v3(&[rec(IS_EX, G1, &[]), rec(ALLOW, G2, &[S1])]);
    fx.run(&ip_frame(&Ip::igmp(HOST, V3_REPORTS, r3.clone())));
    assert_event(&fx.one_event(), reason::NEW_GROUP, HOST, V3_REPORTS, &r3);

    assert_stats(
        &fx,
        IgmpStats {
            igmp_packets: 4,
            rx_report_v1: 1,
            rx_report_v2: 1,
            rx_leave_v2: 1,
            rx_report_v3: 1,
            rx_v3_group_records: 2,
            events_sent: 4,
            ..Default::default()
        },
    );
    // The classifier never creates entries.
    assert_eq!(fx.members.keys().count(), 0);
}

#[test]
fn leave_goes_up_even_for_a_known_group() {
    let mut fx = fixture();
    fx.add_member(G1, exclude_member(2));
    let leave = igmp8(TYPE_V2_LEAVE, 0, G1);
    fx.run(&ip_frame(&Ip::igmp(HOST, ALL_ROUTERS, leave.clone())));
    assert_event(&fx.one_event(), reason::LEAVE, HOST, ALL_ROUTERS, &leave);
    assert_eq!(fx.member(G1), exclude_member(2), "entry untouched");
}

#[test]
fn router_alert_is_found_among_other_options() {
    let mut fx = fixture();
    let r2 = igmp8(TYPE_V2_REPORT, 0, G1);
    // NOP, timestamp-like option of 8 bytes, then RA, then end of list padding.
    let mut ip = Ip::igmp(HOST, G1, r2.clone());
    ip.options = vec![
        0x01, 0x44, 0x08, 0x05, 0x00, 0, 0, 0, 0, 0x94, 0x04, 0, 0, 0x00, 0, 0,
    ];
    fx.run(&ip_frame(&ip));
    assert_eq!(fx.one_event().flags, EVENT_FLAG_ROUTER_ALERT);
    // Options without RA.
    ip.options = vec![0x01, 0x01, 0x01, 0x00];
    fx.run(&ip_frame(&ip));
    assert_eq!(fx.one_event().flags, 0);
    // A malformed option list (length 0) stops the walk, the packet is still accepted.
    ip.options = vec![0x44, 0x00, 0x94, 0x04];
    fx.run(&ip_frame(&ip));
    assert_eq!(fx.one_event().flags, 0);
}
