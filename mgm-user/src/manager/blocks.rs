//! IGMPv3 excluded sources (EXCLUDE mode): per-(S,G,interface) *blocks*, an mgm extension to
//! MGM. A block is a protocol's, like a membership: it holds the interface out of the OIL of
//! (S,G) only where that protocol's memberships are what feed OILs there (the routing owner,
//! or IGMP where no routing protocol owns the interface). IGMP's block on an interface a
//! routing protocol owns is *delegated*: recorded, and told to the owner in MGM's own words,
//! as IGMP no longer having receivers for (S,G) there (`local_leave` (S,G)), and an unblock as
//! having them again (`local_join` (S,G)), while IGMP's (*,G)/(*,*) membership wants the
//! group there. The owner decides, as for any local leave.
use super::mfe::MfeKey;
use super::types::{IfKey, MembershipFlags, ProtocolHandle, Sg};
use super::{Manager, ManagerView, MgmError, MgmResult, State};
use std::net::Ipv4Addr;

impl Manager {
    /// IGMPv3 excluded source: `h` wants `iface` out of the OIL of (source, group) although it
    /// has (*,G) or (*,*) membership there. Idempotent. Where `h` is IGMP on an interface a
    /// routing protocol owns, the owner decides (see the module documentation).
    pub fn block_source(
        &mut self,
        now: u64,
        h: ProtocolHandle,
        source: Ipv4Addr,
        group: Ipv4Addr,
        iface: IfKey,
    ) -> MgmResult<()> {
        self.begin(now);
        let r = self.do_block(h, source, group, iface, true);
        self.finish(r)
    }

    /// Undoes [`Manager::block_source`]; `NotFound` if `h` has not blocked it.
    pub fn unblock_source(
        &mut self,
        now: u64,
        h: ProtocolHandle,
        source: Ipv4Addr,
        group: Ipv4Addr,
        iface: IfKey,
    ) -> MgmResult<()> {
        self.begin(now);
        let r = self.do_block(h, source, group, iface, false);
        self.finish(r)
    }

    pub(crate) fn do_block(
        &mut self,
        h: ProtocolHandle,
        source: Ipv4Addr,
        group: Ipv4Addr,
        iface: IfKey,
        block: bool,
    ) -> MgmResult<()> {
        let sg = Sg::sg(source, group);
        self.check_member_call(h, sg, iface, MembershipFlags::JOIN_STATE)?;
        let key = (group, source, iface, h);
        if block {
            if !self.st.blocked.insert(key) {
                return Ok(());
            }
        } else if !self.st.blocked.remove(&key) {
            return Err(MgmError::NotFound);
        }
        match self.st.delegate_of(h, iface) {
            Some(r) => {
                if self.st.exclusion_matters(h, source, group, iface) {
                    self.local_call(r, sg, iface, !block);
                }
            }
            None => self.refresh_oil(MfeKey { group, source }),
        }
        Ok(())
    }

    /// Removes every block of `h` on `iface` (its ownership there ends or changes); the OILs
    /// it held back are updated.
    pub(crate) fn drop_blocks(&mut self, h: ProtocolHandle, iface: IfKey) {
        let gone: Vec<_> = self
            .st
            .blocked
            .iter()
            .filter(|(_, _, i, p)| *i == iface && *p == h)
            .copied()
            .collect();
        for key @ (group, source, _, _) in gone {
            self.st.blocked.remove(&key);
            self.refresh_oil(MfeKey { group, source });
        }
    }
}

impl State {
    /// The routing owner `h`'s memberships and blocks on `iface` are delegated to: `Some`
    /// when `h` is IGMP and a routing protocol owns the interface.
    pub(crate) fn delegate_of(&self, h: ProtocolHandle, iface: IfKey) -> Option<ProtocolHandle> {
        let r = self.routing_owner(iface)?;
        (r != h && self.is_igmp(h)).then_some(r)
    }

    pub(crate) fn has_record(&self, h: ProtocolHandle, sg: Sg, iface: IfKey) -> bool {
        self.members
            .get(&sg)
            .is_some_and(|m| m.records.contains_key(&(iface, h)))
    }

    /// `h` has (*,G) or (*,*) membership on `iface`.
    pub(crate) fn wildcard_member(&self, h: ProtocolHandle, group: Ipv4Addr, iface: IfKey) -> bool {
        self.has_record(h, Sg::star_g(group), iface) || self.has_record(h, Sg::STAR_STAR, iface)
    }

    /// Whether `h` excluding `source` changes what it wants on `iface`: it wants the group
    /// through a wildcard membership and does not ask for (S,G) explicitly (which wins).
    pub(crate) fn exclusion_matters(
        &self,
        h: ProtocolHandle,
        source: Ipv4Addr,
        group: Ipv4Addr,
        iface: IfKey,
    ) -> bool {
        self.wildcard_member(h, group, iface) && !self.has_record(h, Sg::sg(source, group), iface)
    }

    /// The interfaces the wildcard membership `w` ((*,G) or (*,*)) puts in the OIL of
    /// (source, group): those where a protocol whose memberships feed OILs there has `w` and
    /// does not block the source (another such protocol's block does not hold it out).
    pub(crate) fn wildcard_oifs(
        &self,
        w: Sg,
        source: Ipv4Addr,
        group: Ipv4Addr,
    ) -> impl Iterator<Item = IfKey> + '_ {
        self.members
            .get(&w)
            .into_iter()
            .flat_map(|m| m.records.iter())
            .filter(move |((i, p), effective)| {
                **effective && !self.blocked.contains(&(group, source, *i, *p))
            })
            .map(|((i, _), _)| *i)
    }

    /// Whether `sg` is a wildcard ((*,G) or (*,*)) and some protocol blocks a source of its
    /// groups on `iface`: then which protocols have `sg` there, not only whether one has, decides
    /// the OILs ([`Self::wildcard_oifs`]).
    pub(crate) fn wildcard_meets_blocks(&self, sg: Sg, iface: IfKey) -> bool {
        if sg.source.is_some() {
            return false;
        }
        let lo = (
            sg.group.unwrap_or(Ipv4Addr::UNSPECIFIED),
            Ipv4Addr::UNSPECIFIED,
            IfKey::new(0),
            ProtocolHandle(0),
        );
        self.blocked
            .range(lo..)
            .take_while(|(g, ..)| sg.group.is_none_or(|w| w == *g))
            .any(|(_, _, i, _)| *i == iface)
    }

    /// Before `h` adds the wildcard membership `sg` on `iface`: the (S,G) its blocks there
    /// will exclude from it and that no wildcard of `h` covered yet.
    pub(crate) fn blocks_newly_covered(&self, h: ProtocolHandle, sg: Sg, iface: IfKey) -> Vec<Sg> {
        if sg.source.is_some() {
            return Vec::new();
        }
        self.blocked
            .iter()
            .filter(|(g, _, i, p)| *i == iface && *p == h && sg.group.is_none_or(|w| w == *g))
            .filter(|(g, s, _, _)| {
                !self.wildcard_member(h, *g, iface) && !self.has_record(h, Sg::sg(*s, *g), iface)
            })
            .map(|(g, s, _, _)| Sg::sg(*s, *g))
            .collect()
    }
}

impl<'a> ManagerView<'a> {
    /// Whether `h` has the membership `sg` on `iface` (effective or delegated).
    pub fn has_membership(&self, h: ProtocolHandle, sg: Sg, iface: IfKey) -> bool {
        self.st.has_record(h, sg, iface)
    }
    /// Whether `h` has (*,G) or (*,*) membership on `iface`.
    pub fn has_wildcard_membership(
        &self,
        h: ProtocolHandle,
        group: Ipv4Addr,
        iface: IfKey,
    ) -> bool {
        self.st.wildcard_member(h, group, iface)
    }
    /// Whether `h` blocks (source, group) on `iface`.
    pub fn is_blocked(
        &self,
        h: ProtocolHandle,
        source: Ipv4Addr,
        group: Ipv4Addr,
        iface: IfKey,
    ) -> bool {
        self.st.blocked.contains(&(group, source, iface, h))
    }
    /// The (source, group) pairs `h` blocks on `iface`.
    pub fn blocks(&self, h: ProtocolHandle, iface: IfKey) -> Vec<(Ipv4Addr, Ipv4Addr)> {
        self.st
            .blocked
            .iter()
            .filter(|(_, _, i, p)| *i == iface && *p == h)
            .map(|(g, s, _, _)| (*s, *g))
            .collect()
    }
    /// The IGMP client on `iface`, if any.
    pub fn igmp_client(&self, iface: IfKey) -> Option<ProtocolHandle> {
        self.st.ifaces.get(&iface).and_then(|i| i.igmp)
    }
}
