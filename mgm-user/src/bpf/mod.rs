//! The shell around the igmp-ebpf classifier: the embedded object, loading, pinning, attaching.
pub mod object;
