//! Checks made before anything is loaded or attached, each failing with one line that names the
//! cause: invalid or repeated interface name, an interface of a kind the classifier does not
//! handle, missing privilege, no bpffs, kernel without TCX. A listed interface that is not there
//! yet, or has no IPv4 address yet, is no error: it is awaited ([`Presence`]).
use crate::sys::link::{self, LinkKind};
use anyhow::{bail, Context, Result};
use nix::sys::statfs::{statfs, BPF_FS_MAGIC};
use std::collections::HashSet;
use std::net::Ipv4Addr;
use std::path::Path;

/// A managed interface as the daemon knows it when it starts managing it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManagedInterface {
    pub name: String,
    pub ifindex: u32,
    /// Primary IPv4 address (source of our queries, querier election).
    pub address: Ipv4Addr,
    /// The interface's IPv4 subnets (and point-to-point peers as /32): where its hosts are.
    pub subnets: Vec<Subnet>,
    /// Where its packets' IPv4 header is: which classifier it gets.
    pub link: LinkKind,
}

/// How an interface's IPv4 addresses differ from what they were.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddressChange {
    /// The same primary address, other subnets (an address added or removed beside it: a
    /// secondary, a VRRP or keepalived address, another subnet).
    Subnets,
    /// Another primary address (a PPP redial, a re-addressed LAN): the router's own address.
    Primary,
}

impl ManagedInterface {
    /// How the addresses of `self` differ from `was`'s; `None` when the primary address and the
    /// subnets (compared as sets) are the same.
    pub fn address_change(&self, was: &ManagedInterface) -> Option<AddressChange> {
        if self.address != was.address {
            return Some(AddressChange::Primary);
        }
        let key = |s: &Subnet| (s.network, s.prefix_len);
        let set = |i: &ManagedInterface| -> std::collections::BTreeSet<_> {
            i.subnets.iter().map(key).collect()
        };
        (set(self) != set(was)).then_some(AddressChange::Subnets)
    }
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

/// The interface names of the command line: each valid, and listed once. These are certainly
/// the operator's mistakes, unlike an interface that is not there yet.
pub fn check_names(names: &[String]) -> Result<()> {
    let mut seen = HashSet::new();
    for name in names {
        if name.is_empty()
            || name.len() >= libc::IFNAMSIZ
            || name.contains(['/', ':'])
            || name.chars().any(char::is_whitespace)
            || name == "."
            || name == ".."
        {
            bail!("invalid interface name '{name}'");
        }
        if !seen.insert(name.as_str()) {
            bail!("interface '{name}' listed twice");
        }
    }
    Ok(())
}

/// What a listed interface is now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Presence {
    /// There, of a kind the classifier handles, with an IPv4 address: it can be managed.
    Ready(ManagedInterface),
    /// No interface of that name.
    Missing,
    /// There, without an IPv4 address.
    NoAddress { ifindex: u32 },
    /// There, of a device type the classifier does not handle.
    Unsupported { ifindex: u32, device_type: u16 },
}

/// The message for an interface of a kind the classifier does not handle.
pub fn unsupported(name: &str, device_type: u16) -> String {
    format!(
        "interface '{name}' is a {} link; mgm handles Ethernet links, links without a \
         link-layer header (tun, WireGuard, PPP, ipip, ip6tnl) and GRE",
        link::type_name(device_type)
    )
}

/// The interfaces and their addresses as they are now (one `getifaddrs`).
pub struct Interfaces {
    addrs: Vec<nix::ifaddrs::InterfaceAddress>,
}

impl Interfaces {
    pub fn now() -> Result<Self> {
        let addrs = nix::ifaddrs::getifaddrs().context("listing interface addresses")?;
        Ok(Interfaces {
            addrs: addrs.collect(),
        })
    }

    /// What interface `name` is now.
    pub fn resolve(&self, name: &str) -> Result<Presence> {
        let Some(device_type) = link::device_type(name)? else {
            return Ok(Presence::Missing);
        };
        let Ok(ifindex) = nix::net::if_::if_nametoindex(name) else {
            return Ok(Presence::Missing);
        };
        let Some(kind) = LinkKind::of_type(device_type) else {
            return Ok(Presence::Unsupported {
                ifindex,
                device_type,
            });
        };
        let Some(address) = self.ipv4(name) else {
            return Ok(Presence::NoAddress { ifindex });
        };
        Ok(Presence::Ready(ManagedInterface {
            name: name.to_string(),
            ifindex,
            address,
            subnets: subnets_of(&self.addrs, name),
            link: kind,
        }))
    }

    /// Whether interface `name` is there and administratively up.
    pub fn is_up(&self, name: &str) -> bool {
        self.flags(name)
            .is_some_and(|f| f.contains(nix::net::if_::InterfaceFlags::IFF_UP))
    }

    /// The flags of interface `name` (`IFF_UP`, `IFF_RUNNING`, `IFF_LOWER_UP` …), `None` when
    /// there is no interface of that name.
    pub fn flags(&self, name: &str) -> Option<nix::net::if_::InterfaceFlags> {
        self.addrs
            .iter()
            .find(|a| a.interface_name == name)
            .map(|a| a.flags)
    }

    /// The first IPv4 address of interface `name`.
    pub fn ipv4(&self, name: &str) -> Option<Ipv4Addr> {
        self.addrs
            .iter()
            .filter(|a| a.interface_name == name)
            .find_map(|a| a.address.as_ref()?.as_sockaddr_in().map(|s| s.ip()))
    }
}

/// The interfaces of the command line at start: the ones that can be managed now, and the
/// names awaited (not there yet, or without an IPv4 address yet). Invalid or repeated names
/// and interfaces of a kind the classifier does not handle are errors.
pub fn resolve_interfaces(names: &[String]) -> Result<(Vec<ManagedInterface>, Vec<String>)> {
    check_names(names)?;
    let now = Interfaces::now()?;
    let mut ready = Vec::new();
    let mut awaited = Vec::new();
    for name in names {
        match now.resolve(name)? {
            Presence::Ready(iface) => ready.push(iface),
            Presence::Missing | Presence::NoAddress { .. } => awaited.push(name.clone()),
            Presence::Unsupported { device_type, .. } => bail!(unsupported(name, device_type)),
        }
    }
    Ok((ready, awaited))
}

/// The IPv4 subnets of `name` (each address with its netmask) and, on point-to-point links, the
/// peer as a /32: each once, in the order of the addresses.
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
        .fold(Vec::new(), |mut subnets, s| {
            // A second address in a subnet already listed (a secondary, a VRRP address) adds
            // no subnet.
            if !subnets.contains(&s) {
                subnets.push(s);
            }
            subnets
        })
}

const CAP_NET_ADMIN: u32 = 12;
const CAP_NET_RAW: u32 = 13;
const CAP_SYS_ADMIN: u32 = 21;
const CAP_PERFMON: u32 = 38;
const CAP_BPF: u32 = 39;

/// The capabilities `mgm run` needs, each with what it is for; a missing one is named.
/// CAP_SYS_ADMIN stands in for CAP_BPF and CAP_PERFMON, as the kernel lets it.
fn missing_capabilities(effective: u64) -> Vec<&'static str> {
    let has = |cap: u32| effective & (1u64 << cap) != 0;
    let admin = has(CAP_SYS_ADMIN);
    [
        (
            CAP_BPF,
            admin,
            "CAP_BPF (load the classifier, pin the maps)",
        ),
        (
            CAP_PERFMON,
            admin,
            "CAP_PERFMON (the verifier refuses the classifier without it)",
        ),
        (
            CAP_NET_ADMIN,
            false,
            "CAP_NET_ADMIN (TCX links, the multicast routing table)",
        ),
        (
            CAP_NET_RAW,
            false,
            "CAP_NET_RAW (raw IGMP sockets for queries and reports)",
        ),
    ]
    .into_iter()
    .filter(|&(cap, instead, _)| !has(cap) && !instead)
    .map(|(_, _, what)| what)
    .collect()
}

/// Root, or the capabilities of `missing_capabilities` in the effective set.
pub fn check_privilege() -> Result<()> {
    let status =
        std::fs::read_to_string("/proc/self/status").context("reading /proc/self/status")?;
    let eff = status
        .lines()
        .find_map(|l| l.strip_prefix("CapEff:"))
        .and_then(|v| u64::from_str_radix(v.trim(), 16).ok())
        .unwrap_or(0);
    let missing = missing_capabilities(eff);
    if !missing.is_empty() {
        bail!(
            "mgm run needs root or CAP_BPF, CAP_PERFMON, CAP_NET_ADMIN and CAP_NET_RAW \
             (missing: {})",
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
        if let Some(netns) = ip_netns_exec() {
            bail!(
                "{} is not on a bpf filesystem: mgm seems started with `ip netns exec {netns}`, \
                 which remounts /sys in a mount namespace of its own, without the bpf \
                 filesystem (pins made there would vanish with it); enter the network \
                 namespace only: `nsenter --net=/run/netns/{netns} mgm run ...`",
                probe.display()
            );
        }
        bail!(
            "{} is not on a bpf filesystem; mount one with `mount -t bpf bpf /sys/fs/bpf` or pass --bpffs",
            probe.display()
        );
    }
    Ok(())
}

/// The name of the network namespace this process is in when it looks started by
/// `ip netns exec NAME`: the namespace is one of /run/netns, and the mount namespace is not
/// PID 1's (`ip netns exec` makes one, to remount /sys for the network namespace) or PID 1's
/// cannot be read.
fn ip_netns_exec() -> Option<String> {
    use std::os::unix::fs::MetadataExt;
    let own_mnt = std::fs::read_link("/proc/self/ns/mnt").ok();
    let init_mnt = std::fs::read_link("/proc/1/ns/mnt").ok();
    if own_mnt.is_some() && own_mnt == init_mnt {
        return None;
    }
    let net = std::fs::metadata("/proc/self/ns/net").ok()?;
    std::fs::read_dir("/run/netns")
        .ok()?
        .filter_map(|e| e.ok())
        .find(|e| {
            std::fs::metadata(e.path()).is_ok_and(|m| m.dev() == net.dev() && m.ino() == net.ino())
        })
        .map(|e| e.file_name().to_string_lossy().into_owned())
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
    fn every_missing_capability_is_named_and_sys_admin_stands_in_for_bpf_and_perfmon() {
        let bit = |c: u32| 1u64 << c;
        assert!(missing_capabilities(u64::MAX).is_empty());
        let all = bit(CAP_BPF) | bit(CAP_PERFMON) | bit(CAP_NET_ADMIN) | bit(CAP_NET_RAW);
        assert!(missing_capabilities(all).is_empty());
        let names = |eff: u64| -> Vec<String> {
            missing_capabilities(eff)
                .iter()
                .map(|w| w.split(' ').next().unwrap_or_default().to_string())
                .collect()
        };
        assert_eq!(
            names(0),
            ["CAP_BPF", "CAP_PERFMON", "CAP_NET_ADMIN", "CAP_NET_RAW"]
        );
        assert_eq!(names(all & !bit(CAP_PERFMON)), ["CAP_PERFMON"]);
        assert_eq!(names(all & !bit(CAP_NET_RAW)), ["CAP_NET_RAW"]);
        let admin = bit(CAP_SYS_ADMIN) | bit(CAP_NET_ADMIN) | bit(CAP_NET_RAW);
        assert!(missing_capabilities(admin).is_empty());
        assert_eq!(names(bit(CAP_SYS_ADMIN)), ["CAP_NET_ADMIN", "CAP_NET_RAW"]);
    }

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
        let e = resolve_interfaces(&["lo".into(), "lo".into()]).unwrap_err();
        assert_eq!(e.to_string(), "interface 'lo' listed twice");
        let e = resolve_interfaces(&["lo".into()]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "interface 'lo' is a loopback (type 772) link; mgm handles Ethernet links, links \
             without a link-layer header (tun, WireGuard, PPP, ipip, ip6tnl) and GRE"
        );
        for bad in [
            "x".repeat(20),
            String::new(),
            "a/b".into(),
            "a b".into(),
            "..".into(),
        ] {
            let e = resolve_interfaces(&[bad]).unwrap_err();
            assert!(e.to_string().starts_with("invalid interface name"), "{e}");
        }
    }

    #[test]
    fn interfaces_not_there_yet_are_awaited() {
        let (ready, awaited) =
            resolve_interfaces(&["mgm-no-such-if0".into(), "mgm-no-such-if1".into()]).unwrap();
        assert!(ready.is_empty());
        assert_eq!(awaited, ["mgm-no-such-if0", "mgm-no-such-if1"]);
        assert_eq!(
            Interfaces::now()
                .unwrap()
                .resolve("mgm-no-such-if0")
                .unwrap(),
            Presence::Missing
        );
    }

    #[test]
    fn addresses_compare_as_sets() {
        let iface = |subnets: Vec<Subnet>| ManagedInterface {
            name: "ppp0".into(),
            ifindex: 7,
            address: Ipv4Addr::new(203, 0, 113, 1),
            subnets,
            link: LinkKind::L3,
        };
        let a = subnet(Ipv4Addr::new(203, 0, 113, 1), 32);
        let b = subnet(Ipv4Addr::new(203, 0, 113, 2), 32);
        assert_eq!(iface(vec![a, b]).address_change(&iface(vec![b, a])), None);
        assert_eq!(
            iface(vec![a, b]).address_change(&iface(vec![a])),
            Some(AddressChange::Subnets)
        );
        let mut other = iface(vec![a]);
        other.address = Ipv4Addr::new(203, 0, 113, 9);
        assert_eq!(
            other.address_change(&iface(vec![a])),
            Some(AddressChange::Primary)
        );
    }

    /// One address of `name`, as `getifaddrs` lists it.
    fn ifaddr(name: &str, addr: [u8; 4], prefix_len: u8) -> nix::ifaddrs::InterfaceAddress {
        let v4 = |a: Ipv4Addr| {
            nix::sys::socket::SockaddrStorage::from(std::net::SocketAddrV4::new(a, 0))
        };
        let mask = u32::MAX
            .checked_shl(32 - u32::from(prefix_len))
            .unwrap_or(0);
        nix::ifaddrs::InterfaceAddress {
            interface_name: name.into(),
            flags: nix::net::if_::InterfaceFlags::IFF_UP,
            address: Some(v4(Ipv4Addr::from(addr))),
            netmask: Some(v4(Ipv4Addr::from(mask))),
            broadcast: None,
            destination: None,
        }
    }

    #[test]
    fn a_second_address_in_the_same_subnet_is_the_same_subnet_list() {
        let lan = |addrs: &[([u8; 4], u8)]| ManagedInterface {
            name: "eth1".into(),
            ifindex: 3,
            address: Ipv4Addr::new(192, 0, 2, 1),
            subnets: subnets_of(
                &addrs
                    .iter()
                    .map(|&(a, len)| ifaddr("eth1", a, len))
                    .collect::<Vec<_>>(),
                "eth1",
            ),
            link: LinkKind::Ethernet,
        };
        let one = lan(&[([192, 0, 2, 1], 24)]);
        // A VRRP address in the same /24, and one as a /32 host route.
        let vrrp = lan(&[([192, 0, 2, 1], 24), ([192, 0, 2, 254], 24)]);
        assert_eq!(vrrp.subnets, one.subnets);
        assert_eq!(vrrp.address_change(&one), None);
        let vip = lan(&[([192, 0, 2, 1], 24), ([192, 0, 2, 253], 32)]);
        assert_eq!(vip.address_change(&one), Some(AddressChange::Subnets));
        let other = lan(&[([192, 0, 2, 1], 24), ([198, 51, 100, 1], 24)]);
        assert_eq!(
            other.subnets,
            [
                subnet(Ipv4Addr::new(192, 0, 2, 0), 24),
                subnet(Ipv4Addr::new(198, 51, 100, 0), 24)
            ]
        );
    }

    #[test]
    fn a_tmpfs_is_not_bpffs() {
        let e = check_bpffs(Path::new("/tmp/mgm-not-bpffs/pins")).unwrap_err();
        assert!(e.to_string().contains("is not on a bpf filesystem"), "{e}");
    }
}
