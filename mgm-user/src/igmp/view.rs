//! What the kernel fast path has done to the maps behind our back.

use std::net::Ipv4Addr;

use mgm_common::{MemberState, SourceState};

/// Read access to `MGM_MEMBERS` / `MGM_SOURCES`. The classifier extends expiries there without
/// telling userspace (refresh reports); the state machine reads them whenever it touches a group
/// and adopts later expiries (group timer, older-host timers, source timers, last reporter).
pub trait FastPathView {
    fn member(&self, ifindex: u32, group: Ipv4Addr) -> Option<MemberState>;
    fn source(&self, ifindex: u32, group: Ipv4Addr, source: Ipv4Addr) -> Option<SourceState>;
    /// Whether the classifier refreshes entries of `ifindex` at all (not with
    /// `--no-fast-path`). When it does not, the entries hold what the router wrote, and the
    /// router reads nothing back.
    fn refreshes(&self, _ifindex: u32) -> bool {
        true
    }
}

/// A view with nothing in it (no fast path), for tests of pure protocol logic (`test-support`).
#[cfg(any(test, feature = "test-support"))]
#[derive(Clone, Copy, Debug, Default)]
pub struct NoFastPath;

#[cfg(any(test, feature = "test-support"))]
impl FastPathView for NoFastPath {
    fn member(&self, _: u32, _: Ipv4Addr) -> Option<MemberState> {
        None
    }
    fn source(&self, _: u32, _: Ipv4Addr, _: Ipv4Addr) -> Option<SourceState> {
        None
    }
}
