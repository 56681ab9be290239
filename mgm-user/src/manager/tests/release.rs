//! Interface release: MFEs arriving on the interface go; MFEs forwarding out of it, whoever
//! owns them, lose it from their OIL and stay.
use super::*;

/// A owns if1 (towards S1) and if3; B owns if2 (towards S3) and if4; IGMP alone owns if5.
/// (*,G1) members: A on if3, B on if4, IGMP on if5. MFEs: (S1,G1) in on if1 (A's),
/// (S3,G1) in on if2 (B's), both forwarding to if3, if4 and if5.
fn two_protocols() -> (H, [ProtocolHandle; 3]) {
    let mut h = H::new();
    let (a, _) = h.routing("A");
    let (b, _) = h.routing("B");
    let (i, _) = h.igmp("I");
    h.take(a, &[1, 3]);
    h.take(b, &[2, 4]);
    h.take(i, &[5]);
    h.add(a, Sg::star_g(G1), 3).unwrap();
    h.add(b, Sg::star_g(G1), 4).unwrap();
    h.add(i, Sg::star_g(G1), 5).unwrap();
    h.pkt(S1, G1, 1).unwrap();
    h.pkt(S3, G1, 2).unwrap();
    assert_eq!(h.oifs(S1, G1), vec![3, 4, 5]);
    assert_eq!(h.oifs(S3, G1), vec![3, 4, 5]);
    h.clear();
    (h, [a, b, i])
}

/// (who releases — index into the handles —, which interface, kernel actions, MFEs left by
/// source with their OILs)
type ReleaseRow = (usize, u32, Vec<ForwarderAction>, Vec<(Ipv4Addr, Vec<u32>)>);

#[test]
fn release_trims_the_interface_from_every_oil_and_deletes_only_mfes_arriving_on_it() {
    let del = |source, iif| ForwarderAction::DelMfe {
        source,
        group: G1,
        iif,
    };
    // (who releases which interface, kernel actions, MFEs left with their OILs)
    let rows: [ReleaseRow; 5] = [
        // B releases an OIL interface: A's MFE and its own keep forwarding elsewhere.
        (
            1,
            4,
            vec![
                set(S1, G1, 1, &[3, 5]),
                set(S3, G1, 2, &[3, 5]),
                ForwarderAction::DelVif { vif: 3, ifindex: 4 },
            ],
            vec![(S1, vec![3, 5]), (S3, vec![3, 5])],
        ),
        (
            0,
            3,
            vec![
                set(S1, G1, 1, &[4, 5]),
                set(S3, G1, 2, &[4, 5]),
                ForwarderAction::DelVif { vif: 1, ifindex: 3 },
            ],
            vec![(S1, vec![4, 5]), (S3, vec![4, 5])],
        ),
        // B releases its incoming interface: its MFE there goes, A's is untouched.
        (
            1,
            2,
            vec![del(S3, 2), ForwarderAction::DelVif { vif: 2, ifindex: 2 }],
            vec![(S1, vec![3, 4, 5])],
        ),
        (
            0,
            1,
            vec![del(S1, 1), ForwarderAction::DelVif { vif: 0, ifindex: 1 }],
            vec![(S3, vec![3, 4, 5])],
        ),
        // IGMP alone on an interface is its owner: the same rule.
        (
            2,
            5,
            vec![
                set(S1, G1, 1, &[3, 4]),
                set(S3, G1, 2, &[3, 4]),
                ForwarderAction::DelVif { vif: 4, ifindex: 5 },
            ],
            vec![(S1, vec![3, 4]), (S3, vec![3, 4])],
        ),
    ];
    for (who, iface, actions, left) in rows {
        let (mut h, handles) = two_protocols();
        h.m.release_interface_ownership(h.now, handles[who], ifk(iface))
            .unwrap();
        assert_eq!(h.m.take_actions(), actions, "release of if{iface}");
        let got: Vec<(Ipv4Addr, Vec<u32>)> =
            h.m.mfe_table(h.now)
                .into_iter()
                .map(|m| (m.source, m.oifs.iter().map(|o| o.ifindex).collect()))
                .collect();
        assert_eq!(got, left, "release of if{iface}");
        assert!(
            h.events().iter().all(|e| !e.starts_with("mfe_delete")
                || e.ends_with(&format!("if{iface} (192.0.2.10,239.1.1.1)"))
                || e.ends_with(&format!("if{iface} (203.0.113.5,239.1.1.1)"))),
            "release of if{iface}: an MFE not arriving on it was deleted"
        );
    }
}

/// What the releasing owner put on the interface with FORWARD_STATE or vetoed in a creation
/// alert goes with its ownership: IGMP, staying there, is not bound by it.
#[test]
fn release_drops_the_owners_forward_state_and_vetoes_on_the_interface() {
    let mut h = H::new();
    let (a, _) = h.routing("A");
    let (r, rb) = h.routing("R");
    let (i, ib) = h.igmp("I");
    h.take(a, &[1]);
    h.take(r, &[2, 3]);
    h.take(i, &[2, 3]);
    rb.lock().unwrap().veto = vec![ifk(3)];
    h.add(r, Sg::star_g(G1), 3).unwrap();
    h.pkt(S1, G1, 1).unwrap();
    // R forces if2 into A's MFE and vetoed if3 at creation.
    let fwd = MembershipFlags::FORWARD_STATE;
    h.m.add_membership(h.now, r, Sg::sg(S1, G1), ifk(2), fwd)
        .unwrap();
    assert_eq!(h.oifs(S1, G1), vec![2]);
    // IGMP has members on both; it replays after R releases.
    ib.lock().unwrap().replay = vec![(Sg::star_g(G1), ifk(2)), (Sg::star_g(G1), ifk(3))];
    for iface in [2, 3] {
        h.m.release_interface_ownership(h.now, r, ifk(iface))
            .unwrap();
    }
    // if2 is IGMP's by membership now, not R's by force; if3 is no longer vetoed.
    assert_eq!(h.oifs(S1, G1), vec![2, 3]);
    h.m.delete_membership(h.now, i, Sg::star_g(G1), ifk(2), J)
        .unwrap();
    assert_eq!(h.oifs(S1, G1), vec![3]);
}
