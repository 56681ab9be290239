//! mgm: the multicast group manager daemon.
pub mod igmp;
pub mod manager;
