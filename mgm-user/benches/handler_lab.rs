//! External handlers in the namespace lab (needs root; run by `cargo xtask bench`): how many
//! callbacks per second one handler gets, and how long a host's report takes to reach it.
//!
//! Lab: router namespace `r` and host namespace `h` on one veth link (192.0.2.1 / 192.0.2.11);
//! `mgm run -i R,protocol=bench --log info` (the interface is left to the handler; IGMP still
//! runs on it and each new group reaches the handler as `local_join`). The handler lives in this
//! process, on its own thread, registered as `bench`; it reads with one of two readers (said in
//! each line): `HandlerClient` (the blocking Rust client of `mgm_user::control::handler_client`,
//! `next_callback`) or a raw reader (a `BufReader` over the `UnixStream`, each line parsed once
//! into a `CallbackLine`). Each callback is stamped (CLOCK_MONOTONIC) when the reader has it.
//!
//! 1. Callbacks per second: the host joins `GROUPS` groups, each once (IGMPv3 IS_EX {}), and
//!    the figure is the count of `local_join` read over the span from the first to the last
//!    read. The load is either `tests/common/v3_flood.py` (one record per report, as fast as
//!    python sends: the flood of `control_flood`), or a sender thread of this process in the
//!    host namespace that packs `RECORDS` records per report and keeps at most `WINDOW` groups
//!    sent but not yet read by the handler (closed loop: the daemon's pace, not the sender's,
//!    and nothing dropped for want of ring space). A last run leaves IGMP out: a second
//!    handler, `feed`, adds (*,G) memberships on its own interface (pipelined requests), and
//!    each new group reaches `bench` as `join_alert` (the handler path without the classifier,
//!    the IGMP router and its BPF map writes, but with the feeder's requests). Printed with the
//!    daemon's CPU per thread, the reader thread's CPU, and what was lost: groups never told,
//!    the classifier's `events_ring_full`, `daemon_lost_v3_records`,
//!    `daemon_handler_overflows`.
//! 2. Latency: `LAT_JOINS` joins of distinct groups spaced `LAT_SPACING`, one report each; the
//!    report's kernel receive time on the router's interface (AF_PACKET, SO_TIMESTAMPNS, moved to
//!    CLOCK_MONOTONIC) to the handler's read of the matching `local_join` (HandlerClient).
#[path = "../tests/common/mod.rs"]
mod common;
#[path = "../tests/common/forward.rs"]
mod forward;

use common::{process_cpu_ns, spawn_v3_flood_mode, Lab};
use forward::{mono_ns, ReportCapture};
use mgm_user::control::{
    api::{
        handler::{CallbackLine, HandlerKind, MembershipArgs, RegisterArgs},
        InterfaceView, Request, RequestLine,
    },
    client,
    handler_client::HandlerClient,
};
use std::collections::{BTreeMap, HashMap};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::Ipv4Addr;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI32, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

const NAME: &str = "bench";
/// The handler that makes the changes of the no-IGMP run.
const FEEDER: &str = "feed";
const HOST: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 11);
/// Groups joined per throughput run (each one `local_join`).
const GROUPS: usize = 100_000;
/// IS_EX {} records per report of the closed-loop sender (8 + 64 × 8 = 520 bytes).
const RECORDS: usize = 64;
/// Groups the closed-loop sender keeps in flight at most (well under the 16 384 lines of a
/// handler's outbox and the 256 KiB event ring: 128 reports of 560 bytes).
const WINDOW: usize = 8192;
/// Throughput goal (callbacks per second to one handler).
const RATE_GOAL: f64 = 100_000.0;
const LAT_JOINS: usize = 300;
const LAT_SPACING: Duration = Duration::from_millis(10);
/// Latency goals.
const P50_GOAL: Duration = Duration::from_millis(1);
const P99_GOAL: Duration = Duration::from_millis(5);

// ---- the handler --------------------------------------------------------------------------

/// How the handler reads its connection.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Reader {
    /// `HandlerClient::next_callback` (the shipped Rust client).
    Client,
    /// A `BufReader` over the `UnixStream`, each line parsed once into a `CallbackLine`.
    Raw,
}

impl Reader {
    fn label(self) -> &'static str {
        match self {
            Reader::Client => "HandlerClient",
            Reader::Raw => "raw UnixStream reader",
        }
    }
}

/// One callback as the handler read it.
#[derive(Clone, Debug)]
struct Got {
    /// CLOCK_MONOTONIC ns when the reader had the line.
    t: u64,
    seq: u64,
    kind: &'static str,
    group: Option<Ipv4Addr>,
}

/// The bench's handler: a thread of this process registered as [`NAME`].
struct Handler {
    got: Arc<Mutex<Vec<Got>>>,
    /// `local_join` and `join_alert` lines read (one per new group).
    joins: Arc<AtomicUsize>,
    /// The reader thread's id (for its CPU time).
    tid: Arc<AtomicI32>,
}

impl Handler {
    /// Registers and waits for the replay of the reserved interface to end.
    fn start(socket: &Path, reader: Reader) -> Handler {
        let got = Arc::new(Mutex::new(Vec::new()));
        let joins = Arc::new(AtomicUsize::new(0));
        let tid = Arc::new(AtomicI32::new(0));
        let (ready_tx, ready_rx) = mpsc::channel::<Result<(), String>>();
        let (g, j, t) = (got.clone(), joins.clone(), tid.clone());
        let socket = socket.to_path_buf();
        std::thread::spawn(move || {
            t.store(nix::unistd::gettid().as_raw(), Ordering::SeqCst);
            let record = |cb: CallbackLine, at: u64| {
                let kind = cb.callback.name();
                g.lock().unwrap().push(Got {
                    t: at,
                    seq: cb.seq,
                    kind,
                    group: cb.group,
                });
                if matches!(kind, "local_join" | "join_alert") {
                    j.fetch_add(1, Ordering::SeqCst);
                }
            };
            match reader {
                Reader::Client => read_with_client(&socket, ready_tx, record),
                Reader::Raw => read_raw(&socket, ready_tx, record),
            }
        });
        match ready_rx.recv_timeout(Duration::from_secs(10)) {
            Ok(Ok(())) => {}
            Ok(Err(e)) => panic!("the bench handler did not register: {e}"),
            Err(_) => panic!("the bench handler did not register in 10 s"),
        }
        let h = Handler { got, joins, tid };
        let start = Instant::now();
        while !h.got().iter().any(|g| g.kind == "replay_end") {
            assert!(start.elapsed() < Duration::from_secs(10), "no replay_end");
            std::thread::sleep(Duration::from_millis(10));
        }
        h
    }

    fn got(&self) -> Vec<Got> {
        self.got.lock().unwrap().clone()
    }

    fn joins(&self) -> usize {
        self.joins.load(Ordering::SeqCst)
    }

    /// CPU time of the reader thread, ns.
    fn cpu_ns(&self) -> u64 {
        let tid = self.tid.load(Ordering::SeqCst);
        std::fs::read_to_string(format!("/proc/self/task/{tid}/schedstat"))
            .ok()
            .and_then(|s| s.split_whitespace().next()?.parse().ok())
            .unwrap_or(0)
    }
}

fn register_args() -> RegisterArgs {
    RegisterArgs {
        name: NAME.into(),
        protocol_id: None,
        component_id: None,
        kind: HandlerKind::Routing,
    }
}

fn read_with_client(
    socket: &Path,
    ready: mpsc::Sender<Result<(), String>>,
    record: impl Fn(CallbackLine, u64),
) {
    let mut c = match HandlerClient::connect(socket).and_then(|mut c| {
        c.register(register_args())?;
        Ok(c)
    }) {
        Ok(c) => c,
        Err(e) => {
            let _ = ready.send(Err(format!("{e:#}")));
            return;
        }
    };
    let _ = ready.send(Ok(()));
    // Ends when the daemon goes (the lab's end).
    while let Ok(cb) = c.next_callback() {
        record(cb, mono_ns());
    }
}

fn read_raw(
    socket: &Path,
    ready: mpsc::Sender<Result<(), String>>,
    record: impl Fn(CallbackLine, u64),
) {
    let stream = match client::connect(socket) {
        Ok(s) => s,
        Err(e) => {
            let _ = ready.send(Err(format!("{e:#}")));
            return;
        }
    };
    let mut w = stream.try_clone().expect("clone the handler stream");
    let mut line = serde_json::to_string(&RequestLine {
        id: Some(1),
        request: Request::Register(register_args()),
    })
    .expect("encode register");
    line.push('\n');
    if let Err(e) = w.write_all(line.as_bytes()) {
        let _ = ready.send(Err(e.to_string()));
        return;
    }
    let mut r = BufReader::with_capacity(1 << 16, stream);
    let mut ready = Some(ready);
    loop {
        line.clear();
        match r.read_line(&mut line) {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        let at = mono_ns();
        if let Ok(cb) = serde_json::from_str::<CallbackLine>(&line) {
            record(cb, at);
            continue;
        }
        // A response: the one to `register`.
        let v: serde_json::Value = serde_json::from_str(&line).unwrap_or_default();
        if let Some(tx) = ready.take() {
            let _ = tx.send(if v["ok"] == true {
                Ok(())
            } else {
                Err(line.trim().to_string())
            });
        }
    }
}

// ---- the sender -----------------------------------------------------------------------------

/// A raw IGMP socket in a host namespace, sending from [`HOST`] to 224.0.0.22 with Router Alert
/// and TTL 1 (what `v3_flood.py` does).
struct RawIgmp(OwnedFd);

impl RawIgmp {
    /// Enters `ns` (the calling thread stays there) and opens the socket.
    fn open_in(ns: &str) -> RawIgmp {
        let f = std::fs::File::open(format!("/run/netns/{ns}")).expect("open the host netns");
        nix::sched::setns(f, nix::sched::CloneFlags::CLONE_NEWNET).expect("setns to the host");
        // SAFETY: plain socket(2) call with constant arguments.
        let raw = unsafe { libc::socket(libc::AF_INET, libc::SOCK_RAW, libc::IPPROTO_IGMP) };
        assert!(
            raw >= 0,
            "raw IGMP socket: {}",
            std::io::Error::last_os_error()
        );
        // SAFETY: `raw` is a fresh descriptor nothing else owns.
        let s = RawIgmp(unsafe { OwnedFd::from_raw_fd(raw) });
        s.set(libc::IP_OPTIONS, &[0x94u8, 4, 0, 0]);
        s.set(libc::IP_MULTICAST_TTL, &1i32);
        s.set(libc::IP_MULTICAST_LOOP, &0i32);
        let ifaddr = libc::in_addr {
            s_addr: u32::from(HOST).to_be(),
        };
        s.set(libc::IP_MULTICAST_IF, &ifaddr);
        s
    }

    fn set<T: ?Sized>(&self, opt: i32, v: &T) {
        // SAFETY: `v` is a live value of the size passed; the fd is valid.
        let r = unsafe {
            libc::setsockopt(
                self.0.as_raw_fd(),
                libc::IPPROTO_IP,
                opt,
                (v as *const T).cast(),
                std::mem::size_of_val(v) as u32,
            )
        };
        assert!(
            r == 0,
            "setsockopt {opt}: {}",
            std::io::Error::last_os_error()
        );
    }

    fn send(&self, msg: &[u8]) {
        // SAFETY: zeroed sockaddr_in is a valid value; the fields are filled below.
        let mut to: libc::sockaddr_in = unsafe { std::mem::zeroed() };
        to.sin_family = libc::AF_INET as u16;
        to.sin_addr.s_addr = u32::from(Ipv4Addr::new(224, 0, 0, 22)).to_be();
        // SAFETY: `msg` and `to` are live buffers of the sizes passed; the fd is valid.
        let n = unsafe {
            libc::sendto(
                self.0.as_raw_fd(),
                msg.as_ptr().cast(),
                msg.len(),
                0,
                (&to as *const libc::sockaddr_in).cast(),
                std::mem::size_of::<libc::sockaddr_in>() as u32,
            )
        };
        assert!(
            n == msg.len() as isize,
            "sendto: {}",
            std::io::Error::last_os_error()
        );
    }
}

fn checksum(b: &[u8]) -> u16 {
    let mut s: u32 = b
        .chunks(2)
        .map(|c| u32::from(u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)])))
        .sum();
    while s > 0xffff {
        s = (s >> 16) + (s & 0xffff);
    }
    !(s as u16)
}

/// An IGMPv3 report with one MODE_IS_EXCLUDE record without sources per group.
fn v3_report(groups: impl Iterator<Item = Ipv4Addr>) -> Vec<u8> {
    let mut m = vec![0x22, 0, 0, 0, 0, 0, 0, 0];
    let mut n: u16 = 0;
    for g in groups {
        m.extend_from_slice(&[2, 0, 0, 0]);
        m.extend_from_slice(&g.octets());
        n += 1;
    }
    m[6..8].copy_from_slice(&n.to_be_bytes());
    let c = checksum(&m);
    m[2..4].copy_from_slice(&c.to_be_bytes());
    m
}

/// The groups of a v3 report's records.
fn report_groups(igmp: &[u8]) -> Vec<Ipv4Addr> {
    let mut out = Vec::new();
    if igmp.len() < 8 || igmp[0] != 0x22 {
        return out;
    }
    let n = usize::from(u16::from_be_bytes([igmp[6], igmp[7]]));
    let mut at = 8;
    for _ in 0..n {
        let Some(r) = igmp.get(at..at + 8) else { break };
        out.push(Ipv4Addr::new(r[4], r[5], r[6], r[7]));
        let aux = usize::from(r[1]) * 4;
        at += 8 + usize::from(u16::from_be_bytes([r[2], r[3]])) * 4 + aux;
    }
    out
}

/// Group `i` of a throughput run (the addresses `v3_flood.py` uses).
fn group(i: usize) -> Ipv4Addr {
    let a = i / 250;
    Ipv4Addr::new(
        239,
        (1 + a / 250) as u8,
        (a % 250) as u8,
        (1 + i % 250) as u8,
    )
}

// ---- the lab --------------------------------------------------------------------------------

/// A router and a host on one link, the router's interface left to the handler; with a
/// feeder, a second link (198.51.100.0/24) left to the feeder handler [`FEEDER`].
struct HandlerLab {
    lab: Lab,
    router: String,
    host: String,
    rif: String,
    /// The feeder's interface.
    fif: Option<String>,
    k: usize,
}

impl HandlerLab {
    fn new(max_groups: usize, feeder: bool) -> HandlerLab {
        let mut lab = Lab::new();
        let router = lab.netns("r");
        let host = lab.netns("h");
        let (rif, _) = lab.link(
            (&router, "r", "192.0.2.1/24"),
            (&host, "h", &format!("{HOST}/24")),
        );
        let mut ifaces = vec![format!("{rif},protocol={NAME}")];
        let fif = feeder.then(|| {
            let other = lab.netns("f");
            let (fif, _) = lab.link(
                (&router, "f", "198.51.100.1/24"),
                (&other, "g", "198.51.100.2/24"),
            );
            ifaces.push(format!("{fif},protocol={FEEDER}"));
            fif
        });
        let ifaces: Vec<&str> = ifaces.iter().map(String::as_str).collect();
        let max = max_groups.to_string();
        let k = lab.start_mgm(
            &router,
            &ifaces,
            &[
                "--max-groups",
                &max,
                "--max-groups-per-host",
                &max,
                // What a daemon runs with: the lab's debug level logs every membership change.
                "--log",
                "info",
            ],
        );
        HandlerLab {
            lab,
            router,
            host,
            rif,
            fif,
            k,
        }
    }

    fn socket(&self) -> PathBuf {
        self.lab.daemon(self.k).socket.clone()
    }

    fn pid(&self) -> u32 {
        self.lab.daemon(self.k).child.id()
    }

    fn stats(&self) -> serde_json::Value {
        client::request(&self.socket(), Request::ShowStats).expect("show stats")
    }

    fn interface(&self) -> InterfaceView {
        self.lab
            .interfaces(self.k)
            .into_iter()
            .find(|i| i.interface == self.rif)
            .expect("the router's interface")
    }
}

/// CPU time of each thread of `pid` (ns), by thread id, with the thread's name.
fn threads_cpu(pid: u32) -> BTreeMap<u32, (String, u64)> {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return BTreeMap::new();
    };
    tasks
        .filter_map(|t| t.ok())
        .filter_map(|t| {
            let tid = t.file_name().to_str()?.parse().ok()?;
            let comm = std::fs::read_to_string(t.path().join("comm")).ok()?;
            let ns = std::fs::read_to_string(t.path().join("schedstat"))
                .ok()?
                .split_whitespace()
                .next()?
                .parse()
                .ok()?;
            Some((tid, (comm.trim().to_string(), ns)))
        })
        .collect()
}

// ---- 1. callbacks per second ----------------------------------------------------------------

/// What makes the membership changes.
#[derive(Clone, Copy, Debug)]
enum Load {
    /// `v3_flood.py`: one record per report, each group once, as fast as python sends.
    Python,
    /// The sender thread: `RECORDS` records per report, at most `WINDOW` groups in flight.
    ClosedLoop,
    /// No IGMP: another handler ([`FEEDER`]) adds (*,G) memberships on its own interface,
    /// pipelined (at most `WINDOW` requests unanswered); each new group reaches the bench
    /// handler as `join_alert`.
    Feeder,
}

impl Load {
    fn label(self) -> String {
        match self {
            Load::Python => "v3_flood.py, 1 IS_EX {} record per report, open loop".into(),
            Load::ClosedLoop => format!(
                "sender thread, {RECORDS} IS_EX {{}} records per report, at most {WINDOW} \
                 groups in flight"
            ),
            Load::Feeder => format!(
                "no IGMP: handler '{FEEDER}' sends add_membership (*,G) on its interface, at \
                 most {WINDOW} unanswered; join_alert to '{NAME}'"
            ),
        }
    }

    /// The callback each new group makes.
    fn callback(self) -> &'static str {
        match self {
            Load::Python | Load::ClosedLoop => "local_join",
            Load::Feeder => "join_alert",
        }
    }
}

/// What the load did: reports (or requests) sent, over how long.
struct Sent {
    /// "reports" or "requests".
    unit: &'static str,
    reports: usize,
    groups: usize,
    span: Duration,
    /// The closed loop gave up waiting (joins stopped coming).
    stalled: bool,
}

fn python_flood(hl: &HandlerLab) -> Sent {
    let mut flood = spawn_v3_flood_mode(
        &hl.host,
        &HOST.to_string(),
        GROUPS,
        60.0,
        0,
        GROUPS,
        "exclude",
    );
    let mut said = String::new();
    if let Some(mut out) = flood.stdout.take() {
        let _ = out.read_to_string(&mut said);
    }
    let _ = flood.wait();
    // "sent N in S s"
    let words: Vec<&str> = said.split_whitespace().collect();
    let reports = words.get(1).and_then(|n| n.parse().ok()).unwrap_or(0);
    let secs: f64 = words.get(3).and_then(|s| s.parse().ok()).unwrap_or(0.0);
    Sent {
        unit: "reports",
        reports,
        groups: reports,
        span: Duration::from_secs_f64(secs),
        stalled: false,
    }
}

fn closed_loop(hl: &HandlerLab, h: &Handler) -> Sent {
    let reports: Vec<Vec<u8>> = (0..GROUPS)
        .step_by(RECORDS)
        .map(|first| v3_report((first..(first + RECORDS).min(GROUPS)).map(group)))
        .collect();
    let joins = h.joins.clone();
    let ns = hl.host.clone();
    let base = joins.load(Ordering::SeqCst);
    std::thread::spawn(move || {
        let sock = RawIgmp::open_in(&ns);
        let start = Instant::now();
        let mut sent = 0;
        let mut stalled = false;
        'send: for r in &reports {
            let k = RECORDS.min(GROUPS - sent);
            let mut seen = (joins.load(Ordering::SeqCst) - base, Instant::now());
            while sent + k > seen.0 + WINDOW {
                std::thread::sleep(Duration::from_micros(50));
                let now = joins.load(Ordering::SeqCst) - base;
                if now != seen.0 {
                    seen = (now, Instant::now());
                } else if seen.1.elapsed() > Duration::from_secs(2) {
                    stalled = true;
                    break 'send;
                }
            }
            sock.send(r);
            sent += k;
        }
        Sent {
            unit: "reports",
            reports: sent.div_ceil(RECORDS),
            groups: sent,
            span: start.elapsed(),
            stalled,
        }
    })
    .join()
    .expect("the sender thread")
}

/// The feeder handler: registers as [`FEEDER`] and adds a (*,G) membership on its interface
/// for each group, at most [`WINDOW`] requests unanswered.
fn feeder(hl: &HandlerLab) -> Sent {
    let fif = hl.fif.clone().expect("a lab with a feeder");
    let stream = client::connect(&hl.socket()).expect("connect the feeder");
    let mut w = stream.try_clone().expect("clone the feeder stream");
    let answered = Arc::new(AtomicUsize::new(0));
    let failed = Arc::new(Mutex::new(Vec::<String>::new()));
    let (a, f) = (answered.clone(), failed.clone());
    let (reg_tx, reg_rx) = mpsc::channel::<serde_json::Value>();
    std::thread::spawn(move || {
        let mut r = BufReader::with_capacity(1 << 16, stream);
        let mut line = String::new();
        let mut registered = false;
        loop {
            line.clear();
            match r.read_line(&mut line) {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
            let v: serde_json::Value = serde_json::from_str(&line).unwrap_or_default();
            if v.get("callback").is_some() {
                continue;
            }
            if !registered {
                registered = true;
                let _ = reg_tx.send(v);
                continue;
            }
            if v["ok"] != true {
                f.lock().unwrap().push(line.trim().to_string());
            }
            a.fetch_add(1, Ordering::SeqCst);
        }
    });
    let line = |id: u64, request: Request| {
        let mut l = serde_json::to_string(&RequestLine {
            id: Some(id),
            request,
        })
        .expect("encode a request");
        l.push('\n');
        l
    };
    let register = RegisterArgs {
        name: FEEDER.into(),
        ..register_args()
    };
    w.write_all(line(1, Request::Register(register)).as_bytes())
        .expect("write register");
    let reg = reg_rx
        .recv_timeout(Duration::from_secs(10))
        .expect("the feeder's register answered");
    assert!(reg["ok"] == true, "the feeder did not register: {reg}");
    // Requests in chunks of RECORDS lines, one write each.
    let chunks: Vec<String> = (0..GROUPS)
        .step_by(RECORDS)
        .map(|first| {
            (first..(first + RECORDS).min(GROUPS))
                .map(|i| {
                    line(
                        i as u64 + 2,
                        Request::AddMembership(MembershipArgs {
                            interface: fif.clone(),
                            source: None,
                            group: Some(group(i)),
                            flags: None,
                        }),
                    )
                })
                .collect()
        })
        .collect();
    let start = Instant::now();
    let mut sent = 0;
    let mut stalled = false;
    'send: for c in &chunks {
        let k = RECORDS.min(GROUPS - sent);
        let mut seen = (answered.load(Ordering::SeqCst), Instant::now());
        while sent + k > seen.0 + WINDOW {
            std::thread::sleep(Duration::from_micros(50));
            let now = answered.load(Ordering::SeqCst);
            if now != seen.0 {
                seen = (now, Instant::now());
            } else if seen.1.elapsed() > Duration::from_secs(2) {
                stalled = true;
                break 'send;
            }
        }
        w.write_all(c.as_bytes()).expect("write add_membership");
        sent += k;
    }
    let span = start.elapsed();
    let failed = failed.lock().unwrap();
    if let Some(e) = failed.first() {
        println!(
            "  ({} add_membership refused; the first: {e})",
            failed.len()
        );
    }
    Sent {
        unit: "add_membership requests",
        reports: sent,
        groups: sent,
        span,
        stalled,
    }
}

fn throughput(load: Load, reader: Reader) {
    let hl = HandlerLab::new(GROUPS, matches!(load, Load::Feeder));
    let h = Handler::start(&hl.socket(), reader);
    let pid = hl.pid();
    let before = hl.stats();
    let threads_before = threads_cpu(pid);
    let cpu_before = process_cpu_ns(pid);
    let reader_before = h.cpu_ns();
    let t0 = mono_ns();
    let joins0 = h.joins();
    let sent = match load {
        Load::Python => python_flood(&hl),
        Load::ClosedLoop => closed_loop(&hl, &h),
        Load::Feeder => feeder(&hl),
    };
    // Until every group is told, or nothing comes for 2 s.
    let mut last = (h.joins(), Instant::now());
    while last.0 - joins0 < GROUPS && last.1.elapsed() < Duration::from_secs(2) {
        std::thread::sleep(Duration::from_millis(10));
        let n = h.joins();
        if n != last.0 {
            last = (n, Instant::now());
        }
    }
    let cpu = process_cpu_ns(pid) - cpu_before;
    let threads_after = threads_cpu(pid);
    let reader_cpu = h.cpu_ns() - reader_before;
    let after = hl.stats();
    let d = |k: &str| after[k].as_u64().unwrap_or(0) - before[k].as_u64().unwrap_or(0);
    let got: Vec<Got> = h.got().into_iter().filter(|g| g.t >= t0).collect();
    let joins: Vec<&Got> = got.iter().filter(|g| g.kind == load.callback()).collect();
    let distinct = joins
        .iter()
        .filter_map(|g| g.group)
        .collect::<std::collections::HashSet<_>>()
        .len();
    let gaps = got.windows(2).filter(|w| w[1].seq != w[0].seq + 1).count();
    let (first, last_t) = (
        joins.first().map_or(0, |g| g.t),
        joins.last().map_or(0, |g| g.t),
    );
    let span = Duration::from_nanos(last_t.saturating_sub(first));
    let rate = joins.len().saturating_sub(1) as f64 / span.as_secs_f64().max(1e-9);
    let busy = Duration::from_nanos(last_t.saturating_sub(t0));
    let iface = hl.interface();
    println!(
        "callbacks to one handler ({}; {}):",
        load.label(),
        reader.label()
    );
    println!(
        "  {} {} read ({distinct} groups of {GROUPS} sent) in {:.1} ms from the first to the \
         last: {:.0}/s (goal >= {:.0}/s: {}); {} other callbacks, {gaps} seq gaps",
        joins.len(),
        load.callback(),
        span.as_secs_f64() * 1e3,
        rate,
        RATE_GOAL,
        if rate >= RATE_GOAL && distinct == GROUPS {
            "met"
        } else {
            "MISSED"
        },
        got.len() - joins.len(),
    );
    println!(
        "  sent: {} {} ({} groups) in {:.1} ms ({:.0}/s, {:.0} groups/s){}",
        sent.reports,
        sent.unit,
        sent.groups,
        sent.span.as_secs_f64() * 1e3,
        sent.reports as f64 / sent.span.as_secs_f64().max(1e-9),
        sent.groups as f64 / sent.span.as_secs_f64().max(1e-9),
        if sent.stalled {
            "; STALLED: the joins stopped coming"
        } else {
            ""
        }
    );
    println!(
        "  lost: {} groups never told; classifier rx_report_v3 +{} events_sent +{} \
         events_ring_full +{}; daemon_lost_v3_records +{} daemon_handler_overflows +{}; \
         {} groups held, {} refused",
        GROUPS - distinct,
        d("rx_report_v3"),
        d("events_sent"),
        d("events_ring_full"),
        d("daemon_lost_v3_records"),
        d("daemon_handler_overflows"),
        iface.group_count,
        iface.refused_groups + iface.refused_host_groups,
    );
    let mut per_thread: Vec<(String, u64)> = threads_after
        .iter()
        .map(|(tid, (name, ns))| {
            let was = threads_before.get(tid).map_or(0, |(_, n)| *n);
            (format!("{name}/{tid}"), ns - was)
        })
        .filter(|(_, ns)| *ns > 1_000_000)
        .collect();
    per_thread.sort_by_key(|t| std::cmp::Reverse(t.1));
    let pct = |ns: u64| ns as f64 / busy.as_secs_f64().max(1e-9) / 1e7;
    println!(
        "  CPU from the first report to the last read ({:.1} ms): daemon {:.0} ms ({:.0}% of \
         one core: {}; {:.1} us per callback); the handler's reader thread {:.0} ms ({:.0}%)",
        busy.as_secs_f64() * 1e3,
        cpu as f64 / 1e6,
        pct(cpu),
        per_thread
            .iter()
            .map(|(n, ns)| format!("{n} {:.0}%", pct(*ns)))
            .collect::<Vec<_>>()
            .join(", "),
        cpu as f64 / 1e3 / joins.len().max(1) as f64,
        reader_cpu as f64 / 1e6,
        pct(reader_cpu),
    );
}

// ---- 2. latency -----------------------------------------------------------------------------

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn latency() {
    let hl = HandlerLab::new(4096, false);
    let h = Handler::start(&hl.socket(), Reader::Client);
    let capture = ReportCapture::start(&hl.router, &hl.rif);
    let groups: Vec<Ipv4Addr> = (0..LAT_JOINS)
        .map(|i| Ipv4Addr::new(239, 30, (i / 250) as u8, (1 + i % 250) as u8))
        .collect();
    let ns = hl.host.clone();
    let to_send = groups.clone();
    let t0 = mono_ns();
    std::thread::spawn(move || {
        let sock = RawIgmp::open_in(&ns);
        for g in to_send {
            sock.send(&v3_report(std::iter::once(g)));
            std::thread::sleep(LAT_SPACING);
        }
    })
    .join()
    .expect("the sender thread");
    let start = Instant::now();
    while h.joins() < LAT_JOINS && start.elapsed() < Duration::from_secs(5) {
        std::thread::sleep(Duration::from_millis(10));
    }
    let mut on_wire: HashMap<Ipv4Addr, u64> = HashMap::new();
    let captured = capture.reports();
    // How late the capture thread had each frame: what a stamp taken on wake-up would add.
    let mut lag: Vec<Duration> = captured
        .iter()
        .map(|r| Duration::from_nanos(r.read_ns.saturating_sub(r.kernel_ns)))
        .collect();
    lag.sort();
    for r in &captured {
        for g in report_groups(&r.igmp) {
            on_wire.entry(g).or_insert(r.kernel_ns);
        }
    }
    let read: HashMap<Ipv4Addr, u64> = h
        .got()
        .into_iter()
        .filter(|g| g.kind == "local_join" && g.t >= t0)
        .filter_map(|g| Some((g.group?, g.t)))
        .collect();
    let mut samples: Vec<Duration> = groups
        .iter()
        .filter_map(|g| {
            let (w, r) = (on_wire.get(g)?, read.get(g)?);
            Some(Duration::from_nanos(r.saturating_sub(*w)))
        })
        .collect();
    samples.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let (p50, p99) = (percentile(&samples, 0.5), percentile(&samples, 0.99));
    println!(
        "report on the router's wire -> handler reads local_join ({LAT_JOINS} joins of distinct \
         groups, one report each, {} ms apart; HandlerClient):",
        LAT_SPACING.as_millis()
    );
    println!(
        "  p50 {:.3} ms, p90 {:.3} ms, p99 {:.3} ms, max {:.3} ms; {} matched ({} reports \
         captured, {} local_join read) (goal p50 < {} ms, p99 < {} ms: {})",
        ms(p50),
        ms(percentile(&samples, 0.9)),
        ms(p99),
        ms(samples.last().copied().unwrap_or_default()),
        samples.len(),
        on_wire.len(),
        read.len(),
        P50_GOAL.as_millis(),
        P99_GOAL.as_millis(),
        if samples.len() == LAT_JOINS && p50 < P50_GOAL && p99 < P99_GOAL {
            "met"
        } else {
            "MISSED"
        }
    );
    println!(
        "  (wire time: the kernel's receive stamp; the capture thread had the frames a median \
         {:.0} us, max {:.0} us later)",
        percentile(&lag, 0.5).as_secs_f64() * 1e6,
        lag.last().copied().unwrap_or_default().as_secs_f64() * 1e6
    );
}

fn main() {
    throughput(Load::Python, Reader::Client);
    throughput(Load::ClosedLoop, Reader::Client);
    throughput(Load::ClosedLoop, Reader::Raw);
    throughput(Load::Feeder, Reader::Client);
    latency();
}
