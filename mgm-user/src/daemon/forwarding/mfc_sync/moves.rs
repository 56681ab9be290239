//! The (S,G)s whose incoming VIF mgm moved lately (a route change, a wrong-interface move).
//!
//! The kernel queues a WRONGVIF upcall for a packet that arrives on the new incoming VIF while
//! its entry still has the old one. Read after mgm installed the new one, that upcall names the
//! entry's own incoming VIF, which otherwise means the kernel's entry is not what mgm
//! installed (a desync). Within [`MOVE_GRACE_NS`] of a move it is the old upcall, not a desync.

use std::collections::VecDeque;
use std::net::Ipv4Addr;

/// How long after a move a WRONGVIF from the new incoming VIF is taken for one queued before
/// it. Upcalls are read within milliseconds of being queued unless the loop is held up; the
/// kernel repeats a WRONGVIF for an entry at most every 3 s, so a real desync is still seen.
pub(crate) const MOVE_GRACE_NS: u64 = 1_000_000_000;

/// Most moves remembered; past it the oldest are forgotten (a mass route change then counts
/// at worst a few desyncs that were not).
pub(crate) const MAX_MOVES: usize = 65_536;

/// Moves in the order they were made.
#[derive(Debug, Default)]
pub(crate) struct RecentMoves {
    moves: VecDeque<(u64, Ipv4Addr, Ipv4Addr)>,
}

impl RecentMoves {
    /// mgm moved (S,G)'s incoming VIF at `now`.
    pub(crate) fn note(&mut self, now: u64, source: Ipv4Addr, group: Ipv4Addr) {
        self.forget_before(now);
        if self.moves.len() >= MAX_MOVES {
            self.moves.pop_front();
        }
        self.moves.push_back((now, source, group));
    }

    /// Whether (S,G) was moved within the grace before `now`.
    pub(crate) fn moved_lately(&mut self, now: u64, source: Ipv4Addr, group: Ipv4Addr) -> bool {
        self.forget_before(now);
        self.moves
            .iter()
            .any(|&(_, s, g)| s == source && g == group)
    }

    fn forget_before(&mut self, now: u64) {
        while let Some(&(at, _, _)) = self.moves.front() {
            if now.saturating_sub(at) < MOVE_GRACE_NS {
                break;
            }
            self.moves.pop_front();
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.moves.is_empty()
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
        assert_eq!(m.moves.len(), MAX_MOVES);
        assert!(
            !m.moved_lately(1, Ipv4Addr::from(0), G),
            "the oldest forgotten"
        );
        assert!(m.moved_lately(1, Ipv4Addr::from(MAX_MOVES as u32 + 9), G));
    }
}
