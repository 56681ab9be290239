//! The IPv4 header of an IGMP packet and its options (Router Alert, RFC 2113).

use core::ffi::c_void;

use aya_ebpf::{bindings::__sk_buff, helpers::bpf_loop};

use crate::{
    skb::{self, load, load_val},
    verdict::IgnoreReason,
};

/// IP Router Alert option (RFC 2113), copied flag set.
const IPOPT_RA: u8 = 0x94;
/// End of option list.
const IPOPT_END: u8 = 0;
/// No operation.
const IPOPT_NOOP: u8 = 1;
/// Bytes of options at most.
const MAX_OPTIONS_LEN: u32 = 40;
/// More-fragments flag and fragment offset bits of the flags/offset field.
const FRAGMENT_MASK: u16 = 0x3fff;

/// A valid IPv4 header whose payload is in the packet.
pub(crate) struct Ipv4 {
    pub(crate) src: [u8; 4],
    pub(crate) dst: [u8; 4],
    /// Packet offset of the payload (the IGMP message).
    pub(crate) payload_off: u32,
    /// Total length minus header length.
    pub(crate) payload_len: u32,
    /// The options hold a Router Alert.
    pub(crate) router_alert: bool,
}

/// Validates the IPv4 header at `l3` of an unfragmented packet.
#[inline(always)]
pub(crate) fn header(skb: *mut __sk_buff, l3: u32) -> Result<Ipv4, IgnoreReason> {
    let skb_len = skb::len(skb);
    let iph = load_val::<[u8; 20]>(skb, l3).ok_or(IgnoreReason::Truncated)?;
    if iph[0] >> 4 != 4 {
        return Err(IgnoreReason::BadIpVersion);
    }
    let ihl = u32::from(iph[0] & 0x0f);
    if ihl < 5 {
        return Err(IgnoreReason::BadIhl);
    }
    let hlen = ihl * 4;
    if skb_len < l3 + hlen {
        return Err(IgnoreReason::Truncated);
    }
    let tot_len = u32::from(u16::from_be_bytes([iph[2], iph[3]]));
    if tot_len < hlen {
        return Err(IgnoreReason::BadTotalLength);
    }
    if l3 + tot_len > skb_len {
        return Err(IgnoreReason::Truncated);
    }
    if u16::from_be_bytes([iph[6], iph[7]]) & FRAGMENT_MASK != 0 {
        return Err(IgnoreReason::Fragment);
    }
    Ok(Ipv4 {
        src: [iph[12], iph[13], iph[14], iph[15]],
        dst: [iph[16], iph[17], iph[18], iph[19]],
        payload_off: l3 + hlen,
        payload_len: tot_len - hlen,
        router_alert: hlen > 20 && has_router_alert(skb, l3 + 20, hlen - 20),
    })
}

/// Whether `addr` is an IPv4 multicast address (224.0.0.0/4).
#[inline(always)]
pub(crate) fn is_multicast(addr: &[u8; 4]) -> bool {
    addr[0] & 0xf0 == 0xe0
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
            MAX_OPTIONS_LEN,
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
        IPOPT_END => 1,
        IPOPT_RA => {
            w.found = 1;
            1
        }
        IPOPT_NOOP => {
            w.i += 1;
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
