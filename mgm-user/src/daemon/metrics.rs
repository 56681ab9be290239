//! `mgm run --metrics ADDR:PORT`: the daemon's figures for Prometheus, and `mgm show stats`.
//!
//! The loop owns the state and answers one question, [`Daemon::snapshot`]: plain numbers, made
//! without waiting for anything (one read of the per-CPU `MGM_STATS`, the MFE counters by
//! incoming interface, `/proc/self/statm`). The MFE counters cost one `SIOCGETSGCNT` per MFC
//! entry: they are read at most once a second, a snapshot in between gets the last read
//! (`forwarding/counters_cache.rs`). Scrapes take turns with the loop's other inputs, as
//! control queries do (`ClientTurns` in `daemon/mod.rs`). The metrics listener ([`crate::control::http`], its own
//! thread) sends a [`MetricsRequest`] per scrape through a channel, as the control server
//! does, gets the [`Snapshot`] back on a oneshot, builds a `prometheus-client` registry from it
//! and encodes it there: the loop never waits for a scraper, and the listener never touches
//! daemon state. `mgm show stats` is the same snapshot as JSON ([`Snapshot::stats_view`]).
//!
//! Names are `mgm_…`; counters end in `_total`; labels are `interface`, `reason`, `limit`,
//! `counter`, `protocol`, `callback`, `change`. Per-MFE series are not exported (their number
//! follows the streams): the kernel's MFE counters are summed by incoming interface. The
//! exposition itself (each family, its HELP and labels) is `metrics/exposition.rs`.

use super::state::Daemon;
use crate::control::api::{InterfaceStats, StatsView};
use crate::control::http::{HttpThread, MetricsListener, Render};
use crate::manager::{EventKind, MfeCounters, MgmEvent};
use crate::time::monotonic_ns;
use anyhow::Result;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

mod exposition;

/// A scrape's question to the loop; the snapshot (or why there is none) comes back on it.
pub(crate) type MetricsRequest = oneshot::Sender<Result<Snapshot, String>>;

/// Scrapes waiting for the loop at most (as many as the listener serves at once).
pub(crate) const QUEUE: usize = crate::control::http::MAX_CONNECTIONS;

/// How long a scrape waits for the loop before it is answered 503.
const SNAPSHOT_TIMEOUT: Duration = Duration::from_secs(5);

/// The manager's event kinds, in declaration order (`kind as usize` indexes it).
const KINDS: [EventKind; 12] = [
    EventKind::LocalJoin,
    EventKind::LocalLeave,
    EventKind::JoinAlert,
    EventKind::PruneAlert,
    EventKind::CreationAlert,
    EventKind::Rpf,
    EventKind::WrongInterface,
    EventKind::EnableIgmp,
    EventKind::DisableIgmp,
    EventKind::MfeAdd,
    EventKind::MfeUpdate,
    EventKind::MfeDelete,
];

/// The manager's events (callbacks and MFE changes) since the start, by protocol and kind:
/// counted in [`Daemon::publish`], whether or not anyone listens to `mgm events`. A few
/// protocols, found by a scan: no hashing per event on the slow path.
#[derive(Debug, Default)]
pub(crate) struct EventCounts(Vec<(std::sync::Arc<str>, [u64; KINDS.len()])>);

impl EventCounts {
    pub(crate) fn count(&mut self, events: &[MgmEvent]) {
        for e in events {
            let k = e.kind as usize;
            match self.0.iter_mut().find(|(p, _)| *p == e.protocol) {
                Some((_, c)) => c[k] += 1,
                None => {
                    let mut c = [0; KINDS.len()];
                    c[k] = 1;
                    self.0.push((e.protocol.clone(), c));
                }
            }
        }
    }

    /// (protocol, kind, count) for every kind seen, sorted.
    fn list(&self) -> Vec<(String, EventKind, u64)> {
        let mut out: Vec<_> = self
            .0
            .iter()
            .flat_map(|(p, c)| {
                KINDS
                    .iter()
                    .zip(c)
                    .filter(|(_, n)| **n > 0)
                    .map(|(k, n)| (p.to_string(), *k, *n))
            })
            .collect();
        out.sort_by(|a, b| (&a.0, a.1.as_str()).cmp(&(&b.0, b.1.as_str())));
        out
    }
}

/// The daemon's figures at one instant.
#[derive(Debug, Clone, Default)]
pub(crate) struct Snapshot {
    /// One per managed (IGMP) interface.
    pub(crate) interfaces: Vec<InterfaceStats>,
    /// The classifier's counters (`IgmpStats::NAMES`), summed over CPUs.
    pub(crate) classifier: Vec<(&'static str, u64)>,
    pub(crate) parse_errors: u64,
    pub(crate) map_write_errors: u64,
    pub(crate) lost_v3_records: u64,
    pub(crate) off_link_reports: u64,
    /// MFC entries mgm holds in the kernel.
    pub(crate) mfes: u64,
    /// NOCACHE upcalls the kernel dropped: the mroute socket was full.
    pub(crate) upcalls_dropped: u64,
    /// Upcalls for an (S,G) mgm held installed: the kernel had lost or changed the entry.
    pub(crate) mfc_desyncs: u64,
    /// Differences the periodic reconcile found in the kernel's MFC and repaired.
    pub(crate) mfc_repairs: u64,
    /// Batched map writes the kernel stopped early (the rest went one by one).
    pub(crate) map_write_fallbacks: u64,
    /// New MFEs nobody wanted, refused at `--max-mfes`.
    pub(crate) mfes_refused: u64,
    /// New MFEs receivers wanted, refused at the ceiling (4 × `--max-mfes`) or past
    /// their incoming interface's share of it.
    pub(crate) wanted_mfes_refused: u64,
    /// NOCACHE upcalls dropped while too many waited for a handler's answer.
    pub(crate) pending_upcalls_dropped: u64,
    /// The MFE counters by incoming interface name (every one that had an entry, the proxy's
    /// upstream and interfaces gone included).
    pub(crate) forwarded: BTreeMap<String, MfeCounters>,
    /// (protocol, kind, count).
    pub(crate) events: Vec<(String, EventKind, u64)>,
    pub(crate) handlers: u64,
    pub(crate) handler_timeouts: u64,
    pub(crate) handler_late_answers: u64,
    pub(crate) handler_overflows: u64,
    pub(crate) rss_bytes: u64,
}

impl Daemon {
    /// The figures now: for a scrape and for `mgm show stats`.
    pub(crate) fn snapshot(&self) -> Result<Snapshot> {
        let now = monotonic_ns()?;
        let stats = self.maps.stats()?;
        let mut forwarded = self.fwd.counters_by_iif(now);
        let igmp = &self.igmp;
        // Every managed interface has its series from the start, 0 until a stream comes.
        for p in igmp.ports.values() {
            forwarded.entry(p.name.clone()).or_default();
        }
        let interfaces = igmp
            .ports
            .iter()
            .map(|(ifindex, p)| {
                let r = &p.router;
                let cfg = r.config();
                let fwd = forwarded.get(&p.name).copied().unwrap_or_default();
                InterfaceStats {
                    interface: p.name.clone(),
                    ifindex: *ifindex,
                    querier: r.is_querier(),
                    version: r.version(now),
                    groups: r.group_count() as u64,
                    sources: r.source_count() as u64,
                    hosts: r.host_count() as u64,
                    max_groups: cfg.max_groups.into(),
                    max_groups_per_host: cfg.max_groups_per_host.into(),
                    max_sources: cfg.max_sources.into(),
                    max_sources_total: cfg.max_sources_total.into(),
                    max_reports_per_second: cfg.max_reports_per_second.into(),
                    reports_rate_limited: self.rate_limited(*ifindex),
                    refused_groups: r.refused_groups(),
                    refused_host_groups: r.refused_host_groups(),
                    refused_sources: r.refused_sources(),
                    refused_sources_total: r.refused_sources_total(),
                    refused_filtered_groups: r.refused_filtered_groups(),
                    refused_filtered_sources: r.refused_filtered_sources(),
                    router_queries: r.router_queries(),
                    foreign_queries: r.foreign_queries(),
                    older_querier_queries: r.older_queries(),
                    forwarded_packets: fwd.forwarded(),
                    forwarded_bytes: fwd.bytes,
                    wrong_interface_packets: fwd.wrong_if,
                }
            })
            .collect();
        let h = &self.handlers;
        let (mfc_desyncs, mfc_repairs) = self.fwd.mfc_sync_counts();
        Ok(Snapshot {
            interfaces,
            classifier: mgm_common::IgmpStats::NAMES
                .iter()
                .copied()
                .zip(stats.values())
                .collect(),
            parse_errors: igmp.parse_errors,
            map_write_errors: igmp.map_errors,
            lost_v3_records: igmp.lost_records,
            off_link_reports: igmp.off_link_reports,
            mfes: self.fwd.mfc_count() as u64,
            upcalls_dropped: self.fwd.upcall_drops()?,
            mfc_desyncs,
            mfc_repairs,
            map_write_fallbacks: self.maps.member_writes.fallbacks
                + self.maps.source_writes.fallbacks,
            mfes_refused: self.fwd.mfes_refused(),
            wanted_mfes_refused: self.fwd.wanted_mfes_refused(),
            pending_upcalls_dropped: self.fwd.pending_upcalls_dropped(),
            forwarded,
            events: self.event_counts.list(),
            handlers: h.count() as u64,
            handler_timeouts: h.timeouts,
            handler_late_answers: h.late_answers,
            handler_overflows: h.overflows,
            rss_bytes: crate::sys::memory::rss_bytes()?,
        })
    }

    /// A scrape's request: the snapshot goes back at once (nothing waits here).
    pub(crate) fn on_metrics(&mut self, reply: MetricsRequest) {
        if reply.is_closed() {
            return; // the scraper gave up
        }
        let _ = reply.send(self.snapshot().map_err(|e| format!("{e:#}")));
    }
}

impl Snapshot {
    /// `mgm show stats`: the counters under the names it always had, and the interfaces.
    pub(crate) fn stats_view(&self) -> StatsView {
        let mut counters: BTreeMap<String, u64> = self
            .classifier
            .iter()
            .map(|(k, v)| (k.to_string(), *v))
            .collect();
        for (k, v) in [
            ("daemon_parse_errors", self.parse_errors),
            ("daemon_map_write_errors", self.map_write_errors),
            ("daemon_lost_v3_records", self.lost_v3_records),
            ("daemon_off_link_reports", self.off_link_reports),
            ("daemon_rss_bytes", self.rss_bytes),
            ("daemon_handlers", self.handlers),
            ("daemon_handler_timeouts", self.handler_timeouts),
            ("daemon_handler_late_answers", self.handler_late_answers),
            ("daemon_handler_overflows", self.handler_overflows),
            ("daemon_mfes", self.mfes),
            ("daemon_upcalls_dropped", self.upcalls_dropped),
            ("daemon_map_write_fallbacks", self.map_write_fallbacks),
            ("mfc_desyncs", self.mfc_desyncs),
            ("mfc_repairs", self.mfc_repairs),
            ("daemon_mfes_refused", self.mfes_refused),
            ("daemon_wanted_mfes_refused", self.wanted_mfes_refused),
            (
                "daemon_pending_upcalls_dropped",
                self.pending_upcalls_dropped,
            ),
        ] {
            counters.insert(k.into(), v);
        }
        StatsView {
            counters,
            interfaces: self.interfaces.clone(),
        }
    }
}

/// Runs the metrics listener on its thread: each scrape asks the loop through `requests` and
/// encodes the snapshot it gets back.
pub(crate) fn serve(
    listener: MetricsListener,
    requests: mpsc::Sender<MetricsRequest>,
) -> Result<HttpThread> {
    let render: Render = Arc::new(move |format| {
        let requests = requests.clone();
        Box::pin(async move {
            let (reply, answer) = oneshot::channel();
            let asked = async {
                requests.send(reply).await.ok()?;
                answer.await.ok()
            };
            match tokio::time::timeout(SNAPSHOT_TIMEOUT, asked).await {
                Err(_) => Err(format!(
                    "the daemon did not answer within {} s",
                    SNAPSHOT_TIMEOUT.as_secs()
                )),
                Ok(None) => Err("the daemon is shutting down".into()),
                Ok(Some(snapshot)) => snapshot?.encode(format),
            }
        })
    });
    listener.spawn_thread(render)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::control::http::Format;
    use crate::manager::EventArgs;

    #[test]
    fn kinds_are_in_declaration_order() {
        for (i, k) in KINDS.iter().enumerate() {
            assert_eq!(*k as usize, i, "{k:?}");
        }
    }

    fn event(protocol: &str, kind: EventKind) -> MgmEvent {
        MgmEvent {
            kind,
            protocol: protocol.into(),
            interface: None,
            source: None,
            group: None,
            time_ns: 0,
            args: EventArgs::None,
        }
    }

    fn sample() -> Snapshot {
        let mut counts = EventCounts::default();
        counts.count(&[
            event("local", EventKind::LocalJoin),
            event("local", EventKind::LocalJoin),
            event("pimd", EventKind::Rpf),
            event("local", EventKind::MfeAdd),
            event("", EventKind::MfeDelete),
        ]);
        Snapshot {
            interfaces: vec![InterfaceStats {
                interface: "eth1".into(),
                ifindex: 3,
                querier: true,
                version: 3,
                groups: 2,
                refused_host_groups: 4,
                reports_rate_limited: 11,
                forwarded_packets: 7,
                ..Default::default()
            }],
            classifier: vec![("igmp_packets", 10), ("events_ring_full", 1)],
            mfes: 1,
            forwarded: [(
                "eth0".to_string(),
                MfeCounters {
                    packets: 9,
                    bytes: 900,
                    wrong_if: 2,
                },
            )]
            .into(),
            events: counts.list(),
            rss_bytes: 1 << 20,
            ..Default::default()
        }
    }

    #[test]
    fn events_are_counted_by_protocol_and_kind() {
        let s = sample();
        assert_eq!(
            s.events,
            vec![
                (String::new(), EventKind::MfeDelete, 1),
                ("local".into(), EventKind::LocalJoin, 2),
                ("local".into(), EventKind::MfeAdd, 1),
                ("pimd".into(), EventKind::Rpf, 1),
            ]
        );
    }

    #[test]
    fn the_exposition_names_every_figure() {
        let s = sample();
        let text = s.encode(Format::Prometheus).unwrap();
        for line in [
            "mgm_build_info{version=\"",
            "# TYPE mgm_interface_groups gauge",
            "mgm_interface_groups{interface=\"eth1\"} 2",
            "mgm_interface_querier{interface=\"eth1\"} 1",
            "mgm_interface_igmp_version{interface=\"eth1\"} 3",
            "# TYPE mgm_interface_refused_groups_total counter",
            "mgm_interface_refused_groups_total{interface=\"eth1\",reason=\"max_groups_per_host\"} 4",
            "mgm_interface_limit{interface=\"eth1\",limit=\"max_groups\"} 0",
            "# TYPE mgm_interface_reports_rate_limited_total counter",
            "mgm_interface_reports_rate_limited_total{interface=\"eth1\"} 11",
            "mgm_classifier_total{counter=\"igmp_packets\"} 10",
            "mgm_events_ring_full_total 1",
            "mgm_mfes 1",
            "mgm_forwarded_packets_total{interface=\"eth0\"} 7",
            "mgm_forwarded_bytes_total{interface=\"eth0\"} 900",
            "mgm_wrong_interface_packets_total{interface=\"eth0\"} 2",
            "mgm_callbacks_total{protocol=\"local\",callback=\"local_join\"} 2",
            "mgm_callbacks_total{protocol=\"pimd\",callback=\"rpf\"} 1",
            "mgm_mfe_changes_total{protocol=\"local\",change=\"add\"} 1",
            "mgm_mfe_changes_total{protocol=\"none\",change=\"delete\"} 1",
            "mgm_handlers 0",
            "mgm_handler_timeouts_total 0",
            "mgm_daemon_parse_errors_total 0",
            "mgm_resident_memory_bytes 1048576",
        ] {
            assert!(
                text.lines().any(|l| l.starts_with(line)),
                "{line}\n{text}"
            );
        }
        assert!(!text.contains("# EOF"));
        let open = s.encode(Format::OpenMetrics).unwrap();
        assert!(open.ends_with("# EOF\n"), "{open}");
        assert!(
            open.contains("# TYPE mgm_forwarded_bytes counter\n# UNIT mgm_forwarded_bytes bytes\n"),
            "{open}"
        );
    }

    #[test]
    fn show_stats_keeps_its_keys_and_adds_the_interfaces() {
        let v = sample().stats_view();
        assert_eq!(v["igmp_packets"], 10);
        assert_eq!(v["daemon_rss_bytes"], 1 << 20);
        assert_eq!(v["daemon_mfes"], 1);
        let json = serde_json::to_value(&v).unwrap();
        assert_eq!(json["igmp_packets"], 10);
        assert_eq!(json["daemon_handler_timeouts"], 0);
        assert_eq!(json["interfaces"][0]["interface"], "eth1");
        assert_eq!(json["interfaces"][0]["refused_host_groups"], 4);
        let back: StatsView = serde_json::from_value(json).unwrap();
        assert_eq!(back, v);
    }
}
