//! What the state machine asks the daemon shell to do.

use std::net::Ipv4Addr;

use mgm_common::{MemberState, SourceState};

use super::encode::QueryMessage;
use super::querier::ForeignSource;

/// A membership delta for the manager, derived from the RFC 3376 §6.3 forwarding table.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MembershipChange {
    /// Forwarding starts: (*,G) when `source` is `None` (EXCLUDE mode), (S,G) in INCLUDE mode.
    Join,
    /// Forwarding stops (the counterpart of exactly one earlier `Join`).
    Leave,
    /// (*,G) is joined but `source` must not be forwarded (EXCLUDE mode, list Y).
    Block,
    /// The counterpart of exactly one earlier `Block`: the exclusion is gone (the source is
    /// wanted again, or the group left EXCLUDE mode; in the latter case the `Leave` of (*,G)
    /// comes first).
    Unblock,
}

/// One thing for the shell to do. Actions of one call are returned in the order to carry them
/// out, and must all be applied to the maps before the next call into the same interface
/// (the next call reads the maps back through the `FastPathView`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// Send `query` out of `ifindex` to `dst` (224.0.0.1 for general queries, the group
    /// otherwise), from our address, IP TTL 1, ToS 0xc0, Router Alert.
    SendQuery {
        ifindex: u32,
        dst: Ipv4Addr,
        query: QueryMessage,
    },
    /// Create or overwrite the `MGM_MEMBERS` entry {ifindex, group}. `unrefreshed`: the fast
    /// path cannot have refreshed the entry since the router last wrote it (never written, or
    /// last written handing the group to the slow path, which the classifier leaves alone), so
    /// it is written as it is, nothing read back.
    WriteMember {
        ifindex: u32,
        group: Ipv4Addr,
        state: MemberState,
        unrefreshed: bool,
    },
    /// Delete the `MGM_MEMBERS` entry {ifindex, group} (its sources are deleted first by
    /// `DeleteSource` actions).
    DeleteMember { ifindex: u32, group: Ipv4Addr },
    /// Create or overwrite the `MGM_SOURCES` entry {ifindex, group, source}. `unrefreshed` as
    /// for `WriteMember` (the classifier refreshes a source only through its group's entry).
    WriteSource {
        ifindex: u32,
        group: Ipv4Addr,
        source: Ipv4Addr,
        state: SourceState,
        unrefreshed: bool,
    },
    /// Delete the `MGM_SOURCES` entry {ifindex, group, source}.
    DeleteSource {
        ifindex: u32,
        group: Ipv4Addr,
        source: Ipv4Addr,
    },
    /// Membership delta for the manager: (source or any, group) on `ifindex`.
    Membership {
        ifindex: u32,
        group: Ipv4Addr,
        source: Option<Ipv4Addr>,
        change: MembershipChange,
    },
    /// The querier changed (log it). `querier` is the querier's address (ours when
    /// `we_are_querier`), `None` if unknown.
    QuerierChanged {
        ifindex: u32,
        we_are_querier: bool,
        querier: Option<Ipv4Addr>,
    },
    /// The version this interface runs changed (RFC 3376 §7.3.1): an older-version querier was
    /// seen (`older_querier` is its address) or went away (`None`). Log-worthy: the operator
    /// should configure the routers on the link alike.
    VersionChanged {
        ifindex: u32,
        from: u8,
        to: u8,
        older_querier: Option<Ipv4Addr>,
    },
    /// Something the operator should hear about, rate-limited by the router: the first at
    /// once, then at most one a minute per kind, with how many were `suppressed` since the last.
    Notice {
        ifindex: u32,
        notice: RouterNotice,
        suppressed: u64,
    },
}

/// What [`Action::Notice`] tells.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RouterNotice {
    /// A v1 or v2 query from another router while the interface runs a newer version, not
    /// followed (RFC 3376 §7.3.1: configure every router on the link alike).
    OlderQuerier { querier: Ipv4Addr, version: u8 },
    /// A query from a source that cannot be a router on this link; ignored.
    ForeignQuery {
        source: Ipv4Addr,
        reason: ForeignSource,
    },
    /// A report from `host` would have created `group`, refused at a group limit: the
    /// interface's `max_groups` (`per_host` false) or `max_groups_per_host`.
    GroupRefused {
        host: Ipv4Addr,
        group: Ipv4Addr,
        per_host: bool,
        limit: u32,
    },
    /// `refused` new sources of `group` from `host` refused at a source limit: the group's
    /// `max_sources` (`total` false) or the interface's `max_sources_total`.
    SourcesRefused {
        host: Ipv4Addr,
        group: Ipv4Addr,
        refused: usize,
        total: bool,
        limit: u32,
    },
    /// The interface's group or source filters refused a record or some of its sources.
    Filtered(FilterNotice),
}

/// What the filters of an interface refused (`filter.rs`); logged in these words.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FilterNotice {
    /// A record (v1/v2 report or leave, v3 group record) for `group` from `host`, ignored whole.
    Group { host: Ipv4Addr, group: Ipv4Addr },
    /// `refused` sources dropped from a record for `group` from `host`.
    Sources {
        host: Ipv4Addr,
        group: Ipv4Addr,
        refused: usize,
    },
}

impl std::fmt::Display for FilterNotice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FilterNotice::Group { host, group } => write!(
                f,
                "report for group {group} from {host} ignored: the group is filtered \
                 (allow-groups, deny-groups; counted in mgm show interfaces)"
            ),
            FilterNotice::Sources {
                host,
                group,
                refused,
            } => write!(
                f,
                "{refused} sources of {group} from {host} dropped from the report: they are \
                 filtered (allow-sources, deny-sources; counted in mgm show interfaces)"
            ),
        }
    }
}

impl RouterNotice {
    /// Kinds, each rate-limited on its own.
    pub const KINDS: usize = 6;

    /// This notice's kind, `0..KINDS`.
    pub fn kind(&self) -> usize {
        match self {
            RouterNotice::OlderQuerier { .. } => 0,
            RouterNotice::ForeignQuery { .. } => 1,
            RouterNotice::GroupRefused { .. } => 2,
            RouterNotice::SourcesRefused { .. } => 3,
            RouterNotice::Filtered(FilterNotice::Group { .. }) => 4,
            RouterNotice::Filtered(FilterNotice::Sources { .. }) => 5,
        }
    }
}
