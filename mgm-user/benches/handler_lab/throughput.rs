//! 1. Callbacks per second to one handler, under each load.

use crate::common::{process_cpu_ns, spawn_v3_flood_mode};
use crate::forward::mono_ns;
use crate::handler::{register_args, Got, Handler, Reader};
use crate::sender::{group, v3_report, RawIgmp};
use crate::{threads_cpu, HandlerLab, FEEDER, GROUPS, HOST, NAME, RATE_GOAL, RECORDS, WINDOW};
use mgm_user::control::{
    api::{handler::MembershipArgs, handler::RegisterArgs, Request, RequestLine},
    client,
};
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

/// What makes the membership changes.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Load {
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
    pub(crate) fn label(self) -> String {
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
    pub(crate) fn callback(self) -> &'static str {
        match self {
            Load::Python | Load::ClosedLoop => "local_join",
            Load::Feeder => "join_alert",
        }
    }
}

/// What the load did: reports (or requests) sent, over how long.
pub(crate) struct Sent {
    /// "reports" or "requests".
    pub(crate) unit: &'static str,
    pub(crate) reports: usize,
    pub(crate) groups: usize,
    pub(crate) span: Duration,
    /// The closed loop gave up waiting (joins stopped coming).
    pub(crate) stalled: bool,
}

impl Sent {
    /// Its line of the bench's output.
    fn print(&self) {
        let per_s = |n: usize| n as f64 / self.span.as_secs_f64().max(1e-9);
        println!(
            "  sent: {} {} ({} groups) in {:.1} ms ({:.0}/s, {:.0} groups/s){}",
            self.reports,
            self.unit,
            self.groups,
            self.span.as_secs_f64() * 1e3,
            per_s(self.reports),
            per_s(self.groups),
            if self.stalled {
                "; STALLED: the joins stopped coming"
            } else {
                ""
            }
        );
    }
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

pub(crate) fn closed_loop(hl: &HandlerLab, h: &Handler) -> Sent {
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

/// Reads the feeder's connection on a thread: the answer to `register` goes to `registered`,
/// every later answer counts in `answered` (the refused ones kept in `failed`); callbacks are
/// skipped.
fn read_answers(
    stream: std::os::unix::net::UnixStream,
    registered: mpsc::Sender<serde_json::Value>,
    answered: Arc<AtomicUsize>,
    failed: Arc<Mutex<Vec<String>>>,
) {
    std::thread::spawn(move || {
        let mut r = BufReader::with_capacity(1 << 16, stream);
        let mut line = String::new();
        let mut first = true;
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
            if first {
                first = false;
                let _ = registered.send(v);
                continue;
            }
            if v["ok"] != true {
                failed.lock().unwrap().push(line.trim().to_string());
            }
            answered.fetch_add(1, Ordering::SeqCst);
        }
    });
}

/// The feeder handler: registers as [`FEEDER`] and adds a (*,G) membership on its interface
/// for each group, at most [`WINDOW`] requests unanswered.
pub(crate) fn feeder(hl: &HandlerLab) -> Sent {
    let fif = hl.fif.clone().expect("a lab with a feeder");
    let stream = client::connect(&hl.socket()).expect("connect the feeder");
    let mut w = stream.try_clone().expect("clone the feeder stream");
    let answered = Arc::new(AtomicUsize::new(0));
    let failed = Arc::new(Mutex::new(Vec::<String>::new()));
    let (reg_tx, reg_rx) = mpsc::channel::<serde_json::Value>();
    read_answers(stream, reg_tx, answered.clone(), failed.clone());
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

/// Waits until every group is told (`GROUPS` joins after `joins0`), or nothing comes for 2 s.
fn wait_told(h: &Handler, joins0: usize) {
    let mut last = (h.joins(), Instant::now());
    while last.0 - joins0 < GROUPS && last.1.elapsed() < Duration::from_secs(2) {
        std::thread::sleep(Duration::from_millis(10));
        let n = h.joins();
        if n != last.0 {
            last = (n, Instant::now());
        }
    }
}

/// The threads that ran more than 1 ms between two [`threads_cpu`] readings, busiest first:
/// ("name/tid", ns).
fn busiest_threads(
    before: &BTreeMap<u32, (String, u64)>,
    after: &BTreeMap<u32, (String, u64)>,
) -> Vec<(String, u64)> {
    let mut v: Vec<(String, u64)> = after
        .iter()
        .map(|(tid, (name, ns))| {
            let was = before.get(tid).map_or(0, |(_, n)| *n);
            (format!("{name}/{tid}"), ns - was)
        })
        .filter(|(_, ns)| *ns > 1_000_000)
        .collect();
    v.sort_by_key(|t| std::cmp::Reverse(t.1));
    v
}

pub(crate) fn throughput(load: Load, reader: Reader) {
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
    wait_told(&h, joins0);
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
    sent.print();
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
    let per_thread = busiest_threads(&threads_before, &threads_after);
    let per_callback_us = cpu as f64 / 1e3 / joins.len().max(1) as f64;
    print_cpu(busy, cpu, &per_thread, per_callback_us, reader_cpu);
}

/// The CPU line: the daemon's (per busy thread, per callback) and the handler reader's, over
/// `busy`.
fn print_cpu(
    busy: Duration,
    cpu: u64,
    per_thread: &[(String, u64)],
    per_callback_us: f64,
    reader_cpu: u64,
) {
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
        per_callback_us,
        reader_cpu as f64 / 1e6,
        pct(reader_cpu),
    );
}
