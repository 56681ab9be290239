//! mgm: the multicast group manager daemon.
pub mod bpf;
pub mod forward;
pub mod igmp;
pub mod manager;
