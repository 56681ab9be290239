//! The multicast group manager: protocols, interface ownership, memberships, MFEs — the Linux
//! counterpart of the RRAS Multicast Group Manager (`docs/mgm-api.md`).
//!
//! Pure: no I/O, no clock. Every call takes `now` (`CLOCK_MONOTONIC` nanoseconds). Kernel work
//! comes out as [`ForwarderAction`]s ([`Manager::take_actions`]) for the `forward` shell to apply
//! in order; what happened comes out as [`MgmEvent`]s ([`Manager::take_events`]) for
//! `mgm events`. The RPF lookup (the FIB) is behind [`RpfLookup`].
//!
//! # Clients
//! A client registers with a [`ProtocolHandler`] (the nine MGM callbacks) and a
//! [`ClientKind`]: routing protocols own interfaces exclusively; the IGMP client may co-own an
//! interface with one routing protocol. [`local::LocalProtocol`] is the built-in routing
//! protocol `local` that makes `mgm run -i a -i b` forward between its links.
//! [`static_protocol`] is the built-in protocol `static` ([`ClientKind::Static`]): smcroute-like
//! static joins ([`Manager::add_static_join`]) and static routes ([`Manager::add_static_route`]);
//! it owns no interface and gets no callbacks.
//!
//! # Memberships and who they count for
//! A membership is `(protocol, Sg, interface)`. It is *effective* (feeds OILs and the join/prune
//! alert client counts) when its protocol is the routing owner of the interface, or is IGMP or
//! `static` on an interface no routing protocol owns (IGMP alone owns it). An IGMP membership or
//! a static join on an interface a routing protocol owns is *delegated*: it is recorded (and
//! enumerated) but only produces a local join/leave to that owner, whose handler decides (e.g.
//! `local` has the same membership itself while any delegated client has it). IGMP and `static`
//! are separate clients: their records of the same `Sg` on the same interface coexist, and one's
//! delete does not end the other's (delegated: the owner is told `local_leave` and sees,
//! through [`ManagerView::delegated_membership`], that the other still wants it; effective: the
//! interface stays in the OILs while one record remains). Delegating clients (IGMP, `static`)
//! never get join or prune alerts. A static join needs the interface managed, not owned; it is
//! configuration that outlives the interface: its record is withdrawn and made again across
//! ownership changes, like IGMP's replay but by the manager itself, and absent while nobody
//! manages the interface. IGMPv3 excluded sources are per-(protocol,S,G,interface) *blocks*
//! (`blocks`): a block is effective where its protocol's memberships are, and then removes the
//! interface from the OIL of (S,G) where only that protocol's (*,G)/(*,*) put it there (a
//! static (*,G) on the same interface still carries S); an explicit (S,G) membership wins over
//! a block. IGMP's block on an interface a routing protocol owns is delegated like its
//! memberships: it never overrides the owner's (*,G); the owner is told, while IGMP has
//! (*,G)/(*,*) and no (S,G) there, `local_leave` (S,G) on a block and `local_join` (S,G) on an
//! unblock.
//!
//! OIL of an MFE (S,G) = interfaces with effective (S,G) membership ∪ (interfaces with an
//! effective (*,G) or (*,*) of a protocol that does not block S there) ∪ forward-state adds −
//! creation-alert vetoes − forward-state deletes − the incoming interface. It is recomputed for every affected MFE on each membership change. Creation-alert
//! vetoes last for the MFE's life (a forward-state add lifts one); a forward-state delete lasts
//! until the next add on that interface, JOIN_STATE or FORWARD_STATE; interfaces that join an
//! existing MFE later get no creation alert (MGM has none for them).
//!
//! An MFE made without a usable route (none towards the source, one through an unmanaged
//! interface, or refused by the RPF callback) is negative and lives at most
//! [`REJECTED_MFE_TIMEOUT_S`] whatever its traffic, so RPF runs again soon after a route
//! appears. A WRONGVIF on the interface the FIB now points to (after the FIB's answer changed)
//! rebuilds the MFE there, keeping the protocols' forward-state adds and deletes.
//!
//! A *static route* ([`Manager::add_static_route`], `mfe/static_route.rs`) is an MFE (S,G)
//! installed at once with the configured incoming interface (no RPF) and OIL = its configured
//! OIFs that are managed, nothing else (memberships, blocks, forward state and vetoes do not
//! change it). It never ages, gets no alerts, is re-installed as it is by a NOCACHE, never
//! rebuilt by a WRONGVIF, and replaces a dynamic MFE of the same (S,G). It stays configured
//! when its interfaces stop being managed: it loses an OIF (regained when the interface is
//! taken again), and its MFE is deleted while the incoming interface is unmanaged and installed
//! again when it is taken back. Its MFE events name the protocol `static`.
//!
//! # Callback order (normative; tested in `tests/`)
//! Every callback invocation is also an event, emitted just before the call; MFE events are
//! emitted when the table changes. Fan-out to several protocols goes in registration order.
//! IGMP clients get only `disable_igmp`/`enable_igmp`.
//!
//! * **Add membership** (JOIN_STATE) by IGMP, or a static join, on an interface a routing
//!   protocol R owns:
//!   `local_join` → R. Nothing else (R's handler decides). A (*,G)/(*,*) add is preceded by
//!   `local_leave` (S,G) → R for each source IGMP already blocks there that no wildcard of
//!   IGMP covered yet (IGMP reports exclusions before the join they qualify).
//! * **Block / unblock** by IGMP on an interface R owns: `local_leave` (S,G) / `local_join`
//!   (S,G) → R if IGMP has (*,G) or (*,*) and no (S,G) there; else nothing. By the protocol
//!   whose memberships feed OILs there: MFE update of (S,G) as for a membership change.
//! * **Add membership** otherwise (effective): if the caller becomes a client of the `Sg`:
//!   join alerts (`member_update = true`): (*,G)/(*,*): first client → every other routing
//!   protocol; second client → the first one; later → none. (S,G): first client → the routing
//!   owner of the RPF interface towards S (if not the caller). Then, for every MFE whose OIL
//!   changed (walk order): `mfe_update` (a `SetMfe` action), then `join_alert(member_update =
//!   false)` to the incoming interface's owner if the OIL went from empty to non-empty, or
//!   `prune_alert(member_delete = false, &mut timeout)` if it became empty. Then, when the
//!   interface is new to the `Sg`'s effective memberships, for each remembered (S,G) refused
//!   at `--max-mfes` that it covers (oldest first), the **New packet** sequence below, inside
//!   the add's call (before the caller's add returns).
//! * **Delete membership**: the mirror: `local_leave` → R for a delegated IGMP membership or
//!   static join;
//!   else prune alerts (`member_delete = true`): (*,G)/(*,*): when one client remains → that
//!   client; when none remains → every other routing protocol. (S,G): last client → RPF owner.
//!   Then MFE updates as above.
//! * **FORWARD_STATE** changes only MFE OILs (after the JOIN_STATE part when both flags are set).
//! * **New packet** (kernel NOCACHE): `rpf` → owner of the RPF interface (may override it) →
//!   `creation_alert` → each owner of OIL interfaces (may veto) → `mfe_add` (`SetMfe`) →
//!   `join_alert(false)` to the incoming interface's owner if the OIL is non-empty, else
//!   `prune_alert(false, &mut timeout)` (which may set the lifetime of this negative entry).
//! * **Take interface** by a routing protocol where IGMP runs: `disable_igmp` → IGMP's
//!   memberships there are withdrawn (as deletes: prune alerts, MFE updates), its blocks there
//!   dropped (IGMP replays them too; they become delegated), then the static joins there
//!   (as deletes), and MFEs whose incoming interface it is, except static routes', are deleted
//!   (`mfe_delete`; they come back with an RPF callback to the new owner) → ownership changes
//!   (`AddVif` if the interface is new, then the static routes using it are installed or get
//!   it back: `SetMfe`, `mfe_add`/`mfe_update`) → the static joins there are made again
//!   (delegated: `local_join` → the new owner) → `enable_igmp`. Any take of an interface
//!   nobody managed does the same for the static routes and joins using it (the joins are
//!   effective where IGMP takes it alone).
//! * **Release interface** by a routing protocol: `disable_igmp` (if IGMP runs there) → every
//!   MFE whose incoming interface is the interface is deleted (`mfe_delete`) → the protocol's
//!   memberships there are withdrawn (prune alerts, MFE updates) and its blocks dropped →
//!   IGMP's delegated memberships and blocks, and the static joins' records, are dropped
//!   silently → the protocol's forward-state adds/deletes and creation-alert vetoes on the
//!   interface end → every other MFE has lost the interface from its OIL, whoever owns it (MFE
//!   updates; a prune alert `member_delete = false` to its owner if its OIL emptied); none is
//!   deleted for it → if nobody owns the interface any more: static routes lose it (MFE update,
//!   or `mfe_delete` for their incoming interface), then `DelVif` → where IGMP stays, the static
//!   joins are made again, effective (join alerts, MFE updates) → `enable_igmp`.
//!   Release by IGMP withdraws its memberships as deletes (`local_leave` to the routing owner)
//!   and drops its blocks; where IGMP was the only owner, the same as for a routing owner (the
//!   static joins' records withdrawn as deletes after IGMP's).
//! * **Static route** added, replaced or deleted: `SetMfe` + `mfe_add` / `mfe_update`, or
//!   `DelMfe` + `mfe_delete` (a dynamic MFE it replaces, or its own when the incoming interface
//!   changes, is deleted first). No callback.
//! * **Wrong interface** (kernel WRONGVIF): `wrong_interface` → owner of the arrival interface.
//! * **Queued calls** (from [`CallbackContext`]) run after the whole operation has finished,
//!   first-in first-out, each as the protocol that queued it, before the public call returns;
//!   calls they cause queue behind them. Their errors go to [`Manager::take_errors`].
//! * **IGMP replay**: the IGMP client re-adds its memberships after `enable_igmp`, never inside
//!   it: either by queuing `ctx.add_membership` calls in the callback (run after it, FIFO), or
//!   via [`igmp_bridge::IgmpBridge`], which hands the notice to the shell that then calls
//!   [`Manager::add_membership`] from the IGMP module's state.
//!
//! # MFE lifetime
//! Default 900 s ([`ManagerConfig::default_mfe_timeout_s`]). A prune alert with
//! `member_delete = false` (the OIL emptied, or a new MFE nobody wants) sets the lifetime of the
//! *empty* entry; when its OIL becomes non-empty again the MFE gets back its forwarding lifetime,
//! counted from then: the default, or what [`Manager::set_mfe_timeout`] set while the OIL was
//! non-empty (set while it is empty, it is a pruned-state lifetime too). 0 = never ages. When the
//! deadline ([`Manager::next_deadline`]) passes, [`Manager::on_deadline`] reads the kernel
//! counters: traffic since the last look extends the MFE by its timeout, else it is deleted.
//! It handles at most [`MFE_DEADLINES_PER_CALL`] due entries a call; the rest stay due (the
//! next deadline is in the past) for the next call, so a mass expiry does not hold the loop.
//!
//! An entry nobody wants (empty OIL) is offered [`ManagerConfig::negative_mfe_timeout_s`]
//! (60 s, not MGM's 900 s) in its prune alert: without receivers the entry only keeps the
//! kernel from upcalling every packet, and traffic still extends it like any lifetime.
//!
//! # MFE bound
//! At [`ManagerConfig::max_mfes`] MFEs (every kind counts), a new entry that would forward
//! nothing is refused ([`NewPacket::Refused`], counted in [`Manager::mfes_refused`], logged at
//! most once a minute): one with an empty OIL, and one whose packet arrived on another
//! interface than its RPF `iif` (the kernel drops that traffic as wrong-if, so the entry only
//! holds memory and makes WRONGVIF upcalls). Nothing is installed, the kernel keeps its
//! unresolved entry (four packets at most) and drops it after 10 s, and the next packet after
//! that asks again. Below the bound such an off-route entry is made with the short
//! [`ManagerConfig::negative_mfe_timeout_s`] lifetime whatever its OIL (wrong-if packets do not
//! extend it; traffic on `iif` does, by that lifetime): a host that joins G and sends to G from
//! many source addresses routed elsewhere gets nothing past the bound, and below it its entries
//! go within a minute. A route that really moved to the arrival interface is still caught:
//! [`Manager::wrong_interface`] rebuilds a made entry from the new route, and a refused one is
//! made at its next upcall, on its RPF interface then.
//!
//! An entry somebody wants whose packet came on its RPF interface is made past the bound
//! (receivers come first), up to a hard ceiling of [`WANTED_MFE_CEILING`] × `max_mfes`; past
//! that it is refused too, counted apart ([`Manager::wanted_mfes_refused`], logged at most once
//! a minute). The ceiling is what holds against a host that sends from many addresses of its
//! own subnet towards groups with receivers on another link (those pass RPF): without it the
//! wanted entries would be bounded by what receivers may join times sources the sender chooses.
//! The headroom above the bound is shared: past `max_mfes` a wanted entry is made only while its
//! incoming interface holds fewer than [`Manager::mfe_share_limit`] entries (`max_mfes` plus
//! the headroom, 3 × `max_mfes`, split evenly over the managed interfaces), so one LAN host
//! cannot take the whole ceiling and refuse everyone's new streams; refused and logged (naming
//! the interface taking the headroom) as at the ceiling.
//!
//! The last 256 refused (S,G)s are remembered (`mfe/refused.rs`): a receiver joining one's
//! group on an interface makes the entry at the join, and the kernel forwards at once (its
//! unresolved entry resolved), rather than at its next upcall, up to 10 s later.
mod actions;
mod blocks;
mod callbacks;
mod enumerate;
mod error;
mod events;
pub mod igmp_bridge;
pub mod local;
mod membership;
mod mfe;
mod ownership;
#[cfg(any(test, feature = "test-support"))]
mod quiet;
mod registry;
mod small_map;
pub mod static_protocol;
#[cfg(any(test, feature = "test-support"))]
mod static_rpf;
mod types;
mod walk_order;

#[cfg(test)]
mod tests;

pub use actions::{ForwarderAction, MAX_VIFS};
pub use callbacks::{
    Answer, CallbackContext, CreationIf, ProtocolHandler, PruneAlert, QueuedCall, RpfLookup,
    RpfRequest, RpfRoute, RpfVerdict,
};
pub use enumerate::EnumHandle;
pub use error::{Invalid, MgmError, MgmResult};
pub use events::{EventArgs, EventKind, MgmEvent};
pub use mfe::{
    MfeInfo, NewPacket, StaticRouteInfo, MFE_DEADLINES_PER_CALL, REJECTED_MFE_TIMEOUT_S,
    WANTED_MFE_CEILING,
};
#[cfg(any(test, feature = "test-support"))]
pub use quiet::quiet_manager_with_local;
pub use registry::{InterfaceInfo, MembershipInfo, ProtocolInfo};
#[cfg(any(test, feature = "test-support"))]
pub use static_rpf::StaticRpf;
pub use types::{
    ClientKind, ComponentId, EnumType, IfKey, MembershipFlags, MfeCounters, ProtocolHandle,
    ProtocolId, Sg, SourceGroupEntry, IGMP_PROTOCOL_ID, LOCAL_PROTOCOL_ID, PROXY_PROTOCOL_ID,
    STATIC_PROTOCOL_ID,
};
pub use walk_order::WalkSg;

use crate::dense_map::DenseMap;
use actions::VifTable;
use membership::SgMembers;
use mfe::{Mfe, MfeKey, StaticMfe};
use registry::{Iface, Protocol};
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::net::Ipv4Addr;

/// The default of [`ManagerConfig::max_mfes`] (`--max-mfes`).
pub const DEFAULT_MAX_MFES: usize = 16_384;

/// The default of [`ManagerConfig::negative_mfe_timeout_s`].
pub const NEGATIVE_MFE_TIMEOUT_S: u32 = 60;

/// Tunables.
#[derive(Clone, Debug)]
pub struct ManagerConfig {
    /// MFE lifetime unless a protocol sets another (MGM: 900 s).
    pub default_mfe_timeout_s: u32,
    /// Keep an event stream ([`Manager::take_events`]). Off for benchmarks.
    pub record_events: bool,
    /// Most queued calls one operation may run before it is declared a loop.
    pub max_queued_calls: usize,
    /// Most MFEs before a new one that would forward nothing (empty OIL, or its packet off the
    /// RPF interface) is refused (`--max-mfes`; 0: no bound). Entries somebody wants are made
    /// past it up to [`WANTED_MFE_CEILING`] times it: see "MFE bound" above.
    pub max_mfes: usize,
    /// The lifetime a prune alert offers an entry nobody wants (made with an empty OIL, or whose
    /// OIL emptied); the protocol may answer another. Traffic extends it, as any lifetime.
    pub negative_mfe_timeout_s: u32,
}

impl Default for ManagerConfig {
    fn default() -> Self {
        ManagerConfig {
            default_mfe_timeout_s: 900,
            record_events: true,
            max_queued_calls: 1_000_000,
            max_mfes: DEFAULT_MAX_MFES,
            negative_mfe_timeout_s: NEGATIVE_MFE_TIMEOUT_S,
        }
    }
}

/// An error of a queued call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QueuedError {
    pub protocol: ProtocolHandle,
    pub call: QueuedCall,
    pub error: MgmError,
}

pub(crate) struct State {
    cfg: ManagerConfig,
    protocols: BTreeMap<ProtocolHandle, Protocol>,
    next_handle: u32,
    ifaces: BTreeMap<IfKey, Iface>,
    vifs: VifTable,
    members: DenseMap<SgMembers>,
    /// (group, source, interface, protocol) blocks.
    blocked: BTreeSet<(Ipv4Addr, Ipv4Addr, IfKey, ProtocolHandle)>,
    mfes: BTreeMap<MfeKey, Mfe>,
    /// How many MFEs each incoming interface holds (kept by `insert_mfe` / `remove_mfe`).
    mfes_by_iif: BTreeMap<IfKey, usize>,
    timers: BTreeSet<(u64, MfeKey)>,
    enums: BTreeMap<u32, (ProtocolHandle, VecDeque<Sg>)>,
    next_enum: u32,
    /// Static joins, configured: (interface, Sg, static client). Each has a membership record
    /// while the interface is managed.
    static_joins: BTreeSet<(IfKey, Sg, ProtocolHandle)>,
    /// Static routes, configured.
    static_routes: BTreeMap<MfeKey, StaticMfe>,
    /// The membership records' order, while walks come (`walk_order.rs`).
    walk_order: walk_order::WalkOrder,
}

/// Read-only view of the manager, for callbacks ([`CallbackContext::view`]) and for shells.
#[derive(Clone, Copy)]
pub struct ManagerView<'a> {
    st: &'a State,
    now: u64,
}

/// The manager. See the module documentation for semantics and callback order.
pub struct Manager {
    st: State,
    rpf: Box<dyn RpfLookup>,
    handlers: BTreeMap<ProtocolHandle, Box<dyn ProtocolHandler>>,
    queue: VecDeque<(ProtocolHandle, QueuedCall)>,
    actions: Vec<ForwarderAction>,
    events: Vec<MgmEvent>,
    errors: Vec<QueuedError>,
    now: u64,
    /// The membership table's capacity at the last [`Manager::shrink_tables`].
    members_capacity: usize,
    /// New MFEs refused by the MFE bound; their log lines.
    refusals: mfe::MfeRefusals,
    /// The (S,G)s refused lately, made at a join that wants them.
    refused: mfe::refused::RefusedSgs,
    /// While one of them is made again: when it was refused.
    retrying_refused: Option<u64>,
}

impl Manager {
    pub fn new(rpf: Box<dyn RpfLookup>) -> Self {
        Self::with_config(rpf, ManagerConfig::default())
    }

    pub fn with_config(rpf: Box<dyn RpfLookup>, cfg: ManagerConfig) -> Self {
        Manager {
            st: State {
                cfg,
                protocols: BTreeMap::new(),
                next_handle: 1,
                ifaces: BTreeMap::new(),
                vifs: VifTable::default(),
                members: DenseMap::new(),
                blocked: BTreeSet::new(),
                mfes: BTreeMap::new(),
                mfes_by_iif: BTreeMap::new(),
                timers: BTreeSet::new(),
                enums: BTreeMap::new(),
                next_enum: 1,
                static_joins: BTreeSet::new(),
                static_routes: BTreeMap::new(),
                walk_order: Default::default(),
            },
            rpf,
            handlers: BTreeMap::new(),
            queue: VecDeque::new(),
            actions: Vec::new(),
            events: Vec::new(),
            errors: Vec::new(),
            now: 0,
            members_capacity: 0,
            refusals: mfe::MfeRefusals::default(),
            refused: mfe::refused::RefusedSgs::default(),
            retrying_refused: None,
        }
    }

    /// Gives back the capacity a storm left in the membership table (more than 1024 slots and
    /// over four times what it holds). True when it shrank, or grew beyond 1024 slots (possibly
    /// freeing the smaller table it moved out of): the caller may return the freed memory to the
    /// system.
    pub fn shrink_tables(&mut self) -> bool {
        let (len, capacity) = (self.st.members.len(), self.st.members.capacity());
        let grew = capacity > self.members_capacity.max(1024);
        let shrunk = capacity > 1024 && capacity > len.saturating_mul(4);
        if shrunk {
            self.st.members.shrink_to(len + len / 4);
        }
        self.members_capacity = self.st.members.capacity();
        grew || shrunk
    }

    /// Kernel changes produced since the last call, in the order to apply them.
    pub fn take_actions(&mut self) -> Vec<ForwarderAction> {
        std::mem::take(&mut self.actions)
    }
    /// Events produced since the last call.
    pub fn take_events(&mut self) -> Vec<MgmEvent> {
        std::mem::take(&mut self.events)
    }
    /// Hands back the vector [`Self::take_events`] gave, read: kept for the next events (unless
    /// a storm grew it), so a call that emits allocates nothing for them.
    pub fn recycle_events(&mut self, mut used: Vec<MgmEvent>) {
        if self.events.is_empty() && used.capacity() <= 64 {
            used.clear();
            self.events = used;
        }
    }
    /// Errors of queued calls since the last call.
    pub fn take_errors(&mut self) -> Vec<QueuedError> {
        std::mem::take(&mut self.errors)
    }
    /// A read-only view at time `now`.
    pub fn view(&self, now: u64) -> ManagerView<'_> {
        ManagerView { st: &self.st, now }
    }
    pub fn config(&self) -> &ManagerConfig {
        &self.st.cfg
    }
    /// Sets [`ManagerConfig::max_mfes`] (a reload): entries already made stay.
    pub fn set_max_mfes(&mut self, max: usize) {
        self.st.cfg.max_mfes = max;
    }
    /// New MFEs nobody wanted (or whose packet came off the RPF interface), refused at
    /// [`ManagerConfig::max_mfes`] since the start (`mfes_refused`).
    pub fn mfes_refused(&self) -> u64 {
        self.refusals.idle
    }
    /// New MFEs receivers wanted, refused at [`WANTED_MFE_CEILING`] × [`ManagerConfig::max_mfes`]
    /// or past their incoming interface's share ([`Self::mfe_share_limit`]) since the start (`wanted_mfes_refused`).
    pub fn wanted_mfes_refused(&self) -> u64 {
        self.refusals.wanted
    }
    /// How many MFEs arrive on `iif` (past `max_mfes` bounded by [`Self::mfe_share_limit`]).
    pub fn mfes_arriving_on(&self, iif: IfKey) -> usize {
        self.st.mfes_on(iif)
    }

    // ---- plumbing --------------------------------------------------------------------------

    /// Starts a public operation at `now`.
    fn begin(&mut self, now: u64) {
        self.now = now;
    }

    /// Ends a public operation: runs the queued calls (FIFO) and passes `r` through.
    fn finish<T>(&mut self, r: MgmResult<T>) -> MgmResult<T> {
        self.run_queue();
        r
    }

    fn run_queue(&mut self) {
        let mut ran = 0usize;
        while let Some((h, call)) = self.queue.pop_front() {
            ran += 1;
            if ran > self.st.cfg.max_queued_calls {
                let limit = self.st.cfg.max_queued_calls;
                log::error!(
                    "manager: callback loop, dropping {} queued calls",
                    self.queue.len() + 1
                );
                self.queue.clear();
                self.errors.push(QueuedError {
                    protocol: h,
                    call,
                    error: MgmError::CallbackLoop { limit },
                });
                return;
            }
            let r = self.run_call(h, call.clone());
            if let Err(error) = r {
                log::warn!("manager: queued call {call:?} of protocol {h} failed: {error}");
                self.errors.push(QueuedError {
                    protocol: h,
                    call,
                    error,
                });
            }
        }
    }

    fn run_call(&mut self, h: ProtocolHandle, call: QueuedCall) -> MgmResult<()> {
        match call {
            QueuedCall::AddMembership { sg, iface, flags } => {
                self.do_add_membership(h, sg, iface, flags)
            }
            QueuedCall::DeleteMembership { sg, iface, flags } => {
                self.do_delete_membership(h, sg, iface, flags)
            }
            QueuedCall::BlockSource {
                source,
                group,
                iface,
            } => self.do_block(h, source, group, iface, true),
            QueuedCall::UnblockSource {
                source,
                group,
                iface,
            } => self.do_block(h, source, group, iface, false),
            QueuedCall::SetMfeTimeout {
                source,
                group,
                timeout_s,
            } => self.do_set_mfe_timeout(h, source, group, timeout_s),
            QueuedCall::SetMfeUpstream {
                source,
                group,
                upstream,
            } => self.do_set_mfe_upstream(h, source, group, upstream),
            QueuedCall::TakeInterface(iface) => self.do_take(h, iface),
            QueuedCall::ReleaseInterface(iface) => self.do_release(h, iface),
        }
    }

    fn emit(
        &mut self,
        kind: EventKind,
        protocol: Option<ProtocolHandle>,
        iface: Option<IfKey>,
        sg: Sg,
    ) {
        if !self.st.cfg.record_events {
            return;
        }
        let protocol = protocol
            .and_then(|h| self.st.protocols.get(&h))
            .map(|p| p.name.clone())
            .unwrap_or_default();
        self.events.push(MgmEvent {
            kind,
            protocol,
            interface: iface,
            source: sg.source,
            group: sg.group,
            time_ns: self.now,
            args: EventArgs::None,
        });
    }

    /// Sets the arguments of the event just emitted (by [`Self::emit`] or a successful
    /// [`Self::invoke`]; callbacks cannot emit, so it is still the last one).
    fn annotate(&mut self, args: EventArgs) {
        if let Some(e) = self.events.last_mut() {
            e.args = args;
        }
    }

    /// Emits the event of a callback and invokes it on `h`'s handler.
    fn invoke<R>(
        &mut self,
        h: ProtocolHandle,
        kind: EventKind,
        iface: Option<IfKey>,
        sg: Sg,
        f: impl FnOnce(&mut dyn ProtocolHandler, &mut CallbackContext<'_>) -> R,
    ) -> Option<R> {
        if !self.handlers.contains_key(&h) {
            return None;
        }
        self.emit(kind, Some(h), iface, sg);
        let Manager {
            st,
            handlers,
            queue,
            now,
            ..
        } = self;
        let handler = handlers.get_mut(&h)?;
        let mut ctx = CallbackContext {
            me: h,
            now: *now,
            queue,
            view: ManagerView { st, now: *now },
        };
        Some(f(handler.as_mut(), &mut ctx))
    }
}
