//! §7.3.2 older hosts, §7.3.1 older queriers, configured v1/v2 interfaces (RFC 2236 table).

use super::*;

const T1: u64 = T0 + 10 * SEC;
const OHPI: u64 = 260 * SEC;
const OQPI: u64 = 255 * SEC;

#[test]
fn v2_report_is_is_ex_empty_and_starts_v2_host_timer() {
    let mut r = Rig::querier();
    let a = r.v2_report(H1, G);
    let g = r.group(G);
    assert_eq!(g.mode, FilterMode::Exclude);
    assert!(g.sources.is_empty());
    assert_eq!(g.group_timer, T0 + GMI);
    assert_eq!(g.v2_host_timer, T0 + OHPI);
    assert_eq!(g.compat(T0), 2);
    assert_eq!(deltas(&a), vec![(G, None, Join)]);
    let m = r.view.member_of(G).unwrap();
    assert_eq!(m.compat_version, 2);
    assert_eq!(m.v2_host_expires_ns, T0 + OHPI);
    assert_eq!(m.v1_host_expires_ns, 0);
    assert_eq!(m.last_reporter, H1.octets());
}

#[test]
fn v2_report_with_wrong_destination_is_ignored() {
    let mut r = Rig::querier();
    let b = simple(mgm_common::igmp::TYPE_V2_REPORT, 0, G);
    let a = r.feed(H1, G2, &b);
    assert!(a.is_empty());
    assert!(!r.has_group(G));
}

#[test]
fn v2_mode_ignores_block_and_to_ex_sources() {
    let mut r = Rig::querier();
    r.v2_report(H1, G);
    r.run_until(T1);
    let a = r.rec(BLOCK, G, &[S1]);
    assert!(a.is_empty(), "BLOCK ignored in v2 mode: {a:?}");
    assert!(r.group(G).sources.is_empty());
    r.rec(TO_EX, G, &[S1]);
    assert!(
        r.group(G).sources.is_empty(),
        "TO_EX(x) read as TO_EX({{}})"
    );
    assert_eq!(r.group(G).group_timer, T1 + GMI);
    // ALLOW / IS_IN still count.
    r.rec(ALLOW, G, &[S2]);
    assert_eq!(r.xy(G), (vec![S2], vec![]));
}

#[test]
fn v1_mode_ignores_leave_and_to_in() {
    let mut r = Rig::querier();
    r.v1_report(H1, G);
    r.v2_report(H2, G);
    assert_eq!(r.group(G).compat(T0), 1, "v1 wins over v2");
    r.run_until(T1);
    assert!(queries(&r.leave(H2, G)).is_empty());
    assert!(queries(&r.rec(TO_IN, G, &[])).is_empty());
    assert_eq!(r.group(G).group_timer, T0 + GMI, "no lowering");
    assert_eq!(r.view.member_of(G).unwrap().compat_version, 1);
    assert_eq!(r.view.member_of(G).unwrap().v1_host_expires_ns, T0 + OHPI);
}

#[test]
fn back_to_v3_when_older_host_timers_expire() {
    let mut r = Rig::querier();
    r.v2_report(H1, G);
    r.run_until(T0 + 100 * SEC);
    r.rec(IS_EX, G, &[]); // a v3 host keeps the group
    let a = r.run_until(T0 + OHPI);
    // The compat change alone rewrites the member entry (the fast path depends on it).
    let writes: Vec<MemberState> = a
        .iter()
        .filter_map(|(t, a)| match a {
            Action::WriteMember { state, .. } if *t == T0 + OHPI => Some(*state),
            _ => None,
        })
        .collect();
    assert_eq!(writes.len(), 1);
    assert_eq!(writes[0].compat_version, 3);
    assert_eq!(writes[0].v2_host_expires_ns, 0);
    assert!(deltas(&untimed(a)).is_empty());
    assert_eq!(r.group(G).compat(r.now), 3);
    // v3 rules again: BLOCK is processed (row 10) and queried.
    let a = r.rec(BLOCK, G, &[S1]);
    assert_eq!(r.xy(G), (vec![S1], vec![]));
    assert_eq!(gsq(&queries(&a)[0].1), (vec![S1], false));
}

#[test]
fn v2_leave_in_v3_mode_is_to_in_empty() {
    // A leave for a group kept by v3 hosts (no v2 timer): still TO_IN({}) -> Q(G).
    let mut r = Rig::querier();
    r.rec(IS_EX, G, &[]);
    let a = r.leave(H1, G);
    assert_eq!(gsq(&queries(&a)[0].1), (vec![], false));
}

fn following() -> Rig {
    let cfg = IgmpConfig {
        older_querier: OlderQuerier::Follow,
        ..IgmpConfig::default()
    };
    Rig::with(cfg).0
}

#[test]
fn followed_v2_querier_switches_us_down_and_back_up() {
    let mut r = following();
    r.run_until(T1);
    let a = r.query_v2(LOWER_ROUTER, Ipv4Addr::UNSPECIFIED, 100);
    assert_eq!(
        a[0],
        Action::VersionChanged {
            ifindex: IFINDEX,
            from: 3,
            to: 2,
            older_querier: Some(LOWER_ROUTER)
        }
    );
    assert!(!r.iface.is_querier(), "the lower address is querier");
    assert_eq!(r.iface.version(r.now), 2);
    // v2 rules while the v2 querier is present: BLOCK is ignored.
    r.rec(IS_IN, G, &[S1]);
    let a = r.rec(BLOCK, G, &[S1]);
    assert!(a.is_empty(), "BLOCK ignored in v2 mode: {a:?}");
    assert_eq!(r.st(G, S1), r.now + GMI);
    // The older querier goes silent: back to v3, and querier again, after OQPI.
    let a = untimed(r.run_until(T1 + OQPI));
    assert!(a.contains(&Action::VersionChanged {
        ifindex: IFINDEX,
        from: 2,
        to: 3,
        older_querier: None
    }));
    assert_eq!(r.iface.version(r.now), 3);
    assert!(r.iface.is_querier());
    assert!(queries(&a)
        .iter()
        .all(|(_, q)| q.version == QueryVersion::V3));
}

#[test]
fn followed_v1_querier_forces_v1_rules() {
    let mut r = following();
    r.run_until(T1);
    let a = r.query_v1(LOWER_ROUTER);
    assert_eq!(
        a[0],
        Action::VersionChanged {
            ifindex: IFINDEX,
            from: 3,
            to: 1,
            older_querier: Some(LOWER_ROUTER)
        }
    );
    r.v2_report(H1, G);
    let a = r.leave(H1, G);
    assert!(a.is_empty(), "v1: leaves ignored: {a:?}");
    assert_eq!(r.group(G).group_timer, T1 + GMI);
}

#[test]
fn older_querier_with_a_higher_address_is_not_followed() {
    let mut r = following();
    r.run_until(T1);
    for older in [
        r.query_v2(HIGHER_ROUTER, Ipv4Addr::UNSPECIFIED, 100),
        r.query_v1(HIGHER_ROUTER),
    ] {
        assert!(
            older
                .iter()
                .all(|a| !matches!(a, Action::VersionChanged { .. })),
            "{older:?}"
        );
    }
    let a = r.query_v2(Ipv4Addr::UNSPECIFIED, Ipv4Addr::UNSPECIFIED, 100);
    assert!(
        a.iter()
            .all(|a| !matches!(a, Action::VersionChanged { .. })),
        "snooping switch: {a:?}"
    );
    assert_eq!(r.iface.version(r.now), 3);
    assert!(r.iface.is_querier());
    assert_eq!(r.iface.older_queries(), 3);
}

#[test]
fn older_querier_is_only_warned_about_by_default() {
    let mut r = Rig::querier();
    r.run_until(T1);
    let a = r.query_v2(LOWER_ROUTER, Ipv4Addr::UNSPECIFIED, 100);
    assert_eq!(
        a,
        vec![
            Action::Notice {
                ifindex: IFINDEX,
                notice: RouterNotice::OlderQuerier {
                    querier: LOWER_ROUTER,
                    version: 2
                },
                suppressed: 0
            },
            Action::QuerierChanged {
                ifindex: IFINDEX,
                we_are_querier: false,
                querier: Some(LOWER_ROUTER)
            }
        ],
        "the lower router wins the election; the version stays ours"
    );
    assert_eq!(r.iface.version(r.now), 3);
    // Within a minute: counted, not told again; after it: told with the count suppressed.
    for _ in 0..3 {
        let a = r.query_v1(LOWER_ROUTER);
        assert!(
            a.iter().all(|a| !matches!(a, Action::Notice { .. })),
            "{a:?}"
        );
    }
    r.run_until(T1 + 61 * SEC);
    let a = r.query_v1(LOWER_ROUTER);
    assert!(a.contains(&Action::Notice {
        ifindex: IFINDEX,
        notice: RouterNotice::OlderQuerier {
            querier: LOWER_ROUTER,
            version: 1
        },
        suppressed: 3
    }));
    assert_eq!(r.iface.older_queries(), 5);
    assert_eq!(r.iface.version(r.now), 3);
}

#[test]
fn rfc2236_table_on_a_v2_interface() {
    let cfg = IgmpConfig {
        version: 2,
        ..IgmpConfig::default()
    };
    let (mut r, a) = Rig::with(cfg);
    let q = queries(&a);
    assert_eq!(q[0].1.version, QueryVersion::V2);
    assert_eq!(q[0].1.encode(), simple(0x11, 100, Ipv4Addr::UNSPECIFIED));
    // No Members Present + v2 report -> notify +, timer = GMI.
    let a = r.v2_report(H1, G);
    assert_eq!(deltas(&a), vec![(G, None, Join)]);
    assert_eq!(r.group(G).group_timer, T0 + GMI);
    // Members Present + leave (querier): GSQ x LMQC every LMQI, timer = LMQT.
    r.run_until(T1);
    let a = r.leave(H1, G);
    let q = queries(&a);
    assert_eq!(q.len(), 1);
    assert_eq!(q[0].1.encode(), simple(0x11, 10, G));
    assert_eq!(r.group(G).group_timer, T1 + LMQT);
    // Checking Membership + v2 report -> timer = GMI.
    r.run_until(T1 + 500 * MS);
    r.v2_report(H2, G);
    assert_eq!(r.group(G).group_timer, T1 + 500 * MS + GMI);
    // A v2 querier still sends the remaining GSQ (v2 has no S flag).
    let a = r.run_until(T1 + 5 * SEC);
    let q = timed_queries(&a);
    assert_eq!(q.len(), 1);
    assert_eq!(q[0].0, T1 + LMQI);
    assert_eq!(q[0].1.encode(), simple(0x11, 10, G));
    // v1 report -> V1 Members Present: leaves ignored.
    r.v1_report(H1, G);
    assert_eq!(r.group(G).compat(r.now), 1);
    assert!(queries(&r.leave(H2, G)).is_empty());
    assert_eq!(r.group(G).group_timer, T1 + 5 * SEC + GMI);
    // v1-host timer expires -> Members Present: leaves work again.
    r.run_until(T1 + 105 * SEC);
    r.v2_report(H2, G);
    r.run_until(T1 + 5 * SEC + OHPI);
    assert!(r.has_group(G));
    assert_eq!(r.group(G).v1_host_timer(), 0);
    assert_eq!(r.group(G).compat(r.now), 2);
    assert_eq!(queries(&r.leave(H2, G)).len(), 1);
    // Timer expires -> notify -.
    let now = r.now;
    let a = r.run_until(now + LMQT);
    assert_eq!(timed_deltas(&a), vec![(now + LMQT, None, Leave)]);
}

#[test]
fn v1_interface_sends_v1_queries_and_ignores_leaves() {
    let cfg = IgmpConfig {
        version: 1,
        ..IgmpConfig::default()
    };
    let (mut r, a) = Rig::with(cfg);
    assert_eq!(
        queries(&a)[0].1.encode(),
        simple(0x11, 0, Ipv4Addr::UNSPECIFIED)
    );
    r.v1_report(H1, G);
    assert!(queries(&r.leave(H1, G)).is_empty());
    assert!(r.has_group(G));
}
