//! Types shared by the `igmp-ebpf` classifier and the `mgm` daemon.
//!
//! Everything here is `no_std` and `#[repr(C)]` with explicit padding, so the eBPF program and
//! userspace agree byte for byte, and bpftool prints the fields by name from the program's BTF.
//! Addresses are `[u8; 4]` in network order. Times are absolute `CLOCK_MONOTONIC` nanoseconds
//! (`bpf_ktime_get_ns` in the program, the same clock in userspace).
#![no_std]

pub mod event;
pub mod igmp;
pub mod maps;
pub mod stats;

pub use event::{EventHeader, IgmpEvent};
pub use maps::{IfaceSettings, MemberKey, MemberState, RateBuckets, SourceKey, SourceState};
pub use stats::IgmpStats;
