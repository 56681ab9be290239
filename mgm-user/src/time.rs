//! The one clock: CLOCK_MONOTONIC nanoseconds, the same clock as `bpf_ktime_get_ns`.
use anyhow::{Context, Result};
use nix::time::{clock_gettime, ClockId};

/// Now on CLOCK_MONOTONIC, in nanoseconds.
pub fn monotonic_ns() -> Result<u64> {
    let ts = clock_gettime(ClockId::CLOCK_MONOTONIC).context("clock_gettime(CLOCK_MONOTONIC)")?;
    Ok((ts.tv_sec() as u64) * 1_000_000_000 + ts.tv_nsec() as u64)
}
