//! The comparison of mgm's entries with the kernel's, row by row.

use super::*;
use std::net::Ipv4Addr;

/// The entry (192.0.2.s, 239.1.1.g) in on `iif`, out on `oifs`.
pub(super) fn e(s: u8, g: u8, iif: u32, oifs: &[u32]) -> KernelMfc {
    KernelMfc {
        source: Ipv4Addr::new(192, 0, 2, s),
        group: Ipv4Addr::new(239, 1, 1, g),
        iif,
        oifs: oifs.to_vec(),
    }
}

fn install(want: KernelMfc, found: Option<KernelMfc>) -> Repair {
    Repair::Install { want, found }
}

#[test]
fn compare_row_by_row() {
    #[allow(clippy::type_complexity)]
    let rows: Vec<(&str, Vec<KernelMfc>, Vec<KernelMfc>, Vec<Repair>)> = vec![
        ("both empty", vec![], vec![], vec![]),
        (
            "the same",
            vec![e(1, 1, 2, &[3])],
            vec![e(1, 1, 2, &[3])],
            vec![],
        ),
        (
            "the same, negative entry",
            vec![e(1, 1, 2, &[])],
            vec![e(1, 1, 2, &[])],
            vec![],
        ),
        (
            "missing from the kernel",
            vec![e(1, 1, 2, &[3])],
            vec![],
            vec![install(e(1, 1, 2, &[3]), None)],
        ),
        (
            "another incoming interface",
            vec![e(1, 1, 2, &[3])],
            vec![e(1, 1, 4, &[3])],
            vec![install(e(1, 1, 2, &[3]), Some(e(1, 1, 4, &[3])))],
        ),
        (
            "an outgoing interface more",
            vec![e(1, 1, 2, &[3])],
            vec![e(1, 1, 2, &[3, 4])],
            vec![install(e(1, 1, 2, &[3]), Some(e(1, 1, 2, &[3, 4])))],
        ),
        (
            "an outgoing interface less",
            vec![e(1, 1, 2, &[3, 4])],
            vec![e(1, 1, 2, &[3])],
            vec![install(e(1, 1, 2, &[3, 4]), Some(e(1, 1, 2, &[3])))],
        ),
        (
            "not mgm's",
            vec![],
            vec![e(1, 1, 2, &[3])],
            vec![Repair::Delete(e(1, 1, 2, &[3]))],
        ),
        (
            "same group, other source: one of each",
            vec![e(1, 1, 2, &[3])],
            vec![e(2, 1, 2, &[3])],
            vec![
                install(e(1, 1, 2, &[3]), None),
                Repair::Delete(e(2, 1, 2, &[3])),
            ],
        ),
        (
            "any order in, (S,G) order out",
            vec![e(3, 1, 2, &[3]), e(1, 2, 2, &[3]), e(2, 1, 2, &[3])],
            vec![e(9, 9, 2, &[]), e(2, 1, 2, &[3]), e(1, 1, 2, &[])],
            vec![
                Repair::Delete(e(1, 1, 2, &[])),
                install(e(1, 2, 2, &[3]), None),
                install(e(3, 1, 2, &[3]), None),
                Repair::Delete(e(9, 9, 2, &[])),
            ],
        ),
    ];
    for (what, mgm, kernel, want) in rows {
        assert_eq!(compare(&mgm, &kernel), want, "{what}");
    }
}

#[test]
fn a_large_table_in_step_needs_nothing() {
    let mgm: Vec<KernelMfc> = (0..=255u8)
        .flat_map(|s| (0..=255u8).map(move |g| e(s, g, 2, &[3, 4])))
        .collect();
    let mut kernel = mgm.clone();
    kernel.reverse();
    assert!(compare(&mgm, &kernel).is_empty());
    kernel.pop();
    assert_eq!(
        compare(&mgm, &kernel),
        vec![install(e(0, 0, 2, &[3, 4]), None)]
    );
}

#[test]
fn the_schedule() {
    let mut s = MfcSync::new(None);
    assert_eq!(s.next_deadline(), None, "off until set");
    s.set_interval(60, 1000);
    assert_eq!(s.next_deadline(), Some(1060));
    s.set_interval(0, 2000);
    assert_eq!(s.next_deadline(), None, "0: off");
}

#[test]
fn the_interval_setting() {
    use std::time::Duration;
    let parse = crate::cli::parse_reconcile_interval;
    assert_eq!(parse("0"), Ok(Duration::ZERO), "off");
    assert_eq!(parse("0s"), Ok(Duration::ZERO), "off");
    assert_eq!(parse("60s"), Ok(Duration::from_secs(60)));
    assert_eq!(parse("1m30s"), Ok(Duration::from_secs(90)));
    for bad in ["500ms", "25h", "-1s", "soon", ""] {
        let e = parse(bad).unwrap_err();
        assert!(e.starts_with(bad), "{bad}: {e}");
    }
}

#[test]
fn which_upcalls_are_desyncs_row_by_row() {
    use crate::sys::upcall::{Upcall, UpcallKind::*};
    let up = |kind, vif| Upcall {
        kind,
        vif,
        source: Ipv4Addr::new(192, 0, 2, 1),
        group: Ipv4Addr::new(239, 1, 1, 1),
    };
    // (installed with parent, upcall kind, arrival VIF, moved there lately) → desync?
    let rows = [
        (None, NoCache, 1, false, false),    // not installed: a new (S,G)
        (Some(1), NoCache, 1, false, true),  // installed: the kernel lost it
        (Some(1), WrongVif, 1, false, true), // from its own iif: the kernel's parent differs
        (Some(1), WrongVifWhole, 1, false, true),
        (Some(1), WrongVif, 1, true, false), // queued before mgm moved it there
        (Some(1), WrongVif, 2, false, false), // a real wrong-interface packet
        (Some(1), WholePkt, 1, false, false),
    ];
    for (parent, kind, vif, moved, want) in rows {
        assert_eq!(
            is_desync(parent, &up(kind, vif), moved),
            want,
            "{parent:?} {kind:?} vif {vif} moved {moved}"
        );
    }
}

#[test]
fn the_moves_the_socket_reports_are_noted_with_the_clock() {
    let mut s = MfcSync::new(None);
    let (src, g) = (Ipv4Addr::new(192, 0, 2, 1), Ipv4Addr::new(239, 1, 1, 1));
    s.moved(&[]);
    assert!(
        s.moves.is_empty(),
        "no move, nothing noted (and no clock read)"
    );
    s.moved(&[(src, g)]);
    let now = crate::time::monotonic_ns().expect("clock");
    assert!(s.moves.moved_lately(now, src, g));
    assert!(!s.moves.moved_lately(now, Ipv4Addr::new(192, 0, 2, 2), g));
}
