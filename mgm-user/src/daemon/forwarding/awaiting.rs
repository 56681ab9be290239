//! NOCACHE upcalls whose MFE waits for an external handler's answer (its RPF or creation alert
//! answered `Pending`). Kept by (S,G), so that an upcall or an answer finds its entry without a
//! scan of every waiting one, with an arrival-ordered queue for the expiry: the kernel keeps an
//! unresolved entry [`KERNEL_UNRESOLVED_NS`], after which the packet is gone and so is the
//! reason to build its MFE (the next packet upcalls again). At most [`MAX_AWAITING`] wait: a
//! burst of new (S,G) past that is dropped, counted and logged at most once a minute (the
//! kernel drops those packets after 10 s; the next one upcalls again).
use crate::sys::upcall::Upcall;
use crate::time::RateLimit;
use std::collections::{HashMap, VecDeque};
use std::net::Ipv4Addr;

/// How long the kernel keeps an unresolved MFC entry (and its packets).
pub(super) const KERNEL_UNRESOLVED_NS: u64 = 10_000_000_000;

/// Most upcalls waiting for a handler's answer: the `--max-mfes` default, about 2 MB at most.
pub(super) const MAX_AWAITING: usize = 16_384;

/// (source, group).
type SgKey = (Ipv4Addr, Ipv4Addr);

/// One waiting upcall: the upcall, the ifindex it arrived on, the packet's header, when it
/// first came (ns).
pub(super) type AwaitingUpcall = (Upcall, u32, Vec<u8>, u64);

#[derive(Default)]
pub(super) struct Awaiting {
    /// By (S,G): (arrival number, upcall).
    by_sg: HashMap<SgKey, (u64, AwaitingUpcall)>,
    /// (first came, arrival number, (S,G)) in arrival order; an entry whose number no longer
    /// matches `by_sg` is stale (taken, or expired).
    order: VecDeque<(u64, u64, SgKey)>,
    arrivals: u64,
    dropped: u64,
    drop_log: RateLimit,
}

impl Awaiting {
    /// The upcall waits for its (S,G)'s answer, unless one already does (kept, with its
    /// arrival), it came too long ago, or too many wait (dropped, counted). A kept one that came
    /// too long ago (offered again, it went to the back of the queue with its first arrival
    /// time, past which the front's expiry has not reached yet) gives way to the new one: the
    /// kernel has dropped its packet, and the new upcall is the (S,G)'s next.
    pub(super) fn wait(&mut self, up: AwaitingUpcall, now: u64) {
        self.expire(now);
        let key = (up.0.source, up.0.group);
        if now.saturating_sub(up.3) >= KERNEL_UNRESOLVED_NS {
            return;
        }
        let replaces = match self.by_sg.get(&key) {
            Some((_, kept)) if now.saturating_sub(kept.3) < KERNEL_UNRESOLVED_NS => return,
            kept => kept.is_some(),
        };
        if !replaces && self.by_sg.len() >= MAX_AWAITING {
            self.drop_one(key, now);
            return;
        }
        self.arrivals += 1;
        self.order.push_back((up.3, self.arrivals, key));
        self.by_sg.insert(key, (self.arrivals, up));
    }

    /// The waiting upcalls of `sgs` (every one when `None`), in arrival order; they no longer
    /// wait. Those that came too long ago are forgotten first.
    pub(super) fn take(&mut self, sgs: Option<&[SgKey]>, now: u64) -> Vec<AwaitingUpcall> {
        self.expire(now);
        let mut ready: Vec<(u64, AwaitingUpcall)> = match sgs {
            Some(l) => l.iter().filter_map(|k| self.by_sg.remove(k)).collect(),
            None => self.by_sg.drain().map(|(_, v)| v).collect(),
        };
        // An upcall offered again and still waiting went to the back of the queue with its
        // first arrival time, so the queue's front may not have reached it yet.
        ready.retain(|(_, u)| now.saturating_sub(u.3) < KERNEL_UNRESOLVED_NS);
        ready.sort_unstable_by_key(|(n, _)| *n);
        self.compact();
        ready.into_iter().map(|(_, u)| u).collect()
    }

    /// Forgets the upcalls that arrived on `ifindex` (the interface is gone).
    pub(super) fn drop_arrivals_on(&mut self, ifindex: u32) {
        self.by_sg
            .retain(|_, (_, (_, arrival, ..))| *arrival != ifindex);
        self.compact();
    }

    /// Upcalls dropped because [`MAX_AWAITING`] waited.
    pub(super) fn dropped(&self) -> u64 {
        self.dropped
    }

    fn drop_one(&mut self, (source, group): SgKey, now: u64) {
        self.dropped += 1;
        if let Some(held) = self.drop_log.allow(now) {
            log::warn!(
                "packet of ({source}, {group}) dropped: {MAX_AWAITING} new (S,G) already wait for \
                 a handler's answer ({held} more dropped since the last notice, {} in all: \
                 daemon_pending_upcalls_dropped)",
                self.dropped
            );
        }
    }

    /// Forgets the upcalls that came [`KERNEL_UNRESOLVED_NS`] ago or more.
    fn expire(&mut self, now: u64) {
        while let Some(&(since, n, key)) = self.order.front() {
            if now.saturating_sub(since) < KERNEL_UNRESOLVED_NS {
                break;
            }
            self.order.pop_front();
            if self.by_sg.get(&key).is_some_and(|(m, _)| *m == n) {
                self.by_sg.remove(&key);
            }
        }
    }

    /// Drops the stale queue entries once they outnumber the live ones (amortised O(1)).
    fn compact(&mut self) {
        if self.order.len() > 2 * self.by_sg.len() + 64 {
            let by_sg = &self.by_sg;
            self.order
                .retain(|(_, n, key)| by_sg.get(key).is_some_and(|(m, _)| m == n));
        }
    }

    /// Upcalls waiting.
    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.by_sg.len()
    }
}

#[cfg(test)]
#[path = "awaiting_tests.rs"]
mod tests;
