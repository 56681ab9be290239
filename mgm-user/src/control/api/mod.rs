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
mod events;
pub mod groups;
pub mod handler;
mod link;
mod views;

pub use events::{Event, EventLine, MfeArgs, RpfVerdictView};
pub use groups::GroupFilter;
pub use link::{AttachState, Awaiting, InterfaceRole, OperState};
pub use views::{
    GroupView, InterfaceStats, InterfaceView, MfeView, ProtocolView, SourceView, StatsView,
    UpstreamGroupView, UpstreamView,
};

use serde::{Deserialize, Serialize};
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

#[cfg(test)]
mod tests;
