//! RPF: lookups and overrides, wrong-interface packets, routes that move.
use super::*;

#[test]
fn rpf_cases() {
    // (rpf override, reject, arrival, expected iif, expected oifs)
    type Case = (Option<u32>, bool, u32, u32, &'static [u32]);
    let cases: [Case; 4] = [
        (None, false, 1, 1, &[2, 3]),
        (Some(2), false, 1, 2, &[1, 3]), // override: if2 in, so if2 leaves the OIL
        (None, true, 1, 1, &[]),         // refused: negative entry
        (Some(9), false, 3, 3, &[]),     // override to an unmanaged interface: negative
    ];
    for (k, (ovr, reject, arrival, iif, oifs)) in cases.into_iter().enumerate() {
        let mut h = H::new();
        let (a, ab) = h.routing("A");
        h.take(a, &[1, 2, 3]);
        for i in [1, 2, 3] {
            h.add(a, Sg::star_g(G1), i).unwrap();
        }
        {
            let mut b = ab.lock().unwrap();
            b.rpf_in = ovr.map(ifk);
            b.rpf_reject = reject;
        }
        h.clear();
        h.pkt(S1, G1, arrival).unwrap();
        assert_eq!(h.m.take_actions(), vec![set(S1, G1, iif, oifs)], "case {k}");
        let info = h.m.mfe(h.now, S1, G1).unwrap();
        assert_eq!(info.iif, ifk(iif), "case {k}");
        assert_eq!(info.negative, oifs.is_empty(), "case {k}");
        assert_eq!(
            info.upstream, S1,
            "case {k}: on-link source is its own upstream"
        );
    }
    // No route to the source: negative entry on the arrival interface, no RPF callback.
    let mut h = H::new();
    let (a, _) = h.routing("A");
    h.take(a, &[1, 2]);
    h.add(a, Sg::star_g(G1), 2).unwrap();
    h.clear();
    h.pkt(Ipv4Addr::new(198, 18, 0, 1), G1, 1).unwrap();
    assert_eq!(
        h.log(),
        strs(&["A prune (198.18.0.1,239.1.1.1) if1 delete=false"])
    );
    assert_eq!(
        h.m.take_actions(),
        vec![set(Ipv4Addr::new(198, 18, 0, 1), G1, 1, &[])]
    );
}

#[test]
fn wrong_interface_goes_to_the_owner_of_the_arrival_interface() {
    let mut h = H::new();
    let (a, _) = h.routing("A");
    let (b, _) = h.routing("B");
    h.take(a, &[1]);
    h.take(b, &[2]);
    h.pkt(S1, G1, 1).unwrap();
    h.clear();
    h.m.wrong_interface(h.now, S1, G1, 2, &[]).unwrap();
    assert_eq!(h.log(), strs(&["B wrong (192.0.2.10,239.1.1.1) if2"]));
    assert_eq!(
        h.events(),
        strs(&["wrong_interface B if2 (192.0.2.10,239.1.1.1)"])
    );
    assert_eq!(
        h.m.wrong_interface(h.now, S1, G1, 9, &[]),
        Err(MgmError::NotFound)
    );
}

#[test]
fn a_route_that_moved_to_the_arrival_interface_rebuilds_the_mfe() {
    let via = |ifindex| {
        StaticRpf::new().route(
            Ipv4Addr::new(192, 0, 2, 0),
            24,
            ifindex,
            Ipv4Addr::UNSPECIFIED,
        )
    };
    let routes = Arc::new(Mutex::new(via(1)));
    let mut h = H::with_rpf(Box::new(MovableRpf(routes.clone())));
    let (a, _) = h.routing("A");
    h.take(a, &[1, 2, 3]);
    h.add(a, Sg::star_g(G1), 3).unwrap();
    h.pkt(S1, G1, 1).unwrap();
    let m = h.m.mfe(h.now, S1, G1).unwrap();
    assert_eq!((m.iif, m.oifs.clone()), (ifk(1), vec![ifk(3)]));
    h.clear();

    // Same route, a stray packet on if2: reported to the owner, the MFE stays.
    h.m.wrong_interface(h.now, S1, G1, 2, &[]).unwrap();
    assert_eq!(h.m.mfe(h.now, S1, G1).unwrap().iif, ifk(1));
    assert!(h.m.take_actions().is_empty());
    h.clear();

    // The route towards S1 moves to if2 and the stream arrives there: rebuilt on if2, OIL kept.
    *routes.lock().unwrap() = via(2);
    h.m.wrong_interface(h.now, S1, G1, 2, &[]).unwrap();
    let m = h.m.mfe(h.now, S1, G1).unwrap();
    assert_eq!((m.iif, m.oifs.clone()), (ifk(2), vec![ifk(3)]));
    let kinds: Vec<String> = h
        .events()
        .into_iter()
        .map(|e| e.split(' ').next().unwrap_or("").to_string())
        .collect();
    assert_eq!(
        kinds,
        strs(&[
            "wrong_interface",
            "mfe_delete",
            "rpf",
            "creation_alert",
            "mfe_add",
            "join_alert"
        ])
    );
}

#[test]
fn an_rpf_override_is_not_undone_by_wrong_interface_reports() {
    let mut h = H::new(); // FIB: 192.0.2.0/24 via if1
    let (a, ab) = h.routing("A");
    h.take(a, &[1, 2, 3]);
    h.add(a, Sg::star_g(G1), 3).unwrap();
    ab.lock().unwrap().rpf_in = Some(ifk(2)); // the protocol wants S1 from if2
    h.pkt(S1, G1, 1).unwrap();
    h.m.add_membership(
        h.now,
        a,
        Sg::sg(S1, G1),
        ifk(1),
        MembershipFlags::FORWARD_STATE,
    )
    .unwrap();
    let before = h.m.mfe(h.now, S1, G1).unwrap();
    assert_eq!(
        (before.iif, before.oifs.clone()),
        (ifk(2), vec![ifk(1), ifk(3)])
    );
    h.clear();
    // A copy of the stream on if1, where the FIB points: reported, nothing rebuilt.
    h.m.wrong_interface(h.now, S1, G1, 1, &[]).unwrap();
    assert_eq!(
        h.events(),
        strs(&["wrong_interface A if1 (192.0.2.10,239.1.1.1)"])
    );
    assert!(h.m.take_actions().is_empty());
    assert_eq!(h.m.mfe(h.now, S1, G1).unwrap().oifs, before.oifs);
}

#[test]
fn a_rebuild_after_a_moved_route_keeps_forward_state_adds() {
    let via = |ifindex| {
        StaticRpf::new().route(
            Ipv4Addr::new(192, 0, 2, 0),
            24,
            ifindex,
            Ipv4Addr::UNSPECIFIED,
        )
    };
    let routes = Arc::new(Mutex::new(via(1)));
    let mut h = H::with_rpf(Box::new(MovableRpf(routes.clone())));
    let (a, _) = h.routing("A");
    h.take(a, &[1, 2, 3, 4]);
    h.add(a, Sg::star_g(G1), 3).unwrap();
    h.pkt(S1, G1, 1).unwrap();
    h.m.add_membership(
        h.now,
        a,
        Sg::sg(S1, G1),
        ifk(4),
        MembershipFlags::FORWARD_STATE,
    )
    .unwrap();
    *routes.lock().unwrap() = via(2);
    h.m.wrong_interface(h.now, S1, G1, 2, &[]).unwrap();
    let m = h.m.mfe(h.now, S1, G1).unwrap();
    assert_eq!((m.iif, m.oifs), (ifk(2), vec![ifk(3), ifk(4)]));
}
