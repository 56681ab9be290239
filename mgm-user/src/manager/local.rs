//! The built-in routing protocol `local`.
//!
//! It owns every interface `mgm run` manages (unless configured otherwise). RPF: it accepts a
//! source on the interface its unicast route points to (the manager's [`super::RpfLookup`], the
//! FIB, already computed that; `local` keeps it). Forwarding: every IGMP membership on its
//! interfaces arrives as a local join, and `local` answers by adding the same membership itself
//! (queued through the context), so the interface enters the OIL of the matching MFEs; a local
//! leave removes it. Sources IGMPv3 excludes are blocks the IGMP client sets directly. Result:
//! traffic arriving on the RPF interface goes to every *other* managed interface with members.
use super::callbacks::{CallbackContext, ProtocolHandler};
use super::types::{
    ClientKind, ComponentId, IfKey, MembershipFlags, ProtocolHandle, Sg, LOCAL_PROTOCOL_ID,
};
use super::{Manager, MgmResult};

/// The `local` protocol's handler.
#[derive(Debug, Default, Clone, Copy)]
pub struct LocalProtocol;

impl ProtocolHandler for LocalProtocol {
    fn local_join(&mut self, ctx: &mut CallbackContext<'_>, sg: Sg, iface: IfKey) {
        ctx.add_membership(sg, iface, MembershipFlags::JOIN_STATE);
    }
    fn local_leave(&mut self, ctx: &mut CallbackContext<'_>, sg: Sg, iface: IfKey) {
        ctx.delete_membership(sg, iface, MembershipFlags::JOIN_STATE);
    }
}

/// Registers `local` (name "local", [`LOCAL_PROTOCOL_ID`], component 1).
pub fn register_local(mgr: &mut Manager) -> MgmResult<ProtocolHandle> {
    mgr.register(
        "local",
        ClientKind::Routing,
        LOCAL_PROTOCOL_ID,
        ComponentId(1),
        Box::new(LocalProtocol),
    )
}
