//! Answers to `mgm show`: the daemon's state as [`crate::control::api`] views (`show_groups`,
//! walked in chunks, in `group_views.rs`).
use super::state::Daemon;
use crate::control::api::{Hello, Reply, Request, Response, StatsView};
use crate::time::monotonic_ns;

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
            Request::ShowGroups(f) => match self.groups_view(&f, now) {
                Ok(rows) => Reply::Groups(rows),
                Err(e) => return Response::error(e),
            },
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
}
