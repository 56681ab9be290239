//! Membership changes per second through `mgm_user::manager::Manager` into callbacks (the
//! target: ≥ 100 000/s with a no-op handler, so the manager is never a router's bottleneck). Pure, no kernel, no root; run in release
//! (`cargo bench -p mgm-user --bench manager`). Setup is outside the timed part; each scenario
//! runs 5 times and the median, min and max are printed.
//!
//! Scenarios (8 interfaces, 1000 groups, every round joins then leaves every group on
//! interfaces 2..=8, i.e. 14 000 membership calls a round):
//! - `igmp -> no-op owner`: the IGMP client adds/deletes (*,G); a routing protocol with a
//!   do-nothing handler owns the interfaces, so each call is one `local_join`/`local_leave`.
//! - `routing + alerts + MFE`: two routing protocols with no-op handlers; the one owning
//!   interfaces 1..=4 adds/deletes (*,G) on 2..=4 and the other on 5..=8, with an MFE (S,G)
//!   from interface 1 for every group: each call fans out join/prune alerts and updates an OIL
//!   (a `SetMfe` action).
//! - `igmp -> local + MFE` (what `mgm run` does): IGMP client and the built-in `local`; each
//!   IGMP call makes a `local_join`/`local_leave`, `local` queues its own membership call, the
//!   MFE's OIL is recomputed and a `SetMfe` action emitted; with and without the event record.
use mgm_user::manager::igmp_bridge::{IgmpBridge, IgmpNotices};
use mgm_user::manager::local::register_local;
use mgm_user::manager::{
    CallbackContext, ClientKind, ComponentId, IfKey, Manager, ManagerConfig, MembershipFlags,
    ProtocolHandle, ProtocolHandler, ProtocolId, PruneAlert, Sg, StaticRpf, IGMP_PROTOCOL_ID,
};
use std::net::Ipv4Addr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const IFACES: u32 = 8;
const GROUPS: u32 = 1000;
const ROUNDS: u32 = 10;
const RUNS: usize = 5;
const SOURCE: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 10);

/// A handler that does nothing but count its invocations (one relaxed atomic add).
struct Noop(Arc<AtomicU64>);

impl ProtocolHandler for Noop {
    fn join_alert(&mut self, _: &mut CallbackContext<'_>, _: Sg, _: bool) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }
    fn prune_alert(&mut self, _: &mut CallbackContext<'_>, _: &PruneAlert, _: &mut u32) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }
    fn local_join(&mut self, _: &mut CallbackContext<'_>, _: Sg, _: IfKey) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }
    fn local_leave(&mut self, _: &mut CallbackContext<'_>, _: Sg, _: IfKey) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }
}

fn group(g: u32) -> Ipv4Addr {
    Ipv4Addr::from(0xEF01_0000 | g)
}

fn manager(record_events: bool) -> Manager {
    let rpf = StaticRpf::new().route(Ipv4Addr::new(192, 0, 2, 0), 24, 1, Ipv4Addr::UNSPECIFIED);
    Manager::with_config(
        Box::new(rpf),
        ManagerConfig {
            record_events,
            ..ManagerConfig::default()
        },
    )
}

fn take_all(m: &mut Manager, h: ProtocolHandle, ifaces: impl Iterator<Item = u32>) {
    for i in ifaces {
        m.take_interface_ownership(0, h, IfKey::new(i))
            .expect("take interface");
    }
}

/// One prepared scenario: the manager and the (protocol, interface) pairs whose (*,G)
/// memberships a round joins then leaves.
struct Setup {
    m: Manager,
    callers: Vec<(ProtocolHandle, u32)>,
    callbacks: Arc<AtomicU64>,
}

fn igmp_to_noop() -> Setup {
    let mut m = manager(false);
    let n = Arc::new(AtomicU64::new(0));
    let owner = m
        .register(
            "noop",
            ClientKind::Routing,
            ProtocolId(1),
            ComponentId(1),
            Box::new(Noop(n.clone())),
        )
        .unwrap();
    let igmp = m
        .register(
            "igmp",
            ClientKind::Igmp,
            IGMP_PROTOCOL_ID,
            ComponentId(1),
            Box::new(Noop(n.clone())),
        )
        .unwrap();
    take_all(&mut m, owner, 1..=IFACES);
    take_all(&mut m, igmp, 1..=IFACES);
    Setup {
        m,
        callers: (2..=IFACES).map(|i| (igmp, i)).collect(),
        callbacks: n,
    }
}

fn routing_with_alerts() -> Setup {
    let mut m = manager(false);
    let n = Arc::new(AtomicU64::new(0));
    let p1 = m
        .register(
            "noop1",
            ClientKind::Routing,
            ProtocolId(1),
            ComponentId(1),
            Box::new(Noop(n.clone())),
        )
        .unwrap();
    let p2 = m
        .register(
            "noop2",
            ClientKind::Routing,
            ProtocolId(2),
            ComponentId(1),
            Box::new(Noop(n.clone())),
        )
        .unwrap();
    take_all(&mut m, p1, 1..=4);
    take_all(&mut m, p2, 5..=IFACES);
    for g in 0..GROUPS {
        m.new_packet(0, SOURCE, group(g), 1, &[])
            .expect("new packet");
    }
    m.take_actions();
    let mut callers: Vec<_> = (2..=4).map(|i| (p1, i)).collect();
    callers.extend((5..=IFACES).map(|i| (p2, i)));
    Setup {
        m,
        callers,
        callbacks: n,
    }
}

fn igmp_to_local(record_events: bool) -> Setup {
    let mut m = manager(record_events);
    let local = register_local(&mut m).unwrap();
    let igmp = m
        .register(
            "igmp",
            ClientKind::Igmp,
            IGMP_PROTOCOL_ID,
            ComponentId(1),
            Box::new(IgmpBridge::new(IgmpNotices::new())),
        )
        .unwrap();
    take_all(&mut m, local, 1..=IFACES);
    take_all(&mut m, igmp, 1..=IFACES);
    for g in 0..GROUPS {
        m.new_packet(0, SOURCE, group(g), 1, &[])
            .expect("new packet");
    }
    m.take_actions();
    m.take_events();
    Setup {
        m,
        callers: (2..=IFACES).map(|i| (igmp, i)).collect(),
        callbacks: Arc::new(AtomicU64::new(0)),
    }
}

/// Runs the rounds; returns (membership calls, elapsed, callbacks counted, actions emitted).
fn churn(s: &mut Setup) -> (u64, Duration, u64, u64) {
    let before = s.callbacks.load(Ordering::Relaxed);
    let mut calls = 0u64;
    let mut actions = 0u64;
    let t = Instant::now();
    for r in 0..ROUNDS {
        let now = 1_000_000 + u64::from(r) * 1000;
        for &flags_add in &[true, false] {
            for g in 0..GROUPS {
                let sg = Sg::star_g(group(g));
                for &(h, i) in &s.callers {
                    let res = if flags_add {
                        s.m.add_membership(now, h, sg, IfKey::new(i), MembershipFlags::JOIN_STATE)
                    } else {
                        s.m.delete_membership(
                            now,
                            h,
                            sg,
                            IfKey::new(i),
                            MembershipFlags::JOIN_STATE,
                        )
                    };
                    res.expect("membership call");
                    calls += 1;
                }
            }
            actions += s.m.take_actions().len() as u64;
            s.m.take_events();
        }
    }
    let el = t.elapsed();
    assert!(s.m.take_errors().is_empty(), "queued calls failed");
    (
        calls,
        el,
        s.callbacks.load(Ordering::Relaxed) - before,
        actions,
    )
}

fn bench(name: &str, make: impl Fn() -> Setup) {
    let mut rates = Vec::new();
    let mut last = (0, 0, 0);
    for _ in 0..RUNS {
        let mut s = make();
        let (calls, el, cbs, acts) = churn(&mut s);
        rates.push(calls as f64 / el.as_secs_f64());
        last = (calls, cbs, acts);
    }
    rates.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let (calls, cbs, acts) = last;
    let cb = if cbs > 0 {
        format!("{:.2} no-op callbacks/call", cbs as f64 / calls as f64)
    } else {
        "callbacks into local".to_string()
    };
    println!(
        "manager {name:<32} median {:>10.0} membership changes/s (min {:.0}, max {:.0}; {} runs of {calls} calls; {cb}; {:.2} SetMfe/call) {}",
        rates[RUNS / 2],
        rates[0],
        rates[RUNS - 1],
        RUNS,
        acts as f64 / calls as f64,
        if rates[RUNS / 2] >= 100_000.0 { "[>= 100 000/s target met]" } else { "[BELOW the 100 000/s target]" }
    );
}

fn main() {
    if cfg!(debug_assertions) {
        eprintln!("note: debug build; figures are meaningful only from `cargo bench` (release)");
    }
    bench("igmp -> no-op owner", igmp_to_noop);
    bench("routing + alerts + MFE (no-op)", routing_with_alerts);
    bench("igmp -> local + MFE", || igmp_to_local(false));
    bench("igmp -> local + MFE + events", || igmp_to_local(true));
}
