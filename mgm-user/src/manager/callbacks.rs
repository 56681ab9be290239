//! The handler trait (the nine MGM callbacks) and the context a callback gets.
//!
//! Callbacks never re-enter the manager. A handler that wants to act (add a membership, set an
//! MFE timeout, ...) calls the same-named method of its [`CallbackContext`]: the call is queued
//! and runs, as the handler's protocol, after the manager operation that invoked the callback has
//! finished, in FIFO order (see the module doc of [`super`]). A handler may read the manager's
//! state through [`CallbackContext::view`] while it runs.
use super::types::{IfKey, MembershipFlags, ProtocolHandle, Sg};
use super::ManagerView;
use std::collections::VecDeque;
use std::net::Ipv4Addr;

/// What the RPF callback sees and may change (`PMGM_RPF_CALLBACK`).
#[derive(Debug)]
pub struct RpfRequest<'a> {
    pub source: Ipv4Addr,
    pub group: Ipv4Addr,
    /// Where the packet actually arrived.
    pub arrival: IfKey,
    /// In/out: the incoming interface towards the source (from the RPF lookup). The handler may
    /// change it; an interface nobody owns turns the MFE into a negative entry.
    pub in_iface: IfKey,
    /// In/out: the upstream neighbour towards the source (informational).
    pub upstream: Ipv4Addr,
    /// The packet's IP header (as much as the kernel upcall carries).
    pub header: &'a [u8],
}

/// The verdict of the RPF callback. MGM ignores callback return values; on Linux we let the
/// protocol refuse the source, which installs a negative MFE (empty OIL) so the kernel stops
/// asking.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Default)]
pub enum RpfVerdict {
    #[default]
    Accept,
    Reject,
    /// The protocol asked someone else (a handler in another process) and has no verdict yet:
    /// the manager makes no MFE now ([`super::NewPacket::Pending`]); the shell offers the
    /// packet again once the answer is in, and the handler then answers at once.
    Pending,
}

/// Whether a callback's in/out arguments hold the protocol's answer.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Default)]
pub enum Answer {
    /// The arguments are the answer.
    #[default]
    Given,
    /// Asked elsewhere, no answer yet: as [`RpfVerdict::Pending`].
    Pending,
}

/// One `MGM_IF_ENTRY` of the creation alert.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct CreationIf {
    pub iface: IfKey,
    /// IGMP is enabled on the interface (`bIGMP`).
    pub igmp: bool,
    /// In/out (`bIsEnabled`): set to `false` to veto forwarding on this interface.
    pub enabled: bool,
}

/// A prune alert (`PMGM_PRUNE_ALERT_CALLBACK`); the timeout is a separate `&mut`.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct PruneAlert {
    pub sg: Sg,
    /// The interface the membership was deleted on (`member_delete`), or the MFE's incoming
    /// interface (OIL change).
    pub iface: IfKey,
    /// `true`: caused by a membership delete; `false`: caused by an MFE's OIL becoming empty,
    /// and then the timeout argument sets how long the MFE stays.
    pub member_delete: bool,
}

/// The nine MGM callbacks. Every method has a default body that accepts and does nothing, so a
/// protocol implements only what it cares about. Handlers must be `Send` so the manager can
/// live in any task.
// The default bodies ignore their arguments; the names stay for the documentation.
#[allow(unused_variables)]
pub trait ProtocolHandler: Send {
    /// `PMGM_RPF_CALLBACK`, to the owner of the incoming interface towards the source while an
    /// MFE is being created. May rewrite `req.in_iface` / `req.upstream`.
    fn rpf(&mut self, ctx: &mut CallbackContext<'_>, req: &mut RpfRequest<'_>) -> RpfVerdict {
        RpfVerdict::Accept
    }
    /// `PMGM_CREATION_ALERT_CALLBACK`, to each protocol owning interfaces of a new MFE's OIL,
    /// with only its own interfaces. Clear `enabled` to veto one.
    fn creation_alert(
        &mut self,
        ctx: &mut CallbackContext<'_>,
        source: Ipv4Addr,
        group: Ipv4Addr,
        in_iface: IfKey,
        oifs: &mut [CreationIf],
    ) -> Answer {
        Answer::Given
    }
    /// `PMGM_JOIN_ALERT_CALLBACK`: receivers for `sg` appeared elsewhere. `member_update` is
    /// `true` for a membership add, `false` for an MFE's OIL becoming non-empty.
    fn join_alert(&mut self, ctx: &mut CallbackContext<'_>, sg: Sg, member_update: bool) {}
    /// `PMGM_PRUNE_ALERT_CALLBACK`: receivers for `sg` are gone elsewhere. With
    /// `member_delete == false` the protocol may set the MFE lifetime in seconds.
    fn prune_alert(
        &mut self,
        ctx: &mut CallbackContext<'_>,
        alert: &PruneAlert,
        timeout_s: &mut u32,
    ) {
    }
    /// `PMGM_WRONG_IF_CALLBACK`, to the owner of the interface the packet wrongly arrived on.
    fn wrong_interface(
        &mut self,
        ctx: &mut CallbackContext<'_>,
        source: Ipv4Addr,
        group: Ipv4Addr,
        iface: IfKey,
        header: &[u8],
    ) {
    }
    /// `PMGM_LOCAL_JOIN_CALLBACK`: IGMP added `sg` on `iface`, which this protocol owns, or
    /// (for an (S,G)) stopped excluding S from a group it wants there (IGMPv3 unblock).
    fn local_join(&mut self, ctx: &mut CallbackContext<'_>, sg: Sg, iface: IfKey) {}
    /// `PMGM_LOCAL_LEAVE_CALLBACK`: IGMP deleted `sg` on `iface`, which this protocol owns, or
    /// (for an (S,G)) excludes S from a group it wants there (IGMPv3 block): IGMP has no
    /// receivers for (S,G) there any more.
    fn local_leave(&mut self, ctx: &mut CallbackContext<'_>, sg: Sg, iface: IfKey) {}
    /// `PMGM_DISABLE_IGMP_CALLBACK` (IGMP only): stop changing memberships on `iface`.
    fn disable_igmp(&mut self, ctx: &mut CallbackContext<'_>, iface: IfKey) {}
    /// `PMGM_ENABLE_IGMP_CALLBACK` (IGMP only): ownership change done; re-add every membership
    /// on `iface` — through `ctx` (queued) or later from the shell, never re-entrantly.
    fn enable_igmp(&mut self, ctx: &mut CallbackContext<'_>, iface: IfKey) {}
}

/// A manager call queued by a callback. It runs as the protocol whose callback queued it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum QueuedCall {
    AddMembership {
        sg: Sg,
        iface: IfKey,
        flags: MembershipFlags,
    },
    DeleteMembership {
        sg: Sg,
        iface: IfKey,
        flags: MembershipFlags,
    },
    BlockSource {
        source: Ipv4Addr,
        group: Ipv4Addr,
        iface: IfKey,
    },
    UnblockSource {
        source: Ipv4Addr,
        group: Ipv4Addr,
        iface: IfKey,
    },
    SetMfeTimeout {
        source: Ipv4Addr,
        group: Ipv4Addr,
        timeout_s: u32,
    },
    SetMfeUpstream {
        source: Ipv4Addr,
        group: Ipv4Addr,
        upstream: Ipv4Addr,
    },
    TakeInterface(IfKey),
    ReleaseInterface(IfKey),
}

/// The context of one callback invocation.
pub struct CallbackContext<'a> {
    pub(crate) me: ProtocolHandle,
    pub(crate) now: u64,
    pub(crate) queue: &'a mut VecDeque<(ProtocolHandle, QueuedCall)>,
    pub(crate) view: ManagerView<'a>,
}

impl<'a> CallbackContext<'a> {
    /// The handle of the protocol this callback went to.
    pub fn handle(&self) -> ProtocolHandle {
        self.me
    }
    /// The time of the manager call that invoked the callback.
    pub fn now(&self) -> u64 {
        self.now
    }
    /// Read-only access to the manager's state.
    pub fn view(&self) -> &ManagerView<'a> {
        &self.view
    }
    /// Queues any call.
    pub fn queue(&mut self, call: QueuedCall) {
        self.queue.push_back((self.me, call));
    }
    pub fn add_membership(&mut self, sg: Sg, iface: IfKey, flags: MembershipFlags) {
        self.queue(QueuedCall::AddMembership { sg, iface, flags });
    }
    pub fn delete_membership(&mut self, sg: Sg, iface: IfKey, flags: MembershipFlags) {
        self.queue(QueuedCall::DeleteMembership { sg, iface, flags });
    }
    pub fn block_source(&mut self, source: Ipv4Addr, group: Ipv4Addr, iface: IfKey) {
        self.queue(QueuedCall::BlockSource {
            source,
            group,
            iface,
        });
    }
    pub fn unblock_source(&mut self, source: Ipv4Addr, group: Ipv4Addr, iface: IfKey) {
        self.queue(QueuedCall::UnblockSource {
            source,
            group,
            iface,
        });
    }
    pub fn set_mfe_timeout(&mut self, source: Ipv4Addr, group: Ipv4Addr, timeout_s: u32) {
        self.queue(QueuedCall::SetMfeTimeout {
            source,
            group,
            timeout_s,
        });
    }
    pub fn set_mfe_upstream(&mut self, source: Ipv4Addr, group: Ipv4Addr, upstream: Ipv4Addr) {
        self.queue(QueuedCall::SetMfeUpstream {
            source,
            group,
            upstream,
        });
    }
    pub fn take_interface(&mut self, iface: IfKey) {
        self.queue(QueuedCall::TakeInterface(iface));
    }
    pub fn release_interface(&mut self, iface: IfKey) {
        self.queue(QueuedCall::ReleaseInterface(iface));
    }
}

/// The RPF source of the manager (Windows: the RTM multicast view). The shell implements it
/// with a FIB lookup; tests use `StaticRpf` (feature `test-support`).
pub trait RpfLookup: Send {
    /// The route towards `source`: outgoing ifindex and gateway (`0.0.0.0` when on-link).
    fn lookup(&mut self, source: Ipv4Addr) -> Option<RpfRoute>;
}

/// Result of an RPF lookup.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct RpfRoute {
    pub ifindex: u32,
    pub gateway: Ipv4Addr,
}
