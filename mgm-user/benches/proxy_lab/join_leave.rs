//! 1 and 2: join → first datagram and leave → last datagram, on each LAN, from the kernel's
//! receive stamps of the listeners.

use crate::lab::{ProxyLab, Running};
use crate::traffic::{mono_ns, Stream};
use crate::wire::{Seen, WireCapture};
use crate::{Variant, LEAVE_TIMEOUT, PORT, QUIET, SOURCE, STREAM_INTERVAL, TRIALS};
use std::net::Ipv4Addr;
use std::time::Duration;

#[derive(Default)]
pub(crate) struct Latency {
    /// First receiver anywhere: report → first datagram on LAN 1 (ms).
    pub(crate) join_first: Vec<f64>,
    /// The same, in three parts: the report on LAN 1 → the proxy's report arriving at the
    /// upstream router; → the first datagram arriving back at the proxy; → the first datagram
    /// on LAN 1.
    pub(crate) join_first_parts: [Vec<f64>; 3],
    /// A second LAN while the stream flows to the first: report → first datagram on LAN 2.
    pub(crate) join_second: Vec<f64>,
    /// LAN 2's only member leaves, LAN 1 keeps one: leave → last datagram on LAN 2; `None`
    /// when it still flowed after `LEAVE_TIMEOUT`.
    pub(crate) leave_one: Vec<Option<f64>>,
    /// The last member leaves: leave → last datagram on LAN 1.
    pub(crate) leave_last: Vec<Option<f64>>,
    /// While LAN 2 was being left: the longest gap in LAN 1's stream, and in the stream arriving
    /// at the proxy over the same span (ms), per trial.
    pub(crate) gap_lan1: Vec<f64>,
    pub(crate) gap_input: Vec<f64>,
}

/// The host's report for `g` at or after `since` on `cap`, then the first datagram after it.
pub(crate) fn join_span(
    pl: &ProxyLab,
    r: &Running,
    cap: &WireCapture,
    g: Ipv4Addr,
    since: u64,
    what: &str,
) -> (u64, u64) {
    let mut out = None;
    pl.wait(r, what, Duration::from_secs(15), || {
        let Some(rep) = cap.first(since, |s| s == Seen::Join(g)) else {
            return false;
        };
        let before = cap.first(since, |s| s == Seen::Datagram(g));
        assert!(
            before.is_none_or(|t| t >= rep),
            "{what}: the stream was already on the link before the report"
        );
        out = cap.first(rep, |s| s == Seen::Datagram(g)).map(|d| (rep, d));
        out.is_some()
    });
    out.expect("waited for it")
}

/// The leave of `g` at or after `since` on `cap`, then the last datagram once the link has been
/// quiet for `QUIET`: their distance (0 when nothing came after the leave); `None` when the
/// stream still flows `LEAVE_TIMEOUT` after the leave.
pub(crate) fn leave_span(
    pl: &ProxyLab,
    r: &Running,
    cap: &WireCapture,
    g: Ipv4Addr,
    since: u64,
    what: &str,
) -> Option<f64> {
    let mut leave = None;
    pl.wait(r, what, Duration::from_secs(5), || {
        leave = cap.first(since, |s| s == Seen::Leave(g));
        leave.is_some()
    });
    let leave = leave.expect("waited for it");
    loop {
        let last = cap.last(|s| s == Seen::Datagram(g)).unwrap_or(0);
        let now = mono_ns();
        if now.saturating_sub(last.max(leave)) >= QUIET.as_nanos() as u64 {
            return Some(last.saturating_sub(leave) as f64 / 1e6);
        }
        if now.saturating_sub(leave) > LEAVE_TIMEOUT.as_nanos() as u64 {
            return None;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The longest gap between datagrams in `t`, ms (0 for fewer than two).
pub(crate) fn longest_gap(t: &[u64]) -> f64 {
    t.windows(2).map(|w| w[1] - w[0]).max().unwrap_or(0) as f64 / 1e6
}

pub(crate) fn ms(from: u64, to: u64) -> f64 {
    to.saturating_sub(from) as f64 / 1e6
}

/// `TRIALS` trials, each with a fresh daemon and a fresh group `239.30.{set}.{trial + 1}`: what
/// one trial leaves behind (a daemon's state, the upstream router's) does not touch the next.
pub(crate) fn latency(v: &Variant, set: u8) -> Latency {
    let mut pl = ProxyLab::new();
    let cap1 = WireCapture::start(&pl.mon1.0, &pl.mon1.1, PORT);
    let cap2 = WireCapture::start(&pl.mon2.0, &pl.mon2.1, PORT);
    // The proxy's reports as the upstream router receives them; the stream as the proxy does.
    let cap_up = WireCapture::start(&pl.up_ns, &pl.uu, PORT);
    let cap_in = WireCapture::start(&pl.px, &pl.pu, PORT);
    let mut h1 = pl.host(&pl.h1.clone());
    let mut h2 = pl.host(&pl.h2.clone());
    let mut l = Latency::default();
    for trial in 0..TRIALS {
        let group = Ipv4Addr::new(239, 30, set, 1 + trial as u8);
        let r = pl.start(v.kind);
        let stream = Stream::start(&pl.src, SOURCE, group, PORT, STREAM_INTERVAL);
        std::thread::sleep(Duration::from_secs(1));
        for c in [&cap1, &cap2, &cap_up, &cap_in] {
            c.clear();
        }
        let t = mono_ns();
        h1.cmd(&format!("join {group}"));
        let (rep, first) = join_span(&pl, &r, &cap1, group, t, "the first receiver's datagram");
        l.join_first.push(ms(rep, first));
        if let Some(up) = cap_up.first(rep, |s| s == Seen::Join(group)) {
            if let Some(arrived) = cap_in.first(up, |s| s == Seen::Datagram(group)) {
                l.join_first_parts[0].push(ms(rep, up));
                l.join_first_parts[1].push(ms(up, arrived));
                l.join_first_parts[2].push(ms(arrived, first));
            }
        }
        std::thread::sleep(Duration::from_millis(300));
        let t = mono_ns();
        h2.cmd(&format!("join {group}"));
        let (rep, first) = join_span(&pl, &r, &cap2, group, t, "the second LAN's datagram");
        l.join_second.push(ms(rep, first));
        std::thread::sleep(Duration::from_millis(300));
        let t = mono_ns();
        h2.cmd(&format!("leave {group}"));
        l.leave_one
            .push(leave_span(&pl, &r, &cap2, group, t, "h2's leave"));
        let t_end = mono_ns();
        let on1: Vec<u64> = cap1.datagrams(group, t);
        let input: Vec<u64> = cap_in
            .datagrams(group, t)
            .into_iter()
            .filter(|&x| x <= t_end)
            .collect();
        l.gap_lan1.push(longest_gap(&on1));
        l.gap_input.push(longest_gap(&input));
        let t = mono_ns();
        h1.cmd(&format!("leave {group}"));
        l.leave_last
            .push(leave_span(&pl, &r, &cap1, group, t, "h1's leave"));
        let shown =
            |x: Option<f64>| x.map_or("still flowing".to_string(), |x| format!("{x:.0} ms"));
        eprintln!(
            "  {} trial {}: join first {:.2} ms, second {:.2} ms; leave one of two {} \
             (LAN 1's longest gap meanwhile {:.1} ms, input's {:.1} ms), last {}",
            v.label,
            trial + 1,
            l.join_first[trial],
            l.join_second[trial],
            shown(l.leave_one[trial]),
            l.gap_lan1[trial],
            l.gap_input[trial],
            shown(l.leave_last[trial])
        );
        drop(stream);
        pl.stop(r);
    }
    l
}
