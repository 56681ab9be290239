//! The ring buffer: long messages captured truncated (checksummed whole), a full ring counted.

use super::support::*;

#[test]
fn long_message_is_captured_truncated_and_checksummed_whole() {
    let mut fx = fixture();
    // Jumbo-frame v3 reports: 8 + n * 16 bytes (records of 2 sources). 120 records leave a
    // partial checksum chunk beyond the captured 1480 bytes, 162 a full one and a partial one.
    for n in [120u32, 162] {
        fx.reset();
        let recs: Vec<Rec> = (0..n)
            .map(|i| rec(TO_IN, [239, 10, (i >> 8) as u8, i as u8], &[S1, S2]))
            .collect();
        let m = report_v3(&recs);
        assert!(m.len() > 1480);
        fx.run(&ip_frame(&Ip::igmp(HOST, V3_REPORTS, m.clone())));
        let ev = fx.one_event();
        assert_eq!(ev.reason, reason::TOO_LONG);
        assert_eq!(ev.igmp_len as usize, m.len());
        assert_eq!(ev.captured_len, 1480);
        assert_eq!(ev.igmp_bytes(), &m[..1480]);
        assert_eq!(ev.flags, EVENT_FLAG_ROUTER_ALERT | EVENT_FLAG_TRUNCATED);
        let st = fx.stats();
        assert_eq!((st.rx_report_v3, st.rx_v3_group_records), (1, u64::from(n)));
        // A corrupted byte beyond the captured part still fails the checksum.
        for pos in [1500, m.len() - 1] {
            let mut bad = m.clone();
            bad[pos] ^= 0x10;
            fx.run(&ip_frame(&Ip::igmp(HOST, V3_REPORTS, bad)));
            fx.no_event();
        }
        assert_eq!(fx.stats().ignored_bad_checksum, 2);
        // Records out of bounds beyond the captured part are found too.
        let mut bad = m.clone();
        let last_rec = m.len() - 16;
        bad[last_rec + 3] = 3;
        fix_igmp_csum(&mut bad);
        fx.run(&ip_frame(&Ip::igmp(HOST, V3_REPORTS, bad)));
        fx.no_event();
        assert_eq!(fx.stats().ignored_bad_record, 1);
    }
    // Odd length message (a v2 report with a trailing byte) checksums as RFC 1071 pads it.
    let mut odd = igmp8(TYPE_V2_REPORT, 0, G1);
    odd.push(0x5a);
    fix_igmp_csum(&mut odd);
    fx.run(&v2_report_with(odd.clone()));
    assert_event(&fx.one_event(), reason::NEW_GROUP, HOST, G1, &odd);
}

#[test]
fn full_ring_is_counted() {
    let mut fx = fixture();
    let q = ip_frame(&Ip::igmp(
        ROUTER,
        ALL_SYSTEMS,
        igmp8(TYPE_MEMBERSHIP_QUERY, 100, [0; 4]),
    ));
    // 1 MiB ring, ~1.5 kB per event: about 690 fit.
    let n = 1000;
    fx.run_repeat(&q, n);
    let st = fx.stats();
    assert_eq!(st.rx_query_v2, u64::from(n));
    assert_eq!(st.events_sent + st.events_ring_full, u64::from(n));
    assert!(st.events_ring_full > 0, "ring should have filled");
    // The loss is also logged through aya-log, at the 1st, 2nd, 4th, … loss (test_run runs on
    // one CPU): the operator sees it in the daemon's log, not only in a counter.
    let logs = fx.program_logs();
    let losses = st.events_ring_full;
    let want: Vec<String> = (0..64)
        .map(|b| 1u64 << b)
        .take_while(|p| *p <= losses)
        .map(|p| format!("MGM_EVENTS full: {p} IGMP messages lost on this CPU so far (the daemon is not keeping up)"))
        .collect();
    assert_eq!(logs, want);
    assert_eq!(fx.events().len() as u64, st.events_sent);
    // Drained: room again.
    fx.run(&q);
    assert_eq!(fx.one_event().reason, reason::QUERY);
}
