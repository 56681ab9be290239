//! mgm: the multicast group manager daemon.
//!
//! - [`igmp`]: the IGMP router side (RFC 2236 / 3376), pure;
//! - [`manager`]: the multicast group manager (protocols, callbacks, MFEs), pure;
//! - [`sys`]: every kernel interface (classifier and maps, mroute socket and upcalls, FIB
//!   lookups, link watch, query sockets);
//! - [`control`]: the control protocol ([`control::api`]), its server and client, the tables;
//! - [`daemon`]: `mgm run`: the state owner (`Daemon`) and the event loop;
//! - [`logging`]: the daemon's logger (terminal or journal format).
pub mod cli;
pub mod commands;
pub mod config;
pub mod control;
pub mod daemon;
pub mod dense_map;
pub mod igmp;
pub mod logging;
pub mod manager;
pub mod proxy;
pub mod settings;
pub mod sys;
pub mod time;
