//! The MFE table: creation on a new packet (RPF → OIL → creation alert → install), OIL
//! maintenance, lifetime, wrong-interface, get/first/next and statistics.
use super::actions::ForwarderAction;
use super::callbacks::{CreationIf, PruneAlert, RpfRequest, RpfRoute, RpfVerdict};
use super::events::{EventArgs, EventKind};
use super::types::{IfKey, MfeCounters, ProtocolHandle, Sg};
use super::{Manager, ManagerView, MgmError, MgmResult};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;
use std::ops::Bound;

const NS_PER_S: u64 = 1_000_000_000;

/// MFE key, ordered by group then source (the MGM walk order).
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct MfeKey {
    pub group: Ipv4Addr,
    pub source: Ipv4Addr,
}

/// Lifetime cap of an MFE made without a usable route (no route towards the source, or one
/// through an unmanaged interface): traffic does not extend it, so RPF runs again soon.
pub const REJECTED_MFE_TIMEOUT_S: u32 = 15;

#[derive(Debug, Clone)]
pub(crate) struct Mfe {
    pub iif: IfKey,
    pub upstream: Ipv4Addr,
    /// RPF failed or was refused: a negative entry whatever the membership.
    pub rejected: bool,
    pub oil: BTreeSet<IfKey>,
    /// Creation-alert vetoes: for the MFE's life (a FORWARD_STATE add lifts one).
    pub vetoed: BTreeSet<IfKey>,
    /// FORWARD_STATE adds.
    pub forced: BTreeSet<IfKey>,
    /// FORWARD_STATE deletes: lifted by any later add on the interface (JOIN or FORWARD).
    pub unforwarded: BTreeSet<IfKey>,
    /// The FIB's answer towards the source when the MFE was made (before any RPF override).
    pub fib_ifindex: Option<u32>,
    pub timeout_s: u32,
    pub created_ns: u64,
    pub expires_ns: Option<u64>,
    pub counters: MfeCounters,
}

/// One MFE as `mgm show mfe` and `MgmGetMfe`/`MgmGetMfeStats` report it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct MfeInfo {
    pub source: Ipv4Addr,
    pub group: Ipv4Addr,
    pub upstream: Ipv4Addr,
    pub iif: IfKey,
    /// Name of the protocol owning the incoming interface.
    pub protocol: Option<String>,
    pub oifs: Vec<IfKey>,
    /// Installed with an empty OIL (also when RPF failed).
    pub negative: bool,
    pub timeout_s: u32,
    pub up_time_ms: u64,
    /// `None`: never ages.
    pub expires_in_ms: Option<u64>,
    pub packets: u64,
    pub bytes: u64,
    pub wrong_if: u64,
}

impl<'a> ManagerView<'a> {
    fn info(&self, k: &MfeKey, m: &Mfe) -> MfeInfo {
        MfeInfo {
            source: k.source,
            group: k.group,
            upstream: m.upstream,
            iif: m.iif,
            protocol: self
                .st
                .owner(m.iif)
                .and_then(|h| self.st.protocols.get(&h))
                .map(|p| p.name.clone()),
            oifs: m.oil.iter().copied().collect(),
            negative: m.oil.is_empty(),
            timeout_s: m.timeout_s,
            up_time_ms: self.now.saturating_sub(m.created_ns) / 1_000_000,
            expires_in_ms: m.expires_ns.map(|e| e.saturating_sub(self.now) / 1_000_000),
            packets: m.counters.packets,
            bytes: m.counters.bytes,
            wrong_if: m.counters.wrong_if,
        }
    }
    /// `MgmGetMfe` / `MgmGetMfeStats`.
    pub fn mfe(&self, source: Ipv4Addr, group: Ipv4Addr) -> MgmResult<MfeInfo> {
        let k = MfeKey { group, source };
        let m = self.st.mfes.get(&k).ok_or(MgmError::NotFound)?;
        Ok(self.info(&k, m))
    }
    /// `MgmGetFirstMfe`: up to `max` entries from the start; the flag says more remain.
    pub fn mfe_first(&self, max: usize) -> (Vec<MfeInfo>, bool) {
        self.walk(Bound::Unbounded, max)
    }
    /// `MgmGetNextMfe`: up to `max` entries after (source, group).
    pub fn mfe_next(&self, source: Ipv4Addr, group: Ipv4Addr, max: usize) -> (Vec<MfeInfo>, bool) {
        self.walk(Bound::Excluded(MfeKey { group, source }), max)
    }
    fn walk(&self, from: Bound<MfeKey>, max: usize) -> (Vec<MfeInfo>, bool) {
        let mut it = self.st.mfes.range((from, Bound::Unbounded));
        let v: Vec<MfeInfo> = it
            .by_ref()
            .take(max)
            .map(|(k, m)| self.info(k, m))
            .collect();
        (v, it.next().is_some())
    }
    /// Every MFE in walk order (`mgm show mfe`).
    pub fn mfe_table(&self) -> Vec<MfeInfo> {
        self.st.mfes.iter().map(|(k, m)| self.info(k, m)).collect()
    }
}

impl Manager {
    /// Kernel `NOCACHE` upcall: a packet from `source` to `group` arrived on `arrival_ifindex`
    /// and the kernel has no MFE. Runs RPF, builds the OIL, runs the creation alert and installs
    /// the MFE (negative if nobody wants it). For an MFE that already exists it re-installs it.
    pub fn new_packet(
        &mut self,
        now: u64,
        source: Ipv4Addr,
        group: Ipv4Addr,
        arrival_ifindex: u32,
        header: &[u8],
    ) -> MgmResult<()> {
        self.begin(now);
        let r = self.do_new_packet(source, group, arrival_ifindex, header);
        self.finish(r)
    }

    /// Kernel `WRONGVIF` upcall: `wrong_interface` to the owner of the arrival interface.
    pub fn wrong_interface(
        &mut self,
        now: u64,
        source: Ipv4Addr,
        group: Ipv4Addr,
        arrival_ifindex: u32,
        header: &[u8],
    ) -> MgmResult<()> {
        self.begin(now);
        let r = (|| {
            let iface = self
                .st
                .iface_for(arrival_ifindex, Ipv4Addr::UNSPECIFIED)
                .ok_or(MgmError::NotFound)?;
            if let Some(o) = self.st.routing_owner(iface) {
                let called = self.invoke(
                    o,
                    EventKind::WrongInterface,
                    Some(iface),
                    Sg::sg(source, group),
                    |hd, ctx| hd.wrong_interface(ctx, source, group, iface, header),
                );
                if called.is_some() {
                    let iif = self.st.mfes.get(&MfeKey { group, source }).map(|m| m.iif);
                    self.annotate(EventArgs::WrongInterface {
                        arrival: iface,
                        iif,
                    });
                }
            }
            // The route towards the source may have moved to the arrival interface: then the MFE
            // is stale (its iif no longer passes RPF) and its traffic is dropped as wrong-if
            // forever. Rebuild it from the current route, as for a first packet.
            // (Only a change of the FIB's answer counts: an RPF callback may have chosen another
            // incoming interface than the FIB on purpose.)
            let k = MfeKey { group, source };
            let fib_now = self.rpf.lookup(source).map(|r| r.ifindex);
            let stale =
                fib_now == Some(arrival_ifindex)
                    && self.st.mfes.get(&k).is_some_and(|m| {
                        m.iif.ifindex != arrival_ifindex && m.fib_ifindex != fib_now
                    });
            if stale {
                let (forced, unforwarded) = self
                    .st
                    .mfes
                    .get(&k)
                    .map(|m| (m.forced.clone(), m.unforwarded.clone()))
                    .unwrap_or_default();
                self.delete_mfe(k);
                self.do_new_packet(source, group, arrival_ifindex, header)?;
                // The protocols' FORWARD_STATE instructions outlive the rebuild.
                if let Some(m) = self.st.mfes.get_mut(&k) {
                    m.forced = forced;
                    m.unforwarded = unforwarded;
                }
                self.refresh_oil(k);
            }
            Ok(())
        })();
        self.finish(r)
    }

    /// Fresh kernel counters for an MFE: new packets extend its life by its timeout.
    pub fn on_traffic(
        &mut self,
        now: u64,
        source: Ipv4Addr,
        group: Ipv4Addr,
        counters: MfeCounters,
    ) -> MgmResult<()> {
        let k = MfeKey { group, source };
        let m = self.st.mfes.get_mut(&k).ok_or(MgmError::NotFound)?;
        let moved = !m.rejected && counters.forwarded() != m.counters.forwarded();
        m.counters = counters;
        if moved {
            let t = m.timeout_s;
            self.schedule(k, now, t);
        }
        Ok(())
    }

    /// The earliest MFE deadline, if any.
    pub fn next_deadline(&self) -> Option<u64> {
        self.st.timers.first().map(|(t, _)| *t)
    }

    /// Handles every MFE deadline up to `now`. `read_counters` reads the kernel counters of an
    /// MFE (`SIOCGETSGCNT`); traffic accepted on its incoming interface since the last look
    /// extends the MFE, else it is deleted. Packets arriving on a wrong interface do not keep it
    /// alive (the kernel counts them in `packets` too), and no traffic keeps an entry made
    /// without a usable route ([`REJECTED_MFE_TIMEOUT_S`]).
    pub fn on_deadline(
        &mut self,
        now: u64,
        mut read_counters: impl FnMut(Ipv4Addr, Ipv4Addr) -> Option<MfeCounters>,
    ) {
        self.begin(now);
        while let Some(&(t, k)) = self.st.timers.first() {
            if t > now {
                break;
            }
            self.st.timers.pop_first();
            let Some(m) = self.st.mfes.get_mut(&k) else {
                continue;
            };
            m.expires_ns = None;
            match read_counters(k.source, k.group) {
                Some(c) if !m.rejected && c.forwarded() != m.counters.forwarded() => {
                    m.counters = c;
                    let t = m.timeout_s;
                    self.schedule(k, now, t);
                }
                other => {
                    if let Some(c) = other {
                        m.counters = c;
                    }
                    self.delete_mfe(k);
                }
            }
        }
        self.run_queue();
    }

    /// Sets an MFE's lifetime (seconds, 0 = never ages), counting from `now`.
    pub fn set_mfe_timeout(
        &mut self,
        now: u64,
        h: ProtocolHandle,
        source: Ipv4Addr,
        group: Ipv4Addr,
        timeout_s: u32,
    ) -> MgmResult<()> {
        self.begin(now);
        let r = self.do_set_mfe_timeout(h, source, group, timeout_s);
        self.finish(r)
    }

    /// `MgmSetMfe`: changes the upstream neighbour of an MFE.
    pub fn set_mfe_upstream(
        &mut self,
        now: u64,
        h: ProtocolHandle,
        source: Ipv4Addr,
        group: Ipv4Addr,
        upstream: Ipv4Addr,
    ) -> MgmResult<()> {
        self.begin(now);
        let r = self.do_set_mfe_upstream(h, source, group, upstream);
        self.finish(r)
    }

    pub(crate) fn do_set_mfe_timeout(
        &mut self,
        h: ProtocolHandle,
        source: Ipv4Addr,
        group: Ipv4Addr,
        timeout_s: u32,
    ) -> MgmResult<()> {
        self.st.check_handle(h)?;
        let k = MfeKey { group, source };
        if !self.st.mfes.contains_key(&k) {
            return Err(MgmError::NotFound);
        }
        self.schedule(k, self.now, timeout_s);
        Ok(())
    }

    pub(crate) fn do_set_mfe_upstream(
        &mut self,
        h: ProtocolHandle,
        source: Ipv4Addr,
        group: Ipv4Addr,
        upstream: Ipv4Addr,
    ) -> MgmResult<()> {
        self.st.check_handle(h)?;
        let m = self
            .st
            .mfes
            .get_mut(&MfeKey { group, source })
            .ok_or(MgmError::NotFound)?;
        m.upstream = upstream;
        Ok(())
    }

    /// Sets the timeout of `k` and its deadline `now + timeout` (none for 0).
    fn schedule(&mut self, k: MfeKey, now: u64, timeout_s: u32) {
        let Some(m) = self.st.mfes.get_mut(&k) else {
            return;
        };
        if let Some(old) = m.expires_ns.take() {
            self.st.timers.remove(&(old, k));
        }
        // An entry made without a usable route lives briefly whatever is asked, so the next
        // packet after it goes runs RPF again (the route may exist by then).
        let timeout_s = if m.rejected {
            match timeout_s {
                0 => REJECTED_MFE_TIMEOUT_S,
                t => t.min(REJECTED_MFE_TIMEOUT_S),
            }
        } else {
            timeout_s
        };
        m.timeout_s = timeout_s;
        if timeout_s > 0 {
            let mut at = now.saturating_add(u64::from(timeout_s) * NS_PER_S);
            if m.rejected {
                // Counted from creation: nothing extends a negative entry made without a route.
                let cap = m
                    .created_ns
                    .saturating_add(u64::from(REJECTED_MFE_TIMEOUT_S) * NS_PER_S);
                at = at.min(cap);
            }
            m.expires_ns = Some(at);
            self.st.timers.insert((at, k));
        }
    }

    fn do_new_packet(
        &mut self,
        source: Ipv4Addr,
        group: Ipv4Addr,
        arrival_ifindex: u32,
        header: &[u8],
    ) -> MgmResult<()> {
        let sg = Sg::sg(source, group);
        if !sg.is_valid() {
            return Err(MgmError::InvalidParameter);
        }
        let k = MfeKey { group, source };
        if self.st.mfes.contains_key(&k) {
            self.push_set(k);
            return Ok(());
        }
        let arrival = self
            .st
            .iface_for(arrival_ifindex, Ipv4Addr::UNSPECIFIED)
            .ok_or(MgmError::NotFound)?;
        // 1. RPF lookup, then the RPF callback to the owner of the incoming interface.
        let route = self.rpf.lookup(source);
        let (iif, upstream, rejected) = self.rpf_step(source, group, arrival, route, header);
        // 2. The MFE with its candidate OIL.
        let mut mfe = Mfe {
            iif,
            upstream,
            rejected,
            oil: BTreeSet::new(),
            vetoed: BTreeSet::new(),
            forced: BTreeSet::new(),
            unforwarded: BTreeSet::new(),
            fib_ifindex: route.map(|r| r.ifindex),
            timeout_s: self.st.cfg.default_mfe_timeout_s,
            created_ns: self.now,
            expires_ns: None,
            counters: MfeCounters::default(),
        };
        let candidates = self.compute_oil(k, &mfe);
        // 3. Creation alert to each routing owner of OIL interfaces, with its interfaces only.
        let vetoed = self.creation_alerts(source, group, iif, &candidates);
        mfe.vetoed.extend(vetoed);
        // 4. Install.
        mfe.oil = self.compute_oil(k, &mfe);
        let empty = mfe.oil.is_empty();
        let timeout = mfe.timeout_s;
        self.st.mfes.insert(k, mfe);
        self.schedule(k, self.now, timeout);
        self.push_set(k);
        let owner = self.st.owner(iif);
        self.emit(EventKind::MfeAdd, owner, Some(iif), sg);
        self.annotate(self.mfe_args(k));
        // 5. Join alert (OIL non-empty) or prune alert (negative entry) to the RPF owner.
        if empty {
            self.mfe_prune_alert(k);
        } else {
            self.mfe_join_alert(k);
        }
        Ok(())
    }

    /// RPF for a new MFE: the incoming interface and upstream neighbour from the FIB's `route`,
    /// then the RPF callback to the owner of that interface, which may change them or refuse.
    /// Returns (incoming interface, upstream, rejected).
    fn rpf_step(
        &mut self,
        source: Ipv4Addr,
        group: Ipv4Addr,
        arrival: IfKey,
        route: Option<RpfRoute>,
        header: &[u8],
    ) -> (IfKey, Ipv4Addr, bool) {
        let sg = Sg::sg(source, group);
        let mut rejected = false;
        let (mut iif, mut upstream) = match route {
            None => {
                rejected = true;
                (arrival, Ipv4Addr::UNSPECIFIED)
            }
            Some(r) => {
                let up = if r.gateway.is_unspecified() {
                    source
                } else {
                    r.gateway
                };
                match self.st.iface_for(r.ifindex, r.gateway) {
                    Some(i) => (i, up),
                    None => {
                        rejected = true;
                        (arrival, up)
                    }
                }
            }
        };
        if !rejected {
            if let Some(o) = self.st.routing_owner(iif) {
                let mut req = RpfRequest {
                    source,
                    group,
                    arrival,
                    in_iface: iif,
                    upstream,
                    header,
                };
                let called = self.invoke(o, EventKind::Rpf, Some(iif), sg, |hd, ctx| {
                    hd.rpf(ctx, &mut req)
                });
                let v = called.unwrap_or_default();
                if called.is_some() {
                    self.annotate(EventArgs::Rpf {
                        arrival,
                        iif: req.in_iface,
                        upstream: req.upstream,
                        verdict: v,
                    });
                }
                upstream = req.upstream;
                if self.st.ifaces.contains_key(&req.in_iface) {
                    iif = req.in_iface;
                } else {
                    iif = arrival;
                    rejected = true;
                }
                if v == RpfVerdict::Reject {
                    rejected = true;
                }
            }
        }
        (iif, upstream, rejected)
    }

    /// The creation alert of a new MFE to each routing owner of `candidates` (the OIL), with
    /// its interfaces only. Returns the vetoed interfaces.
    fn creation_alerts(
        &mut self,
        source: Ipv4Addr,
        group: Ipv4Addr,
        iif: IfKey,
        candidates: &BTreeSet<IfKey>,
    ) -> Vec<IfKey> {
        let sg = Sg::sg(source, group);
        let mut vetoed = Vec::new();
        let mut by_owner: BTreeMap<ProtocolHandle, Vec<CreationIf>> = BTreeMap::new();
        for i in candidates {
            let Some(ifc) = self.st.ifaces.get(i) else {
                continue;
            };
            if let Some(o) = ifc.routing {
                by_owner.entry(o).or_default().push(CreationIf {
                    iface: *i,
                    igmp: ifc.igmp.is_some(),
                    enabled: true,
                });
            }
        }
        for (o, mut list) in by_owner {
            let called = self.invoke(o, EventKind::CreationAlert, Some(iif), sg, |hd, ctx| {
                hd.creation_alert(ctx, source, group, iif, &mut list)
            });
            if called.is_some() {
                let (kept, vetoed): (Vec<&CreationIf>, Vec<&CreationIf>) =
                    list.iter().partition(|e| e.enabled);
                self.annotate(EventArgs::CreationAlert {
                    oifs: kept.iter().map(|e| e.iface).collect(),
                    vetoed: vetoed.iter().map(|e| e.iface).collect(),
                });
            }
            vetoed.extend(list.iter().filter(|e| !e.enabled).map(|e| e.iface));
        }
        vetoed
    }

    /// OIL of an MFE from memberships, blocks, vetoes and forward-state overrides.
    pub(crate) fn compute_oil(&self, k: MfeKey, m: &Mfe) -> BTreeSet<IfKey> {
        let mut oil = BTreeSet::new();
        if m.rejected {
            return oil;
        }
        if let Some(e) = self.st.members.get(&Sg::sg(k.source, k.group)) {
            oil.extend(e.eff_ifaces.keys().copied());
        }
        for w in [Sg::star_g(k.group), Sg::STAR_STAR] {
            if let Some(e) = self.st.members.get(&w) {
                for i in e.eff_ifaces.keys() {
                    if !self.st.blocked.contains(&(k.group, k.source, *i)) {
                        oil.insert(*i);
                    }
                }
            }
        }
        oil.extend(
            m.forced
                .iter()
                .filter(|i| self.st.ifaces.contains_key(i))
                .copied(),
        );
        for v in m.vetoed.iter().chain(&m.unforwarded) {
            oil.remove(v);
        }
        oil.remove(&m.iif);
        oil
    }

    /// Recomputes the OIL of `k`; on change: `SetMfe`, `mfe_update`, then the OIL alerts.
    pub(crate) fn refresh_oil(&mut self, k: MfeKey) {
        let Some(m) = self.st.mfes.get(&k) else {
            return;
        };
        let new = self.compute_oil(k, m);
        if new == m.oil {
            return;
        }
        let m = self.st.mfes.get_mut(&k).expect("present");
        let was_empty = m.oil.is_empty();
        m.oil = new;
        let is_empty = m.oil.is_empty();
        let iif = m.iif;
        self.push_set(k);
        let owner = self.st.owner(iif);
        self.emit(
            EventKind::MfeUpdate,
            owner,
            Some(iif),
            Sg::sg(k.source, k.group),
        );
        self.annotate(self.mfe_args(k));
        if was_empty && !is_empty {
            self.mfe_join_alert(k);
        } else if !was_empty && is_empty {
            self.mfe_prune_alert(k);
        }
    }

    fn mfe_join_alert(&mut self, k: MfeKey) {
        let Some(iif) = self.st.mfes.get(&k).map(|m| m.iif) else {
            return;
        };
        if let Some(o) = self.st.routing_owner(iif) {
            let sg = Sg::sg(k.source, k.group);
            let called = self.invoke(o, EventKind::JoinAlert, Some(iif), sg, |hd, ctx| {
                hd.join_alert(ctx, sg, false)
            });
            if called.is_some() {
                self.annotate(EventArgs::JoinAlert {
                    member_update: false,
                });
            }
        }
    }

    fn mfe_prune_alert(&mut self, k: MfeKey) {
        let Some((iif, mut t)) = self.st.mfes.get(&k).map(|m| (m.iif, m.timeout_s)) else {
            return;
        };
        let Some(o) = self.st.routing_owner(iif) else {
            return;
        };
        let sg = Sg::sg(k.source, k.group);
        let alert = PruneAlert {
            sg,
            iface: iif,
            member_delete: false,
        };
        let called = self.invoke(o, EventKind::PruneAlert, Some(iif), sg, |hd, ctx| {
            hd.prune_alert(ctx, &alert, &mut t)
        });
        if called.is_some() {
            self.annotate(EventArgs::PruneAlert {
                member_delete: false,
                timeout_s: t,
            });
        }
        self.schedule(k, self.now, t);
    }

    fn push_set(&mut self, k: MfeKey) {
        let m = &self.st.mfes[&k];
        let mut oifs: Vec<u32> = m
            .oil
            .iter()
            .map(|i| i.ifindex)
            .filter(|i| *i != m.iif.ifindex)
            .collect();
        oifs.dedup();
        self.actions.push(ForwarderAction::SetMfe {
            source: k.source,
            group: k.group,
            iif: m.iif.ifindex,
            oifs,
        });
    }

    /// Removes an MFE: `DelMfe`, `mfe_delete`. No callback (MGM has none for deletions).
    pub(crate) fn delete_mfe(&mut self, k: MfeKey) {
        let Some(m) = self.st.mfes.remove(&k) else {
            return;
        };
        if let Some(t) = m.expires_ns {
            self.st.timers.remove(&(t, k));
        }
        self.actions.push(ForwarderAction::DelMfe {
            source: k.source,
            group: k.group,
            iif: m.iif.ifindex,
        });
        let owner = self.st.owner(m.iif);
        self.emit(
            EventKind::MfeDelete,
            owner,
            Some(m.iif),
            Sg::sg(k.source, k.group),
        );
        self.annotate(EventArgs::Mfe {
            iif: m.iif,
            oifs: m.oil.iter().copied().collect(),
            upstream: m.upstream,
            negative: m.rejected,
        });
    }

    /// The event arguments of an MFE as it stands.
    fn mfe_args(&self, k: MfeKey) -> EventArgs {
        match self.st.mfes.get(&k) {
            Some(m) => EventArgs::Mfe {
                iif: m.iif,
                oifs: m.oil.iter().copied().collect(),
                upstream: m.upstream,
                negative: m.rejected,
            },
            None => EventArgs::None,
        }
    }

    /// `MgmGetMfe` / stats (convenience for [`ManagerView::mfe`]).
    pub fn mfe(&self, now: u64, source: Ipv4Addr, group: Ipv4Addr) -> MgmResult<MfeInfo> {
        self.view(now).mfe(source, group)
    }
    /// `MgmGetFirstMfe`.
    pub fn mfe_first(&self, now: u64, max: usize) -> (Vec<MfeInfo>, bool) {
        self.view(now).mfe_first(max)
    }
    /// `MgmGetNextMfe`.
    pub fn mfe_next(
        &self,
        now: u64,
        source: Ipv4Addr,
        group: Ipv4Addr,
        max: usize,
    ) -> (Vec<MfeInfo>, bool) {
        self.view(now).mfe_next(source, group, max)
    }
    /// `mgm show mfe`.
    pub fn mfe_table(&self, now: u64) -> Vec<MfeInfo> {
        self.view(now).mfe_table()
    }
}
