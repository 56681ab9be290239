//! The IGMP proxy's upstream side (RFC 4605; `mgm run --upstream IF`): the membership database
//! (the merge of what the downstream interfaces want, IGMP's hosts and static joins) reported
//! upstream by the pure host core ([`crate::proxy::host::UpstreamHost`]), which also answers the
//! upstream querier. No IGMP router runs upstream: the classifier there only hands queries up.
//!
//! Forwarding is the built-in protocol `proxy` (the `local` rules under another name) owning
//! every interface: upstream traffic goes to the downstream interfaces with members; with
//! `--forward-upstream`, traffic of downstream sources also goes upstream.
use super::igmp_ports::IgmpPorts;
use super::preflight::ManagedInterface;
use super::state::Daemon;
use crate::control::api::{UpstreamGroupView, UpstreamView};
use crate::manager::{IfKey, Sg};
use crate::proxy::host::{HostAction, HostConfig, UpstreamHost};
use crate::proxy::merge::{merge, Filter};
use crate::sys::bpf::KernelMaps;
use crate::sys::query_sender::QuerySender;
use crate::time::RateLimit;
use anyhow::{Context, Result};
use mgm_common::IfaceSettings;
use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;

/// SSDP's group: local-network discovery that a gateway does not proxy unless asked.
pub(crate) const SSDP_GROUP: Ipv4Addr = Ipv4Addr::new(239, 255, 255, 250);

/// The upstream interface and what it reports there.
pub(crate) struct Upstream {
    pub(crate) ifindex: u32,
    pub(crate) name: String,
    pub(crate) addr: Ipv4Addr,
    host: UpstreamHost,
    sender: QuerySender,
    /// Groups whose downstream state changed since the last [`Self::flush`].
    dirty: BTreeSet<Ipv4Addr>,
    /// Proxy SSDP (239.255.255.250) too.
    proxy_ssdp: bool,
    send_failures: RateLimit,
    pub(crate) reports_sent: u64,
    pub(crate) queries_heard: u64,
}

impl Upstream {
    pub(crate) fn open(
        ifindex: u32,
        name: &str,
        addr: Ipv4Addr,
        robustness: u32,
        proxy_ssdp: bool,
    ) -> Result<Self> {
        let sender = QuerySender::open(name, ifindex, addr)
            .with_context(|| format!("the upstream interface {name}"))?;
        let cfg = HostConfig {
            robustness,
            unsolicited_report_interval_ns: 1_000_000_000,
            max_version: 3,
            max_report_len: report_len(crate::sys::link::mtu(name).unwrap_or(1500)),
        };
        Ok(Upstream {
            ifindex,
            name: name.to_string(),
            addr,
            host: UpstreamHost::new(cfg, u64::from(ifindex) ^ 0x6d67_6d00),
            sender,
            dirty: BTreeSet::new(),
            proxy_ssdp,
            send_failures: RateLimit::default(),
            reports_sent: 0,
            queries_heard: 0,
        })
    }

    /// Reads the upstream link's MTU again (a link changed): the reports follow it.
    pub(crate) fn follow_mtu(&mut self) {
        if let Ok(mtu) = crate::sys::link::mtu(&self.name) {
            self.set_mtu(mtu);
        }
    }

    /// The upstream link's MTU is `mtu` now: the next reports fit it.
    pub(crate) fn set_mtu(&mut self, mtu: u32) {
        let len = report_len(mtu);
        if self.host.config().max_report_len != len {
            log::info!(
                "upstream {}: MTU {mtu}: reports of at most {len} bytes",
                self.name
            );
            self.host.set_max_report_len(len);
        }
    }

    /// What the classifier needs upstream: enabled, queries only (the neighbours' reports
    /// and leaves are counted in the kernel, not sent up: `on_igmp` would drop them), within
    /// the default budget, no fast path, every source accepted (the proxy judges).
    pub(crate) fn write_settings(&self, maps: &mut KernelMaps) -> Result<()> {
        use mgm_common::maps::{IFACE_FLAG_NO_FAST_PATH, IFACE_FLAG_QUERIES_ONLY};
        let mut s = IfaceSettings {
            group_membership_interval_ns: 260_000_000_000,
            older_host_present_interval_ns: 260_000_000_000,
            enabled: 1,
            flags: IFACE_FLAG_NO_FAST_PATH | IFACE_FLAG_QUERIES_ONLY,
            ..IfaceSettings::default()
        };
        s.set_report_budget(crate::igmp::DEFAULT_MAX_REPORTS_PER_SECOND);
        maps.ifaces
            .insert(self.ifindex, s, 0)
            .with_context(|| format!("writing MGM_IFACES for the upstream {}", self.name))
    }

    /// A downstream change of `group`: reported at the next [`Self::flush`].
    pub(crate) fn mark(&mut self, group: Ipv4Addr) {
        self.dirty.insert(group);
    }

    /// Whether `group` is proxied at all: never the link-local ones (224.0.0.0/24), SSDP only
    /// when asked.
    fn proxied(&self, group: Ipv4Addr) -> bool {
        let o = group.octets();
        let link_local = o[0] == 224 && o[1] == 0 && o[2] == 0;
        !link_local && (group != SSDP_GROUP || self.proxy_ssdp)
    }

    /// Reports upstream what changed: for each changed group, the merge of every downstream
    /// interface's wish (RFC 4605 §4.1).
    pub(crate) fn flush(&mut self, igmp: &IgmpPorts, static_joins: &[(Sg, IfKey)], now: u64) {
        let dirty = std::mem::take(&mut self.dirty);
        for group in dirty {
            if !self.proxied(group) {
                continue;
            }
            let wish = self.wish(igmp, static_joins, group);
            let actions = self.host.set_group(group, wish, now);
            self.send(actions);
        }
    }

    /// The merged wish of the downstream interfaces for `group`.
    fn wish(&self, igmp: &IgmpPorts, static_joins: &[(Sg, IfKey)], group: Ipv4Addr) -> Filter {
        let mut per_iface: BTreeMap<u32, Vec<Filter>> = BTreeMap::new();
        for (ifindex, port) in &igmp.ports {
            if *ifindex == self.ifindex {
                continue;
            }
            if let Some(g) = port.router.group(group) {
                per_iface
                    .entry(*ifindex)
                    .or_default()
                    .push(Filter::of_router_group(g));
            }
        }
        for (sg, iface) in static_joins {
            if sg.group != Some(group) || iface.ifindex == self.ifindex {
                continue;
            }
            let filter = match sg.source {
                None => Filter::Exclude(BTreeSet::new()),
                Some(s) => Filter::Include([s].into_iter().collect()),
            };
            per_iface.entry(iface.ifindex).or_default().push(filter);
        }
        let all: Vec<Filter> = per_iface.into_values().flatten().collect();
        merge(all.iter())
    }

    /// A classifier event on the upstream interface: queries go to the host core; reports of
    /// other hosts there are not ours to act on.
    pub(crate) fn on_igmp(&mut self, igmp: &[u8], now: u64) {
        if let Ok(mgm_common::igmp::IgmpMessage::Query(q)) = mgm_common::igmp::parse(igmp) {
            self.queries_heard += 1;
            let actions = self.host.on_query(&q, now);
            self.send(actions);
        }
    }

    /// Leaves every group upstream (at shutdown): one state-change report each, at once.
    pub(crate) fn leave_all(&mut self, now: u64) {
        for (group, _) in self.host.groups() {
            let actions = self.host.set_group(group, Filter::none(), now);
            self.send(actions);
        }
    }

    pub(crate) fn next_deadline(&self) -> Option<u64> {
        self.host.next_deadline()
    }

    pub(crate) fn on_deadline(&mut self, now: u64) {
        if self.host.next_deadline().is_some_and(|d| d <= now) {
            let actions = self.host.on_deadline(now);
            self.send(actions);
        }
    }

    /// `mgm show upstream`.
    pub(crate) fn view(&self, now: u64) -> UpstreamView {
        UpstreamView {
            interface: self.name.clone(),
            present: true,
            ifindex: self.ifindex,
            address: self.addr.to_string(),
            version: self.host.version(now),
            reports_sent: self.reports_sent,
            queries_heard: self.queries_heard,
            groups: self
                .host
                .groups()
                .into_iter()
                .map(|(g, f)| UpstreamGroupView {
                    group: g.to_string(),
                    filter_mode: if f.is_exclude() { "exclude" } else { "include" }.into(),
                    sources: f.sources().iter().map(|s| s.to_string()).collect(),
                })
                .collect(),
        }
    }

    fn send(&mut self, actions: Vec<HostAction>) {
        for a in actions {
            let HostAction::Send { dst, igmp } = a;
            match self.sender.send(dst, &igmp) {
                Ok(()) => self.reports_sent += 1,
                Err(e) => {
                    let now = crate::time::monotonic_ns().unwrap_or(0);
                    if let Some(more) = self.send_failures.allow(now) {
                        log::warn!("{e:#}{}", super::igmp_log::more(more));
                    }
                }
            }
        }
    }
}

/// The `--upstream` interface and its options: wanted for the whole run, there or not.
#[derive(Clone, Debug)]
pub(crate) struct UpstreamWanted {
    pub(crate) name: String,
    pub(crate) forward_upstream: bool,
    pub(crate) proxy_ssdp: bool,
    pub(crate) robustness: u32,
}

impl Daemon {
    /// The upstream interface is there (at start, or it came back): the classifier attached,
    /// `proxy` owns it, and everything the downstream interfaces want is reported again (a
    /// new link, or the upstream router forgot us).
    pub(crate) fn start_upstream(&mut self, iface: &ManagedInterface, now: u64) -> Result<()> {
        let Some(w) = self.upstream_wanted.clone() else {
            return Ok(());
        };
        self.classifier.attach(&iface.name, iface.link)?;
        let started = self
            .fwd
            .add_upstream(iface, w.forward_upstream, now)
            .and_then(|()| {
                Upstream::open(
                    iface.ifindex,
                    &iface.name,
                    iface.address,
                    w.robustness,
                    w.proxy_ssdp,
                )
            })
            .and_then(|u| u.write_settings(&mut self.maps).map(|()| u));
        let mut up = match started {
            Ok(u) => u,
            Err(e) => {
                self.classifier.forget(&iface.name);
                self.fwd.remove_interface(iface.ifindex, &self.igmp, now);
                return Err(e);
            }
        };
        log::info!(
            "IGMP proxy: reporting upstream on {} (ifindex {}, {} link) from {}",
            iface.name,
            iface.ifindex,
            iface.link.describe(),
            iface.address
        );
        for port in self.igmp.ports.values() {
            for g in port.router.groups() {
                up.mark(g.group);
            }
        }
        for (sg, _) in self.fwd.static_joins() {
            if let Some(g) = sg.group {
                up.mark(g);
            }
        }
        self.upstream = Some(up);
        self.report_upstream(now);
        self.publish(Vec::new());
        Ok(())
    }

    /// The upstream interface is gone (or lost its address): nothing is reported until it is
    /// back; forwarding from it stops.
    pub(crate) fn stop_upstream(&mut self, why: &str, now: u64) {
        let Some(up) = self.upstream.take() else {
            return;
        };
        log::warn!(
            "the upstream {} (ifindex {}) {why}: nothing is proxied until it is back",
            up.name,
            up.ifindex
        );
        let _ = self.maps.ifaces.remove(&up.ifindex);
        self.fwd.remove_interface(up.ifindex, &self.igmp, now);
        self.classifier.forget(&up.name);
        self.publish(Vec::new());
        self.fwd.forget_name(up.ifindex);
    }

    /// After link changes: the upstream interface checked like the listed ones.
    pub(crate) fn check_upstream(
        &mut self,
        interfaces: &super::preflight::Interfaces,
        removed: &[u32],
        now: u64,
    ) {
        let Some(w) = self.upstream_wanted.clone() else {
            return;
        };
        use super::preflight::Presence;
        if let Some(cur) = self.upstream.as_ref().map(|u| (u.ifindex, u.addr)) {
            let why = if removed.contains(&cur.0) {
                Some("is gone")
            } else {
                match interfaces.resolve(&w.name) {
                    Ok(Presence::Ready(found)) if found.ifindex == cur.0 => {
                        (found.address != cur.1).then_some("changed its address")
                    }
                    Ok(Presence::NoAddress { ifindex }) if ifindex == cur.0 => {
                        Some("has no IPv4 address any more")
                    }
                    Err(_) => None,
                    Ok(_) => Some("is gone"),
                }
            };
            match why {
                Some(why) => self.stop_upstream(why, now),
                None => return,
            }
        }
        if !interfaces.is_up(&w.name) {
            return;
        }
        if let Ok(Presence::Ready(iface)) = interfaces.resolve(&w.name) {
            if let Err(e) = self.start_upstream(&iface, now) {
                log::warn!("the upstream {} is back but cannot be used: {e:#}", w.name);
            }
        }
    }
}

/// The longest report on a link of MTU `mtu`: the MTU less the IPv4 header with Router Alert
/// (an oversized raw send fails whole, e.g. on PPPoE's 1492 or WireGuard's 1420), at most a
/// 1500-byte MTU's.
fn report_len(mtu: u32) -> usize {
    (mtu as usize)
        .saturating_sub(crate::sys::igmp_frame::IP_HEADER_LEN)
        .clamp(64, crate::proxy::report::MAX_REPORT_LEN)
}
