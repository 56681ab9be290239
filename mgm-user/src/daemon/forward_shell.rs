//! Runs the group manager with its two built-in clients (the IGMP client fed by the IGMP router,
//! and the routing protocol `local` owning every managed interface) and keeps the kernel MFC in
//! step through the mroute socket: membership deltas in, upcalls in, MFE timers, actions out.
use super::igmp_shell::{IgmpShell, MembershipDelta};
use super::preflight::ManagedInterface;
use crate::forward;
use crate::forward::fib::FibRpf;
use crate::forward::mroute::MrouteSocket;
use crate::igmp::MembershipChange;
use crate::manager::igmp_bridge::{IgmpBridge, IgmpDelta, IgmpNotice, IgmpNotices};
use crate::manager::{
    local, ClientKind, ComponentId, IfKey, Manager, MfeInfo, MgmEvent, ProtocolHandle,
    ProtocolInfo, IGMP_PROTOCOL_ID,
};
use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// `mgm show mfe` row.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct MfeView {
    pub source: String,
    pub group: String,
    pub iif: String,
    pub oifs: Vec<String>,
    pub packets: u64,
    pub bytes: u64,
    pub wrong_if: u64,
    /// `null` when the entry never ages.
    pub expires_in_ms: Option<u64>,
    pub timeout_s: u32,
    pub up_time_ms: u64,
    pub upstream: String,
    pub negative: bool,
    pub protocol: Option<String>,
}

/// `mgm show protocols` row.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct ProtocolView {
    pub name: String,
    pub kind: String,
    pub protocol_id: u32,
    pub component_id: u32,
    pub interfaces: Vec<String>,
}

pub struct ForwardShell {
    mgr: Manager,
    sock: MrouteSocket,
    igmp: ProtocolHandle,
    local: ProtocolHandle,
    notices: IgmpNotices,
    names: BTreeMap<u32, String>,
}

impl ForwardShell {
    /// Opens the mroute socket (`table`: an ipmr table id, `None` for the main one), registers
    /// `local` and IGMP, and gives both every managed interface.
    pub fn start(interfaces: &[ManagedInterface], table: Option<u32>, now: u64) -> Result<Self> {
        let mut sock = MrouteSocket::open(table).context("opening the multicast routing socket")?;
        // WRONGVIF for a packet arriving on any VIF, not only on one in the entry's OIL: how a
        // moved route towards a source is noticed while its stream runs. Kernels built without
        // PIM-SM refuse MRT_PIM; forwarding works without it.
        if let Err(e) = sock.set_pim(true) {
            log::warn!(
                "{e:#}: a route that moves to another interface under a running stream is noticed \
                 only when the new interface is in the entry's outgoing list"
            );
        }
        let mut mgr = Manager::new(Box::new(FibRpf::new()?));
        let local = local::register_local(&mut mgr)
            .map_err(|e| anyhow::anyhow!("registering local: {e}"))?;
        let notices = IgmpNotices::new();
        let igmp = mgr
            .register(
                "igmp",
                ClientKind::Igmp,
                IGMP_PROTOCOL_ID,
                ComponentId(0),
                Box::new(IgmpBridge::new(notices.clone())),
            )
            .map_err(|e| anyhow::anyhow!("registering igmp: {e}"))?;
        let mut shell = ForwardShell {
            mgr,
            sock,
            igmp,
            local,
            notices,
            names: interfaces
                .iter()
                .map(|i| (i.ifindex, i.name.clone()))
                .collect(),
        };
        for i in interfaces {
            shell.add_interface(i, now)?;
        }
        Ok(shell)
    }

    /// `local` and IGMP take one more interface (its VIF is added).
    pub fn add_interface(&mut self, i: &ManagedInterface, now: u64) -> Result<()> {
        for (who, h) in [("local", self.local), ("igmp", self.igmp)] {
            self.mgr
                .take_interface_ownership(now, h, IfKey::new(i.ifindex))
                .map_err(|e| anyhow::anyhow!("{who} taking {}: {e}", i.name))?;
        }
        self.names.insert(i.ifindex, i.name.clone());
        self.sync_kernel()
            .with_context(|| format!("adding {} to the multicast routes", i.name))
    }

    /// Applies pending kernel actions; the first error is returned, the others logged.
    fn sync_kernel(&mut self) -> Result<()> {
        let mut errors = forward::sync(&mut self.mgr, &mut self.sock).into_iter();
        let first = errors.next();
        for e in errors {
            log::warn!("{e:#}");
        }
        for e in self.mgr.take_errors() {
            log::warn!("queued manager call failed: {e:?}");
        }
        first.map_or(Ok(()), Err)
    }

    /// After every manager call: kernel actions, then IGMP notices (replays).
    pub fn settle(&mut self, igmp: &IgmpShell, now: u64) {
        if let Err(e) = self.sync_kernel() {
            log::warn!("{e:#}");
        }
        for notice in self.notices.drain() {
            match notice {
                IgmpNotice::Disable(iface) => {
                    log::info!("igmp disabled on ifindex {}", iface.ifindex)
                }
                IgmpNotice::Enable(iface) => {
                    // The replay MGM asks for: after the callback, from IGMP's own state.
                    for d in igmp.memberships(iface.ifindex) {
                        self.apply_delta(&d, now);
                    }
                    if let Err(e) = self.sync_kernel() {
                        log::warn!("{e:#}");
                    }
                }
            }
        }
    }

    fn apply_delta(&mut self, d: &MembershipDelta, now: u64) {
        let delta = match d.change {
            MembershipChange::Join => IgmpDelta::Join,
            MembershipChange::Leave => IgmpDelta::Leave,
            MembershipChange::Block => IgmpDelta::Block,
            MembershipChange::Unblock => IgmpDelta::Unblock,
        };
        if let Err(e) = self
            .mgr
            .apply_igmp_delta(now, self.igmp, d.ifindex, d.group, d.source, delta)
        {
            log::warn!(
                "manager refused IGMP {:?} of {:?} {} on {}: {e}",
                d.change,
                d.source,
                d.group,
                d.ifindex
            );
        }
    }

    /// IGMP membership deltas into the manager.
    pub fn on_deltas(&mut self, deltas: &[MembershipDelta], igmp: &IgmpShell, now: u64) {
        if deltas.is_empty() {
            return;
        }
        for d in deltas {
            self.apply_delta(d, now);
        }
        self.settle(igmp, now);
    }

    /// Reads pending upcalls from the mroute socket: up to `budget` upcalls; true when none is left queued.
    pub fn on_readable(&mut self, igmp: &IgmpShell, now: u64, budget: usize) -> Result<bool> {
        let mut buf = [0u8; 2048];
        for _ in 0..budget {
            let Some((up, n)) = self.sock.recv_upcall(&mut buf)? else {
                return Ok(true);
            };
            if let Err(e) = forward::dispatch_upcall(&mut self.mgr, &self.sock, &up, &buf[..n], now)
            {
                log::debug!(
                    "upcall {:?} for ({}, {}) on vif {}: {e}",
                    up.kind,
                    up.source,
                    up.group,
                    up.vif
                );
            }
            self.settle(igmp, now);
        }
        Ok(false)
    }

    pub fn next_deadline(&self) -> Option<u64> {
        self.mgr.next_deadline()
    }

    pub fn on_deadline(&mut self, igmp: &IgmpShell, now: u64) {
        let sock = &self.sock;
        self.mgr.on_deadline(now, |s, g| sock.counters(s, g).ok());
        self.settle(igmp, now);
    }

    /// A managed interface is gone: IGMP and `local` give it up, which deletes every MFE using it
    /// and its VIF (the kernel has usually removed that already).
    pub fn remove_interface(&mut self, ifindex: u32, igmp: &IgmpShell, now: u64) {
        for (who, h) in [("igmp", self.igmp), ("local", self.local)] {
            if let Err(e) = self
                .mgr
                .release_interface_ownership(now, h, IfKey::new(ifindex))
            {
                log::debug!("{who} releasing ifindex {ifindex}: {e}");
            }
        }
        self.settle(igmp, now);
    }

    /// Forgets the name of a removed interface (after its last events were published).
    pub fn forget_name(&mut self, ifindex: u32) {
        self.names.remove(&ifindex);
    }

    /// Events since the last call, for `mgm events`.
    pub fn take_events(&mut self) -> Vec<MgmEvent> {
        self.mgr.take_events()
    }

    pub fn interface_name(&self, iface: &IfKey) -> String {
        self.names
            .get(&iface.ifindex)
            .cloned()
            .unwrap_or_else(|| format!("ifindex {}", iface.ifindex))
    }

    pub fn mfe_view(&self, now: u64) -> Vec<MfeView> {
        let sock = &self.sock;
        self.mgr
            .mfe_table(now)
            .into_iter()
            .map(|m: MfeInfo| {
                // Fresh kernel counters when the kernel has them.
                let c = sock.counters(m.source, m.group).ok();
                MfeView {
                    source: m.source.to_string(),
                    group: m.group.to_string(),
                    iif: self.interface_name(&m.iif),
                    oifs: m.oifs.iter().map(|o| self.interface_name(o)).collect(),
                    packets: c.map_or(m.packets, |c| c.packets),
                    bytes: c.map_or(m.bytes, |c| c.bytes),
                    wrong_if: c.map_or(m.wrong_if, |c| c.wrong_if),
                    expires_in_ms: m.expires_in_ms,
                    timeout_s: m.timeout_s,
                    up_time_ms: m.up_time_ms,
                    upstream: m.upstream.to_string(),
                    negative: m.negative,
                    protocol: m.protocol,
                }
            })
            .collect()
    }

    pub fn protocols_view(&self) -> Vec<ProtocolView> {
        self.mgr
            .protocols()
            .into_iter()
            .map(|p: ProtocolInfo| ProtocolView {
                name: p.name,
                kind: format!("{:?}", p.kind).to_lowercase(),
                protocol_id: p.protocol_id,
                component_id: p.component_id,
                interfaces: p
                    .interfaces
                    .iter()
                    .map(|i| self.interface_name(i))
                    .collect(),
            })
            .collect()
    }

    pub fn socket(&self) -> &MrouteSocket {
        &self.sock
    }

    /// Removes the MFC entries and VIFs this daemon made (nothing else), then MRT_DONE.
    pub fn shutdown(self) -> Result<()> {
        self.sock
            .close()
            .context("closing the multicast routing socket")
    }
}

/// JSON line for one manager event.
pub fn event_json(shell: &ForwardShell, e: &MgmEvent) -> String {
    serde_json::json!({
        "kind": e.kind.as_str(),
        "protocol": e.protocol,
        "interface": e.interface.as_ref().map(|i| shell.interface_name(i)),
        "source": e.source.map(|s| s.to_string()),
        "group": e.group.map(|g| g.to_string()),
        "time_ns": e.time_ns,
    })
    .to_string()
}
