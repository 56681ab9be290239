//! The IGMP checksum (RFC 1071) over the whole message, trailing bytes included.
//!
//! An 8-byte message is summed from its header. A longer one is copied into the per-CPU
//! scratch (its first `MAX_EVENT_IGMP_LEN` bytes, which the handlers then read and the event
//! carries) and summed with `bpf_csum_diff`, 512 bytes at a time: the first chunk inline, the
//! rest in a `bpf_loop`; bytes beyond the copy (messages longer than an event carries) go
//! through a checksum window of the scratch.

use core::ffi::c_void;

use aya_ebpf::{
    bindings::__sk_buff,
    helpers::{bpf_csum_diff, bpf_loop},
};

use crate::{
    igmp::MAX_EVENT,
    scratch::{self, chunk_len, clamp, wr, CSUM_CHUNK, CSUM_WINDOW},
    skb::load_into,
};

/// Whether the checksum of the `len`-byte message at packet offset `off`, whose first 8 bytes
/// are `header`, verifies. Copies its first `min(len, MAX_EVENT)` bytes into `buf` when it is
/// longer than 8 bytes. A failing copy (cannot happen: the bytes are there) counts as a bad
/// checksum.
#[inline(always)]
pub(crate) fn igmp_ok(
    skb: *mut __sk_buff,
    buf: *mut u8,
    header: &[u8; 8],
    off: u32,
    len: u32,
) -> bool {
    if len == 8 {
        // The common v1/v2 case: sum the four words here.
        let mut sum = 0u32;
        let mut i = 0;
        while i < 8 {
            sum += u32::from(u16::from_be_bytes([header[i], header[i + 1]]));
            i += 2;
        }
        return fold(u64::from(sum)) == 0xffff;
    }
    let cap = if len > MAX_EVENT { MAX_EVENT } else { len };
    copy_and_check(skb, buf, off, len, cap)
}

/// Copies the first `cap` bytes of the IGMP message into `buf` and checks the IGMP checksum
/// over all `len` bytes (`8 <= len`, `cap = min(len, MAX_EVENT)`): the first 512 bytes here, the
/// rest (long messages only) in a `bpf_loop`.
#[inline(always)]
fn copy_and_check(skb: *mut __sk_buff, buf: *mut u8, off: u32, len: u32, cap: u32) -> bool {
    if !(1..=MAX_EVENT).contains(&cap) {
        return false;
    }
    // SAFETY: buf holds MAX_EVENT + 3 bytes and more (the scratch copy).
    if !unsafe { load_into(skb, off, buf, cap) } {
        return false;
    }
    // Zero the bytes after the copy up to the next multiple of 4, so that an odd length sums
    // as RFC 1071 pads it.
    let c = cap as usize;
    wr(buf, c, 0);
    wr(buf, c + 1, 0);
    wr(buf, c + 2, 0);
    let first = if cap > CSUM_CHUNK as u32 {
        CSUM_CHUNK as u32
    } else {
        cap
    };
    let n4 = chunk_len((first + 3) & !3);
    // SAFETY: n4 <= 512 bytes of the copy.
    let r = unsafe { bpf_csum_diff(core::ptr::null_mut(), 0, buf.cast(), n4, 0) };
    if r < 0 {
        return false;
    }
    let mut walk = CsumWalk {
        skb,
        sum: r as u64,
        off,
        len,
        cap,
        pos: first,
        ok: 1,
    };
    if first < len {
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

/// State of the checksum walk over the bytes of a message beyond its first 512.
#[repr(C)]
struct CsumWalk {
    skb: *mut __sk_buff,
    sum: u64,
    off: u32,
    len: u32,
    /// Bytes in the scratch copy.
    cap: u32,
    /// Next byte to sum: a multiple of 512 in the copy, `cap` (a multiple of 4) or beyond.
    pos: u32,
    ok: u32,
}

/// bpf_loop body: adds the next (up to) 512 bytes of the message to the checksum, from the
/// scratch copy, or beyond it through the checksum window.
#[inline(never)]
extern "C" fn csum_step(_index: u64, ctx: *mut c_void) -> i64 {
    // SAFETY: bpf_loop passes back the pointer handed to it: a live CsumWalk.
    let w = unsafe { &mut *ctx.cast::<CsumWalk>() };
    if w.pos >= w.len {
        return 1;
    }
    let Some(buf) = scratch::this_cpu_buffer() else {
        w.ok = 0;
        return 1;
    };
    let (src, n) = if w.pos < w.cap {
        let mut n = w.cap - w.pos;
        if n > CSUM_CHUNK as u32 {
            n = CSUM_CHUNK as u32;
        }
        // SAFETY: clamp(pos) <= MSG_MASK; the copy has MSG_MASK + 1 + 512 bytes.
        (unsafe { buf.add(clamp(w.pos as usize)) }, n)
    } else {
        // SAFETY: CSUM_WINDOW + 512 + 3 <= MSG_MASK + 1: inside the scratch copy.
        let window = unsafe { buf.add(CSUM_WINDOW) };
        let mut n = w.len - w.pos;
        if n > CSUM_CHUNK as u32 {
            n = CSUM_CHUNK as u32;
        }
        // 1 <= n <= 512 already; restated so the verifier sees it.
        let n = chunk_len(n);
        // SAFETY: window has CSUM_CHUNK + 8 bytes.
        if !unsafe { load_into(w.skb, w.off + w.pos, window, n) } {
            w.ok = 0;
            return 1;
        }
        let nn = n as usize;
        // Zero padding to a multiple of 4 (see copy_and_check); stays within the scratch mask.
        wr(buf, CSUM_WINDOW + nn, 0);
        wr(buf, CSUM_WINDOW + nn + 1, 0);
        wr(buf, CSUM_WINDOW + nn + 2, 0);
        (window, n)
    };
    let n4 = chunk_len((n + 3) & !3);
    // SAFETY: src + n4 stays within the scratch copy (see the two cases above).
    let r = unsafe { bpf_csum_diff(core::ptr::null_mut(), 0, src.cast(), n4, fold(w.sum) as u32) };
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
