//! Many writes or deletes of one map in one `bpf(2)` call: `BPF_MAP_UPDATE_BATCH` and
//! `BPF_MAP_DELETE_BATCH` (Linux 5.6). aya 0.14 has no batch operations; this is the thin
//! wrapper, typed by aya's `HashMap` so the key and value sizes are the map's.
use aya::maps::{HashMap, IterableMap, MapData};
use aya::Pod;
use std::os::fd::{AsFd, AsRawFd};

/// `enum bpf_cmd` values (include/uapi/linux/bpf.h).
const BPF_MAP_UPDATE_BATCH: libc::c_long = 26;
const BPF_MAP_DELETE_BATCH: libc::c_long = 27;

/// The `batch` member of `union bpf_attr`, the part these two commands read.
#[repr(C)]
#[derive(Default)]
struct BatchAttr {
    in_batch: u64,
    out_batch: u64,
    keys: u64,
    values: u64,
    count: u32,
    map_fd: u32,
    elem_flags: u64,
    flags: u64,
}

/// A batch the kernel stopped: the first `done` entries were carried out, the entry at `done`
/// failed with `errno` (or, with `done` 0, possibly the call itself: an older kernel).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("batch stopped after {done} entries: {}", std::io::Error::from_raw_os_error(*.errno))]
pub struct BatchError {
    pub done: usize,
    pub errno: i32,
}

/// Writes `keys[i]` → `values[i]` with one `elem_flags` for all (`BPF_NOEXIST`, `BPF_ANY`), in
/// order; stops at the first entry that fails.
pub fn update<K: Pod, V: Pod>(
    map: &HashMap<MapData, K, V>,
    keys: &[K],
    values: &[V],
    elem_flags: u64,
) -> Result<(), BatchError> {
    assert_eq!(keys.len(), values.len(), "one value per key");
    let attr = BatchAttr {
        keys: keys.as_ptr() as u64,
        values: values.as_ptr() as u64,
        elem_flags,
        ..BatchAttr::default()
    };
    call(BPF_MAP_UPDATE_BATCH, map, attr, keys.len())
}

/// Deletes `keys` in order; stops at the first that fails (`ENOENT` for one not there).
pub fn delete<K: Pod, V: Pod>(map: &HashMap<MapData, K, V>, keys: &[K]) -> Result<(), BatchError> {
    let attr = BatchAttr {
        keys: keys.as_ptr() as u64,
        ..BatchAttr::default()
    };
    call(BPF_MAP_DELETE_BATCH, map, attr, keys.len())
}

fn call<K: Pod, V: Pod>(
    cmd: libc::c_long,
    map: &HashMap<MapData, K, V>,
    mut attr: BatchAttr,
    n: usize,
) -> Result<(), BatchError> {
    if n == 0 {
        return Ok(());
    }
    let fd = map.map().fd().as_fd().as_raw_fd();
    attr.map_fd = fd as u32;
    attr.count = u32::try_from(n).map_err(|_| BatchError {
        done: 0,
        errno: libc::E2BIG,
    })?;
    let size = std::mem::size_of::<BatchAttr>();
    // SAFETY: `attr` is a valid `bpf_attr` prefix for the batch commands (unused fields zero),
    // living across the call; `keys` and `values` point to `n` entries of the map's key and
    // value types (aya checked their sizes against the map's when it typed it), which the kernel
    // only reads; the kernel writes back `count` inside `attr`.
    let r = unsafe { libc::syscall(libc::SYS_bpf, cmd, &mut attr as *mut BatchAttr, size) };
    if r == 0 {
        return Ok(());
    }
    let errno = std::io::Error::last_os_error()
        .raw_os_error()
        .unwrap_or(libc::EIO);
    // The kernel reports how many entries it carried out; a call refused before any entry
    // (an unknown command on an old kernel) leaves the count as it was.
    let done = attr.count as usize;
    Err(BatchError {
        done: if done >= n { 0 } else { done },
        errno,
    })
}
