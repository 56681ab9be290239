//! Ethernet and 802.1Q / 802.1ad tags: whether a frame carries IPv4 IGMP, where its IPv4
//! header starts, and whether the IGMP belongs to this interface.
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
    skb::{self, load},
    verdict::IgnoreReason,
};

/// Ethertypes as they read from the wire with a little-endian u16 load.
const ETH_P_IP_LE: u16 = 0x0008;
const ETH_P_8021Q_LE: u16 = 0x0081;
const ETH_P_8021AD_LE: u16 = 0xa888;
const ETH_HLEN: u32 = 14;
/// VLAN id bits of a TCI.
const VLAN_VID_MASK: u16 = 0x0fff;

/// Most 802.1Q/802.1ad tags the slow parser skips to find out whether a frame carries IGMP.
const MAX_SKIPPED_TAGS: u32 = 4;
/// Most tags (frame + skb metadata) counted as `ignored_vlan_tagged`; more count as
/// `ignored_too_many_vlan_tags`.
const MAX_VLAN_TAGS: u32 = 2;

/// Where the IPv4 header of an IGMP packet starts, and the frame's VLAN tags before it.
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
