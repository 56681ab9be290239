//! One reconcile round, pure: from the dump's start to its last repair. The (S,G)s mgm changes
//! in the kernel meanwhile are "touched": the dump may have read them before or after the
//! change, so the round leaves them alone (the next round sees them settled). Repairs go a
//! bounded number per turn of the loop.
use super::{compare, Repair};
use crate::manager::ForwarderAction;
use crate::sys::mfc_dump::KernelMfc;
use std::collections::{HashSet, VecDeque};
use std::net::Ipv4Addr;

/// Repairs made in one turn of the loop (each an `MRT_ADD_MFC` or `MRT_DEL_MFC`, a few
/// microseconds); the rest wait for the next turn, after the other inputs.
pub(crate) const REPAIRS_PER_TURN: usize = 256;

/// An (S,G).
type Key = (Ipv4Addr, Ipv4Addr);

#[derive(Debug, Default)]
pub(crate) struct Round {
    /// The (S,G)s mgm changed in the kernel since the dump began.
    touched: HashSet<Key>,
    /// The repairs left, once the dump is in (`None`: it is being read), and since when.
    repairs: Option<(VecDeque<Repair>, u64)>,
}

impl Round {
    /// A round whose dump is being read.
    pub(crate) fn dumping() -> Self {
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

    /// The dump is in (`kernel`), `mgm` is the table as mgm holds it now (at `now`): the
    /// repairs, but none of a touched (S,G).
    pub(crate) fn dumped(&mut self, mgm: &[KernelMfc], kernel: &[KernelMfc], now: u64) {
        let repairs = compare(mgm, kernel)
            .into_iter()
            .filter(|r| !self.touched.contains(&key(r)))
            .collect();
        self.repairs = Some((repairs, now));
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

    /// When the repairs left are due (they are as soon as the comparison is made); `None`
    /// while dumping or when none is left.
    pub(crate) fn repairs_due(&self) -> Option<u64> {
        self.repairs
            .as_ref()
            .and_then(|(left, since)| (!left.is_empty()).then_some(*since))
    }

    /// The dump is in and every repair made: the round is over.
    pub(crate) fn is_done(&self) -> bool {
        self.repairs
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
