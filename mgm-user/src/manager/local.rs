//! The built-in routing protocol `local`.
//!
//! It owns every interface `mgm run` manages (unless configured otherwise). RPF: it accepts a
//! source on the interface its unicast route points to (the manager's [`super::RpfLookup`], the
//! FIB, already computed that; `local` keeps it). Forwarding: every IGMP membership on its
//! interfaces arrives as a local join, and `local` answers by adding the same membership itself
//! (queued through the context), so the interface enters the OIL of the matching MFEs; a local
//! leave removes it. A source IGMPv3 excludes while IGMP wants the group (EXCLUDE mode) arrives
//! as a local leave of (S,G) and `local` blocks it on the interface; a local join of (S,G)
//! lifts that block again, and its blocks of a group end with IGMP's (*,G). Result: traffic
//! arriving on the RPF interface goes to every *other* managed interface with members.
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
        let v = *ctx.view();
        let (me, igmp) = (ctx.handle(), v.igmp_client(iface));
        let (Some(s), Some(g)) = (sg.source, sg.group) else {
            ctx.add_membership(sg, iface, MembershipFlags::JOIN_STATE);
            return;
        };
        // IGMP stopped excluding the source, or a host asked for it.
        let igmp_blocks = igmp.is_some_and(|i| v.is_blocked(i, s, g, iface));
        if v.is_blocked(me, s, g, iface) && !igmp_blocks {
            ctx.unblock_source(s, g, iface);
        }
        if igmp.is_some_and(|i| v.has_membership(i, sg, iface)) {
            ctx.add_membership(sg, iface, MembershipFlags::JOIN_STATE);
        }
    }
    fn local_leave(&mut self, ctx: &mut CallbackContext<'_>, sg: Sg, iface: IfKey) {
        let v = *ctx.view();
        let (me, igmp) = (ctx.handle(), v.igmp_client(iface));
        if v.has_membership(me, sg, iface) {
            ctx.delete_membership(sg, iface, MembershipFlags::JOIN_STATE);
        }
        let covered = |g| igmp.is_some_and(|i| v.has_wildcard_membership(i, g, iface));
        match (sg.source, sg.group) {
            // An excluded source of a group IGMP still wants: hold it back here.
            (Some(s), Some(g)) => {
                let excluded = covered(g) && igmp.is_some_and(|i| v.is_blocked(i, s, g, iface));
                if excluded && !v.is_blocked(me, s, g, iface) {
                    ctx.block_source(s, g, iface);
                }
            }
            // IGMP's exclusions end with the wildcard membership they qualified.
            _ => {
                for (s, g) in v.blocks(me, iface) {
                    if sg.group.is_none_or(|w| w == g) && !covered(g) {
                        ctx.unblock_source(s, g, iface);
                    }
                }
            }
        }
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
