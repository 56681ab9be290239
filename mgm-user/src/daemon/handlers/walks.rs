//! Reading the membership records for a handler: filtered (`get_memberships`) and paged walks
//! (`get_first_membership`, `get_next_membership`), in one order: group, source (wildcards
//! first), interface name, protocol name.
use crate::control::api::handler::{
    MembershipFilter, MembershipKey, MembershipView, Page, DEFAULT_PAGE, MAX_PAGE,
};
use crate::control::api::Reply;
use crate::daemon::state::Daemon;
use crate::manager::MembershipInfo;
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

    pub(super) fn membership_page(
        &mut self,
        after: Option<MembershipKey>,
        max: Option<usize>,
    ) -> Reply {
        let all = self.memberships(&MembershipFilter::default());
        let start = match &after {
            None => 0,
            Some(k) => {
                let after = (k.group, k.source, k.interface.as_str(), k.protocol.as_str());
                all.iter()
                    .position(|m| walk_key(m) > after)
                    .unwrap_or(all.len())
            }
        };
        let n = page(max);
        let entries: Vec<_> = all.iter().skip(start).take(n).cloned().collect();
        Reply::MembershipPage(Page {
            more: start + entries.len() < all.len(),
            entries,
        })
    }
}

/// The order of membership walks.
fn walk_key(m: &MembershipView) -> (Option<Ipv4Addr>, Option<Ipv4Addr>, &str, &str) {
    (m.group, m.source, m.interface.as_str(), m.protocol.as_str())
}

/// A page size: [`DEFAULT_PAGE`] when absent, at most [`MAX_PAGE`].
pub(super) fn page(max: Option<usize>) -> usize {
    max.unwrap_or(DEFAULT_PAGE).clamp(1, MAX_PAGE)
}
