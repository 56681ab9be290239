//! Malformed input: each case moves its own counter and sends nothing.

use super::support::*;

// ---------------------------------------------------------------------------------------------
// Malformed input: each case moves its own counter and sends nothing
// ---------------------------------------------------------------------------------------------

/// Runs `frame` on a reset fixture and expects exactly the counters `want`, no event.
fn rejected(fx: &mut Fx, frame: &[u8], want: IgmpStats) {
    fx.reset();
    fx.add_member(G1, exclude_member(2));
    fx.run(frame);
    fx.no_event();
    assert_stats(fx, want);
    assert_eq!(
        fx.member(G1),
        exclude_member(2),
        "no refresh from a rejected packet"
    );
}

fn ignored(f: impl FnOnce(&mut IgmpStats)) -> IgmpStats {
    accepted(f)
}

#[test]
fn malformed_too_many_vlan_tags() {
    let mut fx = fixture();
    let ip = Ip::igmp(HOST, G1, igmp8(TYPE_V2_REPORT, 0, G1));
    let three = tagged(&ip, &[(0x88a8, 1), (0x8100, 2), (0x8100, 3)]);
    rejected(
        &mut fx,
        &three,
        ignored(|s| s.ignored_too_many_vlan_tags = 1),
    );
    // So many tags that the classifier cannot see the payload: counted too.
    let six = tagged(&ip, &[(0x8100, 1); 6]);
    rejected(
        &mut fx,
        &six,
        IgmpStats {
            ignored_too_many_vlan_tags: 1,
            ..Default::default()
        },
    );
}

#[test]
fn malformed_truncated() {
    let mut fx = fixture();
    let good = v2_report(G1);
    // Cut inside the options, inside IGMP.
    for cut in [14 + 22, good.len() - 3] {
        rejected(&mut fx, &good[..cut], ignored(|s| s.ignored_truncated = 1));
    }
    // Cut inside the IP header, after the protocol byte (priority-tagged: test_run refuses an
    // untagged IPv4 frame shorter than an IP header, the classifier must cope anyway; a VLAN id
    // would have it ignored before the IP header is read).
    let ip = Ip::igmp(HOST, G1, igmp8(TYPE_V2_REPORT, 0, G1));
    let tagged_report = tagged(&ip, &[(0x8100, 0)]);
    rejected(
        &mut fx,
        &tagged_report[..18 + 12],
        ignored(|s| s.ignored_truncated = 1),
    );
}

#[test]
fn malformed_bad_ihl_version_total_length() {
    let mut fx = fixture();
    let ip = Ip::igmp(HOST, G1, igmp8(TYPE_V2_REPORT, 0, G1)).no_options();
    rejected(
        &mut fx,
        &ip_frame(&Ip {
            ihl: Some(4),
            ..ip.clone()
        }),
        ignored(|s| s.ignored_bad_ihl = 1),
    );
    rejected(
        &mut fx,
        &ip_frame(&Ip {
            version: 6,
            ..ip.clone()
        }),
        ignored(|s| s.ignored_bad_ip_version = 1),
    );
    rejected(
        &mut fx,
        &ip_frame(&Ip {
            tot_len: Some(16),
            ..ip.clone()
        }),
        ignored(|s| s.ignored_bad_total_length = 1),
    );
    // Longer than the frame: truncated.
    rejected(
        &mut fx,
        &ip_frame(&Ip {
            tot_len: Some(60),
            ..ip.clone()
        }),
        ignored(|s| s.ignored_truncated = 1),
    );
    // IP says 4 IGMP bytes (frame has 8): too short for any IGMP message.
    rejected(
        &mut fx,
        &ip_frame(&Ip {
            tot_len: Some(24),
            ..ip.clone()
        }),
        ignored(|s| s.ignored_bad_length = 1),
    );
}

#[test]
fn malformed_fragment() {
    let mut fx = fixture();
    let ip = Ip::igmp(HOST, G1, igmp8(TYPE_V2_REPORT, 0, G1));
    rejected(
        &mut fx,
        &ip_frame(&Ip {
            frag: 0x2000,
            ..ip.clone()
        }),
        ignored(|s| s.ignored_fragment = 1),
    );
    rejected(
        &mut fx,
        &ip_frame(&Ip {
            frag: 0x0001,
            ..ip.clone()
        }),
        ignored(|s| s.ignored_fragment = 1),
    );
    // DF alone is fine.
    fx.reset();
    fx.run(&ip_frame(&Ip { frag: 0x4000, ..ip }));
    assert_eq!(fx.one_event().reason, reason::NEW_GROUP);
}

#[test]
fn malformed_bad_checksum() {
    let mut fx = fixture();
    let mut bad = igmp8(TYPE_V2_REPORT, 0, G1);
    bad[3] ^= 1;
    rejected(
        &mut fx,
        &v2_report_with(bad),
        ignored(|s| s.ignored_bad_checksum = 1),
    );
    let mut q = query_v3(G1, &[S1]);
    q[15] ^= 0x80;
    rejected(
        &mut fx,
        &ip_frame(&Ip::igmp(ROUTER, G1, q)),
        ignored(|s| s.ignored_bad_checksum = 1),
    );
    let mut r3 = report_v3(&[rec(IS_EX, G1, &[])]);
    r3[2] = 0;
    r3[3] = 0;
    rejected(
        &mut fx,
        &ip_frame(&Ip::igmp(HOST, V3_REPORTS, r3)),
        ignored(|s| s.ignored_bad_checksum = 1),
    );
}

/// A good IGMP message in an IPv4 header whose checksum does not verify: nothing refreshed,
/// nothing sent up (it would create the group), counted.
#[test]
fn malformed_bad_ip_checksum() {
    let mut fx = fixture();
    let ip = Ip::igmp(HOST, G1, igmp8(TYPE_V2_REPORT, 0, G1));
    // Flip a bit of the checksum, of the TTL, of the Router Alert option's value; and of the
    // checksum of a header without options. The IGMP checksum stays good.
    let l3 = 14;
    for (frame, byte) in [
        (ip_frame(&ip), l3 + 10),
        (ip_frame(&ip), l3 + 8),
        (ip_frame(&ip), l3 + 22),
        (ip_frame(&ip.clone().no_options()), l3 + 11),
    ] {
        let mut bad = frame;
        bad[byte] ^= 0x04;
        rejected(&mut fx, &bad, ignored(|s| s.ignored_bad_ip_checksum = 1));
    }
    // A report for a new group (v2 and v3) would create it: not with a bad header checksum.
    for msg in [
        Ip::igmp(HOST, G2, igmp8(TYPE_V2_REPORT, 0, G2)),
        Ip::igmp(HOST, V3_REPORTS, report_v3(&[rec(TO_EX, G2, &[])])),
    ] {
        let mut bad = ip_frame(&msg);
        bad[l3 + 10] ^= 0xff;
        rejected(&mut fx, &bad, ignored(|s| s.ignored_bad_ip_checksum = 1));
        // The same frame with its checksum right goes up.
        fx.reset();
        fx.run(&ip_frame(&msg));
        assert_eq!(fx.one_event().reason, reason::NEW_GROUP);
    }
}

#[test]
fn malformed_bad_length() {
    let mut fx = fixture();
    // A query of 10 bytes (RFC 3376 §7.1: ignore), and a v3 query whose sources run past the end.
    let mut q10 = vec![TYPE_MEMBERSHIP_QUERY, 100, 0, 0, 0, 0, 0, 0, 0, 0];
    fix_igmp_csum(&mut q10);
    rejected(
        &mut fx,
        &ip_frame(&Ip::igmp(ROUTER, ALL_SYSTEMS, q10)),
        ignored(|s| s.ignored_bad_length = 1),
    );
    let mut q3 = query_v3([0; 4], &[S1]);
    q3[11] = 2; // two sources, one present
    fix_igmp_csum(&mut q3);
    rejected(
        &mut fx,
        &ip_frame(&Ip::igmp(ROUTER, ALL_SYSTEMS, q3)),
        ignored(|s| s.ignored_bad_length = 1),
    );
    // IGMP shorter than 8 bytes.
    let mut short = vec![TYPE_V2_REPORT, 0, 0, 0, 239, 1];
    fix_igmp_csum(&mut short);
    rejected(
        &mut fx,
        &v2_report_with(short),
        ignored(|s| s.ignored_bad_length = 1),
    );
}

#[test]
fn malformed_unknown_type() {
    let mut fx = fixture();
    rejected(
        &mut fx,
        &v2_report_with(igmp8(0x99, 0, G1)),
        ignored(|s| s.ignored_unknown_type = 1),
    );
}

#[test]
fn malformed_group_not_multicast() {
    let mut fx = fixture();
    let unicast = [198, 51, 100, 7];
    rejected(
        &mut fx,
        &ip_frame(&Ip::igmp(HOST, unicast, igmp8(TYPE_V2_REPORT, 0, unicast))),
        ignored(|s| s.ignored_group_not_multicast = 1),
    );
    rejected(
        &mut fx,
        &ip_frame(&Ip::igmp(HOST, unicast, igmp8(TYPE_V1_REPORT, 0, unicast))),
        ignored(|s| s.ignored_group_not_multicast = 1),
    );
    rejected(
        &mut fx,
        &ip_frame(&Ip::igmp(
            HOST,
            ALL_ROUTERS,
            igmp8(TYPE_V2_LEAVE, 0, unicast),
        )),
        ignored(|s| s.ignored_group_not_multicast = 1),
    );
    rejected(
        &mut fx,
        &ip_frame(&Ip::igmp(
            ROUTER,
            ALL_SYSTEMS,
            igmp8(TYPE_MEMBERSHIP_QUERY, 10, unicast),
        )),
        ignored(|s| s.ignored_group_not_multicast = 1),
    );
    rejected(
        &mut fx,
        &ip_frame(&Ip::igmp(ROUTER, ALL_SYSTEMS, query_v3(unicast, &[]))),
        ignored(|s| s.ignored_group_not_multicast = 1),
    );
    rejected(
        &mut fx,
        &v3_frame(&[rec(IS_EX, G1, &[]), rec(IS_EX, unicast, &[])]),
        ignored(|s| s.ignored_group_not_multicast = 1),
    );
}

#[test]
fn malformed_report_dst_mismatch() {
    let mut fx = fixture();
    rejected(
        &mut fx,
        &ip_frame(&Ip::igmp(HOST, G2, igmp8(TYPE_V2_REPORT, 0, G1))),
        ignored(|s| s.ignored_report_dst_mismatch = 1),
    );
}

/// RFC 1112: a v1 report goes to its group too; the daemon's router ignores one sent elsewhere, so
/// the fast path must not refresh it (here it otherwise would: EXCLUDE, v1 compatibility).
#[test]
fn malformed_v1_report_dst_mismatch() {
    let mut fx = fixture();
    fx.add_member(G1, exclude_member(1));
    for dst in [G2, ALL_SYSTEMS, ALL_ROUTERS] {
        fx.run(&ip_frame(
            &Ip::igmp(HOST, dst, igmp8(TYPE_V1_REPORT, 0, G1)).no_options(),
        ));
    }
    fx.no_event();
    assert_eq!(fx.member(G1), exclude_member(1), "no refresh");
    assert_stats(
        &fx,
        IgmpStats {
            igmp_packets: 3,
            ignored_report_dst_mismatch: 3,
            ..Default::default()
        },
    );
    // To the group: refreshed.
    fx.run(&v1_report(G1));
    fx.no_event();
    assert_eq!(fx.member(G1).fast_refreshes, 1);
}

#[test]
fn malformed_v3_record_bounds() {
    let mut fx = fixture();
    // nsrc beyond the end.
    let mut m = report_v3(&[rec(IS_EX, G1, &[]), rec(IS_IN, G2, &[S1])]);
    m[8 + 8 + 3] = 2;
    fix_igmp_csum(&mut m);
    rejected(
        &mut fx,
        &ip_frame(&Ip::igmp(HOST, V3_REPORTS, m)),
        ignored(|s| s.ignored_bad_record = 1),
    );
    // aux data beyond the end.
    let mut m = report_v3(&[rec(IS_EX, G1, &[])]);
    m[9] = 1;
    fix_igmp_csum(&mut m);
    rejected(
        &mut fx,
        &ip_frame(&Ip::igmp(HOST, V3_REPORTS, m)),
        ignored(|s| s.ignored_bad_record = 1),
    );
    // More records announced than present.
    let mut m = report_v3(&[rec(IS_EX, G1, &[])]);
    m[7] = 2;
    fix_igmp_csum(&mut m);
    rejected(
        &mut fx,
        &ip_frame(&Ip::igmp(HOST, V3_REPORTS, m)),
        ignored(|s| s.ignored_bad_record = 1),
    );
    // Aux data inside the bounds is fine.
    fx.reset();
    let mut r = rec(TO_IN, G1, &[S1]);
    r.aux_words = 2;
    fx.run(&v3_frame(&[r, rec(IS_EX, G2, &[])]));
    assert_eq!(fx.one_event().reason, reason::NEW_GROUP);
}
