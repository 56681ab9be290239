//! Answers to `mgm show`: the daemon's state as [`crate::control::api`] views.
use super::igmp_ports::MapView;
use super::state::Daemon;
use crate::control::api::{
    GroupView, Hello, InterfaceView, Reply, Request, Response, SourceView, StatsView,
};
use crate::igmp::{FastPathView, FilterMode};
use crate::time::monotonic_ns;
use std::net::Ipv4Addr;

impl Daemon {
    /// The answer to one request that reads state (`hello`, `show …`).
    pub(crate) fn answer_show(&self, request: Request) -> Response {
        let now = match monotonic_ns() {
            Ok(n) => n,
            Err(e) => return Response::error(format!("{e:#}")),
        };
        let reply = match request {
            Request::Hello => Reply::Hello(Hello {
                version: crate::control::api::PROTOCOL_VERSION,
                daemon: format!("mgm {}", env!("CARGO_PKG_VERSION")),
            }),
            Request::ShowInterfaces => Reply::Interfaces(self.interfaces_view(now)),
            Request::ShowGroups => Reply::Groups(self.groups_view(now)),
            Request::ShowMfe => Reply::Mfe(self.fwd.mfe_view(now)),
            Request::ShowProtocols => Reply::Protocols(self.fwd.protocols_view()),
            Request::ShowUpstream => {
                Reply::Upstream(match (&self.upstream, &self.upstream_wanted) {
                    (Some(u), _) => Some(u.view(now)),
                    (None, Some(w)) => Some(crate::control::api::UpstreamView {
                        interface: w.name.clone(),
                        present: false,
                        ifindex: 0,
                        address: String::new(),
                        version: 0,
                        reports_sent: 0,
                        queries_heard: 0,
                        groups: Vec::new(),
                    }),
                    (None, None) => None,
                })
            }
            Request::ShowStats => match self.stats_view() {
                Ok(s) => Reply::Stats(s),
                Err(e) => return Response::error(format!("{e:#}")),
            },
            Request::Events => return Response::error("events is a stream; handled by the server"),
            _ => return Response::error("not a show request"),
        };
        Response::ok(reply)
    }

    /// The classifier's counters, the daemon's, and each interface's figures.
    fn stats_view(&self) -> anyhow::Result<StatsView> {
        Ok(self.snapshot()?.stats_view())
    }

    fn interfaces_view(&self, now: u64) -> Vec<InterfaceView> {
        let ms = |ns: u64| ns / 1_000_000;
        self.igmp
            .ports
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
                    max_groups_per_host: p.router.config().max_groups_per_host,
                    refused_host_groups: p.router.refused_host_groups(),
                    host_count: p.router.host_count(),
                    source_count: p.router.source_count(),
                    max_sources_total: p.router.config().max_sources_total,
                    refused_sources_total: p.router.refused_sources_total(),
                    refused_filtered_groups: p.router.refused_filtered_groups(),
                    refused_filtered_sources: p.router.refused_filtered_sources(),
                    allow_groups: texts(&p.router.config().group_filter.allow),
                    deny_groups: texts(&p.router.config().group_filter.deny),
                    allow_sources: texts(&p.router.config().source_filter.allow),
                    deny_sources: texts(&p.router.config().source_filter.deny),
                    quick_leave: p.router.config().quick_leave,
                    older_querier_queries: p.router.older_queries(),
                    foreign_queries: p.router.foreign_queries(),
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
    fn groups_view(&self, now: u64) -> Vec<GroupView> {
        let ms = |t: u64| t.saturating_sub(now) / 1_000_000;
        let view = MapView(&self.maps, true);
        let mut out = Vec::new();
        for (ifindex, p) in &self.igmp.ports {
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

/// A filter's prefixes as `mgm show interfaces --json` lists them.
fn texts(list: &[crate::igmp::Prefix]) -> Vec<String> {
    list.iter().map(|p| p.to_string()).collect()
}
