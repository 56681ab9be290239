//! The forwarding shell's `mgm show mfe` and `mgm show protocols` rows.
use super::Forwarding;
use crate::control::api::{MfeView, ProtocolView};
use crate::manager::{MfeInfo, ProtocolInfo};

impl Forwarding {
    pub(crate) fn mfe_view(&self, now: u64) -> Vec<MfeView> {
        self.mfe_views(self.mgr.mfe_table(now))
    }

    /// MFEs as `mgm show mfe` rows, with fresh kernel counters.
    pub(crate) fn mfe_views(&self, infos: Vec<MfeInfo>) -> Vec<MfeView> {
        let sock = &self.sock;
        infos
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

    pub(crate) fn protocols_view(&self) -> Vec<ProtocolView> {
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
}
