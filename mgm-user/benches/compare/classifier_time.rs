//! The classifier's own time: the kernel's run-time statistics of the programs mgm attached at
//! the router's TCX ingress hooks (`run_time_ns` and `run_cnt` of `bpf_prog_info`). That work runs
//! in softirq, on the sender's packets, where no thread's schedstat counts it.
use aya::programs::{tc::TcAttachType, SchedClassifier};
use aya::sys::{enable_stats, Stats};
use std::os::fd::OwnedFd;

/// The kernel counts programs' run time and runs while this is held: `BPF_ENABLE_STATS`, the
/// switch behind the `kernel.bpf_stats_enabled` sysctl. Closing it puts the switch back as it was
/// (off unless something else holds it), also when the bench panics.
pub(crate) struct RunTimeStats {
    _held: OwnedFd,
}

impl RunTimeStats {
    pub(crate) fn enable() -> RunTimeStats {
        let held = enable_stats(Stats::RunTime)
            .unwrap_or_else(|e| panic!("enable the kernel's BPF run-time statistics: {e}"));
        RunTimeStats { _held: held }
    }
}

/// What mgm's classifiers have run so far, summed over the interfaces asked.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct ClassifierRuns {
    pub(crate) time_ns: u64,
    pub(crate) runs: u64,
}

impl ClassifierRuns {
    /// The run time and runs of mgm's classifiers (names `mgm_…`) attached at the TCX ingress of
    /// `ifnames` in namespace `ns`, on every interface they serve. Panics when one of `ifnames`
    /// has none attached: a reading without the classifier would charge mgm nothing for its
    /// kernel side.
    pub(crate) fn read(ns: &str, ifnames: &[&str]) -> ClassifierRuns {
        let path = format!("/run/netns/{ns}");
        let ifnames: Vec<String> = ifnames.iter().map(|s| s.to_string()).collect();
        let asked = std::thread::spawn(move || -> Result<ClassifierRuns, String> {
            // The query names the interface by index, resolved in the calling thread's namespace.
            let f = std::fs::File::open(&path).map_err(|e| format!("open {path}: {e}"))?;
            nix::sched::setns(f, nix::sched::CloneFlags::CLONE_NEWNET)
                .map_err(|e| format!("setns {path}: {e}"))?;
            // One program serves every interface of its kind, and its statistics are the
            // program's, not the link's: each program counts once.
            let mut programs = std::collections::BTreeMap::new();
            for ifname in &ifnames {
                let (_, attached) = SchedClassifier::query_tcx(ifname, TcAttachType::Ingress)
                    .map_err(|e| format!("TCX query on {ifname}: {e}"))?;
                let mut found = false;
                for p in attached
                    .iter()
                    .filter(|p| p.name_as_str().is_some_and(|n| n.starts_with("mgm_")))
                {
                    found = true;
                    programs.insert(p.id(), (p.run_time().as_nanos() as u64, p.run_count()));
                }
                if !found {
                    return Err(format!("no mgm classifier at the TCX ingress of {ifname}"));
                }
            }
            let sum = programs
                .values()
                .fold(ClassifierRuns::default(), |s, &(time_ns, runs)| {
                    ClassifierRuns {
                        time_ns: s.time_ns + time_ns,
                        runs: s.runs + runs,
                    }
                });
            Ok(sum)
        })
        .join()
        .expect("TCX query thread");
        asked.unwrap_or_else(|e| panic!("{ns}: {e}"))
    }

    /// What ran between `earlier` and this reading.
    pub(crate) fn since(self, earlier: ClassifierRuns) -> ClassifierRuns {
        ClassifierRuns {
            time_ns: self.time_ns.saturating_sub(earlier.time_ns),
            runs: self.runs.saturating_sub(earlier.runs),
        }
    }
}
