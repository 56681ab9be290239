//! The built-in protocol `static`: static joins (permanent receivers, delegated like IGMP's)
//! and static routes (MFEs installed at once with a fixed incoming interface and OIL).
use super::static_protocol::register_static;
use super::*;

fn del_mfe(source: Ipv4Addr, group: Ipv4Addr, iif: u32) -> ForwarderAction {
    ForwarderAction::DelMfe { source, group, iif }
}

impl H {
    fn sjoin(&mut self, s: ProtocolHandle, sg: Sg, i: u32) -> MgmResult<()> {
        self.m.add_static_join(self.now, s, sg, ifk(i))
    }
    fn sleave(&mut self, s: ProtocolHandle, sg: Sg, i: u32) -> MgmResult<()> {
        self.m.delete_static_join(self.now, s, sg, ifk(i))
    }
    fn sroute(
        &mut self,
        s: ProtocolHandle,
        src: Ipv4Addr,
        iif: u32,
        oifs: &[u32],
    ) -> MgmResult<()> {
        let oifs: Vec<IfKey> = oifs.iter().map(|i| ifk(*i)).collect();
        self.m
            .add_static_route(self.now, s, src, G1, ifk(iif), &oifs)
    }
    /// `local` and IGMP on if1..if4, `static` registered; MFE (S1,G1) in on if1, negative.
    fn local_igmp_static() -> (H, ProtocolHandle, ProtocolHandle, ProtocolHandle) {
        let mut h = H::new();
        let l = register_local(&mut h.m).unwrap();
        let (i, _) = h.igmp("igmp");
        let s = register_static(&mut h.m).unwrap();
        h.take(l, &[1, 2, 3, 4]);
        h.take(i, &[1, 2, 3, 4]);
        h.pkt(S1, G1, 1).unwrap();
        assert_eq!(h.oifs(S1, G1), Vec::<u32>::new());
        h.clear();
        (h, l, i, s)
    }
}

#[test]
fn a_static_join_is_a_local_join_to_local_and_feeds_the_oil() {
    let (mut h, l, _, s) = H::local_igmp_static();
    h.sjoin(s, Sg::star_g(G1), 2).unwrap();
    assert_eq!(h.m.take_actions(), vec![set(S1, G1, 1, &[2])]);
    assert_eq!(
        h.events(),
        strs(&[
            "local_join local if2 (*,239.1.1.1)",
            "mfe_update local if1 (192.0.2.10,239.1.1.1)",
            "join_alert local if1 (192.0.2.10,239.1.1.1)",
        ])
    );
    // Recorded as static's (delegated) and mirrored by local (effective).
    let ms: Vec<(String, bool)> =
        h.m.memberships()
            .into_iter()
            .map(|m| (m.protocol, m.effective))
            .collect();
    assert_eq!(ms, vec![("local".into(), true), ("static".into(), false)]);
    assert!(h.m.view(h.now).has_membership(l, Sg::star_g(G1), ifk(2)));
    assert_eq!(h.m.static_joins(), vec![(Sg::star_g(G1), ifk(2))]);
    // Joining twice changes nothing.
    h.sjoin(s, Sg::star_g(G1), 2).unwrap();
    assert_eq!((h.m.take_actions(), h.events()), (vec![], vec![]));
    // A new MFE of the group gets it too.
    h.pkt(S2, G1, 1).unwrap();
    assert_eq!(h.oifs(S2, G1), vec![2]);
    // `static` is a protocol like the others, owning no interface.
    let p = h.m.protocols();
    let st = p.iter().find(|p| p.name == "static").unwrap();
    assert_eq!(
        (st.kind, st.protocol_id, st.interfaces.len()),
        (ClientKind::Static, STATIC_PROTOCOL_ID.0, 0)
    );
    // Deleting it is a local leave: local drops its membership.
    h.clear();
    h.sleave(s, Sg::star_g(G1), 2).unwrap();
    assert_eq!(
        h.m.take_actions(),
        vec![set(S1, G1, 1, &[]), set(S2, G1, 1, &[])]
    );
    assert!(h.m.memberships().is_empty());
    assert!(h.m.static_joins().is_empty());
    assert!(h.m.take_errors().is_empty());
}

#[derive(Clone, Copy, Debug)]
enum Step {
    IgmpJoin,
    IgmpLeave,
    StaticJoin,
    StaticLeave,
}

#[test]
fn igmp_and_a_static_join_of_the_same_group_keep_each_other_on_a_local_interface() {
    use Step::*;
    // (step on if2, OIL of (S1,G1) after it, kernel actions)
    let rows: [(Step, &[u32], bool); 8] = [
        (StaticJoin, &[2], true),
        (IgmpJoin, &[2], false),
        // IGMP's leave: local is told, and keeps its membership for the static join.
        (IgmpLeave, &[2], false),
        (IgmpJoin, &[2], false),
        // The static join goes: IGMP still wants the group.
        (StaticLeave, &[2], false),
        (IgmpLeave, &[], true),
        (StaticJoin, &[2], true),
        (StaticLeave, &[], true),
    ];
    for sg in [Sg::star_g(G1), Sg::sg(S1, G1)] {
        let (mut h, l, i, s) = H::local_igmp_static();
        for (n, (step, oil, changed)) in rows.iter().enumerate() {
            let row = format!("{sg} row {n}: {step:?}");
            let r = match step {
                IgmpJoin => h.add(i, sg, 2),
                IgmpLeave => h.del(i, sg, 2),
                StaticJoin => h.sjoin(s, sg, 2),
                StaticLeave => h.sleave(s, sg, 2),
            };
            assert_eq!(r, Ok(()), "{row}");
            assert_eq!(h.oifs(S1, G1), oil.to_vec(), "{row}");
            let want = if *changed {
                vec![set(S1, G1, 1, oil)]
            } else {
                vec![]
            };
            assert_eq!(h.m.take_actions(), want, "{row}");
            assert_eq!(
                h.m.view(h.now).has_membership(l, sg, ifk(2)),
                !oil.is_empty(),
                "{row}: local's membership"
            );
            assert!(h.m.take_errors().is_empty(), "{row}");
        }
    }
}

#[test]
fn a_static_wildcard_join_is_not_held_back_by_igmps_excluded_sources() {
    let (mut h, l, i, s) = H::local_igmp_static();
    // IGMP alone on if5 (no routing owner): its memberships and blocks are effective there.
    h.take(i, &[5]);
    h.pkt(S2, G1, 1).unwrap();
    let now = h.now;
    for ifindex in [2, 5] {
        // EXCLUDE {S1}, in IGMP's order: the block, then the join.
        h.m.apply_igmp_delta(now, i, ifindex, G1, Some(S1), IgmpDelta::Block)
            .unwrap();
        h.m.apply_igmp_delta(now, i, ifindex, G1, None, IgmpDelta::Join)
            .unwrap();
    }
    assert_eq!((h.oifs(S1, G1), h.oifs(S2, G1)), (vec![], vec![2, 5]));
    // A static (*,G1) wants every source: S1 reaches if2 (local lifts its block) and if5
    // (IGMP's block holds out only IGMP's own wildcard).
    h.sjoin(s, Sg::star_g(G1), 2).unwrap();
    h.sjoin(s, Sg::star_g(G1), 5).unwrap();
    assert_eq!((h.oifs(S1, G1), h.oifs(S2, G1)), (vec![2, 5], vec![2, 5]));
    assert_eq!(h.m.view(now).blocks(l, ifk(2)), vec![]);
    // It goes: IGMP's exclusion applies again on both.
    h.sleave(s, Sg::star_g(G1), 2).unwrap();
    h.sleave(s, Sg::star_g(G1), 5).unwrap();
    assert_eq!((h.oifs(S1, G1), h.oifs(S2, G1)), (vec![], vec![2, 5]));
    assert_eq!(h.m.view(now).blocks(l, ifk(2)), vec![(S1, G1)]);
    // A static (S1,G1) wins over the exclusion too, and IGMP's later changes keep it.
    h.sjoin(s, Sg::sg(S1, G1), 2).unwrap();
    assert_eq!(h.oifs(S1, G1), vec![2]);
    h.m.apply_igmp_delta(now, i, 2, G1, None, IgmpDelta::Leave)
        .unwrap();
    h.m.apply_igmp_delta(now, i, 2, G1, Some(S1), IgmpDelta::Unblock)
        .unwrap();
    assert_eq!((h.oifs(S1, G1), h.oifs(S2, G1)), (vec![2], vec![5]));
    assert_eq!(h.m.view(now).blocks(l, ifk(2)), vec![]);
    assert!(h.m.take_errors().is_empty(), "{:?}", h.m.take_errors());
}

#[test]
fn a_static_join_where_no_routing_protocol_owns_the_interface_is_effective_and_moves_with_ownership(
) {
    let mut h = H::new();
    let (r, rb) = h.routing("R");
    let (i, _) = h.igmp("I");
    let s = register_static(&mut h.m).unwrap();
    rb.lock().unwrap().mirror_local = true;
    h.take(r, &[1]);
    h.take(i, &[2]);
    h.pkt(S1, G1, 1).unwrap();
    h.clear();
    // IGMP alone on if2: the static join feeds the OIL itself, with the alerts of a first
    // client; no local join (nobody to delegate to).
    h.sjoin(s, Sg::star_g(G1), 2).unwrap();
    assert_eq!(
        h.log(),
        strs(&[
            "R join (*,239.1.1.1) update=true",
            "R join (192.0.2.10,239.1.1.1) update=false",
        ])
    );
    assert_eq!(h.m.take_actions(), vec![set(S1, G1, 1, &[2])]);
    assert!(h.m.memberships()[0].effective);
    // IGMP joins and leaves the same group there: the static join stands.
    h.add(i, Sg::star_g(G1), 2).unwrap();
    h.del(i, Sg::star_g(G1), 2).unwrap();
    assert_eq!((h.log(), h.m.take_actions()), (vec![], vec![]));
    assert_eq!(h.oifs(S1, G1), vec![2]);
    // R takes if2: the static join is withdrawn inside the IGMP bracket and made again,
    // delegated to R, before ENABLE.
    h.take(r, &[2]);
    assert_eq!(
        h.log(),
        strs(&[
            "I disable if2",
            "R prune (*,239.1.1.1) if2 delete=true",
            "R prune (192.0.2.10,239.1.1.1) if1 delete=false",
            "R local_join (*,239.1.1.1) if2",
            "I enable if2",
            "R join (192.0.2.10,239.1.1.1) update=false",
        ])
    );
    assert_eq!(h.oifs(S1, G1), vec![2]);
    let eff: Vec<(String, bool)> =
        h.m.memberships()
            .into_iter()
            .map(|m| (m.protocol, m.effective))
            .collect();
    assert_eq!(eff, vec![("R".into(), true), ("static".into(), false)]);
    // R releases it: R's membership goes, the static join is effective again.
    h.clear();
    h.m.release_interface_ownership(h.now, r, ifk(2)).unwrap();
    assert_eq!(
        h.log(),
        strs(&[
            "I disable if2",
            "R prune (192.0.2.10,239.1.1.1) if1 delete=false",
            "R join (*,239.1.1.1) update=true",
            "R join (192.0.2.10,239.1.1.1) update=false",
            "I enable if2",
        ])
    );
    assert_eq!(h.oifs(S1, G1), vec![2]);
    // IGMP releases it: unmanaged, the join's record goes (a delete), its configuration stays.
    h.clear();
    h.m.release_interface_ownership(h.now, i, ifk(2)).unwrap();
    assert_eq!(
        h.m.take_actions(),
        vec![
            set(S1, G1, 1, &[]),
            ForwarderAction::DelVif { vif: 1, ifindex: 2 }
        ]
    );
    assert!(h.m.memberships().is_empty());
    assert_eq!(h.m.static_joins(), vec![(Sg::star_g(G1), ifk(2))]);
    // Managed again: the static join is back.
    h.take(i, &[2]);
    assert_eq!(h.oifs(S1, G1), vec![2]);
    assert_eq!(h.m.memberships().len(), 1);
    // A routing owner releasing an interface where it was alone takes the record with it, too.
    h.sleave(s, Sg::star_g(G1), 2).unwrap();
    h.take(r, &[3]);
    h.sjoin(s, Sg::star_g(G1), 3).unwrap();
    assert_eq!(h.oifs(S1, G1), vec![3]);
    h.m.release_interface_ownership(h.now, r, ifk(3)).unwrap();
    assert!(h.m.memberships().is_empty(), "{:?}", h.m.memberships());
    assert_eq!(h.m.static_joins(), vec![(Sg::star_g(G1), ifk(3))]);
    assert!(h.m.take_errors().is_empty(), "{:?}", h.m.take_errors());
}

#[test]
fn static_join_errors() {
    let (mut h, l, i, s) = H::local_igmp_static();
    let bad_sg = Sg {
        source: Some(S1),
        group: None,
    };
    // (who, Sg, interface, result)
    let rows: [(ProtocolHandle, Sg, u32, MgmError); 6] = [
        (s, Sg::star_g(G1), 9, MgmError::NotFound),
        (
            s,
            bad_sg,
            2,
            MgmError::InvalidParameter(Invalid::MalformedSg),
        ),
        (
            s,
            Sg::star_g(S1),
            2,
            MgmError::InvalidParameter(Invalid::MalformedSg),
        ),
        (
            s,
            Sg::sg(G1, G1),
            2,
            MgmError::InvalidParameter(Invalid::MalformedSg),
        ),
        (
            i,
            Sg::star_g(G1),
            2,
            MgmError::InvalidParameter(Invalid::NotStatic),
        ),
        (
            l,
            Sg::star_g(G1),
            2,
            MgmError::InvalidParameter(Invalid::NotStatic),
        ),
    ];
    for (n, (who, sg, iface, err)) in rows.into_iter().enumerate() {
        assert_eq!(h.sjoin(who, sg, iface), Err(err.clone()), "row {n}");
        assert_eq!(h.m.take_actions(), vec![], "row {n}");
    }
    assert!(h.m.static_joins().is_empty());
    // Deleting what is not there.
    h.sjoin(s, Sg::star_g(G1), 2).unwrap();
    assert_eq!(h.sleave(s, Sg::star_g(G2), 2), Err(MgmError::NotFound));
    assert_eq!(h.sleave(s, Sg::star_g(G1), 3), Err(MgmError::NotFound));
    assert_eq!(
        h.sleave(i, Sg::star_g(G1), 2),
        Err(MgmError::InvalidParameter(Invalid::NotStatic))
    );
    // `static` owns no interface and adds no membership of its own.
    assert_eq!(
        h.m.take_interface_ownership(h.now, s, ifk(5)),
        Err(MgmError::InvalidParameter(Invalid::StaticOwnsNoInterface))
    );
    assert_eq!(
        h.m.add_membership(h.now, s, Sg::star_g(G2), ifk(2), J),
        Err(MgmError::InvalidParameter(Invalid::NotOwner))
    );
    // One instance; no deregistration while it holds entries.
    assert_eq!(register_static(&mut h.m), Err(MgmError::AlreadyExists));
    assert_eq!(h.m.deregister(s), Err(MgmError::CanNotComplete));
    h.sleave(s, Sg::star_g(G1), 2).unwrap();
    assert_eq!(h.m.deregister(s), Ok(()));
}

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
