//! Interop with a foreign router: FRR's pimd (zebra + pimd from the Debian package `frr`, which
//! `cargo xtask setup` installs) as a second IGMP router on the test LAN, in its own namespace
//! with private paths. Querier election both ways, takeover after the other-querier-present
//! interval, and the same memberships for v2 and v3 hosts.
//!
//! FRR 8.4 departs from RFC 3376 in places seen on the wire (group queries while not the
//! querier, a query listing source 0.0.0.0 after a leave, an INCLUDE{} group kept after a BLOCK
//! for a group it did not know): these tests hold mgm to the RFC and compare only what both
//! must agree on.
mod common;

use common::frr::FrrDaemons;
use common::{Lab, FAST, SLACK};
use serde_json::Value;
use std::time::Duration;

/// Other querier present interval with FAST timers on both routers: RV × QI + QRI / 2.
const OQPI: Duration = Duration::from_millis(4500);

/// zebra and pimd in one namespace, with their pid files, sockets, config and logs in a
/// directory of their own. Stopped on drop (declare it after the `Lab`, so it drops first).
struct Frr {
    daemons: FrrDaemons,
    ifname: String,
}

impl Frr {
    /// Starts FRR in `ns` with IGMP `version` on `ifname`, timers as FAST gives mgm (the response
    /// time first: FRR refuses a query interval shorter than the one in force).
    fn start(lab: &Lab, ns: &str, ifname: &str, version: u8) -> Frr {
        let daemons = FrrDaemons::start(
            ns,
            &lab.dir.join(format!("frr-{ns}")),
            &format!(
                "hostname frr-{ns}\n\
                 interface {ifname}\n ip pim\n ip igmp\n ip igmp version {version}\n \
                 ip igmp query-max-response-time 10\n ip igmp query-interval 2\n \
                 ip igmp last-member-query-interval 2\n ip igmp last-member-query-count 2\n!\n"
            ),
        );
        let frr = Frr {
            daemons,
            ifname: ifname.to_string(),
        };
        lab.wait_for("pimd to run IGMP", Duration::from_secs(10), || {
            frr.igmp_interface().is_some()
        });
        frr
    }

    fn vtysh(&self, command: &str) -> Option<Value> {
        self.daemons.vtysh(command)
    }

    /// `show ip igmp interface json` for our interface.
    fn igmp_interface(&self) -> Option<Value> {
        self.vtysh("show ip igmp interface json")?
            .get(&self.ifname)
            .cloned()
            .filter(|v| v.get("querierIp").is_some())
    }

    /// FRR names the querier state only while it is the querier.
    fn is_querier(&self) -> Option<bool> {
        let i = self.igmp_interface()?;
        Some(i.get("querier").and_then(Value::as_bool).unwrap_or(false))
    }

    fn querier_ip(&self) -> Option<String> {
        Some(
            self.igmp_interface()?
                .get("querierIp")?
                .as_str()?
                .to_string(),
        )
    }

    /// FRR's groups on our interface: (group, mode in mgm's words, compatibility version), sorted.
    fn groups(&self) -> Vec<(String, String, u64)> {
        let Some(v) = self.vtysh("show ip igmp groups json") else {
            return Vec::new();
        };
        let Some(groups) = v
            .get(&self.ifname)
            .and_then(|i| i.get("groups"))
            .and_then(Value::as_array)
        else {
            return Vec::new();
        };
        let mut out: Vec<_> = groups
            .iter()
            // FRR 8.4 may keep an INCLUDE group whose last source aged out (INCLUDE {}, which
            // RFC 3376 §6.5 deletes): such an entry holds nothing, so it is not compared.
            .filter(|g| {
                let include = g.get("mode").and_then(Value::as_str) == Some("INCLUDE");
                !(include && g.get("sourcesCount").and_then(Value::as_u64) == Some(0))
            })
            .filter_map(|g| {
                let version = g.get("version")?.as_u64()?;
                // FRR prints no mode for a group in v1/v2 compatibility: its members are
                // EXCLUDE({}) (RFC 3376 §7.3.2).
                let mode = match g.get("mode").and_then(Value::as_str) {
                    Some(m) => m.to_lowercase(),
                    None if version < 3 => "exclude".to_string(),
                    None => return None,
                };
                Some((g.get("group")?.as_str()?.to_string(), mode, version))
            })
            .collect();
        out.sort();
        out
    }

    /// FRR's source records of `group` ("*" for an EXCLUDE group's any-source). Its `forwarded`
    /// flag is PIM's state (no PIM state for an (S,G) in the ASM range without an RP), not IGMP's.
    fn sources(&self, group: &str) -> Vec<String> {
        let Some(v) = self.vtysh("show ip igmp sources json") else {
            return Vec::new();
        };
        let mut out: Vec<String> = v
            .get(&self.ifname)
            .and_then(|i| i.get(group))
            .and_then(|g| g.get("sources"))
            .and_then(Value::as_array)
            .map(|sources| {
                sources
                    .iter()
                    .filter_map(|s| Some(s.get("source")?.as_str()?.to_string()))
                    .collect()
            })
            .unwrap_or_default();
        out.sort();
        out
    }

    /// Everything FRR holds, for a failure message.
    fn sources_dump(&self) -> String {
        self.vtysh("show ip igmp sources json")
            .map(|v| v.to_string())
            .unwrap_or_default()
    }

    fn kill(&self, name: &str) {
        self.daemons.kill(name);
    }
}

/// mgm's groups on `ifname`: (group, mode, compatibility version), sorted.
fn mgm_groups(lab: &Lab, k: usize, ifname: &str) -> Vec<(String, String, u64)> {
    let mut out: Vec<_> = lab
        .groups(k)
        .into_iter()
        .filter(|g| g.interface == ifname)
        .map(|g| (g.group, g.filter_mode, u64::from(g.compat_version)))
        .collect();
    out.sort();
    out
}

/// mgm's requested sources of `group` in FRR's words ("*" for an EXCLUDE group's any-source).
fn mgm_sources(lab: &Lab, k: usize, ifname: &str, group: &str) -> Vec<String> {
    let Some(g) = lab.group(k, ifname, group) else {
        return Vec::new();
    };
    let mut out: Vec<String> = g
        .sources
        .iter()
        .filter(|s| s.forwarding)
        .map(|s| s.source.clone())
        .collect();
    if g.filter_mode == "exclude" && out.is_empty() {
        out.push("*".into());
    }
    out.sort();
    out
}

#[test]
fn mgm_with_the_lower_address_is_querier_and_frr_takes_over_when_it_stops() {
    let mut lab = Lab::new();
    let lan = lab.lan("lan");
    let r = lab.netns("r");
    let f = lab.netns("f");
    let rif = lab.lan_port(&lan, (&r, "r", "192.0.2.1/24"));
    let fif = lab.lan_port(&lan, (&f, "f", "192.0.2.2/24"));
    let frr = Frr::start(&lab, &f, &fif, 3);
    let k = lab.start_mgm(&r, &[&rif], FAST);

    lab.wait_for("FRR to yield to mgm (192.0.2.1)", OQPI + SLACK * 2, || {
        frr.is_querier() == Some(false) && frr.querier_ip().as_deref() == Some("192.0.2.1")
    });
    let ours = &lab.interfaces(k)[0];
    assert!(ours.querier, "mgm must stay querier: {ours:?}");

    lab.stop_mgm(k);
    let took = lab.wait_for(
        "FRR to take over after mgm stopped",
        OQPI + SLACK * 3,
        || frr.is_querier() == Some(true),
    );
    eprintln!("FRR took over {took:?} after mgm stopped");
}

#[test]
fn frr_with_the_lower_address_is_querier_and_mgm_takes_over_when_it_stops() {
    let mut lab = Lab::new();
    let lan = lab.lan("lan");
    let r = lab.netns("r");
    let f = lab.netns("f");
    let fif = lab.lan_port(&lan, (&f, "f", "192.0.2.1/24"));
    let rif = lab.lan_port(&lan, (&r, "r", "192.0.2.2/24"));
    let frr = Frr::start(&lab, &f, &fif, 3);
    let k = lab.start_mgm(&r, &[&rif], FAST);

    lab.wait_for("mgm to yield to FRR (192.0.2.1)", OQPI + SLACK, || {
        let i = &lab.interfaces(k)[0];
        !i.querier && i.querier_address.as_deref() == Some("192.0.2.1")
    });
    assert_eq!(frr.is_querier(), Some(true), "FRR must stay querier");

    frr.kill("pimd");
    let took = lab.wait_for(
        "mgm to take over after pimd stopped",
        OQPI + SLACK * 2,
        || lab.interfaces(k)[0].querier,
    );
    eprintln!("mgm took over {took:?} after pimd stopped");
    // Not before the other querier present interval counted from pimd's last query (at most
    // one query interval before it stopped).
    assert!(
        took + Duration::from_secs(2) >= OQPI,
        "mgm took over after {took:?}, before the other querier present interval ({OQPI:?})"
    );
}

#[test]
fn frr_and_mgm_hold_the_same_memberships_for_v2_and_v3_hosts() {
    const ANY: &str = "239.4.0.1"; // v3 host (EXCLUDE {}) and v2 host: v2 compatibility
    const SSM: &str = "239.4.0.2"; // v3 host, INCLUDE {198.51.100.7}
    const V2: &str = "239.4.0.3"; // v2 host only
    const S: &str = "198.51.100.7";
    let mut lab = Lab::new();
    let lan = lab.lan("lan");
    let r = lab.netns("r");
    let f = lab.netns("f");
    let h3 = lab.netns("h3");
    let h2 = lab.netns("h2");
    let rif = lab.lan_port(&lan, (&r, "r", "192.0.2.1/24"));
    let fif = lab.lan_port(&lan, (&f, "f", "192.0.2.2/24"));
    lab.lan_port(&lan, (&h3, "a", "192.0.2.11/24"));
    let h2if = lab.lan_port(&lan, (&h2, "b", "192.0.2.12/24"));
    lab.ns(
        &h2,
        &[
            "sysctl",
            "-qw",
            &format!("net.ipv4.conf.{h2if}.force_igmp_version=2"),
        ],
    );
    let frr = Frr::start(&lab, &f, &fif, 3);
    let k = lab.start_mgm(&r, &[&rif], FAST);
    lab.set_router(&r);

    let mut v3 = lab.host(&h3);
    let mut v2 = lab.host(&h2);
    v3.cmd(&format!("join {ANY} 192.0.2.11"));
    v3.cmd(&format!("sjoin {SSM} {S}"));
    v2.cmd(&format!("join {ANY} 192.0.2.12"));
    v2.cmd(&format!("join {V2} 192.0.2.12"));

    let want = vec![
        (ANY.to_string(), "exclude".to_string(), 2),
        (SSM.to_string(), "include".to_string(), 3),
        (V2.to_string(), "exclude".to_string(), 2),
    ];
    lab.wait_for(
        "mgm to learn the three groups",
        Duration::from_secs(10),
        || mgm_groups(&lab, k, &rif) == want,
    );
    lab.wait_for(
        "FRR to hold the same groups as mgm",
        Duration::from_secs(10),
        || frr.groups() == mgm_groups(&lab, k, &rif),
    );
    for g in [ANY, SSM, V2] {
        assert_eq!(
            frr.sources(g),
            mgm_sources(&lab, k, &rif, g),
            "forwarded sources of {g}"
        );
    }
    assert_eq!(mgm_sources(&lab, k, &rif, SSM), vec![S.to_string()]);

    // The v3 host drops its source, the v2 host leaves V2: both routers drop exactly those.
    v3.cmd(&format!("sleave {SSM} {S}"));
    v2.cmd(&format!("leave {V2}"));
    let want = vec![(ANY.to_string(), "exclude".to_string(), 2)];
    lab.wait_for(
        "mgm to drop the left groups",
        Duration::from_secs(5),
        || mgm_groups(&lab, k, &rif) == want,
    );
    // FRR is not the querier: its entries end when its own group and source timers run out
    // (GMI 5 s after the last report), or earlier if it lowers them on mgm's queries.
    let mut seen = Vec::new();
    let dropped = (0..400).any(|_| {
        seen = frr.groups();
        seen == want || {
            std::thread::sleep(Duration::from_millis(50));
            false
        }
    });
    assert!(
        dropped,
        "FRR kept {seen:?} (mgm: {want:?})\n{}",
        frr.sources_dump()
    );
    assert_eq!(frr.sources(ANY), mgm_sources(&lab, k, &rif, ANY));
}
