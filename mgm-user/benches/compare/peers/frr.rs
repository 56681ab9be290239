//! FRR 8.4's pimd (with zebra) as the IGMP router under test: IGMP on the LAN, PIM on both
//! interfaces, and the router itself as the rendezvous point for 239.0.0.0/8 (with no RP FRR
//! keeps no forwarding state for an ASM group). Its CPU and memory are pimd's and zebra's together.
#![allow(dead_code)]

use crate::common::frr::FrrDaemons;
use std::path::Path;
use std::time::{Duration, Instant};

pub(crate) struct Pimd {
    pub(crate) daemons: FrrDaemons,
    lan: String,
    pub(crate) pids: Vec<u32>,
}

impl Pimd {
    /// Starts zebra and pimd in `ns`: `rp` an address of the router, `upstream` the source's side,
    /// `lans` the hosts' (the first one is the LAN [`Self::groups_held`] counts) with IGMP
    /// `version` and a last-member query interval of `lmq.0` deciseconds × `lmq.1` queries.
    /// Returns once pimd runs IGMP on every LAN (15 s at most).
    pub(crate) fn start(
        ns: &str,
        dir: &Path,
        rp: &str,
        upstream: &str,
        lans: &[&str],
        version: u8,
        lmq: (u32, u32),
    ) -> Pimd {
        let (lmqi_ds, lmqc) = lmq;
        let mut conf = format!(
            "hostname bench\nip pim rp {rp} 239.0.0.0/8\ninterface {upstream}\n ip pim\n!\n"
        );
        for lan in lans {
            conf.push_str(&format!(
                "interface {lan}\n ip pim\n ip igmp\n ip igmp version {version}\n \
                 ip igmp last-member-query-interval {lmqi_ds}\n \
                 ip igmp last-member-query-count {lmqc}\n!\n"
            ));
        }
        let daemons = FrrDaemons::start(ns, dir, &conf);
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let up = daemons
                .vtysh("show ip igmp interface json")
                .is_some_and(|v| {
                    lans.iter()
                        .all(|l| v.get(l).and_then(|i| i.get("querierIp")).is_some())
                });
            let pids: Vec<u32> = ["pimd", "zebra"]
                .iter()
                .filter_map(|d| daemons.pid(d))
                .collect();
            if up && pids.len() == 2 {
                return Pimd {
                    daemons,
                    lan: lans[0].to_string(),
                    pids,
                };
            }
            assert!(
                Instant::now() < deadline,
                "pimd did not run IGMP on {lans:?} in 15 s:\n{}",
                daemons.log()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The groups pimd holds on the LAN (`show ip igmp groups json`).
    pub(crate) fn groups_held(&self) -> u64 {
        self.daemons
            .vtysh("show ip igmp groups json")
            .and_then(|v| v.get(&self.lan)?.get("groups")?.as_array().map(Vec::len))
            .unwrap_or(0) as u64
    }

    pub(crate) fn log(&self) -> String {
        self.daemons.log()
    }
}
