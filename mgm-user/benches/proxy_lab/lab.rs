//! The lab: the upstream router with the source behind it, the proxy's namespace, two LANs with
//! their hosts, the flood host and the listeners; the proxy under test started and stopped in it.

use crate::common::{Host, Lab};
use crate::igmpproxy::IgmpProxy;
use crate::mgm_daemon::MgmDaemon;
use crate::{Kind, FLOOD_HOST, MGM_ARGS, UP_ARGS};
use std::collections::BTreeSet;
use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

/// A host's (or listener's) namespace and address or interface.
pub(crate) type End = (String, String);

pub(crate) struct ProxyLab {
    pub(crate) lab: Lab,
    /// The upstream router's daemon index and namespace.
    pub(crate) up: usize,
    pub(crate) up_ns: String,
    pub(crate) px: String,
    pub(crate) src: String,
    pub(crate) uu: String,
    pub(crate) pu: String,
    pub(crate) da: String,
    pub(crate) db: String,
    pub(crate) h1: End,
    pub(crate) h2: End,
    /// Listeners: (namespace, interface).
    pub(crate) mon1: End,
    pub(crate) mon2: End,
    /// The flood host's namespace.
    pub(crate) flood: String,
    /// Proxy daemons started so far (names their files).
    pub(crate) started: usize,
}

/// The proxy under test, running.
pub(crate) enum Running {
    Igmpproxy(IgmpProxy),
    Mgm(MgmDaemon),
}

impl ProxyLab {
    pub(crate) fn new() -> ProxyLab {
        let mut lab = Lab::new();
        let up_ns = lab.netns("up");
        let px = lab.netns("px");
        let src = lab.netns("src");
        let (us, _) = lab.link(
            (&up_ns, "us", "192.0.2.1/24"),
            (&src, "hs", "192.0.2.10/24"),
        );
        lab.ns(&src, &["ip", "route", "add", "default", "via", "192.0.2.1"]);
        let (uu, pu) = lab.link(
            (&up_ns, "uu", "198.51.100.1/24"),
            (&px, "pu", "198.51.100.2/24"),
        );
        lab.ns(
            &px,
            &["ip", "route", "add", "default", "via", "198.51.100.1"],
        );
        // igmpproxy joins upstream with one socket: the kernel's 20 memberships per socket.
        lab.ns(
            &px,
            &["sysctl", "-qw", "net.ipv4.igmp_max_memberships=8192"],
        );
        let l1 = lab.lan("la");
        let l2 = lab.lan("lb");
        let da = lab.lan_port(&l1, (&px, "da", "203.0.113.1/26"));
        let db = lab.lan_port(&l2, (&px, "db", "203.0.113.65/26"));
        let mut node = |lan: &str, role: &str, addr: &str, gw: &str| {
            let ns = lab.netns(role);
            let ifname = lab.lan_port(lan, (&ns, &format!("h{role}"), &format!("{addr}/26")));
            lab.ns(&ns, &["ip", "route", "add", "default", "via", gw]);
            (ns, ifname)
        };
        let (h1, _) = node(&l1, "one", "203.0.113.10", "203.0.113.1");
        let (fl, _) = node(&l1, "fld", &FLOOD_HOST.to_string(), "203.0.113.1");
        let mon1 = node(&l1, "mo1", "203.0.113.30", "203.0.113.1");
        let (h2, _) = node(&l2, "two", "203.0.113.70", "203.0.113.65");
        let mon2 = node(&l2, "mo2", "203.0.113.90", "203.0.113.65");
        for h in [&h1, &h2] {
            lab.ns(
                h,
                &["sysctl", "-qw", "net.ipv4.conf.all.force_igmp_version=2"],
            );
            lab.ns(h, &["sysctl", "-qw", "net.ipv4.igmp_max_memberships=4096"]);
        }
        let up = lab.start_mgm(&up_ns, &[&us, &uu], UP_ARGS);
        ProxyLab {
            lab,
            up,
            up_ns,
            px,
            src,
            uu,
            pu,
            da,
            db,
            h1: (h1, "203.0.113.10".into()),
            h2: (h2, "203.0.113.70".into()),
            mon1,
            mon2,
            flood: fl,
            started: 0,
        }
    }

    pub(crate) fn host(&mut self, h: &End) -> Host {
        let mut host = self.lab.host(&h.0);
        host.cmd(&format!("ifaddr {}", h.1));
        host
    }

    pub(crate) fn start(&mut self, kind: Kind) -> Running {
        match kind {
            Kind::Igmpproxy => Running::Igmpproxy(self.start_igmpproxy()),
            Kind::Mgm(extra) => Running::Mgm(self.start_mgm(extra)),
        }
    }

    pub(crate) fn start_mgm(&mut self, extra: &[&str]) -> MgmDaemon {
        let n = self.started;
        self.started += 1;
        let mut args = vec!["-i", &self.da, "-i", &self.db, "--upstream", &self.pu];
        args.extend(MGM_ARGS);
        args.extend(extra);
        let tag = format!("{}-px{n}", self.lab.id);
        MgmDaemon::start(&self.px, &self.lab.dir, &tag, &args)
    }

    pub(crate) fn start_igmpproxy(&mut self) -> IgmpProxy {
        let n = self.started;
        self.started += 1;
        IgmpProxy::start(
            &self.px,
            &self.lab.dir,
            &format!("igmpproxy{n}"),
            &self.pu,
            "192.0.2.0/24",
            &[&self.da, &self.db],
        )
    }

    pub(crate) fn pid(&self, r: &Running) -> u32 {
        match r {
            Running::Igmpproxy(p) => p.pid(),
            Running::Mgm(p) => p.pid(),
        }
    }

    pub(crate) fn log(&self, r: &Running) -> String {
        match r {
            Running::Igmpproxy(p) => p.log(),
            Running::Mgm(p) => p.log(),
        }
    }

    pub(crate) fn stop(&mut self, r: Running) {
        drop(r);
    }

    /// The groups the upstream router holds on its link to the proxy.
    pub(crate) fn upstream_groups(&self) -> BTreeSet<Ipv4Addr> {
        self.lab
            .groups(self.up)
            .into_iter()
            .filter(|g| g.interface == self.uu)
            .filter_map(|g| g.group.parse().ok())
            .collect()
    }

    /// Waits until `cond` holds (polled every 20 ms); panics with the logs after `timeout`.
    pub(crate) fn wait(
        &self,
        r: &Running,
        what: &str,
        timeout: Duration,
        mut cond: impl FnMut() -> bool,
    ) {
        let start = Instant::now();
        while !cond() {
            if start.elapsed() > timeout {
                panic!(
                    "timed out after {timeout:?} waiting for {what}\n--- proxy log ---\n{}\n\
                     --- upstream router log ---\n{}",
                    self.log(r),
                    self.lab.daemon_log(self.up)
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}
