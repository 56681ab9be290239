//! Writing a call's changes out: map writes and deletes (`MGM_MEMBERS`, `MGM_SOURCES`), the
//! membership deltas for the manager (RFC 3376 §6.3), and the groups' next deadlines.
//!
//! The deletes of every group come first, then the writes: the maps are sized to the limits
//! (`sys/bpf/loader.rs`), and a call that moves sources from one group to another stays within
//! them at every step only when the space is freed before it is taken.

use std::net::Ipv4Addr;

use mgm_common::{MemberState, SourceState};

use super::IgmpInterface;
use crate::igmp::action::{Action, MembershipChange};
use crate::igmp::group::{ForwardingState, GroupState};
use crate::igmp::group_parts::{written_source, ForwardingStateRef, WrittenSources};
use crate::igmp::source_set::sorted_difference;
use crate::igmp::view::FastPathView;

impl IgmpInterface {
    /// Writes every changed group out: map deletes/writes, membership deltas, deadlines.
    pub(super) fn commit(&mut self, now: u64, view: &dyn FastPathView, out: &mut Vec<Action>) {
        let ifindex = self.ifindex;
        // Groups read back from the maps may have a new last reporter (kernel refreshes).
        let touched = std::mem::take(&mut self.touched);
        for group in &touched {
            self.hold(*group);
        }
        self.touched = touched;
        // Buffers kept between calls: a report's call allocates nothing for them.
        let mut writes = std::mem::take(&mut self.writes);
        let mut dirty = std::mem::take(&mut self.dirty);
        let mut scratch = std::mem::take(&mut self.written_scratch);
        // In address order, each once, as the deadlines and deltas have always come.
        dirty.sort_unstable();
        dirty.dedup();
        for &group in &dirty {
            self.hold(group);
            let Some(g) = self.groups.get_mut(&group) else {
                continue;
            };
            let empty = g.is_empty();
            let mut w = Writes {
                deletes: &mut *out,
                writes: &mut writes,
                seen: Refreshes {
                    seen: &self.seen,
                    view,
                    ifindex,
                },
            };
            write_sources(ifindex, g, empty, &mut scratch, &mut w);
            write_member(ifindex, now, g, empty, &mut w);
            let want = if empty {
                ForwardingState::default()
            } else {
                g.forwarding()
            };
            membership_deltas(ifindex, group, g.told(), want.as_ref(), &mut writes);
            g.set_told(want);
            if empty {
                self.groups.remove(&group);
                self.tracking.forget(group);
            } else {
                let d = g.next_deadline();
                if d != 0 && d != g.scheduled {
                    self.heap.push(d, group);
                }
                g.scheduled = d;
                g.settle();
            }
        }
        // Drop stale heap tops so that next_deadline() is exact; rebuild the heap when stale
        // entries pile up (deadlines moved by reports the slow path handled).
        let groups = &self.groups;
        self.heap
            .drop_stale_tops(|t, group| groups.get(&group).is_some_and(|g| g.scheduled == t));
        self.heap.compact(groups.len(), || {
            groups
                .values()
                .filter(|g| g.scheduled != 0)
                .map(|g| (g.scheduled, g.group))
        });
        out.append(&mut writes);
        self.writes = writes;
        dirty.clear();
        self.dirty = dirty;
        self.written_scratch = scratch;
        self.touched.clear();
        self.seen.clear();
        self.shrink_tables();
    }
}

impl IgmpInterface {
    /// The memberships the manager was told, as the deltas that build them from nothing: what
    /// IGMP re-adds after `enable_igmp`. Per group in the order live changes come (blocks,
    /// then the joins they qualify), so an excluded source is never forwarded in between.
    pub fn membership_replay(&self) -> Vec<Action> {
        let mut out = Vec::new();
        for g in self.groups.values() {
            membership_deltas(
                self.ifindex,
                g.group,
                ForwardingStateRef::NONE,
                g.told(),
                &mut out,
            );
        }
        out
    }

    /// The deltas that withdraw every membership the manager was told (leaves before the
    /// unblocks they qualify), without changing the router's state: the daemon stops while the
    /// memberships stay pinned for the next run.
    pub fn membership_withdrawal(&self) -> Vec<Action> {
        let mut out = Vec::new();
        for g in self.groups.values() {
            membership_deltas(
                self.ifindex,
                g.group,
                g.told(),
                ForwardingStateRef::NONE,
                &mut out,
            );
        }
        out
    }
}

/// Where a group's map actions go: deletes (emitted at once) and writes (after every delete).
struct Writes<'a> {
    deletes: &'a mut Vec<Action>,
    writes: &'a mut Vec<Action>,
    seen: Refreshes<'a>,
}

/// The kernel refresh count a write carries: the one read when the group was adopted in this
/// call (a refresh landing since then is not the router's to overwrite: the daemon keeps the
/// kernel's later expiry when the counts differ), else the map's now.
struct Refreshes<'a> {
    seen: &'a crate::dense_map::FastHashMap<(Ipv4Addr, Option<Ipv4Addr>), u32>,
    view: &'a dyn FastPathView,
    ifindex: u32,
}

impl Refreshes<'_> {
    fn member(&self, group: Ipv4Addr) -> u32 {
        self.seen.get(&(group, None)).copied().unwrap_or_else(|| {
            self.view
                .member(self.ifindex, group)
                .map_or(0, |m| m.fast_refreshes)
        })
    }

    fn source(&self, group: Ipv4Addr, source: Ipv4Addr) -> u32 {
        self.seen
            .get(&(group, Some(source)))
            .copied()
            .unwrap_or_else(|| {
                self.view
                    .source(self.ifindex, group, source)
                    .map_or(0, |s| s.fast_refreshes)
            })
    }
}

/// The group's `MGM_SOURCES` entries as they must be (none once the group is empty): deletes
/// for records gone, writes for records new or changed (keeping the kernel's refresh count).
/// Built in `scratch`, which then holds the group's previous entries (for the next group).
fn write_sources(
    ifindex: u32,
    g: &mut GroupState,
    empty: bool,
    scratch: &mut WrittenSources,
    out: &mut Writes,
) {
    let group = g.group;
    // The classifier refreshes a source only through its group's entry: none since the last
    // write of a group handed to the slow path.
    let unrefreshed = !may_be_refreshed(g.written_member());
    let old = g.written_sources();
    scratch.clear();
    if !empty {
        // Both sorted by source: one walk builds what must be written.
        for (s, r) in g.sources.iter() {
            let mut st = SourceState {
                expires_ns: r.timer,
                flags: 0,
                fast_refreshes: 0,
            };
            let known = written_source(old, *s);
            match known {
                // Unchanged: as written, the kernel's refresh counter included.
                Some(w)
                    if SourceState {
                        fast_refreshes: 0,
                        ..*w
                    } == st =>
                {
                    st = *w
                }
                _ => {
                    // A source never written has no entry the classifier could have refreshed
                    // (it never creates one): nothing to read back.
                    if known.is_some() {
                        st.fast_refreshes = out.seen.source(group, *s);
                    }
                    out.writes.push(Action::WriteSource {
                        ifindex,
                        group,
                        source: *s,
                        state: st,
                        unrefreshed: known.is_none() || unrefreshed,
                    });
                }
            }
            scratch.push((*s, st));
        }
    }
    for (s, _) in old {
        if empty || !g.sources.contains_key(s) {
            out.deletes.push(Action::DeleteSource {
                ifindex,
                group,
                source: *s,
            });
        }
    }
    let mut previous = g.replace_written_sources(std::mem::take(scratch));
    previous.clear();
    *scratch = previous;
}

/// The group's `MGM_MEMBERS` entry as it must be: deleted once the group is empty, written when
/// it changed (keeping the kernel's refresh count).
fn write_member(ifindex: u32, now: u64, g: &mut GroupState, empty: bool, out: &mut Writes) {
    let group = g.group;
    if empty {
        if g.written_member().is_some() {
            g.set_written_member(None);
            out.deletes.push(Action::DeleteMember { ifindex, group });
        }
        return;
    }
    let m = g.member_state(now);
    let unchanged = g.written_member().is_some_and(|w| {
        MemberState {
            fast_refreshes: 0,
            ..w
        } == m
    });
    if !unchanged {
        let mut state = m;
        // A group never written has no entry the classifier could have refreshed (it never
        // creates one): nothing to read back.
        if g.written_member().is_some() {
            state.fast_refreshes = out.seen.member(group);
        }
        out.writes.push(Action::WriteMember {
            ifindex,
            group,
            state,
            unrefreshed: !may_be_refreshed(g.written_member()),
        });
        // As written, the kernel's refresh counter included.
        g.set_written_member(Some(state));
    }
}

/// Whether the classifier may have refreshed a group's entries since the router wrote its
/// member entry as `written`: not when none was written (the classifier creates none), nor
/// when it was written handing the group to the slow path (`MEMBER_FLAG_SLOW_PATH`: the
/// classifier leaves the group's entries alone), so the group's next writes need no read of
/// the kernel's (the write that ends the last-member queries of a leave, above all).
fn may_be_refreshed(written: Option<MemberState>) -> bool {
    written.is_some_and(|w| w.flags & mgm_common::maps::MEMBER_FLAG_SLOW_PATH == 0)
}

/// Emits the membership changes from `old` to `new`, ordered so that nothing unwanted is ever
/// forwarded in between: blocks, joins, leaves, unblocks.
fn membership_deltas(
    ifindex: u32,
    group: Ipv4Addr,
    old: ForwardingStateRef,
    new: ForwardingStateRef,
    out: &mut Vec<Action>,
) {
    let m = |source, change| Action::Membership {
        ifindex,
        group,
        source,
        change,
    };
    for s in sorted_difference(new.blocked, old.blocked) {
        out.push(m(Some(*s), MembershipChange::Block));
    }
    if new.star && !old.star {
        out.push(m(None, MembershipChange::Join));
    }
    for s in sorted_difference(new.include, old.include) {
        out.push(m(Some(*s), MembershipChange::Join));
    }
    for s in sorted_difference(old.include, new.include) {
        out.push(m(Some(*s), MembershipChange::Leave));
    }
    if old.star && !new.star {
        out.push(m(None, MembershipChange::Leave));
    }
    for s in sorted_difference(old.blocked, new.blocked) {
        out.push(m(Some(*s), MembershipChange::Unblock));
    }
}
