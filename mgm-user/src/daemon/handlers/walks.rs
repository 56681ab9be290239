//! Reading the membership records for a handler: filtered (`get_memberships`) and paged walks
//! (`get_first_membership`, `get_next_membership`), in one order: group, source (wildcards
//! first), interface name, protocol name.
use crate::control::api::handler::{
    MembershipFilter, MembershipKey, MembershipView, Page, DEFAULT_PAGE, MAX_PAGE,
};
use crate::control::api::Reply;
use crate::daemon::state::Daemon;
use crate::manager::{IfKey, MembershipInfo};
use std::collections::{BinaryHeap, HashMap};
use std::net::Ipv4Addr;

impl Daemon {
    /// The membership records matching `f`, in walk order: group, source (wildcards first),
    /// interface name, protocol name.
    pub(super) fn memberships(&mut self, f: &MembershipFilter) -> Vec<MembershipView> {
        let all = self.fwd.manager().memberships();
        let mut v: Vec<MembershipView> = all
            .into_iter()
            .map(|m| self.membership_view(m))
            .filter(|m| {
                f.interface.as_ref().is_none_or(|i| *i == m.interface)
                    && f.source.is_none_or(|s| Some(s) == m.source)
                    && f.group.is_none_or(|g| Some(g) == m.group)
                    && f.protocol.as_ref().is_none_or(|p| *p == m.protocol)
            })
            .collect();
        v.sort_by(|a, b| walk_key(a).cmp(&walk_key(b)));
        v
    }

    fn membership_view(&self, m: MembershipInfo) -> MembershipView {
        MembershipView {
            source: m.sg.source,
            group: m.sg.group,
            interface: self.fwd.interface_name(&m.interface),
            protocol: m.protocol,
            effective: m.effective,
        }
    }

    /// One page of the membership walk: the `max` records that follow `after` in walk order.
    /// Stateless (the key of the last record is the cursor) and O(records × log page) per
    /// page: the records are visited borrowed and only the page's are kept (a bounded
    /// max-heap), so a whole walk of a large table stays far from sorting everything per page.
    pub(super) fn membership_page(
        &mut self,
        after: Option<MembershipKey>,
        max: Option<usize>,
    ) -> Reply {
        let n = page(max);
        let names = self.interface_names();
        let after = after
            .as_ref()
            .map(|k| (k.group, k.source, k.interface.as_str(), k.protocol.as_str()));
        let mut kept: BinaryHeap<(WalkKey<'_>, bool)> = BinaryHeap::with_capacity(n + 1);
        let mut following = 0usize;
        for (sg, iface, protocol, effective) in self.fwd.manager().membership_records() {
            let interface = names.get(&iface.ifindex).map_or("", String::as_str);
            let key = (sg.group, sg.source, interface, protocol);
            if after.is_some_and(|a| key <= a) {
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
        Reply::MembershipPage(Page {
            more: following > entries.len(),
            entries,
        })
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

/// A record's place in membership walks: group, source, interface name, protocol name.
type WalkKey<'a> = (Option<Ipv4Addr>, Option<Ipv4Addr>, &'a str, &'a str);

/// The order of membership walks.
fn walk_key(m: &MembershipView) -> WalkKey<'_> {
    (m.group, m.source, m.interface.as_str(), m.protocol.as_str())
}

/// A page size: [`DEFAULT_PAGE`] when absent, at most [`MAX_PAGE`].
pub(super) fn page(max: Option<usize>) -> usize {
    max.unwrap_or(DEFAULT_PAGE).clamp(1, MAX_PAGE)
}
