//! The per-CPU copy of the IGMP message (`MGM_SCRATCH`), behind the header of its event record,
//! and the offset masks that let the verifier see every access to it bounded.

use core::ptr::addr_of_mut;

use mgm_common::event::{EventHeader, EVENT_HEADER_LEN, MAX_EVENT_IGMP_LEN};

use crate::{l2::Frame, maps};

/// Mask of every offset into the message copy (see `clamp`).
const MSG_MASK: usize = 0x3fff;
/// Largest chunk `bpf_csum_diff` takes.
pub(crate) const CSUM_CHUNK: usize = 512;
/// Bytes of the message copy: every offset masked by `MSG_MASK`, plus a chunk summed from there.
const MSG_LEN: usize = MSG_MASK + 1 + CSUM_CHUNK;
/// Where the checksum window for bytes beyond `MAX_EVENT_IGMP_LEN` starts, in the message copy.
pub(crate) const CSUM_WINDOW: usize = MSG_MASK + 1 - CSUM_CHUNK - 8;
const _: () = assert!(MAX_EVENT_IGMP_LEN + 3 <= CSUM_WINDOW);
const _: () = assert!(CSUM_WINDOW + CSUM_CHUNK + 3 <= MSG_MASK + 1);
const _: () = assert!(EVENT_HEADER_LEN + MAX_EVENT_IGMP_LEN <= MSG_MASK);

/// The per-CPU record being built (the header of an event, then the message), and the frame's
/// ranges. `event` and `msg` are adjacent: the event goes on the ring from `event` with the
/// message's real length.
#[repr(C)]
pub(crate) struct Scratch {
    pub(crate) event: EventHeader,
    /// The first `MAX_EVENT_IGMP_LEN` bytes of the message (+ 3 bytes of zero padding), then a
    /// 512-byte window (+ padding) for checksumming the rest of a longer one.
    pub(crate) msg: [u8; MSG_LEN],
    /// l3 offset, frame tags, frame tags with a VLAN id (see `frame_in_ranges`).
    pub(crate) hdr: [u32; 4],
}

/// The copy's bytes.
#[inline(always)]
pub(crate) fn buffer(scratch: *mut Scratch) -> *mut u8 {
    // SAFETY: per-CPU map value, valid for this run; only the address is taken.
    unsafe { addr_of_mut!((*scratch).msg) }.cast()
}

/// This CPU's copy of the message, `None` only if the map lookup fails (it cannot).
#[inline(always)]
pub(crate) fn this_cpu_buffer() -> Option<*mut u8> {
    maps::scratch().map(buffer)
}

/// The record of the message from its header on: `EVENT_HEADER_LEN + captured` bytes, bounded
/// for the verifier (`captured <= MAX_EVENT_IGMP_LEN`).
#[inline(always)]
pub(crate) fn record(scratch: *mut Scratch, captured: u32) -> &'static [u8] {
    let mut len = EVENT_HEADER_LEN as u64 + u64::from(captured);
    // SAFETY: a register-only ALU instruction (see `clamp`); an identity for every length here.
    unsafe { core::arch::asm!("{0} &= 0x3fff", inout(reg) len, options(pure, nomem, nostack)) };
    // SAFETY: `event` and `msg` are adjacent in the per-CPU value, EVENT_HEADER_LEN + MSG_LEN
    // bytes long, valid for this run; len <= MSG_MASK < EVENT_HEADER_LEN + MSG_LEN.
    unsafe { core::slice::from_raw_parts(addr_of_mut!((*scratch).event).cast(), len as usize) }
}

/// `frame` as plain ranges. The paths that find IGMP carry different constants (l3 = 0, 14, 18,
/// 22, ...; behind GRE up to 76). A volatile round trip through map memory turns them into
/// ranges, so the verifier checks what follows once instead of once per path.
#[inline(always)]
pub(crate) fn frame_in_ranges(scratch: *mut Scratch, frame: Frame) -> Frame {
    // SAFETY: per-CPU map value, valid for this run; nothing else on this CPU uses it now.
    let v = unsafe {
        let h = addr_of_mut!((*scratch).hdr);
        core::ptr::write_volatile(h, [frame.l3, frame.tags, frame.vid_tags, 0]);
        core::ptr::read_volatile(h)
    };
    Frame {
        l3: v[0] & 0x7f,
        tags: v[1] & 0x7,
        vid_tags: v[2] & 0x7,
    }
}

/// `off` masked to the message copy, with an instruction LLVM cannot see through. LLVM drops
/// bounds checks it can prove from earlier comparisons, and then the verifier (which does not
/// track relations between registers) sees an unbounded offset. Callers only pass offsets that
/// are already known to be below `MSG_MASK`, so the mask never changes a value.
#[inline(always)]
pub(crate) fn clamp(off: usize) -> usize {
    let mut o = off as u64;
    // SAFETY: a register-only ALU instruction.
    unsafe { core::arch::asm!("{0} &= 0x3fff", inout(reg) o, options(pure, nomem, nostack)) };
    o as usize
}

/// `n` in 1..=512 (`CSUM_CHUNK`), restated for the verifier with instructions LLVM cannot drop
/// (see `clamp`). Identity for every `n` in that range.
#[inline(always)]
pub(crate) fn chunk_len(n: u32) -> u32 {
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

/// One byte of the scratch copy.
#[inline(always)]
pub(crate) fn rd(buf: *const u8, off: usize) -> u8 {
    // SAFETY: clamp(off) <= MSG_MASK < MSG_LEN.
    unsafe { *buf.add(clamp(off)) }
}

/// Writes one byte of the scratch copy.
#[inline(always)]
pub(crate) fn wr(buf: *mut u8, off: usize, v: u8) {
    // SAFETY: clamp(off) <= MSG_MASK < MSG_LEN.
    unsafe { *buf.add(clamp(off)) = v }
}
