//! `mgm run --metrics ADDR:PORT`: the daemon's figures for Prometheus, and `mgm show stats`.
//!
//! The loop owns the state and answers one question, [`Daemon::snapshot`]: plain numbers, made
//! without waiting for anything (one read of the per-CPU `MGM_STATS`, one `SIOCGETSGCNT` per
//! MFC entry, `/proc/self/statm`). The metrics listener ([`crate::control::http`], its own
//! thread) sends a [`MetricsRequest`] per scrape through a channel, as the control server
//! does, gets the [`Snapshot`] back on a oneshot, builds a `prometheus-client` registry from it
//! and encodes it there: the loop never waits for a scraper, and the listener never touches
//! daemon state. `mgm show stats` is the same snapshot as JSON ([`Snapshot::stats_view`]).
//!
//! Names are `mgm_…`; counters end in `_total`; labels are `interface`, `reason`, `limit`,
//! `counter`, `protocol`, `callback`, `change`. Per-MFE series are not exported (their number
//! follows the streams): the kernel's MFE counters are summed by incoming interface.
use super::state::Daemon;
use crate::control::api::{InterfaceStats, StatsView};
use crate::control::http::{Format, HttpThread, MetricsListener, Render};
use crate::manager::{EventKind, MfeCounters, MgmEvent};
use crate::time::monotonic_ns;
use anyhow::Result;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::info::Info;
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::{Registry, Unit};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

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
        let mut forwarded = self.fwd.counters_by_iif();
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
        ] {
            counters.insert(k.into(), v);
        }
        StatsView {
            counters,
            interfaces: self.interfaces.clone(),
        }
    }

    /// The exposition in `format`.
    pub(crate) fn encode(&self, format: Format) -> Result<String, String> {
        let registry = self.registry();
        let mut out = String::new();
        match format {
            Format::Prometheus => {
                prometheus_client::encoding::prometheus_text::encode(&mut out, &registry)
            }
            Format::OpenMetrics => prometheus_client::encoding::text::encode(&mut out, &registry),
        }
        .map_err(|e| format!("encoding the metrics: {e}"))?;
        Ok(out)
    }

    /// A registry holding these figures: one collector that writes every family, in a fixed
    /// order (samples sorted as the snapshot holds them), with fixed label sets.
    fn registry(&self) -> Registry {
        let mut r = Registry::default();
        r.register_collector(Box::new(Figures(self.clone())));
        r
    }
}

/// The snapshot as a `prometheus-client` collector.
#[derive(Debug)]
struct Figures(Snapshot);

impl Collector for Figures {
    fn encode(&self, mut e: DescriptorEncoder) -> std::fmt::Result {
        let s = &self.0;
        let e = &mut e;
        let ifs = &s.interfaces;

        let m = e.encode_descriptor("mgm_build", "The running mgm", None, MetricType::Info)?;
        Info::new([("version", env!("CARGO_PKG_VERSION"))]).encode(m)?;

        // Per managed interface.
        let per_if = |f: fn(&InterfaceStats) -> u64| {
            ifs.iter()
                .map(move |i| ([("interface", i.interface.as_str())], f(i)))
        };
        gauges(
            e,
            "mgm_interface_groups",
            "Groups with members on the interface",
            per_if(|i| i.groups),
        )?;
        gauges(
            e,
            "mgm_interface_sources",
            "Source records over every group of the interface",
            per_if(|i| i.sources),
        )?;
        gauges(
            e,
            "mgm_interface_hosts",
            "Hosts that keep at least one group alive on the interface (last reporters)",
            per_if(|i| i.hosts),
        )?;
        gauges(
            e,
            "mgm_interface_limit",
            "The interface's bounds on what hosts can make the router keep",
            ifs.iter().flat_map(|i| {
                [
                    ("max_groups", i.max_groups),
                    ("max_groups_per_host", i.max_groups_per_host),
                    ("max_sources", i.max_sources),
                    ("max_sources_total", i.max_sources_total),
                ]
                .map(|(limit, v)| ([("interface", i.interface.as_str()), ("limit", limit)], v))
            }),
        )?;
        counters(
            e,
            "mgm_interface_refused_groups",
            "Group records ignored: at max_groups, at max_groups_per_host, or refused by the \
             group filters (reason filter)",
            ifs.iter().flat_map(|i| {
                [
                    ("max_groups", i.refused_groups),
                    ("max_groups_per_host", i.refused_host_groups),
                    ("filter", i.refused_filtered_groups),
                ]
                .map(|(why, v)| ([("interface", i.interface.as_str()), ("reason", why)], v))
            }),
        )?;
        counters(
            e,
            "mgm_interface_refused_sources",
            "Sources ignored: at max_sources of their group, at max_sources_total of the \
             interface, or refused by the source filters (reason filter)",
            ifs.iter().flat_map(|i| {
                [
                    ("max_sources", i.refused_sources),
                    ("max_sources_total", i.refused_sources_total),
                    ("filter", i.refused_filtered_sources),
                ]
                .map(|(why, v)| ([("interface", i.interface.as_str()), ("reason", why)], v))
            }),
        )?;
        gauges(
            e,
            "mgm_interface_querier",
            "1 when mgm is the IGMP querier of the interface, 0 when another router is",
            per_if(|i| i.querier.into()),
        )?;
        gauges(
            e,
            "mgm_interface_igmp_version",
            "The IGMP version the interface runs (1, 2 or 3)",
            per_if(|i| i.version.into()),
        )?;
        counters(
            e,
            "mgm_interface_router_queries",
            "Queries heard from other routers on the link (foreign ones not)",
            per_if(|i| i.router_queries),
        )?;
        counters(
            e,
            "mgm_interface_foreign_queries",
            "Queries ignored because their source cannot be a router on the link",
            per_if(|i| i.foreign_queries),
        )?;
        counters(
            e,
            "mgm_interface_older_querier_queries",
            "IGMPv1/v2 queries from other routers heard while running a newer version and not \
             followed",
            per_if(|i| i.older_querier_queries),
        )?;

        // The classifier.
        counters(
            e,
            "mgm_classifier",
            "The classifier's counters (MGM_STATS, summed over CPUs): packets, accepted \
             messages by type, refreshes absorbed in the kernel, events sent up, and packets \
             ignored by reason (counter ignored_*)",
            s.classifier
                .iter()
                .map(|(name, v)| ([("counter", *name)], *v)),
        )?;
        counter(
            e,
            "mgm_events_ring_full",
            "IGMP messages the classifier could not send to the daemon because the event ring \
             was full (lost; classifier counter events_ring_full)",
            s.classifier
                .iter()
                .find(|(n, _)| *n == "events_ring_full")
                .map_or(0, |(_, v)| *v),
        )?;

        // The daemon's own.
        for (name, help, v) in [
            (
                "mgm_daemon_parse_errors",
                "Messages the classifier accepted and the daemon's parser refused (should stay \
                 0)",
                s.parse_errors,
            ),
            (
                "mgm_daemon_map_write_errors",
                "Map writes the kernel refused (the router keeps the state; the fast path \
                 cannot refresh it)",
                s.map_write_errors,
            ),
            (
                "mgm_daemon_lost_v3_records",
                "IGMPv3 group records lost beyond the 15 KiB an event carries",
                s.lost_v3_records,
            ),
            (
                "mgm_daemon_off_link_reports",
                "Reports and leaves the daemon ignored for a source off the interface's subnets \
                 (when the classifier cannot hold them all)",
                s.off_link_reports,
            ),
        ] {
            counter(e, name, help, v)?;
        }

        // Forwarding.
        gauge(
            e,
            "mgm_mfes",
            "Multicast forwarding entries mgm holds in the kernel",
            None,
            s.mfes,
        )?;
        let by_iif = |f: fn(&MfeCounters) -> u64| {
            s.forwarded
                .iter()
                .map(move |(name, c)| ([("interface", name.as_str())], f(c)))
        };
        counters(
            e,
            "mgm_forwarded_packets",
            "Packets that arrived on the interface for a forwarding entry whose incoming \
             interface it is (the kernel's MFE counters summed by incoming interface, entries \
             gone included)",
            by_iif(MfeCounters::forwarded),
        )?;
        family(
            e,
            "mgm_forwarded",
            "Bytes of the forwarding entries of the incoming interface (the kernel counts those \
             of wrong-interface packets too)",
            Some(&Unit::Bytes),
            MetricType::Counter,
            by_iif(|c| c.bytes),
        )?;
        counters(
            e,
            "mgm_wrong_interface_packets",
            "Packets of the forwarding entries of the incoming interface that arrived on \
             another interface",
            by_iif(|c| c.wrong_if),
        )?;

        // The manager.
        counters(
            e,
            "mgm_callbacks",
            "Callbacks the manager made, by the protocol they went to",
            s.events
                .iter()
                .filter(|(_, k, _)| !is_mfe_change(*k))
                .map(|(p, k, n)| {
                    (
                        [("protocol", protocol_label(p)), ("callback", k.as_str())],
                        *n,
                    )
                }),
        )?;
        counters(
            e,
            "mgm_mfe_changes",
            "Forwarding entries added, updated and deleted, by the protocol owning their \
             incoming interface",
            s.events
                .iter()
                .filter(|(_, k, _)| is_mfe_change(*k))
                .map(|(p, k, n)| {
                    let change = k.as_str().trim_start_matches("mfe_");
                    ([("protocol", protocol_label(p)), ("change", change)], *n)
                }),
        )?;

        // Routing protocols in other processes.
        gauge(
            e,
            "mgm_handlers",
            "Routing protocols registered over the control socket",
            None,
            s.handlers,
        )?;
        for (name, help, v) in [
            (
                "mgm_handler_timeouts",
                "Handler answers that did not come in time (the default was taken)",
                s.handler_timeouts,
            ),
            (
                "mgm_handler_late_answers",
                "Handler answers to unknown or expired questions",
                s.handler_late_answers,
            ),
            (
                "mgm_handler_overflows",
                "Handler sessions closed because they stopped reading",
                s.handler_overflows,
            ),
        ] {
            counter(e, name, help, v)?;
        }

        gauge(
            e,
            "mgm_resident_memory",
            "Resident set size of the daemon",
            Some(&Unit::Bytes),
            s.rss_bytes,
        )
    }
}

/// One family: its HELP and TYPE (and UNIT), then one sample per label set (none: the lines
/// alone).
fn family<L: EncodeLabelSet>(
    e: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    unit: Option<&Unit>,
    ty: MetricType,
    rows: impl Iterator<Item = (L, u64)>,
) -> std::fmt::Result {
    let mut m = e.encode_descriptor(name, help, unit, ty)?;
    for (labels, v) in rows {
        let sample = m.encode_family(&labels)?;
        match ty {
            MetricType::Counter => ConstCounter::new(v).encode(sample)?,
            _ => ConstGauge::new(v).encode(sample)?,
        }
    }
    Ok(())
}

fn counters<L: EncodeLabelSet>(
    e: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    rows: impl Iterator<Item = (L, u64)>,
) -> std::fmt::Result {
    family(e, name, help, None, MetricType::Counter, rows)
}

fn gauges<L: EncodeLabelSet>(
    e: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    rows: impl Iterator<Item = (L, u64)>,
) -> std::fmt::Result {
    family(e, name, help, None, MetricType::Gauge, rows)
}

/// A counter without labels (`name` without `_total`: the encoder adds it).
fn counter(e: &mut DescriptorEncoder, name: &str, help: &str, v: u64) -> std::fmt::Result {
    let m = e.encode_descriptor(name, help, None, MetricType::Counter)?;
    ConstCounter::new(v).encode(m)
}

/// A gauge without labels.
fn gauge(
    e: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    unit: Option<&Unit>,
    v: u64,
) -> std::fmt::Result {
    let m = e.encode_descriptor(name, help, unit, MetricType::Gauge)?;
    ConstGauge::new(v).encode(m)
}

fn is_mfe_change(k: EventKind) -> bool {
    matches!(
        k,
        EventKind::MfeAdd | EventKind::MfeUpdate | EventKind::MfeDelete
    )
}

/// An MFE whose incoming interface nobody owns has no protocol: `none`.
fn protocol_label(p: &str) -> &str {
    if p.is_empty() {
        "none"
    } else {
        p
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
