//! `mgm run` as it is deployed: readiness and stopping on NOTIFY_SOCKET (Type=notify), log
//! lines with syslog priorities when stderr is the journal (JOURNAL_STREAM), and the start under
//! `ip netns exec` refused with the way out; the loop's short time slice. The tests play systemd: they bind the datagram
//! socket the daemon notifies, and present the daemon's log file as the journal stream.
mod common;

use common::Lab;
use mgm_user::control::{
    api::{InterfaceView, Request},
    client,
};
use std::os::unix::fs::MetadataExt;
use std::os::unix::net::UnixDatagram;
use std::process::Command;
use std::time::Duration;

/// A router namespace with one interface and a host namespace beside it.
fn lab() -> (Lab, String, String) {
    let mut lab = Lab::new();
    let r = lab.netns("r");
    let h = lab.netns("h");
    let (rif, _) = lab.link((&r, "r", "192.0.2.1/24"), (&h, "h", "192.0.2.11/24"));
    (lab, r, rif)
}

/// The next notification on `sock`, as systemd would read it (one datagram).
fn next_notification(sock: &UnixDatagram, lab: &Lab, k: usize, what: &str) -> String {
    let mut buf = [0u8; 4096];
    match sock.recv(&mut buf) {
        Ok(n) => String::from_utf8_lossy(&buf[..n]).into_owned(),
        Err(e) => panic!(
            "no {what} notification ({e}); daemon log:\n{}",
            lab.daemon_log(k)
        ),
    }
}

#[test]
fn ready_once_the_interfaces_are_attached_and_stopping_at_sigterm() {
    let (mut lab, r, rif) = lab();
    let path = lab.dir.join("notify.sock");
    let sock = UnixDatagram::bind(&path).expect("bind the notify socket");
    sock.set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    // A second interface that is not there: awaited, and named in the status.
    let k = lab.spawn_mgm_env(
        &r,
        &[&rif, "mgmnotthere0"],
        &[],
        &[("NOTIFY_SOCKET", path.as_os_str())],
        false,
    );

    let ready = next_notification(&sock, &lab, k, "READY=1");
    // What Type=notify promises the units ordered after mgm: at READY=1 the interfaces are
    // managed (the daemon logs "managing …" once the classifier is attached to each) and the
    // control socket answers at once (no polling here).
    let log = lab.daemon_log(k);
    let fields: Vec<&str> = ready.lines().collect();
    assert!(fields.contains(&"READY=1"), "{ready}");
    let status = fields
        .iter()
        .find_map(|f| f.strip_prefix("STATUS="))
        .unwrap_or_else(|| panic!("no STATUS in {ready}"));
    assert!(
        status.starts_with("managing 1 interface, waiting for mgmnotthere0; control socket "),
        "{status}"
    );
    assert!(
        log.contains(&format!("managing {rif}; waiting for mgmnotthere0")),
        "READY=1 came before the interfaces were attached:\n{log}"
    );
    let views: Vec<InterfaceView> = client::request(&lab.daemon(k).socket, Request::ShowInterfaces)
        .expect("the control socket answers at READY=1");
    assert!(views.iter().any(|v| v.interface == rif), "{views:?}");
    // One READY=1, nothing else while it runs.
    sock.set_nonblocking(true).unwrap();
    let mut buf = [0u8; 512];
    assert!(sock.recv(&mut buf).is_err(), "a second notification");
    sock.set_nonblocking(false).unwrap();

    let status = lab.stop_mgm(k);
    assert!(status.success(), "{status}");
    let stopping = next_notification(&sock, &lab, k, "STOPPING=1");
    assert!(stopping.lines().any(|l| l == "STOPPING=1"), "{stopping}");
    let log = lab.daemon_log(k);
    let sigterm = log.find("SIGTERM: shutting down").expect(&log);
    let detached = log.find("detached from every interface").expect(&log);
    assert!(sigterm < detached, "{log}");
}

#[test]
fn without_notify_socket_the_daemon_runs_as_before() {
    let (mut lab, r, rif) = lab();
    let k = lab.spawn_mgm_env(&r, &[&rif], &[], &[], false);
    lab.wait_answering(k);
    let log = lab.daemon_log(k);
    assert!(!log.contains("NOTIFY_SOCKET"), "{log}");
    assert!(lab.stop_mgm(k).success());
}

#[test]
fn the_loop_runs_with_a_short_time_slice() {
    let (mut lab, r, rif) = lab();
    let k = lab.spawn_mgm_env(&r, &[&rif], &[], &[], false);
    lab.wait_answering(k);
    // The loop is the main thread (nsenter execs mgm: its pid is the daemon's).
    let tid = lab.daemon(k).child.id() as libc::pid_t;
    // struct sched_attr, SCHED_ATTR_SIZE_VER1: size, policy, flags, nice, priority, runtime …
    let mut attr = [0u64; 7];
    // SAFETY: sched_getattr(2) into a live, 8-aligned 56-byte buffer of the size passed.
    let r = unsafe { libc::syscall(libc::SYS_sched_getattr, tid, attr.as_mut_ptr(), 56u32, 0u32) };
    assert_eq!(r, 0, "sched_getattr: {}", std::io::Error::last_os_error());
    let policy = (attr[0] >> 32) as u32;
    let runtime = attr[3];
    assert_eq!(policy, libc::SCHED_OTHER as u32);
    // Kernels with custom slices (6.12 and later) report the 0.1 ms asked for instead of their
    // base slice; older ones report none.
    assert!(
        runtime == mgm_user::sys::sched::LOOP_SLICE.as_nanos() as u64 || runtime == 0,
        "the loop's slice is {runtime} ns\n{}",
        lab.daemon_log(k)
    );
    assert!(lab.stop_mgm(k).success());
}

#[test]
fn a_notify_socket_nobody_reads_is_logged_not_fatal() {
    let (mut lab, r, rif) = lab();
    let missing = lab.dir.join("no-such-notify.sock");
    let k = lab.spawn_mgm_env(
        &r,
        &[&rif],
        &[],
        &[("NOTIFY_SOCKET", missing.as_os_str())],
        false,
    );
    lab.wait_answering(k);
    lab.wait_for("the warning", Duration::from_secs(5), || {
        lab.daemon_log(k).contains("cannot notify systemd")
    });
    assert!(lab.stop_mgm(k).success());
}

#[test]
fn in_the_journal_lines_carry_their_priority_and_no_timestamp() {
    let (mut lab, r, rif) = lab();
    let k = lab.spawn_mgm_env(&r, &[&rif], &[], &[], true);
    lab.wait_answering(k);
    let pid = lab.daemon(k).child.id().to_string();
    let _ = Command::new("kill").args(["-HUP", &pid]).status();
    lab.wait_for("the SIGHUP line", Duration::from_secs(5), || {
        lab.daemon_log(k).contains("SIGHUP")
    });
    assert!(lab.stop_mgm(k).success());
    let log = lab.daemon_log(k);
    let lines: Vec<&str> = log.lines().collect();
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with(&format!("<6>managing {rif} "))),
        "{log}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("<6>SIGHUP: nothing to reload")),
        "{log}"
    );
    // MGM_LOG is debug in the lab.
    assert!(lines.iter().any(|l| l.starts_with("<7>")), "{log}");
    for l in &lines {
        let prio = l
            .strip_prefix('<')
            .and_then(|r| r.split_once('>'))
            .map(|(p, _)| p);
        assert!(
            matches!(prio, Some("3" | "4" | "6" | "7")),
            "a line without a priority: {l}"
        );
        // env_logger's terminal format starts with `[2026-…` after the level.
        assert!(!l.contains("Z INFO") && !l.starts_with('['), "{l}");
    }
}

/// `mgm run` failing at start under the journal: its error at error priority, a usage error
/// too (an empty MGM_ARGS in /etc/default/mgm).
#[test]
fn start_up_errors_reach_the_journal_as_errors() {
    let dir = std::env::temp_dir().join(format!("mgm-notify-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let log = dir.join("stderr");
    let run = |args: &[&str]| {
        let f = std::fs::File::create(&log).unwrap();
        let meta = f.metadata().unwrap();
        let status = Command::new(env!("CARGO_BIN_EXE_mgm"))
            .args(args)
            .env("JOURNAL_STREAM", format!("{}:{}", meta.dev(), meta.ino()))
            .stderr(f)
            .status()
            .expect("run mgm");
        (status, std::fs::read_to_string(&log).unwrap())
    };
    let not_bpffs = dir.join("pins");
    let (status, err) = run(&[
        "run",
        "-i",
        "mgmnotthere0",
        "--bpffs",
        not_bpffs.to_str().unwrap(),
    ]);
    assert!(!status.success());
    assert!(
        err.starts_with("<3>mgm: ") && err.contains("is not on a bpf filesystem"),
        "{err}"
    );
    let (status, err) = run(&["run"]);
    assert_eq!(status.code(), Some(2), "{err}");
    assert!(err.contains("--interface"), "{err}");
    assert!(
        err.lines().all(|l| l.starts_with("<3>")),
        "a usage error line without <3>: {err}"
    );
    // Without the journal, the plain message.
    let out = Command::new(env!("CARGO_BIN_EXE_mgm"))
        .args(["run", "-i", "mgmnotthere0", "--bpffs"])
        .arg(&not_bpffs)
        .env_remove("JOURNAL_STREAM")
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).starts_with("mgm: "));
    let _ = std::fs::remove_dir_all(&dir);
}

/// `ip netns exec` hides the bpf filesystem (it remounts /sys): mgm refuses in one line that
/// names the namespace and the nsenter command that works, and attaches nothing.
#[test]
fn under_ip_netns_exec_the_error_says_to_use_nsenter() {
    let (lab, r, rif) = lab();
    let socket = lab.dir.join("netns-exec.sock");
    let out = Command::new("ip")
        .args(["netns", "exec", &r])
        .arg(env!("CARGO_BIN_EXE_mgm"))
        .args(["run", "-i", &rif, "--socket"])
        .arg(&socket)
        .env_remove("JOURNAL_STREAM")
        .output()
        .expect("run ip netns exec");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains(&format!("`ip netns exec {r}`"))
            && err.contains(&format!("nsenter --net=/run/netns/{r} mgm run")),
        "{err}"
    );
    let links = lab.ns(&r, &["bpftool", "-j", "net", "show"]);
    assert!(!links.contains("mgm_igmp_ingress"), "{links}");
}

/// `systemctl status` follows the interfaces: the awaited one comes (STATUS: two managed), then
/// goes (STATUS: waiting for it again). A control request that changes nothing sends nothing.
#[test]
fn the_status_line_follows_the_interfaces_while_it_runs() {
    let (mut lab, r, rif) = lab();
    let path = lab.dir.join("notify.sock");
    let sock = UnixDatagram::bind(&path).expect("bind the notify socket");
    sock.set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let k = lab.spawn_mgm_env(
        &r,
        &[&rif, "mgmlate0"],
        &[],
        &[("NOTIFY_SOCKET", path.as_os_str())],
        false,
    );
    let status = |n: &str| {
        n.lines()
            .find_map(|f| f.strip_prefix("STATUS="))
            .unwrap_or_else(|| panic!("no STATUS in {n}"))
            .to_string()
    };
    let ready = next_notification(&sock, &lab, k, "READY=1");
    assert!(
        status(&ready).starts_with("managing 1 interface, waiting for mgmlate0; "),
        "{ready}"
    );
    let _: Vec<InterfaceView> =
        client::request(&lab.daemon(k).socket, Request::ShowInterfaces).expect("answers");

    lab.ns(
        &r,
        &[
            "ip",
            "link",
            "add",
            "mgmlate0",
            "type",
            "veth",
            "peer",
            "name",
            "mgmlatep0",
        ],
    );
    lab.ns(
        &r,
        &["ip", "addr", "add", "198.51.100.1/24", "dev", "mgmlate0"],
    );
    lab.ns(&r, &["ip", "link", "set", "mgmlatep0", "up"]);
    lab.ns(&r, &["ip", "link", "set", "mgmlate0", "up"]);
    let came = next_notification(&sock, &lab, k, "STATUS= with mgmlate0 managed");
    assert!(
        status(&came).starts_with("managing 2 interfaces; control socket "),
        "{came}\n{}",
        lab.daemon_log(k)
    );

    lab.ns(&r, &["ip", "link", "del", "mgmlate0"]);
    let went = next_notification(&sock, &lab, k, "STATUS= with mgmlate0 gone");
    assert!(
        status(&went).starts_with("managing 1 interface, waiting for mgmlate0; "),
        "{went}\n{}",
        lab.daemon_log(k)
    );
}
