//! 4: the daemon's RSS idle and holding 1 000 groups.

use crate::common::process_rss_kib;
use crate::lab::ProxyLab;
use crate::traffic::groups;
use crate::{Variant, RSS_GROUPS};
use std::collections::BTreeSet;
use std::net::Ipv4Addr;
use std::process::Command;
use std::time::Duration;

pub(crate) struct Rss {
    pub(crate) idle_kib: f64,
    pub(crate) held_kib: f64,
}

pub(crate) fn rss_run(pl: &mut ProxyLab, v: &Variant, run: usize) -> Rss {
    let r = pl.start(v.kind);
    let pid = pl.pid(&r);
    std::thread::sleep(Duration::from_secs(1));
    let idle_kib = process_rss_kib(pid) as f64;
    let gs = groups(run, RSS_GROUPS);
    let mut h = pl.host(&pl.h1.clone());
    for g in &gs {
        h.cmd(&format!("join {g}"));
    }
    let want: BTreeSet<Ipv4Addr> = gs.iter().copied().collect();
    pl.wait(&r, "1 000 groups upstream", Duration::from_secs(60), || {
        pl.upstream_groups().is_superset(&want)
    });
    std::thread::sleep(Duration::from_secs(1));
    let held_kib = process_rss_kib(pid) as f64;
    pl.stop(r);
    // The host goes (its memberships with it); the next run has fresh groups.
    let _ = Command::new("kill")
        .args(["-TERM", &h.pid.to_string()])
        .status();
    Rss { idle_kib, held_kib }
}
