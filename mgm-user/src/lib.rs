//! mgm: the multicast group manager daemon.
//!
//! - [`bpf`]: the shell around the igmp-ebpf classifier (load, pin, attach, maps, events);
//! - [`igmp`]: the IGMP router side (RFC 2236 / 3376), pure;
//! - [`manager`]: the multicast group manager (protocols, callbacks, MFEs), pure;
//! - [`forward`]: the shell around kernel multicast routing (ipmr: mroute socket, VIFs, MFC);
//! - [`control`]: the control socket (JSON) and its client;
//! - [`daemon`]: `mgm run`, the event loop that ties the pieces together.
pub mod bpf;
pub mod cli;
pub mod control;
pub mod daemon;
pub mod forward;
pub mod igmp;
pub mod manager;
pub mod settings;
pub mod time;
