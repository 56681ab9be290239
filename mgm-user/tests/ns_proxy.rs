//! The IGMP proxy (RFC 4605, `mgm run --upstream IF`) between real namespaces. The upstream
//! router is mgm itself (the querier there, with the built-in `local`), so what the proxy
//! reports upstream is read from that router's group table; a source host behind it sends the
//! streams.
//!
//! ```text
//!  src 192.0.2.10 ── [up] ── 198.51.100.0/24 ── [px] ─┬─ d1 203.0.113.0/26  (v2 host, v3 host)
//!                  us    uu                   pu      └─ d2 203.0.113.64/26 (v3 host)
//! ```
//! Short timers on both routers (`common::FAST`: LMQT 400 ms, GMI 5 s).
mod common;
#[path = "common/tun.rs"]
mod tun;

use common::{Host, Lab, FAST, LMQT, SLACK};
use mgm_user::control::api::{GroupView, UpstreamView};
use std::collections::BTreeSet;
use std::net::Ipv4Addr;
use std::time::Duration;

const PORT: u16 = 5010;
const WAIT: Duration = Duration::from_secs(15);

/// How a [`ProxyLab`] is made.
struct Opts<'a> {
    /// More arguments of the proxy's `mgm run`.
    proxy_extra: &'a [&'a str],
    /// After the proxy's first downstream interface in `-i` (e.g. `,deny-groups=…`).
    d1_suffix: &'a str,
    uplink: UpLink,
    /// The upstream router runs IGMPv2 on the link to the proxy.
    upstream_v2: bool,
    /// The upstream link's MTU (both ends), set before the proxy starts.
    upstream_mtu: Option<u32>,
}

impl Default for Opts<'_> {
    fn default() -> Self {
        Opts {
            proxy_extra: &[],
            d1_suffix: "",
            uplink: UpLink::Veth,
            upstream_v2: false,
            upstream_mtu: None,
        }
    }
}

/// How the proxy's upstream link is made.
#[derive(Clone, Copy, PartialEq, Eq)]
enum UpLink {
    /// A veth pair, there at start.
    Veth,
    /// A veth pair made after both daemons started ([`ProxyLab::connect_upstream`]).
    Late,
    /// A point-to-point link without a link-layer header (tun devices joined by a relay, as a
    /// WireGuard or PPP link).
    Tun,
}

struct ProxyLab {
    /// First: the relay goes (and its devices with it) before the namespaces.
    relay: Option<tun::Relay>,
    lab: Lab,
    /// Daemon indexes: the upstream router and the proxy.
    up: usize,
    px: usize,
    uu: String,
    /// The proxy's upstream interface.
    pu: String,
    d1: String,
    d2: String,
    /// The LAN namespace of d2 (to connect d2 again after deleting it).
    l2: String,
    src: String,
    /// Host namespaces and addresses: v2 host on d1, v3 host on d1, v3 host on d2.
    h1: (String, String),
    h3: (String, String),
    h2: (String, String),
    up_ns: String,
    px_ns: String,
}

impl ProxyLab {
    fn new(proxy_extra: &[&str], d1_suffix: &str) -> ProxyLab {
        Self::with(Opts {
            proxy_extra,
            d1_suffix,
            ..Opts::default()
        })
    }

    fn with(o: Opts<'_>) -> ProxyLab {
        let (proxy_extra, d1_suffix, kind, upstream_v2) =
            (o.proxy_extra, o.d1_suffix, o.uplink, o.upstream_v2);
        let mut lab = Lab::new();
        let up = lab.netns("up");
        let px = lab.netns("px");
        let src = lab.netns("src");
        let (us, _) = lab.link((&up, "us", "192.0.2.1/24"), (&src, "hs", "192.0.2.10/24"));
        lab.ns(&src, &["ip", "route", "add", "default", "via", "192.0.2.1"]);
        let mut relay = None;
        let (uu, pu) = match kind {
            UpLink::Veth => {
                let (uu, pu) = lab.link(
                    (&up, "uu", "198.51.100.1/24"),
                    (&px, "pu", "198.51.100.2/24"),
                );
                lab.ns(
                    &px,
                    &["ip", "route", "add", "default", "via", "198.51.100.1"],
                );
                (uu, pu)
            }
            UpLink::Late => (format!("uu{}", lab.id), format!("pu{}", lab.id)),
            UpLink::Tun => {
                let (uu, pu) = (format!("ut{}", lab.id), format!("pt{}", lab.id));
                relay = Some(tun::Relay::start(
                    tun::Tun::create(&up, &uu),
                    tun::Tun::create(&px, &pu),
                ));
                for (ns, dev, local, peer) in [
                    (&up, &uu, "198.51.100.1", "198.51.100.2"),
                    (&px, &pu, "198.51.100.2", "198.51.100.1"),
                ] {
                    lab.ns(ns, &["ip", "addr", "add", local, "peer", peer, "dev", dev]);
                    lab.ns(ns, &["ip", "link", "set", dev, "up"]);
                }
                lab.ns(&px, &["ip", "route", "add", "default", "dev", &pu]);
                (uu, pu)
            }
        };
        let l1 = lab.lan("la");
        let l2 = lab.lan("lb");
        let d1 = lab.lan_port(&l1, (&px, "da", "203.0.113.1/26"));
        let d2 = lab.lan_port(&l2, (&px, "db", "203.0.113.65/26"));
        let mut host = |lan: &str, role: &str, addr: &str, gw: &str| {
            let ns = lab.netns(role);
            lab.lan_port(
                lan,
                (&ns, &format!("h{}", &role[..3]), &format!("{addr}/26")),
            );
            lab.ns(&ns, &["ip", "route", "add", "default", "via", gw]);
            lab.ns(
                &ns,
                &["sysctl", "-qw", "net.ipv4.igmp_max_memberships=1000"],
            );
            (ns, addr.to_string())
        };
        let h1 = host(&l1, "vtwo", "203.0.113.10", "203.0.113.1");
        let h3 = host(&l1, "vthr", "203.0.113.11", "203.0.113.1");
        let h2 = host(&l2, "vsec", "203.0.113.70", "203.0.113.65");
        lab.ns(
            &h1.0,
            &["sysctl", "-qw", "net.ipv4.conf.all.force_igmp_version=2"],
        );
        // The upstream router's side of the link: IGMPv2 when asked (an older querier).
        let uuspec = if upstream_v2 {
            format!("{uu},igmp-version=2")
        } else {
            uu.clone()
        };
        if let Some(mtu) = o.upstream_mtu {
            for (ns, dev) in [(&up, &uu), (&px, &pu)] {
                lab.ns(ns, &["ip", "link", "set", dev, "mtu", &mtu.to_string()]);
            }
        }
        let upk = lab.start_mgm(&up, &[&us, &uuspec], FAST);
        let d1spec = format!("{d1}{d1_suffix}");
        let mut args: Vec<&str> = FAST.to_vec();
        args.extend(["--upstream", &pu]);
        args.extend(proxy_extra);
        let pxk = lab.start_mgm(&px, &[&d1spec, &d2], &args);
        ProxyLab {
            relay,
            lab,
            up: upk,
            px: pxk,
            uu,
            pu,
            d1,
            d2,
            l2,
            src,
            h1,
            h3,
            h2,
            up_ns: up,
            px_ns: px,
        }
    }

    /// The veth link to the upstream router (for [`UpLink::Late`]), and the proxy's default
    /// route through it.
    fn connect_upstream(&self) {
        self.lab.link(
            (&self.up_ns, "uu", "198.51.100.1/24"),
            (&self.px_ns, "pu", "198.51.100.2/24"),
        );
        self.lab.ns(
            &self.px_ns,
            &["ip", "route", "add", "default", "via", "198.51.100.1"],
        );
    }

    fn host(&mut self, h: &(String, String)) -> Host {
        let mut host = self.lab.host(&h.0);
        host.cmd(&format!("ifaddr {}", h.1));
        host
    }

    /// The groups the upstream router holds on the link to the proxy.
    fn upstream_groups(&self) -> Vec<GroupView> {
        self.lab
            .groups(self.up)
            .into_iter()
            .filter(|g| g.interface == self.uu)
            .collect()
    }

    fn upstream_group(&self, g: &str) -> Option<GroupView> {
        self.upstream_groups().into_iter().find(|v| v.group == g)
    }
}

fn group(i: usize) -> String {
    format!("239.20.{}.{}", i / 200, 1 + i % 200)
}

#[test]
fn the_upstream_sees_the_union_and_streams_reach_only_members() {
    let mut pl = ProxyLab::new(&[], "");
    let mut h1 = pl.host(&pl.h1.clone());
    let mut h2 = pl.host(&pl.h2.clone());
    // 302 groups from one host (beyond the kernel's 20 per socket) and one from another.
    for i in 0..302 {
        h1.cmd(&format!("join {}", group(i)));
    }
    h2.cmd("join 239.21.0.1");
    let mut want: BTreeSet<String> = (0..302).map(group).collect();
    want.insert("239.21.0.1".into());
    pl.lab.wait_for("the union upstream", WAIT, || {
        let got: BTreeSet<String> = pl.upstream_groups().into_iter().map(|g| g.group).collect();
        got == want
    });
    // Held past the upstream's group membership interval (5 s): the proxy answers its queries.
    std::thread::sleep(Duration::from_secs(7));
    assert_eq!(
        pl.upstream_groups().len(),
        303,
        "the proxy answered the general queries"
    );
    // `mgm show upstream` says the same from the proxy's side.
    let view: Option<UpstreamView> = mgm_user::control::client::request(
        &pl.lab.daemon(pl.px).socket,
        mgm_user::control::api::Request::ShowUpstream,
    )
    .expect("show upstream");
    let view = view.expect("a proxy");
    assert_eq!((view.version, view.groups.len()), (3, 303));
    assert!(view.queries_heard > 0 && view.reports_sent > 0, "{view:?}");
    // A stream from upstream reaches d1's member and nothing else on d2.
    let g0 = group(0);
    let mut rx1 = pl.host(&pl.h1.clone());
    rx1.cmd(&format!("recv {PORT}"));
    let mut rx2 = pl.host(&pl.h2.clone());
    rx2.cmd(&format!("recv {PORT}"));
    let mut s = pl.lab.host(&pl.src.clone());
    s.cmd(&format!("send {g0} {PORT} 3000 10"));
    pl.lab
        .wait_for("the stream reaches d1", WAIT, || rx1.received_count() > 5);
    assert_eq!(rx2.received_count(), 0, "d2 has no member of {g0}");
    // The last downstream leave goes upstream: gone there within LMQT (downstream) + LMQT
    // (upstream) + slack.
    h1.cmd(&format!("leave {g0}"));
    let took = pl
        .lab
        .wait_for("the leave upstream", LMQT * 2 + SLACK * 2, || {
            pl.upstream_group(&g0).is_none()
        });
    eprintln!("last leave → gone upstream in {took:?}");
    let before = rx1.received_count();
    std::thread::sleep(Duration::from_millis(500));
    assert!(rx1.received_count() <= before + 1, "the stream stopped");
    let _ = (&pl.d1, &pl.d2, &mut h2);
}

#[test]
fn igmpv3_source_filters_are_merged_upstream() {
    let mut pl = ProxyLab::new(&[], "");
    let (s1, s2) = ("192.0.2.10", "192.0.2.20");
    let gs = "239.22.0.1";
    let mut a = pl.host(&pl.h3.clone());
    let mut b = pl.host(&pl.h2.clone());
    a.cmd(&format!("sjoin {gs} {s1}"));
    b.cmd(&format!("sjoin {gs} {s2}"));
    pl.lab.wait_for("INCLUDE {S1, S2} upstream", WAIT, || {
        pl.upstream_group(gs).is_some_and(|g| {
            let srcs: BTreeSet<String> = g.sources.iter().map(|s| s.source.clone()).collect();
            g.filter_mode == "include" && srcs == [s1, s2].iter().map(|s| s.to_string()).collect()
        })
    });
    // One receiver drops its source: only the other stays upstream.
    a.cmd(&format!("sleave {gs} {s1}"));
    pl.lab.wait_for("INCLUDE {S2} upstream", WAIT + LMQT, || {
        pl.upstream_group(gs).is_some_and(|g| {
            g.sources
                .iter()
                .filter(|s| s.forwarding)
                .map(|s| s.source.as_str())
                .collect::<Vec<_>>()
                == vec![s2]
        })
    });
    // An any-source member on d1 with S2 excluded, the INCLUDE {S2} member on d2: EXCLUDE {}
    // upstream (S2 is wanted by d2).
    a.cmd(&format!("join {gs}"));
    a.cmd(&format!("block {gs} {s2}"));
    pl.lab.wait_for("EXCLUDE upstream", WAIT, || {
        pl.upstream_group(gs)
            .is_some_and(|g| g.filter_mode == "exclude")
    });
    let _ = Ipv4Addr::LOCALHOST;
}

#[test]
fn link_local_and_ssdp_groups_are_not_proxied() {
    let mut pl = ProxyLab::new(&[], "");
    let mut h = pl.host(&pl.h2.clone());
    h.cmd("join 239.255.255.250");
    h.cmd("join 239.23.0.1");
    pl.lab.wait_for("the ordinary group upstream", WAIT, || {
        pl.upstream_group("239.23.0.1").is_some()
    });
    // The proxy holds SSDP downstream, but does not report it.
    assert!(pl
        .lab
        .groups(pl.px)
        .iter()
        .any(|g| g.group == "239.255.255.250"));
    std::thread::sleep(Duration::from_secs(2));
    assert!(pl.upstream_group("239.255.255.250").is_none());
}

#[test]
fn a_filtered_group_never_goes_upstream() {
    let mut pl = ProxyLab::new(&[], ",deny-groups=239.66.0.0/16");
    let mut h = pl.host(&pl.h3.clone());
    h.cmd("join 239.66.1.1");
    h.cmd("join 239.24.0.1");
    pl.lab.wait_for("the allowed group upstream", WAIT, || {
        pl.upstream_group("239.24.0.1").is_some()
    });
    std::thread::sleep(Duration::from_secs(2));
    assert!(
        pl.upstream_group("239.66.1.1").is_none(),
        "filtered upstream"
    );
    assert!(
        !pl.lab.groups(pl.px).iter().any(|g| g.group == "239.66.1.1"),
        "and no state downstream"
    );
    let refused: u64 = pl
        .lab
        .interfaces(pl.px)
        .iter()
        .map(|i| i.refused_filtered_groups)
        .sum();
    assert!(refused >= 1);
}

#[test]
fn an_upstream_that_comes_late_goes_away_and_comes_back_needs_no_restart() {
    let pl = ProxyLab::with(Opts {
        uplink: UpLink::Late,
        ..Opts::default()
    });
    let mut pl = pl;
    let mut h = pl.host(&pl.h2.clone());
    h.cmd("join 239.25.0.1");
    pl.lab.wait_for("the proxy awaits its upstream", WAIT, || {
        pl.lab
            .daemon_log(pl.px)
            .contains("is not there yet (or has no IPv4 address): waiting for it")
    });
    let view: Option<UpstreamView> = mgm_user::control::client::request(
        &pl.lab.daemon(pl.px).socket,
        mgm_user::control::api::Request::ShowUpstream,
    )
    .expect("show upstream");
    let view = view.expect("a proxy, its upstream awaited");
    assert!(!view.present && view.groups.is_empty(), "{view:?}");
    pl.connect_upstream();
    pl.lab
        .wait_for("reported once the upstream came", WAIT, || {
            pl.upstream_group("239.25.0.1").is_some()
        });
    // The link goes away (both ends), then comes back: reported again without a restart.
    let uu = pl.uu.clone();
    pl.lab.ns(&pl.up_ns, &["ip", "link", "del", &uu]);
    pl.lab.wait_for("the proxy saw it go", WAIT, || {
        pl.lab
            .daemon_log(pl.px)
            .contains("nothing is proxied until it is back")
    });
    pl.connect_upstream();
    pl.lab.wait_for("reported again once it is back", WAIT, || {
        pl.upstream_group("239.25.0.1").is_some()
    });
}

/// A static receiver (`mgm join`) on a downstream interface is reported upstream like a host.
/// When that interface is deleted, the proxy withdraws it upstream at once: its own upstream
/// state (`mgm show upstream`) drops the group, and the upstream router drops it within its
/// last-member query time. When the interface is made anew, the join is made again and
/// reported again.
#[test]
fn a_deleted_downstream_interface_takes_its_static_join_off_the_upstream() {
    let pl = ProxyLab::new(&[], "");
    let socket = pl.lab.daemon(pl.px).socket.clone();
    let g = "239.29.0.1";
    let out = common::mgm_client(&socket, &["join", "-i", &pl.d2, "-g", g]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    pl.lab
        .wait_for("the static join reported upstream", WAIT, || {
            pl.upstream_group(g).is_some()
        });
    let proxied = |g: &str| {
        let view: Option<UpstreamView> = mgm_user::control::client::request(
            &socket,
            mgm_user::control::api::Request::ShowUpstream,
        )
        .expect("show upstream");
        view.expect("a proxy").groups.iter().any(|v| v.group == g)
    };
    assert!(proxied(g), "the proxy reports the static join");
    pl.lab.ns(&pl.px_ns, &["ip", "link", "del", &pl.d2]);
    pl.lab
        .wait_for("the proxy's upstream state without it", WAIT, || {
            !proxied(g)
        });
    let took = pl
        .lab
        .wait_for("the join withdrawn upstream", LMQT * 2 + SLACK * 2, || {
            pl.upstream_group(g).is_none()
        });
    eprintln!("interface deleted → gone upstream in {took:?}");
    assert!(
        pl.lab.daemon_log(pl.px).contains(&format!(
            "static join (*, {g}) on {}: withdrawn, the interface is gone",
            pl.d2
        )),
        "{}",
        pl.lab.daemon_log(pl.px)
    );
    let made = pl
        .lab
        .lan_port(&pl.l2, (&pl.px_ns, "db", "203.0.113.65/26"));
    assert_eq!(made, pl.d2);
    pl.lab.wait_for("reported again once d2 is back", WAIT, || {
        pl.upstream_group(g).is_some()
    });
}

#[test]
fn an_l3_upstream_link_carries_reports_and_forwarding() {
    let mut pl = ProxyLab::with(Opts {
        uplink: UpLink::Tun,
        ..Opts::default()
    });
    let mut h = pl.host(&pl.h2.clone());
    h.cmd("join 239.26.0.1");
    h.cmd(&format!("recv {PORT}"));
    pl.lab.wait_for("reported over the L3 link", WAIT, || {
        pl.upstream_group("239.26.0.1").is_some()
    });
    assert!(pl
        .lab
        .daemon_log(pl.px)
        .contains("L3 link) from 198.51.100.2"));
    let mut s = pl.lab.host(&pl.src.clone());
    s.cmd(&format!("send 239.26.0.1 {PORT} 3000 10"));
    pl.lab
        .wait_for("the stream over the L3 link reaches d2", WAIT, || {
            h.received_count() > 5
        });
    assert!(pl.relay.as_ref().is_some_and(|r| r.carried() > 10));
}

/// A source on d1 sending to `g`, a member on d2 and one behind the upstream router (which
/// routes back to the downstream LANs for RPF). Returns (the lab, far member, near member, the
/// sender); the near member has the stream when it returns.
fn downstream_source(proxy_extra: &[&str], g: &str) -> (ProxyLab, Host, Host, Host) {
    let mut pl = ProxyLab::new(proxy_extra, "");
    let up = pl.up_ns.clone();
    pl.lab.ns(
        &up,
        &[
            "ip",
            "route",
            "add",
            "203.0.113.0/24",
            "via",
            "198.51.100.2",
        ],
    );
    let src_ns = pl.src.clone();
    let mut far = pl.lab.host(&src_ns);
    far.cmd("ifaddr 192.0.2.10");
    far.cmd(&format!("join {g}"));
    far.cmd(&format!("recv {PORT}"));
    let mut near = pl.host(&pl.h2.clone());
    near.cmd(&format!("join {g}"));
    near.cmd(&format!("recv {PORT}"));
    let mut sender = pl.host(&pl.h1.clone());
    sender.cmd(&format!("send {g} {PORT} 3000 10"));
    pl.lab
        .wait_for("the other downstream member gets it", WAIT, || {
            near.received_count() > 5
        });
    (pl, far, near, sender)
}

#[test]
fn with_forward_upstream_downstream_sources_reach_upstream_and_other_downstream_members() {
    let (pl, far, _near, _sender) = downstream_source(&["--forward-upstream"], "239.27.0.1");
    pl.lab.wait_for(
        "the member behind the upstream router gets it",
        WAIT,
        || far.received_count() > 5,
    );
}

#[test]
fn without_forward_upstream_downstream_sources_stay_downstream() {
    let (_pl, far, _near, _sender) = downstream_source(&[], "239.27.0.2");
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(far.received_count(), 0, "nothing went upstream");
}

#[test]
fn an_igmpv2_upstream_querier_gets_v2_reports() {
    let mut pl = ProxyLab::with(Opts {
        upstream_v2: true,
        ..Opts::default()
    });
    let mut h = pl.host(&pl.h2.clone());
    h.cmd("join 239.28.0.1");
    pl.lab.wait_for("reported to the v2 querier", WAIT, || {
        pl.upstream_group("239.28.0.1")
            .is_some_and(|g| g.compat_version == 2)
    });
    let view: Option<UpstreamView> = mgm_user::control::client::request(
        &pl.lab.daemon(pl.px).socket,
        mgm_user::control::api::Request::ShowUpstream,
    )
    .expect("show upstream");
    assert_eq!(view.expect("a proxy").version, 2, "host compatibility mode");
    // A v2 leave goes up when the last member leaves.
    h.cmd("leave 239.28.0.1");
    pl.lab
        .wait_for("the v2 leave upstream", LMQT * 2 + SLACK * 2, || {
            pl.upstream_group("239.28.0.1").is_none()
        });
}

#[test]
fn reports_fit_a_small_upstream_mtu() {
    // 576 bytes: at most (576 − 24 − 8) / 8 = 68 records a report; 150 groups need three.
    let mut pl = ProxyLab::with(Opts {
        upstream_mtu: Some(576),
        ..Opts::default()
    });
    let mut h = pl.host(&pl.h2.clone());
    for i in 0..150 {
        h.cmd(&format!("join {}", group(1000 + i)));
    }
    pl.lab.wait_for("every group upstream", WAIT, || {
        pl.upstream_groups().len() == 150
    });
    // And they stay: the answers to the general queries fit the link too.
    std::thread::sleep(Duration::from_secs(7));
    assert_eq!(pl.upstream_groups().len(), 150);
}

#[test]
fn reports_follow_an_upstream_mtu_change() {
    // The upstream link goes from 1500 to 576 bytes while the proxy runs: the answers to the
    // general queries (150 records: 1 208 bytes in one report at 1500) must come in three.
    let mut pl = ProxyLab::new(&[], "");
    for (ns, dev) in [
        (pl.up_ns.clone(), pl.uu.clone()),
        (pl.px_ns.clone(), pl.pu.clone()),
    ] {
        pl.lab.ns(&ns, &["ip", "link", "set", &dev, "mtu", "576"]);
    }
    pl.lab.wait_for("the proxy reads the new MTU", WAIT, || {
        pl.lab.daemon_log(pl.px).contains("MTU 576")
    });
    let mut h = pl.host(&pl.h2.clone());
    for i in 0..150 {
        h.cmd(&format!("join {}", group(1100 + i)));
    }
    pl.lab.wait_for("every group upstream", WAIT, || {
        pl.upstream_groups().len() == 150
    });
    // And they stay: the answers to the general queries fit the link as it is now.
    std::thread::sleep(Duration::from_secs(7));
    assert_eq!(pl.upstream_groups().len(), 150);
}

/// Reports a neighbour sends on the upstream link (here the upstream router's own host stack,
/// joining a group on that link) stay in the proxy's classifier: counted as
/// `ignored_upstream_report`, never sent up to the daemon (which acts on queries only there),
/// while the upstream querier's queries still reach it.
#[test]
fn a_neighbours_reports_on_the_upstream_stay_in_the_classifier() {
    let mut pl = ProxyLab::new(&[], "");
    let stats = |pl: &ProxyLab| -> mgm_user::control::api::StatsView {
        mgm_user::control::client::request(
            &pl.lab.daemon(pl.px).socket,
            mgm_user::control::api::Request::ShowStats,
        )
        .expect("show stats")
    };
    let queries_before = stats(&pl)["rx_query_v3"];
    let mut neighbour = pl.lab.host(&pl.up_ns.clone());
    neighbour.cmd("ifaddr 198.51.100.1");
    neighbour.cmd("join 239.30.0.1");
    pl.lab
        .wait_for("the neighbour's reports counted", WAIT, || {
            stats(&pl)["ignored_upstream_report"] >= 1
        });
    pl.lab.wait_for("a query from upstream", WAIT, || {
        stats(&pl)["rx_query_v3"] > queries_before
    });
    let view: Option<UpstreamView> = mgm_user::control::client::request(
        &pl.lab.daemon(pl.px).socket,
        mgm_user::control::api::Request::ShowUpstream,
    )
    .expect("show upstream");
    assert!(
        view.expect("a proxy").queries_heard > 0,
        "queries still go up"
    );
}
