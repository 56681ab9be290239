//! The MGM rules as tables of cases, with recording handlers and the returned actions as the
//! fake kernel. Assertions are on exact sequences. One module per topic; the recording handler
//! and the harness [`H`] are here.

mod alerts;
mod blocks;
mod callback_order;
mod churn;
mod context;
mod creation_alert;
mod enumeration;
mod igmp_client;
mod local_protocol;
mod mfe_bound;
mod mfe_lifetime;
mod ownership;
mod pending_answers;
mod release;
mod rpf;
mod static_entries;
mod walk_order;

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
    /// Answer RPF / creation alerts "pending" (asked elsewhere) while set.
    rpf_pending: bool,
    creation_pending: bool,
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
        if b.rpf_pending {
            RpfVerdict::Pending
        } else if b.rpf_reject {
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
    ) -> Answer {
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
        if b.creation_pending {
            Answer::Pending
        } else {
            Answer::Given
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
    fn pkt(&mut self, s: Ipv4Addr, g: Ipv4Addr, arrival: u32) -> MgmResult<NewPacket> {
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

/// An RPF view the test can change while the manager holds it (a route moving).
struct MovableRpf(Arc<Mutex<StaticRpf>>);

impl RpfLookup for MovableRpf {
    fn lookup(&mut self, source: Ipv4Addr) -> Option<RpfRoute> {
        self.0.lock().unwrap().lookup(source)
    }
}
