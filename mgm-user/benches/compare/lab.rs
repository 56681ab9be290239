//! The router lab every scenario runs in: one router namespace between a source and a LAN of
//! hosts; the daemon under test runs in the router namespace, one at a time.
//!
//! ```text
//!  src 192.0.2.10 ── ru [rt] rl ── LAN 203.0.113.0/24 ─┬─ h1 .10  (the kernel's IGMPv2 host)
//!               192.0.2.1   203.0.113.1                ├─ fld .20 (raw reports at a set rate)
//!                                                      └─ mon .30 (listens: the wire stamps)
//! ```
//! The LAN is a bridge without snooping, so `mon` sees every report and every forwarded datagram
//! as they cross it, stamped by its kernel on receipt (`tests/common/wire.rs`).
//!
//! Two scenarios add to it while they run: two more receivers on the LAN (`qa` .11 and `qb`
//! .12, IGMPv3, [`RouterLab::pair`]; they join nothing unless told) and a second LAN, 198.51.100.0/24
//! on router port `ra` with the flooding host `fa` .20 ([`RouterLab::flood_lan`]), taken off the
//! router again by [`RouterLab::drop_flood_lan`]; the other scenarios' daemons never see either.
#![allow(dead_code)]

use crate::common::{Host, Lab};
use crate::peers::floor::FloorRouter;
use crate::peers::{frr::Pimd, igmpproxy::IgmpProxy, mgm::MgmDaemon, smcroute::Smcroute};
use crate::peers::{Peer, Running};
use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

pub(crate) const SOURCE: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 10);
pub(crate) const ROUTER_UP: &str = "192.0.2.1";
pub(crate) const FLOOD_HOST: Ipv4Addr = Ipv4Addr::new(203, 0, 113, 20);
/// The flooding host of the second LAN ([`RouterLab::flood_lan`]).
pub(crate) const FLOOD_LAN_HOST: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 20);
/// The UDP port of the lab's streams.
pub(crate) const PORT: u16 = 5040;

/// How a daemon is started for a scenario.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Settings {
    /// The IGMP version the router runs on the LAN (pimd's `ip igmp version`; mgm and igmpproxy
    /// follow the hosts).
    pub(crate) version: u8,
    /// Last-member query interval × 2 as igmpproxy's fixed one (10 s) rather than RFC 3376's
    /// default (1 s).
    pub(crate) slow_leave: bool,
    /// Room for this many groups (mgm's `--max-groups` and per-host limit; the kernel's
    /// memberships per socket for igmpproxy's upstream joins).
    pub(crate) groups: usize,
    /// mgm with its defaults for the group limits and the report budget (`--max-groups`,
    /// `--max-groups-per-host`, `--max-reports-per-second` 10 000) rather than the compare
    /// settings (room for `groups`, no report budget).
    pub(crate) mgm_defaults: bool,
    /// Each daemon's nearest to quick leave: mgm `quick-leave=on` on the LAN, igmpproxy's
    /// `quickleave`, pimd's shortest last-member queries (100 ms × 1: FRR 8.4 has no immediate
    /// leave). Wins over `slow_leave`.
    pub(crate) quick_leave: bool,
    /// The daemon serves the second LAN too ([`RouterLab::flood_lan`] must be up).
    pub(crate) flood_lan: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            version: 2,
            slow_leave: false,
            groups: 4096,
            mgm_defaults: false,
            quick_leave: false,
            flood_lan: false,
        }
    }
}

pub(crate) struct RouterLab {
    pub(crate) lab: Lab,
    pub(crate) rt: String,
    pub(crate) src: String,
    pub(crate) ru: String,
    pub(crate) rl: String,
    /// h1's namespace.
    pub(crate) h1: String,
    pub(crate) flood: String,
    /// The listener: (namespace, interface).
    pub(crate) mon: (String, String),
    /// The LAN's namespace (its bridge).
    lan: String,
    /// The two extra receivers: (namespace, address), once made.
    pair: Vec<(String, &'static str)>,
    /// The second LAN: (router port, flooding host's namespace), while up.
    flood_lan: Option<(String, String)>,
    started: usize,
}

impl RouterLab {
    pub(crate) fn new() -> RouterLab {
        let mut lab = Lab::new();
        let rt = lab.netns("rt");
        let src = lab.netns("src");
        let (_, ru) = lab.link((&src, "hs", "192.0.2.10/24"), (&rt, "ru", "192.0.2.1/24"));
        lab.ns(&src, &["ip", "route", "add", "default", "via", ROUTER_UP]);
        // igmpproxy joins every group upstream from one socket.
        lab.ns(
            &rt,
            &["sysctl", "-qw", "net.ipv4.igmp_max_memberships=1000000"],
        );
        // Each membership takes socket option memory: the default 128 KiB stops one socket at
        // about 2 700 groups (ENOBUFS).
        lab.ns(&rt, &["sysctl", "-qw", "net.core.optmem_max=67108864"]);
        let lan = lab.lan("ln");
        let rl = lab.lan_port(&lan, (&rt, "rl", "203.0.113.1/24"));
        let mut node = |role: &str, addr: &str| {
            let ns = lab.netns(role);
            let ifname = lab.lan_port(&lan, (&ns, &format!("h{role}"), &format!("{addr}/24")));
            lab.ns(
                &ns,
                &["ip", "route", "add", "default", "via", "203.0.113.1"],
            );
            (ns, ifname)
        };
        let (h1, _) = node("one", "203.0.113.10");
        let (flood, _) = node("fld", &FLOOD_HOST.to_string());
        let mon = node("mon", "203.0.113.30");
        lab.ns(
            &h1,
            &["sysctl", "-qw", "net.ipv4.conf.all.force_igmp_version=2"],
        );
        lab.ns(
            &h1,
            &["sysctl", "-qw", "net.ipv4.igmp_max_memberships=4096"],
        );
        RouterLab {
            lab,
            rt,
            src,
            ru,
            rl,
            h1,
            flood,
            mon,
            lan,
            pair: Vec::new(),
            flood_lan: None,
            started: 0,
        }
    }

    /// The test host h1 (the kernel's IGMPv2 stack), its address selected.
    pub(crate) fn host(&mut self) -> Host {
        let mut host = self.lab.host(&self.h1.clone());
        host.cmd("ifaddr 203.0.113.10");
        host
    }

    /// Two more receivers on the LAN (the kernel's IGMPv3 hosts 203.0.113.11 and .12, made on
    /// first use; fresh hosts, so no older querier of another scenario has put them in IGMPv2
    /// compatibility, where a host that heard another's report sends no leave).
    pub(crate) fn pair(&mut self) -> (Host, Host) {
        if self.pair.is_empty() {
            for (role, addr) in [("qa", "203.0.113.11"), ("qb", "203.0.113.12")] {
                let ns = self.lab.netns(role);
                let port = format!("h{role}");
                self.lab
                    .lan_port(&self.lan, (&ns, &port, &format!("{addr}/24")));
                self.lab.ns(
                    &ns,
                    &["sysctl", "-qw", "net.ipv4.igmp_max_memberships=4096"],
                );
                self.pair.push((ns, addr));
            }
        }
        let mut hosts = self.pair.clone().into_iter().map(|(ns, addr)| {
            let mut host = self.lab.host(&ns);
            host.cmd(&format!("ifaddr {addr}"));
            host
        });
        let a = hosts.next().expect("two hosts");
        let b = hosts.next().expect("two hosts");
        (a, b)
    }

    /// Brings up the second LAN (198.51.100.0/24: router port `ra` .1, flooding host `fa` .20);
    /// returns the flooding host's namespace.
    pub(crate) fn flood_lan(&mut self) -> String {
        if let Some((_, ns)) = &self.flood_lan {
            return ns.clone();
        }
        let lan = self.lab.lan("la");
        let ra = self.lab.lan_port(&lan, (&self.rt, "ra", "198.51.100.1/24"));
        let ns = self.lab.netns("fa");
        let host = format!("{FLOOD_LAN_HOST}/24");
        self.lab.lan_port(&lan, (&ns, "hfa", &host));
        self.flood_lan = Some((ra, ns.clone()));
        ns
    }

    /// Takes the second LAN's port off the router (the namespaces go with the lab).
    pub(crate) fn drop_flood_lan(&mut self) {
        if let Some((ra, _)) = self.flood_lan.take() {
            self.lab.ns(&self.rt, &["ip", "link", "del", &ra]);
        }
    }

    /// The router's interfaces towards hosts: the LAN, and the second LAN when `s` asks for it.
    fn lans(&self, s: Settings) -> Vec<String> {
        let mut out = vec![self.rl.clone()];
        if s.flood_lan {
            let (ra, _) = self
                .flood_lan
                .as_ref()
                .expect("flood_lan() before the daemon");
            out.push(ra.clone());
        }
        out
    }

    /// Starts `peer` in the router namespace.
    pub(crate) fn start(&mut self, peer: &Peer, s: Settings) -> Running {
        let n = self.started;
        self.started += 1;
        let tag = format!("{}-b{n}", self.lab.id);
        let dir = self.lab.dir.clone();
        let lans = self.lans(s);
        let lans: Vec<&str> = lans.iter().map(String::as_str).collect();
        match peer {
            Peer::Mgm { args, .. } => {
                let max = s.groups.to_string();
                let quick_lan = format!("{},quick-leave=on", self.rl);
                let mut all: Vec<&str> = vec!["-i", &self.ru, "--log", "warn"];
                all.extend(["-i", if s.quick_leave { &quick_lan } else { &self.rl }]);
                all.extend(lans[1..].iter().flat_map(|l| ["-i", l]));
                if !s.mgm_defaults {
                    all.extend(["--max-groups", &max, "--max-groups-per-host", &max]);
                    // The daemon's work is compared, not the classifier's budget (the peers have
                    // none).
                    all.extend(["--max-reports-per-second", "0"]);
                }
                if s.slow_leave && !s.quick_leave {
                    all.extend(["--last-member-query-interval", "10s"]);
                    all.extend(["--last-member-query-count", "2"]);
                }
                all.extend(args.iter().copied());
                Running::Mgm(MgmDaemon::start(&self.rt, &dir, &tag, &all))
            }
            Peer::Igmpproxy => Running::Igmpproxy(IgmpProxy::start_with(
                &self.rt,
                &dir,
                &tag,
                (&self.ru, "192.0.2.0/24"),
                &lans,
                s.quick_leave,
            )),
            Peer::Smcroute => Running::Smcroute(Smcroute::start(
                &self.rt,
                &dir,
                &tag,
                &[&self.ru, &self.rl],
                &[],
            )),
            Peer::Floor => Running::Floor(FloorRouter::start(
                &self.rt,
                &dir,
                &tag,
                (&self.ru, &self.rl),
                SOURCE,
            )),
            Peer::Pimd => Running::Pimd(Pimd::start(
                &self.rt,
                &dir.join(format!("frr-{n}")),
                ROUTER_UP,
                &self.ru,
                &lans,
                s.version,
                match (s.quick_leave, s.slow_leave) {
                    (true, _) => (1, 1),
                    (false, true) => (100, 2),
                    (false, false) => (10, 2),
                },
            )),
        }
    }

    /// The groups `r` holds for the LAN; `None` for a daemon without IGMP.
    pub(crate) fn groups_held(&self, r: &Running) -> Option<u64> {
        match r {
            Running::Mgm(d) => d.groups_on(&self.rl),
            Running::Igmpproxy(d) => Some(d.groups_joined(&self.ru)),
            Running::Pimd(d) => Some(d.groups_held()),
            Running::Smcroute(_) => None,
            Running::Floor(d) => Some(d.entries()),
        }
    }

    /// Polls `cond` every 20 ms until it holds (true) or `timeout` passes (false).
    pub(crate) fn poll(timeout: Duration, mut cond: impl FnMut() -> bool) -> bool {
        let start = Instant::now();
        loop {
            if cond() {
                return true;
            }
            if start.elapsed() > timeout {
                return false;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}
