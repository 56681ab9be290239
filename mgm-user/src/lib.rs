//! mgm: the multicast group manager daemon.
//!
//! - [`igmp`]: the IGMP router side (RFC 2236 / 3376), pure;
//! - [`manager`]: the multicast group manager (protocols, callbacks, MFEs), pure;
//! - [`sys`]: every kernel interface (classifier and maps, mroute socket and upcalls, FIB
//!   lookups, link watch, query sockets);
//! - [`control`]: the control protocol ([`control::api`]), its server and client, the tables;
//! - [`daemon`]: `mgm run`: the state owner (`Daemon`) and the event loop;
//! - [`proxy`]: the IGMP proxy's core (RFC 4605: the merge, the upstream host), pure;
//! - [`settings`]: every IGMP setting defined once (flags, `-i IF,key=value`, help);
//! - [`config`]: the configuration file, resolved with the flags into one run configuration;
//! - [`cli`], [`commands`]: the command line and the client commands that change state;
//! - [`dense_map`]: the per-group tables' layout in memory;
//! - [`time`]: the one clock (CLOCK_MONOTONIC ns);
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
