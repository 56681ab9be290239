//! The manager's error type, after MGM's error codes (`mgm-api.md` §7).

/// Errors of manager calls. The buffer-protocol codes of Windows (`InsufficientBuffer`,
/// `MoreData`, `NoMoreItems`) have no counterpart: walks return `Vec`s and a "more" flag.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum MgmError {
    /// `ERROR_ALREADY_EXISTS`: duplicate registration, or the interface is owned by another
    /// routing protocol (or another IGMP client).
    #[error("already exists")]
    AlreadyExists,
    /// `ERROR_CAN_NOT_COMPLETE`: e.g. deregistering while still owning interfaces.
    #[error("can not complete")]
    CanNotComplete,
    /// `ERROR_INVALID_PARAMETER`: bad handle, interface owned by someone else, malformed (S,G).
    #[error("invalid parameter")]
    InvalidParameter,
    /// `ERROR_NOT_FOUND`: unknown interface, no owner, no such membership or MFE.
    #[error("not found")]
    NotFound,
    /// The kernel's multicast forwarder has no free VIF: IPv4 ipmr allows `MAXVIFS` (32).
    #[error(
        "no free VIF for ifindex {ifindex}: the kernel multicast forwarder allows at most {limit} \
         VIFs (MAXVIFS) and all are in use"
    )]
    VifLimit { ifindex: u32, limit: usize },
    /// Queued calls kept queuing more calls past the limit: a callback loop.
    #[error("callbacks queued more than {limit} manager calls in one operation (a loop?)")]
    CallbackLoop { limit: usize },
}

pub type MgmResult<T> = Result<T, MgmError>;

#[cfg(test)]
mod tests {
    use super::MgmError;

    #[test]
    fn messages() {
        assert_eq!(MgmError::AlreadyExists.to_string(), "already exists");
        assert_eq!(MgmError::NotFound.to_string(), "not found");
        assert_eq!(
            MgmError::VifLimit {
                ifindex: 7,
                limit: 32
            }
            .to_string(),
            "no free VIF for ifindex 7: the kernel multicast forwarder allows at most 32 VIFs \
             (MAXVIFS) and all are in use"
        );
        assert_eq!(
            MgmError::CallbackLoop { limit: 10 }.to_string(),
            "callbacks queued more than 10 manager calls in one operation (a loop?)"
        );
    }
}
