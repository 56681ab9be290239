//! Plain value types of the manager API: interface keys, (S,G) specs, handles, flags.
use serde::Serialize;
use std::fmt;
use std::net::Ipv4Addr;

/// The extended interface ID of MGM: `(ifindex, next hop)`. The next hop tells apart the links
/// of a point-to-multipoint interface; it is `0.0.0.0` for broadcast and point-to-point links.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct IfKey {
    pub ifindex: u32,
    pub next_hop: Ipv4Addr,
}

impl IfKey {
    /// A broadcast or point-to-point interface (next hop 0).
    pub const fn new(ifindex: u32) -> Self {
        IfKey {
            ifindex,
            next_hop: Ipv4Addr::UNSPECIFIED,
        }
    }
    /// One link of a point-to-multipoint interface.
    pub const fn with_next_hop(ifindex: u32, next_hop: Ipv4Addr) -> Self {
        IfKey { ifindex, next_hop }
    }
}

impl fmt::Display for IfKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.next_hop.is_unspecified() {
            write!(f, "if{}", self.ifindex)
        } else {
            write!(f, "if{}/{}", self.ifindex, self.next_hop)
        }
    }
}

/// A membership or alert key: `(S,G)`, `(*,G)` or `(*,*)`. `None` is the wildcard. MGM's mask
/// parameters only ever mean "exact" or "wildcard" (ranges are unsupported), so this type has
/// no masks and cannot express a range. `(S,*)` is not valid ([`Sg::is_valid`]).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct Sg {
    pub source: Option<Ipv4Addr>,
    pub group: Option<Ipv4Addr>,
}

impl Sg {
    /// `(*,*)`: every source, every group.
    pub const STAR_STAR: Sg = Sg {
        source: None,
        group: None,
    };
    /// `(S,G)`.
    // Named after the field's notation, beside `star_g` and `STAR_STAR`: `Sg::sg(s, g)`.
    #[allow(clippy::self_named_constructors)]
    pub const fn sg(source: Ipv4Addr, group: Ipv4Addr) -> Self {
        Sg {
            source: Some(source),
            group: Some(group),
        }
    }
    /// `(*,G)`.
    pub const fn star_g(group: Ipv4Addr) -> Self {
        Sg {
            source: None,
            group: Some(group),
        }
    }
    /// A group must be multicast (224.0.0.0/4); a source must be a unicast host address; a
    /// source needs a group.
    pub fn is_valid(&self) -> bool {
        match (self.source, self.group) {
            (Some(_), None) => false,
            (s, g) => {
                g.is_none_or(|g| g.is_multicast())
                    && s.is_none_or(|s| {
                        !(s.is_unspecified() || s.is_multicast() || s.is_broadcast())
                    })
            }
        }
    }
}

impl fmt::Display for Sg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.source, self.group) {
            (Some(s), Some(g)) => write!(f, "({s},{g})"),
            (None, Some(g)) => write!(f, "(*,{g})"),
            (None, None) => write!(f, "(*,*)"),
            (Some(s), None) => write!(f, "({s},*)"),
        }
    }
}

/// The handle `register` returns; every later call of that client needs it. Handles are never
/// reused, so a stale handle is always detected (`InvalidParameter`). Handles order by
/// registration, which is the order fan-out callbacks are delivered in.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct ProtocolHandle(pub(crate) u32);

impl fmt::Display for ProtocolHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}", self.0)
    }
}

/// A protocol ID (`dwProtocolId`); together with a [`ComponentId`] it names one instance.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct ProtocolId(pub u32);

/// A component ID (`dwComponentId`): the instance of a protocol.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct ComponentId(pub u32);

/// RRAS's IGMP protocol ID (`MS_IP_IGMP`, 0x4137000A). Only a conventional value: what makes a
/// client the IGMP client is [`ClientKind::Igmp`], not this number.
pub const IGMP_PROTOCOL_ID: ProtocolId = ProtocolId(0x4137_000A);
/// The protocol ID of the built-in protocol `local` ("MGM" 01).
pub const LOCAL_PROTOCOL_ID: ProtocolId = ProtocolId(0x4D47_4D01);
/// The protocol ID of the built-in protocol `static` ("MGM" 02).
pub const STATIC_PROTOCOL_ID: ProtocolId = ProtocolId(0x4D47_4D02);
/// The protocol ID of the built-in IGMP proxy's forwarding, `proxy` ("MGM" 03).
pub const PROXY_PROTOCOL_ID: ProtocolId = ProtocolId(0x4D47_4D03);

/// What kind of client registers.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ClientKind {
    /// A multicast routing protocol: at most one per interface; gets the routing callbacks.
    Routing,
    /// The IGMP client: may co-own an interface with one routing protocol, gets only the
    /// disable/enable IGMP callbacks, and its membership changes on an interface that a routing
    /// protocol owns become local join/leave callbacks to that protocol.
    Igmp,
    /// The built-in protocol `static` (`static_protocol`): static joins (permanent memberships,
    /// delegated like IGMP's, without owning the interface) and static routes. Owns no
    /// interface and gets no callbacks.
    Static,
}

impl ClientKind {
    /// Whether this kind's memberships on an interface a routing protocol owns are *delegated*
    /// (recorded, told to the owner as local join/leave, never feeding OILs themselves): IGMP's
    /// and static joins. Such clients get no join/prune alerts.
    pub fn delegates(self) -> bool {
        matches!(self, ClientKind::Igmp | ClientKind::Static)
    }
}

/// `dwFlags` of add/delete membership.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Default)]
pub struct MembershipFlags(pub u32);

impl MembershipFlags {
    /// `MGM_JOIN_STATE_FLAG`: membership state; MFEs follow.
    pub const JOIN_STATE: MembershipFlags = MembershipFlags(0x1);
    /// `MGM_FORWARD_STATE_FLAG`: only the OIL of existing MFEs, no membership state.
    pub const FORWARD_STATE: MembershipFlags = MembershipFlags(0x2);

    pub fn join_state(self) -> bool {
        self.0 & 0x1 != 0
    }
    pub fn forward_state(self) -> bool {
        self.0 & 0x2 != 0
    }
    pub(crate) fn is_valid(self) -> bool {
        self.0 != 0 && self.0 & !0x3 == 0
    }
}

impl std::ops::BitOr for MembershipFlags {
    type Output = MembershipFlags;
    fn bitor(self, rhs: Self) -> Self {
        MembershipFlags(self.0 | rhs.0)
    }
}

/// `MGM_ENUM_TYPES`.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EnumType {
    /// One row per joined group (source is the wildcard).
    AnySource,
    /// Every (S,G) and (*,G) (and (*,*)) membership.
    AllSources,
}

/// `SOURCE_GROUP_ENTRY`: a row of group enumeration.
pub type SourceGroupEntry = Sg;

/// Kernel counters of one MFE (`SIOCGETSGCNT`: `pktcnt`, `bytecnt`, `wrong_if`).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Default, Serialize)]
pub struct MfeCounters {
    pub packets: u64,
    pub bytes: u64,
    pub wrong_if: u64,
}

impl MfeCounters {
    /// Packets that arrived on the incoming interface (the kernel's `pktcnt` also counts the
    /// ones dropped for arriving on a wrong interface).
    pub fn forwarded(&self) -> u64 {
        self.packets.saturating_sub(self.wrong_if)
    }
}
