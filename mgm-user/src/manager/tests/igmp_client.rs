//! The IGMP client: local join/leave on routed interfaces, the take/release bracket, deltas.
use super::*;

#[test]
fn igmp_on_routed_interface_becomes_local_join_only() {
    let mut h = H::new();
    let (r, _) = h.routing("R");
    let (o, _) = h.routing("O");
    let (i, _) = h.igmp("I");
    h.take(r, &[2]);
    h.take(o, &[4]);
    h.take(i, &[2, 3]);
    h.clear();
    // Co-owned with R: only R's local join (R's handler does not mirror here).
    h.add(i, Sg::star_g(G1), 2).unwrap();
    assert_eq!(h.log(), strs(&["R local_join (*,239.1.1.1) if2"]));
    h.del(i, Sg::star_g(G1), 2).unwrap();
    assert_eq!(h.log(), strs(&["R local_leave (*,239.1.1.1) if2"]));
    // IGMP alone on if3: no local callback; IGMP is the first client, so every routing
    // protocol gets the join alert; IGMP itself never gets alerts.
    h.add(i, Sg::star_g(G1), 3).unwrap();
    assert_eq!(
        h.log(),
        strs(&[
            "R join (*,239.1.1.1) update=true",
            "O join (*,239.1.1.1) update=true"
        ])
    );
    // O becomes second client: the alert would go to the first (IGMP), which gets none.
    h.add(o, Sg::star_g(G1), 4).unwrap();
    assert_eq!(h.log(), Vec::<String>::new());
}

#[test]
fn take_where_igmp_runs_is_bracketed_and_igmp_replays_after_enable() {
    let mut h = H::new();
    let (r, rb) = h.routing("R");
    let (i, ib) = h.igmp("I");
    rb.lock().unwrap().mirror_local = true;
    h.take(r, &[1]);
    h.take(i, &[2]);
    h.add(i, Sg::star_g(G1), 2).unwrap();
    h.pkt(S1, G1, 1).unwrap();
    assert_eq!(h.oifs(S1, G1), vec![2]);
    ib.lock().unwrap().replay = vec![(Sg::star_g(G1), ifk(2))];
    h.clear();
    h.m.take_interface_ownership(h.now, r, ifk(2)).unwrap();
    assert_eq!(
        h.log(),
        strs(&[
            "I disable if2",
            // IGMP's membership is withdrawn inside the bracket (it was the only client)...
            "R prune (*,239.1.1.1) if2 delete=true",
            "R prune (192.0.2.10,239.1.1.1) if1 delete=false",
            "I enable if2",
            // ...and replayed after ENABLE returned: now a local join to the new owner, who
            // adds its own membership; the MFE gets if2 back.
            "R local_join (*,239.1.1.1) if2",
            "R join (192.0.2.10,239.1.1.1) update=false",
        ])
    );
    assert_eq!(
        h.m.take_actions(),
        vec![set(S1, G1, 1, &[]), set(S1, G1, 1, &[2])]
    );
    assert_eq!(h.oifs(S1, G1), vec![2]);
    let ms = h.m.memberships();
    assert_eq!(ms.len(), 2);
    assert!(ms.iter().any(|m| m.protocol == "I" && !m.effective));
    assert!(ms.iter().any(|m| m.protocol == "R" && m.effective));
}

#[test]
fn igmp_bridge_replay_is_done_by_the_shell() {
    let mut h = H::new();
    let (r, rb) = h.routing("R");
    rb.lock().unwrap().mirror_local = true;
    let notices = IgmpNotices::new();
    let i =
        h.m.register(
            "igmp",
            ClientKind::Igmp,
            IGMP_PROTOCOL_ID,
            ComponentId(0),
            Box::new(IgmpBridge::new(notices.clone())),
        )
        .unwrap();
    h.take(i, &[2]);
    h.add(i, Sg::star_g(G1), 2).unwrap();
    h.clear();
    h.m.take_interface_ownership(h.now, r, ifk(2)).unwrap();
    // Nothing replayed yet: the bridge only queued notices.
    assert_eq!(
        notices.drain(),
        vec![IgmpNotice::Disable(ifk(2)), IgmpNotice::Enable(ifk(2))]
    );
    assert!(h.log().iter().all(|l| !l.contains("local_join")));
    assert!(h.m.memberships().is_empty());
    // The shell replays from the IGMP module's state.
    h.add(i, Sg::star_g(G1), 2).unwrap();
    assert_eq!(h.log(), strs(&["R local_join (*,239.1.1.1) if2"]));
    assert_eq!(h.m.memberships().len(), 2);
}

#[test]
fn release_trims_mfes_and_brackets_igmp() {
    let mut h = H::new();
    let (r, rb) = h.routing("R");
    let (i, ib) = h.igmp("I");
    rb.lock().unwrap().mirror_local = true;
    h.take(r, &[1, 2, 3]);
    h.take(i, &[2, 3]);
    h.add(i, Sg::star_g(G1), 2).unwrap();
    h.add(i, Sg::star_g(G1), 3).unwrap();
    h.pkt(S1, G1, 1).unwrap();
    h.pkt(S3, G1, 2).unwrap(); // iif if2 (203.0.113.0/24)
    assert_eq!(h.oifs(S1, G1), vec![2, 3]);
    assert_eq!(h.oifs(S3, G1), vec![3]);
    ib.lock().unwrap().replay = vec![(Sg::star_g(G1), ifk(2))];
    h.clear();
    h.m.release_interface_ownership(h.now, r, ifk(2)).unwrap();
    assert_eq!(
        h.events(),
        strs(&[
            "disable_igmp I if2 (*,*)",
            // The MFE arriving on if2 goes; R's MFE arriving on if1 only loses if2.
            "mfe_delete R if2 (203.0.113.5,239.1.1.1)",
            "mfe_update R if1 (192.0.2.10,239.1.1.1)",
            "enable_igmp I if2 (*,*)",
            // The replay (queued in enable_igmp): IGMP alone on if2 is now a client of
            // (*,G) itself, the second one after R (if3): alert to the first, R.
            "join_alert R if2 (*,239.1.1.1)",
            "mfe_update R if1 (192.0.2.10,239.1.1.1)",
        ])
    );
    assert_eq!(
        h.m.take_actions(),
        vec![
            ForwarderAction::DelMfe {
                source: S3,
                group: G1,
                iif: 2
            },
            set(S1, G1, 1, &[3]),
            set(S1, G1, 1, &[2, 3]),
        ],
        "IGMP still owns if2: its VIF stays"
    );
    // The replay re-added IGMP's membership, effective now (no routing owner).
    let ms = h.m.memberships();
    assert!(ms
        .iter()
        .any(|m| m.protocol == "I" && m.interface == ifk(2) && m.effective));
    assert_eq!(h.oifs(S1, G1), vec![2, 3]);
    // IGMP releases if2: last owner; the MFE forwarding there loses it, and the VIF goes.
    h.clear();
    h.m.release_interface_ownership(h.now, i, ifk(2)).unwrap();
    assert_eq!(
        h.m.take_actions(),
        vec![
            set(S1, G1, 1, &[3]),
            ForwarderAction::DelVif { vif: 1, ifindex: 2 },
        ]
    );
    // R releases if3 where IGMP still runs: IGMP gets disable/enable; R's memberships go, and
    // with them the last interface of R's MFE: an OIL that empties, so a prune alert to R.
    h.clear();
    h.m.release_interface_ownership(h.now, r, ifk(3)).unwrap();
    assert_eq!(
        h.log(),
        strs(&[
            "I disable if3",
            "R prune (192.0.2.10,239.1.1.1) if1 delete=false",
            "I enable if3"
        ])
    );
    assert!(h.m.memberships().is_empty(), "{:?}", h.m.memberships());
}

#[test]
fn igmp_release_on_a_routed_interface_is_a_local_leave() {
    let mut h = H::new();
    let (r, rb) = h.routing("R");
    let (i, _) = h.igmp("I");
    rb.lock().unwrap().mirror_local = true;
    h.take(r, &[1, 2]);
    h.take(i, &[2]);
    h.add(i, Sg::star_g(G1), 2).unwrap();
    h.add(i, Sg::sg(S1, G2), 2).unwrap();
    h.pkt(S1, G1, 1).unwrap();
    h.clear();
    h.m.release_interface_ownership(h.now, i, ifk(2)).unwrap();
    assert_eq!(
        h.log(),
        strs(&[
            "R local_leave (*,239.1.1.1) if2",
            "R local_leave (192.0.2.10,239.2.2.2) if2",
            "R prune (192.0.2.10,239.1.1.1) if1 delete=false",
        ])
    );
    assert_eq!(
        h.m.take_actions(),
        vec![set(S1, G1, 1, &[])],
        "R still owns if2: VIF stays"
    );
    assert!(h.m.memberships().is_empty());
    assert_eq!(h.m.deregister(i), Ok(()));
}

#[test]
fn igmp_deltas_map_onto_the_manager() {
    let mut h = H::new();
    let l = register_local(&mut h.m).unwrap();
    let (i, _) = h.igmp("igmp");
    h.take(l, &[1, 2, 3]);
    h.take(i, &[1, 2, 3]);
    h.pkt(S1, G1, 1).unwrap();
    h.pkt(S2, G1, 1).unwrap();
    let now = h.now;
    let mut d = |ifindex, source, delta| h.m.apply_igmp_delta(now, i, ifindex, G1, source, delta);
    // EXCLUDE {S1} on if2, INCLUDE {S1} on if3.
    d(2, None, IgmpDelta::Join).unwrap();
    d(2, Some(S1), IgmpDelta::Block).unwrap();
    d(3, Some(S1), IgmpDelta::Join).unwrap();
    assert_eq!(
        d(3, None, IgmpDelta::Block),
        Err(MgmError::InvalidParameter(Invalid::NoSource))
    );
    assert_eq!(h.oifs(S1, G1), vec![3]);
    assert_eq!(h.oifs(S2, G1), vec![2]);
    // if2 leaves EXCLUDE mode: the Leave of (*,G) first, then the Unblock.
    let mut d = |ifindex, source, delta| h.m.apply_igmp_delta(now, i, ifindex, G1, source, delta);
    d(2, None, IgmpDelta::Leave).unwrap();
    d(2, Some(S1), IgmpDelta::Unblock).unwrap();
    d(3, Some(S1), IgmpDelta::Leave).unwrap();
    assert_eq!(h.oifs(S1, G1), Vec::<u32>::new());
    assert_eq!(h.oifs(S2, G1), Vec::<u32>::new());
    assert!(h.m.memberships().is_empty());
}
