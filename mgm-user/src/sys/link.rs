//! What kind of link an interface is, for the classifier: where the IPv4 header of the packets
//! its TCX ingress sees starts. Decided from the device type (`ARPHRD_*`, as `ip link` shows it
//! after `link/`), read with `SIOCGIFHWADDR` in the caller's network namespace (sysfs would show
//! the namespace it was mounted in, not ours).
use anyhow::{bail, Result};
use mgm_common::maps::{PROGRAM_NAME, PROGRAM_NAME_GRE, PROGRAM_NAME_IP};
use std::os::fd::AsRawFd;

/// Device types (`include/uapi/linux/if_arp.h`).
pub const ARPHRD_ETHER: u16 = 1;
pub const ARPHRD_PPP: u16 = 512;
pub const ARPHRD_RAWIP: u16 = 519;
pub const ARPHRD_TUNNEL: u16 = 768;
pub const ARPHRD_TUNNEL6: u16 = 769;
pub const ARPHRD_LOOPBACK: u16 = 772;
pub const ARPHRD_SIT: u16 = 776;
pub const ARPHRD_IPGRE: u16 = 778;
pub const ARPHRD_IP6GRE: u16 = 823;
pub const ARPHRD_NONE: u16 = 0xfffe;

/// How the classifier finds the IPv4 header on a link; one classifier entry point each.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LinkKind {
    /// An Ethernet header (and maybe VLAN tags) first: veth, bridges, VLAN devices, gretap.
    Ethernet,
    /// No link-layer header, the IPv4 header first: tun and WireGuard (`none`), PPP, ipip and
    /// vti (`ipip`), ip6tnl, ip6gre, raw-IP modems.
    L3,
    /// GRE: the IPv4 header first (point-to-point GRE), or behind the outer IPv4 and GRE headers
    /// that GRE with header operations (NBMA, multicast) keeps as its link-layer header.
    Gre,
}

impl LinkKind {
    /// The kind of a device type; `None` for types the classifier does not handle (loopback,
    /// sit, InfiniBand, ...).
    pub fn of_type(arphrd: u16) -> Option<Self> {
        match arphrd {
            ARPHRD_ETHER => Some(LinkKind::Ethernet),
            ARPHRD_NONE | ARPHRD_PPP | ARPHRD_RAWIP | ARPHRD_TUNNEL | ARPHRD_TUNNEL6
            | ARPHRD_IP6GRE => Some(LinkKind::L3),
            ARPHRD_IPGRE => Some(LinkKind::Gre),
            _ => None,
        }
    }

    /// The classifier entry point for this kind of link.
    pub fn program(self) -> &'static str {
        match self {
            LinkKind::Ethernet => PROGRAM_NAME,
            LinkKind::L3 => PROGRAM_NAME_IP,
            LinkKind::Gre => PROGRAM_NAME_GRE,
        }
    }

    /// For logs: "Ethernet", "L3", "GRE".
    pub fn describe(self) -> &'static str {
        match self {
            LinkKind::Ethernet => "Ethernet",
            LinkKind::L3 => "L3",
            LinkKind::Gre => "GRE",
        }
    }
}

/// An `ifreq` ioctl (`SIOCGIF*`) on interface `name` in this network namespace: the `ifreq`
/// the kernel filled, or the error number.
fn ifreq_ioctl(
    name: &str,
    request: libc::c_ulong,
) -> Result<std::result::Result<libc::ifreq, std::io::Error>> {
    if name.is_empty() || name.len() >= libc::IFNAMSIZ {
        bail!("invalid interface name '{name}'");
    }
    let sock = nix::sys::socket::socket(
        nix::sys::socket::AddressFamily::Inet,
        nix::sys::socket::SockType::Datagram,
        nix::sys::socket::SockFlag::SOCK_CLOEXEC,
        None,
    )
    .map_err(|e| anyhow::anyhow!("socket for an interface ioctl: {e}"))?;
    // SAFETY: an all-zero ifreq is a valid value; the name (shorter than IFNAMSIZ, so
    // NUL-terminated by the zeroes) is filled in below.
    let mut ifr: libc::ifreq = unsafe { std::mem::zeroed() };
    for (dst, src) in ifr.ifr_name.iter_mut().zip(name.bytes()) {
        *dst = src as libc::c_char;
    }
    // SAFETY: the SIOCGIF* requests read the name from and write their answer into the one
    // ifreq passed, which `ifr` is; the socket is open.
    let rc = unsafe { libc::ioctl(sock.as_raw_fd(), request as _, &mut ifr) };
    if rc < 0 {
        return Ok(Err(std::io::Error::last_os_error()));
    }
    Ok(Ok(ifr))
}

/// The device type (`ARPHRD_*`) of interface `name` in this network namespace; `None` when
/// there is no such interface.
pub fn device_type(name: &str) -> Result<Option<u16>> {
    match ifreq_ioctl(name, libc::SIOCGIFHWADDR)? {
        // SAFETY: the kernel filled the hardware address, whose family is the device type.
        Ok(ifr) => Ok(Some(unsafe { ifr.ifr_ifru.ifru_hwaddr.sa_family })),
        Err(e) if e.raw_os_error() == Some(libc::ENODEV) => Ok(None),
        Err(e) => bail!("reading the device type of {name}: {e}"),
    }
}

/// The MTU of interface `name` in this network namespace (SIOCGIFMTU).
pub fn mtu(name: &str) -> Result<u32> {
    match ifreq_ioctl(name, libc::SIOCGIFMTU)? {
        // SAFETY: the kernel filled the MTU member of the union.
        Ok(ifr) => Ok(u32::try_from(unsafe { ifr.ifr_ifru.ifru_mtu }).unwrap_or(0)),
        Err(e) => bail!("reading the MTU of {name}: {e}"),
    }
}

/// A device type by the name `ip link` gives it, for messages.
pub fn type_name(arphrd: u16) -> String {
    let name = match arphrd {
        ARPHRD_ETHER => "ether",
        ARPHRD_PPP => "ppp",
        ARPHRD_RAWIP => "rawip",
        ARPHRD_TUNNEL => "ipip",
        ARPHRD_TUNNEL6 => "tunnel6",
        ARPHRD_LOOPBACK => "loopback",
        ARPHRD_SIT => "sit",
        ARPHRD_IPGRE => "gre",
        ARPHRD_IP6GRE => "gre6",
        ARPHRD_NONE => "none",
        32 => "infiniband",
        _ => return format!("type {arphrd}"),
    };
    format!("{name} (type {arphrd})")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn device_types_map_to_their_classifier() {
        assert_eq!(LinkKind::of_type(ARPHRD_ETHER), Some(LinkKind::Ethernet));
        for t in [
            ARPHRD_NONE,
            ARPHRD_PPP,
            ARPHRD_TUNNEL,
            ARPHRD_TUNNEL6,
            ARPHRD_IP6GRE,
            ARPHRD_RAWIP,
        ] {
            assert_eq!(LinkKind::of_type(t), Some(LinkKind::L3), "{t}");
        }
        assert_eq!(LinkKind::of_type(ARPHRD_IPGRE), Some(LinkKind::Gre));
        assert_eq!(LinkKind::of_type(ARPHRD_LOOPBACK), None);
        assert_eq!(LinkKind::of_type(ARPHRD_SIT), None);
        assert_eq!(LinkKind::Ethernet.program(), "mgm_igmp_ingress");
        assert_eq!(LinkKind::L3.program(), "mgm_igmp_ingress_ip");
        assert_eq!(LinkKind::Gre.program(), "mgm_igmp_ingress_gre");
    }

    #[test]
    fn the_loopback_is_a_loopback() {
        assert_eq!(device_type("lo").unwrap(), Some(ARPHRD_LOOPBACK));
        assert_eq!(device_type("mgm-no-such-if0").unwrap(), None);
        assert!(device_type("").is_err());
        assert_eq!(type_name(ARPHRD_LOOPBACK), "loopback (type 772)");
        assert_eq!(type_name(9999), "type 9999");
    }
}
