//! The budget of messages each interface sends to the daemon (`max-reports-per-second`): one
//! ring serves every interface, so a flood on one link must not fill it for the others. A
//! message for the daemon past its interface's budget is passed on and counted
//! (`events_rate_limited`) instead of sent up.
//!
//! Three buckets per interface: reports and leaves that name only groups the interface holds (a
//! key in `MGM_MEMBERS`: members' state changes and leaves, and their answers to the router's
//! group-specific queries), the other reports and leaves (new groups), and queries (a smaller
//! burst: [`MAX_QUERY_BURST`](mgm_common::maps::MAX_QUERY_BURST)). A flood of reports for new
//! groups then never holds back the members' own changes, nor the querier's queries; a flood of state changes for held groups is bounded by
//! its own bucket. Fast-path refreshes never reach here: only what would go on the ring counts.
//! What a bucket holds back is counted per interface here (`RateBuckets::rate_limited`, read by
//! the daemon) and in total by `verdict::count` (`events_rate_limited`).
//!
//! The ring fills by bytes, so a message is charged by its size: [`report_cost`] units, one
//! for a small report (a v2 message, a v3 report of one record with up to 11 sources) and one
//! more per 64 bytes of IGMP message captured (22 for a 170-record v3 report filling a
//! 1500-byte frame). The bound this puts on one interface's burst in ring bytes, its three
//! buckets together, is stated at [`MAX_REPORT_BURST`](mgm_common::maps::MAX_REPORT_BURST).
//!
//! Each bucket is a GCRA (the virtual-scheduling form of a token bucket): one deadline, the
//! theoretical arrival time of the next unit; a message is within the budget when that
//! deadline is at most `burst - 1` intervals ahead of now, and then pushes it `cost`
//! intervals on (so a message larger than the whole burst still goes up after a quiet
//! spell, and the burst overshoots by at most one message). The buckets are per CPU (no
//! locks, no atomics): the budget holds per CPU, so a flood the NIC spreads over n queues gets
//! up to n times the budget through.

use aya_ebpf::helpers::bpf_ktime_get_ns;
use mgm_common::{
    igmp::TYPE_V3_REPORT,
    maps::{report_cost, MAX_QUERY_BURST},
    IfaceSettings, MemberKey,
};

use crate::{igmp::Message, maps, verdict::SlowPathReason};

/// Which of its interface's buckets a message going up is charged to.
#[derive(Clone, Copy, PartialEq, Eq)]
#[repr(u32)]
pub(crate) enum Bucket {
    /// Reports and leaves naming a group the interface does not hold (or more records than
    /// the classifier walks).
    NewGroups = 0,
    /// Reports and leaves naming only groups the interface holds.
    KnownGroups = 1,
    Queries = 2,
}

impl Bucket {
    /// The bucket of `msg`, going up for `why`. Decided here, just before the bucket is
    /// taken, from the reason and (for a leave) one lookup, rather than carried from the
    /// handlers: a flag carried through the pipeline doubles the states the verifier walks.
    #[inline(always)]
    pub(crate) fn of(msg: &Message, why: SlowPathReason) -> Self {
        match why {
            SlowPathReason::Query => Self::Queries,
            // A v3 report's reason is NEW_GROUP when any record's group is not held, TOO_LONG
            // when not every record was walked.
            SlowPathReason::NewGroup | SlowPathReason::TooLong => Self::NewGroups,
            SlowPathReason::Leave => {
                let key = MemberKey {
                    ifindex: msg.pkt.ifindex,
                    group: msg.group(),
                };
                if maps::member(key).is_some() {
                    Self::KnownGroups
                } else {
                    Self::NewGroups
                }
            }
            // The group's entry was found (for a v3 report: every record's), unless the report
            // has no record at all.
            SlowPathReason::StateChange | SlowPathReason::DaemonRequest => {
                if msg.msg_type() == TYPE_V3_REPORT && msg.header[6] == 0 && msg.header[7] == 0 {
                    Self::NewGroups
                } else {
                    Self::KnownGroups
                }
            }
        }
    }
}

const NS_PER_SECOND: u64 = 1_000_000_000;

/// Whether a message of `igmp_len` bytes going up is within `bucket` of interface `ifindex`;
/// takes its share of the budget (by its size) when it is, counts it held back when not.
#[inline(always)]
pub(crate) fn within_budget(
    ifindex: u32,
    igmp_len: u32,
    settings: &IfaceSettings,
    bucket: Bucket,
) -> bool {
    if settings.max_reports_per_second == 0 {
        return true;
    }
    take_share(
        ifindex,
        settings.max_reports_per_second,
        settings.report_burst,
        bucket as u32,
        report_cost(igmp_len),
    )
}

/// The bucket's part, a subprogram of its own: its stack is not added to the main program's,
/// which the bpf_loop callbacks' stacks are (the verifier's 512-byte bound on the chain).
#[inline(never)]
fn take_share(ifindex: u32, per_second: u32, burst: u32, bucket: u32, cost: u32) -> bool {
    let Some(buckets) = maps::rate_buckets(ifindex) else {
        // The map refused the entry: no limit rather than no events.
        return true;
    };
    let (due, burst) = if bucket == Bucket::Queries as u32 {
        (&mut buckets.queries_due_ns, burst.min(MAX_QUERY_BURST))
    } else if bucket == Bucket::KnownGroups as u32 {
        (&mut buckets.known_groups_due_ns, burst)
    } else {
        (&mut buckets.new_groups_due_ns, burst)
    };
    // SAFETY: helper without arguments.
    let now = unsafe { bpf_ktime_get_ns() };
    let within = take(
        due,
        now,
        NS_PER_SECOND / u64::from(per_second.max(1)),
        burst,
        cost,
    );
    if !within {
        buckets.rate_limited = buckets.rate_limited.wrapping_add(1);
    }
    within
}

/// GCRA: `interval` ns per unit, up to `burst` units at once (at least one message), the
/// message taking `cost` units.
#[inline(always)]
fn take(due: &mut u64, now: u64, interval: u64, burst: u32, cost: u32) -> bool {
    let tolerance = interval * u64::from(burst.saturating_sub(1));
    let next = if *due > now { *due } else { now };
    if next - now > tolerance {
        return false;
    }
    *due = next + interval * u64::from(cost);
    true
}
