//! The ordered view of the membership records that paged walks start from: order, a start in
//! the middle, (S,G)s that come and go after the index is made, and its end after churn.
use super::*;
use std::ops::Bound;

fn manager() -> (Manager, ProtocolHandle) {
    let (mut m, local) = quiet_manager_with_local();
    for i in 1..=3 {
        m.take_interface_ownership(0, local, ifk(i)).unwrap();
    }
    (m, local)
}

fn walk(m: &mut Manager, from: Bound<WalkSg>) -> Vec<(Sg, u32)> {
    m.ordered_membership_records(from)
        .map(|(sg, iface, _, _)| (sg, iface.ifindex))
        .collect()
}

#[test]
fn the_walk_goes_by_group_then_source_and_starts_where_asked() {
    let (mut m, local) = manager();
    for (sg, i) in [
        (Sg::sg(S2, G2), 1),
        (Sg::star_g(G2), 3),
        (Sg::sg(S1, G1), 2),
        (Sg::star_g(G1), 2),
        (Sg::star_g(G1), 1),
    ] {
        m.add_membership(0, local, sg, ifk(i), J).unwrap();
    }
    let all = vec![
        (Sg::star_g(G1), 1),
        (Sg::star_g(G1), 2),
        (Sg::sg(S1, G1), 2),
        (Sg::star_g(G2), 3),
        (Sg::sg(S2, G2), 1),
    ];
    assert_eq!(walk(&mut m, Bound::Unbounded), all);
    let after_g1 = Bound::Excluded((Some(G1), Some(S1)));
    assert_eq!(walk(&mut m, after_g1), all[3..].to_vec());
    assert_eq!(
        walk(&mut m, Bound::Included((Some(G2), None))),
        all[3..].to_vec()
    );
    // After the index is made: an (S,G) that comes is walked, one that goes is not.
    m.add_membership(0, local, Sg::sg(S3, G1), ifk(3), J)
        .unwrap();
    m.delete_membership(0, local, Sg::star_g(G2), ifk(3), J)
        .unwrap();
    assert_eq!(
        walk(&mut m, Bound::Unbounded),
        vec![
            (Sg::star_g(G1), 1),
            (Sg::star_g(G1), 2),
            (Sg::sg(S1, G1), 2),
            (Sg::sg(S3, G1), 3),
            (Sg::sg(S2, G2), 1),
        ]
    );
}

#[test]
fn the_index_goes_after_more_churn_than_the_table_holds_and_comes_back() {
    let (mut m, local) = manager();
    assert!(!m.has_walk_order(), "no walk, no index");
    m.add_membership(0, local, Sg::star_g(G1), ifk(1), J)
        .unwrap();
    assert_eq!(walk(&mut m, Bound::Unbounded).len(), 1);
    assert!(m.has_walk_order());
    let group = |g: u32| Ipv4Addr::from(0xEF02_0000 | g);
    for g in 0..600 {
        m.add_membership(0, local, Sg::star_g(group(g)), ifk(2), J)
            .unwrap();
        m.delete_membership(0, local, Sg::star_g(group(g)), ifk(2), J)
            .unwrap();
    }
    assert!(!m.has_walk_order(), "1 200 changes, no walk: dropped");
    assert_eq!(
        walk(&mut m, Bound::Unbounded),
        vec![(Sg::star_g(G1), 1)],
        "made again"
    );
}
