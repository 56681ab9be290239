//! What the kernel has attached at an interface's TCX ingress hook, asked from inside the
//! interface's namespace (BPF_PROG_QUERY). It answers whether a classifier is still attached
//! whichever process holds its link, also after the daemon has exited (bpftool 7.1's `net show`
//! does not list TCX links, and a process's /proc fdinfo says nothing once it is gone).
#![allow(dead_code)]

use aya::programs::{tc::TcAttachType, SchedClassifier};

/// The names of the programs attached at the TCX ingress of `ifname` in namespace `ns` (the
/// kernel keeps 15 characters of a name: `mgm_igmp_ingres`).
pub(crate) fn tcx_ingress_programs(ns: &str, ifname: &str) -> Vec<String> {
    let path = format!("/run/netns/{ns}");
    let ifname = ifname.to_string();
    let asked = std::thread::spawn(move || -> Result<Vec<String>, String> {
        // The query names the interface by index, resolved in the calling thread's namespace.
        let f = std::fs::File::open(&path).map_err(|e| format!("open {path}: {e}"))?;
        nix::sched::setns(f, nix::sched::CloneFlags::CLONE_NEWNET)
            .map_err(|e| format!("setns {path}: {e}"))?;
        let (_, programs) = SchedClassifier::query_tcx(&ifname, TcAttachType::Ingress)
            .map_err(|e| format!("TCX query on {ifname}: {e}"))?;
        Ok(programs
            .iter()
            .map(|p| p.name_as_str().unwrap_or("?").to_string())
            .collect())
    })
    .join()
    .expect("TCX query thread");
    asked.unwrap_or_else(|e| panic!("{ns}: {e}"))
}

/// Whether one of mgm's classifiers is attached at the TCX ingress of `ifname` in `ns`.
pub(crate) fn mgm_attached(ns: &str, ifname: &str) -> bool {
    tcx_ingress_programs(ns, ifname)
        .iter()
        .any(|name| name.starts_with("mgm_"))
}
