//! Static joins: permanent receivers, delegated like IGMP's.
use super::*;

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
