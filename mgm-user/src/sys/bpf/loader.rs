//! Loads the classifier, pins its maps under the bpffs directory (re-using maps already pinned
//! there), and attaches it as a TCX ingress link to each managed interface: the entry point for
//! the interface's kind of link ([`LinkKind::program`]: Ethernet, L3, GRE), each loaded at the
//! first attach of its kind: the verifier takes about a quarter of a second of CPU per entry
//! point, and most routers use one. A refusal stops the start for the interfaces listed then,
//! and is logged naming the interface for one that arrives later. Dropping the [`Classifier`]
//! detaches every link; the pinned maps stay for bpftool and for a restart.
//!
//! The membership maps are sized from the limits ([`MapSizes`]): `MGM_MEMBERS` holds every
//! interface's `max-groups`, `MGM_SOURCES` every interface's `max-sources-total`, so the kernel
//! never refuses a write the limits allow and never holds more than they allow.
use super::maps::KernelMaps;
use super::object::object_bytes;
use crate::igmp::IgmpConfig;
use crate::sys::link::LinkKind;
use anyhow::{anyhow, Context, Result};
use aya::maps::{MapData, RingBuf};
use aya::programs::links::LinkOrder;
use aya::programs::tc::{SchedClassifierLinkId, TcAttachOptions};
use aya::programs::{SchedClassifier, TcAttachType};
use aya::{Ebpf, EbpfLoader};
use mgm_common::maps::{
    ALL_MAPS, ALL_PROGRAMS, MAP_EVENTS, MAP_IFACES, MAP_MEMBERS, MAP_SOURCES, MAP_STATS,
};
use std::path::{Path, PathBuf};

/// Most `MGM_MEMBERS` entries the limits may ask for (sum of `max-groups`).
pub const MAX_MEMBER_ENTRIES: u64 = 1 << 20;
/// Most `MGM_SOURCES` entries the limits may ask for (sum of `max-sources-total`).
pub const MAX_SOURCE_ENTRIES: u64 = 1 << 22;

/// Bytes of `MGM_EVENTS` per group the limits allow: a storm in which a sixth of them report
/// at once (48-byte records) finds room. With the default limits (4 096 groups an interface)
/// up to 8 interfaces get the smallest ring; 100 000 groups get 1 MiB.
pub const EVENT_BYTES_PER_GROUP: u64 = 8;
/// Largest `MGM_EVENTS` the limits may ask for.
pub const MAX_EVENT_RING_BYTES: u32 = 1 << 22;

/// Entries of the membership maps and bytes of the event ring, from the limits of the managed
/// interfaces.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MapSizes {
    pub members: u32,
    pub sources: u32,
    /// The kernel maps every page of a ring buffer into the daemon, the data pages twice: this
    /// is twice as much resident memory, whatever the traffic.
    pub events: u32,
}

impl MapSizes {
    /// What `interfaces` (name, configuration) can hold at their limits; refuses limits past
    /// what the maps may hold, naming the settings to lower.
    pub fn for_limits(interfaces: &[(String, IgmpConfig)]) -> Result<Self> {
        let names = || {
            interfaces
                .iter()
                .map(|(n, _)| n.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        };
        let members: u64 = interfaces
            .iter()
            .map(|(_, c)| u64::from(c.max_groups))
            .sum();
        let sources: u64 = interfaces
            .iter()
            .map(|(_, c)| {
                u64::from(c.max_sources_total)
                    .min(u64::from(c.max_groups) * u64::from(c.max_sources))
            })
            .sum();
        if members > MAX_MEMBER_ENTRIES {
            anyhow::bail!(
                "max-groups summed over {} is {members}, more than the {MAX_MEMBER_ENTRIES} \
                 groups {MAP_MEMBERS} can hold; lower max-groups",
                names()
            );
        }
        if sources > MAX_SOURCE_ENTRIES {
            anyhow::bail!(
                "max-sources-total summed over {} is {sources}, more than the \
                 {MAX_SOURCE_ENTRIES} sources {MAP_SOURCES} can hold; lower max-sources-total",
                names()
            );
        }
        let events = (members * EVENT_BYTES_PER_GROUP).next_power_of_two().clamp(
            u64::from(mgm_common::maps::EVENTS_RING_BYTES),
            u64::from(MAX_EVENT_RING_BYTES),
        );
        // All fit in u32: checked against caps below u32::MAX.
        Ok(MapSizes {
            members: members.max(1) as u32,
            sources: sources.max(1) as u32,
            events: events as u32,
        })
    }
}

/// A map pinned by an earlier run is re-used as it is: refuse it when it is smaller than the
/// limits need (the kernel would refuse writes the limits allow).
fn check_pinned(path: &Path, name: &str, need: u32) -> Result<()> {
    if !path.exists() {
        return Ok(());
    }
    let info = aya::maps::MapInfo::from_pin(path)
        .with_context(|| format!("cannot read the pinned map {}", path.display()))?;
    let has = info.max_entries();
    if has < need {
        anyhow::bail!(
            "the pinned {name} ({}) holds {has} entries, the limits need {need}: lower the \
             limits, or stop mgm and remove the maps pinned in {} (memberships are then \
             learnt afresh)",
            path.display(),
            path.parent().unwrap_or(path).display()
        );
    }
    Ok(())
}

/// Counters, the event ring and the interface settings hold no membership state (the daemon
/// writes every interface's settings at start): when an earlier mgm version pinned them with
/// another layout (a counter or a setting added, another ring size), they are replaced, not
/// refused. Returns the maps replaced.
fn replace_stale_transient_maps(pin_dir: &Path, ring_bytes: u32) -> Result<Vec<&'static str>> {
    let expected = [
        (
            MAP_IFACES,
            u32::try_from(std::mem::size_of::<mgm_common::IfaceSettings>()).unwrap_or(u32::MAX),
            mgm_common::maps::MAX_IFACES,
        ),
        (
            MAP_STATS,
            u32::try_from(std::mem::size_of::<mgm_common::IgmpStats>()).unwrap_or(u32::MAX),
            1,
        ),
        (MAP_EVENTS, 0, ring_bytes),
    ];
    let mut replaced = Vec::new();
    for (name, value_size, max_entries) in expected {
        let path = pin_dir.join(name);
        if !path.exists() {
            continue;
        }
        let info = aya::maps::MapInfo::from_pin(&path)
            .with_context(|| format!("cannot read the pinned map {}", path.display()))?;
        if info.value_size() != value_size || info.max_entries() != max_entries {
            std::fs::remove_file(&path)
                .with_context(|| format!("cannot replace the pinned map {}", path.display()))?;
            replaced.push(name);
        }
    }
    Ok(replaced)
}

pub struct Classifier {
    ebpf: Ebpf,
    /// Exclusive lock on the pin directory: one daemon per set of pinned maps (held until drop).
    _pin_lock: nix::fcntl::Flock<std::fs::File>,
    /// Interface name, the entry point attached there, the link.
    links: Vec<(String, &'static str, SchedClassifierLinkId)>,
}

impl Classifier {
    /// Loads the embedded object with its maps pinned in `pin_dir` (created if missing), the
    /// membership maps sized to `sizes`.
    pub fn load(pin_dir: &Path, sizes: MapSizes) -> Result<Self> {
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
        for name in replace_stale_transient_maps(pin_dir, sizes.events)? {
            log::info!(
                "{name} pinned in {} had another mgm version's layout: replaced (its contents \
                 were counters or events in flight)",
                pin_dir.display()
            );
        }
        check_pinned(&pin_dir.join(MAP_MEMBERS), MAP_MEMBERS, sizes.members)?;
        check_pinned(&pin_dir.join(MAP_SOURCES), MAP_SOURCES, sizes.sources)?;
        let mut loader = EbpfLoader::new();
        for (name, path) in &paths {
            loader.map_pin_path(name, path.as_path());
        }
        loader.map_max_entries(MAP_MEMBERS, sizes.members);
        loader.map_max_entries(MAP_SOURCES, sizes.sources);
        loader.map_max_entries(MAP_EVENTS, sizes.events);
        let mut ebpf = loader.load(object_bytes()?).with_context(|| {
            format!(
                "cannot load the igmp-ebpf object with maps pinned in {} (maps pinned there by an \
                 incompatible mgm version must be removed first)",
                pin_dir.display()
            )
        })?;
        // The entry points are loaded (verified) at their first attach, not here: each takes
        // the verifier about a quarter of a second of CPU, and most routers have one kind of
        // link. Each must be in the object all the same.
        for name in ALL_PROGRAMS {
            classifier_of(&mut ebpf, name)?;
        }
        Ok(Self {
            ebpf,
            _pin_lock: pin_lock,
            links: Vec::new(),
        })
    }

    /// Attaches the classifier for `kind` to `ifname` as a TCX ingress link (Linux ≥ 6.6).
    /// The entry point of `kind` is loaded first if no link of that kind was attached before.
    pub fn attach(&mut self, ifname: &str, kind: LinkKind) -> Result<()> {
        let name = kind.program();
        let program = classifier_of(&mut self.ebpf, name)?;
        if program.fd().is_err() {
            program.load().with_context(|| {
                format!(
                    "the kernel refused the classifier of {} links (verifier)",
                    kind.describe()
                )
            })?;
        }
        let id = program
            .attach_with_options(
                ifname,
                TcAttachType::Ingress,
                TcAttachOptions::TcxOrder(LinkOrder::default()),
            )
            .with_context(|| {
                format!(
                    "cannot attach the classifier of {} links to {ifname} (TCX ingress)",
                    kind.describe()
                )
            })?;
        self.links.push((ifname.to_string(), name, id));
        Ok(())
    }

    /// Drops the link of `ifname` (its interface is gone; the kernel removed the link with it).
    pub fn forget(&mut self, ifname: &str) {
        let (gone, kept): (Vec<_>, Vec<_>) = self.links.drain(..).partition(|(n, ..)| n == ifname);
        self.links = kept;
        for (_, program, id) in gone {
            if let Ok(p) = classifier_of(&mut self.ebpf, program) {
                let _ = p.detach(id);
            }
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

    /// Detaches every link now (also done on drop).
    pub fn detach_all(&mut self) {
        for (ifname, program, id) in std::mem::take(&mut self.links) {
            let detached = classifier_of(&mut self.ebpf, program).and_then(|p| Ok(p.detach(id)?));
            if let Err(e) = detached {
                log::warn!("detaching the classifier from {ifname}: {e:#}");
            }
        }
    }
}

/// The classifier entry point `name` of the object.
fn classifier_of<'a>(ebpf: &'a mut Ebpf, name: &str) -> Result<&'a mut SchedClassifier> {
    ebpf.program_mut(name)
        .ok_or_else(|| anyhow!("program {name} missing from the object"))?
        .try_into()
        .with_context(|| format!("program {name} is not a classifier"))
}

impl Drop for Classifier {
    fn drop(&mut self) {
        self.detach_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn iface(name: &str, f: impl Fn(&mut IgmpConfig)) -> (String, IgmpConfig) {
        let mut c = IgmpConfig::default();
        f(&mut c);
        (name.to_string(), c)
    }

    #[test]
    fn maps_are_sized_from_the_limits() {
        let one = MapSizes::for_limits(&[iface("eth1", |_| {})]).unwrap();
        assert_eq!((one.members, one.sources), (4096, 32_768));
        assert_eq!(one.events, 256 << 10, "the smallest ring");
        let two = MapSizes::for_limits(&[
            iface("eth1", |c| c.max_groups = 100),
            // 10 groups x 4 sources cannot reach max-sources-total.
            iface("eth2", |c| {
                c.max_groups = 10;
                c.max_sources = 4;
            }),
        ])
        .unwrap();
        assert_eq!((two.members, two.sources), (110, 32_768 + 40));
    }

    #[test]
    fn the_event_ring_grows_with_the_groups_allowed() {
        let ifaces = |n: usize, groups: u32| -> Vec<_> {
            (0..n)
                .map(|i| iface(&format!("eth{i}"), |c| c.max_groups = groups))
                .collect()
        };
        let ring = |n, groups| MapSizes::for_limits(&ifaces(n, groups)).unwrap().events;
        assert_eq!(ring(8, 4096), 256 << 10, "default limits, 8 interfaces");
        assert_eq!(
            ring(9, 4096),
            512 << 10,
            "a power of two above 9 x 4096 x 8 bytes"
        );
        assert_eq!(ring(1, 100_000), 1 << 20);
        assert_eq!(ring(2, 50_000), 1 << 20);
        assert_eq!(ring(16, 65_536), 4 << 20, "at most 4 MiB");
        assert_eq!(ring(1, 0), 256 << 10);
    }

    #[test]
    fn limits_past_what_the_maps_may_hold_are_refused_by_name() {
        let e = MapSizes::for_limits(&[
            iface("eth1", |c| c.max_groups = 1 << 20),
            iface("eth2", |c| c.max_groups = 1),
        ])
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "max-groups summed over eth1, eth2 is 1048577, more than the 1048576 groups \
             MGM_MEMBERS can hold; lower max-groups"
        );
        let e = MapSizes::for_limits(&[iface("eth1", |c| {
            c.max_sources_total = u32::MAX;
            c.max_groups = 8192;
        })])
        .unwrap_err();
        assert!(
            e.to_string()
                .starts_with("max-sources-total summed over eth1 is "),
            "{e}"
        );
    }
}
