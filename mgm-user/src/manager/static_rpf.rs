//! A test double for [`RpfLookup`]: a fixed route table. Unit tests, benches and integration
//! tests use it (the `test-support` feature); the daemon looks routes up in the FIB.

use std::net::Ipv4Addr;

use super::callbacks::{RpfLookup, RpfRoute};

/// A static longest-prefix-match RPF table.
#[derive(Clone, Debug, Default)]
pub struct StaticRpf {
    routes: Vec<(u32, u8, RpfRoute)>,
}

impl StaticRpf {
    /// An empty table: every lookup fails.
    pub fn new() -> Self {
        Self::default()
    }
    /// Adds `prefix/len` via `ifindex` (gateway `gateway`, 0 for on-link).
    pub fn route(mut self, prefix: Ipv4Addr, len: u8, ifindex: u32, gateway: Ipv4Addr) -> Self {
        self.routes.push((
            u32::from(prefix),
            len.min(32),
            RpfRoute { ifindex, gateway },
        ));
        self
    }
}

impl RpfLookup for StaticRpf {
    fn lookup(&mut self, source: Ipv4Addr) -> Option<RpfRoute> {
        let s = u32::from(source);
        self.routes
            .iter()
            .filter(|(p, len, _)| {
                let mask = if *len == 0 { 0 } else { u32::MAX << (32 - len) };
                s & mask == p & mask
            })
            .max_by_key(|(_, len, _)| *len)
            .map(|(_, _, r)| *r)
    }
}
