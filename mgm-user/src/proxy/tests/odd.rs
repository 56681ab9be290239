//! Bad and odd input, and the seeded generator the daemon uses.

use super::*;

#[test]
fn link_local_and_non_multicast_groups_are_never_reported() {
    let mut r = Rig::new();
    for g in [
        Ipv4Addr::new(224, 0, 0, 1),
        Ipv4Addr::new(224, 0, 0, 5),
        Ipv4Addr::new(224, 0, 0, 22),
        Ipv4Addr::new(224, 0, 0, 251),
        Ipv4Addr::new(224, 0, 0, 255),
        Ipv4Addr::new(10, 0, 0, 1),
        Ipv4Addr::UNSPECIFIED,
        Ipv4Addr::BROADCAST,
    ] {
        assert!(r.set(g, exc(&[])).is_empty(), "{g}");
        assert!(r.set(g, inc(&[S1])).is_empty(), "{g}");
    }
    assert!(r.host.groups().is_empty());
    assert_eq!(r.host.next_deadline(), None);
    assert!(r.asked().is_empty());
    // Just above the link-local block: a group like any other.
    let g = Ipv4Addr::new(224, 0, 1, 1);
    r.delays(&[300 * MS]);
    assert_eq!(r.set(g, exc(&[])), vec![v3(&[rec(TO_EX, g, &[])])]);
}

#[test]
fn zero_robustness_is_one_transmission() {
    let mut r = Rig::with(HostConfig {
        robustness: 0,
        ..HostConfig::default()
    });
    assert_eq!(r.set(G, exc(&[])), vec![v3(&[rec(TO_EX, G, &[])])]);
    assert_eq!(r.host.next_deadline(), None);
}

#[test]
fn a_deadline_with_nothing_due_does_nothing() {
    let mut r = Rig::new();
    r.delays(&[300 * MS]);
    r.set(G, exc(&[]));
    assert!(r.host.on_deadline(T0 + 100 * MS).is_empty());
    assert_eq!(r.host.next_deadline(), Some(T0 + 300 * MS));
}

#[test]
fn splitmix64_reference_values() {
    // The reference implementation (Vigna's splitmix64.c) seeded with 0.
    let mut g = SplitMix64::new(0);
    assert_eq!(g.next_u64(), 0xe220_a839_7b1d_cdaf);
    assert_eq!(g.next_u64(), 0x6e78_9e6a_a1b9_65f4);
    assert_eq!(g.next_u64(), 0x06c4_5d18_8009_454f);
    assert_eq!(g.next_u64(), 0xf88b_b8a8_724c_81ec);
}

#[test]
fn delays_stay_in_the_open_interval() {
    let mut g = SplitMix64::new(7);
    for max in [2, 3, 10, 1_000, SEC, 10 * SEC] {
        for _ in 0..1_000 {
            let d = g.delay(max);
            assert!(d > 0 && d < max, "{d} not in (0, {max})");
        }
    }
    assert_eq!(g.delay(0), 0);
    assert_eq!(g.delay(1), 1);
    // Spread over the interval, not stuck at one end.
    let d: Vec<u64> = (0..1_000).map(|_| g.delay(SEC)).collect();
    assert!(d.iter().any(|x| *x < SEC / 10) && d.iter().any(|x| *x > 9 * SEC / 10));
}

#[test]
fn seeded_hosts_are_reproducible() {
    let run = |seed: u64| {
        let mut h = UpstreamHost::new(HostConfig::default(), seed);
        let mut sent = h.set_group(G, exc(&[]), T0);
        let d = h.next_deadline().expect("a retransmission");
        assert!(d > T0 && d < T0 + URI);
        sent.extend(h.on_deadline(d));
        assert_eq!(h.next_deadline(), None);
        (d, sent)
    };
    let (d1, sent1) = run(42);
    assert_eq!(run(42), (d1, sent1.clone()));
    assert_ne!(run(43).0, d1);
    assert_eq!(sent1.len(), 2);
    assert_eq!(sent1[0], sent1[1], "the retransmission is the same report");
    assert_eq!(decode(&sent1[0]), v3(&[rec(TO_EX, G, &[])]));
}
