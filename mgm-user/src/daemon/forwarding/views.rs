//! The forwarding shell's `mgm show mfe` and `mgm show protocols` rows. `show_mfe` is walked
//! a chunk at a time for the control server ([`crate::control::stream`]), as `show_groups` is:
//! at the MFE bound (16 384 by default) the whole answer would hold the loop for one long
//! turn and make one large buffer. Entries go in the manager's table order (group, then
//! source); a chunk ends at an [`MfeCursor`] and the next starts after it, so an entry added
//! or deleted between chunks is listed or not, and no other is skipped or listed twice.
use super::Forwarding;
use crate::control::api::{MfeView, ProtocolView};
use crate::control::stream::{rows_chunk, Chunk, Cursor, MfeCursor};
use crate::manager::{Manager, MfeInfo, ProtocolInfo};
use serde::Serialize;

/// Entries in one chunk of `show_mfe`: each row reads the kernel's counters (one ioctl), so
/// about a millisecond of the loop; 16 chunks make the default bound's table.
pub(crate) const MFE_CHUNK_ROWS: usize = 1024;

impl Forwarding {
    /// The chunk of the answer to `show_mfe` after `after` (the first, with the response's
    /// head, when `None`).
    pub(crate) fn mfe_chunk(&self, id: Option<u64>, after: Option<MfeCursor>, now: u64) -> Chunk {
        mfe_chunk(&self.mgr, id, after, MFE_CHUNK_ROWS, now, |infos| {
            self.mfe_views(infos)
        })
    }

    /// Every MFE in one piece (the server streams `show_mfe` instead: [`Self::mfe_chunk`]).
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

/// One chunk of `show_mfe`: at most `rows` entries of `mgr`'s table after `after`, made rows by
/// `view` (the kernel's counters read in).
pub(crate) fn mfe_chunk<R: Serialize>(
    mgr: &Manager,
    id: Option<u64>,
    after: Option<MfeCursor>,
    rows: usize,
    now: u64,
    view: impl FnOnce(Vec<MfeInfo>) -> Vec<R>,
) -> Chunk {
    let rows = rows.max(1);
    let (text, next) = rows_chunk(id, after.is_none(), after.is_some(), |each| {
        let (infos, more) = match after {
            None => mgr.mfe_first(now, rows),
            Some(c) => mgr.mfe_next(now, c.source, c.group, rows),
        };
        let last = infos.last().map(|m| MfeCursor {
            group: m.group,
            source: m.source,
        });
        view(infos).into_iter().for_each(each);
        last.filter(|_| more)
    });
    Chunk {
        text,
        next: next.map(Cursor::Mfe),
    }
}

#[cfg(test)]
#[path = "views_tests.rs"]
mod tests;
