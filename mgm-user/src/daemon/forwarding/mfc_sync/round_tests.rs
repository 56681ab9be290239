//! A reconcile round, row by row: what changes while the dump is read, repairs per turn.
use super::round::{place, Round, COMPARES_PER_TURN, REPAIRS_PER_TURN};
use super::tests::e;
use super::*;
use std::net::Ipv4Addr;

fn set(m: &KernelMfc) -> ForwarderAction {
    ForwarderAction::SetMfe {
        source: m.source,
        group: m.group,
        iif: m.iif,
        oifs: m.oifs.clone(),
    }
}

fn del(m: &KernelMfc) -> ForwarderAction {
    ForwarderAction::DelMfe {
        source: m.source,
        group: m.group,
        iif: m.iif,
    }
}

/// The dump `kernel` is in, and mgm holds `mgm`.
fn dumped(r: &mut Round, mgm: &[KernelMfc], kernel: &[KernelMfc], now: u64) -> Vec<KernelMfc> {
    let mut kernel = kernel.to_vec();
    kernel.sort_by_key(place);
    r.dumped(kernel, now);
    let mut mgm = mgm.to_vec();
    mgm.sort_by_key(place);
    mgm
}

/// One turn with mgm holding `mgm` (sorted by place): the comparison's part, then the repairs.
fn turn(r: &mut Round, mgm: &[KernelMfc], compares: usize) -> Vec<Repair> {
    r.compare_turn(compares, |after, max| {
        mgm.iter()
            .filter(|m| after.is_none_or(|a| place(m) > a))
            .take(max)
            .cloned()
            .collect()
    });
    r.next_repairs(REPAIRS_PER_TURN)
}

/// Every repair of a round, turn by turn.
fn all_repairs(r: &mut Round, mgm: &[KernelMfc]) -> Vec<Repair> {
    let mut out = Vec::new();
    while !r.is_done() {
        out.extend(turn(r, mgm, COMPARES_PER_TURN));
    }
    out
}

#[test]
fn what_mgm_changes_during_the_dump_is_not_repaired() {
    #[allow(clippy::type_complexity)]
    let rows: Vec<(
        &str,
        Vec<ForwarderAction>,
        Vec<KernelMfc>,
        Vec<KernelMfc>,
        usize,
    )> = vec![
        // mgm's table when the dump is in; the kernel's as the dump read it.
        (
            "installed after the dump read past it: not deleted back",
            vec![set(&e(1, 1, 2, &[3]))],
            vec![e(1, 1, 2, &[3])],
            vec![],
            0,
        ),
        (
            "deleted after the dump read it: not installed back",
            vec![del(&e(1, 1, 2, &[3]))],
            vec![],
            vec![e(1, 1, 2, &[3])],
            0,
        ),
        (
            "its OIFs changed after the dump read it: the old ones not put back",
            vec![set(&e(1, 1, 2, &[3, 4]))],
            vec![e(1, 1, 2, &[3, 4])],
            vec![e(1, 1, 2, &[3])],
            0,
        ),
        (
            "another (S,G) changed: this one is still repaired",
            vec![set(&e(2, 1, 2, &[3]))],
            vec![e(1, 1, 2, &[3]), e(2, 1, 2, &[3])],
            vec![e(2, 1, 2, &[3])],
            1,
        ),
        (
            "nothing changed: the missing one installed",
            vec![],
            vec![e(1, 1, 2, &[3])],
            vec![],
            1,
        ),
    ];
    for (what, changed, mgm, kernel, repairs) in rows {
        let mut r = Round::dumping();
        assert!(r.is_dumping() && !r.is_done(), "{what}");
        assert_eq!(r.repairs_due(), None, "{what}: nothing due while dumping");
        r.touch(&changed);
        let mgm = dumped(&mut r, &mgm, &kernel, 7);
        assert_eq!(all_repairs(&mut r, &mgm).len(), repairs, "{what}");
        assert!(r.is_done(), "{what}");
    }
}

#[test]
fn a_change_after_the_comparison_cancels_the_repair_still_waiting() {
    let mut r = Round::dumping();
    let mgm: Vec<KernelMfc> = (1..=3).map(|s| e(s, 1, 2, &[3])).collect();
    let mgm = dumped(&mut r, &mgm, &[], 7);
    r.compare_turn(COMPARES_PER_TURN, |_, _| mgm.clone());
    // (2, 1) is changed by mgm before its repair's turn: mgm's own write stands.
    r.touch(&[set(&e(2, 1, 2, &[4]))]);
    let made: Vec<Ipv4Addr> = all_repairs(&mut r, &mgm)
        .into_iter()
        .map(|x| match x {
            Repair::Install { want, .. } => want.source,
            Repair::Delete(k) => k.source,
        })
        .collect();
    assert_eq!(
        made,
        [Ipv4Addr::new(192, 0, 2, 1), Ipv4Addr::new(192, 0, 2, 3)]
    );
}

#[test]
fn repairs_go_a_bounded_number_per_turn() {
    let mut r = Round::dumping();
    let n = 2 * REPAIRS_PER_TURN + 10;
    let mgm: Vec<KernelMfc> = (0..n)
        .map(|i| {
            let [_, _, hi, lo] = u32::try_from(i).unwrap().to_be_bytes();
            KernelMfc {
                source: Ipv4Addr::new(192, 0, 2, 1),
                group: Ipv4Addr::new(239, 2, hi, lo),
                iif: 2,
                oifs: vec![3],
            }
        })
        .collect();
    let mgm = dumped(&mut r, &mgm, &[], 42);
    let mut turns = Vec::new();
    while !r.is_done() {
        // Due at once (the loop's alarm fires again after the other inputs) while any is left.
        assert_eq!(r.repairs_due(), Some(42));
        turns.push(turn(&mut r, &mgm, COMPARES_PER_TURN).len());
    }
    assert_eq!(turns, [REPAIRS_PER_TURN, REPAIRS_PER_TURN, 10]);
    assert_eq!(r.repairs_due(), None);
}

#[test]
fn the_comparison_goes_a_bounded_number_per_turn_and_finds_every_difference() {
    // mgm: sources 0..100 of one group, some changed; the kernel: the same minus a few, plus
    // a few of its own, so both sides run ahead of the other across the turns.
    let mgm: Vec<KernelMfc> = (0..100).map(|s| e(s, 1, 2, &[3])).collect();
    let mut kernel: Vec<KernelMfc> = mgm
        .iter()
        .filter(|m| m.source.octets()[3] % 7 != 0)
        .cloned()
        .collect();
    kernel.extend((150..160).map(|s| e(s, 1, 2, &[3])));
    kernel[5].oifs = vec![4];
    let expected = compare(&mgm, &kernel);
    let missing = mgm.iter().filter(|m| m.source.octets()[3] % 7 == 0).count();
    assert_eq!(expected.len(), missing + 10 + 1);
    for per_turn in [1, 3, 16, 4096] {
        let mut r = Round::dumping();
        let mgm = dumped(&mut r, &mgm, &kernel, 1);
        let mut turns = 0;
        let mut found = Vec::new();
        while !r.is_done() {
            let mut seen = 0;
            r.compare_turn(per_turn, |after, max| {
                let part: Vec<KernelMfc> = mgm
                    .iter()
                    .filter(|m| after.is_none_or(|a| place(m) > a))
                    .take(max)
                    .cloned()
                    .collect();
                seen = part.len();
                part
            });
            assert!(seen <= per_turn, "at most {per_turn} of mgm's a turn");
            found.extend(r.next_repairs(usize::MAX));
            turns += 1;
        }
        assert_eq!(found.len(), expected.len(), "{per_turn} a turn");
        for x in &expected {
            assert!(found.contains(x), "{per_turn} a turn: {x:?}");
        }
        assert!(turns >= 110 / per_turn, "{per_turn} a turn: {turns} turns");
    }
}
