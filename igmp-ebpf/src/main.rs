//! mgm's TC ingress classifier.
//!
//! Sees every packet on the managed interfaces and passes each one on unchanged (`TCX_NEXT`).
//! For IGMP it validates the message (each reason to ignore one has its own counter in
//! `MGM_STATS`), absorbs reports that only refresh state the daemon already holds (fast path:
//! expiry extended in `MGM_MEMBERS` / `MGM_SOURCES`), and sends everything else to the daemon
//! on `MGM_EVENTS` (slow path).
//!
//! VLANs: IGMP carried in a VLAN belongs to that VLAN's device (eth0.10), not to the trunk parent
//! (eth0) whose ingress also sees it, tagged in the frame or in skb metadata (`vlan_present`).
//! The operator manages eth0.10 by listing it; its own ingress sees the frame untagged. So on a
//! managed interface an IGMP frame with one or two tags is counted (`igmp_packets`,
//! `ignored_vlan_tagged`) and nothing else: no refresh, no event. More than two tags count in
//! `ignored_too_many_vlan_tags` instead. Tags with VLAN id 0 (802.1p priority tags) carry no VLAN:
//! the kernel delivers such frames to the parent as untagged, so the classifier treats them as
//! untagged too (the event has `EVENT_FLAG_VLAN` set and `vlan_id` 0).
//!
//! Cost for other traffic: a frame whose headers are in the linear part costs a few direct packet
//! loads (ethertype, through at most two VLAN tags, then the IP protocol) before `TCX_NEXT`.
//! Only IGMP, frames with more tags and non-linear headers go through `bpf_skb_load_bytes`.
//!
//! Verifier notes: every loop over packet contents (IP options, v3 records, v3 sources, checksum
//! chunks beyond the scratch copy) is a `bpf_loop` callback that reads the packet with
//! `bpf_skb_load_bytes`, so the verifier checks each body once; offsets into the per-CPU scratch
//! copy go through `clamp` / `chunk_len`, asm masks LLVM cannot drop.
//!
//! The object also holds `mgm_empty`, a classifier that only returns `TCX_NEXT`: the baseline of
//! the benchmark (`mgm-user/benches/classifier.rs`). The daemon never attaches it.
#![no_std]
#![no_main]
// For `clamp`: an asm mask the optimizer cannot drop, so the verifier sees every scratch offset
// bounded.
#![feature(asm_experimental_arch)]

use core::{ffi::c_void, mem::size_of, ptr::addr_of_mut};

use aya_ebpf::{
    bindings::{__sk_buff, tcx_action_base::TCX_NEXT, BPF_F_NO_PREALLOC},
    btf_maps::{HashMap, PerCpuArray, RingBuf},
    helpers::{bpf_csum_diff, bpf_ktime_get_ns, bpf_loop, bpf_skb_load_bytes},
    macros::{btf_map, classifier},
    programs::TcContext,
};
use mgm_common::{
    event::{
        reason, EVENT_FLAG_ROUTER_ALERT, EVENT_FLAG_TRUNCATED, EVENT_FLAG_VLAN, MAX_EVENT_IGMP_LEN,
    },
    igmp::{
        IPPROTO_IGMP, TYPE_MEMBERSHIP_QUERY, TYPE_V1_REPORT, TYPE_V2_LEAVE, TYPE_V2_REPORT,
        TYPE_V3_REPORT,
    },
    maps::{
        EVENTS_RING_BYTES, FILTER_MODE_EXCLUDE, FILTER_MODE_INCLUDE, IFACE_FLAG_NO_FAST_PATH,
        MAX_IFACES, MAX_MEMBERS, MAX_SOURCES, MEMBER_FLAG_SLOW_PATH,
    },
    IfaceSettings, IgmpEvent, IgmpStats, MemberKey, MemberState, SourceKey, SourceState,
};

// ---------------------------------------------------------------------------------------------
// Maps
// ---------------------------------------------------------------------------------------------

#[btf_map]
static MGM_IFACES: HashMap<u32, IfaceSettings, { MAX_IFACES as usize }> = HashMap::new();

/// The membership maps are large and mostly empty, and only the daemon inserts into them, so
/// they are not preallocated (a preallocated MGM_SOURCES alone would pin tens of MB).
const NO_PREALLOC: usize = BPF_F_NO_PREALLOC as usize;

#[btf_map]
static MGM_MEMBERS: HashMap<MemberKey, MemberState, { MAX_MEMBERS as usize }, NO_PREALLOC> =
    HashMap::new();

#[btf_map]
static MGM_SOURCES: HashMap<SourceKey, SourceState, { MAX_SOURCES as usize }, NO_PREALLOC> =
    HashMap::new();

#[btf_map]
static MGM_STATS: PerCpuArray<IgmpStats, 1> = PerCpuArray::new();

#[btf_map]
static MGM_EVENTS: RingBuf<IgmpEvent, { EVENTS_RING_BYTES as usize }> = RingBuf::new();

/// Bytes of the per-CPU copy of an IGMP message: the first `MAX_EVENT_IGMP_LEN` bytes of the
/// message (+ 3 bytes of zero padding), then a 512-byte window (+ padding) for checksumming the
/// rest of a longer one. Every offset used stays below `SCRATCH_MASK` + 1.
const SCRATCH_LEN: usize = 2056;
/// Where the checksum window for bytes beyond `MAX_EVENT_IGMP_LEN` starts.
const CSUM_WINDOW: usize = 1488;
const _: () = assert!(MAX_EVENT_IGMP_LEN + 3 <= CSUM_WINDOW);
const _: () = assert!(CSUM_WINDOW + CSUM_CHUNK + 3 <= SCRATCH_MASK + 1);
/// Largest chunk `bpf_csum_diff` takes.
const CSUM_CHUNK: usize = 512;

#[repr(C)]
pub struct Scratch {
    pub buf: [u8; SCRATCH_LEN],
    /// l3 offset, frame tags, frame tags with a VLAN id (see `handle_igmp`).
    pub hdr: [u32; 4],
}

/// Per-CPU working copy of the IGMP message being parsed (too large for the BPF stack).
#[btf_map]
static MGM_SCRATCH: PerCpuArray<Scratch, 1> = PerCpuArray::new();

// ---------------------------------------------------------------------------------------------
// Constants
// ---------------------------------------------------------------------------------------------

/// Ethertypes as they read from the wire with a little-endian u16 load.
const ETH_P_IP_LE: u16 = 0x0008;
const ETH_P_8021Q_LE: u16 = 0x0081;
const ETH_P_8021AD_LE: u16 = 0xa888;
const ETH_HLEN: u32 = 14;

/// Most 802.1Q/802.1ad tags the slow parser skips to find out whether a frame carries IGMP.
const MAX_SKIPPED_TAGS: u32 = 4;
/// Most tags (frame + skb metadata) counted as `ignored_vlan_tagged`; more count as
/// `ignored_too_many_vlan_tags`.
const MAX_VLAN_TAGS: u32 = 2;

/// IP Router Alert option (RFC 2113), copied flag set.
const IPOPT_RA: u8 = 0x94;

/// Group records of a v3 report checked for bounds. A 1500-byte MTU holds at most 184 records;
/// a longer report goes up as TOO_LONG and the daemon's parser checks it.
const MAX_VALIDATE_RECORDS: u32 = 1024;
/// Group records of a v3 report evaluated for the fast path.
const MAX_FAST_RECORDS: u32 = 16;
/// Sources of one MODE_IS_INCLUDE record evaluated for the fast path.
const MAX_FAST_SOURCES: u32 = 32;

/// IGMPv3 group record types (RFC 3376 §4.2.12).
const MODE_IS_INCLUDE: u8 = 1;
const MODE_IS_EXCLUDE: u8 = 2;

const MAX_EVENT: u32 = MAX_EVENT_IGMP_LEN as u32;

// ---------------------------------------------------------------------------------------------
// Programs
// ---------------------------------------------------------------------------------------------

/// Baseline for the benchmark: the cheapest possible classifier.
#[classifier]
pub fn mgm_empty(_ctx: TcContext) -> i32 {
    TCX_NEXT
}

/// The IGMP classifier. Always `TCX_NEXT`; never writes to the packet.
#[classifier]
pub fn mgm_igmp_ingress(ctx: TcContext) -> i32 {
    let skb = ctx.skb.skb;
    // SAFETY: ctx fields of a valid __sk_buff; the verifier rewrites these loads.
    let (data, data_end) = unsafe { ((*skb).data as usize, (*skb).data_end as usize) };
    let found;
    if data + (ETH_HLEN as usize) + 10 <= data_end {
        // SAFETY: bounds checked just above against data_end; reads only. (An unaligned u16
        // load is fine for BPF packet pointers on the architectures this runs on.)
        let ethertype = unsafe { *((data + 12) as *const u16) };
        if ethertype == ETH_P_IP_LE {
            // SAFETY: data + 23 < data + 24 <= data_end.
            let proto = unsafe { *((data + 23) as *const u8) };
            if proto != IPPROTO_IGMP {
                return TCX_NEXT;
            }
            found = Some(L2 {
                l3: ETH_HLEN,
                tags: 0,
                vid_tags: 0,
            });
        } else if !is_vlan(ethertype) {
            return TCX_NEXT;
        } else {
            // Tagged: look through one or two linear tags directly, so that tagged non-IGMP
            // traffic stays cheap too. IGMP (and anything not linear or more deeply tagged) is
            // parsed again by locate_slow.
            if !maybe_igmp_tagged(data, data_end) {
                return TCX_NEXT;
            }
            found = locate_slow(skb);
        }
    } else {
        found = locate_slow(skb);
    }
    if let Some(l2) = found {
        handle_igmp(skb, l2);
    }
    TCX_NEXT
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

/// Where the IPv4 header of an IGMP packet starts, and the frame's VLAN tags before it.
struct L2 {
    l3: u32,
    /// Tags in the frame.
    tags: u32,
    /// Tags in the frame with a VLAN id other than 0 (not 802.1p priority tags).
    vid_tags: u32,
}

/// Tagged frames and frames whose first bytes are not linear: find IPv4/IGMP through
/// `bpf_skb_load_bytes`.
#[inline(always)]
fn locate_slow(skb: *mut __sk_buff) -> Option<L2> {
    let mut off: u32 = 12;
    let mut ethertype: u16 = 0;
    if !load(skb, off, &mut ethertype) {
        return None;
    }
    let mut tags: u32 = 0;
    let mut vid_tags: u32 = 0;
    let mut i = 0;
    while i < MAX_SKIPPED_TAGS + 1 {
        if ethertype != ETH_P_8021Q_LE && ethertype != ETH_P_8021AD_LE {
            break;
        }
        if i == MAX_SKIPPED_TAGS {
            // Still tagged after this many tags: cannot see what it carries. Only count it when
            // the interface is managed.
            if let Some(stats) = stats() {
                if iface(skb).is_some() {
                    stats.ignored_too_many_vlan_tags += 1;
                }
            }
            return None;
        }
        let mut tag = [0u8; 4]; // TCI, inner ethertype
        if !load(skb, off + 2, &mut tag) {
            return None;
        }
        if u16::from_be_bytes([tag[0], tag[1]]) & 0x0fff != 0 {
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
    Some(L2 { l3, tags, vid_tags })
}

// ---------------------------------------------------------------------------------------------
// IGMP
// ---------------------------------------------------------------------------------------------

/// What the slow path needs to know about the packet.
struct Packet {
    ifindex: u32,
    src: [u8; 4],
    dst: [u8; 4],
    igmp_off: u32,
    igmp_len: u32,
    flags: u8,
}

/// An IPv4 packet with protocol IGMP: validate, count, refresh or send up.
#[inline(always)]
fn handle_igmp(skb: *mut __sk_buff, l2: L2) {
    let Some(stats) = stats() else {
        return;
    };
    let Some(scratch) = MGM_SCRATCH.get_ptr_mut(0) else {
        return;
    };
    // The paths that lead here carry different constants (l3 = 14, 18, 22, ...). A volatile
    // round trip through map memory turns them into plain ranges, so the verifier checks what
    // follows once instead of once per path.
    // SAFETY: per-CPU map value, valid for this run; nothing else on this CPU uses it now.
    let (l3, frame_tags, frame_vid_tags) = unsafe {
        let h = addr_of_mut!((*scratch).hdr);
        core::ptr::write_volatile(h, [l2.l3, l2.tags, l2.vid_tags, 0]);
        let v = core::ptr::read_volatile(h);
        (v[0] & 0x3f, v[1] & 0x7, v[2] & 0x7)
    };
    // SAFETY: as above.
    let buf: *mut u8 = unsafe { addr_of_mut!((*scratch).buf) }.cast();
    let mut pkt = Packet {
        ifindex: 0,
        src: [0; 4],
        dst: [0; 4],
        igmp_off: 0,
        igmp_len: 0,
        flags: 0,
    };
    let why = process(skb, stats, buf, l3, frame_tags, frame_vid_tags, &mut pkt);
    if why != 0 {
        send_event(skb, stats, &pkt, why);
    }
}

/// Validates and classifies the message. Returns the slow-path reason, or 0 when there is nothing
/// to send (absorbed by the fast path, or ignored and counted).
#[inline(always)]
fn process(
    skb: *mut __sk_buff,
    stats: &mut IgmpStats,
    buf: *mut u8,
    l3: u32,
    frame_tags: u32,
    frame_vid_tags: u32,
    pkt: &mut Packet,
) -> u8 {
    // SAFETY: ctx field reads.
    let (ifindex, skb_len, vlan_present, vlan_tci) = unsafe {
        (
            (*skb).ifindex,
            (*skb).len,
            (*skb).vlan_present,
            (*skb).vlan_tci,
        )
    };
    let Some(settings) = MGM_IFACES.get_ptr(ifindex) else {
        stats.ignored_interface_disabled += 1;
        return 0;
    };
    // SAFETY: a value pointer returned by the map lookup, valid for this program run.
    let settings = unsafe { *settings };
    if settings.enabled == 0 {
        stats.ignored_interface_disabled += 1;
        return 0;
    }
    stats.igmp_packets += 1;

    // VLANs (see the module doc): tagged IGMP belongs to the VLAN's device, not to this one.
    let meta_tag = u32::from(vlan_present != 0);
    if frame_tags + meta_tag > MAX_VLAN_TAGS {
        stats.ignored_too_many_vlan_tags += 1;
        return 0;
    }
    let meta_vid_tag = u32::from(vlan_present != 0 && vlan_tci & 0x0fff != 0);
    if frame_vid_tags + meta_vid_tag != 0 {
        stats.ignored_vlan_tagged += 1;
        return 0;
    }
    let mut flags: u8 = 0;
    if frame_tags + meta_tag != 0 {
        // Priority tags only (VLAN id 0): this interface's own traffic.
        flags |= EVENT_FLAG_VLAN;
    }

    // IPv4 header.
    let Some(iph) = load_val::<[u8; 20]>(skb, l3) else {
        stats.ignored_truncated += 1;
        return 0;
    };
    if iph[0] >> 4 != 4 {
        stats.ignored_bad_ip_version += 1;
        return 0;
    }
    let ihl = u32::from(iph[0] & 0x0f);
    if ihl < 5 {
        stats.ignored_bad_ihl += 1;
        return 0;
    }
    let hlen = ihl * 4;
    if skb_len < l3 + hlen {
        stats.ignored_truncated += 1;
        return 0;
    }
    let tot_len = u32::from(u16::from_be_bytes([iph[2], iph[3]]));
    if tot_len < hlen {
        stats.ignored_bad_total_length += 1;
        return 0;
    }
    if l3 + tot_len > skb_len {
        stats.ignored_truncated += 1;
        return 0;
    }
    if u16::from_be_bytes([iph[6], iph[7]]) & 0x3fff != 0 {
        stats.ignored_fragment += 1;
        return 0;
    }
    if hlen > 20 && has_router_alert(skb, l3 + 20, hlen - 20) {
        flags |= EVENT_FLAG_ROUTER_ALERT;
    }

    let igmp_off = l3 + hlen;
    let igmp_len = tot_len - hlen;
    if igmp_len < 8 {
        stats.ignored_bad_length += 1;
        return 0;
    }

    // The IGMP header (all of a v1/v2 message).
    let Some(h) = load_val::<[u8; 8]>(skb, igmp_off) else {
        stats.ignored_truncated += 1;
        return 0;
    };
    let ok = if igmp_len == 8 {
        // The common v1/v2 case: sum the four words here.
        let mut sum = 0u32;
        let mut i = 0;
        while i < 8 {
            sum += u32::from(u16::from_be_bytes([h[i], h[i + 1]]));
            i += 2;
        }
        fold(u64::from(sum)) == 0xffff
    } else {
        // Copy the message (or its first MAX_EVENT bytes) and check the checksum over all of it.
        let cap = if igmp_len > MAX_EVENT {
            MAX_EVENT
        } else {
            igmp_len
        };
        // A failing copy (cannot happen: the bytes are there) counts as a bad checksum.
        checksum_ok(skb, buf, igmp_off, igmp_len, cap)
    };
    if !ok {
        stats.ignored_bad_checksum += 1;
        return 0;
    }

    *pkt = Packet {
        ifindex,
        src: [iph[12], iph[13], iph[14], iph[15]],
        dst: [iph[16], iph[17], iph[18], iph[19]],
        igmp_off,
        igmp_len,
        flags,
    };

    let msg_type = h[0];
    let code = h[1];
    let group = [h[4], h[5], h[6], h[7]];

    // Reports and leaves come from hosts on this link (RFC 2236 §9, RFC 3376 §9); the daemon
    // ignores the others too, so neither path acts on them.
    let from_host = msg_type == TYPE_V1_REPORT
        || msg_type == TYPE_V2_REPORT
        || msg_type == TYPE_V2_LEAVE
        || msg_type == TYPE_V3_REPORT;
    if from_host && !settings.on_link(pkt.src) {
        stats.ignored_off_link_source += 1;
        return 0;
    }

    if msg_type == TYPE_MEMBERSHIP_QUERY {
        let version;
        if igmp_len == 8 {
            version = if code == 0 { 1 } else { 2 };
        } else if igmp_len >= 12 {
            let nsrc = u32::from(u16::from_be_bytes([rd(buf, 10), rd(buf, 11)]));
            if 12 + 4 * nsrc > igmp_len {
                stats.ignored_bad_length += 1;
                return 0;
            }
            version = 3;
        } else {
            stats.ignored_bad_length += 1;
            return 0;
        }
        if group != [0; 4] && !is_multicast(&group) {
            stats.ignored_group_not_multicast += 1;
            return 0;
        }
        match version {
            1 => stats.rx_query_v1 += 1,
            2 => stats.rx_query_v2 += 1,
            _ => stats.rx_query_v3 += 1,
        }
        reason::QUERY
    } else if msg_type == TYPE_V1_REPORT || msg_type == TYPE_V2_REPORT {
        if !is_multicast(&group) {
            stats.ignored_group_not_multicast += 1;
            return 0;
        }
        let v1 = msg_type == TYPE_V1_REPORT;
        // v1 (RFC 1112) and v2 (RFC 2236) reports are both sent to the group itself; the daemon's
        // router ignores either one sent elsewhere, so the fast path must not refresh it.
        if pkt.dst != group {
            stats.ignored_report_dst_mismatch += 1;
            return 0;
        }
        if v1 {
            stats.rx_report_v1 += 1;
        } else {
            stats.rx_report_v2 += 1;
        }
        let key = MemberKey { ifindex, group };
        let Some(m) = MGM_MEMBERS.get_ptr_mut(key) else {
            return reason::NEW_GROUP;
        };
        // SAFETY: value pointer from the lookup, valid for this run. The daemon may replace the
        // entry concurrently; a lost refresh is harmless (the daemon re-reads on expiry).
        let m = unsafe { &mut *m };
        if m.flags & MEMBER_FLAG_SLOW_PATH != 0 || settings.flags & IFACE_FLAG_NO_FAST_PATH != 0 {
            return reason::DAEMON_REQUEST;
        }
        let want_compat = if v1 { 1 } else { 2 };
        if m.filter_mode != FILTER_MODE_EXCLUDE
            || m.source_count != 0
            || m.compat_version != want_compat
        {
            return reason::STATE_CHANGE;
        }
        // SAFETY: helper without arguments.
        let now = unsafe { bpf_ktime_get_ns() };
        m.group_expires_ns = now + settings.group_membership_interval_ns;
        let host = now + settings.older_host_present_interval_ns;
        if v1 {
            m.v1_host_expires_ns = host;
        } else {
            m.v2_host_expires_ns = host;
        }
        m.last_reporter = pkt.src;
        m.fast_refreshes = m.fast_refreshes.wrapping_add(1);
        stats.fast_path_refreshes += 1;
        0
    } else if msg_type == TYPE_V2_LEAVE {
        if !is_multicast(&group) {
            stats.ignored_group_not_multicast += 1;
            return 0;
        }
        stats.rx_leave_v2 += 1;
        reason::LEAVE
    } else if msg_type == TYPE_V3_REPORT {
        v3_report(skb, stats, &settings, pkt, u16::from_be_bytes([h[6], h[7]]))
    } else {
        stats.ignored_unknown_type += 1;
        0
    }
}

/// A v3 report: validate every record, then refresh what is a pure refresh. Returns the reason to
/// send the message up, 0 when every record was absorbed (or the message was ignored).
///
/// The loops over records and sources run in bpf_loop callbacks that read the packet with
/// `bpf_skb_load_bytes`: the verifier then checks each body once, and the walk offsets never
/// index memory (which would make the verifier track them exactly, iteration by iteration).
#[inline(always)]
fn v3_report(
    skb: *mut __sk_buff,
    stats: &mut IgmpStats,
    settings: &IfaceSettings,
    pkt: &Packet,
    nrec: u16,
) -> u8 {
    let nrec = u32::from(nrec);

    // Pass 1: bounds and group of every record.
    let mut check = RecordCheck {
        skb,
        igmp_off: pkt.igmp_off,
        igmp_len: pkt.igmp_len,
        pos: 8,
        count: 0,
        status: CHECK_OK,
    };
    let n = if nrec > MAX_VALIDATE_RECORDS {
        MAX_VALIDATE_RECORDS
    } else {
        nrec
    };
    if n > 0 {
        // SAFETY: the callback is a BPF subprogram taking (index, ctx); ctx is `check` on our
        // stack, alive for the call.
        unsafe {
            bpf_loop(
                n,
                check_step as *mut c_void,
                (&mut check as *mut RecordCheck).cast(),
                0,
            )
        };
    }
    match check.status {
        CHECK_BAD_RECORD => {
            stats.ignored_bad_record += 1;
            return 0;
        }
        CHECK_NOT_MULTICAST => {
            stats.ignored_group_not_multicast += 1;
            return 0;
        }
        _ => {}
    }
    let r = check.count;
    stats.rx_report_v3 += 1;
    stats.rx_v3_group_records += u64::from(r);
    if r != nrec {
        // More records than the classifier checks: the daemon's parser does.
        return reason::TOO_LONG;
    }
    if nrec == 0 {
        return reason::STATE_CHANGE;
    }
    // Pass 2: records beyond MAX_FAST_RECORDS are not walked; those within are still applied.
    let why = fast_records(skb, stats, settings, pkt, nrec);
    if nrec > MAX_FAST_RECORDS {
        return reason::TOO_LONG;
    }
    why
}

const CHECK_OK: u32 = 0;
const CHECK_BAD_RECORD: u32 = 1;
const CHECK_NOT_MULTICAST: u32 = 2;

/// State of the bounds walk over the records of a v3 report.
#[repr(C)]
struct RecordCheck {
    skb: *mut __sk_buff,
    igmp_off: u32,
    igmp_len: u32,
    /// Offset of the next record in the message.
    pos: u32,
    /// Records checked.
    count: u32,
    status: u32,
}

/// bpf_loop body: checks the bounds and the group of one record.
#[inline(never)]
extern "C" fn check_step(_index: u64, ctx: *mut c_void) -> i64 {
    // SAFETY: bpf_loop passes back the pointer handed to it: a live RecordCheck.
    let c = unsafe { &mut *ctx.cast::<RecordCheck>() };
    let pos = c.pos;
    let mut h = [0u8; 8];
    if pos + 8 > c.igmp_len || !load(c.skb, c.igmp_off + pos, &mut h) {
        c.status = CHECK_BAD_RECORD;
        return 1;
    }
    if !is_multicast(&[h[4], h[5], h[6], h[7]]) {
        c.status = CHECK_NOT_MULTICAST;
        return 1;
    }
    let rec_len = 8 + 4 * u32::from(u16::from_be_bytes([h[2], h[3]])) + 4 * u32::from(h[1]);
    if pos + rec_len > c.igmp_len {
        c.status = CHECK_BAD_RECORD;
        return 1;
    }
    c.pos = pos + rec_len;
    c.count += 1;
    0
}

/// Pass 2: applies the fast-path records among the first `MAX_FAST_RECORDS` records of a
/// validated v3 report. Returns 0 when every walked record was a pure refresh, else the
/// slow-path reason.
#[inline(always)]
fn fast_records(
    skb: *mut __sk_buff,
    stats: &mut IgmpStats,
    settings: &IfaceSettings,
    pkt: &Packet,
    nrec: u32,
) -> u8 {
    // SAFETY: helper without arguments.
    let now = unsafe { bpf_ktime_get_ns() };
    let mut walk = RecordWalk {
        skb,
        now,
        expires: now + settings.group_membership_interval_ns,
        ifindex: pkt.ifindex,
        src: pkt.src,
        igmp_off: pkt.igmp_off,
        pos: 8,
        refreshed: 0,
        why: 0,
        no_fast_path: settings.flags & IFACE_FLAG_NO_FAST_PATH != 0,
    };
    let n = if nrec > MAX_FAST_RECORDS {
        MAX_FAST_RECORDS
    } else {
        nrec
    };
    // SAFETY: the callback is a BPF subprogram taking (index, ctx); ctx is `walk` on our stack,
    // alive for the call.
    unsafe {
        bpf_loop(
            n,
            record_step as *mut c_void,
            (&mut walk as *mut RecordWalk).cast(),
            0,
        )
    };
    stats.fast_path_refreshes += u64::from(walk.refreshed);
    walk.why as u8
}

/// State of the walk over the records of a v3 report.
#[repr(C)]
struct RecordWalk {
    skb: *mut __sk_buff,
    now: u64,
    expires: u64,
    ifindex: u32,
    src: [u8; 4],
    igmp_off: u32,
    /// Offset of the next record in the message.
    pos: u32,
    /// Records applied in kernel.
    refreshed: u32,
    /// First slow-path reason (TOO_LONG wins), 0 while every record was a refresh.
    why: u32,
    /// The interface has IFACE_FLAG_NO_FAST_PATH.
    no_fast_path: bool,
}

/// bpf_loop body: one group record. Refreshes it when it is a pure refresh, else notes why not.
#[inline(never)]
extern "C" fn record_step(_index: u64, ctx: *mut c_void) -> i64 {
    // SAFETY: bpf_loop passes back the pointer handed to it: a live RecordWalk.
    let w = unsafe { &mut *ctx.cast::<RecordWalk>() };
    let mut h = [0u8; 8];
    if !load(w.skb, w.igmp_off + w.pos, &mut h) {
        // Cannot happen for a validated message.
        w.why = u32::from(reason::TOO_LONG);
        return 1;
    }
    let nsrc = u32::from(u16::from_be_bytes([h[2], h[3]]));
    let sources = w.pos + 8;
    w.pos += 8 + 4 * nsrc + 4 * u32::from(h[1]);
    let rec = record(w, sources, h[0], nsrc, [h[4], h[5], h[6], h[7]]);
    if rec == 0 {
        w.refreshed += 1;
    } else if w.why == 0 || rec == reason::TOO_LONG {
        w.why = u32::from(rec);
    }
    0
}

/// One group record: refreshes it when it is a pure refresh (returns 0), else returns the reason.
#[inline(always)]
fn record(w: &RecordWalk, sources: u32, rtype: u8, nsrc: u32, group: [u8; 4]) -> u8 {
    let key = MemberKey {
        ifindex: w.ifindex,
        group,
    };
    let Some(m) = MGM_MEMBERS.get_ptr_mut(key) else {
        return reason::NEW_GROUP;
    };
    // SAFETY: value pointer from the lookup, valid for this run (see process).
    let m = unsafe { &mut *m };
    if m.flags & MEMBER_FLAG_SLOW_PATH != 0 || w.no_fast_path {
        return reason::DAEMON_REQUEST;
    }
    if rtype == MODE_IS_EXCLUDE {
        if nsrc != 0 || m.filter_mode != FILTER_MODE_EXCLUDE || m.source_count != 0 {
            return reason::STATE_CHANGE;
        }
        m.group_expires_ns = w.expires;
    } else if rtype == MODE_IS_INCLUDE {
        if nsrc > MAX_FAST_SOURCES {
            return reason::TOO_LONG;
        }
        let mut sw = SourceWalk {
            skb: w.skb,
            now: w.now,
            expires: w.expires,
            ifindex: w.ifindex,
            group,
            off: w.igmp_off + sources,
            include: u32::from(m.filter_mode == FILTER_MODE_INCLUDE),
            all: 1,
            _pad: 0,
        };
        if nsrc > 0 {
            // SAFETY: the callback is a BPF subprogram taking (index, ctx); ctx is `sw` on our
            // stack, alive for the call.
            unsafe {
                bpf_loop(
                    nsrc,
                    source_step as *mut c_void,
                    (&mut sw as *mut SourceWalk).cast(),
                    0,
                )
            };
        }
        if sw.all == 0 {
            return reason::STATE_CHANGE;
        }
    } else {
        return reason::STATE_CHANGE;
    }
    m.last_reporter = w.src;
    m.fast_refreshes = m.fast_refreshes.wrapping_add(1);
    0
}

/// State of the walk over the sources of one MODE_IS_INCLUDE record.
#[repr(C)]
struct SourceWalk {
    skb: *mut __sk_buff,
    now: u64,
    expires: u64,
    ifindex: u32,
    group: [u8; 4],
    /// Packet offset of the first source.
    off: u32,
    /// The group is in INCLUDE mode (any source record forwards).
    include: u32,
    /// Cleared when a source is not held or not forwarding.
    all: u32,
    _pad: u32,
}

/// bpf_loop body: refreshes source `index` of the record when it is forwarding.
#[inline(never)]
extern "C" fn source_step(index: u64, ctx: *mut c_void) -> i64 {
    // SAFETY: bpf_loop passes back the pointer handed to it: a live SourceWalk.
    let w = unsafe { &mut *ctx.cast::<SourceWalk>() };
    let mut source = [0u8; 4];
    if !load(w.skb, w.off + 4 * (index as u32), &mut source) {
        w.all = 0;
        return 1;
    }
    let key = SourceKey {
        ifindex: w.ifindex,
        group: w.group,
        source,
    };
    match MGM_SOURCES.get_ptr_mut(key) {
        Some(sp) => {
            // SAFETY: value pointer from the lookup, valid for this run.
            let sv = unsafe { &mut *sp };
            if w.include != 0 || sv.expires_ns > w.now {
                sv.expires_ns = w.expires;
                sv.fast_refreshes = sv.fast_refreshes.wrapping_add(1);
            } else {
                w.all = 0;
            }
        }
        None => w.all = 0,
    }
    0
}

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

/// Puts the message on `MGM_EVENTS`, or counts a full ring.
#[inline(always)]
fn send_event(skb: *mut __sk_buff, stats: &mut IgmpStats, pkt: &Packet, why: u8) {
    let Some(mut entry) = MGM_EVENTS.reserve(0) else {
        stats.events_ring_full += 1;
        let n = stats.events_ring_full;
        // Logarithmic rate limit: the 1st, 2nd, 4th, 8th … loss on this CPU is logged.
        if n & (n - 1) == 0 {
            aya_log_ebpf::warn!(
                &TcContext::new(skb),
                "MGM_EVENTS full: {} IGMP messages lost on this CPU so far (the daemon is not keeping up)",
                n
            );
        }
        return;
    };
    let ev = entry.as_mut_ptr();
    let cap = if pkt.igmp_len > MAX_EVENT {
        MAX_EVENT
    } else {
        pkt.igmp_len
    };
    let mut flags = pkt.flags;
    if pkt.igmp_len > MAX_EVENT {
        flags |= EVENT_FLAG_TRUNCATED;
    }
    // SAFETY: `ev` points at a reserved ring buffer record of size_of::<IgmpEvent>() bytes;
    // fields are written one by one, `data` by the helper with at most MAX_EVENT bytes.
    unsafe {
        let captured = if (1..=MAX_EVENT).contains(&cap)
            && bpf_skb_load_bytes(
                skb as *const c_void,
                pkt.igmp_off,
                addr_of_mut!((*ev).data).cast(),
                cap,
            ) == 0
        {
            cap as u16
        } else {
            0
        };
        addr_of_mut!((*ev).timestamp_ns).write(bpf_ktime_get_ns());
        addr_of_mut!((*ev).ifindex).write(pkt.ifindex);
        addr_of_mut!((*ev).src_addr).write(pkt.src);
        addr_of_mut!((*ev).dst_addr).write(pkt.dst);
        addr_of_mut!((*ev).igmp_len).write(pkt.igmp_len as u16);
        addr_of_mut!((*ev).captured_len).write(captured);
        // Tagged frames never get here (priority tags aside, whose VLAN id is 0).
        addr_of_mut!((*ev).vlan_id).write(0);
        addr_of_mut!((*ev).flags).write(flags);
        addr_of_mut!((*ev).reason).write(why);
        addr_of_mut!((*ev)._pad).write([0; 4]);
    }
    entry.submit(0);
    stats.events_sent += 1;
}

/// Copies the first `cap` bytes of the IGMP message into `buf` and checks the IGMP checksum
/// over all `len` bytes (`8 <= len`, `cap = min(len, MAX_EVENT)`).
#[inline(always)]
fn checksum_ok(skb: *mut __sk_buff, buf: *mut u8, off: u32, len: u32, cap: u32) -> bool {
    if !(1..=MAX_EVENT).contains(&cap) {
        return false;
    }
    // SAFETY: buf has SCRATCH_LEN >= MAX_EVENT + 8 bytes.
    if unsafe { bpf_skb_load_bytes(skb as *const c_void, off, buf.cast(), cap) } != 0 {
        return false;
    }
    // Zero the bytes after the copy up to the next multiple of 4, so that an odd length sums
    // as RFC 1071 pads it.
    let c = cap as usize;
    wr(buf, c, 0);
    wr(buf, c + 1, 0);
    wr(buf, c + 2, 0);
    let mut sum: u64 = 0;
    let mut k = 0;
    while k < 3 {
        let start = k * CSUM_CHUNK;
        if start >= c {
            break;
        }
        let mut n = c - start;
        if n > CSUM_CHUNK {
            n = CSUM_CHUNK;
        }
        let n4 = chunk_len(((n + 3) & !3) as u32);
        // SAFETY: start + n4 <= 1024 + 512 < SCRATCH_LEN.
        let r = unsafe {
            bpf_csum_diff(
                core::ptr::null_mut(),
                0,
                buf.add(start).cast(),
                n4,
                fold(sum) as u32,
            )
        };
        if r < 0 {
            return false;
        }
        sum = r as u64;
        k += 1;
    }
    // The rest of a message longer than the copy, 512 bytes at a time (jumbo frames only).
    let mut walk = CsumWalk {
        skb,
        sum,
        off,
        len,
        pos: cap,
        ok: 1,
    };
    if cap < len {
        // SAFETY: the callback is a BPF subprogram taking (index, ctx); ctx is `walk` on our
        // stack, alive for the call.
        unsafe {
            bpf_loop(
                128,
                csum_step as *mut c_void,
                (&mut walk as *mut CsumWalk).cast(),
                0,
            )
        };
    }
    walk.ok != 0 && walk.pos >= len && fold(walk.sum) == 0xffff
}

/// State of the checksum walk over the bytes of a message beyond the scratch copy.
#[repr(C)]
struct CsumWalk {
    skb: *mut __sk_buff,
    sum: u64,
    off: u32,
    len: u32,
    pos: u32,
    ok: u32,
}

/// bpf_loop body: adds the next (up to) 512 bytes of the message to the checksum.
#[inline(never)]
extern "C" fn csum_step(_index: u64, ctx: *mut c_void) -> i64 {
    // SAFETY: bpf_loop passes back the pointer handed to it: a live CsumWalk.
    let w = unsafe { &mut *ctx.cast::<CsumWalk>() };
    if w.pos >= w.len {
        return 1;
    }
    let Some(scratch) = MGM_SCRATCH.get_ptr_mut(0) else {
        w.ok = 0;
        return 1;
    };
    // SAFETY: per-CPU map value, valid for this run.
    let buf: *mut u8 = unsafe { addr_of_mut!((*scratch).buf) }.cast();
    let window = unsafe { buf.add(CSUM_WINDOW) };
    let mut n = w.len - w.pos;
    if n > CSUM_CHUNK as u32 {
        n = CSUM_CHUNK as u32;
    }
    // 1 <= n <= 512 already; restated so the verifier sees it.
    let n = chunk_len(n);
    // SAFETY: window has CSUM_CHUNK + 8 bytes.
    if unsafe { bpf_skb_load_bytes(w.skb as *const c_void, w.off + w.pos, window.cast(), n) } != 0 {
        w.ok = 0;
        return 1;
    }
    let nn = n as usize;
    // Zero padding to a multiple of 4 (see checksum_ok); stays within the scratch mask.
    wr(buf, CSUM_WINDOW + nn, 0);
    wr(buf, CSUM_WINDOW + nn + 1, 0);
    wr(buf, CSUM_WINDOW + nn + 2, 0);
    let n4 = chunk_len((n + 3) & !3);
    // SAFETY: window + n4 <= buf + CSUM_WINDOW + 512 <= buf + SCRATCH_LEN.
    let r = unsafe {
        bpf_csum_diff(
            core::ptr::null_mut(),
            0,
            window.cast(),
            n4,
            fold(w.sum) as u32,
        )
    };
    if r < 0 {
        w.ok = 0;
        return 1;
    }
    w.sum = r as u64;
    w.pos += n;
    0
}

/// Folds a one's complement sum to 16 bits.
#[inline(always)]
fn fold(mut sum: u64) -> u64 {
    sum = (sum & 0xffff_ffff) + (sum >> 32);
    sum = (sum & 0xffff) + (sum >> 16);
    sum = (sum & 0xffff) + (sum >> 16);
    (sum & 0xffff) + (sum >> 16)
}

/// Whether the IPv4 options at `off` (`len` bytes, 4..=40) hold a Router Alert option.
#[inline(always)]
fn has_router_alert(skb: *mut __sk_buff, off: u32, len: u32) -> bool {
    // The usual case: Router Alert is the first (and only) option.
    let mut first = [0u8; 2];
    if !load(skb, off, &mut first) {
        return false;
    }
    if first[0] == IPOPT_RA {
        return true;
    }
    let mut walk = OptionWalk {
        skb,
        off,
        len,
        i: 0,
        found: 0,
    };
    // SAFETY: the callback is a BPF subprogram taking (index, ctx); ctx is `walk` on our stack,
    // alive for the call.
    unsafe {
        bpf_loop(
            40,
            option_step as *mut c_void,
            (&mut walk as *mut OptionWalk).cast(),
            0,
        )
    };
    walk.found != 0
}

/// State of the walk over the IPv4 options.
#[repr(C)]
struct OptionWalk {
    skb: *mut __sk_buff,
    off: u32,
    len: u32,
    i: u32,
    found: u32,
}

/// bpf_loop body: one IPv4 option.
#[inline(never)]
extern "C" fn option_step(_index: u64, ctx: *mut c_void) -> i64 {
    // SAFETY: bpf_loop passes back the pointer handed to it: a live OptionWalk.
    let w = unsafe { &mut *ctx.cast::<OptionWalk>() };
    if w.i >= w.len {
        return 1;
    }
    // Type and length; at the last byte of the list only the type is there.
    let mut t = [0u8; 1];
    if !load(w.skb, w.off + w.i, &mut t) {
        return 1;
    }
    match t[0] {
        0 => 1, // end of option list
        IPOPT_RA => {
            w.found = 1;
            1
        }
        1 => {
            w.i += 1; // no-op
            0
        }
        _ => {
            let mut l = [0u8; 1];
            if w.i + 1 >= w.len || !load(w.skb, w.off + w.i + 1, &mut l) || l[0] < 2 {
                return 1;
            }
            w.i += u32::from(l[0]);
            0
        }
    }
}

#[inline(always)]
fn is_multicast(addr: &[u8; 4]) -> bool {
    addr[0] & 0xf0 == 0xe0
}

/// `off` masked to the scratch buffer, with an instruction LLVM cannot see through. LLVM drops
/// bounds checks it can prove from earlier comparisons, and then the verifier (which does not
/// track relations between registers) sees an unbounded offset. Callers only pass offsets that
/// are already known to be below `SCRATCH_MASK`, so the mask never changes a value.
#[inline(always)]
fn clamp(off: usize) -> usize {
    let mut o = off as u64;
    // SAFETY: a register-only ALU instruction.
    unsafe { core::arch::asm!("{0} &= 0x7ff", inout(reg) o, options(pure, nomem, nostack)) };
    o as usize
}
const SCRATCH_MASK: usize = 0x7ff;

/// `n` in 1..=512 (`CSUM_CHUNK`), restated for the verifier with instructions LLVM cannot drop
/// (see `clamp`). Identity for every `n` in that range.
#[inline(always)]
fn chunk_len(n: u32) -> u32 {
    let mut x = u64::from(n);
    // SAFETY: register-only ALU instructions.
    unsafe {
        core::arch::asm!(
            "{0} += -1",
            "{0} &= 0x1ff",
            "{0} += 1",
            inout(reg) x,
            options(pure, nomem, nostack)
        )
    };
    x as u32
}
const _: () = assert!(SCRATCH_MASK + 8 <= SCRATCH_LEN);

/// One byte of the scratch copy.
#[inline(always)]
fn rd(buf: *const u8, off: usize) -> u8 {
    // SAFETY: clamp(off) <= SCRATCH_MASK < SCRATCH_LEN.
    unsafe { *buf.add(clamp(off)) }
}

/// Writes one byte of the scratch copy.
#[inline(always)]
fn wr(buf: *mut u8, off: usize, v: u8) {
    // SAFETY: clamp(off) <= SCRATCH_MASK < SCRATCH_LEN.
    unsafe { *buf.add(clamp(off)) = v }
}

/// Reads a `T` from the packet (into uninitialised stack: no zeroing first).
#[inline(always)]
fn load_val<T: Copy>(skb: *mut __sk_buff, off: u32) -> Option<T> {
    let mut v = core::mem::MaybeUninit::<T>::uninit();
    // SAFETY: v is size_of::<T>() writable bytes; the helper fills them all when it returns 0.
    let rc = unsafe {
        bpf_skb_load_bytes(
            skb as *const c_void,
            off,
            v.as_mut_ptr().cast(),
            size_of::<T>() as u32,
        )
    };
    // SAFETY: initialised by the helper on success.
    (rc == 0).then(|| unsafe { v.assume_init() })
}

#[inline(always)]
fn load<T>(skb: *mut __sk_buff, off: u32, dst: &mut T) -> bool {
    // SAFETY: dst is size_of::<T>() writable bytes.
    unsafe {
        bpf_skb_load_bytes(
            skb as *const c_void,
            off,
            (dst as *mut T).cast(),
            size_of::<T>() as u32,
        ) == 0
    }
}

#[inline(always)]
fn stats() -> Option<&'static mut IgmpStats> {
    // SAFETY: the per-CPU slot of this CPU; the program does not run twice at once on one CPU.
    MGM_STATS.get_ptr_mut(0).map(|p| unsafe { &mut *p })
}

#[inline(always)]
fn iface(skb: *mut __sk_buff) -> Option<IfaceSettings> {
    // SAFETY: ctx field read; value pointer from the lookup.
    let ifindex = unsafe { (*skb).ifindex };
    let s = MGM_IFACES.get_ptr(ifindex)?;
    let s = unsafe { *s };
    if s.enabled != 0 {
        Some(s)
    } else {
        None
    }
}

#[cfg(not(test))]
#[panic_handler]
fn panic(_info: &core::panic::PanicInfo) -> ! {
    // SAFETY: the program has no panicking paths that the verifier would accept anyway.
    unsafe { core::hint::unreachable_unchecked() }
}

#[unsafe(link_section = "license")]
#[unsafe(no_mangle)]
static LICENSE: [u8; 13] = *b"Dual MIT/GPL\0";
