//! Protocol registration and the read-only views of registry state.
use super::types::{ClientKind, ComponentId, IfKey, ProtocolHandle, ProtocolId, Sg};
use super::{Invalid, Manager, ManagerView, MgmError, MgmResult, ProtocolHandler, State};
use serde::Serialize;
use std::collections::BTreeSet;

pub(crate) struct Protocol {
    pub id: ProtocolId,
    pub component: ComponentId,
    pub kind: ClientKind,
    /// Shared with the events that name it (one count increment per event, no copy).
    pub name: std::sync::Arc<str>,
    pub ifaces: BTreeSet<IfKey>,
}

/// Owners of one interface key.
#[derive(Default, Debug, Clone, Copy)]
pub(crate) struct Iface {
    pub routing: Option<ProtocolHandle>,
    pub igmp: Option<ProtocolHandle>,
}

impl Iface {
    pub(crate) fn is_owned_by(&self, h: ProtocolHandle) -> bool {
        self.routing == Some(h) || self.igmp == Some(h)
    }
    pub(crate) fn is_empty(&self) -> bool {
        self.routing.is_none() && self.igmp.is_none()
    }
}

/// `mgm show protocols`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ProtocolInfo {
    pub handle: ProtocolHandle,
    pub name: String,
    pub protocol_id: u32,
    pub component_id: u32,
    pub kind: ClientKind,
    pub interfaces: Vec<IfKey>,
}

/// One managed interface key.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct InterfaceInfo {
    pub interface: IfKey,
    /// Name of the routing protocol owning it.
    pub routing: Option<String>,
    /// Name of the IGMP client on it.
    pub igmp: Option<String>,
    pub vif: Option<u16>,
}

/// One membership record.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct MembershipInfo {
    pub sg: Sg,
    pub interface: IfKey,
    pub protocol: String,
    /// Feeds OILs (see the module doc); `false` for IGMP memberships delegated to the routing
    /// owner through local join.
    pub effective: bool,
}

impl State {
    pub(crate) fn check_handle(&self, h: ProtocolHandle) -> MgmResult<&Protocol> {
        self.protocols
            .get(&h)
            .ok_or(MgmError::InvalidParameter(Invalid::UnknownHandle))
    }
    pub(crate) fn is_igmp(&self, h: ProtocolHandle) -> bool {
        self.protocols
            .get(&h)
            .is_some_and(|p| p.kind == ClientKind::Igmp)
    }
    /// Routing protocols, in registration order.
    pub(crate) fn routing_protocols(&self) -> impl Iterator<Item = ProtocolHandle> + '_ {
        self.protocols
            .iter()
            .filter(|(_, p)| p.kind == ClientKind::Routing)
            .map(|(h, _)| *h)
    }
    /// The owner reported for an interface: the routing protocol, else IGMP.
    pub(crate) fn owner(&self, iface: IfKey) -> Option<ProtocolHandle> {
        let i = self.ifaces.get(&iface)?;
        i.routing.or(i.igmp)
    }
    pub(crate) fn routing_owner(&self, iface: IfKey) -> Option<ProtocolHandle> {
        self.ifaces.get(&iface).and_then(|i| i.routing)
    }
    /// The managed interface key for a kernel ifindex: `(ifindex, next_hop)` if managed, else
    /// `(ifindex, 0)` if managed, else any managed key on that ifindex.
    pub(crate) fn iface_for(&self, ifindex: u32, next_hop: std::net::Ipv4Addr) -> Option<IfKey> {
        let exact = IfKey::with_next_hop(ifindex, next_hop);
        if self.ifaces.contains_key(&exact) {
            return Some(exact);
        }
        if self.ifaces.contains_key(&IfKey::new(ifindex)) {
            return Some(IfKey::new(ifindex));
        }
        self.ifaces
            .range(IfKey::new(ifindex)..)
            .next()
            .filter(|(k, _)| k.ifindex == ifindex)
            .map(|(k, _)| *k)
    }
}

impl Manager {
    /// `MgmRegisterMProtocol`. `name` is what events and `mgm show` print.
    pub fn register(
        &mut self,
        name: &str,
        kind: ClientKind,
        protocol_id: ProtocolId,
        component_id: ComponentId,
        handler: Box<dyn ProtocolHandler>,
    ) -> MgmResult<ProtocolHandle> {
        if self
            .st
            .protocols
            .values()
            .any(|p| p.id == protocol_id && p.component == component_id)
        {
            return Err(MgmError::AlreadyExists);
        }
        let h = ProtocolHandle(self.st.next_handle);
        self.st.next_handle += 1;
        self.st.protocols.insert(
            h,
            Protocol {
                id: protocol_id,
                component: component_id,
                kind,
                name: name.into(),
                ifaces: BTreeSet::new(),
            },
        );
        self.handlers.insert(h, handler);
        Ok(h)
    }

    /// `MgmDeRegisterMProtocol`: refused (`CanNotComplete`) while `h` owns interfaces.
    pub fn deregister(&mut self, h: ProtocolHandle) -> MgmResult<()> {
        let p = self.st.check_handle(h)?;
        if !p.ifaces.is_empty() || self.st.has_static_entries(h) {
            return Err(MgmError::CanNotComplete);
        }
        self.st.protocols.remove(&h);
        self.handlers.remove(&h);
        self.st.enums.retain(|_, (owner, _)| *owner != h);
        Ok(())
    }

    /// `mgm show protocols`.
    pub fn protocols(&self) -> Vec<ProtocolInfo> {
        self.st
            .protocols
            .iter()
            .map(|(h, p)| ProtocolInfo {
                handle: *h,
                name: p.name.to_string(),
                protocol_id: p.id.0,
                component_id: p.component.0,
                kind: p.kind,
                interfaces: p.ifaces.iter().copied().collect(),
            })
            .collect()
    }

    /// Managed interface keys with their owners and VIF.
    pub fn interfaces(&self) -> Vec<InterfaceInfo> {
        let name = |h: Option<ProtocolHandle>| {
            h.and_then(|h| self.st.protocols.get(&h))
                .map(|p| p.name.to_string())
        };
        self.st
            .ifaces
            .iter()
            .map(|(k, i)| InterfaceInfo {
                interface: *k,
                routing: name(i.routing),
                igmp: name(i.igmp),
                vif: self.st.vifs.vif_of(k.ifindex),
            })
            .collect()
    }

    /// Kernel VIFs in use: (ifindex, vif).
    pub fn vifs(&self) -> Vec<(u32, u16)> {
        self.st.vifs.iter().collect()
    }

    /// Every membership record, unordered and borrowed (no allocation per record): (S,G),
    /// interface, the protocol's name, effective. For walks that keep a page of them.
    pub fn membership_records(&self) -> impl Iterator<Item = (Sg, IfKey, &str, bool)> + '_ {
        self.st.members.iter().flat_map(move |m| {
            m.records.iter().map(move |((iface, h), eff)| {
                let name = self.st.protocols.get(h).map_or("", |p| p.name.as_ref());
                (m.sg, *iface, name, *eff)
            })
        })
    }

    /// Every membership record, sorted.
    pub fn memberships(&self) -> Vec<MembershipInfo> {
        let mut v: Vec<MembershipInfo> = self
            .st
            .members
            .iter()
            .flat_map(|m| {
                m.records
                    .iter()
                    .map(move |((iface, h), eff)| MembershipInfo {
                        sg: m.sg,
                        interface: *iface,
                        protocol: self
                            .st
                            .protocols
                            .get(h)
                            .map(|p| p.name.to_string())
                            .unwrap_or_default(),
                        effective: *eff,
                    })
            })
            .collect();
        v.sort_by(|a, b| {
            (a.sg.group, a.sg.source, a.interface, &a.protocol).cmp(&(
                b.sg.group,
                b.sg.source,
                b.interface,
                &b.protocol,
            ))
        });
        v
    }
}

impl<'a> ManagerView<'a> {
    /// `MgmGetProtocolOnInterface` (the routing owner when IGMP shares the interface).
    pub fn protocol_on_interface(&self, iface: IfKey) -> MgmResult<(ProtocolId, ComponentId)> {
        let h = self.st.owner(iface).ok_or(MgmError::NotFound)?;
        let p = &self.st.protocols[&h];
        Ok((p.id, p.component))
    }
    /// Whether an IGMP client runs on the interface.
    pub fn igmp_on(&self, iface: IfKey) -> bool {
        self.st.ifaces.get(&iface).is_some_and(|i| i.igmp.is_some())
    }
    /// Name of a registered protocol.
    pub fn protocol_name(&self, h: ProtocolHandle) -> Option<&'a str> {
        self.st.protocols.get(&h).map(|p| &*p.name)
    }
    /// Interfaces with a membership of `h` for `sg`.
    pub fn membership_interfaces(&self, h: ProtocolHandle, sg: Sg) -> Vec<IfKey> {
        self.st
            .members
            .get(&sg)
            .map(|m| {
                m.records
                    .keys()
                    .filter(|(_, p)| *p == h)
                    .map(|(i, _)| *i)
                    .collect()
            })
            .unwrap_or_default()
    }
}
