//! The static entries of the built-in protocol `static` (`mgm join`, `mgm leave`, `mgm route`):
//! carried out on the manager, and reported upstream by the IGMP proxy like a host's joins.
use super::requests::Outcome;
use crate::config::{StaticJoin, StaticRoute};
use crate::control::api::handler::{StaticJoinArgs, StaticRouteArgs};
use crate::control::api::{Reply, Request};
use crate::daemon::state::Daemon;
use crate::manager::{IfKey, Sg};

impl Daemon {
    /// `static_join`, `static_leave`, `static_route_add`, `static_route_del`: the built-in
    /// protocol `static`.
    pub(crate) fn static_request(&mut self, request: &Request, now: u64) -> Outcome {
        let h = self.fwd.static_protocol();
        let (r, what) = match request {
            Request::StaticLeave(j) if self.hotplug.stop_waiting(&command_join(j)) => {
                log::info!(
                    "static join {} on {}: removed while it waited for the interface",
                    sg_text(sg_of(j)),
                    j.interface
                );
                return Ok(Reply::Done);
            }
            Request::StaticJoin(j) | Request::StaticLeave(j) => {
                let iface = self.known_interface(&j.interface)?;
                let sg = sg_of(j);
                if !sg.is_valid() {
                    return Err(format!(
                        "{sg}: the group must be multicast, the source unicast"
                    ));
                }
                let mgr = self.fwd.manager();
                let r = if matches!(request, Request::StaticJoin(_)) {
                    mgr.add_static_join(now, h, sg, iface)
                } else {
                    mgr.delete_static_join(now, h, sg, iface)
                };
                (r, format!("static join {sg} on {}", j.interface))
            }
            Request::StaticRouteAdd(r) => {
                let iif = self.known_interface(&r.iif)?;
                let oifs = r
                    .oifs
                    .iter()
                    .map(|o| self.known_interface(o))
                    .collect::<Result<Vec<_>, _>>()?;
                if r.oifs.contains(&r.iif) {
                    return Err(format!(
                        "{} is both the incoming and an outgoing interface",
                        r.iif
                    ));
                }
                let res = self
                    .fwd
                    .manager()
                    .add_static_route(now, h, r.source, r.group, iif, &oifs);
                (res, format!("static route ({}, {})", r.source, r.group))
            }
            Request::StaticRouteDel(k) => (
                self.fwd
                    .manager()
                    .delete_static_route(now, h, k.source, k.group),
                format!("static route ({}, {})", k.source, k.group),
            ),
            _ => return Err("not a static request".into()),
        };
        if r.is_ok() {
            log::info!("{what}: {}", request.command());
        }
        let out = self.done(r, &what, now);
        // A static receiver downstream is reported upstream by the proxy like a host.
        if let (Some(up), Request::StaticJoin(j) | Request::StaticLeave(j)) =
            (&mut self.upstream, request)
        {
            up.mark(j.group);
            self.report_upstream(now);
        }
        out
    }
}

/// The file's `[[join]]`s are wanted for the whole run, like its interfaces: one on an
/// interface not managed at the moment (not there yet, without an IPv4 address, or deleted and
/// not back) waits for it, and is made when the interface is managed again.
impl Daemon {
    /// The file's static joins not made now (their interface is not managed, or not yet again).
    pub(crate) fn waiting_file_joins(&self) -> Vec<StaticJoin> {
        if self.reload.file_joins().is_empty() {
            return Vec::new();
        }
        let made = self.fwd.static_joins();
        self.reload
            .file_joins()
            .iter()
            .filter(|j| {
                let key = self.fwd.names().index_of(&j.interface).map(IfKey::new);
                !key.is_some_and(|k| made.contains(&(join_sg(j), k)))
            })
            .cloned()
            .collect()
    }

    /// Makes the file's static joins whose interface is managed now and that wait for it
    /// (after a link change: an interface came, or came back).
    pub(crate) fn make_waiting_file_joins(&mut self, now: u64) {
        for j in self.waiting_file_joins() {
            if self.fwd.names().index_of(&j.interface).is_none() {
                continue;
            }
            let request = Request::StaticJoin(join_args(&j));
            if let Err(e) = self.static_request(&request, now) {
                log::warn!("configuration file: static join on {}: {e}", j.interface);
            }
        }
    }

    /// The file's static routes with an interface not managed now, each with those interfaces.
    pub(crate) fn waiting_file_routes(&self) -> Vec<(StaticRoute, Vec<String>)> {
        let names = self.fwd.names();
        self.reload
            .file_routes()
            .iter()
            .filter_map(|r| {
                let missing: Vec<String> = std::iter::once(&r.iif)
                    .chain(&r.oifs)
                    .filter(|n| names.index_of(n).is_none())
                    .cloned()
                    .collect();
                (!missing.is_empty()).then(|| (r.clone(), missing))
            })
            .collect()
    }

    /// Makes the file's static routes whose interfaces are all managed now and that the
    /// manager does not hold (refused while one was missing), or holds on an ifindex that is
    /// no longer managed (an interface deleted and made anew). A route of the same (S,G) made
    /// with `mgm route add` on managed interfaces stays.
    pub(crate) fn make_waiting_file_routes(&mut self, now: u64) {
        let routes = self.reload.file_routes().to_vec();
        if routes.is_empty() {
            return;
        }
        let held = self.fwd.manager().static_routes();
        for r in routes {
            let names = self.fwd.names();
            let all_managed = std::iter::once(&r.iif)
                .chain(&r.oifs)
                .all(|n| names.index_of(n).is_some());
            let holds = held
                .iter()
                .find(|h| (h.source, h.group) == (r.source, r.group));
            let current = holds.is_some_and(|h| {
                std::iter::once(&h.iif)
                    .chain(&h.oifs)
                    .all(|k| names.knows(k.ifindex))
            });
            if !all_managed || current {
                continue;
            }
            if let Err(e) = self.static_request(&Request::StaticRouteAdd(route_args(&r)), now) {
                log::warn!("configuration file: static route: {e}");
            }
        }
    }

    /// Makes the `mgm join`s that wait for their interface, where it is managed again.
    pub(crate) fn make_waiting_command_joins(&mut self, now: u64) {
        let back: Vec<StaticJoin> = self
            .hotplug
            .waiting_joins()
            .iter()
            .filter(|j| self.fwd.names().index_of(&j.interface).is_some())
            .cloned()
            .collect();
        for j in back {
            self.hotplug.stop_waiting(&j);
            let request = Request::StaticJoin(join_args(&j));
            match self.static_request(&request, now) {
                Ok(_) => log::info!(
                    "static join {} on {} (mgm join): made again, the interface is back",
                    sg_text(join_sg(&j)),
                    j.interface
                ),
                Err(e) => log::warn!("mgm join on {}: not made again: {e}", j.interface),
            }
        }
    }

    /// An interface that is gone (its ifindex is dead): its static joins are deleted and wait
    /// for it to come back (made again then): the file's in the file, `mgm join`'s in memory.
    pub(crate) fn drop_static_joins(&mut self, ifindex: u32, name: &str, now: u64) {
        let key = IfKey::new(ifindex);
        let h = self.fwd.static_protocol();
        let gone: Vec<Sg> = self
            .fwd
            .static_joins()
            .into_iter()
            .filter_map(|(sg, k)| (k == key).then_some(sg))
            .collect();
        for sg in gone {
            let r = self.fwd.manager().delete_static_join(now, h, sg, key);
            let file = self
                .reload
                .file_joins()
                .iter()
                .any(|j| j.interface == name && join_sg(j) == sg);
            let then = match sg.group {
                _ if file => "the file's: made again when it is back",
                Some(group) => {
                    self.hotplug.wait_for_interface(StaticJoin {
                        interface: name.to_string(),
                        group,
                        source: sg.source,
                    });
                    "made with mgm join: made again when it is back"
                }
                None => "made with mgm join: dropped",
            };
            let what = format!("static join {} on {name}", sg_text(sg));
            log::info!("{what}: withdrawn, the interface is gone ({then})");
            let _ = self.done(r, &what, now);
            if let (Some(up), Some(group)) = (&mut self.upstream, sg.group) {
                up.mark(group);
            }
        }
        self.report_upstream(now);
    }
}

/// The join of a `static_join`/`static_leave` request, as a waiting one is kept.
fn command_join(j: &StaticJoinArgs) -> StaticJoin {
    StaticJoin {
        interface: j.interface.clone(),
        group: j.group,
        source: j.source,
    }
}

fn sg_of(j: &StaticJoinArgs) -> Sg {
    Sg {
        source: j.source,
        group: Some(j.group),
    }
}

fn join_sg(j: &StaticJoin) -> Sg {
    Sg {
        source: j.source,
        group: Some(j.group),
    }
}

/// `(S, G)` or `(*, G)`, as the file's joins are written in the log.
fn sg_text(sg: Sg) -> String {
    let g = sg.group.map_or_else(|| "*".to_string(), |g| g.to_string());
    match sg.source {
        Some(s) => format!("({s}, {g})"),
        None => format!("(*, {g})"),
    }
}

/// The control request's arguments for a file's join.
pub(crate) fn join_args(j: &StaticJoin) -> StaticJoinArgs {
    StaticJoinArgs {
        interface: j.interface.clone(),
        group: j.group,
        source: j.source,
    }
}

/// The control request's arguments for a file's route.
pub(crate) fn route_args(r: &StaticRoute) -> StaticRouteArgs {
    StaticRouteArgs {
        source: r.source,
        group: r.group,
        iif: r.iif.clone(),
        oifs: r.oifs.clone(),
    }
}
