//! What one interface may hold, so that a flooding host costs bounded memory and cannot lock
//! the other hosts out, and giving memory back after a storm.
//!
//! - `max_groups`: groups on the interface (memory, `MGM_MEMBERS`).
//! - `max_groups_per_host`: groups one host may *create*. Each group counts for one host, its
//!   last reporter (the address the fast path also records): a report moves the group to its
//!   sender, and a refresh the kernel absorbed moves it when the router next reads the group
//!   back (at the latest when its timer would have fired). A host holding the limit can still
//!   refresh and change what it has and report groups that exist; only new groups from it are
//!   refused (counted, and told at most once a minute). Hosts without an address (0.0.0.0)
//!   share one count.
//! - `max_sources` per group and `max_sources_total` per interface: a record creates new source
//!   records only while both allow (`group.rs`, "Source limit", with the smaller of the two).
//!
//! A refused group is never created, so nothing is written to the maps for it and the fast path
//! (which only refreshes existing entries) cannot keep it either.

use std::hash::{BuildHasher, Hash};
use std::net::Ipv4Addr;

use super::IgmpInterface;
use crate::igmp::action::{Action, RouterNotice};
use crate::igmp::group::GroupState;

/// Tables are shrunk when their capacity exceeds this many entries …
const SHRINK_ABOVE: usize = 1024;
/// … and this many times what they hold; they keep twice what they hold.
const SHRINK_FACTOR: usize = 4;

impl IgmpInterface {
    /// Reports for new groups refused at the `max_groups` limit, since start.
    pub fn refused_groups(&self) -> u64 {
        self.refused_groups
    }
    /// Reports for new groups refused at the `max_groups_per_host` limit, since start.
    pub fn refused_host_groups(&self) -> u64 {
        self.refused_host_groups
    }
    /// New sources refused at the per-group `max_sources` limit, since start (one per source
    /// per record; a source listed again in a later record counts again).
    pub fn refused_sources(&self) -> u64 {
        self.refused_sources
    }
    /// New sources refused at the interface's `max_sources_total`, since start (counted like
    /// [`Self::refused_sources`]).
    pub fn refused_sources_total(&self) -> u64 {
        self.refused_sources_total
    }
    /// Source records over every group of the interface.
    pub fn source_count(&self) -> usize {
        self.source_total
    }
    /// Groups `host` keeps alive (it reported them last).
    pub fn groups_of_host(&self, host: Ipv4Addr) -> u32 {
        self.hosts.get(&host).copied().unwrap_or(0)
    }
    /// Hosts that keep at least one group alive.
    pub fn host_count(&self) -> usize {
        self.hosts.len()
    }
    /// Groups the group table has room for without growing (what it holds in memory).
    pub fn group_capacity(&self) -> usize {
        self.groups.capacity()
    }
    /// True once if tables were shrunk, or the group table grew, since the last call: freed
    /// memory is worth handing back to the system (`malloc_trim`).
    pub fn take_shrunk(&mut self) -> bool {
        std::mem::take(&mut self.shrunk)
    }

    /// Whether a report from `src` may create `group`; a refusal is counted and told.
    pub(super) fn may_create(
        &mut self,
        now: u64,
        src: Ipv4Addr,
        group: Ipv4Addr,
        out: &mut Vec<Action>,
    ) -> bool {
        let (per_host, limit) = if self.groups.len() >= self.config.max_groups as usize {
            self.refused_groups += 1;
            (false, self.config.max_groups)
        } else if self.groups_of_host(src) >= self.config.max_groups_per_host {
            self.refused_host_groups += 1;
            (true, self.config.max_groups_per_host)
        } else {
            return true;
        };
        let notice = RouterNotice::GroupRefused {
            host: src,
            group,
            per_host,
            limit,
        };
        self.notice(now, notice, out);
        false
    }

    /// Most source records `group` may hold as far as the interface total goes: what it holds
    /// plus what the interface has left.
    pub(super) fn source_bound(&self, group: Ipv4Addr) -> usize {
        let held = self.groups.get(&group).map_or(0, |g| g.sources.len());
        let room = (self.config.max_sources_total as usize).saturating_sub(self.source_total);
        held.saturating_add(room)
    }

    /// Counts and tells `refused` new sources of `group` from `host`.
    pub(super) fn sources_refused(
        &mut self,
        now: u64,
        host: Ipv4Addr,
        group: Ipv4Addr,
        refused: usize,
        total: bool,
        out: &mut Vec<Action>,
    ) {
        let limit = if total {
            self.refused_sources_total += refused as u64;
            self.config.max_sources_total
        } else {
            self.refused_sources += refused as u64;
            self.config.max_sources
        };
        let notice = RouterNotice::SourcesRefused {
            host,
            group,
            refused,
            total,
            limit,
        };
        self.notice(now, notice, out);
    }

    /// Makes `group` count for its last reporter (for no one once it is empty or gone).
    pub(super) fn hold(&mut self, group: Ipv4Addr) {
        let Some(g) = self.groups.get_mut(&group) else {
            return;
        };
        let want = (!g.is_empty()).then_some(g.last_reporter);
        if g.holder() == want {
            return;
        }
        if let Some(old) = g.replace_holder(want) {
            release(&mut self.hosts, old);
        }
        if let Some(new) = want {
            *self.hosts.entry(new).or_insert(0) += 1;
        }
    }

    /// A group state replaced without passing through `commit`: what it counted goes.
    pub(super) fn forget(&mut self, old: &GroupState) {
        if let Some(h) = old.holder() {
            release(&mut self.hosts, h);
        }
        self.source_total = self.source_total.saturating_sub(old.sources.len());
    }

    /// Gives back the memory of tables that a storm grew and that now hold far less.
    pub(super) fn shrink_tables(&mut self) {
        // A group table grown past SHRINK_ABOVE may have moved out of a smaller one, freed:
        // memory to hand back as well (else a flood's growth stays resident as holes in the
        // heap). It grows by a quarter at a time, so this is a few dozen times up to 100 000.
        let grew = self.groups.capacity() > self.groups_capacity.max(SHRINK_ABOVE);
        let mut shrunk = grew;
        let len = self.groups.len();
        if worth_shrinking(len, self.groups.capacity()) {
            self.groups.shrink_to(len + len / 4);
            shrunk = true;
        }
        self.groups_capacity = self.groups.capacity();
        shrunk |= shrink_map(&mut self.hosts);
        shrunk |= self.heap.shrink(SHRINK_ABOVE, SHRINK_FACTOR);
        if worth_shrinking(self.touched.len(), self.touched.capacity()) {
            self.touched.shrink_to(self.touched.len() * 2);
            shrunk = true;
        }
        // The per-call buffers are empty between calls; a storm's call may have grown them.
        if self.dirty.capacity() > SHRINK_ABOVE {
            self.dirty = Vec::new();
            shrunk = true;
        }
        if self.writes.capacity() > SHRINK_ABOVE {
            self.writes = Vec::new();
            shrunk = true;
        }
        self.shrunk |= shrunk;
    }
}

fn release(hosts: &mut crate::dense_map::FastHashMap<Ipv4Addr, u32>, host: Ipv4Addr) {
    if let Some(n) = hosts.get_mut(&host) {
        *n = n.saturating_sub(1);
        if *n == 0 {
            hosts.remove(&host);
        }
    }
}

fn worth_shrinking(len: usize, capacity: usize) -> bool {
    capacity > SHRINK_ABOVE && capacity > len.saturating_mul(SHRINK_FACTOR)
}

fn shrink_map<K: Eq + Hash, V, S: BuildHasher>(m: &mut std::collections::HashMap<K, V, S>) -> bool {
    if worth_shrinking(m.len(), m.capacity()) {
        m.shrink_to(m.len() * 2);
        return true;
    }
    false
}
