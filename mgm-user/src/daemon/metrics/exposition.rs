//! The Prometheus / OpenMetrics exposition of a [`Snapshot`]: one `prometheus-client`
//! collector that writes every family in a fixed order, with fixed label sets (names and
//! labels: `metrics.rs`).

use super::Snapshot;
use crate::control::api::InterfaceStats;
use crate::control::http::Format;
use crate::manager::{EventKind, MfeCounters};
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::info::Info;
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::{Registry, Unit};

impl Snapshot {
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
        let m = e.encode_descriptor("mgm_build", "The running mgm", None, MetricType::Info)?;
        Info::new([("version", env!("CARGO_PKG_VERSION"))]).encode(m)?;
        interfaces(e, &s.interfaces)?;
        classifier(e, s)?;
        daemon_counters(e, s)?;
        forwarding(e, s)?;
        manager(e, s)?;
        handlers(e, s)?;
        gauge(
            e,
            "mgm_resident_memory",
            "Resident set size of the daemon",
            Some(&Unit::Bytes),
            s.rss_bytes,
        )
    }
}

/// Per managed interface: what it holds, its limits, its querier state.
fn interfaces(e: &mut DescriptorEncoder, ifs: &[InterfaceStats]) -> std::fmt::Result {
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
    limits(e, ifs)?;
    querying(e, ifs)
}

/// The interface's limits and what they (and the filters) refused.
fn limits(e: &mut DescriptorEncoder, ifs: &[InterfaceStats]) -> std::fmt::Result {
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
                ("max_reports_per_second", i.max_reports_per_second),
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
    counters(
        e,
        "mgm_interface_reports_rate_limited",
        "Reports and leaves past the interface's max_reports_per_second, passed on without \
         the daemon seeing them",
        ifs.iter().map(|i| {
            (
                [("interface", i.interface.as_str())],
                i.reports_rate_limited,
            )
        }),
    )
}

/// The interface's querier state and the queries heard from other routers.
fn querying(e: &mut DescriptorEncoder, ifs: &[InterfaceStats]) -> std::fmt::Result {
    let per_if = |f: fn(&InterfaceStats) -> u64| {
        ifs.iter()
            .map(move |i| ([("interface", i.interface.as_str())], f(i)))
    };
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
    Ok(())
}

/// The classifier.
fn classifier(e: &mut DescriptorEncoder, s: &Snapshot) -> std::fmt::Result {
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
    Ok(())
}

/// The daemon's own.
fn daemon_counters(e: &mut DescriptorEncoder, s: &Snapshot) -> std::fmt::Result {
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
        (
            "mgm_daemon_upcalls_dropped",
            "New-source upcalls the kernel dropped because the mroute socket was full (each \
             a new (S,G) whose first packet was lost; should stay 0)",
            s.upcalls_dropped,
        ),
        (
            "mgm_daemon_map_write_fallbacks",
            "Batched map writes the kernel stopped on an unexpected entry (the rest went one \
             by one; each failed entry is counted in mgm_daemon_map_write_errors)",
            s.map_write_fallbacks,
        ),
        (
            "mgm_mfc_desyncs",
            "Upcalls for an (S,G) whose entry mgm held installed: the kernel had lost or \
             changed it (mgm installed it again; should stay 0)",
            s.mfc_desyncs,
        ),
        (
            "mgm_mfc_repairs",
            "Differences between the kernel's MFC and mgm's entries that the periodic \
             reconcile repaired (should stay 0)",
            s.mfc_repairs,
        ),
    ] {
        counter(e, name, help, v)?;
    }
    Ok(())
}

/// Forwarding: the kernel's MFE counters by incoming interface.
fn forwarding(e: &mut DescriptorEncoder, s: &Snapshot) -> std::fmt::Result {
    gauge(
        e,
        "mgm_mfes",
        "Multicast forwarding entries mgm holds in the kernel",
        None,
        s.mfes,
    )?;
    counter(
        e,
        "mgm_mfes_refused",
        "New forwarding entries nobody wanted, refused at --max-mfes (the kernel dropped \
         their packets; alert on it, and on mgm_mfes growing)",
        s.mfes_refused,
    )?;
    counter(
        e,
        "mgm_wanted_mfes_refused",
        "New forwarding entries receivers wanted, refused at 4 x --max-mfes or past their \
         incoming interface's share of it (those receivers miss the stream: raise --max-mfes if \
         they are real)",
        s.wanted_mfes_refused,
    )?;
    counter(
        e,
        "mgm_pending_upcalls_dropped",
        "New (S,G) packets dropped while too many waited for a handler's answer",
        s.pending_upcalls_dropped,
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
    Ok(())
}

/// The manager: callbacks and MFE changes by protocol.
fn manager(e: &mut DescriptorEncoder, s: &Snapshot) -> std::fmt::Result {
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
    Ok(())
}

/// Routing protocols in other processes.
fn handlers(e: &mut DescriptorEncoder, s: &Snapshot) -> std::fmt::Result {
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
    Ok(())
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
