//! The per-CPU copy of the IGMP message (`MGM_SCRATCH`) and the offset masks that let the
//! verifier see every access to it bounded.

use core::ptr::addr_of_mut;

use mgm_common::event::MAX_EVENT_IGMP_LEN;

use crate::{l2::Frame, maps};

/// Bytes of the per-CPU copy of an IGMP message: the first `MAX_EVENT_IGMP_LEN` bytes of the
/// message (+ 3 bytes of zero padding), then a 512-byte window (+ padding) for checksumming the
/// rest of a longer one. Every offset used stays below `SCRATCH_MASK` + 1.
pub(crate) const SCRATCH_LEN: usize = 2056;
/// Where the checksum window for bytes beyond `MAX_EVENT_IGMP_LEN` starts.
pub(crate) const CSUM_WINDOW: usize = 1488;
/// Largest chunk `bpf_csum_diff` takes.
pub(crate) const CSUM_CHUNK: usize = 512;
/// Mask of every scratch offset (see `clamp`).
const SCRATCH_MASK: usize = 0x7ff;
const _: () = assert!(MAX_EVENT_IGMP_LEN + 3 <= CSUM_WINDOW);
const _: () = assert!(CSUM_WINDOW + CSUM_CHUNK + 3 <= SCRATCH_MASK + 1);
const _: () = assert!(SCRATCH_MASK + 8 <= SCRATCH_LEN);

#[repr(C)]
pub(crate) struct Scratch {
    pub(crate) buf: [u8; SCRATCH_LEN],
    /// l3 offset, frame tags, frame tags with a VLAN id (see `frame_in_ranges`).
    pub(crate) hdr: [u32; 4],
}

/// The copy's bytes.
#[inline(always)]
pub(crate) fn buffer(scratch: *mut Scratch) -> *mut u8 {
    // SAFETY: per-CPU map value, valid for this run; only the address is taken.
    unsafe { addr_of_mut!((*scratch).buf) }.cast()
}

/// This CPU's copy of the message, `None` only if the map lookup fails (it cannot).
#[inline(always)]
pub(crate) fn this_cpu_buffer() -> Option<*mut u8> {
    maps::scratch().map(buffer)
}

/// `frame` as plain ranges. The paths that find IGMP carry different constants (l3 = 14, 18,
/// 22, ...). A volatile round trip through map memory turns them into ranges, so the verifier
/// checks what follows once instead of once per path.
#[inline(always)]
pub(crate) fn frame_in_ranges(scratch: *mut Scratch, frame: Frame) -> Frame {
    // SAFETY: per-CPU map value, valid for this run; nothing else on this CPU uses it now.
    let v = unsafe {
        let h = addr_of_mut!((*scratch).hdr);
        core::ptr::write_volatile(h, [frame.l3, frame.tags, frame.vid_tags, 0]);
        core::ptr::read_volatile(h)
    };
    Frame {
        l3: v[0] & 0x3f,
        tags: v[1] & 0x7,
        vid_tags: v[2] & 0x7,
    }
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
    // SAFETY: clamp(off) <= SCRATCH_MASK < SCRATCH_LEN.
    unsafe { *buf.add(clamp(off)) }
}

/// Writes one byte of the scratch copy.
#[inline(always)]
pub(crate) fn wr(buf: *mut u8, off: usize, v: u8) {
    // SAFETY: clamp(off) <= SCRATCH_MASK < SCRATCH_LEN.
    unsafe { *buf.add(clamp(off)) = v }
}
