//! IGMPv3 excluded sources (blocks). On an interface a routing protocol owns, IGMP's block is
//! the owner's to decide, told as MGM tells IGMP's changes there: `local_leave` (S,G) when IGMP
//! no longer wants S from a group it wants, `local_join` (S,G) when it wants S again.
use super::*;

#[derive(Clone, Copy, Debug)]
enum Step {
    Join(Option<Ipv4Addr>),
    Leave(Option<Ipv4Addr>),
    Block(Ipv4Addr),
    Unblock(Ipv4Addr),
}

#[test]
fn an_igmp_block_on_a_routed_interface_is_told_to_the_owner_and_does_not_override_its_join() {
    use Step::*;
    let mut h = H::new();
    let (r, _) = h.routing("R");
    let (i, _) = h.igmp("I");
    h.take(r, &[1, 2]);
    h.take(i, &[2]);
    // R joined (*,G1) on if2 itself (its own protocol's reasons); its handler ignores IGMP.
    h.add(r, Sg::star_g(G1), 2).unwrap();
    h.pkt(S1, G1, 1).unwrap();
    h.clear();
    let sg = |s: Option<Ipv4Addr>| Sg {
        source: s,
        group: Some(G1),
    };
    // (IGMP's step on if2, what R is told)
    let rows: Vec<(Step, Vec<&str>)> = vec![
        (Join(None), vec!["R local_join (*,239.1.1.1) if2"]),
        (Block(S1), vec!["R local_leave (192.0.2.10,239.1.1.1) if2"]),
        (Block(S1), vec![]),
        (Unblock(S1), vec!["R local_join (192.0.2.10,239.1.1.1) if2"]),
        (Leave(None), vec!["R local_leave (*,239.1.1.1) if2"]),
        // Without a wildcard membership an exclusion changes nothing IGMP wants.
        (Block(S1), vec![]),
        // IGMP's own order (blocks before joins): the exclusion is told before the join.
        (
            Join(None),
            vec![
                "R local_leave (192.0.2.10,239.1.1.1) if2",
                "R local_join (*,239.1.1.1) if2",
            ],
        ),
        // An explicit (S,G) membership wins over the block.
        (
            Join(Some(S1)),
            vec!["R local_join (192.0.2.10,239.1.1.1) if2"],
        ),
        (Unblock(S1), vec![]),
        (Block(S1), vec![]),
        (
            Leave(Some(S1)),
            vec!["R local_leave (192.0.2.10,239.1.1.1) if2"],
        ),
    ];
    for (n, (step, want)) in rows.into_iter().enumerate() {
        let now = h.now;
        let r = match step {
            Join(s) => h.m.add_membership(now, i, sg(s), ifk(2), J),
            Leave(s) => h.m.delete_membership(now, i, sg(s), ifk(2), J),
            Block(s) => h.m.block_source(now, i, s, G1, ifk(2)),
            Unblock(s) => h.m.unblock_source(now, i, s, G1, ifk(2)),
        };
        assert_eq!(r, Ok(()), "row {n}: {step:?}");
        assert_eq!(h.log(), strs(&want), "row {n}: {step:?}");
        // R's (*,G1) on if2 stands whatever IGMP excludes: R decides.
        assert_eq!(h.oifs(S1, G1), vec![2], "row {n}: {step:?}");
    }
}

#[test]
fn local_follows_igmp_exclusions_without_forwarding_an_excluded_source_in_between() {
    let mut h = H::new();
    let l = register_local(&mut h.m).unwrap();
    let (i, _) = h.igmp("igmp");
    h.take(l, &[1, 2, 3]);
    h.take(i, &[2, 3]);
    h.pkt(S1, G1, 1).unwrap();
    h.pkt(S2, G1, 1).unwrap();
    h.clear();
    let now = h.now;
    let d = |h: &mut H, source, delta| {
        h.m.apply_igmp_delta(now, i, 2, G1, source, delta).unwrap();
        h.m.take_actions()
    };
    // TO_EX{S1} in IGMP's order: Block, then Join (*,G). S1 never reaches if2.
    d(&mut h, Some(S1), IgmpDelta::Block);
    let actions = d(&mut h, None, IgmpDelta::Join);
    assert_eq!(actions, vec![set(S2, G1, 1, &[2])]);
    assert_eq!((h.oifs(S1, G1), h.oifs(S2, G1)), (vec![], vec![2]));
    // ALLOW{S1}: forwarded again; BLOCK{S1}: held back again.
    d(&mut h, Some(S1), IgmpDelta::Unblock);
    assert_eq!(h.oifs(S1, G1), vec![2]);
    d(&mut h, Some(S1), IgmpDelta::Block);
    assert_eq!(h.oifs(S1, G1), Vec::<u32>::new());
    // TO_IN{}: Leave, then Unblock. Nothing left of local's exclusion...
    d(&mut h, None, IgmpDelta::Leave);
    d(&mut h, Some(S1), IgmpDelta::Unblock);
    assert_eq!((h.oifs(S1, G1), h.oifs(S2, G1)), (vec![], vec![]));
    assert_eq!(h.m.view(now).blocks(l, ifk(2)), vec![]);
    // ...so a later EXCLUDE{} forwards every source.
    d(&mut h, None, IgmpDelta::Join);
    assert_eq!((h.oifs(S1, G1), h.oifs(S2, G1)), (vec![2], vec![2]));
    assert!(h.m.take_errors().is_empty(), "{:?}", h.m.take_errors());
}

#[test]
fn blocks_follow_ownership_changes() {
    let mut h = H::new();
    let (r, rb) = h.routing("R");
    let (i, ib) = h.igmp("I");
    h.take(r, &[1]);
    h.take(i, &[2]);
    // IGMP alone on if2, EXCLUDE{S1}: its block applies directly.
    h.add(i, Sg::star_g(G1), 2).unwrap();
    h.m.block_source(h.now, i, S1, G1, ifk(2)).unwrap();
    h.pkt(S1, G1, 1).unwrap();
    h.pkt(S2, G1, 1).unwrap();
    assert_eq!((h.oifs(S1, G1), h.oifs(S2, G1)), (vec![], vec![2]));
    // R takes if2: IGMP's memberships and blocks there are withdrawn; IGMP's replay (here only
    // the membership) is now R's to decide.
    rb.lock().unwrap().mirror_local = true;
    ib.lock().unwrap().replay = vec![(Sg::star_g(G1), ifk(2))];
    h.m.take_interface_ownership(h.now, r, ifk(2)).unwrap();
    assert_eq!((h.oifs(S1, G1), h.oifs(S2, G1)), (vec![2], vec![2]));
    assert_eq!(h.m.view(h.now).blocks(i, ifk(2)), vec![]);
    // R blocks on its own interface: applies, as any owner's.
    h.m.block_source(h.now, r, S1, G1, ifk(2)).unwrap();
    assert_eq!(h.oifs(S1, G1), Vec::<u32>::new());
    // R releases if2: its block goes with it; IGMP's replay applies directly again.
    h.m.release_interface_ownership(h.now, r, ifk(2)).unwrap();
    assert_eq!((h.oifs(S1, G1), h.oifs(S2, G1)), (vec![2], vec![2]));
}
