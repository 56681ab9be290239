//! The event stream's lines ([`EventLine`]) from IGMP actions and manager events: interface
//! keys become names, manager arguments become API arguments. And the log under attack: the
//! membership changes of an interface ([`ChangeLog`]) and repeated warnings
//! ([`crate::time::RateLimit`]) are
//! rate-limited, with summaries of what was held back.
use super::forwarding::Forwarding;
use crate::control::api::{Event, EventLine, MfeArgs, RpfVerdictView};
use crate::igmp::{Action, MembershipChange, RouterNotice};
use crate::manager::{EventArgs, EventKind, IfKey, MgmEvent, RpfVerdict};
use crate::time::RATE_LIMIT_WINDOW_NS as LOG_EVERY_NS;
use std::net::Ipv4Addr;

/// The note of an IGMP action worth telling (membership changes, querier and version changes)
/// and the log line of those that are not membership changes ([`ChangeLog`] logs those).
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

/// Membership changes of one interface logged one by one at info level per minute; the rest
/// go to debug level and are summarised at info level once the minute is over.
const CHANGES_AT_INFO_PER_MINUTE: u64 = 10;

/// " (N more since the last)" when N > 0.
pub(crate) fn more(suppressed: u64) -> String {
    if suppressed > 0 {
        format!(" ({suppressed} more since the last)")
    } else {
        String::new()
    }
}

/// The membership changes of one interface in the current minute.
#[derive(Clone, Debug, Default)]
pub(crate) struct ChangeLog {
    window_start: Option<u64>,
    at_info: u64,
    /// Changes logged at debug level only in this window, per [`MembershipChange`].
    held: [u64; 4],
}

/// Membership changes an interface logged at debug level only, over `secs` seconds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ChangeSummary {
    pub(crate) secs: u64,
    pub(crate) held: [u64; 4],
}

impl std::fmt::Display for ChangeSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let [j, l, b, u] = self.held;
        write!(
            f,
            "{} more IGMP membership changes in the last {}s ({j} joins, {l} leaves, {b} blocks, \
             {u} unblocks; each logged at debug level)",
            j + l + b + u,
            self.secs
        )
    }
}

impl ChangeLog {
    /// One membership change at `now`: whether to log it at info level (else debug), and the
    /// summary of the minute that just ended, if it held changes back.
    pub(crate) fn note(
        &mut self,
        now: u64,
        change: MembershipChange,
    ) -> (bool, Option<ChangeSummary>) {
        let summary = self.flush(now);
        let start = *self.window_start.get_or_insert(now);
        debug_assert!(now >= start);
        if self.at_info < CHANGES_AT_INFO_PER_MINUTE {
            self.at_info += 1;
            return (true, summary);
        }
        self.held[change as usize] += 1;
        (false, summary)
    }

    /// Ends the minute when it is over: the summary of what it held back, if anything.
    pub(crate) fn flush(&mut self, now: u64) -> Option<ChangeSummary> {
        let start = self.window_start?;
        let secs = now.saturating_sub(start) / 1_000_000_000;
        if now.saturating_sub(start) < LOG_EVERY_NS {
            return None;
        }
        let held = std::mem::take(&mut self.held);
        *self = ChangeLog::default();
        (held != [0; 4]).then_some(ChangeSummary { secs, held })
    }
}

/// Logs the membership changes among `actions` on `interface` through `log`.
pub(crate) fn log_changes(log: &mut ChangeLog, interface: &str, actions: &[Action], now: u64) {
    for a in actions {
        let Action::Membership {
            group,
            source,
            change,
            ..
        } = *a
        else {
            continue;
        };
        let (loud, summary) = log.note(now, change);
        if let Some(s) = summary {
            log::info!("{interface}: {s}");
        }
        // Formatted only when the line is logged.
        let what = Channel(source, group);
        if loud {
            log::info!("{interface}: IGMP {change:?} {what}");
        } else {
            log::debug!("{interface}: IGMP {change:?} {what}");
        }
    }
}

/// `(S,G)` or `(*,G)` in a log line.
struct Channel(Option<Ipv4Addr>, Ipv4Addr);

impl std::fmt::Display for Channel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0 {
            Some(s) => write!(f, "({s},{})", self.1),
            None => write!(f, "(*,{})", self.1),
        }
    }
}

/// The router's rate-limited notices, in the operator's words.
fn log_notice(interface: &str, notice: RouterNotice, suppressed: u64) {
    let more = more(suppressed);
    match notice {
        RouterNotice::OlderQuerier { querier, version } => log::warn!(
            "{interface}: IGMPv{version} query from router {querier} ignored: this interface \
             runs the configured version (set igmp-version={version} on every router of the \
             link, or older-querier=follow){more}"
        ),
        RouterNotice::ForeignQuery { source, reason } => log::warn!(
            "{interface}: query from {source} ignored: {}{more}",
            reason.as_str()
        ),
        RouterNotice::GroupRefused {
            host,
            group,
            per_host,
            limit,
        } => {
            let (what, key) = if per_host {
                (
                    format!("host {host} keeps {limit} groups"),
                    "max-groups-per-host",
                )
            } else {
                (format!("the interface holds {limit} groups"), "max-groups")
            };
            log::warn!(
                "{interface}: new group {group} from {host} refused: {what} ({key}; counted in \
                 mgm show interfaces){more}"
            )
        }
        RouterNotice::SourcesRefused {
            host,
            group,
            refused,
            total,
            limit,
        } => {
            let (what, key) = if total {
                (
                    format!("the interface holds {limit} sources"),
                    "max-sources-total",
                )
            } else {
                (format!("the group holds {limit} sources"), "max-sources")
            };
            log::warn!(
                "{interface}: {refused} new sources of {group} from {host} refused: {what} \
                 ({key}; counted in mgm show interfaces){more}"
            )
        }
        // The operator's own policy: worth hearing, not a warning.
        RouterNotice::Filtered(f) => log::info!("{interface}: {f}{more}"),
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

    const MIN: u64 = 60_000_000_000;

    #[test]
    fn a_flood_of_membership_changes_logs_ten_lines_and_a_summary_a_minute() {
        let mut log = ChangeLog::default();
        let t0 = 5 * MIN;
        let mut loud = 0;
        for i in 0..10_000u64 {
            let change = if i % 2 == 0 {
                MembershipChange::Join
            } else {
                MembershipChange::Leave
            };
            let (l, summary) = log.note(t0 + i * 1_000_000, change);
            assert_eq!(summary, None, "no summary within the minute");
            loud += u64::from(l);
        }
        assert_eq!(loud, CHANGES_AT_INFO_PER_MINUTE);
        assert_eq!(log.flush(t0 + MIN - 1), None, "the minute is not over");
        let s = log
            .flush(t0 + MIN)
            .expect("a summary once the minute is over");
        assert_eq!(s.held, [4995, 4995, 0, 0]);
        assert_eq!(
            s.to_string(),
            "9990 more IGMP membership changes in the last 60s (4995 joins, 4995 leaves, \
             0 blocks, 0 unblocks; each logged at debug level)"
        );
        assert_eq!(log.flush(t0 + 3 * MIN), None, "told once");
        // The next minute starts afresh; a quiet minute has no summary.
        assert_eq!(
            log.note(t0 + 4 * MIN, MembershipChange::Block),
            (true, None)
        );
        assert_eq!(log.flush(t0 + 6 * MIN), None);
        // A summary due is handed out with the next change.
        for i in 0..11 {
            log.note(t0 + 7 * MIN + i, MembershipChange::Unblock);
        }
        let (loud, s) = log.note(t0 + 9 * MIN, MembershipChange::Join);
        assert!(loud);
        assert_eq!(s.map(|s| s.held), Some([0, 0, 0, 1]));
    }

    #[test]
    fn repeated_warnings_go_out_once_a_minute_with_the_count_held_back() {
        let mut l = crate::time::RateLimit::default();
        assert_eq!(l.allow(MIN), Some(0));
        for i in 1..=500 {
            assert_eq!(l.allow(MIN + i), None);
        }
        assert_eq!(l.allow(2 * MIN), Some(500));
        assert_eq!(more(500), " (500 more since the last)");
        assert_eq!(more(0), "");
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
