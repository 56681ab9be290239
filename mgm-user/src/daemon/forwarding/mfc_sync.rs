//! Keeping the kernel's MFC and the manager's MFEs the same when something else changed the
//! kernel's side (an `MRT_ADD_MFC` that failed, entries the kernel dropped with a VIF, a
//! netlink `RTM_DELROUTE` from another program, a bug):
//!
//! - **desyncs**: a NOCACHE upcall for an (S,G) mgm holds installed (the kernel has no entry),
//!   or a WRONGVIF upcall from the VIF mgm installed as the entry's incoming one (the kernel's
//!   entry has another): counted (`mfc_desyncs`), told (rate-limited), and the upcall goes to
//!   the manager as a NOCACHE, which installs its MFE again;
//! - **the periodic reconcile** (`--mfc-reconcile-interval`): the kernel's MFC dumped
//!   ([`crate::sys::mfc_dump`]) and compared with the MFEs ([`compare`], pure): an entry
//!   missing or different is installed as mgm has it, one mgm does not have is deleted;
//!   each repair counted (`mfc_repairs`) and told (rate-limited).
//!
//! The dump is read off the loop, on a thread of its own ([`MfcDump`]): reading it is the
//! kernel walking its table into each datagram in the reader's `recvmsg` plus the parse, about
//! 4 µs per entry on a loaded 2-vCPU VM, 0.1–0.4 s at 100 000 entries (extrapolated, not
//! measured). Read from the loop, even a few datagrams a turn, that time would still be the
//! loop's; on the thread it runs on
//! the other core, and the thread does nothing else (it reads, parses and hands the table over
//! a channel, a branch of the loop's select), sorted by (group, source) there. The comparison
//! and the repairs stay in the loop (`round.rs`, pure), each bounded per turn: the comparison
//! walks the sorted dump and the manager's MFEs (kept in the same order) side by side,
//! [`COMPARES_PER_TURN`] entries of each a turn, against the MFEs as mgm holds them at that
//! turn; an (S,G) mgm changed in the kernel since the dump began is left alone (the dump may
//! hold it before or after the change; the next round sees it settled), and the repairs go
//! [`REPAIRS_PER_TURN`] a turn, the rest at the next, after the other inputs. One round at a
//! time: a round still under way when the next is due lets that one pass.
mod moves;
mod round;

use super::Forwarding;
use crate::manager::{ForwarderAction, Manager};
use crate::sys::mfc_dump::{self, KernelMfc};
use crate::sys::upcall::{Upcall, UpcallKind};
use crate::time::RateLimit;
use moves::RecentMoves;
use round::{place, REPAIRS_PER_TURN};
pub use round::{Round, COMPARES_PER_TURN};
use std::cmp::Ordering;
use std::net::Ipv4Addr;
use tokio::sync::mpsc;

/// The kernel's MFC as the dump thread read it, for the loop.
#[derive(Debug)]
pub(crate) struct MfcDump(pub(crate) anyhow::Result<Vec<KernelMfc>>);

/// The default of `--mfc-reconcile-interval`.
pub const DEFAULT_RECONCILE_INTERVAL_S: u64 = 60;

/// One difference between the two sides, and what repairs it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Repair {
    /// The kernel lacks the entry (`found: None`) or holds it otherwise: install mgm's.
    Install {
        want: KernelMfc,
        found: Option<KernelMfc>,
    },
    /// An entry mgm does not have, on mgm's table: delete it.
    Delete(KernelMfc),
}

/// What repairs `kernel` into `mgm` (each a list of entries, any order; one entry per (S,G)).
pub(crate) fn compare(mgm: &[KernelMfc], kernel: &[KernelMfc]) -> Vec<Repair> {
    let key = |m: &&KernelMfc| (m.source, m.group);
    let mut ours: Vec<&KernelMfc> = mgm.iter().collect();
    let mut theirs: Vec<&KernelMfc> = kernel.iter().collect();
    ours.sort_unstable_by_key(key);
    theirs.sort_unstable_by_key(key);
    let (mut a, mut b) = (ours.into_iter().peekable(), theirs.into_iter().peekable());
    let mut out = Vec::new();
    loop {
        let order = match (a.peek(), b.peek()) {
            (None, None) => return out,
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (Some(x), Some(y)) => key(x).cmp(&key(y)),
        };
        match order {
            Ordering::Less => out.extend(a.next().map(|w| Repair::Install {
                want: w.clone(),
                found: None,
            })),
            Ordering::Greater => out.extend(b.next().map(|k| Repair::Delete(k.clone()))),
            Ordering::Equal => {
                if let (Some(w), Some(k)) = (a.next(), b.next()) {
                    if w.iif != k.iif || w.oifs != k.oifs {
                        out.push(Repair::Install {
                            want: w.clone(),
                            found: Some(k.clone()),
                        });
                    }
                }
            }
        }
    }
}

/// The upcall `up` says the kernel lost or changed an entry mgm holds installed with incoming
/// VIF `parent`: a NOCACHE for it, or a WRONGVIF from its own incoming VIF unless mgm moved
/// the entry there lately (`moved_lately`: the upcall was queued before the move, see
/// `moves.rs`).
pub(crate) fn is_desync(parent: Option<u16>, up: &Upcall, moved_lately: bool) -> bool {
    let Some(parent) = parent else {
        return false;
    };
    match up.kind {
        UpcallKind::NoCache => true,
        UpcallKind::WrongVif | UpcallKind::WrongVifWhole => parent == up.vif && !moved_lately,
        UpcallKind::WholePkt => false,
    }
}

/// The counters and schedule of both.
#[derive(Debug, Default)]
pub(crate) struct MfcSync {
    /// The ipmr table (`None`: the default one).
    table: Option<u32>,
    /// Between two reconciles (ns); 0: none.
    interval_ns: u64,
    /// When the next reconcile is due.
    due: Option<u64>,
    pub(crate) desyncs: u64,
    pub(crate) repairs: u64,
    desync_log: RateLimit,
    repair_log: RateLimit,
    /// The round under way, from the dump's start to its last repair.
    round: Option<Round>,
    /// Where the dump thread hands its table (`None`: the dump is read in the loop).
    dumps: Option<mpsc::UnboundedSender<MfcDump>>,
    /// Entries whose incoming VIF mgm moved lately.
    moves: RecentMoves,
}

impl MfcSync {
    pub(crate) fn new(table: Option<u32>) -> Self {
        MfcSync {
            table,
            ..Default::default()
        }
    }

    /// Reconciles every `interval_ns` from `now` on; 0: never.
    pub(crate) fn set_interval(&mut self, interval_ns: u64, now: u64) {
        self.interval_ns = interval_ns;
        self.due = (interval_ns > 0).then(|| now.saturating_add(interval_ns));
    }

    /// The next round, or the repairs left of this one (due as soon as it is compared).
    pub(crate) fn next_deadline(&self) -> Option<u64> {
        let repairs = self.round.as_ref().and_then(Round::repairs_due);
        [self.due, repairs].into_iter().flatten().min()
    }

    /// mgm is applying `actions` to the kernel: a round under way leaves their (S,G)s alone.
    pub(crate) fn touch(&mut self, actions: &[ForwarderAction]) {
        if let Some(r) = &mut self.round {
            r.touch(actions);
        }
    }

    /// mgm moved these entries' incoming VIF (the socket's writes said so: no lookup of its
    /// own): noted, stamped with one clock read, only when there are any.
    pub(crate) fn moved(&mut self, moved: &[(Ipv4Addr, Ipv4Addr)]) {
        if moved.is_empty() {
            return;
        }
        let Ok(now) = crate::time::monotonic_ns() else {
            return;
        };
        for &(source, group) in moved {
            self.moves.note(now, source, group);
        }
    }
}

impl Forwarding {
    /// Checks one upcall for a desync (see the module doc): counts and tells it, and turns it
    /// into the NOCACHE that installs the MFE again.
    pub(super) fn check_desync(&mut self, up: &mut Upcall, now: u64) {
        let parent = self.sock.parent_of(up.source, up.group);
        let moved = parent == Some(up.vif)
            && !self.sync.moves.is_empty()
            && self.sync.moves.moved_lately(now, up.source, up.group);
        if !is_desync(parent, up, moved) {
            return;
        }
        self.sync.desyncs += 1;
        if let Some(held) = self.sync.desync_log.allow(now) {
            log::warn!(
                "kernel MFC out of step: {:?} upcall for ({}, {}), which mgm holds installed \
                 (the entry was removed or changed behind mgm's back): installing it again \
                 ({} desyncs so far; {held} not logged since the last)",
                up.kind,
                up.source,
                up.group,
                self.sync.desyncs
            );
        }
        if up.kind == UpcallKind::NoCache {
            // The kernel's entry is gone with its counts: the new one counts from 0.
            self.sock.forget_mfc(up.source, up.group);
        }
        up.kind = UpcallKind::NoCache;
    }

    /// `--mfc-reconcile-interval`.
    pub(crate) fn set_reconcile_interval(&mut self, interval_ns: u64, now: u64) {
        self.sync.set_interval(interval_ns, now);
    }

    /// Desyncs and repairs so far.
    pub(crate) fn mfc_sync_counts(&self) -> (u64, u64) {
        (self.sync.desyncs, self.sync.repairs)
    }

    /// The channel the dump thread hands its tables on, for the loop's select: from now on
    /// the dump is read off the loop.
    pub(crate) fn mfc_dumps(&mut self) -> mpsc::UnboundedReceiver<MfcDump> {
        let (tx, rx) = mpsc::unbounded_channel();
        self.sync.dumps = Some(tx);
        rx
    }

    /// This turn's repairs, and a new round when one is due at `now`.
    pub(super) fn reconcile_if_due(&mut self, now: u64) {
        if self.sync.round.as_ref().is_some_and(|r| !r.is_dumping()) {
            self.repair_turn(now);
        }
        if self.sync.due.is_some_and(|t| t <= now) {
            self.sync.due = Some(now.saturating_add(self.sync.interval_ns));
            if self.sync.round.is_none() {
                self.start_dump(now);
            }
        }
    }

    /// A round begins: the dump is read on a thread (in the loop without the channel).
    fn start_dump(&mut self, now: u64) {
        self.sync.round = Some(Round::dumping());
        let table = self.sync.table;
        let Some(tx) = self.sync.dumps.clone() else {
            return self.on_mfc_dump(MfcDump(sorted_dump(table)), now);
        };
        let spawned = std::thread::Builder::new()
            .name("mgm-mfc-dump".into())
            .spawn(move || {
                // The loop gone (shutdown): nobody waits for the table.
                let _ = tx.send(MfcDump(sorted_dump(table)));
            });
        if let Err(e) = spawned {
            let e = anyhow::Error::new(e).context("mfc dump: starting its thread");
            self.on_mfc_dump(MfcDump(Err(e)), now);
        }
    }

    /// The dump is in: compared with the MFEs as they are now, and the first repairs made.
    pub(crate) fn on_mfc_dump(&mut self, dump: MfcDump, now: u64) {
        if !self.sync.round.as_ref().is_some_and(Round::is_dumping) {
            return;
        }
        let kernel = match dump.0 {
            Ok(k) => k,
            Err(e) => {
                self.sync.round = None;
                if self.sync.repair_log.allow(now).is_some() {
                    log::warn!("{e:#}: the MFC is not compared with the kernel's this time");
                }
                return;
            }
        };
        if let Some(r) = &mut self.sync.round {
            r.dumped(kernel, now);
        }
        self.repair_turn(now);
    }

    /// The next [`COMPARES_PER_TURN`] entries of the comparison, then at most
    /// [`REPAIRS_PER_TURN`] repairs of the round; the round ends with its last.
    fn repair_turn(&mut self, now: u64) {
        let Some(round) = &mut self.sync.round else {
            return;
        };
        compare_turn(round, &self.mgr, COMPARES_PER_TURN);
        let batch = round.next_repairs(REPAIRS_PER_TURN);
        if round.is_done() {
            self.sync.round = None;
        }
        for r in batch {
            self.repair(r, now);
        }
    }

    fn repair(&mut self, r: Repair, now: u64) {
        let (what, done) = match &r {
            Repair::Install { want, found } => {
                if found.is_none() {
                    self.sock.forget_mfc(want.source, want.group);
                }
                let done = self
                    .sock
                    .set_mfc(want.source, want.group, want.iif, &want.oifs)
                    .map(|_| ());
                let what = match found {
                    None => format!("missing from the kernel: installed {want:?}"),
                    Some(k) => format!("the kernel had {k:?}: installed {want:?}"),
                };
                (what, done)
            }
            Repair::Delete(k) => (
                format!("not mgm's: deleted {k:?}"),
                self.sock.del_mfc(k.source, k.group),
            ),
        };
        if done.is_ok() {
            self.sync.repairs += 1;
        }
        if let Some(held) = self.sync.repair_log.allow(now) {
            match done {
                Ok(()) => log::warn!(
                    "kernel MFC repaired: {what} ({} repairs so far; {held} not logged since \
                     the last)",
                    self.sync.repairs
                ),
                Err(e) => log::warn!("kernel MFC repair failed ({what}): {e:#}"),
            }
        }
    }
}

/// One turn of `round`'s comparison: at most `budget` entries of each side (the loop's turn:
/// [`COMPARES_PER_TURN`]), mgm's read from `mgr` as it holds them now.
pub fn compare_turn(round: &mut Round, mgr: &Manager, budget: usize) {
    round.compare_turn(budget, |after, max| {
        mgr.kernel_view_after(after, max)
            .into_iter()
            .filter_map(kernel_mfc)
            .collect()
    });
}

/// The kernel's MFC, sorted by (group, source) for the comparison (on the dump thread).
fn sorted_dump(table: Option<u32>) -> anyhow::Result<Vec<KernelMfc>> {
    let mut kernel = mfc_dump::dump(table)?;
    kernel.sort_unstable_by_key(place);
    Ok(kernel)
}

/// An MFE as the kernel should hold it.
fn kernel_mfc(a: ForwarderAction) -> Option<KernelMfc> {
    match a {
        ForwarderAction::SetMfe {
            source,
            group,
            iif,
            oifs,
        } => Some(KernelMfc {
            source,
            group,
            iif,
            oifs,
        }),
        _ => None,
    }
}

#[cfg(test)]
mod round_tests;
#[cfg(test)]
mod tests;
