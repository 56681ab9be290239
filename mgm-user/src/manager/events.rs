//! The observable event stream (`mgm events`): one record per callback invoked and per MFE
//! change, in the order they happen.
use super::callbacks::RpfVerdict;
use super::types::IfKey;
use serde::Serialize;
use std::net::Ipv4Addr;

/// What happened.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    LocalJoin,
    LocalLeave,
    JoinAlert,
    PruneAlert,
    CreationAlert,
    Rpf,
    WrongInterface,
    EnableIgmp,
    DisableIgmp,
    MfeAdd,
    MfeUpdate,
    MfeDelete,
}

impl EventKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::LocalJoin => "local_join",
            EventKind::LocalLeave => "local_leave",
            EventKind::JoinAlert => "join_alert",
            EventKind::PruneAlert => "prune_alert",
            EventKind::CreationAlert => "creation_alert",
            EventKind::Rpf => "rpf",
            EventKind::WrongInterface => "wrong_interface",
            EventKind::EnableIgmp => "enable_igmp",
            EventKind::DisableIgmp => "disable_igmp",
            EventKind::MfeAdd => "mfe_add",
            EventKind::MfeUpdate => "mfe_update",
            EventKind::MfeDelete => "mfe_delete",
        }
    }
}

/// The arguments of a callback (as the handler left them, for in/out arguments) or of an MFE
/// change, carried by its event.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub enum EventArgs {
    /// Nothing beyond kind, interface and (S,G): local join/leave, enable/disable IGMP.
    #[default]
    None,
    /// `member_update`: a membership add (`true`) or an MFE's OIL becoming non-empty.
    JoinAlert { member_update: bool },
    /// `member_delete`: a membership delete (`true`) or an MFE's OIL becoming empty; then
    /// `timeout_s` is the MFE lifetime the handler left (seconds, 0 = never ages).
    PruneAlert { member_delete: bool, timeout_s: u32 },
    /// The RPF callback: where the packet arrived, the incoming interface and upstream
    /// neighbour after the handler, and its verdict.
    Rpf {
        arrival: IfKey,
        iif: IfKey,
        upstream: Ipv4Addr,
        verdict: RpfVerdict,
    },
    /// The creation alert: the handler's interfaces it kept (`oifs`) and vetoed.
    CreationAlert {
        oifs: Vec<IfKey>,
        vetoed: Vec<IfKey>,
        /// The answer is not in yet (asked elsewhere); the MFE is made when it is.
        pending: bool,
    },
    /// A packet arrived on `arrival`, not on the MFE's incoming interface `iif` (if the MFE
    /// is known).
    WrongInterface { arrival: IfKey, iif: Option<IfKey> },
    /// An MFE as added, updated or deleted. `negative`: made without a usable route (no
    /// route, a route through an unmanaged interface, or refused by the RPF callback).
    Mfe {
        iif: IfKey,
        oifs: Vec<IfKey>,
        upstream: Ipv4Addr,
        negative: bool,
    },
}

/// One event. For callbacks, `protocol` is the protocol the callback went to; for MFE changes it
/// is the owner of the MFE's incoming interface (empty if none) and `interface` is that
/// incoming interface.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MgmEvent {
    pub kind: EventKind,
    /// The protocol's name, shared with the registry.
    pub protocol: std::sync::Arc<str>,
    pub interface: Option<IfKey>,
    /// `None` for the wildcard source.
    pub source: Option<Ipv4Addr>,
    /// `None` for the wildcard group.
    pub group: Option<Ipv4Addr>,
    /// `CLOCK_MONOTONIC` nanoseconds of the manager call that produced it.
    pub time_ns: u64,
    /// The callback's or MFE change's arguments.
    pub args: EventArgs,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manager::{local, Manager, MembershipFlags, Sg, StaticRpf};

    const SRC: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 10);
    const GRP: Ipv4Addr = Ipv4Addr::new(239, 1, 1, 1);

    fn args_of(events: &[MgmEvent], kind: EventKind) -> Vec<EventArgs> {
        events
            .iter()
            .filter(|e| e.kind == kind)
            .map(|e| e.args.clone())
            .collect()
    }

    /// `local` on interfaces 1 (towards the source, via 192.0.2.1) and 2 (a receiver).
    #[test]
    fn events_carry_the_callback_arguments() {
        let rpf = StaticRpf::new().route(Ipv4Addr::new(192, 0, 2, 0), 24, 1, Ipv4Addr::UNSPECIFIED);
        let mut mgr = Manager::new(Box::new(rpf));
        let h = local::register_local(&mut mgr).unwrap();
        for i in [1, 2] {
            mgr.take_interface_ownership(0, h, IfKey::new(i)).unwrap();
        }
        let (i1, i2) = (IfKey::new(1), IfKey::new(2));
        mgr.add_membership(0, h, Sg::star_g(GRP), i2, MembershipFlags::JOIN_STATE)
            .unwrap();
        mgr.take_events();

        mgr.new_packet(1, SRC, GRP, 1, &[]).unwrap();
        let ev = mgr.take_events();
        assert_eq!(
            args_of(&ev, EventKind::Rpf),
            vec![EventArgs::Rpf {
                arrival: i1,
                iif: i1,
                upstream: SRC,
                verdict: RpfVerdict::Accept,
            }]
        );
        assert_eq!(
            args_of(&ev, EventKind::CreationAlert),
            vec![EventArgs::CreationAlert {
                oifs: vec![i2],
                vetoed: vec![],
                pending: false,
            }]
        );
        let added = EventArgs::Mfe {
            iif: i1,
            oifs: vec![i2],
            upstream: SRC,
            negative: false,
        };
        assert_eq!(args_of(&ev, EventKind::MfeAdd), vec![added.clone()]);
        assert_eq!(
            args_of(&ev, EventKind::JoinAlert),
            vec![EventArgs::JoinAlert {
                member_update: false
            }]
        );

        // The receiver leaves: the OIL empties, the prune alert offers the negative lifetime.
        mgr.delete_membership(2, h, Sg::star_g(GRP), i2, MembershipFlags::JOIN_STATE)
            .unwrap();
        let ev = mgr.take_events();
        assert_eq!(
            args_of(&ev, EventKind::MfeUpdate),
            vec![EventArgs::Mfe {
                iif: i1,
                oifs: vec![],
                upstream: SRC,
                negative: false,
            }]
        );
        assert!(
            args_of(&ev, EventKind::PruneAlert).contains(&EventArgs::PruneAlert {
                member_delete: false,
                timeout_s: mgr.config().negative_mfe_timeout_s,
            }),
            "{ev:?}"
        );

        // A packet on the receiver's interface: wrong interface, with arrival and iif.
        mgr.wrong_interface(3, SRC, GRP, 2, &[]).unwrap();
        let ev = mgr.take_events();
        assert_eq!(
            args_of(&ev, EventKind::WrongInterface),
            vec![EventArgs::WrongInterface {
                arrival: i2,
                iif: Some(i1),
            }]
        );
    }
}
