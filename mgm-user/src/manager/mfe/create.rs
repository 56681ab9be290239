//! MFE creation: the kernel's NOCACHE upcall → RPF (the FIB, then the RPF owner's callback)
//! → OIL → creation alerts → the MFE (negative when nobody wants it); the WRONGVIF upcall.
use super::{Mfe, MfeKey};
use crate::manager::callbacks::{Answer, CreationIf, RpfRequest, RpfRoute, RpfVerdict};
use crate::manager::events::{EventArgs, EventKind};
use crate::manager::types::{IfKey, MfeCounters, ProtocolHandle, Sg};
use crate::manager::{Invalid, Manager, MgmError, MgmResult};
use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;

/// What [`Manager::new_packet`] did.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum NewPacket {
    /// The MFE is installed (or was already, and is installed again).
    Installed,
    /// A protocol's RPF or creation-alert answer is pending ([`RpfVerdict::Pending`],
    /// [`Answer::Pending`]): nothing is installed; offer the packet again when it is in.
    Pending,
    /// The MFE bound refused the entry: nobody wants it (or its packet arrived off its RPF
    /// interface) and the table is at [`crate::manager::ManagerConfig::max_mfes`], or the table
    /// is at [`WANTED_MFE_CEILING`] times that. Nothing is installed (the kernel drops its
    /// unresolved entry after 10 s).
    Refused,
}

/// The hard ceiling of the MFE table, in multiples of
/// [`crate::manager::ManagerConfig::max_mfes`]: past it even an entry receivers want is refused.
pub const WANTED_MFE_CEILING: usize = 4;

/// Why the bound refused a new MFE.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum Refusal {
    /// Nobody wants it, or it forwards nothing (its packet came off the RPF interface).
    Idle,
    /// At the hard ceiling.
    Wanted,
    /// Past `max_mfes`, its incoming interface holds its limit ([`Manager::mfe_share_limit`]).
    Share(IfKey),
}

/// The MFE bound's refusals and their log lines.
#[derive(Default)]
pub(crate) struct MfeRefusals {
    pub idle: u64,
    pub wanted: u64,
    idle_log: crate::time::RateLimit,
    wanted_log: crate::time::RateLimit,
}

impl Manager {
    /// Kernel `NOCACHE` upcall: a packet from `source` to `group` arrived on `arrival_ifindex`
    /// and the kernel has no MFE. Runs RPF, builds the OIL, runs the creation alert and installs
    /// the MFE (negative if nobody wants it). For an MFE that already exists it re-installs it.
    /// When a protocol's answer is pending nothing is made ([`NewPacket::Pending`]); the
    /// callbacks of that run are made again, in order, when the packet is offered again.
    pub fn new_packet(
        &mut self,
        now: u64,
        source: Ipv4Addr,
        group: Ipv4Addr,
        arrival_ifindex: u32,
        header: &[u8],
    ) -> MgmResult<NewPacket> {
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
            if stale && !self.st.is_static_mfe(k) {
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

    pub(super) fn do_new_packet(
        &mut self,
        source: Ipv4Addr,
        group: Ipv4Addr,
        arrival_ifindex: u32,
        header: &[u8],
    ) -> MgmResult<NewPacket> {
        let sg = Sg::sg(source, group);
        if !sg.is_valid() {
            return Err(MgmError::InvalidParameter(Invalid::MalformedSg));
        }
        let k = MfeKey { group, source };
        if self.st.mfes.contains_key(&k) {
            self.push_set(k);
            return Ok(NewPacket::Installed);
        }
        let arrival = self
            .st
            .iface_for(arrival_ifindex, Ipv4Addr::UNSPECIFIED)
            .ok_or(MgmError::NotFound)?;
        // 1. RPF lookup, then the RPF callback to the owner of the incoming interface.
        let route = self.rpf.lookup(source);
        let Some((iif, upstream, rejected)) = self.rpf_step(source, group, arrival, route, header)
        else {
            return Ok(NewPacket::Pending);
        };
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
            forward_timeout_s: self.st.cfg.default_mfe_timeout_s,
            created_ns: self.now,
            expires_ns: None,
            counters: MfeCounters::default(),
        };
        let candidates = self.compute_oil(k, &mfe);
        // 3. Creation alert to each routing owner of OIL interfaces, with its interfaces only.
        let Some(vetoed) = self.creation_alerts(source, group, iif, &candidates) else {
            return Ok(NewPacket::Pending);
        };
        mfe.vetoed.extend(vetoed);
        // 4. Install, unless the bound refuses it (see "MFE bound" in the manager's doc).
        mfe.oil = self.compute_oil(k, &mfe);
        let empty = mfe.oil.is_empty();
        let misarrived = iif.ifindex != arrival_ifindex;
        if let Some(why) = self.mfe_bound_refuses(empty || misarrived, iif) {
            self.refuse_mfe(k, arrival_ifindex, header, why);
            return Ok(NewPacket::Refused);
        }
        if misarrived {
            // Its packet came on another interface than the RPF one: the kernel drops that
            // traffic as wrong-if, so the entry forwards nothing yet. Short-lived like an
            // unwanted one (wrong-if packets do not extend it; traffic on `iif` does).
            mfe.timeout_s = self.st.cfg.negative_mfe_timeout_s;
        }
        let timeout = mfe.timeout_s;
        self.st.insert_mfe(k, mfe);
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
        Ok(NewPacket::Installed)
    }

    /// Why the bound refuses a new MFE on `iif` now, if it does: `idle` (nobody wants it, or
    /// its packet arrived off its RPF interface) at `max_mfes`; a wanted one past `max_mfes`
    /// when `iif` holds its limit ([`Self::mfe_share_limit`]); any at [`WANTED_MFE_CEILING`] ×
    /// `max_mfes`.
    fn mfe_bound_refuses(&self, idle: bool, iif: IfKey) -> Option<Refusal> {
        let max = self.st.cfg.max_mfes;
        let n = self.st.mfes.len();
        if max == 0 || n < max {
            None
        } else if idle {
            Some(Refusal::Idle)
        } else if n >= max.saturating_mul(WANTED_MFE_CEILING) {
            Some(Refusal::Wanted)
        } else if self.st.mfes_on(iif) >= self.st.mfe_share_limit() {
            Some(Refusal::Share(iif))
        } else {
            None
        }
    }

    /// The most MFEs one incoming interface may hold once the table is past `max_mfes`:
    /// `max_mfes` plus an even share of the headroom up to the ceiling over the managed
    /// interfaces (at least 1), so one LAN cannot take the whole ceiling from the others.
    pub fn mfe_share_limit(&self) -> usize {
        self.st.mfe_share_limit()
    }

    /// Notes a refused entry for a later join ([`super::refused`]), counts it and logs the
    /// count at most once a minute (each kind on its own). One made again at a join and
    /// refused again goes back on the list as it was, not counted again.
    fn refuse_mfe(&mut self, k: MfeKey, arrival_ifindex: u32, header: &[u8], why: Refusal) {
        let MfeKey { source, group } = k;
        if let Some(at_ns) = self.retrying_refused {
            self.refused.push(k, arrival_ifindex, header, at_ns);
            return;
        }
        self.refused.push(k, arrival_ifindex, header, self.now);
        let n = self.st.mfes.len();
        let r = &mut self.refusals;
        match why {
            Refusal::Idle => {
                r.idle += 1;
                if let Some(held) = r.idle_log.allow(self.now) {
                    log::warn!(
                        "forwarding entry ({source}, {group}) refused: nobody wants it (or its \
                         packet came on another interface than the route towards {source}) and \
                         mgm holds {n} entries, the max-mfes bound ({held} more refused since \
                         the last notice, {} in all: daemon_mfes_refused)",
                        r.idle
                    );
                }
            }
            Refusal::Wanted | Refusal::Share(_) => {
                r.wanted += 1;
                if let Some(held) = r.wanted_log.allow(self.now) {
                    let at = match why {
                        Refusal::Share(_) => "its incoming interface's share",
                        _ => "the ceiling",
                    };
                    // The interface taking the headroom: the refused one past its share, else
                    // the one holding the most entries.
                    let taker = match why {
                        Refusal::Share(i) => Some((i, self.st.mfes_on(i))),
                        _ => self.st.busiest_iif(),
                    };
                    let (iif, on) =
                        taker.map_or(("none".to_string(), 0), |(i, c)| (i.to_string(), c));
                    let limit = self.st.mfe_share_limit();
                    log::warn!(
                        "forwarding entry ({source}, {group}) refused although receivers want \
                         it, at {at}: mgm holds {n} entries ({WANTED_MFE_CEILING} x max-mfes at \
                         most), {on} of them arriving on {iif} (at most {limit} per incoming \
                         interface past max-mfes) ({held} more refused since the last notice, \
                         {} in all: daemon_wanted_mfes_refused); raise --max-mfes if these are \
                         real streams",
                        r.wanted
                    );
                }
            }
        }
    }

    /// RPF for a new MFE: the incoming interface and upstream neighbour from the FIB's `route`,
    /// then the RPF callback to the owner of that interface, which may change them or refuse.
    /// Returns (incoming interface, upstream, rejected), or `None` while the owner's verdict
    /// is pending.
    pub(super) fn rpf_step(
        &mut self,
        source: Ipv4Addr,
        group: Ipv4Addr,
        arrival: IfKey,
        route: Option<RpfRoute>,
        header: &[u8],
    ) -> Option<(IfKey, Ipv4Addr, bool)> {
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
                if v == RpfVerdict::Pending {
                    return None;
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
        Some((iif, upstream, rejected))
    }

    /// The creation alert of a new MFE to each routing owner of `candidates` (the OIL), with
    /// its interfaces only. Returns the vetoed interfaces, or `None` when an owner's answer is
    /// pending (every owner is still asked, so all the questions go out at once).
    pub(super) fn creation_alerts(
        &mut self,
        source: Ipv4Addr,
        group: Ipv4Addr,
        iif: IfKey,
        candidates: &BTreeSet<IfKey>,
    ) -> Option<Vec<IfKey>> {
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
        let mut pending = false;
        for (o, mut list) in by_owner {
            let called = self.invoke(o, EventKind::CreationAlert, Some(iif), sg, |hd, ctx| {
                hd.creation_alert(ctx, source, group, iif, &mut list)
            });
            pending |= called == Some(Answer::Pending);
            if called.is_some() {
                let (kept, vetoed): (Vec<&CreationIf>, Vec<&CreationIf>) =
                    list.iter().partition(|e| e.enabled);
                self.annotate(EventArgs::CreationAlert {
                    oifs: kept.iter().map(|e| e.iface).collect(),
                    vetoed: vetoed.iter().map(|e| e.iface).collect(),
                    pending: called == Some(Answer::Pending),
                });
            }
            vetoed.extend(list.iter().filter(|e| !e.enabled).map(|e| e.iface));
        }
        (!pending).then_some(vetoed)
    }
}
