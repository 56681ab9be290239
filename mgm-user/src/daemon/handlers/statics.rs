//! The static entries of the built-in protocol `static` (`mgm join`, `mgm leave`, `mgm route`):
//! carried out on the manager, and reported upstream by the IGMP proxy like a host's joins.
use super::requests::Outcome;
use crate::control::api::Request;
use crate::daemon::state::Daemon;
use crate::manager::Sg;

impl Daemon {
    /// `static_join`, `static_leave`, `static_route_add`, `static_route_del`: the built-in
    /// protocol `static`.
    pub(crate) fn static_request(&mut self, request: &Request, now: u64) -> Outcome {
        let h = self.fwd.static_protocol();
        let (r, what) = match request {
            Request::StaticJoin(j) | Request::StaticLeave(j) => {
                let iface = self.known_interface(&j.interface)?;
                let sg = Sg {
                    source: j.source,
                    group: Some(j.group),
                };
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
