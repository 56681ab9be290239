//! Forwarding helpers for the namespace lab (used by `ns_forward.rs` and `benches/forward_lab.rs`,
//! next to `common/mod.rs`): the three-link router topology, the operator contract of the
//! manager (`mgm show mfe --json`, `mgm show protocols --json`, `mgm events --json`, read through
//! the `mgm` binary), `ip -json mroute show`, and a packet sniffer that counts the datagrams of a
//! group that reach an interface (what a host's sockets cannot tell: a host that has not joined a
//! group drops its datagrams before any socket sees them).
#![allow(dead_code)]

#[path = "packet.rs"]
mod packet;

use crate::common::{Host, Lab};
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[allow(unused_imports)]
pub(crate) use crate::common::{FAST, LMQT, SLACK};

pub(crate) const SOURCE: &str = "192.0.2.10";

/// CLOCK_MONOTONIC now, in ns (the clock of the test hosts' `rx` timestamps).
pub(crate) fn mono_ns() -> u64 {
    mgm_user::time::monotonic_ns().expect("CLOCK_MONOTONIC")
}

/// A host's namespace, interface and address.
#[derive(Clone, Debug)]
pub(crate) struct HostEnd {
    pub(crate) ns: String,
    pub(crate) ifname: String,
    pub(crate) addr: String,
}

/// Router namespace with three links, each a LAN (bridge namespace) so more hosts can be added:
/// A 192.0.2.0/24 (the source, 192.0.2.10), B 198.51.100.0/24, C 203.0.113.0/24. Router
/// addresses are .1; hosts have a default route via the router.
pub(crate) struct ForwardLab {
    /// First, so that it is dropped (the `mgm events` child killed) before the lab.
    pub(crate) events: Option<EventStream>,
    pub(crate) lab: Lab,
    pub(crate) router: String,
    /// Router interface names on links A, B, C.
    pub(crate) ra: String,
    pub(crate) rb: String,
    pub(crate) rc: String,
    lans: [String; 3],
    pub(crate) source: HostEnd,
    /// Daemon index in `lab`.
    pub(crate) k: usize,
}

impl ForwardLab {
    /// Builds the topology with the source host and starts `mgm run -i ra -i rb -i rc`
    /// with the short timers, then subscribes to `mgm events --json`.
    pub(crate) fn new() -> ForwardLab {
        Self::new_with(["", "", ""], &[])
    }

    /// As [`Self::new`], with `suffix[i]` after the interface of link i in `-i` (e.g.
    /// `,protocol=ext`) and `extra` arguments to `mgm run`.
    pub(crate) fn new_with(suffix: [&str; 3], extra: &[&str]) -> ForwardLab {
        let mut lab = Lab::new();
        let router = lab.netns("r");
        let lan_a = lab.lan("la");
        let lan_b = lab.lan("lb");
        let lan_c = lab.lan("lc");
        let ra = lab.lan_port(&lan_a, (&router, "ra", "192.0.2.1/24"));
        let rb = lab.lan_port(&lan_b, (&router, "rb", "198.51.100.1/24"));
        let rc = lab.lan_port(&lan_c, (&router, "rc", "203.0.113.1/24"));
        let mut fl = ForwardLab {
            lab,
            router,
            ra,
            rb,
            rc,
            lans: [lan_a, lan_b, lan_c],
            source: HostEnd {
                ns: String::new(),
                ifname: String::new(),
                addr: String::new(),
            },
            k: 0,
            events: None,
        };
        fl.source = fl.add_host('a', "src", 10);
        let specs: Vec<String> = [&fl.ra, &fl.rb, &fl.rc]
            .iter()
            .zip(suffix)
            .map(|(i, s)| format!("{i}{s}"))
            .collect();
        let ifaces: Vec<&str> = specs.iter().map(String::as_str).collect();
        let args: Vec<&str> = FAST.iter().chain(extra).copied().collect();
        fl.k = fl.lab.start_mgm(&fl.router.clone(), &ifaces, &args);
        fl.events = Some(EventStream::start(&fl.lab.daemon(fl.k).socket));
        // `mgm events` prints nothing until the first event: give it time to subscribe.
        std::thread::sleep(Duration::from_millis(300));
        fl
    }

    /// A host on link `link` ('a', 'b' or 'c'), namespace role `role`, address `.{octet}`,
    /// default route via the router.
    pub(crate) fn add_host(&mut self, link: char, role: &str, octet: u8) -> HostEnd {
        let (i, net) = match link {
            'a' => (0, "192.0.2"),
            'b' => (1, "198.51.100"),
            'c' => (2, "203.0.113"),
            _ => panic!("link {link}?"),
        };
        let ns = self.lab.netns(role);
        let addr = format!("{net}.{octet}");
        // Interface names are PREFIX + lab id (≤ 15 chars): keep the prefix short.
        let prefix = format!("h{}", &role[..role.len().min(3)]);
        let ifname = self
            .lab
            .lan_port(&self.lans[i], (&ns, &prefix, &format!("{addr}/24")));
        self.lab.ns(
            &ns,
            &["ip", "route", "add", "default", "via", &format!("{net}.1")],
        );
        HostEnd { ns, ifname, addr }
    }

    pub(crate) fn socket(&self) -> PathBuf {
        self.lab.daemon(self.k).socket.clone()
    }

    /// Starts the test host stack of `h` with its interface address selected.
    pub(crate) fn host(&mut self, h: &HostEnd) -> Host {
        let mut host = self.lab.host(&h.ns);
        host.cmd(&format!("ifaddr {}", h.addr));
        host
    }

    pub(crate) fn mfes(&self) -> Vec<MfeRow> {
        show_mfe(&self.socket())
    }

    /// The MFE (SOURCE, group), if the daemon has it.
    pub(crate) fn mfe(&self, group: &str) -> Option<MfeRow> {
        self.mfes()
            .into_iter()
            .find(|m| m.source == SOURCE && m.group == group)
    }

    pub(crate) fn protocols(&self) -> Vec<ProtocolRow> {
        show_protocols(&self.socket())
    }

    /// `ip -json mroute show` in the router namespace.
    pub(crate) fn kernel_mroutes(&self) -> Vec<KernelMroute> {
        let out = self
            .lab
            .ns(&self.router, &["ip", "-json", "mroute", "show"]);
        parse_ip_mroute(&out)
    }

    pub(crate) fn kernel_mroute(&self, group: &str) -> Option<KernelMroute> {
        self.kernel_mroutes()
            .into_iter()
            .find(|m| m.source == SOURCE && m.group == group)
    }

    /// `ip mroute show` as text (for messages).
    pub(crate) fn ip_mroute_text(&self) -> String {
        self.lab.ns(&self.router, &["ip", "mroute", "show"])
    }

    pub(crate) fn events(&self) -> &EventStream {
        self.events.as_ref().expect("event stream")
    }

    pub(crate) fn daemon_log(&self) -> String {
        self.lab.daemon_log(self.k)
    }

    /// Everything useful to read when an assertion fails.
    pub(crate) fn diagnostics(&self) -> String {
        let mfe = Command::new(env!("CARGO_BIN_EXE_mgm"))
            .args(["show", "mfe", "--json", "--socket"])
            .arg(self.socket())
            .output()
            .map(|o| {
                format!(
                    "{}{}",
                    String::from_utf8_lossy(&o.stdout),
                    String::from_utf8_lossy(&o.stderr)
                )
            })
            .unwrap_or_else(|e| e.to_string());
        let ipm = Command::new("ip")
            .args(["netns", "exec", &self.router, "ip", "mroute", "show"])
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_default();
        let ev = self
            .events
            .as_ref()
            .map(|e| e.lines().join("\n"))
            .unwrap_or_default();
        format!(
            "--- mgm show mfe --json ---\n{mfe}\n--- ip mroute show ---\n{ipm}\n--- mgm events --json ---\n{ev}\n--- daemon log ---\n{}",
            self.daemon_log()
        )
    }

    /// Polls `cond` every 20 ms until it holds or `timeout` passes (then panics with the
    /// diagnostics); returns the time it took.
    pub(crate) fn wait_for(
        &self,
        what: &str,
        timeout: Duration,
        mut cond: impl FnMut() -> bool,
    ) -> Duration {
        let start = Instant::now();
        loop {
            if cond() {
                return start.elapsed();
            }
            if start.elapsed() > timeout {
                panic!(
                    "timed out after {timeout:?} waiting for {what}\n{}",
                    self.diagnostics()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

// ---- mgm show mfe / protocols ---------------------------------------------------------------

/// One row of `mgm show mfe --json`.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct MfeRow {
    pub(crate) source: String,
    pub(crate) group: String,
    pub(crate) iif: String,
    pub(crate) oifs: Vec<String>,
    pub(crate) packets: u64,
    pub(crate) bytes: u64,
    pub(crate) wrong_if: u64,
    pub(crate) expires_in_ms: Value,
    /// `null` allowed (e.g. a negative entry nobody owns).
    pub(crate) protocol: Option<String>,
}

/// One row of `mgm show protocols --json`.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct ProtocolRow {
    pub(crate) name: String,
    pub(crate) protocol_id: Value,
    pub(crate) component_id: Value,
    pub(crate) interfaces: Vec<String>,
}

/// Runs `mgm ARGS --socket S` and parses its stdout as JSON.
pub(crate) fn mgm_json(socket: &Path, args: &[&str]) -> Value {
    let out = Command::new(env!("CARGO_BIN_EXE_mgm"))
        .args(args)
        .arg("--socket")
        .arg(socket)
        .output()
        .expect("run mgm");
    assert!(
        out.status.success(),
        "`mgm {}` failed ({}): {}{}",
        args.join(" "),
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "`mgm {}` printed no JSON ({e}): {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stdout)
        )
    })
}

fn field<'a>(o: &'a Value, key: &str, what: &str) -> &'a Value {
    o.get(key)
        .unwrap_or_else(|| panic!("{what}: field `{key}` missing in {o}"))
}

fn string(o: &Value, key: &str, what: &str) -> String {
    field(o, key, what)
        .as_str()
        .unwrap_or_else(|| panic!("{what}: `{key}` is not a string in {o}"))
        .to_string()
}

fn number(o: &Value, key: &str, what: &str) -> u64 {
    field(o, key, what)
        .as_u64()
        .unwrap_or_else(|| panic!("{what}: `{key}` is not a number in {o}"))
}

fn strings(o: &Value, key: &str, what: &str) -> Vec<String> {
    field(o, key, what)
        .as_array()
        .unwrap_or_else(|| panic!("{what}: `{key}` is not an array in {o}"))
        .iter()
        .map(|v| {
            v.as_str()
                .unwrap_or_else(|| panic!("{what}: `{key}` holds a non-string in {o}"))
                .to_string()
        })
        .collect()
}

fn rows(v: &Value, what: &str) -> Vec<Value> {
    v.as_array()
        .unwrap_or_else(|| panic!("{what}: not a JSON array: {v}"))
        .clone()
}

/// `mgm show mfe --json`, every contract field checked.
pub(crate) fn show_mfe(socket: &Path) -> Vec<MfeRow> {
    let what = "mgm show mfe --json";
    rows(&mgm_json(socket, &["show", "mfe", "--json"]), what)
        .iter()
        .map(|o| MfeRow {
            source: string(o, "source", what),
            group: string(o, "group", what),
            iif: string(o, "iif", what),
            oifs: strings(o, "oifs", what),
            packets: number(o, "packets", what),
            bytes: number(o, "bytes", what),
            wrong_if: number(o, "wrong_if", what),
            expires_in_ms: field(o, "expires_in_ms", what).clone(),
            protocol: field(o, "protocol", what).as_str().map(str::to_string),
        })
        .collect()
}

/// `mgm show protocols --json`, every contract field checked.
pub(crate) fn show_protocols(socket: &Path) -> Vec<ProtocolRow> {
    let what = "mgm show protocols --json";
    rows(&mgm_json(socket, &["show", "protocols", "--json"]), what)
        .iter()
        .map(|o| ProtocolRow {
            name: string(o, "name", what),
            protocol_id: field(o, "protocol_id", what).clone(),
            component_id: field(o, "component_id", what).clone(),
            interfaces: strings(o, "interfaces", what),
        })
        .collect()
}

// ---- ip mroute ------------------------------------------------------------------------------

/// One kernel MFC entry as `ip -json mroute show` prints it:
/// `{"src","dst","iif","multipath":[{"oif"}],"state"}`.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct KernelMroute {
    pub(crate) source: String,
    pub(crate) group: String,
    pub(crate) iif: String,
    pub(crate) oifs: Vec<String>,
    pub(crate) state: String,
}

pub(crate) fn parse_ip_mroute(json: &str) -> Vec<KernelMroute> {
    let v: Value = serde_json::from_str(json.trim()).unwrap_or(Value::Array(Vec::new()));
    v.as_array()
        .map(|a| {
            a.iter()
                .map(|o| KernelMroute {
                    source: o["src"].as_str().unwrap_or("").to_string(),
                    group: o["dst"]
                        .as_str()
                        .or(o["group"].as_str())
                        .unwrap_or("")
                        .to_string(),
                    iif: o["iif"].as_str().unwrap_or("").to_string(),
                    oifs: o["multipath"]
                        .as_array()
                        .map(|m| {
                            m.iter()
                                .filter_map(|n| {
                                    n["oif"].as_str().or(n["dev"].as_str()).map(str::to_string)
                                })
                                .collect()
                        })
                        .unwrap_or_default(),
                    state: o["state"].as_str().unwrap_or("").to_string(),
                })
                .collect()
        })
        .unwrap_or_default()
}

// ---- mgm events --json ----------------------------------------------------------------------

/// One line of `mgm events --json`, with the time the test read it.
#[derive(Clone, Debug)]
pub(crate) struct EventLine {
    pub(crate) at: Instant,
    pub(crate) json: Value,
    pub(crate) raw: String,
}

impl EventLine {
    pub(crate) fn kind(&self) -> &str {
        self.json["kind"].as_str().unwrap_or("")
    }
    pub(crate) fn interface(&self) -> &str {
        self.json["interface"].as_str().unwrap_or("")
    }
    pub(crate) fn group(&self) -> &str {
        self.json["group"].as_str().unwrap_or("")
    }
    /// `None` for "any source" (JSON null).
    pub(crate) fn source(&self) -> Option<&str> {
        self.json["source"].as_str()
    }
    pub(crate) fn protocol(&self) -> &str {
        self.json["protocol"].as_str().unwrap_or("")
    }
}

/// A running `mgm events --json --socket S`; the child is killed on drop.
pub(crate) struct EventStream {
    child: Child,
    lines: Arc<Mutex<Vec<EventLine>>>,
}

impl EventStream {
    pub(crate) fn start(socket: &Path) -> EventStream {
        let mut child = Command::new(env!("CARGO_BIN_EXE_mgm"))
            .args(["events", "--json", "--socket"])
            .arg(socket)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn mgm events");
        let stdout = child.stdout.take().expect("mgm events stdout");
        let lines = Arc::new(Mutex::new(Vec::new()));
        let sink = lines.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let at = Instant::now();
                let json = serde_json::from_str(&line).unwrap_or(Value::Null);
                sink.lock().unwrap().push(EventLine {
                    at,
                    json,
                    raw: line,
                });
            }
        });
        EventStream { child, lines }
    }

    pub(crate) fn all(&self) -> Vec<EventLine> {
        self.lines.lock().unwrap().clone()
    }

    pub(crate) fn lines(&self) -> Vec<String> {
        self.lines
            .lock()
            .unwrap()
            .iter()
            .map(|l| l.raw.clone())
            .collect()
    }

    /// Events read after `since` matching `f`.
    pub(crate) fn find(&self, since: Instant, f: impl Fn(&EventLine) -> bool) -> Option<EventLine> {
        self.lines
            .lock()
            .unwrap()
            .iter()
            .find(|l| l.at >= since && f(l))
            .cloned()
    }

    /// Whether `mgm events` is still running (it should, while the daemon runs).
    pub(crate) fn running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }
}

impl Drop for EventStream {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

// ---- sniffer --------------------------------------------------------------------------------

/// Counts the IPv4 UDP datagrams to `group:port` that arrive on an interface in a namespace
/// (AF_PACKET socket on a thread that entered the namespace), whatever the host's memberships.
pub(crate) struct Sniffer {
    /// CLOCK_MONOTONIC ns at which each datagram seen was read.
    times: packet::Capture<u64>,
}

impl Sniffer {
    pub(crate) fn start(ns: &str, ifname: &str, group: Ipv4Addr, port: u16) -> Sniffer {
        Self::start_matching(ns, ifname, move |p| is_udp_to(p, group, port))
    }

    /// Counts IGMP membership reports (v1, v2, v3) and leaves arriving on the interface.
    pub(crate) fn start_igmp_reports(ns: &str, ifname: &str) -> Sniffer {
        Self::start_matching(ns, ifname, is_igmp_report)
    }

    /// Counts the IGMP reports and leaves from `src` arriving on the interface. At a router's
    /// interface, a report counted has reached its classifier: the capture tap runs just
    /// before tc ingress, in the same pass.
    pub(crate) fn start_igmp_reports_from(ns: &str, ifname: &str, src: Ipv4Addr) -> Sniffer {
        Self::start_matching(ns, ifname, move |p| {
            is_igmp_report(p) && p[12..16] == src.octets()
        })
    }

    /// Counts group-specific IGMP queries (type 0x11 with a group address) arriving on the
    /// interface.
    pub(crate) fn start_group_queries(ns: &str, ifname: &str) -> Sniffer {
        Self::start_matching(ns, ifname, is_group_query)
    }

    fn start_matching(
        ns: &str,
        ifname: &str,
        matches: impl Fn(&[u8]) -> bool + Send + 'static,
    ) -> Sniffer {
        let times = packet::Capture::start("sniffer", ns, ifname, move |f, kept| {
            if matches(f.packet) {
                kept.push(mono_ns());
            }
        });
        Sniffer { times }
    }

    pub(crate) fn count(&self) -> usize {
        self.times.kept().len()
    }

    pub(crate) fn times(&self) -> Vec<u64> {
        self.times.kept().clone()
    }
}

/// Whether an IPv4 packet is an IGMP report or leave (types 0x12, 0x16, 0x17, 0x22).
fn is_igmp_report(p: &[u8]) -> bool {
    if p.len() < 20 || p[0] >> 4 != 4 || p[9] != 2 {
        return false;
    }
    let ihl = usize::from(p[0] & 0x0f) * 4;
    p.len() > ihl && matches!(p[ihl], 0x12 | 0x16 | 0x17 | 0x22)
}

/// Whether an IPv4 packet is an IGMP query for one group (not a general query).
fn is_group_query(p: &[u8]) -> bool {
    if p.len() < 20 || p[0] >> 4 != 4 || p[9] != 2 {
        return false;
    }
    let ihl = usize::from(p[0] & 0x0f) * 4;
    p.len() >= ihl + 8 && p[ihl] == 0x11 && p[ihl + 4..ihl + 8] != [0; 4]
}

/// Whether an IPv4 packet is UDP to `group:port`.
fn is_udp_to(p: &[u8], group: Ipv4Addr, port: u16) -> bool {
    if p.len() < 20 || p[0] >> 4 != 4 || p[9] != 17 || p[16..20] != group.octets() {
        return false;
    }
    let ihl = usize::from(p[0] & 0x0f) * 4;
    p.len() >= ihl + 4 && u16::from_be_bytes([p[ihl + 2], p[ihl + 3]]) == port
}

/// Time from `t0` (CLOCK_MONOTONIC ns) to the first timestamp at or after it.
pub(crate) fn first_after(times: &[u64], t0: u64) -> Option<Duration> {
    times
        .iter()
        .find(|&&t| t >= t0)
        .map(|&t| Duration::from_nanos(t - t0))
}

// ---- reports with the kernel's receive time -------------------------------------------------

/// An IGMP report or leave that arrived on an interface: when the kernel received the frame
/// and when the capture thread read it (CLOCK_MONOTONIC ns, comparable with [`mono_ns`]), and
/// the IGMP message (after the IP header).
#[derive(Clone, Debug)]
pub(crate) struct StampedReport {
    pub(crate) kernel_ns: u64,
    pub(crate) read_ns: u64,
    pub(crate) igmp: Vec<u8>,
}

/// Captures the IGMP reports and leaves arriving on an interface in a namespace with the
/// kernel's receive timestamp of each frame (`packet::Capture`: taken as the frame enters the
/// stack on that interface, before tc ingress and the classifier), rather than the time a thread
/// woke up to read it as [`Sniffer`] does.
pub(crate) struct ReportCapture {
    reports: packet::Capture<StampedReport>,
}

impl ReportCapture {
    pub(crate) fn start(ns: &str, ifname: &str) -> ReportCapture {
        let reports = packet::Capture::start("report capture", ns, ifname, |f, kept| {
            if !is_igmp_report(f.packet) {
                return;
            }
            let Some(kernel_ns) = packet::realtime_to_monotonic(f.stamp_ns) else {
                return;
            };
            let ihl = usize::from(f.packet[0] & 0x0f) * 4;
            kept.push(StampedReport {
                kernel_ns,
                read_ns: mono_ns(),
                igmp: f.packet[ihl..].to_vec(),
            });
        });
        ReportCapture { reports }
    }

    /// The reports captured so far, in arrival order.
    pub(crate) fn reports(&self) -> Vec<StampedReport> {
        self.reports.kept().clone()
    }
}
