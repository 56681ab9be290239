use super::{Awaiting, AwaitingUpcall, KERNEL_UNRESOLVED_NS, MAX_AWAITING};
use crate::sys::upcall::{Upcall, UpcallKind};
use std::net::Ipv4Addr;

const SEC: u64 = 1_000_000_000;

fn source(i: u32) -> Ipv4Addr {
    Ipv4Addr::from(u32::from(Ipv4Addr::new(198, 51, 100, 0)) + i)
}

fn group(i: u32) -> Ipv4Addr {
    Ipv4Addr::from(u32::from(Ipv4Addr::new(239, 0, 0, 0)) + i)
}

fn up(s: u32, g: u32, ifindex: u32, since: u64) -> AwaitingUpcall {
    let u = Upcall {
        kind: UpcallKind::NoCache,
        vif: 0,
        source: source(s),
        group: group(g),
    };
    (u, ifindex, vec![s as u8], since)
}

fn sg(s: u32, g: u32) -> (Ipv4Addr, Ipv4Addr) {
    (source(s), group(g))
}

#[test]
fn one_upcall_waits_per_sg_and_an_answer_takes_its_own_in_arrival_order() {
    let mut a = Awaiting::default();
    for (s, g) in [(1, 1), (2, 1), (1, 1), (3, 2), (1, 2), (2, 1)] {
        a.wait(up(s, g, 7, 0), 0);
    }
    assert_eq!(
        a.len(),
        4,
        "a second packet of a waiting (S,G) does not wait twice"
    );
    let got: Vec<_> = a
        .take(Some(&[sg(1, 2), sg(1, 1), sg(9, 9)]), SEC)
        .into_iter()
        .map(|(u, ..)| (u.source, u.group))
        .collect();
    assert_eq!(got, vec![sg(1, 1), sg(1, 2)], "arrival order");
    assert!(a.take(Some(&[sg(1, 1)]), SEC).is_empty(), "taken once");
    assert_eq!(a.take(None, SEC).len(), 2);
    assert_eq!(a.len(), 0);
}

#[test]
fn past_the_bound_new_sgs_are_dropped_and_counted() {
    let mut a = Awaiting::default();
    let n = MAX_AWAITING as u32 + 100;
    for i in 0..n {
        a.wait(up(i % 250, i / 250, 7, 0), 0);
    }
    assert_eq!((a.len(), a.dropped()), (MAX_AWAITING, 100));
    // Answers make room again.
    assert_eq!(a.take(Some(&[sg(0, 0), sg(1, 0)]), 0).len(), 2);
    a.wait(up(0, 9999, 7, 0), 0);
    assert_eq!((a.len(), a.dropped()), (MAX_AWAITING - 1, 100));
}

#[test]
fn upcalls_older_than_the_kernels_unresolved_entry_are_forgotten() {
    let mut a = Awaiting::default();
    a.wait(up(1, 1, 7, 0), 0);
    a.wait(up(2, 1, 7, 5 * SEC), 5 * SEC);
    // Offered again while still waiting: back with its first arrival time.
    let again = a.take(Some(&[sg(1, 1)]), 6 * SEC);
    assert_eq!(again.len(), 1);
    a.wait(again[0].clone(), 6 * SEC);
    // 10 s after the first: it is gone, the second still waits.
    let got = a.take(None, KERNEL_UNRESOLVED_NS);
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].0.source, source(2));
    // Too old when it comes: not kept.
    a.wait(up(3, 1, 7, 0), KERNEL_UNRESOLVED_NS);
    assert_eq!(a.len(), 0);
    // Expiry keeps the queue short after many answered upcalls.
    for i in 0..10_000 {
        a.wait(up(i % 250, i / 250, 7, 20 * SEC), 20 * SEC);
        a.take(Some(&[sg(i % 250, i / 250)]), 20 * SEC);
    }
    assert!(a.order.len() <= 64, "{} stale queue entries", a.order.len());
}

#[test]
fn a_gone_interface_drops_what_arrived_on_it() {
    let mut a = Awaiting::default();
    a.wait(up(1, 1, 7, 0), 0);
    a.wait(up(1, 2, 8, 0), 0);
    a.wait(up(2, 1, 7, 0), 0);
    a.drop_arrivals_on(7);
    let got = a.take(None, 0);
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].1, 8);
}

#[test]
fn a_fresh_upcall_replaces_a_stale_one_offered_again() {
    let mut a = Awaiting::default();
    a.wait(up(1, 1, 7, 0), 0);
    a.wait(up(2, 1, 7, 5 * SEC), 5 * SEC);
    // Offered again while still waiting: back of the queue, behind (2,1), with its first
    // arrival time; the front's expiry does not reach it at 10 s.
    let again = a.take(Some(&[sg(1, 1)]), 6 * SEC);
    a.wait(again[0].clone(), 6 * SEC);
    // Its kernel entry expired; the next packet of (1,1) upcalls afresh (header 99).
    let mut fresh = up(1, 1, 7, 11 * SEC);
    fresh.2 = vec![99];
    a.wait(fresh, 11 * SEC);
    assert_eq!(a.len(), 2, "one per (S,G)");
    let got = a.take(Some(&[sg(1, 1)]), 12 * SEC);
    assert_eq!(
        got.len(),
        1,
        "the fresh upcall waits, not dropped for the stale one"
    );
    assert_eq!((got[0].2.clone(), got[0].3), (vec![99], 11 * SEC));
    // The stale one's queue entry does not expire the fresh one.
    a.wait(up(3, 1, 7, 11 * SEC), 11 * SEC);
    a.wait(up(1, 1, 7, 12 * SEC), 12 * SEC);
    assert_eq!(a.take(None, 20 * SEC).len(), 2);
}
