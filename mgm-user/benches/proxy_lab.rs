//! mgm as an IGMP proxy (`mgm run --upstream`, RFC 4605) against igmpproxy 0.3 (the Debian
//! package), in the same namespace lab, one daemon at a time (needs root and
//! `/usr/sbin/igmpproxy`, which `cargo xtask setup` installs; run by `cargo bench -p mgm-user
//! --bench proxy_lab` or `cargo xtask bench`).
//!
//! ```text
//!  src 192.0.2.10 ── [up] ── 198.51.100.0/24 ── [px] ─┬─ LAN 1 203.0.113.0/26  (h1, flood, mon1)
//!                  us    uu                   pu      └─ LAN 2 203.0.113.64/26 (h2, mon2)
//! ```
//! `up` is an mgm router (querier, built-in `local`; LMQ 200 ms × 2 so that it prunes quickly
//! between trials); `px` runs the proxy under test with upstream `pu` and downstreams `da`, `db`:
//! igmpproxy (`phyint pu upstream ratelimit 0 threshold 1 altnet 192.0.2.0/24`, `phyint da|db
//! downstream ratelimit 0 threshold 1`, no quickleave; `igmpproxy -d CONF`: foreground, log on
//! stderr at its default level, warnings), or mgm (`mgm run -i da -i db --upstream pu --log warn
//! --max-groups-per-host 4096`). h1 and h2 are IGMPv2 hosts (the kernel's own stack,
//! `force_igmp_version=2`: igmpproxy queries in v2 and reads v3 reports only roughly);
//! `mon1`, `mon2` only listen on their LAN (bridges without snooping: every frame reaches them),
//! and the spans are taken there, from the kernel's receive stamp of each frame
//! (`tests/common/wire.rs`).
//!
//! Each join/leave trial has a fresh daemon and a fresh group (nothing one trial leaves behind,
//! in the proxy or upstream, touches the next); each CPU and RSS run a fresh daemon and fresh
//! groups. Figures: median (min–max) over the trials, and mgm's median / igmpproxy's.
//!
//! 1. Join → first datagram: the source streams UDP to the group at 1 000 datagrams/s. h1 joins
//!    (the first receiver anywhere: the proxy must join upstream and the upstream router start
//!    forwarding), then h2 joins on LAN 2 (the stream already reaches the proxy: only its
//!    forwarding grows). Span: the host's report on its LAN → the first datagram on that LAN. The
//!    first is split where the proxy's report reaches the upstream router (`uu`) and where the
//!    stream reaches the proxy (`pu`), stamped the same way.
//! 2. Leave → stream stops: h2 leaves (LAN 1 still has a member), then h1 leaves (the last
//!    member). Span: the leave on the LAN → the last datagram on that LAN (then 1 s of quiet; a
//!    stream still flowing 60 s after the leave is counted apart). Also LAN 1's longest gap while
//!    LAN 2 is left, next to the longest gap of the stream reaching the proxy. igmpproxy's
//!    last-member timers are fixed (src/igmpproxy.h, config.c: last member query interval =
//!    query response interval = 10 s, count = robustness = 2): mgm runs once with the same
//!    (`--last-member-query-interval 10s --last-member-query-count 2`), once with its RFC 3376
//!    defaults (1 s × 2).
//! 3. Daemon CPU under refresh load: 1 000 groups joined by a flood host on LAN 1 (raw socket,
//!    one report each, 1 000/s, repeated until the upstream router holds them all), then
//!    refreshed for 10 s at 1 000 reports/s, then for 10 s at 10 000 reports/s (v2 reports;
//!    IGMPv3 reports with one IS_EX {} record), groups in turn; the daemon's CPU time over each
//!    (all its threads, /proc/PID/task/*/schedstat), with the reports dropped on its socket
//!    (igmpproxy) or its event ring (mgm). mgm's refreshes of known groups are absorbed by its
//!    classifier in the kernel (the fast path, in the sender's softirq, not the daemon's CPU):
//!    also run with `--no-fast-path`.
//! 4. RSS with 1 000 groups: h1 joins 1 000 groups; once the upstream router holds all 1 000
//!    from the proxy, the daemon's VmRSS (and at start, idle).
#[path = "../tests/common/mod.rs"]
mod common;
#[path = "compare/peers/igmpproxy.rs"]
mod igmpproxy;
#[path = "compare/peers/mgm.rs"]
mod mgm_daemon;
#[path = "compare/procs.rs"]
mod procs;
#[path = "compare/traffic.rs"]
mod traffic;
#[path = "../tests/common/wire.rs"]
mod wire;

use common::{process_cpu_ns, process_rss_kib, Host, Lab};
use igmpproxy::IgmpProxy;
use mgm_daemon::MgmDaemon;
use procs::{process_wait_ns, raw_drops};
use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::net::Ipv4Addr;
use std::process::Command;
use std::time::{Duration, Instant};
use traffic::{groups, mono_ns, send_reports, Stream};
use wire::{Seen, WireCapture};

const PORT: u16 = 5030;
const SOURCE: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 10);
const FLOOD_HOST: Ipv4Addr = Ipv4Addr::new(203, 0, 113, 20);
/// The stream: one datagram per ms.
const STREAM_INTERVAL: Duration = Duration::from_millis(1);
/// Join/leave trials per daemon.
const TRIALS: usize = 5;
/// CPU runs per daemon and IGMP version; RSS runs per daemon.
const CPU_TRIALS: usize = 3;
const RSS_TRIALS: usize = 3;
const REFRESH_GROUPS: usize = 1000;
/// Refresh loads, one after the other on the same daemon and groups: one igmpproxy keeps up
/// with, and the 10 000 reports/s of the brief.
const REFRESH_RATES: [f64; 2] = [1_000.0, 10_000.0];
const REFRESH_SECONDS: f64 = 10.0;
/// Reports per second while the groups are first joined.
const WARM_UP_RATE: f64 = 1000.0;
const RSS_GROUPS: usize = 1000;
/// A link has stopped when it saw no datagram of the stream for this long.
const QUIET: Duration = Duration::from_millis(1000);
/// A leave after which the stream still flows this long counts as not acted on.
const LEAVE_TIMEOUT: Duration = Duration::from_secs(60);

/// The upstream router: quick to prune (between trials), room for every group the runs leave
/// behind (each run takes fresh groups; the proxy's state is not carried over).
const UP_ARGS: &[&str] = &[
    "--log",
    "warn",
    "--last-member-query-interval",
    "200ms",
    "--last-member-query-count",
    "2",
    "--max-groups",
    "65536",
    "--max-groups-per-host",
    "65536",
];
/// Every mgm proxy run: as quiet as igmpproxy (warnings), and one host may hold the bench's
/// 1 000 groups (the per-host guard is 512 by default; igmpproxy has none).
const MGM_ARGS: &[&str] = &["--log", "warn", "--max-groups-per-host", "4096"];
/// igmpproxy 0.3's last-member timers: 10 s × 2.
const LMQ_AS_IGMPPROXY: &[&str] = &[
    "--last-member-query-interval",
    "10s",
    "--last-member-query-count",
    "2",
];

#[derive(Clone, Copy)]
enum Kind {
    Igmpproxy,
    Mgm(&'static [&'static str]),
}

#[derive(Clone, Copy)]
struct Variant {
    label: &'static str,
    kind: Kind,
}

const IGMPPROXY_V: Variant = Variant {
    label: "igmpproxy 0.3",
    kind: Kind::Igmpproxy,
};
const MGM_MATCHED: Variant = Variant {
    label: "mgm, LMQ 10 s x 2",
    kind: Kind::Mgm(LMQ_AS_IGMPPROXY),
};
const MGM_RFC: Variant = Variant {
    label: "mgm, RFC LMQ 1 s x 2",
    kind: Kind::Mgm(&[]),
};
const MGM: Variant = Variant {
    label: "mgm",
    kind: Kind::Mgm(&[]),
};
const MGM_SLOW: Variant = Variant {
    label: "mgm --no-fast-path",
    kind: Kind::Mgm(&["--no-fast-path"]),
};

// ---- the lab --------------------------------------------------------------------------------

/// A host's (or listener's) namespace and address or interface.
type End = (String, String);

struct ProxyLab {
    lab: Lab,
    /// The upstream router's daemon index and namespace.
    up: usize,
    up_ns: String,
    px: String,
    src: String,
    uu: String,
    pu: String,
    da: String,
    db: String,
    h1: End,
    h2: End,
    /// Listeners: (namespace, interface).
    mon1: End,
    mon2: End,
    /// The flood host's namespace.
    flood: String,
    /// Proxy daemons started so far (names their files).
    started: usize,
}

/// The proxy under test, running.
enum Running {
    Igmpproxy(IgmpProxy),
    Mgm(MgmDaemon),
}

impl ProxyLab {
    fn new() -> ProxyLab {
        let mut lab = Lab::new();
        let up_ns = lab.netns("up");
        let px = lab.netns("px");
        let src = lab.netns("src");
        let (us, _) = lab.link(
            (&up_ns, "us", "192.0.2.1/24"),
            (&src, "hs", "192.0.2.10/24"),
        );
        lab.ns(&src, &["ip", "route", "add", "default", "via", "192.0.2.1"]);
        let (uu, pu) = lab.link(
            (&up_ns, "uu", "198.51.100.1/24"),
            (&px, "pu", "198.51.100.2/24"),
        );
        lab.ns(
            &px,
            &["ip", "route", "add", "default", "via", "198.51.100.1"],
        );
        // igmpproxy joins upstream with one socket: the kernel's 20 memberships per socket.
        lab.ns(
            &px,
            &["sysctl", "-qw", "net.ipv4.igmp_max_memberships=8192"],
        );
        let l1 = lab.lan("la");
        let l2 = lab.lan("lb");
        let da = lab.lan_port(&l1, (&px, "da", "203.0.113.1/26"));
        let db = lab.lan_port(&l2, (&px, "db", "203.0.113.65/26"));
        let mut node = |lan: &str, role: &str, addr: &str, gw: &str| {
            let ns = lab.netns(role);
            let ifname = lab.lan_port(lan, (&ns, &format!("h{role}"), &format!("{addr}/26")));
            lab.ns(&ns, &["ip", "route", "add", "default", "via", gw]);
            (ns, ifname)
        };
        let (h1, _) = node(&l1, "one", "203.0.113.10", "203.0.113.1");
        let (fl, _) = node(&l1, "fld", &FLOOD_HOST.to_string(), "203.0.113.1");
        let mon1 = node(&l1, "mo1", "203.0.113.30", "203.0.113.1");
        let (h2, _) = node(&l2, "two", "203.0.113.70", "203.0.113.65");
        let mon2 = node(&l2, "mo2", "203.0.113.90", "203.0.113.65");
        for h in [&h1, &h2] {
            lab.ns(
                h,
                &["sysctl", "-qw", "net.ipv4.conf.all.force_igmp_version=2"],
            );
            lab.ns(h, &["sysctl", "-qw", "net.ipv4.igmp_max_memberships=4096"]);
        }
        let up = lab.start_mgm(&up_ns, &[&us, &uu], UP_ARGS);
        ProxyLab {
            lab,
            up,
            up_ns,
            px,
            src,
            uu,
            pu,
            da,
            db,
            h1: (h1, "203.0.113.10".into()),
            h2: (h2, "203.0.113.70".into()),
            mon1,
            mon2,
            flood: fl,
            started: 0,
        }
    }

    fn host(&mut self, h: &End) -> Host {
        let mut host = self.lab.host(&h.0);
        host.cmd(&format!("ifaddr {}", h.1));
        host
    }

    fn start(&mut self, kind: Kind) -> Running {
        match kind {
            Kind::Igmpproxy => Running::Igmpproxy(self.start_igmpproxy()),
            Kind::Mgm(extra) => Running::Mgm(self.start_mgm(extra)),
        }
    }

    fn start_mgm(&mut self, extra: &[&str]) -> MgmDaemon {
        let n = self.started;
        self.started += 1;
        let mut args = vec!["-i", &self.da, "-i", &self.db, "--upstream", &self.pu];
        args.extend(MGM_ARGS);
        args.extend(extra);
        let tag = format!("{}-px{n}", self.lab.id);
        MgmDaemon::start(&self.px, &self.lab.dir, &tag, &args)
    }

    fn start_igmpproxy(&mut self) -> IgmpProxy {
        let n = self.started;
        self.started += 1;
        IgmpProxy::start(
            &self.px,
            &self.lab.dir,
            &format!("igmpproxy{n}"),
            &self.pu,
            "192.0.2.0/24",
            &[&self.da, &self.db],
        )
    }

    fn pid(&self, r: &Running) -> u32 {
        match r {
            Running::Igmpproxy(p) => p.pid(),
            Running::Mgm(p) => p.pid(),
        }
    }

    fn log(&self, r: &Running) -> String {
        match r {
            Running::Igmpproxy(p) => p.log(),
            Running::Mgm(p) => p.log(),
        }
    }

    fn stop(&mut self, r: Running) {
        drop(r);
    }

    /// The groups the upstream router holds on its link to the proxy.
    fn upstream_groups(&self) -> BTreeSet<Ipv4Addr> {
        self.lab
            .groups(self.up)
            .into_iter()
            .filter(|g| g.interface == self.uu)
            .filter_map(|g| g.group.parse().ok())
            .collect()
    }

    /// Waits until `cond` holds (polled every 20 ms); panics with the logs after `timeout`.
    fn wait(&self, r: &Running, what: &str, timeout: Duration, mut cond: impl FnMut() -> bool) {
        let start = Instant::now();
        while !cond() {
            if start.elapsed() > timeout {
                panic!(
                    "timed out after {timeout:?} waiting for {what}\n--- proxy log ---\n{}\n\
                     --- upstream router log ---\n{}",
                    self.log(r),
                    self.lab.daemon_log(self.up)
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

// ---- figures --------------------------------------------------------------------------------

/// min, median, max.
fn mmm(v: &[f64]) -> (f64, f64, f64) {
    let mut s = v.to_vec();
    s.sort_by(|a, b| a.partial_cmp(b).unwrap());
    (s[0], s[s.len() / 2], s[s.len() - 1])
}

/// A span in ms, as ms below a second and as s above.
fn span(ms: f64) -> String {
    if ms >= 1000.0 {
        format!("{:.2} s", ms / 1e3)
    } else {
        format!("{ms:.2} ms")
    }
}

fn cell(v: &[f64], unit: fn(f64) -> String) -> String {
    if v.is_empty() {
        return "-".into();
    }
    let (lo, med, hi) = mmm(v);
    format!("{} ({}–{})", unit(med), unit(lo), unit(hi))
}

fn ratio(a: &[f64], b: &[f64]) -> String {
    if a.is_empty() || b.is_empty() || mmm(b).1 == 0.0 {
        return "-".into();
    }
    format!("{:.3}", mmm(a).1 / mmm(b).1)
}

// ---- 1 and 2: join and leave ----------------------------------------------------------------

#[derive(Default)]
struct Latency {
    /// First receiver anywhere: report → first datagram on LAN 1 (ms).
    join_first: Vec<f64>,
    /// The same, in three parts: the report on LAN 1 → the proxy's report arriving at the
    /// upstream router; → the first datagram arriving back at the proxy; → the first datagram
    /// on LAN 1.
    join_first_parts: [Vec<f64>; 3],
    /// A second LAN while the stream flows to the first: report → first datagram on LAN 2.
    join_second: Vec<f64>,
    /// LAN 2's only member leaves, LAN 1 keeps one: leave → last datagram on LAN 2; `None`
    /// when it still flowed after `LEAVE_TIMEOUT`.
    leave_one: Vec<Option<f64>>,
    /// The last member leaves: leave → last datagram on LAN 1.
    leave_last: Vec<Option<f64>>,
    /// While LAN 2 was being left: the longest gap in LAN 1's stream, and in the stream arriving
    /// at the proxy over the same span (ms), per trial.
    gap_lan1: Vec<f64>,
    gap_input: Vec<f64>,
}

/// The host's report for `g` at or after `since` on `cap`, then the first datagram after it.
fn join_span(
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
fn leave_span(
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
fn longest_gap(t: &[u64]) -> f64 {
    t.windows(2).map(|w| w[1] - w[0]).max().unwrap_or(0) as f64 / 1e6
}

fn ms(from: u64, to: u64) -> f64 {
    to.saturating_sub(from) as f64 / 1e6
}

/// `TRIALS` trials, each with a fresh daemon and a fresh group `239.30.{set}.{trial + 1}`: what
/// one trial leaves behind (a daemon's state, the upstream router's) does not touch the next.
fn latency(v: &Variant, set: u8) -> Latency {
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

// ---- 3: CPU under refresh load --------------------------------------------------------------

/// By IGMP version (2, 3), then by refresh rate: the runs.
type CpuRuns = [[Vec<CpuRun>; 2]; 2];

struct CpuRun {
    /// Daemon CPU over the refresh period, ms.
    cpu_ms: f64,
    /// Time its threads waited for a CPU over the period (runnable, not running), ms: the
    /// shared CPUs' share in what it could not do.
    wait_ms: f64,
    /// Reports sent and the period's length.
    sent: usize,
    took: Duration,
    /// Packets dropped on the raw sockets of the proxy namespace (igmpproxy's socket queue
    /// overflowing) and, for mgm, reports its event ring could not take.
    dropped: u64,
}

fn ring_full(r: &Running) -> u64 {
    match r {
        Running::Igmpproxy(_) => 0,
        Running::Mgm(p) => p.counter("events_ring_full"),
    }
}

fn cpu_run(pl: &mut ProxyLab, v: &Variant, version: u8, run: usize) -> [CpuRun; 2] {
    let r = pl.start(v.kind);
    let pid = pl.pid(&r);
    std::thread::sleep(Duration::from_millis(500));
    let gs = groups(run, REFRESH_GROUPS);
    // The state to refresh, proxied upstream: each group once per round, at a pace igmpproxy
    // takes without overflowing its socket, until the upstream router holds them all.
    let want: BTreeSet<Ipv4Addr> = gs.iter().copied().collect();
    for round in 0.. {
        send_reports(&pl.flood, FLOOD_HOST, version, &gs, gs.len(), WARM_UP_RATE);
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(5) && !pl.upstream_groups().is_superset(&want) {
            std::thread::sleep(Duration::from_millis(100));
        }
        if pl.upstream_groups().is_superset(&want) {
            break;
        }
        assert!(
            round < 10,
            "{}: {} of {} groups upstream after {round} rounds\n{}",
            v.label,
            pl.upstream_groups().intersection(&want).count(),
            want.len(),
            pl.log(&r)
        );
    }
    let out = REFRESH_RATES.map(|rate| {
        std::thread::sleep(Duration::from_secs(1));
        let (cpu0, wait0) = (process_cpu_ns(pid), process_wait_ns(pid));
        let (drops0, ring0) = (raw_drops(pid), ring_full(&r));
        let total = (rate * REFRESH_SECONDS) as usize;
        let (sent, took) = send_reports(&pl.flood, FLOOD_HOST, version, &gs, total, rate);
        // What is queued is handled.
        std::thread::sleep(Duration::from_millis(300));
        let cpu_ms = (process_cpu_ns(pid) - cpu0) as f64 / 1e6;
        let wait_ms = (process_wait_ns(pid) - wait0) as f64 / 1e6;
        let dropped = raw_drops(pid) - drops0 + ring_full(&r) - ring0;
        CpuRun {
            cpu_ms,
            wait_ms,
            sent,
            took,
            dropped,
        }
    });
    pl.stop(r);
    out
}

// ---- 4: RSS ---------------------------------------------------------------------------------

struct Rss {
    idle_kib: f64,
    held_kib: f64,
}

fn rss_run(pl: &mut ProxyLab, v: &Variant, run: usize) -> Rss {
    let r = pl.start(v.kind);
    let pid = pl.pid(&r);
    std::thread::sleep(Duration::from_secs(1));
    let idle_kib = process_rss_kib(pid) as f64;
    let gs = groups(run, RSS_GROUPS);
    let mut h = pl.host(&pl.h1.clone());
    for g in &gs {
        h.cmd(&format!("join {g}"));
    }
    let want: BTreeSet<Ipv4Addr> = gs.iter().copied().collect();
    pl.wait(&r, "1 000 groups upstream", Duration::from_secs(60), || {
        pl.upstream_groups().is_superset(&want)
    });
    std::thread::sleep(Duration::from_secs(1));
    let held_kib = process_rss_kib(pid) as f64;
    pl.stop(r);
    // The host goes (its memberships with it); the next run has fresh groups.
    let _ = Command::new("kill")
        .args(["-TERM", &h.pid.to_string()])
        .status();
    Rss { idle_kib, held_kib }
}

// ---- main -----------------------------------------------------------------------------------

fn main() {
    common::require_root();
    let version = igmpproxy::version();
    println!(
        "proxy_lab: mgm --upstream against {version}, same namespace lab, one daemon at a time"
    );

    // 1 and 2.
    let lat: Vec<(Variant, Latency)> = [IGMPPROXY_V, MGM_MATCHED, MGM_RFC]
        .iter()
        .enumerate()
        .map(|(i, v)| {
            eprintln!("join/leave: {} ...", v.label);
            (*v, latency(v, i as u8))
        })
        .collect();

    // 3. A lab per daemon (the upstream router keeps what each run left).
    let mut run = 0;
    let mut cpu: Vec<(Variant, CpuRuns)> = Vec::new();
    for v in [IGMPPROXY_V, MGM, MGM_SLOW] {
        let mut pl = ProxyLab::new();
        let mut runs = CpuRuns::default();
        for _ in 0..CPU_TRIALS {
            for (i, version) in [2u8, 3].into_iter().enumerate() {
                for (j, c) in cpu_run(&mut pl, &v, version, run).into_iter().enumerate() {
                    eprintln!(
                        "  {} v{version}: {} reports in {:.2} s, daemon CPU {:.1} ms (waited \
                         {:.1} ms for a CPU), {} dropped",
                        v.label,
                        c.sent,
                        c.took.as_secs_f64(),
                        c.cpu_ms,
                        c.wait_ms,
                        c.dropped
                    );
                    runs[i][j].push(c);
                }
                run += 1;
            }
        }
        cpu.push((v, runs));
    }

    // 4.
    let mut rss: Vec<(Variant, Vec<Rss>)> = Vec::new();
    for v in [IGMPPROXY_V, MGM] {
        let mut pl = ProxyLab::new();
        let runs = (0..RSS_TRIALS)
            .map(|_| {
                let x = rss_run(&mut pl, &v, run);
                run += 1;
                eprintln!(
                    "  {} RSS: {:.0} KiB idle, {:.0} KiB with {RSS_GROUPS} groups",
                    v.label, x.idle_kib, x.held_kib
                );
                x
            })
            .collect();
        rss.push((v, runs));
    }

    print_tables(&lat, &cpu, &rss);
}

/// A row of the join/leave table: its spans from one daemon's figures, and how many trials the
/// stream still flowed after `LEAVE_TIMEOUT`.
type Row = fn(&Latency) -> (Vec<f64>, usize);

fn done(v: &[f64]) -> (Vec<f64>, usize) {
    (v.to_vec(), 0)
}

fn left(v: &[Option<f64>]) -> (Vec<f64>, usize) {
    (
        v.iter().flatten().copied().collect(),
        v.iter().filter(|x| x.is_none()).count(),
    )
}

fn print_tables(
    lat: &[(Variant, Latency)],
    cpu: &[(Variant, CpuRuns)],
    rss: &[(Variant, Vec<Rss>)],
) {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "\nmedian (min–max); ratio = mgm median / igmpproxy median (< 1: mgm lower)"
    );

    // Join and leave.
    let [(pv, p), (mv, m), (rv, rf)] = lat else {
        unreachable!()
    };
    let _ = writeln!(
        out,
        "\n1-2. join and leave, {TRIALS} trials, spans between kernel receive stamps on the LAN \
         (stream 1 000 datagrams/s)"
    );
    let _ = writeln!(
        out,
        "| span | {} | {} | ratio | {} | ratio |",
        pv.label, mv.label, rv.label
    );
    let _ = writeln!(out, "|---|---|---|---|---|---|");
    // Each row: the spans measured, and how many trials the stream still flowed after
    // `LEAVE_TIMEOUT`.
    let rows: [(&str, Row); 7] = [
        (
            "join -> first datagram, first receiver (proxy joins upstream)",
            |l| done(&l.join_first),
        ),
        (
            "  of which: report on the LAN -> proxy's report at the upstream router",
            |l| done(&l.join_first_parts[0]),
        ),
        ("  then -> the stream arrives at the proxy", |l| {
            done(&l.join_first_parts[1])
        }),
        ("  then -> first datagram on the LAN", |l| {
            done(&l.join_first_parts[2])
        }),
        (
            "join -> first datagram, second LAN (stream already at the proxy)",
            |l| done(&l.join_second),
        ),
        ("leave -> last datagram, one LAN of two leaves", |l| {
            left(&l.leave_one)
        }),
        ("leave -> last datagram, last member leaves", |l| {
            left(&l.leave_last)
        }),
    ];
    let with_stuck = |(v, stuck): &(Vec<f64>, usize)| match stuck {
        0 => cell(v, span),
        n => format!(
            "{}; {n} of {TRIALS} still flowing after {} s",
            cell(v, span),
            LEAVE_TIMEOUT.as_secs()
        ),
    };
    for (name, f) in rows {
        let (a, b, c) = (f(p), f(m), f(rf));
        let _ = writeln!(
            out,
            "| {name} | {} | {} | {} | {} | {} |",
            with_stuck(&a),
            with_stuck(&b),
            ratio(&b.0, &a.0),
            with_stuck(&c),
            ratio(&c.0, &a.0)
        );
    }
    let gaps = |l: &Latency| {
        format!(
            "{} ({})",
            span(mmm(&l.gap_lan1).2),
            span(mmm(&l.gap_input).2)
        )
    };
    let _ = writeln!(
        out,
        "| LAN 1's longest gap in the stream while LAN 2 was left, worst trial (the stream \
         reaching the proxy) | {} | {} | | {} | |",
        gaps(p),
        gaps(m),
        gaps(rf)
    );

    // CPU.
    let _ = writeln!(
        out,
        "\n3. daemon CPU, {REFRESH_GROUPS} groups refreshed for {REFRESH_SECONDS:.0} s, \
         {CPU_TRIALS} runs; [µs of CPU per report the daemon took, i.e. not dropped]"
    );
    let cols: Vec<&str> = cpu.iter().map(|(v, _)| v.label).collect();
    let _ = writeln!(
        out,
        "| reports | {} | {} | ratio | {} | ratio |",
        cols[0], cols[1], cols[2]
    );
    let _ = writeln!(out, "|---|---|---|---|---|---|");
    for (i, name) in ["IGMPv2", "IGMPv3 (1 IS_EX {} record)"].iter().enumerate() {
        for (j, rate) in REFRESH_RATES.iter().enumerate() {
            let ms = |k: usize| -> Vec<f64> { cpu[k].1[i][j].iter().map(|c| c.cpu_ms).collect() };
            let show = |k: usize| {
                let c = &cpu[k].1[i][j];
                let taken: u64 = c
                    .iter()
                    .map(|c| c.sent as u64 - c.dropped.min(c.sent as u64))
                    .sum();
                let dropped: u64 = c.iter().map(|c| c.dropped).sum();
                let sent: usize = c.iter().map(|c| c.sent).sum();
                let total_ms: f64 = c.iter().map(|c| c.cpu_ms).sum();
                format!(
                    "{} [{:.2} µs]{}",
                    cell(&ms(k), |x| format!("{x:.1} ms")),
                    total_ms * 1e3 / taken.max(1) as f64,
                    match dropped {
                        0 => String::new(),
                        d => format!(", {:.0} % dropped", d as f64 * 100.0 / sent as f64),
                    }
                )
            };
            let _ = writeln!(
                out,
                "| {name}, {rate:.0}/s | {} | {} | {} | {} | {} |",
                show(0),
                show(1),
                ratio(&ms(1), &ms(0)),
                show(2),
                ratio(&ms(2), &ms(0))
            );
        }
    }
    for (j, rate) in REFRESH_RATES.iter().enumerate() {
        let rates: Vec<f64> = cpu
            .iter()
            .flat_map(|(_, b)| b.iter().flat_map(|by_rate| by_rate[j].iter()))
            .map(|c| c.sent as f64 / c.took.as_secs_f64())
            .collect();
        let (lo, _, hi) = mmm(&rates);
        let _ = writeln!(out, "(at {rate:.0}/s: sent {lo:.0}–{hi:.0} reports/s)");
    }

    // RSS.
    let _ = writeln!(out, "\n4. daemon RSS, {RSS_TRIALS} runs");
    let _ = writeln!(
        out,
        "| state | {} | {} | ratio |",
        rss[0].0.label, rss[1].0.label
    );
    let _ = writeln!(out, "|---|---|---|---|");
    let kib = |x: f64| format!("{x:.0} KiB");
    for (name, f) in [
        (
            "started, no group",
            (|r: &Rss| r.idle_kib) as fn(&Rss) -> f64,
        ),
        ("1 000 groups joined downstream and proxied upstream", |r| {
            r.held_kib
        }),
        ("growth for the 1 000 groups", |r| r.held_kib - r.idle_kib),
    ] {
        let a: Vec<f64> = rss[0].1.iter().map(f).collect();
        let b: Vec<f64> = rss[1].1.iter().map(f).collect();
        let _ = writeln!(
            out,
            "| {name} | {} | {} | {} |",
            cell(&a, kib),
            cell(&b, kib),
            ratio(&b, &a)
        );
    }
    print!("{out}");
}
