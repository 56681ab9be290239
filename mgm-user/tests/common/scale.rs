//! The scale lab (used by `ns_scale.rs` and `benches/scale_lab.rs`, next to `common/mod.rs`):
//! a router on two LANs, each with one host that reports 50 000 IGMPv3 INCLUDE groups of 10
//! sources (100 000 groups, 1 000 000 sources), raw reports from the host's own stack, 16
//! records each; what the daemon holds, what its maps hold, its CPU time.
#![allow(dead_code)]

use crate::common::Lab;
use mgm_user::control::{
    api::{InterfaceView, Request, StatsView},
    client,
};
use std::time::Duration;

pub(crate) const GROUPS_PER_LAN: u32 = 50_000;
pub(crate) const SOURCES_PER_GROUP: u32 = 10;

/// IGMPv3 reports from the namespace's own stack (raw socket, Router Alert, TTL 1) out of the
/// interface with address ADDR: one IS_IN record of SOURCES sources (203.0.113.1, …) per group
/// 239.OCTET.0.0 + 0 .. COUNT, 16 records a report (the most the classifier refreshes in
/// place: a round sent again is absorbed for the groups held, and only the others wake the
/// daemon), a pause of 1 ms every BURST reports. Prints the number of reports sent.
pub(crate) const REPORTS: &str = r#"
import socket, struct, sys, time
addr, octet, count, nsrc, burst = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_IGMP)
s.setsockopt(socket.IPPROTO_IP, socket.IP_OPTIONS, b"\x94\x04\x00\x00")
s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 1)
s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(addr))
def csum(b):
    t = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    t = (t >> 16) + (t & 0xffff)
    t += t >> 16
    return ~t & 0xffff
sources = b"".join(struct.pack("!I", 0xcb007100 + 1 + i) for i in range(nsrc))
per = min(16, 1400 // (8 + 4 * nsrc))
base = (239 << 24) | (octet << 16)
sent = 0
for start in range(0, count, per):
    n = min(per, count - start)
    recs = b"".join(struct.pack("!BBHI", 1, 0, nsrc, base + g) + sources for g in range(start, start + n))
    body = struct.pack("!BBHHH", 0x22, 0, 0, 0, n) + recs
    body = body[:2] + struct.pack("!H", csum(body)) + body[4:]
    s.sendto(body, ("224.0.0.22", 0))
    sent += 1
    if sent % burst == 0:
        time.sleep(0.001)
print(sent)
"#;

pub(crate) struct Scale {
    pub(crate) lab: Lab,
    pub(crate) k: usize,
    /// Router interface, host namespace, host address, second octet of its groups.
    pub(crate) lans: Vec<(String, String, &'static str, u32)>,
}

pub(crate) fn scale_lab() -> Scale {
    let mut lab = Lab::new();
    let r = lab.netns("r");
    let mut lans = Vec::new();
    for (i, (router, host)) in [
        ("192.0.2.1/24", "192.0.2.11"),
        ("198.51.100.1/24", "198.51.100.11"),
    ]
    .into_iter()
    .enumerate()
    {
        let lan = lab.lan(&format!("lan{i}"));
        let rif = lab.lan_port(&lan, (&r, &format!("r{i}"), router));
        let h = lab.netns(&format!("h{i}"));
        lab.lan_port(&lan, (&h, &format!("h{i}"), &format!("{host}/24")));
        lans.push((rif, h, host, 10 + i as u32));
    }
    let per_lan = GROUPS_PER_LAN.to_string();
    let sources = (GROUPS_PER_LAN * SOURCES_PER_GROUP).to_string();
    let ifaces: Vec<&str> = lans.iter().map(|l| l.0.as_str()).collect();
    // QI 600 s (GMI 1 210 s): nothing expires while the test runs, however slowly a debug
    // build on a loaded machine learns. Logs at info: a debug line per group would be the
    // test's cost.
    let k = lab.spawn_mgm_env(
        &r,
        &ifaces,
        &[
            "--max-groups",
            &per_lan,
            "--max-groups-per-host",
            &per_lan,
            "--max-sources-total",
            &sources,
            "--query-interval",
            "600s",
            // Rounds of thousands of reports a LAN: no budget in the classifier.
            "--max-reports-per-second",
            "0",
        ],
        &[("MGM_LOG", std::ffi::OsStr::new("info"))],
        false,
    );
    lab.wait_answering(k);
    lab.set_router(&r);
    Scale { lab, k, lans }
}

pub(crate) fn stats(lab: &Lab, k: usize) -> StatsView {
    client::request(&lab.daemon(k).socket, Request::ShowStats).expect("show stats")
}

/// Every interface's (groups, sources), `None` while the daemon is too busy to answer.
pub(crate) fn held(lab: &Lab, k: usize) -> Option<Vec<(usize, usize)>> {
    let rows: Vec<InterfaceView> =
        client::request(&lab.daemon(k).socket, Request::ShowInterfaces).ok()?;
    Some(
        rows.iter()
            .map(|i| (i.group_count, i.source_count))
            .collect(),
    )
}

/// Entries of a pinned map of the daemon, counted by walking its keys.
pub(crate) fn map_entries<K: aya::Pod, V: aya::Pod>(lab: &Lab, k: usize, name: &str) -> usize {
    let data = aya::maps::MapData::from_pin(lab.daemon(k).pin_dir.join(name)).expect(name);
    let map: aya::maps::HashMap<_, K, V> =
        aya::maps::HashMap::try_from(aya::maps::Map::HashMap(data)).expect(name);
    map.keys()
        .inspect(|key| assert!(key.is_ok(), "a key of {name}"))
        .count()
}

/// The daemon's CPU time so far (user + system), from /proc.
pub(crate) fn cpu_time(lab: &Lab, k: usize) -> Duration {
    let pid = lab.daemon(k).child.id();
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("daemon stat");
    let after = &stat[stat.rfind(')').expect("comm") + 2..];
    let f: Vec<u64> = after
        .split_whitespace()
        .map(|x| x.parse().unwrap_or(0))
        .collect();
    // Fields 14 and 15 (utime, stime) are the 12th and 13th after the command name.
    let ticks = f[11] + f[12];
    Duration::from_millis(ticks * 1000 / 100)
}

/// Every host sends all its reports once, BURST reports a millisecond at most; waits until the
/// daemon has taken what the ring held (no change between two looks).
pub(crate) fn send_round(s: &Scale, burst: u32) -> Option<Vec<(usize, usize)>> {
    let senders: Vec<_> = s
        .lans
        .iter()
        .map(|(_, h, addr, octet)| {
            let mut cmd = std::process::Command::new("ip");
            cmd.args(["netns", "exec", h, "python3", "-c", REPORTS])
                .arg(addr)
                .arg(octet.to_string())
                .arg(GROUPS_PER_LAN.to_string())
                .arg(SOURCES_PER_GROUP.to_string())
                .arg(burst.to_string());
            std::thread::spawn(move || cmd.output().expect("python3"))
        })
        .collect();
    for t in senders {
        let out = t.join().expect("sender");
        assert!(out.status.success(), "{out:?}");
    }
    let mut seen = None;
    s.lab
        .wait_for("the reports handled", Duration::from_secs(120), || {
            std::thread::sleep(Duration::from_millis(250));
            let now = held(&s.lab, s.k);
            let settled = now.is_some() && now == seen;
            seen = now;
            settled
        });
    seen
}

/// What every LAN holds once all is learnt: (groups, sources).
pub(crate) fn everything(s: &Scale) -> Vec<(usize, usize)> {
    vec![
        (
            GROUPS_PER_LAN as usize,
            (GROUPS_PER_LAN * SOURCES_PER_GROUP) as usize
        );
        s.lans.len()
    ]
}

/// Sends rounds (BURST reports a millisecond) until everything is held; returns the rounds
/// sent. Reports the ring had no room for are lost (counted): a round sends everything again,
/// and what is held already is refreshed by the classifier without waking the daemon.
pub(crate) fn converge(s: &Scale, burst: u32) -> usize {
    let want = everything(s);
    for round in 1..=ROUNDS {
        let seen = send_round(s, burst);
        if seen.as_ref() == Some(&want) {
            return round;
        }
        eprintln!("round {round}: held {seen:?}");
    }
    s.lab.wait_for(
        "every group and source held",
        Duration::from_secs(60),
        || held(&s.lab, s.k).as_ref() == Some(&want),
    );
    ROUNDS + 1
}

/// Rounds sent at most: a debug build on a loaded machine takes what its ring holds of each.
const ROUNDS: usize = 30;
