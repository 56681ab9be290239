//! Reads of the packet (`bpf_skb_load_bytes`, direct loads) and of the `__sk_buff` context.

use core::{ffi::c_void, mem::size_of};

use aya_ebpf::{bindings::__sk_buff, helpers::bpf_skb_load_bytes};

/// Linear packet bounds: `data`, `data_end`.
#[inline(always)]
pub(crate) fn linear(skb: *mut __sk_buff) -> (usize, usize) {
    // SAFETY: ctx fields of a valid __sk_buff; the verifier rewrites these loads.
    unsafe { ((*skb).data as usize, (*skb).data_end as usize) }
}

/// Interface the packet arrived on.
#[inline(always)]
pub(crate) fn ifindex(skb: *mut __sk_buff) -> u32 {
    // SAFETY: ctx field read.
    unsafe { (*skb).ifindex }
}

/// Length of the packet from its link-layer header on (from the IPv4 header on links without
/// one).
#[inline(always)]
pub(crate) fn len(skb: *mut __sk_buff) -> u32 {
    // SAFETY: ctx field read.
    unsafe { (*skb).len }
}

/// The VLAN tag held in skb metadata (stripped from the frame by the receive path): its TCI,
/// or `None`.
#[inline(always)]
pub(crate) fn vlan_metadata(skb: *mut __sk_buff) -> Option<u32> {
    // SAFETY: ctx field reads.
    let (present, tci) = unsafe { ((*skb).vlan_present, (*skb).vlan_tci) };
    (present != 0).then_some(tci)
}

/// Reads a `T` from the packet (into uninitialised stack: no zeroing first).
#[inline(always)]
pub(crate) fn load_val<T: Copy>(skb: *mut __sk_buff, off: u32) -> Option<T> {
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

/// Reads `size_of::<T>()` packet bytes at `off` into `dst`; false when they are not there.
#[inline(always)]
pub(crate) fn load<T>(skb: *mut __sk_buff, off: u32, dst: &mut T) -> bool {
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

/// Reads `len` (1..=max) packet bytes at `off` into `dst`; false when they are not there.
///
/// # Safety
/// `dst` must be valid for `len` bytes of writes.
#[inline(always)]
pub(crate) unsafe fn load_into(skb: *mut __sk_buff, off: u32, dst: *mut u8, len: u32) -> bool {
    // SAFETY: the caller guarantees `dst` holds `len` writable bytes.
    unsafe { bpf_skb_load_bytes(skb as *const c_void, off, dst.cast(), len) == 0 }
}
