//! `mgm show interfaces`: every interface mgm was given, in the order of the command line, then
//! the proxy's upstream: the managed ones with their IGMP router's state, the others with why
//! they are not managed (awaited, of a kind not handled, failed to attach), and each with its
//! link state as the kernel has it now (one `getifaddrs` per request).
use super::preflight::{Interfaces, Presence};
use super::state::Daemon;
use crate::control::api::{AttachState, Awaiting, InterfaceRole, InterfaceView, OperState};
use crate::igmp::{IgmpConfig, Params};
use nix::net::if_::InterfaceFlags;

/// The link of one interface now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Link {
    admin_up: bool,
    oper: OperState,
}

impl Link {
    const ABSENT: Link = Link {
        admin_up: false,
        oper: OperState::Absent,
    };

    /// From the interface's flags (`None`: no such interface).
    fn of(flags: Option<InterfaceFlags>) -> Link {
        match flags {
            None => Link::ABSENT,
            Some(f) => Link {
                admin_up: f.contains(InterfaceFlags::IFF_UP),
                oper: oper_state(f),
            },
        }
    }
}

/// The operational state the flags give: `IFF_RUNNING` is set by the kernel when the oper
/// state is up (or unknown, as tun devices report); `IFF_DORMANT` and `IFF_LOWER_UP` (carrier)
/// tell the other states of an interface that is administratively up.
fn oper_state(f: InterfaceFlags) -> OperState {
    if !f.contains(InterfaceFlags::IFF_UP) {
        OperState::Down
    } else if f.contains(InterfaceFlags::IFF_RUNNING) {
        OperState::Up
    } else if f.contains(InterfaceFlags::IFF_DORMANT) {
        OperState::Dormant
    } else if !f.contains(InterfaceFlags::IFF_LOWER_UP) {
        OperState::LowerLayerDown
    } else {
        OperState::Down
    }
}

/// Why a listed interface that is not managed is not: what it is now (`None`: it could not be
/// read) and whether it is administratively up.
fn unmanaged_state(presence: Option<&Presence>, admin_up: bool) -> (AttachState, Option<Awaiting>) {
    match presence {
        None | Some(Presence::Missing) => (AttachState::Awaited, Some(Awaiting::Interface)),
        Some(Presence::NoAddress { .. }) => (AttachState::Awaited, Some(Awaiting::Ipv4Address)),
        Some(Presence::Unsupported { .. }) => (AttachState::Unsupported, None),
        Some(Presence::Ready(_)) if !admin_up => (AttachState::Awaited, Some(Awaiting::AdminUp)),
        Some(Presence::Ready(_)) => (AttachState::Failed, None),
    }
}

/// A row with the IGMP fields empty and the configured timers (`params`), for an interface no
/// router runs on.
fn bare_row(name: &str, role: InterfaceRole, params: Option<&Params>) -> InterfaceView {
    let ms = |ns: u64| ns / 1_000_000;
    let p = |f: fn(&Params) -> u64| params.map_or(0, |p| ms(f(p)));
    InterfaceView {
        interface: name.to_string(),
        ifindex: 0,
        address: String::new(),
        querier: false,
        querier_address: None,
        version: 0,
        group_count: 0,
        max_groups: 0,
        refused_groups: 0,
        max_sources: 0,
        refused_sources: 0,
        max_groups_per_host: 0,
        refused_host_groups: 0,
        host_count: 0,
        source_count: 0,
        max_sources_total: 0,
        refused_sources_total: 0,
        max_reports_per_second: 0,
        reports_rate_limited: 0,
        refused_filtered_groups: 0,
        refused_filtered_sources: 0,
        allow_groups: Vec::new(),
        deny_groups: Vec::new(),
        allow_sources: Vec::new(),
        deny_sources: Vec::new(),
        quick_leave: false,
        never_querier: false,
        older_querier_queries: 0,
        foreign_queries: 0,
        robustness: params.map_or(0, |p| p.robustness.min(255) as u8),
        query_interval_ms: p(|p| p.query_interval),
        query_response_interval_ms: p(|p| p.query_response_interval),
        last_member_query_interval_ms: p(|p| p.last_member_query_interval),
        last_member_query_count: params.map_or(0, |p| p.last_member_query_count.min(255) as u8),
        startup_query_interval_ms: p(|p| p.startup_query_interval),
        startup_query_count: params.map_or(0, |p| p.startup_query_count.min(255) as u8),
        group_membership_interval_ms: p(|p| p.group_membership_interval),
        other_querier_present_interval_ms: p(|p| p.other_querier_present_interval),
        other_querier_expires_in_ms: None,
        role,
        state: AttachState::Attached,
        waiting_for: None,
        admin_up: false,
        oper_state: OperState::Absent,
        has_address: false,
        waiting_joins: Vec::new(),
        waiting_command_joins: Vec::new(),
        waiting_routes: Vec::new(),
    }
}

/// A listed interface that is not managed now, as it is.
fn unmanaged_row(
    name: &str,
    role: InterfaceRole,
    params: Option<&Params>,
    now: Option<&Interfaces>,
) -> InterfaceView {
    let mut row = bare_row(name, role, params);
    let presence = now.and_then(|i| i.resolve(name).ok());
    let link = Link::of(now.and_then(|i| i.flags(name)));
    (row.state, row.waiting_for) = unmanaged_state(presence.as_ref(), link.admin_up);
    row.ifindex = match presence {
        Some(Presence::Ready(i)) => i.ifindex,
        Some(Presence::NoAddress { ifindex } | Presence::Unsupported { ifindex, .. }) => ifindex,
        _ => 0,
    };
    let address = now.and_then(|i| i.ipv4(name));
    row.address = address.map(|a| a.to_string()).unwrap_or_default();
    row.has_address = address.is_some();
    row.admin_up = link.admin_up;
    row.oper_state = link.oper;
    row
}

impl Daemon {
    pub(crate) fn interfaces_view(&self, now: u64) -> Vec<InterfaceView> {
        // Unreadable for a moment: the link columns say absent, the states come from the daemon.
        let links = Interfaces::now().ok();
        let mut rows = Vec::new();
        for (name, cfg) in self.hotplug.wanted() {
            let managed = self.igmp.ports.iter().find(|(_, p)| &p.name == name);
            match managed.and_then(|(ifindex, _)| self.router_row(*ifindex, now)) {
                Some(mut row) => {
                    self.link_columns(&mut row, links.as_ref());
                    rows.push(row);
                }
                None => rows.push(unmanaged_row(
                    name,
                    InterfaceRole::Router,
                    Some(&params(cfg)),
                    links.as_ref(),
                )),
            }
        }
        // Routers of interfaces not listed (none today: the list is the command line's).
        for (ifindex, p) in &self.igmp.ports {
            if self.hotplug.wanted().iter().all(|(n, _)| n != &p.name) {
                if let Some(mut row) = self.router_row(*ifindex, now) {
                    self.link_columns(&mut row, links.as_ref());
                    rows.push(row);
                }
            }
        }
        if let Some(w) = &self.upstream_wanted {
            rows.push(match &self.upstream {
                Some(u) => {
                    let mut row = bare_row(&u.name, InterfaceRole::Upstream, None);
                    let view = u.view(now);
                    row.ifindex = u.ifindex;
                    row.address = u.addr.to_string();
                    row.version = view.version;
                    row.group_count = view.groups.len();
                    self.link_columns(&mut row, links.as_ref());
                    row
                }
                None => unmanaged_row(&w.name, InterfaceRole::Upstream, None, links.as_ref()),
            });
        }
        self.waiting_columns(&mut rows);
        rows
    }

    /// The static entries that wait for each row's interface.
    fn waiting_columns(&self, rows: &mut [InterfaceView]) {
        for j in self.waiting_file_joins() {
            if let Some(row) = row_of(rows, &j.interface) {
                row.waiting_joins.push(crate::config::join_sg_text(&j));
            }
        }
        for j in self.hotplug.waiting_joins() {
            if let Some(row) = row_of(rows, &j.interface) {
                row.waiting_command_joins
                    .push(crate::config::join_sg_text(j));
            }
        }
        for (r, missing) in self.waiting_file_routes() {
            for name in missing {
                if let Some(row) = row_of(rows, &name) {
                    row.waiting_routes.push(crate::config::route_text(&r));
                }
            }
        }
    }

    /// The link columns of a managed interface.
    fn link_columns(&self, row: &mut InterfaceView, links: Option<&Interfaces>) {
        let link = Link::of(links.and_then(|i| i.flags(&row.interface)));
        row.admin_up = link.admin_up;
        row.oper_state = link.oper;
        row.has_address = links.is_some_and(|i| i.ipv4(&row.interface).is_some());
    }

    /// The row of a managed interface: its IGMP router's state.
    fn router_row(&self, ifindex: u32, now: u64) -> Option<InterfaceView> {
        let ms = |ns: u64| ns / 1_000_000;
        let p = self.igmp.ports.get(&ifindex)?;
        let r = &p.router;
        let mut row = bare_row(&p.name, InterfaceRole::Router, Some(&r.params()));
        row.ifindex = ifindex;
        row.address = r.our_addr().to_string();
        row.querier = r.is_querier();
        row.querier_address = r.querier_address().map(|a| a.to_string());
        row.version = r.version(now);
        row.group_count = r.group_count();
        row.max_groups = r.config().max_groups;
        row.refused_groups = r.refused_groups();
        row.max_sources = r.config().max_sources;
        row.refused_sources = r.refused_sources();
        row.max_groups_per_host = r.config().max_groups_per_host;
        row.refused_host_groups = r.refused_host_groups();
        row.host_count = r.host_count();
        row.source_count = r.source_count();
        row.max_sources_total = r.config().max_sources_total;
        row.refused_sources_total = r.refused_sources_total();
        row.max_reports_per_second = r.config().max_reports_per_second;
        row.reports_rate_limited = self.rate_limited(ifindex);
        row.refused_filtered_groups = r.refused_filtered_groups();
        row.refused_filtered_sources = r.refused_filtered_sources();
        row.allow_groups = texts(&r.config().group_filter.allow);
        row.deny_groups = texts(&r.config().group_filter.deny);
        row.allow_sources = texts(&r.config().source_filter.allow);
        row.deny_sources = texts(&r.config().source_filter.deny);
        row.quick_leave = r.config().quick_leave;
        row.never_querier = !r.config().querier;
        row.older_querier_queries = r.older_queries();
        row.foreign_queries = r.foreign_queries();
        row.other_querier_expires_in_ms = r
            .other_querier_expires_ns()
            .map(|t| ms(t.saturating_sub(now)));
        Some(row)
    }
}

/// The timers an interface will run with (as configured; a router adopts the querier's later).
fn params(cfg: &IgmpConfig) -> Params {
    Params::derive(cfg, None, None)
}

/// A filter's prefixes as `mgm show interfaces --json` lists them.
fn texts(list: &[crate::igmp::Prefix]) -> Vec<String> {
    list.iter().map(|p| p.to_string()).collect()
}

fn row_of<'a>(rows: &'a mut [InterfaceView], name: &str) -> Option<&'a mut InterfaceView> {
    rows.iter_mut().find(|r| r.interface == name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::daemon::preflight::ManagedInterface;
    use crate::sys::link::LinkKind;
    use std::net::Ipv4Addr;

    #[test]
    fn oper_state_follows_the_flags() {
        use InterfaceFlags as F;
        let cases = [
            (F::empty(), OperState::Down),
            (F::IFF_LOWER_UP, OperState::Down),
            (F::IFF_UP, OperState::LowerLayerDown),
            (F::IFF_UP | F::IFF_LOWER_UP, OperState::Down),
            (F::IFF_UP | F::IFF_LOWER_UP | F::IFF_RUNNING, OperState::Up),
            (F::IFF_UP | F::IFF_RUNNING, OperState::Up),
            (
                F::IFF_UP | F::IFF_LOWER_UP | F::IFF_DORMANT,
                OperState::Dormant,
            ),
        ];
        for (flags, want) in cases {
            assert_eq!(oper_state(flags), want, "{flags:?}");
        }
        assert_eq!(Link::of(None), Link::ABSENT);
        let down = Link::of(Some(F::IFF_LOWER_UP | F::IFF_RUNNING));
        assert!(!down.admin_up);
        assert_eq!(
            down.oper,
            OperState::Down,
            "admin down is down, whatever else"
        );
    }

    #[test]
    fn an_unmanaged_interface_says_what_it_waits_for() {
        let ready = Presence::Ready(ManagedInterface {
            name: "eth9".into(),
            ifindex: 9,
            address: Ipv4Addr::new(192, 0, 2, 1),
            subnets: Vec::new(),
            link: LinkKind::Ethernet,
        });
        let cases = [
            (None, true, AttachState::Awaited, Some(Awaiting::Interface)),
            (
                Some(Presence::Missing),
                false,
                AttachState::Awaited,
                Some(Awaiting::Interface),
            ),
            (
                Some(Presence::NoAddress { ifindex: 9 }),
                true,
                AttachState::Awaited,
                Some(Awaiting::Ipv4Address),
            ),
            (
                Some(Presence::Unsupported {
                    ifindex: 9,
                    device_type: 772,
                }),
                true,
                AttachState::Unsupported,
                None,
            ),
            (
                Some(ready.clone()),
                false,
                AttachState::Awaited,
                Some(Awaiting::AdminUp),
            ),
            (Some(ready), true, AttachState::Failed, None),
        ];
        for (presence, up, state, waiting) in cases {
            assert_eq!(
                unmanaged_state(presence.as_ref(), up),
                (state, waiting),
                "{presence:?}, up {up}"
            );
        }
    }

    #[test]
    fn a_missing_interface_is_an_awaited_row_with_its_timers() {
        let cfg = IgmpConfig::default();
        let now = Interfaces::now().unwrap();
        let row = unmanaged_row(
            "mgm-no-such-if9",
            InterfaceRole::Router,
            Some(&params(&cfg)),
            Some(&now),
        );
        assert_eq!(row.state, AttachState::Awaited);
        assert_eq!(row.waiting_for, Some(Awaiting::Interface));
        assert_eq!((row.ifindex, row.address.as_str()), (0, ""));
        assert!(!row.admin_up && !row.has_address);
        assert_eq!(row.oper_state, OperState::Absent);
        assert_eq!(row.query_interval_ms, 125_000, "the configured timers");
        let v = serde_json::to_value(&row).unwrap();
        assert_eq!(v["state"], "awaited");
        assert_eq!(v["waiting_for"], "interface");
        assert_eq!(v["oper_state"], "absent");
        assert_eq!(v["role"], "router");
        // `lo` is there, up, with an address, of a kind not handled.
        let lo = unmanaged_row("lo", InterfaceRole::Upstream, None, Some(&now));
        assert_eq!(lo.state, AttachState::Unsupported);
        assert!(lo.admin_up && lo.has_address && lo.ifindex > 0, "{lo:?}");
        assert_eq!(lo.address, "127.0.0.1");
        assert_eq!(serde_json::to_value(&lo).unwrap()["role"], "upstream");
    }
}
