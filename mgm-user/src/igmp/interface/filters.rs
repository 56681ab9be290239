//! The interface's group and source filters (`igmp/filter.rs`), applied to every record before
//! any state is made: a refused group's record is ignored whole, refused sources are dropped
//! from their record. Refusals are counted and told (rate-limited, like the limits).

use crate::igmp::source_set::SourceSet;
use std::net::Ipv4Addr;

use super::IgmpInterface;
use crate::igmp::action::{Action, FilterNotice, RouterNotice};

impl IgmpInterface {
    /// Records (v1/v2 reports and leaves, v3 group records) ignored because the group filters
    /// refuse their group, since start.
    pub fn refused_filtered_groups(&self) -> u64 {
        self.refused_filtered_groups
    }

    /// Sources dropped from records because the source filters refuse them, since start (one
    /// per source per record).
    pub fn refused_filtered_sources(&self) -> u64 {
        self.refused_filtered_sources
    }

    /// A record for `group` from `host` through the filters: `None` when the group is refused,
    /// else the record's sources the filters accept. Refusals are counted and told.
    pub(super) fn filter_record(
        &mut self,
        now: u64,
        host: Ipv4Addr,
        group: Ipv4Addr,
        mut sources: SourceSet,
        out: &mut Vec<Action>,
    ) -> Option<SourceSet> {
        if !self.config.group_filter.accepts(group) {
            self.refused_filtered_groups += 1;
            let notice = RouterNotice::Filtered(FilterNotice::Group { host, group });
            self.notice(now, notice, out);
            return None;
        }
        if self.config.source_filter.is_open() {
            return Some(sources);
        }
        let before = sources.len();
        sources.retain(|s| self.config.source_filter.accepts(*s));
        let refused = before - sources.len();
        if refused > 0 {
            self.refused_filtered_sources += refused as u64;
            let notice = RouterNotice::Filtered(FilterNotice::Sources {
                host,
                group,
                refused,
            });
            self.notice(now, notice, out);
        }
        Some(sources)
    }
}
