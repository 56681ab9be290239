//! Routing protocols in other processes: the handler sessions of the control socket
//! (`docs/handler-protocol.md`). A connection that sends `register` becomes a protocol of the
//! manager whose callbacks go to it as lines ([`remote::RemoteHandler`]); its requests are the
//! MGM functions, carried out here on the manager with the caller's handle.
//!
//! Life cycle: the session ends when the connection closes, when the handler deregisters, or
//! when it stops reading (its outbox fills up); then its interfaces are released (prune
//! alerts to the others, its MFEs and OIL entries gone) and it is deregistered. The interfaces
//! it held are remembered by name: registering again under that name takes them back, with
//! the ones reserved for it (`-i IF,protocol=NAME`).
mod answers;
mod remote;
mod requests;
mod statics;
mod walks;

pub(crate) use statics::{join_args, route_args};

use crate::control::server::Connection;
use crate::manager::{IfKey, ProtocolHandle};
use crate::time::RateLimit;
use remote::SharedSession;
use std::collections::{BTreeMap, BTreeSet};

/// One registered handler.
pub(crate) struct Registered {
    pub handle: ProtocolHandle,
    pub shared: SharedSession,
}

/// The handler sessions and what outlives them.
pub(crate) struct Handlers {
    /// Registered sessions by connection id.
    sessions: BTreeMap<u64, Registered>,
    /// Interfaces (names) each protocol name held when its last session ended.
    remembered: BTreeMap<String, BTreeSet<String>>,
    deadline_ns: u64,
    /// Answers that did not come in time (defaults taken).
    pub timeouts: u64,
    /// Answers to unknown or expired questions.
    pub late_answers: u64,
    /// Sessions closed because their outbox was full.
    pub overflows: u64,
    timeout_log: RateLimit,
}

impl Handlers {
    pub(crate) fn new(deadline_ms: u64) -> Self {
        Handlers {
            sessions: BTreeMap::new(),
            remembered: BTreeMap::new(),
            deadline_ns: deadline_ms.saturating_mul(1_000_000),
            timeouts: 0,
            late_answers: 0,
            overflows: 0,
            timeout_log: RateLimit::default(),
        }
    }

    /// The earliest answer deadline.
    /// A new `handler-deadline` (a reload), for the callbacks asked from now on.
    pub(crate) fn set_deadline_ms(&mut self, deadline_ms: u64) {
        self.deadline_ns = deadline_ms.saturating_mul(1_000_000);
    }

    pub(crate) fn next_deadline(&self) -> Option<u64> {
        self.sessions
            .values()
            .filter_map(|r| r.shared.lock().next_deadline())
            .min()
    }

    /// The registered session of connection `conn`.
    fn session(&self, conn: &Connection) -> Option<&Registered> {
        self.sessions.get(&conn.id)
    }

    /// The session registered under `name`.
    fn by_name(&self, name: &str) -> Option<(&u64, &Registered)> {
        self.sessions
            .iter()
            .find(|(_, r)| r.shared.lock().name == name)
    }

    /// The sessions whose outbox overflowed (to disconnect).
    fn overflowed(&self) -> Vec<u64> {
        self.sessions
            .iter()
            .filter(|(_, r)| r.shared.lock().overflowed)
            .map(|(c, _)| *c)
            .collect()
    }

    /// Number of registered handlers.
    pub(crate) fn count(&self) -> usize {
        self.sessions.len()
    }
}

/// The protocol id a handler gets when it names none: FNV-1a of its name, in the range the
/// built-in protocols do not use.
pub(crate) fn protocol_id_for(name: &str) -> u32 {
    let mut h: u32 = 0x811c_9dc5;
    for b in name.bytes() {
        h ^= u32::from(b);
        h = h.wrapping_mul(0x0100_0193);
    }
    h & 0x3fff_ffff
}

/// A protocol name a handler may register under: 1 to 32 of `A-Za-z0-9_.-`, not a built-in.
pub(crate) fn check_name(name: &str) -> Result<(), String> {
    if name.is_empty() || name.len() > 32 {
        return Err(format!(
            "protocol name '{name}' must be 1 to 32 characters long"
        ));
    }
    if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
    {
        return Err(format!(
            "protocol name '{name}' may only hold letters, digits, '_', '.' and '-'"
        ));
    }
    if matches!(name, "local" | "igmp" | "static") {
        return Err(format!("'{name}' is a built-in protocol of mgm"));
    }
    Ok(())
}

/// An interface key for a handler's interface name.
fn iface_key(ifindex: u32) -> IfKey {
    IfKey::new(ifindex)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_checked() {
        assert!(check_name("pimd").is_ok());
        assert!(check_name("my-proto.v2_x").is_ok());
        for bad in ["", "local", "igmp", "static", "a b", "x/y", &"n".repeat(33)] {
            assert!(check_name(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn derived_protocol_ids_are_stable_and_differ() {
        assert_eq!(protocol_id_for("pimd"), protocol_id_for("pimd"));
        assert_ne!(protocol_id_for("pimd"), protocol_id_for("dvmrp"));
        assert!(protocol_id_for("pimd") < 0x4000_0000);
    }
}
