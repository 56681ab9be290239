//! Reading the membership records for a handler: filtered (`get_memberships`, in chunks) and
//! paged walks (`get_first_membership`, `get_next_membership`), over the manager's records
//! named with the daemon's interface names (the walk itself: `daemon/membership_walk.rs`).
use crate::control::api::handler::{
    MembershipFilter, MembershipKey, MembershipView, Page, DEFAULT_PAGE, MAX_PAGE,
};
use crate::control::api::Reply;
use crate::control::stream::{Chunk, MembershipCursor};
use crate::daemon::membership_walk;
use crate::daemon::state::Daemon;

impl Daemon {
    /// The membership records matching `f`, in walk order, in one piece.
    pub(super) fn memberships(&mut self, f: &MembershipFilter) -> Vec<MembershipView> {
        let (m, names) = self.fwd.manager_and_names();
        membership_walk::walk(m, &|i| names.name(i), None, usize::MAX, usize::MAX, f).rows
    }

    /// One page of the membership walk: the `max` records that follow `after` in walk order.
    pub(super) fn membership_page(
        &mut self,
        after: Option<MembershipKey>,
        max: Option<usize>,
    ) -> Reply {
        let every = MembershipFilter::default();
        let (m, names) = self.fwd.manager_and_names();
        // Unfiltered: every record visited is listed (but the cursor's (S,G)'s first ones),
        // so the page needs no bound on visits.
        let walked = membership_walk::walk(
            m,
            &|i| names.name(i),
            after.as_ref(),
            page(max),
            usize::MAX,
            &every,
        );
        Reply::MembershipPage(Page {
            more: walked.next.is_some(),
            entries: walked.rows,
        })
    }

    /// The chunk of the answer to `get_memberships` after `after` (the first, with the
    /// response's head, when `None`).
    pub(crate) fn memberships_chunk(
        &mut self,
        id: Option<u64>,
        f: &MembershipFilter,
        after: Option<MembershipCursor>,
    ) -> Chunk {
        let (m, names) = self.fwd.manager_and_names();
        membership_walk::chunk(m, &|i| names.name(i), id, f, after.as_ref()).0
    }
}

/// A page size: [`DEFAULT_PAGE`] when absent, at most [`MAX_PAGE`].
pub(super) fn page(max: Option<usize>) -> usize {
    max.unwrap_or(DEFAULT_PAGE).clamp(1, MAX_PAGE)
}
