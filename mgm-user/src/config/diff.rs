//! What a reload changes: the difference between the running [`RunConfig`] and the one just
//! read, or why it cannot be applied without a restart.
use std::time::Duration;

use super::{InterfaceConfig, RunConfig, StaticJoin, StaticRoute};
use crate::settings::SETTINGS;

/// The changes a reload applies, in this order: static entries removed, interfaces removed,
/// interfaces changed, interfaces added, static entries added.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ReloadPlan {
    /// Interfaces that go down (dropped from the file, or their `protocol` changed).
    pub removed: Vec<String>,
    /// Interfaces that come up (new, or their `protocol` changed).
    pub added: Vec<InterfaceConfig>,
    /// Interfaces whose IGMP settings changed, with the new ones.
    pub changed: Vec<InterfaceConfig>,
    pub joins_removed: Vec<StaticJoin>,
    pub joins_added: Vec<StaticJoin>,
    /// Routes whose (S,G) is no longer in the file.
    pub routes_removed: Vec<StaticRoute>,
    /// Routes new or changed (adding replaces the route of the same (S,G)).
    pub routes_added: Vec<StaticRoute>,
    pub handler_deadline: Option<Duration>,
    pub max_mfes: Option<u32>,
    /// The new `mfc-reconcile-interval` (0: off).
    pub mfc_reconcile_interval: Option<Duration>,
    /// The new log specification (`log`).
    pub log: Option<String>,
    /// One line per change, for the log and the answer to `mgm reload`.
    pub lines: Vec<String>,
}

impl ReloadPlan {
    pub fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }
}

/// The plan from `old` to `new`; an error names the first key that needs a restart.
pub fn plan(old: &RunConfig, new: &RunConfig) -> Result<ReloadPlan, String> {
    needs_restart(old, new)?;
    let mut p = ReloadPlan::default();
    plan_interfaces(&mut p, old, new);
    plan_statics(&mut p, old, new);
    if old.handler_deadline != new.handler_deadline {
        p.handler_deadline = Some(new.handler_deadline);
        p.lines.push(format!(
            "handler-deadline {:?} -> {:?}",
            old.handler_deadline, new.handler_deadline
        ));
    }
    if old.max_mfes != new.max_mfes {
        p.max_mfes = Some(new.max_mfes);
        p.lines
            .push(format!("max-mfes {} -> {}", old.max_mfes, new.max_mfes));
    }
    if old.mfc_reconcile_interval != new.mfc_reconcile_interval {
        p.mfc_reconcile_interval = Some(new.mfc_reconcile_interval);
        p.lines.push(format!(
            "mfc-reconcile-interval {:?} -> {:?}",
            old.mfc_reconcile_interval, new.mfc_reconcile_interval
        ));
    }
    if old.log != new.log {
        p.log = Some(new.log.clone());
        p.lines.push(format!("log {} -> {}", old.log, new.log));
    }
    Ok(p)
}

/// Interfaces removed, added (a new protocol is both) and whose IGMP settings changed.
fn plan_interfaces(p: &mut ReloadPlan, old: &RunConfig, new: &RunConfig) {
    for o in &old.interfaces {
        match new.interfaces.iter().find(|n| n.name == o.name) {
            None => {
                p.removed.push(o.name.clone());
                p.lines.push(format!("interface {} removed", o.name));
            }
            Some(n) if n.protocol != o.protocol => {
                p.removed.push(o.name.clone());
                p.added.push(n.clone());
                p.lines.push(format!(
                    "interface {}: protocol {} -> {} (taken down and up again)",
                    o.name,
                    o.protocol.as_deref().unwrap_or("local"),
                    n.protocol.as_deref().unwrap_or("local")
                ));
            }
            Some(n) if n.igmp != o.igmp => {
                let what: Vec<String> = SETTINGS
                    .iter()
                    .filter_map(|s| {
                        let (a, b) = (s.value_text(&o.igmp), s.value_text(&n.igmp));
                        (a != b).then(|| {
                            let show = |v: Option<String>| v.unwrap_or_else(|| "derived".into());
                            format!("{} {} -> {}", s.name, show(a), show(b))
                        })
                    })
                    .collect();
                p.lines
                    .push(format!("interface {}: {}", o.name, what.join(", ")));
                p.changed.push(n.clone());
            }
            Some(_) => {}
        }
    }
    for n in &new.interfaces {
        if !old.interfaces.iter().any(|o| o.name == n.name) {
            p.added.push(n.clone());
            p.lines.push(format!("interface {} added", n.name));
        }
    }
}

/// Static joins removed and added; static routes removed, added and changed (same (S,G)).
fn plan_statics(p: &mut ReloadPlan, old: &RunConfig, new: &RunConfig) {
    for j in old.joins.iter().filter(|j| !new.joins.contains(j)) {
        p.joins_removed.push(j.clone());
        p.lines
            .push(format!("static join {} removed", join_text(j)));
    }
    for j in new.joins.iter().filter(|j| !old.joins.contains(j)) {
        p.joins_added.push(j.clone());
        p.lines.push(format!("static join {} added", join_text(j)));
    }
    let same_sg = |a: &StaticRoute, b: &StaticRoute| (a.source, a.group) == (b.source, b.group);
    for r in &old.routes {
        if !new.routes.iter().any(|n| same_sg(n, r)) {
            p.routes_removed.push(r.clone());
            p.lines
                .push(format!("static route {} removed", route_text(r)));
        }
    }
    for r in new.routes.iter().filter(|r| !old.routes.contains(r)) {
        p.routes_added.push(r.clone());
        let verb = if old.routes.iter().any(|o| same_sg(o, r)) {
            "changed"
        } else {
            "added"
        };
        p.lines
            .push(format!("static route {} {verb}", route_text(r)));
    }
}

/// `(S, G) on IF`, or `(*, G) on IF`.
pub fn join_text(j: &StaticJoin) -> String {
    format!("{} on {}", join_sg_text(j), j.interface)
}

/// `(S, G)`, or `(*, G)`.
pub fn join_sg_text(j: &StaticJoin) -> String {
    match j.source {
        Some(s) => format!("({s}, {})", j.group),
        None => format!("(*, {})", j.group),
    }
}

/// `(S, G) IIF -> OIF OIF`.
pub fn route_text(r: &StaticRoute) -> String {
    format!(
        "({}, {}) {} -> {}",
        r.source,
        r.group,
        r.iif,
        r.oifs.join(" ")
    )
}

/// The first key whose change needs a restart, as the error.
fn needs_restart(old: &RunConfig, new: &RunConfig) -> Result<(), String> {
    let show = |v: &dyn std::fmt::Debug| format!("{v:?}");
    let keys: [(&str, String, String); 11] = [
        ("bpffs", show(&old.bpffs), show(&new.bpffs)),
        ("socket", show(&old.socket), show(&new.socket)),
        (
            "socket-group",
            show(&old.socket_group),
            show(&new.socket_group),
        ),
        (
            "socket-read-group",
            show(&old.socket_read_group),
            show(&new.socket_read_group),
        ),
        (
            "no-fast-path",
            show(&old.no_fast_path),
            show(&new.no_fast_path),
        ),
        (
            "accept-off-link-reports",
            show(&old.accept_off_link_reports),
            show(&new.accept_off_link_reports),
        ),
        (
            "mroute-table",
            show(&old.mroute_table),
            show(&new.mroute_table),
        ),
        ("upstream", show(&old.upstream), show(&new.upstream)),
        (
            "forward-upstream",
            show(&old.forward_upstream),
            show(&new.forward_upstream),
        ),
        ("proxy-ssdp", show(&old.proxy_ssdp), show(&new.proxy_ssdp)),
        ("metrics", show(&old.metrics), show(&new.metrics)),
    ];
    if let Some((key, a, b)) = keys.iter().find(|(_, a, b)| a != b) {
        return Err(format!(
            "{key} changed ({a} -> {b}): it needs a restart; nothing was changed"
        ));
    }
    if old.upstream.is_some() && old.igmp.robustness != new.igmp.robustness {
        return Err(format!(
            "robustness changed ({} -> {}): the IGMP proxy's upstream side reads it at start, \
             it needs a restart; nothing was changed",
            old.igmp.robustness, new.igmp.robustness
        ));
    }
    Ok(())
}
