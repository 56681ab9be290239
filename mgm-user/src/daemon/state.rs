//! The [`Daemon`]: the one owner of the running state, and the one place where the outputs of
//! the pure cores are carried out ([`Daemon::apply`]).
use super::events::{igmp_event, manager_event};
use super::forwarding::Forwarding;
use super::handlers::Handlers;
use super::hotplug::Hotplug;
use super::igmp_ports::IgmpPorts;
use super::metrics::EventCounts;
use super::preflight::ManagedInterface;
use super::proxy::{Upstream, UpstreamWanted};
use super::ring_batch::{read_batch, EventTarget, BATCH};
use crate::config::RunConfig;
use crate::control::server::EventSender;
use crate::igmp::{Action, IgmpConfig};
use crate::sys::bpf::{Classifier, KernelMaps};
use crate::time::monotonic_ns;
use anyhow::Result;
use aya::maps::{MapData, RingBuf};
use mgm_common::{IgmpEvent, MemberKey, SourceKey};

/// Everything `mgm run` holds while it runs.
pub(crate) struct Daemon {
    /// One IGMP router per managed interface.
    pub(crate) igmp: IgmpPorts,
    /// The manager, its clients and the mroute socket.
    pub(crate) fwd: Forwarding,
    /// Listed interfaces that come and go.
    pub(crate) hotplug: Hotplug,
    /// The classifier's maps.
    pub(crate) maps: KernelMaps,
    /// The classifier (attached to every managed interface).
    pub(crate) classifier: Classifier,
    /// `mgm events` subscribers.
    pub(crate) events: EventSender,
    /// Routing protocols in other processes.
    pub(crate) handlers: Handlers,
    /// The IGMP proxy's upstream side (`--upstream`), while its interface is there.
    pub(crate) upstream: Option<Upstream>,
    /// The `--upstream` interface and its options, there or awaited.
    pub(crate) upstream_wanted: Option<UpstreamWanted>,
    /// Tables shrank: the loop hands the freed heap back once it is quiet.
    pub(crate) trim_wanted: bool,
    /// The manager's events by protocol and kind (`mgm_callbacks_total`, `mgm_mfe_changes_total`).
    pub(crate) event_counts: EventCounts,
    /// What a reload re-reads and diffs against.
    pub(crate) reload: super::reload::Reload,
    /// The loss counters as last looked at before a message that may cut at once.
    pub(crate) loss_marks: super::lost_reports::LossMarks,
    /// The actions of one classifier event, kept between events (a report allocates none).
    actions: Vec<Action>,
}

impl Daemon {
    /// Starts IGMP and forwarding on `interfaces` (the classifier is attached, the maps taken).
    pub(crate) fn start(
        config: &RunConfig,
        interfaces: &[(ManagedInterface, IgmpConfig)],
        fwd: Forwarding,
        classifier: Classifier,
        mut maps: KernelMaps,
        events: EventSender,
    ) -> Result<Self> {
        maps.fast_path = !config.no_fast_path;
        let mut daemon = Daemon {
            igmp: IgmpPorts::new(config.no_fast_path, config.accept_off_link_reports),
            fwd,
            hotplug: Hotplug::new(
                interfaces
                    .iter()
                    .map(|(i, c)| (i.name.clone(), c.clone()))
                    .collect(),
            ),
            maps,
            classifier,
            events,
            handlers: Handlers::new(config.handler_deadline_ms()),
            upstream: None,
            upstream_wanted: config.upstream.as_ref().map(|name| UpstreamWanted {
                name: name.clone(),
                forward_upstream: config.forward_upstream,
                proxy_ssdp: config.proxy_ssdp,
                // The global --robustness (RFC 3376 §8.1 applies to hosts too).
                robustness: u32::from(config.igmp.robustness),
            }),
            trim_wanted: false,
            event_counts: EventCounts::default(),
            reload: super::reload::Reload::default(),
            loss_marks: super::lost_reports::LossMarks::default(),
            actions: Vec::new(),
        };
        daemon.loss_marks = super::lost_reports::LossMarks::new(daemon.maps.stats().ok().as_ref());
        daemon.fwd.manager().set_max_mfes(config.max_mfes as usize);
        let managed: Vec<u32> = interfaces.iter().map(|(i, _)| i.ifindex).collect();
        let stale = daemon.maps.retain_interfaces(&managed)?;
        if stale > 0 {
            log::info!("removed {stale} pinned map entries of interfaces this run does not manage");
        }
        let now = monotonic_ns()?;
        for (iface, cfg) in interfaces {
            daemon.start_port(iface, cfg, now)?;
        }
        Ok(daemon)
    }

    /// Starts the IGMP router on one interface (startup queries, settings) and re-adopts the
    /// groups the pinned maps hold for it.
    pub(crate) fn start_port(
        &mut self,
        iface: &ManagedInterface,
        cfg: &IgmpConfig,
        now: u64,
    ) -> Result<()> {
        let actions = self.igmp.add_interface(iface, cfg, &mut self.maps, now)?;
        self.apply(actions, now);
        let actions = self.igmp.readopt(iface.ifindex, &mut self.maps, now)?;
        self.apply(actions, now);
        Ok(())
    }

    /// The earliest protocol deadline (IGMP timers, MFE lifetimes).
    pub(crate) fn next_deadline(&self) -> Option<u64> {
        [
            self.igmp.next_deadline(),
            self.fwd.next_deadline(),
            self.handlers.next_deadline(),
            self.upstream.as_ref().and_then(Upstream::next_deadline),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// Carries out IGMP actions: membership deltas go to the manager, whose kernel actions (the
    /// MFC) are applied first, as they decide when a stream reaches or leaves a link; then the
    /// map writes, before any query (the lowered timer and the slow-path flag must be in the map
    /// before a query can draw an answer the fast path would otherwise absorb; until then a
    /// refresh finds no entry and takes the slow path); queries last; then IGMP's notes and the
    /// manager's events are published.
    pub(crate) fn apply(&mut self, actions: Vec<Action>, now: u64) {
        self.apply_all(&actions, now);
        self.flush_batch();
    }

    /// [`Self::apply`] on borrowed actions.
    fn apply_all(&mut self, actions: &[Action], now: u64) {
        // Notes are made only for `mgm events` subscribers; the actions that are logged
        // (querier and version changes, notices) go through `igmp_event` either way.
        let listened = self.events.receiver_count() > 0;
        let mut deltas = false;
        for action in actions {
            if let Action::Membership { group, .. } = action {
                deltas = true;
                if let Some(up) = &mut self.upstream {
                    up.mark(*group);
                }
                self.fwd.on_membership(action, now);
            }
        }
        if deltas {
            self.fwd.settle(&self.igmp, now);
        }
        for action in actions {
            match action {
                Action::WriteMember { .. }
                | Action::DeleteMember { .. }
                | Action::WriteSource { .. }
                | Action::DeleteSource { .. } => self.write_map(action),
                _ => {}
            }
        }
        self.igmp.sync_all_settings(&mut self.maps);
        // Queued: they go out after the batch's map writes (`flush_batch`), together.
        for action in actions {
            if let Action::SendQuery {
                ifindex,
                dst,
                query,
            } = action
            {
                self.igmp.queue_query(*ifindex, *dst, query);
            }
        }
        if deltas {
            self.report_upstream(now);
            self.igmp.log_changes(actions, now);
        }
        // Notes in the order the router meant: its decisions, then the queries it sent. Map
        // writes are neither told nor logged.
        let is_send = |a: &&Action| matches!(a, Action::SendQuery { .. });
        let mut notes = Vec::new();
        let told = actions
            .iter()
            .filter(|a| !is_send(a))
            .chain(actions.iter().filter(is_send));
        for action in told {
            let told = match action {
                Action::Membership { .. } => listened,
                Action::WriteMember { .. }
                | Action::DeleteMember { .. }
                | Action::WriteSource { .. }
                | Action::DeleteSource { .. } => false,
                _ => true,
            };
            if told {
                let name = self.igmp.name_of(action_ifindex(action)).unwrap_or("?");
                if let Some(note) = igmp_event(name, action, now) {
                    notes.push(note);
                }
            }
        }
        self.publish(notes);
        // After a storm, once both the routers and the manager let go of it: tables shrunk,
        // the freed heap goes back to the system (when the loop is quiet, not here).
        let shrunk = self.igmp.take_shrunk();
        if self.fwd.shrink_tables() || shrunk {
            self.trim_wanted = true;
        }
    }

    /// One map write of an IGMP action, queued: [`Self::flush_batch`] carries it out with
    /// the other writes of the batch (one `bpf` call per kind). A failed write is logged (the
    /// first, then every 1000th) and counted, never fatal: the router's state stays
    /// authoritative, the fast path cannot refresh the entry, so its reports take the slow path
    /// and a later write retries.
    fn write_map(&mut self, action: &Action) {
        let maps = &mut self.maps;
        let errors = &mut self.igmp.map_errors;
        let failed = &mut |e: anyhow::Error| map_write_failed(errors, &e);
        match *action {
            Action::WriteMember {
                ifindex,
                group,
                state,
                unrefreshed,
            } => maps.queue_member(member_key(ifindex, group), (state, unrefreshed), failed),
            Action::DeleteMember { ifindex, group } => {
                maps.queue_member_delete(member_key(ifindex, group), failed)
            }
            Action::WriteSource {
                ifindex,
                group,
                source,
                state,
                unrefreshed,
            } => maps.queue_source(
                source_key(ifindex, group, source),
                (state, unrefreshed),
                failed,
            ),
            Action::DeleteSource {
                ifindex,
                group,
                source,
            } => maps.queue_source_delete(source_key(ifindex, group, source), failed),
            _ => {}
        }
    }

    /// Carries out the queued map writes, then sends the queued queries: at the end of a ring
    /// batch, of an `apply` and of the deadline's work. The writes go first: the lowered timer
    /// and the slow-path flag must be in the map before a query can draw an answer. Between the
    /// loop's wake-ups the maps hold everything written and every query has gone out.
    pub(crate) fn flush_batch(&mut self) {
        let errors = &mut self.igmp.map_errors;
        self.maps
            .flush(&mut |e: anyhow::Error| map_write_failed(errors, &e));
        self.igmp.flush_queries();
    }

    /// The proxy reports upstream what changed downstream.
    pub(crate) fn report_upstream(&mut self, now: u64) {
        if let Some(up) = &mut self.upstream {
            let statics = self.fwd.static_joins();
            up.flush(&self.igmp, &statics, now);
        }
    }

    /// Sends `notes` (IGMP's, causes first) then the manager's events since the last call to
    /// `mgm events` subscribers. With none listening the manager's events are dropped.
    pub(crate) fn publish(&mut self, notes: Vec<crate::control::api::EventLine>) {
        let mgm_events = self.fwd.take_events();
        self.event_counts.count(&mgm_events);
        if self.events.receiver_count() > 0 {
            for n in notes {
                self.events.send(std::sync::Arc::new(n));
            }
            for e in &mgm_events {
                self.events
                    .send(std::sync::Arc::new(manager_event(&self.fwd, e)));
            }
        }
        self.fwd.recycle_events(mgm_events);
    }

    /// Classifier events: up to [`BATCH`] of them costing up to `budget`
    /// ([`super::event_cost`]); true when the ring is empty.
    pub(crate) fn on_ring(&mut self, ring: &mut RingBuf<MapData>, budget: usize) -> Result<bool> {
        let drained = read_batch(ring, self, budget, monotonic_ns()?);
        // The batch's map writes, together.
        self.flush_batch();
        Ok(drained)
    }

    /// Kernel upcalls on the mroute socket: up to [`BATCH`]; true when none is left queued.
    pub(crate) fn on_upcalls(&mut self) -> Result<bool> {
        let drained = self.fwd.on_readable(monotonic_ns()?, BATCH)?;
        self.publish(Vec::new());
        Ok(drained)
    }

    /// Answers from the FIB: the upcalls that waited for them go to the manager.
    pub(crate) fn on_fib_answers(&mut self) -> Result<bool> {
        let drained = self.fwd.on_fib_answers(&self.igmp, monotonic_ns()?)?;
        self.publish(Vec::new());
        Ok(drained)
    }

    /// The protocol deadline passed: IGMP timers, then MFE lifetimes.
    pub(crate) fn on_deadline(&mut self) -> Result<()> {
        let now = monotonic_ns()?;
        // The buffer the ring's events use: a deadline allocates none.
        let mut actions = std::mem::take(&mut self.actions);
        self.igmp.on_deadline(now, &self.maps, &mut actions);
        self.apply_all(&actions, now);
        self.flush_batch();
        actions.clear();
        if actions.capacity() <= 64 {
            self.actions = actions;
        }
        self.fwd.on_deadline(&self.igmp, now);
        if let Some(up) = &mut self.upstream {
            up.on_deadline(now);
        }
        self.expire_answers(now);
        self.publish(Vec::new());
        Ok(())
    }

    /// Stops IGMP (memberships stay pinned for the next run; the manager is told they are
    /// gone), removes this daemon's MFC entries and VIFs, detaches the classifier.
    pub(crate) fn shutdown(mut self) -> Result<()> {
        let now = monotonic_ns()?;
        let actions = self.igmp.shutdown(&mut self.maps);
        self.apply(actions, now);
        if let Some(up) = &mut self.upstream {
            up.leave_all(now);
        }
        let closed = self.fwd.shutdown();
        self.classifier.detach_all();
        closed
    }
}

impl EventTarget for Daemon {
    fn quick_leave_on(&self, ifindex: u32) -> bool {
        Daemon::quick_leave_on(self, ifindex)
    }

    fn look_for_lost_reports(&mut self, now: u64) {
        Daemon::look_for_lost_reports(self, now);
    }

    /// The upstream's events go to the proxy's host; the others to their IGMP router.
    fn read_event(&mut self, ev: &IgmpEvent<'_>, now: u64) -> bool {
        if let Some(up) = self.upstream.as_mut().filter(|u| u.ifindex == ev.ifindex) {
            up.on_igmp(ev.igmp_bytes(), now);
            return false;
        }
        self.igmp.on_event(ev, &self.maps, now, &mut self.actions);
        true
    }

    fn carry_out(&mut self, now: u64) {
        let mut actions = std::mem::take(&mut self.actions);
        self.apply_all(&actions, now);
        actions.clear();
        // A storm's event (a query's replies, a long v3 report) may have grown it.
        if actions.capacity() <= 64 {
            self.actions = actions;
        }
    }
}

/// Counts a failed map write and logs it (the first, then every 1000th).
fn map_write_failed(errors: &mut u64, e: &anyhow::Error) {
    *errors += 1;
    if *errors % 1000 == 1 {
        log::warn!("{e:#} ({} map writes failed so far)", *errors);
    }
}

/// The interface an IGMP action is about.
fn action_ifindex(a: &Action) -> u32 {
    match *a {
        Action::SendQuery { ifindex, .. }
        | Action::WriteMember { ifindex, .. }
        | Action::DeleteMember { ifindex, .. }
        | Action::WriteSource { ifindex, .. }
        | Action::DeleteSource { ifindex, .. }
        | Action::Membership { ifindex, .. }
        | Action::QuerierChanged { ifindex, .. }
        | Action::VersionChanged { ifindex, .. }
        | Action::Notice { ifindex, .. } => ifindex,
    }
}

fn member_key(ifindex: u32, group: std::net::Ipv4Addr) -> MemberKey {
    MemberKey {
        ifindex,
        group: group.octets(),
    }
}

fn source_key(ifindex: u32, group: std::net::Ipv4Addr, source: std::net::Ipv4Addr) -> SourceKey {
    SourceKey {
        ifindex,
        group: group.octets(),
        source: source.octets(),
    }
}
