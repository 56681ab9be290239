//! Quick leave with explicit host tracking against real Linux hosts: two receivers on one
//! bridge LAN with `quick-leave=on`. One leaves: the other keeps the stream (the group and link
//! B stay in the MFE at every sample) and no group-specific query is on the wire. The other
//! leaves: the stream stops at once, again with no query (without quick leave the last-member
//! queries would run first).
//!
//! Topology: `common/forward.rs` (source 192.0.2.10 on link A; both receivers on link B,
//! 198.51.100.0/24, the quick-leave interface). Short IGMP timers (QI 2 s, GMI 5 s, LMQT 400 ms).
mod common;
#[path = "common/forward.rs"]
mod forward;

use forward::{mono_ns, ForwardLab, Sniffer, LMQT, SLACK};
use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

const G: &str = "239.7.7.8";
const GA: Ipv4Addr = Ipv4Addr::new(239, 7, 7, 8);
const PORT: u16 = 5008;
/// Group membership interval with the short timers (`common::FAST`).
const GMI: Duration = Duration::from_secs(5);

/// The datagrams seen between `from` and `to` (CLOCK_MONOTONIC ns) and the longest silence
/// between two of them (or at either end).
fn window(times: &[u64], from: u64, to: u64) -> (usize, Duration) {
    let mut last = from;
    let mut gap = 0;
    let mut n = 0;
    for &t in times.iter().filter(|&&t| t >= from && t <= to) {
        gap = gap.max(t - last);
        last = t;
        n += 1;
    }
    gap = gap.max(to.saturating_sub(last));
    (n, Duration::from_nanos(gap))
}

#[test]
fn one_host_leaves_the_other_keeps_the_stream_then_the_last_leave_stops_it_at_once() {
    let mut fl = ForwardLab::new_with(["", ",quick-leave=on", ""], &[]);
    let h1 = fl.add_host('b', "qa", 10);
    let h2 = fl.add_host('b', "qb", 11);
    let rb = fl.rb.clone();
    let (mut a, mut b) = (fl.host(&h1), fl.host(&h2));
    a.cmd(&format!("recv {PORT}"));
    b.cmd(&format!("recv {PORT}"));
    let on_b = Sniffer::start(&h2.ns, &h2.ifname, GA, PORT);
    let queries = Sniffer::start_group_queries(&h2.ns, &h2.ifname);
    a.cmd(&format!("join {G} {}", h1.addr));
    b.cmd(&format!("join {G} {}", h2.addr));
    let k = fl.k;
    fl.wait_for("both hosts tracked", Duration::from_secs(5), || {
        fl.lab
            .group(k, &rb, G)
            .and_then(|g| g.hosts)
            .is_some_and(|h| h == ["198.51.100.10", "198.51.100.11"])
    });
    // A group membership interval (5 s) later both are still tracked: their answers to the
    // general queries reach the daemon (the classifier would otherwise refresh the membership
    // in the kernel without telling it, and the hosts would be forgotten).
    std::thread::sleep(GMI + Duration::from_secs(1));
    let hosts = fl.lab.group(k, &rb, G).and_then(|g| g.hosts);
    assert_eq!(
        hosts.as_deref(),
        Some(&["198.51.100.10".to_string(), "198.51.100.11".to_string()][..]),
        "a host forgotten while it answers the queries\n{}",
        fl.diagnostics()
    );
    let src = fl.source.clone();
    let mut s = fl.host(&src);
    s.cmd(&format!("send {G} {PORT} 3000 10"));
    fl.wait_for("the stream reaches link B", Duration::from_secs(5), || {
        on_b.count() > 20
    });

    // The first host leaves: tracked no more, the group stays for the other, no query.
    let t_leave = mono_ns();
    a.cmd(&format!("leave {G}"));
    fl.wait_for("the leaver forgotten", LMQT + SLACK, || {
        fl.lab
            .group(k, &rb, G)
            .and_then(|g| g.hosts)
            .is_some_and(|h| h == ["198.51.100.11"])
    });
    // For a second after, the group stays in EXCLUDE mode, link B stays in the MFE's OIL and
    // the stream keeps reaching the other host (a cut would stop it until the host's next
    // report, a query interval away: no more than one of the ~10 samples would see it rise).
    let until = Instant::now() + Duration::from_secs(1);
    let mut seen = on_b.count();
    let mut rising = 0;
    while Instant::now() < until {
        let g = fl.lab.group(k, &rb, G);
        assert!(
            g.as_ref().is_some_and(|g| g.filter_mode == "exclude"),
            "one host's leave cut the group: {g:?}\n{}",
            fl.diagnostics()
        );
        let m = fl.mfe(G);
        assert!(
            m.as_ref().is_some_and(|m| m.oifs.contains(&rb)),
            "one host's leave took link B out of the MFE: {m:?}\n{}",
            fl.diagnostics()
        );
        std::thread::sleep(Duration::from_millis(100));
        let now = on_b.count();
        rising += usize::from(now > seen);
        seen = now;
    }
    assert!(
        rising >= 3,
        "the stream to the other host stalled after the leave: rose in {rising} of ~10 samples, \
         gap {:?}\n{}",
        window(&on_b.times(), t_leave, mono_ns()).1,
        fl.diagnostics()
    );
    assert_eq!(queries.count(), 0, "a group-specific query went out");

    // The last host leaves: the group goes and the stream stops, still with no query.
    b.cmd(&format!("leave {G}"));
    fl.wait_for("the group gone", LMQT + SLACK, || {
        fl.lab.group(k, &rb, G).is_none()
    });
    fl.wait_for("link B left the MFE", SLACK, || {
        fl.mfe(G).is_some_and(|m| !m.oifs.contains(&rb))
    });
    std::thread::sleep(Duration::from_millis(100));
    let (n1, p1) = (on_b.count(), fl.mfe(G).map_or(0, |m| m.packets));
    std::thread::sleep(Duration::from_secs(1));
    let (n2, p2) = (on_b.count(), fl.mfe(G).map_or(0, |m| m.packets));
    assert!(p2 > p1 + 50, "the source stopped sending? {p1} -> {p2}");
    assert_eq!(
        n2, n1,
        "the stream still reaches link B after the last leave"
    );
    assert_eq!(
        queries.count(),
        0,
        "a group-specific query went out for the last leave (quick leave acts at once)"
    );
}
