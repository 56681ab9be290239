//! Links without an Ethernet header (tun, WireGuard, PPP, ipip: `mgm_igmp_ingress_ip`) and GRE
//! links (`mgm_igmp_ingress_gre`): the same pipeline behind another finder of the IPv4 header.
//! Packets start at the IPv4 header; an Ethernet frame there is not IPv4 and is never taken for
//! IGMP, nor an IP packet on the Ethernet classifier. A real tun device shows that the kernel
//! hands the program the IPv4 header first.

use super::support::*;
#[path = "../common/tun.rs"]
mod tun;

/// A v2 report as a host on a point-to-point link sends it: the IPv4 packet alone.
fn l3_v2_report(group: [u8; 4]) -> Vec<u8> {
    Ip::igmp(HOST, group, igmp8(TYPE_V2_REPORT, 0, group)).build()
}

#[test]
fn l3_reports_and_queries_go_up() {
    let mut fx = fixture();
    let r2 = igmp8(TYPE_V2_REPORT, 0, G1);
    fx.run_ip(&l3_v2_report(G1));
    let ev = fx.one_event();
    assert_event(&ev, reason::NEW_GROUP, HOST, G1, &r2);
    assert_eq!(ev.flags, EVENT_FLAG_ROUTER_ALERT, "no VLAN on an L3 link");
    assert_eq!(ev.vlan_id, 0);

    let q2 = igmp8(TYPE_MEMBERSHIP_QUERY, 100, [0; 4]);
    fx.run_ip(&Ip::igmp(ROUTER, ALL_SYSTEMS, q2.clone()).build());
    assert_event(&fx.one_event(), reason::QUERY, ROUTER, ALL_SYSTEMS, &q2);
    let q3 = query_v3(G1, &[S1]);
    fx.run_ip(&Ip::igmp(ROUTER, G1, q3.clone()).build());
    assert_event(&fx.one_event(), reason::QUERY, ROUTER, G1, &q3);

    let r3 = report_v3(&[rec(IS_EX, G2, &[]), rec(ALLOW, G1, &[S1, S2])]);
    fx.run_ip(&Ip::igmp(HOST, V3_REPORTS, r3.clone()).build());
    assert_event(&fx.one_event(), reason::NEW_GROUP, HOST, V3_REPORTS, &r3);
    let leave = igmp8(TYPE_V2_LEAVE, 0, G1);
    fx.run_ip(&Ip::igmp(HOST, ALL_ROUTERS, leave.clone()).build());
    assert_event(&fx.one_event(), reason::LEAVE, HOST, ALL_ROUTERS, &leave);
    assert_stats(
        &fx,
        IgmpStats {
            igmp_packets: 5,
            rx_report_v2: 1,
            rx_query_v2: 1,
            rx_query_v3: 1,
            rx_report_v3: 1,
            rx_v3_group_records: 2,
            rx_leave_v2: 1,
            events_sent: 5,
            ..Default::default()
        },
    );
}

#[test]
fn l3_refreshes_take_the_fast_path() {
    let mut fx = fixture();
    fx.add_member(G1, exclude_member(2));
    fx.run_ip(&l3_v2_report(G1));
    fx.no_event();
    let m = fx.member(G1);
    assert_eq!(m.fast_refreshes, 1);
    assert!(m.group_expires_ns > monotonic_ns(), "expiry extended");
    assert_stats(
        &fx,
        accepted(|s| {
            s.rx_report_v2 = 1;
            s.fast_path_refreshes = 1;
        }),
    );
}

/// The checks behind the finder are the same: a bad IP checksum, a bad IGMP checksum, an
/// off-link source are ignored with their reasons, nothing goes up.
#[test]
fn l3_malformed_igmp_is_ignored_with_its_reason() {
    let mut fx = fixture();
    let mut bad_ip = l3_v2_report(G1);
    bad_ip[10] ^= 0xff;
    fx.run_ip(&bad_ip);
    let mut bad_igmp = igmp8(TYPE_V2_REPORT, 0, G1);
    bad_igmp[2] ^= 0xff;
    fx.run_ip(&Ip::igmp(HOST, G1, bad_igmp).build());
    let mut s = IfaceSettings {
        group_membership_interval_ns: GMI,
        older_host_present_interval_ns: OHPI,
        enabled: 1,
        subnet_count: 1,
        ..Default::default()
    };
    s.subnets[0].network = [203, 0, 113, 0];
    s.subnets[0].prefix_len = 24;
    fx.ifaces.insert(LO, s, 0).unwrap();
    fx.run_ip(&l3_v2_report(G1));
    fx.no_event();
    assert_stats(
        &fx,
        IgmpStats {
            igmp_packets: 3,
            ignored_bad_ip_checksum: 1,
            ignored_bad_checksum: 1,
            ignored_off_link_source: 1,
            ..Default::default()
        },
    );
}

#[test]
fn l3_non_igmp_passes_uncounted_without_a_map_lookup() {
    let mut fx = fixture();
    // Not managed: IGMP would count in ignored_interface_disabled; other traffic does not.
    fx.ifaces.remove(&LO).unwrap();
    let udp = Ip {
        proto: 17,
        ttl: 64,
        ..Ip::igmp(HOST, G1, vec![0x55; 40])
    }
    .no_options();
    fx.run_ip(&udp.build());
    // IPv6 (version 6, next header... whatever follows).
    let mut v6 = vec![0x60, 0, 0, 0, 0, 8, 2, 1];
    v6.extend_from_slice(&[0u8; 40]);
    fx.run_ip(&v6);
    assert_stats(&fx, IgmpStats::default());
    fx.no_event();
    fx.run_ip(&l3_v2_report(G1));
    assert_stats(
        &fx,
        IgmpStats {
            ignored_interface_disabled: 1,
            ..Default::default()
        },
    );
}

/// An Ethernet frame seen by the classifier of L3 links starts with a MAC address, not an IPv4
/// header: never IGMP there, whatever it carries (as on a device that changed type under a
/// listed name, before the daemon attaches the right classifier).
#[test]
fn an_ethernet_frame_on_an_l3_link_is_not_misparsed() {
    let mut fx = fixture();
    fx.add_member(G1, exclude_member(2));
    let frames = [
        v2_report(G1),
        v3_frame(&[rec(IS_EX, G1, &[])]),
        ip_frame(&Ip::igmp(
            ROUTER,
            ALL_SYSTEMS,
            igmp8(TYPE_MEMBERSHIP_QUERY, 100, [0; 4]),
        )),
        tagged(
            &Ip::igmp(HOST, G1, igmp8(TYPE_V2_REPORT, 0, G1)),
            &[(0x8100, 0)],
        ),
    ];
    for f in &frames {
        fx.run_ip(f);
        fx.run_gre(f);
    }
    fx.no_event();
    assert_stats(&fx, IgmpStats::default());
    assert_eq!(fx.member(G1), exclude_member(2), "no refresh");

    // A unicast destination MAC whose first byte reads as version 4 and whose ninth byte reads
    // as IGMP: parsed as IPv4, it fails the header checksum. Ignored, never acted on.
    let mut odd = v2_report(G1);
    odd[..6].copy_from_slice(&[0x45, 0x00, 0x00, 0x40, 0x00, 0x00]);
    odd[6..12].copy_from_slice(&[0x00, 0x00, 0x01, 0x02, 0x00, 0x00]);
    fx.run_ip(&odd);
    fx.no_event();
    assert_eq!(fx.member(G1), exclude_member(2), "no refresh");
    let st = fx.stats();
    assert_eq!(
        (st.rx_report_v2, st.events_sent, st.fast_path_refreshes),
        (0, 0, 0)
    );
}

/// And the other way round: an IPv4 packet seen by the Ethernet classifier (its "ethertype"
/// is the source address's first bytes) is not IGMP.
#[test]
fn an_l3_packet_on_the_ethernet_classifier_is_not_igmp() {
    let mut fx = fixture();
    fx.run(&l3_v2_report(G1));
    // A source 8.0.x.x puts "0x0800" where the ethertype would be (test_run wants an IPv4
    // header's worth behind it: a v3 report is long enough).
    let v3 = report_v3(&[rec(IS_EX, G1, &[])]);
    fx.run(&Ip::igmp([8, 0, 2, 10], V3_REPORTS, v3).build());
    fx.no_event();
    let st = fx.stats();
    assert_eq!(
        (st.rx_report_v2, st.rx_report_v3, st.events_sent),
        (0, 0, 0)
    );
}

// ---------------------------------------------------------------------------------------------
// GRE
// ---------------------------------------------------------------------------------------------

const OUTER_SRC: [u8; 4] = [203, 0, 113, 1];
const OUTER_DST: [u8; 4] = [203, 0, 113, 2];

/// `inner` behind an outer IPv4 header and a GRE header with flags `flags` (and one 4-byte word
/// per optional field they announce), protocol `proto`.
fn gre(inner: &[u8], flags: u8, version: u8, proto: u16) -> Vec<u8> {
    let mut g = vec![flags, version];
    g.extend_from_slice(&proto.to_be_bytes());
    for bit in [0x80u8, 0x20, 0x10] {
        if flags & bit != 0 {
            g.extend_from_slice(&[0xab; 4]);
        }
    }
    g.extend_from_slice(inner);
    Ip {
        proto: 47,
        ttl: 64,
        ..Ip::igmp(OUTER_SRC, OUTER_DST, g)
    }
    .no_options()
    .build()
}

#[test]
fn gre_links_take_igmp_first_or_behind_the_outer_headers() {
    let mut fx = fixture();
    let r2 = igmp8(TYPE_V2_REPORT, 0, G1);
    let inner = l3_v2_report(G1);
    // Point-to-point GRE: the IPv4 header first.
    fx.run_gre(&inner);
    assert_event(&fx.one_event(), reason::NEW_GROUP, HOST, G1, &r2);
    // GRE with header operations: behind the outer IPv4 and GRE headers, with and without the
    // optional checksum, key and sequence number words; the event has the inner addresses.
    for flags in [0x00, 0x20, 0x80 | 0x20 | 0x10, 0x10] {
        fx.run_gre(&gre(&inner, flags, 0, 0x0800));
        assert_event(&fx.one_event(), reason::NEW_GROUP, HOST, G1, &r2);
    }
    // Outer IPv4 options.
    let mut with_options = gre(&inner, 0, 0, 0x0800);
    let mut outer = Ip {
        proto: 47,
        ttl: 64,
        ..Ip::igmp(OUTER_SRC, OUTER_DST, with_options[20..].to_vec())
    };
    outer.options = vec![0x01, 0x01, 0x01, 0x00];
    with_options = outer.build();
    fx.run_gre(&with_options);
    assert_event(&fx.one_event(), reason::NEW_GROUP, HOST, G1, &r2);
    // A query behind GRE.
    let q = query_v3([0; 4], &[]);
    fx.run_gre(&gre(
        &Ip::igmp(ROUTER, ALL_SYSTEMS, q.clone()).build(),
        0x20,
        0,
        0x0800,
    ));
    assert_event(&fx.one_event(), reason::QUERY, ROUTER, ALL_SYSTEMS, &q);
    let st = fx.stats();
    assert_eq!((st.rx_report_v2, st.rx_query_v3, st.events_sent), (6, 1, 7));
}

#[test]
fn gre_headers_the_kernel_would_not_decapsulate_are_not_igmp() {
    let mut fx = fixture();
    let inner = l3_v2_report(G1);
    // Routing present, version 1 (PPTP), another protocol type, Ethernet over GRE (gretap's).
    fx.run_gre(&gre(&inner, 0x40, 0, 0x0800));
    fx.run_gre(&gre(&inner, 0x00, 1, 0x0800));
    fx.run_gre(&gre(&inner, 0x00, 0, 0x86dd));
    fx.run_gre(&gre(&v2_report(G1), 0x00, 0, 0x6558));
    // IP in IP is not GRE.
    let ipip = Ip {
        proto: 4,
        ttl: 64,
        ..Ip::igmp(OUTER_SRC, OUTER_DST, inner.clone())
    }
    .no_options()
    .build();
    fx.run_gre(&ipip);
    // GRE around something other than IGMP.
    let udp = Ip {
        proto: 17,
        ..Ip::igmp(HOST, G1, vec![0; 16])
    }
    .no_options()
    .build();
    fx.run_gre(&gre(&udp, 0, 0, 0x0800));
    // Only on GRE links: the L3 classifier does not look inside GRE.
    fx.run_ip(&gre(&inner, 0, 0, 0x0800));
    fx.no_event();
    assert_stats(&fx, IgmpStats::default());
}

// ---------------------------------------------------------------------------------------------
// A real tun device
// ---------------------------------------------------------------------------------------------

/// Attached to a tun device (no link-layer header, like WireGuard and PPP), the classifier of
/// L3 links sees the packets the kernel receives there starting at the IPv4 header: a report
/// written into the device goes up, a refresh is absorbed, tun's own UDP is not counted.
#[test]
fn a_tun_device_hands_the_l3_classifier_the_ipv4_header() {
    let mut fx = fixture();
    let ns = VethNs::new();
    let fx_ref: &mut Fx = &mut fx;
    ns.run_in(|| {
        let dev = tun::Tun::open_here("mgmtun0");
        let up = std::process::Command::new("ip")
            .args(["link", "set", "mgmtun0", "up"])
            .status()
            .expect("run ip(8)");
        assert!(up.success());
        let ifindex = nix::net::if_::if_nametoindex("mgmtun0").unwrap();
        fx_ref.enable(ifindex);
        let held = MemberKey { ifindex, group: G2 };
        fx_ref.members.insert(held, exclude_member(2), 0).unwrap();
        let prog: &mut SchedClassifier = fx_ref
            .ebpf
            .program_mut(PROGRAM_NAME_IP)
            .unwrap()
            .try_into()
            .unwrap();
        let link = prog
            .attach("mgmtun0", aya::programs::TcAttachType::Ingress)
            .expect("attach to the tun device's ingress (TCX)");
        let wait_for = |fx: &Fx, n: u64| {
            for _ in 0..200 {
                if fx.stats().igmp_packets >= n {
                    return;
                }
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
            panic!("the classifier did not see the packet on the tun device");
        };
        dev.inject(&l3_v2_report(G1));
        wait_for(fx_ref, 1);
        dev.inject(&l3_v2_report(G2));
        wait_for(fx_ref, 2);
        let udp = Ip {
            proto: 17,
            ttl: 64,
            ..Ip::igmp(HOST, G1, vec![0x55; 40])
        }
        .no_options();
        dev.inject(&udp.build());
        std::thread::sleep(std::time::Duration::from_millis(50));
        let prog: &mut SchedClassifier = fx_ref
            .ebpf
            .program_mut(PROGRAM_NAME_IP)
            .unwrap()
            .try_into()
            .unwrap();
        prog.detach(link).expect("detach");
        let ev = fx_ref.events();
        assert_eq!(ev.len(), 1, "one report sent up");
        assert_eq!((ev[0].ifindex, ev[0].dst_addr), (ifindex, G1));
        assert_eq!(ev[0].src_addr, HOST);
        assert_eq!(fx_ref.members.get(&held, 0).unwrap().fast_refreshes, 1);
        let st = fx_ref.stats();
        assert_eq!(
            (
                st.igmp_packets,
                st.rx_report_v2,
                st.events_sent,
                st.fast_path_refreshes
            ),
            (2, 2, 1, 1)
        );
    });
}
