//! Interfaces that come and go while mgm runs: a managed interface that is deleted (or whose
//! name now belongs to another ifindex, e.g. renamed, or a delete notification was lost) is
//! dropped everywhere at once; a listed interface that exists again, is up and has an IPv4
//! address is managed again.
use super::forward_shell::ForwardShell;
use super::igmp_shell::{IgmpShell, Outputs};
use super::{preflight, publish};
use crate::bpf::{Classifier, KernelMaps};
use crate::daemon::link_watch::LinkChanges;
use crate::igmp::IgmpConfig;
use std::collections::HashMap;
use tokio::sync::broadcast;

/// At most one "cannot be managed" warning per interface per this long.
const WARN_EVERY_NS: u64 = 60_000_000_000;

pub struct Hotplug {
    /// The interfaces of the command line with their IGMP settings.
    wanted: Vec<(String, IgmpConfig)>,
    last_warning: HashMap<String, u64>,
}

impl Hotplug {
    pub fn new(wanted: Vec<(String, IgmpConfig)>) -> Self {
        Hotplug {
            wanted,
            last_warning: HashMap::new(),
        }
    }

    #[allow(clippy::too_many_arguments)]
    pub fn apply(
        &mut self,
        changes: LinkChanges,
        now: u64,
        igmp: &mut IgmpShell,
        fwd: &mut ForwardShell,
        classifier: &mut Classifier,
        maps: &mut KernelMaps,
        events: &broadcast::Sender<String>,
    ) {
        let mut gone = changes.removed;
        if changes.appeared {
            // A managed name that no longer resolves to its ifindex: renamed, or deleted while a
            // notification was lost.
            for (ifindex, name) in igmp.managed() {
                if nix::net::if_::if_nametoindex(name.as_str()).ok() != Some(ifindex) {
                    gone.push(ifindex);
                }
            }
        }
        for ifindex in gone {
            let Some((name, out)) = igmp.remove_interface(ifindex, maps, now) else {
                continue;
            };
            log::warn!(
                "interface {name} (ifindex {ifindex}) is gone: IGMP and forwarding stopped on it \
                 until it comes back"
            );
            fwd.on_deltas(&out.deltas, igmp, now);
            fwd.remove_interface(ifindex, igmp, now);
            classifier.forget(&name);
            publish(fwd, out, events);
            fwd.forget_name(ifindex);
        }
        if changes.appeared {
            self.add_returning(now, igmp, fwd, classifier, maps, events);
        }
    }

    fn add_returning(
        &mut self,
        now: u64,
        igmp: &mut IgmpShell,
        fwd: &mut ForwardShell,
        classifier: &mut Classifier,
        maps: &mut KernelMaps,
        events: &broadcast::Sender<String>,
    ) {
        for (name, cfg) in &self.wanted {
            if igmp.manages(name) || !preflight::is_up(name) {
                continue;
            }
            // Not back yet, or no IPv4 address yet: a later change retries.
            let Ok(found) = preflight::resolve_interfaces(std::slice::from_ref(name)) else {
                continue;
            };
            let Some(iface) = found.into_iter().next() else {
                continue;
            };
            let mut out = Outputs {
                time_ns: now,
                ..Default::default()
            };
            let added = classifier
                .attach(&iface.name)
                .and_then(|()| fwd.add_interface(&iface, now))
                .and_then(|()| igmp.add_interface(&iface, cfg, maps, now, &mut out));
            match added {
                Ok(()) => {
                    log::info!(
                        "interface {} (ifindex {}) is back: managed again",
                        iface.name,
                        iface.ifindex
                    );
                    fwd.on_deltas(&out.deltas, igmp, now);
                    // The IGMP replay the ownership change asked for, without waiting for
                    // another event.
                    fwd.settle(igmp, now);
                    publish(fwd, out, events);
                }
                Err(e) => {
                    let last = self.last_warning.get(name).copied();
                    if last.is_none_or(|t| now.saturating_sub(t) >= WARN_EVERY_NS) {
                        log::warn!(
                            "interface {} is back but cannot be managed: {e:#}",
                            iface.name
                        );
                        self.last_warning.insert(name.clone(), now);
                    }
                    // Leave nothing half-added; a later change retries.
                    classifier.forget(&iface.name);
                    fwd.remove_interface(iface.ifindex, igmp, now);
                    fwd.forget_name(iface.ifindex);
                    let _ = igmp.remove_interface(iface.ifindex, maps, now);
                }
            }
        }
    }
}
