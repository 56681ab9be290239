//! The answers of `mgm show`: statistics, interfaces, groups, forwarding entries (MFEs), the
//! proxy's upstream, the registered protocols.

use super::{AttachState, Awaiting, InterfaceRole, OperState};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// `mgm show stats`: one object, counter name → value: the classifier's counters
/// (`IgmpStats::NAMES`, summed over CPUs) and the daemon's own, prefixed `daemon_`; and under
/// `interfaces` (the one key whose value is not a number) the figures of each managed
/// interface, [`InterfaceStats`]. The same figures as `mgm run --metrics` exports.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq, Default)]
pub struct StatsView {
    #[serde(flatten)]
    pub counters: BTreeMap<String, u64>,
    #[serde(default)]
    pub interfaces: Vec<InterfaceStats>,
}

impl StatsView {
    /// A counter's value, 0 when the daemon has no counter of that name.
    pub fn counter(&self, name: &str) -> u64 {
        self.counters.get(name).copied().unwrap_or(0)
    }
}

/// `stats["daemon_rss_bytes"]`: a counter by name (panics on an unknown name, like a map).
impl std::ops::Index<&str> for StatsView {
    type Output = u64;
    fn index(&self, name: &str) -> &u64 {
        &self.counters[name]
    }
}

/// One managed interface in `mgm show stats` (`interfaces`): its state now and what it
/// counted since the daemon started (or since the interface was last managed).
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq, Default)]
pub struct InterfaceStats {
    pub interface: String,
    pub ifindex: u32,
    /// We are the querier.
    pub querier: bool,
    /// IGMP version the interface runs (1, 2 or 3).
    pub version: u8,
    pub groups: u64,
    pub sources: u64,
    /// Hosts that keep at least one group alive (last reporters).
    pub hosts: u64,
    pub max_groups: u64,
    pub max_groups_per_host: u64,
    pub max_sources: u64,
    pub max_sources_total: u64,
    /// The classifier's budget of reports and leaves to the daemon (`max-reports-per-second`;
    /// 0: none).
    #[serde(default)]
    pub max_reports_per_second: u64,
    /// Reports and leaves that budget held back, passed on unseen by the daemon (since the
    /// classifier was loaded).
    #[serde(default)]
    pub reports_rate_limited: u64,
    /// Refusals, each as in `mgm show interfaces --json`.
    pub refused_groups: u64,
    pub refused_host_groups: u64,
    pub refused_sources: u64,
    pub refused_sources_total: u64,
    pub refused_filtered_groups: u64,
    pub refused_filtered_sources: u64,
    /// Queries heard from other routers on the link (foreign ones not).
    pub router_queries: u64,
    /// Queries ignored because their source cannot be a router on the link.
    pub foreign_queries: u64,
    /// v1/v2 queries from other routers heard while running a newer version, not followed.
    pub older_querier_queries: u64,
    /// Packets that arrived on the interface for a forwarding entry whose incoming interface it
    /// is (the kernel's MFE counters, summed; entries gone included).
    pub forwarded_packets: u64,
    /// Their bytes (the kernel counts those of wrong-interface packets too).
    pub forwarded_bytes: u64,
    /// Packets of those entries that arrived on another interface.
    pub wrong_interface_packets: u64,
}

/// `mgm show interfaces` row.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct InterfaceView {
    pub interface: String,
    pub ifindex: u32,
    /// Our address on the interface (the one we send queries from).
    pub address: String,
    pub querier: bool,
    /// The elected querier (us or another router), if known.
    pub querier_address: Option<String>,
    /// IGMP version in use on the interface (1, 2 or 3).
    pub version: u8,
    pub group_count: usize,
    pub max_groups: u32,
    /// Reports for new groups ignored at the `max_groups` limit since start.
    pub refused_groups: u64,
    pub max_sources: u32,
    /// New sources ignored at the per-group `max_sources` limit since start.
    pub refused_sources: u64,
    /// Most groups one host may create (`max-groups-per-host`).
    #[serde(default)]
    pub max_groups_per_host: u32,
    /// Reports for new groups ignored at the `max_groups_per_host` limit since start.
    #[serde(default)]
    pub refused_host_groups: u64,
    /// Hosts that keep at least one group alive (last reporters).
    #[serde(default)]
    pub host_count: usize,
    /// Source records over every group of the interface.
    #[serde(default)]
    pub source_count: usize,
    /// Most source records over every group (`max-sources-total`).
    #[serde(default)]
    pub max_sources_total: u32,
    /// New sources ignored at the `max_sources_total` limit since start.
    #[serde(default)]
    pub refused_sources_total: u64,
    /// The classifier's budget of reports and leaves sent up, per second and per CPU
    /// (`max-reports-per-second`; 0: none).
    #[serde(default)]
    pub max_reports_per_second: u32,
    /// Reports and leaves that budget held back, passed on unseen by the daemon, since the
    /// classifier was loaded (`events_rate_limited` in `mgm show stats` is every interface's).
    #[serde(default)]
    pub reports_rate_limited: u64,
    /// Records (v1/v2 reports and leaves, v3 group records) ignored whole since start because
    /// the group filters (`allow-groups`, `deny-groups`) refuse their group.
    #[serde(default)]
    pub refused_filtered_groups: u64,
    /// Sources dropped from records since start because the source filters (`allow-sources`,
    /// `deny-sources`) refuse them.
    #[serde(default)]
    pub refused_filtered_sources: u64,
    /// The group filters: prefixes accepted (none: every group not denied) and refused.
    #[serde(default)]
    pub allow_groups: Vec<String>,
    #[serde(default)]
    pub deny_groups: Vec<String>,
    /// The source filters, likewise.
    #[serde(default)]
    pub allow_sources: Vec<String>,
    #[serde(default)]
    pub deny_sources: Vec<String>,
    /// Quick leave (`quick-leave=on`): leaves act at once, without last-member queries.
    #[serde(default)]
    pub quick_leave: bool,
    /// `querier=off`: this router never queries on the interface (another router or a
    /// snooping switch is the querier).
    #[serde(default)]
    pub never_querier: bool,
    /// v1/v2 queries from other routers heard while running a newer version and not followed
    /// (`older-querier=warn`).
    #[serde(default)]
    pub older_querier_queries: u64,
    /// Queries ignored because their source cannot be a router on the link (not unicast,
    /// off-link, the subnet's network or broadcast address).
    #[serde(default)]
    pub foreign_queries: u64,
    pub robustness: u8,
    pub query_interval_ms: u64,
    pub query_response_interval_ms: u64,
    pub last_member_query_interval_ms: u64,
    pub last_member_query_count: u8,
    pub startup_query_interval_ms: u64,
    pub startup_query_count: u8,
    pub group_membership_interval_ms: u64,
    pub other_querier_present_interval_ms: u64,
    /// Time left on the other-querier-present timer, when another router is querier.
    pub other_querier_expires_in_ms: Option<u64>,
    /// What the interface is to mgm: an IGMP router interface (`-i`) or the proxy's upstream.
    #[serde(default)]
    pub role: InterfaceRole,
    /// Whether mgm works on it now (the classifier attached) or waits for it. The IGMP fields
    /// above are those of a running router only when `attached`; otherwise they are zero (the
    /// timers are the configured ones).
    #[serde(default)]
    pub state: AttachState,
    /// What an `awaited` interface lacks; `null` otherwise.
    #[serde(default)]
    pub waiting_for: Option<Awaiting>,
    /// The link as the kernel has it now: administratively up (`IFF_UP`).
    #[serde(default)]
    pub admin_up: bool,
    /// The link's operational state, from its flags.
    #[serde(default)]
    pub oper_state: OperState,
    /// The interface has an IPv4 address.
    #[serde(default)]
    pub has_address: bool,
    /// The configuration file's static joins (`[[join]]`) on this interface that wait for it to
    /// be managed, as `(*, G)` or `(S, G)`; made when it is.
    #[serde(default)]
    pub waiting_joins: Vec<String>,
    /// The `mgm join`s on this interface withdrawn when it was deleted, as `(*, G)` or
    /// `(S, G)`: made again when it is managed again; `mgm leave` removes one, a restart
    /// forgets them.
    #[serde(default)]
    pub waiting_command_joins: Vec<String>,
    /// The configuration file's static routes (`[[route]]`) that wait for this interface (their
    /// incoming or an outgoing one) to be managed, as `(S, G) IIF -> OIF OIF`: made when all
    /// their interfaces are.
    #[serde(default)]
    pub waiting_routes: Vec<String>,
}

/// A source of a [`GroupView`].
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct SourceView {
    pub source: String,
    pub forwarding: bool,
    pub expires_in_ms: u64,
}

/// `mgm show groups` row.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct GroupView {
    pub interface: String,
    pub ifindex: u32,
    pub group: String,
    /// `include` or `exclude`.
    pub filter_mode: String,
    /// Group timer (EXCLUDE mode); in INCLUDE mode the time until the last source expires.
    pub expires_in_ms: u64,
    pub compat_version: u8,
    pub last_reporter: Option<String>,
    pub sources: Vec<SourceView>,
    /// On a quick-leave interface, the hosts tracked for the group (explicit host tracking),
    /// by address; absent elsewhere (added in version 2, compatibly).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hosts: Option<Vec<String>>,
}

/// `mgm show mfe` row.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct MfeView {
    pub source: String,
    pub group: String,
    pub iif: String,
    pub oifs: Vec<String>,
    pub packets: u64,
    pub bytes: u64,
    pub wrong_if: u64,
    /// `null` when the entry never ages.
    pub expires_in_ms: Option<u64>,
    pub timeout_s: u32,
    pub up_time_ms: u64,
    pub upstream: String,
    pub negative: bool,
    pub protocol: Option<String>,
}

/// `mgm show upstream`: what the IGMP proxy reports on its upstream interface.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct UpstreamView {
    pub interface: String,
    /// False while the interface is awaited (not there, or without an IPv4 address): nothing
    /// is reported upstream then, and the other keys are empty.
    #[serde(default)]
    pub present: bool,
    pub ifindex: u32,
    /// The address reports are sent from.
    pub address: String,
    /// The IGMP version spoken upstream (host compatibility mode: lower while an older querier
    /// is heard).
    pub version: u8,
    pub reports_sent: u64,
    pub queries_heard: u64,
    pub groups: Vec<UpstreamGroupView>,
}

/// One group the proxy reports upstream: the merge of the downstream interfaces.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct UpstreamGroupView {
    pub group: String,
    /// `include` or `exclude`.
    pub filter_mode: String,
    pub sources: Vec<String>,
}

/// `mgm show protocols` row.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct ProtocolView {
    pub name: String,
    /// `routing` or `igmp`.
    pub kind: String,
    pub protocol_id: u32,
    pub component_id: u32,
    pub interfaces: Vec<String>,
}
