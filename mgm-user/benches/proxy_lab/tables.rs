//! The figures as markdown tables: median (min–max) per daemon and mgm's ratio to igmpproxy.

use crate::cpu::CpuRuns;
use crate::join_leave::Latency;
use crate::rss::Rss;
use crate::{
    Variant, CPU_TRIALS, LEAVE_TIMEOUT, REFRESH_GROUPS, REFRESH_RATES, REFRESH_SECONDS, RSS_TRIALS,
    TRIALS,
};
use std::fmt::Write as _;

/// min, median, max.
pub(crate) fn mmm(v: &[f64]) -> (f64, f64, f64) {
    let mut s = v.to_vec();
    s.sort_by(|a, b| a.partial_cmp(b).unwrap());
    (s[0], s[s.len() / 2], s[s.len() - 1])
}

/// A span in ms, as ms below a second and as s above.
pub(crate) fn span(ms: f64) -> String {
    if ms >= 1000.0 {
        format!("{:.2} s", ms / 1e3)
    } else {
        format!("{ms:.2} ms")
    }
}

pub(crate) fn cell(v: &[f64], unit: fn(f64) -> String) -> String {
    if v.is_empty() {
        return "-".into();
    }
    let (lo, med, hi) = mmm(v);
    format!("{} ({}–{})", unit(med), unit(lo), unit(hi))
}

pub(crate) fn ratio(a: &[f64], b: &[f64]) -> String {
    if a.is_empty() || b.is_empty() || mmm(b).1 == 0.0 {
        return "-".into();
    }
    format!("{:.3}", mmm(a).1 / mmm(b).1)
}

/// A row of the join/leave table: its spans from one daemon's figures, and how many trials the
/// stream still flowed after `LEAVE_TIMEOUT`.
pub(crate) type Row = fn(&Latency) -> (Vec<f64>, usize);

pub(crate) fn done(v: &[f64]) -> (Vec<f64>, usize) {
    (v.to_vec(), 0)
}

pub(crate) fn left(v: &[Option<f64>]) -> (Vec<f64>, usize) {
    (
        v.iter().flatten().copied().collect(),
        v.iter().filter(|x| x.is_none()).count(),
    )
}

/// Prints the three tables.
pub(crate) fn print(
    lat: &[(Variant, Latency)],
    cpu: &[(Variant, CpuRuns)],
    rss: &[(Variant, Vec<Rss>)],
) {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "\nmedian (min–max); ratio = mgm median / igmpproxy median (< 1: mgm lower)"
    );
    // A part not run (`MGM_BENCH_ONLY`) has no table.
    if !lat.is_empty() {
        join_leave_table(&mut out, lat);
    }
    if !cpu.is_empty() {
        cpu_table(&mut out, cpu);
    }
    if !rss.is_empty() {
        rss_table(&mut out, rss);
    }
    print!("{out}");
}

/// 1-2: a row per span; igmpproxy, then mgm with its timers, then mgm with the RFC's.
fn join_leave_table(out: &mut String, lat: &[(Variant, Latency)]) {
    let [(pv, p), (mv, m), (rv, rf)] = lat else {
        unreachable!()
    };
    let _ = writeln!(
        out,
        "\n1-2. join and leave, {TRIALS} trials, spans between kernel receive stamps on the LAN \
         (stream 1 000 datagrams/s)"
    );
    let _ = writeln!(
        out,
        "| span | {} | {} | ratio | {} | ratio |",
        pv.label, mv.label, rv.label
    );
    let _ = writeln!(out, "|---|---|---|---|---|---|");
    // Each row: the spans measured, and how many trials the stream still flowed after
    // `LEAVE_TIMEOUT`.
    let rows: [(&str, Row); 7] = [
        (
            "join -> first datagram, first receiver (proxy joins upstream)",
            |l| done(&l.join_first),
        ),
        (
            "  of which: report on the LAN -> proxy's report at the upstream router",
            |l| done(&l.join_first_parts[0]),
        ),
        ("  then -> the stream arrives at the proxy", |l| {
            done(&l.join_first_parts[1])
        }),
        ("  then -> first datagram on the LAN", |l| {
            done(&l.join_first_parts[2])
        }),
        (
            "join -> first datagram, second LAN (stream already at the proxy)",
            |l| done(&l.join_second),
        ),
        ("leave -> last datagram, one LAN of two leaves", |l| {
            left(&l.leave_one)
        }),
        ("leave -> last datagram, last member leaves", |l| {
            left(&l.leave_last)
        }),
    ];
    let with_stuck = |(v, stuck): &(Vec<f64>, usize)| match stuck {
        0 => cell(v, span),
        n => format!(
            "{}; {n} of {TRIALS} still flowing after {} s",
            cell(v, span),
            LEAVE_TIMEOUT.as_secs()
        ),
    };
    for (name, f) in rows {
        let (a, b, c) = (f(p), f(m), f(rf));
        let _ = writeln!(
            out,
            "| {name} | {} | {} | {} | {} | {} |",
            with_stuck(&a),
            with_stuck(&b),
            ratio(&b.0, &a.0),
            with_stuck(&c),
            ratio(&c.0, &a.0)
        );
    }
    let gaps = |l: &Latency| {
        format!(
            "{} ({})",
            span(mmm(&l.gap_lan1).2),
            span(mmm(&l.gap_input).2)
        )
    };
    let _ = writeln!(
        out,
        "| LAN 1's longest gap in the stream while LAN 2 was left, worst trial (the stream \
         reaching the proxy) | {} | {} | | {} | |",
        gaps(p),
        gaps(m),
        gaps(rf)
    );
}

/// 3: a row per IGMP version and refresh rate.
fn cpu_table(out: &mut String, cpu: &[(Variant, CpuRuns)]) {
    let _ = writeln!(
        out,
        "\n3. daemon CPU, {REFRESH_GROUPS} groups refreshed for {REFRESH_SECONDS:.0} s, \
         {CPU_TRIALS} runs; [µs of CPU per report the daemon took, i.e. not dropped]"
    );
    let cols: Vec<&str> = cpu.iter().map(|(v, _)| v.label).collect();
    let _ = writeln!(
        out,
        "| reports | {} | {} | ratio | {} | ratio |",
        cols[0], cols[1], cols[2]
    );
    let _ = writeln!(out, "|---|---|---|---|---|---|");
    for (i, name) in ["IGMPv2", "IGMPv3 (1 IS_EX {} record)"].iter().enumerate() {
        for (j, rate) in REFRESH_RATES.iter().enumerate() {
            let ms = |k: usize| -> Vec<f64> { cpu[k].1[i][j].iter().map(|c| c.cpu_ms).collect() };
            let show = |k: usize| {
                let c = &cpu[k].1[i][j];
                let taken: u64 = c
                    .iter()
                    .map(|c| c.sent as u64 - c.dropped.min(c.sent as u64))
                    .sum();
                let dropped: u64 = c.iter().map(|c| c.dropped).sum();
                let sent: usize = c.iter().map(|c| c.sent).sum();
                let total_ms: f64 = c.iter().map(|c| c.cpu_ms).sum();
                format!(
                    "{} [{:.2} µs]{}",
                    cell(&ms(k), |x| format!("{x:.1} ms")),
                    total_ms * 1e3 / taken.max(1) as f64,
                    match dropped {
                        0 => String::new(),
                        d => format!(", {:.0} % dropped", d as f64 * 100.0 / sent as f64),
                    }
                )
            };
            let _ = writeln!(
                out,
                "| {name}, {rate:.0}/s | {} | {} | {} | {} | {} |",
                show(0),
                show(1),
                ratio(&ms(1), &ms(0)),
                show(2),
                ratio(&ms(2), &ms(0))
            );
        }
    }
    for (j, rate) in REFRESH_RATES.iter().enumerate() {
        let rates: Vec<f64> = cpu
            .iter()
            .flat_map(|(_, b)| b.iter().flat_map(|by_rate| by_rate[j].iter()))
            .map(|c| c.sent as f64 / c.took.as_secs_f64())
            .collect();
        let (lo, _, hi) = mmm(&rates);
        let _ = writeln!(out, "(at {rate:.0}/s: sent {lo:.0}–{hi:.0} reports/s)");
    }
}

/// 4: idle, holding the groups, and the growth between.
fn rss_table(out: &mut String, rss: &[(Variant, Vec<Rss>)]) {
    let _ = writeln!(out, "\n4. daemon RSS, {RSS_TRIALS} runs");
    let _ = writeln!(
        out,
        "| state | {} | {} | ratio |",
        rss[0].0.label, rss[1].0.label
    );
    let _ = writeln!(out, "|---|---|---|---|");
    let kib = |x: f64| format!("{x:.0} KiB");
    for (name, f) in [
        (
            "started, no group",
            (|r: &Rss| r.idle_kib) as fn(&Rss) -> f64,
        ),
        ("1 000 groups joined downstream and proxied upstream", |r| {
            r.held_kib
        }),
        ("growth for the 1 000 groups", |r| r.held_kib - r.idle_kib),
    ] {
        let a: Vec<f64> = rss[0].1.iter().map(f).collect();
        let b: Vec<f64> = rss[1].1.iter().map(f).collect();
        let _ = writeln!(
            out,
            "| {name} | {} | {} | {} |",
            cell(&a, kib),
            cell(&b, kib),
            ratio(&b, &a)
        );
    }
}
