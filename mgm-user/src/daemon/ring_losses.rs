//! Messages the classifier could not put on `MGM_EVENTS` (the ring was full: the daemon is not
//! keeping up) are counted in the kernel (`events_ring_full`, per CPU, shown by `mgm show stats`
//! and `--metrics`); the daemon says so in its log. It looks at the counter after a batch of
//! ring events, at most once a second: losses happen only while events arrive, so the look
//! costs one map read a second during a storm and nothing when idle. Losses after the last look
//! of a storm are logged at the next event.

/// Time between two looks at the counter.
pub(crate) const LOOK_EVERY_NS: u64 = 1_000_000_000;

/// The losses counted so far, as last logged.
#[derive(Debug)]
pub(crate) struct RingLosses {
    /// Counter value already accounted for (logged, or there at start).
    known: u64,
    /// No look before this instant (CLOCK_MONOTONIC ns).
    next_look_ns: u64,
}

impl RingLosses {
    /// Starts from the counter as it is: losses of an earlier run (the counters stay pinned)
    /// are not this run's.
    pub(crate) fn new(counted: u64) -> Self {
        Self {
            known: counted,
            next_look_ns: 0,
        }
    }

    /// Whether the counter should be read now.
    pub(crate) fn due(&self, now_ns: u64) -> bool {
        now_ns >= self.next_look_ns
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
        assert!(w.due(0));
        assert_eq!(w.looked(3, 10 * S), None, "nothing new");
        assert!(!w.due(10 * S + S / 2), "one look a second");
        assert!(w.due(11 * S));
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
    fn a_replaced_counter_starts_again() {
        let mut w = RingLosses::new(500);
        assert!(w
            .looked(7, S)
            .unwrap()
            .starts_with("MGM_EVENTS full: 7 IGMP messages lost (7 so far"));
        assert_eq!(w.looked(7, 2 * S), None);
    }
}
