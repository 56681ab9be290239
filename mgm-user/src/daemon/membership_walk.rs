//! The membership records as handlers read them (`get_memberships`, written in chunks, and the
//! pages of `get_first_membership` / `get_next_membership`), in one order: group, source
//! (wildcards first), interface name, next hop (none first), protocol name. Pure: the manager
//! and a source of interface names in, named rows out; the daemon's handlers call it
//! (`handlers/walks.rs`).
//!
//! A walk is stateless: it goes on after a record's key ([`MembershipKey`]). The manager's
//! ordered view (`manager/walk_order.rs`) starts at the key's (S,G) in O(log n); each (S,G)'s
//! few records are named (each name looked up once per walk), checked against the filter on
//! borrowed names, and only the kept ones sorted and copied into rows. A filter on the group
//! narrows the view to that group's (S,G)s; one on the interface, source or protocol does not,
//! so a chunk also stops once it has visited [`CHUNK_VISITS`] records (at the end of an (S,G)):
//! it then lists fewer records than [`MEMBERSHIP_CHUNK`], or none, and the next chunk goes on
//! after the last record visited. A chunk costs what it visits, never the table.
use crate::control::api::handler::{MembershipFilter, MembershipKey, MembershipView};
use crate::control::stream::{rows_chunk, Chunk, Cursor, MembershipCursor};
use crate::manager::{IfKey, Manager, ProtocolHandle, Sg, WalkSg};
use std::collections::HashMap;
use std::hash::Hash;
use std::net::Ipv4Addr;
use std::ops::Bound;

/// Records listed in one chunk of `get_memberships`, at most.
pub const MEMBERSHIP_CHUNK: usize = 4096;

/// Records visited (read from the manager, listed or not) in one chunk of `get_memberships`,
/// at most, plus the rest of the (S,G) the bound falls in.
pub const CHUNK_VISITS: usize = 4 * MEMBERSHIP_CHUNK;

/// The least records a walk takes from the manager at a time.
const BATCH: usize = 256;

/// One piece of a walk.
#[derive(Debug)]
pub struct Walked {
    /// The records listed, in walk order.
    pub rows: Vec<MembershipView>,
    /// The key the walk goes on after: the last record listed when the piece is full, the
    /// last one visited when it stopped on its visits; `None` when no record follows.
    pub next: Option<MembershipKey>,
    /// Records visited (read from the manager), listed or not.
    pub visited: usize,
}

/// A manager's record, as its walk reads it.
type Record = (Sg, IfKey, ProtocolHandle, bool);

/// A record's place in walks: group, source, interface name, next hop, protocol name.
type WalkKey<'a> = (
    Option<Ipv4Addr>,
    Option<Ipv4Addr>,
    &'a str,
    Option<Ipv4Addr>,
    &'a str,
);

/// At most `most` of the records `f` keeps after `after` in walk order, visiting at most
/// `visits` records (and the rest of the last (S,G) visited). `interface_name` names an
/// ifindex.
pub fn walk(
    m: &mut Manager,
    interface_name: &dyn Fn(u32) -> String,
    after: Option<&MembershipKey>,
    most: usize,
    visits: usize,
    f: &MembershipFilter,
) -> Walked {
    let most = most.max(1);
    let after = after.map(|k| {
        (
            k.group,
            k.source,
            k.interface.as_str(),
            k.next_hop.filter(|h| !h.is_unspecified()),
            k.protocol.as_str(),
        )
    });
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
    let mut interfaces: HashMap<u32, String> = HashMap::new();
    let mut protocols: HashMap<ProtocolHandle, String> = HashMap::new();
    let mut rows: Vec<MembershipView> = Vec::new();
    let mut visited = 0usize;
    loop {
        let want = (most.saturating_add(1) - rows.len())
            .max(BATCH)
            .min(visits.saturating_sub(visited))
            .max(1);
        let records = batch(m, from, want, only);
        let Some(&(last, ..)) = records.last() else {
            return Walked {
                rows,
                next: None,
                visited,
            };
        };
        visited += records.len();
        from = Bound::Excluded((last.group, last.source));
        // The names of this batch's interfaces and protocols, each looked up once per walk.
        let view = m.view(0); // the view's clock plays no part in a name
        for &(_, iface, h, _) in &records {
            named(&mut interfaces, iface.ifindex, || {
                interface_name(iface.ifindex)
            });
            named(&mut protocols, h, || {
                view.protocol_name(h).unwrap_or_default().to_string()
            });
        }
        let place = |&(sg, iface, h, effective): &Record| {
            let key: WalkKey<'_> = (
                sg.group,
                sg.source,
                interfaces.get(&iface.ifindex).map_or("", String::as_str),
                next_hop(iface),
                protocols.get(&h).map_or("", String::as_str),
            );
            (key, effective)
        };
        for sg_records in records.chunk_by(|a, b| a.0 == b.0) {
            let mut kept: Vec<(WalkKey<'_>, bool)> = sg_records
                .iter()
                .map(place)
                .filter(|(k, _)| after.is_none_or(|a| *k > a) && keeps(f, *k))
                .collect();
            kept.sort_unstable_by(|a, b| a.0.cmp(&b.0));
            rows.extend(kept.into_iter().map(|(k, effective)| row(k, effective)));
            if rows.len() > most {
                rows.truncate(most);
                let next = rows.last().map(MembershipView::key);
                return Walked {
                    rows,
                    next,
                    visited,
                };
            }
        }
        // Fewer than asked: the view (or the group) ended.
        if records.len() < want {
            return Walked {
                rows,
                next: None,
                visited,
            };
        }
        if visited >= visits {
            // On after the last record visited: the last of the batch's last (S,G).
            let next = records
                .iter()
                .rev()
                .take_while(|r| r.0 == last)
                .map(place)
                .map(|(k, _)| k)
                .max()
                .map(|k| row(k, false).key());
            return Walked {
                rows,
                next,
                visited,
            };
        }
    }
}

/// The chunk of the answer to `get_memberships` after `after` (the first, with the response's
/// head, when `None`): at most [`MEMBERSHIP_CHUNK`] records listed, [`CHUNK_VISITS`] visited.
/// Also the records visited.
pub fn chunk(
    m: &mut Manager,
    interface_name: &dyn Fn(u32) -> String,
    id: Option<u64>,
    f: &MembershipFilter,
    after: Option<&MembershipCursor>,
) -> (Chunk, usize) {
    let listed = after.is_some_and(|c| c.listed);
    let walked = walk(
        m,
        interface_name,
        after.map(|c| &c.after),
        MEMBERSHIP_CHUNK,
        CHUNK_VISITS,
        f,
    );
    let listed_now = listed || !walked.rows.is_empty();
    let Walked {
        rows,
        next,
        visited,
    } = walked;
    let (text, next) = rows_chunk(id, after.is_none(), listed, |each| {
        rows.into_iter().for_each(each);
        next
    });
    let next = next.map(|after| {
        Cursor::Membership(MembershipCursor {
            after,
            listed: listed_now,
        })
    });
    (Chunk { text, next }, visited)
}

/// The records of the (S,G)s from `from` on, whole (S,G)s until at least `want` records
/// (of group `only` alone, if given).
fn batch(
    m: &mut Manager,
    from: Bound<WalkSg>,
    want: usize,
    only: Option<Option<Ipv4Addr>>,
) -> Vec<Record> {
    let mut records: Vec<Record> = Vec::new();
    for r in m.ordered_membership_records(from) {
        if only.is_some_and(|g| g != r.0.group) {
            break;
        }
        if records.len() >= want && records.last().is_some_and(|l| l.0 != r.0) {
            break;
        }
        records.push(r);
    }
    records
}

/// The name cached under `k`, made by `make` the first time.
fn named<K: Hash + Eq>(cache: &mut HashMap<K, String>, k: K, make: impl FnOnce() -> String) {
    cache.entry(k).or_insert_with(make);
}

/// An interface key's next hop; `None` on broadcast and point-to-point interfaces.
fn next_hop(iface: IfKey) -> Option<Ipv4Addr> {
    Some(iface.next_hop).filter(|h| !h.is_unspecified())
}

/// The row of a record at `key`.
fn row(
    (group, source, interface, next_hop, protocol): WalkKey<'_>,
    effective: bool,
) -> MembershipView {
    MembershipView {
        source,
        group,
        interface: interface.to_string(),
        next_hop,
        protocol: protocol.to_string(),
        effective,
    }
}

/// Whether `from` starts the walk before `sg`.
fn bound_below(from: &Bound<WalkSg>, sg: WalkSg) -> bool {
    match from {
        Bound::Unbounded => true,
        Bound::Included(b) | Bound::Excluded(b) => *b < sg,
    }
}

/// Whether `f` keeps the record at `key` (each key given must match).
fn keeps(f: &MembershipFilter, (group, source, interface, _, protocol): WalkKey<'_>) -> bool {
    f.interface.as_deref().is_none_or(|i| i == interface)
        && f.source.is_none_or(|s| Some(s) == source)
        && f.group.is_none_or(|g| Some(g) == group)
        && f.protocol.as_deref().is_none_or(|p| p == protocol)
}

#[cfg(test)]
#[path = "membership_walk_tests.rs"]
mod tests;
