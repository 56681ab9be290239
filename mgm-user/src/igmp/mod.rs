//! IGMP router side (RFC 2236 / RFC 3376).
//!
//! Pure logic, no I/O: the daemon shell feeds parsed messages and deadlines in and carries the
//! returned actions out (queries to send, map writes, membership deltas).

pub mod duration;
pub mod encode;

pub use duration::{format_duration, parse_duration, DurationError};
pub use encode::{QueryMessage, MAX_SOURCES_PER_QUERY};
