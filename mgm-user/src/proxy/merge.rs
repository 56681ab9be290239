//! The proxy's membership database (RFC 4605 §4.1): one source filter per group and downstream
//! interface, merged into the one filter the upstream host reports.
//!
//! The merge is the rule RFC 3376 §3.2 gives for merging socket states into an interface state,
//! which RFC 4605 §4.1 applies to the downstream subscriptions:
//!
//! - any record in EXCLUDE mode: the result is EXCLUDE of the intersection of the EXCLUDE
//!   records' source lists minus every source an INCLUDE record asks for;
//! - otherwise: INCLUDE of the union of the INCLUDE records' source lists;
//! - no records, or only `INCLUDE({})` ones: `INCLUDE({})`, no interest ([`Filter::none`]).

use std::collections::BTreeSet;
use std::fmt;
use std::net::Ipv4Addr;

use crate::igmp::{FilterMode, GroupState};

/// A source filter for one group: the sources wanted (`Include`) or the sources not wanted
/// (`Exclude`; `Exclude({})` = every source). `Include({})` is no interest at all.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Filter {
    Include(BTreeSet<Ipv4Addr>),
    Exclude(BTreeSet<Ipv4Addr>),
}

impl Filter {
    /// `INCLUDE({})`: no interest in the group.
    pub fn none() -> Filter {
        Filter::Include(BTreeSet::new())
    }

    /// True for `INCLUDE({})`.
    pub fn is_none(&self) -> bool {
        matches!(self, Filter::Include(s) if s.is_empty())
    }

    /// `INCLUDE(sources)`.
    pub fn include(sources: impl IntoIterator<Item = Ipv4Addr>) -> Filter {
        Filter::Include(sources.into_iter().collect())
    }

    /// `EXCLUDE(sources)`; `Filter::exclude([])` is a plain (*,G) join.
    pub fn exclude(sources: impl IntoIterator<Item = Ipv4Addr>) -> Filter {
        Filter::Exclude(sources.into_iter().collect())
    }

    /// True in EXCLUDE mode (the filter-mode half of RFC 3376's interface state).
    pub fn is_exclude(&self) -> bool {
        matches!(self, Filter::Exclude(_))
    }

    /// The source list (wanted ones in INCLUDE mode, unwanted ones in EXCLUDE mode).
    pub fn sources(&self) -> &BTreeSet<Ipv4Addr> {
        match self {
            Filter::Include(s) | Filter::Exclude(s) => s,
        }
    }

    /// Whether traffic from `source` passes the filter.
    pub fn forwards(&self, source: Ipv4Addr) -> bool {
        match self {
            Filter::Include(s) => s.contains(&source),
            Filter::Exclude(s) => !s.contains(&source),
        }
    }

    /// What a downstream interface's router state for a group asks for, by the forwarding rules
    /// of RFC 3376 §6.3: INCLUDE(A) → `Include(A)` (the sources with a running timer);
    /// EXCLUDE(X, Y) → `Exclude(Y)` (X and every unlisted source are forwarded, Y is not).
    pub fn of_router_group(state: &GroupState) -> Filter {
        let running = |want: bool| {
            state
                .sources
                .iter()
                .filter(move |(_, r)| (r.timer != 0) == want)
                .map(|(s, _)| *s)
        };
        match state.mode {
            FilterMode::Include => Filter::include(running(true)),
            FilterMode::Exclude => Filter::exclude(running(false)),
        }
    }
}

impl Default for Filter {
    fn default() -> Self {
        Filter::none()
    }
}

/// `INCLUDE(a, b)` / `EXCLUDE()`: the form `mgm show` prints.
impl fmt::Display for Filter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (mode, sources) = match self {
            Filter::Include(s) => ("INCLUDE", s),
            Filter::Exclude(s) => ("EXCLUDE", s),
        };
        write!(f, "{mode}(")?;
        for (i, s) in sources.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{s}")?;
        }
        f.write_str(")")
    }
}

/// Merges the subscriptions of every downstream interface for one group (RFC 4605 §4.1 with the
/// rules of RFC 3376 §3.2, see the module docs). Order does not matter; no records is
/// [`Filter::none`].
pub fn merge<'a>(records: impl IntoIterator<Item = &'a Filter>) -> Filter {
    let mut included: BTreeSet<Ipv4Addr> = BTreeSet::new();
    let mut excluded: Option<BTreeSet<Ipv4Addr>> = None;
    for record in records {
        match record {
            Filter::Include(s) => included.extend(s.iter().copied()),
            Filter::Exclude(s) => {
                excluded = Some(match excluded {
                    None => s.clone(),
                    Some(x) => x.intersection(s).copied().collect(),
                });
            }
        }
    }
    match excluded {
        Some(x) => Filter::Exclude(x.difference(&included).copied().collect()),
        None => Filter::Include(included),
    }
}
