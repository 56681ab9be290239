//! The IPv4 header of an IGMP packet and its options (Router Alert, RFC 2113).

use core::ffi::c_void;

use aya_ebpf::{
    bindings::__sk_buff,
    helpers::{bpf_csum_diff, bpf_loop},
};

use crate::{
    skb::{self, load, load_into},
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

/// Validates the IPv4 header at `l3` of an unfragmented packet, its checksum included.
/// `scratch` is 64 bytes of scratch memory (the BPF stack is too small) where the header is
/// copied and summed.
#[inline(always)]
pub(crate) fn header(skb: *mut __sk_buff, l3: u32, scratch: *mut u8) -> Result<Ipv4, IgnoreReason> {
    let skb_len = skb::len(skb);
    // The fixed header, then the options behind it, in the scratch, summed there.
    // SAFETY: `scratch` has 64 writable bytes (see `header`'s doc).
    if !unsafe { load_into(skb, l3, scratch, 20) } {
        return Err(IgnoreReason::Truncated);
    }
    // SAFETY: initialised just now.
    let iph = unsafe { &*scratch.cast::<[u8; 20]>() };
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
    // SAFETY: as above: 20 + (hlen - 20) <= 60 bytes; 4 <= hlen - 20 <= 40.
    if hlen > 20 && !unsafe { load_into(skb, l3 + 20, scratch.add(20), header_len(hlen - 20)) } {
        return Err(IgnoreReason::Truncated);
    }
    // SAFETY: the hlen bytes copied above (hlen a multiple of 4, as the helper wants).
    let sum = unsafe {
        bpf_csum_diff(
            core::ptr::null_mut(),
            0,
            scratch.cast(),
            header_len(hlen),
            0,
        )
    };
    if sum < 0 || fold(sum as u64) != 0xffff {
        return Err(IgnoreReason::BadIpChecksum);
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
    // The usual case: Router Alert is the first (and only) option.
    let router_alert = hlen > 20 && {
        // SAFETY: inside the header copied to the scratch above.
        let first_option = unsafe { *scratch.add(20) };
        first_option == IPOPT_RA || has_router_alert(skb, l3 + 20, hlen - 20)
    };
    Ok(Ipv4 {
        src: [iph[12], iph[13], iph[14], iph[15]],
        dst: [iph[16], iph[17], iph[18], iph[19]],
        payload_off: l3 + hlen,
        payload_len: tot_len - hlen,
        router_alert,
    })
}

/// `n` in 1..=64, restated for the verifier with instructions LLVM cannot drop (LLVM proves
/// 20 <= hlen <= 60 from comparisons on another register, which the verifier does not see).
/// Identity for every length of a header (20..=60) or of its options (4..=40).
#[inline(always)]
fn header_len(n: u32) -> u32 {
    let mut x = u64::from(n);
    // SAFETY: register-only ALU instructions.
    unsafe {
        core::arch::asm!(
            "{0} += -1",
            "{0} &= 0x3f",
            "{0} += 1",
            inout(reg) x,
            options(pure, nomem, nostack)
        )
    };
    x as u32
}

/// Folds a one's complement sum to 16 bits.
#[inline(always)]
fn fold(mut sum: u64) -> u64 {
    sum = (sum & 0xffff_ffff) + (sum >> 32);
    sum = (sum & 0xffff) + (sum >> 16);
    sum = (sum & 0xffff) + (sum >> 16);
    (sum & 0xffff) + (sum >> 16)
}

/// Whether `addr` is an IPv4 multicast address (224.0.0.0/4).
#[inline(always)]
pub(crate) fn is_multicast(addr: &[u8; 4]) -> bool {
    addr[0] & 0xf0 == 0xe0
}

/// Whether the IPv4 options at `off` (`len` bytes, 4..=40), whose first is not a Router Alert,
/// hold one further on.
#[inline(always)]
fn has_router_alert(skb: *mut __sk_buff, off: u32, len: u32) -> bool {
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
