//! Explicit host tracking for quick leave: which host on the link wants what, so that a leave
//! acts at once only for what no other host still wants.
//!
//! Kept only on interfaces with quick leave on (elsewhere nothing is allocated). For each group,
//! each reporting host's own filter state, as its records give it (RFC 3376 §3.2, the host
//! side; the host's *interface state* is what its current-state and filter-mode-change records
//! carry, and source-list-change records edit it):
//!
//! | record          | the host's state becomes                                  |
//! |-----------------|-----------------------------------------------------------|
//! | IS_IN(B), TO_IN(B) | INCLUDE(B); B = {}: the host is gone                   |
//! | IS_EX(B), TO_EX(B) | EXCLUDE(B)                                             |
//! | ALLOW(B)        | INCLUDE(A+B) / EXCLUDE(A-B)                               |
//! | BLOCK(B)        | INCLUDE(A-B) (nothing left: gone) / EXCLUDE(A+B)          |
//! | v1 or v2 report | EXCLUDE({})                                               |
//! | v2 leave        | gone                                                      |
//!
//! (a host not known is INCLUDE({}) before its record). Every report refreshes the host's entry
//! to a Group Membership Interval from now; a host that stops reporting is forgotten then.
//! Reports from 0.0.0.0 (hosts with no address yet, RFC 3376 §4.2.13) cannot be told apart, so
//! they are not recorded: see below.
//!
//! The group keeps its RFC state (`group.rs`); the hosts only decide what quick leave may cut
//! (`group/timers.rs`): the group timer expires at once only when no tracked host is in
//! EXCLUDE mode, and a source expires at once only when no tracked host wants it (INCLUDE with
//! it, or EXCLUDE without it). The reporting host's own state is updated first, so "tracked
//! hosts" there are the others.
//!
//! # When tracking is not complete
//!
//! A host the router has not heard from is not tracked. For a group, the router falls back to
//! the RFC's last-member queries (quick leave off for that group) while:
//! - more than [`MAX_HOSTS_PER_GROUP`] hosts report it, one host's source list is longer
//!   than the group's source limit, or a host reports it from 0.0.0.0 (the host is not
//!   recorded): until a Group Membership Interval after the last such report;
//! - the group was held before tracking started (a daemon restart restores groups from the
//!   maps; quick leave switched on by a reload): until a Group Membership Interval after the
//!   start, by when every host still interested has reported.
//!
//! and, for every group of the interface, while reports may have been lost before reaching
//! the daemon: the classifier's budget (`max-reports-per-second`) held some of the
//! interface's back, or the event ring was full (which may have lost any interface's): until
//! a Group Membership Interval after the daemon saw it (`HostTracker::untrack_all`), by when
//! every host still interested has reported again.
//!
//! IGMPv1/v2 hosts suppress their reports when they hear another host's report for the group,
//! so a v1/v2 host may stay unknown: a leave then cuts it as quick leave without tracking did,
//! when the leaver is the only tracked host; a group another tracked host wants is kept.

use super::source_set::SourceSet;
use std::net::Ipv4Addr;

use mgm_common::igmp::RecordType;

use super::compat::HostInput;
use super::config::Params;
use super::group::{Ctx, FilterMode};
use crate::dense_map::FastHashMap;

/// Most hosts tracked for one group; past it the group falls back to the RFC queries.
pub const MAX_HOSTS_PER_GROUP: usize = 64;

/// One host's filter state for a group and when it is forgotten.
#[derive(Clone, Debug, PartialEq, Eq)]
struct TrackedHost {
    host: Ipv4Addr,
    mode: FilterMode,
    sources: SourceSet,
    expires: u64,
}

impl TrackedHost {
    fn wants(&self, s: Ipv4Addr) -> bool {
        match self.mode {
            FilterMode::Include => self.sources.contains(&s),
            FilterMode::Exclude => !self.sources.contains(&s),
        }
    }
}

/// The tracked hosts of one group.
#[derive(Clone, Debug, Default)]
pub struct GroupHosts {
    hosts: Vec<TrackedHost>,
    /// Tracking is not complete before this deadline (module docs; 0: complete).
    untracked_until: u64,
}

/// What a report needs to update its host: the clock, the Group Membership Interval and the
/// group's source limit.
#[derive(Clone, Copy, Debug)]
pub struct Report {
    pub now: u64,
    pub gmi: u64,
    pub max_sources: usize,
}

impl Report {
    pub fn new(now: u64, p: &Params, max_sources: usize) -> Report {
        Report {
            now,
            gmi: p.group_membership_interval,
            max_sources,
        }
    }
}

impl GroupHosts {
    /// Whether the tracked hosts are all the hosts (module docs).
    pub fn complete(&self, now: u64) -> bool {
        self.untracked_until <= now
    }

    /// Some live tracked host is in EXCLUDE mode: the group must stay.
    pub fn excluding(&self, now: u64) -> bool {
        self.live(now).any(|h| h.mode == FilterMode::Exclude)
    }

    /// Some live tracked host wants traffic from `s`.
    pub fn wants(&self, now: u64, s: Ipv4Addr) -> bool {
        self.live(now).any(|h| h.wants(s))
    }

    /// The live tracked hosts, by address.
    pub fn hosts(&self, now: u64) -> Vec<Ipv4Addr> {
        let mut v: Vec<_> = self.live(now).map(|h| h.host).collect();
        v.sort();
        v
    }

    fn live(&self, now: u64) -> impl Iterator<Item = &TrackedHost> {
        self.hosts.iter().filter(move |h| h.expires > now)
    }

    /// Updates `host`'s state with one of its records (`sources` as the router accepted them).
    pub fn record(&mut self, r: Report, host: Ipv4Addr, input: HostInput, sources: &SourceSet) {
        self.hosts.retain(|h| h.expires > r.now);
        if host.is_unspecified() {
            // Any number of hosts may be behind 0.0.0.0: none of them can be tracked.
            self.untrack(r.now.saturating_add(r.gmi));
            return;
        }
        let at = self.hosts.iter().position(|h| h.host == host);
        let (mode, mut set) = match at {
            Some(i) => {
                let h = &mut self.hosts[i];
                (h.mode, std::mem::take(&mut h.sources))
            }
            None => (FilterMode::Include, SourceSet::new()),
        };
        let Some((mode, set)) = next_state(input, mode, &mut set, sources).map(|m| (m, set)) else {
            return; // unknown record type: the host's state is unchanged
        };
        let gone = mode == FilterMode::Include && set.is_empty();
        let oversize = set.len() > r.max_sources;
        if gone || oversize {
            if let Some(i) = at {
                self.hosts.swap_remove(i);
            }
            if oversize {
                self.untrack(r.now.saturating_add(r.gmi));
            }
            return;
        }
        let expires = r.now.saturating_add(r.gmi);
        match at {
            Some(i) => {
                let h = &mut self.hosts[i];
                (h.mode, h.sources, h.expires) = (mode, set, expires);
            }
            None if self.hosts.len() >= MAX_HOSTS_PER_GROUP => self.untrack(expires),
            None => self.hosts.push(TrackedHost {
                host,
                mode,
                sources: set,
                expires,
            }),
        }
    }

    /// Tracking is not complete until `until` (at least).
    pub fn untrack(&mut self, until: u64) {
        self.untracked_until = self.untracked_until.max(until);
    }

    /// Nothing tracked and nothing to remember.
    fn idle(&self, now: u64) -> bool {
        self.complete(now) && self.live(now).next().is_none()
    }
}

/// The host's state after `input` (module docs' table), its sources left in `set`; `None` for
/// a record type that says nothing. v1/v2 messages carry no sources (`b` is empty).
fn next_state(
    input: HostInput,
    mode: FilterMode,
    set: &mut SourceSet,
    b: &SourceSet,
) -> Option<FilterMode> {
    let rt = match input {
        HostInput::V1Report | HostInput::V2Report => RecordType::IsExclude,
        HostInput::V2Leave => RecordType::ToInclude,
        HostInput::V3Record(rt) => rt,
    };
    match (rt, mode) {
        (RecordType::IsInclude | RecordType::ToInclude, _) => {
            set.clone_from(b);
            Some(FilterMode::Include)
        }
        (RecordType::IsExclude | RecordType::ToExclude, _) => {
            set.clone_from(b);
            Some(FilterMode::Exclude)
        }
        (RecordType::AllowNew, FilterMode::Include)
        | (RecordType::BlockOld, FilterMode::Exclude) => {
            for s in b {
                set.insert(*s);
            }
            Some(mode)
        }
        (RecordType::AllowNew, FilterMode::Exclude)
        | (RecordType::BlockOld, FilterMode::Include) => {
            set.retain(|s| !b.contains(s));
            Some(mode)
        }
        (RecordType::Unknown(_), _) => None,
    }
}

/// The tracked hosts of every group of one interface, while quick leave is on.
#[derive(Debug, Default)]
pub struct HostTracker {
    groups: FastHashMap<Ipv4Addr, GroupHosts>,
    /// When tracking started (quick leave on); `None`: off, nothing kept.
    since: Option<u64>,
    /// No group's tracking is complete before this deadline (reports lost; 0: none).
    untracked_until: u64,
}

impl HostTracker {
    /// Tracking on (from `now`, if it was off) or off (everything forgotten).
    pub fn set_enabled(&mut self, on: bool, now: u64) {
        match (on, self.since) {
            (true, None) => self.since = Some(now),
            (false, _) => *self = HostTracker::default(),
            (true, Some(_)) => {}
        }
    }

    pub fn enabled(&self) -> bool {
        self.since.is_some()
    }

    /// Records `host`'s report for `group`; `existed`: the router held the group before it
    /// (a group older than tracking is not complete for a GMI after the start).
    pub fn record(
        &mut self,
        r: Report,
        (group, existed): (Ipv4Addr, bool),
        host: Ipv4Addr,
        input: HostInput,
        sources: &SourceSet,
    ) {
        let Some(since) = self.since else {
            return;
        };
        let hosts = self.groups.entry(group).or_insert_with(|| {
            let mut h = GroupHosts::default();
            if existed {
                h.untrack(since.saturating_add(r.gmi));
            }
            h
        });
        hosts.record(r, host, input, sources);
        if hosts.idle(r.now) {
            self.groups.remove(&group);
        }
    }

    /// Reports of the interface may have been lost before reaching the daemon: no group's
    /// tracking is complete until `until` (at least), those held now and those to come.
    pub fn untrack_all(&mut self, until: u64) {
        if self.since.is_some() {
            self.untracked_until = self.untracked_until.max(until);
        }
    }

    /// The tracked hosts of `group` when tracking is on.
    pub fn group(&self, group: Ipv4Addr) -> Option<&GroupHosts> {
        self.groups.get(&group)
    }

    /// What quick leave may do for `group` in `ctx`: keep what its tracked hosts want, or
    /// nothing at all where tracking is not complete (the RFC's queries then).
    pub fn decide<'a>(&'a self, group: Ipv4Addr, ctx: &mut Ctx<'a>) {
        match self.groups.get(&group) {
            _ if ctx.now < self.untracked_until => ctx.quick_leave = false,
            Some(h) if !h.complete(ctx.now) => ctx.quick_leave = false,
            h => ctx.hosts = h,
        }
    }

    /// The router dropped `group`: its hosts go with it.
    pub fn forget(&mut self, group: Ipv4Addr) {
        self.groups.remove(&group);
    }

    /// Groups with tracked hosts (memory).
    pub fn len(&self) -> usize {
        self.groups.len()
    }

    pub fn is_empty(&self) -> bool {
        self.groups.is_empty()
    }
}
