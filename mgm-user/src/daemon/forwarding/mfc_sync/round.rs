//! One reconcile round, pure: from the dump's start to its last repair. The (S,G)s mgm changes
//! in the kernel meanwhile are "touched": the dump may have read them before or after the
//! change, so the round leaves them alone (the next round sees them settled). The comparison
//! and the repairs go a bounded number per turn of the loop: the kernel's entries come sorted
//! by (group, source) from the dump thread, and each turn compares the next
//! [`COMPARES_PER_TURN`] of them with mgm's entries of the same key range, read from the
//! manager's ordered table as they are at that turn.
use super::{compare, Repair};
use crate::manager::ForwarderAction;
use crate::sys::mfc_dump::KernelMfc;
use std::collections::{HashSet, VecDeque};
use std::net::Ipv4Addr;

/// Repairs made in one turn of the loop (each an `MRT_ADD_MFC` or `MRT_DEL_MFC`, a few
/// microseconds); the rest wait for the next turn, after the other inputs.
pub(crate) const REPAIRS_PER_TURN: usize = 256;

/// Entries compared in one turn of the loop, on each side (a merge step and a copy each,
/// well under a microsecond): 100 000 entries take 25 turns.
pub const COMPARES_PER_TURN: usize = 4096;

/// An (S,G).
type Key = (Ipv4Addr, Ipv4Addr);

/// An entry's place in the comparison: (group, source), the manager's table order.
pub(crate) type Place = (Ipv4Addr, Ipv4Addr);

/// An entry's place.
pub(crate) fn place(m: &KernelMfc) -> Place {
    (m.group, m.source)
}

/// The comparison under way: the kernel's entries sorted by place, the first not compared
/// yet, and the place compared up to (`None`: the start).
#[derive(Debug)]
struct Comparing {
    kernel: Vec<KernelMfc>,
    next: usize,
    upto: Option<Place>,
}

#[derive(Debug, Default)]
pub struct Round {
    /// The (S,G)s mgm changed in the kernel since the dump began.
    touched: HashSet<Key>,
    /// The repairs left, once the dump is in (`None`: it is being read), and since when.
    repairs: Option<(VecDeque<Repair>, u64)>,
    /// The comparison, while under way.
    comparing: Option<Comparing>,
}

impl Round {
    /// A round whose dump is being read.
    pub fn dumping() -> Self {
        Round::default()
    }

    pub(crate) fn is_dumping(&self) -> bool {
        self.repairs.is_none()
    }

    /// mgm changed these entries in the kernel.
    pub(crate) fn touch(&mut self, actions: &[ForwarderAction]) {
        for a in actions {
            match a {
                ForwarderAction::SetMfe { source, group, .. }
                | ForwarderAction::DelMfe { source, group, .. } => {
                    self.touched.insert((*source, *group));
                }
                _ => {}
            }
        }
    }

    /// The dump is in at `now`: `kernel`, sorted by [`place`]. The comparison starts.
    pub fn dumped(&mut self, kernel: Vec<KernelMfc>, now: u64) {
        debug_assert!(kernel.is_sorted_by_key(place), "the dump thread sorts it");
        self.repairs = Some((VecDeque::new(), now));
        self.comparing = Some(Comparing {
            kernel,
            next: 0,
            upto: None,
        });
    }

    /// This turn's part of the comparison: at most `budget` entries of each side. `mgm`
    /// gives mgm's entries after a place (`None`: from the start), in place order, at most
    /// the number asked. The repairs found, none of a touched (S,G), join those left.
    pub fn compare_turn(
        &mut self,
        budget: usize,
        mgm: impl FnOnce(Option<Place>, usize) -> Vec<KernelMfc>,
    ) {
        let (Some(c), Some((left, _))) = (&mut self.comparing, &mut self.repairs) else {
            return;
        };
        let budget = budget.max(1);
        let ours = mgm(c.upto, budget);
        let theirs = &c.kernel[c.next..(c.next + budget).min(c.kernel.len())];
        // Up to where both sides are read whole: the nearer of their last places, unless a
        // side ended.
        let ours_end = (ours.len() < budget).then_some(None);
        let theirs_end = (c.next + theirs.len() == c.kernel.len()).then_some(None);
        let upto = [
            ours_end.unwrap_or(ours.last().map(place)),
            theirs_end.unwrap_or(theirs.last().map(place)),
        ]
        .into_iter()
        .flatten()
        .min();
        let within = |m: &&KernelMfc| upto.is_none_or(|u| place(m) <= u);
        let ours: Vec<KernelMfc> = ours.iter().filter(within).cloned().collect();
        let theirs: Vec<KernelMfc> = theirs.iter().filter(within).cloned().collect();
        c.next += theirs.len();
        c.upto = upto;
        left.extend(
            compare(&ours, &theirs)
                .into_iter()
                .filter(|r| !self.touched.contains(&key(r))),
        );
        if upto.is_none() {
            self.comparing = None;
        }
    }

    /// The repairs of this turn: at most `budget` taken, those of an (S,G) touched since the
    /// comparison left out.
    pub(crate) fn next_repairs(&mut self, budget: usize) -> Vec<Repair> {
        let Some((left, _)) = &mut self.repairs else {
            return Vec::new();
        };
        let n = budget.min(left.len());
        left.drain(..n)
            .filter(|r| !self.touched.contains(&key(r)))
            .collect()
    }

    /// When the comparison's next turn or the repairs left are due (at once, from the dump's
    /// arrival); `None` while dumping or when nothing is left.
    pub(crate) fn repairs_due(&self) -> Option<u64> {
        self.repairs.as_ref().and_then(|(left, since)| {
            (!left.is_empty() || self.comparing.is_some()).then_some(*since)
        })
    }

    /// The dump is in, compared, and every repair made: the round is over.
    pub fn is_done(&self) -> bool {
        self.comparing.is_none()
            && self
                .repairs
                .as_ref()
                .is_some_and(|(left, _)| left.is_empty())
    }
}

/// The (S,G) a repair is for.
fn key(r: &Repair) -> Key {
    match r {
        Repair::Install { want, .. } => (want.source, want.group),
        Repair::Delete(k) => (k.source, k.group),
    }
}
