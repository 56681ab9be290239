//! New settings for a running router (a reload of the configuration file): the timers, counts
//! and limits apply from the next time each is used; the version to the next query; the
//! querier role at once (off: no more queries; on: a start-up query when no querier is heard); the
//! filters at once: groups the group filters now refuse are dropped, and so are the records of
//! sources the source filters now refuse, in both modes, as if the router had never accepted
//! them (as a restart does): no longer forwarded in INCLUDE, no longer blocked in EXCLUDE.
//! Nothing else changes: the other groups keep their state, timers and forwarding.

use super::IgmpInterface;
use crate::igmp::action::Action;
use crate::igmp::config::IgmpConfig;
use crate::igmp::group::FilterMode;
use crate::igmp::view::FastPathView;

impl IgmpInterface {
    /// Runs with `config` from now on (it should have passed [`IgmpConfig::validate`]);
    /// returns the map writes and membership changes of what the new filters refuse.
    pub fn reconfigure(
        &mut self,
        config: IgmpConfig,
        now: u64,
        view: &dyn FastPathView,
    ) -> Vec<Action> {
        self.querier.configured_version = config.version.clamp(1, 3);
        self.config = config;
        self.tracking.set_enabled(self.config.quick_leave, now);
        let mut out = Vec::new();
        let p = self.params();
        let ev = self.querier.set_candidate(
            self.config.querier,
            now,
            p.startup_query_count,
            p.startup_query_interval,
            p.query_interval,
        );
        self.querier_events(now, ev, &mut out);
        for g in self.groups.values_mut() {
            if !self.config.group_filter.accepts(g.group) {
                g.mode = FilterMode::Include;
                g.group_timer = 0;
                g.sources.clear();
                self.dirty.push(g.group);
                continue;
            }
            // A refused source keeps no record in either mode, as at input and on a restart:
            // in INCLUDE it is no longer forwarded, in EXCLUDE the (*,G) join forwards it.
            let before = g.sources.len();
            g.sources
                .retain(|s, _| self.config.source_filter.accepts(*s));
            if g.sources.len() != before {
                self.dirty.push(g.group);
            }
        }
        self.source_total = self.groups.values().map(|g| g.sources.len()).sum();
        self.commit(now, view, &mut out);
        out
    }
}
