//! Answers a protocol gives later (a handler in another process): an RPF verdict or a
//! creation alert that is pending makes no MFE; offered again once answered, the packet makes
//! it with the answer. Deleting an MFE on request.
use super::*;

#[test]
fn a_pending_rpf_verdict_makes_nothing_until_the_packet_is_offered_again() {
    let mut h = H::new();
    let (a, ab) = h.routing("A");
    let (b, _) = h.routing("B");
    h.take(a, &[1]);
    h.take(b, &[3]);
    h.add(b, Sg::star_g(G1), 3).unwrap();
    let _ = h.m.take_actions();
    ab.lock().unwrap().rpf_pending = true;
    h.clear();
    assert_eq!(h.pkt(S1, G1, 1), Ok(NewPacket::Pending));
    assert_eq!(
        h.log(),
        strs(&["A rpf (192.0.2.10,239.1.1.1) arrival=if1 in=if1"]),
        "no creation alert before the verdict"
    );
    assert_eq!(h.m.take_actions(), vec![], "nothing for the kernel");
    assert!(h.m.mfe(h.now, S1, G1).is_err(), "no MFE");
    let rpf = h.m.take_events().pop().expect("the rpf event");
    assert_eq!(rpf.kind, EventKind::Rpf);
    assert!(
        matches!(
            rpf.args,
            EventArgs::Rpf {
                verdict: RpfVerdict::Pending,
                ..
            }
        ),
        "{:?}",
        rpf.args
    );
    // The answer is in: the same packet, offered again, makes the MFE with it.
    ab.lock().unwrap().rpf_pending = false;
    h.clear();
    assert_eq!(h.pkt(S1, G1, 1), Ok(NewPacket::Installed));
    assert_eq!(
        h.log(),
        strs(&[
            "A rpf (192.0.2.10,239.1.1.1) arrival=if1 in=if1",
            "B creation (192.0.2.10,239.1.1.1) in=if1 oifs=[if3]",
            "A join (192.0.2.10,239.1.1.1) update=false",
        ])
    );
    assert_eq!(h.m.take_actions(), vec![set(S1, G1, 1, &[3])]);
}

#[test]
fn a_pending_creation_alert_asks_every_owner_then_installs_with_the_vetoes() {
    let mut h = H::new();
    let (a, _) = h.routing("A");
    let (b, bb) = h.routing("B");
    let (c, cb) = h.routing("C");
    h.take(a, &[1]);
    h.take(b, &[3]);
    h.take(c, &[4]);
    h.add(b, Sg::star_g(G1), 3).unwrap();
    h.add(c, Sg::star_g(G1), 4).unwrap();
    let _ = h.m.take_actions();
    bb.lock().unwrap().creation_pending = true;
    h.clear();
    assert_eq!(h.pkt(S1, G1, 1), Ok(NewPacket::Pending));
    assert_eq!(
        h.log(),
        strs(&[
            "A rpf (192.0.2.10,239.1.1.1) arrival=if1 in=if1",
            "B creation (192.0.2.10,239.1.1.1) in=if1 oifs=[if3]",
            "C creation (192.0.2.10,239.1.1.1) in=if1 oifs=[if4]",
        ]),
        "every owner is asked in the same run, so all questions go out at once"
    );
    assert_eq!(h.m.take_actions(), vec![]);
    // B answers with a veto of if3.
    {
        let mut b = bb.lock().unwrap();
        b.creation_pending = false;
        b.veto = vec![ifk(3)];
    }
    cb.lock().unwrap().veto = vec![];
    assert_eq!(h.pkt(S1, G1, 1), Ok(NewPacket::Installed));
    assert_eq!(h.m.take_actions(), vec![set(S1, G1, 1, &[4])]);
}

#[test]
fn only_the_owner_of_the_incoming_interface_deletes_an_mfe() {
    let mut h = H::new();
    let (a, _) = h.routing("A");
    let (b, _) = h.routing("B");
    h.take(a, &[1]);
    h.take(b, &[3]);
    h.add(b, Sg::star_g(G1), 3).unwrap();
    h.pkt(S1, G1, 1).unwrap();
    let _ = h.m.take_actions();
    assert_eq!(
        h.m.remove_mfe(h.now, b, S1, G1),
        Err(MgmError::InvalidParameter(Invalid::NotOwner)),
        "B owns an outgoing interface only"
    );
    assert_eq!(h.m.remove_mfe(h.now, a, S2, G1), Err(MgmError::NotFound));
    assert_eq!(h.m.remove_mfe(h.now, a, S1, G1), Ok(()));
    assert!(h.m.mfe(h.now, S1, G1).is_err());
    assert_eq!(
        h.m.take_actions(),
        vec![ForwarderAction::DelMfe {
            source: S1,
            group: G1,
            iif: 1
        }]
    );
    // The next packet makes it again, with an RPF callback.
    h.clear();
    h.pkt(S1, G1, 1).unwrap();
    assert!(h.log()[0].starts_with("A rpf"));
}
