//! The IGMP settings moved to [`crate::settings`]; this keeps the daemon's
//! `settings::interface_configs` path (the daemon can call `crate::settings` directly and drop it).
pub use crate::settings::interface_configs;
