//! The observable event stream (`mgm events`): one record per callback invoked and per MFE
//! change, in the order they happen.
use super::types::IfKey;
use serde::Serialize;
use std::net::Ipv4Addr;

/// What happened.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    LocalJoin,
    LocalLeave,
    JoinAlert,
    PruneAlert,
    CreationAlert,
    Rpf,
    WrongInterface,
    EnableIgmp,
    DisableIgmp,
    MfeAdd,
    MfeUpdate,
    MfeDelete,
}

impl EventKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::LocalJoin => "local_join",
            EventKind::LocalLeave => "local_leave",
            EventKind::JoinAlert => "join_alert",
            EventKind::PruneAlert => "prune_alert",
            EventKind::CreationAlert => "creation_alert",
            EventKind::Rpf => "rpf",
            EventKind::WrongInterface => "wrong_interface",
            EventKind::EnableIgmp => "enable_igmp",
            EventKind::DisableIgmp => "disable_igmp",
            EventKind::MfeAdd => "mfe_add",
            EventKind::MfeUpdate => "mfe_update",
            EventKind::MfeDelete => "mfe_delete",
        }
    }
}

/// One event. For callbacks, `protocol` is the protocol the callback went to; for MFE changes it
/// is the owner of the MFE's incoming interface (empty if none) and `interface` is that
/// incoming interface.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct MgmEvent {
    pub kind: EventKind,
    pub protocol: String,
    pub interface: Option<IfKey>,
    /// `None` for the wildcard source.
    pub source: Option<Ipv4Addr>,
    /// `None` for the wildcard group.
    pub group: Option<Ipv4Addr>,
    /// `CLOCK_MONOTONIC` nanoseconds of the manager call that produced it.
    pub time_ns: u64,
}
