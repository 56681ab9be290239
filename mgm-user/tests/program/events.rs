//! The ring buffer: records as long as their message (jumbo frames whole; longer ones cut,
//! checksummed whole), a full ring counted.

use super::support::*;

/// A v3 report of `n` TO_IN records of two sources each: 8 + 16 n bytes.
fn long_report(n: u32) -> Vec<u8> {
    let recs: Vec<Rec> = (0..n)
        .map(|i| rec(TO_IN, [239, 10, (i >> 8) as u8, i as u8], &[S1, S2]))
        .collect();
    report_v3(&recs)
}

#[test]
fn long_message_is_carried_whole_and_checksummed_whole() {
    let mut fx = fixture();
    // Reports longer than a 1500-byte MTU carries (test_run takes frames up to a page). 120
    // records leave a partial checksum chunk, 162 a full one and a partial one.
    for n in [120u32, 162] {
        fx.reset();
        let m = long_report(n);
        assert!(m.len() > 1480);
        fx.run(&ip_frame(&Ip::igmp(HOST, V3_REPORTS, m.clone())));
        let ev = fx.one_event();
        assert_event(&ev, reason::TOO_LONG, HOST, V3_REPORTS, &m);
        assert_eq!(ev.flags, EVENT_FLAG_ROUTER_ALERT, "not truncated");
        let st = fx.stats();
        assert_eq!((st.rx_report_v3, st.rx_v3_group_records), (1, u64::from(n)));
        // A corrupted byte in a later chunk fails the checksum.
        for pos in [1500, m.len() - 1] {
            let mut bad = m.clone();
            bad[pos] ^= 0x10;
            fx.run(&ip_frame(&Ip::igmp(HOST, V3_REPORTS, bad)));
            fx.no_event();
        }
        assert_eq!(fx.stats().ignored_bad_checksum, 2);
        // Records out of bounds at the end are found too.
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
    // An 8-byte message: a 40-byte record.
    fx.run(&v2_report(G2));
    let ev = fx.one_event();
    assert_event(
        &ev,
        reason::NEW_GROUP,
        HOST,
        G2,
        &igmp8(TYPE_V2_REPORT, 0, G2),
    );
}

/// Jumbo frames on a veth pair: an 8000-byte report reaches the daemon whole, every record
/// parsed; one longer than an event carries (15 KiB) arrives cut, checksummed whole, flagged.
#[test]
fn jumbo_reports_reach_the_daemon_whole() {
    use mgm_common::event::MAX_EVENT_IGMP_LEN;
    use mgm_common::igmp::{parse, parse_truncated, IgmpMessage};
    let mut fx = fixture();
    let ns = VethNs::new();
    ns.set_mtu(16_200);
    let fx_ref: &mut Fx = &mut fx;
    ns.run_in(|| {
        let va = nix::net::if_::if_nametoindex("va").unwrap();
        let vb = nix::net::if_::if_nametoindex("vb").unwrap();
        fx_ref.enable(vb);
        let prog: &mut SchedClassifier = fx_ref
            .ebpf
            .program_mut(PROGRAM_NAME)
            .unwrap()
            .try_into()
            .unwrap();
        let link = prog
            .attach("vb", aya::programs::TcAttachType::Ingress)
            .expect("attach to vb ingress (TCX)");
        let seen = |fx: &Fx, n: u64| {
            for _ in 0..400 {
                if fx.stats().igmp_packets >= n {
                    return;
                }
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
            panic!("the classifier did not see the frame on vb");
        };
        let jumbo = long_report(499);
        assert_eq!(jumbo.len(), 7992);
        send_raw(va, &ip_frame(&Ip::igmp(HOST, V3_REPORTS, jumbo.clone())));
        seen(fx_ref, 1);
        let ev = fx_ref.one_event();
        assert_eq!((ev.ifindex, ev.reason), (vb, reason::TOO_LONG));
        assert_eq!(ev.flags, EVENT_FLAG_ROUTER_ALERT, "not truncated");
        assert_eq!(
            (ev.igmp_len as usize, ev.captured_len as usize),
            (7992, 7992)
        );
        assert_eq!(ev.record_len, 32 + 7992);
        assert_eq!(ev.igmp_bytes(), &jumbo[..]);
        // The daemon's parser gets every record.
        let Ok(IgmpMessage::V3Report(r)) = parse(ev.igmp_bytes()) else {
            panic!("the daemon's parser rejects the jumbo report");
        };
        assert_eq!((r.records().len(), r.lost_records()), (499, 0));

        // Longer than an event carries: cut at MAX_EVENT_IGMP_LEN, checksummed over it all.
        let longest = long_report(999);
        assert_eq!(longest.len(), 15_992);
        send_raw(va, &ip_frame(&Ip::igmp(HOST, V3_REPORTS, longest.clone())));
        seen(fx_ref, 2);
        let ev = fx_ref.one_event();
        assert_eq!(ev.flags, EVENT_FLAG_ROUTER_ALERT | EVENT_FLAG_TRUNCATED);
        assert_eq!(ev.captured_len as usize, MAX_EVENT_IGMP_LEN);
        assert_eq!(ev.igmp_bytes(), &longest[..MAX_EVENT_IGMP_LEN]);
        let Ok(IgmpMessage::V3Report(r)) = parse_truncated(ev.igmp_bytes()) else {
            panic!("the daemon's parser rejects the cut report");
        };
        assert_eq!(r.lost_records(), 999 - (MAX_EVENT_IGMP_LEN as u16 - 8) / 16);
        let mut bad = longest;
        *bad.last_mut().unwrap() ^= 0x10;
        send_raw(va, &ip_frame(&Ip::igmp(HOST, V3_REPORTS, bad)));
        seen(fx_ref, 3);
        fx_ref.no_event();
        let st = fx_ref.stats();
        assert_eq!(
            (st.rx_report_v3, st.events_sent, st.ignored_bad_checksum),
            (2, 2, 1)
        );
        let prog: &mut SchedClassifier = fx_ref
            .ebpf
            .program_mut(PROGRAM_NAME)
            .unwrap()
            .try_into()
            .unwrap();
        prog.detach(link).expect("detach");
    });
    drop(ns);
}

#[test]
fn full_ring_is_counted() {
    let mut fx = fixture();
    let q = ip_frame(&Ip::igmp(
        ROUTER,
        ALL_SYSTEMS,
        igmp8(TYPE_MEMBERSHIP_QUERY, 100, [0; 4]),
    ));
    // 256 KiB ring, 48 bytes per 8-byte message (8-byte ring header, 32-byte event header):
    // about 5 400 fit.
    let n = 8_000;
    fx.run_repeat(&q, n);
    let st = fx.stats();
    assert_eq!(st.rx_query_v2, u64::from(n));
    assert_eq!(st.events_sent + st.events_ring_full, u64::from(n));
    assert!(st.events_ring_full > 0, "ring should have filled");
    assert_eq!(
        st.events_sent,
        u64::from(mgm_common::maps::EVENTS_RING_BYTES) / 48,
        "the kernel's ring is EVENTS_RING_BYTES long"
    );
    // The classifier has no log channel (aya-log's ring would be mapped into the daemon for
    // one message): the daemon logs the losses from this counter.
    assert!(fx.ebpf.maps().all(|(name, _)| name != "AYA_LOGS"));
    assert_eq!(fx.events().len() as u64, st.events_sent);
    // Drained: room again.
    fx.run(&q);
    assert_eq!(fx.one_event().reason, reason::QUERY);
}
