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
