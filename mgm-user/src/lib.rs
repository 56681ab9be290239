//! mgm: the multicast group manager daemon.
pub mod bpf;
pub mod igmp;
pub mod manager;
