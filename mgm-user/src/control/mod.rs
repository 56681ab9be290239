//! The control socket: a Unix stream socket speaking JSON, one request line, then one response
//! line (or, for `events`, a stream of lines). `mgm show` and `mgm events` are its clients;
//! routing daemons in other processes will register over it later.
pub mod client;
pub mod protocol;
pub mod server;
pub mod views;
