//! The link layer: whether a packet carries IPv4 IGMP, where its IPv4 header starts, and
//! whether the IGMP belongs to this interface. One finder per kind of link, each the start of
//! its own entry point (`main.rs`); the loader attaches the one that fits the device type:
//!
//! | finder            | links                                     | the IPv4 header starts       |
//! |-------------------|-------------------------------------------|------------------------------|
//! | [`find_igmp`]     | Ethernet: veth, bridges, VLANs, gretap    | behind Ethernet and its tags |
//! | [`find_igmp_ip`]  | none: tun, WireGuard, PPP, ipip, ip6tnl   | at 0                         |
//! | [`find_igmp_gre`] | GRE (`ARPHRD_IPGRE`)                      | at 0, or behind IPv4 + GRE   |
//!
//! At TC ingress a packet starts at its link-layer header (the kernel pushes `mac_len` bytes
//! back before the program runs). Devices without one (`mac_len` 0) hand the program the IPv4
//! header first. GRE devices with header operations (NBMA or multicast GRE: `ip_gre`'s
//! `ipgre_header_ops`) keep the outer IPv4 and GRE headers as their link-layer header, for
//! packet sockets; point-to-point GRE resets it, so both shapes are accepted there. On links
//! without an Ethernet header a packet is IPv4 when its first nibble says 4: nothing else
//! tells (the skb protocol does, but BPF_PROG_TEST_RUN makes it up from an Ethernet header).
//!
//! VLANs: IGMP carried in a VLAN belongs to that VLAN's device (eth0.10), not to the trunk parent
//! (eth0) whose ingress also sees it, tagged in the frame or in skb metadata (`vlan_present`).
//! The operator manages eth0.10 by listing it; its own ingress sees the frame untagged. So on a
//! managed interface an IGMP frame with one or two tags is counted (`igmp_packets`,
//! `ignored_vlan_tagged`) and nothing else: no refresh, no event. More than two tags count in
//! `ignored_too_many_vlan_tags` instead. Tags with VLAN id 0 (802.1p priority tags) carry no VLAN:
//! the kernel delivers such frames to the parent as untagged, so the classifier treats them as
//! untagged too (the event has `EVENT_FLAG_VLAN` set and `vlan_id` 0).

use aya_ebpf::bindings::__sk_buff;
use mgm_common::{event::EVENT_FLAG_VLAN, igmp::IPPROTO_IGMP};

use crate::{
    skb::{self, load, load_val},
    verdict::IgnoreReason,
};

/// Ethertypes as they read from the wire with a little-endian u16 load.
const ETH_P_IP_LE: u16 = 0x0008;
const ETH_P_8021Q_LE: u16 = 0x0081;
const ETH_P_8021AD_LE: u16 = 0xa888;
const ETH_HLEN: u32 = 14;
/// IP protocol number of GRE.
const IPPROTO_GRE: u8 = 47;
/// GRE protocol type of IPv4 (the ethertype), as it reads with a little-endian u16 load.
const GRE_PROTO_IP_LE: u16 = ETH_P_IP_LE;
/// GRE flags (RFC 2784, RFC 2890), first byte: checksum, routing, key, sequence number present.
const GRE_C: u8 = 0x80;
const GRE_R: u8 = 0x40;
const GRE_K: u8 = 0x20;
const GRE_S: u8 = 0x10;
/// GRE version bits, second byte: 0 for GRE (1 is PPTP's enhanced GRE).
const GRE_VERSION: u8 = 0x07;
/// VLAN id bits of a TCI.
const VLAN_VID_MASK: u16 = 0x0fff;

/// Most 802.1Q/802.1ad tags the slow parser skips to find out whether a frame carries IGMP.
const MAX_SKIPPED_TAGS: u32 = 4;
/// Most tags (frame + skb metadata) counted as `ignored_vlan_tagged`; more count as
/// `ignored_too_many_vlan_tags`.
const MAX_VLAN_TAGS: u32 = 2;

/// Where the IPv4 header of an IGMP packet starts, and the frame's VLAN tags before it (none on
/// links without an Ethernet header).
#[derive(Clone, Copy)]
pub(crate) struct Frame {
    pub(crate) l3: u32,
    /// Tags in the frame.
    pub(crate) tags: u32,
    /// Tags in the frame with a VLAN id other than 0 (not 802.1p priority tags).
    pub(crate) vid_tags: u32,
}

/// A frame that carries IGMP, or may.
pub(crate) enum L2 {
    Igmp(Frame),
    /// More than `MAX_SKIPPED_TAGS` tags: what the frame carries is not seen.
    TagsBeyondReach,
}

/// Finds IPv4 IGMP in the frame; `None` for every other frame. The common case, headers in the
/// linear part, costs a few direct loads.
#[inline(always)]
pub(crate) fn find_igmp(skb: *mut __sk_buff) -> Option<L2> {
    let (data, data_end) = skb::linear(skb);
    if data + (ETH_HLEN as usize) + 10 <= data_end {
        // SAFETY: bounds checked just above against data_end; reads only. (An unaligned u16
        // load is fine for BPF packet pointers on the architectures this runs on.)
        let ethertype = unsafe { *((data + 12) as *const u16) };
        if ethertype == ETH_P_IP_LE {
            // SAFETY: data + 23 < data + 24 <= data_end.
            let proto = unsafe { *((data + 23) as *const u8) };
            if proto != IPPROTO_IGMP {
                return None;
            }
            return Some(L2::Igmp(Frame {
                l3: ETH_HLEN,
                tags: 0,
                vid_tags: 0,
            }));
        }
        // Tagged: look through one or two linear tags directly, so that tagged non-IGMP traffic
        // stays cheap too. IGMP (and anything not linear or more deeply tagged) is parsed again
        // by find_igmp_slow.
        if !is_vlan(ethertype) || !maybe_igmp_tagged(data, data_end) {
            return None;
        }
    }
    find_igmp_slow(skb)
}

#[inline(always)]
fn is_vlan(ethertype_le: u16) -> bool {
    ethertype_le == ETH_P_8021Q_LE || ethertype_le == ETH_P_8021AD_LE
}

/// False when a frame with a first VLAN tag is certainly not IGMP, judged with direct packet
/// reads through at most two tags; true when it may be (or the bytes are not linear).
#[inline(always)]
fn maybe_igmp_tagged(data: usize, data_end: usize) -> bool {
    if data + 18 + 10 > data_end {
        return true;
    }
    // SAFETY: data + 28 <= data_end; reads only.
    let inner = unsafe { *((data + 16) as *const u16) };
    if inner == ETH_P_IP_LE {
        // SAFETY: data + 27 < data_end.
        return unsafe { *((data + 27) as *const u8) } == IPPROTO_IGMP;
    }
    if !is_vlan(inner) {
        return false;
    }
    if data + 22 + 10 > data_end {
        return true;
    }
    // SAFETY: data + 32 <= data_end; reads only.
    let inner = unsafe { *((data + 20) as *const u16) };
    if inner == ETH_P_IP_LE {
        // SAFETY: data + 31 < data_end.
        return unsafe { *((data + 31) as *const u8) } == IPPROTO_IGMP;
    }
    is_vlan(inner)
}

/// Tagged frames and frames whose first bytes are not linear: find IPv4/IGMP through
/// `bpf_skb_load_bytes`.
#[inline(always)]
fn find_igmp_slow(skb: *mut __sk_buff) -> Option<L2> {
    let mut off: u32 = 12;
    let mut ethertype: u16 = 0;
    if !load(skb, off, &mut ethertype) {
        return None;
    }
    let mut tags: u32 = 0;
    let mut vid_tags: u32 = 0;
    let mut i = 0;
    while i < MAX_SKIPPED_TAGS + 1 {
        if !is_vlan(ethertype) {
            break;
        }
        if i == MAX_SKIPPED_TAGS {
            // Still tagged after this many tags: cannot see what it carries.
            return Some(L2::TagsBeyondReach);
        }
        let mut tag = [0u8; 4]; // TCI, inner ethertype
        if !load(skb, off + 2, &mut tag) {
            return None;
        }
        if u16::from_be_bytes([tag[0], tag[1]]) & VLAN_VID_MASK != 0 {
            vid_tags += 1;
        }
        ethertype = u16::from_le_bytes([tag[2], tag[3]]);
        tags += 1;
        off += 4;
        i += 1;
    }
    if ethertype != ETH_P_IP_LE {
        return None;
    }
    let l3 = off + 2;
    let mut proto: u8 = 0;
    if !load(skb, l3 + 9, &mut proto) || proto != IPPROTO_IGMP {
        return None;
    }
    Some(L2::Igmp(Frame { l3, tags, vid_tags }))
}

/// Links without a link-layer header: finds IPv4 IGMP at the start of the packet; `None` for
/// everything else (IPv6, other IP protocols, anything whose first nibble is not 4). The common
/// case, a linear header, costs two direct loads.
#[inline(always)]
pub(crate) fn find_igmp_ip(skb: *mut __sk_buff) -> Option<L2> {
    let (version_ihl, proto) = first_ip_bytes(skb, 0)?;
    if version_ihl >> 4 != 4 || proto != IPPROTO_IGMP {
        return None;
    }
    Some(L2::Igmp(untagged(0)))
}

/// GRE links: IPv4 IGMP at the start of the packet (point-to-point GRE: no link-layer header),
/// or behind an outer IPv4 header and a GRE header (GRE with header operations, whose link-layer
/// header they are). The GRE header must be version 0 without routing, carrying IPv4, as the
/// kernel's GRE receive path requires; its optional words (checksum, key, sequence number) are
/// skipped. `None` for everything else.
#[inline(always)]
pub(crate) fn find_igmp_gre(skb: *mut __sk_buff) -> Option<L2> {
    let (version_ihl, proto) = first_ip_bytes(skb, 0)?;
    if version_ihl >> 4 != 4 {
        return None;
    }
    if proto == IPPROTO_IGMP {
        return Some(L2::Igmp(untagged(0)));
    }
    if proto != IPPROTO_GRE {
        return None;
    }
    let outer = u32::from(version_ihl & 0x0f) * 4;
    if outer < 20 {
        return None;
    }
    // Flags, version, protocol type.
    let gre = load_val::<[u8; 4]>(skb, outer)?;
    if gre[0] & GRE_R != 0
        || gre[1] & GRE_VERSION != 0
        || u16::from_le_bytes([gre[2], gre[3]]) != GRE_PROTO_IP_LE
    {
        return None;
    }
    let mut l3 = outer + 4;
    for bit in [GRE_C, GRE_K, GRE_S] {
        if gre[0] & bit != 0 {
            l3 += 4;
        }
    }
    let (version_ihl, proto) = first_ip_bytes(skb, l3)?;
    if version_ihl >> 4 != 4 || proto != IPPROTO_IGMP {
        return None;
    }
    Some(L2::Igmp(untagged(l3)))
}

/// The first byte (version, IHL) and the protocol byte of what may be an IPv4 header at `off`:
/// direct loads when linear, `bpf_skb_load_bytes` otherwise; `None` when the packet is shorter.
#[inline(always)]
fn first_ip_bytes(skb: *mut __sk_buff, off: u32) -> Option<(u8, u8)> {
    let (data, data_end) = skb::linear(skb);
    if off == 0 && data + 10 <= data_end {
        // SAFETY: data + 9 < data + 10 <= data_end, checked just above; reads only.
        return Some(unsafe { (*(data as *const u8), *((data + 9) as *const u8)) });
    }
    let h = load_val::<[u8; 10]>(skb, off)?;
    Some((h[0], h[9]))
}

/// A packet without VLAN tags whose IPv4 header starts at `l3`.
#[inline(always)]
fn untagged(l3: u32) -> Frame {
    Frame {
        l3,
        tags: 0,
        vid_tags: 0,
    }
}

/// The VLAN rule (see the module doc) over the frame's tags and the skb metadata tag: the
/// event flags of IGMP that is this interface's own, or why it is not.
#[inline(always)]
pub(crate) fn vlan_flags(skb: *mut __sk_buff, frame: &Frame) -> Result<u8, IgnoreReason> {
    let meta = skb::vlan_metadata(skb);
    let meta_tag = u32::from(meta.is_some());
    if frame.tags + meta_tag > MAX_VLAN_TAGS {
        return Err(IgnoreReason::TooManyVlanTags);
    }
    let meta_vid_tag = u32::from(matches!(meta, Some(tci) if tci & u32::from(VLAN_VID_MASK) != 0));
    if frame.vid_tags + meta_vid_tag != 0 {
        return Err(IgnoreReason::VlanTagged);
    }
    if frame.tags + meta_tag != 0 {
        // Priority tags only (VLAN id 0): this interface's own traffic.
        return Ok(EVENT_FLAG_VLAN);
    }
    Ok(0)
}
