//! The client commands that change the daemon's state: `mgm handler` and the static entries.
pub mod handler;
pub mod statics;
