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
//! 1. Callbacks per second (`throughput.rs`): the host joins `GROUPS` groups, each once (IGMPv3
//!    IS_EX {}), and the figure is the count of `local_join` read over the span from the first to
//!    the last read. The load is either `tests/common/v3_flood.py` (one record per report, as fast
//!    as python sends: the flood of `control_flood`), or a sender thread of this process in the
//!    host namespace that packs `RECORDS` records per report and keeps at most `WINDOW` groups sent
//!    but not yet read by the handler (closed loop: the daemon's pace, not the sender's, and
//!    nothing dropped for want of ring space). A last run leaves IGMP out: a second handler,
//!    `feed`, adds (*,G) memberships on its own interface (pipelined requests), and each new group
//!    reaches `bench` as `join_alert` (the handler path without the classifier, the IGMP router and
//!    its BPF map writes, but with the feeder's requests). Printed with the daemon's CPU per
//!    thread, the reader thread's CPU, and what was lost: groups never told, the classifier's
//!    `events_ring_full`, `daemon_lost_v3_records`, `daemon_handler_overflows`.
//! 2. Latency (`latency.rs`): `LAT_JOINS` joins of distinct groups spaced `LAT_SPACING`, one report
//!    each; the report's kernel receive time on the router's interface (AF_PACKET, SO_TIMESTAMPNS,
//!    moved to CLOCK_MONOTONIC) to the handler's read of the matching `local_join` (HandlerClient).
#[path = "../../tests/common/mod.rs"]
mod common;
#[path = "../../tests/common/forward.rs"]
mod forward;
#[path = "../compare/traffic.rs"]
mod traffic;

mod handler;
mod latency;
mod sender;
mod throughput;

use common::Lab;
use handler::Reader;
use mgm_user::control::{
    api::{InterfaceView, Request},
    client,
};
use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::time::Duration;
use throughput::{throughput, Load};

const NAME: &str = "bench";
/// The handler that makes the changes of the no-IGMP run.
const FEEDER: &str = "feed";
const HOST: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 11);
/// Groups joined per throughput run (each one `local_join`).
const GROUPS: usize = 100_000;
/// IS_EX {} records per report of the closed-loop sender (8 + 64 × 8 = 520 bytes).
const RECORDS: usize = 64;
/// Groups the closed-loop sender keeps in flight at most (well under the 16 384 lines of a
/// handler's outbox and the event ring: 128 reports of 560 bytes).
const WINDOW: usize = 8192;
/// Throughput goal (callbacks per second to one handler).
const RATE_GOAL: f64 = 100_000.0;
const LAT_JOINS: usize = 300;
const LAT_SPACING: Duration = Duration::from_millis(10);
/// Latency goals.
const P50_GOAL: Duration = Duration::from_millis(1);
const P99_GOAL: Duration = Duration::from_millis(5);

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
                // The handler path's throughput is measured: every report reaches the daemon.
                "--max-reports-per-second",
                "0",
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

fn main() {
    throughput(Load::Python, Reader::Client);
    throughput(Load::ClosedLoop, Reader::Client);
    throughput(Load::ClosedLoop, Reader::Raw);
    throughput(Load::Feeder, Reader::Client);
    latency::latency();
}
