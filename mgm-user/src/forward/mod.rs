//! The ipmr shell: applies the manager's [`ForwarderAction`]s to the kernel multicast
//! forwarding cache and turns kernel upcalls into manager inputs.
//!
//! - [`mroute::MrouteSocket`]: the controlling raw IGMP socket (`MRT_INIT`, VIFs, MFC entries,
//!   `SIOCGETSGCNT`, upcalls through an upcall-only socket filter, cleanup on drop);
//! - [`upcall`]: the pure `struct igmpmsg` parser and the classic BPF filter;
//! - [`fib::FibRpf`]: the RPF lookup through the FIB (rtnetlink `RTM_GETROUTE`).
//!
//! A daemon loop: wait for the socket ([`std::os::fd::AsFd`]) or the manager's next deadline;
//! for each upcall call [`dispatch_upcall`]; on the deadline call
//! [`Manager::on_deadline`] with [`mroute::MrouteSocket::counters`]; after every manager call
//! apply [`Manager::take_actions`] with [`mroute::MrouteSocket::apply_all`].
pub mod fib;
pub mod mroute;
pub mod upcall;

use crate::manager::{ForwarderAction, Manager, MgmError, MgmResult};
use upcall::{Upcall, UpcallKind};

/// Feeds one upcall to the manager: `NOCACHE` → [`Manager::new_packet`], `WRONGVIF` →
/// [`Manager::wrong_interface`]. `header` is the upcall message (it is the packet's IP header).
pub fn dispatch_upcall(
    mgr: &mut Manager,
    sock: &mroute::MrouteSocket,
    u: &Upcall,
    header: &[u8],
    now: u64,
) -> MgmResult<()> {
    let ifindex = sock.ifindex_of(u.vif).ok_or(MgmError::NotFound)?;
    match u.kind {
        UpcallKind::NoCache => mgr.new_packet(now, u.source, u.group, ifindex, header),
        UpcallKind::WrongVif | UpcallKind::WrongVifWhole => {
            mgr.wrong_interface(now, u.source, u.group, ifindex, header)
        }
        UpcallKind::WholePkt => Ok(()),
    }
}

/// Applies the manager's pending actions; returns the errors (each names its operation).
pub fn sync(mgr: &mut Manager, sock: &mut mroute::MrouteSocket) -> Vec<anyhow::Error> {
    let actions: Vec<ForwarderAction> = mgr.take_actions();
    sock.apply_all(&actions)
}
