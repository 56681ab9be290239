//! One batch of classifier events read off the event ring: at most [`BATCH`] records costing
//! at most a budget ([`super::event_cost`]), each handed to an [`EventTarget`] (the daemon),
//! with a look at the loss counters before each message that may cut at once on a quick-leave
//! interface (`lost_reports.rs` says why). The ring is read live: a record the classifier
//! commits while the batch is read is part of it.

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
    let mut looked_for_losses = false;
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
        // leave's tracking (`lost_reports.rs`).
        if !looked_for_losses
            && target.quick_leave_on(ev.ifindex)
            && super::lost_reports::may_cut_at_once(ev.igmp_bytes())
        {
            looked_for_losses = true;
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
