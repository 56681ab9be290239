//! Ethernet and VLANs: non-IGMP traffic passes uncounted, tagged IGMP is the VLAN device's,
//! priority-tagged IGMP the interface's own, the interface is the skb's, and skb VLAN metadata
//! counts as a tag.

use super::support::*;

// ---------------------------------------------------------------------------------------------
// Non-IGMP traffic
// ---------------------------------------------------------------------------------------------

#[test]
fn non_igmp_passes_untouched_and_uncounted() {
    let mut fx = fixture();
    let udp = udp_frame();
    fx.run(&udp);
    // Tagged UDP, ARP, IPv6, a runt frame, a frame cut inside the IP header.
    let udp_ip = Ip {
        proto: 17,
        ..Ip::igmp(HOST, G1, vec![0; 16])
    }
    .no_options();
    fx.run(&tagged(&udp_ip, &[(0x8100, 5)]));
    fx.run(&tagged(&udp_ip, &[(0x88a8, 5), (0x8100, 6)]));
    fx.run(&eth([0xff; 6], &[], 0x0806, &[0u8; 28]));
    fx.run(&eth([0x33, 0x33, 0, 0, 0, 1], &[], 0x86dd, &[0x60; 48]));
    // (test_run refuses an untagged IPv4 frame shorter than an IP header: tag the runts.)
    fx.run(&eth([0xff; 6], &[(0x8100, 1)], 0x0800, &[]));
    fx.run(&eth(
        [0xff; 6],
        &[(0x8100, 1)],
        0x0800,
        &[0x45, 0, 0, 40, 0, 0, 0],
    ));
    fx.run(&eth([0xff; 6], &[], 0x0806, &[]));
    assert_stats(&fx, IgmpStats::default());
    fx.no_event();
}

/// IGMP in a VLAN belongs to the VLAN's device (eth0.10), not to the trunk interface whose
/// ingress sees it tagged: counted in `ignored_vlan_tagged`, nothing refreshed, nothing sent.
#[test]
fn vlan_tagged_igmp_is_ignored_one_and_two_tags() {
    let mut fx = fixture();
    // Held in a state where the same report untagged is a fast-path refresh.
    fx.add_member(G1, exclude_member(2));
    let r2 = Ip::igmp(HOST, G1, igmp8(TYPE_V2_REPORT, 0, G1));
    let r2_other_group = Ip::igmp(HOST, G2, igmp8(TYPE_V2_REPORT, 0, G2));
    // A query from an address below ours: untagged, it would win the querier election.
    let query = Ip::igmp(
        [192, 0, 2, 0],
        ALL_SYSTEMS,
        igmp8(TYPE_MEMBERSHIP_QUERY, 100, [0; 4]),
    );
    let leave = Ip::igmp(HOST, ALL_ROUTERS, igmp8(TYPE_V2_LEAVE, 0, G1));
    let v3 = Ip::igmp(HOST, V3_REPORTS, report_v3(&[rec(IS_EX, G1, &[])]));
    // Decided before the IGMP checks: a bad checksum in a VLAN is the VLAN's business.
    let mut bad = igmp8(TYPE_V2_REPORT, 0, G1);
    bad[2] ^= 0xff;
    let bad = Ip::igmp(HOST, G1, bad);
    let tag_sets: [&[(u16, u16)]; 5] = [
        &[(0x8100, 0x2000 | 100)],
        &[(0x88a8, 300), (0x8100, 0xe000 | 42)],
        // 802.1Q in 802.1Q (old-style QinQ).
        &[(0x8100, 7), (0x8100, 8)],
        // A priority tag (VLAN id 0) around or inside a VLAN tag: still in that VLAN.
        &[(0x8100, 0xa000), (0x8100, 9)],
        &[(0x88a8, 10), (0x8100, 0x2000)],
    ];
    let mut n = 0;
    for tags in tag_sets {
        for ip in [&r2, &r2_other_group, &query, &leave, &v3, &bad] {
            fx.run(&tagged(ip, tags));
            n += 1;
            fx.no_event();
        }
    }
    assert_eq!(fx.member(G1), exclude_member(2), "entry untouched");
    assert_eq!(fx.members.keys().count(), 1);
    assert_stats(
        &fx,
        IgmpStats {
            igmp_packets: n,
            ignored_vlan_tagged: n,
            ..Default::default()
        },
    );
    // Untagged, the same report is a refresh (the entry was one all along).
    fx.run(&ip_frame(&r2));
    fx.no_event();
    assert_eq!(fx.member(G1).fast_refreshes, 1);
}

/// 802.1p priority tags (VLAN id 0) carry no VLAN: the kernel delivers such frames to the
/// interface itself as untagged, and so does the classifier (flagged `EVENT_FLAG_VLAN`, id 0).
#[test]
fn priority_tagged_igmp_is_the_interfaces_own() {
    let mut fx = fixture();
    let r2 = igmp8(TYPE_V2_REPORT, 0, G1);
    let ip = Ip::igmp(HOST, G1, r2.clone());
    fx.run(&tagged(&ip, &[(0x8100, 0x6000)]));
    let ev = fx.one_event();
    assert_event(&ev, reason::NEW_GROUP, HOST, G1, &r2);
    assert_eq!(ev.vlan_id, 0);
    assert_eq!(ev.flags, EVENT_FLAG_VLAN | EVENT_FLAG_ROUTER_ALERT);
    // Two priority tags.
    fx.run(&tagged(&ip, &[(0x88a8, 0x2000), (0x8100, 0)]));
    let ev = fx.one_event();
    assert_event(&ev, reason::NEW_GROUP, HOST, G1, &r2);
    assert_eq!(ev.vlan_id, 0);
    // And the fast path.
    fx.add_member(G1, exclude_member(2));
    fx.run(&tagged(&ip, &[(0x8100, 0xe000)]));
    fx.no_event();
    assert_eq!(fx.member(G1).fast_refreshes, 1);
    assert_stats(
        &fx,
        IgmpStats {
            igmp_packets: 3,
            rx_report_v2: 3,
            events_sent: 2,
            fast_path_refreshes: 1,
            ..Default::default()
        },
    );
}

#[test]
fn interface_is_the_skb_ifindex() {
    // Enabled only on an interface that is not the test device: ignored and counted.
    let mut fx = fixture();
    fx.ifaces.remove(&LO).unwrap();
    fx.enable(999);
    fx.run(&v2_report(G1));
    fx.no_event();
    assert_stats(
        &fx,
        IgmpStats {
            ignored_interface_disabled: 1,
            ..Default::default()
        },
    );

    // Listed but disabled.
    let off = IfaceSettings {
        enabled: 0,
        ..Default::default()
    };
    fx.ifaces.insert(LO, off, 0).unwrap();
    fx.run(&v2_report(G1));
    fx.no_event();
    assert_stats(
        &fx,
        IgmpStats {
            ignored_interface_disabled: 2,
            ..Default::default()
        },
    );

    // Enabled on the loopback, named explicitly through __sk_buff.ifindex (offset 40).
    fx.enable(LO);
    let mut ctx = vec![0u8; 192];
    ctx[40..44].copy_from_slice(&LO.to_ne_bytes());
    fx.run_ctx(&v2_report(G1), Some(&ctx));
    assert_eq!(fx.one_event().ifindex, LO);
    // Non-IGMP traffic never even looks at MGM_IFACES.
    fx.ifaces.remove(&LO).unwrap();
    fx.run(&udp_frame());
    assert_stats(
        &fx,
        IgmpStats {
            ignored_interface_disabled: 2,
            igmp_packets: 1,
            rx_report_v2: 1,
            events_sent: 1,
            ..Default::default()
        },
    );
}

// ---------------------------------------------------------------------------------------------
// skb VLAN metadata: a real TCX attachment (test_run cannot set __sk_buff.vlan_present)
// ---------------------------------------------------------------------------------------------

/// The receive path moves the outer tag into skb metadata before TC ingress: tagged IGMP there is
/// ignored the same way, priority-tagged IGMP is the interface's own.
#[test]
fn skb_vlan_metadata_counts_as_a_tag() {
    let mut fx = fixture();
    let ns = VethNs::new();
    // Everything below runs in a thread inside the namespace (setns is per thread).
    let fx_ref: &mut Fx = &mut fx;
    std::thread::scope(|scope| {
        scope
            .spawn(|| {
                let f = std::fs::File::open(format!("/run/netns/{}", ns.name)).unwrap();
                nix::sched::setns(f, nix::sched::CloneFlags::CLONE_NEWNET).expect("setns");
                let va = nix::net::if_::if_nametoindex("va").unwrap();
                let vb = nix::net::if_::if_nametoindex("vb").unwrap();
                fx_ref.enable(vb);
                let prog: &mut SchedClassifier = fx_ref
                    .ebpf
                    .program_mut(PROGRAM_NAME)
                    .unwrap()
                    .try_into()
                    .unwrap();
                let link = prog
                    .attach("vb", aya::programs::TcAttachType::Ingress)
                    .expect("attach to vb ingress (TCX)");

                // Wait until the classifier has seen `n` IGMP packets on vb.
                let wait_for = |fx: &Fx, n: u64| {
                    for _ in 0..200 {
                        if fx.stats().igmp_packets >= n {
                            return;
                        }
                        std::thread::sleep(std::time::Duration::from_millis(5));
                    }
                    panic!("the classifier did not see the frame on vb");
                };
                // G1 is held on vb so that the report, untagged, would be a fast-path refresh.
                let held = MemberKey {
                    ifindex: vb,
                    group: G1,
                };
                fx_ref.members.insert(held, exclude_member(2), 0).unwrap();
                let ip = Ip::igmp(HOST, G1, igmp8(TYPE_V2_REPORT, 0, G1));
                // One 802.1Q tag: the receive path moves it into skb metadata.
                send_raw(va, &tagged(&ip, &[(0x8100, 77)]));
                wait_for(fx_ref, 1);
                // 802.1ad + 802.1Q: the outer tag in metadata, the inner one left in the frame.
                send_raw(va, &tagged(&ip, &[(0x88a8, 10), (0x8100, 20)]));
                wait_for(fx_ref, 2);
                // A priority tag outside a VLAN tag: in metadata with VLAN id 0, still a VLAN.
                send_raw(va, &tagged(&ip, &[(0x8100, 0x6000), (0x8100, 20)]));
                wait_for(fx_ref, 3);
                // Three tags: metadata + two in the frame, one too many.
                send_raw(
                    va,
                    &tagged(&ip, &[(0x88a8, 10), (0x8100, 20), (0x8100, 30)]),
                );
                wait_for(fx_ref, 4);
                assert_eq!(fx_ref.events().len(), 0, "no event for tagged IGMP");
                assert_eq!(
                    fx_ref.members.get(&held, 0).unwrap(),
                    exclude_member(2),
                    "no refresh from tagged IGMP"
                );
                let st = fx_ref.stats();
                assert_eq!(
                    (
                        st.igmp_packets,
                        st.ignored_vlan_tagged,
                        st.ignored_too_many_vlan_tags
                    ),
                    (4, 3, 1)
                );
                assert_eq!((st.rx_report_v2, st.events_sent), (0, 0));

                // Priority-tagged (VLAN id 0 in metadata): vb's own, refreshed in the kernel...
                send_raw(va, &tagged(&ip, &[(0x8100, 0xa000)]));
                wait_for(fx_ref, 5);
                // ...or sent up for a group vb does not hold.
                let ip2 = Ip::igmp(HOST, G2, igmp8(TYPE_V2_REPORT, 0, G2));
                send_raw(va, &tagged(&ip2, &[(0x8100, 0x2000)]));
                wait_for(fx_ref, 6);

                let prog: &mut SchedClassifier = fx_ref
                    .ebpf
                    .program_mut(PROGRAM_NAME)
                    .unwrap()
                    .try_into()
                    .unwrap();
                prog.detach(link).expect("detach");
                assert_eq!(fx_ref.members.get(&held, 0).unwrap().fast_refreshes, 1);
                let ev = fx_ref.events();
                assert_eq!(ev.len(), 1, "one report sent up");
                assert_eq!((ev[0].ifindex, ev[0].vlan_id), (vb, 0));
                assert_eq!(ev[0].flags, EVENT_FLAG_VLAN | EVENT_FLAG_ROUTER_ALERT);
                assert_eq!((ev[0].reason, ev[0].dst_addr), (reason::NEW_GROUP, G2));
                let st = fx_ref.stats();
                assert_eq!(
                    (st.rx_report_v2, st.fast_path_refreshes, st.events_sent),
                    (2, 1, 1)
                );
            })
            .join()
            .unwrap_or_else(|e| std::panic::resume_unwind(e));
    });
    drop(ns);
}
