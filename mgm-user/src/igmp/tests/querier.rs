//! Querier election, other-querier-present timer, takeover, QRV/QQI adoption.

use super::*;

const T1: u64 = T0 + 10 * SEC;
const OQPI: u64 = 255 * SEC;

fn general(a: &[(u64, Action)]) -> Vec<(u64, QueryMessage)> {
    timed_queries(a)
        .into_iter()
        .filter(|(_, q)| q.is_general())
        .collect()
}

#[test]
fn starts_as_querier() {
    let (r, a) = Rig::new();
    assert_eq!(
        a[0],
        Action::QuerierChanged {
            ifindex: IFINDEX,
            we_are_querier: true,
            querier: Some(US)
        }
    );
    assert!(matches!(a[1], Action::SendQuery { .. }));
    assert_eq!(a.len(), 2);
    assert!(r.iface.is_querier());
    assert_eq!(r.iface.querier_address(), Some(US));
    assert_eq!(r.iface.version(T0), 3);
}

#[test]
fn lower_address_wins_and_we_take_over_after_oqpi() {
    let mut r = Rig::querier();
    r.run_until(T1);
    let a = r.query_v3(LOWER_ROUTER, Ipv4Addr::UNSPECIFIED, false, &[], 100, 2, 125);
    assert_eq!(
        a,
        vec![Action::QuerierChanged {
            ifindex: IFINDEX,
            we_are_querier: false,
            querier: Some(LOWER_ROUTER)
        }]
    );
    assert!(!r.iface.is_querier());
    assert_eq!(r.iface.querier_address(), Some(LOWER_ROUTER));
    assert_eq!(r.iface.other_querier_expires_ns(), Some(T1 + OQPI));
    assert_eq!(r.iface.next_general_query_ns(), None);
    // Silent until the other querier times out: no startup query at T0+31.25 s either.
    let quiet = r.run_until(T1 + OQPI - 1);
    assert!(quiet.is_empty());
    let a = r.run_until(T1 + OQPI);
    assert_eq!(
        a[0],
        (
            T1 + OQPI,
            Action::QuerierChanged {
                ifindex: IFINDEX,
                we_are_querier: true,
                querier: Some(US)
            }
        )
    );
    assert_eq!(general(&a).len(), 1);
    assert_eq!(general(&a)[0].0, T1 + OQPI);
    assert!(r.iface.is_querier());
    assert_eq!(r.iface.next_general_query_ns(), Some(T1 + OQPI + 125 * SEC));
}

#[test]
fn queries_from_the_querier_keep_us_quiet() {
    let mut r = Rig::querier();
    let mut t = T1;
    r.run_until(t);
    for _ in 0..5 {
        r.query_v3(LOWER_ROUTER, Ipv4Addr::UNSPECIFIED, false, &[], 100, 2, 125);
        t += 125 * SEC;
        let a = r.run_until(t);
        assert!(general(&a).is_empty());
    }
    assert!(!r.iface.is_querier());
}

#[test]
fn higher_address_does_not_demote_us() {
    let mut r = Rig::querier();
    r.run_until(T1);
    let a = r.query_v3(
        HIGHER_ROUTER,
        Ipv4Addr::UNSPECIFIED,
        false,
        &[],
        100,
        2,
        125,
    );
    assert!(a.is_empty());
    assert!(r.iface.is_querier());
    assert_eq!(r.iface.next_general_query_ns(), Some(T0 + 31_250 * MS));
}

#[test]
fn unspecified_source_query_does_not_take_part_in_election() {
    let mut r = Rig::querier();
    r.run_until(T1);
    r.query_v3(
        Ipv4Addr::UNSPECIFIED,
        Ipv4Addr::UNSPECIFIED,
        false,
        &[],
        100,
        2,
        125,
    );
    assert!(r.iface.is_querier());
}

#[test]
fn non_querier_adopts_qrv_and_qqi_of_the_querier() {
    let mut r = Rig::querier();
    r.run_until(T1);
    r.query_v3(LOWER_ROUTER, Ipv4Addr::UNSPECIFIED, false, &[], 100, 3, 60);
    let p = r.iface.params();
    assert_eq!(p.robustness, 3);
    assert_eq!(p.query_interval, 60 * SEC);
    assert_eq!(p.group_membership_interval, (3 * 60 + 10) * SEC);
    assert_eq!(p.last_member_query_count, 3);
    r.v2_report(H1, G);
    assert_eq!(r.group(G).group_timer, T1 + 190 * SEC);
    // QRV 0 / QQIC 0 are not adopted.
    r.query_v3(LOWER_ROUTER, Ipv4Addr::UNSPECIFIED, false, &[], 100, 0, 0);
    assert_eq!(r.iface.params().robustness, 3);
    assert_eq!(r.iface.params().query_interval, 60 * SEC);
    // OQPI now from the adopted values: 3 x 60 + 5 = 185 s.
    assert_eq!(r.iface.other_querier_expires_ns(), Some(T1 + 185 * SEC));
    // Takeover: our own configuration again, announced in our queries.
    let a = r.run_until(T1 + 185 * SEC);
    let g = general(&a);
    assert_eq!(g.len(), 1);
    assert_eq!((g[0].1.qrv, g[0].1.qqic_secs), (2, 125));
    assert_eq!(r.iface.params().group_membership_interval, GMI);
}

#[test]
fn adoption_only_from_lower_router() {
    let mut r = Rig::querier();
    r.query_v3(HIGHER_ROUTER, Ipv4Addr::UNSPECIFIED, false, &[], 100, 5, 30);
    assert_eq!(r.iface.params().robustness, 2);
    assert_eq!(r.iface.params().query_interval, 125 * SEC);
}

#[test]
fn two_routers_converge_on_the_lowest() {
    // Both start as querier; each hears the other's first query.
    let (mut low, _) = {
        let (iface, a) = IgmpInterface::new(IFINDEX, LOWER_ROUTER, IgmpConfig::default(), T0);
        (
            Rig {
                iface,
                view: MapView::default(),
                now: T0,
            },
            a,
        )
    };
    let mut high = Rig::querier();
    high.query_v3(LOWER_ROUTER, Ipv4Addr::UNSPECIFIED, false, &[], 100, 2, 125);
    low.query_v3(US, Ipv4Addr::UNSPECIFIED, false, &[], 100, 2, 125);
    assert!(low.iface.is_querier());
    assert!(!high.iface.is_querier());
}

#[test]
fn s_flag_query_still_elects() {
    let mut r = Rig::querier();
    r.rec(IS_EX, G, &[]);
    r.run_until(T1);
    r.query_v3(LOWER_ROUTER, G, true, &[], 10, 2, 125);
    assert!(
        !r.iface.is_querier(),
        "S=1 suppresses timer updates, not the election"
    );
    assert_eq!(r.group(G).group_timer, T0 + GMI);
}

fn following() -> Rig {
    let cfg = IgmpConfig {
        older_querier: OlderQuerier::Follow,
        ..IgmpConfig::default()
    };
    Rig::with(cfg).0
}

#[test]
fn followed_lower_v2_querier_makes_us_v2_non_querier() {
    let mut r = following();
    r.run_until(T1);
    let a = r.query_v2(LOWER_ROUTER, Ipv4Addr::UNSPECIFIED, 100);
    assert_eq!(
        a,
        vec![
            Action::VersionChanged {
                ifindex: IFINDEX,
                from: 3,
                to: 2,
                older_querier: Some(LOWER_ROUTER)
            },
            Action::QuerierChanged {
                ifindex: IFINDEX,
                we_are_querier: false,
                querier: Some(LOWER_ROUTER)
            }
        ]
    );
    assert_eq!(r.iface.version(r.now), 2);
    // Both timers run out together: v3 querier again.
    let a = untimed(r.run_until(T1 + OQPI));
    assert!(a.contains(&Action::VersionChanged {
        ifindex: IFINDEX,
        from: 2,
        to: 3,
        older_querier: None
    }));
    let g = queries(&a);
    assert_eq!(g.len(), 1);
    assert_eq!(g[0].1.version, QueryVersion::V3);
}

#[test]
fn followed_v1_and_v2_queriers_lowest_version_wins_then_steps_up() {
    let mut r = following();
    r.run_until(T1);
    r.query_v2(LOWER_ROUTER, Ipv4Addr::UNSPECIFIED, 100);
    r.run_until(T1 + 100 * SEC);
    r.query_v1(Ipv4Addr::new(192, 0, 2, 3));
    assert_eq!(r.iface.version(r.now), 1);
    // v2 querier gone at T1+OQPI but the v1 one stays until T1+100 s+OQPI.
    r.run_until(T1 + OQPI);
    assert_eq!(r.iface.version(r.now), 1);
    let a = untimed(r.run_until(T1 + 100 * SEC + OQPI));
    assert!(a.contains(&Action::VersionChanged {
        ifindex: IFINDEX,
        from: 1,
        to: 3,
        older_querier: None
    }));
}

#[test]
fn queries_from_sources_that_cannot_be_a_router_here_are_ignored() {
    let link = LinkSubnet {
        network: [192, 0, 2, 0],
        prefix_len: 24,
        _pad: [0; 3],
    };
    let foreign = [
        (Ipv4Addr::new(127, 0, 0, 1), ForeignSource::NotUnicast),
        (Ipv4Addr::new(224, 0, 0, 5), ForeignSource::NotUnicast),
        (Ipv4Addr::new(255, 255, 255, 255), ForeignSource::NotUnicast),
        (Ipv4Addr::new(0, 0, 0, 9), ForeignSource::NotUnicast),
        (Ipv4Addr::new(203, 0, 113, 1), ForeignSource::OffLink),
        (Ipv4Addr::new(192, 0, 2, 0), ForeignSource::SubnetAddress),
        (Ipv4Addr::new(192, 0, 2, 255), ForeignSource::SubnetAddress),
    ];
    for (k, (source, reason)) in foreign.into_iter().enumerate() {
        let mut r = Rig::querier();
        r.iface.set_link_subnets(&[link]);
        r.rec(IS_EX, G, &[]);
        r.run_until(T1);
        // A general query with QRV 7 / QQIC 255 and a group query with S clear: neither the
        // election, nor adoption, nor timer lowering may follow.
        let a = r.query_v3(source, Ipv4Addr::UNSPECIFIED, false, &[], 100, 7, 31744);
        assert_eq!(
            a,
            vec![Action::Notice {
                ifindex: IFINDEX,
                notice: RouterNotice::ForeignQuery { source, reason },
                suppressed: 0
            }],
            "query from {source} ({k})"
        );
        r.query_v3(source, G, false, &[], 10, 2, 125);
        r.query_v2(source, Ipv4Addr::UNSPECIFIED, 100);
        assert!(r.iface.is_querier(), "{source} took the querier role");
        assert_eq!(r.iface.params().robustness, 2, "{source}");
        assert_eq!(r.iface.params().query_interval, 125 * SEC, "{source}");
        assert_eq!(
            r.group(G).group_timer,
            T0 + GMI,
            "{source} lowered the group timer"
        );
        assert_eq!(r.iface.version(r.now), 3);
        assert_eq!(r.iface.foreign_queries(), 3, "{source}");
        assert_eq!(r.iface.router_queries(), 0, "{source}");
    }
    // The same checks let a real router on the link through.
    let mut r = Rig::querier();
    r.iface.set_link_subnets(&[link]);
    r.query_v3(LOWER_ROUTER, Ipv4Addr::UNSPECIFIED, false, &[], 100, 2, 125);
    assert!(!r.iface.is_querier());
    assert_eq!(r.iface.foreign_queries(), 0);
    assert_eq!(r.iface.router_queries(), 1);
}

#[test]
fn adopted_query_interval_is_bounded() {
    let mut r = Rig::querier();
    r.run_until(T1);
    // QRV 7, QQIC 31744 s (the largest code): 61.7 h of group membership without a bound.
    r.query_v3(
        LOWER_ROUTER,
        Ipv4Addr::UNSPECIFIED,
        false,
        &[],
        100,
        7,
        31744,
    );
    let p = r.iface.params();
    let max_qi = u64::from(MAX_ADOPTED_QUERY_INTERVAL_FACTOR) * 125 * SEC;
    assert_eq!(p.robustness, 7);
    assert_eq!(p.query_interval, max_qi);
    assert_eq!(p.group_membership_interval, 7 * max_qi + 10 * SEC);
    assert_eq!(
        r.iface.other_querier_expires_ns(),
        Some(T1 + 7 * max_qi + 5 * SEC)
    );
}

#[test]
fn other_querier_timer_counts_with_the_values_of_the_query_that_armed_it() {
    let mut r = Rig::querier();
    r.run_until(T1);
    // The first query from the other router: QRV 3, QQI 60 s → OQPI 3 × 60 + 10 / 2 = 185 s,
    // not the 255 s of the values in force before it.
    r.query_v3(LOWER_ROUTER, Ipv4Addr::UNSPECIFIED, false, &[], 100, 3, 60);
    assert_eq!(r.iface.other_querier_expires_ns(), Some(T1 + 185 * SEC));
    // A later one with other values re-arms it with those.
    r.run_until(T1 + 60 * SEC);
    r.query_v3(LOWER_ROUTER, Ipv4Addr::UNSPECIFIED, false, &[], 100, 2, 30);
    assert_eq!(
        r.iface.other_querier_expires_ns(),
        Some(T1 + 60 * SEC + 65 * SEC)
    );
}

/// `querier = off`: the router that never queries.
fn never_querier() -> (Rig, Vec<Action>) {
    Rig::with(IgmpConfig {
        querier: false,
        ..IgmpConfig::default()
    })
}

#[test]
fn never_querier_sends_no_query_at_start_nor_when_nobody_queries() {
    let (mut r, a) = never_querier();
    assert!(a.is_empty(), "{a:?}");
    assert!(!r.iface.is_querier());
    assert_eq!(r.iface.querier_address(), None);
    let a = r.run_until(T0 + 2 * OQPI);
    assert!(general(&a).is_empty(), "{a:?}");
    assert!(!r.iface.is_querier());
}

#[test]
fn never_querier_follows_a_querier_of_any_address_and_never_takes_over() {
    let (mut r, _) = never_querier();
    r.run_until(T1);
    // A higher address than ours: elected all the same.
    let a = r.query_v3(
        HIGHER_ROUTER,
        Ipv4Addr::UNSPECIFIED,
        false,
        &[],
        100,
        2,
        125,
    );
    assert!(a.is_empty(), "{a:?}");
    assert_eq!(r.iface.querier_address(), Some(HIGHER_ROUTER));
    assert_eq!(r.iface.other_querier_expires_ns(), Some(T1 + OQPI));
    // It goes silent: no takeover, no query; it is no longer shown as the querier.
    let a = r.run_until(T1 + 2 * OQPI);
    assert!(general(&a).is_empty(), "{a:?}");
    assert!(!r.iface.is_querier());
    assert_eq!(r.iface.querier_address(), None);
    assert_eq!(r.iface.other_querier_expires_ns(), None);
}

#[test]
fn never_querier_sends_no_last_member_query_and_lowers_on_the_queriers() {
    let (mut r, _) = never_querier();
    r.run_until(T1);
    r.query_v3(
        HIGHER_ROUTER,
        Ipv4Addr::UNSPECIFIED,
        false,
        &[],
        100,
        2,
        125,
    );
    r.v2_report(H1, G2);
    assert!(r.has_group(G2));
    // A leave: the querier's job to ask, not ours.
    let a = r.leave(H1, G2);
    assert!(queries(&a).is_empty(), "{a:?}");
    // The querier's group-specific query lowers the group timer (RFC 3376 §6.6.1).
    r.query_v3(HIGHER_ROUTER, G2, false, &[], 10, 2, 125);
    let a = r.run_until(r.now + 3 * SEC);
    assert!(timed_queries(&a).is_empty(), "{a:?}");
    assert!(
        !r.has_group(G2),
        "the group outlived the querier's last-member queries"
    );
}

#[test]
fn turning_the_querier_role_off_stops_the_queries_and_on_starts_them() {
    let mut r = Rig::querier();
    r.run_until(T1);
    let off = IgmpConfig {
        querier: false,
        ..r.iface.config().clone()
    };
    let a = r.iface.reconfigure(off, r.now, &r.view);
    assert_eq!(
        a,
        vec![Action::QuerierChanged {
            ifindex: IFINDEX,
            we_are_querier: false,
            querier: None
        }]
    );
    let a = r.run_until(T1 + 2 * OQPI);
    assert!(general(&a).is_empty(), "{a:?}");
    let on = IgmpConfig {
        querier: true,
        ..r.iface.config().clone()
    };
    let a = r.iface.reconfigure(on, r.now, &r.view);
    assert!(r.iface.is_querier());
    assert_eq!(queries(&a).len(), 1, "{a:?}");
}

#[test]
fn a_readdressed_router_keeps_its_groups_and_elects_by_its_new_address() {
    let mut r = Rig::querier();
    r.rec(IS_EX, G, &[]);
    r.run_until(T1);
    let timer = r.group(G).group_timer;
    // Re-addressed above HIGHER_ROUTER: that router's query now elects it.
    let new = Ipv4Addr::new(192, 0, 2, 30);
    r.iface.set_our_addr(new);
    assert_eq!(r.iface.our_addr(), new);
    assert_eq!(r.iface.querier_address(), Some(new));
    assert_eq!(r.group(G).group_timer, timer, "the group kept as it was");
    r.query_v3(
        HIGHER_ROUTER,
        Ipv4Addr::UNSPECIFIED,
        false,
        &[],
        100,
        2,
        125,
    );
    assert!(!r.iface.is_querier());
    assert_eq!(r.iface.querier_address(), Some(HIGHER_ROUTER));
    assert_eq!(r.iface.group_count(), 1);
}
