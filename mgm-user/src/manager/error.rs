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
    /// `ERROR_INVALID_PARAMETER`, with why: bad handle, interface owned by someone else,
    /// malformed (S,G), … (the reason reaches handlers in other processes in the error line).
    #[error("{0}")]
    InvalidParameter(Invalid),
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

/// Why a call was refused with [`MgmError::InvalidParameter`]: MGM's one error code covers
/// several mistakes, and a handler (or its operator) needs to know which one it made.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Invalid {
    /// The protocol handle is not registered (never was, or deregistered since).
    #[error("unknown protocol handle (not registered, or deregistered since)")]
    UnknownHandle,
    /// The interface is not owned by the calling protocol.
    #[error("the interface is not yours (take it first)")]
    NotOwner,
    /// The (S,G) is malformed.
    #[error("malformed (S,G): the group must be multicast, the source a unicast host")]
    MalformedSg,
    /// Membership flags that name neither join nor forward state.
    #[error("the flags name neither join nor forward state")]
    NoMembershipState,
    /// A static route that lists its incoming interface among its outgoing ones.
    #[error("the incoming interface is also among the outgoing interfaces")]
    IifInOil,
    /// A call only a client of kind `static` may make.
    #[error("only the static client may do this")]
    NotStatic,
    /// A static client asked to own an interface: static entries are not interface owners.
    #[error("a static client owns no interface")]
    StaticOwnsNoInterface,
    /// A source block or unblock without its source.
    #[error("a source block or unblock needs a source")]
    NoSource,
    /// An enumeration handle that is unknown or already ended.
    #[error("unknown enumeration (never started, or ended)")]
    UnknownEnumeration,
}

#[cfg(test)]
mod tests {
    use super::{Invalid, MgmError};

    #[test]
    fn messages() {
        assert_eq!(MgmError::AlreadyExists.to_string(), "already exists");
        assert_eq!(MgmError::NotFound.to_string(), "not found");
        assert_eq!(
            MgmError::InvalidParameter(Invalid::NotOwner).to_string(),
            "the interface is not yours (take it first)"
        );
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
