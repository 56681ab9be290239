//! IGMP router side (RFC 2236 / RFC 3376), pure: no I/O, no clock.
//!
//! The daemon shell owns one [`IgmpInterface`] per managed interface, feeds it parsed messages
//! ([`mgm_common::igmp::parse`]; [`mgm_common::igmp::parse_truncated`] for a capture the
//! classifier flagged truncated) and deadlines (CLOCK_MONOTONIC ns, the clock of the eBPF maps),
//! and carries out the returned [`Action`]s: queries to send ([`QueryMessage::encode`]), map
//! writes mirrored into `MGM_MEMBERS` / `MGM_SOURCES`, membership deltas for the manager.
//!
//! Modules, one concern each:
//! - [`config`]: configuration, validation, derived timer values;
//! - [`duration`]: `125s` / `100ms` formatting for messages;
//! - [`encode`]: query encoder;
//! - [`filter`]: group and source allow/deny prefix lists;
//! - [`group`]: per-group state and the §6.4 tables; its `timers` submodule the §6.6 query
//!   side effects, retransmissions and timer expiry; `group_parts`: its layout in memory (what
//!   few groups need, out of line);
//! - [`compat`]: §7.3.2 older-host translation;
//! - [`tracking`]: explicit host tracking for quick leave (who wants what);
//! - [`querier`]: election, general-query schedule, §7.3.1 older-querier presence;
//! - [`interface`]: ties it together, deadline heap, map/membership diffs;
//! - [`action`], [`view`]: the shell-facing types.

pub mod action;
pub mod compat;
pub mod config;
pub mod duration;
pub mod encode;
pub mod filter;
pub mod group;
mod group_parts;
pub mod interface;
pub mod querier;
pub mod source_set;
pub mod tracking;
pub mod view;

#[cfg(test)]
mod tests;

pub use action::{Action, FilterNotice, MembershipChange, RouterNotice};
pub use config::{ConfigError, IgmpConfig, OlderQuerier, Params, DEFAULT_MAX_REPORTS_PER_SECOND};
pub use duration::format_duration;
pub use encode::{sources_per_query, QueryMessage, MAX_SOURCES_PER_QUERY};
pub use filter::{AddressFilter, Prefix, PrefixError, PrefixRange};
pub use group::{FilterMode, GroupState, SourceRec};
pub use interface::{
    GroupSummary, IgmpInterface, SourceSummary, MAX_ADOPTED_QUERY_INTERVAL_FACTOR,
};
pub use querier::ForeignSource;
pub use view::FastPathView;
#[cfg(any(test, feature = "test-support"))]
pub use view::NoFastPath;
