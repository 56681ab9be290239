//! Registration, interface ownership, parameter checks, VIFs.
use super::*;

#[test]
fn registration_rules() {
    let mut h = H::new();
    let (a, _) = h.routing("A");
    let dup = h.m.register(
        "A2",
        ClientKind::Routing,
        ProtocolId(1),
        ComponentId(0),
        Box::new(local::LocalProtocol),
    );
    assert_eq!(dup.unwrap_err(), MgmError::AlreadyExists);
    // Same protocol id, other component: a second instance is fine.
    let inst = h.m.register(
        "A#1",
        ClientKind::Routing,
        ProtocolId(1),
        ComponentId(1),
        Box::new(local::LocalProtocol),
    );
    assert!(inst.is_ok());
    h.take(a, &[1]);
    assert_eq!(h.m.deregister(a), Err(MgmError::CanNotComplete));
    h.m.release_interface_ownership(h.now, a, ifk(1)).unwrap();
    assert_eq!(h.m.deregister(a), Ok(()));
    // Stale handle.
    assert_eq!(
        h.m.deregister(a),
        Err(MgmError::InvalidParameter(Invalid::UnknownHandle))
    );
    assert_eq!(
        h.m.take_interface_ownership(h.now, a, ifk(1)),
        Err(MgmError::InvalidParameter(Invalid::UnknownHandle))
    );
}

#[test]
fn ownership_conflicts_table() {
    use ClientKind::*;
    // (first owner kind, second owner kind, result of the second take, owner reported)
    let cases = [
        (Routing, Routing, Err(MgmError::AlreadyExists), "A"),
        (Routing, Igmp, Ok(()), "A"),
        (Igmp, Routing, Ok(()), "B"),
        (Igmp, Igmp, Err(MgmError::AlreadyExists), "A"),
    ];
    for (first, second, want, owner) in cases {
        let mut h = H::new();
        let (a, _) = h.reg("A", first);
        let (b, _) = h.reg("B", second);
        h.take(a, &[5]);
        assert_eq!(
            h.m.take_interface_ownership(h.now, b, ifk(5)),
            want,
            "{first:?} then {second:?}"
        );
        let (pid, _) = h.m.protocol_on_interface(ifk(5)).unwrap();
        let want_pid = if owner == "A" { 1 } else { 2 };
        assert_eq!(pid, ProtocolId(want_pid), "{first:?} then {second:?}");
    }
    // Same protocol twice, unknown interface, other owner's interface.
    let mut h = H::new();
    let (a, _) = h.routing("A");
    let (b, _) = h.routing("B");
    h.take(a, &[1]);
    assert_eq!(
        h.m.take_interface_ownership(h.now, a, ifk(1)),
        Err(MgmError::AlreadyExists)
    );
    assert_eq!(h.m.protocol_on_interface(ifk(9)), Err(MgmError::NotFound));
    assert_eq!(
        h.m.release_interface_ownership(h.now, a, ifk(9)),
        Err(MgmError::InvalidParameter(Invalid::NotOwner))
    );
    assert_eq!(
        h.m.release_interface_ownership(h.now, b, ifk(1)),
        Err(MgmError::InvalidParameter(Invalid::NotOwner))
    );
    // Extended interface IDs: another next hop on the same ifindex is another interface.
    let p2mp = IfKey::with_next_hop(1, Ipv4Addr::new(198, 51, 100, 7));
    assert_eq!(h.m.take_interface_ownership(h.now, b, p2mp), Ok(()));
}

#[test]
fn membership_parameter_checks() {
    let mut h = H::new();
    let (a, _) = h.routing("A");
    let (b, _) = h.routing("B");
    h.take(a, &[1]);
    h.take(b, &[2]);
    let g = Sg::star_g(G1);
    let cases: Vec<(&str, MgmResult<()>, MgmError)> = vec![
        ("add unknown if", h.add(a, g, 7), MgmError::NotFound),
        (
            "add other's if",
            h.add(a, g, 2),
            MgmError::InvalidParameter(Invalid::NotOwner),
        ),
        (
            "del other's if",
            h.del(a, g, 2),
            MgmError::InvalidParameter(Invalid::NotOwner),
        ),
        ("del unknown if", h.del(a, g, 7), MgmError::NotFound),
        ("del missing", h.del(a, g, 1), MgmError::NotFound),
        (
            "(S,*)",
            h.add(
                a,
                Sg {
                    source: Some(S1),
                    group: None,
                },
                1,
            ),
            MgmError::InvalidParameter(Invalid::MalformedSg),
        ),
        (
            "unicast group",
            h.add(a, Sg::star_g(Ipv4Addr::new(10, 0, 0, 1)), 1),
            MgmError::InvalidParameter(Invalid::MalformedSg),
        ),
        (
            "no flags",
            h.m.add_membership(h.now, a, g, ifk(1), MembershipFlags(0)),
            MgmError::InvalidParameter(Invalid::NoMembershipState),
        ),
    ];
    for (what, got, want) in cases {
        assert_eq!(got, Err(want), "{what}");
    }
    assert_eq!(h.add(a, g, 1), Ok(()));
    assert_eq!(h.add(a, g, 1), Ok(()), "re-add is a no-op");
    assert_eq!(h.del(a, g, 1), Ok(()));
}

#[test]
fn vifs_follow_ownership_and_the_limit_is_named() {
    let mut h = H::new();
    let (a, _) = h.routing("A");
    let (i, _) = h.igmp("I");
    for k in 1..=32 {
        h.take(a, &[k]);
    }
    h.take(i, &[1]);
    assert_eq!(h.m.vifs().len(), 32);
    let err = h.m.take_interface_ownership(h.now, a, ifk(33)).unwrap_err();
    assert_eq!(
        err,
        MgmError::VifLimit {
            ifindex: 33,
            limit: 32
        }
    );
    assert!(err.to_string().contains("32"), "{err}");
    // Another next hop on an ifindex with a VIF needs no new VIF.
    let p2mp = IfKey::with_next_hop(5, Ipv4Addr::new(198, 51, 100, 9));
    h.m.take_interface_ownership(h.now, a, p2mp).unwrap();
    h.m.take_actions();
    h.m.release_interface_ownership(h.now, a, ifk(1)).unwrap();
    assert_eq!(h.m.take_actions(), vec![], "IGMP still owns if1");
    h.m.release_interface_ownership(h.now, i, ifk(1)).unwrap();
    assert_eq!(
        h.m.take_actions(),
        vec![ForwarderAction::DelVif { vif: 0, ifindex: 1 }]
    );
    h.m.take_interface_ownership(h.now, a, ifk(33)).unwrap();
    assert_eq!(
        h.m.take_actions(),
        vec![ForwarderAction::AddVif {
            vif: 0,
            ifindex: 33
        }]
    );
}

#[test]
fn manager_is_send() {
    fn is_send<T: Send>() {}
    is_send::<Manager>();
}
