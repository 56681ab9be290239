//! The IGMP router's log under attack: the membership changes of an interface ([`ChangeLog`])
//! and repeated warnings ([`crate::time::RateLimit`]) are rate-limited, with summaries of what
//! was held back.
use crate::igmp::{Action, MembershipChange, RouterNotice};
use crate::time::RATE_LIMIT_WINDOW_NS as LOG_EVERY_NS;
use std::net::Ipv4Addr;

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
pub(crate) fn log_notice(interface: &str, notice: RouterNotice, suppressed: u64) {
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
}
