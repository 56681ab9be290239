//! The two looks at the classifier's counters after a ring batch, the ring-loss look
//! (`ring_losses.rs`) and the report-budget look (`report_budget.rs`), each on its own
//! schedule: when either is due, `MGM_STATS` is read once (one `bpf` syscall, a sum over the
//! CPUs) and both take what they need from that read. During a storm both fall due in the same
//! turn; they no longer read the map twice.
use super::report_budget::BudgetWatch;
use super::ring_losses::RingLosses;
use mgm_common::IgmpStats;

/// Both looks' state.
#[derive(Debug)]
pub(crate) struct StatsLooks {
    pub(crate) losses: RingLosses,
    pub(crate) budget: BudgetWatch,
}

/// What the looks of one batch found.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Looked {
    /// The ring lost messages since the last look: the warning to log.
    pub(crate) ring_loss: Option<String>,
    /// The budget look is due: `events_rate_limited` as read.
    pub(crate) rate_limited_total: Option<u64>,
}

impl StatsLooks {
    /// Starts from the counters as they are (`None`: unread, from 0).
    pub(crate) fn new(stats: Option<IgmpStats>) -> Self {
        let s = stats.unwrap_or_default();
        Self {
            losses: RingLosses::new(s.events_ring_full),
            budget: BudgetWatch::new(s.events_rate_limited),
        }
    }

    /// After a batch at `now_ns` (`emptied`: it left the ring empty): the counters `read`
    /// at most once, and only when one of the looks is due (a failed read: `None`, nothing
    /// found this time).
    pub(crate) fn after_batch(
        &mut self,
        emptied: bool,
        now_ns: u64,
        read: impl FnOnce() -> Option<IgmpStats>,
    ) -> Looked {
        let ring_due = self.losses.due(emptied, || now_ns);
        let budget_due = self.budget.due(now_ns);
        if !ring_due && !budget_due {
            return Looked::default();
        }
        let Some(stats) = read() else {
            return Looked::default();
        };
        Looked {
            ring_loss: ring_due
                .then(|| self.losses.looked(stats.events_ring_full, now_ns))
                .flatten(),
            rate_limited_total: budget_due.then_some(stats.events_rate_limited),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    const S: u64 = 1_000_000_000;

    fn stats(ring_full: u64, rate_limited: u64) -> IgmpStats {
        IgmpStats {
            events_ring_full: ring_full,
            events_rate_limited: rate_limited,
            ..IgmpStats::default()
        }
    }

    #[test]
    fn both_looks_due_in_one_turn_share_one_read() {
        let mut looks = StatsLooks::new(Some(stats(3, 5)));
        let reads = Cell::new(0);
        let read = |s: IgmpStats| {
            reads.set(reads.get() + 1);
            Some(s)
        };
        // A storm's batch: both looks are due (the first of each).
        let found = looks.after_batch(false, 10 * S, || read(stats(9, 8)));
        assert_eq!(reads.get(), 1, "one read for both looks");
        assert_eq!(found.rate_limited_total, Some(8));
        assert!(found
            .ring_loss
            .is_some_and(|w| w.contains("6 IGMP messages lost")));
        // Within the second: neither is due, nothing is read.
        let found = looks.after_batch(false, 10 * S + S / 2, || read(stats(9, 8)));
        assert_eq!((reads.get(), found), (1, Looked::default()));
        // The storm's end: the ring look is due (once), the budget's is not.
        let found = looks.after_batch(true, 10 * S + S / 2, || read(stats(9, 8)));
        assert_eq!(reads.get(), 2);
        assert_eq!(
            found,
            Looked::default(),
            "nothing new; the budget look waits"
        );
        // A quiet batch a second later: the budget look alone, still one read.
        let found = looks.after_batch(true, 12 * S, || read(stats(9, 11)));
        assert_eq!(reads.get(), 3);
        assert_eq!(found.rate_limited_total, Some(11));
        assert_eq!(found.ring_loss, None);
    }

    #[test]
    fn a_failed_read_finds_nothing() {
        let mut looks = StatsLooks::new(None);
        let found = looks.after_batch(false, S, || None);
        assert_eq!(found, Looked::default());
    }
}
