//! The IGMP proxy's pure core (RFC 4605): the membership database merged over the downstream
//! interfaces ([`mod@merge`]) and the host that reports it on the upstream interface ([`host`]).
//! No I/O, no clock: `now` is CLOCK_MONOTONIC ns passed in, randomness is injected
//! ([`rng`]), messages come out as [`HostAction`]s of IGMP bytes ([`report`]).
//!
//! The daemon (`mgm run --upstream IF -i IF …`) runs mgm's IGMP router on the downstream
//! interfaces, merges each group's downstream filters ([`Filter::of_router_group`]) with
//! [`merge()`], hands the result to [`UpstreamHost::set_group`] when it changes, feeds the
//! queries heard upstream to [`UpstreamHost::on_query`], and wakes at
//! [`UpstreamHost::next_deadline`] to call [`UpstreamHost::on_deadline`].
//!
//! Modules, one concern each:
//! - [`mod@merge`]: [`Filter`] and the RFC 4605 §4.1 / RFC 3376 §3.2 merge;
//! - [`host`]: the upstream host (RFC 3376 §5 and §7.2, RFC 2236 §3);
//! - [`report`]: v3 report encoding, split to fit 1500-byte packets; v1/v2 reports, v2 leaves;
//! - [`rng`]: the [`Jitter`] trait and the seeded [`SplitMix64`].

pub mod host;
pub mod merge;
pub mod report;
pub mod rng;

#[cfg(test)]
mod tests;

pub use host::{HostAction, HostConfig, UpstreamHost, DEFAULT_QUERY_INTERVAL_NS};
pub use merge::{merge, Filter};
pub use report::{encode_v3, ReportRecord, MAX_REPORT_LEN, MAX_SOURCES_PER_RECORD};
pub use rng::{Jitter, SplitMix64};
