//! The built-in protocol `static`: smcroute-like static entries.
//!
//! * **Static joins** ([`Manager::add_static_join`]): a permanent local receiver of `sg` on an
//!   interface, as if a host there had joined and never leaves. `static` is a client of kind
//!   [`ClientKind::Static`]: it owns no interface, and its membership is treated like IGMP's. On
//!   an interface a routing protocol owns it is *delegated* (a `local_join` / `local_leave` to
//!   the owner, who decides: `local` keeps its own membership while IGMP or a static join wants
//!   the group); on an interface no routing protocol owns (IGMP alone) it is effective by itself
//!   and feeds OILs. It coexists with IGMP's membership of the same group on the same interface:
//!   the two are separate records, and neither's leave ends the other. The configuration
//!   outlives the interface: the record is withdrawn while the interface is unmanaged and made
//!   again when an owner takes it back (and changes hands with its ownership, as IGMP's).
//! * **Static routes** ([`Manager::add_static_route`], `mfe/static_route.rs`): smcroute's
//!   `mroute`, an MFE (S,G) installed at once with a fixed incoming interface and OIL.
//!
//! `static` gets no callbacks (no alerts, no RPF, no local join/leave): its handler is empty.
use super::types::{ClientKind, ComponentId, IfKey, ProtocolHandle, Sg, STATIC_PROTOCOL_ID};
use super::{Invalid, Manager, MgmError, MgmResult, ProtocolHandler, State};

/// The `static` protocol's handler: it is told nothing (see the module documentation).
#[derive(Debug, Default, Clone, Copy)]
pub struct StaticProtocol;

impl ProtocolHandler for StaticProtocol {}

/// Registers `static` (name "static", [`STATIC_PROTOCOL_ID`], component 1).
pub fn register_static(mgr: &mut Manager) -> MgmResult<ProtocolHandle> {
    mgr.register(
        "static",
        ClientKind::Static,
        STATIC_PROTOCOL_ID,
        ComponentId(1),
        Box::new(StaticProtocol),
    )
}

impl State {
    /// Whether `h`'s memberships are delegated on an interface a routing protocol owns
    /// ([`ClientKind::delegates`]).
    pub(crate) fn delegates(&self, h: ProtocolHandle) -> bool {
        self.protocols.get(&h).is_some_and(|p| p.kind.delegates())
    }
    /// `h` is a registered client of kind [`ClientKind::Static`] (`InvalidParameter` if not).
    pub(crate) fn check_static(&self, h: ProtocolHandle) -> MgmResult<()> {
        match self.check_handle(h)?.kind {
            ClientKind::Static => Ok(()),
            _ => Err(MgmError::InvalidParameter(Invalid::NotStatic)),
        }
    }
    /// Whether `h` holds static joins or static routes (it may not deregister then).
    pub(crate) fn has_static_entries(&self, h: ProtocolHandle) -> bool {
        self.static_joins.iter().any(|(_, _, p)| *p == h)
            || self.static_routes.values().any(|r| r.owner == h)
    }
}

impl Manager {
    /// A static join: `h` (the `static` protocol) wants `sg` on `iface` for good. `iface` must
    /// be managed (`NotFound`), `sg` valid and `h` a [`ClientKind::Static`] client
    /// (`InvalidParameter`). Joining twice is a no-op. Callbacks as for IGMP's add membership:
    /// `local_join` to the routing owner of `iface`, or, where none owns it, join alerts and MFE
    /// updates.
    pub fn add_static_join(
        &mut self,
        now: u64,
        h: ProtocolHandle,
        sg: Sg,
        iface: IfKey,
    ) -> MgmResult<()> {
        self.begin(now);
        let r = self.do_add_static_join(h, sg, iface);
        self.finish(r)
    }

    /// Deletes a static join (`NotFound` if `h` has no such join). Callbacks as for IGMP's
    /// delete membership: `local_leave` to the routing owner, or prune alerts and MFE updates.
    pub fn delete_static_join(
        &mut self,
        now: u64,
        h: ProtocolHandle,
        sg: Sg,
        iface: IfKey,
    ) -> MgmResult<()> {
        self.begin(now);
        let r = self.do_delete_static_join(h, sg, iface);
        self.finish(r)
    }

    /// Every static join, ordered by group, source, interface (also those on an interface
    /// nobody manages at the moment).
    pub fn static_joins(&self) -> Vec<(Sg, IfKey)> {
        let mut v: Vec<(Sg, IfKey)> = self
            .st
            .static_joins
            .iter()
            .map(|(i, sg, _)| (*sg, *i))
            .collect();
        v.sort_by_key(|(sg, i)| (sg.group, sg.source, *i));
        v.dedup();
        v
    }

    fn do_add_static_join(&mut self, h: ProtocolHandle, sg: Sg, iface: IfKey) -> MgmResult<()> {
        self.st.check_static(h)?;
        if !sg.is_valid() {
            return Err(MgmError::InvalidParameter(Invalid::MalformedSg));
        }
        if !self.st.ifaces.contains_key(&iface) {
            return Err(MgmError::NotFound);
        }
        if self.st.static_joins.insert((iface, sg, h)) && self.join(h, sg, iface) {
            self.lift_forward_deletes(sg, iface);
        }
        Ok(())
    }

    fn do_delete_static_join(&mut self, h: ProtocolHandle, sg: Sg, iface: IfKey) -> MgmResult<()> {
        self.st.check_static(h)?;
        if !self.st.static_joins.remove(&(iface, sg, h)) {
            return Err(MgmError::NotFound);
        }
        self.leave(h, sg, iface, true);
        Ok(())
    }

    /// Withdraws the static joins' records on `iface` before its ownership changes: as deletes
    /// (prune alerts, MFE updates; `local_leave` if delegated), or `silent`ly (a routing owner
    /// releasing the interface, whose own memberships go anyway).
    pub(crate) fn withdraw_static_joins(&mut self, iface: IfKey, silent: bool) {
        let mut owners: Vec<ProtocolHandle> = self
            .st
            .static_joins
            .iter()
            .filter(|(i, _, _)| *i == iface)
            .map(|(_, _, h)| *h)
            .collect();
        owners.sort();
        owners.dedup();
        for h in owners {
            self.withdraw_memberships(h, iface, silent);
        }
    }

    /// Makes the records of the static joins on `iface` that lack one, once it is managed (after
    /// its ownership changed): delegated to the routing owner (`local_join`) or effective.
    pub(crate) fn restore_static_joins(&mut self, iface: IfKey) {
        if !self.st.ifaces.contains_key(&iface) {
            return;
        }
        let mut missing: Vec<(Sg, ProtocolHandle)> = self
            .st
            .static_joins
            .iter()
            .filter(|(i, sg, h)| *i == iface && !self.st.has_record(*h, *sg, iface))
            .map(|(_, sg, h)| (*sg, *h))
            .collect();
        missing.sort_by_key(|(sg, h)| (sg.group, sg.source, *h));
        for (sg, h) in missing {
            if self.join(h, sg, iface) {
                self.lift_forward_deletes(sg, iface);
            }
        }
    }
}
