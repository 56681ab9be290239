//! The handler protocol: the lines a routing protocol in another process exchanges with mgm
//! over the control socket once it has sent [`super::Request::Register`]. The reference, with
//! examples, ordering guarantees, deadlines and defaults, is `docs/handler-protocol.md`.
//!
//! A handler writes request lines ([`super::RequestLine`]: a `command`, an optional `id` that
//! the response echoes) and reads two kinds of line, told apart by their first key: responses
//! (`{"version":…,"ok":…}`) and callbacks ([`CallbackLine`], `{"callback":…}`). Every callback
//! line carries `seq`, which grows by one per line of the session, so a gap is visible.
//! Callbacks that need an answer (`rpf`, `creation_alert`, `prune_alert` with `member_delete =
//! false`) carry an `id` and a `deadline_ms`; the handler answers with an
//! [`super::Request::Answer`] naming that `callback_id`.
use serde::{Deserialize, Serialize};
use std::net::Ipv4Addr;

/// What kind of client registers: a routing protocol (owns interfaces exclusively, gets the
/// routing callbacks) or an IGMP implementation (co-owns an interface with one routing
/// protocol, where mgm's own IGMP does not run; gets only `enable_igmp`/`disable_igmp`).
#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq, Default)]
#[serde(rename_all = "snake_case")]
pub enum HandlerKind {
    #[default]
    Routing,
    Igmp,
}

/// `register`: becomes a protocol of the manager (`MgmRegisterMProtocol`).
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct RegisterArgs {
    /// The protocol's name in events, `mgm show` and `-i IF,protocol=NAME`.
    pub name: String,
    /// `dwProtocolId`; derived from the name when absent.
    #[serde(default)]
    pub protocol_id: Option<u32>,
    /// `dwComponentId`; 0 when absent.
    #[serde(default)]
    pub component_id: Option<u32>,
    #[serde(default)]
    pub kind: HandlerKind,
}

/// The answer to `register`.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct Registered {
    pub name: String,
    pub protocol_id: u32,
    pub component_id: u32,
    /// The interfaces it owns now: the ones reserved for it (`-i IF,protocol=NAME`) and the
    /// ones it held when its last session ended.
    pub interfaces: Vec<String>,
    /// How long mgm waits for an answer to a callback that needs one.
    pub deadline_ms: u64,
}

/// A membership entry's state flags (`MGM_JOIN_STATE_FLAG`, `MGM_FORWARD_STATE_FLAG`).
#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum MembershipFlag {
    Join,
    Forward,
}

/// `add_membership` / `delete_membership`: (S,G), (*,G) or (*,*) on an interface the handler
/// owns. `null` (or absent) source or group is the wildcard.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct MembershipArgs {
    pub interface: String,
    #[serde(default)]
    pub source: Option<Ipv4Addr>,
    #[serde(default)]
    pub group: Option<Ipv4Addr>,
    /// `["join"]` when absent.
    #[serde(default)]
    pub flags: Option<Vec<MembershipFlag>>,
}

/// `get_memberships`: the records matching every given key.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq, Default)]
pub struct MembershipFilter {
    #[serde(default)]
    pub interface: Option<String>,
    #[serde(default)]
    pub source: Option<Ipv4Addr>,
    #[serde(default)]
    pub group: Option<Ipv4Addr>,
    #[serde(default)]
    pub protocol: Option<String>,
}

/// One membership record (`get_memberships`, `get_first_membership`, `get_next_membership`).
/// Records are ordered by group, source, interface, next hop, protocol (wildcards and no next
/// hop first).
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct MembershipView {
    pub source: Option<Ipv4Addr>,
    pub group: Option<Ipv4Addr>,
    pub interface: String,
    /// The neighbour on an NBMA interface the record is for; absent on broadcast and
    /// point-to-point interfaces (next hop 0.0.0.0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_hop: Option<Ipv4Addr>,
    pub protocol: String,
    /// Feeds OILs; false for IGMP's records on an interface a routing protocol owns (they reach
    /// that protocol as `local_join`).
    pub effective: bool,
}

impl MembershipView {
    /// The record's place in walks: the `after` of the page that follows it.
    pub fn key(&self) -> MembershipKey {
        MembershipKey {
            source: self.source,
            group: self.group,
            interface: self.interface.clone(),
            next_hop: self.next_hop,
            protocol: self.protocol.clone(),
        }
    }
}

/// The key a walk continues after (the last record of the previous page).
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct MembershipKey {
    pub source: Option<Ipv4Addr>,
    pub group: Option<Ipv4Addr>,
    pub interface: String,
    /// The record's next hop (absent: none, as in [`MembershipView`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_hop: Option<Ipv4Addr>,
    pub protocol: String,
}

/// A page of a walk: the entries and whether more follow.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct Page<T> {
    pub entries: Vec<T>,
    pub more: bool,
}

/// The answer to a callback that needs one. Keys that do not apply to the callback are
/// ignored; absent keys keep what mgm proposed.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq, Default)]
pub struct AnswerArgs {
    /// The `id` of the callback answered.
    pub callback_id: u64,
    /// `rpf`: accept (default) or reject the source.
    #[serde(default)]
    pub verdict: Option<super::RpfVerdictView>,
    /// `rpf`: the incoming interface to use instead of the proposed one.
    #[serde(default)]
    pub iif: Option<String>,
    /// `rpf`: the upstream neighbour to use instead of the proposed one.
    #[serde(default)]
    pub upstream: Option<Ipv4Addr>,
    /// `creation_alert`: the interfaces (of the ones offered) that must not forward.
    #[serde(default)]
    pub vetoed: Option<Vec<String>>,
    /// `prune_alert`: the empty entry's lifetime in seconds (0 = never ages).
    #[serde(default)]
    pub timeout_s: Option<u32>,
}

/// One interface of a `creation_alert` (`MGM_IF_ENTRY`).
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct CreationOif {
    pub interface: String,
    /// IGMP runs on the interface.
    pub igmp: bool,
}

/// One line mgm sends a registered handler that is not a response.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct CallbackLine {
    /// 1 for the first line of the session, then one more per line.
    pub seq: u64,
    #[serde(flatten)]
    pub callback: Callback,
    /// The protocol the callback goes to (the handler's name).
    pub protocol: String,
    /// The interface the callback is about (`null` for alerts about every interface).
    pub interface: Option<String>,
    /// `null` for the wildcard.
    pub source: Option<Ipv4Addr>,
    /// `null` for the wildcard.
    pub group: Option<Ipv4Addr>,
    /// Present when an answer is expected: the `callback_id` of the answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<u64>,
    /// Present with `id`: how long mgm waits before it takes the default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deadline_ms: Option<u64>,
}

/// The callbacks (the nine of MGM) and the two replay markers, with their own arguments.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
#[serde(tag = "callback", rename_all = "snake_case")]
pub enum Callback {
    /// Local receivers for (S,G)/(*,G) appeared on `interface`, which the handler owns.
    LocalJoin,
    /// The local receivers for (S,G)/(*,G) on `interface` are gone.
    LocalLeave,
    /// Receivers appeared on another protocol's interface (`member_update`), or an MFE whose
    /// incoming interface the handler owns has receivers again.
    JoinAlert { member_update: bool },
    /// Receivers are gone elsewhere (`member_delete`), or an MFE whose incoming interface the
    /// handler owns has none left; then `timeout_s` is the lifetime mgm proposes for it and
    /// the callback has an `id` (answer with `timeout_s`).
    PruneAlert { member_delete: bool, timeout_s: u32 },
    /// A new MFE (`source`, `group`) arriving on `iif` will forward out of `oifs` (the
    /// handler's interfaces only). Answer with the `vetoed` ones.
    CreationAlert { iif: String, oifs: Vec<CreationOif> },
    /// A new MFE's RPF check: the packet arrived on `arrival`; mgm proposes `iif` and
    /// `upstream` from the FIB. Answer with a verdict and optionally another iif/upstream.
    Rpf {
        arrival: String,
        iif: String,
        upstream: Ipv4Addr,
        /// The IP header of the packet as the kernel's upcall carries it, hex: the kernel has
        /// overwritten its TTL, protocol and checksum bytes with the upcall type, 0 and the VIF.
        header: String,
    },
    /// A packet of (`source`, `group`) arrived on `interface`, not on the MFE's incoming
    /// interface.
    WrongInterface { header: String },
    /// IGMP-kind handlers: start changing memberships on `interface` again, re-adding them all.
    EnableIgmp,
    /// IGMP-kind handlers: stop changing memberships on `interface`.
    DisableIgmp,
    /// The current membership of `interface` follows (as `local_join`/`local_leave`).
    ReplayBegin,
    /// The replay of `interface` is complete; changes follow.
    ReplayEnd,
}

impl Callback {
    /// The wire name (the `callback` key).
    pub fn name(&self) -> &'static str {
        match self {
            Callback::LocalJoin => "local_join",
            Callback::LocalLeave => "local_leave",
            Callback::JoinAlert { .. } => "join_alert",
            Callback::PruneAlert { .. } => "prune_alert",
            Callback::CreationAlert { .. } => "creation_alert",
            Callback::Rpf { .. } => "rpf",
            Callback::WrongInterface { .. } => "wrong_interface",
            Callback::EnableIgmp => "enable_igmp",
            Callback::DisableIgmp => "disable_igmp",
            Callback::ReplayBegin => "replay_begin",
            Callback::ReplayEnd => "replay_end",
        }
    }
}

/// A static (S,G)/(*,G) join (`static_join`, `static_leave`).
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct StaticJoinArgs {
    pub interface: String,
    pub group: Ipv4Addr,
    #[serde(default)]
    pub source: Option<Ipv4Addr>,
}

/// A static route (`static_route_add`; `static_route_del` needs only source and group).
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct StaticRouteArgs {
    pub source: Ipv4Addr,
    pub group: Ipv4Addr,
    #[serde(default)]
    pub iif: String,
    #[serde(default)]
    pub oifs: Vec<String>,
}

/// An (S,G) key of an MFE request.
#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
pub struct MfeKeyArgs {
    pub source: Ipv4Addr,
    pub group: Ipv4Addr,
}

/// `get_first_mfe` / `get_next_mfe` / `get_first_membership`: the page size.
pub const DEFAULT_PAGE: usize = 100;
/// The largest page a walk returns.
pub const MAX_PAGE: usize = 10_000;
