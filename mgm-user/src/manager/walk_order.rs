//! The membership records in order, for walks that go a piece at a time (a handler's
//! `get_memberships` chunks and `get_next_membership` pages): the (S,G)s ordered by group,
//! then source (wildcards first), so a piece starts at its cursor in O(log n) and costs what
//! it returns, instead of visiting every record to find its own.
//!
//! The records live in a hash table laid out for memory (one entry per (S,G), see
//! `docs/memory.md`); the order is an index beside it (a `BTreeSet` of the keys, ~16 bytes an
//! (S,G)) that exists only while walks come: made by the first walk, kept up to date with each
//! (S,G) that comes or goes, and dropped once more (S,G)s came and went since the last walk
//! than the table holds (the next walk then makes it again for less than keeping it cost).
use super::types::{IfKey, ProtocolHandle, Sg};
use super::{Manager, State};
use std::collections::BTreeSet;
use std::net::Ipv4Addr;
use std::ops::Bound;

/// An (S,G)'s place in walks: (group, source).
pub type WalkSg = (Option<Ipv4Addr>, Option<Ipv4Addr>);

/// The index, while walks come.
#[derive(Debug, Default)]
pub(crate) struct WalkOrder {
    keys: Option<BTreeSet<WalkSg>>,
    /// (S,G)s that came or went since the last walk.
    changes: usize,
}

fn walk_sg(sg: Sg) -> WalkSg {
    (sg.group, sg.source)
}

impl State {
    /// `sg` has records (it may have had them already).
    pub(crate) fn order_insert(&mut self, sg: Sg) {
        if let Some(keys) = &mut self.walk_order.keys {
            if keys.insert(walk_sg(sg)) {
                self.walk_order.changes += 1;
            }
        }
        self.drop_order_after_churn();
    }

    /// `sg`'s last record is gone: its entry is removed.
    pub(crate) fn remove_members(&mut self, sg: Sg) {
        self.members.remove(&sg);
        if let Some(keys) = &mut self.walk_order.keys {
            if keys.remove(&walk_sg(sg)) {
                self.walk_order.changes += 1;
            }
        }
        self.drop_order_after_churn();
    }

    fn drop_order_after_churn(&mut self) {
        if self.walk_order.changes > self.members.len().max(1024) {
            self.walk_order = WalkOrder::default();
        }
    }
}

impl Manager {
    /// The membership records from the (S,G) `from` on, in walk order: (group, source), then
    /// each (S,G)'s records by (interface, protocol handle). The first walk after a while
    /// makes the index (O(n log n)); then each starts in O(log n) (see the module doc).
    pub fn ordered_membership_records(
        &mut self,
        from: Bound<WalkSg>,
    ) -> impl Iterator<Item = (Sg, IfKey, ProtocolHandle, bool)> + '_ {
        let st = &mut self.st;
        st.walk_order.changes = 0;
        let members = &st.members;
        let keys = st
            .walk_order
            .keys
            .get_or_insert_with(|| members.keys().map(walk_sg).collect());
        keys.range((from, Bound::Unbounded))
            .filter_map(move |&(group, source)| members.get(&Sg { source, group }))
            .flat_map(|m| {
                m.records
                    .iter()
                    .map(move |((iface, h), effective)| (m.sg, *iface, *h, *effective))
            })
    }

    /// Whether the walk index exists (for tests of its lifetime).
    #[cfg(test)]
    pub(crate) fn has_walk_order(&self) -> bool {
        self.st.walk_order.keys.is_some()
    }
}
