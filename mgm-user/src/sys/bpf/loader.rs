//! Loads the classifier, pins its maps under the bpffs directory (re-using maps already pinned
//! there), and attaches it as a TCX ingress link to each managed interface. Dropping the
//! [`Classifier`] detaches every link; the pinned maps stay for bpftool and for a restart.
use super::maps::KernelMaps;
use super::object::object_bytes;
use anyhow::{anyhow, Context, Result};
use aya::maps::{MapData, RingBuf};
use aya::programs::links::LinkOrder;
use aya::programs::tc::{SchedClassifierLinkId, TcAttachOptions};
use aya::programs::{SchedClassifier, TcAttachType};
use aya::{Ebpf, EbpfLoader};
use mgm_common::maps::{ALL_MAPS, MAP_EVENTS, PROGRAM_NAME};
use std::path::{Path, PathBuf};

pub struct Classifier {
    ebpf: Ebpf,
    /// Exclusive lock on the pin directory: one daemon per set of pinned maps (held until drop).
    _pin_lock: nix::fcntl::Flock<std::fs::File>,
    links: Vec<(String, SchedClassifierLinkId)>,
}

impl Classifier {
    /// Loads the embedded object with its maps pinned in `pin_dir` (created if missing).
    pub fn load(pin_dir: &Path) -> Result<Self> {
        std::fs::create_dir_all(pin_dir)
            .with_context(|| format!("cannot create the pin directory {}", pin_dir.display()))?;
        // Two daemons on one set of pinned maps would take each other's events and delete each
        // other's entries (ifindexes are per network namespace): refuse the second one.
        let dir = std::fs::File::open(pin_dir)
            .with_context(|| format!("cannot open the pin directory {}", pin_dir.display()))?;
        let pin_lock = nix::fcntl::Flock::lock(dir, nix::fcntl::FlockArg::LockExclusiveNonblock)
            .map_err(|(_, e)| {
                anyhow!(
                    "another mgm daemon uses the pin directory {} ({e}); give each daemon its \
                     own --bpffs",
                    pin_dir.display()
                )
            })?;
        let paths: Vec<(&str, PathBuf)> = ALL_MAPS
            .iter()
            .map(|name| (*name, pin_dir.join(name)))
            .collect();
        let mut loader = EbpfLoader::new();
        for (name, path) in &paths {
            loader.map_pin_path(name, path.as_path());
        }
        let mut ebpf = loader.load(object_bytes()?).with_context(|| {
            format!(
                "cannot load the igmp-ebpf object with maps pinned in {} (maps pinned there by an \
                 incompatible mgm version must be removed first)",
                pin_dir.display()
            )
        })?;
        let program: &mut SchedClassifier = ebpf
            .program_mut(PROGRAM_NAME)
            .ok_or_else(|| anyhow!("program {PROGRAM_NAME} missing from the object"))?
            .try_into()
            .context("program type")?;
        program
            .load()
            .context("the kernel refused the classifier (verifier)")?;
        Ok(Self {
            ebpf,
            _pin_lock: pin_lock,
            links: Vec::new(),
        })
    }

    /// Attaches to `ifname` as a TCX ingress link (Linux ≥ 6.6).
    pub fn attach(&mut self, ifname: &str) -> Result<()> {
        let program: &mut SchedClassifier = self
            .ebpf
            .program_mut(PROGRAM_NAME)
            .ok_or_else(|| anyhow!("program {PROGRAM_NAME} missing from the object"))?
            .try_into()
            .context("program type")?;
        let id = program
            .attach_with_options(
                ifname,
                TcAttachType::Ingress,
                TcAttachOptions::TcxOrder(LinkOrder::default()),
            )
            .with_context(|| format!("cannot attach the classifier to {ifname} (TCX ingress)"))?;
        self.links.push((ifname.to_string(), id));
        Ok(())
    }

    /// Drops the link of `ifname` (its interface is gone; the kernel removed the link with it).
    pub fn forget(&mut self, ifname: &str) {
        let Some(program) = self.ebpf.program_mut(PROGRAM_NAME) else {
            return;
        };
        let Ok(program): Result<&mut SchedClassifier, _> = program.try_into() else {
            return;
        };
        let (gone, kept): (Vec<_>, Vec<_>) = self.links.drain(..).partition(|(n, _)| n == ifname);
        self.links = kept;
        for (_, id) in gone {
            let _ = program.detach(id);
        }
    }

    /// Typed handles on the shared maps (taken out of the object; call once).
    pub fn take_maps(&mut self) -> Result<(KernelMaps, RingBuf<MapData>)> {
        let maps = KernelMaps::take_from(&mut self.ebpf)?;
        let events = self
            .ebpf
            .take_map(MAP_EVENTS)
            .ok_or_else(|| anyhow!("map {MAP_EVENTS} missing from the object"))?;
        let events = RingBuf::try_from(events).context("MGM_EVENTS is not a ring buffer")?;
        Ok((maps, events))
    }

    /// Starts forwarding the program's aya-log messages to `log` (if the object logs at all).
    pub fn start_logger(&mut self) -> Option<aya_log::EbpfLogger<&'static dyn log::Log>> {
        match aya_log::EbpfLogger::init(&mut self.ebpf) {
            Ok(logger) => Some(logger),
            Err(e) => {
                log::debug!("classifier has no aya-log channel: {e}");
                None
            }
        }
    }

    /// Detaches every link now (also done on drop).
    pub fn detach_all(&mut self) {
        let Some(program) = self.ebpf.program_mut(PROGRAM_NAME) else {
            return;
        };
        let Ok(program): Result<&mut SchedClassifier, _> = program.try_into() else {
            return;
        };
        for (ifname, id) in self.links.drain(..) {
            if let Err(e) = program.detach(id) {
                log::warn!("detaching the classifier from {ifname}: {e}");
            }
        }
    }
}

impl Drop for Classifier {
    fn drop(&mut self) {
        self.detach_all();
    }
}
