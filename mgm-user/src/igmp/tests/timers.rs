//! §6.2 / §6.5 timer expiry in both modes, and the general-query schedule.

use super::*;

fn general_queries(actions: &[(u64, Action)]) -> Vec<u64> {
    timed_queries(actions)
        .into_iter()
        .filter(|(_, q)| q.is_general())
        .map(|(t, _)| t)
        .collect()
}

#[test]
fn include_source_expiry_deletes_record_then_group() {
    let mut r = Rig::querier();
    r.rec(IS_IN, G, &[S1]);
    let a = r.run_until(T0 + GMI - 1);
    assert!(deltas(&untimed(a)).is_empty());
    assert_eq!(r.source_list(G), vec![S1]);
    let a = untimed(r.run_until(T0 + GMI));
    assert_eq!(deltas(&a), vec![(G, Some(S1), Leave)]);
    assert!(a.contains(&Action::DeleteSource {
        ifindex: IFINDEX,
        group: G,
        source: S1
    }));
    assert!(a.contains(&Action::DeleteMember {
        ifindex: IFINDEX,
        group: G
    }));
    assert!(!r.has_group(G));
}

#[test]
fn include_one_source_expires_other_stays() {
    let mut r = Rig::querier();
    r.rec(IS_IN, G, &[S1]);
    r.run_until(T0 + 30 * SEC);
    r.rec(ALLOW, G, &[S2]);
    let a = r.run_until(T0 + GMI);
    assert_eq!(timed_deltas(&a), vec![(T0 + GMI, Some(S1), Leave)]);
    assert_eq!(r.source_list(G), vec![S2]);
    assert_eq!(r.view.member_of(G).unwrap().source_count, 1);
}

#[test]
fn exclude_source_expiry_moves_it_to_y_and_blocks() {
    let mut r = Rig::querier();
    r.rec(ALLOW, G, &[S1]);
    r.run_until(T0 + 10 * SEC);
    r.rec(IS_EX, G, &[S1]); // row 4: S1 stays in X with T0+GMI, GT = T0+10s+GMI
    assert_eq!(r.xy(G), (vec![S1], vec![]));
    let a = r.run_until(T0 + GMI);
    assert_eq!(timed_deltas(&a), vec![(T0 + GMI, Some(S1), Block)]);
    assert_eq!(r.xy(G), (vec![], vec![S1]), "record kept in Y");
    assert_eq!(r.view.source_of(G, S1).unwrap().expires_ns, 0);
    // GT expiry: INCLUDE with nothing left -> group deleted; (*,G) left before the unblock.
    let a = r.run_until(T0 + 10 * SEC + GMI);
    assert_eq!(
        timed_deltas(&a),
        vec![
            (T0 + 10 * SEC + GMI, None, Leave),
            (T0 + 10 * SEC + GMI, Some(S1), Unblock)
        ]
    );
    assert!(!r.has_group(G));
}

#[test]
fn exclude_group_expiry_switches_to_include_keeping_running_sources() {
    let mut r = Rig::querier();
    r.rec(IS_EX, G, &[S2]); // EXCLUDE({}, {S2}), GT = T0+GMI
    r.run_until(T0 + 10 * SEC);
    r.rec(ALLOW, G, &[S1]); // row 9: S1 = T0+10s+GMI
    let a = r.run_until(T0 + GMI);
    assert_eq!(r.group(G).mode, FilterMode::Include);
    assert_eq!(r.source_list(G), vec![S1]);
    assert_eq!(r.st(G, S1), T0 + 10 * SEC + GMI);
    assert_eq!(r.group(G).group_timer, 0);
    assert_eq!(
        timed_deltas(&a),
        vec![
            (T0 + GMI, Some(S1), Join),
            (T0 + GMI, None, Leave),
            (T0 + GMI, Some(S2), Unblock)
        ]
    );
    let m = r.view.member_of(G).unwrap();
    assert_eq!(m.filter_mode, mgm_common::maps::FILTER_MODE_INCLUDE);
    assert_eq!(m.group_expires_ns, 0);
    let a = r.run_until(T0 + 10 * SEC + GMI);
    assert_eq!(
        timed_deltas(&a),
        vec![(T0 + 10 * SEC + GMI, Some(S1), Leave)]
    );
    assert!(!r.has_group(G));
}

#[test]
fn exclude_group_without_sources_expires_exactly_at_gmi() {
    let mut r = Rig::querier();
    r.v2_report(H1, G);
    r.run_until(T0 + GMI - 1);
    assert!(r.has_group(G));
    let a = r.run_until(T0 + GMI);
    assert_eq!(timed_deltas(&a), vec![(T0 + GMI, None, Leave)]);
    assert!(!r.has_group(G));
    assert!(r.view.members.borrow().is_empty());
}

#[test]
fn startup_then_query_interval() {
    let (mut r, a) = Rig::new();
    let q = queries(&a);
    assert_eq!(q.len(), 1);
    assert_eq!(q[0].0, Ipv4Addr::new(224, 0, 0, 1));
    assert_eq!(
        q[0].1,
        QueryMessage {
            version: QueryVersion::V3,
            group: Ipv4Addr::UNSPECIFIED,
            sources: vec![],
            s_flag: false,
            max_resp_tenths: 100,
            qrv: 2,
            qqic_secs: 125,
        }
    );
    assert_eq!(r.iface.startup_queries_left(), 1);
    let a = r.run_until(T0 + 400 * SEC);
    assert_eq!(
        general_queries(&a),
        vec![T0 + 31_250 * MS, T0 + 156_250 * MS, T0 + 281_250 * MS]
    );
}

#[test]
fn configured_startup_count_and_interval() {
    let cfg = IgmpConfig {
        startup_query_count: Some(3),
        startup_query_interval: Some(std::time::Duration::from_secs(10)),
        ..IgmpConfig::default()
    };
    let (mut r, a) = Rig::with(cfg);
    assert_eq!(queries(&a).len(), 1);
    let a = r.run_until(T0 + 200 * SEC);
    assert_eq!(
        general_queries(&a),
        vec![T0 + 10 * SEC, T0 + 20 * SEC, T0 + 145 * SEC]
    );
}

#[test]
fn next_deadline_is_exact() {
    let mut r = Rig::querier();
    assert_eq!(r.iface.next_deadline(), Some(T0 + 31_250 * MS));
    r.rec(IS_IN, G, &[S1]);
    assert_eq!(r.iface.next_deadline(), Some(T0 + 31_250 * MS));
    r.run_until(T0 + 200 * SEC);
    assert_eq!(r.iface.next_deadline(), Some(T0 + GMI));
    r.rec(IS_IN, G, &[S1]); // refresh moves the deadline later; the stale entry is dropped
    assert_eq!(r.iface.next_deadline(), Some(T0 + 281_250 * MS));
}

#[test]
fn late_deadline_call_handles_everything_due() {
    // The shell may wake late: one call handles all that is due.
    let mut r = Rig::querier();
    r.rec(IS_IN, G, &[S1]);
    r.rec(IS_IN, G2, &[S2]);
    r.now = T0 + 1000 * SEC;
    let a = r.iface.on_deadline(r.now, &r.view);
    r.view.apply(&a);
    assert!(!r.has_group(G) && !r.has_group(G2));
    assert_eq!(
        deltas(&a),
        vec![(G, Some(S1), Leave), (G2, Some(S2), Leave)]
    );
    assert_eq!(
        queries(&a).len(),
        1,
        "one general query, not one per missed interval"
    );
}

#[test]
fn a_mass_expiry_is_handled_a_bounded_number_of_groups_per_call() {
    use crate::igmp::interface::DUE_GROUPS_PER_CALL;
    let mut r = Rig::querier();
    let n = DUE_GROUPS_PER_CALL + 5;
    for i in 0..n {
        let group = Ipv4Addr::new(239, 3, (i / 250) as u8, 1 + (i % 250) as u8);
        let host = Ipv4Addr::new(198, 51, 100, 1 + (i % 200) as u8);
        r.v2_report(host, group);
    }
    let gone = |a: &[Action]| {
        a.iter()
            .filter(|x| matches!(x, Action::DeleteMember { .. }))
            .count()
    };
    let due = T0 + GMI;
    r.run_until(due - 1);
    assert_eq!(r.iface.group_count(), n);
    let a = r.iface.on_deadline(due, &r.view);
    r.view.apply(&a);
    assert_eq!(gone(&a), DUE_GROUPS_PER_CALL, "one call, one budget");
    assert_eq!(
        r.iface.next_deadline(),
        Some(due),
        "the rest still due: come back at once"
    );
    let a = r.iface.on_deadline(due, &r.view);
    r.view.apply(&a);
    assert_eq!(gone(&a), 5);
    assert_eq!(r.iface.group_count(), 0);
    r.check_invariants();
}
