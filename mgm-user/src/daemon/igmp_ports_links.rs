//! The ports follow their links: a new address or subnet list taken in place (the router keeps
//! its groups), and the link MTU the group-and-source queries are split for.
use super::{IgmpPorts, ManagedInterface};

impl IgmpPorts {
    /// The addresses of a managed interface changed (`iface`: as it is now). Its router takes
    /// them in place and keeps its groups: our address (the source of its queries, its
    /// identity in the querier election, our own queries the classifier keeps) and the link's
    /// subnets (where its hosts and routers are). The settings follow with the next
    /// [`Self::sync_all_settings`].
    pub(crate) fn readdress(&mut self, iface: &ManagedInterface) {
        let Some(port) = self.ports.get_mut(&iface.ifindex) else {
            return;
        };
        port.router.set_our_addr(iface.address);
        port.router.set_link_subnets(&iface.subnets);
        port.sender.set_source(iface.address);
        port.subnets = iface.subnets.clone();
        self.settings_dirty = true;
    }

    /// Reads every port's link MTU again (a link changed): the queries follow it. A link whose
    /// MTU cannot be read (going away: the link watch tells) keeps the one it had.
    pub(crate) fn follow_mtus(&mut self) {
        let mtus: Vec<(u32, u32)> = self
            .ports
            .iter()
            .filter_map(|(i, p)| Some((*i, crate::sys::link::mtu(&p.name).ok()?)))
            .collect();
        for (ifindex, mtu) in mtus {
            self.set_mtu(ifindex, mtu);
        }
    }

    /// The link MTU of `ifindex` is `mtu` now: its queries are split to fit it.
    pub(crate) fn set_mtu(&mut self, ifindex: u32, mtu: u32) {
        if let Some(port) = self.ports.get_mut(&ifindex) {
            if port.mtu != mtu {
                log::info!(
                    "{}: MTU {mtu}: a group-and-source query carries at most {} sources",
                    port.name,
                    crate::igmp::sources_per_query(mtu)
                );
                port.mtu = mtu;
            }
        }
    }
}

/// The MTU of the link `name` as a port starts; 1500 when it cannot be read (a link going away:
/// the link watch tells). Queries are sized by it: see [`crate::igmp::sources_per_query`].
pub(super) fn link_mtu(name: &str) -> u32 {
    crate::sys::link::mtu(name).unwrap_or_else(|e| {
        log::debug!("{e:#}; queries sized for 1500");
        1500
    })
}
