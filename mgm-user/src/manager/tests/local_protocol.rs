//! The built-in `local` protocol.
use super::*;

#[test]
fn local_protocol_routes_between_its_interfaces() {
    let mut h = H::new();
    let l = register_local(&mut h.m).unwrap();
    let (i, _) = h.igmp("igmp");
    h.take(l, &[1, 2, 3]);
    h.take(i, &[1, 2, 3]);
    h.pkt(S1, G1, 1).unwrap();
    h.clear();
    // A receiver on if2 joins mid-stream: the OIL follows at once.
    h.add(i, Sg::star_g(G1), 2).unwrap();
    assert_eq!(h.m.take_actions(), vec![set(S1, G1, 1, &[2])]);
    assert_eq!(
        h.events(),
        strs(&[
            "local_join local if2 (*,239.1.1.1)",
            "mfe_update local if1 (192.0.2.10,239.1.1.1)",
            "join_alert local if1 (192.0.2.10,239.1.1.1)",
        ])
    );
    // A member on the incoming interface does not get its own traffic back.
    h.add(i, Sg::star_g(G1), 1).unwrap();
    assert_eq!(h.m.take_actions(), vec![]);
    h.del(i, Sg::star_g(G1), 2).unwrap();
    assert_eq!(h.m.take_actions(), vec![set(S1, G1, 1, &[])]);
    assert_eq!(
        h.events(),
        strs(&[
            "local_join local if1 (*,239.1.1.1)",
            "local_leave local if2 (*,239.1.1.1)",
            "mfe_update local if1 (192.0.2.10,239.1.1.1)",
            "prune_alert local if1 (192.0.2.10,239.1.1.1)",
        ])
    );
    let p = h.m.protocols();
    assert_eq!(p[0].name, "local");
    assert_eq!(p[0].interfaces, vec![ifk(1), ifk(2), ifk(3)]);
}

/// `local` holds a source back only while the delegated clients exclude it: an exclusion
/// lifted while IGMP also asked for (S,G) explicitly leaves no block behind.
#[test]
fn local_keeps_no_block_once_igmp_wants_the_source_again() {
    let mut h = H::new();
    let l = register_local(&mut h.m).unwrap();
    let (i, _) = h.igmp("igmp");
    h.take(l, &[1, 2]);
    h.take(i, &[2]);
    h.pkt(S1, G1, 1).unwrap();
    let now = h.now;
    // (IGMP's step on if2, OIL of (S1,G1) after it)
    let steps: [(&str, Vec<u32>); 5] = [
        ("join (*,G)", vec![2]),
        ("block S1", vec![]),
        ("join (S1,G)", vec![2]),
        ("unblock S1", vec![2]),
        ("leave (S1,G)", vec![2]),
    ];
    for (step, oil) in steps {
        match step {
            "join (*,G)" => h.add(i, Sg::star_g(G1), 2),
            "block S1" => h.m.block_source(now, i, S1, G1, ifk(2)),
            "join (S1,G)" => h.add(i, Sg::sg(S1, G1), 2),
            "unblock S1" => h.m.unblock_source(now, i, S1, G1, ifk(2)),
            _ => h.del(i, Sg::sg(S1, G1), 2),
        }
        .unwrap();
        assert_eq!(h.oifs(S1, G1), oil, "{step}");
    }
    assert_eq!(h.m.view(now).blocks(l, ifk(2)), vec![]);
    assert!(h.m.take_errors().is_empty(), "{:?}", h.m.take_errors());
}
