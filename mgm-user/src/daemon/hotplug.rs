//! Interfaces that come late, come and go, or change their addresses while mgm runs: the
//! interfaces of the command line are wanted for the whole run, whether they are there or not.
//!
//! - A listed interface that is not there yet, or has no IPv4 address yet, is awaited: managed
//!   as soon as it exists, is up and has an IPv4 address (a PPP link that dials in, a WireGuard
//!   or tunnel device made after mgm started, a late VLAN or bridge).
//! - A managed interface that is deleted (or whose name now belongs to another ifindex: renamed,
//!   re-created, a delete notification lost) is dropped everywhere at once, and awaited again.
//! - A managed interface that loses its last IPv4 address is dropped the same way, and managed
//!   again when it has one.
//! - A managed interface whose addresses change stays managed and keeps its groups: its router
//!   takes the new ones in place. Its primary address is the router's own (the source of its
//!   queries, its identity in the querier election); its subnets are where its hosts are. A
//!   second address in a subnet already there (a secondary, a VRRP address) changes nothing.
//! - A managed interface set administratively down stays managed, as its VIF does in the
//!   kernel: its queries fail while it is down, its groups age as on a silent link, and it goes
//!   on where it was when it is up again.
//!
//! - Static joins follow their interface: the file's `[[join]]`s and `mgm join`'s are made when
//!   it is managed, withdrawn when it is gone, and made again when it is back. `mgm join`'s wait
//!   in memory only: `mgm leave` removes one that waits, a restart forgets them.
//! - The file's `[[route]]`s wait the same way for all their interfaces.
//!
//! Every change the link watch reports re-reads the listed interfaces (one `getifaddrs`).
use super::preflight::{self, AddressChange, Interfaces, ManagedInterface, Presence};
use super::state::Daemon;
use crate::config::StaticJoin;
use crate::igmp::IgmpConfig;
use crate::sys::link_watch::LinkChanges;
use std::collections::{BTreeMap, HashMap, HashSet};

/// At most one "cannot be managed" warning per interface per this long.
const WARN_EVERY_NS: u64 = 60_000_000_000;

/// The interfaces of the command line, the ones managed now as mgm last took them, and when
/// each was last reported unmanageable.
pub(crate) struct Hotplug {
    wanted: Vec<(String, IgmpConfig)>,
    /// ifindex → the interface as mgm last took it (address, subnets, kind).
    current: BTreeMap<u32, ManagedInterface>,
    /// Names managed at least once in this run.
    seen: HashSet<String>,
    last_warning: HashMap<String, u64>,
    /// `mgm join`s withdrawn because their interface was deleted: made again when it is
    /// managed again (the file's joins wait by being in the file).
    waiting_joins: Vec<StaticJoin>,
}

impl Hotplug {
    pub(crate) fn new(wanted: Vec<(String, IgmpConfig)>) -> Self {
        Hotplug {
            wanted,
            current: BTreeMap::new(),
            seen: HashSet::new(),
            last_warning: HashMap::new(),
            waiting_joins: Vec::new(),
        }
    }

    /// At start: `started` are managed (the daemon started them), `awaited` are listed but not
    /// there yet or without an IPv4 address (logged once each).
    pub(crate) fn begin(&mut self, started: &[ManagedInterface], awaited: &[(String, IgmpConfig)]) {
        for iface in started {
            self.current.insert(iface.ifindex, iface.clone());
            self.seen.insert(iface.name.clone());
        }
        for (name, cfg) in awaited {
            log::info!("{name} is not there yet (or has no IPv4 address): waiting for it");
            if !self.wanted.iter().any(|(n, _)| n == name) {
                self.wanted.push((name.clone(), cfg.clone()));
            }
        }
    }

    /// Wants `name` with `cfg` from now on (a reload: added, or its settings changed).
    pub(crate) fn want(&mut self, name: &str, cfg: &IgmpConfig) {
        match self.wanted.iter_mut().find(|(n, _)| n == name) {
            Some((_, c)) => *c = cfg.clone(),
            None => self.wanted.push((name.to_string(), cfg.clone())),
        }
    }

    /// No longer wants `name` (a reload removed it).
    pub(crate) fn unlist(&mut self, name: &str) {
        self.wanted.retain(|(n, _)| n != name);
        self.seen.remove(name);
        self.last_warning.remove(name);
        self.waiting_joins.retain(|j| j.interface != name);
    }

    /// The `mgm join`s that wait for their interface.
    pub(crate) fn waiting_joins(&self) -> &[StaticJoin] {
        &self.waiting_joins
    }

    /// `j` (made with `mgm join`) waits for its interface, which is gone.
    pub(crate) fn wait_for_interface(&mut self, j: StaticJoin) {
        if !self.waiting_joins.contains(&j) {
            self.waiting_joins.push(j);
        }
    }

    /// `j` no longer waits (made again, or `mgm leave`); whether it did.
    pub(crate) fn stop_waiting(&mut self, j: &StaticJoin) -> bool {
        let before = self.waiting_joins.len();
        self.waiting_joins.retain(|w| w != j);
        self.waiting_joins.len() != before
    }

    /// The listed interfaces (command line and configuration file) with their settings, managed or awaited.
    pub(crate) fn wanted(&self) -> &[(String, IgmpConfig)] {
        &self.wanted
    }

    /// Whether to warn about `name` now (at most once per [`WARN_EVERY_NS`]).
    fn should_warn(&mut self, name: &str, now: u64) -> bool {
        let last = self.last_warning.get(name).copied();
        let warn = last.is_none_or(|t| now.saturating_sub(t) >= WARN_EVERY_NS);
        if warn {
            self.last_warning.insert(name.to_string(), now);
        }
        warn
    }
}

/// Why a managed interface stops being managed.
pub(crate) enum Stop {
    /// No longer in the configuration (a reload).
    Unlisted,
    /// Deleted, renamed, or its name now another ifindex's.
    Gone,
    /// No IPv4 address left.
    NoAddress,
}

impl Daemon {
    /// Link and address changes.
    pub(crate) fn on_links(&mut self, changes: LinkChanges, now: u64) {
        let mut drops: Vec<(u32, Stop)> = changes
            .removed
            .iter()
            .map(|&ifindex| (ifindex, Stop::Gone))
            .collect();
        let interfaces = if changes.changed {
            match Interfaces::now() {
                Ok(i) => Some(i),
                Err(e) => {
                    log::warn!("{e:#}; listed interfaces are looked at again on the next change");
                    None
                }
            }
        } else {
            None
        };
        let mut readdressed = Vec::new();
        if let Some(interfaces) = &interfaces {
            for (ifindex, name) in self.igmp.managed() {
                if drops.iter().any(|(i, _)| *i == ifindex) {
                    continue;
                }
                let why = match interfaces.resolve(&name) {
                    Ok(Presence::Ready(found)) if found.ifindex == ifindex => {
                        let was = self.hotplug.current.get(&ifindex);
                        if let Some(change) = was.and_then(|w| found.address_change(w)) {
                            readdressed.push((found, change));
                        }
                        continue;
                    }
                    Ok(Presence::NoAddress { ifindex: i }) if i == ifindex => Stop::NoAddress,
                    // Unreadable for a moment: the next change looks again.
                    Err(_) => continue,
                    // Missing, or the name is another ifindex's now, or not a kind we handle.
                    Ok(_) => Stop::Gone,
                };
                drops.push((ifindex, why));
            }
        }
        for (ifindex, why) in drops {
            self.drop_interface(ifindex, why, now);
        }
        for (iface, change) in readdressed {
            self.take_new_addresses(iface, change);
        }
        if changes.changed {
            // A link's MTU may have changed: the queries and the proxy's reports follow it.
            self.igmp.follow_mtus();
            if let Some(up) = self.upstream.as_mut() {
                up.follow_mtu();
            }
        }
        if let Some(interfaces) = &interfaces {
            self.add_ready(interfaces, now);
            self.check_upstream(interfaces, &changes.removed, now);
        } else if let Some(up) = self.upstream.as_ref().map(|u| u.ifindex) {
            if changes.removed.contains(&up) {
                self.stop_upstream("is gone", now);
            }
        }
        // The static entries on an interface that came (or came back) just now.
        self.make_waiting_file_joins(now);
        self.make_waiting_command_joins(now);
        self.make_waiting_file_routes(now);
    }

    /// A managed interface stops being managed: IGMP and forwarding stop on it.
    pub(crate) fn drop_interface(&mut self, ifindex: u32, why: Stop, now: u64) {
        let Some(name) = self.igmp.name_of(ifindex).map(str::to_string) else {
            return;
        };
        match &why {
            Stop::Unlisted => log::info!(
                "interface {name} (ifindex {ifindex}) is no longer in the configuration: IGMP \
                 and forwarding stopped on it"
            ),
            Stop::Gone => log::warn!(
                "interface {name} (ifindex {ifindex}) is gone: IGMP and forwarding stopped on it \
                 until it comes back"
            ),
            Stop::NoAddress => log::warn!(
                "interface {name} (ifindex {ifindex}) has no IPv4 address any more: IGMP and \
                 forwarding stopped on it until it has one"
            ),
        }
        if matches!(why, Stop::Gone) {
            // Its ifindex is dead: static joins keyed by it would never apply again.
            self.drop_static_joins(ifindex, &name, now);
        }
        let actions = self.igmp.stop_interface(ifindex, &self.maps, now);
        self.apply(actions, now);
        self.igmp.remove_interface(ifindex, &mut self.maps);
        self.fwd.remove_interface(ifindex, &self.igmp, now);
        self.classifier.forget(&name);
        self.publish(Vec::new());
        self.fwd.forget_name(ifindex);
        self.hotplug.current.remove(&ifindex);
    }

    /// The addresses of a managed interface changed (`iface`: as it is now): its router takes
    /// them in place, its groups and forwarding stay.
    fn take_new_addresses(&mut self, iface: ManagedInterface, change: AddressChange) {
        let subnets: Vec<String> = iface
            .subnets
            .iter()
            .map(|s| format!("{}/{}", std::net::Ipv4Addr::from(s.network), s.prefix_len))
            .collect();
        log::info!(
            "interface {} (ifindex {}): its IPv4 addresses changed ({} {}, subnets {}): taken \
             in place, its groups kept",
            iface.name,
            iface.ifindex,
            match change {
                AddressChange::Primary => "its address now",
                AddressChange::Subnets => "its address still",
            },
            iface.address,
            subnets.join(" ")
        );
        self.igmp.readdress(&iface);
        self.igmp.sync_all_settings(&mut self.maps);
        self.hotplug.current.insert(iface.ifindex, iface);
    }

    /// Manages the listed interfaces that are ready (there, up, with an IPv4 address) and not
    /// managed yet.
    fn add_ready(&mut self, interfaces: &Interfaces, now: u64) {
        let wanted = self.hotplug.wanted.clone();
        for (name, cfg) in &wanted {
            if self.igmp.manages(name) || !interfaces.is_up(name) {
                continue;
            }
            match interfaces.resolve(name) {
                Ok(Presence::Ready(iface)) => self.add_interface(&iface, cfg, now),
                Ok(Presence::Unsupported { device_type, .. })
                    if self.hotplug.should_warn(name, now) =>
                {
                    log::warn!(
                        "{}: not managed (a later change looks again)",
                        preflight::unsupported(name, device_type)
                    );
                }
                // Not there, or no IPv4 address yet (or warned about lately): a later change
                // looks again.
                _ => {}
            }
        }
    }

    fn add_interface(&mut self, iface: &ManagedInterface, cfg: &IgmpConfig, now: u64) {
        let added = self
            .classifier
            .attach(&iface.name, iface.link)
            .and_then(|()| self.fwd.add_interface(iface, now))
            .and_then(|()| self.start_port(iface, cfg, now));
        match added {
            Ok(()) => {
                let again = !self.hotplug.seen.insert(iface.name.clone());
                log::info!(
                    "interface {} (ifindex {}, {}, {} link) is {}",
                    iface.name,
                    iface.ifindex,
                    iface.address,
                    iface.link.describe(),
                    if again {
                        "back: managed again"
                    } else {
                        "there: managed"
                    }
                );
                self.hotplug.current.insert(iface.ifindex, iface.clone());
                // The IGMP replay the ownership change asked for, without waiting for
                // another event.
                self.fwd.settle(&self.igmp, now);
                self.give_reserved(&iface.name, now);
                self.publish(Vec::new());
            }
            Err(e) => {
                if self.hotplug.should_warn(&iface.name, now) {
                    log::warn!(
                        "interface {} is there but cannot be managed: {e:#}",
                        iface.name
                    );
                }
                // Leave nothing half-added; a later change retries.
                self.classifier.forget(&iface.name);
                self.fwd.remove_interface(iface.ifindex, &self.igmp, now);
                self.fwd.forget_name(iface.ifindex);
                let actions = self.igmp.stop_interface(iface.ifindex, &self.maps, now);
                self.apply(actions, now);
                self.igmp.remove_interface(iface.ifindex, &mut self.maps);
            }
        }
    }
}
