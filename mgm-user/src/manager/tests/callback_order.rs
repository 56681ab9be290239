//! Callback order, re-entrancy through the context, queued calls, loops.
use super::*;

#[test]
fn callback_order_and_reentrancy_through_context() {
    // R mirrors local joins (as `local` does); its queued add runs after local_join returned
    // and produces the join alert to O. Events show the whole order.
    let mut h = H::new();
    let (r, rb) = h.routing("R");
    let (o, _) = h.routing("O");
    let (i, _) = h.igmp("I");
    rb.lock().unwrap().mirror_local = true;
    h.take(r, &[1, 2]);
    h.take(o, &[4]);
    h.take(i, &[2]);
    // An MFE (S1,G1) exists, negative.
    h.pkt(S1, G1, 1).unwrap();
    h.clear();
    h.add(i, Sg::star_g(G1), 2).unwrap();
    assert_eq!(
        h.log(),
        strs(&[
            "R local_join (*,239.1.1.1) if2",
            "O join (*,239.1.1.1) update=true",
            "R join (192.0.2.10,239.1.1.1) update=false",
        ])
    );
    assert_eq!(
        h.events(),
        strs(&[
            "local_join R if2 (*,239.1.1.1)",
            "join_alert O if2 (*,239.1.1.1)",
            "mfe_update R if1 (192.0.2.10,239.1.1.1)",
            "join_alert R if1 (192.0.2.10,239.1.1.1)",
        ])
    );
    assert_eq!(h.m.take_actions(), vec![set(S1, G1, 1, &[2])]);
    assert!(h.m.take_errors().is_empty());
    // Leave: local_leave, R's queued delete → prune alert to O (last client gone), MFE update,
    // prune alert (OIL empty) to R.
    h.del(i, Sg::star_g(G1), 2).unwrap();
    assert_eq!(
        h.log(),
        strs(&[
            "R local_leave (*,239.1.1.1) if2",
            "O prune (*,239.1.1.1) if2 delete=true",
            "R prune (192.0.2.10,239.1.1.1) if1 delete=false",
        ])
    );
    assert_eq!(h.m.take_actions(), vec![set(S1, G1, 1, &[])]);
}

#[test]
fn queued_calls_run_fifo_after_the_operation() {
    let mut h = H::new();
    let (a, _) = h.routing("A");
    let (b, bb) = h.routing("B");
    let (c, cb) = h.routing("C");
    h.take(a, &[2]);
    h.take(b, &[3]);
    h.take(c, &[4]);
    bb.lock().unwrap().on_join_alert = vec![QueuedCall::AddMembership {
        sg: Sg::star_g(G1),
        iface: ifk(3),
        flags: J,
    }];
    cb.lock().unwrap().on_join_alert = vec![
        QueuedCall::AddMembership {
            sg: Sg::star_g(G1),
            iface: ifk(4),
            flags: J,
        },
        // Not C's interface: fails, reported through take_errors.
        QueuedCall::AddMembership {
            sg: Sg::star_g(G1),
            iface: ifk(2),
            flags: J,
        },
    ];
    h.clear();
    h.add(a, Sg::star_g(G1), 2).unwrap();
    // Both alerts of A's add first; then B's queued add (2nd client → alert to A); then C's
    // (3rd client → nothing), then C's failing call.
    assert_eq!(
        h.log(),
        strs(&[
            "B join (*,239.1.1.1) update=true",
            "C join (*,239.1.1.1) update=true",
            "A join (*,239.1.1.1) update=true",
        ])
    );
    let errs = h.m.take_errors();
    assert_eq!(errs.len(), 1);
    assert_eq!(errs[0].protocol, c);
    assert_eq!(errs[0].error, MgmError::InvalidParameter(Invalid::NotOwner));
    assert_eq!(
        h.m.groups(EnumType::AllSources),
        vec![Sg::star_g(G1)],
        "memberships of A, B, C"
    );
    assert_eq!(h.m.memberships().len(), 3);
}

#[test]
fn callback_loop_is_cut() {
    // Each protocol answers a join alert by joining and leaving, and a prune alert by joining.
    struct Looper(u32);
    impl ProtocolHandler for Looper {
        fn join_alert(&mut self, ctx: &mut CallbackContext<'_>, sg: Sg, _u: bool) {
            ctx.add_membership(sg, ifk(self.0), J);
            ctx.delete_membership(sg, ifk(self.0), J);
        }
        fn prune_alert(&mut self, ctx: &mut CallbackContext<'_>, a: &PruneAlert, _t: &mut u32) {
            ctx.add_membership(a.sg, ifk(self.0), J);
        }
    }
    let mut m = Manager::with_config(
        Box::new(StaticRpf::new()),
        ManagerConfig {
            max_queued_calls: 100,
            ..Default::default()
        },
    );
    let a = m
        .register(
            "A",
            ClientKind::Routing,
            ProtocolId(1),
            ComponentId(0),
            Box::new(Looper(3)),
        )
        .unwrap();
    let b = m
        .register(
            "B",
            ClientKind::Routing,
            ProtocolId(2),
            ComponentId(0),
            Box::new(Looper(4)),
        )
        .unwrap();
    m.take_interface_ownership(0, a, ifk(3)).unwrap();
    m.take_interface_ownership(0, b, ifk(4)).unwrap();
    m.add_membership(0, b, Sg::star_g(G1), ifk(4), J).unwrap();
    let errs = m.take_errors();
    assert!(
        errs.iter()
            .any(|e| e.error == MgmError::CallbackLoop { limit: 100 }),
        "{errs:?}"
    );
}

/// An add on a new interface that covers a refused (S,G) (refused at `--max-mfes`) runs the
/// New packet sequence for it inside the add, after the add's own alerts and MFE updates:
/// the handler is asked `rpf` and `creation_alert` before its add returns.
#[test]
fn an_add_covering_a_refused_sg_runs_the_new_packet_sequence_after_its_own_alerts() {
    let mut h = H::new();
    let (r, _) = h.routing("R");
    let (o, _) = h.routing("O");
    h.take(r, &[1]);
    h.take(o, &[2]);
    h.m.set_max_mfes(1);
    h.pkt(S2, G2, 1).unwrap();
    assert_eq!(h.pkt(S1, G1, 1), Ok(NewPacket::Refused));
    h.clear();
    h.add(o, Sg::star_g(G1), 2).unwrap();
    assert_eq!(
        h.log(),
        strs(&[
            "R join (*,239.1.1.1) update=true",
            "R rpf (192.0.2.10,239.1.1.1) arrival=if1 in=if1",
            "O creation (192.0.2.10,239.1.1.1) in=if1 oifs=[if2]",
            "R join (192.0.2.10,239.1.1.1) update=false",
        ])
    );
    assert_eq!(h.m.take_actions(), vec![set(S1, G1, 1, &[2])]);
}
