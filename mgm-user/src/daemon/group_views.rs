//! `show_groups`: the groups as the routers hold them, walked a chunk at a time for the
//! control server ([`crate::control::stream`]) so that 100 000 groups never hold the loop for
//! long nor make one 20 MB answer. Rows go by interface index, then group address; a chunk
//! ends at a [`GroupCursor`] and the next one starts after it, so groups that come or go between
//! chunks are listed or not, and no group is listed twice.
use crate::control::api::groups::RESPONSE_TAIL;
use crate::control::api::{GroupFilter, GroupView, Response, SourceView};
use crate::control::stream::{rows_chunk, Chunk, Cursor, GroupCursor, Streamed};
use crate::daemon::igmp_ports::MapView;
use crate::daemon::state::Daemon;
use crate::igmp::filter::MULTICAST;
use crate::igmp::{FastPathView, FilterMode, GroupSummary, IgmpInterface, Prefix, PrefixError};
use std::net::Ipv4Addr;

/// Work in one chunk: one unit per group and per source (a few milliseconds of the loop, about
/// 750 groups of 10 sources: few enough that the loop is not held for long, enough that 100 000
/// groups do not take thousands of wake-ups).
pub(crate) const CHUNK_BUDGET: usize = 8192;

/// A [`GroupFilter`] checked against the daemon: the interface's index, the prefix.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Wanted {
    ifindex: Option<u32>,
    prefix: Option<Prefix>,
}

impl Wanted {
    fn keeps(&self, ifindex: u32, group: Ipv4Addr) -> bool {
        self.ifindex.is_none_or(|i| i == ifindex) && self.prefix.is_none_or(|p| p.contains(group))
    }
}

impl Daemon {
    /// The chunk of the answer to `show_groups` after `after` (the first, with the response's
    /// head, when `None`).
    pub(crate) fn groups_chunk(
        &self,
        id: Option<u64>,
        filter: &GroupFilter,
        after: Option<GroupCursor>,
        now: u64,
    ) -> Chunk {
        let wanted = match (self.wanted_groups(filter), after) {
            (Ok(w), _) => w,
            (Err(e), None) => {
                let text = serde_json::to_string(&Response::<()>::error(e).with_id(id));
                return Chunk {
                    text: text.unwrap_or_default() + "\n",
                    next: None,
                };
            }
            // The interface went between two chunks: the answer ends.
            (Err(_), Some(_)) => {
                return Chunk {
                    text: format!("{RESPONSE_TAIL}\n"),
                    next: None,
                }
            }
        };
        let budget = CHUNK_BUDGET;
        chunk(id, after, |each| {
            walk_groups(
                self.ports(),
                &MapView(&self.maps, true),
                &wanted,
                after,
                budget,
                now,
                each,
            )
        })
    }

    /// The chunk of a streamed answer after `after`; a cursor of another answer ends it.
    pub(crate) fn chunk(
        &mut self,
        id: Option<u64>,
        what: Streamed,
        after: Option<Cursor>,
        now: u64,
    ) -> Chunk {
        match (what, after) {
            (Streamed::Groups(f), None) => self.groups_chunk(id, &f, None, now),
            (Streamed::Groups(f), Some(Cursor::Group(c))) => {
                self.groups_chunk(id, &f, Some(c), now)
            }
            (Streamed::Mfe, None) => self.fwd.mfe_chunk(id, None, now),
            (Streamed::Mfe, Some(Cursor::Mfe(c))) => self.fwd.mfe_chunk(id, Some(c), now),
            (Streamed::Memberships(f), None) => self.memberships_chunk(id, &f, None),
            (Streamed::Memberships(f), Some(Cursor::Membership(c))) => {
                self.memberships_chunk(id, &f, Some(c))
            }
            (_, Some(_)) => Chunk {
                text: format!("{RESPONSE_TAIL}\n"),
                next: None,
            },
        }
    }

    /// The managed interfaces in index order, as the walk reads them.
    fn ports(&self) -> impl Iterator<Item = (u32, &str, &IgmpInterface)> {
        self.igmp
            .ports
            .iter()
            .map(|(i, p)| (*i, p.name.as_str(), &p.router))
    }

    /// Every group `filter` keeps, in one piece.
    pub(crate) fn groups_view(
        &self,
        filter: &GroupFilter,
        now: u64,
    ) -> Result<Vec<GroupView>, String> {
        let wanted = self.wanted_groups(filter)?;
        let mut rows = Vec::new();
        let view = MapView(&self.maps, true);
        walk_groups(
            self.ports(),
            &view,
            &wanted,
            None,
            usize::MAX,
            now,
            &mut |r| rows.push(r),
        );
        Ok(rows)
    }

    /// Reads `filter`: the interface must be managed now, the prefix hold multicast groups.
    pub(crate) fn wanted_groups(&self, filter: &GroupFilter) -> Result<Wanted, String> {
        let ifindex = match &filter.interface {
            None => None,
            Some(name) => Some(
                self.igmp
                    .ports
                    .iter()
                    .find(|(_, p)| p.name == *name)
                    .map(|(i, _)| *i)
                    .ok_or_else(|| {
                        format!(
                            "{name} is not a managed interface now (`mgm show interfaces` lists \
                             them)"
                        )
                    })?,
            ),
        };
        let prefix = match &filter.group {
            None => None,
            Some(text) => {
                let p: Prefix = text
                    .parse()
                    .map_err(|e: PrefixError| format!("bad group filter: {e}"))?;
                if !p.overlaps(&MULTICAST) {
                    return Err(format!(
                        "bad group filter: {}",
                        PrefixError::NotMulticast(p)
                    ));
                }
                Some(p)
            }
        };
        Ok(Wanted { ifindex, prefix })
    }
}

/// One chunk of the response line after `after` (the first, with the head, when `None`).
fn chunk(
    id: Option<u64>,
    after: Option<GroupCursor>,
    walk: impl FnOnce(&mut dyn FnMut(GroupView)) -> Option<GroupCursor>,
) -> Chunk {
    let (text, next) = rows_chunk(id, after.is_none(), after.is_some(), walk);
    Chunk {
        text,
        next: next.map(Cursor::Group),
    }
}

/// Hands `each` the rows `wanted` keeps after `after`, in order (`ports` in index order), until
/// `budget` units (a group and each of its sources one) are spent; returns where it stopped,
/// `None` when no row is left.
fn walk_groups<'a>(
    ports: impl Iterator<Item = (u32, &'a str, &'a IgmpInterface)>,
    view: &impl FastPathView,
    wanted: &Wanted,
    after: Option<GroupCursor>,
    budget: usize,
    now: u64,
    each: &mut dyn FnMut(GroupView),
) -> Option<GroupCursor> {
    let mut spent = 0usize;
    let first_port = after.map_or(0, |c| c.ifindex);
    for (ifindex, name, router) in ports {
        if ifindex < first_port || wanted.ifindex.is_some_and(|i| i != ifindex) {
            continue;
        }
        let from = after.filter(|c| c.ifindex == ifindex).map(|c| c.group);
        let mut groups: Vec<Ipv4Addr> = router
            .groups()
            .map(|g| g.group)
            .filter(|g| from.is_none_or(|f| *g > f) && wanted.keeps(ifindex, *g))
            .collect();
        // At most `budget` rows fit: sort only the first ones.
        let most = budget.saturating_sub(spent).max(1).min(groups.len());
        if most < groups.len() {
            groups.select_nth_unstable(most);
            groups.truncate(most);
        }
        groups.sort_unstable();
        for group in groups {
            let Some(s) = router.summary(group, now) else {
                continue;
            };
            spent = spent.saturating_add(1 + s.sources.len());
            each(group_view(view, ifindex, name, s, now));
            if spent >= budget {
                return Some(GroupCursor { ifindex, group });
            }
        }
    }
    None
}

/// One row, with expiries and last reporter brought up to date from the maps (the fast path
/// refreshes those without waking the daemon).
fn group_view(
    view: &impl FastPathView,
    ifindex: u32,
    name: &str,
    mut g: GroupSummary,
    now: u64,
) -> GroupView {
    let ms = |t: u64| t.saturating_sub(now) / 1_000_000;
    if let Some(m) = view.member(ifindex, g.group) {
        if g.filter_mode == FilterMode::Exclude {
            g.expires_ns = g.expires_ns.max(m.group_expires_ns);
        }
        if m.last_reporter != [0; 4] {
            g.last_reporter = Ipv4Addr::from(m.last_reporter);
        }
    }
    for s in &mut g.sources {
        if s.forwarding {
            if let Some(k) = view.source(ifindex, g.group, s.source) {
                s.expires_ns = s.expires_ns.max(k.expires_ns);
            }
        }
    }
    if g.filter_mode == FilterMode::Include {
        g.expires_ns = g
            .sources
            .iter()
            .map(|s| s.expires_ns)
            .max()
            .unwrap_or(g.expires_ns);
    }
    GroupView {
        interface: name.to_string(),
        ifindex,
        group: g.group.to_string(),
        filter_mode: match g.filter_mode {
            FilterMode::Include => "include".into(),
            FilterMode::Exclude => "exclude".into(),
        },
        expires_in_ms: ms(g.expires_ns),
        compat_version: g.compat_version,
        last_reporter: (!g.last_reporter.is_unspecified()).then(|| g.last_reporter.to_string()),
        sources: g
            .sources
            .iter()
            .map(|s| SourceView {
                source: s.source.to_string(),
                forwarding: s.forwarding,
                expires_in_ms: ms(s.expires_ns),
            })
            .collect(),
        hosts: g.hosts.map(|h| h.iter().map(|a| a.to_string()).collect()),
    }
}

#[cfg(test)]
#[path = "group_views_tests.rs"]
mod tests;
