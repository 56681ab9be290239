//! Runs the group manager with its two built-in clients (the IGMP client fed by the IGMP router,
//! and the routing protocol `local` owning every managed interface) and keeps the kernel MFC in
//! step through the mroute socket: membership deltas in, upcalls in, MFE timers, actions out.
//!
//! # RPF without blocking
//! The manager's RPF source is a [`CachedRpf`]: the FIB's latest answers, read without a
//! syscall. A NOCACHE or WRONGVIF upcall first asks the FIB about its source
//! ([`FibResolver::request`], non-blocking) and waits, parked, until the answer arrives
//! (`Forwarding::on_fib_answers`, when the loop sees the rtnetlink socket readable) or the
//! question times out (`Forwarding::on_deadline`: no route). Then it goes to the manager,
//! which finds the fresh answer in the cache: so every upcall is judged on the FIB as it is
//! when the upcall arrives, as with a blocking lookup, and the loop never waits. Lookups the
//! manager makes on its own (the RPF owner of a new (S,G) membership) use the cached answer;
//! a source not seen yet counts as unroutable and is looked up for the next time.
use super::igmp_ports::IgmpPorts;
use super::names::InterfaceNames;
use super::preflight::ManagedInterface;
use crate::igmp::Action;
use crate::manager::igmp_bridge::{IgmpBridge, IgmpNotice, IgmpNotices};
use crate::manager::{
    local, ClientKind, ComponentId, IfKey, Manager, MfeCounters, MgmEvent, NewPacket,
    ProtocolHandle, IGMP_PROTOCOL_ID,
};
use crate::manager::{ForwarderAction, MgmResult};
use crate::sys::fib::{CachedRpf, FibResolver, RouteCache};
use crate::sys::mroute::MrouteSocket;
use crate::sys::upcall::{Upcall, UpcallKind};
use anyhow::{Context, Result};
use awaiting::Awaiting;
use parked::Parked;
use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::os::fd::{AsFd, AsRawFd, RawFd};

mod awaiting;
mod counters_cache;
mod mfc_sync;
/// For the benches (`membership_walk`): one turn of the reconcile's comparison, as the loop
/// takes it.
#[cfg(feature = "test-support")]
pub use mfc_sync::{compare_turn, Round, COMPARES_PER_TURN};
mod parked;
mod views;
pub(crate) use mfc_sync::MfcDump;
pub use mfc_sync::DEFAULT_RECONCILE_INTERVAL_S;

/// The manager with its two built-in clients and the mroute socket it drives.
pub(crate) struct Forwarding {
    mgr: Manager,
    sock: MrouteSocket,
    igmp: ProtocolHandle,
    local: ProtocolHandle,
    /// The built-in protocol of `mgm join` and `mgm route`.
    statik: ProtocolHandle,
    notices: IgmpNotices,
    names: InterfaceNames,
    /// Interfaces left for an external handler (`-i IF,protocol=NAME`): `local` does not take
    /// them.
    reserved: BTreeMap<String, String>,
    /// NOCACHE upcalls whose MFE waits for an external handler's answer, with when they came.
    awaiting: Awaiting,
    fib: FibResolver,
    /// Upcalls waiting for the FIB's answer about their source.
    parked: Parked,
    /// What MFEs counted on interfaces that are gone, by name (`mgm_forwarded_*` keep growing
    /// when an interface comes back under a new ifindex).
    gone_counts: BTreeMap<String, MfeCounters>,
    /// [`Self::counters_by_iif`]'s last read of the kernel's counters.
    counters: std::cell::RefCell<counters_cache::CountersCache>,
    /// Upcalls the kernel dropped (socket full), as last logged.
    upcall_drops_logged: u64,
    /// Desyncs and the periodic reconcile with the kernel's MFC.
    sync: mfc_sync::MfcSync,
}

impl Forwarding {
    /// Opens the mroute socket (`table`: an ipmr table id, `None` for the main one), registers
    /// `local` and IGMP, and gives both every managed interface.
    pub(crate) fn start(
        interfaces: &[ManagedInterface],
        reserved: BTreeMap<String, String>,
        proxy: bool,
        table: Option<u32>,
        now: u64,
    ) -> Result<Self> {
        let mut sock = MrouteSocket::open(table).context("opening the multicast routing socket")?;
        // WRONGVIF for a packet arriving on any VIF, not only on one in the entry's OIL: how a
        // moved route towards a source is noticed while its stream runs. Kernels built without
        // PIM-SM refuse MRT_PIM; forwarding works without it.
        if let Err(e) = sock.set_pim(true) {
            log::warn!(
                "{e:#}: a route that moves to another interface under a running stream is noticed \
                 only when the new interface is in the entry's outgoing list"
            );
        }
        let routes = RouteCache::new();
        let fib = FibResolver::new(routes.clone())?;
        let mut mgr = Manager::new(Box::new(CachedRpf(routes)));
        // The routing protocol of the listed interfaces: `local`, or `proxy` for an IGMP proxy.
        let local = if proxy {
            local::register_proxy(&mut mgr)
        } else {
            local::register_local(&mut mgr)
        }
        .map_err(|e| anyhow::anyhow!("registering the built-in routing protocol: {e}"))?;
        let statik = crate::manager::static_protocol::register_static(&mut mgr)
            .map_err(|e| anyhow::anyhow!("registering static: {e}"))?;
        let notices = IgmpNotices::new();
        let igmp = mgr
            .register(
                "igmp",
                ClientKind::Igmp,
                IGMP_PROTOCOL_ID,
                ComponentId(0),
                Box::new(IgmpBridge::new(notices.clone())),
            )
            .map_err(|e| anyhow::anyhow!("registering igmp: {e}"))?;
        let mut shell = Forwarding {
            mgr,
            sock,
            igmp,
            local,
            statik,
            notices,
            names: InterfaceNames::default(),
            reserved,
            awaiting: Awaiting::default(),
            fib,
            parked: Parked::default(),
            gone_counts: BTreeMap::new(),
            counters: Default::default(),
            upcall_drops_logged: 0,
            sync: mfc_sync::MfcSync::new(table),
        };
        for i in interfaces {
            shell.add_interface(i, now)?;
        }
        Ok(shell)
    }

    /// `local` (unless the interface is reserved for a handler) and IGMP take one more
    /// interface (its VIF is added).
    pub(crate) fn add_interface(&mut self, i: &ManagedInterface, now: u64) -> Result<()> {
        self.names.insert(i.ifindex, &i.name);
        let local = (!self.reserved.contains_key(&i.name)).then_some(("local", self.local));
        for (who, h) in local.into_iter().chain([("igmp", self.igmp)]) {
            self.mgr
                .take_interface_ownership(now, h, IfKey::new(i.ifindex))
                .map_err(|e| anyhow::anyhow!("{who} taking {}: {e}", i.name))?;
        }
        self.sync_kernel()
            .with_context(|| format!("adding {} to the multicast routes", i.name))
    }

    /// Applies pending kernel actions; the first error is returned, the others logged.
    fn sync_kernel(&mut self) -> Result<()> {
        let actions = self.mgr.take_actions();
        self.sync.touch(&actions);
        let applied = self.sock.apply_all(&actions);
        self.sync.moved(&applied.moved);
        let mut errors = applied.errors.into_iter();
        let first = errors.next();
        for e in errors {
            log::warn!("{e:#}");
        }
        for e in self.mgr.take_errors() {
            log::warn!("queued manager call failed: {e:?}");
        }
        self.look_up_misses();
        first.map_or(Ok(()), Err)
    }

    /// After every manager call: kernel actions, then IGMP notices (replays).
    pub(crate) fn settle(&mut self, igmp: &IgmpPorts, now: u64) {
        if let Err(e) = self.sync_kernel() {
            log::warn!("{e:#}");
        }
        for notice in self.notices.drain() {
            match notice {
                IgmpNotice::Disable(iface) => {
                    log::info!("igmp disabled on ifindex {}", iface.ifindex)
                }
                IgmpNotice::Enable(iface) => {
                    // The replay MGM asks for: after the callback, from IGMP's own state.
                    for d in igmp.memberships(iface.ifindex) {
                        self.on_membership(&d, now);
                    }
                    if let Err(e) = self.sync_kernel() {
                        log::warn!("{e:#}");
                    }
                }
            }
        }
    }

    /// One IGMP membership delta ([`Action::Membership`]; other actions are ignored) into
    /// the manager. [`Self::settle`] afterwards.
    pub(crate) fn on_membership(&mut self, delta: &Action, now: u64) {
        let Action::Membership {
            ifindex,
            group,
            source,
            change,
        } = *delta
        else {
            return;
        };
        if let Err(e) = self
            .mgr
            .apply_igmp_delta(now, self.igmp, ifindex, group, source, change)
        {
            log::warn!("manager refused IGMP {change:?} of {source:?} {group} on {ifindex}: {e}");
        }
    }

    /// Reads pending upcalls from the mroute socket: up to `budget`; true when none is left
    /// queued. Each waits for the FIB's answer about its source (see the module doc).
    pub(crate) fn on_readable(&mut self, now: u64, budget: usize) -> Result<bool> {
        let mut buf = [0u8; 2048];
        for _ in 0..budget {
            let Some((mut up, n)) = self.sock.recv_upcall(&mut buf)? else {
                return Ok(true);
            };
            if up.kind == UpcallKind::WholePkt {
                continue;
            }
            // The arrival interface as it is now: the VIF may be removed and its number reused
            // while the upcall waits for the FIB.
            let Some(ifindex) = self.sock.ifindex_of(up.vif) else {
                log::debug!(
                    "upcall for ({}, {}) on unknown vif {}",
                    up.source,
                    up.group,
                    up.vif
                );
                continue;
            };
            self.check_desync(&mut up, now);
            if let Err(e) = self.fib.request(up.source, now) {
                // Cannot ask: judge it on the cached answer rather than lose it.
                log::warn!("{e:#}");
                self.dispatch(&up, ifindex, &buf[..n], now);
                if let Err(e) = self.sync_kernel() {
                    log::warn!("{e:#}");
                }
                continue;
            }
            self.parked.push((up, ifindex, buf[..n].to_vec()));
        }
        // A batch cut with upcalls left: a burst, the one time the socket can have filled.
        self.log_upcall_drops();
        Ok(false)
    }

    /// Upcalls the kernel could not queue (the mroute socket was full) since start.
    pub(crate) fn upcall_drops(&self) -> Result<u64> {
        self.sock.upcalls_dropped()
    }

    /// Says in the log when upcalls were dropped since the last look.
    fn log_upcall_drops(&mut self) {
        match self.upcall_drops() {
            Ok(n) if n > self.upcall_drops_logged => {
                log::warn!(
                    "mroute socket full: {} upcalls dropped ({n} so far): new sources lost \
                     their first packets (the daemon is not keeping up)",
                    n - self.upcall_drops_logged
                );
                self.upcall_drops_logged = n;
            }
            Ok(_) => {}
            Err(e) => log::debug!("{e:#}"),
        }
    }

    /// The FIB answered: the upcalls waiting for those sources go to the manager. True when
    /// no answer is left queued.
    pub(crate) fn on_fib_answers(&mut self, igmp: &IgmpPorts, now: u64) -> Result<bool> {
        let answered: Vec<Ipv4Addr> = self.fib.answers(now).into_iter().map(|(s, _)| s).collect();
        self.release(&answered, igmp, now);
        Ok(true)
    }

    /// Hands the parked upcalls of `sources` to the manager, in arrival order.
    fn release(&mut self, sources: &[Ipv4Addr], igmp: &IgmpPorts, now: u64) {
        if sources.is_empty() {
            return;
        }
        for (up, ifindex, header) in self.parked.take(sources) {
            self.dispatch(&up, ifindex, &header, now);
            self.settle(igmp, now);
        }
    }

    fn dispatch(&mut self, up: &Upcall, ifindex: u32, header: &[u8], now: u64) {
        self.dispatch_since(up, ifindex, header, now, now);
    }

    /// Dispatches an upcall that first came at `since`; one whose MFE waits for a handler's
    /// answer is parked until [`Self::retry_creations`].
    fn dispatch_since(&mut self, up: &Upcall, ifindex: u32, header: &[u8], now: u64, since: u64) {
        match dispatch_upcall_on(&mut self.mgr, up, ifindex, header, now) {
            Ok(NewPacket::Pending) => {
                self.awaiting
                    .wait((*up, ifindex, header.to_vec(), since), now);
            }
            Ok(NewPacket::Installed | NewPacket::Refused) => {}
            Err(e) => log::debug!(
                "upcall {:?} for ({}, {}) on vif {}: {e}",
                up.kind,
                up.source,
                up.group,
                up.vif
            ),
        }
    }

    /// Asks the FIB about the sources the manager looked up without a cached answer, so the
    /// next lookup has one.
    fn look_up_misses(&mut self) {
        let now = crate::time::monotonic_ns().unwrap_or(0);
        for source in self.fib.take_misses() {
            if let Err(e) = self.fib.request(source, now) {
                log::debug!("{e:#}");
            }
        }
    }

    /// The mroute socket's descriptor, for readiness.
    pub(crate) fn upcall_fd(&self) -> RawFd {
        self.sock.as_fd().as_raw_fd()
    }

    /// The rtnetlink socket's descriptor, for readiness.
    pub(crate) fn fib_fd(&self) -> RawFd {
        self.fib.as_raw_fd()
    }

    /// The next MFE deadline, FIB question to give up or reconcile.
    pub(crate) fn next_deadline(&self) -> Option<u64> {
        let sync = self.sync.next_deadline();
        [self.mgr.next_deadline(), self.fib.next_deadline(), sync]
            .into_iter()
            .flatten()
            .min()
    }

    /// MFE lifetimes; FIB questions unanswered too long count as "no route".
    pub(crate) fn on_deadline(&mut self, igmp: &IgmpPorts, now: u64) {
        let expired: Vec<Ipv4Addr> = self.fib.expire(now).into_iter().map(|(s, _)| s).collect();
        self.release(&expired, igmp, now);
        let sock = &self.sock;
        self.mgr.on_deadline(now, |s, g| sock.counters(s, g).ok());
        self.settle(igmp, now);
        self.reconcile_if_due(now);
    }

    /// A managed interface is gone: IGMP and `local` give it up, which deletes every MFE using it
    /// and its VIF (the kernel has usually removed that already).
    pub(crate) fn remove_interface(&mut self, ifindex: u32, igmp: &IgmpPorts, now: u64) {
        // Packets that arrived on it and still wait for the FIB or a handler: nothing to build
        // for them now.
        self.parked.drop_arrivals_on(ifindex);
        self.awaiting.drop_arrivals_on(ifindex);
        // IGMP first, then whoever routes there (`local`, or an external handler).
        let key = IfKey::new(ifindex);
        let mut owners: Vec<(String, ProtocolHandle)> = vec![("igmp".into(), self.igmp)];
        owners.extend(
            self.mgr
                .protocols()
                .into_iter()
                .filter(|p| p.handle != self.igmp && p.interfaces.contains(&key))
                .map(|p| (p.name, p.handle)),
        );
        for (who, h) in owners {
            if let Err(e) = self.mgr.release_interface_ownership(now, h, key) {
                log::debug!("{who} releasing ifindex {ifindex}: {e}");
            }
        }
        self.settle(igmp, now);
    }

    /// Forgets the name of a removed interface (after its last events were published).
    pub(crate) fn forget_name(&mut self, ifindex: u32) {
        if let Some(c) = self.sock.take_retired(ifindex) {
            let sum = self
                .gone_counts
                .entry(self.names.name(ifindex))
                .or_default();
            *sum = crate::sys::mroute::add(*sum, c);
        }
        self.names.remove(ifindex);
    }

    /// What the MFEs counted, by the name of their incoming interface: the entries now in the
    /// kernel and those deleted or moved since the start (each sum only grows), at `now`. Read
    /// from the kernel (one `SIOCGETSGCNT` per entry) at most once a second, the last read
    /// in between (`forwarding/counters_cache.rs`).
    pub(crate) fn counters_by_iif(&self, now: u64) -> BTreeMap<String, MfeCounters> {
        self.counters.borrow_mut().get(now, || {
            let mut out = self.gone_counts.clone();
            for (ifindex, c) in self.sock.counters_by_iif() {
                let sum = out.entry(self.names.name(ifindex)).or_default();
                *sum = crate::sys::mroute::add(*sum, c);
            }
            out
        })
    }

    /// MFC entries mgm holds in the kernel.
    pub(crate) fn mfc_count(&self) -> usize {
        self.sock.mfc_count()
    }
    /// New MFEs nobody wanted, refused at `--max-mfes`.
    pub(crate) fn mfes_refused(&self) -> u64 {
        self.mgr.mfes_refused()
    }

    /// See [`Manager::wanted_mfes_refused`].
    pub(crate) fn wanted_mfes_refused(&self) -> u64 {
        self.mgr.wanted_mfes_refused()
    }

    /// Upcalls dropped because too many waited for a handler's answer.
    pub(crate) fn pending_upcalls_dropped(&self) -> u64 {
        self.awaiting.dropped()
    }

    /// The shared interface names.
    pub(crate) fn names(&self) -> &InterfaceNames {
        &self.names
    }

    /// The protocol an interface is reserved for (`-i IF,protocol=NAME`).
    pub(crate) fn reserved_for(&self, name: &str) -> Option<&str> {
        self.reserved.get(name).map(String::as_str)
    }

    /// Reserves `name` for `protocol`, or for `local` again with `None` (a reload; before the
    /// interface is added).
    pub(crate) fn set_reserved(&mut self, name: &str, protocol: Option<&str>) {
        match protocol {
            Some(p) => self.reserved.insert(name.to_string(), p.to_string()),
            None => self.reserved.remove(name),
        };
    }

    /// The interfaces reserved for `protocol`.
    pub(crate) fn reserved_interfaces(&self, protocol: &str) -> Vec<String> {
        self.reserved
            .iter()
            .filter(|(_, p)| p.as_str() == protocol)
            .map(|(i, _)| i.clone())
            .collect()
    }

    /// The proxy's upstream interface: the routing protocol (`proxy`) takes it, IGMP does not
    /// run there; with `forward_upstream`, `proxy` joins (*,*) there so that traffic of
    /// downstream sources goes upstream too.
    pub(crate) fn add_upstream(
        &mut self,
        i: &ManagedInterface,
        forward_upstream: bool,
        now: u64,
    ) -> Result<()> {
        self.names.insert(i.ifindex, &i.name);
        let key = IfKey::new(i.ifindex);
        self.mgr
            .take_interface_ownership(now, self.local, key)
            .map_err(|e| anyhow::anyhow!("proxy taking the upstream {}: {e}", i.name))?;
        if forward_upstream {
            self.mgr
                .add_membership(
                    now,
                    self.local,
                    crate::manager::Sg::STAR_STAR,
                    key,
                    crate::manager::MembershipFlags::JOIN_STATE,
                )
                .map_err(|e| anyhow::anyhow!("proxy forwarding to the upstream {}: {e}", i.name))?;
        }
        self.sync_kernel()
            .with_context(|| format!("adding the upstream {} to the multicast routes", i.name))
    }

    /// The static joins (for the proxy's membership database).
    pub(crate) fn static_joins(&self) -> Vec<(crate::manager::Sg, IfKey)> {
        self.mgr.static_joins()
    }

    /// The handle of the built-in protocol `static`.
    pub(crate) fn static_protocol(&self) -> ProtocolHandle {
        self.statik
    }

    /// The manager, for the external handlers' requests ([`Self::settle`] afterwards).
    pub(crate) fn manager(&mut self) -> &mut Manager {
        &mut self.mgr
    }

    /// The manager, with the interface names that name its interface keys.
    pub(crate) fn manager_and_names(&mut self) -> (&mut Manager, &InterfaceNames) {
        (&mut self.mgr, &self.names)
    }

    /// Offers again the packets whose MFE waited for a handler's answer about one of `sgs`
    /// (every waiting one when `sgs` is `None`); the ones still waiting stay parked. Packets
    /// that waited longer than the kernel keeps an unresolved entry are dropped.
    pub(crate) fn retry_creations(
        &mut self,
        sgs: Option<&[(Ipv4Addr, Ipv4Addr)]>,
        igmp: &IgmpPorts,
        now: u64,
    ) {
        for (up, ifindex, header, since) in self.awaiting.take(sgs, now) {
            self.dispatch_since(&up, ifindex, &header, now, since);
            self.settle(igmp, now);
        }
    }

    /// Events since the last call, for `mgm events`.
    /// See [`crate::manager::Manager::shrink_tables`].
    pub(crate) fn shrink_tables(&mut self) -> bool {
        self.mgr.shrink_tables()
    }

    pub(crate) fn take_events(&mut self) -> Vec<MgmEvent> {
        self.mgr.take_events()
    }

    /// Gives the vector of [`Self::take_events`] back for reuse.
    pub(crate) fn recycle_events(&mut self, used: Vec<MgmEvent>) {
        self.mgr.recycle_events(used);
    }

    /// The name of a (managed or recently removed) interface, `ifindex N` for others.
    pub(crate) fn interface_name(&self, iface: &IfKey) -> String {
        self.names.name(iface.ifindex)
    }

    /// Removes the MFC entries and VIFs this daemon made (nothing else), then MRT_DONE.
    pub(crate) fn shutdown(self) -> Result<()> {
        self.sock
            .close()
            .context("closing the multicast routing socket")
    }
}

/// Feeds one upcall to the manager: `NOCACHE` → [`Manager::new_packet`], `WRONGVIF` →
/// [`Manager::wrong_interface`]. `header` is the upcall message (it is the packet's IP header).
/// For the tests that drive the kernel's ipmr without the daemon loop.
#[cfg(feature = "test-support")]
pub fn dispatch_upcall(
    mgr: &mut Manager,
    sock: &MrouteSocket,
    u: &Upcall,
    header: &[u8],
    now: u64,
) -> MgmResult<()> {
    let ifindex = sock
        .ifindex_of(u.vif)
        .ok_or(crate::manager::MgmError::NotFound)?;
    dispatch_upcall_on(mgr, u, ifindex, header, now).map(|_| ())
}

/// Feeds one upcall, whose arrival interface was resolved when it came, to the manager.
fn dispatch_upcall_on(
    mgr: &mut Manager,
    u: &Upcall,
    ifindex: u32,
    header: &[u8],
    now: u64,
) -> MgmResult<NewPacket> {
    match u.kind {
        UpcallKind::NoCache => mgr.new_packet(now, u.source, u.group, ifindex, header),
        UpcallKind::WrongVif | UpcallKind::WrongVifWhole => mgr
            .wrong_interface(now, u.source, u.group, ifindex, header)
            .map(|()| NewPacket::Installed),
        UpcallKind::WholePkt => Ok(NewPacket::Installed),
    }
}

/// Applies the manager's pending kernel actions; returns the errors (each names its operation).
pub fn sync(mgr: &mut Manager, sock: &mut MrouteSocket) -> Vec<anyhow::Error> {
    let actions: Vec<ForwarderAction> = mgr.take_actions();
    sock.apply_all(&actions).errors
}
