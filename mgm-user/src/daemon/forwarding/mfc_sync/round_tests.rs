//! A reconcile round, row by row: what changes while the dump is read, repairs per turn.
use super::round::{Round, REPAIRS_PER_TURN};
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

/// Every repair of a round, turn by turn.
fn all_repairs(r: &mut Round) -> Vec<Repair> {
    let mut out = Vec::new();
    while !r.is_done() {
        out.extend(r.next_repairs(REPAIRS_PER_TURN));
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
        r.dumped(&mgm, &kernel, 7);
        assert_eq!(all_repairs(&mut r).len(), repairs, "{what}");
        assert!(r.is_done(), "{what}");
    }
}

#[test]
fn a_change_after_the_comparison_cancels_the_repair_still_waiting() {
    let mut r = Round::dumping();
    let mgm: Vec<KernelMfc> = (1..=3).map(|s| e(s, 1, 2, &[3])).collect();
    r.dumped(&mgm, &[], 7);
    // (2, 1) is changed by mgm before its repair's turn: mgm's own write stands.
    r.touch(&[set(&e(2, 1, 2, &[4]))]);
    let made: Vec<Ipv4Addr> = all_repairs(&mut r)
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
    r.dumped(&mgm, &[], 42);
    let mut turns = Vec::new();
    while !r.is_done() {
        // Due at once (the loop's alarm fires again after the other inputs) while any is left.
        assert_eq!(r.repairs_due(), Some(42));
        turns.push(r.next_repairs(REPAIRS_PER_TURN).len());
    }
    assert_eq!(turns, [REPAIRS_PER_TURN, REPAIRS_PER_TURN, 10]);
    assert_eq!(r.repairs_due(), None);
}
