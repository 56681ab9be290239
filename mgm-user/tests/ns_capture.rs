//! Namespace test of the foundation: real Linux hosts join groups (IGMPv3 by default, IGMPv2 with
//! force_igmp_version=2); the pinned MGM_MEMBERS shows each group on the right ifindex, and
//! bpftool prints it with named fields. Also the start-up errors and the clean shutdown (no
//! classifier left attached, asked of the kernel: `common/tcx.rs`).
mod common;

use common::{run, tcx, Lab};
use std::process::Command;
use std::time::Duration;

/// A router `r` with two links: `r1` (192.0.2.1/24) to host `h1` (192.0.2.10) and `r2`
/// (198.51.100.1/24) to host `h2` (198.51.100.10, interface `h2if`).
struct TwoLinks {
    r: String,
    h1: String,
    h2: String,
    r1: String,
    r2: String,
    h2if: String,
}

fn two_links(lab: &mut Lab) -> TwoLinks {
    let r = lab.netns("r");
    let h1 = lab.netns("h1");
    let h2 = lab.netns("h2");
    let (r1, _) = lab.link((&r, "ra", "192.0.2.1/24"), (&h1, "ha", "192.0.2.10/24"));
    let (r2, h2if) = lab.link(
        (&r, "rb", "198.51.100.1/24"),
        (&h2, "hb", "198.51.100.10/24"),
    );
    TwoLinks {
        r,
        h1,
        h2,
        r1,
        r2,
        h2if,
    }
}

fn ifindex(lab: &Lab, ns: &str, ifname: &str) -> u32 {
    lab.ns(ns, &["cat", &format!("/sys/class/net/{ifname}/ifindex")])
        .trim()
        .parse()
        .expect("ifindex")
}

/// Entries of a pinned map as bpftool prints them, `formatted` part when present.
fn bpftool_dump(path: &std::path::Path) -> Vec<serde_json::Value> {
    let out = run(Command::new("bpftool")
        .args(["-j", "map", "dump", "pinned"])
        .arg(path));
    let v: serde_json::Value = serde_json::from_str(&out).expect("bpftool JSON");
    v.as_array()
        .expect("array")
        .iter()
        .map(|e| e.get("formatted").cloned().unwrap_or_else(|| e.clone()))
        .collect()
}

fn member_on(
    entries: &[serde_json::Value],
    ifindex: u32,
    group: [u8; 4],
) -> Option<serde_json::Value> {
    let g = serde_json::json!(group);
    entries
        .iter()
        .find(|e| e["key"]["ifindex"] == ifindex && e["key"]["group"] == g)
        .map(|e| e["value"].clone())
}

#[test]
fn hosts_joining_fill_the_pinned_members_map() {
    let mut lab = Lab::new();
    let TwoLinks {
        r,
        h1,
        h2,
        r1,
        r2,
        h2if,
    } = two_links(&mut lab);
    lab.ns(
        &h2,
        &[
            "sysctl",
            "-qw",
            &format!("net.ipv4.conf.{h2if}.force_igmp_version=2"),
        ],
    );
    let k = lab.start_mgm(&r, &[&r1, &r2], &[]);
    let pins = lab.daemon(k).pin_dir.clone();
    for name in [
        "MGM_IFACES",
        "MGM_MEMBERS",
        "MGM_SOURCES",
        "MGM_STATS",
        "MGM_EVENTS",
    ] {
        assert!(
            pins.join(name).exists(),
            "{name} is not pinned in {}",
            pins.display()
        );
    }
    let (i1, i2) = (ifindex(&lab, &r, &r1), ifindex(&lab, &r, &r2));

    let mut v3_host = lab.host(&h1);
    v3_host.cmd("join 239.1.2.3 192.0.2.10");
    let mut v2_host = lab.host(&h2);
    v2_host.cmd("join 239.1.2.4 198.51.100.10");

    let members = pins.join("MGM_MEMBERS");
    lab.wait_for(
        "both groups in MGM_MEMBERS",
        Duration::from_secs(10),
        || {
            let d = bpftool_dump(&members);
            member_on(&d, i1, [239, 1, 2, 3]).is_some()
                && member_on(&d, i2, [239, 1, 2, 4]).is_some()
        },
    );
    let dump = bpftool_dump(&members);
    let v3 = member_on(&dump, i1, [239, 1, 2, 3]).unwrap();
    let v2 = member_on(&dump, i2, [239, 1, 2, 4]).unwrap();
    // Named fields, addresses as their four bytes.
    assert_eq!(
        v3["last_reporter"],
        serde_json::json!([192, 0, 2, 10]),
        "{v3}"
    );
    assert_eq!(
        v2["last_reporter"],
        serde_json::json!([198, 51, 100, 10]),
        "{v2}"
    );
    assert_eq!(v3["compat_version"], 3, "{v3}");
    assert_eq!(v2["compat_version"], 2, "{v2}");
    assert_eq!(
        v3["filter_mode"], 2,
        "EXCLUDE after an any-source join: {v3}"
    );
    // Neither group leaked onto the other interface.
    assert!(member_on(&dump, i2, [239, 1, 2, 3]).is_none());
    assert!(member_on(&dump, i1, [239, 1, 2, 4]).is_none());

    // The statistics counted what the hosts sent.
    let stats = run(Command::new("bpftool")
        .args(["-j", "map", "dump", "pinned"])
        .arg(pins.join("MGM_STATS")));
    assert!(
        stats.contains("rx_report_v3") && stats.contains("rx_report_v2"),
        "{stats}"
    );

    // Clean shutdown: exit 0, no classifier left at the interfaces' TCX hooks (attached on
    // both while it ran).
    for ifname in [&r1, &r2] {
        let attached = tcx::tcx_ingress_programs(&r, ifname);
        assert_eq!(attached, ["mgm_igmp_ingres"], "{ifname} while mgm runs");
    }
    // Two Ethernet links: one entry point loaded (verified), shared by both links; the L3
    // and GRE ones are loaded only when a link of their kind comes.
    assert_eq!(
        classifiers_loaded_by(lab.daemon(k).child.id()),
        1,
        "classifier programs the daemon holds"
    );
    let status = lab.stop_mgm(k);
    assert!(status.success(), "mgm exited with {status}");
    for ifname in [&r1, &r2] {
        let attached = tcx::tcx_ingress_programs(&r, ifname);
        assert!(
            attached.is_empty(),
            "{ifname}: still attached after shutdown: {attached:?}"
        );
    }
}

/// How many classifier (`sched_cls`) programs process `pid` holds a descriptor of.
fn classifiers_loaded_by(pid: u32) -> usize {
    let fds = std::fs::read_dir(format!("/proc/{pid}/fdinfo")).expect("the daemon's fdinfo");
    fds.filter_map(|e| std::fs::read_to_string(e.ok()?.path()).ok())
        .filter(|info| {
            info.lines()
                .any(|l| l.split_whitespace().eq(["prog_type:", "3"]))
        })
        .count()
}

fn mgm_run_error(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_mgm"))
        .arg("run")
        .args(args)
        .output()
        .expect("run mgm");
    assert!(!out.status.success(), "mgm run {args:?} should fail");
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(
        err.lines().count(),
        1,
        "one-line error expected, got: {err}"
    );
    err
}

#[test]
fn start_up_errors_name_the_cause_and_leave_nothing_attached() {
    let mut lab = Lab::new();
    let r = lab.netns("r");
    let h = lab.netns("h");
    let (r1, _) = lab.link((&r, "ra", "192.0.2.1/24"), (&h, "ha", "192.0.2.10/24"));
    let sock = lab.dir.join("err.sock");
    let sock = sock.to_str().unwrap();
    let pins = format!("/sys/fs/bpf/mgm-test-{}-err", lab.id);

    // (An interface that is not there yet is awaited, not an error: ns_late.)
    let e = mgm_run_error(&["-i", "mgm/nope0", "--socket", sock, "--bpffs", &pins]);
    assert!(e.contains("invalid interface name 'mgm/nope0'"), "{e}");
    let e = mgm_run_error(&["-i", "lo", "-i", "lo", "--socket", sock, "--bpffs", &pins]);
    assert!(e.contains("interface 'lo' listed twice"), "{e}");
    let e = mgm_run_error(&["-i", "lo", "--socket", sock, "--bpffs", &pins]);
    assert!(
        e.contains("interface 'lo' is a loopback (type 772) link"),
        "{e}"
    );
    let out = Command::new("nsenter")
        .arg(format!("--net=/run/netns/{r}"))
        .arg(env!("CARGO_BIN_EXE_mgm"))
        .args([
            "run",
            "-i",
            &r1,
            "--socket",
            sock,
            "--bpffs",
            "/tmp/mgm-not-bpffs",
        ])
        .output()
        .unwrap();
    let e = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert_eq!(e.lines().count(), 1, "{e}");
    assert!(e.contains("is not on a bpf filesystem"), "{e}");
    // Second interface of a kind mgm does not handle: the first must not stay attached.
    let out = Command::new("nsenter")
        .arg(format!("--net=/run/netns/{r}"))
        .arg(env!("CARGO_BIN_EXE_mgm"))
        .args([
            "run", "-i", &r1, "-i", "lo", "--socket", sock, "--bpffs", &pins,
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("interface 'lo' is a loopback"));
    assert!(
        !tcx::mgm_attached(&r, &r1),
        "{r1}: still attached after a failed start"
    );

    // A second router daemon on the same mroute table: refused, and the first keeps running.
    let k = lab.start_mgm(&r, &[&r1], &[]);
    let out = Command::new("nsenter")
        .arg(format!("--net=/run/netns/{r}"))
        .arg(env!("CARGO_BIN_EXE_mgm"))
        .args(["run", "-i", &r1, "--socket", sock, "--bpffs", &pins])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("already controls this mroute table"), "{err}");
    assert_eq!(
        lab.interfaces(k).len(),
        1,
        "the first daemon must still answer"
    );
    assert!(
        tcx::mgm_attached(&r, &r1),
        "{r1}: the first daemon's classifier must stay attached"
    );
    let _ = std::fs::remove_dir_all(&pins);
}

#[test]
fn without_privilege_run_refuses_in_one_line() {
    common::require_root(); // to drop privileges we must have them
    let out = Command::new("setpriv")
        .args([
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            "--inh-caps=-all",
        ])
        .arg(env!("CARGO_BIN_EXE_mgm"))
        .args([
            "run",
            "-i",
            "lo",
            "--socket",
            "/tmp/mgm-test-unpriv.sock",
            "--bpffs",
            "/sys/fs/bpf/mgm-test-unpriv",
        ])
        .output()
        .expect("run setpriv (util-linux)");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        err.trim(),
        "mgm: mgm run needs root or CAP_BPF, CAP_PERFMON, CAP_NET_ADMIN and CAP_NET_RAW \
         (missing: CAP_BPF (load the classifier, pin the maps), CAP_PERFMON (the verifier \
         refuses the classifier without it), CAP_NET_ADMIN (TCX links, the multicast routing \
         table), CAP_NET_RAW (raw IGMP sockets for queries and reports))"
    );
    assert!(!std::path::Path::new("/sys/fs/bpf/mgm-test-unpriv").exists());
}

#[test]
fn events_reader_that_goes_away_ends_mgm_events_quietly() {
    use std::io::BufRead;
    let mut lab = Lab::new();
    let r = lab.netns("r");
    let h = lab.netns("h");
    let (r1, _) = lab.link((&r, "ra", "192.0.2.1/24"), (&h, "ha", "192.0.2.10/24"));
    let k = lab.start_mgm(&r, &[&r1], &[]);
    let mut events = Command::new(env!("CARGO_BIN_EXE_mgm"))
        .args(["events", "--json", "--socket"])
        .arg(&lab.daemon(k).socket)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn mgm events");
    let stdout = events.stdout.take().unwrap();
    std::thread::sleep(Duration::from_millis(300)); // subscribed
    let mut host = lab.host(&h);
    host.cmd("join 239.4.4.4 192.0.2.10");
    let mut first = String::new();
    std::io::BufReader::new(stdout)
        .read_line(&mut first)
        .expect("one event");
    assert!(first.contains("\"kind\""), "{first}");
    // The reader is gone (like `| head -1`); the next events must end mgm events with status 0.
    host.cmd("join 239.4.4.5 192.0.2.10");
    host.cmd("leave 239.4.4.4");
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(s) = events.try_wait().unwrap() {
            break s;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "mgm events did not end"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut err = String::new();
    std::io::Read::read_to_string(&mut events.stderr.take().unwrap(), &mut err).unwrap();
    assert!(status.success(), "mgm events exited {status}: {err}");
}

#[test]
fn entries_of_interfaces_no_longer_managed_are_removed_at_start() {
    let mut lab = Lab::new();
    let TwoLinks {
        r, h1, h2, r1, r2, ..
    } = two_links(&mut lab);
    let k = lab.start_mgm(&r, &[&r1, &r2], &[]);
    let pins = lab.daemon(k).pin_dir.clone();
    let (i1, i2) = (ifindex(&lab, &r, &r1), ifindex(&lab, &r, &r2));
    let mut a = lab.host(&h1);
    a.cmd("join 239.5.5.1 192.0.2.10");
    let mut b = lab.host(&h2);
    b.cmd("join 239.5.5.2 198.51.100.10");
    let members = pins.join("MGM_MEMBERS");
    lab.wait_for("both groups pinned", Duration::from_secs(5), || {
        let d = bpftool_dump(&members);
        member_on(&d, i1, [239, 5, 5, 1]).is_some() && member_on(&d, i2, [239, 5, 5, 2]).is_some()
    });
    assert!(lab.stop_mgm(k).success());
    // The next run manages only r1: r2's entries would never be refreshed or expired again.
    let k2 = lab.start_mgm_pinned(&r, &[&r1], &[], pins.clone());
    let d = bpftool_dump(&members);
    assert!(
        member_on(&d, i2, [239, 5, 5, 2]).is_none(),
        "stale entry kept: {d:?}"
    );
    assert!(
        member_on(&d, i1, [239, 5, 5, 1]).is_some(),
        "managed entry lost: {d:?}"
    );
    assert!(lab.interfaces(k2).len() == 1);
}

#[test]
fn a_deleted_interface_is_dropped_then_managed_again_when_it_returns() {
    let mut lab = Lab::new();
    let TwoLinks { r, h2, r1, r2, .. } = two_links(&mut lab);
    let k = lab.start_mgm(&r, &[&r1, &r2], &[]);
    let i2 = ifindex(&lab, &r, &r2);
    let mut b = lab.host(&h2);
    b.cmd("join 239.5.6.7 198.51.100.10");
    lab.wait_for("group on rb", Duration::from_secs(5), || {
        lab.group(k, &r2, "239.5.6.7").is_some()
    });
    lab.ns(&r, &["ip", "link", "del", &r2]);
    lab.wait_for("rb no longer managed", Duration::from_secs(5), || {
        lab.interfaces(k).iter().all(|i| i.interface != r2)
    });
    assert!(lab.groups(k).iter().all(|g| g.interface != r2));
    let d = bpftool_dump(&lab.daemon(k).pin_dir.join("MGM_MEMBERS"));
    assert!(
        member_on(&d, i2, [239, 5, 6, 7]).is_none(),
        "entry of the deleted interface kept"
    );
    assert!(lab
        .daemon_log(k)
        .contains(&format!("interface {r2} (ifindex {i2}) is gone")));
    // It comes back (same name, new ifindex): managed again once it has its address.
    lab.link(
        (&r, "rb", "198.51.100.1/24"),
        (&h2, "hb", "198.51.100.10/24"),
    );
    lab.wait_for("rb managed again", Duration::from_secs(5), || {
        lab.interfaces(k).iter().any(|i| i.interface == r2)
    });
    let mut b = lab.host(&h2);
    b.cmd("join 239.5.6.8 198.51.100.10");
    lab.wait_for("group on the new rb", Duration::from_secs(5), || {
        lab.group(k, &r2, "239.5.6.8").is_some()
    });
    let status = lab.stop_mgm(k);
    assert!(
        status.success(),
        "shutdown after an interface vanished: {status}\n{}",
        lab.daemon_log(k)
    );
    let mr = lab.ns(&r, &["cat", "/proc/net/ip_mr_vif"]);
    assert_eq!(mr.lines().count(), 1, "VIFs left: {mr}");
}

#[test]
fn two_daemons_cannot_share_a_pin_directory() {
    let mut lab = Lab::new();
    let r1 = lab.netns("r1");
    let r2 = lab.netns("r2");
    let h = lab.netns("h");
    let h2 = lab.netns("h2");
    let (a, _) = lab.link((&r1, "ra", "192.0.2.1/24"), (&h, "ha", "192.0.2.10/24"));
    let (b, _) = lab.link((&r2, "rb", "192.0.2.1/24"), (&h2, "hb", "192.0.2.10/24"));
    let k = lab.start_mgm(&r1, &[&a], &[]);
    let mut host = lab.host(&h);
    host.cmd("join 239.5.9.9 192.0.2.10");
    lab.wait_for("group learned", Duration::from_secs(5), || {
        lab.group(k, &a, "239.5.9.9").is_some()
    });
    let pins = lab.daemon(k).pin_dir.clone();
    let sock = lab.dir.join("second.sock");
    let out = Command::new("nsenter")
        .arg(format!("--net=/run/netns/{r2}"))
        .arg(env!("CARGO_BIN_EXE_mgm"))
        .args(["run", "-i", &b, "--socket"])
        .arg(&sock)
        .arg("--bpffs")
        .arg(&pins)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("another mgm daemon uses the pin directory"),
        "{err}"
    );
    // The first daemon's state is intact.
    let d = bpftool_dump(&pins.join("MGM_MEMBERS"));
    assert!(
        member_on(&d, ifindex(&lab, &r1, &a), [239, 5, 9, 9]).is_some(),
        "{d:?}"
    );
    assert!(lab.group(k, &a, "239.5.9.9").is_some());
}

#[test]
fn a_renamed_interface_is_dropped_and_the_name_follows_the_new_link() {
    let mut lab = Lab::new();
    let r = lab.netns("r");
    let h2 = lab.netns("h2");
    let h3 = lab.netns("h3");
    let (r2, _) = lab.link(
        (&r, "rb", "198.51.100.1/24"),
        (&h2, "hb", "198.51.100.10/24"),
    );
    let k = lab.start_mgm(&r, &[&r2], &[]);
    let old = ifindex(&lab, &r, &r2);
    // The managed name moves to another link: the old one is renamed, a new one takes the name.
    lab.ns(&r, &["ip", "link", "set", &r2, "down"]);
    lab.ns(
        &r,
        &["ip", "link", "set", &r2, "name", &format!("x{}", lab.id)],
    );
    lab.link((&r, "rb", "203.0.113.1/24"), (&h3, "hc", "203.0.113.10/24"));
    let new = ifindex(&lab, &r, &r2);
    assert_ne!(old, new);
    lab.wait_for(
        "the name managed on its new link",
        Duration::from_secs(5),
        || {
            let i = lab.interfaces(k);
            i.len() == 1 && i[0].ifindex == new && i[0].address == "203.0.113.1"
        },
    );
    let mut c = lab.host(&h3);
    c.cmd("join 239.5.7.7 203.0.113.10");
    lab.wait_for("group on the new link", Duration::from_secs(5), || {
        lab.group(k, &r2, "239.5.7.7")
            .is_some_and(|g| g.ifindex == new)
    });
}
