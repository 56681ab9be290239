//! Stopping the router of an interface, and re-adopting the groups of the pinned maps after a
//! daemon restart.

use std::net::Ipv4Addr;

use mgm_common::maps::FILTER_MODE_EXCLUDE;
use mgm_common::{MemberState, SourceState};

use super::{is_trackable_group, is_valid_source, IgmpInterface};
use crate::igmp::action::Action;
use crate::igmp::group::{FilterMode, GroupState, SourceRec};
use crate::igmp::view::FastPathView;

impl IgmpInterface {
    /// Stops the router on this interface: every group is removed (leaves, unblocks, map
    /// deletes); no query is sent.
    pub fn stop(&mut self, now: u64, view: &dyn FastPathView) -> Vec<Action> {
        let mut out = Vec::new();
        for g in self.groups.values_mut() {
            g.mode = FilterMode::Include;
            g.group_timer = 0;
            g.sources.clear();
            self.dirty.push(g.group);
        }
        self.source_total = 0;
        self.commit(now, view, &mut out);
        self.querier.is_querier = false;
        self.querier.next_general_query = 0;
        self.querier.other_querier_expires = 0;
        out
    }

    /// Re-adopts one group found in the maps after a daemon restart (the maps survive the
    /// daemon). The entry becomes our state as it stands: what is already expired is expired
    /// now, the manager is told the forwarding state afresh (joins / blocks), and entries that
    /// make no sense (group not trackable, INCLUDE source without a timer) or that the filters
    /// refuse are deleted.
    pub fn restore_group(
        &mut self,
        now: u64,
        group: Ipv4Addr,
        member: MemberState,
        sources: &[(Ipv4Addr, SourceState)],
        view: &dyn FastPathView,
    ) -> Vec<Action> {
        let mut out = Vec::new();
        if let Some(old) = self.groups.get(&group) {
            if old.written_member().is_some() {
                return out; // already ours
            }
        }
        let mut g = GroupState::new(group);
        // As the kernel holds them, refresh counters included.
        g.set_written_member(Some(member));
        let mut written: crate::igmp::group_parts::WrittenSources = sources.to_vec().into();
        written.sort_unstable_by_key(|(s, _)| *s);
        written.dedup_by_key(|(s, _)| *s);
        g.replace_written_sources(written);
        // What the filters refuse now goes, as an untrackable group does (an earlier run may
        // have had other filters).
        if is_trackable_group(group) && self.config.group_filter.accepts(group) {
            g.mode = if member.filter_mode == FILTER_MODE_EXCLUDE {
                FilterMode::Exclude
            } else {
                FilterMode::Include
            };
            g.group_timer = if g.mode == FilterMode::Exclude {
                member.group_expires_ns
            } else {
                0
            };
            g.set_v1_host_timer(member.v1_host_expires_ns);
            g.v2_host_timer = member.v2_host_expires_ns;
            g.last_reporter = Ipv4Addr::from(member.last_reporter);
            for (s, st) in sources {
                if !is_valid_source(*s)
                    || !self.config.source_filter.accepts(*s)
                    || (g.mode == FilterMode::Include && st.expires_ns == 0)
                {
                    continue;
                }
                g.sources.insert(
                    *s,
                    SourceRec {
                        timer: st.expires_ns,
                        rexmit: 0,
                    },
                );
            }
            if g.mode == FilterMode::Exclude && g.group_timer == 0 {
                g.group_timer = now; // a broken entry: let it expire now
            }
            g.expire(now);
        }
        self.source_total += g.sources.len();
        if let Some(old) = self.groups.insert(g) {
            self.forget(&old);
        }
        self.touched.insert(group);
        self.dirty.push(group);
        self.commit(now, view, &mut out);
        out
    }
}
