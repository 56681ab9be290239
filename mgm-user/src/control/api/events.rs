//! The event stream (`mgm events`): one [`EventLine`] per IGMP note, manager event or
//! callback.

use serde::{Deserialize, Serialize};
use std::net::Ipv4Addr;

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
