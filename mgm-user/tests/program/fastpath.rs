//! The fast path: pure refreshes are absorbed and extend the expiries in the maps.

use super::support::*;

// ---------------------------------------------------------------------------------------------
// Fast path
// ---------------------------------------------------------------------------------------------

/// Asserts `t` is `base + interval` for some `base` in the window [t0, t1].
fn assert_pushed(t: u64, t0: u64, t1: u64, interval: u64, what: &str) {
    assert!(
        t >= t0 + interval && t <= t1 + interval,
        "{what}: {t} not in [{}, {}]",
        t0 + interval,
        t1 + interval
    );
}

#[test]
fn fast_path_v1_report_refreshes_group_and_v1_host_timer() {
    let mut fx = fixture();
    fx.add_member(G1, exclude_member(1));
    let t0 = monotonic_ns();
    fx.run(&v1_report(G1));
    let t1 = monotonic_ns();
    fx.no_event();
    let m = fx.member(G1);
    assert_pushed(m.group_expires_ns, t0, t1, GMI, "group timer");
    assert_pushed(m.v1_host_expires_ns, t0, t1, OHPI, "v1 host timer");
    assert_eq!(m.v2_host_expires_ns, 0);
    assert_eq!(m.last_reporter, HOST);
    assert_eq!(m.fast_refreshes, 1);
    assert_eq!(
        (m.filter_mode, m.compat_version, m.flags),
        (FILTER_MODE_EXCLUDE, 1, 0)
    );
    assert_stats(
        &fx,
        accepted(|s| {
            s.rx_report_v1 = 1;
            s.fast_path_refreshes = 1;
        }),
    );
}

#[test]
fn fast_path_v2_report_refreshes_group_and_v2_host_timer() {
    let mut fx = fixture();
    fx.add_member(G1, exclude_member(2));
    let t0 = monotonic_ns();
    fx.run(&v2_report(G1));
    fx.run(&ip_frame(&Ip::igmp(
        HOST2,
        G1,
        igmp8(TYPE_V2_REPORT, 0, G1),
    )));
    let t1 = monotonic_ns();
    fx.no_event();
    let m = fx.member(G1);
    assert_pushed(m.group_expires_ns, t0, t1, GMI, "group timer");
    assert_pushed(m.v2_host_expires_ns, t0, t1, OHPI, "v2 host timer");
    assert_eq!(m.v1_host_expires_ns, 0);
    assert_eq!(m.last_reporter, HOST2);
    assert_eq!(m.fast_refreshes, 2);
    assert_stats(
        &fx,
        IgmpStats {
            igmp_packets: 2,
            rx_report_v2: 2,
            fast_path_refreshes: 2,
            ..Default::default()
        },
    );
}

#[test]
fn fast_path_v3_is_ex_empty_refreshes_group_timer() {
    let mut fx = fixture();
    fx.add_member(G1, exclude_member(3));
    fx.add_member(G2, exclude_member(2));
    let t0 = monotonic_ns();
    fx.run(&v3_frame(&[rec(IS_EX, G1, &[]), rec(IS_EX, G2, &[])]));
    let t1 = monotonic_ns();
    fx.no_event();
    for g in [G1, G2] {
        let m = fx.member(g);
        assert_pushed(m.group_expires_ns, t0, t1, GMI, "group timer");
        assert_eq!((m.v1_host_expires_ns, m.v2_host_expires_ns), (0, 0));
        assert_eq!(m.last_reporter, HOST);
        assert_eq!(m.fast_refreshes, 1);
    }
    assert_stats(
        &fx,
        accepted(|s| {
            s.rx_report_v3 = 1;
            s.rx_v3_group_records = 2;
            s.fast_path_refreshes = 2;
        }),
    );
}

#[test]
fn fast_path_v3_is_in_refreshes_sources_in_include_mode() {
    let mut fx = fixture();
    fx.add_member(G1, include_member(3));
    fx.add_source(G1, S1, 1);
    fx.add_source(G1, S2, 1);
    fx.add_source(G1, S3, 1);
    let t0 = monotonic_ns();
    fx.run(&v3_frame(&[rec(IS_IN, G1, &[S1, S2])]));
    let t1 = monotonic_ns();
    fx.no_event();
    for s in [S1, S2] {
        let st = fx.source(G1, s);
        assert_pushed(st.expires_ns, t0, t1, GMI, "source timer");
        assert_eq!(st.fast_refreshes, 1);
    }
    assert_eq!(
        fx.source(G1, S3).expires_ns,
        1,
        "source not in the report untouched"
    );
    let m = fx.member(G1);
    assert_eq!(m.group_expires_ns, 0, "INCLUDE mode has no group timer");
    assert_eq!((m.last_reporter, m.fast_refreshes), (HOST, 1));
    assert_stats(
        &fx,
        accepted(|s| {
            s.rx_report_v3 = 1;
            s.rx_v3_group_records = 1;
            s.fast_path_refreshes = 1;
        }),
    );
}

#[test]
fn fast_path_v3_is_in_refreshes_forwarding_sources_in_exclude_mode() {
    let mut fx = fixture();
    let mut m = exclude_member(3);
    m.group_expires_ns = monotonic_ns() + 10_000_000_000;
    m.source_count = 2;
    fx.add_member(G1, m);
    fx.add_source(G1, S1, monotonic_ns() + 5_000_000_000); // X: forwarding
    fx.add_source(G1, S2, 0); // Y: excluded
    let t0 = monotonic_ns();
    fx.run(&v3_frame(&[rec(IS_IN, G1, &[S1])]));
    let t1 = monotonic_ns();
    fx.no_event();
    assert_pushed(fx.source(G1, S1).expires_ns, t0, t1, GMI, "source timer");
    assert_eq!(
        fx.member(G1).group_expires_ns,
        m.group_expires_ns,
        "group timer untouched"
    );
    assert_eq!(fx.source(G1, S2).expires_ns, 0);
    assert_eq!(fx.stats().fast_path_refreshes, 1);

    // An excluded source (Y) in IS_IN moves it to X: the daemon's job.
    fx.run(&v3_frame(&[rec(IS_IN, G1, &[S2])]));
    assert_eq!(fx.one_event().reason, reason::STATE_CHANGE);
    assert_eq!(fx.source(G1, S2).expires_ns, 0);
}

#[test]
fn refresh_in_a_loop_is_fast_enough_to_run_many() {
    // Sanity for the benchmark: a repeated refresh stays on the fast path.
    let mut fx = fixture();
    fx.add_member(G1, exclude_member(2));
    fx.run_repeat(&v2_report(G1), 10_000);
    fx.no_event();
    assert_eq!(fx.member(G1).fast_refreshes, 10_000);
}

/// The daemon reads an entry, the fast path refreshes it, the daemon writes what it decided from
/// its read: the refresh survives the write (`KernelMaps::write_member` / `write_source` merge
/// with the entry re-read just before writing).
#[test]
fn a_refresh_between_the_daemons_read_and_write_survives() {
    use mgm_user::sys::bpf::maps::{merge_member, merge_source};
    let mut fx = fixture();
    let mut held = exclude_member(2);
    held.group_expires_ns = monotonic_ns() + 10_000_000_000;
    fx.add_member(G1, held);
    fx.add_member(G2, include_member(1));
    fx.add_source(G2, S1, monotonic_ns() + 10_000_000_000);
    // The daemon's read: what its write is based on (a new last reporter, say; counter 0).
    let read = fx.member(G1);
    let ours = MemberState {
        last_reporter: HOST2,
        ..read
    };
    let ours_source = fx.source(G2, S1);
    // The fast path refreshes both in between.
    let t0 = monotonic_ns();
    fx.run(&v2_report(G1));
    fx.run(&v3_frame(&[rec(IS_IN, G2, &[S1])]));
    fx.no_event();
    // The daemon's write.
    let m = merge_member(fx.member(G1), ours);
    fx.add_member(G1, m);
    let kernel_source = fx.source(G2, S1);
    let sk = SourceKey {
        ifindex: LO,
        group: G2,
        source: S1,
    };
    fx.sources
        .insert(sk, merge_source(kernel_source, ours_source), 0)
        .unwrap();
    let m = fx.member(G1);
    assert!(
        m.group_expires_ns >= t0 + GMI,
        "the refreshed group timer survives"
    );
    assert!(
        m.v2_host_expires_ns >= t0 + OHPI,
        "the refreshed v2 host timer survives"
    );
    assert_eq!((m.fast_refreshes, m.last_reporter), (1, HOST));
    let s = fx.source(G2, S1);
    assert!(
        s.expires_ns >= t0 + GMI,
        "the refreshed source timer survives"
    );
    assert_eq!(s.fast_refreshes, 1);
    // A write based on a read after the refresh stands as it is, a lower timer included.
    let lowered = MemberState {
        group_expires_ns: t0 + 1_000,
        ..fx.member(G1)
    };
    let written = merge_member(fx.member(G1), lowered);
    fx.add_member(G1, written);
    assert_eq!(fx.member(G1), lowered);
}
