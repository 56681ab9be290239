//! A ready-made handler for the IGMP client whose state lives outside the manager (the
//! daemon's IGMP module): it turns DISABLE/ENABLE into notices the shell drains after the
//! manager call returns. On `Enable(iface)` the shell re-adds IGMP's memberships (and blocks)
//! on `iface` with ordinary manager calls — the asynchronous replay MGM asks for.
use super::callbacks::{CallbackContext, ProtocolHandler};
use super::types::IfKey;
use std::collections::VecDeque;
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
