//! The control socket: a Unix stream socket speaking JSON lines ([`api`]: one request line,
//! then one response line or, for `events`, a stream of event lines). `mgm show` and
//! `mgm events` are its clients; routing daemons in other processes will register over it
//! later. Nothing here knows the daemon: the daemon answers [`server::Query`]s with [`api`]
//! values and publishes [`api::EventLine`]s.
pub mod api;
pub mod client;
pub mod handler_client;
pub mod peer;
pub mod server;
pub mod socket_file;
pub mod tables;
