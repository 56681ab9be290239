//! Interfaces that come and go while mgm runs: a managed interface that is deleted (or whose
//! name now belongs to another ifindex, e.g. renamed, or a delete notification was lost) is
//! dropped everywhere at once; a listed interface that exists again, is up and has an IPv4
//! address is managed again.
use super::preflight::{self, ManagedInterface};
use super::state::Daemon;
use crate::igmp::IgmpConfig;
use crate::sys::link_watch::LinkChanges;
use std::collections::HashMap;

/// At most one "cannot be managed" warning per interface per this long.
const WARN_EVERY_NS: u64 = 60_000_000_000;

/// The interfaces of the command line, and when each was last reported unmanageable.
pub(crate) struct Hotplug {
    wanted: Vec<(String, IgmpConfig)>,
    last_warning: HashMap<String, u64>,
}

impl Hotplug {
    pub(crate) fn new(wanted: Vec<(String, IgmpConfig)>) -> Self {
        Hotplug {
            wanted,
            last_warning: HashMap::new(),
        }
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

impl Daemon {
    /// Link and address changes.
    pub(crate) fn on_links(&mut self, changes: LinkChanges, now: u64) {
        let mut gone = changes.removed;
        if changes.appeared {
            // A managed name that no longer resolves to its ifindex: renamed, or deleted while a
            // notification was lost.
            for (ifindex, name) in self.igmp.managed() {
                if nix::net::if_::if_nametoindex(name.as_str()).ok() != Some(ifindex) {
                    gone.push(ifindex);
                }
            }
        }
        for ifindex in gone {
            self.drop_interface(ifindex, now);
        }
        if changes.appeared {
            self.add_returning(now);
        }
    }

    /// A managed interface is gone: IGMP and forwarding stop on it.
    fn drop_interface(&mut self, ifindex: u32, now: u64) {
        let Some(name) = self.igmp.name_of(ifindex).map(str::to_string) else {
            return;
        };
        log::warn!(
            "interface {name} (ifindex {ifindex}) is gone: IGMP and forwarding stopped on it \
             until it comes back"
        );
        let actions = self.igmp.stop_interface(ifindex, &self.maps, now);
        self.apply(actions, now);
        self.igmp.remove_interface(ifindex, &mut self.maps);
        self.fwd.remove_interface(ifindex, &self.igmp, now);
        self.classifier.forget(&name);
        self.publish(Vec::new());
        self.fwd.forget_name(ifindex);
    }

    /// Manages again the listed interfaces that are back (up, with an IPv4 address).
    fn add_returning(&mut self, now: u64) {
        let wanted = self.hotplug.wanted.clone();
        for (name, cfg) in &wanted {
            if self.igmp.manages(name) || !preflight::is_up(name) {
                continue;
            }
            // Not back yet, or no IPv4 address yet: a later change retries.
            let Ok(found) = preflight::resolve_interfaces(std::slice::from_ref(name)) else {
                continue;
            };
            if let Some(iface) = found.into_iter().next() {
                self.add_interface(&iface, cfg, now);
            }
        }
    }

    fn add_interface(&mut self, iface: &ManagedInterface, cfg: &IgmpConfig, now: u64) {
        let added = self
            .classifier
            .attach(&iface.name)
            .and_then(|()| self.fwd.add_interface(iface, now))
            .and_then(|()| self.start_port(iface, cfg, now));
        match added {
            Ok(()) => {
                log::info!(
                    "interface {} (ifindex {}) is back: managed again",
                    iface.name,
                    iface.ifindex
                );
                // The IGMP replay the ownership change asked for, without waiting for
                // another event.
                self.fwd.settle(&self.igmp, now);
                self.give_reserved(&iface.name, now);
                self.publish(Vec::new());
            }
            Err(e) => {
                if self.hotplug.should_warn(&iface.name, now) {
                    log::warn!(
                        "interface {} is back but cannot be managed: {e:#}",
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
