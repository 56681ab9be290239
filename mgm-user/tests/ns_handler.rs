//! Routing protocols in other processes (`docs/handler-protocol.md`), against a real daemon
//! routing real multicast between namespaces: `mgm handler` (the Rust client) and
//! `examples/handler.py` (Python's standard library only) register over the control socket,
//! take interfaces, and get the callbacks of real IGMPv2 and IGMPv3 hosts.
//!
//! Topology: `common/forward.rs` (router with links A 192.0.2.0/24 with the source host
//! 192.0.2.10, B 198.51.100.0/24, C 203.0.113.0/24). Interfaces are left to a handler with
//! `-i IF,protocol=NAME`.
mod common;
#[path = "common/forward.rs"]
mod forward;

use forward::{ForwardLab, Sniffer, LMQT, SLACK};
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::net::Ipv4Addr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const G1: &str = "239.8.1.1";
const G2: &str = "239.8.2.2";
const GS: Ipv4Addr = Ipv4Addr::new(239, 8, 3, 3);
const PORT: u16 = 5008;
const WAIT: Duration = Duration::from_secs(10);

/// A handler process whose stdout is one JSON object per line, collected as it comes.
struct HandlerProc {
    child: Child,
    lines: Arc<Mutex<Vec<Value>>>,
}

impl HandlerProc {
    /// `mgm handler --json --socket S --name NAME` and `extra`.
    fn mgm(socket: &Path, name: &str, extra: &[&str]) -> HandlerProc {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_mgm"));
        cmd.args(["handler", "--json", "--name", name, "--socket"])
            .arg(socket)
            .args(extra);
        Self::spawn(cmd)
    }

    /// `examples/handler.py --socket S --name NAME` and `extra`.
    fn python(socket: &Path, name: &str, extra: &[&str]) -> HandlerProc {
        let mut cmd = Command::new("python3");
        cmd.arg("-u")
            .arg(example())
            .args(["--name", name, "--socket"])
            .arg(socket)
            .args(extra);
        Self::spawn(cmd)
    }

    fn spawn(mut cmd: Command) -> HandlerProc {
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn the handler");
        let stdout = child.stdout.take().expect("handler stdout");
        let lines = Arc::new(Mutex::new(Vec::new()));
        let sink = lines.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let v = serde_json::from_str(&line).unwrap_or(Value::String(line));
                sink.lock().unwrap().push(v);
            }
        });
        HandlerProc { child, lines }
    }

    fn lines(&self) -> Vec<Value> {
        self.lines.lock().unwrap().clone()
    }

    /// The callback lines (not the Python client's own `registered`/`error` lines).
    fn callbacks(&self) -> Vec<Value> {
        self.lines()
            .into_iter()
            .filter(|v| v.get("callback").is_some())
            .collect()
    }

    /// Waits until a callback matches; returns its position among the callbacks.
    fn wait_for(&self, what: &str, f: impl Fn(&Value) -> bool) -> usize {
        let start = Instant::now();
        loop {
            if let Some(i) = self.callbacks().iter().position(&f) {
                return i;
            }
            assert!(
                start.elapsed() < WAIT,
                "no callback {what} within {WAIT:?}; got:\n{}",
                self.dump()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn dump(&self) -> String {
        self.lines()
            .iter()
            .map(|v| v.to_string())
            .collect::<Vec<_>>()
            .join("\n")
    }

    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for HandlerProc {
    fn drop(&mut self) {
        self.kill();
    }
}

/// The distribution's python3 (a per-user one, e.g. under /root, is not for other users).
fn system_python() -> &'static str {
    if Path::new("/usr/bin/python3").exists() {
        "/usr/bin/python3"
    } else {
        "python3"
    }
}

fn example() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/handler.py")
}

/// A callback matcher: kind, interface, source (None = any), group.
fn is(v: &Value, kind: &str, iface: &str, source: Option<&str>, group: &str) -> bool {
    v["callback"] == kind
        && v["interface"] == iface
        && v["group"] == group
        && match source {
            Some(s) => v["source"] == s,
            None => v["source"].is_null(),
        }
}

/// Forces the kernel of a host namespace to speak IGMPv2.
fn force_v2(fl: &ForwardLab, ns: &str) {
    fl.lab.ns(
        ns,
        &["sysctl", "-qw", "net.ipv4.conf.all.force_igmp_version=2"],
    );
}

/// Seq numbers grow by one from line to line: no gap, no duplicate.
fn assert_gapless(h: &HandlerProc) {
    let seqs: Vec<u64> = h
        .callbacks()
        .iter()
        .filter_map(|v| v["seq"].as_u64())
        .collect();
    for w in seqs.windows(2) {
        assert_eq!(w[1], w[0] + 1, "seq gap or duplicate:\n{}", h.dump());
    }
}

/// The replay of an interface, then changes in order, for (*,G) from an IGMPv2 host and
/// (S,G) from an IGMPv3 host; `spawn` starts the handler under test.
fn replay_then_joins_and_leaves(spawn: impl Fn(&Path) -> HandlerProc) {
    common::require_root();
    let mut fl = ForwardLab::new_with(["", ",protocol=ext", ""], &[]);
    let rb = fl.rb.clone();
    let v2 = fl.add_host('b', "vtwo", 20);
    let v3 = fl.add_host('b', "vthree", 30);
    force_v2(&fl, &v2.ns);
    let mut h2 = fl.host(&v2);
    let mut h3 = fl.host(&v3);
    // Before the handler exists: IGMP keeps the membership for its replay.
    h2.cmd(&format!("join {G1} {}", v2.addr));
    fl.wait_for(
        "IGMP holds the group before the handler registers",
        WAIT,
        || fl.lab.group(fl.k, &rb, G1).is_some(),
    );
    let h = spawn(&fl.socket());
    let begin = h.wait_for("replay_begin", |v| {
        v["callback"] == "replay_begin" && v["interface"] == rb.as_str()
    });
    let joined = h.wait_for("replayed local_join", |v| {
        is(v, "local_join", &rb, None, G1)
    });
    let end = h.wait_for("replay_end", |v| {
        v["callback"] == "replay_end" && v["interface"] == rb.as_str()
    });
    assert!(begin < joined && joined < end, "{}", h.dump());
    // Then the deltas: an IGMPv3 (S,G) join, the v2 leave, the (S,G) leave.
    h3.cmd(&format!("ifaddr {}", v3.addr));
    h3.cmd(&format!("sjoin {G2} {}", fl.source.addr));
    let sg_join = h.wait_for("local_join (S,G)", |v| {
        is(v, "local_join", &rb, Some(&fl.source.addr), G2)
    });
    assert!(sg_join > end);
    h2.cmd(&format!("leave {G1}"));
    let left = h.wait_for("local_leave (*,G)", |v| is(v, "local_leave", &rb, None, G1));
    h3.cmd(&format!("sleave {G2} {}", fl.source.addr));
    let sg_left = h.wait_for("local_leave (S,G)", |v| {
        is(v, "local_leave", &rb, Some(&fl.source.addr), G2)
    });
    assert!(sg_join < left && left < sg_left, "{}", h.dump());
    // Nothing twice: one replayed join of G1, one leave.
    let count = |k: &str, g: &str| {
        h.callbacks()
            .iter()
            .filter(|v| v["callback"] == k && v["group"] == g)
            .count()
    };
    assert_eq!((count("local_join", G1), count("local_leave", G1)), (1, 1));
    assert_gapless(&h);
    // The handler owns the interface, `local` does not.
    let owners = fl.protocols();
    let ext = owners.iter().find(|p| p.name == "ext").expect("ext listed");
    assert_eq!(ext.interfaces, vec![rb.clone()]);
    assert!(!owners
        .iter()
        .any(|p| p.name == "local" && p.interfaces.contains(&rb)));
}

#[test]
fn mgm_handler_gets_the_replay_then_joins_and_leaves_in_order() {
    replay_then_joins_and_leaves(|s| HandlerProc::mgm(s, "ext", &[]));
}

#[test]
fn the_python_example_gets_the_same_replay_joins_and_leaves() {
    replay_then_joins_and_leaves(|s| HandlerProc::python(s, "ext", &[]));
}

/// Starts a stream from the source host to GS, one datagram every 10 ms for 30 s.
fn stream(fl: &mut ForwardLab) -> common::Host {
    let src = fl.source.clone();
    let mut s = fl.host(&src);
    s.cmd(&format!("send {GS} {PORT} 3000 10"));
    s
}

#[test]
fn rpf_answered_by_the_handler_forwards_and_killing_it_releases_its_interface() {
    common::require_root();
    let mut fl = ForwardLab::new_with([",protocol=ext", "", ""], &[]);
    let (ra, rb) = (fl.ra.clone(), fl.rb.clone());
    let mut h = HandlerProc::mgm(&fl.socket(), "ext", &[]);
    h.wait_for("replay_end of ra", |v| v["callback"] == "replay_end");
    let rcv = fl.add_host('b', "rcv", 10);
    let mut r = fl.host(&rcv);
    r.cmd(&format!("join {GS} {}", rcv.addr));
    r.cmd(&format!("recv {PORT}"));
    let _src = stream(&mut fl);
    let rpf = h.wait_for("rpf", |v| {
        v["callback"] == "rpf" && v["group"] == GS.to_string()
    });
    let q = &h.callbacks()[rpf];
    assert_eq!(
        q["interface"],
        ra.as_str(),
        "asked as owner of the incoming interface"
    );
    assert_eq!(q["arrival"], ra.as_str());
    assert!(q["id"].as_u64().is_some() && q["deadline_ms"] == 100, "{q}");
    fl.wait_for("the receiver gets the stream", WAIT, || {
        r.received_count() > 5
    });
    let mfe = fl.mfe(&GS.to_string()).expect("MFE");
    assert_eq!(
        (mfe.iif.as_str(), mfe.oifs.clone()),
        (ra.as_str(), vec![rb.clone()])
    );
    assert_eq!(mfe.protocol.as_deref(), Some("ext"));
    // Killed: deregistered as by `deregister`; its MFEs go (mfe_delete), nothing stays its.
    let killed = Instant::now();
    h.kill();
    fl.wait_for("ext is gone", WAIT, || {
        !fl.protocols().iter().any(|p| p.name == "ext")
    });
    let events = fl.events();
    assert!(
        events
            .find(killed, |e| e.kind() == "mfe_delete"
                && e.group() == GS.to_string())
            .is_some(),
        "its MFE was deleted:\n{}",
        events.lines().join("\n")
    );
    assert!(fl
        .mfes()
        .iter()
        .all(|m| m.protocol.as_deref() != Some("ext")));
    assert!(fl.daemon_log().contains("handler 'ext' disconnected"));
}

#[test]
fn a_vetoed_creation_alert_forwards_nothing() {
    common::require_root();
    let mut fl = ForwardLab::new_with(["", ",protocol=ext", ""], &[]);
    let rb = fl.rb.clone();
    let h = HandlerProc::mgm(&fl.socket(), "ext", &["--veto", &rb]);
    h.wait_for("replay_end", |v| v["callback"] == "replay_end");
    let rcv = fl.add_host('b', "rcv", 10);
    let sniff = Sniffer::start(&rcv.ns, &rcv.ifname, GS, PORT);
    let mut r = fl.host(&rcv);
    r.cmd(&format!("join {GS} {}", rcv.addr));
    h.wait_for("local_join", |v| {
        v["callback"] == "local_join" && v["group"] == GS.to_string()
    });
    let _src = stream(&mut fl);
    h.wait_for("creation_alert", |v| {
        v["callback"] == "creation_alert" && v["group"] == GS.to_string()
    });
    fl.wait_for("the MFE is installed", WAIT, || {
        fl.mfe(&GS.to_string()).is_some()
    });
    std::thread::sleep(Duration::from_millis(800));
    let mfe = fl.mfe(&GS.to_string()).expect("MFE");
    assert!(mfe.oifs.is_empty(), "vetoed: {mfe:?}");
    assert_eq!(sniff.count(), 0, "nothing reached the vetoed link");
    let alert = fl
        .events()
        .find(Instant::now() - Duration::from_secs(60), |e| {
            e.kind() == "creation_alert"
                && e.protocol() == "ext"
                && e.json["vetoed"].as_array().is_some_and(|a| !a.is_empty())
        })
        .expect("creation_alert event");
    assert_eq!(alert.json["vetoed"], serde_json::json!([rb]));
}

#[test]
fn a_handler_that_does_not_answer_gets_the_default_after_the_deadline() {
    common::require_root();
    let mut fl = ForwardLab::new_with([",protocol=slow", "", ""], &["--handler-deadline", "300ms"]);
    let h = HandlerProc::python(&fl.socket(), "slow", &["--no-answer"]);
    h.wait_for("replay_end", |v| v["callback"] == "replay_end");
    let rcv = fl.add_host('b', "rcv", 10);
    let mut r = fl.host(&rcv);
    r.cmd(&format!("join {GS} {}", rcv.addr));
    r.cmd(&format!("recv {PORT}"));
    let _src = stream(&mut fl);
    let i = h.wait_for("rpf", |v| v["callback"] == "rpf");
    assert_eq!(h.callbacks()[i]["deadline_ms"], 300);
    fl.wait_for("forwarded with the FIB's answer", WAIT, || {
        r.received_count() > 5
    });
    let stats = forward::mgm_json(&fl.socket(), &["show", "stats", "--json"]);
    assert!(
        stats["daemon_handler_timeouts"].as_u64() >= Some(1),
        "{stats}"
    );
    assert!(
        fl.daemon_log()
            .contains("handler 'slow' did not answer rpf"),
        "{}",
        fl.daemon_log()
    );
}

#[test]
fn two_handlers_get_each_others_join_and_prune_alerts_and_cannot_take_each_others_links() {
    common::require_root();
    let mut fl = ForwardLab::new_with(["", ",protocol=one", ",protocol=two"], &[]);
    let (rb, rc) = (fl.rb.clone(), fl.rc.clone());
    let one = HandlerProc::mgm(&fl.socket(), "one", &[]);
    let two = HandlerProc::python(&fl.socket(), "two", &[]);
    one.wait_for("replay_end", |v| v["callback"] == "replay_end");
    two.wait_for("replay_end", |v| v["callback"] == "replay_end");
    let rcv = fl.add_host('b', "rcv", 10);
    let mut r = fl.host(&rcv);
    r.cmd(&format!("join {G1} {}", rcv.addr));
    one.wait_for("local_join on one's link", |v| {
        is(v, "local_join", &rb, None, G1)
    });
    // `one` adds the membership; the other routing protocols hear of the first client.
    two.wait_for("join_alert to two", |v| {
        v["callback"] == "join_alert" && v["group"] == G1 && v["member_update"] == true
    });
    r.cmd(&format!("leave {G1}"));
    one.wait_for("local_leave", |v| is(v, "local_leave", &rb, None, G1));
    two.wait_for("prune_alert to two", |v| {
        v["callback"] == "prune_alert" && v["group"] == G1 && v["member_delete"] == true
    });
    assert!(
        !one.callbacks()
            .iter()
            .any(|v| v["callback"] == "join_alert" && v["group"] == G1),
        "a protocol gets no join alert for its own membership"
    );
    // A third may not take what the first owns (an interface outside `-i` as well).
    let dummy = format!("dm{}", &rb[2..]);
    let router = fl.router.clone();
    let peer = format!("{dummy}p");
    fl.lab.ns(
        &router,
        &[
            "ip", "link", "add", &dummy, "type", "veth", "peer", "name", &peer,
        ],
    );
    fl.lab.ns(&router, &["ip", "link", "set", &dummy, "up"]);
    let out = Command::new(env!("CARGO_BIN_EXE_mgm"))
        .args(["handler", "--name", "three", "--take", &rc, "--socket"])
        .arg(fl.socket())
        .output()
        .expect("mgm handler");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        err.contains(&format!("{rc} is reserved for protocol 'two'")),
        "{err}"
    );
    let mut four = HandlerProc::mgm(&fl.socket(), "four", &["--take", &dummy]);
    four.wait_for("replay_end of the dummy", |v| v["callback"] == "replay_end");
    let out = Command::new(env!("CARGO_BIN_EXE_mgm"))
        .args(["handler", "--name", "five", "--take", &dummy, "--socket"])
        .arg(fl.socket())
        .output()
        .expect("mgm handler");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(err.contains(&format!("{dummy} is owned by four")), "{err}");
    // Registering a taken name is refused too.
    let out = Command::new(env!("CARGO_BIN_EXE_mgm"))
        .args(["handler", "--name", "four", "--socket"])
        .arg(fl.socket())
        .output()
        .expect("mgm handler");
    assert!(String::from_utf8_lossy(&out.stderr).contains("registered already"));
    // The IGMP role: taken where mgm's own IGMP does not run (beside `four`, the routing
    // owner), refused where it does.
    let out = Command::new(env!("CARGO_BIN_EXE_mgm"))
        .args([
            "handler", "--igmp", "--name", "igx", "--take", &rb, "--socket",
        ])
        .arg(fl.socket())
        .output()
        .expect("mgm handler");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("is reserved for protocol 'one'"), "{err}");
    let ra = fl.ra.clone();
    let out = Command::new(env!("CARGO_BIN_EXE_mgm"))
        .args([
            "handler", "--igmp", "--name", "igx", "--take", &ra, "--socket",
        ])
        .arg(fl.socket())
        .output()
        .expect("mgm handler");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!("{ra} has an IGMP client already")),
        "{err}"
    );
    let igx = HandlerProc::mgm(&fl.socket(), "igx", &["--igmp", "--take", &dummy]);
    igx.wait_for("the IGMP role on the dummy", |v| {
        v["callback"] == "replay_end" && v["interface"] == dummy.as_str()
    });
    let igx_rows = fl.protocols();
    let row = igx_rows
        .iter()
        .find(|p| p.name == "igx")
        .expect("igx listed");
    assert_eq!(row.interfaces, vec![dummy.clone()]);
    drop(igx);
    // `four` comes back under its name: it gets the interface it held.
    four.kill();
    fl.wait_for("four is gone", WAIT, || {
        !fl.protocols().iter().any(|p| p.name == "four")
    });
    let again = HandlerProc::mgm(&fl.socket(), "four", &[]);
    again.wait_for("the dummy back", |v| {
        v["callback"] == "replay_end" && v["interface"] == dummy.as_str()
    });
    let _ = (LMQT, SLACK);
}

#[test]
fn an_unprivileged_user_cannot_register() {
    common::require_root();
    let fl = ForwardLab::new();
    let socket = fl.socket();
    // Open the socket (and its directory) to everyone: the daemon's own check must still
    // refuse.
    std::fs::set_permissions(
        socket.parent().unwrap(),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    std::fs::set_permissions(&socket, std::os::unix::fs::PermissionsExt::from_mode(0o666)).unwrap();
    let out = Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .arg(system_python())
        .arg(example())
        .args(["--name", "intruder", "--once-registered", "--socket"])
        .arg(&socket)
        .output()
        .expect("setpriv");
    let text = String::from_utf8_lossy(&out.stdout);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{text} {err}");
    assert!(text.contains("permission denied"), "{text} {err}");
    assert!(!fl.protocols().iter().any(|p| p.name == "intruder"));
    assert!(fl.daemon_log().contains("register refused to uid 65534"));
}

#[test]
fn the_rust_client_adds_memberships_and_walks_memberships_and_mfes() {
    use mgm_user::control::api::handler::{
        HandlerKind, MembershipArgs, MembershipFilter, MembershipView, MfeKeyArgs, Page,
        RegisterArgs,
    };
    use mgm_user::control::api::{MfeView, Request};
    use mgm_user::control::handler_client::HandlerClient;
    common::require_root();
    let mut fl = ForwardLab::new_with(["", ",protocol=walker", ""], &[]);
    let (ra, rb) = (fl.ra.clone(), fl.rb.clone());
    let mut c = HandlerClient::connect(&fl.socket()).unwrap();
    let reg = c
        .register(RegisterArgs {
            name: "walker".into(),
            protocol_id: Some(77),
            component_id: Some(1),
            kind: HandlerKind::Routing,
        })
        .unwrap();
    assert_eq!(
        (reg.interfaces.clone(), reg.protocol_id),
        (vec![rb.clone()], 77)
    );
    let m = |g: &str, s: Option<&str>, i: &str| MembershipArgs {
        interface: i.into(),
        source: s.map(|s| s.parse().unwrap()),
        group: Some(g.parse().unwrap()),
        flags: None,
    };
    let src = fl.source.addr.clone();
    for req in [
        m(&GS.to_string(), None, &rb),
        m(G2, Some(&src), &rb),
        m(G1, None, &rb),
    ] {
        c.request::<Value>(Request::AddMembership(req)).unwrap();
    }
    // Adding again is not an error (MGM: a no-op).
    c.request::<Value>(Request::AddMembership(m(G1, None, &rb)))
        .unwrap();
    let e = c
        .request::<Value>(Request::AddMembership(m(G1, None, &ra)))
        .unwrap_err();
    assert!(format!("{e:#}").contains("not yours"), "{e:#}");
    // The manager's InvalidParameter reaches the handler with its reason.
    let e = c
        .request::<Value>(Request::ReleaseInterface {
            interface: ra.clone(),
        })
        .unwrap_err();
    assert!(
        format!("{e:#}").contains(&format!(
            "{ra}: invalid: the interface is not yours (take it first)"
        )),
        "{e:#}"
    );
    let e = c
        .request::<Value>(Request::AddMembership(m("192.0.2.99", None, &rb)))
        .unwrap_err();
    assert!(format!("{e:#}").contains("not a valid membership"), "{e:#}");
    let mine: Vec<MembershipView> = c
        .request(Request::GetMemberships(MembershipFilter {
            protocol: Some("walker".into()),
            ..MembershipFilter::default()
        }))
        .unwrap();
    assert_eq!(mine.len(), 3, "{mine:?}");
    // Walk one at a time: the same three, in (group, source, interface, protocol) order.
    let mut walked = Vec::new();
    let mut page: Page<MembershipView> = c
        .request(Request::GetFirstMembership { max: Some(1) })
        .unwrap();
    loop {
        walked.extend(page.entries.clone());
        if !page.more {
            break;
        }
        let last = page.entries.last().unwrap();
        page = c
            .request(Request::GetNextMembership {
                after: last.key(),
                max: Some(1),
            })
            .unwrap();
    }
    // The page walk gives every record of the one-shot list, in the same order.
    let all: Vec<MembershipView> = c
        .request(Request::GetMemberships(MembershipFilter::default()))
        .unwrap();
    assert_eq!(walked, all);
    let walked: Vec<_> = walked
        .into_iter()
        .filter(|v| v.protocol == "walker")
        .collect();
    assert_eq!(walked.len(), 3);
    let groups: Vec<_> = walked
        .iter()
        .map(|v| v.group.unwrap().to_string())
        .collect();
    assert_eq!(groups, vec![G1.to_string(), G2.to_string(), GS.to_string()]);
    // More records than one chunk of the streamed answer holds (4 096): the one-shot list,
    // read as one line, is the page walk's, record for record.
    for i in 0..4_500u32 {
        let g = std::net::Ipv4Addr::from(u32::from(std::net::Ipv4Addr::new(239, 20, 0, 1)) + i);
        c.request::<Value>(Request::AddMembership(m(&g.to_string(), None, &rb)))
            .unwrap();
    }
    let all: Vec<MembershipView> = c
        .request(Request::GetMemberships(MembershipFilter::default()))
        .unwrap();
    let mut paged: Vec<MembershipView> = Vec::new();
    let mut after = None;
    loop {
        let page: Page<MembershipView> = c
            .request(match after.take() {
                None => Request::GetFirstMembership { max: Some(1_000) },
                Some(after) => Request::GetNextMembership {
                    after,
                    max: Some(1_000),
                },
            })
            .unwrap();
        paged.extend(page.entries);
        if !page.more {
            break;
        }
        let last = paged.last().unwrap();
        after = Some(last.key());
    }
    assert!(all.len() > 4_500, "{}", all.len());
    assert_eq!(all, paged);
    let mine: Vec<MembershipView> = c
        .request(Request::GetMemberships(MembershipFilter {
            protocol: Some("walker".into()),
            ..MembershipFilter::default()
        }))
        .unwrap();
    assert_eq!(mine.len(), 4_503);
    for i in 0..4_500u32 {
        let g = std::net::Ipv4Addr::from(u32::from(std::net::Ipv4Addr::new(239, 20, 0, 1)) + i);
        c.request::<Value>(Request::DeleteMembership(m(&g.to_string(), None, &rb)))
            .unwrap();
    }
    // A stream to GS: the MFE goes to rb because walker's membership says so.
    let rcv = fl.add_host('b', "rcv", 10);
    let sniff = Sniffer::start(&rcv.ns, &rcv.ifname, GS, PORT);
    let _src = stream(&mut fl);
    fl.wait_for("forwarded to walker's link", WAIT, || sniff.count() > 5);
    let first: Page<MfeView> = c.request(Request::GetFirstMfe { max: None }).unwrap();
    let mfe = first
        .entries
        .iter()
        .find(|m| m.group == GS.to_string())
        .expect("the MFE in the walk");
    assert_eq!(
        (mfe.iif.as_str(), mfe.oifs.clone()),
        (ra.as_str(), vec![rb.clone()])
    );
    let key = MfeKeyArgs {
        source: src.parse().unwrap(),
        group: GS,
    };
    let stats: MfeView = c.request(Request::GetMfeStats(key)).unwrap();
    assert!(stats.packets > 5, "{stats:?}");
    // Not its incoming interface: it may not delete the MFE.
    let e = c.request::<Value>(Request::DeleteMfe(key)).unwrap_err();
    assert!(format!("{e:#}").contains("invalid"), "{e:#}");
    // Deregistering releases the interface: walker's memberships leave the OIL.
    c.request::<Value>(Request::Deregister).unwrap();
    fl.wait_for("walker gone and rb out of the OIL", WAIT, || {
        !fl.protocols().iter().any(|p| p.name == "walker")
            && fl
                .mfe(&GS.to_string())
                .is_none_or(|m| !m.oifs.contains(&rb))
    });
}

#[test]
fn a_handler_that_stops_reading_is_disconnected_and_its_interface_released() {
    common::require_root();
    let mut fl = ForwardLab::new_with(
        ["", ",protocol=deaf", ""],
        // No budget in the classifier: the flood is to reach the daemon, and the handler.
        &[
            "--max-groups",
            "60000",
            "--max-groups-per-host",
            "60000",
            "--max-reports-per-second",
            "0",
        ],
    );
    let rb = fl.rb.clone();
    // Registers, then never reads a line.
    let script = r#"
import json, socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
s.connect(sys.argv[1])
s.sendall(b'{"command":"register","name":"deaf"}\n')
print("registered", flush=True)
time.sleep(120)
"#;
    let mut deaf = Command::new("python3")
        .args(["-c", script])
        .arg(fl.socket())
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3");
    fl.wait_for("deaf registered", WAIT, || {
        fl.protocols()
            .iter()
            .any(|p| p.name == "deaf" && p.interfaces.contains(&rb))
    });
    // 25 000 new groups on its interface: one local_join each, more than its outbox (16 384
    // lines) and the socket's buffers hold.
    let host = fl.add_host('b', "flood", 10);
    let mut flood =
        common::spawn_v3_flood_mode(&host.ns, &host.addr, 25_000, 30.0, 0, 25_000, "exclude");
    // The daemon is busy with the flood and the release: a request may time out meanwhile.
    let socket = fl.socket();
    fl.wait_for("deaf disconnected", Duration::from_secs(60), || {
        mgm_user::control::client::request::<Vec<Value>>(
            &socket,
            mgm_user::control::api::Request::ShowProtocols,
        )
        .is_ok_and(|ps| !ps.iter().any(|p| p["name"] == "deaf"))
    });
    let _ = flood.kill();
    let _ = flood.wait();
    let _ = deaf.kill();
    let _ = deaf.wait();
    assert!(
        fl.daemon_log().contains("handler 'deaf' stopped reading"),
        "{}",
        fl.daemon_log()
    );
    let stats = forward::mgm_json(&fl.socket(), &["show", "stats", "--json"]);
    assert_eq!(stats["daemon_handler_overflows"], 1, "{stats}");
    // The daemon goes on: IGMP still runs on the released interface (the flood's groups
    // themselves expire after the short GMI, 5 s).
    assert!(fl.lab.interfaces(fl.k).iter().any(|i| i.interface == rb));
}
