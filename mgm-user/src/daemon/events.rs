//! The event stream's lines ([`EventLine`]) from IGMP actions and manager events: interface
//! keys become names, manager arguments become API arguments.
use super::forwarding::Forwarding;
use crate::control::api::{Event, EventLine, MfeArgs, RpfVerdictView};
use crate::igmp::{Action, MembershipChange};
use crate::manager::{EventArgs, EventKind, IfKey, MgmEvent, RpfVerdict};

/// The note (and log line) of an IGMP action worth telling: membership changes, querier and
/// version changes. `interface` is the interface's name now (it may be gone at publication).
pub(crate) fn igmp_event(interface: &str, action: &Action, time_ns: u64) -> Option<EventLine> {
    let (event, source, group) = match *action {
        Action::Membership {
            group,
            source,
            change,
            ..
        } => {
            let what = match source {
                Some(s) => format!("({s},{group})"),
                None => format!("(*,{group})"),
            };
            log::info!("{interface}: IGMP {change:?} {what}");
            let event = match change {
                MembershipChange::Join => Event::IgmpJoin,
                MembershipChange::Leave => Event::IgmpLeave,
                MembershipChange::Block => Event::IgmpBlock,
                MembershipChange::Unblock => Event::IgmpUnblock,
            };
            (event, source, Some(group))
        }
        Action::QuerierChanged {
            we_are_querier,
            querier,
            ..
        } => {
            let who = querier.map_or_else(|| "unknown".into(), |q| q.to_string());
            let role = if we_are_querier {
                "we are querier"
            } else {
                "another router is querier"
            };
            log::info!("{interface}: {role} (querier {who})");
            let detail = if we_are_querier { "us" } else { "other" };
            let event = Event::QuerierChanged {
                detail: detail.into(),
            };
            (event, querier, None)
        }
        Action::VersionChanged {
            from,
            to,
            older_querier,
            ..
        } => {
            match older_querier {
                Some(q) => log::warn!(
                    "{interface}: IGMPv{to} querier {q} on the link; running v{to} instead of \
                     v{from} (configure every router on the link with the same version)"
                ),
                None => log::info!(
                    "{interface}: older-version querier gone; back from v{from} to v{to}"
                ),
            }
            let event = Event::VersionChanged {
                detail: format!("v{from} -> v{to}"),
            };
            (event, older_querier, None)
        }
        _ => return None,
    };
    Some(EventLine {
        event,
        protocol: "igmp".into(),
        interface: Some(interface.to_string()),
        source,
        group,
        time_ns,
    })
}

/// The line of one manager event.
pub(crate) fn manager_event(fwd: &Forwarding, e: &MgmEvent) -> EventLine {
    let name = |i: &IfKey| fwd.interface_name(i);
    let names = |v: &[IfKey]| v.iter().map(name).collect::<Vec<_>>();
    let mfe = |args: &EventArgs| match args {
        EventArgs::Mfe {
            iif,
            oifs,
            upstream,
            negative,
        } => MfeArgs {
            iif: name(iif),
            oifs: names(oifs),
            upstream: *upstream,
            negative: *negative,
        },
        _ => MfeArgs {
            iif: e.interface.as_ref().map(name).unwrap_or_default(),
            oifs: Vec::new(),
            upstream: std::net::Ipv4Addr::UNSPECIFIED,
            negative: false,
        },
    };
    let event = match (&e.kind, &e.args) {
        (EventKind::LocalJoin, _) => Event::LocalJoin,
        (EventKind::LocalLeave, _) => Event::LocalLeave,
        (EventKind::EnableIgmp, _) => Event::EnableIgmp,
        (EventKind::DisableIgmp, _) => Event::DisableIgmp,
        (EventKind::JoinAlert, a) => Event::JoinAlert {
            member_update: matches!(
                a,
                EventArgs::JoinAlert {
                    member_update: true
                }
            ),
        },
        (EventKind::PruneAlert, a) => {
            let (member_delete, timeout_s) = match a {
                EventArgs::PruneAlert {
                    member_delete,
                    timeout_s,
                } => (*member_delete, *timeout_s),
                _ => (true, 0),
            };
            Event::PruneAlert {
                member_delete,
                timeout_s,
            }
        }
        (EventKind::CreationAlert, a) => {
            let (oifs, vetoed) = match a {
                EventArgs::CreationAlert { oifs, vetoed } => (names(oifs), names(vetoed)),
                _ => (Vec::new(), Vec::new()),
            };
            Event::CreationAlert { oifs, vetoed }
        }
        (EventKind::Rpf, a) => match a {
            EventArgs::Rpf {
                arrival,
                iif,
                upstream,
                verdict,
            } => Event::Rpf {
                arrival: name(arrival),
                iif: name(iif),
                upstream: *upstream,
                verdict: match verdict {
                    RpfVerdict::Accept => RpfVerdictView::Accept,
                    RpfVerdict::Reject => RpfVerdictView::Reject,
                },
            },
            _ => Event::Rpf {
                arrival: String::new(),
                iif: e.interface.as_ref().map(name).unwrap_or_default(),
                upstream: std::net::Ipv4Addr::UNSPECIFIED,
                verdict: RpfVerdictView::Accept,
            },
        },
        (EventKind::WrongInterface, a) => {
            let (arrival, iif) = match a {
                EventArgs::WrongInterface { arrival, iif } => {
                    (name(arrival), iif.as_ref().map(name))
                }
                _ => (e.interface.as_ref().map(name).unwrap_or_default(), None),
            };
            Event::WrongInterface { arrival, iif }
        }
        (EventKind::MfeAdd, a) => Event::MfeAdd(mfe(a)),
        (EventKind::MfeUpdate, a) => Event::MfeUpdate(mfe(a)),
        (EventKind::MfeDelete, a) => Event::MfeDelete(mfe(a)),
    };
    EventLine {
        event,
        protocol: e.protocol.clone(),
        interface: e.interface.as_ref().map(name),
        source: e.source,
        group: e.group,
        time_ns: e.time_ns,
    }
}
