//! A manager for large-table tests and benches (the `test-support` feature): `local`
//! registered, 192.0.2.0/24 routed to interface 1, no event log.

use super::local::register_local;
use super::{Manager, ManagerConfig, ProtocolHandle, StaticRpf};
use std::net::Ipv4Addr;

/// A manager with `local` registered, 192.0.2.0/24 routed to interface 1 and no event log.
pub fn quiet_manager_with_local() -> (Manager, ProtocolHandle) {
    let rpf = StaticRpf::new().route(Ipv4Addr::new(192, 0, 2, 0), 24, 1, Ipv4Addr::UNSPECIFIED);
    let mut m = Manager::with_config(
        Box::new(rpf),
        ManagerConfig {
            record_events: false,
            ..ManagerConfig::default()
        },
    );
    let local = register_local(&mut m).expect("register local on a fresh manager");
    (m, local)
}
