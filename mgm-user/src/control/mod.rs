//! The control socket: a Unix stream socket speaking JSON lines ([`api`]: request lines, each
//! answered by one response line in order; for `events`, a stream of event lines; for a
//! registered handler, callback lines too). `mgm show`, `mgm events`, `mgm join`/`route` and
//! `mgm handler` ([`handler_client`]) are its clients, and so are routing daemons in other
//! processes (`docs/handler-protocol.md`). Nothing here knows the daemon: the daemon answers
//! [`server::ControlInput`]s with [`api`] values and publishes [`api::EventLine`]s.
//!
//! [`http`] is the other listener, `mgm run --metrics`: `GET /metrics` over TCP.
pub mod api;
pub mod client;
pub mod connection;
pub mod event_channel;
pub mod handler_client;
pub mod http;
pub mod peer;
pub mod server;
pub mod slots;
pub mod socket_file;
pub mod stream;
pub mod tables;
