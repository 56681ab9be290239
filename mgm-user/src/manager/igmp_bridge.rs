//! A ready-made handler for the IGMP client whose state lives outside the manager (the
//! daemon's IGMP module): it turns DISABLE/ENABLE into notices the shell drains after the
//! manager call returns. On `Enable(iface)` the shell re-adds IGMP's memberships (and blocks)
//! on `iface` with ordinary manager calls — the asynchronous replay MGM asks for.
use super::callbacks::{CallbackContext, ProtocolHandler};
use super::types::{IfKey, MembershipFlags, ProtocolHandle, Sg};
use super::{Invalid, Manager, MgmError, MgmResult};
use std::collections::VecDeque;
use std::net::Ipv4Addr;
use std::sync::{Arc, Mutex};

/// What the manager told the IGMP client.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum IgmpNotice {
    /// Stop changing memberships on the interface.
    Disable(IfKey),
    /// Ownership changed: replay every membership on the interface.
    Enable(IfKey),
}

/// The shared notice queue (clone it: one end in the bridge, one in the shell).
#[derive(Clone, Debug, Default)]
pub struct IgmpNotices(Arc<Mutex<VecDeque<IgmpNotice>>>);

impl IgmpNotices {
    pub fn new() -> Self {
        Self::default()
    }
    /// Takes every pending notice, oldest first.
    pub fn drain(&self) -> Vec<IgmpNotice> {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .drain(..)
            .collect()
    }
    fn push(&self, n: IgmpNotice) {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push_back(n);
    }
}

/// The IGMP client's handler.
#[derive(Clone, Debug)]
pub struct IgmpBridge {
    notices: IgmpNotices,
}

impl IgmpBridge {
    pub fn new(notices: IgmpNotices) -> Self {
        IgmpBridge { notices }
    }
}

impl ProtocolHandler for IgmpBridge {
    fn disable_igmp(&mut self, _ctx: &mut CallbackContext<'_>, iface: IfKey) {
        self.notices.push(IgmpNotice::Disable(iface));
    }
    fn enable_igmp(&mut self, _ctx: &mut CallbackContext<'_>, iface: IfKey) {
        self.notices.push(IgmpNotice::Enable(iface));
    }
}

/// One membership delta of the IGMP module, for [`Manager::apply_igmp_delta`]: the IGMP
/// router's own type (one type for the concept).
pub use crate::igmp::MembershipChange as IgmpDelta;

impl Manager {
    /// Applies an IGMP membership delta on `ifindex` (next hop 0) as the IGMP client `igmp`:
    /// `Join`/`Leave` → add/delete membership (JOIN_STATE), `Block`/`Unblock` → block/unblock
    /// the source (`InvalidParameter` without one). Also what the shell replays after
    /// [`IgmpNotice::Enable`]: a `Join` per membership and a `Block` per excluded source.
    pub fn apply_igmp_delta(
        &mut self,
        now: u64,
        igmp: ProtocolHandle,
        ifindex: u32,
        group: Ipv4Addr,
        source: Option<Ipv4Addr>,
        delta: IgmpDelta,
    ) -> MgmResult<()> {
        let iface = IfKey::new(ifindex);
        let sg = Sg {
            source,
            group: Some(group),
        };
        match (delta, source) {
            (IgmpDelta::Join, _) => {
                self.add_membership(now, igmp, sg, iface, MembershipFlags::JOIN_STATE)
            }
            (IgmpDelta::Leave, _) => {
                self.delete_membership(now, igmp, sg, iface, MembershipFlags::JOIN_STATE)
            }
            (IgmpDelta::Block, Some(s)) => self.block_source(now, igmp, s, group, iface),
            (IgmpDelta::Unblock, Some(s)) => self.unblock_source(now, igmp, s, group, iface),
            (IgmpDelta::Block | IgmpDelta::Unblock, None) => {
                Err(MgmError::InvalidParameter(Invalid::NoSource))
            }
        }
    }
}
