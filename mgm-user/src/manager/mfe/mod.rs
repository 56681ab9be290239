//! The MFE table: creation on a new packet (RPF → OIL → creation alert → install), OIL
//! maintenance, lifetime, wrong-interface, get/first/next and statistics; static routes.
mod create;
pub(crate) use create::MfeRefusals;
pub use create::{NewPacket, WANTED_MFE_CEILING};
mod oil;
pub(crate) mod refused;
mod static_route;

pub(crate) use static_route::StaticMfe;
pub use static_route::StaticRouteInfo;

use super::events::EventArgs;
use super::types::{IfKey, MfeCounters, ProtocolHandle};
use super::{Invalid, Manager, ManagerView, MgmError, MgmResult, State};
use serde::Serialize;
use std::collections::BTreeSet;
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

/// Most due MFEs one [`Manager::on_deadline`] call handles (each costs a `SIOCGETSGCNT`, and a
/// delete when idle): a mass expiry takes several turns of the loop, like `RING_BUDGET`.
pub const MFE_DEADLINES_PER_CALL: usize = 256;

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
    /// The lifetime in force (seconds, 0 = never ages): `forward_timeout_s` while the OIL is
    /// non-empty, the prune alert's answer while it is empty.
    pub timeout_s: u32,
    /// The lifetime while forwarding: the default, or what [`Manager::set_mfe_timeout`] set
    /// while the OIL was non-empty. Receivers returning to an empty OIL restore it.
    pub forward_timeout_s: u32,
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
    /// Name of the protocol owning the incoming interface; "static" for a static route.
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

impl State {
    /// Adds an MFE to the table, counting it on its incoming interface. Every MFE goes in
    /// here (and out by [`Self::remove_mfe`]): an MFE's `iif` never changes in place (a route
    /// move deletes the entry and makes it again), so the count follows the table.
    pub(crate) fn insert_mfe(&mut self, k: MfeKey, m: Mfe) {
        let iif = m.iif;
        if let Some(old) = self.mfes.insert(k, m) {
            self.uncount_mfe(old.iif);
        }
        *self.mfes_by_iif.entry(iif).or_default() += 1;
    }

    /// Takes an MFE out of the table and off its incoming interface's count.
    pub(crate) fn remove_mfe(&mut self, k: MfeKey) -> Option<Mfe> {
        let m = self.mfes.remove(&k)?;
        self.uncount_mfe(m.iif);
        Some(m)
    }

    fn uncount_mfe(&mut self, iif: IfKey) {
        if let Some(n) = self.mfes_by_iif.get_mut(&iif) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                self.mfes_by_iif.remove(&iif);
            }
        }
    }

    /// How many MFEs arrive on `iif`.
    pub(crate) fn mfes_on(&self, iif: IfKey) -> usize {
        self.mfes_by_iif.get(&iif).copied().unwrap_or(0)
    }

    /// See [`Manager::mfe_share_limit`].
    pub(crate) fn mfe_share_limit(&self) -> usize {
        let max = self.cfg.max_mfes;
        let headroom = max.saturating_mul(WANTED_MFE_CEILING - 1);
        let share = (headroom / self.ifaces.len().max(1)).max(1);
        max.saturating_add(share)
    }

    /// The incoming interface holding the most MFEs, with its count.
    pub(crate) fn busiest_iif(&self) -> Option<(IfKey, usize)> {
        self.mfes_by_iif
            .iter()
            .max_by_key(|(_, n)| **n)
            .map(|(i, n)| (*i, *n))
    }
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
                .mfe_owner(*k, m.iif)
                .and_then(|h| self.st.protocols.get(&h))
                .map(|p| p.name.to_string()),
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

    /// Handles the MFE deadlines up to `now`, at most [`MFE_DEADLINES_PER_CALL`] of them, earliest
    /// first: the rest stay due ([`Self::next_deadline`] is then at or before `now`) for the next
    /// call. `read_counters` reads the kernel counters of an MFE (`SIOCGETSGCNT`); traffic
    /// accepted on its incoming interface since the last look extends the MFE, else it is
    /// deleted. Packets arriving on a wrong interface do not keep it
    /// alive (the kernel counts them in `packets` too), and no traffic keeps an entry made
    /// without a usable route ([`REJECTED_MFE_TIMEOUT_S`]).
    pub fn on_deadline(
        &mut self,
        now: u64,
        mut read_counters: impl FnMut(Ipv4Addr, Ipv4Addr) -> Option<MfeCounters>,
    ) {
        self.begin(now);
        for _ in 0..MFE_DEADLINES_PER_CALL {
            let Some(&(t, k)) = self.st.timers.first() else {
                break;
            };
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

    /// Sets an MFE's lifetime (seconds, 0 = never ages), counting from `now`. `CanNotComplete`
    /// for a static route's MFE (it never ages).
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

    /// Deletes an MFE whose incoming interface `h` owns (`InvalidParameter` for another's,
    /// `NotFound` for none). The next packet makes it again, with an RPF callback.
    pub fn remove_mfe(
        &mut self,
        now: u64,
        h: ProtocolHandle,
        source: Ipv4Addr,
        group: Ipv4Addr,
    ) -> MgmResult<()> {
        self.begin(now);
        let r = (|| {
            self.st.check_handle(h)?;
            let k = MfeKey { group, source };
            let m = self.st.mfes.get(&k).ok_or(MgmError::NotFound)?;
            if !self.st.ifaces.get(&m.iif).is_some_and(|i| i.is_owned_by(h)) {
                return Err(MgmError::InvalidParameter(Invalid::NotOwner));
            }
            self.delete_mfe(k);
            Ok(())
        })();
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
        if self.st.is_static_mfe(k) {
            // A static route never ages.
            return Err(MgmError::CanNotComplete);
        }
        let m = self.st.mfes.get_mut(&k).ok_or(MgmError::NotFound)?;
        // Set while forwarding, it is the forwarding lifetime; set while the OIL is empty (e.g.
        // queued from a prune alert), it lasts only until receivers return.
        if !m.oil.is_empty() {
            m.forward_timeout_s = timeout_s;
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
