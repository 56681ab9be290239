//! The client commands that change the daemon's state: `mgm handler` and the static entries;
//! and the packaging helpers (`generate`: manual pages, completions).
pub mod generate;
pub mod handler;
pub mod man_config;
pub mod statics;
