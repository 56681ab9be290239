//! The MFE bound (`max_mfes`), the short life of entries nobody wants, and the per-call budget
//! of MFE deadlines.
use super::*;

fn group(i: u32) -> Ipv4Addr {
    Ipv4Addr::from(u32::from(Ipv4Addr::new(239, 0, 0, 0)) + i)
}

fn mfe_count(h: &H) -> usize {
    h.m.mfe_table(h.now).len()
}

/// Protocol A owns if1–if3 and wants G1 on if3; `before` entries from `src` (other groups, in
/// on if1) are made, then the bound is set to `max`.
fn g1_wanted_on_if3(h: &mut H, src: Ipv4Addr, before: u32, max: usize) {
    let (a, _) = h.routing("A");
    h.take(a, &[1, 2, 3]);
    h.add(a, Sg::star_g(G1), 3).unwrap();
    for i in 0..before {
        h.pkt(src, group(100 + i), 1).unwrap();
    }
    h.m.set_max_mfes(max);
}

#[test]
fn past_max_mfes_an_entry_nobody_wants_is_refused_and_one_somebody_wants_is_made() {
    let mut h = H::new();
    let (a, _) = h.routing("A");
    h.take(a, &[1, 2]);
    h.m.set_max_mfes(3);
    // Three groups nobody wants, from one source: three negative entries.
    for i in 1..=3 {
        assert_eq!(h.pkt(S1, group(i), 1), Ok(NewPacket::Installed));
    }
    h.clear();
    // The fourth: refused, nothing for the kernel, counted.
    assert_eq!(h.pkt(S1, group(4), 1), Ok(NewPacket::Refused));
    assert_eq!(h.m.take_actions(), vec![]);
    assert_eq!(h.m.mfe(h.now, S1, group(4)), Err(MgmError::NotFound));
    assert_eq!((mfe_count(&h), h.m.mfes_refused()), (3, 1));
    // A packet of an entry already made is not refused (the kernel lost it: made again).
    assert_eq!(h.pkt(S1, group(1), 1), Ok(NewPacket::Installed));
    assert_eq!(h.m.take_actions(), vec![set(S1, group(1), 1, &[])]);
    // A group somebody wants is made past the bound.
    h.add(a, Sg::star_g(group(5)), 2).unwrap();
    assert_eq!(h.pkt(S1, group(5), 1), Ok(NewPacket::Installed));
    assert_eq!(h.oifs(S1, group(5)), vec![2]);
    assert_eq!(mfe_count(&h), 4);
    // A receiver joins the refused group: the entry is made at the join, forwarding (the
    // kernel's unresolved entry resolved at once), not at the kernel's next upcall.
    h.clear();
    h.add(a, Sg::star_g(group(4)), 2).unwrap();
    assert!(
        h.m.take_actions().contains(&set(S1, group(4), 1, &[2])),
        "made at the join"
    );
    assert_eq!(h.oifs(S1, group(4)), vec![2]);
    assert_eq!(h.m.refused_sgs(), vec![], "no longer waiting");
    assert_eq!(h.pkt(S1, group(4), 1), Ok(NewPacket::Installed));
    // Still at the bound: another unwanted one is refused and counted.
    assert_eq!(h.pkt(S2, group(6), 1), Ok(NewPacket::Refused));
    assert_eq!((mfe_count(&h), h.m.mfes_refused()), (5, 2));
    // A reload raises the bound: the unwanted entry gets in.
    h.m.set_max_mfes(6);
    assert_eq!(h.pkt(S2, group(6), 1), Ok(NewPacket::Installed));
    assert_eq!(h.m.mfes_refused(), 2);
    // 0: no bound.
    h.m.set_max_mfes(0);
    for i in 7..=20 {
        assert_eq!(h.pkt(S1, group(i), 1), Ok(NewPacket::Installed));
    }
    assert_eq!(h.m.mfes_refused(), 2);
}

/// Rows: the join (its interface, its (S,G)) → whether the refused (S1, G1) arriving on 1 is
/// made at it, and whether it is still remembered after.
#[test]
fn a_join_makes_the_refused_entries_it_wants() {
    let s9 = Ipv4Addr::new(203, 0, 113, 9);
    let rows: [(&str, Sg, u32, bool, bool); 5] = [
        ("(*,G) on a receiver LAN", Sg::star_g(G1), 2, true, false),
        ("(S,G) of the entry", Sg::sg(S1, G1), 2, true, false),
        ("(S,G) of another source", Sg::sg(s9, G1), 2, false, true),
        ("another group", Sg::star_g(G2), 2, false, true),
        // Still nobody wants it (the join is on its incoming interface): refused again, kept,
        // not counted again.
        ("on the incoming interface", Sg::star_g(G1), 1, false, true),
    ];
    for (what, sg, on, made, kept) in rows {
        let mut h = H::new();
        let (a, _) = h.routing("A");
        h.take(a, &[1, 2]);
        h.m.set_max_mfes(1);
        h.pkt(S2, G2, 1).unwrap();
        assert_eq!(h.pkt(S1, G1, 1), Ok(NewPacket::Refused), "{what}");
        h.clear();
        h.add(a, sg, on).unwrap();
        let actions = h.m.take_actions();
        assert_eq!(
            actions.contains(&set(S1, G1, 1, &[2])),
            made,
            "{what}: {actions:?}"
        );
        assert_eq!(h.m.mfe(h.now, S1, G1).is_ok(), made, "{what}");
        assert_eq!(h.m.refused_sgs().contains(&(S1, G1)), kept, "{what}");
        assert_eq!(h.m.mfes_refused(), 1, "{what}: a retry is no new refusal");
    }
}

#[test]
fn a_refusal_long_past_is_not_made_at_a_join() {
    let mut h = H::new();
    let (a, _) = h.routing("A");
    h.take(a, &[1, 2]);
    h.m.set_max_mfes(1);
    h.pkt(S2, G2, 1).unwrap();
    assert_eq!(h.pkt(S1, G1, 1), Ok(NewPacket::Refused));
    // The source stopped: no refusal for longer than the kernel's upcalls would make.
    h.now += crate::manager::mfe::refused::REFUSED_FRESH_NS + SEC;
    h.clear();
    h.add(a, Sg::star_g(G1), 2).unwrap();
    assert_eq!(h.m.mfe(h.now, S1, G1), Err(MgmError::NotFound));
    assert_eq!(h.m.refused_sgs(), vec![], "forgotten");
}

#[test]
fn an_entry_nobody_wants_lives_a_short_time_after_its_last_packet() {
    let mut h = H::new();
    let (a, _) = h.routing("A");
    h.take(a, &[1, 2]);
    let t0 = h.now;
    h.pkt(S1, G1, 1).unwrap();
    h.pkt(S1, G2, 1).unwrap();
    let m = h.m.mfe(t0, S1, G1).unwrap();
    assert!(m.negative);
    assert_eq!(m.timeout_s, NEGATIVE_MFE_TIMEOUT_S);
    let due = t0 + u64::from(NEGATIVE_MFE_TIMEOUT_S) * SEC;
    assert_eq!(h.m.next_deadline(), Some(due));
    h.clear();
    // At the deadline G1 had traffic (extended), G2 none (deleted).
    let busy = MfeCounters {
        packets: 10,
        bytes: 1000,
        wrong_if: 0,
    };
    h.m.on_deadline(due, |_, g| {
        Some(if g == G1 {
            busy
        } else {
            MfeCounters::default()
        })
    });
    assert_eq!(
        h.m.take_actions(),
        vec![ForwarderAction::DelMfe {
            source: S1,
            group: G2,
            iif: 1
        }]
    );
    assert_eq!(
        h.m.next_deadline(),
        Some(due + u64::from(NEGATIVE_MFE_TIMEOUT_S) * SEC)
    );
    // A receiver comes: a forwarding entry with MGM's lifetime, counted from now.
    h.now = due + SEC;
    h.add(a, Sg::star_g(G1), 2).unwrap();
    let m = h.m.mfe(h.now, S1, G1).unwrap();
    assert_eq!((m.negative, m.timeout_s), (false, 900));
    assert_eq!(h.m.next_deadline(), Some(h.now + 900 * SEC));
    // It leaves: the emptied entry gets the short life again.
    h.now += SEC;
    h.del(a, Sg::star_g(G1), 2).unwrap();
    assert_eq!(
        h.m.mfe(h.now, S1, G1).unwrap().timeout_s,
        NEGATIVE_MFE_TIMEOUT_S
    );
}

/// Rows: due entries → handled by the first call, by the second.
#[test]
fn on_deadline_handles_at_most_its_budget_per_call() {
    let n = MFE_DEADLINES_PER_CALL;
    for (due, first, second) in [(n + 5, n, 5), (n, n, 0), (3, 3, 0)] {
        let mut h = H::new();
        let (a, _) = h.routing("A");
        h.take(a, &[1, 2]);
        for i in 0..due {
            h.pkt(S1, group(i as u32 + 1), 1).unwrap();
        }
        // One more, due later: never handled here.
        h.now += SEC;
        h.pkt(S2, G1, 1).unwrap();
        h.clear();
        let at = h.now + u64::from(NEGATIVE_MFE_TIMEOUT_S) * SEC - SEC;
        let mut read = 0;
        h.m.on_deadline(at, |_, _| {
            read += 1;
            None
        });
        assert_eq!((read, h.m.take_actions().len()), (first, first), "{due}");
        assert_eq!(mfe_count(&h), due - first + 1, "{due}");
        // The rest are still due: the loop's alarm fires again at once.
        assert_eq!(h.m.next_deadline().is_some_and(|d| d <= at), second > 0);
        let mut read = 0;
        h.m.on_deadline(at, |_, _| {
            read += 1;
            None
        });
        assert_eq!((read, mfe_count(&h)), (second, 1), "{due}");
    }
}

/// Review 8 #1: one LAN host joins G and sends to G from many source addresses routed
/// elsewhere. Each entry would forward nothing (its packets arrive off the RPF interface): past
/// the bound they are refused like unwanted ones.
#[test]
fn many_sources_to_one_wanted_group_arriving_off_their_route_stay_within_max_mfes() {
    let mut h = H::new();
    let (a, _) = h.routing("A");
    h.take(a, &[1, 2]);
    h.m.set_max_mfes(10);
    h.add(a, Sg::star_g(G1), 2).unwrap(); // the attacker's own join, on if2
    for i in 1..=200u32 {
        // sources routed via if1, arriving on if2
        let s = Ipv4Addr::from(u32::from(Ipv4Addr::new(192, 0, 2, 0)) + i % 254 + 1);
        let _ = h.pkt(s, G1, 2);
    }
    assert!(
        mfe_count(&h) <= 10,
        "{} MFEs with max_mfes 10",
        mfe_count(&h)
    );
    assert_eq!((mfe_count(&h), h.m.mfes_refused()), (10, 190));
    assert_eq!(h.m.wanted_mfes_refused(), 0);
}

/// Rows: (arrival interface, max_mfes, entries already made) → refused?, lifetime. The route
/// towards S1 is via if1; a receiver of G1 on if3.
#[test]
fn an_entry_whose_packet_came_off_its_route_is_short_lived_and_refused_at_the_bound() {
    let rows: [(u32, usize, u32, Option<u32>); 4] = [
        (1, 0, 0, Some(900)),                    // on its route: forwarding lifetime
        (2, 0, 0, Some(NEGATIVE_MFE_TIMEOUT_S)), // off it: the short one, even without a bound
        (1, 1, 1, Some(900)),                    // wanted, on its route: made past the bound
        (2, 1, 1, None),                         // off its route, at the bound: refused
    ];
    for (arrival, max, before, want) in rows {
        let mut h = H::new();
        g1_wanted_on_if3(&mut h, S1, before, max);
        let got = h.pkt(S1, G1, arrival).unwrap();
        let row = (arrival, max, before);
        match want {
            Some(t) => {
                assert_eq!(got, NewPacket::Installed, "{row:?}");
                let m = h.m.mfe(h.now, S1, G1).unwrap();
                assert_eq!(
                    (m.iif, m.oifs, m.timeout_s),
                    (ifk(1), vec![ifk(3)], t),
                    "{row:?}"
                );
                if before == 0 {
                    assert_eq!(
                        h.m.next_deadline(),
                        Some(h.now + u64::from(t) * SEC),
                        "{row:?}"
                    );
                }
            }
            None => {
                assert_eq!(got, NewPacket::Refused, "{row:?}");
                assert_eq!(h.m.mfes_refused(), 1, "{row:?}");
            }
        }
    }
}

/// A short-lived entry made off its route, or refused at the bound, does not hide a route that
/// really moved to the arrival interface: the next upcall there makes the forwarding entry.
#[test]
fn a_route_moved_to_the_arrival_interface_still_rebuilds_an_entry_made_off_its_route() {
    let via = |ifindex| {
        StaticRpf::new().route(
            Ipv4Addr::new(192, 0, 2, 0),
            24,
            ifindex,
            Ipv4Addr::UNSPECIFIED,
        )
    };
    // (max_mfes, entries already made): made short-lived, or refused.
    for (max, before) in [(0, 0), (1, 1)] {
        let routes = Arc::new(Mutex::new(via(1)));
        let mut h = H::with_rpf(Box::new(MovableRpf(routes.clone())));
        g1_wanted_on_if3(&mut h, S2, before, max);
        let first = h.pkt(S1, G1, 2).unwrap();
        *routes.lock().unwrap() = via(2);
        if first == NewPacket::Installed {
            // The kernel holds the entry: the next packets on if2 are WRONGVIF upcalls.
            assert_eq!(h.m.mfe(h.now, S1, G1).unwrap().iif, ifk(1));
            h.m.wrong_interface(h.now, S1, G1, 2, &[]).unwrap();
        } else {
            // Nothing installed: the next packet after the unresolved entry is a NOCACHE again.
            assert_eq!(first, NewPacket::Refused);
            assert_eq!(h.pkt(S1, G1, 2), Ok(NewPacket::Installed));
        }
        let m = h.m.mfe(h.now, S1, G1).unwrap();
        assert_eq!(
            (m.iif, m.oifs, m.timeout_s),
            (ifk(2), vec![ifk(3)], 900),
            "max {max}"
        );
    }
}

/// Entries receivers want are made past `max_mfes`, up to the hard ceiling; past it they are
/// refused and counted on their own. (They arrive on two interfaces, each within its share.)
#[test]
fn wanted_entries_stop_at_the_hard_ceiling() {
    let mut h = H::new();
    let (a, _) = h.routing("A");
    h.take(a, &[1, 2, 3]);
    h.m.set_max_mfes(2);
    let ceiling = 2 * WANTED_MFE_CEILING;
    assert_eq!(h.m.mfe_share_limit(), 2 + 6 / 3);
    let s3 = Ipv4Addr::new(203, 0, 113, 5); // via if2
    for i in 1..=20 {
        h.add(a, Sg::star_g(group(i)), 3).unwrap();
        let want = if (i as usize) <= ceiling {
            NewPacket::Installed
        } else {
            NewPacket::Refused
        };
        let (s, on) = if i % 2 == 1 { (S1, 1) } else { (s3, 2) };
        assert_eq!(h.pkt(s, group(i), on), Ok(want), "group {i}");
    }
    assert_eq!(mfe_count(&h), ceiling);
    assert_eq!(
        (h.m.wanted_mfes_refused(), h.m.mfes_refused()),
        (20 - ceiling as u64, 0)
    );
    // An unwanted one is refused too, counted as such.
    assert_eq!(h.pkt(S1, group(50), 1), Ok(NewPacket::Refused));
    assert_eq!(h.m.mfes_refused(), 1);
    // No bound, no ceiling.
    h.m.set_max_mfes(0);
    assert_eq!(h.pkt(S1, group(20), 1), Ok(NewPacket::Installed));
}

/// RPF of the share rows: 192.0.2.0/24 via if1 (the attacker's LAN), 203.0.113.0/24 via if2,
/// 198.51.100.0/24 via if3.
fn three_lans() -> H {
    let rpf = StaticRpf::new()
        .route(Ipv4Addr::new(192, 0, 2, 0), 24, 1, Ipv4Addr::UNSPECIFIED)
        .route(Ipv4Addr::new(203, 0, 113, 0), 24, 2, Ipv4Addr::UNSPECIFIED)
        .route(Ipv4Addr::new(198, 51, 100, 0), 24, 3, Ipv4Addr::UNSPECIFIED);
    H::with_rpf(Box::new(rpf))
}

fn on_link(i: u32) -> Ipv4Addr {
    Ipv4Addr::from(u32::from(Ipv4Addr::new(192, 0, 2, 0)) + i)
}

/// Every incoming interface's count equals the MFEs the table holds arriving on it.
fn assert_counts_in_step(h: &H, what: &str) {
    let table = h.m.mfe_table(h.now);
    for i in 1..=3 {
        let held = table.iter().filter(|m| m.iif == ifk(i)).count();
        assert_eq!(h.m.mfes_arriving_on(ifk(i)), held, "{what}: if{i}");
    }
}

/// Review 9 #4: one LAN host sends to a group with receivers elsewhere from many on-link
/// addresses (they pass RPF). Past `max_mfes` its interface stops at its share of the headroom,
/// and a new stream arriving on another interface is still made.
#[test]
fn one_lan_stops_at_its_share_and_another_lans_new_stream_is_made() {
    let mut h = three_lans();
    let (a, _) = h.routing("A");
    h.take(a, &[1, 2, 3]);
    h.m.set_max_mfes(10);
    h.add(a, Sg::star_g(G1), 2).unwrap();
    // max_mfes 10 + the headroom 30 over three managed interfaces.
    let limit = 10 + 30 / 3;
    assert_eq!(h.m.mfe_share_limit(), limit);
    for i in 1..=40u32 {
        let want = if i as usize <= limit {
            NewPacket::Installed
        } else {
            NewPacket::Refused
        };
        assert_eq!(h.pkt(on_link(i), G1, 1), Ok(want), "source {i}");
    }
    assert_eq!(h.m.mfes_arriving_on(ifk(1)), limit);
    assert_eq!(
        (h.m.wanted_mfes_refused(), h.m.mfes_refused()),
        (40 - limit as u64, 0)
    );
    // Another LAN's new stream with a receiver: made, not refused.
    let s_other = Ipv4Addr::new(198, 51, 100, 7);
    h.add(a, Sg::star_g(G2), 2).unwrap();
    assert_eq!(h.pkt(s_other, G2, 3), Ok(NewPacket::Installed));
    assert_eq!(h.oifs(s_other, G2), vec![2]);
    // Below max_mfes nothing changes: one interface takes all of it.
    let mut h = three_lans();
    let (a, _) = h.routing("A");
    h.take(a, &[1, 2, 3]);
    h.m.set_max_mfes(100);
    h.add(a, Sg::star_g(G1), 2).unwrap();
    for i in 1..=100u32 {
        assert_eq!(h.pkt(on_link(i), G1, 1), Ok(NewPacket::Installed), "{i}");
    }
    assert_eq!(h.m.wanted_mfes_refused(), 0);
}

/// Rows of steps: the per-interface count follows the table when entries expire, are removed,
/// move with their route, give way to a static route and go with their interface; an interface
/// at its share gets room again as its entries go.
#[test]
fn the_count_per_incoming_interface_stays_in_step() {
    let routes = Arc::new(Mutex::new(StaticRpf::new().route(
        Ipv4Addr::new(192, 0, 2, 0),
        24,
        1,
        Ipv4Addr::UNSPECIFIED,
    )));
    let mut h = H::with_rpf(Box::new(MovableRpf(routes.clone())));
    let (a, _) = h.routing("A");
    h.take(a, &[1, 2, 3]);
    h.m.set_max_mfes(3);
    let limit = h.m.mfe_share_limit();
    assert_eq!(limit, 3 + 9 / 3);
    h.add(a, Sg::star_g(G1), 3).unwrap();
    for i in 1..=10u32 {
        let _ = h.pkt(on_link(i), G1, 1);
    }
    assert_eq!(h.m.mfes_arriving_on(ifk(1)), limit);
    assert_counts_in_step(&h, "made");
    // Expiry: three go (no traffic), the rest had traffic.
    let busy = MfeCounters {
        packets: 5,
        bytes: 500,
        wrong_if: 0,
    };
    h.now += 900 * SEC;
    h.m.on_deadline(h.now, |s, _| {
        Some(if s <= on_link(3) {
            MfeCounters::default()
        } else {
            busy
        })
    });
    assert_eq!(h.m.mfes_arriving_on(ifk(1)), limit - 3);
    assert_counts_in_step(&h, "expired");
    // Room again on if1: three more are made, the fourth refused.
    for i in 11..=14u32 {
        let want = if i <= 13 {
            NewPacket::Installed
        } else {
            NewPacket::Refused
        };
        assert_eq!(h.pkt(on_link(i), G1, 1), Ok(want), "source {i}");
    }
    assert_counts_in_step(&h, "made again");
    // A static route of (on_link(13), G1) in on if3: the dynamic entry on if1 gives way.
    let st = crate::manager::static_protocol::register_static(&mut h.m).unwrap();
    h.m.add_static_route(h.now, st, on_link(13), G1, ifk(3), &[ifk(2)])
        .unwrap();
    assert_eq!(h.m.mfe(h.now, on_link(13), G1).unwrap().iif, ifk(3));
    assert_eq!(h.m.mfes_arriving_on(ifk(3)), 1);
    assert_counts_in_step(&h, "static route");
    // Removed by its owner.
    h.m.remove_mfe(h.now, a, on_link(11), G1).unwrap();
    assert_counts_in_step(&h, "removed");
    // The route towards on_link(12) moves to if2: the entry is made again arriving there.
    *routes.lock().unwrap() = StaticRpf::new()
        .route(Ipv4Addr::new(192, 0, 2, 12), 32, 2, Ipv4Addr::UNSPECIFIED)
        .route(Ipv4Addr::new(192, 0, 2, 0), 24, 1, Ipv4Addr::UNSPECIFIED);
    h.m.wrong_interface(h.now, on_link(12), G1, 2, &[]).unwrap();
    assert_eq!(h.m.mfe(h.now, on_link(12), G1).unwrap().iif, ifk(2));
    assert_eq!(h.m.mfes_arriving_on(ifk(2)), 1);
    assert_counts_in_step(&h, "route moved");
    // The owner lets if2 go: its entries go with it.
    h.m.release_interface_ownership(h.now, a, ifk(2)).unwrap();
    assert_eq!(h.m.mfes_arriving_on(ifk(2)), 0);
    assert_counts_in_step(&h, "interface released");
}
