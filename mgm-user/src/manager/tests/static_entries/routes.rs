//! Static routes: MFEs installed at once with a fixed incoming interface and OIL.
use super::*;

#[test]
fn a_static_route_is_installed_at_once_with_exactly_its_oil() {
    let (mut h, l, i, s) = H::local_igmp_static();
    // The FIB says S2 is behind if1; the route says if3. No packet, no RPF, no alert.
    h.sroute(s, S2, 3, &[2, 4]).unwrap();
    assert_eq!(h.m.take_actions(), vec![set(S2, G1, 3, &[2, 4])]);
    assert_eq!(
        h.events(),
        strs(&["mfe_add static if3 (192.0.2.20,239.1.1.1)"])
    );
    let m = h.m.mfe(h.now, S2, G1).unwrap();
    assert_eq!(
        (
            m.iif,
            m.oifs,
            m.protocol.as_deref(),
            m.timeout_s,
            m.expires_in_ms
        ),
        (ifk(3), vec![ifk(2), ifk(4)], Some("static"), 0, None)
    );
    assert_eq!(
        h.m.static_routes(),
        vec![StaticRouteInfo {
            source: S2,
            group: G1,
            iif: ifk(3),
            oifs: vec![ifk(2), ifk(4)],
            installed: true,
        }]
    );
    // Members of the group elsewhere (and a static join) do not change a static route's OIL;
    // they change the dynamic MFE of S1.
    h.add(i, Sg::star_g(G1), 1).unwrap();
    h.sjoin(s, Sg::sg(S2, G1), 1).unwrap();
    h.add(i, Sg::star_g(G1), 2).unwrap();
    assert_eq!(h.m.take_actions(), vec![set(S1, G1, 1, &[2])]);
    assert_eq!(h.oifs(S2, G1), vec![2, 4]);
    // Neither does a protocol's FORWARD_STATE.
    h.m.add_membership(
        h.now,
        l,
        Sg::sg(S2, G1),
        ifk(1),
        MembershipFlags::FORWARD_STATE,
    )
    .unwrap();
    assert_eq!(h.oifs(S2, G1), vec![2, 4]);
    assert!(h.m.take_actions().is_empty());
}

#[test]
fn a_static_route_never_ages_and_outlives_packets_and_wrong_interface_reports() {
    let (mut h, l, _, s) = H::local_igmp_static();
    h.sroute(s, S1, 3, &[2]).unwrap();
    // It replaced the dynamic (S1,G1) arriving on if1 (the FIB's interface).
    assert_eq!(
        h.m.take_actions(),
        vec![del_mfe(S1, G1, 1), set(S1, G1, 3, &[2])]
    );
    assert_eq!(
        h.events(),
        strs(&[
            "mfe_delete local if1 (192.0.2.10,239.1.1.1)",
            "mfe_add static if3 (192.0.2.10,239.1.1.1)",
        ])
    );
    // No deadline; an hour of silence and a deadline pass change nothing.
    assert_eq!(h.m.next_deadline(), None);
    h.m.on_deadline(h.now + 3600 * SEC, |_, _| Some(MfeCounters::default()));
    h.m.on_traffic(h.now + 3600 * SEC, S1, G1, MfeCounters::default())
        .unwrap();
    assert_eq!(h.m.next_deadline(), None);
    assert_eq!(
        h.m.set_mfe_timeout(h.now, l, S1, G1, 30),
        Err(MgmError::CanNotComplete)
    );
    assert_eq!(h.m.next_deadline(), None);
    // NOCACHE (the kernel lost it): installed again as it is, no RPF.
    h.pkt(S1, G1, 3).unwrap();
    h.pkt(S1, G1, 1).unwrap();
    assert_eq!(
        h.m.take_actions(),
        vec![set(S1, G1, 3, &[2]), set(S1, G1, 3, &[2])]
    );
    // WRONGVIF on the interface the FIB points to: told to its owner, never rebuilt there.
    h.m.wrong_interface(h.now, S1, G1, 1, &[0x45]).unwrap();
    assert_eq!(
        h.events(),
        strs(&["wrong_interface local if1 (192.0.2.10,239.1.1.1)"])
    );
    assert_eq!(h.m.take_actions(), vec![]);
    let m = h.m.mfe(h.now, S1, G1).unwrap();
    assert_eq!(
        (m.iif, m.oifs, m.protocol.as_deref()),
        (ifk(3), vec![ifk(2)], Some("static"))
    );
}

#[test]
fn replacing_and_deleting_a_static_route() {
    let (mut h, _, _, s) = H::local_igmp_static();
    h.sroute(s, S2, 3, &[2]).unwrap();
    h.clear();
    // (incoming interface, OIFs, kernel actions, events)
    type Row = (
        u32,
        &'static [u32],
        Vec<ForwarderAction>,
        &'static [&'static str],
    );
    let rows: [Row; 4] = [
        // Another OIL: an update.
        (
            3,
            &[2, 4],
            vec![set(S2, G1, 3, &[2, 4])],
            &["mfe_update static if3 (192.0.2.20,239.1.1.1)"],
        ),
        // The same route again: nothing.
        (3, &[4, 2], vec![], &[]),
        // Another incoming interface: delete, then add.
        (
            4,
            &[1, 2],
            vec![del_mfe(S2, G1, 3), set(S2, G1, 4, &[1, 2])],
            &[
                "mfe_delete static if3 (192.0.2.20,239.1.1.1)",
                "mfe_add static if4 (192.0.2.20,239.1.1.1)",
            ],
        ),
        // No OIF: an entry that drops the traffic.
        (
            4,
            &[],
            vec![set(S2, G1, 4, &[])],
            &["mfe_update static if4 (192.0.2.20,239.1.1.1)"],
        ),
    ];
    for (n, (iif, oifs, actions, events)) in rows.into_iter().enumerate() {
        h.sroute(s, S2, iif, oifs).unwrap();
        assert_eq!(h.m.take_actions(), actions, "row {n}");
        assert_eq!(h.events(), strs(events), "row {n}");
        assert_eq!(h.m.mfe(h.now, S2, G1).unwrap().iif, ifk(iif), "row {n}");
        assert_eq!(h.m.static_routes().len(), 1, "row {n}");
    }
    h.m.delete_static_route(h.now, s, S2, G1).unwrap();
    assert_eq!(h.m.take_actions(), vec![del_mfe(S2, G1, 4)]);
    assert_eq!(
        h.events(),
        strs(&["mfe_delete static if4 (192.0.2.20,239.1.1.1)"])
    );
    assert_eq!(h.m.mfe(h.now, S2, G1), Err(MgmError::NotFound));
    assert!(h.m.static_routes().is_empty());
    assert_eq!(
        h.m.delete_static_route(h.now, s, S2, G1),
        Err(MgmError::NotFound)
    );
    // Gone, the (S,G) is an ordinary MFE again on its next packet.
    h.pkt(S2, G1, 1).unwrap();
    assert_eq!(
        h.m.mfe(h.now, S2, G1).unwrap().protocol.as_deref(),
        Some("local")
    );
}

#[test]
fn static_route_bad_input() {
    let (mut h, l, _, s) = H::local_igmp_static();
    let other =
        h.m.register(
            "static2",
            ClientKind::Static,
            STATIC_PROTOCOL_ID,
            ComponentId(2),
            Box::new(static_protocol::StaticProtocol),
        )
        .unwrap();
    let p2mp = IfKey::with_next_hop(2, Ipv4Addr::new(10, 0, 0, 2));
    h.m.take_interface_ownership(h.now, l, p2mp).unwrap();
    h.clear();
    let mcast = Ipv4Addr::new(224, 0, 0, 5);
    // (who, source, group, iif, oifs, error)
    type Row = (
        ProtocolHandle,
        Ipv4Addr,
        Ipv4Addr,
        IfKey,
        Vec<IfKey>,
        MgmError,
    );
    let rows: Vec<Row> = vec![
        (s, S1, G1, ifk(9), vec![ifk(2)], MgmError::NotFound),
        (s, S1, G1, ifk(1), vec![ifk(2), ifk(9)], MgmError::NotFound),
        (
            s,
            S1,
            G1,
            ifk(1),
            vec![ifk(2), ifk(1)],
            MgmError::InvalidParameter(Invalid::IifInOil),
        ),
        (
            s,
            S1,
            G1,
            ifk(2),
            vec![p2mp],
            MgmError::InvalidParameter(Invalid::IifInOil),
        ),
        (
            s,
            mcast,
            G1,
            ifk(1),
            vec![ifk(2)],
            MgmError::InvalidParameter(Invalid::MalformedSg),
        ),
        (
            s,
            Ipv4Addr::UNSPECIFIED,
            G1,
            ifk(1),
            vec![ifk(2)],
            MgmError::InvalidParameter(Invalid::MalformedSg),
        ),
        (
            s,
            S1,
            S2,
            ifk(1),
            vec![ifk(2)],
            MgmError::InvalidParameter(Invalid::MalformedSg),
        ),
        (
            l,
            S1,
            G1,
            ifk(1),
            vec![ifk(2)],
            MgmError::InvalidParameter(Invalid::NotStatic),
        ),
    ];
    for (n, (who, src, grp, iif, oifs, err)) in rows.into_iter().enumerate() {
        assert_eq!(
            h.m.add_static_route(h.now, who, src, grp, iif, &oifs),
            Err(err),
            "row {n}"
        );
        assert_eq!(h.m.take_actions(), vec![], "row {n}");
    }
    assert!(h.m.static_routes().is_empty());
    // The dynamic MFE of (S1,G1) was left alone.
    assert_eq!(h.m.mfe(h.now, S1, G1).unwrap().iif, ifk(1));
    // A route is deleted by the `static` instance that added it.
    h.sroute(s, S2, 3, &[2]).unwrap();
    assert_eq!(
        h.m.delete_static_route(h.now, other, S2, G1),
        Err(MgmError::NotFound)
    );
    assert_eq!(
        h.m.delete_static_route(h.now, l, S2, G1),
        Err(MgmError::InvalidParameter(Invalid::NotStatic))
    );
    assert_eq!(h.m.deregister(s), Err(MgmError::CanNotComplete));
    assert!(h.m.mfe(h.now, S2, G1).is_ok());
}

#[test]
fn a_static_route_follows_its_interfaces_being_released_and_taken_back() {
    let mut h = H::new();
    let (r, _) = h.routing("R");
    let (i, _) = h.igmp("I");
    let s = register_static(&mut h.m).unwrap();
    h.take(r, &[1, 2, 3, 4]);
    h.take(i, &[3]);
    h.sroute(s, S1, 3, &[2, 4]).unwrap();
    h.clear();
    // (step, kernel actions, installed, OIL)
    enum Step {
        Release(ProtocolHandle, u32),
        Take(ProtocolHandle, u32),
    }
    use Step::*;
    let rows: Vec<(Step, Vec<ForwarderAction>, bool, Vec<u32>)> = vec![
        // An OIF goes: the OIL loses it before its VIF goes.
        (
            Release(r, 4),
            vec![
                set(S1, G1, 3, &[2]),
                ForwarderAction::DelVif { vif: 3, ifindex: 4 },
            ],
            true,
            vec![2],
        ),
        // ...and comes back with it.
        (
            Take(r, 4),
            vec![
                ForwarderAction::AddVif { vif: 3, ifindex: 4 },
                set(S1, G1, 3, &[2, 4]),
            ],
            true,
            vec![2, 4],
        ),
        // The routing owner of the incoming interface goes, IGMP stays: still managed, the
        // route stays as it is.
        (Release(r, 3), vec![], true, vec![2, 4]),
        // A routing owner takes it where IGMP runs: no RPF owner to change, it stays.
        (Take(r, 3), vec![], true, vec![2, 4]),
        // Nobody manages the incoming interface any more: the MFE goes, before the VIF.
        (Release(r, 3), vec![], true, vec![2, 4]),
        (
            Release(i, 3),
            vec![
                del_mfe(S1, G1, 3),
                ForwarderAction::DelVif { vif: 2, ifindex: 3 },
            ],
            false,
            vec![],
        ),
        // Taken back: installed again.
        (
            Take(r, 3),
            vec![
                ForwarderAction::AddVif { vif: 2, ifindex: 3 },
                set(S1, G1, 3, &[2, 4]),
            ],
            true,
            vec![2, 4],
        ),
    ];
    for (n, (step, actions, installed, oil)) in rows.into_iter().enumerate() {
        match step {
            Release(p, x) => h.m.release_interface_ownership(h.now, p, ifk(x)).unwrap(),
            Take(p, x) => h.m.take_interface_ownership(h.now, p, ifk(x)).unwrap(),
        }
        assert_eq!(h.m.take_actions(), actions, "row {n}");
        assert_eq!(h.m.static_routes()[0].installed, installed, "row {n}");
        assert_eq!(h.m.static_routes()[0].oifs, vec![ifk(2), ifk(4)], "row {n}");
        match h.m.mfe(h.now, S1, G1) {
            Ok(m) => {
                assert!(installed, "row {n}");
                assert_eq!(
                    m.oifs.iter().map(|i| i.ifindex).collect::<Vec<_>>(),
                    oil,
                    "row {n}"
                );
                assert_eq!(m.protocol.as_deref(), Some("static"), "row {n}");
            }
            Err(e) => assert!(!installed, "row {n}: {e}"),
        }
    }
    // No callback ever went to R for the route (no RPF, creation, join or prune alert).
    let log = h.log();
    assert!(log.iter().all(|l| !l.contains("192.0.2.10")), "{log:?}");
}
