//! The one clock: CLOCK_MONOTONIC nanoseconds, the same clock as `bpf_ktime_get_ns`.
use anyhow::{Context, Result};
use nix::time::{clock_gettime, ClockId};

/// Now on CLOCK_MONOTONIC, in nanoseconds.
pub fn monotonic_ns() -> Result<u64> {
    let ts = clock_gettime(ClockId::CLOCK_MONOTONIC).context("clock_gettime(CLOCK_MONOTONIC)")?;
    Ok((ts.tv_sec() as u64) * 1_000_000_000 + ts.tv_nsec() as u64)
}

/// The window of a [`RateLimit`]: one minute (ns).
pub const RATE_LIMIT_WINDOW_NS: u64 = 60_000_000_000;

/// Rate limit of one kind of repeated message on this clock: the first goes out, then at most
/// one per [`RATE_LIMIT_WINDOW_NS`], with how many were held back since the last. Pure: the
/// caller gives the time.
#[derive(Clone, Copy, Debug, Default)]
pub struct RateLimit {
    last_ns: Option<u64>,
    suppressed: u64,
}

impl RateLimit {
    /// Nothing sent yet (the first message goes out).
    pub const fn new() -> Self {
        RateLimit {
            last_ns: None,
            suppressed: 0,
        }
    }
    /// `Some(held back since the last)` when a message may go out at `now`.
    pub fn allow(&mut self, now: u64) -> Option<u64> {
        if self
            .last_ns
            .is_some_and(|t| now.saturating_sub(t) < RATE_LIMIT_WINDOW_NS)
        {
            self.suppressed += 1;
            return None;
        }
        self.last_ns = Some(now);
        Some(std::mem::take(&mut self.suppressed))
    }
}
