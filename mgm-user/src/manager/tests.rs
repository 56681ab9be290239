//! The MGM rules as tables of cases, with recording handlers and the returned actions as the
//! fake kernel. Assertions are on exact sequences.
use super::igmp_bridge::{IgmpBridge, IgmpDelta, IgmpNotice, IgmpNotices};
use super::local::register_local;
use super::*;
use std::sync::{Arc, Mutex};

const S1: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 10);
const S2: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 20);
const S3: Ipv4Addr = Ipv4Addr::new(203, 0, 113, 5);
const G1: Ipv4Addr = Ipv4Addr::new(239, 1, 1, 1);
const G2: Ipv4Addr = Ipv4Addr::new(239, 2, 2, 2);
const SEC: u64 = 1_000_000_000;
const J: MembershipFlags = MembershipFlags::JOIN_STATE;

fn ifk(i: u32) -> IfKey {
    IfKey::new(i)
}

/// What a recording handler does besides recording.
#[derive(Default)]
struct Behaviour {
    veto: Vec<IfKey>,
    rpf_in: Option<IfKey>,
    rpf_reject: bool,
    prune_timeout: Option<u32>,
    /// Mirror local joins/leaves into own memberships (like `local`).
    mirror_local: bool,
    /// On a join alert, queue these calls.
    on_join_alert: Vec<QueuedCall>,
    /// IGMP: memberships to replay through the context on enable.
    replay: Vec<(Sg, IfKey)>,
}

type Log = Arc<Mutex<Vec<String>>>;

struct Rec {
    name: &'static str,
    log: Log,
    b: Arc<Mutex<Behaviour>>,
}

impl Rec {
    fn rec(&self, s: String) {
        self.log
            .lock()
            .unwrap()
            .push(format!("{} {}", self.name, s));
    }
}

impl ProtocolHandler for Rec {
    fn rpf(&mut self, ctx: &mut CallbackContext<'_>, req: &mut RpfRequest<'_>) -> RpfVerdict {
        // Reading the manager from inside a callback is allowed.
        let _ = ctx.view().protocol_on_interface(req.in_iface);
        self.rec(format!(
            "rpf {} arrival={} in={}",
            Sg::sg(req.source, req.group),
            req.arrival,
            req.in_iface
        ));
        let b = self.b.lock().unwrap();
        if let Some(i) = b.rpf_in {
            req.in_iface = i;
        }
        if b.rpf_reject {
            RpfVerdict::Reject
        } else {
            RpfVerdict::Accept
        }
    }
    fn creation_alert(
        &mut self,
        _ctx: &mut CallbackContext<'_>,
        source: Ipv4Addr,
        group: Ipv4Addr,
        in_iface: IfKey,
        oifs: &mut [CreationIf],
    ) {
        let list: Vec<String> = oifs
            .iter()
            .map(|o| format!("{}{}", o.iface, if o.igmp { "+igmp" } else { "" }))
            .collect();
        self.rec(format!(
            "creation {} in={} oifs=[{}]",
            Sg::sg(source, group),
            in_iface,
            list.join(",")
        ));
        let b = self.b.lock().unwrap();
        for o in oifs.iter_mut() {
            if b.veto.contains(&o.iface) {
                o.enabled = false;
            }
        }
    }
    fn join_alert(&mut self, ctx: &mut CallbackContext<'_>, sg: Sg, member_update: bool) {
        self.rec(format!("join {sg} update={member_update}"));
        for c in self.b.lock().unwrap().on_join_alert.drain(..) {
            ctx.queue(c);
        }
    }
    fn prune_alert(&mut self, _ctx: &mut CallbackContext<'_>, a: &PruneAlert, t: &mut u32) {
        self.rec(format!(
            "prune {} {} delete={}",
            a.sg, a.iface, a.member_delete
        ));
        if let Some(v) = self.b.lock().unwrap().prune_timeout {
            *t = v;
        }
    }
    fn wrong_interface(
        &mut self,
        _ctx: &mut CallbackContext<'_>,
        source: Ipv4Addr,
        group: Ipv4Addr,
        iface: IfKey,
        _header: &[u8],
    ) {
        self.rec(format!("wrong {} {}", Sg::sg(source, group), iface));
    }
    fn local_join(&mut self, ctx: &mut CallbackContext<'_>, sg: Sg, iface: IfKey) {
        self.rec(format!("local_join {sg} {iface}"));
        if self.b.lock().unwrap().mirror_local {
            ctx.add_membership(sg, iface, J);
        }
    }
    fn local_leave(&mut self, ctx: &mut CallbackContext<'_>, sg: Sg, iface: IfKey) {
        self.rec(format!("local_leave {sg} {iface}"));
        if self.b.lock().unwrap().mirror_local {
            ctx.delete_membership(sg, iface, J);
        }
    }
    fn disable_igmp(&mut self, _ctx: &mut CallbackContext<'_>, iface: IfKey) {
        self.rec(format!("disable {iface}"));
    }
    fn enable_igmp(&mut self, ctx: &mut CallbackContext<'_>, iface: IfKey) {
        self.rec(format!("enable {iface}"));
        for (sg, i) in self.b.lock().unwrap().replay.iter() {
            if *i == iface {
                ctx.add_membership(*sg, *i, J);
            }
        }
    }
}

struct H {
    m: Manager,
    log: Log,
    now: u64,
    next_id: u32,
}

impl H {
    /// RPF: 192.0.2.0/24 via if1, 203.0.113.0/24 via if2.
    fn new() -> H {
        let rpf = StaticRpf::new()
            .route(Ipv4Addr::new(192, 0, 2, 0), 24, 1, Ipv4Addr::UNSPECIFIED)
            .route(Ipv4Addr::new(203, 0, 113, 0), 24, 2, Ipv4Addr::UNSPECIFIED);
        H {
            m: Manager::new(Box::new(rpf)),
            log: Log::default(),
            now: 1_000 * SEC,
            next_id: 1,
        }
    }
    fn reg(
        &mut self,
        name: &'static str,
        kind: ClientKind,
    ) -> (ProtocolHandle, Arc<Mutex<Behaviour>>) {
        let b = Arc::new(Mutex::new(Behaviour::default()));
        let id = self.next_id;
        self.next_id += 1;
        let h = self
            .m
            .register(
                name,
                kind,
                ProtocolId(id),
                ComponentId(0),
                Box::new(Rec {
                    name,
                    log: self.log.clone(),
                    b: b.clone(),
                }),
            )
            .unwrap();
        (h, b)
    }
    fn with_rpf(rpf: Box<dyn RpfLookup>) -> H {
        H {
            m: Manager::new(rpf),
            log: Log::default(),
            now: 1_000 * SEC,
            next_id: 1,
        }
    }
    fn routing(&mut self, name: &'static str) -> (ProtocolHandle, Arc<Mutex<Behaviour>>) {
        self.reg(name, ClientKind::Routing)
    }
    fn igmp(&mut self, name: &'static str) -> (ProtocolHandle, Arc<Mutex<Behaviour>>) {
        self.reg(name, ClientKind::Igmp)
    }
    fn take(&mut self, h: ProtocolHandle, ifs: &[u32]) {
        for i in ifs {
            self.m
                .take_interface_ownership(self.now, h, ifk(*i))
                .unwrap();
        }
    }
    fn add(&mut self, h: ProtocolHandle, sg: Sg, i: u32) -> MgmResult<()> {
        self.m.add_membership(self.now, h, sg, ifk(i), J)
    }
    fn del(&mut self, h: ProtocolHandle, sg: Sg, i: u32) -> MgmResult<()> {
        self.m.delete_membership(self.now, h, sg, ifk(i), J)
    }
    fn pkt(&mut self, s: Ipv4Addr, g: Ipv4Addr, arrival: u32) -> MgmResult<()> {
        self.m.new_packet(self.now, s, g, arrival, &[0x45])
    }
    fn log(&mut self) -> Vec<String> {
        std::mem::take(&mut *self.log.lock().unwrap())
    }
    fn clear(&mut self) {
        self.log();
        self.m.take_actions();
        self.m.take_events();
    }
    fn events(&mut self) -> Vec<String> {
        self.m
            .take_events()
            .into_iter()
            .map(|e| {
                format!(
                    "{} {} {} {}",
                    e.kind.as_str(),
                    e.protocol,
                    e.interface.map(|i| i.to_string()).unwrap_or("-".into()),
                    Sg {
                        source: e.source,
                        group: e.group
                    }
                )
            })
            .collect()
    }
    fn oifs(&self, s: Ipv4Addr, g: Ipv4Addr) -> Vec<u32> {
        self.m
            .mfe(self.now, s, g)
            .unwrap()
            .oifs
            .iter()
            .map(|i| i.ifindex)
            .collect()
    }
}

fn set(source: Ipv4Addr, group: Ipv4Addr, iif: u32, oifs: &[u32]) -> ForwarderAction {
    ForwarderAction::SetMfe {
        source,
        group,
        iif,
        oifs: oifs.to_vec(),
    }
}

fn strs(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

// ---- registration and ownership ------------------------------------------------------------

#[test]
fn registration_rules() {
    let mut h = H::new();
    let (a, _) = h.routing("A");
    let dup = h.m.register(
        "A2",
        ClientKind::Routing,
        ProtocolId(1),
        ComponentId(0),
        Box::new(local::LocalProtocol),
    );
    assert_eq!(dup.unwrap_err(), MgmError::AlreadyExists);
    // Same protocol id, other component: a second instance is fine.
    let inst = h.m.register(
        "A#1",
        ClientKind::Routing,
        ProtocolId(1),
        ComponentId(1),
        Box::new(local::LocalProtocol),
    );
    assert!(inst.is_ok());
    h.take(a, &[1]);
    assert_eq!(h.m.deregister(a), Err(MgmError::CanNotComplete));
    h.m.release_interface_ownership(h.now, a, ifk(1)).unwrap();
    assert_eq!(h.m.deregister(a), Ok(()));
    // Stale handle.
    assert_eq!(h.m.deregister(a), Err(MgmError::InvalidParameter));
    assert_eq!(
        h.m.take_interface_ownership(h.now, a, ifk(1)),
        Err(MgmError::InvalidParameter)
    );
}

#[test]
fn ownership_conflicts_table() {
    use ClientKind::*;
    // (first owner kind, second owner kind, result of the second take, owner reported)
    let cases = [
        (Routing, Routing, Err(MgmError::AlreadyExists), "A"),
        (Routing, Igmp, Ok(()), "A"),
        (Igmp, Routing, Ok(()), "B"),
        (Igmp, Igmp, Err(MgmError::AlreadyExists), "A"),
    ];
    for (first, second, want, owner) in cases {
        let mut h = H::new();
        let (a, _) = h.reg("A", first);
        let (b, _) = h.reg("B", second);
        h.take(a, &[5]);
        assert_eq!(
            h.m.take_interface_ownership(h.now, b, ifk(5)),
            want,
            "{first:?} then {second:?}"
        );
        let (pid, _) = h.m.protocol_on_interface(ifk(5)).unwrap();
        let want_pid = if owner == "A" { 1 } else { 2 };
        assert_eq!(pid, ProtocolId(want_pid), "{first:?} then {second:?}");
    }
    // Same protocol twice, unknown interface, other owner's interface.
    let mut h = H::new();
    let (a, _) = h.routing("A");
    let (b, _) = h.routing("B");
    h.take(a, &[1]);
    assert_eq!(
        h.m.take_interface_ownership(h.now, a, ifk(1)),
        Err(MgmError::AlreadyExists)
    );
    assert_eq!(h.m.protocol_on_interface(ifk(9)), Err(MgmError::NotFound));
    assert_eq!(
        h.m.release_interface_ownership(h.now, a, ifk(9)),
        Err(MgmError::InvalidParameter)
    );
    assert_eq!(
        h.m.release_interface_ownership(h.now, b, ifk(1)),
        Err(MgmError::InvalidParameter)
    );
    // Extended interface IDs: another next hop on the same ifindex is another interface.
    let p2mp = IfKey::with_next_hop(1, Ipv4Addr::new(198, 51, 100, 7));
    assert_eq!(h.m.take_interface_ownership(h.now, b, p2mp), Ok(()));
}

#[test]
fn membership_parameter_checks() {
    let mut h = H::new();
    let (a, _) = h.routing("A");
    let (b, _) = h.routing("B");
    h.take(a, &[1]);
    h.take(b, &[2]);
    let g = Sg::star_g(G1);
    let cases: Vec<(&str, MgmResult<()>, MgmError)> = vec![
        ("add unknown if", h.add(a, g, 7), MgmError::NotFound),
        ("add other's if", h.add(a, g, 2), MgmError::InvalidParameter),
        ("del other's if", h.del(a, g, 2), MgmError::InvalidParameter),
        ("del unknown if", h.del(a, g, 7), MgmError::NotFound),
        ("del missing", h.del(a, g, 1), MgmError::NotFound),
        (
            "(S,*)",
            h.add(
                a,
                Sg {
                    source: Some(S1),
                    group: None,
                },
                1,
            ),
            MgmError::InvalidParameter,
        ),
        (
            "unicast group",
            h.add(a, Sg::star_g(Ipv4Addr::new(10, 0, 0, 1)), 1),
            MgmError::InvalidParameter,
        ),
        (
            "no flags",
            h.m.add_membership(h.now, a, g, ifk(1), MembershipFlags(0)),
            MgmError::InvalidParameter,
        ),
    ];
    for (what, got, want) in cases {
        assert_eq!(got, Err(want), "{what}");
    }
    assert_eq!(h.add(a, g, 1), Ok(()));
    assert_eq!(h.add(a, g, 1), Ok(()), "re-add is a no-op");
    assert_eq!(h.del(a, g, 1), Ok(()));
}

// ---- join/prune alert fan-out ----------------------------------------------------------------

#[test]
fn star_g_alert_fanout_one_two_three_protocols() {
    // (number of protocols, steps (protocol index, add?), expected log per step)
    type Step = (usize, bool, &'static [&'static str]);
    let g = "(*,239.1.1.1)";
    let _ = g;
    let cases: Vec<(usize, Vec<Step>)> = vec![
        (1, vec![(0, true, &[]), (0, false, &[])]),
        (
            2,
            vec![
                (0, true, &["B join (*,239.1.1.1) update=true"]),
                (1, true, &["A join (*,239.1.1.1) update=true"]),
                (1, false, &["A prune (*,239.1.1.1) if3 delete=true"]),
                (0, false, &["B prune (*,239.1.1.1) if2 delete=true"]),
            ],
        ),
        (
            3,
            vec![
                // 1st client: everybody else; 2nd: the first only; 3rd: nobody.
                (
                    0,
                    true,
                    &[
                        "B join (*,239.1.1.1) update=true",
                        "C join (*,239.1.1.1) update=true",
                    ],
                ),
                (1, true, &["A join (*,239.1.1.1) update=true"]),
                (2, true, &[]),
                // Leaving: 3 → 2 clients: nobody; 2 → 1: the remaining one; 1 → 0: all others.
                (2, false, &[]),
                (0, false, &["B prune (*,239.1.1.1) if2 delete=true"]),
                (
                    1,
                    false,
                    &[
                        "A prune (*,239.1.1.1) if3 delete=true",
                        "C prune (*,239.1.1.1) if3 delete=true",
                    ],
                ),
            ],
        ),
    ];
    for (n, steps) in cases {
        let mut h = H::new();
        let names = ["A", "B", "C"];
        let hs: Vec<ProtocolHandle> = (0..n)
            .map(|i| {
                let (p, _) = h.routing(names[i]);
                h.take(p, &[2 + i as u32]);
                p
            })
            .collect();
        h.clear();
        for (k, (i, add, want)) in steps.into_iter().enumerate() {
            let r = if add {
                h.add(hs[i], Sg::star_g(G1), 2 + i as u32)
            } else {
                h.del(hs[i], Sg::star_g(G1), 2 + i as u32)
            };
            assert_eq!(r, Ok(()));
            assert_eq!(h.log(), strs(want), "{n} protocols, step {k}");
        }
    }
}

#[test]
fn second_interface_of_a_client_does_not_alert() {
    let mut h = H::new();
    let (a, _) = h.routing("A");
    let (_b, _) = h.routing("B");
    h.take(a, &[2, 3]);
    h.add(a, Sg::star_g(G1), 2).unwrap();
    assert_eq!(h.log(), strs(&["B join (*,239.1.1.1) update=true"]));
    h.add(a, Sg::star_g(G1), 3).unwrap();
    h.del(a, Sg::star_g(G1), 2).unwrap();
    assert_eq!(h.log(), Vec::<String>::new());
    h.del(a, Sg::star_g(G1), 3).unwrap();
    assert_eq!(h.log(), strs(&["B prune (*,239.1.1.1) if3 delete=true"]));
}

#[test]
fn sg_alerts_go_only_to_the_rpf_owner() {
    let mut h = H::new();
    let (a, _) = h.routing("A"); // owns if1, the RPF interface towards 192.0.2.0/24
    let (b, _) = h.routing("B");
    let (c, _) = h.routing("C");
    h.take(a, &[1]);
    h.take(b, &[3]);
    h.take(c, &[4]);
    let sg = Sg::sg(S1, G1);
    h.add(b, sg, 3).unwrap();
    assert_eq!(
        h.log(),
        strs(&["A join (192.0.2.10,239.1.1.1) update=true"])
    );
    h.add(c, sg, 4).unwrap();
    assert_eq!(h.log(), Vec::<String>::new());
    h.del(c, sg, 4).unwrap();
    assert_eq!(h.log(), Vec::<String>::new());
    h.del(b, sg, 3).unwrap();
    assert_eq!(
        h.log(),
        strs(&["A prune (192.0.2.10,239.1.1.1) if3 delete=true"])
    );
    // The RPF owner itself joining gets no alert.
    h.add(a, sg, 1).unwrap();
    assert_eq!(h.log(), Vec::<String>::new());
}

// ---- IGMP, local join/leave -------------------------------------------------------------------

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
    assert_eq!(errs[0].error, MgmError::InvalidParameter);
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

// ---- take/release with IGMP: bracket, MFE cleanup, replay -------------------------------------

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
fn release_deletes_mfes_and_brackets_igmp() {
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
            "mfe_delete R if1 (192.0.2.10,239.1.1.1)",
            "mfe_delete R if2 (203.0.113.5,239.1.1.1)",
            "enable_igmp I if2 (*,*)",
            // The replay (queued in enable_igmp): IGMP alone on if2 is now a client of
            // (*,G) itself, the second one after R (if3): alert to the first, R.
            "join_alert R if2 (*,239.1.1.1)",
        ])
    );
    assert_eq!(
        h.m.take_actions(),
        vec![
            ForwarderAction::DelMfe {
                source: S1,
                group: G1,
                iif: 1
            },
            ForwarderAction::DelMfe {
                source: S3,
                group: G1,
                iif: 2
            },
        ],
        "IGMP still owns if2: its VIF stays"
    );
    // The replay re-added IGMP's membership, effective now (no routing owner).
    let ms = h.m.memberships();
    assert!(ms
        .iter()
        .any(|m| m.protocol == "I" && m.interface == ifk(2) && m.effective));
    // A new packet gets if2 (IGMP alone) and if3 (R's mirror) in its OIL.
    h.pkt(S1, G1, 1).unwrap();
    assert_eq!(h.oifs(S1, G1), vec![2, 3]);
    // IGMP releases if2: last owner; the MFE using it goes and so does the VIF.
    h.clear();
    h.m.release_interface_ownership(h.now, i, ifk(2)).unwrap();
    assert_eq!(
        h.m.take_actions(),
        vec![
            ForwarderAction::DelMfe {
                source: S1,
                group: G1,
                iif: 1
            },
            ForwarderAction::DelVif { vif: 1, ifindex: 2 },
        ]
    );
    // R releases if3 where IGMP still runs: IGMP gets disable/enable; R's memberships go.
    h.clear();
    h.m.release_interface_ownership(h.now, r, ifk(3)).unwrap();
    assert_eq!(h.log(), strs(&["I disable if3", "I enable if3"]));
    assert!(h.m.memberships().is_empty(), "{:?}", h.m.memberships());
}

// ---- MFE creation -----------------------------------------------------------------------------

#[test]
fn mfe_creation_order_veto_and_actions() {
    let mut h = H::new();
    let (a, _) = h.routing("A");
    let (b, bb) = h.routing("B");
    let (i, _) = h.igmp("I");
    h.take(a, &[1, 2]);
    h.take(b, &[3, 4]);
    h.take(i, &[4]);
    assert_eq!(
        h.m.take_actions(),
        vec![
            ForwarderAction::AddVif { vif: 0, ifindex: 1 },
            ForwarderAction::AddVif { vif: 1, ifindex: 2 },
            ForwarderAction::AddVif { vif: 2, ifindex: 3 },
            ForwarderAction::AddVif { vif: 3, ifindex: 4 },
        ]
    );
    h.add(a, Sg::star_g(G1), 2).unwrap();
    h.add(b, Sg::star_g(G1), 3).unwrap();
    h.add(b, Sg::star_g(G1), 4).unwrap();
    bb.lock().unwrap().veto = vec![ifk(4)];
    h.clear();
    h.pkt(S1, G1, 1).unwrap();
    assert_eq!(
        h.log(),
        strs(&[
            "A rpf (192.0.2.10,239.1.1.1) arrival=if1 in=if1",
            "A creation (192.0.2.10,239.1.1.1) in=if1 oifs=[if2]",
            "B creation (192.0.2.10,239.1.1.1) in=if1 oifs=[if3,if4+igmp]",
            "A join (192.0.2.10,239.1.1.1) update=false",
        ])
    );
    assert_eq!(
        h.events(),
        strs(&[
            "rpf A if1 (192.0.2.10,239.1.1.1)",
            "creation_alert A if1 (192.0.2.10,239.1.1.1)",
            "creation_alert B if1 (192.0.2.10,239.1.1.1)",
            "mfe_add A if1 (192.0.2.10,239.1.1.1)",
            "join_alert A if1 (192.0.2.10,239.1.1.1)",
        ])
    );
    assert_eq!(h.m.take_actions(), vec![set(S1, G1, 1, &[2, 3])]);
    // The veto sticks across membership changes.
    h.del(b, Sg::star_g(G1), 4).unwrap();
    h.add(b, Sg::star_g(G1), 4).unwrap();
    assert_eq!(h.oifs(S1, G1), vec![2, 3]);
    // A packet for an existing MFE (kernel lost it) re-installs it without callbacks.
    h.clear();
    h.pkt(S1, G1, 1).unwrap();
    assert_eq!(h.log(), Vec::<String>::new());
    assert_eq!(h.m.take_actions(), vec![set(S1, G1, 1, &[2, 3])]);
}

#[test]
fn rpf_cases() {
    // (rpf override, reject, arrival, expected iif, expected oifs)
    type Case = (Option<u32>, bool, u32, u32, &'static [u32]);
    let cases: [Case; 4] = [
        (None, false, 1, 1, &[2, 3]),
        (Some(2), false, 1, 2, &[1, 3]), // override: if2 in, so if2 leaves the OIL
        (None, true, 1, 1, &[]),         // refused: negative entry
        (Some(9), false, 3, 3, &[]),     // override to an unmanaged interface: negative
    ];
    for (k, (ovr, reject, arrival, iif, oifs)) in cases.into_iter().enumerate() {
        let mut h = H::new();
        let (a, ab) = h.routing("A");
        h.take(a, &[1, 2, 3]);
        for i in [1, 2, 3] {
            h.add(a, Sg::star_g(G1), i).unwrap();
        }
        {
            let mut b = ab.lock().unwrap();
            b.rpf_in = ovr.map(ifk);
            b.rpf_reject = reject;
        }
        h.clear();
        h.pkt(S1, G1, arrival).unwrap();
        assert_eq!(h.m.take_actions(), vec![set(S1, G1, iif, oifs)], "case {k}");
        let info = h.m.mfe(h.now, S1, G1).unwrap();
        assert_eq!(info.iif, ifk(iif), "case {k}");
        assert_eq!(info.negative, oifs.is_empty(), "case {k}");
        assert_eq!(
            info.upstream, S1,
            "case {k}: on-link source is its own upstream"
        );
    }
    // No route to the source: negative entry on the arrival interface, no RPF callback.
    let mut h = H::new();
    let (a, _) = h.routing("A");
    h.take(a, &[1, 2]);
    h.add(a, Sg::star_g(G1), 2).unwrap();
    h.clear();
    h.pkt(Ipv4Addr::new(198, 18, 0, 1), G1, 1).unwrap();
    assert_eq!(
        h.log(),
        strs(&["A prune (198.18.0.1,239.1.1.1) if1 delete=false"])
    );
    assert_eq!(
        h.m.take_actions(),
        vec![set(Ipv4Addr::new(198, 18, 0, 1), G1, 1, &[])]
    );
}

#[test]
fn membership_change_updates_every_affected_mfe_at_once() {
    let mut h = H::new();
    let (l, _) = h.routing("A");
    h.take(l, &[1, 2, 3]);
    for (s, g) in [(S1, G1), (S2, G1), (S1, G2)] {
        h.pkt(s, g, 1).unwrap();
    }
    h.clear();
    h.add(l, Sg::star_g(G1), 2).unwrap();
    assert_eq!(
        h.m.take_actions(),
        vec![set(S1, G1, 1, &[2]), set(S2, G1, 1, &[2])]
    );
    h.add(l, Sg::STAR_STAR, 3).unwrap();
    assert_eq!(
        h.m.take_actions(),
        vec![
            set(S1, G1, 1, &[2, 3]),
            set(S2, G1, 1, &[2, 3]),
            set(S1, G2, 1, &[3])
        ]
    );
    h.add(l, Sg::sg(S2, G1), 2).unwrap();
    assert_eq!(h.m.take_actions(), vec![], "if2 already in (S2,G1)");
    h.del(l, Sg::star_g(G1), 2).unwrap();
    assert_eq!(
        h.m.take_actions(),
        vec![set(S1, G1, 1, &[3])],
        "(S2,G1) keeps if2"
    );
    // FORWARD_STATE: only the OIL of the existing MFE, no membership.
    h.m.add_membership(
        h.now,
        l,
        Sg::sg(S1, G2),
        ifk(2),
        MembershipFlags::FORWARD_STATE,
    )
    .unwrap();
    assert_eq!(h.m.take_actions(), vec![set(S1, G2, 1, &[2, 3])]);
    assert_eq!(
        h.m.groups(EnumType::AllSources).len(),
        2,
        "no (S1,G2) membership"
    );
    h.m.delete_membership(
        h.now,
        l,
        Sg::sg(S1, G2),
        ifk(3),
        MembershipFlags::FORWARD_STATE,
    )
    .unwrap();
    assert_eq!(h.m.take_actions(), vec![set(S1, G2, 1, &[2])]);
}

#[test]
fn blocked_sources_leave_the_oil() {
    let mut h = H::new();
    let l = register_local(&mut h.m).unwrap();
    let (i, _) = h.igmp("I");
    h.take(l, &[1, 2, 3]);
    h.take(i, &[1, 2, 3]);
    h.add(i, Sg::star_g(G1), 2).unwrap();
    h.add(i, Sg::star_g(G1), 3).unwrap();
    h.m.block_source(h.now, i, S1, G1, ifk(3)).unwrap();
    h.pkt(S1, G1, 1).unwrap();
    h.pkt(S2, G1, 1).unwrap();
    assert_eq!(h.oifs(S1, G1), vec![2]);
    assert_eq!(h.oifs(S2, G1), vec![2, 3]);
    h.clear();
    h.m.block_source(h.now, i, S2, G1, ifk(2)).unwrap();
    assert_eq!(h.m.take_actions(), vec![set(S2, G1, 1, &[3])]);
    h.m.unblock_source(h.now, i, S1, G1, ifk(3)).unwrap();
    assert_eq!(h.m.take_actions(), vec![set(S1, G1, 1, &[2, 3])]);
    assert_eq!(
        h.m.unblock_source(h.now, i, S1, G1, ifk(3)),
        Err(MgmError::NotFound)
    );
    // An explicit (S,G) membership wins over a block.
    h.add(i, Sg::sg(S2, G1), 2).unwrap();
    assert_eq!(h.m.take_actions(), vec![set(S2, G1, 1, &[2, 3])]);
}

#[test]
fn mfe_lifetime_default_prune_timeout_traffic_and_expiry() {
    let mut h = H::new();
    let (a, ab) = h.routing("A");
    h.take(a, &[1, 2]);
    h.add(a, Sg::star_g(G1), 2).unwrap();
    let t0 = h.now;
    h.pkt(S1, G1, 1).unwrap();
    assert_eq!(h.m.next_deadline(), Some(t0 + 900 * SEC));
    assert_eq!(h.m.mfe(t0, S1, G1).unwrap().timeout_s, 900);
    // OIL empties: the prune alert sets 30 s.
    ab.lock().unwrap().prune_timeout = Some(30);
    h.now += SEC;
    h.del(a, Sg::star_g(G1), 2).unwrap();
    let t1 = h.now;
    assert_eq!(h.m.next_deadline(), Some(t1 + 30 * SEC));
    let info = h.m.mfe(t1 + 10 * SEC, S1, G1).unwrap();
    assert_eq!((info.timeout_s, info.expires_in_ms), (30, Some(20_000)));
    h.clear();
    // Traffic at the deadline extends it.
    let c1 = MfeCounters {
        packets: 5,
        bytes: 500,
        wrong_if: 1,
    };
    h.m.on_deadline(t1 + 30 * SEC, |_, _| Some(c1));
    assert_eq!(h.m.take_actions(), vec![]);
    assert_eq!(h.m.next_deadline(), Some(t1 + 60 * SEC));
    let info = h.m.mfe(t1 + 30 * SEC, S1, G1).unwrap();
    assert_eq!((info.packets, info.bytes, info.wrong_if), (5, 500, 1));
    // Before the deadline nothing happens; at it, no new packets: deleted.
    h.m.on_deadline(t1 + 59 * SEC, |_, _| panic!("not due"));
    h.m.on_deadline(t1 + 60 * SEC, |_, _| Some(c1));
    assert_eq!(
        h.m.take_actions(),
        vec![ForwarderAction::DelMfe {
            source: S1,
            group: G1,
            iif: 1
        }]
    );
    assert_eq!(h.m.next_deadline(), None);
    assert_eq!(h.m.mfe(t1, S1, G1), Err(MgmError::NotFound));
    // on_traffic pushes the deadline too; timeout 0 never ages.
    h.pkt(S1, G1, 1).unwrap();
    h.m.on_traffic(h.now + 100 * SEC, S1, G1, c1).unwrap();
    assert_eq!(h.m.next_deadline(), Some(h.now + 100 * SEC + 30 * SEC));
    h.m.set_mfe_timeout(h.now, a, S1, G1, 0).unwrap();
    assert_eq!(h.m.next_deadline(), None);
    assert_eq!(h.m.mfe(h.now, S1, G1).unwrap().expires_in_ms, None);
    h.m.set_mfe_upstream(h.now, a, S1, G1, Ipv4Addr::new(192, 0, 2, 254))
        .unwrap();
    assert_eq!(
        h.m.mfe(h.now, S1, G1).unwrap().upstream,
        Ipv4Addr::new(192, 0, 2, 254)
    );
    assert_eq!(
        h.m.set_mfe_upstream(h.now, a, S2, G1, S1),
        Err(MgmError::NotFound)
    );
}

#[test]
fn wrong_interface_goes_to_the_owner_of_the_arrival_interface() {
    let mut h = H::new();
    let (a, _) = h.routing("A");
    let (b, _) = h.routing("B");
    h.take(a, &[1]);
    h.take(b, &[2]);
    h.pkt(S1, G1, 1).unwrap();
    h.clear();
    h.m.wrong_interface(h.now, S1, G1, 2, &[]).unwrap();
    assert_eq!(h.log(), strs(&["B wrong (192.0.2.10,239.1.1.1) if2"]));
    assert_eq!(
        h.events(),
        strs(&["wrong_interface B if2 (192.0.2.10,239.1.1.1)"])
    );
    assert_eq!(
        h.m.wrong_interface(h.now, S1, G1, 9, &[]),
        Err(MgmError::NotFound)
    );
}

#[test]
fn mfe_walk_is_by_group_then_source() {
    let mut h = H::new();
    let (a, _) = h.routing("A");
    h.take(a, &[1, 2]);
    let keys = [(S2, G2), (S1, G2), (S2, G1), (S3, G1), (S1, G1)];
    for (s, g) in keys {
        h.pkt(s, g, 1).unwrap();
    }
    let want = [(S1, G1), (S2, G1), (S3, G1), (S1, G2), (S2, G2)];
    let (first, more) = h.m.mfe_first(h.now, 2);
    assert!(more);
    let mut got: Vec<(Ipv4Addr, Ipv4Addr)> = first.iter().map(|m| (m.source, m.group)).collect();
    let mut last = *got.last().unwrap();
    loop {
        let (next, more) = h.m.mfe_next(h.now, last.0, last.1, 2);
        got.extend(next.iter().map(|m| (m.source, m.group)));
        last = *got.last().unwrap();
        if !more {
            break;
        }
    }
    assert_eq!(got, want);
    assert_eq!(h.m.mfe_table(h.now).len(), 5);
}

#[test]
fn vifs_follow_ownership_and_the_limit_is_named() {
    let mut h = H::new();
    let (a, _) = h.routing("A");
    let (i, _) = h.igmp("I");
    for k in 1..=32 {
        h.take(a, &[k]);
    }
    h.take(i, &[1]);
    assert_eq!(h.m.vifs().len(), 32);
    let err = h.m.take_interface_ownership(h.now, a, ifk(33)).unwrap_err();
    assert_eq!(
        err,
        MgmError::VifLimit {
            ifindex: 33,
            limit: 32
        }
    );
    assert!(err.to_string().contains("32"), "{err}");
    // Another next hop on an ifindex with a VIF needs no new VIF.
    let p2mp = IfKey::with_next_hop(5, Ipv4Addr::new(198, 51, 100, 9));
    h.m.take_interface_ownership(h.now, a, p2mp).unwrap();
    h.m.take_actions();
    h.m.release_interface_ownership(h.now, a, ifk(1)).unwrap();
    assert_eq!(h.m.take_actions(), vec![], "IGMP still owns if1");
    h.m.release_interface_ownership(h.now, i, ifk(1)).unwrap();
    assert_eq!(
        h.m.take_actions(),
        vec![ForwarderAction::DelVif { vif: 0, ifindex: 1 }]
    );
    h.m.take_interface_ownership(h.now, a, ifk(33)).unwrap();
    assert_eq!(
        h.m.take_actions(),
        vec![ForwarderAction::AddVif {
            vif: 0,
            ifindex: 33
        }]
    );
}

#[test]
fn group_enumeration() {
    let mut h = H::new();
    let (a, _) = h.routing("A");
    h.take(a, &[1, 2]);
    h.add(a, Sg::sg(S1, G2), 1).unwrap();
    h.add(a, Sg::star_g(G1), 1).unwrap();
    h.add(a, Sg::star_g(G1), 2).unwrap();
    h.add(a, Sg::sg(S1, G1), 2).unwrap();
    let e =
        h.m.group_enumeration_start(a, EnumType::AllSources)
            .unwrap();
    let (rows, more) = h.m.group_enumeration_next(e, 2).unwrap();
    assert_eq!(rows.len(), 2);
    assert!(more);
    let (rest, more) = h.m.group_enumeration_next(e, 10).unwrap();
    assert!(!more);
    let mut all = rows;
    all.extend(rest);
    assert_eq!(all, vec![Sg::star_g(G1), Sg::sg(S1, G1), Sg::sg(S1, G2)]);
    h.m.group_enumeration_end(e).unwrap();
    assert_eq!(
        h.m.group_enumeration_next(e, 1),
        Err(MgmError::InvalidParameter)
    );
    assert_eq!(
        h.m.groups(EnumType::AnySource),
        vec![Sg::star_g(G1), Sg::star_g(G2)]
    );
}

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

#[test]
fn bench_entry_point_runs() {
    let start = std::time::Instant::now();
    let calls = bench::membership_churn(4, 50, 2, 4);
    assert_eq!(calls, 4 * 50 * 3 * 2);
    let dt = start.elapsed();
    eprintln!(
        "membership churn: {calls} calls in {dt:?} ({:.0}/s, {} build)",
        calls as f64 / dt.as_secs_f64(),
        if cfg!(debug_assertions) {
            "debug"
        } else {
            "release"
        }
    );
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
fn manager_is_send() {
    fn is_send<T: Send>() {}
    is_send::<Manager>();
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
        Err(MgmError::InvalidParameter)
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

/// An RPF view the test can change while the manager holds it (a route moving).
struct MovableRpf(Arc<Mutex<StaticRpf>>);

impl RpfLookup for MovableRpf {
    fn lookup(&mut self, source: Ipv4Addr) -> Option<RpfRoute> {
        self.0.lock().unwrap().lookup(source)
    }
}

#[test]
fn a_route_that_moved_to_the_arrival_interface_rebuilds_the_mfe() {
    let via = |ifindex| {
        StaticRpf::new().route(
            Ipv4Addr::new(192, 0, 2, 0),
            24,
            ifindex,
            Ipv4Addr::UNSPECIFIED,
        )
    };
    let routes = Arc::new(Mutex::new(via(1)));
    let mut h = H::with_rpf(Box::new(MovableRpf(routes.clone())));
    let (a, _) = h.routing("A");
    h.take(a, &[1, 2, 3]);
    h.add(a, Sg::star_g(G1), 3).unwrap();
    h.pkt(S1, G1, 1).unwrap();
    let m = h.m.mfe(h.now, S1, G1).unwrap();
    assert_eq!((m.iif, m.oifs.clone()), (ifk(1), vec![ifk(3)]));
    h.clear();

    // Same route, a stray packet on if2: reported to the owner, the MFE stays.
    h.m.wrong_interface(h.now, S1, G1, 2, &[]).unwrap();
    assert_eq!(h.m.mfe(h.now, S1, G1).unwrap().iif, ifk(1));
    assert!(h.m.take_actions().is_empty());
    h.clear();

    // The route towards S1 moves to if2 and the stream arrives there: rebuilt on if2, OIL kept.
    *routes.lock().unwrap() = via(2);
    h.m.wrong_interface(h.now, S1, G1, 2, &[]).unwrap();
    let m = h.m.mfe(h.now, S1, G1).unwrap();
    assert_eq!((m.iif, m.oifs.clone()), (ifk(2), vec![ifk(3)]));
    let kinds: Vec<String> = h
        .events()
        .into_iter()
        .map(|e| e.split(' ').next().unwrap_or("").to_string())
        .collect();
    assert_eq!(
        kinds,
        strs(&[
            "wrong_interface",
            "mfe_delete",
            "rpf",
            "creation_alert",
            "mfe_add",
            "join_alert"
        ])
    );
}

#[test]
fn wrong_interface_packets_do_not_keep_an_mfe_alive() {
    let mut h = H::new();
    let (a, _) = h.routing("A");
    h.take(a, &[1, 2]);
    h.add(a, Sg::star_g(G1), 2).unwrap();
    h.pkt(S1, G1, 1).unwrap();
    let expiry = h.m.next_deadline().unwrap();
    // Only wrong-interface packets since the last look: the MFE ages out.
    let counters = MfeCounters {
        packets: 50,
        bytes: 5000,
        wrong_if: 50,
    };
    h.m.on_deadline(expiry, |_, _| Some(counters));
    assert_eq!(h.m.mfe(expiry, S1, G1), Err(MgmError::NotFound));
}

#[test]
fn an_mfe_without_a_route_is_short_lived_and_rebuilt_once_the_route_exists() {
    let routes = Arc::new(Mutex::new(StaticRpf::new()));
    let mut h = H::with_rpf(Box::new(MovableRpf(routes.clone())));
    let (a, _) = h.routing("A");
    h.take(a, &[1, 2]);
    h.add(a, Sg::star_g(G1), 2).unwrap();
    // No route towards S1 yet: a negative entry, capped lifetime.
    h.pkt(S1, G1, 1).unwrap();
    let m = h.m.mfe(h.now, S1, G1).unwrap();
    assert!(m.negative && m.oifs.is_empty());
    assert_eq!(m.timeout_s, REJECTED_MFE_TIMEOUT_S);
    // The route appears; traffic keeps flowing into the negative entry, but it still expires.
    *routes.lock().unwrap() =
        StaticRpf::new().route(Ipv4Addr::new(192, 0, 2, 0), 24, 1, Ipv4Addr::UNSPECIFIED);
    let at = h.m.next_deadline().unwrap();
    assert_eq!(at, h.now + u64::from(REJECTED_MFE_TIMEOUT_S) * SEC);
    let busy = MfeCounters {
        packets: 500,
        bytes: 50_000,
        wrong_if: 0,
    };
    h.m.on_deadline(at, |_, _| Some(busy));
    assert_eq!(h.m.mfe(at, S1, G1), Err(MgmError::NotFound));
    // The next packet builds a real entry through RPF.
    h.now = at;
    h.pkt(S1, G1, 1).unwrap();
    let m = h.m.mfe(h.now, S1, G1).unwrap();
    assert!(!m.negative);
    assert_eq!((m.iif, m.oifs), (ifk(1), vec![ifk(2)]));
}

#[test]
fn an_rpf_override_is_not_undone_by_wrong_interface_reports() {
    let mut h = H::new(); // FIB: 192.0.2.0/24 via if1
    let (a, ab) = h.routing("A");
    h.take(a, &[1, 2, 3]);
    h.add(a, Sg::star_g(G1), 3).unwrap();
    ab.lock().unwrap().rpf_in = Some(ifk(2)); // the protocol wants S1 from if2
    h.pkt(S1, G1, 1).unwrap();
    h.m.add_membership(
        h.now,
        a,
        Sg::sg(S1, G1),
        ifk(1),
        MembershipFlags::FORWARD_STATE,
    )
    .unwrap();
    let before = h.m.mfe(h.now, S1, G1).unwrap();
    assert_eq!(
        (before.iif, before.oifs.clone()),
        (ifk(2), vec![ifk(1), ifk(3)])
    );
    h.clear();
    // A copy of the stream on if1, where the FIB points: reported, nothing rebuilt.
    h.m.wrong_interface(h.now, S1, G1, 1, &[]).unwrap();
    assert_eq!(
        h.events(),
        strs(&["wrong_interface A if1 (192.0.2.10,239.1.1.1)"])
    );
    assert!(h.m.take_actions().is_empty());
    assert_eq!(h.m.mfe(h.now, S1, G1).unwrap().oifs, before.oifs);
}

#[test]
fn a_forward_state_delete_is_lifted_by_a_later_join() {
    let mut h = H::new();
    let (a, _) = h.routing("A");
    h.take(a, &[1, 2]);
    h.add(a, Sg::star_g(G1), 2).unwrap();
    h.pkt(S1, G1, 1).unwrap();
    let both = MembershipFlags::JOIN_STATE | MembershipFlags::FORWARD_STATE;
    h.m.delete_membership(h.now, a, Sg::star_g(G1), ifk(2), both)
        .unwrap();
    assert!(h.m.mfe(h.now, S1, G1).unwrap().oifs.is_empty());
    h.add(a, Sg::star_g(G1), 2).unwrap();
    assert_eq!(h.m.mfe(h.now, S1, G1).unwrap().oifs, vec![ifk(2)]);
}

#[test]
fn a_rebuild_after_a_moved_route_keeps_forward_state_adds() {
    let via = |ifindex| {
        StaticRpf::new().route(
            Ipv4Addr::new(192, 0, 2, 0),
            24,
            ifindex,
            Ipv4Addr::UNSPECIFIED,
        )
    };
    let routes = Arc::new(Mutex::new(via(1)));
    let mut h = H::with_rpf(Box::new(MovableRpf(routes.clone())));
    let (a, _) = h.routing("A");
    h.take(a, &[1, 2, 3, 4]);
    h.add(a, Sg::star_g(G1), 3).unwrap();
    h.pkt(S1, G1, 1).unwrap();
    h.m.add_membership(
        h.now,
        a,
        Sg::sg(S1, G1),
        ifk(4),
        MembershipFlags::FORWARD_STATE,
    )
    .unwrap();
    *routes.lock().unwrap() = via(2);
    h.m.wrong_interface(h.now, S1, G1, 2, &[]).unwrap();
    let m = h.m.mfe(h.now, S1, G1).unwrap();
    assert_eq!((m.iif, m.oifs), (ifk(2), vec![ifk(3), ifk(4)]));
}
