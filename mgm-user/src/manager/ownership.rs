//! Interface ownership (`MgmTakeInterfaceOwnership`, `MgmReleaseInterfaceOwnership`,
//! `MgmGetProtocolOnInterface`) and the DISABLE → change → ENABLE bracket.
use super::actions::ForwarderAction;
use super::events::EventKind;
use super::registry::Iface;
use super::types::{ClientKind, ComponentId, IfKey, ProtocolHandle, ProtocolId, Sg};
use super::{Invalid, Manager, MgmError, MgmResult};

impl Manager {
    /// `MgmTakeInterfaceOwnership`. A second routing protocol (or a second IGMP client) gets
    /// `AlreadyExists`; a 33rd kernel interface gets `VifLimit`.
    pub fn take_interface_ownership(
        &mut self,
        now: u64,
        h: ProtocolHandle,
        iface: IfKey,
    ) -> MgmResult<()> {
        self.begin(now);
        let r = self.do_take(h, iface);
        self.finish(r)
    }

    /// `MgmReleaseInterfaceOwnership`: deletes the MFEs arriving on the interface and removes
    /// it from the OIL of every other MFE.
    pub fn release_interface_ownership(
        &mut self,
        now: u64,
        h: ProtocolHandle,
        iface: IfKey,
    ) -> MgmResult<()> {
        self.begin(now);
        let r = self.do_release(h, iface);
        self.finish(r)
    }

    /// `MgmGetProtocolOnInterface`: the routing owner, or IGMP if it is alone; else `NotFound`.
    pub fn protocol_on_interface(&self, iface: IfKey) -> MgmResult<(ProtocolId, ComponentId)> {
        self.view(self.now).protocol_on_interface(iface)
    }

    pub(crate) fn do_take(&mut self, h: ProtocolHandle, iface: IfKey) -> MgmResult<()> {
        let kind = self.st.check_handle(h)?.kind;
        let cur = self.st.ifaces.get(&iface).copied();
        may_take(kind, cur)?;
        if cur.is_none() {
            self.st.vifs.can_acquire(iface.ifindex)?;
        }
        let igmp = match kind {
            ClientKind::Routing => cur.and_then(|c| c.igmp),
            ClientKind::Igmp | ClientKind::Static => None,
        };
        if let Some(g) = igmp {
            self.disable_igmp_for_routing(g, iface);
        }
        if cur.is_none() {
            if let Some(vif) = self.st.vifs.acquire(iface.ifindex)? {
                self.actions.push(ForwarderAction::AddVif {
                    vif,
                    ifindex: iface.ifindex,
                });
            }
        }
        let e = self.st.ifaces.entry(iface).or_default();
        match kind {
            ClientKind::Routing => e.routing = Some(h),
            ClientKind::Igmp => e.igmp = Some(h),
            ClientKind::Static => {}
        }
        if let Some(p) = self.st.protocols.get_mut(&h) {
            p.ifaces.insert(iface);
        }
        if cur.is_none() {
            self.sync_static_routes_on(iface);
        }
        self.restore_static_joins(iface);
        if let Some(g) = igmp {
            self.invoke(
                g,
                EventKind::EnableIgmp,
                Some(iface),
                Sg::STAR_STAR,
                |hd, ctx| hd.enable_igmp(ctx, iface),
            );
        }
        Ok(())
    }

    /// A routing protocol takes an interface IGMP had alone: IGMP is disabled there and what it
    /// made effective is withdrawn, to be made again (delegated) once it is enabled.
    fn disable_igmp_for_routing(&mut self, g: ProtocolHandle, iface: IfKey) {
        self.invoke(
            g,
            EventKind::DisableIgmp,
            Some(iface),
            Sg::STAR_STAR,
            |hd, ctx| hd.disable_igmp(ctx, iface),
        );
        // IGMP's memberships here were effective (no routing owner); withdraw them. IGMP
        // re-adds them after ENABLE and they become local joins to the new owner.
        self.withdraw_memberships(g, iface, false);
        self.drop_blocks(g, iface);
        // So were the static joins'; `do_take` makes them again, delegated.
        self.withdraw_static_joins(iface, false);
        // MFEs arriving here change RPF owner: recreate them on the next packet. A static
        // route's has no RPF owner: it stays.
        self.delete_mfes_arriving_on(iface);
    }

    pub(crate) fn do_release(&mut self, h: ProtocolHandle, iface: IfKey) -> MgmResult<()> {
        self.st.check_handle(h)?;
        let cur = *self
            .st
            .ifaces
            .get(&iface)
            .ok_or(MgmError::InvalidParameter(Invalid::NotOwner))?;
        if !cur.is_owned_by(h) {
            return Err(MgmError::InvalidParameter(Invalid::NotOwner));
        }
        if cur.routing == Some(h) {
            let igmp = cur.igmp;
            if let Some(g) = igmp {
                self.invoke(
                    g,
                    EventKind::DisableIgmp,
                    Some(iface),
                    Sg::STAR_STAR,
                    |hd, ctx| hd.disable_igmp(ctx, iface),
                );
            }
            self.delete_mfes_arriving_on(iface);
            if let Some(i) = self.st.ifaces.get_mut(&iface) {
                i.routing = None;
            }
            if let Some(p) = self.st.protocols.get_mut(&h) {
                p.ifaces.remove(&iface);
            }
            self.withdraw_memberships(h, iface, false);
            self.drop_blocks(h, iface);
            if let Some(g) = igmp {
                self.withdraw_memberships(g, iface, true);
                self.drop_blocks(g, iface);
            }
            self.withdraw_static_joins(iface, true);
            self.drop_forward_state(iface);
            self.drop_iface_if_unowned(iface);
            // Where IGMP stays, the static joins are effective now.
            self.restore_static_joins(iface);
            if let Some(g) = igmp {
                self.invoke(
                    g,
                    EventKind::EnableIgmp,
                    Some(iface),
                    Sg::STAR_STAR,
                    |hd, ctx| hd.enable_igmp(ctx, iface),
                );
            }
        } else {
            if let Some(i) = self.st.ifaces.get_mut(&iface) {
                i.igmp = None;
            }
            if let Some(p) = self.st.protocols.get_mut(&h) {
                p.ifaces.remove(&iface);
            }
            let alone = cur.routing.is_none();
            if alone {
                self.delete_mfes_arriving_on(iface);
            }
            self.withdraw_memberships(h, iface, false);
            self.drop_blocks(h, iface);
            if alone {
                self.withdraw_static_joins(iface, false);
                self.drop_forward_state(iface);
            }
            self.drop_iface_if_unowned(iface);
        }
        Ok(())
    }

    /// Deletes every MFE whose incoming interface is `iface` (the MFEs the releasing owner
    /// keeps on it). MFEs that only forward out of it lose it from their OIL instead, as the
    /// memberships there are withdrawn and [`Self::drop_forward_state`] runs. A static route's
    /// MFE stays while the interface is managed ([`Self::drop_iface_if_unowned`]).
    fn delete_mfes_arriving_on(&mut self, iface: IfKey) {
        let keys: Vec<_> = self
            .st
            .mfes
            .iter()
            .filter(|(k, m)| m.iif == iface && !self.st.is_static_mfe(**k))
            .map(|(k, _)| *k)
            .collect();
        for k in keys {
            self.delete_mfe(k);
        }
    }

    /// The released owner's FORWARD_STATE adds and deletes and creation-alert vetoes on `iface`
    /// end with its ownership; the OILs that change are updated (a prune alert to an MFE's
    /// owner if its OIL empties).
    fn drop_forward_state(&mut self, iface: IfKey) {
        let mut changed = Vec::new();
        for (k, m) in self.st.mfes.iter_mut() {
            let forced = m.forced.remove(&iface);
            let unforwarded = m.unforwarded.remove(&iface);
            let vetoed = m.vetoed.remove(&iface);
            if forced || unforwarded || vetoed || m.oil.contains(&iface) {
                changed.push(*k);
            }
        }
        for k in changed {
            self.refresh_oil(k);
        }
    }

    fn drop_iface_if_unowned(&mut self, iface: IfKey) {
        if !self.st.ifaces.get(&iface).is_some_and(|i| i.is_empty()) {
            return;
        }
        self.st.ifaces.remove(&iface);
        self.st.blocked.retain(|(_, _, i, _)| *i != iface);
        // Static routes using it lose it (their MFE, if it is the incoming one) before its VIF.
        self.sync_static_routes_on(iface);
        if let Some(vif) = self.st.vifs.release(iface.ifindex) {
            self.actions.push(ForwarderAction::DelVif {
                vif,
                ifindex: iface.ifindex,
            });
        }
    }
}

/// Why `kind` may not take an interface whose owners are `cur`: the same kind owns it already,
/// or `static`, which owns no interface (its entries only need them managed).
fn may_take(kind: ClientKind, cur: Option<Iface>) -> MgmResult<()> {
    match (kind, cur) {
        (
            ClientKind::Routing,
            Some(Iface {
                routing: Some(_), ..
            }),
        ) => Err(MgmError::AlreadyExists),
        (ClientKind::Igmp, Some(Iface { igmp: Some(_), .. })) => Err(MgmError::AlreadyExists),
        (ClientKind::Static, _) => Err(MgmError::InvalidParameter(Invalid::StaticOwnsNoInterface)),
        _ => Ok(()),
    }
}
