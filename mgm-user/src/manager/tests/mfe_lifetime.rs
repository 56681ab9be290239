//! MFE lifetime: default and prune timeouts, traffic, expiry, negative entries.
use super::*;

#[test]
fn mfe_lifetime_default_prune_timeout_traffic_and_expiry() {
    let mut h = H::new();
    let (a, ab) = h.routing("A");
    h.take(a, &[1, 2]);
    h.add(a, Sg::star_g(G1), 2).unwrap();
    let t0 = h.now;
    h.pkt(S1, G1, 1).unwrap();
    assert_eq!(h.m.next_deadline(), Some(t0 + 900 * SEC));
    assert_eq!(h.m.mfe(t0, S1, G1).unwrap().timeout_s, 900);
    // OIL empties: the prune alert sets 30 s.
    ab.lock().unwrap().prune_timeout = Some(30);
    h.now += SEC;
    h.del(a, Sg::star_g(G1), 2).unwrap();
    let t1 = h.now;
    assert_eq!(h.m.next_deadline(), Some(t1 + 30 * SEC));
    let info = h.m.mfe(t1 + 10 * SEC, S1, G1).unwrap();
    assert_eq!((info.timeout_s, info.expires_in_ms), (30, Some(20_000)));
    h.clear();
    // Traffic at the deadline extends it.
    let c1 = MfeCounters {
        packets: 5,
        bytes: 500,
        wrong_if: 1,
    };
    h.m.on_deadline(t1 + 30 * SEC, |_, _| Some(c1));
    assert_eq!(h.m.take_actions(), vec![]);
    assert_eq!(h.m.next_deadline(), Some(t1 + 60 * SEC));
    let info = h.m.mfe(t1 + 30 * SEC, S1, G1).unwrap();
    assert_eq!((info.packets, info.bytes, info.wrong_if), (5, 500, 1));
    // Before the deadline nothing happens; at it, no new packets: deleted.
    h.m.on_deadline(t1 + 59 * SEC, |_, _| panic!("not due"));
    h.m.on_deadline(t1 + 60 * SEC, |_, _| Some(c1));
    assert_eq!(
        h.m.take_actions(),
        vec![ForwarderAction::DelMfe {
            source: S1,
            group: G1,
            iif: 1
        }]
    );
    assert_eq!(h.m.next_deadline(), None);
    assert_eq!(h.m.mfe(t1, S1, G1), Err(MgmError::NotFound));
    // on_traffic pushes the deadline too; timeout 0 never ages.
    h.pkt(S1, G1, 1).unwrap();
    h.m.on_traffic(h.now + 100 * SEC, S1, G1, c1).unwrap();
    assert_eq!(h.m.next_deadline(), Some(h.now + 100 * SEC + 30 * SEC));
    h.m.set_mfe_timeout(h.now, a, S1, G1, 0).unwrap();
    assert_eq!(h.m.next_deadline(), None);
    assert_eq!(h.m.mfe(h.now, S1, G1).unwrap().expires_in_ms, None);
    h.m.set_mfe_upstream(h.now, a, S1, G1, Ipv4Addr::new(192, 0, 2, 254))
        .unwrap();
    assert_eq!(
        h.m.mfe(h.now, S1, G1).unwrap().upstream,
        Ipv4Addr::new(192, 0, 2, 254)
    );
    assert_eq!(
        h.m.set_mfe_upstream(h.now, a, S2, G1, S1),
        Err(MgmError::NotFound)
    );
}

#[test]
fn wrong_interface_packets_do_not_keep_an_mfe_alive() {
    let mut h = H::new();
    let (a, _) = h.routing("A");
    h.take(a, &[1, 2]);
    h.add(a, Sg::star_g(G1), 2).unwrap();
    h.pkt(S1, G1, 1).unwrap();
    let expiry = h.m.next_deadline().unwrap();
    // Only wrong-interface packets since the last look: the MFE ages out.
    let counters = MfeCounters {
        packets: 50,
        bytes: 5000,
        wrong_if: 50,
    };
    h.m.on_deadline(expiry, |_, _| Some(counters));
    assert_eq!(h.m.mfe(expiry, S1, G1), Err(MgmError::NotFound));
}

#[test]
fn an_mfe_without_a_route_is_short_lived_and_rebuilt_once_the_route_exists() {
    let routes = Arc::new(Mutex::new(StaticRpf::new()));
    let mut h = H::with_rpf(Box::new(MovableRpf(routes.clone())));
    let (a, _) = h.routing("A");
    h.take(a, &[1, 2]);
    h.add(a, Sg::star_g(G1), 2).unwrap();
    // No route towards S1 yet: a negative entry, capped lifetime.
    h.pkt(S1, G1, 1).unwrap();
    let m = h.m.mfe(h.now, S1, G1).unwrap();
    assert!(m.negative && m.oifs.is_empty());
    assert_eq!(m.timeout_s, REJECTED_MFE_TIMEOUT_S);
    // The route appears; traffic keeps flowing into the negative entry, but it still expires.
    *routes.lock().unwrap() =
        StaticRpf::new().route(Ipv4Addr::new(192, 0, 2, 0), 24, 1, Ipv4Addr::UNSPECIFIED);
    let at = h.m.next_deadline().unwrap();
    assert_eq!(at, h.now + u64::from(REJECTED_MFE_TIMEOUT_S) * SEC);
    let busy = MfeCounters {
        packets: 500,
        bytes: 50_000,
        wrong_if: 0,
    };
    h.m.on_deadline(at, |_, _| Some(busy));
    assert_eq!(h.m.mfe(at, S1, G1), Err(MgmError::NotFound));
    // The next packet builds a real entry through RPF.
    h.now = at;
    h.pkt(S1, G1, 1).unwrap();
    let m = h.m.mfe(h.now, S1, G1).unwrap();
    assert!(!m.negative);
    assert_eq!((m.iif, m.oifs), (ifk(1), vec![ifk(2)]));
}

/// MGM: the prune alert's `pdwTimeout` (when `bMemberDelete == FALSE`, i.e. the OIL emptied) is
/// how long the *emptied* entry stays. Receivers returning make it a forwarding entry again:
/// it gets back its forwarding lifetime (the default, or what a protocol set while it
/// forwarded), counted from their return, not the short pruned-state one.
#[test]
fn a_prune_alert_lifetime_ends_when_receivers_return() {
    // (forwarding lifetime set before the prune, negative at creation, lifetime after return)
    let rows: [(Option<u32>, bool, Option<u32>); 5] = [
        (None, false, Some(900)),
        (Some(120), false, Some(120)),
        (Some(0), false, None),
        (None, true, Some(900)),
        (Some(7), true, Some(900)),
    ];
    for (set_before, negative_first, want) in rows {
        let row = format!("set {set_before:?}, negative first {negative_first}");
        let mut h = H::new();
        let (a, ab) = h.routing("A");
        h.take(a, &[1, 2]);
        ab.lock().unwrap().prune_timeout = Some(30);
        if negative_first {
            // Made with an empty OIL: the prune alert gives the negative entry 30 s.
            h.pkt(S1, G1, 1).unwrap();
            if let Some(t) = set_before {
                // Set while the OIL is empty: a pruned-state lifetime, not a forwarding one.
                h.m.set_mfe_timeout(h.now, a, S1, G1, t).unwrap();
            }
        } else {
            h.add(a, Sg::star_g(G1), 2).unwrap();
            h.pkt(S1, G1, 1).unwrap();
            if let Some(t) = set_before {
                h.m.set_mfe_timeout(h.now, a, S1, G1, t).unwrap();
            }
            h.now += SEC;
            h.del(a, Sg::star_g(G1), 2).unwrap();
        }
        let pruned = h.m.mfe(h.now, S1, G1).unwrap();
        let want_pruned = if negative_first { set_before } else { None };
        assert_eq!(pruned.timeout_s, want_pruned.unwrap_or(30), "{row}: pruned");
        // Receivers return 10 s later.
        h.now += 10 * SEC;
        h.add(a, Sg::star_g(G1), 2).unwrap();
        let back = h.m.mfe(h.now, S1, G1).unwrap();
        assert_eq!(back.oifs, vec![ifk(2)], "{row}");
        assert_eq!(back.timeout_s, want.unwrap_or(0), "{row}: lifetime");
        assert_eq!(
            h.m.next_deadline(),
            want.map(|t| h.now + u64::from(t) * SEC),
            "{row}: deadline"
        );
        // The entry outlives the pruned-state deadline with no traffic in between.
        h.m.on_deadline(h.now + 20 * SEC, |_, _| Some(MfeCounters::default()));
        assert!(h.m.mfe(h.now, S1, G1).is_ok(), "{row}: expired early");
    }
}
