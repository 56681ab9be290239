//! The loop's one timer. The daemon's deadlines are CLOCK_MONOTONIC nanoseconds; the loop waits
//! for the earliest on a single tokio `Sleep` kept for its whole run, moved (`Sleep::reset`,
//! which takes the timer driver's lock and re-files the entry in its wheel) only when that
//! deadline moves. Most wake-ups (a report, an upcall, a request) leave the earliest deadline
//! where it was, and then cost the timer nothing, where a fresh `Sleep` per iteration registered
//! and deregistered an entry on every one.
use tokio::time::Instant;

/// What the loop's `Sleep` is set to, and how deadlines map to tokio's clock.
#[derive(Debug)]
pub(crate) struct Alarm {
    /// The deadline the `Sleep` waits for; `None`: no deadline, the timer branch is off.
    armed: Option<u64>,
    /// One instant read on both clocks. tokio's clock is CLOCK_MONOTONIC too, with a private
    /// epoch: a deadline is this instant plus its distance from `epoch_ns`, with no clock read.
    epoch_ns: u64,
    epoch: Instant,
}

impl Alarm {
    /// An alarm with nothing armed; `epoch_ns` (CLOCK_MONOTONIC) and `epoch` are the same
    /// instant.
    pub(crate) fn new(epoch_ns: u64, epoch: Instant) -> Self {
        Self {
            armed: None,
            epoch_ns,
            epoch,
        }
    }

    /// The earliest deadline is now `next`: the instant to move the `Sleep` to when it must
    /// move, `None` when the `Sleep` is already set to it (or there is none, and the timer
    /// branch is off: see [`Self::is_armed`]).
    pub(crate) fn set(&mut self, next: Option<u64>) -> Option<Instant> {
        if next == self.armed {
            return None;
        }
        self.armed = next;
        next.map(|ns| self.instant(ns))
    }

    /// Whether the loop should wait on the `Sleep` at all.
    pub(crate) fn is_armed(&self) -> bool {
        self.armed.is_some()
    }

    /// The `Sleep` fired: whatever the next deadline is, even the same one (a timer that asked
    /// again for the instant that just passed), it is set again and fires at once.
    pub(crate) fn fired(&mut self) {
        self.armed = None;
    }

    /// The tokio instant of the CLOCK_MONOTONIC deadline `ns`; one in the past (before the
    /// epoch) is the epoch, which has passed too.
    fn instant(&self, ns: u64) -> Instant {
        self.epoch + std::time::Duration::from_nanos(ns.saturating_sub(self.epoch_ns))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    const MS: u64 = 1_000_000;

    #[test]
    fn the_sleep_moves_only_when_the_deadline_moves() {
        let t0 = Instant::now();
        let mut a = Alarm::new(1_000 * MS, t0);
        assert!(!a.is_armed());
        assert_eq!(
            a.set(None),
            None,
            "no deadline, nothing armed: nothing to do"
        );
        assert!(!a.is_armed());
        assert_eq!(
            a.set(Some(1_250 * MS)),
            Some(t0 + Duration::from_millis(250))
        );
        assert!(a.is_armed());
        for _ in 0..3 {
            assert_eq!(
                a.set(Some(1_250 * MS)),
                None,
                "same deadline: left as it is"
            );
        }
        assert_eq!(
            a.set(Some(1_100 * MS)),
            Some(t0 + Duration::from_millis(100)),
            "an earlier deadline moves it"
        );
        assert_eq!(
            a.set(Some(1_900 * MS)),
            Some(t0 + Duration::from_millis(900)),
            "a later one too"
        );
        assert_eq!(a.set(None), None, "no deadline any more");
        assert!(!a.is_armed(), "the timer branch is off");
        assert_eq!(
            a.set(Some(1_900 * MS)),
            Some(t0 + Duration::from_millis(900)),
            "armed again after being off, even at the same instant"
        );
    }

    #[test]
    fn a_deadline_asked_again_after_firing_is_set_again() {
        let t0 = Instant::now();
        let mut a = Alarm::new(5 * MS, t0);
        assert!(a.set(Some(6 * MS)).is_some());
        a.fired();
        assert!(!a.is_armed());
        assert_eq!(
            a.set(Some(6 * MS)),
            Some(t0 + Duration::from_millis(1)),
            "the same deadline after it fired: set again, so it fires again at once"
        );
    }

    #[test]
    fn a_past_deadline_is_the_epoch() {
        let t0 = Instant::now();
        let mut a = Alarm::new(5 * MS, t0);
        assert_eq!(a.set(Some(MS)), Some(t0), "before the epoch: due at once");
        assert_eq!(a.set(Some(0)), Some(t0));
    }
}
