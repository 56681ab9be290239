//! Group membership (`MgmAddGroupMembershipEntry`, `MgmDeleteGroupMembershipEntry`) and the
//! join/prune alert fan-out. IGMPv3 source blocks are in `blocks`.
use super::callbacks::PruneAlert;
use super::events::{EventArgs, EventKind};
use super::mfe::MfeKey;
use super::small_map::SmallMap;
use super::types::{IfKey, MembershipFlags, ProtocolHandle, Sg};
use super::{Invalid, Manager, ManagerView, MgmError, MgmResult, State};
use std::net::Ipv4Addr;

/// Memberships of one `Sg` (one or two records for almost every group: held inline). The interfaces
/// and clients with effective records are read from the records (a handful at most) rather
/// than kept in tables of their own: this is one entry per group, so its size is the
/// manager's memory per group.
#[derive(Debug)]
pub(crate) struct SgMembers {
    pub sg: Sg,
    /// (interface, protocol) → effective.
    pub records: SmallMap<(IfKey, ProtocolHandle), bool>,
}

impl crate::dense_map::Keyed for SgMembers {
    type Key = Sg;
    fn key(&self) -> Sg {
        self.sg
    }
}

impl SgMembers {
    pub(crate) fn new(sg: Sg) -> Self {
        SgMembers {
            sg,
            records: SmallMap::default(),
        }
    }

    /// Interfaces with an effective record, in order.
    pub(crate) fn eff_ifaces(&self) -> impl Iterator<Item = IfKey> + '_ {
        let mut last = None;
        self.records
            .iter()
            .filter(|(_, effective)| **effective)
            .map(|((i, _), _)| *i)
            .filter(move |i| last.replace(*i) != Some(*i))
    }

    fn has_eff_iface(&self, iface: IfKey) -> bool {
        let (lo, hi) = (ProtocolHandle(0), ProtocolHandle(u32::MAX));
        self.records
            .range((iface, lo)..=(iface, hi))
            .any(|(_, effective)| *effective)
    }

    /// Protocols with an effective record, in handle order: the "clients" of the alert rules.
    fn eff_clients(&self) -> Vec<ProtocolHandle> {
        let mut v: Vec<ProtocolHandle> = self
            .records
            .iter()
            .filter(|(_, effective)| **effective)
            .map(|((_, p), _)| *p)
            .collect();
        v.sort_unstable();
        v.dedup();
        v
    }

    fn has_eff_client(&self, h: ProtocolHandle) -> bool {
        self.records.iter().any(|((_, p), e)| *e && *p == h)
    }
}

impl Manager {
    /// `MgmAddGroupMembershipEntry`. `NotFound` for an unknown interface, `InvalidParameter`
    /// for a bad handle, an interface the caller does not (co-)own, an invalid `Sg` or flags.
    /// Adding an existing membership is a no-op.
    pub fn add_membership(
        &mut self,
        now: u64,
        h: ProtocolHandle,
        sg: Sg,
        iface: IfKey,
        flags: MembershipFlags,
    ) -> MgmResult<()> {
        self.begin(now);
        let r = self.do_add_membership(h, sg, iface, flags);
        self.finish(r)
    }

    /// `MgmDeleteGroupMembershipEntry`. As add, plus `NotFound` for a membership (JOIN_STATE)
    /// that does not exist.
    pub fn delete_membership(
        &mut self,
        now: u64,
        h: ProtocolHandle,
        sg: Sg,
        iface: IfKey,
        flags: MembershipFlags,
    ) -> MgmResult<()> {
        self.begin(now);
        let r = self.do_delete_membership(h, sg, iface, flags);
        self.finish(r)
    }

    pub(super) fn check_member_call(
        &self,
        h: ProtocolHandle,
        sg: Sg,
        iface: IfKey,
        flags: MembershipFlags,
    ) -> MgmResult<()> {
        self.st.check_handle(h)?;
        if !sg.is_valid() {
            return Err(MgmError::InvalidParameter(Invalid::MalformedSg));
        }
        if !flags.is_valid() {
            return Err(MgmError::InvalidParameter(Invalid::NoMembershipState));
        }
        let ifc = self.st.ifaces.get(&iface).ok_or(MgmError::NotFound)?;
        if !ifc.is_owned_by(h) {
            return Err(MgmError::InvalidParameter(Invalid::NotOwner));
        }
        Ok(())
    }

    pub(crate) fn do_add_membership(
        &mut self,
        h: ProtocolHandle,
        sg: Sg,
        iface: IfKey,
        flags: MembershipFlags,
    ) -> MgmResult<()> {
        self.check_member_call(h, sg, iface, flags)?;
        // A new JOIN_STATE membership lifts an earlier FORWARD_STATE delete on the interface; a
        // repeated one (already a member) changes nothing.
        if flags.join_state() && self.join(h, sg, iface) {
            self.lift_forward_deletes(sg, iface);
        }
        if flags.forward_state() {
            self.forward_state(sg, iface, true);
        }
        Ok(())
    }

    pub(crate) fn do_delete_membership(
        &mut self,
        h: ProtocolHandle,
        sg: Sg,
        iface: IfKey,
        flags: MembershipFlags,
    ) -> MgmResult<()> {
        self.check_member_call(h, sg, iface, flags)?;
        let mut found = true;
        if flags.join_state() {
            found = self.leave(h, sg, iface, true);
        }
        if flags.forward_state() {
            self.forward_state(sg, iface, false);
        } else if !found {
            return Err(MgmError::NotFound);
        }
        Ok(())
    }

    /// The routing protocol owning the RPF interface towards `source`.
    pub(crate) fn rpf_owner(&mut self, source: Ipv4Addr) -> Option<ProtocolHandle> {
        let r = self.rpf.lookup(source)?;
        let iface = self.st.iface_for(r.ifindex, r.gateway)?;
        self.st.routing_owner(iface)
    }

    /// Adds a JOIN_STATE record. Returns false if it existed.
    pub(super) fn join(&mut self, h: ProtocolHandle, sg: Sg, iface: IfKey) -> bool {
        let routing = self.st.routing_owner(iface);
        let effective = !(self.st.delegates(h) && routing.is_some_and(|r| r != h));
        if self
            .st
            .members
            .get(&sg)
            .is_some_and(|m| m.records.contains_key(&(iface, h)))
        {
            return false;
        }
        let excluded = if effective {
            Vec::new()
        } else {
            self.st.blocks_newly_covered(h, sg, iface)
        };
        self.st.order_insert(sg);
        let m = self
            .st
            .members
            .get_or_insert_with(sg, || SgMembers::new(sg));
        // Before the record: whether `h` and `iface` are new to the effective ones.
        let clients = m.eff_clients();
        let new_client = effective && !clients.contains(&h);
        let new_iface = effective && !m.has_eff_iface(iface);
        m.records.insert((iface, h), effective);
        if !effective {
            let r = routing.expect("delegated implies a routing owner");
            // Sources IGMP already excludes, before the wildcard that now wants the rest.
            for x in excluded {
                self.local_call(r, x, iface, false);
            }
            self.local_call(r, sg, iface, true);
            return true;
        }
        let clients_before = clients.len();
        let first_client = clients.first().copied();
        if new_client {
            let recipients: Vec<ProtocolHandle> = match sg.source {
                Some(s) if clients_before == 0 => {
                    self.rpf_owner(s).filter(|o| *o != h).into_iter().collect()
                }
                Some(_) => Vec::new(),
                None if clients_before == 0 => {
                    self.st.routing_protocols().filter(|p| *p != h).collect()
                }
                None if clients_before == 1 => first_client
                    .filter(|p| !self.st.delegates(*p))
                    .into_iter()
                    .collect(),
                None => Vec::new(),
            };
            for r in recipients {
                let called = self.invoke(r, EventKind::JoinAlert, Some(iface), sg, |hd, ctx| {
                    hd.join_alert(ctx, sg, true)
                });
                if called.is_some() {
                    self.annotate(EventArgs::JoinAlert {
                        member_update: true,
                    });
                }
            }
        }
        // Another protocol's wildcard on the interface may carry sources the first one blocks.
        if new_iface || self.st.wildcard_meets_blocks(sg, iface) {
            self.update_mfes_for(sg);
        }
        if new_iface {
            self.make_refused(sg);
        }
        true
    }

    /// Removes a JOIN_STATE record; `notify` false drops it without callbacks (alerts, local
    /// leave). Returns false if it did not exist.
    pub(crate) fn leave(&mut self, h: ProtocolHandle, sg: Sg, iface: IfKey, notify: bool) -> bool {
        let Some(m) = self.st.members.get_mut(&sg) else {
            return false;
        };
        let Some(effective) = m.records.remove(&(iface, h)) else {
            return false;
        };
        if !effective {
            if m.records.is_empty() {
                self.st.remove_members(sg);
            }
            if notify {
                if let Some(r) = self.st.routing_owner(iface).filter(|r| *r != h) {
                    self.local_call(r, sg, iface, false);
                }
            }
            return true;
        }
        let iface_gone = !m.has_eff_iface(iface);
        let client_gone = !m.has_eff_client(h);
        let remaining = m.eff_clients();
        if m.records.is_empty() {
            self.st.remove_members(sg);
        }
        if client_gone && notify {
            let recipients: Vec<ProtocolHandle> = match sg.source {
                Some(s) if remaining.is_empty() => {
                    self.rpf_owner(s).filter(|o| *o != h).into_iter().collect()
                }
                Some(_) => Vec::new(),
                None if remaining.is_empty() => {
                    self.st.routing_protocols().filter(|p| *p != h).collect()
                }
                None if remaining.len() == 1 => remaining
                    .into_iter()
                    .filter(|p| !self.st.delegates(*p))
                    .collect(),
                None => Vec::new(),
            };
            let alert = PruneAlert {
                sg,
                iface,
                member_delete: true,
            };
            let default = self.st.cfg.default_mfe_timeout_s;
            for r in recipients {
                let t = self.invoke(r, EventKind::PruneAlert, Some(iface), sg, |hd, ctx| {
                    let mut t = default;
                    hd.prune_alert(ctx, &alert, &mut t);
                    t
                });
                if let Some(timeout_s) = t {
                    self.annotate(EventArgs::PruneAlert {
                        member_delete: true,
                        timeout_s,
                    });
                }
            }
        }
        if iface_gone || self.st.wildcard_meets_blocks(sg, iface) {
            self.update_mfes_for(sg);
        }
        true
    }

    /// `local_join` (or `local_leave`) of `sg` on `iface` to its routing owner `r`.
    pub(crate) fn local_call(&mut self, r: ProtocolHandle, sg: Sg, iface: IfKey, join: bool) {
        if join {
            self.invoke(r, EventKind::LocalJoin, Some(iface), sg, |hd, ctx| {
                hd.local_join(ctx, sg, iface)
            });
        } else {
            self.invoke(r, EventKind::LocalLeave, Some(iface), sg, |hd, ctx| {
                hd.local_leave(ctx, sg, iface)
            });
        }
    }

    /// Removes every membership record of `h` on `iface`.
    pub(crate) fn withdraw_memberships(&mut self, h: ProtocolHandle, iface: IfKey, silent: bool) {
        let mut sgs: Vec<Sg> = self
            .st
            .members
            .iter()
            .filter(|m| m.records.contains_key(&(iface, h)))
            .map(|m| m.sg)
            .collect();
        sgs.sort_by_key(|sg| (sg.group, sg.source));
        for sg in sgs {
            self.leave(h, sg, iface, !silent);
        }
    }

    /// MFEs an `Sg` membership feeds, in walk order.
    pub(crate) fn mfes_matching(&self, sg: Sg) -> Vec<MfeKey> {
        match (sg.source, sg.group) {
            (Some(source), Some(group)) => {
                let k = MfeKey { group, source };
                if self.st.mfes.contains_key(&k) {
                    vec![k]
                } else {
                    Vec::new()
                }
            }
            (None, Some(group)) => self
                .st
                .mfes
                .range(
                    MfeKey {
                        group,
                        source: Ipv4Addr::UNSPECIFIED,
                    }..=MfeKey {
                        group,
                        source: Ipv4Addr::BROADCAST,
                    },
                )
                .map(|(k, _)| *k)
                .collect(),
            _ => self.st.mfes.keys().copied().collect(),
        }
    }

    fn update_mfes_for(&mut self, sg: Sg) {
        for k in self.mfes_matching(sg) {
            self.refresh_oil(k);
        }
    }

    /// A JOIN_STATE add updates every MFE it affects (MGM §1.3): an earlier FORWARD_STATE delete
    /// of the interface stops holding it out of their OILs.
    pub(super) fn lift_forward_deletes(&mut self, sg: Sg, iface: IfKey) {
        for k in self.mfes_matching(sg) {
            if self
                .st
                .mfes
                .get_mut(&k)
                .is_some_and(|m| m.unforwarded.remove(&iface))
            {
                self.refresh_oil(k);
            }
        }
    }

    /// FORWARD_STATE: add or remove `iface` in the OIL of the existing MFEs of `sg`.
    fn forward_state(&mut self, sg: Sg, iface: IfKey, add: bool) {
        for k in self.mfes_matching(sg) {
            if let Some(m) = self.st.mfes.get_mut(&k) {
                if add {
                    m.forced.insert(iface);
                    m.vetoed.remove(&iface);
                    m.unforwarded.remove(&iface);
                } else {
                    m.forced.remove(&iface);
                    m.unforwarded.insert(iface);
                }
            }
            self.refresh_oil(k);
        }
    }
}

impl State {
    /// The protocols with a *delegated* record of `sg` on `iface` (IGMP, static joins on an
    /// interface a routing protocol owns).
    fn delegated_records(&self, sg: Sg, iface: IfKey) -> impl Iterator<Item = ProtocolHandle> + '_ {
        let (lo, hi) = (ProtocolHandle(0), ProtocolHandle(u32::MAX));
        self.members
            .get(&sg)
            .into_iter()
            .flat_map(move |m| m.records.range((iface, lo)..=(iface, hi)))
            .filter(|(_, effective)| !**effective)
            .map(|((_, p), _)| *p)
    }
}

impl<'a> ManagerView<'a> {
    /// Whether a client whose memberships on `iface` are delegated to its routing owner (IGMP,
    /// `static`) has `sg` there. What a routing owner mirrors: it keeps its own `sg` while this
    /// holds, whichever of them joined first or left last.
    pub fn delegated_membership(&self, sg: Sg, iface: IfKey) -> bool {
        self.st.delegated_records(sg, iface).next().is_some()
    }
    /// Whether a delegated client has (*,G) or (*,*) on `iface`.
    pub fn delegated_wildcard(&self, group: Ipv4Addr, iface: IfKey) -> bool {
        self.delegated_membership(Sg::star_g(group), iface)
            || self.delegated_membership(Sg::STAR_STAR, iface)
    }
    /// Whether the delegated clients on `iface` want (source, group) there: one has (S,G), or
    /// one has (*,G)/(*,*) and does not exclude (block) the source.
    pub fn delegated_wants(&self, source: Ipv4Addr, group: Ipv4Addr, iface: IfKey) -> bool {
        self.delegated_membership(Sg::sg(source, group), iface)
            || [Sg::star_g(group), Sg::STAR_STAR].into_iter().any(|w| {
                self.st
                    .delegated_records(w, iface)
                    .any(|p| !self.st.blocked.contains(&(group, source, iface, p)))
            })
    }
    /// The (source, group) pairs that delegated clients block on `iface`.
    pub fn delegated_blocks(&self, iface: IfKey) -> Vec<(Ipv4Addr, Ipv4Addr)> {
        self.st
            .blocked
            .iter()
            .filter(|(_, _, i, p)| *i == iface && self.st.delegate_of(*p, iface).is_some())
            .map(|(g, s, _, _)| (*s, *g))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    /// One entry per group: its size is the manager's memory per group, part of the ≤ 200 bytes
    /// per group that all tables together may take. Two records inline (16 bytes more than one)
    /// spare a (*,G) joined through IGMP its one heap block (48 bytes with malloc's header).
    #[test]
    fn the_members_of_one_sg_stay_small() {
        let n = std::mem::size_of::<super::SgMembers>();
        assert!(n <= 56, "{n} bytes");
    }
}
