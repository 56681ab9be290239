//! What each interface's report budget (`max-reports-per-second`) held back: the classifier
//! counts it per interface and CPU in `MGM_RATE` (`mgm show interfaces`, the
//! `mgm_interface_reports_rate_limited_total` metric read it on demand); the daemon says in its
//! log which interface floods. It looks while reports come (after a ring batch), at most once
//! a second: the total from `MGM_STATS` (one read shared with the ring-loss look,
//! `stats_looks.rs`), and the interfaces' counts only when the total rose. Each interface's
//! warning is rate-limited to one a minute ([`RateLimit`]), with what was held back since its
//! last one. A flood the budget holds back still lets the budget
//! through, so the daemon keeps waking, and looking, while it lasts; no timer of its own.
//!
//! What the held-back reports mean for quick leave's host tracking is seen before the next
//! leave, not on this schedule (`lost_reports.rs`).

use super::state::Daemon;
use crate::time::RateLimit;
use std::collections::HashMap;

/// Time between two looks at the counters while reports come.
pub(crate) const LOOK_EVERY_NS: u64 = 1_000_000_000;

/// The counts as last seen and logged.
#[derive(Debug, Default)]
pub(crate) struct BudgetWatch {
    /// `events_rate_limited` (all interfaces) at the last look.
    total: u64,
    /// No look before this instant (CLOCK_MONOTONIC ns).
    next_look_ns: u64,
    /// ifindex → what its warnings accounted for.
    interfaces: HashMap<u32, Logged>,
}

/// One interface's count as last logged, and its warnings' rate limit.
#[derive(Debug, Default)]
struct Logged {
    count: u64,
    limit: RateLimit,
}

impl BudgetWatch {
    /// Starts from the total as it is (the counters of an earlier run stay pinned).
    pub(crate) fn new(total: u64) -> Self {
        Self {
            total,
            ..Self::default()
        }
    }

    /// After a batch of reports at `now_ns`: whether to read the total now.
    pub(crate) fn due(&mut self, now_ns: u64) -> bool {
        if now_ns < self.next_look_ns {
            return false;
        }
        self.next_look_ns = now_ns.saturating_add(LOOK_EVERY_NS);
        true
    }

    /// The total read: whether it rose since the last look (then each interface is read).
    pub(crate) fn total_rose(&mut self, total: u64) -> bool {
        let rose = total != self.total;
        self.total = total;
        rose
    }

    /// Interface `name` (`ifindex`) has held back `count` so far (since the classifier was
    /// loaded) at `now_ns`: the warning to log, if it rose and the minute allows.
    pub(crate) fn looked(
        &mut self,
        ifindex: u32,
        name: &str,
        count: u64,
        budget: u32,
        now_ns: u64,
    ) -> Option<String> {
        let l = self.interfaces.entry(ifindex).or_default();
        // Lower: the entry was made again (the classifier's map dropped it); start from it.
        let held = count.checked_sub(l.count).unwrap_or(count);
        if held == 0 {
            return None;
        }
        l.limit.allow(now_ns)?;
        l.count = count;
        Some(format!(
            "{name}: {held} IGMP reports and leaves over max-reports-per-second ({budget}) \
             passed on without the daemon seeing them ({count} so far): a host on the link \
             sends more than the budget"
        ))
    }

    /// Forgets the interfaces not in `managed` (gone, or no longer managed).
    pub(crate) fn retain(&mut self, managed: impl Fn(u32) -> bool) {
        self.interfaces.retain(|ifindex, _| managed(*ifindex));
    }
}

impl Daemon {
    /// What each interface's budget held back, as the classifier counted it (0 unread).
    pub(crate) fn rate_limited(&self, ifindex: u32) -> u64 {
        self.maps.rate_limited(ifindex).unwrap_or_else(|e| {
            log::debug!("{e:#}");
            0
        })
    }

    /// A look at the counters (`watch` said it is due; `total`: `events_rate_limited` as
    /// read for it): warns of the interfaces whose budget held back reports since the last
    /// warning.
    pub(crate) fn warn_rate_limited(&mut self, watch: &mut BudgetWatch, total: u64, now_ns: u64) {
        if !watch.total_rose(total) {
            return;
        }
        let ports = &self.igmp.ports;
        watch.retain(|ifindex| ports.contains_key(&ifindex));
        for (ifindex, p) in ports {
            let count = self.rate_limited(*ifindex);
            let budget = p.router.config().max_reports_per_second;
            if let Some(warning) = watch.looked(*ifindex, &p.name, count, budget, now_ns) {
                log::warn!("{warning}");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::RATE_LIMIT_WINDOW_NS as MINUTE;

    const S: u64 = 1_000_000_000;

    #[test]
    fn looks_at_most_once_a_second_and_reads_interfaces_only_when_the_total_rose() {
        let mut w = BudgetWatch::new(7);
        assert!(w.due(10 * S));
        assert!(!w.total_rose(7), "an earlier run's count is not news");
        assert!(!w.due(10 * S + S / 2), "once a second");
        assert!(w.due(11 * S));
        assert!(w.total_rose(9));
        assert!(!w.total_rose(9));
    }

    #[test]
    fn each_interface_warns_at_most_once_a_minute_with_what_it_held_back() {
        let mut w = BudgetWatch::new(0);
        assert_eq!(w.looked(3, "eth1", 0, 100, S), None, "nothing held back");
        assert_eq!(
            w.looked(3, "eth1", 40, 100, 2 * S).as_deref(),
            Some(
                "eth1: 40 IGMP reports and leaves over max-reports-per-second (100) passed on \
                 without the daemon seeing them (40 so far): a host on the link sends more \
                 than the budget"
            )
        );
        assert_eq!(w.looked(3, "eth1", 40, 100, 3 * S), None, "no rise");
        assert_eq!(
            w.looked(3, "eth1", 90, 100, 4 * S),
            None,
            "within the minute"
        );
        // Another interface has its own minute.
        let eth2 = w.looked(4, "eth2", 5, 100, 4 * S).expect("eth2's first");
        assert!(eth2.starts_with("eth2: 5 IGMP"), "{eth2}");
        // After the minute: everything since the last warning, the held-back rise included.
        let again = w
            .looked(3, "eth1", 120, 100, 2 * S + MINUTE)
            .expect("a minute later");
        assert!(again.starts_with("eth1: 80 IGMP"), "{again}");
        assert!(again.contains("(120 so far)"), "{again}");
    }

    #[test]
    fn a_count_made_again_starts_over() {
        let mut w = BudgetWatch::new(0);
        assert!(w.looked(3, "eth1", 500, 10, S).is_some());
        let w2 = w
            .looked(3, "eth1", 20, 10, S + MINUTE)
            .expect("counted again");
        assert!(w2.starts_with("eth1: 20 IGMP"), "{w2}");
        w.retain(|i| i != 3);
        assert!(
            w.looked(3, "eth1", 20, 10, S + MINUTE).is_some(),
            "forgotten"
        );
    }
}
