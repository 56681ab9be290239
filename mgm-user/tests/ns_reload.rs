//! Reload of the configuration file (`mgm reload`, SIGHUP) on a running router: interfaces
//! added and removed, static entries diffed, while a stream to a member on an untouched
//! interface keeps flowing without losing a packet; a bad file changes nothing. Also
//! `mgm check-config` as a command.
//!
//! Topology: router `r` with four LANs: A 192.0.2.0/25, B 198.51.100.0/24 (the source, .10),
//! C 203.0.113.0/24 (the receiver, .10), D 192.0.2.128/25 (A and D split the one documentation
//! range left). The file lists A, B and C; the reload lists B, C and D.
mod common;
#[path = "common/forward.rs"]
mod forward;

use common::{run, tcx, Lab, FAST};
use std::io::Read;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const G: &str = "239.42.0.1";
const G_ROUTE: &str = "239.42.0.2";
const G_RUNTIME: &str = "239.42.0.3";
const PORT: u16 = 5042;
/// The stream: 6000 datagrams at 1000 per second (6 s), sequence-numbered.
const PACKETS: u32 = 6000;
const RATE: u32 = 1000;

/// Sends N datagrams "SEQ" to G:PORT at RATE per second (paced on an absolute schedule).
const SENDER: &str = r#"
import socket, sys, time
g, port, n, rate, ifaddr = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 8)
s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(ifaddr))
t0 = time.monotonic()
for i in range(n):
    d = t0 + i / rate - time.monotonic()
    if d > 0:
        time.sleep(d)
    s.sendto(b"%d" % i, (g, port))
"#;

/// Joins G on IFADDR, prints "joined", then receives until 3 s pass without a datagram after
/// the first; prints "got COUNT FIRST LAST MISSING" (MISSING: sequence numbers never seen
/// between FIRST and LAST, up to 20 of them, comma-separated, or -).
const RECEIVER: &str = r#"
import socket, struct, sys
g, port, ifaddr = sys.argv[1], int(sys.argv[2]), sys.argv[3]
r = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
r.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
r.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
r.bind((g, port))
r.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, struct.pack("4s4s", socket.inet_aton(g), socket.inet_aton(ifaddr)))
print("joined", flush=True)
seen = set()
r.settimeout(60)
while True:
    try:
        data, _ = r.recvfrom(64)
    except socket.timeout:
        break
    seen.add(int(data))
    r.settimeout(3)
if not seen:
    print("got 0 - - -", flush=True)
    sys.exit(0)
lo, hi = min(seen), max(seen)
missing = [str(i) for i in range(lo, hi + 1) if i not in seen][:20]
print("got %d %d %d %s" % (len(seen), lo, hi, ",".join(missing) or "-"), flush=True)
"#;

fn spawn_py(lab_ns: &str, script: &str, args: &[&str]) -> Killed {
    let child = Command::new("ip")
        .args(["netns", "exec", lab_ns, "python3", "-u", "-c", script])
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn python");
    Killed(child)
}

/// The config file of the test: interfaces `ifaces`, then `extra` (static entries).
fn config(ifaces: &[&str], extra: &str) -> String {
    let mut s = String::from("# ns_reload\n");
    for i in ifaces {
        s.push_str(&format!("[[interface]]\nname = \"{i}\"\n\n"));
    }
    s.push_str(extra);
    s
}

fn route(iif: &str, oif: &str) -> String {
    format!(
        "[[route]]\nsource = \"198.51.100.10\"\ngroup = \"{G_ROUTE}\"\niif = \"{iif}\"\noif = [\"{oif}\"]\n"
    )
}

use common::mgm_client as mgm;

/// What `mgm show` says, as JSON text, for the views a refused reload must leave alone.
fn views(socket: &Path) -> Vec<String> {
    ["interfaces", "groups", "mfe"]
        .iter()
        .map(|what| {
            let v = forward::mgm_json(socket, &["show", what, "--json"]);
            // Counters and timers move on their own: keep what the reload could change.
            let rows = v.as_array().cloned().unwrap_or_default();
            let keep: &[&str] = match *what {
                "interfaces" => &["interface", "ifindex", "address", "version", "max_groups"],
                "groups" => &["interface", "group", "filter_mode"],
                _ => &["source", "group", "iif", "oifs", "protocol"],
            };
            let rows: Vec<serde_json::Value> = rows
                .iter()
                .map(|r| keep.iter().map(|k| (k.to_string(), r[k].clone())).collect())
                .collect();
            serde_json::to_string(&rows).unwrap()
        })
        .collect()
}

fn vifs(lab: &Lab, ns: &str) -> String {
    lab.ns(ns, &["cat", "/proc/net/ip_mr_vif"])
}

/// A child process killed when the test ends, passing or not.
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn reload_adds_and_removes_interfaces_without_a_gap_and_refuses_a_bad_file() {
    let mut lab = Lab::new();
    let r = lab.netns("r");
    let (la, lb, lc, ld) = (lab.lan("la"), lab.lan("lb"), lab.lan("lc"), lab.lan("ld"));
    let ra = lab.lan_port(&la, (&r, "ra", "192.0.2.1/25"));
    let rb = lab.lan_port(&lb, (&r, "rb", "198.51.100.1/24"));
    let rc = lab.lan_port(&lc, (&r, "rc", "203.0.113.1/24"));
    let rd = lab.lan_port(&ld, (&r, "rd", "192.0.2.129/25"));
    let src = lab.netns("src");
    lab.lan_port(&lb, (&src, "hs", "198.51.100.10/24"));
    lab.ns(
        &src,
        &["ip", "route", "add", "default", "via", "198.51.100.1"],
    );
    let rcv = lab.netns("rcv");
    lab.lan_port(&lc, (&rcv, "hr", "203.0.113.10/24"));
    lab.ns(
        &rcv,
        &["ip", "route", "add", "default", "via", "203.0.113.1"],
    );
    let hd = lab.netns("hd");
    lab.lan_port(&ld, (&hd, "hd", "192.0.2.130/25"));

    let file = lab.dir.join("mgm.toml");
    std::fs::write(&file, config(&[&ra, &rb, &rc], &route(&rb, &ra))).unwrap();
    let file_arg = file.display().to_string();
    let mut extra = vec!["--config", file_arg.as_str()];
    extra.extend(FAST);
    let k = lab.start_mgm(&r, &[], &extra);
    let socket = lab.daemon(k).socket.clone();
    let names = |lab: &Lab| -> Vec<String> {
        let mut v: Vec<String> = lab.interfaces(k).into_iter().map(|i| i.interface).collect();
        v.sort();
        v
    };
    let mut want = vec![ra.clone(), rb.clone(), rc.clone()];
    want.sort();
    assert_eq!(names(&lab), want);
    assert!(tcx::mgm_attached(&r, &ra), "the classifier on A");
    assert!(!tcx::mgm_attached(&r, &rd), "not on D yet");
    let mfe_oifs = |group: &str| {
        forward::show_mfe(&socket)
            .into_iter()
            .find(|m| m.group == group)
            .map(|m| m.oifs)
    };
    assert_eq!(
        mfe_oifs(G_ROUTE),
        Some(vec![ra.clone()]),
        "the file's route"
    );
    // A route made at run time, which no reload touches.
    let out = mgm(
        &socket,
        &[
            "route",
            "add",
            "--source",
            "198.51.100.10",
            "--group",
            G_RUNTIME,
            "--iif",
            &rb,
            "--oif",
            &rc,
        ],
    );
    assert!(out.status.success(), "{out:?}");

    // The member on C, then the stream from B.
    let mut receiver = spawn_py(&rcv, RECEIVER, &[G, &PORT.to_string(), "203.0.113.10"]);
    let mut line = [0u8; 7];
    receiver
        .0
        .stdout
        .as_mut()
        .unwrap()
        .read_exact(&mut line)
        .unwrap();
    lab.wait_for(
        "IGMP learns the member on C",
        Duration::from_secs(5),
        || lab.group(k, &rc, G).is_some(),
    );
    let mut sender = spawn_py(
        &src,
        SENDER,
        &[
            G,
            &PORT.to_string(),
            &PACKETS.to_string(),
            &RATE.to_string(),
            "198.51.100.10",
        ],
    );
    std::thread::sleep(Duration::from_millis(1500));

    // Reload: D added, A removed, the file's route moved to D.
    std::fs::write(&file, config(&[&rb, &rc, &rd], &route(&rb, &rd))).unwrap();
    let out = mgm(&socket, &["reload"]);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "{out:?}");
    assert!(text.contains(&format!("interface {ra} removed")), "{text}");
    assert!(text.contains(&format!("interface {rd} added")), "{text}");
    assert!(text.contains("static route"), "{text}");
    let mut want = vec![rb.clone(), rc.clone(), rd.clone()];
    want.sort();
    assert_eq!(names(&lab), want, "D managed at once, A gone");
    assert!(
        !vifs(&lab, &r).contains(&ra),
        "no VIF of A: {}",
        vifs(&lab, &r)
    );
    assert!(
        vifs(&lab, &r).contains(&rd),
        "a VIF of D: {}",
        vifs(&lab, &r)
    );
    assert!(!tcx::mgm_attached(&r, &ra), "the classifier left A");
    assert!(tcx::mgm_attached(&r, &rd), "the classifier on D");
    assert_eq!(
        mfe_oifs(G_ROUTE),
        Some(vec![rd.clone()]),
        "the file's route diffed"
    );
    assert_eq!(
        mfe_oifs(G_RUNTIME),
        Some(vec![rc.clone()]),
        "the run-time route stays"
    );
    // D gets queries and its members are learnt.
    let mut h = lab.host(&hd);
    h.cmd("ifaddr 192.0.2.130");
    h.cmd(&format!("join {G} 192.0.2.130"));
    lab.wait_for(
        "IGMP learns the member on D",
        Duration::from_secs(5),
        || lab.group(k, &rd, G).is_some(),
    );
    let d = lab
        .interfaces(k)
        .into_iter()
        .find(|i| i.interface == rd)
        .unwrap();
    assert!(d.querier, "mgm queries on D: {d:?}");

    // A bad file: refused whole, by `mgm reload` and by SIGHUP; nothing changes.
    let before = views(&socket);
    std::fs::write(
        &file,
        config(
            &[&rb],
            "[[interface]]\nname = \"x0\"\nquery-interval = \"5x\"\n",
        ),
    )
    .unwrap();
    let out = mgm(&socket, &["reload"]);
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!out.status.success());
    assert!(
        err.contains(&format!(
            "{}:7:18: query-interval: invalid duration \"5x\"",
            file.display()
        )),
        "{err}"
    );
    let pid = lab.daemon(k).child.id();
    run(Command::new("kill").args(["-HUP", &pid.to_string()]));
    lab.wait_for("SIGHUP logs the refusal", Duration::from_secs(5), || {
        lab.daemon_log(k)
            .contains("SIGHUP: reload refused, the running state stays")
    });
    assert_eq!(
        views(&socket),
        before,
        "show interfaces/groups/mfe unchanged"
    );

    // Every datagram of the stream reached C, across the reloads.
    let status = sender.0.wait().unwrap();
    assert!(status.success());
    let mut got = String::new();
    receiver
        .0
        .stdout
        .as_mut()
        .unwrap()
        .read_to_string(&mut got)
        .unwrap();
    let f: Vec<&str> = got.split_whitespace().collect();
    assert_eq!(f.first(), Some(&"got"), "{got}");
    assert_eq!(f.get(4), Some(&"-"), "sequence gaps at C: {got}");
    assert_eq!(
        f.get(1),
        Some(&PACKETS.to_string().as_str()),
        "every packet: {got}"
    );
}

#[test]
fn check_config_says_ok_or_names_line_and_key() {
    let dir = std::env::temp_dir().join(format!("mgm-check-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let good = dir.join("good.toml");
    std::fs::write(
        &good,
        "[[interface]]\nname = \"eth1\"\n[[interface]]\nname = \"eth2\"\n[[join]]\ninterface = \"eth1\"\ngroup = \"239.1.1.1\"\n",
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_mgm"))
        .args(["check-config"])
        .arg(&good)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        format!(
            "{}: ok (2 interfaces, 1 static join, 0 static routes)\n",
            good.display()
        )
    );
    let bad = dir.join("bad.toml");
    std::fs::write(&bad, "[[interface]]\nname = \"eth1\"\ncolour = \"blue\"\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_mgm"))
        .args(["check-config"])
        .arg(&bad)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).trim_end(),
        format!(
            "mgm: {}:3:1: colour: unknown key in [[interface]] (mgm.toml(5) lists the keys)",
            bad.display()
        )
    );
    let _ = std::fs::remove_dir_all(&dir);
}
