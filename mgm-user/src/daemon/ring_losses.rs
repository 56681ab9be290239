//! Messages the classifier could not put on `MGM_EVENTS` (the ring was full: the daemon is not
//! keeping up) are counted in the kernel (`events_ring_full`, per CPU, shown by `mgm show stats`
//! and `--metrics`); the daemon says so in its log. It reads the counter only during a storm:
//! a loss means the ring was full, and a full ring holds far more than one batch's budget
//! ([`super::RING_BUDGET`]), so the batch that reads it next is cut with events left. The
//! counter is read after such a batch, at most once a second, and once more at the first batch
//! that empties the ring after them (the storm's end, for losses since the last look). A
//! report that finds the ring empty behind it (every one outside storms) costs no read, no
//! clock read.

/// Time between two looks at the counter during a storm.
pub(crate) const LOOK_EVERY_NS: u64 = 1_000_000_000;

/// The losses counted so far, as last logged.
#[derive(Debug)]
pub(crate) struct RingLosses {
    /// Counter value already accounted for (logged, or there at start).
    known: u64,
    /// No look before this instant (CLOCK_MONOTONIC ns) while the storm lasts.
    next_look_ns: u64,
    /// A batch was cut since the last batch that emptied the ring.
    storm: bool,
}

impl RingLosses {
    /// Starts from the counter as it is: losses of an earlier run (the counters stay pinned)
    /// are not this run's.
    pub(crate) fn new(counted: u64) -> Self {
        Self {
            known: counted,
            next_look_ns: 0,
            storm: false,
        }
    }

    /// After a batch of ring events: whether the counter should be read now. `emptied`: the
    /// batch left the ring empty; `now_ns` is asked only for batches cut with events left.
    pub(crate) fn due(&mut self, emptied: bool, now_ns: impl FnOnce() -> u64) -> bool {
        if emptied {
            return std::mem::take(&mut self.storm);
        }
        self.storm = true;
        now_ns() >= self.next_look_ns
    }

    /// The counter read at `now_ns`: the warning to log, if messages were lost since the last
    /// look.
    pub(crate) fn looked(&mut self, counted: u64, now_ns: u64) -> Option<String> {
        self.next_look_ns = now_ns.saturating_add(LOOK_EVERY_NS);
        // Lower: the counters were replaced (another mgm version's layout); start again.
        let lost = counted.checked_sub(self.known).unwrap_or(counted);
        self.known = counted;
        (lost > 0).then(|| {
            format!(
                "MGM_EVENTS full: {lost} IGMP messages lost ({counted} so far; the daemon is \
                 not keeping up; the hosts' next reports repair the state)"
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: u64 = 1_000_000_000;

    #[test]
    fn losses_are_logged_once_each_at_most_once_a_second() {
        // 3 losses from an earlier run are not reported.
        let mut w = RingLosses::new(3);
        assert!(w.due(false, || 0), "the first cut batch looks");
        assert_eq!(w.looked(3, 10 * S), None, "nothing new");
        assert!(!w.due(false, || 10 * S + S / 2), "one look a second");
        assert!(w.due(false, || 11 * S));
        assert_eq!(
            w.looked(40, 11 * S).as_deref(),
            Some(
                "MGM_EVENTS full: 37 IGMP messages lost (40 so far; the daemon is not keeping \
                 up; the hosts' next reports repair the state)"
            )
        );
        assert_eq!(w.looked(40, 12 * S), None, "the same losses are told once");
        assert!(w
            .looked(41, 13 * S)
            .unwrap()
            .starts_with("MGM_EVENTS full: 1 IGMP"));
    }

    #[test]
    fn the_counter_is_read_during_a_storm_and_once_at_its_end_only() {
        let mut w = RingLosses::new(0);
        let no_clock = || panic!("no clock read for a batch that empties the ring");
        for _ in 0..1000 {
            assert!(!w.due(true, no_clock), "reports one by one: never read");
        }
        assert!(w.due(false, || 5 * S), "a cut batch: a storm, read");
        assert_eq!(w.looked(0, 5 * S), None);
        assert!(!w.due(false, || 5 * S + 1), "within the second");
        assert!(w.due(true, no_clock), "the storm ends: read once more");
        assert!(w
            .looked(2, 5 * S + 2)
            .unwrap()
            .contains("2 IGMP messages lost"));
        assert!(!w.due(true, no_clock), "and then no more");
    }

    #[test]
    fn a_replaced_counter_starts_again() {
        let mut w = RingLosses::new(500);
        assert!(w
            .looked(7, S)
            .unwrap()
            .starts_with("MGM_EVENTS full: 7 IGMP messages lost (7 so far"));
        assert_eq!(w.looked(7, 2 * S), None);
    }
}
