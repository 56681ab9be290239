//! Reading the membership records for a handler: filtered (`get_memberships`) and paged walks
//! (`get_first_membership`, `get_next_membership`), in one order: group, source (wildcards
//! first), interface name, protocol name.
use crate::control::api::handler::{
    MembershipFilter, MembershipKey, MembershipView, Page, DEFAULT_PAGE, MAX_PAGE,
};
use crate::control::api::Reply;
use crate::control::stream::{rows_chunk, Chunk, Cursor};
use crate::daemon::state::Daemon;
use crate::manager::{IfKey, ProtocolHandle, Sg, WalkSg};
use std::collections::HashMap;
use std::net::Ipv4Addr;
use std::ops::Bound;

impl Daemon {
    /// The membership records matching `f`, in walk order: group, source (wildcards first),
    /// interface name, protocol name.
    pub(super) fn memberships(&mut self, f: &MembershipFilter) -> Vec<MembershipView> {
        self.membership_walk(None, usize::MAX, f).0
    }

    /// One page of the membership walk: the `max` records that follow `after` in walk order.
    pub(super) fn membership_page(
        &mut self,
        after: Option<MembershipKey>,
        max: Option<usize>,
    ) -> Reply {
        let every = MembershipFilter::default();
        let (entries, more) = self.membership_walk(after.as_ref(), page(max), &every);
        Reply::MembershipPage(Page { entries, more })
    }

    /// The chunk of the answer to `get_memberships` after `after` (the first, with the
    /// response's head, when `None`): [`MEMBERSHIP_CHUNK`] records at most.
    pub(crate) fn memberships_chunk(
        &mut self,
        id: Option<u64>,
        f: &MembershipFilter,
        after: Option<MembershipKey>,
    ) -> Chunk {
        let first = after.is_none();
        let (rows, more) = self.membership_walk(after.as_ref(), MEMBERSHIP_CHUNK, f);
        let last = rows.last().map(|m| MembershipKey {
            source: m.source,
            group: m.group,
            interface: m.interface.clone(),
            protocol: m.protocol.clone(),
        });
        let (text, next) = rows_chunk(id, first, |each| {
            rows.into_iter().for_each(each);
            last.filter(|_| more)
        });
        Chunk {
            text,
            next: next.map(Cursor::Membership),
        }
    }

    /// At most `n` of the records matching `f` that follow `after` in walk order, and whether
    /// more follow. Stateless (the key of the last record is the cursor); the manager's
    /// ordered view (group, source) starts at the cursor's (S,G) in O(log N), and each (S,G)'s
    /// few records are sorted by interface and protocol name here: a piece costs the records
    /// it visits, not the table.
    fn membership_walk(
        &mut self,
        after: Option<&MembershipKey>,
        n: usize,
        f: &MembershipFilter,
    ) -> (Vec<MembershipView>, bool) {
        let n = n.max(1);
        let after = after.map(|k| (k.group, k.source, k.interface.as_str(), k.protocol.as_str()));
        let mut from = match after {
            Some((g, s, ..)) => Bound::Included((g, s)),
            None => Bound::Unbounded,
        };
        // A group given: its (S,G)s alone, from the first.
        let only = f.group.map(Some);
        if let Some(g) = only {
            if bound_below(&from, (g, None)) {
                from = Bound::Included((g, None));
            }
        }
        let mut names = Names::default();
        let mut out: Vec<MembershipView> = Vec::new();
        loop {
            let batch = self.membership_batch(from, n.saturating_add(1) - out.len(), only);
            let Some(&(last, ..)) = batch.last() else {
                return (out, false);
            };
            from = Bound::Excluded((last.group, last.source));
            for records in batch.chunk_by(|a, b| a.0 == b.0) {
                let mut rows = names.rows(self, records);
                rows.sort_unstable_by(|a, b| {
                    (&a.interface, &a.protocol).cmp(&(&b.interface, &b.protocol))
                });
                for r in rows {
                    let key = (r.group, r.source, r.interface.as_str(), r.protocol.as_str());
                    if after.is_none_or(|a| key > a) && keeps(f, key) {
                        out.push(r);
                    }
                }
                if out.len() > n {
                    out.truncate(n);
                    return (out, true);
                }
            }
        }
    }

    /// The records of the (S,G)s from `from` on, whole (S,G)s until at least `want` records
    /// (of group `only` alone, if given).
    fn membership_batch(
        &mut self,
        from: Bound<WalkSg>,
        want: usize,
        only: Option<Option<Ipv4Addr>>,
    ) -> Vec<(Sg, IfKey, ProtocolHandle, bool)> {
        let mut batch: Vec<(Sg, IfKey, ProtocolHandle, bool)> = Vec::new();
        for r in self.fwd.manager().ordered_membership_records(from) {
            if only.is_some_and(|g| g != r.0.group) {
                break;
            }
            if batch.len() >= want.max(BATCH) && batch.last().is_some_and(|l| l.0 != r.0) {
                break;
            }
            batch.push(r);
        }
        batch
    }
}

/// The least records a walk takes from the manager at a time.
const BATCH: usize = 256;

/// Interface and protocol names, looked up once per walk.
#[derive(Default)]
struct Names {
    interfaces: HashMap<u32, String>,
    protocols: HashMap<ProtocolHandle, String>,
}

impl Names {
    /// The rows of one (S,G)'s records.
    fn rows(
        &mut self,
        d: &mut Daemon,
        records: &[(Sg, IfKey, ProtocolHandle, bool)],
    ) -> Vec<MembershipView> {
        records
            .iter()
            .map(|&(sg, iface, h, effective)| MembershipView {
                source: sg.source,
                group: sg.group,
                interface: self
                    .interfaces
                    .entry(iface.ifindex)
                    .or_insert_with(|| d.fwd.interface_name(&iface))
                    .clone(),
                protocol: self
                    .protocols
                    .entry(h)
                    .or_insert_with(|| {
                        // The view's clock plays no part in a name.
                        let view = d.fwd.manager().view(0);
                        view.protocol_name(h).unwrap_or_default().to_string()
                    })
                    .clone(),
                effective,
            })
            .collect()
    }
}

/// Whether `from` starts the walk before `sg`.
fn bound_below(from: &Bound<WalkSg>, sg: WalkSg) -> bool {
    match from {
        Bound::Unbounded => true,
        Bound::Included(b) | Bound::Excluded(b) => *b < sg,
    }
}

/// Records in one chunk of `get_memberships`.
pub(crate) const MEMBERSHIP_CHUNK: usize = 4096;

/// A record's place in membership walks: group, source, interface name, protocol name.
type WalkKey<'a> = (Option<Ipv4Addr>, Option<Ipv4Addr>, &'a str, &'a str);

/// Whether `f` keeps the record at `key` (each key given must match).
fn keeps(f: &MembershipFilter, (group, source, interface, protocol): WalkKey<'_>) -> bool {
    f.interface.as_deref().is_none_or(|i| i == interface)
        && f.source.is_none_or(|s| Some(s) == source)
        && f.group.is_none_or(|g| Some(g) == group)
        && f.protocol.as_deref().is_none_or(|p| p == protocol)
}

/// A page size: [`DEFAULT_PAGE`] when absent, at most [`MAX_PAGE`].
pub(super) fn page(max: Option<usize>) -> usize {
    max.unwrap_or(DEFAULT_PAGE).clamp(1, MAX_PAGE)
}
