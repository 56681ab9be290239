//! The budget of messages each interface sends to the daemon (`max-reports-per-second`): one
//! ring serves every interface, so a flood on one link must not fill it for the others. A
//! message for the daemon past its interface's budget is passed on and counted
//! (`events_rate_limited`) instead of sent up.
//!
//! Two buckets per interface: reports and leaves share one, queries have their own of the same
//! size, so that a flood of reports never costs the querier's queries (nor a flood of queries a
//! host's join). Fast-path refreshes never reach here: only what would go on the ring counts.
//!
//! Each bucket is a GCRA (the virtual-scheduling form of a token bucket): one deadline, the
//! theoretical arrival time of the next message; a message is within the budget when that
//! deadline is at most `burst - 1` intervals ahead of now. The buckets are per CPU (no locks,
//! no atomics): the budget holds per CPU, so a flood the NIC spreads over n queues gets up to
//! n times the budget through.

use aya_ebpf::helpers::bpf_ktime_get_ns;
use mgm_common::IfaceSettings;

use crate::{maps, verdict::SlowPathReason};

/// One interface's buckets on one CPU: the deadline of each (0 for a full bucket).
#[repr(C)]
#[derive(Clone, Copy)]
pub(crate) struct RateBuckets {
    pub(crate) reports_due_ns: u64,
    pub(crate) queries_due_ns: u64,
}

const NS_PER_SECOND: u64 = 1_000_000_000;

/// Whether a message going up for `why` is within the budget of interface `ifindex`; takes
/// its share of the budget when it is.
#[inline(always)]
pub(crate) fn within_budget(ifindex: u32, settings: &IfaceSettings, why: SlowPathReason) -> bool {
    if settings.max_reports_per_second == 0 {
        return true;
    }
    take_share(
        ifindex,
        settings.max_reports_per_second,
        settings.report_burst,
        why == SlowPathReason::Query,
    )
}

/// The bucket's part, a subprogram of its own: its stack is not added to the main program's,
/// which the bpf_loop callbacks' stacks are (the verifier's 512-byte bound on the chain).
#[inline(never)]
fn take_share(ifindex: u32, per_second: u32, burst: u32, query: bool) -> bool {
    let Some(buckets) = maps::rate_buckets(ifindex) else {
        // The map refused the entry: no limit rather than no events.
        return true;
    };
    let due = if query {
        &mut buckets.queries_due_ns
    } else {
        &mut buckets.reports_due_ns
    };
    // SAFETY: helper without arguments.
    let now = unsafe { bpf_ktime_get_ns() };
    take(
        due,
        now,
        NS_PER_SECOND / u64::from(per_second.max(1)),
        burst,
    )
}

/// GCRA: `interval` ns per message, up to `burst` at once (at least one).
#[inline(always)]
fn take(due: &mut u64, now: u64, interval: u64, burst: u32) -> bool {
    let tolerance = interval * u64::from(burst.saturating_sub(1));
    let next = if *due > now { *due } else { now };
    if next - now > tolerance {
        return false;
    }
    *due = next + interval;
    true
}
