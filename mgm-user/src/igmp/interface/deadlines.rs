//! The groups' deadlines of one interface: a min-heap of (deadline, group). A group whose
//! deadline moves pushes a new entry; the old one stays behind, stale (it no longer matches
//! the group's `scheduled`), and is skipped when it comes up. Stale entries are bounded: once
//! they exceed a quarter of the live ones, the heap is rebuilt from the groups (linear, so
//! amortised constant per push). The heap grows by a quarter at a time, like the group table.

use super::IgmpInterface;
use crate::igmp::action::Action;
use crate::igmp::group::Queries;
use crate::igmp::FastPathView;
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::net::Ipv4Addr;

/// Smallest growth step, and the stale entries always tolerated.
const SLACK: usize = 64;

/// Most groups whose deadline is handled in one call: the rest stay due, so the interface's
/// next deadline is now and the daemon's loop comes back at once, after its other inputs (a
/// mass expiry, 100 000 groups whose hosts went away together, does not hold the loop).
pub(crate) const DUE_GROUPS_PER_CALL: usize = 1024;

impl IgmpInterface {
    /// The groups whose deadline has come, at most [`DUE_GROUPS_PER_CALL`]: their timers
    /// expire (§6.2–§6.6), their retransmissions go out.
    pub(super) fn expire_due_groups(
        &mut self,
        now: u64,
        view: &dyn FastPathView,
        out: &mut Vec<Action>,
    ) {
        let mut handled = 0;
        while let Some((t, group)) = self.heap.peek() {
            if t > now {
                break;
            }
            let valid = self.groups.get(&group).is_some_and(|g| g.scheduled == t);
            if valid && handled == DUE_GROUPS_PER_CALL {
                break;
            }
            self.heap.pop();
            if !valid {
                continue;
            }
            handled += 1;
            self.adopt(group, view);
            let p = self.params();
            let ctx = self.ctx(now, &p);
            let mut queries = Queries::new();
            let g = self.groups.get_mut(&group).expect("checked above");
            g.scheduled = 0;
            let before = g.sources.len();
            if g.expire(now) {
                g.run_retransmissions(&ctx, &mut queries);
            }
            self.source_total = (self.source_total + g.sources.len()).saturating_sub(before);
            self.dirty.push(group);
            self.group_queries(now, group, queries, out);
        }
    }
}

#[derive(Debug, Default)]
pub(super) struct Deadlines {
    heap: BinaryHeap<Reverse<(u64, Ipv4Addr)>>,
}

impl Deadlines {
    pub(super) fn push(&mut self, t: u64, group: Ipv4Addr) {
        let len = self.heap.len();
        if len == self.heap.capacity() {
            self.heap.reserve_exact((len / 4).max(SLACK));
        }
        self.heap.push(Reverse((t, group)));
    }

    /// The earliest entry, stale or not.
    pub(super) fn peek(&self) -> Option<(u64, Ipv4Addr)> {
        self.heap.peek().map(|Reverse(e)| *e)
    }

    pub(super) fn pop(&mut self) -> Option<(u64, Ipv4Addr)> {
        self.heap.pop().map(|Reverse(e)| e)
    }

    /// Pops entries from the top until `live` says the top one is a group's deadline.
    pub(super) fn drop_stale_tops(&mut self, live: impl Fn(u64, Ipv4Addr) -> bool) {
        while let Some((t, group)) = self.peek() {
            if live(t, group) {
                break;
            }
            self.heap.pop();
        }
    }

    /// Rebuilds the heap from the groups' deadlines (`entries`, one per group that has one,
    /// `groups` groups) when stale entries exceed a quarter of them.
    pub(super) fn compact<I: Iterator<Item = (u64, Ipv4Addr)>>(
        &mut self,
        groups: usize,
        entries: impl FnOnce() -> I,
    ) {
        if self.heap.len() <= groups + groups / 4 + SLACK {
            return;
        }
        let mut v = Vec::with_capacity(groups + groups / 4);
        v.extend(entries().map(Reverse));
        self.heap = BinaryHeap::from(v);
    }

    /// Gives back capacity when it exceeds `above` entries and `factor` times what the heap
    /// holds. True when it did.
    pub(super) fn shrink(&mut self, above: usize, factor: usize) -> bool {
        let (len, capacity) = (self.heap.len(), self.heap.capacity());
        if capacity > above && capacity > len.saturating_mul(factor) {
            self.heap.shrink_to(len * 2);
            return true;
        }
        false
    }

    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.heap.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stale_entries_are_bounded_and_live_ones_kept() {
        let mut d = Deadlines::default();
        let g = |i: u32| Ipv4Addr::from(0xef01_0000 + i);
        // 1000 groups, each rescheduled 50 times; the latest deadline of group i is 1000 + i.
        let mut scheduled = vec![0u64; 1000];
        for round in 0..50u64 {
            for i in 0..1000u32 {
                let t = if round == 49 {
                    1000 + u64::from(i)
                } else {
                    5000 + round
                };
                d.push(t, g(i));
                scheduled[i as usize] = t;
                d.compact(1000, || (0..1000u32).map(|i| (scheduled[i as usize], g(i))));
            }
        }
        assert!(d.len() <= 1000 + 250 + SLACK, "{} entries", d.len());
        let mut popped = Vec::new();
        while let Some((t, group)) = d.pop() {
            let i = (u32::from(group) - 0xef01_0000) as usize;
            if scheduled[i] == t {
                popped.push((t, i));
            }
        }
        popped.dedup();
        assert_eq!(popped.len(), 1000, "every group's deadline is kept once");
        assert!(
            popped.windows(2).all(|w| w[0].0 <= w[1].0),
            "in deadline order"
        );
    }
}
