//! Typed access to the maps the daemon shares with the classifier.
use anyhow::{anyhow, Context, Result};
use aya::maps::{HashMap, MapData, MapError, PerCpuArray};
use aya::Ebpf;
use mgm_common::maps::{MAP_IFACES, MAP_MEMBERS, MAP_SOURCES, MAP_STATS};
use mgm_common::{IfaceSettings, IgmpStats, MemberKey, MemberState, SourceKey, SourceState};

pub struct KernelMaps {
    pub ifaces: HashMap<MapData, u32, IfaceSettings>,
    pub members: HashMap<MapData, MemberKey, MemberState>,
    pub sources: HashMap<MapData, SourceKey, SourceState>,
    pub stats: PerCpuArray<MapData, IgmpStats>,
}

fn take(ebpf: &mut Ebpf, name: &str) -> Result<aya::maps::Map> {
    ebpf.take_map(name)
        .ok_or_else(|| anyhow!("map {name} missing from the object"))
}

impl KernelMaps {
    pub fn take_from(ebpf: &mut Ebpf) -> Result<Self> {
        Ok(Self {
            ifaces: HashMap::try_from(take(ebpf, MAP_IFACES)?).context(MAP_IFACES)?,
            members: HashMap::try_from(take(ebpf, MAP_MEMBERS)?).context(MAP_MEMBERS)?,
            sources: HashMap::try_from(take(ebpf, MAP_SOURCES)?).context(MAP_SOURCES)?,
            stats: PerCpuArray::try_from(take(ebpf, MAP_STATS)?).context(MAP_STATS)?,
        })
    }

    /// Counters summed over every CPU.
    pub fn stats(&self) -> Result<IgmpStats> {
        let per_cpu = self.stats.get(&0, 0).context("reading MGM_STATS")?;
        let mut total = IgmpStats::default();
        for cpu in per_cpu.iter() {
            total.accumulate(cpu);
        }
        Ok(total)
    }

    pub fn member(&self, key: &MemberKey) -> Result<Option<MemberState>> {
        absent_is_none(self.members.get(key, 0)).context("reading MGM_MEMBERS")
    }

    pub fn source(&self, key: &SourceKey) -> Result<Option<SourceState>> {
        absent_is_none(self.sources.get(key, 0)).context("reading MGM_SOURCES")
    }

    pub fn write_member(&mut self, key: MemberKey, state: MemberState) -> Result<()> {
        self.members
            .insert(key, state, 0)
            .context("writing MGM_MEMBERS")
    }

    pub fn delete_member(&mut self, key: &MemberKey) -> Result<()> {
        ignore_absent(self.members.remove(key)).context("deleting from MGM_MEMBERS")
    }

    pub fn write_source(&mut self, key: SourceKey, state: SourceState) -> Result<()> {
        self.sources
            .insert(key, state, 0)
            .context("writing MGM_SOURCES")
    }

    pub fn delete_source(&mut self, key: &SourceKey) -> Result<()> {
        ignore_absent(self.sources.remove(key)).context("deleting from MGM_SOURCES")
    }

    /// Removes the member and source entries of every interface not in `managed` (left by an
    /// earlier run that managed other interfaces: nothing would ever refresh or expire them).
    /// Returns how many entries went.
    pub fn retain_interfaces(&mut self, managed: &[u32]) -> Result<usize> {
        let stale = |ifindex: u32| !managed.contains(&ifindex);
        let members: Vec<MemberKey> = self
            .members
            .keys()
            .filter_map(|k| k.ok())
            .filter(|k| stale(k.ifindex))
            .collect();
        let sources: Vec<SourceKey> = self
            .sources
            .keys()
            .filter_map(|k| k.ok())
            .filter(|k| stale(k.ifindex))
            .collect();
        for k in &sources {
            self.delete_source(k)?;
        }
        for k in &members {
            self.delete_member(k)?;
        }
        Ok(members.len() + sources.len())
    }
}

fn absent_is_none<V>(r: Result<V, MapError>) -> Result<Option<V>, MapError> {
    match r {
        Ok(v) => Ok(Some(v)),
        Err(MapError::KeyNotFound) => Ok(None),
        Err(e) => Err(e),
    }
}

/// A delete of a key that is not there is no failure: aya reports it as the syscall's ENOENT.
fn ignore_absent(r: Result<(), MapError>) -> Result<(), MapError> {
    match r {
        Err(MapError::KeyNotFound) => Ok(()),
        Err(MapError::SyscallError(e)) if e.io_error.raw_os_error() == Some(libc::ENOENT) => Ok(()),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aya::sys::SyscallError;

    fn failed(errno: i32) -> Result<(), MapError> {
        Err(MapError::SyscallError(SyscallError {
            call: "bpf_map_delete_elem",
            io_error: std::io::Error::from_raw_os_error(errno),
        }))
    }

    #[test]
    fn deleting_an_absent_key_is_no_failure_but_other_errors_are() {
        assert!(ignore_absent(failed(libc::ENOENT)).is_ok());
        assert!(ignore_absent(Err(MapError::KeyNotFound)).is_ok());
        assert!(ignore_absent(failed(libc::EPERM)).is_err());
        assert!(ignore_absent(failed(libc::E2BIG)).is_err());
    }
}
