//! A micro-benchmark entry point: membership churn through the manager into no-op callbacks.
//! Time it from a bench harness or `mgm bench`; it returns the number of manager calls made.
use super::callbacks::StaticRpf;
use super::igmp_bridge::{IgmpBridge, IgmpNotices};
use super::local::register_local;
use super::types::{ClientKind, ComponentId, IfKey, MembershipFlags, Sg, IGMP_PROTOCOL_ID};
use super::{Manager, ManagerConfig};
use std::net::Ipv4Addr;

/// Builds a manager with `local` and IGMP on `ifaces` interfaces, `sources` MFEs per group
/// over `groups` groups, then runs `rounds` of join+leave of every group on every interface
/// (each IGMP call also drives local's local join/leave and the OIL updates). Returns the
/// number of IGMP membership calls.
pub fn membership_churn(ifaces: u32, groups: u32, sources: u32, rounds: u32) -> u64 {
    let rpf = StaticRpf::new().route(Ipv4Addr::new(192, 0, 2, 0), 24, 1, Ipv4Addr::UNSPECIFIED);
    let mut m = Manager::with_config(
        Box::new(rpf),
        ManagerConfig {
            record_events: false,
            ..ManagerConfig::default()
        },
    );
    let local = register_local(&mut m).expect("register local");
    let igmp = m
        .register(
            "igmp",
            ClientKind::Igmp,
            IGMP_PROTOCOL_ID,
            ComponentId(1),
            Box::new(IgmpBridge::new(IgmpNotices::new())),
        )
        .expect("register igmp");
    for i in 1..=ifaces {
        m.take_interface_ownership(0, local, IfKey::new(i))
            .expect("take");
        m.take_interface_ownership(0, igmp, IfKey::new(i))
            .expect("take");
    }
    let group = |g: u32| Ipv4Addr::from(0xEF01_0000 | g);
    for g in 0..groups {
        for s in 0..sources {
            let _ = m.new_packet(0, Ipv4Addr::new(192, 0, 2, 1 + s as u8), group(g), 1, &[]);
        }
    }
    let mut calls = 0u64;
    for r in 0..rounds {
        let now = u64::from(r) * 1000;
        for g in 0..groups {
            for i in 2..=ifaces {
                let sg = Sg::star_g(group(g));
                let _ = m.add_membership(now, igmp, sg, IfKey::new(i), MembershipFlags::JOIN_STATE);
                calls += 1;
            }
        }
        for g in 0..groups {
            for i in 2..=ifaces {
                let sg = Sg::star_g(group(g));
                let _ =
                    m.delete_membership(now, igmp, sg, IfKey::new(i), MembershipFlags::JOIN_STATE);
                calls += 1;
            }
        }
        m.take_actions();
    }
    calls
}
