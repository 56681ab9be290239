//! The control socket against a running daemon and real users: who may connect, what an
//! unprivileged client is told, what `mgm events` says when the daemon stops, bad log levels,
//! and answers during a source-heavy IGMPv3 flood.
mod common;

use common::{spawn_v3_flood, spawn_v3_flood_mode, Lab};
use mgm_user::control::{
    api::{GroupView, InterfaceView, Request},
    client,
};
use nix::sys::stat::{umask, Mode};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

const NOBODY: u32 = 65534;

/// A router namespace with one interface and a host namespace beside it.
fn lab() -> (Lab, String, String, String) {
    let mut lab = Lab::new();
    let r = lab.netns("r");
    let h = lab.netns("h");
    let (rif, _) = lab.link((&r, "r", "192.0.2.1/24"), (&h, "h", "192.0.2.11/24"));
    (lab, r, h, rif)
}

/// The mgm binary where `nobody` can run it.
fn mgm_for_nobody(lab: &Lab) -> PathBuf {
    let dir = &lab.dir;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    let bin = dir.join("mgm");
    std::fs::copy(env!("CARGO_BIN_EXE_mgm"), &bin).expect("copy mgm");
    std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o755)).unwrap();
    bin
}

/// `mgm show interfaces` as uid/gid `nobody`.
fn show_as_nobody(bin: &Path, socket: &Path) -> Output {
    mgm_as(bin, socket, NOBODY, NOBODY, &["show", "interfaces"])
}

#[test]
fn an_unprivileged_user_is_told_permission_denied_whatever_the_umask() {
    let (mut lab, r, _h, rif) = lab();
    // The daemon starts with umask 000: the socket's mode must not come from it.
    let old = umask(Mode::empty());
    let k = lab.start_mgm(&r, &[&rif], &[]);
    umask(old);
    let socket = lab.daemon(k).socket.clone();
    let meta = std::fs::symlink_metadata(&socket).unwrap();
    assert_eq!(meta.mode() & 0o777, 0o660, "socket mode");
    let out = show_as_nobody(&mgm_for_nobody(&lab), &socket);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "nobody read the state: {err}");
    assert!(err.contains("permission denied on"), "{err}");
    assert!(!err.contains("no mgm daemon answers"), "{err}");
}

#[test]
fn the_socket_group_lets_its_members_in() {
    let (mut lab, r, _h, rif) = lab();
    let k = lab.start_mgm(&r, &[&rif], &["--socket-group", "nogroup"]);
    let socket = lab.daemon(k).socket.clone();
    assert_eq!(std::fs::metadata(&socket).unwrap().gid(), NOBODY);
    let out = show_as_nobody(&mgm_for_nobody(&lab), &socket);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains(&rif));
}

/// `mgm ARGS` as `uid`/`gid`.
/// The copy of the binary may be briefly "busy": a process another test thread forks between
/// the copy's open and close holds its write descriptor until that child's exec. Retried.
fn mgm_as(bin: &Path, socket: &Path, uid: u32, gid: u32, args: &[&str]) -> Output {
    for _ in 0..100 {
        let run = Command::new(bin)
            .args(args)
            .arg("--socket")
            .arg(socket)
            .uid(uid)
            .gid(gid)
            .stdin(Stdio::null())
            .output();
        match run {
            Err(e) if e.kind() == std::io::ErrorKind::ExecutableFileBusy => {
                std::thread::sleep(Duration::from_millis(20));
            }
            r => return r.expect("run mgm as another user"),
        }
    }
    panic!("{} stayed busy for 2 s", bin.display());
}

/// `--socket-read-group nogroup`: `nobody` (gid nogroup) reads the state and changes nothing;
/// a user in neither group is turned away at connect, although the file's mode lets it in.
#[test]
fn the_read_group_reads_and_changes_nothing_and_strangers_are_refused() {
    let (mut lab, r, _h, rif) = lab();
    let k = lab.start_mgm(&r, &[&rif], &["--socket-read-group", "nogroup"]);
    let socket = lab.daemon(k).socket.clone();
    let meta = std::fs::symlink_metadata(&socket).unwrap();
    assert_eq!(meta.mode() & 0o777, 0o666, "socket mode");
    let bin = mgm_for_nobody(&lab);

    let show = mgm_as(&bin, &socket, NOBODY, NOBODY, &["show", "interfaces"]);
    assert!(
        show.status.success(),
        "{}",
        String::from_utf8_lossy(&show.stderr)
    );
    assert!(String::from_utf8_lossy(&show.stdout).contains(&rif));

    let join = mgm_as(
        &bin,
        &socket,
        NOBODY,
        NOBODY,
        &["join", "--interface", &rif, "--group", "239.1.2.3"],
    );
    let err = String::from_utf8_lossy(&join.stderr);
    assert!(!join.status.success(), "the read group joined: {err}");
    assert!(err.contains("permission denied"), "{err}");
    assert!(
        lab.groups(k).iter().all(|g| g.group != "239.1.2.3"),
        "the refused join was made"
    );

    // uid/gid 1 (daemon): in neither group.
    let stranger = mgm_as(&bin, &socket, 1, 1, &["show", "interfaces"]);
    let err = String::from_utf8_lossy(&stranger.stderr);
    assert!(
        !stranger.status.success(),
        "a stranger read the state: {err}"
    );
    assert!(err.contains("permission denied"), "{err}");
    assert!(!String::from_utf8_lossy(&stranger.stdout).contains(&rif));
}

#[test]
fn a_regular_file_at_the_socket_path_is_kept_and_the_daemon_refuses_to_start() {
    let (lab, r, _h, rif) = lab();
    let path = lab.dir.join("not-a-socket");
    std::fs::write(&path, "precious").unwrap();
    let pins = format!("/sys/fs/bpf/mgm-test-{}-file", lab.id);
    let out = Command::new("nsenter")
        .arg(format!("--net=/run/netns/{r}"))
        .arg(env!("CARGO_BIN_EXE_mgm"))
        .args(["run", "-i", &rif, "--bpffs", &pins, "--socket"])
        .arg(&path)
        .output()
        .unwrap();
    let _ = std::fs::remove_dir_all(&pins);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        err.contains("not a socket") && err.contains("not-a-socket"),
        "{err}"
    );
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "precious");
}

#[test]
fn mgm_events_fails_when_the_daemon_stops() {
    let (mut lab, r, _h, rif) = lab();
    let k = lab.start_mgm(&r, &[&rif], &[]);
    let events = Command::new(env!("CARGO_BIN_EXE_mgm"))
        .args(["events", "--socket"])
        .arg(&lab.daemon(k).socket)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Subscribed once the daemon logs the connection (debug).
    lab.wait_for("events subscription", Duration::from_secs(5), || {
        lab.daemon_log(k).contains("control: events from")
    });
    assert!(lab.stop_mgm(k).success());
    let out = events.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "mgm events exited 0: {err}");
    assert!(err.contains("closed the event stream"), "{err}");
}

#[test]
fn a_bad_log_level_is_refused_with_its_name() {
    for (flag, env) in [(Some("verbose"), None), (None, Some("debug,aya=loud"))] {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_mgm"));
        if let Some(l) = flag {
            cmd.args(["--log", l]);
        }
        if let Some(e) = env {
            cmd.env("MGM_LOG", e);
        }
        let out = cmd
            .args(["show", "stats", "--socket", "/nonexistent/mgm.sock"])
            .env_remove("RUST_LOG")
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success());
        let named = flag.or(env).unwrap();
        assert!(err.contains(&format!("'{named}'")), "{err}");
        assert!(!err.contains("no mgm daemon answers"), "{err}");
    }
}

/// A source-heavy flood must not take the control socket from the operator: every `mgm show
/// interfaces` during it is answered (the client gives up after 5 s).
#[test]
fn the_control_socket_answers_during_a_source_heavy_flood() {
    let (mut lab, r, h, rif) = lab();
    // No budget in the classifier: the flood is to reach the daemon whole.
    let k = lab.start_mgm(&r, &[&rif], &["--max-reports-per-second", "0"]);
    let socket = lab.daemon(k).socket.clone();
    let mut flood = spawn_v3_flood(&h, "192.0.2.11", 400_000, 8.0, 200, 256);
    let mut answered = 0;
    let mut failures = Vec::new();
    std::thread::sleep(Duration::from_millis(500));
    while flood.try_wait().unwrap().is_none() {
        match client::request::<Vec<InterfaceView>>(&socket, Request::ShowInterfaces) {
            Ok(_) => answered += 1,
            Err(e) => failures.push(format!("{e:#}")),
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(
        answered > 0,
        "no request answered during the flood; failures: {failures:?}"
    );
    assert!(
        failures.is_empty(),
        "{answered} answered; failures: {failures:?}"
    );
}

/// A client that writes requests back to back without waiting for the answers (a careless
/// script, a monitoring user) does not hold back the daemon's other inputs: its general
/// queries (every second here) still go out while the client runs. Counted by the host's
/// answers to them, refreshes the classifier absorbs (`fast_path_refreshes`); without control
/// input taking turns with the timer, none goes out until the client stops.
#[test]
fn a_client_pipelining_requests_does_not_stop_the_general_queries() {
    use std::io::{BufRead, BufReader, Write};
    use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
    use std::sync::Arc;
    const G: &str = "239.1.2.3";
    let (mut lab, r, h, rif) = lab();
    let k = lab.start_mgm(
        &r,
        &[&rif],
        &[
            "--query-interval",
            "1s",
            "--query-response-interval",
            "500ms",
        ],
    );
    let socket = lab.daemon(k).socket.clone();
    let mut host = lab.host(&h);
    host.cmd(&format!("join {G} 192.0.2.11"));
    lab.wait_for("the group held", Duration::from_secs(10), || {
        lab.group(k, &rif, G).is_some()
    });
    let refreshes = || {
        client::request::<mgm_user::control::api::StatsView>(&socket, Request::ShowStats)
            .expect("show stats")["fast_path_refreshes"]
    };

    let stream = std::os::unix::net::UnixStream::connect(&socket).expect("connect");
    let stop = Arc::new(AtomicBool::new(false));
    let answers = Arc::new(AtomicU64::new(0));
    let reader = {
        let (stream, answers) = (stream.try_clone().unwrap(), answers.clone());
        std::thread::spawn(move || {
            for line in BufReader::new(stream).lines() {
                if line.is_err() {
                    break;
                }
                answers.fetch_add(1, Ordering::Relaxed);
            }
        })
    };
    let writer = {
        let (mut stream, stop) = (stream.try_clone().unwrap(), stop.clone());
        std::thread::spawn(move || {
            let requests = "{\"command\":\"show_interfaces\"}\n".repeat(64);
            while !stop.load(Ordering::Relaxed) {
                if stream.write_all(requests.as_bytes()).is_err() {
                    break;
                }
            }
        })
    };
    // The client is under way: answers come.
    lab.wait_for("the client's answers", Duration::from_secs(10), || {
        answers.load(Ordering::Relaxed) > 1000
    });
    let before = refreshes();
    let answered_before = answers.load(Ordering::Relaxed);
    lab.wait_for(
        "three general queries answered while the client pipelines",
        Duration::from_secs(30),
        || refreshes() >= before + 3,
    );
    let still_writing = !writer.is_finished();
    stop.store(true, Ordering::Relaxed);
    let _ = stream.shutdown(std::net::Shutdown::Both);
    writer.join().unwrap();
    reader.join().unwrap();
    assert!(still_writing, "the client wrote all along");
    assert!(
        answers.load(Ordering::Relaxed) > answered_before,
        "the client was answered meanwhile"
    );
}

use common::mgm_client as mgm;

/// `mgm show groups ARGS --json`, parsed.
fn groups_json(socket: &Path, args: &[&str]) -> Vec<GroupView> {
    let out = mgm(socket, &[&["show", "groups", "--json"], args].concat());
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("one JSON array")
}

/// `mgm show groups` is written by the daemon as it walks its groups, in chunks (9 000 groups
/// take two), and read row by row; its filters apply in the daemon.
#[test]
fn show_groups_streams_every_group_in_order_and_filters_in_the_daemon() {
    let (mut lab, r, h, rif) = lab();
    let h2 = lab.netns("h2");
    let (rif2, _) = lab.link((&r, "s", "198.51.100.1/24"), (&h2, "t", "198.51.100.11/24"));
    let k = lab.start_mgm(
        &r,
        &[&rif, &rif2],
        // No budget in the classifier: the unpaced joins are to reach the daemon.
        &[
            "--max-groups",
            "9000",
            "--max-groups-per-host",
            "9000",
            "--max-reports-per-second",
            "0",
        ],
    );
    let socket = lab.daemon(k).socket.clone();
    let counts = || -> Vec<usize> {
        client::request::<Vec<InterfaceView>>(&socket, Request::ShowInterfaces)
            .map(|v| v.iter().map(|i| i.group_count).collect())
            .unwrap_or_default()
    };
    // Joins (IS_EX, no source) for 239.1.0.1 … on each LAN: 9 000 on the first, 10 on the other,
    // sent unpaced. The event ring (sized from the limits) may overflow in such a burst; as the
    // hosts' next reports would, a round repeats them until the daemon holds every group (the
    // ones it holds are absorbed by the fast path and cost no ring space).
    for _round in 0..5 {
        for (ns, src, n) in [(&h, "192.0.2.11", 9000), (&h2, "198.51.100.11", 10)] {
            let out = spawn_v3_flood_mode(ns, src, n, 60.0, 0, n, "exclude")
                .wait_with_output()
                .expect("v3_flood.py");
            assert!(out.status.success(), "{out:?}");
        }
        let deadline = std::time::Instant::now() + Duration::from_secs(3);
        while counts() != [9000, 10] && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(100));
        }
        if counts() == [9000, 10] {
            break;
        }
    }
    lab.wait_for("every group held", Duration::from_secs(30), || {
        counts() == [9000, 10]
    });

    // Everything, one JSON array, by interface index then group address, each group once.
    let all = groups_json(&socket, &[]);
    assert_eq!(all.len(), 9010);
    let keys: Vec<(u32, std::net::Ipv4Addr)> = all
        .iter()
        .map(|g| (g.ifindex, g.group.parse().unwrap()))
        .collect();
    assert!(
        keys.windows(2).all(|w| w[0] < w[1]),
        "rows in order, once each"
    );

    // One interface, as a table: the header and its 10 groups.
    let out = mgm(&socket, &["show", "groups", "--interface", &rif2]);
    let table = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines.len(), 11, "{table}");
    assert!(lines[0].starts_with("INTERFACE"), "{table}");
    assert!(lines[1..].iter().all(|l| l.starts_with(&rif2)), "{table}");
    // The whole table: every row, those past the first thousand aligned like the rest.
    let out = mgm(&socket, &["show", "groups"]);
    let table = String::from_utf8_lossy(&out.stdout);
    assert_eq!(table.lines().count(), 9011);
    let at = |l: &str| l.find("239.").expect("a group");
    assert!(table
        .lines()
        .skip(1)
        .all(|l| at(l) == at(table.lines().nth(1).unwrap())));

    // A prefix: 239.1.1.1 … 239.1.1.250, all on the first LAN; one group: on both.
    let in_prefix = groups_json(&socket, &["--group", "239.1.1.0/24"]);
    assert_eq!(in_prefix.len(), 250);
    assert!(in_prefix
        .iter()
        .all(|g| g.interface == rif && g.group.starts_with("239.1.1.")));
    let one = groups_json(&socket, &["--group", "239.1.0.5"]);
    let on: Vec<&str> = one.iter().map(|g| g.interface.as_str()).collect();
    assert_eq!(on, [rif.as_str(), rif2.as_str()]);
    let both = groups_json(&socket, &["--group", "239.1.0.5", "--interface", &rif2]);
    assert_eq!(both.len(), 1);

    // Bad filters are refused with their name.
    for (args, says) in [
        (
            vec!["show", "groups", "--interface", "nosuch0"],
            "nosuch0 is not a managed interface",
        ),
        (
            vec!["show", "groups", "--group", "10.0.0.0/8"],
            "holds no multicast group",
        ),
        (
            vec!["show", "groups", "--group", "239.1.0.1/8"],
            "host bits",
        ),
        (
            vec!["show", "interfaces", "--interface", &rif],
            "filter `mgm show groups` only",
        ),
    ] {
        let out = mgm(&socket, &args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?}");
        assert!(err.contains(says), "{args:?}: {err}");
    }
}
