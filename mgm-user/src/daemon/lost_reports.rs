//! Reports the daemon never saw, noticed before they matter: quick leave cuts at once only
//! what no tracked host wants (`igmp/tracking.rs`), so its tracking must not be taken as
//! complete when reports of the link were lost on the way: held back by the link's report
//! budget (the classifier's `MGM_RATE` count for the interface) or lost to a full event ring
//! (`events_ring_full`, any interface's).
//!
//! The classifier counts a loss before it commits any later message to the ring, and the ring
//! hands out records in order, none before an earlier one is committed. So a look at the
//! counters taken once a message is read sees every loss that came before it, in order, with
//! no schedule to wait for. The ring is read live, though: a batch (`ring_batch.rs`) may read
//! records committed after an earlier look in it. So the look is taken before *each* message
//! that may cut at once on a quick-leave interface ([`may_cut_at_once`]), not once a batch.
//! An interface whose reports may have been lost has its tracking set aside for a Group
//! Membership Interval ([`Daemon::reports_lost`]), so that leave gets the RFC's last-member
//! queries.
//!
//! A look costs one read of `MGM_STATS` (one `bpf` syscall), and one of `MGM_RATE` per
//! quick-leave interface only when the budgets' total rose. Looks come only with leaves and
//! the v3 records that make the router query, on quick-leave interfaces, and those messages
//! pass the interface's report budget. The other way, ending a batch at such a message read
//! after a look and looking first in the next batch, costs as many looks in a flood of leaves
//! (each would end a batch) and a turn of the loop each, and the record read would have to be
//! kept across turns (the ring hands it out once): not cheaper.
//!
//! The warnings in the log (`report_budget.rs`, `ring_losses.rs`) are on their own schedule.

use super::state::Daemon;
use crate::sys::bpf::KernelMaps;
use anyhow::Result;
use mgm_common::igmp::{parse_truncated, IgmpMessage, RecordType};
use mgm_common::IgmpStats;
use std::collections::HashMap;

/// The loss counters as the last look saw them.
#[derive(Debug, Default)]
pub(crate) struct LossMarks {
    ring_full: u64,
    rate_limited: u64,
    /// ifindex → its `MGM_RATE` count, for the quick-leave interfaces of the last look.
    interfaces: HashMap<u32, u64>,
}

impl LossMarks {
    /// Starts from the counters as they are (losses before the start are not news).
    pub(crate) fn new(stats: Option<&IgmpStats>) -> Self {
        Self {
            ring_full: stats.map_or(0, |s| s.events_ring_full),
            rate_limited: stats.map_or(0, |s| s.events_rate_limited),
            interfaces: HashMap::new(),
        }
    }

    /// The ring-full count read: whether it changed since the last look.
    pub(crate) fn ring_lost(&mut self, ring_full: u64) -> bool {
        std::mem::replace(&mut self.ring_full, ring_full) != ring_full
    }

    /// The budgets' total read: whether it changed (then each interface's count is read).
    pub(crate) fn budget_held(&mut self, rate_limited: u64) -> bool {
        std::mem::replace(&mut self.rate_limited, rate_limited) != rate_limited
    }

    /// Interface `ifindex`'s count read: whether it changed (a count made again counts too).
    pub(crate) fn interface_held(&mut self, ifindex: u32, count: u64) -> bool {
        self.interfaces.insert(ifindex, count).unwrap_or(0) != count
    }
}

/// Whether an IGMP message may make quick leave cut at once: a v2 leave, or a v3 report with
/// a record that makes the router query (TO_IN, TO_EX, BLOCK), or records the capture lost.
pub(crate) fn may_cut_at_once(igmp: &[u8]) -> bool {
    match parse_truncated(igmp) {
        Ok(IgmpMessage::V2Leave { .. }) => true,
        Ok(IgmpMessage::V3Report(r)) => {
            r.lost_records() > 0
                || r.records().any(|rec| {
                    matches!(
                        rec.record_type,
                        RecordType::ToInclude | RecordType::ToExclude | RecordType::BlockOld
                    )
                })
        }
        // Reports that add, queries, and what the router ignores.
        _ => false,
    }
}

impl Daemon {
    /// Reports of interfaces `ifindexes` may have been lost before the daemon saw them, at
    /// `now_ns`: their host tracking is not complete for a GMI (`IgmpInterface::reports_lost`).
    pub(crate) fn reports_lost(&mut self, ifindexes: impl IntoIterator<Item = u32>, now_ns: u64) {
        for ifindex in ifindexes {
            if let Some(p) = self.igmp.ports.get_mut(&ifindex) {
                p.router.reports_lost(now_ns);
            }
        }
    }

    /// Whether a message of `ifindex` goes through quick leave's tracking.
    pub(crate) fn quick_leave_on(&self, ifindex: u32) -> bool {
        self.igmp
            .ports
            .get(&ifindex)
            .is_some_and(|p| p.router.config().quick_leave)
    }

    /// The look before a message that may cut at once, at `now_ns`: the quick-leave
    /// interfaces whose reports may have been lost since the last look stop trusting their
    /// tracking.
    pub(crate) fn look_for_lost_reports(&mut self, now_ns: u64) {
        let quick = self.igmp.quick_leave_ports();
        let lost = self.loss_marks.look(&self.maps, &quick);
        self.reports_lost(lost, now_ns);
    }
}

/// Where a look reads the loss counters: the classifier's maps (a script in the tests).
pub(crate) trait LossCounters {
    /// `MGM_STATS`, summed over the CPUs.
    fn stats(&self) -> Result<IgmpStats>;
    /// What interface `ifindex`'s budget held back (`MGM_RATE`).
    fn rate_limited(&self, ifindex: u32) -> Result<u64>;
}

impl LossCounters for KernelMaps {
    fn stats(&self) -> Result<IgmpStats> {
        KernelMaps::stats(self)
    }
    fn rate_limited(&self, ifindex: u32) -> Result<u64> {
        KernelMaps::rate_limited(self, ifindex)
    }
}

impl LossMarks {
    /// A look at `counters` for the quick-leave interfaces `quick`: those whose reports may
    /// have been lost since the last look (an unreadable counter: nothing found this time).
    pub(crate) fn look(&mut self, counters: &impl LossCounters, quick: &[u32]) -> Vec<u32> {
        let stats = match counters.stats() {
            Ok(s) => s,
            Err(e) => {
                log::debug!("{e:#}");
                return Vec::new();
            }
        };
        // Marks of interfaces gone, or no longer with quick leave, go.
        self.interfaces.retain(|ifindex, _| quick.contains(ifindex));
        let ring_lost = self.ring_lost(stats.events_ring_full);
        if self.budget_held(stats.events_rate_limited) {
            let mut lost = Vec::new();
            for &ifindex in quick {
                let count = counters.rate_limited(ifindex).unwrap_or_else(|e| {
                    log::debug!("{e:#}");
                    0
                });
                // Every interface's mark moves, whether or not the ring lost events too.
                if self.interface_held(ifindex, count) || ring_lost {
                    lost.push(ifindex);
                }
            }
            lost
        } else if ring_lost {
            quick.to_vec()
        } else {
            Vec::new()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v2(kind: u8) -> Vec<u8> {
        vec![kind, 0, 0, 0, 239, 1, 2, 3]
    }

    /// A v3 report of records `(type, sources)` for 239.1.2.3.
    fn v3(records: &[(u8, u8)]) -> Vec<u8> {
        let mut m = vec![0x22, 0, 0, 0, 0, 0, 0, records.len() as u8];
        for (kind, sources) in records {
            m.extend([*kind, 0, 0, *sources, 239, 1, 2, 3]);
            for i in 0..*sources {
                m.extend([192, 0, 2, 10 + i]);
            }
        }
        m
    }

    #[test]
    fn leaves_and_the_records_that_make_the_router_query_may_cut() {
        assert!(may_cut_at_once(&v2(0x17)), "v2 leave");
        assert!(!may_cut_at_once(&v2(0x16)), "v2 report");
        assert!(!may_cut_at_once(&v2(0x12)), "v1 report");
        assert!(!may_cut_at_once(&v2(0x11)), "query");
        for (kind, cuts) in [
            (1, false),
            (2, false),
            (3, true),
            (4, true),
            (5, false),
            (6, true),
        ] {
            assert_eq!(
                may_cut_at_once(&v3(&[(kind, 1)])),
                cuts,
                "record type {kind}"
            );
        }
        assert!(
            may_cut_at_once(&v3(&[(5, 2), (1, 0), (3, 0)])),
            "one cutting record among others"
        );
        assert!(!may_cut_at_once(&v3(&[])), "no record");
        assert!(
            !may_cut_at_once(&[0x17, 0]),
            "too short: the router ignores it"
        );
        // A capture cut short: the records it lost are not known not to cut.
        let mut cut = v3(&[(5, 1), (5, 1)]);
        cut.truncate(8 + 12 + 4);
        assert!(may_cut_at_once(&cut), "lost records");
    }

    #[test]
    fn each_loss_is_found_once_from_the_counters_as_they_were_at_the_start() {
        let start = IgmpStats {
            events_ring_full: 5,
            events_rate_limited: 7,
            ..IgmpStats::default()
        };
        let mut m = LossMarks::new(Some(&start));
        assert!(!m.ring_lost(5), "losses before the start are not news");
        assert!(!m.budget_held(7));
        assert!(m.ring_lost(6));
        assert!(!m.ring_lost(6), "found once");
        assert!(m.budget_held(9));
        assert!(!m.budget_held(9));
        assert!(
            !m.interface_held(3, 0),
            "an interface that held nothing back"
        );
        assert!(m.interface_held(3, 2));
        assert!(!m.interface_held(3, 2));
        assert!(m.interface_held(3, 1), "a count made again");
        assert!(m.interface_held(4, 1), "each interface has its own");
    }

    /// Counters whose every read is a rise: the budgets' total and each interface's count.
    struct Rising(std::cell::Cell<u64>);

    impl LossCounters for Rising {
        fn stats(&self) -> Result<IgmpStats> {
            self.0.set(self.0.get() + 1);
            Ok(IgmpStats {
                events_rate_limited: self.0.get(),
                ..IgmpStats::default()
            })
        }
        fn rate_limited(&self, _ifindex: u32) -> Result<u64> {
            Ok(self.0.get())
        }
    }

    #[test]
    fn the_marks_keep_only_the_quick_leave_interfaces_of_the_look() {
        let counters = Rising(Default::default());
        let mut m = LossMarks::new(None);
        assert_eq!(m.look(&counters, &[3, 4]), vec![3, 4]);
        // Interface 4 went (or quick leave went off on it); a link made again on each redial
        // comes back with a new ifindex.
        assert_eq!(m.look(&counters, &[3, 5]), vec![3, 5]);
        let mut kept: Vec<u32> = m.interfaces.keys().copied().collect();
        kept.sort_unstable();
        assert_eq!(kept, vec![3, 5], "4 forgotten");
        assert!(m.look(&counters, &[]).is_empty());
        assert!(m.interfaces.is_empty());
    }
}
