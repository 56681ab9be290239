//! The manager's error type, after MGM's error codes (`mgm-api.md` §7).
use std::fmt;

/// Errors of manager calls. The buffer-protocol codes of Windows (`InsufficientBuffer`,
/// `MoreData`, `NoMoreItems`) have no counterpart: walks return `Vec`s and a "more" flag.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MgmError {
    /// `ERROR_ALREADY_EXISTS`: duplicate registration, or the interface is owned by another
    /// routing protocol (or another IGMP client).
    AlreadyExists,
    /// `ERROR_CAN_NOT_COMPLETE`: e.g. deregistering while still owning interfaces.
    CanNotComplete,
    /// `ERROR_INVALID_PARAMETER`: bad handle, interface owned by someone else, malformed (S,G).
    InvalidParameter,
    /// `ERROR_NOT_FOUND`: unknown interface, no owner, no such membership or MFE.
    NotFound,
    /// The kernel's multicast forwarder has no free VIF: IPv4 ipmr allows `MAXVIFS` (32).
    VifLimit { ifindex: u32, limit: usize },
    /// Queued calls kept queuing more calls past the limit: a callback loop.
    CallbackLoop { limit: usize },
}

impl fmt::Display for MgmError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MgmError::AlreadyExists => f.write_str("already exists"),
            MgmError::CanNotComplete => f.write_str("can not complete"),
            MgmError::InvalidParameter => f.write_str("invalid parameter"),
            MgmError::NotFound => f.write_str("not found"),
            MgmError::VifLimit { ifindex, limit } => write!(
                f,
                "no free VIF for ifindex {ifindex}: the kernel multicast forwarder allows at \
                 most {limit} VIFs (MAXVIFS) and all are in use"
            ),
            MgmError::CallbackLoop { limit } => write!(
                f,
                "callbacks queued more than {limit} manager calls in one operation (a loop?)"
            ),
        }
    }
}

impl std::error::Error for MgmError {}

pub type MgmResult<T> = Result<T, MgmError>;
