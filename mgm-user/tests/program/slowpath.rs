//! The slow path: each non-refresh case goes up with its reason, entries untouched.

use super::support::*;

// ---------------------------------------------------------------------------------------------
// Slow path: each non-refresh case with its reason, entries untouched
// ---------------------------------------------------------------------------------------------

/// Installs `m` for G1 (and `sources` with `expires`), runs `frame`, expects one event with `why`
/// and the entry unchanged.
fn slow(fx: &mut Fx, m: MemberState, sources: &[([u8; 4], u64)], frame: &[u8], why: u8) {
    fx.reset();
    fx.add_member(G1, m);
    for (s, e) in sources {
        fx.add_source(G1, *s, *e);
    }
    fx.run(frame);
    let ev = fx.one_event();
    assert_eq!(ev.reason, why, "slow-path reason");
    assert_eq!(fx.member(G1), m, "entry untouched");
    for (s, e) in sources {
        assert_eq!(fx.source(G1, *s).expires_ns, *e, "source untouched");
    }
    let st = fx.stats();
    assert_eq!((st.events_sent, st.fast_path_refreshes), (1, 0));
}

#[test]
fn slow_path_v1_v2_reports() {
    let mut fx = fixture();
    use reason::*;
    // Compatibility mode does not match the report version.
    slow(
        &mut fx,
        exclude_member(3),
        &[],
        &v2_report(G1),
        STATE_CHANGE,
    );
    slow(
        &mut fx,
        exclude_member(1),
        &[],
        &v2_report(G1),
        STATE_CHANGE,
    );
    slow(
        &mut fx,
        exclude_member(2),
        &[],
        &v1_report(G1),
        STATE_CHANGE,
    );
    slow(
        &mut fx,
        exclude_member(3),
        &[],
        &v1_report(G1),
        STATE_CHANGE,
    );
    // INCLUDE mode, or EXCLUDE with source records.
    slow(
        &mut fx,
        include_member(0),
        &[],
        &v2_report(G1),
        STATE_CHANGE,
    );
    slow(
        &mut fx,
        MemberState {
            source_count: 1,
            ..exclude_member(2)
        },
        &[(S1, 0)],
        &v2_report(G1),
        STATE_CHANGE,
    );
    // The daemon asked for every report.
    slow(
        &mut fx,
        MemberState {
            flags: MEMBER_FLAG_SLOW_PATH,
            ..exclude_member(2)
        },
        &[],
        &v2_report(G1),
        DAEMON_REQUEST,
    );
    slow(
        &mut fx,
        MemberState {
            flags: MEMBER_FLAG_SLOW_PATH,
            ..exclude_member(1)
        },
        &[],
        &v1_report(G1),
        DAEMON_REQUEST,
    );
}

#[test]
fn slow_path_v3_records() {
    let mut fx = fixture();
    use reason::*;
    let ex = exclude_member(3);
    let ex_src = MemberState {
        source_count: 1,
        ..exclude_member(3)
    };
    let inc = include_member(1);
    // IS_EX with sources, or in INCLUDE mode, or with source records.
    slow(
        &mut fx,
        ex,
        &[],
        &v3_frame(&[rec(IS_EX, G1, &[S1])]),
        STATE_CHANGE,
    );
    slow(
        &mut fx,
        inc,
        &[(S1, 1)],
        &v3_frame(&[rec(IS_EX, G1, &[])]),
        STATE_CHANGE,
    );
    slow(
        &mut fx,
        ex_src,
        &[(S1, 0)],
        &v3_frame(&[rec(IS_EX, G1, &[])]),
        STATE_CHANGE,
    );
    // Filter-mode and source-list changes.
    for t in [TO_IN, TO_EX, ALLOW, BLOCK] {
        slow(
            &mut fx,
            ex,
            &[],
            &v3_frame(&[rec(t, G1, &[])]),
            STATE_CHANGE,
        );
        slow(
            &mut fx,
            inc,
            &[(S1, 1)],
            &v3_frame(&[rec(t, G1, &[S1])]),
            STATE_CHANGE,
        );
    }
    // An unknown record type is the daemon's to ignore.
    slow(
        &mut fx,
        ex,
        &[],
        &v3_frame(&[rec(9, G1, &[])]),
        STATE_CHANGE,
    );
    // IS_IN with a source not held, and in EXCLUDE mode with an expired source.
    slow(
        &mut fx,
        inc,
        &[(S1, 1)],
        &v3_frame(&[rec(IS_IN, G1, &[S2])]),
        STATE_CHANGE,
    );
    slow(
        &mut fx,
        ex_src,
        &[(S1, 1)],
        &v3_frame(&[rec(IS_IN, G1, &[S1])]),
        STATE_CHANGE,
    );
    // Daemon request.
    let ask = MemberState {
        flags: MEMBER_FLAG_SLOW_PATH,
        ..ex
    };
    slow(
        &mut fx,
        ask,
        &[],
        &v3_frame(&[rec(IS_EX, G1, &[])]),
        DAEMON_REQUEST,
    );
    let ask_inc = MemberState {
        flags: MEMBER_FLAG_SLOW_PATH,
        ..inc
    };
    slow(
        &mut fx,
        ask_inc,
        &[(S1, 1)],
        &v3_frame(&[rec(IS_IN, G1, &[S1])]),
        DAEMON_REQUEST,
    );
    // Unknown group.
    slow(
        &mut fx,
        ex,
        &[],
        &v3_frame(&[rec(IS_EX, G2, &[])]),
        NEW_GROUP,
    );
    // No records at all.
    slow(&mut fx, ex, &[], &v3_frame(&[]), STATE_CHANGE);
}

#[test]
fn slow_path_too_long() {
    let mut fx = fixture();
    fx.add_member(G1, include_member(33));
    let many: Vec<[u8; 4]> = (0..33u8).map(|i| [198, 51, 100, 10 + i]).collect();
    for s in &many {
        fx.add_source(G1, *s, 1);
    }
    fx.run(&v3_frame(&[rec(IS_IN, G1, &many)]));
    assert_eq!(fx.one_event().reason, reason::TOO_LONG);
    assert_eq!(
        fx.source(G1, many[0]).expires_ns,
        1,
        "a record beyond the walk is not touched"
    );

    // 32 sources are walked in kernel.
    fx.run(&v3_frame(&[rec(IS_IN, G1, &many[..32])]));
    fx.no_event();

    // 17 records: TOO_LONG, but the first 16 that are refreshes are applied.
    fx.reset();
    fx.add_member(G1, exclude_member(3));
    let mut recs = vec![rec(IS_EX, G1, &[])];
    recs.extend((0..16u8).map(|i| rec(IS_EX, [239, 9, 9, i], &[])));
    let t0 = monotonic_ns();
    fx.run(&v3_frame(&recs));
    assert_eq!(fx.one_event().reason, reason::TOO_LONG);
    assert!(fx.member(G1).group_expires_ns >= t0 + GMI);
    let st = fx.stats();
    assert_eq!((st.rx_v3_group_records, st.fast_path_refreshes), (17, 1));
}

#[test]
fn slow_path_mixed_report_applies_refreshes_and_goes_up() {
    let mut fx = fixture();
    fx.add_member(G1, exclude_member(3));
    fx.add_member(G2, exclude_member(3));
    let t0 = monotonic_ns();
    let m = report_v3(&[
        rec(IS_EX, G1, &[]),
        rec(TO_IN, G2, &[S1]),
        rec(ALLOW, [239, 7, 7, 7], &[S2]),
    ]);
    fx.run(&ip_frame(&Ip::igmp(HOST, V3_REPORTS, m.clone())));
    let ev = fx.one_event();
    // A record for a group not held: NEW_GROUP (the new groups' budget), not STATE_CHANGE.
    assert_event(&ev, reason::NEW_GROUP, HOST, V3_REPORTS, &m);
    assert!(
        fx.member(G1).group_expires_ns >= t0 + GMI,
        "the refresh record was applied"
    );
    assert_eq!(fx.member(G2), exclude_member(3));
    assert_stats(
        &fx,
        accepted(|s| {
            s.rx_report_v3 = 1;
            s.rx_v3_group_records = 3;
            s.fast_path_refreshes = 1;
            s.events_sent = 1;
        }),
    );
}
