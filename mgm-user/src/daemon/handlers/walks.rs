//! Reading the membership records for a handler: filtered (`get_memberships`) and paged walks
//! (`get_first_membership`, `get_next_membership`), in one order: group, source (wildcards
//! first), interface name, protocol name.
use crate::control::api::handler::{
    MembershipFilter, MembershipKey, MembershipView, Page, DEFAULT_PAGE, MAX_PAGE,
};
use crate::control::api::Reply;
use crate::control::stream::{rows_chunk, Chunk, Cursor};
use crate::daemon::state::Daemon;
use crate::manager::IfKey;
use std::collections::{BinaryHeap, HashMap};
use std::net::Ipv4Addr;

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
    /// more follow. Stateless (the key of the last record is the cursor) and O(records × log n):
    /// the records are visited borrowed and only the `n` first are kept (a bounded max-heap),
    /// so a whole walk of a large table stays far from sorting everything per page.
    fn membership_walk(
        &mut self,
        after: Option<&MembershipKey>,
        n: usize,
        f: &MembershipFilter,
    ) -> (Vec<MembershipView>, bool) {
        let n = n.max(1);
        let names = self.interface_names();
        let after = after.map(|k| (k.group, k.source, k.interface.as_str(), k.protocol.as_str()));
        let mut kept: BinaryHeap<(WalkKey<'_>, bool)> =
            BinaryHeap::with_capacity(n.min(MEMBERSHIP_CHUNK) + 1);
        let mut following = 0usize;
        for (sg, iface, protocol, effective) in self.fwd.manager().membership_records() {
            let interface = names.get(&iface.ifindex).map_or("", String::as_str);
            let key = (sg.group, sg.source, interface, protocol);
            if after.is_some_and(|a| key <= a) || !keeps(f, key) {
                continue;
            }
            following += 1;
            kept.push((key, effective));
            if kept.len() > n {
                kept.pop();
            }
        }
        let entries: Vec<MembershipView> = kept
            .into_sorted_vec()
            .into_iter()
            .map(
                |((group, source, interface, protocol), effective)| MembershipView {
                    source,
                    group,
                    interface: interface.to_string(),
                    protocol: protocol.to_string(),
                    effective,
                },
            )
            .collect();
        (entries, following > n)
    }

    /// The names of the interfaces that hold membership records, by ifindex.
    fn interface_names(&mut self) -> HashMap<u32, String> {
        let mut names: HashMap<u32, String> = HashMap::new();
        for (_, iface, _, _) in self.fwd.manager().membership_records() {
            names.entry(iface.ifindex).or_default();
        }
        for (ifindex, name) in names.iter_mut() {
            *name = self.fwd.interface_name(&IfKey::new(*ifindex));
        }
        names
    }
}

/// Records in one chunk of `get_memberships` (each chunk also visits every record once,
/// borrowed, to find them).
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
