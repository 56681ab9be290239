//! Answers to `mgm show`: the daemon's state as [`crate::control::api`] views.
use super::igmp_ports::MapView;
use super::state::Daemon;
use crate::control::api::{GroupView, Hello, Reply, Request, Response, SourceView, StatsView};
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

    /// Groups as the router holds them, with expiries and last reporter brought up to date from
    /// the maps (the fast path refreshes those without waking us).
    fn groups_view(&self, now: u64) -> Vec<GroupView> {
        let ms = |t: u64| t.saturating_sub(now) / 1_000_000;
        let view = MapView(&self.maps);
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
