//! Feeds classifier events to the IGMP router and applies its actions to the maps and the wire.
use super::preflight::ManagedInterface;
use crate::bpf::KernelMaps;
use crate::cli::RunArgs;
use crate::control::views::{GroupView, InterfaceView};
use anyhow::Result;
use mgm_common::IgmpEvent;
use std::net::Ipv4Addr;
use tokio::sync::broadcast;

pub struct IgmpShell {
    interfaces: Vec<ManagedInterface>,
}

impl IgmpShell {
    pub fn new(
        _args: &RunArgs,
        interfaces: &[ManagedInterface],
        maps: &mut KernelMaps,
        _now: u64,
    ) -> Result<Self> {
        for i in interfaces {
            let settings = mgm_common::IfaceSettings {
                group_membership_interval_ns: 260_000_000_000,
                older_host_present_interval_ns: 260_000_000_000,
                enabled: 1,
                _pad: [0; 7],
            };
            maps.ifaces.insert(i.ifindex, settings, 0)?;
        }
        Ok(Self {
            interfaces: interfaces.to_vec(),
        })
    }

    pub fn on_event(
        &mut self,
        ev: &IgmpEvent,
        _maps: &mut KernelMaps,
        _events: &broadcast::Sender<String>,
    ) -> Result<()> {
        log::info!(
            "IGMP from {} on ifindex {} ({} bytes, reason {})",
            Ipv4Addr::from(ev.src_addr),
            ev.ifindex,
            ev.igmp_len,
            ev.reason
        );
        Ok(())
    }

    pub fn on_deadline(
        &mut self,
        _now: u64,
        _maps: &mut KernelMaps,
        _events: &broadcast::Sender<String>,
    ) -> Result<()> {
        Ok(())
    }

    pub fn next_deadline(&self) -> Option<u64> {
        None
    }

    pub fn interfaces_view(&self, _now: u64) -> Vec<InterfaceView> {
        Vec::new()
    }

    pub fn groups_view(&self, _now: u64) -> Vec<GroupView> {
        Vec::new()
    }

    /// Stops using the interfaces: the classifier no longer handles them.
    pub fn shutdown(&mut self, maps: &mut KernelMaps) -> Result<()> {
        for i in &self.interfaces {
            let _ = maps.ifaces.remove(&i.ifindex);
        }
        Ok(())
    }
}
