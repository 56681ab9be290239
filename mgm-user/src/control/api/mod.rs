//! The control protocol: every line the control socket carries, as typed serde values.
//!
//! # Framing
//! A client connects to the Unix stream socket and writes [`RequestLine`]s, one JSON object per
//! line; the daemon answers each with one [`Response`] line, in order, echoing its `id`. For
//! [`Request::Events`] (only as the first request) the response is followed by one
//! [`EventLine`] per line until either side closes. After [`Request::Register`] the daemon
//! also writes [`handler::CallbackLine`]s (`docs/handler-protocol.md`).
//!
//! # Versions
//! Every response carries [`PROTOCOL_VERSION`] in `version`. A client compares it with its own
//! ([`Response::check_version`]) and refuses to interpret a response of another version, with
//! a message naming both. [`Request::Hello`] asks only for the version (and the daemon's
//! build), for clients that want to check before anything else. Adding keys is compatible;
//! renaming or removing keys, or changing their meaning, needs a new version.
//!
//! # JSON contract
//! snake_case keys, dotted IPv4 addresses, remaining times in milliseconds (`…_ms`), absolute
//! times in `CLOCK_MONOTONIC` nanoseconds (`time_ns`). `null` means "none" / "any" (the
//! wildcard source or group of an event, an entry that never ages).
pub mod groups;
pub mod handler;
mod link;

pub use link::{AttachState, Awaiting, InterfaceRole, OperState};

pub use groups::GroupFilter;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::net::Ipv4Addr;

/// The version of this protocol. Bumped on any incompatible change.
pub const PROTOCOL_VERSION: u32 = 2;

/// Longest request line the server reads.
pub const MAX_REQUEST_BYTES: usize = 64 * 1024;

/// One request: `{"command":"show_groups"}`. The `show_*`, `get_*`, `hello` and `events`
/// requests only read ([`Request::reads_only`]); every other one changes state and needs root or the socket's group (checked
/// with SO_PEERCRED). The handler requests (from `register` on) are documented in
/// `docs/handler-protocol.md`.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
#[serde(tag = "command", rename_all = "snake_case")]
pub enum Request {
    /// Answered with [`Hello`].
    Hello,
    /// Answered with `[InterfaceView]`.
    ShowInterfaces,
    /// Answered with `[GroupView]`, every group or those the [`GroupFilter`] keeps; the daemon
    /// writes the line as it walks its groups ([`groups`]).
    ShowGroups(GroupFilter),
    /// Answered with [`StatsView`].
    ShowStats,
    /// Answered with `[MfeView]`.
    ShowMfe,
    /// Answered with `[ProtocolView]`.
    ShowProtocols,
    /// Answered with an [`UpstreamView`], `null` when mgm is not a proxy.
    ShowUpstream,
    /// Subscribe to the event stream: an empty response, then one [`EventLine`] per line.
    Events,
    /// Re-read the configuration file and apply the difference (`mgm reload`, as SIGHUP):
    /// answered with [`Reloaded`]; a bad file fails the request and changes nothing.
    Reload,
    // ---- the handler protocol ----
    /// Answered with [`handler::Registered`]; the connection becomes a handler session.
    Register(handler::RegisterArgs),
    /// Releases every interface of the session's protocol and ends its registration.
    Deregister,
    /// `MgmTakeInterfaceOwnership`; the replay of the interface comes before the response.
    TakeInterface {
        interface: String,
    },
    /// `MgmReleaseInterfaceOwnership`.
    ReleaseInterface {
        interface: String,
    },
    /// `MgmAddGroupMembershipEntry`.
    AddMembership(handler::MembershipArgs),
    /// `MgmDeleteGroupMembershipEntry`.
    DeleteMembership(handler::MembershipArgs),
    /// Answered with `[MembershipView]`.
    GetMemberships(handler::MembershipFilter),
    /// Answered with a [`handler::Page`] of [`handler::MembershipView`] from the start.
    GetFirstMembership {
        #[serde(default)]
        max: Option<usize>,
    },
    /// Answered with the page after `after`.
    GetNextMembership {
        after: handler::MembershipKey,
        #[serde(default)]
        max: Option<usize>,
    },
    /// `MgmGetMfe`: answered with an [`MfeView`] (kernel counters fresh).
    GetMfe(handler::MfeKeyArgs),
    /// `MgmGetMfeStats`: the same view, counters read from the kernel now.
    GetMfeStats(handler::MfeKeyArgs),
    /// `MgmGetFirstMfe`: a [`handler::Page`] of [`MfeView`] in walk order (group, source).
    GetFirstMfe {
        #[serde(default)]
        max: Option<usize>,
    },
    /// `MgmGetNextMfe`: the page after (`source`, `group`).
    GetNextMfe {
        source: Ipv4Addr,
        group: Ipv4Addr,
        #[serde(default)]
        max: Option<usize>,
    },
    /// Sets an MFE's lifetime (seconds, 0 = never ages).
    SetMfeLifetime {
        source: Ipv4Addr,
        group: Ipv4Addr,
        timeout_s: u32,
    },
    /// `MgmSetMfe`: the MFE's upstream neighbour.
    SetMfeUpstream {
        source: Ipv4Addr,
        group: Ipv4Addr,
        upstream: Ipv4Addr,
    },
    /// Deletes an MFE whose incoming interface the handler owns (the next packet makes it
    /// again, with an RPF callback).
    DeleteMfe(handler::MfeKeyArgs),
    /// The answer to a callback that carried an `id`. Has no response.
    Answer(handler::AnswerArgs),
    // ---- static entries (the built-in protocol `static`) ----
    StaticJoin(handler::StaticJoinArgs),
    StaticLeave(handler::StaticJoinArgs),
    StaticRouteAdd(handler::StaticRouteArgs),
    StaticRouteDel(handler::MfeKeyArgs),
}

impl Request {
    /// Whether the request is one of `hello`, `show_*` and `events` (answered from the views).
    pub fn is_show(&self) -> bool {
        matches!(
            self,
            Request::Hello
                | Request::ShowInterfaces
                | Request::ShowGroups(_)
                | Request::ShowStats
                | Request::ShowMfe
                | Request::ShowProtocols
                | Request::ShowUpstream
                | Request::Events
        )
    }
    /// Whether the request only reads state (open to anyone who can connect).
    pub fn reads_only(&self) -> bool {
        self.is_show()
            || matches!(
                self,
                Request::GetMemberships(_)
                    | Request::GetFirstMembership { .. }
                    | Request::GetNextMembership { .. }
                    | Request::GetMfe(_)
                    | Request::GetMfeStats(_)
                    | Request::GetFirstMfe { .. }
                    | Request::GetNextMfe { .. }
            )
    }
    /// The `command` key of this request.
    pub fn command(&self) -> String {
        match serde_json::to_value(self) {
            Ok(serde_json::Value::Object(m)) => m
                .get("command")
                .and_then(|k| k.as_str())
                .unwrap_or("?")
                .to_string(),
            _ => "?".to_string(),
        }
    }
}

/// A request as it is on the wire: the [`Request`] and an optional `id` the response echoes
/// (handlers number their requests; `mgm show` sends none).
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct RequestLine {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<u64>,
    #[serde(flatten)]
    pub request: Request,
}

/// One response line. `T` is the data type of the request answered ([`Reply`] on the server,
/// which serializes as the bare data).
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct Response<T = Reply> {
    /// [`PROTOCOL_VERSION`] of the daemon; 0 when absent (a daemon older than versioning).
    #[serde(default)]
    pub version: u32,
    /// The `id` of the request answered, when it had one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<u64>,
    pub ok: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<T>,
    /// Why the request failed (`ok` is false).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl<T> Response<T> {
    pub fn ok(data: T) -> Self {
        Response {
            version: PROTOCOL_VERSION,
            id: None,
            ok: true,
            data: Some(data),
            error: None,
        }
    }
    pub fn error(msg: impl Into<String>) -> Self {
        Response {
            version: PROTOCOL_VERSION,
            id: None,
            ok: false,
            data: None,
            error: Some(msg.into()),
        }
    }
    /// The same response answering the request numbered `id`.
    pub fn with_id(mut self, id: Option<u64>) -> Self {
        self.id = id;
        self
    }
    /// `Err` with a message naming both versions when the daemon speaks another one.
    pub fn check_version(&self) -> Result<(), String> {
        if self.version == PROTOCOL_VERSION {
            return Ok(());
        }
        Err(format!(
            "the daemon speaks control protocol version {} but this mgm speaks version {}; \
             use the mgm binary of the running daemon",
            self.version, PROTOCOL_VERSION
        ))
    }
}

/// The data of a response, as the server sends it (untagged: it serializes as the bare view).
#[derive(Serialize, Debug, Clone, PartialEq)]
#[serde(untagged)]
pub enum Reply {
    Hello(Hello),
    Interfaces(Vec<InterfaceView>),
    Groups(Vec<GroupView>),
    Stats(StatsView),
    Mfe(Vec<MfeView>),
    Protocols(Vec<ProtocolView>),
    Upstream(Option<UpstreamView>),
    Registered(handler::Registered),
    Memberships(Vec<handler::MembershipView>),
    MembershipPage(handler::Page<handler::MembershipView>),
    OneMfe(MfeView),
    MfePage(handler::Page<MfeView>),
    /// Requests that change state and return nothing.
    Done,
    Reloaded(Reloaded),
}

/// The answer to [`Request::Reload`].
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct Reloaded {
    /// The configuration file read.
    pub file: String,
    /// One line per change applied (none: the file asks for what runs).
    pub changes: Vec<String>,
    /// What was applied only in part (a static entry the manager refused, ...).
    #[serde(default)]
    pub warnings: Vec<String>,
}

/// The answer to [`Request::Hello`].
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct Hello {
    /// [`PROTOCOL_VERSION`].
    pub version: u32,
    /// The daemon's name and build version, e.g. `mgm 0.1.0`.
    pub daemon: String,
}

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

/// One line of the event stream: what happened ([`Event`], which holds `kind` and the
/// arguments), to whom and when. IGMP notes and manager events share this shape.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct EventLine {
    #[serde(flatten)]
    pub event: Event,
    /// The protocol a callback went to; for MFE changes the owner of the incoming interface;
    /// `igmp` for IGMP notes; empty when none.
    #[serde(default)]
    pub protocol: String,
    /// The interface the event is about (for MFE changes: the incoming interface).
    #[serde(default)]
    pub interface: Option<String>,
    /// `null` for the wildcard (any source).
    #[serde(default)]
    pub source: Option<Ipv4Addr>,
    /// `null` for the wildcard (any group).
    #[serde(default)]
    pub group: Option<Ipv4Addr>,
    /// `CLOCK_MONOTONIC` nanoseconds.
    #[serde(default)]
    pub time_ns: u64,
}

/// The kind of an event (its `kind` key) with the arguments of that kind.
///
/// Callback events carry the callback's arguments as the handler left them (in/out arguments
/// after the call). Interfaces are names.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Event {
    // ---- IGMP (protocol `igmp`) ----
    /// Forwarding starts for (S,G) or (*,G) on the interface.
    IgmpJoin,
    /// Forwarding stops for (S,G) or (*,G) on the interface.
    IgmpLeave,
    /// `source` must not be forwarded to the interface although (*,G) is joined.
    IgmpBlock,
    /// The exclusion of `source` is gone.
    IgmpUnblock,
    /// The querier changed; `source` is the querier (if known), `detail` is `us` or `other`.
    QuerierChanged {
        detail: String,
    },
    /// The IGMP version run on the interface changed; `source` is the older querier (when one
    /// appeared), `detail` is `v<from> -> v<to>`.
    VersionChanged {
        detail: String,
    },
    // ---- manager callbacks ----
    LocalJoin,
    LocalLeave,
    /// `member_update`: a membership was added (`true`) or an MFE's OIL became non-empty.
    JoinAlert {
        member_update: bool,
    },
    /// `member_delete`: a membership was deleted (`true`) or an MFE's OIL became empty; the
    /// MFE lifetime the handler left (seconds, 0 = never ages).
    PruneAlert {
        member_delete: bool,
        timeout_s: u32,
    },
    /// The interfaces the handler kept in the new MFE's OIL and the ones it vetoed; `pending`
    /// when the handler (in another process) has not answered yet: the MFE is made, and the
    /// alert repeated with the answer, when it has.
    CreationAlert {
        oifs: Vec<String>,
        vetoed: Vec<String>,
        #[serde(default)]
        pending: bool,
    },
    /// The RPF callback: arrival interface, the incoming interface and upstream neighbour as
    /// the handler left them, and its verdict.
    Rpf {
        arrival: String,
        iif: String,
        upstream: Ipv4Addr,
        verdict: RpfVerdictView,
    },
    /// A packet arrived on `arrival`, not on the MFE's incoming interface `iif` (`null` if the
    /// MFE is unknown).
    WrongInterface {
        arrival: String,
        iif: Option<String>,
    },
    EnableIgmp,
    DisableIgmp,
    // ---- MFE changes ----
    MfeAdd(MfeArgs),
    MfeUpdate(MfeArgs),
    MfeDelete(MfeArgs),
    // ---- the stream itself ----
    /// This subscriber fell behind; `missed` events were dropped for it.
    Lagged {
        missed: u64,
    },
}

/// The MFE of an `mfe_add` / `mfe_update` / `mfe_delete` event.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct MfeArgs {
    pub iif: String,
    pub oifs: Vec<String>,
    pub upstream: Ipv4Addr,
    /// Made without a usable route: empty OIL, short lifetime.
    pub negative: bool,
}

/// The RPF callback's verdict.
#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum RpfVerdictView {
    Accept,
    Reject,
    /// The RPF owner is a handler in another process: the MFE is made when it answers or its
    /// deadline passes.
    Pending,
}

impl Event {
    /// The `kind` key of this event.
    pub fn kind(&self) -> String {
        match serde_json::to_value(self) {
            Ok(serde_json::Value::Object(m)) => m
                .get("kind")
                .and_then(|k| k.as_str())
                .unwrap_or("?")
                .to_string(),
            _ => "?".to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn requests_are_tagged_snake_case() {
        let json = serde_json::to_string(&Request::ShowGroups(GroupFilter::default())).unwrap();
        assert_eq!(json, r#"{"command":"show_groups"}"#);
        let back: Request = serde_json::from_str(r#"{"command":"events"}"#).unwrap();
        assert_eq!(back, Request::Events);
        let back: Request = serde_json::from_str(r#"{"command":"hello"}"#).unwrap();
        assert_eq!(back, Request::Hello);
    }

    #[test]
    fn unknown_commands_are_rejected() {
        assert!(serde_json::from_str::<Request>(r#"{"command":"reboot"}"#).is_err());
        assert!(serde_json::from_str::<Request>("not json").is_err());
    }

    #[test]
    fn responses_round_trip_with_their_version() {
        let p = ProtocolView {
            name: "local".into(),
            kind: "routing".into(),
            protocol_id: 1,
            component_id: 1,
            interfaces: vec!["eth0".into()],
        };
        let line = serde_json::to_string(&Response::ok(Reply::Protocols(vec![p.clone()]))).unwrap();
        let v: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(v["version"], json!(PROTOCOL_VERSION));
        assert_eq!(
            v["data"][0]["name"],
            json!("local"),
            "data is the bare view"
        );
        let back: Response<Vec<ProtocolView>> = serde_json::from_str(&line).unwrap();
        assert_eq!(back.data, Some(vec![p]));
        assert!(back.check_version().is_ok());
        let err: Response<()> = serde_json::from_str(
            &serde_json::to_string(&Response::<Reply>::error("boom")).unwrap(),
        )
        .unwrap();
        assert!(!err.ok);
        assert_eq!(err.error.as_deref(), Some("boom"));
    }

    #[test]
    fn a_version_mismatch_names_both_versions() {
        let old: Response<()> = serde_json::from_str(r#"{"ok":true,"data":null}"#).unwrap();
        let e = old.check_version().unwrap_err();
        assert!(e.contains("version 0"), "{e}");
        assert!(e.contains(&format!("version {PROTOCOL_VERSION}")), "{e}");
        let newer: Response<()> = serde_json::from_str(r#"{"version":99,"ok":true}"#).unwrap();
        assert!(newer.check_version().unwrap_err().contains("99"));
    }

    fn line(event: Event) -> serde_json::Value {
        let l = EventLine {
            event,
            protocol: "local".into(),
            interface: Some("eth1".into()),
            source: None,
            group: Some(Ipv4Addr::new(239, 1, 2, 3)),
            time_ns: 42,
        };
        let v = serde_json::to_value(&l).unwrap();
        let back: EventLine = serde_json::from_value(v.clone()).unwrap();
        assert_eq!(back, l, "round trip");
        v
    }

    #[test]
    fn event_lines_keep_the_documented_keys_and_carry_arguments() {
        let v = line(Event::PruneAlert {
            member_delete: false,
            timeout_s: 30,
        });
        assert_eq!(v["kind"], json!("prune_alert"));
        assert_eq!(v["protocol"], json!("local"));
        assert_eq!(v["interface"], json!("eth1"));
        assert_eq!(v["source"], json!(null), "the wildcard is null, not absent");
        assert_eq!(v["group"], json!("239.1.2.3"));
        assert_eq!(v["time_ns"], json!(42));
        assert_eq!(v["member_delete"], json!(false));
        assert_eq!(v["timeout_s"], json!(30));

        let v = line(Event::MfeAdd(MfeArgs {
            iif: "eth0".into(),
            oifs: vec!["eth1".into(), "eth2".into()],
            upstream: Ipv4Addr::new(192, 0, 2, 10),
            negative: false,
        }));
        assert_eq!(v["kind"], json!("mfe_add"));
        assert_eq!(v["iif"], json!("eth0"));
        assert_eq!(v["oifs"], json!(["eth1", "eth2"]));
        assert_eq!(v["upstream"], json!("192.0.2.10"));

        let v = line(Event::Rpf {
            arrival: "eth0".into(),
            iif: "eth3".into(),
            upstream: Ipv4Addr::new(198, 51, 100, 1),
            verdict: RpfVerdictView::Reject,
        });
        assert_eq!(v["kind"], json!("rpf"));
        assert_eq!(v["verdict"], json!("reject"));
        assert_eq!(v["arrival"], json!("eth0"));

        let v = line(Event::JoinAlert {
            member_update: true,
        });
        assert_eq!(v["member_update"], json!(true));
        let v = line(Event::CreationAlert {
            oifs: vec!["eth1".into()],
            vetoed: vec!["eth2".into()],
            pending: false,
        });
        assert_eq!(v["vetoed"], json!(["eth2"]));
        let v = line(Event::WrongInterface {
            arrival: "eth2".into(),
            iif: None,
        });
        assert_eq!(v["arrival"], json!("eth2"));
        let v = line(Event::QuerierChanged {
            detail: "us".into(),
        });
        assert_eq!(v["kind"], json!("querier_changed"));
        assert_eq!(v["detail"], json!("us"));
        assert_eq!(line(Event::IgmpJoin)["kind"], json!("igmp_join"));
        assert_eq!(
            Event::MfeDelete(MfeArgs {
                iif: String::new(),
                oifs: vec![],
                upstream: Ipv4Addr::UNSPECIFIED,
                negative: true
            })
            .kind(),
            "mfe_delete"
        );
    }
}
