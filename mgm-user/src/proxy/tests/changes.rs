//! RFC 3376 §5.1: state-change reports, their retransmissions, and changes merged while
//! retransmissions are pending.

use super::*;

/// A rig where `G` is joined (EXCLUDE({})) and its retransmissions are over; clock at T0 + 10 s.
fn joined() -> Rig {
    let mut r = Rig::new();
    r.delays(&[300 * MS]);
    r.set(G, exc(&[]));
    r.run_until(T0 + 10 * SEC);
    r.asked();
    r
}

/// Sets `f`, expecting `want` now and once more (the retransmission, 100 ms later).
fn step(r: &mut Rig, f: Filter, want: Vec<Rec>) {
    r.delays(&[100 * MS]);
    let t = r.now;
    assert_eq!(r.set(G, f.clone()), vec![Msg::V3(want.clone())], "to {f}");
    assert_eq!(
        r.run_until(t + SEC),
        vec![(t + 100 * MS, Msg::V3(want))],
        "to {f}"
    );
}

#[test]
fn join_sends_to_ex_now_and_once_more_within_the_interval() {
    let mut r = Rig::new();
    r.delays(&[300 * MS]);
    assert_eq!(r.set(G, exc(&[])), vec![v3(&[rec(TO_EX, G, &[])])]);
    assert_eq!(
        r.asked(),
        vec![URI],
        "the delay is drawn within the interval"
    );
    assert_eq!(r.host.next_deadline(), Some(T0 + 300 * MS));
    assert_eq!(r.host.groups(), vec![(G, exc(&[]))]);
    let later = r.settle();
    assert_eq!(later, vec![(T0 + 300 * MS, v3(&[rec(TO_EX, G, &[])]))]);
    assert_eq!(
        r.host.next_deadline(),
        None,
        "robustness 2: two transmissions"
    );
    assert!(r.asked().is_empty());
}

#[test]
fn leave_sends_to_in_now_and_retransmits_then_forgets() {
    let mut r = joined();
    r.delays(&[700 * MS]);
    assert_eq!(r.set(G, Filter::none()), vec![v3(&[rec(TO_IN, G, &[])])]);
    assert!(
        r.host.groups().is_empty(),
        "no interface state while the leave is retransmitted"
    );
    let later = r.settle();
    assert_eq!(
        later,
        vec![(T0 + 10 * SEC + 700 * MS, v3(&[rec(TO_IN, G, &[])]))]
    );
    assert_eq!(r.host.next_deadline(), None);
    assert_eq!(r.asked(), vec![URI]);
}

#[test]
fn include_source_changes_are_allow_and_block() {
    let mut r = Rig::new();
    // INCLUDE({}) → INCLUDE(B) is no filter-mode change: ALLOW(B).
    step(&mut r, inc(&[S1]), vec![rec(ALLOW, G, &[S1])]);
    step(&mut r, inc(&[S1, S2]), vec![rec(ALLOW, G, &[S2])]);
    step(
        &mut r,
        inc(&[S2, S3]),
        vec![rec(ALLOW, G, &[S3]), rec(BLOCK, G, &[S1])],
    );
    step(&mut r, inc(&[S3]), vec![rec(BLOCK, G, &[S2])]);
    // A leave from INCLUDE mode blocks the last sources.
    step(&mut r, Filter::none(), vec![rec(BLOCK, G, &[S3])]);
    assert!(r.host.groups().is_empty());
    assert_eq!(r.host.next_deadline(), None);
}

#[test]
fn exclude_source_changes_are_allow_and_block() {
    let mut r = joined();
    step(&mut r, exc(&[S1]), vec![rec(BLOCK, G, &[S1])]);
    step(&mut r, exc(&[S1, S2]), vec![rec(BLOCK, G, &[S2])]);
    step(
        &mut r,
        exc(&[S2, S3]),
        vec![rec(ALLOW, G, &[S1]), rec(BLOCK, G, &[S3])],
    );
    step(&mut r, exc(&[]), vec![rec(ALLOW, G, &[S2, S3])]);
}

#[test]
fn filter_mode_changes_are_to_ex_and_to_in_with_the_new_state() {
    let mut r = Rig::new();
    r.delays(&[100 * MS, 100 * MS, 100 * MS]);
    r.set(G, inc(&[S1]));
    r.settle();
    assert_eq!(r.set(G, exc(&[S2])), vec![v3(&[rec(TO_EX, G, &[S2])])]);
    r.settle();
    assert_eq!(
        r.set(G, inc(&[S1, S3])),
        vec![v3(&[rec(TO_IN, G, &[S1, S3])])]
    );
    let later = r.settle();
    assert_eq!(later.len(), 1);
    assert_eq!(later[0].1, v3(&[rec(TO_IN, G, &[S1, S3])]));
}

#[test]
fn source_change_during_a_pending_join_is_sent_in_to_ex_and_restarts_the_count() {
    let mut r = Rig::new();
    r.delays(&[300 * MS, 400 * MS]);
    r.set(G, exc(&[]));
    r.run_until(T0 + 100 * MS);
    // The join's retransmission (due at +300 ms) is pending: merged, sent now, count reset.
    assert_eq!(r.set(G, exc(&[S1])), vec![v3(&[rec(TO_EX, G, &[S1])])]);
    let later = r.settle();
    assert_eq!(
        later,
        vec![(T0 + 500 * MS, v3(&[rec(TO_EX, G, &[S1])]))],
        "one more, with the new state; none at +300 ms"
    );
    assert_eq!(r.asked(), vec![URI, URI]);
}

#[test]
fn pending_source_records_are_combined_and_the_count_reset() {
    let mut r = Rig::with(HostConfig {
        robustness: 3,
        ..HostConfig::default()
    });
    r.delays(&[300 * MS, 500 * MS]);
    assert_eq!(r.set(G, inc(&[S1])), vec![v3(&[rec(ALLOW, G, &[S1])])]);
    let first = r.run_until(T0 + 400 * MS);
    assert_eq!(first, vec![(T0 + 300 * MS, v3(&[rec(ALLOW, G, &[S1])]))]);
    // One ALLOW(S1) still to go at +800 ms when S2 comes: S1 and S2 go together, 3 more times.
    r.delays(&[200 * MS, 250 * MS]);
    assert_eq!(
        r.set(G, inc(&[S1, S2])),
        vec![v3(&[rec(ALLOW, G, &[S1, S2])])]
    );
    let later = r.settle();
    assert_eq!(
        later,
        vec![
            (T0 + 600 * MS, v3(&[rec(ALLOW, G, &[S1, S2])])),
            (T0 + 850 * MS, v3(&[rec(ALLOW, G, &[S1, S2])])),
        ]
    );
    assert_eq!(r.asked(), vec![URI; 4]);
}

#[test]
fn a_pending_source_flips_record_with_the_current_state() {
    let mut r = Rig::new();
    r.delays(&[300 * MS, 300 * MS]);
    r.set(G, inc(&[S1]));
    r.run_until(T0 + 100 * MS);
    // S1 is pending as ALLOW; now S1 goes and S2 comes: BLOCK(S1), ALLOW(S2).
    assert_eq!(
        r.set(G, inc(&[S2])),
        vec![v3(&[rec(ALLOW, G, &[S2]), rec(BLOCK, G, &[S1])])]
    );
    let later = r.settle();
    assert_eq!(
        later,
        vec![(
            T0 + 400 * MS,
            v3(&[rec(ALLOW, G, &[S2]), rec(BLOCK, G, &[S1])])
        )]
    );
}

#[test]
fn a_mode_change_replaces_pending_source_records() {
    let mut r = Rig::new();
    r.delays(&[300 * MS, 300 * MS]);
    r.set(G, inc(&[S1, S2]));
    r.run_until(T0 + 100 * MS);
    assert_eq!(r.set(G, exc(&[S3])), vec![v3(&[rec(TO_EX, G, &[S3])])]);
    let later = r.settle();
    assert_eq!(
        later,
        vec![(T0 + 400 * MS, v3(&[rec(TO_EX, G, &[S3])]))],
        "no ALLOW(S1, S2) after the TO_EX"
    );
}

#[test]
fn rejoin_while_the_leave_is_retransmitted() {
    let mut r = joined();
    let t1 = r.now;
    r.delays(&[500 * MS, 600 * MS]);
    r.set(G, Filter::none());
    r.run_until(t1 + 100 * MS);
    assert_eq!(r.set(G, exc(&[])), vec![v3(&[rec(TO_EX, G, &[])])]);
    assert_eq!(r.host.groups(), vec![(G, exc(&[]))]);
    let later = r.settle();
    assert_eq!(later, vec![(t1 + 700 * MS, v3(&[rec(TO_EX, G, &[])]))]);
}

#[test]
fn robustness_sets_the_number_of_transmissions() {
    let mut r = Rig::with(HostConfig {
        robustness: 1,
        ..HostConfig::default()
    });
    assert_eq!(r.set(G, exc(&[])), vec![v3(&[rec(TO_EX, G, &[])])]);
    assert!(r.asked().is_empty(), "no retransmission, nothing drawn");
    assert_eq!(r.host.next_deadline(), None);

    let mut r = Rig::with(HostConfig {
        robustness: 3,
        unsolicited_report_interval_ns: 5 * SEC,
        ..HostConfig::default()
    });
    r.delays(&[2 * SEC, 4 * SEC]);
    r.set(G, exc(&[]));
    let later = r.settle();
    assert_eq!(
        later,
        vec![
            (T0 + 2 * SEC, v3(&[rec(TO_EX, G, &[])])),
            (T0 + 6 * SEC, v3(&[rec(TO_EX, G, &[])])),
        ]
    );
    assert_eq!(r.asked(), vec![5 * SEC, 5 * SEC]);
}

#[test]
fn the_same_wish_again_sends_nothing() {
    let mut r = joined();
    assert!(r.set(G, exc(&[])).is_empty());
    assert!(
        r.set(G2, Filter::none()).is_empty(),
        "leaving a group never joined"
    );
    assert!(r.asked().is_empty());
    assert_eq!(r.host.next_deadline(), None);
}

#[test]
fn retransmissions_due_together_share_a_report() {
    let mut r = Rig::new();
    r.delays(&[300 * MS, 300 * MS]);
    r.set(G2, exc(&[]));
    r.set(G, inc(&[S1]));
    let later = r.settle();
    assert_eq!(
        later,
        vec![(
            T0 + 300 * MS,
            v3(&[rec(ALLOW, G, &[S1]), rec(TO_EX, G2, &[])])
        )]
    );
}
