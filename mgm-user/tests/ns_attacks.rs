//! What a hostile LAN host can do, end to end against the real kernel (the defences are
//! row-tested in `manager/tests/mfe_bound.rs` and `igmp/tests/tracking.rs`; these tests show
//! them hold with real packets, the kernel's MFC and the classifier's budget):
//!
//! - **Many sources on `--max-mfes`**: a host joins G and sends to G from 200 source addresses,
//!   half on its own subnet (nobody else wants them), half routed via another link (off their
//!   route). The kernel's MFC holds at most `--max-mfes` of them, the rest are refused and
//!   counted, a real stream from the source LAN still reaches a receiver on a third LAN, and the
//!   daemon keeps answering.
//! - **Many of its own addresses to a watched group**: each (S,G) is wanted and on its route,
//!   so it is made past `--max-mfes`, but only up to the link's share of the headroom; a real
//!   stream arriving on another link is still made.
//! - **Quick leave after lost reports**: on a quick-leave interface with a small report budget,
//!   a third host's flood holds back a receiver's join; the daemon sees its budget held reports
//!   back and untracks the interface's groups, so when the only tracked receiver leaves the
//!   group gets the last-member queries, the untracked receiver answers them and keeps the
//!   stream.
//!
//! Topology: `common/forward.rs` (router `r`, links A 192.0.2.0/24 with the source host,
//! B 198.51.100.0/24, C 203.0.113.0/24). Waits poll with a deadline; no timed assertion.
mod common;
#[path = "common/forward.rs"]
mod forward;

use common::Host;
use forward::{ForwardLab, HostEnd, Sniffer, LMQT, SLACK};
use std::net::Ipv4Addr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// `mgm show stats --json` field `key` (0 when absent).
fn stat(fl: &ForwardLab, key: &str) -> u64 {
    forward::mgm_json(&fl.socket(), &["show", "stats", "--json"])[key]
        .as_u64()
        .unwrap_or(0)
}

/// Resolved entries in the kernel's MFC, all of them and those of `group`.
fn resolved(fl: &ForwardLab, group: &str) -> (usize, usize) {
    let rows: Vec<_> = fl
        .kernel_mroutes()
        .into_iter()
        .filter(|m| m.state == "resolved")
        .collect();
    let of_group = rows.iter().filter(|m| m.group == group).count();
    (rows.len(), of_group)
}

/// Starts `many_sources.py` in `ns`: datagrams to `group:port` out of the interface with
/// address `ifaddr`, from every address of `ranges` ("FIRST+COUNT") in turn, for `seconds`.
fn spawn_many_sources(
    ns: &str,
    ifaddr: &str,
    (group, port): (&str, u16),
    seconds: f64,
    ranges: &[&str],
) -> Child {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/common/many_sources.py");
    Command::new("ip")
        .args(["netns", "exec", ns, "python3"])
        .arg(script)
        .args([ifaddr, group, &port.to_string(), &seconds.to_string()])
        .args(ranges)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn many_sources.py")
}

const MAX_MFES: usize = 10;
/// The attacked group, joined by the attacker on link B.
const ATTACKED: &str = "239.20.0.1";
const ATTACK_PORT: u16 = 5020;
/// Sources on the attacker's own subnet (RPF: link B, the arrival link; nobody else wants G),
/// and sources routed via link C (off their route on link B).
const ON_LINK: &str = "198.51.100.100+100";
const OFF_ROUTE: &str = "203.0.113.100+100";
const SOURCES: usize = 200;
/// The legitimate stream: the source host on link A to a receiver on link C.
const REAL: &str = "239.20.0.2";
const REAL_PORT: u16 = 5021;

#[test]
fn many_sources_to_a_joined_group_stay_within_max_mfes_and_a_real_stream_still_flows() {
    let mut fl = ForwardLab::new_with(["", "", ""], &["--max-mfes", &MAX_MFES.to_string()]);
    let attacker = fl.add_host('b', "atk", 66);
    let receiver = fl.add_host('c', "rcv", 10);
    let (rb, rc) = (fl.rb.clone(), fl.rc.clone());
    let k = fl.k;
    let mut atk = fl.host(&attacker);
    atk.cmd(&format!("join {ATTACKED} {}", attacker.addr));
    fl.wait_for("the attacker's join", Duration::from_secs(5), || {
        fl.lab.group(k, &rb, ATTACKED).is_some()
    });
    let mut attack = spawn_many_sources(
        &attacker.ns,
        &attacker.addr,
        (ATTACKED, ATTACK_PORT),
        30.0,
        &[ON_LINK, OFF_ROUTE],
    );
    // Every sample: the MFC within the bound (the attacked group's entries at most MAX_MFES,
    // with the real stream's entry one more), the daemon answering `mgm show interfaces`.
    let sample = |fl: &ForwardLab| {
        let (all, attacked) = resolved(fl, ATTACKED);
        assert!(
            attacked <= MAX_MFES && all <= MAX_MFES + 1,
            "the kernel's MFC holds {all} entries, {attacked} of the attacked group, with \
             --max-mfes {MAX_MFES}\n{}",
            fl.ip_mroute_text()
        );
        assert_eq!(fl.lab.interfaces(k).len(), 3, "mgm show interfaces");
    };
    fl.wait_for(
        "the attack's sources past the bound refused",
        Duration::from_secs(15),
        || {
            sample(&fl);
            stat(&fl, "daemon_mfes_refused") >= (SOURCES - MAX_MFES) as u64
        },
    );
    // During the attack, a receiver on link C joins a real stream from link A: wanted, made
    // past the bound.
    let (r, _source) = start_real_stream(&mut fl, &receiver);
    fl.wait_for(
        "the real stream reaches link C during the attack",
        Duration::from_secs(10),
        || {
            sample(&fl);
            r.received_count() > 0
        },
    );
    // And keeps flowing while the attack goes on: it rises at most samples.
    let mut seen = r.received_count();
    let mut rising = 0;
    for _ in 0..10 {
        std::thread::sleep(Duration::from_millis(100));
        sample(&fl);
        let now = r.received_count();
        rising += usize::from(now > seen);
        seen = now;
    }
    assert!(
        matches!(attack.try_wait(), Ok(None)),
        "the attack was still running"
    );
    assert!(
        rising >= 5,
        "the real stream stalled during the attack: rose in {rising} of 10 samples\n{}",
        fl.diagnostics()
    );
    assert!(
        fl.kernel_mroute(REAL)
            .is_some_and(|m| m.state == "resolved" && m.oifs == vec![rc.clone()]),
        "{}",
        fl.ip_mroute_text()
    );
    assert_eq!(stat(&fl, "daemon_wanted_mfes_refused"), 0);
    let made = fl.mfes().iter().filter(|m| m.group == ATTACKED).count();
    assert!(made <= MAX_MFES, "{made} entries of the attacked group");
    stop(attack);
}

/// The group a receiver on link C watches, which the attacker on link B sends to.
const WATCHED: &str = "239.20.0.3";
const WATCHED_PORT: u16 = 5022;
/// What one incoming interface may hold past `--max-mfes`: `max_mfes` + 3 × `max_mfes` shared
/// over the lab's three managed links (`Manager::mfe_share_limit`).
const SHARE: usize = MAX_MFES + 3 * MAX_MFES / 3;

/// One LAN host sends to a group that has a receiver on another link, from 100 addresses of
/// its own subnet: every (S,G) passes RPF and is wanted, so each is made past `--max-mfes`,
/// but only up to link B's share of the headroom; the rest are refused as wanted entries. A
/// real new stream arriving on link A is then still made (without the share link B took the
/// whole ceiling, 4 × `--max-mfes`, and it was refused).
#[test]
fn one_lan_sending_from_many_of_its_addresses_holds_only_its_share_of_the_headroom() {
    let mut fl = ForwardLab::new_with(["", "", ""], &["--max-mfes", &MAX_MFES.to_string()]);
    let attacker = fl.add_host('b', "atk", 66);
    let watcher = fl.add_host('c', "wat", 11);
    let receiver = fl.add_host('c', "rcv", 10);
    let (rc, k) = (fl.rc.clone(), fl.k);
    let mut w = fl.host(&watcher);
    w.cmd(&format!("join {WATCHED} {}", watcher.addr));
    fl.wait_for("the watcher's join", Duration::from_secs(5), || {
        fl.lab.group(k, &rc, WATCHED).is_some()
    });
    let attack = spawn_many_sources(
        &attacker.ns,
        &attacker.addr,
        (WATCHED, WATCHED_PORT),
        30.0,
        &[ON_LINK],
    );
    let sample = |fl: &ForwardLab| {
        let (_, watched) = resolved(fl, WATCHED);
        assert!(
            watched <= SHARE,
            "link B holds {watched} entries of the watched group, its share is {SHARE}\n{}",
            fl.ip_mroute_text()
        );
    };
    fl.wait_for(
        "the sources past link B's share refused as wanted entries",
        Duration::from_secs(15),
        || {
            sample(&fl);
            stat(&fl, "daemon_wanted_mfes_refused") >= (100 - SHARE) as u64
        },
    );
    let (r, _source) = start_real_stream(&mut fl, &receiver);
    fl.wait_for(
        "the real stream from link A reaches link C",
        Duration::from_secs(10),
        || {
            sample(&fl);
            r.received_count() > 0
        },
    );
    assert!(
        fl.kernel_mroute(REAL)
            .is_some_and(|m| m.state == "resolved" && m.oifs == vec![rc.clone()]),
        "{}",
        fl.ip_mroute_text()
    );
    stop(attack);
}

/// The legitimate stream: `receiver` (on link C) listens and joins [`REAL`], the source host
/// on link A sends to it. The receiver's and the source's hosts, kept while the test runs.
fn start_real_stream(fl: &mut ForwardLab, receiver: &HostEnd) -> (Host, Host) {
    let mut r = fl.host(receiver);
    r.cmd(&format!("recv {REAL_PORT}"));
    r.cmd(&format!("join {REAL} {}", receiver.addr));
    let src = fl.source.clone();
    let mut s = fl.host(&src);
    s.cmd(&format!("send {REAL} {REAL_PORT} 0 20"));
    (r, s)
}

/// Ends a helper the test started (by its own handle) and reaps it.
fn stop(mut child: Child) {
    let _ = child.kill();
    let _ = child.wait();
}

// ---- quick leave after lost reports ---------------------------------------------------------

/// The groups of the attempts: 239.20.1.1, .2, ...
const G0: Ipv4Addr = Ipv4Addr::new(239, 20, 1, 1);
/// Ports of the attempts' streams: PORT0, + 1, ...
const PORT0: u16 = 5030;
/// Link B's report budget: a token every 200 ms per CPU, so the flood keeps each CPU's bucket
/// empty and a receiver's join is held back.
const BUDGET: u32 = 5;
/// Attempts at holding the second receiver's join back (see the test).
const ATTEMPTS: u8 = 4;

/// The CPUs this process may run on (`Cpus_allowed_list` of /proc/self/status).
fn allowed_cpus() -> Vec<usize> {
    let status = std::fs::read_to_string("/proc/self/status").expect("read /proc/self/status");
    let list = status
        .lines()
        .find_map(|l| l.strip_prefix("Cpus_allowed_list:"))
        .expect("Cpus_allowed_list");
    list.trim()
        .split(',')
        .flat_map(|part| {
            let (a, b) = part.split_once('-').unwrap_or((part, part));
            let (a, b): (usize, usize) = (a.parse().expect("cpu"), b.parse().expect("cpu"));
            a..=b
        })
        .collect()
}

/// One `v3_flood.py` pinned to each CPU (the budget's buckets are per CPU, and a frame sent
/// from a namespace is classified on the sender's CPU): IS_EX({}) reports for one group from
/// `src`, as fast as the socket takes them, for `seconds`.
fn spawn_flood_on_every_cpu(ns: &str, src: &str, seconds: f64) -> Vec<Child> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/common/v3_flood.py");
    allowed_cpus()
        .into_iter()
        .map(|cpu| {
            Command::new("ip")
                .args(["netns", "exec", ns, "taskset", "-c", &cpu.to_string()])
                .arg("python3")
                .arg(&script)
                .args([src, "100000000", &seconds.to_string(), "0", "1", "exclude"])
                .stdout(Stdio::null())
                .stderr(Stdio::inherit())
                .spawn()
                .expect("spawn v3_flood.py")
        })
        .collect()
}

/// The quick-leave lab: link B with `quick-leave=on`, a small report budget and a query
/// interval of 10 s (the groups outlive the flood, GMI 21 s, although no report for them gets
/// through meanwhile; the hosts' answers to general queries seldom come between the flood's
/// end and the leave). Two receivers and a flooder on link B.
struct QuickLeaveLab {
    fl: ForwardLab,
    receivers: [HostEnd; 2],
    flooder: HostEnd,
}

impl QuickLeaveLab {
    fn new() -> Self {
        let b = format!(",quick-leave=on,max-reports-per-second={BUDGET},query-interval=10s");
        let mut fl = ForwardLab::new_with(["", &b, ""], &[]);
        let receivers = [fl.add_host('b', "qa", 10), fl.add_host('b', "qb", 11)];
        let flooder = fl.add_host('b', "fl", 12);
        QuickLeaveLab {
            fl,
            receivers,
            flooder,
        }
    }

    /// The tracked hosts of `group` on link B.
    fn hosts(&self, group: Ipv4Addr) -> Option<Vec<String>> {
        let g = self
            .fl
            .lab
            .group(self.fl.k, &self.fl.rb, &group.to_string());
        g.and_then(|g| g.hosts)
    }

    /// What link B's budget held back so far.
    fn limited(&self) -> u64 {
        let rows = self.fl.lab.interfaces(self.fl.k);
        let row = rows.into_iter().find(|i| i.interface == self.fl.rb);
        row.map_or(0, |i| i.reports_rate_limited)
    }

    /// The first receiver joins `group` and is tracked; the source streams to it; a flood
    /// holds reports for held groups back while the second receiver joins. Whether the second
    /// receiver's join was held back (it is untracked).
    fn join_during_a_flood(
        &mut self,
        first: &mut Host,
        second: &mut Host,
        group: Ipv4Addr,
    ) -> bool {
        let [h1, h2] = self.receivers.clone();
        let fl = &self.fl;
        first.cmd(&format!("join {group} {}", h1.addr));
        fl.wait_for("the first receiver tracked", Duration::from_secs(5), || {
            self.hosts(group).is_some_and(|h| h == [h1.addr.clone()])
        });
        let h2_reports = Sniffer::start_igmp_reports_from(
            &fl.router,
            &fl.rb,
            h2.addr.parse().expect("an address"),
        );
        let before = self.limited();
        let flood = spawn_flood_on_every_cpu(&self.flooder.ns, &self.flooder.addr, 20.0);
        fl.wait_for("the flood held back", Duration::from_secs(10), || {
            self.limited() > before + 100
        });
        // Its report and the repeat within a second reach the router's classifier, which
        // holds them back. No wait for the daemon's once-a-second look at the budget (its
        // warning): the leave that follows must find the loss by itself.
        second.cmd(&format!("join {group} {}", h2.addr));
        fl.wait_for(
            "the second receiver's two reports at the router",
            Duration::from_secs(5),
            || h2_reports.count() >= 2,
        );
        for f in flood {
            stop(f);
        }
        self.hosts(group) == Some(vec![h1.addr.clone()])
    }
}

/// The second receiver's join is held back by the flood (the budget's buckets are per CPU and
/// the kernel picks the CPU that classifies a report: the flood pinned to every CPU keeps them
/// empty, but a report can still find a token; then the attempt is made again on a new
/// group). The first receiver, the only one tracked, leaves: the tracking is not complete
/// (reports were lost), so the group gets the RFC's last-member queries, the untracked
/// receiver answers them and keeps the stream.
#[test]
fn a_join_the_budget_held_back_untracks_the_group_so_a_leave_gets_the_queries() {
    let mut q = QuickLeaveLab::new();
    let [h1, h2] = q.receivers.clone();
    let (mut first, mut second) = (q.fl.host(&h1), q.fl.host(&h2));
    let src = q.fl.source.clone();
    let mut s = q.fl.host(&src);
    let queries = Sniffer::start_group_queries(&h2.ns, &h2.ifname);
    let mut attempt = 0;
    let (group, port) = loop {
        assert!(
            attempt < ATTEMPTS,
            "the second receiver's join got past the budget in {ATTEMPTS} attempts"
        );
        let group = Ipv4Addr::from(u32::from(G0) + u32::from(attempt));
        let port = PORT0 + u16::from(attempt);
        second.cmd(&format!("recv {port}"));
        s.cmd(&format!("send {group} {port} 0 10"));
        if q.join_during_a_flood(&mut first, &mut second, group) {
            break (group, port);
        }
        eprintln!("attempt {attempt}: the second receiver's join got past the budget");
        attempt += 1;
    };
    let fl = &q.fl;
    let on_h2 = Sniffer::start(&h2.ns, &h2.ifname, group, port);
    let queried = queries.count();
    // The budget gives a token per CPU every 1/BUDGET s again: room for the leave and the
    // answers to the queries.
    std::thread::sleep(Duration::from_secs(2) / BUDGET);
    fl.wait_for("the stream on link B", Duration::from_secs(5), || {
        on_h2.count() > 5
    });

    first.cmd(&format!("leave {group}"));
    fl.wait_for("the last-member queries on link B", LMQT + SLACK, || {
        queries.count() > queried
    });
    let g = group.to_string();
    let until = Instant::now() + LMQT + Duration::from_secs(1);
    let mut seen = on_h2.count();
    let mut rising = 0;
    while Instant::now() < until {
        let row = fl.lab.group(fl.k, &fl.rb, &g);
        assert!(
            row.as_ref().is_some_and(|r| r.filter_mode == "exclude"),
            "the leave of the only tracked host cut the group: {row:?}\n{}",
            fl.diagnostics()
        );
        let m = fl.mfe(&g);
        assert!(
            m.as_ref().is_some_and(|m| m.oifs.contains(&fl.rb)),
            "link B out of the MFE: {m:?}\n{}",
            fl.diagnostics()
        );
        std::thread::sleep(Duration::from_millis(100));
        let now = on_h2.count();
        rising += usize::from(now > seen);
        seen = now;
    }
    assert!(
        rising >= 5,
        "the stream to the untracked receiver stalled: rose in {rising} samples\n{}",
        fl.diagnostics()
    );
    assert!(
        second.received_count() > 0,
        "the untracked receiver's socket got the stream"
    );
}
