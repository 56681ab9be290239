//! `mgm run --metrics ADDR:PORT`: Prometheus metrics over HTTP, scraped from inside the router's
//! network namespace (a thread that entered it with setns), checked line by line against the
//! exposition formats (Prometheus text 0.0.4 and OpenMetrics 1.0), and followed while a host
//! joins and a stream is forwarded. Also: bad `--metrics` values and a port in use are refused
//! at start, naming the value, leaving nothing attached.
//!
//! Topology (`common/forward.rs`): router `r` with link A 192.0.2.0/24 (the source host), B
//! 198.51.100.0/24 and C 203.0.113.0/24; short IGMP timers.
mod common;
#[path = "common/forward.rs"]
mod forward;

use common::Lab;
use forward::{mgm_json, ForwardLab};
use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Command;
use std::time::Duration;

const PORT: u16 = 9578;
const G: &str = "239.7.7.7";
const UDP_PORT: u16 = 5007;

/// Runs `f` on a thread that entered network namespace `ns`.
fn in_netns<T: Send + 'static>(ns: &str, f: impl FnOnce() -> T + Send + 'static) -> T {
    let path = format!("/run/netns/{ns}");
    std::thread::spawn(move || {
        let file = std::fs::File::open(&path).unwrap_or_else(|e| panic!("open {path}: {e}"));
        nix::sched::setns(file, nix::sched::CloneFlags::CLONE_NEWNET)
            .unwrap_or_else(|e| panic!("setns {path}: {e}"));
        f()
    })
    .join()
    .expect("namespace thread")
}

/// One HTTP exchange with 127.0.0.1:`port` in `ns`: (status code, headers, body).
fn http(ns: &str, port: u16, request: &str) -> (u16, String, String) {
    let request = request.to_string();
    let raw = in_netns(ns, move || {
        let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect to --metrics");
        s.set_read_timeout(Some(Duration::from_secs(15))).unwrap();
        s.write_all(request.as_bytes()).unwrap();
        let mut out = Vec::new();
        s.read_to_end(&mut out).expect("read the response");
        out
    });
    let text = String::from_utf8(raw).expect("UTF-8 response");
    let (head, body) = text.split_once("\r\n\r\n").expect("a head and a body");
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("status line: {head}"));
    let length: usize = header(head, "content-length")
        .and_then(|v| v.parse().ok())
        .expect("Content-Length");
    assert_eq!(length, body.len(), "Content-Length");
    assert_eq!(header(head, "connection").as_deref(), Some("close"));
    (status, head.to_string(), body.to_string())
}

fn header(head: &str, name: &str) -> Option<String> {
    head.lines().skip(1).find_map(|l| {
        let (n, v) = l.split_once(':')?;
        n.eq_ignore_ascii_case(name).then(|| v.trim().to_string())
    })
}

/// A scrape of `/metrics`, checked strictly: samples by `name{labels}` (labels sorted).
fn scrape(ns: &str, openmetrics: bool) -> Samples {
    let accept = if openmetrics {
        "Accept: application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5\r\n"
    } else {
        ""
    };
    let (status, head, body) = http(
        ns,
        PORT,
        &format!("GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n{accept}\r\n"),
    );
    assert_eq!(status, 200, "{head}\n{body}");
    let ctype = header(&head, "content-type").unwrap_or_default();
    if openmetrics {
        assert!(
            ctype.starts_with("application/openmetrics-text; version=1.0.0"),
            "{ctype}"
        );
    } else {
        assert!(ctype.starts_with("text/plain; version=0.0.4"), "{ctype}");
    }
    parse_exposition(&body, openmetrics).unwrap_or_else(|e| panic!("{e}\n---\n{body}"))
}

/// Samples of one scrape: `name{k="v",...}` → value.
#[derive(Debug, Default)]
struct Samples(BTreeMap<String, f64>);

impl Samples {
    fn get(&self, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        self.0.get(&key(name, labels)).copied()
    }
    /// The sample, which must be there.
    fn val(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        self.get(name, labels)
            .unwrap_or_else(|| panic!("no sample {}\n{:#?}", key(name, labels), self.0))
    }
    /// The sum of a family's samples whose label `label` starts with `prefix`.
    fn sum(&self, name: &str, label: &str, prefix: &str) -> f64 {
        let start = format!("{name}{{{label}=\"{prefix}");
        self.0
            .iter()
            .filter(|(k, _)| k.starts_with(&start))
            .map(|(_, v)| v)
            .sum()
    }
}

fn key(name: &str, labels: &[(&str, &str)]) -> String {
    let mut l: Vec<_> = labels.iter().map(|(k, v)| format!("{k}=\"{v}\"")).collect();
    l.sort();
    if l.is_empty() {
        name.to_string()
    } else {
        format!("{name}{{{}}}", l.join(","))
    }
}

fn is_name(s: &str, colons: bool) -> bool {
    let mut c = s.chars();
    matches!(c.next(), Some(f) if f.is_ascii_alphabetic() || f == '_' || (colons && f == ':'))
        && c.all(|x| x.is_ascii_alphanumeric() || x == '_' || (colons && x == ':'))
}

/// A sample's labels, in their order.
type Labels = Vec<(String, String)>;

/// Parses `{k="v",...}` at the start of `s`: the labels and the rest of the line.
fn parse_labels(s: &str) -> Result<(Labels, &str), String> {
    let mut labels = Vec::new();
    let mut rest = s.strip_prefix('{').ok_or("no '{'")?;
    loop {
        if let Some(r) = rest.strip_prefix('}') {
            return Ok((labels, r));
        }
        let (name, r) = rest.split_once("=\"").ok_or("label without =\"")?;
        if !is_name(name, false) {
            return Err(format!("bad label name {name:?}"));
        }
        let mut value = String::new();
        let mut chars = r.char_indices();
        let end = loop {
            match chars.next() {
                Some((i, '"')) => break i,
                Some((_, '\\')) => match chars.next() {
                    Some((_, 'n')) => value.push('\n'),
                    Some((_, '\\')) => value.push('\\'),
                    Some((_, '"')) => value.push('"'),
                    other => return Err(format!("bad escape {other:?}")),
                },
                Some((_, '\n')) => return Err("newline in a label value".into()),
                Some((_, c)) => value.push(c),
                None => return Err("unterminated label value".into()),
            }
        };
        if labels.iter().any(|(n, _)| n == name) {
            return Err(format!("label {name} twice"));
        }
        labels.push((name.to_string(), value));
        rest = &r[end + 1..];
        if let Some(r) = rest.strip_prefix(',') {
            rest = r;
        } else if !rest.starts_with('}') {
            return Err("labels not separated by ','".into());
        }
    }
}

/// A strict check of the exposition: every line a HELP, TYPE (UNIT, EOF for OpenMetrics) or
/// sample line; HELP and TYPE once per family, before its samples; a family's samples together
/// and named after it as its type allows; names and labels well formed; values numbers,
/// counters not negative; no sample twice; OpenMetrics ends with `# EOF` and nothing after.
fn parse_exposition(text: &str, openmetrics: bool) -> Result<Samples, String> {
    let mut samples = Samples::default();
    if !text.ends_with('\n') {
        return Err("the text does not end with a newline".into());
    }
    let mut families: BTreeMap<String, String> = BTreeMap::new(); // family → type
    let mut helped: BTreeSet<String> = BTreeSet::new();
    let mut current: Option<(String, String)> = None; // family, type
    let mut closed: BTreeSet<String> = BTreeSet::new(); // families whose samples ended
    let mut eof = false;
    for (n, line) in text.lines().enumerate() {
        let at = |e: String| format!("line {}: {e}: {line:?}", n + 1);
        if eof {
            return Err(at("text after # EOF".into()));
        }
        if line == "# EOF" {
            if !openmetrics {
                return Err(at("# EOF in the Prometheus text format".into()));
            }
            eof = true;
            continue;
        }
        if let Some(rest) = line.strip_prefix("# ") {
            let mut parts = rest.splitn(3, ' ');
            let (kind, name, arg) = (parts.next(), parts.next(), parts.next());
            let (Some(kind), Some(name), Some(arg)) = (kind, name, arg) else {
                return Err(at("a comment line that is not HELP, TYPE or UNIT".into()));
            };
            if !is_name(name, true) {
                return Err(at(format!("bad metric name {name:?}")));
            }
            if closed.contains(name) {
                return Err(at(format!("{name} described again after its samples")));
            }
            match kind {
                "HELP" => {
                    if !helped.insert(name.to_string()) {
                        return Err(at(format!("HELP of {name} twice")));
                    }
                    if arg.trim().is_empty() {
                        return Err(at("empty HELP".into()));
                    }
                }
                "TYPE" => {
                    let types: &[&str] = if openmetrics {
                        &[
                            "counter",
                            "gauge",
                            "histogram",
                            "gaugehistogram",
                            "stateset",
                            "info",
                            "summary",
                            "unknown",
                        ]
                    } else {
                        &["counter", "gauge", "histogram", "summary", "untyped"]
                    };
                    if !types.contains(&arg) {
                        return Err(at(format!("unknown type {arg:?}")));
                    }
                    if families.insert(name.to_string(), arg.to_string()).is_some() {
                        return Err(at(format!("TYPE of {name} twice")));
                    }
                    if !helped.contains(name) {
                        return Err(at(format!("TYPE of {name} before its HELP")));
                    }
                    if let Some((f, _)) = current.take() {
                        closed.insert(f);
                    }
                    current = Some((name.to_string(), arg.to_string()));
                }
                "UNIT" if openmetrics => {
                    if !name.ends_with(&format!("_{arg}")) {
                        return Err(at(format!("{name} does not end with its unit {arg}")));
                    }
                }
                _ => return Err(at(format!("unknown descriptor {kind}"))),
            }
            continue;
        }
        if line.starts_with('#') || line.trim().is_empty() {
            return Err(at("a line that is neither a descriptor nor a sample".into()));
        }
        // A sample: NAME[{labels}] VALUE
        let name_end = line
            .find(['{', ' '])
            .ok_or_else(|| at("a sample without a value".into()))?;
        let name = &line[..name_end];
        if !is_name(name, true) {
            return Err(at(format!("bad metric name {name:?}")));
        }
        let (labels, rest) = if line[name_end..].starts_with('{') {
            parse_labels(&line[name_end..]).map_err(at)?
        } else {
            (Vec::new(), &line[name_end..])
        };
        let value = rest
            .strip_prefix(' ')
            .ok_or_else(|| at("no space before the value".into()))?;
        if value.contains(' ') {
            return Err(at("timestamps or exemplars are not expected".into()));
        }
        let value: f64 = value
            .parse()
            .map_err(|_| at(format!("value {value:?} is not a number")))?;
        let Some((family, ty)) = &current else {
            return Err(at("a sample before any TYPE".into()));
        };
        let suffixes: &[&str] = match (openmetrics, ty.as_str()) {
            (true, "counter") => &["_total", "_created"],
            (true, "info") => &["_info"],
            _ => &[""],
        };
        if !suffixes.iter().any(|s| name == format!("{family}{s}")) {
            return Err(at(format!(
                "{name} is not a sample of family {family} ({ty})"
            )));
        }
        if ty == "counter" && value < 0.0 {
            return Err(at("a negative counter".into()));
        }
        if ty == "info" && value != 1.0 {
            return Err(at("an info sample other than 1".into()));
        }
        let pairs: Vec<(&str, &str)> = labels
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        if samples.0.insert(key(name, &pairs), value).is_some() {
            return Err(at("the same sample twice".into()));
        }
    }
    if openmetrics && !eof {
        return Err("OpenMetrics text without # EOF".into());
    }
    if samples.0.is_empty() {
        return Err("no sample".into());
    }
    Ok(samples)
}

#[test]
fn the_checker_refuses_what_is_not_the_format() {
    let good = "# HELP a_total A.\n# TYPE a_total counter\na_total{x=\"1\"} 3\n";
    assert!(parse_exposition(good, false).is_ok());
    for bad in [
        "a_total 3\n",                                        // no TYPE
        "# HELP a A.\n# TYPE a gauge\na 1\n# TYPE a gauge\n", // TYPE twice
        "# HELP a A.\n# TYPE a gauge\nb 1\n",                 // not its family
        "# HELP a A.\n# TYPE a gauge\na{x=1} 1\n",            // unquoted
        "# HELP a A.\n# TYPE a gauge\na one\n",               // not a number
        "# HELP a A.\n# TYPE a gauge\na 1\na 2\n",            // twice
        "# HELP a A.\n# TYPE a gauge\na 1",                   // no newline
        "# HELP a A.\n# TYPE a counter\na -1\n",              // negative counter
        "# HELP a A.\n# TYPE a gauge\na 1\n# EOF\n",          // EOF in 0.0.4
        "# HELP a A.\n# TYPE a gauge\n\na 1\n",               // blank line
    ] {
        assert!(parse_exposition(bad, false).is_err(), "{bad}");
    }
    let om = "# HELP a A.\n# TYPE a counter\na_total 3\n# EOF\n";
    assert!(parse_exposition(om, true).is_ok());
    assert!(parse_exposition("# HELP a A.\n# TYPE a counter\na_total 3\n", true).is_err());
    assert!(parse_exposition(&format!("{om}a_total 4\n"), true).is_err());
}

/// Every family mgm exports, by its name in the Prometheus text format.
const FAMILIES: &[&str] = &[
    "mgm_build_info",
    "mgm_interface_groups",
    "mgm_interface_sources",
    "mgm_interface_hosts",
    "mgm_interface_limit",
    "mgm_interface_refused_groups_total",
    "mgm_interface_refused_sources_total",
    "mgm_interface_querier",
    "mgm_interface_igmp_version",
    "mgm_interface_router_queries_total",
    "mgm_interface_foreign_queries_total",
    "mgm_interface_older_querier_queries_total",
    "mgm_classifier_total",
    "mgm_events_ring_full_total",
    "mgm_daemon_parse_errors_total",
    "mgm_daemon_map_write_errors_total",
    "mgm_daemon_lost_v3_records_total",
    "mgm_daemon_off_link_reports_total",
    "mgm_daemon_upcalls_dropped_total",
    "mgm_daemon_map_write_fallbacks_total",
    "mgm_mfc_desyncs_total",
    "mgm_mfc_repairs_total",
    "mgm_mfes",
    "mgm_mfes_refused_total",
    "mgm_wanted_mfes_refused_total",
    "mgm_pending_upcalls_dropped_total",
    "mgm_forwarded_packets_total",
    "mgm_forwarded_bytes_total",
    "mgm_wrong_interface_packets_total",
    "mgm_callbacks_total",
    "mgm_mfe_changes_total",
    "mgm_handlers",
    "mgm_handler_timeouts_total",
    "mgm_handler_late_answers_total",
    "mgm_handler_overflows_total",
    "mgm_resident_memory_bytes",
];

/// Classifier counters of reports (every version) accepted.
fn reports(s: &Samples) -> f64 {
    s.sum("mgm_classifier_total", "counter", "rx_report_")
}

#[test]
fn scrapes_parse_and_follow_a_join_and_a_stream() {
    let mut fl = ForwardLab::new_with(["", "", ""], &["--metrics", &format!("127.0.0.1:{PORT}")]);
    let r = fl.router.clone();
    let (ra, rb, rc) = (fl.ra.clone(), fl.rb.clone(), fl.rc.clone());
    let log = fl.daemon_log();
    assert!(
        log.contains(&format!("metrics at http://127.0.0.1:{PORT}/metrics")),
        "{log}"
    );

    // At start: both formats parse, every family is there, each interface is described.
    let s0 = scrape(&r, false);
    let text = http(&r, PORT, "GET /metrics HTTP/1.1\r\n\r\n").2;
    for f in FAMILIES {
        assert!(
            text.contains(&format!("# TYPE {f} ")),
            "family {f} missing\n{text}"
        );
    }
    let om = scrape(&r, true);
    for i in [&ra, &rb, &rc] {
        let l = [("interface", i.as_str())];
        assert_eq!(s0.val("mgm_interface_groups", &l), 0.0, "{i}");
        assert_eq!(s0.val("mgm_interface_igmp_version", &l), 3.0, "{i}");
        assert_eq!(om.val("mgm_interface_igmp_version", &l), 3.0, "{i}");
        assert!(s0.get("mgm_interface_querier", &l).is_some(), "{i}");
        assert_eq!(
            s0.val(
                "mgm_interface_limit",
                &[("interface", i), ("limit", "max_groups")]
            ),
            4096.0
        );
        for reason in ["max_groups", "max_groups_per_host", "filter"] {
            let l = [("interface", i.as_str()), ("reason", reason)];
            assert_eq!(s0.val("mgm_interface_refused_groups_total", &l), 0.0);
            assert_eq!(om.val("mgm_interface_refused_groups_total", &l), 0.0);
        }
    }
    assert_eq!(s0.val("mgm_mfes", &[]), 0.0);
    assert_eq!(s0.val("mgm_handlers", &[]), 0.0);
    assert!(s0.val("mgm_resident_memory_bytes", &[]) > 1e6);
    assert!(om.val("mgm_resident_memory_bytes", &[]) > 1e6);
    assert_eq!(
        s0.val("mgm_build_info", &[("version", env!("CARGO_PKG_VERSION"))]),
        1.0
    );
    assert_eq!(
        om.val("mgm_build_info", &[("version", env!("CARGO_PKG_VERSION"))]),
        1.0
    );

    // Anything but GET /metrics: 404; garbage: 400.
    for req in [
        "GET / HTTP/1.1\r\n\r\n",
        "GET /metrics/x HTTP/1.1\r\n\r\n",
        "POST /metrics HTTP/1.1\r\nContent-Length: 0\r\n\r\n",
        "PUT /metrics HTTP/1.1\r\nContent-Length: 0\r\n\r\n",
    ] {
        assert_eq!(http(&r, PORT, req).0, 404, "{req}");
    }
    assert_eq!(http(&r, PORT, "nonsense\r\n\r\n").0, 400);

    // A client that connects and says nothing does not hold scrapes up.
    let idle = in_netns(&r, || {
        TcpStream::connect(("127.0.0.1", PORT)).expect("idle client")
    });
    let _ = scrape(&r, false);

    // A host on link B joins: the group gauge follows, the report counters move, `local` was
    // told.
    let rcv = fl.add_host('b', "rcv", 10);
    let mut h = fl.host(&rcv);
    h.cmd(&format!("join {G} {}", rcv.addr));
    let on_rb = [("interface", rb.as_str())];
    fl.wait_for(
        "mgm_interface_groups 1 on B",
        Duration::from_secs(5),
        || scrape(&r, false).val("mgm_interface_groups", &on_rb) == 1.0,
    );
    let s1 = scrape(&r, false);
    assert!(reports(&s1) > reports(&s0), "reports counted");
    assert_eq!(s1.val("mgm_interface_hosts", &on_rb), 1.0);
    assert_eq!(
        s1.val("mgm_interface_groups", &[("interface", ra.as_str())]),
        0.0
    );
    assert!(
        s1.val(
            "mgm_callbacks_total",
            &[("protocol", "local"), ("callback", "local_join")]
        ) >= 1.0,
        "local_join counted"
    );
    assert!(s1.val("mgm_classifier_total", &[("counter", "igmp_packets")]) > 0.0);

    // A stream from link A: an MFE, packets counted on its incoming interface, growing.
    let src = fl.source.clone();
    let mut s = fl.host(&src);
    s.cmd(&format!("send {G} {UDP_PORT} 3000 10"));
    let on_ra = [("interface", ra.as_str())];
    fl.wait_for("packets counted on A", Duration::from_secs(10), || {
        let m = scrape(&r, false);
        m.val("mgm_mfes", &[]) >= 1.0
            && m.get("mgm_forwarded_packets_total", &on_ra).unwrap_or(0.0) >= 10.0
    });
    let s2 = scrape(&r, false);
    assert!(
        s2.val(
            "mgm_mfe_changes_total",
            &[("protocol", "local"), ("change", "add")]
        ) >= 1.0,
        "mfe_add counted"
    );
    let bytes = s2.val("mgm_forwarded_bytes_total", &on_ra);
    assert!(bytes >= 10.0 * 28.0, "bytes {bytes}");
    assert_eq!(s2.val("mgm_wrong_interface_packets_total", &on_ra), 0.0);
    let before = s2.val("mgm_forwarded_packets_total", &on_ra);
    fl.wait_for("the packet counter grows", Duration::from_secs(5), || {
        scrape(&r, false).val("mgm_forwarded_packets_total", &on_ra) > before
    });
    let om = scrape(&r, true);
    assert!(om.val("mgm_forwarded_packets_total", &on_ra) > before);
    assert_eq!(om.val("mgm_interface_groups", &on_rb), 1.0);

    // `mgm show stats` shows the same per-interface figures, its old keys unchanged.
    let stats = mgm_json(&fl.socket(), &["show", "stats", "--json"]);
    for k in [
        "igmp_packets",
        "rx_report_v3",
        "daemon_rss_bytes",
        "daemon_handlers",
    ] {
        assert!(stats[k].is_u64(), "{k}: {stats}");
    }
    assert!(stats["daemon_mfes"].as_u64() >= Some(1), "{stats}");
    let rows = stats["interfaces"].as_array().expect("interfaces");
    let row = |name: &str| {
        rows.iter()
            .find(|i| i["interface"] == name)
            .unwrap_or_else(|| panic!("{name} in {stats}"))
    };
    assert_eq!(row(&rb)["groups"], 1);
    assert_eq!(row(&rb)["hosts"], 1);
    assert_eq!(row(&rb)["version"], 3);
    assert!(row(&ra)["forwarded_packets"].as_u64() >= Some(before as u64));
    assert_eq!(row(&rc)["groups"], 0);
    let table = common::run(
        Command::new(env!("CARGO_BIN_EXE_mgm"))
            .args(["show", "stats", "--socket"])
            .arg(fl.socket()),
    );
    assert!(table.contains("\nINTERFACE "), "{table}");
    assert!(
        table.lines().any(|l| l.starts_with("igmp_packets")),
        "{table}"
    );
    drop(idle);
}

fn strs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

/// Runs `mgm ARGS` in namespace `ns` (or outside any with `None`), expecting it to fail;
/// returns its stderr.
fn mgm_fails(ns: Option<&str>, args: &[&str]) -> String {
    let mut cmd = match ns {
        Some(ns) => {
            let mut c = Command::new("nsenter");
            c.arg(format!("--net=/run/netns/{ns}"))
                .arg(env!("CARGO_BIN_EXE_mgm"));
            c
        }
        None => Command::new(env!("CARGO_BIN_EXE_mgm")),
    };
    let out = cmd.args(args).output().expect("run mgm");
    assert!(!out.status.success(), "mgm {args:?} started");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn bad_metrics_values_and_a_port_in_use_are_refused_at_start() {
    let mut lab = Lab::new();
    let r = lab.netns("r");
    let h = lab.netns("h");
    let (r1, _) = lab.link((&r, "ra", "192.0.2.1/24"), (&h, "ha", "192.0.2.10/24"));
    let sock = lab.dir.join("m.sock");
    let sock = sock.to_str().unwrap().to_string();
    let pins = format!("/sys/fs/bpf/mgm-test-{}-m", lab.id);
    let run = |metrics: &str| -> Vec<String> {
        [
            "run",
            "-i",
            &r1,
            "--socket",
            &sock,
            "--bpffs",
            &pins,
            "--metrics",
            metrics,
        ]
        .iter()
        .map(|s| s.to_string())
        .collect()
    };

    // Values that are not ADDR:PORT: refused by the command line, naming the value.
    for bad in [
        "9578",
        "127.0.0.1",
        "localhost:9578",
        "127.0.0.1:0",
        "1.2.3.4:99999",
    ] {
        let e = mgm_fails(Some(&r), &strs(&run(bad)));
        assert!(e.contains(&format!("'{bad}'")), "{bad}: {e}");
        assert!(e.contains("--metrics"), "{bad}: {e}");
    }

    // An address this namespace does not have, and a port another program listens on: one
    // line naming the address, nothing attached, no socket file left.
    let e = mgm_fails(Some(&r), &strs(&run("198.51.100.99:9578")));
    assert_eq!(e.lines().count(), 1, "{e}");
    assert!(
        e.contains("--metrics 198.51.100.99:9578: cannot listen: not an address"),
        "{e}"
    );
    let holder = in_netns(&r, || {
        std::net::TcpListener::bind(("127.0.0.1", PORT)).unwrap()
    });
    let e = mgm_fails(Some(&r), &strs(&run(&format!("127.0.0.1:{PORT}"))));
    assert_eq!(e.lines().count(), 1, "{e}");
    assert!(
        e.contains(&format!(
            "--metrics 127.0.0.1:{PORT}: cannot listen: the address is in use"
        )),
        "{e}"
    );
    let links = lab.ns(&r, &["bpftool", "-j", "net", "show"]);
    assert!(!links.contains("mgm_igmp_ingress"), "{links}");
    assert!(!std::path::Path::new(&sock).exists(), "socket file left");
    let _ = std::fs::remove_dir_all(&pins);

    // Once the port is free, the same command line serves.
    drop(holder);
    let k = lab.start_mgm(&r, &[&r1], &["--metrics", &format!("127.0.0.1:{PORT}")]);
    let s = scrape(&r, false);
    assert_eq!(
        s.val("mgm_interface_groups", &[("interface", r1.as_str())]),
        0.0
    );
    // ...and stops listening when the daemon stops.
    assert!(lab.stop_mgm(k).success());
    let refused = in_netns(&r, || TcpStream::connect(("127.0.0.1", PORT)).is_err());
    assert!(refused, "still listening after the daemon stopped");
}
