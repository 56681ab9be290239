//! MFE creation: callback order, creation-alert vetoes, OILs, forward state.
use super::*;

#[test]
fn mfe_creation_order_veto_and_actions() {
    let mut h = H::new();
    let (a, _) = h.routing("A");
    let (b, bb) = h.routing("B");
    let (i, _) = h.igmp("I");
    h.take(a, &[1, 2]);
    h.take(b, &[3, 4]);
    h.take(i, &[4]);
    assert_eq!(
        h.m.take_actions(),
        vec![
            ForwarderAction::AddVif { vif: 0, ifindex: 1 },
            ForwarderAction::AddVif { vif: 1, ifindex: 2 },
            ForwarderAction::AddVif { vif: 2, ifindex: 3 },
            ForwarderAction::AddVif { vif: 3, ifindex: 4 },
        ]
    );
    h.add(a, Sg::star_g(G1), 2).unwrap();
    h.add(b, Sg::star_g(G1), 3).unwrap();
    h.add(b, Sg::star_g(G1), 4).unwrap();
    bb.lock().unwrap().veto = vec![ifk(4)];
    h.clear();
    h.pkt(S1, G1, 1).unwrap();
    assert_eq!(
        h.log(),
        strs(&[
            "A rpf (192.0.2.10,239.1.1.1) arrival=if1 in=if1",
            "A creation (192.0.2.10,239.1.1.1) in=if1 oifs=[if2]",
            "B creation (192.0.2.10,239.1.1.1) in=if1 oifs=[if3,if4+igmp]",
            "A join (192.0.2.10,239.1.1.1) update=false",
        ])
    );
    assert_eq!(
        h.events(),
        strs(&[
            "rpf A if1 (192.0.2.10,239.1.1.1)",
            "creation_alert A if1 (192.0.2.10,239.1.1.1)",
            "creation_alert B if1 (192.0.2.10,239.1.1.1)",
            "mfe_add A if1 (192.0.2.10,239.1.1.1)",
            "join_alert A if1 (192.0.2.10,239.1.1.1)",
        ])
    );
    assert_eq!(h.m.take_actions(), vec![set(S1, G1, 1, &[2, 3])]);
    // The veto sticks across membership changes.
    h.del(b, Sg::star_g(G1), 4).unwrap();
    h.add(b, Sg::star_g(G1), 4).unwrap();
    assert_eq!(h.oifs(S1, G1), vec![2, 3]);
    // A packet for an existing MFE (kernel lost it) re-installs it without callbacks.
    h.clear();
    h.pkt(S1, G1, 1).unwrap();
    assert_eq!(h.log(), Vec::<String>::new());
    assert_eq!(h.m.take_actions(), vec![set(S1, G1, 1, &[2, 3])]);
}

#[test]
fn membership_change_updates_every_affected_mfe_at_once() {
    let mut h = H::new();
    let (l, _) = h.routing("A");
    h.take(l, &[1, 2, 3]);
    for (s, g) in [(S1, G1), (S2, G1), (S1, G2)] {
        h.pkt(s, g, 1).unwrap();
    }
    h.clear();
    h.add(l, Sg::star_g(G1), 2).unwrap();
    assert_eq!(
        h.m.take_actions(),
        vec![set(S1, G1, 1, &[2]), set(S2, G1, 1, &[2])]
    );
    h.add(l, Sg::STAR_STAR, 3).unwrap();
    assert_eq!(
        h.m.take_actions(),
        vec![
            set(S1, G1, 1, &[2, 3]),
            set(S2, G1, 1, &[2, 3]),
            set(S1, G2, 1, &[3])
        ]
    );
    h.add(l, Sg::sg(S2, G1), 2).unwrap();
    assert_eq!(h.m.take_actions(), vec![], "if2 already in (S2,G1)");
    h.del(l, Sg::star_g(G1), 2).unwrap();
    assert_eq!(
        h.m.take_actions(),
        vec![set(S1, G1, 1, &[3])],
        "(S2,G1) keeps if2"
    );
    // FORWARD_STATE: only the OIL of the existing MFE, no membership.
    h.m.add_membership(
        h.now,
        l,
        Sg::sg(S1, G2),
        ifk(2),
        MembershipFlags::FORWARD_STATE,
    )
    .unwrap();
    assert_eq!(h.m.take_actions(), vec![set(S1, G2, 1, &[2, 3])]);
    assert_eq!(
        h.m.groups(EnumType::AllSources).len(),
        2,
        "no (S1,G2) membership"
    );
    h.m.delete_membership(
        h.now,
        l,
        Sg::sg(S1, G2),
        ifk(3),
        MembershipFlags::FORWARD_STATE,
    )
    .unwrap();
    assert_eq!(h.m.take_actions(), vec![set(S1, G2, 1, &[2])]);
}

#[test]
fn blocked_sources_leave_the_oil() {
    let mut h = H::new();
    let l = register_local(&mut h.m).unwrap();
    let (i, _) = h.igmp("I");
    h.take(l, &[1, 2, 3]);
    h.take(i, &[1, 2, 3]);
    h.add(i, Sg::star_g(G1), 2).unwrap();
    h.add(i, Sg::star_g(G1), 3).unwrap();
    h.m.block_source(h.now, i, S1, G1, ifk(3)).unwrap();
    h.pkt(S1, G1, 1).unwrap();
    h.pkt(S2, G1, 1).unwrap();
    assert_eq!(h.oifs(S1, G1), vec![2]);
    assert_eq!(h.oifs(S2, G1), vec![2, 3]);
    h.clear();
    h.m.block_source(h.now, i, S2, G1, ifk(2)).unwrap();
    assert_eq!(h.m.take_actions(), vec![set(S2, G1, 1, &[3])]);
    h.m.unblock_source(h.now, i, S1, G1, ifk(3)).unwrap();
    assert_eq!(h.m.take_actions(), vec![set(S1, G1, 1, &[2, 3])]);
    assert_eq!(
        h.m.unblock_source(h.now, i, S1, G1, ifk(3)),
        Err(MgmError::NotFound)
    );
    // An explicit (S,G) membership wins over a block.
    h.add(i, Sg::sg(S2, G1), 2).unwrap();
    assert_eq!(h.m.take_actions(), vec![set(S2, G1, 1, &[2, 3])]);
}

#[test]
fn a_forward_state_delete_is_lifted_by_a_later_join() {
    let mut h = H::new();
    let (a, _) = h.routing("A");
    h.take(a, &[1, 2]);
    h.add(a, Sg::star_g(G1), 2).unwrap();
    h.pkt(S1, G1, 1).unwrap();
    let both = MembershipFlags::JOIN_STATE | MembershipFlags::FORWARD_STATE;
    h.m.delete_membership(h.now, a, Sg::star_g(G1), ifk(2), both)
        .unwrap();
    assert!(h.m.mfe(h.now, S1, G1).unwrap().oifs.is_empty());
    h.add(a, Sg::star_g(G1), 2).unwrap();
    assert_eq!(h.m.mfe(h.now, S1, G1).unwrap().oifs, vec![ifk(2)]);
}
