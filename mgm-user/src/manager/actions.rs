//! What the manager asks of the kernel forwarder (ipmr), and the VIF allocator behind it.
//!
//! The manager never touches the kernel; it returns [`ForwarderAction`]s that the shell
//! (`mgm_user::forward`) applies in order. A VIF exists for every ifindex that some client
//! owns (an interface "in use"): the kernel only reports new sources (`NOCACHE`) for packets
//! that arrive on a VIF, so a managed interface needs one before any MFE refers to it. It is
//! freed when the last owner releases the interface.
use super::error::MgmError;
use serde::Serialize;
use std::collections::BTreeMap;
use std::net::Ipv4Addr;

/// IPv4 `MAXVIFS`.
pub const MAX_VIFS: usize = 32;

/// One change to apply to the kernel forwarder, in order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum ForwarderAction {
    /// `MRT_ADD_VIF` with `VIFF_USE_IFINDEX`, at index `vif`.
    AddVif { vif: u16, ifindex: u32 },
    /// `MRT_DEL_VIF`.
    DelVif { vif: u16, ifindex: u32 },
    /// `MRT_ADD_MFC` (adds or replaces): parent `iif`, TTL threshold 1 on `oifs`, 255 elsewhere.
    /// An empty `oifs` is a negative entry. Interfaces are ifindexes; the shell maps them to
    /// the VIFs of the `AddVif` actions.
    SetMfe {
        source: Ipv4Addr,
        group: Ipv4Addr,
        iif: u32,
        oifs: Vec<u32>,
    },
    /// `MRT_DEL_MFC`.
    DelMfe {
        source: Ipv4Addr,
        group: Ipv4Addr,
        iif: u32,
    },
}

/// VIF numbers by ifindex with a reference count (owned interface keys on that ifindex).
#[derive(Default, Debug)]
pub(crate) struct VifTable {
    slots: [Option<u32>; MAX_VIFS],
    by_ifindex: BTreeMap<u32, (u16, u32)>,
}

impl VifTable {
    /// Would `acquire(ifindex)` succeed?
    pub(crate) fn can_acquire(&self, ifindex: u32) -> Result<(), MgmError> {
        if self.by_ifindex.contains_key(&ifindex) || self.slots.iter().any(|s| s.is_none()) {
            Ok(())
        } else {
            Err(MgmError::VifLimit {
                ifindex,
                limit: MAX_VIFS,
            })
        }
    }
    /// Takes a reference; returns the new VIF number when one was allocated.
    pub(crate) fn acquire(&mut self, ifindex: u32) -> Result<Option<u16>, MgmError> {
        if let Some((_, refs)) = self.by_ifindex.get_mut(&ifindex) {
            *refs += 1;
            return Ok(None);
        }
        let Some(vif) = self.slots.iter().position(|s| s.is_none()) else {
            return Err(MgmError::VifLimit {
                ifindex,
                limit: MAX_VIFS,
            });
        };
        self.slots[vif] = Some(ifindex);
        self.by_ifindex.insert(ifindex, (vif as u16, 1));
        Ok(Some(vif as u16))
    }
    /// Drops a reference; returns the VIF number when it was freed.
    pub(crate) fn release(&mut self, ifindex: u32) -> Option<u16> {
        let (vif, refs) = self.by_ifindex.get_mut(&ifindex)?;
        *refs -= 1;
        if *refs > 0 {
            return None;
        }
        let vif = *vif;
        self.by_ifindex.remove(&ifindex);
        self.slots[vif as usize] = None;
        Some(vif)
    }
    pub(crate) fn vif_of(&self, ifindex: u32) -> Option<u16> {
        self.by_ifindex.get(&ifindex).map(|(v, _)| *v)
    }
    pub(crate) fn iter(&self) -> impl Iterator<Item = (u32, u16)> + '_ {
        self.by_ifindex.iter().map(|(i, (v, _))| (*i, *v))
    }
}
