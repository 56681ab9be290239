//! One batch of classifier events read off the event ring: at most [`BATCH`] records costing
//! at most a budget ([`super::event_cost`]), each handed to an [`EventTarget`] (the daemon),
//! with a look at the loss counters before each message that may cut at once on a quick-leave
//! interface (`lost_reports.rs` says why). The ring is read live (each read takes the
//! producer's position anew): a record the classifier commits while the batch is read is part
//! of it, so one look per batch would not do.

use mgm_common::IgmpEvent;

/// Most classifier events or kernel upcalls handled in one wake-up, so a flood on one input
/// cannot starve timers, other interfaces, the control socket or signals.
pub(crate) const BATCH: usize = 256;

/// Where the records come from: the event ring (a script in the tests).
pub(crate) trait Records {
    type Record<'a>: std::ops::Deref<Target = [u8]>
    where
        Self: 'a;
    /// The next committed record, `None` when there is none now.
    fn next_record(&mut self) -> Option<Self::Record<'_>>;
}

impl Records for aya::maps::RingBuf<aya::maps::MapData> {
    type Record<'a> = aya::maps::ring_buf::RingBufItem<'a>;
    fn next_record(&mut self) -> Option<Self::Record<'_>> {
        self.next()
    }
}

/// What a batch's events go to.
pub(crate) trait EventTarget {
    /// Whether a message of `ifindex` goes through quick leave's tracking.
    fn quick_leave_on(&self, ifindex: u32) -> bool;
    /// The look at the loss counters at `now` (`Daemon::look_for_lost_reports`).
    fn look_for_lost_reports(&mut self, now: u64);
    /// Reads one event, its record still held: whether it left something to carry out.
    fn read_event(&mut self, ev: &IgmpEvent<'_>, now: u64) -> bool;
    /// Carries out what the event read last asked for, its record given back to the ring.
    fn carry_out(&mut self, now: u64);
}

/// One batch at `now` (one clock read: the events of a batch arrived within it): up to
/// [`BATCH`] records of `records` costing up to `budget`; true when none is left.
pub(crate) fn read_batch(
    records: &mut impl Records,
    target: &mut impl EventTarget,
    budget: usize,
    now: u64,
) -> bool {
    let mut spent = 0;
    for _ in 0..BATCH {
        if spent >= budget {
            return false;
        }
        let Some(item) = records.next_record() else {
            return true;
        };
        // Records are as long as their message: the header, then the IGMP bytes, parsed in
        // place (the record goes back to the ring once the router has read it).
        let Some(ev) = IgmpEvent::from_bytes(&item) else {
            log::warn!("short record on MGM_EVENTS ({} bytes); ignored", item.len());
            continue;
        };
        spent += super::event_cost(ev.igmp_bytes());
        // Reports lost before this one are counted by now: seen before a leave trusts quick
        // leave's tracking (`lost_reports.rs`). A look for each such message: a record read
        // later in the batch may have been committed after an earlier look.
        if target.quick_leave_on(ev.ifindex)
            && super::lost_reports::may_cut_at_once(ev.igmp_bytes())
        {
            target.look_for_lost_reports(now);
        }
        let read = target.read_event(&ev, now);
        drop(item);
        if read {
            target.carry_out(now);
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::daemon::lost_reports::{LossCounters, LossMarks};
    use crate::igmp::{Action, IgmpConfig, IgmpInterface, MembershipChange, NoFastPath};
    use mgm_common::igmp::{checksum, parse, TYPE_V2_LEAVE, TYPE_V2_REPORT};
    use mgm_common::IgmpStats;
    use std::cell::Cell;
    use std::collections::VecDeque;
    use std::net::Ipv4Addr;
    use std::rc::Rc;

    const LINK: u32 = 2;
    const T0: u64 = 1_000_000_000_000;
    const HOST: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 10);

    fn g(last: u8) -> Ipv4Addr {
        Ipv4Addr::new(239, 1, 1, last)
    }

    /// The record of a v2 message of `kind` for `group` from [`HOST`] on [`LINK`].
    fn record(kind: u8, group: Ipv4Addr) -> Vec<u8> {
        let mut igmp = [kind, 0, 0, 0, 0, 0, 0, 0];
        igmp[4..].copy_from_slice(&group.octets());
        let c = checksum(&igmp);
        igmp[2..4].copy_from_slice(&c.to_be_bytes());
        let dst = if kind == TYPE_V2_LEAVE {
            Ipv4Addr::new(224, 0, 0, 2)
        } else {
            group
        };
        let mut r = Vec::new();
        r.extend(T0.to_ne_bytes());
        r.extend(LINK.to_ne_bytes());
        r.extend(HOST.octets());
        r.extend(dst.octets());
        r.extend(8u16.to_ne_bytes()); // igmp_len
        r.extend(8u16.to_ne_bytes()); // captured_len
        r.extend([0; 2 + 1 + 1 + 4]); // vlan_id, flags, reason, padding
        r.extend(igmp);
        r
    }

    /// What the link's budget held back so far, as the classifier counts it.
    #[derive(Clone, Default)]
    struct Held(Rc<Cell<u64>>);

    impl LossCounters for Held {
        fn stats(&self) -> anyhow::Result<IgmpStats> {
            Ok(IgmpStats {
                events_rate_limited: self.0.get(),
                ..IgmpStats::default()
            })
        }
        fn rate_limited(&self, _ifindex: u32) -> anyhow::Result<u64> {
            Ok(self.0.get())
        }
    }

    /// A ring read live: each record comes with the count held back before it was committed,
    /// which the classifier has counted by the time the record can be read.
    struct LiveRing {
        records: VecDeque<(u64, Vec<u8>)>,
        held: Held,
    }

    impl Records for LiveRing {
        type Record<'a> = Vec<u8>;
        fn next_record(&mut self) -> Option<Vec<u8>> {
            let (held, record) = self.records.pop_front()?;
            self.held.0.set(held);
            Some(record)
        }
    }

    /// One quick-leave link: its router, the loss marks, the actions of each event.
    struct QuickLink {
        router: IgmpInterface,
        marks: LossMarks,
        held: Held,
        actions: Vec<Action>,
        done: Vec<Vec<Action>>,
    }

    impl EventTarget for QuickLink {
        fn quick_leave_on(&self, ifindex: u32) -> bool {
            ifindex == LINK
        }
        fn look_for_lost_reports(&mut self, now: u64) {
            if !self.marks.look(&self.held, &[LINK]).is_empty() {
                self.router.reports_lost(now);
            }
        }
        fn read_event(&mut self, ev: &IgmpEvent<'_>, now: u64) -> bool {
            let msg = parse(ev.igmp_bytes()).expect("a v2 message");
            let addrs = (Ipv4Addr::from(ev.src_addr), Ipv4Addr::from(ev.dst_addr));
            self.router
                .on_message_into(now, addrs, &msg, &NoFastPath, &mut self.actions);
            true
        }
        fn carry_out(&mut self, _now: u64) {
            self.done.push(std::mem::take(&mut self.actions));
        }
    }

    fn cut_at_once(actions: &[Action], group: Ipv4Addr) -> bool {
        actions.iter().any(|a| {
            matches!(a, Action::Membership { group: g, change: MembershipChange::Leave, .. }
                if *g == group)
        })
    }

    #[test]
    fn a_loss_counted_within_a_batch_is_seen_before_the_next_leave() {
        let quick = IgmpConfig {
            quick_leave: true,
            ..IgmpConfig::default()
        };
        let held = Held::default();
        let mut link = QuickLink {
            router: IgmpInterface::new(LINK, Ipv4Addr::new(192, 0, 2, 1), quick, T0).0,
            marks: LossMarks::new(None),
            held: held.clone(),
            actions: Vec::new(),
            done: Vec::new(),
        };
        // The host is the only one tracked on G1 and G2.
        let mut ring = LiveRing {
            records: [g(1), g(2)]
                .map(|group| (0, record(TYPE_V2_REPORT, group)))
                .into(),
            held: held.clone(),
        };
        assert!(read_batch(&mut ring, &mut link, usize::MAX, T0));
        link.done.clear();
        // One batch: the host leaves G1; the budget then holds back another host's report (of
        // G2, say); the host leaves G2, committed after the batch's first look.
        ring.records = [
            (0, record(TYPE_V2_LEAVE, g(1))),
            (1, record(TYPE_V2_LEAVE, g(2))),
        ]
        .into();
        let t1 = T0 + 1_000_000_000;
        assert!(read_batch(&mut ring, &mut link, usize::MAX, t1));
        let [first, second] = &link.done[..] else {
            panic!("two events: {:?}", link.done);
        };
        assert!(cut_at_once(first, g(1)), "nothing lost yet: {first:?}");
        assert!(
            !cut_at_once(second, g(2)),
            "a report was lost before the second leave: G2 is kept for its queries: {second:?}"
        );
        assert!(
            second
                .iter()
                .any(|a| matches!(a, Action::SendQuery { query, .. } if query.group == g(2))),
            "the RFC's Q(G2): {second:?}"
        );
    }
}
