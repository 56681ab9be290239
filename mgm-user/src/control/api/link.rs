//! What mgm does with a listed interface and what its link is now: the state keys of
//! [`super::InterfaceView`] (`mgm show interfaces`).
use serde::{Deserialize, Serialize};

/// [`super::InterfaceView::role`].
#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq, Default)]
#[serde(rename_all = "snake_case")]
pub enum InterfaceRole {
    /// Listed with `-i`: an IGMP router runs on it.
    #[default]
    Router,
    /// The IGMP proxy's upstream (`--upstream`): reports go out there, no router runs.
    Upstream,
}

/// [`super::InterfaceView::state`]: what mgm does with a listed interface now.
#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq, Default)]
#[serde(rename_all = "snake_case")]
pub enum AttachState {
    /// The classifier is attached; IGMP (or the proxy's upstream host) runs.
    #[default]
    Attached,
    /// Not managed until it has what `waiting_for` names.
    Awaited,
    /// There, but of a kind of link the classifier does not handle.
    Unsupported,
    /// There, up, with an address, yet not attached: attaching failed (the log says why; the
    /// next link change retries), or a link change is still on its way to the daemon.
    Failed,
}

/// [`super::InterfaceView::waiting_for`].
#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Awaiting {
    /// No interface of that name yet.
    Interface,
    /// There, without an IPv4 address.
    Ipv4Address,
    /// There with an address, administratively down.
    AdminUp,
}

/// [`super::InterfaceView::oper_state`]: RFC 2863's operational state as the interface flags give it
/// (`IFF_RUNNING`, `IFF_DORMANT`, `IFF_LOWER_UP`).
#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
pub enum OperState {
    /// Passing packets (the kernel's `up` or `unknown`, as tun devices report).
    Up,
    /// Up but waiting for an external event (802.1X, a PPP peer).
    Dormant,
    /// Administratively up, no carrier (a veth whose peer is down, an unplugged cable).
    LowerLayerDown,
    /// Down.
    Down,
    /// No interface of that name.
    #[default]
    Absent,
}

impl OperState {
    pub fn as_str(self) -> &'static str {
        match self {
            OperState::Up => "up",
            OperState::Dormant => "dormant",
            OperState::LowerLayerDown => "lowerlayerdown",
            OperState::Down => "down",
            OperState::Absent => "absent",
        }
    }
}
