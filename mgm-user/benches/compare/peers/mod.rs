//! The daemons the harness runs on the same work: mgm (and its variants) and its peers. One
//! runs at a time; each is stopped on drop.
#![allow(dead_code)]

pub(crate) mod floor;
pub(crate) mod frr;
pub(crate) mod igmpproxy;
pub(crate) mod mgm;
pub(crate) mod smcroute;

use crate::common::{process_cpu_ns, process_rss_kib};
use crate::procs::{process_wait_ns, raw_drops};

/// A daemon to run.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Peer {
    /// mgm with extra `mgm run` arguments, under a label ("mgm", "mgm --no-fast-path").
    Mgm {
        label: &'static str,
        args: &'static [&'static str],
    },
    Igmpproxy,
    Smcroute,
    Pimd,
    /// The machine's bound, not a product: `floor.rs`.
    Floor,
}

pub(crate) const MGM: Peer = Peer::Mgm {
    label: "mgm",
    args: &[],
};
pub(crate) const MGM_SLOW: Peer = Peer::Mgm {
    label: "mgm --no-fast-path",
    args: &["--no-fast-path"],
};

impl Peer {
    pub(crate) fn label(&self) -> &'static str {
        match self {
            Peer::Mgm { label, .. } => label,
            Peer::Igmpproxy => "igmpproxy 0.3",
            Peer::Smcroute => "smcroute 2.5",
            Peer::Pimd => "FRR 8.4 pimd+zebra",
            Peer::Floor => "floor (recv + MRT_ADD_MFC, nothing else)",
        }
    }

    /// A peer (ratios are mgm's over its figure) rather than one of mgm's variants.
    pub(crate) fn is_peer(&self) -> bool {
        !matches!(self, Peer::Mgm { .. })
    }
}

/// A daemon running in the lab.
pub(crate) enum Running {
    Mgm(mgm::MgmDaemon),
    Igmpproxy(igmpproxy::IgmpProxy),
    Smcroute(smcroute::Smcroute),
    Pimd(frr::Pimd),
    Floor(floor::FloorRouter),
}

impl Running {
    /// Its processes (FRR: pimd and zebra).
    pub(crate) fn pids(&self) -> Vec<u32> {
        match self {
            Running::Mgm(d) => vec![d.pid()],
            Running::Igmpproxy(d) => vec![d.pid()],
            Running::Smcroute(d) => vec![d.pid()],
            Running::Pimd(d) => d.pids.clone(),
            Running::Floor(d) => vec![d.pid()],
        }
    }

    /// CPU time of all its threads so far, ns.
    pub(crate) fn cpu_ns(&self) -> u64 {
        self.pids().into_iter().map(process_cpu_ns).sum()
    }

    /// Time its threads waited for a CPU so far, ns.
    pub(crate) fn wait_ns(&self) -> u64 {
        self.pids().into_iter().map(process_wait_ns).sum()
    }

    pub(crate) fn rss_kib(&self) -> u64 {
        self.pids().into_iter().map(process_rss_kib).sum()
    }

    /// Its BPF maps outside its VmRSS, by name, and the kernel memory each uses, bytes
    /// (`MgmDaemon::kernel_maps`); `None` for a daemon without any.
    pub(crate) fn kernel_maps(&self) -> Option<Vec<(String, u64)>> {
        match self {
            Running::Mgm(d) => Some(d.kernel_maps()),
            _ => None,
        }
    }

    /// Reports lost so far: dropped on the raw sockets of its namespace, and for mgm also those
    /// its event ring could not take.
    pub(crate) fn dropped(&self) -> u64 {
        let pid = self.pids()[0];
        raw_drops(pid)
            + match self {
                Running::Mgm(d) => d.counter("events_ring_full"),
                _ => 0,
            }
    }

    pub(crate) fn log(&self) -> String {
        match self {
            Running::Mgm(d) => d.log(),
            Running::Igmpproxy(d) => d.log(),
            Running::Smcroute(d) => d.log(),
            Running::Pimd(d) => d.log(),
            Running::Floor(d) => d.log(),
        }
    }
}
