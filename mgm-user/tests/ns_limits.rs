//! Limits under a flood, against the real daemon: a host flooding new groups is capped by
//! `max-groups-per-host` while another host still joins; after a 100 000-group flood expires the
//! daemon gives its memory back (`daemon_rss_bytes` in `mgm show stats`); a flood on one LAN
//! is held to its interface's budget (`max-reports-per-second`) while a host on another joins.
mod common;

use common::{spawn_v3_flood_mode, Lab, FAST, SLACK};
use mgm_user::control::{
    api::{InterfaceView, Request, StatsView},
    client,
};
use std::time::Duration;

const G: &str = "239.2.3.4";

/// Sends IGMPv3 reports from the namespace's own stack (raw socket, Router Alert, TTL 1) with
/// one IS_EX({}) record per group 239.10.0.0 + FIRST .. + COUNT, PER records a report, out of
/// the interface with address ADDR.
const FLOOD: &str = r#"
import socket, struct, sys, time
first, count, per = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_IGMP)
s.setsockopt(socket.IPPROTO_IP, socket.IP_OPTIONS, b"\x94\x04\x00\x00")
s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 1)
s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(sys.argv[4]))
def csum(b):
    t = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    t = (t >> 16) + (t & 0xffff)
    t += t >> 16
    return ~t & 0xffff
sent = 0
for start in range(first, first + count, per):
    n = min(per, first + count - start)
    recs = b"".join(struct.pack("!BBHI", 2, 0, 0, 0xef0a0000 + g) for g in range(start, start + n))
    body = struct.pack("!BBHHH", 0x22, 0, 0, 0, n) + recs
    body = body[:2] + struct.pack("!H", csum(body)) + body[4:]
    s.sendto(body, ("224.0.0.22", 0))
    sent += 1
    if sent % 20 == 0:
        time.sleep(0.01)
"#;

fn flood(lab: &Lab, ns: &str, first: u32, count: u32, per: u32) {
    lab.ns(
        ns,
        &[
            "python3",
            "-c",
            FLOOD,
            &first.to_string(),
            &count.to_string(),
            &per.to_string(),
            "192.0.2.11",
        ],
    );
}

/// A router on a LAN with two hosts (192.0.2.11, .12); `extra` flags for the daemon.
fn lan(extra: &[&str]) -> (Lab, String, Vec<String>, usize) {
    let mut lab = Lab::new();
    let lan = lab.lan("lan");
    let r = lab.netns("r");
    let rif = lab.lan_port(&lan, (&r, "r", "192.0.2.1/24"));
    let mut hns = Vec::new();
    for i in 0..2 {
        let ns = lab.netns(&format!("h{i}"));
        lab.lan_port(
            &lan,
            (&ns, &format!("h{i}"), &format!("192.0.2.{}/24", 11 + i)),
        );
        hns.push(ns);
    }
    // FAST's flag-value pairs, less the flags `extra` sets itself.
    let flags: Vec<&str> = FAST
        .chunks(2)
        .filter(|pair| !extra.contains(&pair[0]))
        .flatten()
        .chain(extra)
        .copied()
        .collect();
    let k = lab.start_mgm(&r, &[&rif], &flags);
    lab.set_router(&r);
    (lab, rif, hns, k)
}

#[test]
fn a_flooding_host_is_capped_and_another_host_still_joins() {
    let (mut lab, rif, hns, k) = lan(&["--max-groups", "20", "--max-groups-per-host", "8"]);
    // The flooder asks for 30 groups, twice (the second round only refreshes what it holds).
    flood(&lab, &hns[0], 0, 30, 10);
    lab.wait_for("the flood handled", Duration::from_secs(5), || {
        lab.interfaces(k)[0].refused_host_groups >= 22
    });
    flood(&lab, &hns[0], 0, 30, 10);
    let mut host = lab.host(&hns[1]);
    host.cmd(&format!("join {G} 192.0.2.12"));
    lab.wait_for("the second host's group", Duration::from_secs(5), || {
        lab.group(k, &rif, G).is_some()
    });
    let i = &lab.interfaces(k)[0];
    assert_eq!(
        i.group_count, 9,
        "8 groups of the flooder and the host's: {i:?}"
    );
    assert_eq!(i.max_groups_per_host, 8);
    assert!(i.refused_host_groups >= 44, "{i:?}");
    assert_eq!(i.refused_groups, 0, "{i:?}");
    assert_eq!(i.host_count, 2, "{i:?}");
    let flooders = lab
        .groups(k)
        .into_iter()
        .filter(|g| g.last_reporter.as_deref() == Some("192.0.2.11"))
        .count();
    assert_eq!(flooders, 8);
    let log = lab.daemon_log(k);
    let told = log
        .lines()
        .filter(|l| l.contains("refused: host 192.0.2.11 keeps 8 groups"))
        .count();
    assert_eq!(told, 1, "the refusal told once a minute:\n{log}");
}

/// Groups on the daemon's one interface; `None` while it does not answer (busy with a flood).
fn group_count(lab: &Lab, k: usize) -> Option<usize> {
    let rows: Vec<InterfaceView> =
        client::request(&lab.daemon(k).socket, Request::ShowInterfaces).ok()?;
    rows.first().map(|i| i.group_count)
}

fn stats(lab: &Lab, k: usize) -> StatsView {
    client::request(&lab.daemon(k).socket, Request::ShowStats).expect("show stats")
}

#[test]
fn memory_is_given_back_after_a_flood_of_groups_expires() {
    // GMI 21 s (QI 10 s): the flood must be held whole at once even when a loaded machine and
    // a debug build make the daemon drain the ring slower than the host floods it.
    const FLOOD_GMI: Duration = Duration::from_secs(21);
    const GROUPS: u32 = 50_000;
    let held_enough = |n: usize| n >= GROUPS as usize * 9 / 10;
    let (lab, _rif, hns, k) = lan(&[
        "--max-groups",
        "100000",
        "--max-groups-per-host",
        "100000",
        "--query-interval",
        "10s",
        // The memory of a flood held whole, not the report budget (which holds back a flood
        // of 150-record reports: each counts 20 small ones).
        "--max-reports-per-second",
        "0",
    ]);
    let start = stats(&lab, k)["daemon_rss_bytes"];
    // Reports the ring had no room for are lost (counted); send again until most are held.
    for _ in 0..6 {
        flood(&lab, &hns[0], 0, GROUPS, 150);
        std::thread::sleep(Duration::from_millis(500));
        if group_count(&lab, k).is_some_and(held_enough) {
            break;
        }
    }
    lab.wait_for("the flood learnt", Duration::from_secs(60), || {
        group_count(&lab, k).is_some_and(held_enough)
    });
    let held = group_count(&lab, k).unwrap_or(0);
    let peak = stats(&lab, k)["daemon_rss_bytes"];
    lab.wait_for(
        "the flood expired",
        FLOOD_GMI + SLACK + Duration::from_secs(30),
        || lab.interfaces(k)[0].group_count == 0,
    );
    // A deadline after the expiry runs the trim of the last shrink, if any is left.
    std::thread::sleep(Duration::from_secs(1));
    let after = stats(&lab, k)["daemon_rss_bytes"];
    let s = stats(&lab, k);
    eprintln!(
        "RSS: {} MB at start, {} MB with {} groups, {} MB after they expired; map write errors {}",
        start >> 20,
        peak >> 20,
        held,
        after >> 20,
        s["daemon_map_write_errors"]
    );
    assert_eq!(s["daemon_map_write_errors"], 0, "the maps hold max-groups");
    assert!(
        after < start + (peak - start) / 2,
        "most of the flood's memory given back: start {start}, peak {peak}, after {after}"
    );
}

/// A host on LAN A floods reports for new groups far above its interface's budget
/// (`-i IF,max-reports-per-second=100`); a host on LAN B (default budget) joins meanwhile and
/// its group is held. The flood is counted as `events_rate_limited` and LAN A holds no more
/// groups than the budget let through; without it, every one of the 3 000 groups (repeated ten
/// times each) would be held.
#[test]
fn a_flood_on_one_lan_is_held_to_its_budget_and_another_lan_still_joins() {
    const GROUPS: usize = 3000;
    const BUDGET: u64 = 100;
    let mut lab = Lab::new();
    let (lan_a, lan_b) = (lab.lan("la"), lab.lan("lb"));
    let r = lab.netns("r");
    let rif_a = lab.lan_port(&lan_a, (&r, "ra", "192.0.2.1/24"));
    let rif_b = lab.lan_port(&lan_b, (&r, "rb", "198.51.100.1/24"));
    let flooder = lab.netns("fl");
    lab.lan_port(&lan_a, (&flooder, "fl", "192.0.2.11/24"));
    let joiner = lab.netns("jo");
    lab.lan_port(&lan_b, (&joiner, "jo", "198.51.100.12/24"));
    let budget_a = format!("{rif_a},max-reports-per-second={BUDGET}");
    // The per-host cap out of the way: the budget alone holds the flood back.
    let flags: Vec<&str> = FAST
        .iter()
        .copied()
        .chain(["--max-groups-per-host", "4096"])
        .collect();
    let k = lab.start_mgm(&r, &[&budget_a, &rif_b], &flags);
    lab.set_router(&r);

    let budgets: Vec<(String, u32)> = lab
        .interfaces(k)
        .into_iter()
        .map(|i| (i.interface, i.max_reports_per_second))
        .collect();
    assert!(
        budgets.contains(&(rif_a.clone(), BUDGET as u32)),
        "{budgets:?}"
    );
    assert!(
        budgets.contains(&(
            rif_b.clone(),
            mgm_user::igmp::DEFAULT_MAX_REPORTS_PER_SECOND
        )),
        "the default: {budgets:?}"
    );
    let flood = spawn_v3_flood_mode(
        &flooder,
        "192.0.2.11",
        10 * GROUPS,
        5.0,
        0,
        GROUPS,
        "exclude",
    );
    let mut host = lab.host(&joiner);
    host.cmd(&format!("join {G} 198.51.100.12"));
    lab.wait_for(
        "the joiner's group on LAN B",
        Duration::from_secs(5),
        || lab.group(k, &rif_b, G).is_some(),
    );
    let out = flood.wait_with_output().expect("the flood ends");
    let said = String::from_utf8_lossy(&out.stdout);
    // "sent N in S s"
    let words: Vec<&str> = said.split_whitespace().collect();
    let sent: u64 = words
        .get(1)
        .and_then(|w| w.parse().ok())
        .expect("the flood's count");
    let secs: f64 = words
        .get(3)
        .and_then(|w| w.parse().ok())
        .expect("the flood's time");
    // Per CPU: the flooder may run on every CPU of the machine.
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get()) as u64;
    let through = cpus * (BUDGET + BUDGET * (secs.ceil() as u64 + 2));
    let held_a = lab
        .groups(k)
        .into_iter()
        .filter(|g| g.interface == rif_a)
        .count() as u64;
    let s = stats(&lab, k);
    eprintln!(
        "flood: {sent} reports in {secs} s; {held_a} groups held on LAN A (at most {through}); \
         events_rate_limited {}, events_ring_full {}",
        s["events_rate_limited"], s["events_ring_full"]
    );
    assert!(
        sent > through,
        "the flood must exceed the budget to test it"
    );
    assert!(
        held_a <= through,
        "LAN A held to its budget: {held_a} > {through}"
    );
    // Each flood report went up (at most `through`), was absorbed as the refresh of a group
    // held, or was held back and counted.
    assert!(
        s["events_rate_limited"] + s["fast_path_refreshes"] + s["events_ring_full"]
            >= sent - through,
        "the reports past the budget are counted"
    );
    assert!(s["events_rate_limited"] > 0);
    assert!(
        lab.group(k, &rif_b, G).is_some(),
        "the joiner's group is still held"
    );
    flooding_lan_is_named(&lab, k, &mut host, &rif_a, &rif_b);
}

/// The warning's words after the interface and the count.
const WARNED: &str = "IGMP reports and leaves over max-reports-per-second";

/// Whether `log` has the budget's warning for interface `name`.
fn warned(log: &str, name: &str) -> bool {
    log.lines().any(|l| {
        l.split_once(&format!("{name}: ")).is_some_and(|(_, rest)| {
            rest.split_once(' ')
                .is_some_and(|(_, w)| w.starts_with(WARNED))
        })
    })
}

/// After the flood on `rif_a`: `mgm show interfaces`, `mgm show stats` (the snapshot the
/// metric `mgm_interface_reports_rate_limited_total` is encoded from) and the log name LAN A,
/// with every report held back, and not LAN B.
fn flooding_lan_is_named(lab: &Lab, k: usize, host: &mut common::Host, rif_a: &str, rif_b: &str) {
    let s = stats(lab, k);
    let total = s["events_rate_limited"];
    let limited = |name: &str| {
        let row = lab.interfaces(k).into_iter().find(|i| i.interface == name);
        row.expect("a managed interface").reports_rate_limited
    };
    assert_eq!(limited(rif_a), total, "every one held back on LAN A");
    assert_eq!(limited(rif_b), 0);
    let per_if: Vec<(String, u64)> = s
        .interfaces
        .iter()
        .map(|i| (i.interface.clone(), i.reports_rate_limited))
        .collect();
    assert!(
        per_if.contains(&(rif_a.to_string(), total)) && per_if.contains(&(rif_b.to_string(), 0)),
        "show stats: {per_if:?}"
    );
    // The daemon looks at most once a second while reports come: joins on LAN B keep them
    // coming until it has looked.
    let mut n = 0;
    lab.wait_for("the warning naming LAN A", Duration::from_secs(10), || {
        n += 1;
        host.cmd(&format!("join 239.3.0.{n} 198.51.100.12"));
        warned(&lab.daemon_log(k), rif_a)
    });
    assert!(!warned(&lab.daemon_log(k), rif_b), "LAN B did not flood");
}
