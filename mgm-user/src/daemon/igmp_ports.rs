//! The IGMP ports: one IGMP router per managed interface with its query socket, subnets and
//! classifier settings. Feeds them classifier events and deadlines and returns their
//! [`Action`]s, which [`super::Daemon::apply`] carries out.
use super::igmp_log::{log_changes, more, ChangeLog};
use super::pinned::pair_by_group;
use super::preflight::{ManagedInterface, Subnet};
use crate::igmp::{Action, FastPathView, IgmpConfig, IgmpInterface, Params, QueryMessage};
use crate::sys::bpf::KernelMaps;
use crate::sys::query_sender::QuerySender;
use crate::time::RateLimit;
use anyhow::{Context, Result};
use mgm_common::{IfaceSettings, IgmpEvent, MemberKey, MemberState, SourceKey, SourceState};
use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::sync::atomic::{AtomicU64, Ordering};

/// Failed map reads (logged: the first, then every 1000th).
static READ_ERRORS: AtomicU64 = AtomicU64::new(0);

fn read_failed(e: &anyhow::Error) {
    let n = READ_ERRORS.fetch_add(1, Ordering::Relaxed) + 1;
    if n % 1000 == 1 {
        log::warn!("{e:#} ({n} map reads failed so far)");
    }
}

/// The kernel maps as the state machine's view of what the fast path refreshed; `fast_path`
/// false with `--no-fast-path` (the classifier then refreshes nothing).
pub(crate) struct MapView<'a>(pub(crate) &'a KernelMaps, pub(crate) bool);

impl FastPathView for MapView<'_> {
    fn refreshes(&self, _ifindex: u32) -> bool {
        self.1
    }
    fn member(&self, ifindex: u32, group: Ipv4Addr) -> Option<MemberState> {
        let key = MemberKey {
            ifindex,
            group: group.octets(),
        };
        self.0.member(&key).unwrap_or_else(|e| {
            read_failed(&e);
            None
        })
    }
    fn source(&self, ifindex: u32, group: Ipv4Addr, source: Ipv4Addr) -> Option<SourceState> {
        let key = SourceKey {
            ifindex,
            group: group.octets(),
            source: source.octets(),
        };
        self.0.source(&key).unwrap_or_else(|e| {
            read_failed(&e);
            None
        })
    }
}

pub(crate) struct Port {
    pub(crate) name: String,
    pub(crate) router: IgmpInterface,
    sender: QuerySender,
    /// The link's MTU as last read (at start and at each link change).
    mtu: u32,
    /// Where this link's hosts are (reports from elsewhere are ignored, RFC 2236 §9).
    subnets: Vec<Subnet>,
    /// Settings last written to MGM_IFACES.
    written: Option<IfaceSettings>,
    /// Membership changes logged in the current minute.
    changes: ChangeLog,
    /// Failed query sends (logged at most once a minute).
    send_failures: std::cell::Cell<RateLimit>,
}

impl Port {
    /// Writes this port's classifier settings when they changed; `flags`: (no fast path,
    /// accept off-link reports).
    fn sync_settings(
        &mut self,
        ifindex: u32,
        (no_fast_path, accept_off_link): (bool, bool),
        maps: &mut KernelMaps,
    ) -> Result<()> {
        // Quick leave tracks every host's reports (`igmp/tracking.rs`): none may stay in the
        // classifier.
        let mut want = settings_for(
            &self.router.params(),
            (self.router.our_addr(), &self.subnets),
            no_fast_path || self.router.config().quick_leave,
            accept_off_link,
        );
        want.set_report_budget(self.router.config().max_reports_per_second);
        if self.written != Some(want) {
            maps.ifaces
                .insert(ifindex, want, 0)
                .with_context(|| format!("writing MGM_IFACES for {}", self.name))?;
            self.written = Some(want);
        }
        Ok(())
    }
}

pub(crate) struct IgmpPorts {
    pub(crate) ports: BTreeMap<u32, Port>,
    /// Messages the classifier accepted but the userspace parser rejected (should stay 0).
    pub(crate) parse_errors: u64,
    /// Map writes the kernel refused (e.g. MGM_MEMBERS full). The router keeps the state; the
    /// fast path cannot refresh it, so its reports take the slow path.
    pub(crate) map_errors: u64,
    /// v3 records lost because their report was longer than an event carries (jumbo frames).
    pub(crate) lost_records: u64,
    truncated_reports: u64,
    /// Reports and leaves ignored because their source is not on the interface's subnets.
    pub(crate) off_link_reports: u64,
    /// Accept them anyway (`--accept-off-link-reports`).
    accept_off_link: bool,
    /// Every report goes to the daemon (`--no-fast-path`).
    no_fast_path: bool,
    /// A router gave back a storm's tables since [`IgmpPorts::take_shrunk`].
    shrunk: bool,
    /// A router's settings may have changed since [`IgmpPorts::sync_all_settings`] (it heard
    /// a query, ran its timers or was reconfigured): reports alone never change them.
    settings_dirty: bool,
}

/// What the classifier needs for one interface: refresh lengths, flags, our address (our own
/// queries, looped back, stay in the classifier) and the link's subnets (when more than the
/// classifier holds, none: it then accepts every source and the daemon judges alone).
fn settings_for(
    p: &Params,
    (address, subnets): (Ipv4Addr, &[Subnet]),
    no_fast_path: bool,
    accept_off_link: bool,
) -> IfaceSettings {
    use mgm_common::maps::{IFACE_FLAG_ACCEPT_OFF_LINK, IFACE_FLAG_NO_FAST_PATH, MAX_LINK_SUBNETS};
    let mut s = IfaceSettings {
        group_membership_interval_ns: p.group_membership_interval,
        older_host_present_interval_ns: p.older_host_present_interval,
        enabled: 1,
        address: address.octets(),
        ..IfaceSettings::default()
    };
    if no_fast_path {
        s.flags |= IFACE_FLAG_NO_FAST_PATH;
    }
    if accept_off_link {
        s.flags |= IFACE_FLAG_ACCEPT_OFF_LINK;
    }
    if subnets.len() <= MAX_LINK_SUBNETS {
        for (slot, net) in s.subnets.iter_mut().zip(subnets) {
            *slot = *net;
        }
        s.subnet_count = subnets.len() as u8;
    }
    s
}

impl IgmpPorts {
    /// Logs the membership changes among `actions` (rate-limited per interface). Called by
    /// `Daemon::apply` once the kernel is programmed and the queries are out, so a log line's
    /// write never delays the forwarding it reports.
    pub(crate) fn log_changes(&mut self, actions: &[Action], now: u64) {
        for action in actions {
            if let Action::Membership { ifindex, .. } = action {
                if let Some(port) = self.ports.get_mut(ifindex) {
                    log_changes(
                        &mut port.changes,
                        &port.name,
                        std::slice::from_ref(action),
                        now,
                    );
                }
            }
        }
    }

    /// No interfaces yet; `no_fast_path`: every report goes to the daemon; `accept_off_link`:
    /// reports from sources off the interface's subnets count too.
    pub(crate) fn new(no_fast_path: bool, accept_off_link: bool) -> Self {
        IgmpPorts {
            ports: BTreeMap::new(),
            parse_errors: 0,
            map_errors: 0,
            lost_records: 0,
            truncated_reports: 0,
            off_link_reports: 0,
            accept_off_link,
            no_fast_path,
            shrunk: false,
            settings_dirty: false,
        }
    }

    /// Starts the router on one more interface (at start, or when a listed interface comes
    /// back) and writes its settings: returns its startup actions. Then [`Self::readopt`].
    pub(crate) fn add_interface(
        &mut self,
        iface: &ManagedInterface,
        cfg: &IgmpConfig,
        maps: &mut KernelMaps,
        now: u64,
    ) -> Result<Vec<Action>> {
        let sender = QuerySender::open(&iface.name, iface.ifindex, iface.address)?;
        let mtu = links::link_mtu(&iface.name);
        let (mut router, actions) =
            IgmpInterface::new(iface.ifindex, iface.address, cfg.clone(), now);
        router.set_link_subnets(&iface.subnets);
        self.ports.insert(
            iface.ifindex,
            Port {
                name: iface.name.clone(),
                router,
                sender,
                mtu,
                subnets: iface.subnets.clone(),
                written: None,
                changes: ChangeLog::default(),
                send_failures: Default::default(),
            },
        );
        self.sync_settings(iface.ifindex, maps)?;
        Ok(actions)
    }

    /// The managed interfaces: (ifindex, name).
    pub(crate) fn managed(&self) -> Vec<(u32, String)> {
        self.ports
            .iter()
            .map(|(i, p)| (*i, p.name.clone()))
            .collect()
    }

    /// The interfaces with quick leave on.
    pub(crate) fn quick_leave_ports(&self) -> Vec<u32> {
        self.ports
            .iter()
            .filter(|(_, p)| p.router.config().quick_leave)
            .map(|(ifindex, _)| *ifindex)
            .collect()
    }

    /// Whether an interface of that name is managed now.
    pub(crate) fn manages(&self, name: &str) -> bool {
        self.ports.values().any(|p| p.name == name)
    }

    /// Re-adopts the map entries of `ifindex` (left by an earlier run: the maps survive the
    /// daemon) into its router as they stand, so a restart loses no membership; expired ones
    /// are dropped, orphaned source entries deleted.
    pub(crate) fn readopt(
        &mut self,
        ifindex: u32,
        maps: &mut KernelMaps,
        now: u64,
    ) -> Result<Vec<Action>> {
        let members: Vec<(MemberKey, MemberState)> = maps
            .members
            .iter()
            .filter_map(|e| e.ok())
            .filter(|(k, _)| k.ifindex == ifindex)
            .collect();
        if members.is_empty() {
            return Ok(Vec::new());
        }
        let sources: Vec<(SourceKey, SourceState)> = maps
            .sources
            .iter()
            .filter_map(|e| e.ok())
            .filter(|(k, _)| k.ifindex == ifindex)
            .collect();
        let Some(port) = self.ports.get_mut(&ifindex) else {
            return Ok(Vec::new());
        };
        log::info!(
            "{}: re-adopting {} groups from the pinned maps",
            port.name,
            members.len()
        );
        let paired = pair_by_group(members, sources, |(k, _)| k.group, |(k, _)| k.group);
        let mut actions = Vec::new();
        for ((key, member), entries) in paired.groups {
            let srcs: Vec<(Ipv4Addr, SourceState)> = entries
                .iter()
                .map(|(k, v)| (Ipv4Addr::from(k.source), *v))
                .collect();
            actions.extend(port.router.restore_group(
                now,
                Ipv4Addr::from(key.group),
                member,
                &srcs,
                &MapView(maps, !self.no_fast_path),
            ));
        }
        self.shrunk |= port.router.take_shrunk();
        // Source entries whose group entry is gone are orphans: remove them (checked again
        // against the map, which only this daemon writes).
        for (k, _) in &paired.orphans {
            if maps
                .member(&MemberKey {
                    ifindex,
                    group: k.group,
                })?
                .is_none()
            {
                maps.delete_source(k)?;
            }
        }
        Ok(actions)
    }

    pub(crate) fn name_of(&self, ifindex: u32) -> Option<&str> {
        self.ports.get(&ifindex).map(|p| p.name.as_str())
    }

    /// One classifier event: its actions are appended to `out`.
    pub(crate) fn on_event(
        &mut self,
        ev: &IgmpEvent<'_>,
        maps: &KernelMaps,
        now: u64,
        out: &mut Vec<Action>,
    ) {
        if !self.ports.contains_key(&ev.ifindex) {
            log::debug!("event for unmanaged ifindex {}; ignored", ev.ifindex);
            return;
        }
        let src = Ipv4Addr::from(ev.src_addr);
        let dst = Ipv4Addr::from(ev.dst_addr);
        // A message longer than an event carries arrives cut; the classifier verified its
        // checksum over the full length, so the complete records in the cut part are usable.
        let truncated = ev.flags & mgm_common::event::EVENT_FLAG_TRUNCATED != 0;
        let parsed = if truncated {
            mgm_common::igmp::parse_truncated(ev.igmp_bytes())
        } else {
            mgm_common::igmp::parse(ev.igmp_bytes())
        };
        if let Ok(mgm_common::igmp::IgmpMessage::V3Report(r)) = &parsed {
            let (lost, announced) = (u64::from(r.lost_records()), r.announced_records());
            self.count_lost_records(ev, lost, announced);
        }
        let Some(port) = self.ports.get_mut(&ev.ifindex) else {
            return;
        };
        let msg = match parsed {
            Ok(m) => m,
            Err(e) => {
                self.parse_errors += 1;
                log::debug!("{}: IGMP from {src} rejected: {e}", port.name);
                return;
            }
        };
        // A report or leave must come from a host on this link (or from 0.0.0.0, a host without
        // an address yet): RFC 2236 §9 / RFC 3376 §9. Queries are judged by the router. The IP
        // header (its checksum included) was checked by the classifier, the only one to see it.
        let from_host = !matches!(msg, mgm_common::igmp::IgmpMessage::Query(_));
        if from_host && !self.accept_off_link && !from_link_host(&port.subnets, src) {
            self.off_link_reports += 1;
            log::debug!(
                "{}: report from {src}, not on this link's subnets; ignored",
                port.name
            );
            return;
        }
        // A query may change the querier, the version or the timers adopted from it.
        self.settings_dirty |= !from_host;
        let view = MapView(maps, !self.no_fast_path);
        port.router
            .on_message_into(now, (src, dst), &msg, &view, out);
        self.shrunk |= port.router.take_shrunk();
    }

    /// Counts the v3 records lost because their report was longer than an event carries
    /// (logged for the first truncated report, then every 100th).
    fn count_lost_records(&mut self, ev: &IgmpEvent<'_>, lost: u64, announced: u16) {
        if lost == 0 {
            return;
        }
        self.lost_records += lost;
        self.truncated_reports += 1;
        if self.truncated_reports % 100 == 1 {
            log::warn!(
                "{}: a {}-byte IGMPv3 report from {} is longer than one event carries \
                 ({} bytes): {lost} of its {announced} records were lost ({} records so far)",
                self.name_of(ev.ifindex).unwrap_or("?"),
                ev.igmp_len,
                Ipv4Addr::from(ev.src_addr),
                mgm_common::event::MAX_EVENT_IGMP_LEN,
                self.lost_records
            );
        }
    }

    /// IGMP's current memberships on `ifindex` as [`Action::Membership`] (the enable-IGMP
    /// replay): a Join per forwarded (*,G) / (S,G), a Block per excluded source.
    pub(crate) fn memberships(&self, ifindex: u32) -> Vec<Action> {
        self.ports
            .get(&ifindex)
            .map(|port| port.router.membership_replay())
            .unwrap_or_default()
    }

    /// Whether a router gave back a storm's tables since the last call.
    pub(crate) fn take_shrunk(&mut self) -> bool {
        std::mem::take(&mut self.shrunk)
    }

    pub(crate) fn next_deadline(&self) -> Option<u64> {
        self.ports
            .values()
            .filter_map(|p| p.router.next_deadline())
            .min()
    }

    /// Runs every interface's due timers.
    pub(crate) fn on_deadline(&mut self, now: u64, maps: &KernelMaps, out: &mut Vec<Action>) {
        let view = MapView(maps, !self.no_fast_path);
        for port in self.ports.values_mut() {
            if port.router.next_deadline().is_some_and(|d| d <= now) {
                port.router.on_deadline_into(now, &view, out);
                self.shrunk |= port.router.take_shrunk();
                // A querier's timer may have expired, or an older version's.
                self.settings_dirty = true;
            }
            // A quiet interface tells the minute a flood ended with the next deadline of any.
            if let Some(s) = port.changes.flush(now) {
                log::info!("{}: {s}", port.name);
            }
        }
    }

    /// New IGMP settings for a managed interface (a reload): returns what the new filters
    /// refuse; the settings map entry follows with the next `sync_all_settings`.
    pub(crate) fn reconfigure(
        &mut self,
        ifindex: u32,
        cfg: &IgmpConfig,
        maps: &KernelMaps,
        now: u64,
    ) -> Vec<Action> {
        let Some(port) = self.ports.get_mut(&ifindex) else {
            return Vec::new();
        };
        let actions = port
            .router
            .reconfigure(cfg.clone(), now, &MapView(maps, !self.no_fast_path));
        self.shrunk |= port.router.take_shrunk();
        self.settings_dirty = true;
        actions
    }

    /// A managed interface was deleted: its router stops (memberships withdrawn, map entries
    /// removed: the returned actions). Then [`Self::remove_interface`].
    pub(crate) fn stop_interface(
        &mut self,
        ifindex: u32,
        maps: &KernelMaps,
        now: u64,
    ) -> Vec<Action> {
        match self.ports.get_mut(&ifindex) {
            Some(port) => {
                let actions = port.router.stop(now, &MapView(maps, !self.no_fast_path));
                self.shrunk |= port.router.take_shrunk();
                actions
            }
            None => Vec::new(),
        }
    }

    /// Forgets a stopped interface and removes its settings. Returns its name.
    pub(crate) fn remove_interface(
        &mut self,
        ifindex: u32,
        maps: &mut KernelMaps,
    ) -> Option<String> {
        let _ = maps.ifaces.remove(&ifindex);
        self.ports.remove(&ifindex).map(|p| p.name)
    }

    /// Stops using the interfaces: the classifier no longer handles them. The memberships stay
    /// in the pinned maps for the next run to re-adopt (they carry absolute expiries, so what
    /// ages meanwhile is dropped then); the manager is told they are gone, since forwarding stops.
    pub(crate) fn shutdown(&mut self, maps: &mut KernelMaps) -> Vec<Action> {
        let mut out = Vec::new();
        for (ifindex, port) in &self.ports {
            let _ = maps.ifaces.remove(ifindex);
            log::debug!(
                "{}: {} groups stay pinned",
                port.name,
                port.router.group_count()
            );
        }
        for port in self.ports.values() {
            out.extend(port.router.membership_withdrawal());
        }
        out
    }

    /// Writes changed settings of every port (the routers' parameters change with the
    /// version they run and the querier they hear), once something may have changed them.
    pub(crate) fn sync_all_settings(&mut self, maps: &mut KernelMaps) {
        if !std::mem::take(&mut self.settings_dirty) {
            return;
        }
        let flags = (self.no_fast_path, self.accept_off_link);
        for (ifindex, port) in self.ports.iter_mut() {
            if let Err(e) = port.sync_settings(*ifindex, flags, maps) {
                log::warn!("{e:#}");
                // Tried again at the next apply.
                self.settings_dirty = true;
            }
        }
    }

    fn sync_settings(&mut self, ifindex: u32, maps: &mut KernelMaps) -> Result<()> {
        let flags = (self.no_fast_path, self.accept_off_link);
        match self.ports.get_mut(&ifindex) {
            Some(port) => port.sync_settings(ifindex, flags, maps),
            None => Ok(()),
        }
    }

    /// Queues `query` out of `ifindex` to `dst`; [`Self::flush_queries`] sends it.
    pub(crate) fn queue_query(&mut self, ifindex: u32, dst: Ipv4Addr, query: &QueryMessage) {
        let Some(port) = self.ports.get_mut(&ifindex) else {
            return;
        };
        // Encoded in place, queued in the sender's buffer: a query allocates nothing once the
        // buffer has grown to a batch.
        let max_sources = crate::igmp::sources_per_query(port.mtu);
        query.for_each_packet(max_sources, |packet| {
            if let Err(e) = port.sender.queue(dst, packet) {
                port.send_failed(&e);
            }
        });
        log::debug!(
            "{}: sent v{} query to {dst} (group {}, {} sources, S={})",
            port.name,
            query.version.as_u8(),
            query.group,
            query.sources.len(),
            query.s_flag
        );
    }

    /// Sends the queued queries of every interface, one `sendmmsg` per interface and 64
    /// packets. A failed send is logged, not fatal: the next retransmission retries.
    pub(crate) fn flush_queries(&mut self) {
        for port in self.ports.values_mut() {
            if port.sender.has_queued() {
                let Port {
                    sender,
                    send_failures,
                    ..
                } = port;
                sender.flush(&mut |e| log_send_failure(send_failures, &e));
            }
        }
    }
}

impl Port {
    fn send_failed(&self, e: &anyhow::Error) {
        log_send_failure(&self.send_failures, e);
    }
}

/// A failed query send, logged at most once a minute.
fn log_send_failure(failures: &std::cell::Cell<RateLimit>, e: &anyhow::Error) {
    let mut limit = failures.get();
    let now = crate::time::monotonic_ns().unwrap_or(0);
    if let Some(held) = limit.allow(now) {
        log::warn!("{e:#}{}", more(held));
    }
    failures.set(limit);
}

/// Whether a report or leave from `src` may come from a host on a link with `subnets`: a host
/// address of one of them (not a network or broadcast address), or 0.0.0.0 (a host without an
/// address yet). The classifier applies the same rule (`IfaceSettings::on_link`).
fn from_link_host(subnets: &[super::preflight::Subnet], src: Ipv4Addr) -> bool {
    src.is_unspecified() || subnets.iter().any(|s| s.has_host(src.octets()))
}

#[path = "igmp_ports_links.rs"]
mod links;

#[cfg(test)]
#[path = "igmp_ports_tests.rs"]
mod tests;
