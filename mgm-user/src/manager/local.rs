//! The built-in routing protocol `local`.
//!
//! It owns every interface `mgm run` manages (unless configured otherwise). RPF: it accepts a
//! source on the interface its unicast route points to (the manager's [`super::RpfLookup`], the
//! FIB, already computed that; `local` keeps it). Forwarding: every delegated membership on its
//! interfaces (IGMP's, and the static joins of the `static` protocol) arrives as a local join,
//! and `local` mirrors what those clients want there with its own memberships and blocks
//! (queued through the context), so the interface enters the OIL of the matching MFEs:
//!
//! * it has `sg` on the interface while any delegated client has it (an IGMP leave does not end
//!   a static join's forwarding, nor the other way round);
//! * it blocks (S,G) while a delegated client has (*,G)/(*,*) there and none wants S: none has
//!   (S,G), and every one with the wildcard excludes S (IGMPv3 EXCLUDE mode, told as a local
//!   leave of (S,G); a local join of (S,G) means a client wants S again).
//!
//! Result: traffic arriving on the RPF interface goes to every *other* managed interface with
//! members.
use super::callbacks::{CallbackContext, ProtocolHandler};
use super::types::{
    ClientKind, ComponentId, IfKey, MembershipFlags, ProtocolHandle, Sg, LOCAL_PROTOCOL_ID,
    PROXY_PROTOCOL_ID,
};
use super::{Manager, MgmResult};

/// The `local` protocol's handler.
#[derive(Debug, Default, Clone, Copy)]
pub struct LocalProtocol;

impl ProtocolHandler for LocalProtocol {
    fn local_join(&mut self, ctx: &mut CallbackContext<'_>, sg: Sg, iface: IfKey) {
        follow(ctx, sg, iface);
    }
    fn local_leave(&mut self, ctx: &mut CallbackContext<'_>, sg: Sg, iface: IfKey) {
        follow(ctx, sg, iface);
    }
}

/// Brings `local`'s membership `sg` on `iface`, and its blocks that `sg` concerns, in line with
/// what the delegated clients want there. A wildcard that stays or comes gets its exclusions
/// first (no excluded source is forwarded in between); one that goes is deleted before its
/// exclusions are lifted.
fn follow(ctx: &mut CallbackContext<'_>, sg: Sg, iface: IfKey) {
    let v = *ctx.view();
    let me = ctx.handle();
    let want = v.delegated_membership(sg, iface);
    let have = v.has_membership(me, sg, iface);
    if have && !want {
        ctx.delete_membership(sg, iface, MembershipFlags::JOIN_STATE);
    }
    let concerned = match (sg.source, sg.group) {
        (Some(s), Some(g)) => vec![(s, g)],
        (_, w) => {
            let mut list = v.blocks(me, iface);
            list.extend(v.delegated_blocks(iface));
            list.sort();
            list.dedup();
            list.retain(|(_, g)| w.is_none_or(|w| w == *g));
            list
        }
    };
    for (s, g) in concerned {
        let block = v.delegated_wildcard(g, iface) && !v.delegated_wants(s, g, iface);
        match (block, v.is_blocked(me, s, g, iface)) {
            (true, false) => ctx.block_source(s, g, iface),
            (false, true) => ctx.unblock_source(s, g, iface),
            _ => {}
        }
    }
    if want && !have {
        ctx.add_membership(sg, iface, MembershipFlags::JOIN_STATE);
    }
}

/// Registers `proxy` (name "proxy", [`PROXY_PROTOCOL_ID`], component 1): the IGMP proxy's
/// forwarding (`mgm run --upstream`), which follows the same rules as `local` on every
/// interface, the upstream one included.
pub fn register_proxy(mgr: &mut Manager) -> MgmResult<ProtocolHandle> {
    mgr.register(
        "proxy",
        ClientKind::Routing,
        PROXY_PROTOCOL_ID,
        ComponentId(1),
        Box::new(LocalProtocol),
    )
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
