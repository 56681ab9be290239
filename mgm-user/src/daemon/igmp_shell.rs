//! Feeds classifier events and deadlines to the per-interface IGMP routers and carries out their
//! actions: queries onto the wire, map writes into `MGM_MEMBERS` / `MGM_SOURCES`, membership
//! deltas out to the manager (returned to the daemon loop).
use super::preflight::{ManagedInterface, Subnet};
use super::query_sender::QuerySender;
use crate::bpf::KernelMaps;
use crate::control::views::{GroupView, InterfaceView, SourceView};
use crate::igmp::{
    Action, FastPathView, FilterMode, IgmpConfig, IgmpInterface, MembershipChange, Params,
};
use anyhow::{Context, Result};
use mgm_common::{IfaceSettings, IgmpEvent, MemberKey, MemberState, SourceKey, SourceState};
use std::collections::BTreeMap;
use std::net::Ipv4Addr;

/// A membership delta for the manager: (source or any, group) on an interface.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MembershipDelta {
    pub ifindex: u32,
    pub group: Ipv4Addr,
    pub source: Option<Ipv4Addr>,
    pub change: MembershipChange,
}

/// Something worth telling `mgm events` subscribers, besides the manager's own events.
#[derive(Clone, Debug, PartialEq)]
pub struct IgmpNote {
    pub kind: &'static str,
    pub ifindex: u32,
    /// The interface's name when the note was made (it may be gone when the note is published).
    pub interface: String,
    pub group: Option<Ipv4Addr>,
    pub source: Option<Ipv4Addr>,
    pub detail: String,
}

/// What one call produced for the daemon loop.
#[derive(Default, Debug)]
pub struct Outputs {
    pub deltas: Vec<MembershipDelta>,
    pub notes: Vec<IgmpNote>,
    /// When the notes happened (CLOCK_MONOTONIC ns; 0: unknown, stamp at publication).
    pub time_ns: u64,
}

/// The kernel maps as the state machine's view of what the fast path refreshed.
struct MapView<'a>(&'a KernelMaps);

impl FastPathView for MapView<'_> {
    fn member(&self, ifindex: u32, group: Ipv4Addr) -> Option<MemberState> {
        let key = MemberKey {
            ifindex,
            group: group.octets(),
        };
        self.0.member(&key).unwrap_or_else(|e| {
            log::warn!("{e:#}");
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
            log::warn!("{e:#}");
            None
        })
    }
}

struct Port {
    name: String,
    router: IgmpInterface,
    sender: QuerySender,
    /// Where this link's hosts are (reports from elsewhere are ignored, RFC 2236 §9).
    subnets: Vec<Subnet>,
    /// Settings last written to MGM_IFACES.
    written: Option<IfaceSettings>,
}

pub struct IgmpShell {
    ports: BTreeMap<u32, Port>,
    /// Messages the classifier accepted but the userspace parser rejected (should stay 0).
    pub parse_errors: u64,
    /// Map writes the kernel refused (e.g. MGM_MEMBERS full). The router keeps the state; the
    /// fast path cannot refresh it, so its reports take the slow path.
    pub map_errors: u64,
    /// v3 records lost because their report was longer than an event carries (jumbo frames).
    pub lost_records: u64,
    truncated_reports: u64,
    /// Reports and leaves ignored because their source is not on the interface's subnets.
    pub off_link_reports: u64,
    /// Accept them anyway (`--accept-off-link-reports`).
    accept_off_link: bool,
    /// Every report goes to the daemon (`--no-fast-path`).
    no_fast_path: bool,
}

/// A failed map write is logged (the first, then every 1000th) and counted, never fatal: the
/// daemon's state stays authoritative and a later write retries.
fn map_result(errors: &mut u64, r: Result<()>) {
    if let Err(e) = r {
        *errors += 1;
        if *errors % 1000 == 1 {
            log::warn!("{e:#} ({} map writes failed so far)", *errors);
        }
    }
}

/// What the classifier needs for one interface: refresh lengths, flags, and the link's subnets
/// (when more than the classifier holds, none: it then accepts every source and the daemon
/// judges alone).
fn settings_for(
    p: &Params,
    subnets: &[Subnet],
    no_fast_path: bool,
    accept_off_link: bool,
) -> IfaceSettings {
    use mgm_common::maps::{
        LinkSubnet, IFACE_FLAG_ACCEPT_OFF_LINK, IFACE_FLAG_NO_FAST_PATH, MAX_LINK_SUBNETS,
    };
    let mut s = IfaceSettings {
        group_membership_interval_ns: p.group_membership_interval,
        older_host_present_interval_ns: p.older_host_present_interval,
        enabled: 1,
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
            *slot = LinkSubnet {
                network: net.network.octets(),
                prefix_len: net.prefix_len,
                _pad: [0; 3],
            };
        }
        s.subnet_count = subnets.len() as u8;
    }
    s
}

impl IgmpShell {
    /// Starts the router on each interface (startup queries included). Groups found in the pinned
    /// maps for these interfaces (left by an earlier run: the maps survive the daemon) are
    /// re-adopted as they stand, so a restart loses no membership; expired ones are dropped.
    pub fn start(
        interfaces: &[(ManagedInterface, IgmpConfig)],
        maps: &mut KernelMaps,
        now: u64,
        no_fast_path: bool,
        accept_off_link: bool,
    ) -> Result<(Self, Outputs)> {
        let mut shell = IgmpShell {
            ports: BTreeMap::new(),
            parse_errors: 0,
            map_errors: 0,
            lost_records: 0,
            truncated_reports: 0,
            off_link_reports: 0,
            accept_off_link,
            no_fast_path,
        };
        let mut out = Outputs {
            time_ns: now,
            ..Outputs::default()
        };
        for (iface, cfg) in interfaces {
            shell.add_interface(iface, cfg, maps, now, &mut out)?;
        }
        Ok((shell, out))
    }

    /// Starts the router on one more interface (at start, or when a listed interface comes
    /// back): startup queries, settings, re-adoption of its pinned entries.
    pub fn add_interface(
        &mut self,
        iface: &ManagedInterface,
        cfg: &IgmpConfig,
        maps: &mut KernelMaps,
        now: u64,
        out: &mut Outputs,
    ) -> Result<()> {
        let sender = QuerySender::open(&iface.name, iface.address)?;
        let (router, actions) = IgmpInterface::new(iface.ifindex, iface.address, cfg.clone(), now);
        self.ports.insert(
            iface.ifindex,
            Port {
                name: iface.name.clone(),
                router,
                sender,
                subnets: iface.subnets.clone(),
                written: None,
            },
        );
        self.sync_settings(iface.ifindex, maps)?;
        self.apply(iface.ifindex, actions, maps, out)?;
        self.readopt(iface.ifindex, maps, now, out)
    }

    /// The managed interfaces: (ifindex, name).
    pub fn managed(&self) -> Vec<(u32, String)> {
        self.ports
            .iter()
            .map(|(i, p)| (*i, p.name.clone()))
            .collect()
    }

    /// Whether an interface of that name is managed now.
    pub fn manages(&self, name: &str) -> bool {
        self.ports.values().any(|p| p.name == name)
    }

    /// Re-adopts the map entries of `ifindex` into its router.
    fn readopt(
        &mut self,
        ifindex: u32,
        maps: &mut KernelMaps,
        now: u64,
        out: &mut Outputs,
    ) -> Result<()> {
        let members: Vec<(MemberKey, MemberState)> = maps
            .members
            .iter()
            .filter_map(|e| e.ok())
            .filter(|(k, _)| k.ifindex == ifindex)
            .collect();
        if members.is_empty() {
            return Ok(());
        }
        let sources: Vec<(SourceKey, SourceState)> = maps
            .sources
            .iter()
            .filter_map(|e| e.ok())
            .filter(|(k, _)| k.ifindex == ifindex)
            .collect();
        let Some(port) = self.ports.get_mut(&ifindex) else {
            return Ok(());
        };
        log::info!(
            "{}: re-adopting {} groups from the pinned maps",
            port.name,
            members.len()
        );
        let mut actions = Vec::new();
        for (key, member) in members {
            let group = Ipv4Addr::from(key.group);
            let srcs: Vec<(Ipv4Addr, SourceState)> = sources
                .iter()
                .filter(|(k, _)| k.group == key.group)
                .map(|(k, v)| (Ipv4Addr::from(k.source), *v))
                .collect();
            actions.extend(
                port.router
                    .restore_group(now, group, member, &srcs, &MapView(maps)),
            );
        }
        // Source entries whose group entry is gone are orphans: remove them.
        for (k, _) in &sources {
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
        self.apply(ifindex, actions, maps, out)
    }

    pub fn name_of(&self, ifindex: u32) -> Option<&str> {
        self.ports.get(&ifindex).map(|p| p.name.as_str())
    }

    /// One classifier event.
    pub fn on_event(&mut self, ev: &IgmpEvent, maps: &mut KernelMaps, now: u64) -> Result<Outputs> {
        let mut out = Outputs {
            time_ns: now,
            ..Outputs::default()
        };
        let Some(port) = self.ports.get_mut(&ev.ifindex) else {
            log::debug!("event for unmanaged ifindex {}; ignored", ev.ifindex);
            return Ok(out);
        };
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
            let lost = u64::from(r.lost_records());
            if lost > 0 {
                self.lost_records += lost;
                self.truncated_reports += 1;
                if self.truncated_reports % 100 == 1 {
                    log::warn!(
                        "{}: a {}-byte IGMPv3 report from {src} is longer than one event carries \
                         ({} bytes): {lost} of its {} records were lost ({} records so far)",
                        port.name,
                        ev.igmp_len,
                        mgm_common::event::MAX_EVENT_IGMP_LEN,
                        r.announced_records(),
                        self.lost_records
                    );
                }
            }
        }
        let msg = match parsed {
            Ok(m) => m,
            Err(e) => {
                self.parse_errors += 1;
                log::debug!("{}: IGMP from {src} rejected: {e}", port.name);
                return Ok(out);
            }
        };
        // A report or leave must come from a host on this link (or from 0.0.0.0, a host without
        // an address yet): RFC 2236 §9 / RFC 3376 §9. Queries are judged by the router.
        let from_host = !matches!(msg, mgm_common::igmp::IgmpMessage::Query(_));
        if from_host
            && !self.accept_off_link
            && !src.is_unspecified()
            && !port.subnets.iter().any(|s| s.contains(src))
        {
            self.off_link_reports += 1;
            log::debug!(
                "{}: report from {src}, not on this link's subnets; ignored",
                port.name
            );
            return Ok(out);
        }
        let actions = port.router.on_message(now, src, dst, &msg, &MapView(maps));
        self.apply(ev.ifindex, actions, maps, &mut out)?;
        self.sync_settings_or_warn(ev.ifindex, maps);
        Ok(out)
    }

    /// IGMP's current memberships on `ifindex` as deltas (the enable-IGMP replay): a Join per
    /// forwarded (*,G) / (S,G), a Block per excluded source.
    pub fn memberships(&self, ifindex: u32) -> Vec<MembershipDelta> {
        let Some(port) = self.ports.get(&ifindex) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        let mut push = |group, source, change| {
            out.push(MembershipDelta {
                ifindex,
                group,
                source,
                change,
            })
        };
        for g in port.router.groups() {
            match g.mode {
                FilterMode::Exclude => {
                    push(g.group, None, MembershipChange::Join);
                    for (s, r) in &g.sources {
                        if r.timer == 0 {
                            push(g.group, Some(*s), MembershipChange::Block);
                        }
                    }
                }
                FilterMode::Include => {
                    for (s, r) in &g.sources {
                        if r.timer != 0 {
                            push(g.group, Some(*s), MembershipChange::Join);
                        }
                    }
                }
            }
        }
        out
    }

    pub fn next_deadline(&self) -> Option<u64> {
        self.ports
            .values()
            .filter_map(|p| p.router.next_deadline())
            .min()
    }

    /// Runs every interface's due timers.
    pub fn on_deadline(&mut self, now: u64, maps: &mut KernelMaps) -> Result<Outputs> {
        let mut out = Outputs {
            time_ns: now,
            ..Outputs::default()
        };
        let due: Vec<u32> = self
            .ports
            .iter()
            .filter(|(_, p)| p.router.next_deadline().is_some_and(|d| d <= now))
            .map(|(i, _)| *i)
            .collect();
        for ifindex in due {
            let Some(port) = self.ports.get_mut(&ifindex) else {
                continue;
            };
            let actions = port.router.on_deadline(now, &MapView(maps));
            self.apply(ifindex, actions, maps, &mut out)?;
            self.sync_settings_or_warn(ifindex, maps);
        }
        Ok(out)
    }

    /// A managed interface was deleted: its router stops (memberships withdrawn as deltas, its
    /// map entries and settings removed) and it is no longer managed. Returns its name.
    pub fn remove_interface(
        &mut self,
        ifindex: u32,
        maps: &mut KernelMaps,
        now: u64,
    ) -> Option<(String, Outputs)> {
        let mut out = Outputs {
            time_ns: now,
            ..Outputs::default()
        };
        let port = self.ports.get_mut(&ifindex)?;
        let actions = port.router.stop(now, &MapView(maps));
        if let Err(e) = self.apply(ifindex, actions, maps, &mut out) {
            log::warn!("{e:#}");
        }
        let _ = maps.ifaces.remove(&ifindex);
        let port = self.ports.remove(&ifindex)?;
        Some((port.name, out))
    }

    /// Stops using the interfaces: the classifier no longer handles them. The memberships stay
    /// in the pinned maps for the next run to re-adopt (they carry absolute expiries, so what
    /// ages meanwhile is dropped then); the manager is told they are gone, since forwarding stops.
    pub fn shutdown(&mut self, maps: &mut KernelMaps) -> Result<Outputs> {
        let mut out = Outputs::default();
        for (ifindex, port) in &self.ports {
            let _ = maps.ifaces.remove(ifindex);
            log::debug!(
                "{}: {} groups stay pinned",
                port.name,
                port.router.group_count()
            );
        }
        for ifindex in self.ports.keys().copied().collect::<Vec<_>>() {
            for mut d in self.memberships(ifindex) {
                d.change = match d.change {
                    MembershipChange::Join => MembershipChange::Leave,
                    MembershipChange::Block => MembershipChange::Unblock,
                    other => other,
                };
                out.deltas.push(d);
            }
        }
        Ok(out)
    }

    fn sync_settings_or_warn(&mut self, ifindex: u32, maps: &mut KernelMaps) {
        if let Err(e) = self.sync_settings(ifindex, maps) {
            log::warn!("{e:#}");
        }
    }

    fn sync_settings(&mut self, ifindex: u32, maps: &mut KernelMaps) -> Result<()> {
        let Some(port) = self.ports.get_mut(&ifindex) else {
            return Ok(());
        };
        let want = settings_for(
            &port.router.params(),
            &port.subnets,
            self.no_fast_path,
            self.accept_off_link,
        );
        if port.written != Some(want) {
            maps.ifaces
                .insert(ifindex, want, 0)
                .with_context(|| format!("writing MGM_IFACES for {}", port.name))?;
            port.written = Some(want);
        }
        Ok(())
    }

    fn apply(
        &mut self,
        ifindex: u32,
        actions: Vec<Action>,
        maps: &mut KernelMaps,
        out: &mut Outputs,
    ) -> Result<()> {
        let name = self.name_of(ifindex).unwrap_or("?").to_string();
        // Map writes first, queries last: the lowered timer and the slow-path flag must be in
        // the map before a query can draw an answer the fast path would otherwise absorb.
        let (sends, rest): (Vec<Action>, Vec<Action>) = actions
            .into_iter()
            .partition(|a| matches!(a, Action::SendQuery { .. }));
        for action in rest.into_iter().chain(sends) {
            match action {
                Action::SendQuery {
                    ifindex,
                    dst,
                    query,
                } => {
                    let Some(port) = self.ports.get(&ifindex) else {
                        continue;
                    };
                    for packet in query.encode_packets(crate::igmp::MAX_SOURCES_PER_QUERY) {
                        // A failed send is logged, not fatal: the next retransmission retries.
                        if let Err(e) = port.sender.send(dst, &packet) {
                            log::warn!("{e:#}");
                        }
                    }
                    log::debug!(
                        "{name}: sent v{} query to {dst} (group {}, {} sources, S={})",
                        query.version.as_u8(),
                        query.group,
                        query.sources.len(),
                        query.s_flag
                    );
                }
                Action::WriteMember {
                    ifindex,
                    group,
                    state,
                } => map_result(
                    &mut self.map_errors,
                    maps.write_member(
                        MemberKey {
                            ifindex,
                            group: group.octets(),
                        },
                        state,
                    ),
                ),
                Action::DeleteMember { ifindex, group } => map_result(
                    &mut self.map_errors,
                    maps.delete_member(&MemberKey {
                        ifindex,
                        group: group.octets(),
                    }),
                ),
                Action::WriteSource {
                    ifindex,
                    group,
                    source,
                    state,
                } => map_result(
                    &mut self.map_errors,
                    maps.write_source(
                        SourceKey {
                            ifindex,
                            group: group.octets(),
                            source: source.octets(),
                        },
                        state,
                    ),
                ),
                Action::DeleteSource {
                    ifindex,
                    group,
                    source,
                } => map_result(
                    &mut self.map_errors,
                    maps.delete_source(&SourceKey {
                        ifindex,
                        group: group.octets(),
                        source: source.octets(),
                    }),
                ),
                Action::Membership {
                    ifindex,
                    group,
                    source,
                    change,
                } => {
                    let what = match source {
                        Some(s) => format!("({s},{group})"),
                        None => format!("(*,{group})"),
                    };
                    log::info!("{name}: IGMP {change:?} {what}");
                    out.deltas.push(MembershipDelta {
                        ifindex,
                        group,
                        source,
                        change,
                    });
                    out.notes.push(IgmpNote {
                        interface: name.clone(),
                        kind: match change {
                            MembershipChange::Join => "igmp_join",
                            MembershipChange::Leave => "igmp_leave",
                            MembershipChange::Block => "igmp_block",
                            MembershipChange::Unblock => "igmp_unblock",
                        },
                        ifindex,
                        group: Some(group),
                        source,
                        detail: String::new(),
                    });
                }
                Action::QuerierChanged {
                    ifindex,
                    we_are_querier,
                    querier,
                } => {
                    let who = querier
                        .map(|q| q.to_string())
                        .unwrap_or_else(|| "unknown".into());
                    log::info!(
                        "{name}: {} (querier {who})",
                        if we_are_querier {
                            "we are querier"
                        } else {
                            "another router is querier"
                        }
                    );
                    out.notes.push(IgmpNote {
                        interface: name.clone(),
                        kind: "querier_changed",
                        ifindex,
                        group: None,
                        source: querier,
                        detail: if we_are_querier {
                            "us".into()
                        } else {
                            "other".into()
                        },
                    });
                }
                Action::Notice {
                    notice, suppressed, ..
                } => log::warn!("{name}: {notice:?} ({suppressed} more since the last notice)"),
                Action::VersionChanged {
                    ifindex,
                    from,
                    to,
                    older_querier,
                } => {
                    match older_querier {
                        Some(q) => log::warn!(
                            "{name}: IGMPv{to} querier {q} on the link; running v{to} instead of v{from} \
                             (configure every router on the link with the same version)"
                        ),
                        None => log::info!("{name}: older-version querier gone; back from v{from} to v{to}"),
                    }
                    out.notes.push(IgmpNote {
                        interface: name.clone(),
                        kind: "version_changed",
                        ifindex,
                        group: None,
                        source: older_querier,
                        detail: format!("v{from} -> v{to}"),
                    });
                }
            }
        }
        Ok(())
    }

    pub fn interfaces_view(&self, now: u64) -> Vec<InterfaceView> {
        let ms = |ns: u64| ns / 1_000_000;
        self.ports
            .iter()
            .map(|(ifindex, p)| {
                let params = p.router.params();
                InterfaceView {
                    interface: p.name.clone(),
                    ifindex: *ifindex,
                    address: p.router.our_addr().to_string(),
                    querier: p.router.is_querier(),
                    querier_address: p.router.querier_address().map(|a| a.to_string()),
                    version: p.router.version(now),
                    group_count: p.router.group_count(),
                    max_groups: p.router.config().max_groups,
                    refused_groups: p.router.refused_groups(),
                    max_sources: p.router.config().max_sources,
                    refused_sources: p.router.refused_sources(),
                    robustness: params.robustness.min(255) as u8,
                    query_interval_ms: ms(params.query_interval),
                    query_response_interval_ms: ms(params.query_response_interval),
                    last_member_query_interval_ms: ms(params.last_member_query_interval),
                    last_member_query_count: params.last_member_query_count.min(255) as u8,
                    startup_query_interval_ms: ms(params.startup_query_interval),
                    startup_query_count: params.startup_query_count.min(255) as u8,
                    group_membership_interval_ms: ms(params.group_membership_interval),
                    other_querier_present_interval_ms: ms(params.other_querier_present_interval),
                    other_querier_expires_in_ms: p
                        .router
                        .other_querier_expires_ns()
                        .map(|t| ms(t.saturating_sub(now))),
                }
            })
            .collect()
    }

    /// Groups as the router holds them, with expiries and last reporter brought up to date from
    /// the maps (the fast path refreshes those without waking us).
    pub fn groups_view(&self, now: u64, maps: &KernelMaps) -> Vec<GroupView> {
        let ms = |t: u64| t.saturating_sub(now) / 1_000_000;
        let view = MapView(maps);
        let mut out = Vec::new();
        for (ifindex, p) in &self.ports {
            for mut g in p.router.summaries(now) {
                if let Some(m) = view.member(*ifindex, g.group) {
                    if g.filter_mode == FilterMode::Exclude {
                        g.expires_ns = g.expires_ns.max(m.group_expires_ns);
                    }
                    if m.last_reporter != [0; 4] {
                        g.last_reporter = Ipv4Addr::from(m.last_reporter);
                    }
                }
                for s in &mut g.sources {
                    if s.forwarding {
                        if let Some(k) = view.source(*ifindex, g.group, s.source) {
                            s.expires_ns = s.expires_ns.max(k.expires_ns);
                        }
                    }
                }
                if g.filter_mode == FilterMode::Include {
                    g.expires_ns = g
                        .sources
                        .iter()
                        .map(|s| s.expires_ns)
                        .max()
                        .unwrap_or(g.expires_ns);
                }
                out.push(GroupView {
                    interface: p.name.clone(),
                    ifindex: *ifindex,
                    group: g.group.to_string(),
                    filter_mode: match g.filter_mode {
                        FilterMode::Include => "include".into(),
                        FilterMode::Exclude => "exclude".into(),
                    },
                    expires_in_ms: ms(g.expires_ns),
                    compat_version: g.compat_version,
                    last_reporter: (!g.last_reporter.is_unspecified())
                        .then(|| g.last_reporter.to_string()),
                    sources: g
                        .sources
                        .iter()
                        .map(|s| SourceView {
                            source: s.source.to_string(),
                            forwarding: s.forwarding,
                            expires_in_ms: ms(s.expires_ns),
                        })
                        .collect(),
                });
            }
        }
        out
    }
}
