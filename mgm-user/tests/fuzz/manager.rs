//! The group manager (`mgm_user::manager::Manager`) fed random sequences of registrations,
//! ownership changes, memberships, blocks, kernel upcalls and deadlines, with handlers that
//! answer callbacks in every allowed way (queue calls, veto, override RPF, set lifetimes).
//! Its forwarder actions are applied to a model of the kernel's ipmr table, which must always
//! agree with the manager's MFE table.
use mgm_user::manager::{
    Answer, CallbackContext, ClientKind, ComponentId, CreationIf, ForwarderAction, IfKey, Manager,
    MembershipFlags, MfeCounters, ProtocolHandle, ProtocolHandler, ProtocolId, PruneAlert,
    RpfRequest, RpfVerdict, Sg, StaticRpf, IGMP_PROTOCOL_ID,
};
use proptest::collection::vec;
use proptest::prelude::*;
use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;

const IFACES: [u32; 4] = [11, 12, 13, 14];
const SEC: u64 = 1_000_000_000;

fn source(i: u8) -> Ipv4Addr {
    // 192.0.2.x routes via ifindex 11, 198.51.100.x via 12, 203.0.113.x has no route.
    match i % 3 {
        0 => Ipv4Addr::new(192, 0, 2, 1 + i),
        1 => Ipv4Addr::new(198, 51, 100, 1 + i),
        _ => Ipv4Addr::new(203, 0, 113, 1 + i),
    }
}

fn group(i: u8) -> Ipv4Addr {
    Ipv4Addr::new(239, 2, 0, i % 4)
}

/// A routing protocol whose answers follow its `style`: every callback may queue manager calls,
/// veto, override or set lifetimes, as handlers may.
struct Scripted {
    style: u8,
}

impl ProtocolHandler for Scripted {
    fn rpf(&mut self, _: &mut CallbackContext<'_>, req: &mut RpfRequest<'_>) -> RpfVerdict {
        match self.style % 4 {
            1 => {
                req.in_iface = IfKey::new(IFACES[usize::from(self.style) % IFACES.len()]);
                RpfVerdict::Accept
            }
            2 => RpfVerdict::Reject,
            // Asked elsewhere: nothing is made this time.
            3 if self.style % 7 == 3 => RpfVerdict::Pending,
            _ => RpfVerdict::Accept,
        }
    }
    fn creation_alert(
        &mut self,
        _: &mut CallbackContext<'_>,
        _: Ipv4Addr,
        _: Ipv4Addr,
        _: IfKey,
        oifs: &mut [CreationIf],
    ) -> Answer {
        if self.style % 3 == 1 {
            if let Some(first) = oifs.first_mut() {
                first.enabled = false;
            }
        }
        if self.style % 11 == 5 {
            Answer::Pending
        } else {
            Answer::Given
        }
    }
    fn join_alert(&mut self, _: &mut CallbackContext<'_>, _: Sg, _: bool) {}
    fn prune_alert(&mut self, _: &mut CallbackContext<'_>, _: &PruneAlert, timeout_s: &mut u32) {
        if self.style % 2 == 1 {
            *timeout_s = u32::from(self.style % 5) * 7;
        }
    }
    fn local_join(&mut self, ctx: &mut CallbackContext<'_>, sg: Sg, iface: IfKey) {
        if self.style % 5 != 4 {
            ctx.add_membership(sg, iface, MembershipFlags::JOIN_STATE);
        }
    }
    fn local_leave(&mut self, ctx: &mut CallbackContext<'_>, sg: Sg, iface: IfKey) {
        ctx.delete_membership(sg, iface, MembershipFlags::JOIN_STATE);
    }
}

#[derive(Clone, Debug)]
enum Call {
    Register(u8),
    Deregister(u8),
    Take(u8, usize),
    Release(u8, usize),
    /// Protocol (3 = IGMP), source (None: any), group (None: any), interface, add, flags 1..=3.
    Membership(u8, Option<u8>, Option<u8>, usize, bool, u8),
    Block(u8, u8, usize, bool),
    NewPacket(u8, u8, usize),
    WrongInterface(u8, u8, usize),
    /// Seconds pass; traffic (or not) on every MFE; deadlines run.
    Wait(u16, bool),
}

fn call() -> impl Strategy<Value = Call> {
    let p = 0..4u8;
    let i = 0..IFACES.len();
    prop_oneof![
        1 => (0..3u8).prop_map(Call::Register),
        1 => (0..3u8).prop_map(Call::Deregister),
        2 => (p.clone(), i.clone()).prop_map(|(p, i)| Call::Take(p, i)),
        1 => (p.clone(), i.clone()).prop_map(|(p, i)| Call::Release(p, i)),
        6 => (p.clone(), proptest::option::of(0..6u8), proptest::option::weighted(0.9, 0..4u8), i.clone(), any::<bool>(), 1..=3u8)
            .prop_map(|(p, s, g, i, add, f)| Call::Membership(p, s, g, i, add, f)),
        2 => (0..6u8, 0..4u8, i.clone(), any::<bool>()).prop_map(|(s, g, i, b)| Call::Block(s, g, i, b)),
        4 => (0..6u8, 0..4u8, i.clone()).prop_map(|(s, g, i)| Call::NewPacket(s, g, i)),
        1 => (0..6u8, 0..4u8, i).prop_map(|(s, g, i)| Call::WrongInterface(s, g, i)),
        2 => (0..1200u16, any::<bool>()).prop_map(|(s, t)| Call::Wait(s, t)),
    ]
}

/// The kernel's ipmr state as the forwarder actions build it; refuses what the kernel would.
#[derive(Default)]
struct Kernel {
    vifs: BTreeMap<u16, u32>,
    mfc: BTreeMap<(Ipv4Addr, Ipv4Addr), (u32, BTreeSet<u32>)>,
}

impl Kernel {
    fn has_vif(&self, ifindex: u32) -> bool {
        self.vifs.values().any(|i| *i == ifindex)
    }

    fn apply(&mut self, actions: Vec<ForwarderAction>) {
        for a in actions {
            match a {
                ForwarderAction::AddVif { vif, ifindex } => {
                    assert!(!self.has_vif(ifindex), "second VIF for {ifindex}");
                    assert!(self.vifs.insert(vif, ifindex).is_none(), "VIF {vif} in use");
                }
                ForwarderAction::DelVif { vif, ifindex } => {
                    assert_eq!(self.vifs.remove(&vif), Some(ifindex), "DelVif {vif}");
                    for ((s, g), (iif, oifs)) in &self.mfc {
                        assert!(
                            *iif != ifindex && !oifs.contains(&ifindex),
                            "VIF of {ifindex} deleted under ({s},{g})"
                        );
                    }
                }
                ForwarderAction::SetMfe {
                    source,
                    group,
                    iif,
                    oifs,
                } => {
                    assert!(self.has_vif(iif), "({source},{group}) iif {iif} has no VIF");
                    for o in &oifs {
                        assert!(self.has_vif(*o), "({source},{group}) oif {o} has no VIF");
                    }
                    assert!(
                        !oifs.contains(&iif),
                        "({source},{group}) forwards back to {iif}"
                    );
                    self.mfc
                        .insert((source, group), (iif, oifs.into_iter().collect()));
                }
                ForwarderAction::DelMfe { source, group, .. } => {
                    assert!(
                        self.mfc.remove(&(source, group)).is_some(),
                        "DelMfe of ({source},{group})"
                    );
                }
            }
        }
    }
}

fn check(mgr: &Manager, kernel: &Kernel, now: u64) {
    let table: BTreeMap<(Ipv4Addr, Ipv4Addr), (u32, BTreeSet<u32>)> = mgr
        .mfe_table(now)
        .into_iter()
        .map(|m| {
            let oifs = m.oifs.iter().map(|o| o.ifindex).collect();
            ((m.source, m.group), (m.iif.ifindex, oifs))
        })
        .collect();
    assert_eq!(
        table, kernel.mfc,
        "the kernel's MFC differs from the manager's MFEs"
    );
}

fn run(calls: &[Call]) {
    let rpf = StaticRpf::new()
        .route(
            Ipv4Addr::new(192, 0, 2, 0),
            24,
            IFACES[0],
            Ipv4Addr::UNSPECIFIED,
        )
        .route(
            Ipv4Addr::new(198, 51, 100, 0),
            24,
            IFACES[1],
            Ipv4Addr::new(192, 0, 2, 254),
        );
    let mut mgr = Manager::new(Box::new(rpf));
    let mut kernel = Kernel::default();
    let mut now = 1_000 * SEC;
    let igmp = mgr
        .register(
            "igmp",
            ClientKind::Igmp,
            IGMP_PROTOCOL_ID,
            ComponentId(0),
            Box::new(Scripted { style: 0 }),
        )
        .expect("IGMP registers");
    let mut handles: [Option<ProtocolHandle>; 3] = [None; 3];
    let mut traffic: u64 = 0;
    for c in calls {
        let _ = match *c {
            Call::Register(p) => mgr
                .register(
                    &format!("p{p}"),
                    ClientKind::Routing,
                    ProtocolId(100 + u32::from(p)),
                    ComponentId(0),
                    Box::new(Scripted { style: p * 3 + 1 }),
                )
                .map(|h| handles[usize::from(p)] = Some(h)),
            Call::Deregister(p) => match handles[usize::from(p)] {
                Some(h) => mgr.deregister(h).map(|()| handles[usize::from(p)] = None),
                None => Ok(()),
            },
            Call::Take(p, i) | Call::Release(p, i) => {
                let h = if p == 3 {
                    Some(igmp)
                } else {
                    handles[usize::from(p)]
                };
                match h {
                    Some(h) if matches!(c, Call::Take(..)) => {
                        mgr.take_interface_ownership(now, h, IfKey::new(IFACES[i]))
                    }
                    Some(h) => mgr.release_interface_ownership(now, h, IfKey::new(IFACES[i])),
                    None => Ok(()),
                }
            }
            Call::Membership(p, s, g, i, add, f) => {
                let h = if p == 3 {
                    Some(igmp)
                } else {
                    handles[usize::from(p)]
                };
                let sg = Sg {
                    source: s.map(source),
                    group: g.map(group),
                };
                let flags = match f {
                    1 => MembershipFlags::JOIN_STATE,
                    2 => MembershipFlags::FORWARD_STATE,
                    _ => MembershipFlags::JOIN_STATE | MembershipFlags::FORWARD_STATE,
                };
                match h {
                    Some(h) if add => mgr.add_membership(now, h, sg, IfKey::new(IFACES[i]), flags),
                    Some(h) => mgr.delete_membership(now, h, sg, IfKey::new(IFACES[i]), flags),
                    None => Ok(()),
                }
            }
            Call::Block(s, g, i, block) => {
                if block {
                    mgr.block_source(now, igmp, source(s), group(g), IfKey::new(IFACES[i]))
                } else {
                    mgr.unblock_source(now, igmp, source(s), group(g), IfKey::new(IFACES[i]))
                }
            }
            Call::NewPacket(s, g, i) => mgr
                .new_packet(now, source(s), group(g), IFACES[i], &[0x45; 20])
                .map(|_| ()),
            Call::WrongInterface(s, g, i) => {
                mgr.wrong_interface(now, source(s), group(g), IFACES[i], &[0x45; 20])
            }
            Call::Wait(secs, flowing) => {
                now += u64::from(secs) * SEC;
                if flowing {
                    traffic += 1;
                }
                let packets = traffic;
                mgr.on_deadline(now, |_, _| {
                    Some(MfeCounters {
                        packets,
                        bytes: packets * 100,
                        wrong_if: 0,
                    })
                });
                Ok(())
            }
        };
        kernel.apply(mgr.take_actions());
        let _ = mgr.take_events();
        let _ = mgr.take_errors();
        check(&mgr, &kernel, now);
    }
    // Every protocol releases what it owns: nothing is left in the kernel.
    for h in handles.iter().flatten().copied().chain([igmp]) {
        for ifindex in IFACES {
            let _ = mgr.release_interface_ownership(now, h, IfKey::new(ifindex));
        }
        kernel.apply(mgr.take_actions());
    }
    check(&mgr, &kernel, now);
    assert!(
        kernel.mfc.is_empty(),
        "MFEs left after every release: {:?}",
        kernel.mfc
    );
    assert!(
        kernel.vifs.is_empty(),
        "VIFs left after every release: {:?}",
        kernel.vifs
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases()))]

    #[test]
    fn random_protocol_calls_upcalls_and_deadlines(calls in vec(call(), 1..80)) {
        run(&calls);
    }
}

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(512)
}
