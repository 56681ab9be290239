//! The event stream's lines ([`EventLine`]) from IGMP actions and manager events: interface
//! keys become names, manager arguments become API arguments. What is logged rather than
//! published (membership changes, router notices) goes through [`super::igmp_log`].
use super::forwarding::Forwarding;
use super::igmp_log::log_notice;
use crate::control::api::{Event, EventLine, MfeArgs, RpfVerdictView};
use crate::igmp::{Action, MembershipChange};
use crate::manager::{EventArgs, EventKind, IfKey, MgmEvent, RpfVerdict};
use std::net::Ipv4Addr;

/// The note of an IGMP action worth telling (membership changes, querier and version changes)
/// and the log line of those that are not membership changes
/// ([`super::igmp_log::ChangeLog`] logs those).
/// `interface` is the interface's name now (it may be gone at publication).
pub(crate) fn igmp_event(interface: &str, action: &Action, time_ns: u64) -> Option<EventLine> {
    let (event, source, group) = match *action {
        Action::Membership {
            group,
            source,
            change,
            ..
        } => {
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
        Action::Notice {
            notice, suppressed, ..
        } => {
            log_notice(interface, notice, suppressed);
            return None;
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
    EventLine {
        event: event_of(e, &name),
        protocol: e.protocol.to_string(),
        interface: e.interface.as_ref().map(name),
        source: e.source,
        group: e.group,
        time_ns: e.time_ns,
    }
}

/// The API event of a manager event, interfaces named by `name`.
fn event_of(e: &MgmEvent, name: &dyn Fn(&IfKey) -> String) -> Event {
    let names = |v: &[IfKey]| v.iter().map(name).collect::<Vec<_>>();
    let here = || e.interface.as_ref().map(name).unwrap_or_default();
    match (e.kind, &e.args) {
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
        (
            EventKind::PruneAlert,
            EventArgs::PruneAlert {
                member_delete,
                timeout_s,
            },
        ) => Event::PruneAlert {
            member_delete: *member_delete,
            timeout_s: *timeout_s,
        },
        (EventKind::PruneAlert, _) => Event::PruneAlert {
            member_delete: true,
            timeout_s: 0,
        },
        (
            EventKind::CreationAlert,
            EventArgs::CreationAlert {
                oifs,
                vetoed,
                pending,
            },
        ) => Event::CreationAlert {
            oifs: names(oifs),
            vetoed: names(vetoed),
            pending: *pending,
        },
        (EventKind::CreationAlert, _) => Event::CreationAlert {
            oifs: Vec::new(),
            vetoed: Vec::new(),
            pending: false,
        },
        (EventKind::Rpf, a) => rpf_event(a, name, here),
        (EventKind::WrongInterface, EventArgs::WrongInterface { arrival, iif }) => {
            Event::WrongInterface {
                arrival: name(arrival),
                iif: iif.as_ref().map(name),
            }
        }
        (EventKind::WrongInterface, _) => Event::WrongInterface {
            arrival: here(),
            iif: None,
        },
        (EventKind::MfeAdd, a) => Event::MfeAdd(mfe_args(a, name, here)),
        (EventKind::MfeUpdate, a) => Event::MfeUpdate(mfe_args(a, name, here)),
        (EventKind::MfeDelete, a) => Event::MfeDelete(mfe_args(a, name, here)),
    }
}

fn rpf_event(a: &EventArgs, name: &dyn Fn(&IfKey) -> String, here: impl Fn() -> String) -> Event {
    match a {
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
                RpfVerdict::Pending => RpfVerdictView::Pending,
            },
        },
        _ => Event::Rpf {
            arrival: String::new(),
            iif: here(),
            upstream: Ipv4Addr::UNSPECIFIED,
            verdict: RpfVerdictView::Accept,
        },
    }
}

fn mfe_args(a: &EventArgs, name: &dyn Fn(&IfKey) -> String, here: impl Fn() -> String) -> MfeArgs {
    match a {
        EventArgs::Mfe {
            iif,
            oifs,
            upstream,
            negative,
        } => MfeArgs {
            iif: name(iif),
            oifs: oifs.iter().map(name).collect(),
            upstream: *upstream,
            negative: *negative,
        },
        _ => MfeArgs {
            iif: here(),
            oifs: Vec::new(),
            upstream: Ipv4Addr::UNSPECIFIED,
            negative: false,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(i: &IfKey) -> String {
        format!("if{}", i.ifindex)
    }

    fn event(kind: EventKind, args: EventArgs) -> MgmEvent {
        MgmEvent {
            kind,
            protocol: "local".into(),
            interface: Some(IfKey::new(2)),
            source: Some(Ipv4Addr::new(192, 0, 2, 10)),
            group: Some(Ipv4Addr::new(239, 1, 1, 1)),
            time_ns: 5,
            args,
        }
    }

    #[test]
    fn manager_arguments_become_named_api_arguments() {
        let e = event(
            EventKind::MfeUpdate,
            EventArgs::Mfe {
                iif: IfKey::new(2),
                oifs: vec![IfKey::new(3), IfKey::new(4)],
                upstream: Ipv4Addr::new(192, 0, 2, 10),
                negative: false,
            },
        );
        assert_eq!(
            event_of(&e, &name),
            Event::MfeUpdate(MfeArgs {
                iif: "if2".into(),
                oifs: vec!["if3".into(), "if4".into()],
                upstream: Ipv4Addr::new(192, 0, 2, 10),
                negative: false,
            })
        );
        let e = event(
            EventKind::Rpf,
            EventArgs::Rpf {
                arrival: IfKey::new(5),
                iif: IfKey::new(2),
                upstream: Ipv4Addr::new(198, 51, 100, 1),
                verdict: RpfVerdict::Reject,
            },
        );
        assert_eq!(
            event_of(&e, &name),
            Event::Rpf {
                arrival: "if5".into(),
                iif: "if2".into(),
                upstream: Ipv4Addr::new(198, 51, 100, 1),
                verdict: RpfVerdictView::Reject,
            }
        );
        let e = event(
            EventKind::PruneAlert,
            EventArgs::PruneAlert {
                member_delete: false,
                timeout_s: 30,
            },
        );
        assert_eq!(
            event_of(&e, &name),
            Event::PruneAlert {
                member_delete: false,
                timeout_s: 30
            }
        );
        let e = event(
            EventKind::CreationAlert,
            EventArgs::CreationAlert {
                oifs: vec![IfKey::new(3)],
                vetoed: vec![IfKey::new(4)],
                pending: true,
            },
        );
        assert_eq!(
            event_of(&e, &name),
            Event::CreationAlert {
                oifs: vec!["if3".into()],
                vetoed: vec!["if4".into()],
                pending: true,
            }
        );
    }

    #[test]
    fn igmp_notes_name_the_interface_and_the_change() {
        let a = Action::Membership {
            ifindex: 2,
            group: Ipv4Addr::new(239, 1, 1, 1),
            source: None,
            change: MembershipChange::Block,
        };
        let line = igmp_event("eth1", &a, 9).expect("a note");
        assert_eq!(line.event, Event::IgmpBlock);
        assert_eq!(line.protocol, "igmp");
        assert_eq!(line.interface.as_deref(), Some("eth1"));
        assert_eq!(line.time_ns, 9);
        let q = Action::QuerierChanged {
            ifindex: 2,
            we_are_querier: false,
            querier: Some(Ipv4Addr::new(192, 0, 2, 1)),
        };
        let line = igmp_event("eth1", &q, 9).expect("a note");
        assert_eq!(
            line.event,
            Event::QuerierChanged {
                detail: "other".into()
            }
        );
        assert_eq!(line.source, Some(Ipv4Addr::new(192, 0, 2, 1)));
        let w = Action::DeleteMember {
            ifindex: 2,
            group: Ipv4Addr::new(239, 1, 1, 1),
        };
        assert_eq!(igmp_event("eth1", &w, 9), None, "map writes are no events");
    }
}
