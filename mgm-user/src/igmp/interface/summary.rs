//! The groups as `mgm show groups` prints them.

use std::net::Ipv4Addr;

use super::IgmpInterface;
use crate::igmp::group::FilterMode;

/// One source of a group, as `mgm show groups` prints it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SourceSummary {
    pub source: Ipv4Addr,
    /// Source timer deadline; 0 for an excluded source.
    pub expires_ns: u64,
    /// §6.3: traffic from this source is forwarded.
    pub forwarding: bool,
}

/// One group, as `mgm show groups` prints it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupSummary {
    pub group: Ipv4Addr,
    pub filter_mode: FilterMode,
    /// Group timer deadline (EXCLUDE); in INCLUDE mode the latest source deadline.
    pub expires_ns: u64,
    pub compat_version: u8,
    pub last_reporter: Ipv4Addr,
    pub v1_host_expires_ns: u64,
    pub v2_host_expires_ns: u64,
    pub sources: Vec<SourceSummary>,
    /// With quick leave, the hosts tracked for the group (`tracking.rs`), by address; `None`
    /// without quick leave.
    pub hosts: Option<Vec<Ipv4Addr>>,
}

impl IgmpInterface {
    /// Every group, sorted by address, for display.
    pub fn summaries(&self, now: u64) -> Vec<GroupSummary> {
        let mut v: Vec<GroupSummary> = self
            .groups
            .keys()
            .filter_map(|g| self.summary(g, now))
            .collect();
        v.sort_by_key(|g| g.group);
        v
    }

    /// One group, for display (`mgm show groups` walks them a chunk at a time).
    pub fn summary(&self, group: Ipv4Addr, now: u64) -> Option<GroupSummary> {
        let g = self.groups.get(&group)?;
        Some(GroupSummary {
            group: g.group,
            filter_mode: g.mode,
            expires_ns: match g.mode {
                FilterMode::Exclude => g.group_timer,
                FilterMode::Include => g.sources.values().map(|r| r.timer).max().unwrap_or(0),
            },
            compat_version: g.compat(now),
            last_reporter: g.last_reporter,
            v1_host_expires_ns: g.v1_host_timer(),
            v2_host_expires_ns: g.v2_host_timer,
            sources: g
                .sources
                .iter()
                .map(|(s, r)| SourceSummary {
                    source: *s,
                    expires_ns: r.timer,
                    forwarding: r.timer != 0,
                })
                .collect(),
            hosts: self.tracked_hosts(group, now),
        })
    }

    /// With quick leave, the hosts tracked for `group` (none may be); `None` without.
    pub fn tracked_hosts(&self, group: Ipv4Addr, now: u64) -> Option<Vec<Ipv4Addr>> {
        self.tracking.enabled().then(|| {
            self.tracking
                .group(group)
                .map_or_else(Vec::new, |h| h.hosts(now))
        })
    }
}
