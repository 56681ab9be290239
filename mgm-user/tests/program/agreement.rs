//! The two writers agree; the interface flags (no fast path, off-link reports).

use super::support::*;

// ---------------------------------------------------------------------------------------------
// The two writers agree: a refresh report absorbed by the classifier leaves the map in the state
// the daemon's IGMP router would have written for the same report.

use mgm_user::igmp::{Action, IgmpConfig, IgmpInterface, NoFastPath};
use std::net::Ipv4Addr;

/// The daemon's router on the test_run device, with the fixture's maps set up as the daemon
/// would: settings from its parameters, entries from its actions.
struct Daemon {
    router: IgmpInterface,
}

impl Daemon {
    fn new(fx: &mut Fx) -> Self {
        let (router, _) =
            IgmpInterface::new(LO, Ipv4Addr::from(ROUTER), IgmpConfig::default(), mono());
        let p = router.params();
        let s = IfaceSettings {
            group_membership_interval_ns: p.group_membership_interval,
            older_host_present_interval_ns: p.older_host_present_interval,
            enabled: 1,
            flags: 0,
            ..IfaceSettings::default()
        };
        fx.ifaces.insert(LO, s, 0).unwrap();
        Daemon { router }
    }

    /// Feeds one IGMP message (as the host sent it in `frame`) to the router; returns its map
    /// writes, applying them to the fixture when `apply`.
    fn feed(
        &mut self,
        fx: &mut Fx,
        src: [u8; 4],
        dst: [u8; 4],
        igmp: &[u8],
        apply: bool,
    ) -> Vec<Action> {
        let msg = mgm_common::igmp::parse(igmp).expect("valid IGMP");
        let actions = self
            .router
            .on_message(mono(), src.into(), dst.into(), &msg, &NoFastPath);
        let writes: Vec<Action> = actions
            .into_iter()
            .filter(|a| matches!(a, Action::WriteMember { .. } | Action::WriteSource { .. }))
            .collect();
        if apply {
            for a in &writes {
                match a {
                    Action::WriteMember { group, state, .. } => {
                        fx.add_member(group.octets(), *state)
                    }
                    Action::WriteSource {
                        group,
                        source,
                        state,
                        ..
                    } => {
                        fx.sources
                            .insert(
                                SourceKey {
                                    ifindex: LO,
                                    group: group.octets(),
                                    source: source.octets(),
                                },
                                *state,
                                0,
                            )
                            .unwrap();
                    }
                    _ => {}
                }
            }
        }
        writes
    }
}

fn mono() -> u64 {
    monotonic_ns()
}

/// `t` lies in [before + d, after + d].
fn within(t: u64, before: u64, after: u64, d: u64) -> bool {
    t >= before + d && t <= after + d
}

#[test]
fn refresh_v2_report_kernel_and_daemon_agree() {
    let mut fx = fixture();
    let mut kernel = Daemon::new(&mut fx);
    let mut daemon = Daemon::new(&mut fx);
    let report = igmp8(TYPE_V2_REPORT, 0, G1);
    // The first report creates the group (slow path) in both routers; the map holds it.
    kernel.feed(&mut fx, HOST, G1, &report, true);
    daemon.feed(&mut fx, HOST, G1, &report, false);
    let gmi = kernel.router.params().group_membership_interval;
    let ohpi = kernel.router.params().older_host_present_interval;

    // Later the same report again: the classifier absorbs it...
    std::thread::sleep(std::time::Duration::from_millis(20));
    let t0 = mono();
    fx.run(&ip_frame(&Ip::igmp(HOST2, G1, report.clone())));
    let t1 = mono();
    fx.no_event();
    let k = fx.member(G1);
    // ...and the daemon's router, given it on the slow path, writes the same state.
    let d0 = mono();
    let writes = daemon.feed(&mut fx, HOST2, G1, &report, false);
    let d1 = mono();
    let Some(Action::WriteMember { state: d, .. }) = writes.first() else {
        panic!("the router wrote no member for a refresh: {writes:?}");
    };
    assert_eq!(
        (k.filter_mode, k.compat_version, k.source_count, k.flags),
        (d.filter_mode, d.compat_version, d.source_count, d.flags)
    );
    assert_eq!(k.last_reporter, HOST2);
    assert_eq!(d.last_reporter, HOST2);
    assert!(
        within(k.group_expires_ns, t0, t1, gmi),
        "kernel group timer"
    );
    assert!(
        within(d.group_expires_ns, d0, d1, gmi),
        "daemon group timer"
    );
    assert!(
        within(k.v2_host_expires_ns, t0, t1, ohpi),
        "kernel v2 host timer"
    );
    assert!(
        within(d.v2_host_expires_ns, d0, d1, ohpi),
        "daemon v2 host timer"
    );
    assert_eq!(k.fast_refreshes, 1);
}

#[test]
fn refresh_v3_is_ex_empty_kernel_and_daemon_agree() {
    let mut fx = fixture();
    let mut kernel = Daemon::new(&mut fx);
    let mut daemon = Daemon::new(&mut fx);
    // A v3 host joins with TO_EX{} (EXCLUDE, no sources) and answers queries with IS_EX{}.
    let join = report_v3(&[rec(TO_EX, G1, &[])]);
    kernel.feed(&mut fx, HOST, V3_REPORTS, &join, true);
    daemon.feed(&mut fx, HOST, V3_REPORTS, &join, false);
    let joined = fx.member(G1);
    assert_eq!(
        (
            joined.filter_mode,
            joined.compat_version,
            joined.source_count
        ),
        (FILTER_MODE_EXCLUDE, 3, 0),
        "the join leaves the group in EXCLUDE {{}}"
    );
    let gmi = kernel.router.params().group_membership_interval;
    let current = report_v3(&[rec(IS_EX, G1, &[])]);

    std::thread::sleep(std::time::Duration::from_millis(20));
    let t0 = mono();
    fx.run(&ip_frame(&Ip::igmp(HOST2, V3_REPORTS, current.clone())));
    let t1 = mono();
    fx.no_event();
    let k = fx.member(G1);
    let d0 = mono();
    let writes = daemon.feed(&mut fx, HOST2, V3_REPORTS, &current, false);
    let d1 = mono();
    let Some(Action::WriteMember { state: d, .. }) = writes
        .iter()
        .find(|a| matches!(a, Action::WriteMember { .. }))
    else {
        panic!("the router wrote no member for a refresh: {writes:?}");
    };
    assert!(
        !writes
            .iter()
            .any(|a| matches!(a, Action::WriteSource { .. })),
        "no source records for EXCLUDE {{}}: {writes:?}"
    );
    assert_eq!(
        (k.filter_mode, k.compat_version, k.source_count, k.flags),
        (d.filter_mode, d.compat_version, d.source_count, d.flags)
    );
    assert_eq!(
        (k.v1_host_expires_ns, k.v2_host_expires_ns),
        (d.v1_host_expires_ns, d.v2_host_expires_ns),
        "a v3 report starts no older-host timer"
    );
    assert_eq!(k.last_reporter, HOST2);
    assert_eq!(d.last_reporter, HOST2);
    assert!(
        within(k.group_expires_ns, t0, t1, gmi),
        "kernel group timer"
    );
    assert!(
        within(d.group_expires_ns, d0, d1, gmi),
        "daemon group timer"
    );
    assert_eq!(k.fast_refreshes, joined.fast_refreshes + 1);
}

#[test]
fn refresh_is_in_sources_kernel_and_daemon_agree() {
    let mut fx = fixture();
    let mut kernel = Daemon::new(&mut fx);
    let mut daemon = Daemon::new(&mut fx);
    let join = report_v3(&[rec(ALLOW, G1, &[S1, S2])]);
    kernel.feed(&mut fx, HOST, V3_REPORTS, &join, true);
    daemon.feed(&mut fx, HOST, V3_REPORTS, &join, false);
    let gmi = kernel.router.params().group_membership_interval;
    let current = report_v3(&[rec(IS_IN, G1, &[S1, S2])]);

    std::thread::sleep(std::time::Duration::from_millis(20));
    let t0 = mono();
    fx.run(&v3_frame(&[rec(IS_IN, G1, &[S1, S2])]));
    let t1 = mono();
    fx.no_event();
    let d0 = mono();
    let writes = daemon.feed(&mut fx, HOST, V3_REPORTS, &current, false);
    let d1 = mono();
    for s in [S1, S2] {
        let k = fx.source(G1, s);
        let d = writes
            .iter()
            .find_map(|a| match a {
                Action::WriteSource { source, state, .. } if source.octets() == s => Some(*state),
                _ => None,
            })
            .unwrap_or_else(|| panic!("the router rewrote no source {s:?}: {writes:?}"));
        assert!(
            within(k.expires_ns, t0, t1, gmi),
            "kernel source timer of {s:?}"
        );
        assert!(
            within(d.expires_ns, d0, d1, gmi),
            "daemon source timer of {s:?}"
        );
        assert_eq!(k.flags, d.flags);
    }
    let m = fx.member(G1);
    assert_eq!((m.filter_mode, m.source_count), (FILTER_MODE_INCLUDE, 2));
}

#[test]
fn no_fast_path_flag_sends_refreshes_to_the_daemon() {
    let mut fx = fixture();
    let s = IfaceSettings {
        group_membership_interval_ns: GMI,
        older_host_present_interval_ns: OHPI,
        enabled: 1,
        flags: mgm_common::maps::IFACE_FLAG_NO_FAST_PATH,
        ..IfaceSettings::default()
    };
    fx.ifaces.insert(LO, s, 0).unwrap();
    fx.add_member(G1, exclude_member(2));
    fx.run(&v2_report(G1));
    let ev = fx.one_event();
    assert_eq!(ev.reason, reason::DAEMON_REQUEST);
    assert_eq!(
        fx.member(G1),
        exclude_member(2),
        "nothing refreshed in the kernel"
    );
    fx.add_member(G2, exclude_member(3));
    fx.run(&v3_frame(&[rec(IS_EX, G2, &[])]));
    assert_eq!(fx.one_event().reason, reason::DAEMON_REQUEST);
    assert_eq!(fx.member(G2), exclude_member(3));
}

#[test]
fn reports_from_off_link_sources_are_ignored() {
    use mgm_common::maps::{LinkSubnet, IFACE_FLAG_ACCEPT_OFF_LINK};
    let mut fx = fixture();
    let mut s = IfaceSettings {
        group_membership_interval_ns: GMI,
        older_host_present_interval_ns: OHPI,
        enabled: 1,
        subnet_count: 1,
        ..IfaceSettings::default()
    };
    s.subnets[0] = LinkSubnet {
        network: [192, 0, 2, 0],
        prefix_len: 24,
        _pad: [0; 3],
    };
    fx.ifaces.insert(LO, s, 0).unwrap();
    fx.add_member(G1, exclude_member(2));
    let off: [u8; 4] = [198, 51, 100, 9];
    let report = igmp8(TYPE_V2_REPORT, 0, G1);
    // From another subnet: a report, a leave, a v3 report — counted, ignored, nothing refreshed.
    fx.run(&ip_frame(&Ip::igmp(off, G1, report.clone())));
    fx.run(&ip_frame(&Ip::igmp(
        off,
        ALL_ROUTERS,
        igmp8(TYPE_V2_LEAVE, 0, G1),
    )));
    fx.run(&ip_frame(&Ip::igmp(
        off,
        V3_REPORTS,
        report_v3(&[rec(IS_EX, G1, &[])]),
    )));
    fx.no_event();
    assert_eq!(fx.member(G1), exclude_member(2));
    let st = fx.stats();
    assert_eq!(st.ignored_off_link_source, 3);
    assert_eq!(
        (st.rx_report_v2, st.rx_leave_v2, st.rx_report_v3),
        (0, 0, 0)
    );
    // A query from another subnet is the router's business: it goes up.
    fx.run(&ip_frame(&Ip::igmp(
        off,
        ALL_SYSTEMS,
        igmp8(TYPE_MEMBERSHIP_QUERY, 100, [0; 4]),
    )));
    assert_eq!(fx.one_event().reason, reason::QUERY);
    // On the link, or from 0.0.0.0: refreshed in the kernel.
    fx.run(&ip_frame(&Ip::igmp(HOST, G1, report.clone())));
    fx.run(&ip_frame(&Ip::igmp([0; 4], G1, report.clone())));
    fx.no_event();
    assert_eq!(fx.member(G1).fast_refreshes, 2);
    // Told to accept them: the off-link report refreshes too.
    s.flags = IFACE_FLAG_ACCEPT_OFF_LINK;
    fx.ifaces.insert(LO, s, 0).unwrap();
    fx.run(&ip_frame(&Ip::igmp(off, G1, report)));
    fx.no_event();
    assert_eq!(fx.member(G1).fast_refreshes, 3);
    assert_eq!(fx.stats().ignored_off_link_source, 3);
}

/// The subnet's network and broadcast addresses are not hosts: their reports are ignored as
/// off-link (a /31 has neither: both its addresses are hosts).
#[test]
fn reports_from_subnet_addresses_are_ignored() {
    use mgm_common::maps::LinkSubnet;
    let mut fx = fixture();
    let mut s = IfaceSettings {
        group_membership_interval_ns: GMI,
        older_host_present_interval_ns: OHPI,
        enabled: 1,
        subnet_count: 2,
        ..IfaceSettings::default()
    };
    s.subnets[0] = LinkSubnet {
        network: [192, 0, 2, 0],
        prefix_len: 24,
        _pad: [0; 3],
    };
    s.subnets[1] = LinkSubnet {
        network: [203, 0, 113, 4],
        prefix_len: 31,
        _pad: [0; 3],
    };
    fx.ifaces.insert(LO, s, 0).unwrap();
    fx.add_member(G1, exclude_member(2));
    let report = igmp8(TYPE_V2_REPORT, 0, G1);
    for src in [[192, 0, 2, 255], [192, 0, 2, 0]] {
        fx.run(&ip_frame(&Ip::igmp(src, G1, report.clone())));
        fx.run(&ip_frame(&Ip::igmp(src, G2, igmp8(TYPE_V2_REPORT, 0, G2))));
        fx.run(&ip_frame(&Ip::igmp(
            src,
            V3_REPORTS,
            report_v3(&[rec(TO_EX, G2, &[])]),
        )));
    }
    fx.no_event();
    assert_eq!(fx.member(G1), exclude_member(2), "nothing refreshed");
    assert_eq!(fx.stats().ignored_off_link_source, 6);
    // Hosts of the /24 and both addresses of the /31 are on the link.
    for src in [[192, 0, 2, 254], [203, 0, 113, 4], [203, 0, 113, 5]] {
        fx.run(&ip_frame(&Ip::igmp(src, G1, report.clone())));
    }
    fx.no_event();
    assert_eq!(fx.member(G1).fast_refreshes, 3);
    assert_eq!(fx.stats().ignored_off_link_source, 6);
}
