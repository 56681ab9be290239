//! All kernel I/O of the daemon, one module per kernel interface. The pure parts (the upcall
//! parser and socket filter, netlink message building and parsing) are plain functions,
//! tested on the host.
//!
//! - [`bpf`]: the igmp-ebpf classifier (embedded object, load, pin, attach, maps, ring buffer);
//! - [`mroute`]: the ipmr control socket (`MRT_INIT`, VIFs, MFC, `SIOCGETSGCNT`, upcalls);
//! - [`mfc_dump`]: the kernel's MFC as it is (rtnetlink dump of `RTNL_FAMILY_IPMR`), for the
//!   periodic reconcile;
//! - [`upcall`]: `struct igmpmsg` and the upcall-only socket filter (pure);
//! - [`fib`]: RPF lookups through the FIB (rtnetlink `RTM_GETROUTE`), without blocking;
//! - [`link`]: the kind of link an interface is (its device type), which picks its classifier;
//! - [`link_watch`]: link and address notifications (rtnetlink multicast groups);
//! - [`memory`]: the daemon's resident set and `malloc_trim`;
//! - [`sched`]: the loop thread's short time slice (how soon it runs once woken);
//! - `query_sender`: the send-only socket IGMP queries leave through (packet socket on
//!   Ethernet, raw IP socket on other links);
//! - `igmp_frame`: the IPv4 header of what we send, the Ethernet address of a group (pure);
//! - `raw_socket`: how raw and packet sockets are made and options set (the `libc` helpers).
pub mod bpf;
pub mod fib;
pub(crate) mod igmp_frame;
pub mod link;
pub mod link_watch;
pub mod memory;
pub mod mfc_dump;
pub mod mroute;
pub(crate) mod query_sender;
mod raw_socket;
mod rtnetlink;
pub mod sched;
pub mod upcall;
