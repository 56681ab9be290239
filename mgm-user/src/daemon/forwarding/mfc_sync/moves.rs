//! The (S,G)s whose incoming VIF mgm moved lately (a route change, a wrong-interface move).
//!
//! The kernel queues a WRONGVIF upcall for a packet that arrives on the new incoming VIF while
//! its entry still has the old one. Read after mgm installed the new one, that upcall names the
//! entry's own incoming VIF, which otherwise means the kernel's entry is not what mgm
//! installed (a desync). Within [`MOVE_GRACE_NS`] of a move it is the old upcall, not a desync.

use std::collections::{HashMap, VecDeque};
use std::net::Ipv4Addr;

/// How long after a move a WRONGVIF from the new incoming VIF is taken for one queued before
/// it. Upcalls are read within milliseconds of being queued unless the loop is held up; the
/// kernel repeats a WRONGVIF for an entry at most every 3 s, so a real desync is still seen.
pub(crate) const MOVE_GRACE_NS: u64 = 1_000_000_000;

/// Most moves remembered; past it the oldest are forgotten (a mass route change then counts
/// at worst a few desyncs that were not).
pub(crate) const MAX_MOVES: usize = 65_536;

/// (source, group).
type SgKey = (Ipv4Addr, Ipv4Addr);

/// Moves by (S,G), for the lookup each WRONGVIF upcall makes (a mass route change moves tens
/// of thousands of entries, and their upcalls follow), and in the order they were made, for
/// the expiry.
#[derive(Debug, Default)]
pub(crate) struct RecentMoves {
    /// By (S,G): the move's number and time (its latest move).
    by_sg: HashMap<SgKey, (u64, u64)>,
    /// (time, number, (S,G)) in the order made; an entry whose number no longer matches
    /// `by_sg` is stale (the (S,G) moved again since).
    order: VecDeque<(u64, u64, SgKey)>,
    made: u64,
    /// Queue entries and lookups visited (for the tests of the cost).
    #[cfg(test)]
    steps: u64,
}

impl RecentMoves {
    /// mgm moved (S,G)'s incoming VIF at `now`.
    pub(crate) fn note(&mut self, now: u64, source: Ipv4Addr, group: Ipv4Addr) {
        self.forget_before(now);
        if self.order.len() >= MAX_MOVES {
            self.pop_oldest();
        }
        self.made += 1;
        let key = (source, group);
        self.order.push_back((now, self.made, key));
        self.by_sg.insert(key, (self.made, now));
    }

    /// Whether (S,G) was moved within the grace before `now`.
    pub(crate) fn moved_lately(&mut self, now: u64, source: Ipv4Addr, group: Ipv4Addr) -> bool {
        self.forget_before(now);
        #[cfg(test)]
        {
            self.steps += 1;
        }
        self.by_sg
            .get(&(source, group))
            .is_some_and(|&(_, at)| now.saturating_sub(at) < MOVE_GRACE_NS)
    }

    fn forget_before(&mut self, now: u64) {
        while let Some(&(at, _, _)) = self.order.front() {
            if now.saturating_sub(at) < MOVE_GRACE_NS {
                break;
            }
            self.pop_oldest();
        }
    }

    fn pop_oldest(&mut self) {
        #[cfg(test)]
        {
            self.steps += 1;
        }
        if let Some((_, n, key)) = self.order.pop_front() {
            if self.by_sg.get(&key).is_some_and(|&(m, _)| m == n) {
                self.by_sg.remove(&key);
            }
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.by_sg.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 10);
    const T: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 11);
    const G: Ipv4Addr = Ipv4Addr::new(239, 1, 1, 1);

    #[test]
    fn a_move_is_recent_for_the_grace_and_only_for_its_entry() {
        let mut m = RecentMoves::default();
        assert!(!m.moved_lately(0, S, G));
        m.note(5, S, G);
        assert!(m.moved_lately(5, S, G));
        assert!(m.moved_lately(5 + MOVE_GRACE_NS - 1, S, G));
        assert!(!m.moved_lately(5 + MOVE_GRACE_NS - 1, T, G));
        assert!(!m.moved_lately(5 + MOVE_GRACE_NS, S, G));
        assert!(m.is_empty(), "forgotten after the grace");
    }

    #[test]
    fn the_list_is_bounded() {
        let mut m = RecentMoves::default();
        for i in 0..MAX_MOVES as u32 + 10 {
            m.note(1, Ipv4Addr::from(i), G);
        }
        assert_eq!(m.order.len(), MAX_MOVES);
        assert!(
            !m.moved_lately(1, Ipv4Addr::from(0), G),
            "the oldest forgotten"
        );
        assert!(m.moved_lately(1, Ipv4Addr::from(MAX_MOVES as u32 + 9), G));
    }

    #[test]
    fn a_move_again_keeps_the_entry_recent_past_its_first() {
        let mut m = RecentMoves::default();
        m.note(0, S, G);
        m.note(MOVE_GRACE_NS / 2, S, G);
        assert!(
            m.moved_lately(MOVE_GRACE_NS, S, G),
            "the first move's expiry leaves the second"
        );
        assert!(!m.moved_lately(MOVE_GRACE_NS / 2 + MOVE_GRACE_NS, S, G));
        assert!(m.is_empty());
    }

    #[test]
    fn a_lookup_per_moved_entry_costs_no_scan_of_the_moves() {
        let mut m = RecentMoves::default();
        let n = MAX_MOVES as u32;
        for i in 0..n {
            m.note(1, Ipv4Addr::from(i), G);
        }
        let before = m.steps;
        // One WRONGVIF upcall per moved entry, as after a mass route change.
        for i in 0..n {
            assert!(m.moved_lately(2, Ipv4Addr::from(i), G));
        }
        let steps = m.steps - before;
        assert!(
            steps <= 2 * u64::from(n),
            "{steps} steps for {n} lookups: a scan of the moves for each"
        );
    }
}
