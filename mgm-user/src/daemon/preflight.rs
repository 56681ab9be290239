//! Checks made before anything is loaded or attached, each failing with one line that names the
//! cause: unknown or repeated interface, missing privilege, no bpffs, kernel without TCX.
use anyhow::{bail, Context, Result};
use nix::sys::statfs::{statfs, BPF_FS_MAGIC};
use std::collections::HashSet;
use std::net::Ipv4Addr;
use std::path::Path;

/// A managed interface as the daemon knows it at start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManagedInterface {
    pub name: String,
    pub ifindex: u32,
    /// Primary IPv4 address (source of our queries, querier election).
    pub address: Ipv4Addr,
    /// The interface's IPv4 subnets (and point-to-point peers as /32): where its hosts are.
    pub subnets: Vec<Subnet>,
}

/// An IPv4 prefix: the classifier's own type (one prefix matcher for both paths).
pub use mgm_common::maps::LinkSubnet as Subnet;

/// The prefix `addr/prefix_len` (host bits cleared).
pub fn subnet(addr: Ipv4Addr, prefix_len: u8) -> Subnet {
    let prefix_len = prefix_len.min(32);
    let mask = match prefix_len {
        0 => 0,
        n => u32::MAX << (32 - u32::from(n)),
    };
    Subnet {
        network: (u32::from(addr) & mask).to_be_bytes(),
        prefix_len,
        _pad: [0; 3],
    }
}

/// Resolves the interface names: each must exist, be listed once, and have an IPv4 address.
pub fn resolve_interfaces(names: &[String]) -> Result<Vec<ManagedInterface>> {
    let mut seen = HashSet::new();
    let addrs = nix::ifaddrs::getifaddrs().context("listing interface addresses")?;
    let addrs: Vec<_> = addrs.collect();
    for name in names {
        if name.is_empty() || name.len() >= libc::IFNAMSIZ {
            bail!("invalid interface name '{name}'");
        }
        if !seen.insert(name.as_str()) {
            bail!("interface '{name}' listed twice");
        }
    }
    let mut out = Vec::new();
    for name in names {
        let ifindex = nix::net::if_::if_nametoindex(name.as_str())
            .map_err(|_| anyhow::anyhow!("unknown interface '{name}'"))?;
        let link_type = addrs
            .iter()
            .filter(|a| a.interface_name == *name)
            .find_map(|a| a.address.as_ref()?.as_link_addr().map(|l| l.hatype()));
        if let Some(t) = link_type {
            if t != libc::ARPHRD_ETHER {
                bail!(
                    "interface '{name}' is not an Ethernet interface (link type {t}); the IGMP \
                     classifier parses Ethernet frames only"
                );
            }
        }
        let address = addrs
            .iter()
            .filter(|a| a.interface_name == *name)
            .find_map(|a| a.address.as_ref()?.as_sockaddr_in().map(|s| s.ip()))
            .ok_or_else(|| anyhow::anyhow!("interface '{name}' has no IPv4 address"))?;
        let subnets = subnets_of(&addrs, name);
        out.push(ManagedInterface {
            name: name.clone(),
            ifindex,
            address,
            subnets,
        });
    }
    Ok(out)
}

/// The IPv4 subnets of `name` (each address with its netmask) and, on point-to-point links, the
/// peer as a /32.
fn subnets_of(addrs: &[nix::ifaddrs::InterfaceAddress], name: &str) -> Vec<Subnet> {
    addrs
        .iter()
        .filter(|a| a.interface_name == name)
        .flat_map(|a| {
            let ip = a
                .address
                .as_ref()
                .and_then(|x| x.as_sockaddr_in())
                .map(|s| s.ip());
            let len = a
                .netmask
                .as_ref()
                .and_then(|x| x.as_sockaddr_in())
                .map(|m| u32::from(m.ip()).count_ones() as u8);
            let peer = a
                .destination
                .as_ref()
                .and_then(|x| x.as_sockaddr_in())
                .map(|s| s.ip())
                .filter(|_| {
                    a.flags
                        .contains(nix::net::if_::InterfaceFlags::IFF_POINTOPOINT)
                });
            let own = ip.zip(len).map(|(ip, len)| subnet(ip, len));
            own.into_iter().chain(peer.map(|p| subnet(p, 32)))
        })
        .collect()
}

/// Whether the interface exists and is administratively up.
pub fn is_up(name: &str) -> bool {
    nix::ifaddrs::getifaddrs()
        .map(|mut addrs| {
            addrs.any(|a| {
                a.interface_name == name && a.flags.contains(nix::net::if_::InterfaceFlags::IFF_UP)
            })
        })
        .unwrap_or(false)
}

const CAP_NET_ADMIN: u32 = 12;
const CAP_SYS_ADMIN: u32 = 21;
const CAP_BPF: u32 = 39;

/// Root, or CAP_BPF (or CAP_SYS_ADMIN) and CAP_NET_ADMIN in the effective set.
pub fn check_privilege() -> Result<()> {
    let status =
        std::fs::read_to_string("/proc/self/status").context("reading /proc/self/status")?;
    let eff = status
        .lines()
        .find_map(|l| l.strip_prefix("CapEff:"))
        .and_then(|v| u64::from_str_radix(v.trim(), 16).ok())
        .unwrap_or(0);
    let has = |cap: u32| eff & (1u64 << cap) != 0;
    let mut missing = Vec::new();
    if !has(CAP_BPF) && !has(CAP_SYS_ADMIN) {
        missing.push("CAP_BPF");
    }
    if !has(CAP_NET_ADMIN) {
        missing.push("CAP_NET_ADMIN");
    }
    if !missing.is_empty() {
        bail!(
            "mgm run needs root or CAP_BPF and CAP_NET_ADMIN (missing: {})",
            missing.join(", ")
        );
    }
    Ok(())
}

/// The pin directory must be on a bpf filesystem (it, or its nearest existing ancestor when it
/// does not exist yet: the daemon creates it).
pub fn check_bpffs(dir: &Path) -> Result<()> {
    let probe = dir.ancestors().find(|p| p.exists()).unwrap_or(dir);
    let fs = statfs(probe).map_err(|e| anyhow::anyhow!("cannot stat {}: {e}", probe.display()))?;
    if fs.filesystem_type() != BPF_FS_MAGIC {
        bail!(
            "{} is not on a bpf filesystem; mount one with `mount -t bpf bpf /sys/fs/bpf` or pass --bpffs",
            probe.display()
        );
    }
    Ok(())
}

/// TCX links need Linux 6.6 or newer.
pub fn check_tcx() -> Result<()> {
    let uname = nix::sys::utsname::uname().context("uname")?;
    let release = uname.release().to_string_lossy().into_owned();
    if !kernel_at_least(&release, 6, 6) {
        bail!("kernel {release} has no TCX links; mgm needs Linux >= 6.6");
    }
    Ok(())
}

fn kernel_at_least(release: &str, major: u32, minor: u32) -> bool {
    let mut parts = release.split(|c: char| !c.is_ascii_digit());
    let maj = parts
        .next()
        .and_then(|p| p.parse::<u32>().ok())
        .unwrap_or(0);
    let min = parts
        .next()
        .and_then(|p| p.parse::<u32>().ok())
        .unwrap_or(0);
    (maj, min) >= (major, minor)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subnets_contain_their_hosts_only() {
        let s = subnet(Ipv4Addr::new(192, 0, 2, 1), 24);
        assert_eq!(s.network, [192, 0, 2, 0]);
        assert!(s.contains([192, 0, 2, 200]));
        assert!(!s.contains([192, 0, 3, 1]));
        let host = subnet(Ipv4Addr::new(198, 51, 100, 7), 32);
        assert!(host.contains([198, 51, 100, 7]));
        assert!(!host.contains([198, 51, 100, 8]));
        assert!(subnet(Ipv4Addr::new(203, 0, 113, 9), 0).contains([192, 0, 2, 1]));
        let addrs: Vec<_> = nix::ifaddrs::getifaddrs().unwrap().collect();
        let lo = subnets_of(&addrs, "lo");
        assert!(
            lo.contains(&subnet(Ipv4Addr::new(127, 0, 0, 1), 8)),
            "{lo:?}"
        );
    }

    #[test]
    fn kernel_versions_compare_numerically() {
        assert!(kernel_at_least("6.18.44-fc-v657", 6, 6));
        assert!(kernel_at_least("6.6.0", 6, 6));
        assert!(!kernel_at_least("6.5.13-generic", 6, 6));
        assert!(!kernel_at_least("5.15.0", 6, 6));
        assert!(kernel_at_least("10.0", 6, 6));
        assert!(!kernel_at_least("garbage", 6, 6));
    }

    #[test]
    fn interface_errors_name_the_input() {
        let e = resolve_interfaces(&["mgm-no-such-if0".into()]).unwrap_err();
        assert_eq!(e.to_string(), "unknown interface 'mgm-no-such-if0'");
        let e = resolve_interfaces(&["lo".into(), "lo".into()]).unwrap_err();
        assert_eq!(e.to_string(), "interface 'lo' listed twice");
        let e = resolve_interfaces(&["lo".into()]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "interface 'lo' is not an Ethernet interface (link type 772); the IGMP classifier \
             parses Ethernet frames only"
        );
        let e = resolve_interfaces(&["x".repeat(20)]).unwrap_err();
        assert!(e.to_string().starts_with("invalid interface name"));
    }

    #[test]
    fn a_tmpfs_is_not_bpffs() {
        let e = check_bpffs(Path::new("/tmp/mgm-not-bpffs/pins")).unwrap_err();
        assert!(e.to_string().contains("is not on a bpf filesystem"), "{e}");
    }
}
