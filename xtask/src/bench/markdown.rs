//! BENCHMARKS.md from the results: a header saying how it was made, the machine and its load, then
//! a table per scenario (a row per measure, a column per daemon, the ratio to each peer).
use super::results::{Better, Figure, NotApplicable, Results, Scenario};
use super::stats::{ratio, summary, Summary};
use std::fmt::Write as _;

/// What the header says about the run.
#[derive(Clone, Debug, Default)]
pub(crate) struct RunInfo {
    /// The command that reproduces the document.
    pub(crate) command: String,
    pub(crate) date: String,
    /// "full" or "quick (smoke run: few trials, small counts)".
    pub(crate) mode: String,
    pub(crate) cpu: String,
    pub(crate) vcpus: usize,
    pub(crate) kernel: String,
    /// Per bench binary: its name and the load average (1 min) before and after it ran.
    pub(crate) load: Vec<(String, String, String)>,
    /// Plots, by scenario id: the path relative to the document.
    pub(crate) plots: Vec<(String, String)>,
}

/// A number with three significant digits or so, no exponent for everyday sizes.
pub(crate) fn num(v: f64) -> String {
    let a = v.abs();
    if a == 0.0 {
        "0".into()
    } else if a >= 100.0 {
        format!("{v:.0}")
    } else if a >= 10.0 {
        format!("{v:.1}")
    } else if a >= 1.0 {
        format!("{v:.2}")
    } else if a >= 0.001 {
        format!("{v:.3}")
    } else {
        format!("{v:.2e}")
    }
}

fn cell(s: &Summary) -> String {
    if s.n == 1 {
        format!("{} (n=1)", num(s.median))
    } else {
        format!(
            "{} ({}–{}, n={})",
            num(s.median),
            num(s.min),
            num(s.max),
            s.n
        )
    }
}

/// mgm's median over the peer's, and what it means for a measure that improves `better`. A
/// median of 0 (nothing measured, e.g. no CPU in a window) is no multiple of anything: the cell
/// says which is 0 and who is ahead, not "0×".
fn ratio_cell(mgm: Option<Summary>, peer: Option<Summary>, better: Better) -> String {
    let (Some(m), Some(p)) = (mgm, peer) else {
        return "–".into();
    };
    // The verdict when mgm's figure is the lower one.
    let lower_wins = better == Better::Lower;
    let verdict = |mgm_lower: bool| {
        if mgm_lower == lower_wins {
            "mgm ahead"
        } else {
            "mgm behind"
        }
    };
    match (m.median == 0.0, p.median == 0.0) {
        (true, true) => return "both 0 (even)".into(),
        (true, false) => return format!("no ratio: mgm's is 0 ({})", verdict(true)),
        (false, true) => return format!("no ratio: the peer's is 0 ({})", verdict(false)),
        (false, false) => {}
    }
    let Some(r) = ratio(mgm, peer) else {
        return "–".into();
    };
    let verdict = if (0.95..=1.05).contains(&r) {
        "even"
    } else {
        verdict(r < 1.0)
    };
    format!("{}× ({verdict})", num(r))
}

/// The columns of a scenario: mgm's variants first, then the peers, each in order of appearance,
/// the peers with no figure (n/a only) last.
fn daemons(figs: &[&Figure], na: &[&NotApplicable]) -> (Vec<String>, Vec<String>) {
    let (mut own, mut peers) = (Vec::<String>::new(), Vec::<String>::new());
    for (name, peer) in figs
        .iter()
        .map(|f| (&f.daemon, f.peer))
        .chain(na.iter().map(|n| (&n.daemon, true)))
    {
        if own.contains(name) || peers.contains(name) {
            continue;
        }
        if peer {
            peers.push(name.clone());
        } else {
            own.push(name.clone());
        }
    }
    // Peers measured first, then those only n/a (stable: order of appearance otherwise).
    peers.sort_by_key(|p| !figs.iter().any(|f| &f.daemon == p));
    (own, peers)
}

/// A row: a measure (at one x for curves).
#[derive(PartialEq)]
struct RowKey {
    measure: String,
    x: Option<f64>,
    x_label: Option<String>,
}

fn rows(figs: &[&Figure], na: &[&NotApplicable]) -> Vec<RowKey> {
    let mut out: Vec<RowKey> = Vec::new();
    for f in figs {
        let k = RowKey {
            measure: f.measure.clone(),
            x: f.x,
            x_label: f.x_label.clone(),
        };
        if !out.contains(&k) {
            out.push(k);
        }
    }
    // An n/a covers every point of its measure; a measure only n/a still gets its row.
    for n in na {
        if !out
            .iter()
            .any(|r| r.measure == n.measure && (n.x.is_none() || r.x == n.x))
        {
            out.push(RowKey {
                measure: n.measure.clone(),
                x: n.x,
                x_label: None,
            });
        }
    }
    out
}

fn scenario_table(out: &mut String, s: &Scenario, results: &Results) {
    let (figs, na) = results.of(&s.id);
    let (own, peers) = daemons(&figs, &na);
    let mut head = String::from("| measure |");
    for d in &own {
        let _ = write!(head, " {d} |");
    }
    let primary = own.first().cloned();
    // A ratio column for each peer with a figure to divide by.
    let with_ratio = |p: &String| primary.is_some() && figs.iter().any(|f| &f.daemon == p);
    for p in &peers {
        let _ = write!(head, " {p} |");
        if let (true, Some(m)) = (with_ratio(p), &primary) {
            let _ = write!(head, " {m} ÷ {p} |");
        }
    }
    let columns = head.matches(" |").count();
    let _ = writeln!(out, "{head}");
    let _ = writeln!(out, "|{}", "---|".repeat(columns));
    for row in rows(&figs, &na) {
        let fig = |d: &str| {
            figs.iter()
                .find(|f| f.daemon == d && f.measure == row.measure && f.x == row.x)
                .copied()
        };
        let value = |d: &str| {
            if let Some(n) = na.iter().find(|n| {
                n.daemon == d && n.measure == row.measure && (n.x.is_none() || n.x == row.x)
            }) {
                return format!("n/a — {}", n.why);
            }
            match fig(d) {
                Some(f) => match (summary(&f.values), &f.note) {
                    (Some(s), Some(note)) => format!("{}; {note}", cell(&s)),
                    (Some(s), None) => cell(&s),
                    (None, _) => "–".into(),
                },
                None => "–".into(),
            }
        };
        let any = figs
            .iter()
            .find(|f| f.measure == row.measure && f.x == row.x);
        let mut name = row.measure.clone();
        if let (Some(x), Some(label)) = (row.x, &row.x_label) {
            let _ = write!(name, ", {} {label}", num(x));
        }
        if let Some(f) = any {
            let lower = if f.better == Better::Lower {
                "lower is better"
            } else {
                "higher is better"
            };
            let _ = write!(name, " ({}, {lower})", f.unit);
        }
        let mut line = format!("| {name} |");
        for d in &own {
            let _ = write!(line, " {} |", value(d));
        }
        for p in &peers {
            let _ = write!(line, " {} |", value(p));
            if let (true, Some(m)) = (with_ratio(p), &primary) {
                let r = match (fig(m), fig(p)) {
                    (Some(a), Some(b)) => {
                        ratio_cell(summary(&a.values), summary(&b.values), a.better)
                    }
                    _ => "–".into(),
                };
                let _ = write!(line, " {r} |");
            }
        }
        let _ = writeln!(out, "{line}");
    }
}

/// The whole document.
pub(crate) fn render(results: &Results, run: &RunInfo) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# Benchmarks\n");
    let _ = writeln!(
        out,
        "<!-- Generated by the benchmark harness (xtask/src/bench): do not edit by hand. -->\n"
    );
    let _ = writeln!(
        out,
        "Generated by `{}` (as root) on {}, {} run. Run the same command to reproduce it: it \
         builds the namespace lab, runs mgm and each peer on the same work, one daemon at a time, \
         interleaved trial by trial, and rewrites this file and the plots in `docs/bench/`. The mgm \
         measured in the side-by-side scenarios is the release build (`cargo xtask build`, as \
         packaged).\n",
        run.command, run.date, run.mode
    );
    let _ = writeln!(
        out,
        "Each figure: median (min–max, n = trials). A ratio column is mgm's median divided by the \
         peer's; the verdict reads it the way the measure improves. A median of 0 gets no ratio: \
         the cell says which one is 0. \"n/a\" says why a peer cannot do that work.\n"
    );
    let _ = writeln!(out, "## Machine and load\n");
    let _ = writeln!(
        out,
        "{}, {} vCPUs, Linux {}. Load average (1 min) before → after each bench binary (other \
         work on the machine shows here; figures taken under load are noisy):\n",
        run.cpu, run.vcpus, run.kernel
    );
    let _ = writeln!(out, "| bench | load before | load after |\n|---|---|---|");
    for (bench, before, after) in &run.load {
        let _ = writeln!(out, "| {bench} | {before} | {after} |");
    }
    for s in &results.scenarios {
        let _ = writeln!(out, "\n## {}\n\n{}\n", s.title, s.setup);
        if let Some((_, path)) = run.plots.iter().find(|(id, _)| *id == s.id) {
            let _ = writeln!(out, "![{}]({path})\n", s.title);
        }
        scenario_table(&mut out, s, results);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn results() -> Results {
        let mut r = Results::default();
        r.parse(
            r#"{"kind":"scenario","id":"react","title":"Router reaction","setup":"A report, then the MFC."}
{"kind":"figure","scenario":"react","measure":"report to MFC","daemon":"mgm","peer":false,"unit":"ms","better":"lower","values":[0.1,0.3,0.2]}
{"kind":"figure","scenario":"react","measure":"report to MFC","daemon":"igmpproxy","peer":true,"unit":"ms","better":"lower","values":[0.4,0.8]}
{"kind":"figure","scenario":"react","measure":"cpu","daemon":"mgm","peer":false,"unit":"ms","better":"lower","values":[2],"x":1000,"x_label":"reports/s"}
{"kind":"figure","scenario":"react","measure":"cpu","daemon":"mgm","peer":false,"unit":"ms","better":"lower","values":[9],"x":10000,"x_label":"reports/s","note":"none lost"}
{"kind":"na","scenario":"react","measure":"report to MFC","daemon":"smcroute","why":"no IGMP router"}
{"kind":"na","scenario":"react","measure":"cpu","daemon":"igmpproxy","why":"not run at 10000","x":10000}
"#,
            "t",
        )
        .unwrap();
        r
    }

    fn info() -> RunInfo {
        RunInfo {
            command: "cargo xtask bench".into(),
            date: "2026-12-01".into(),
            mode: "full".into(),
            cpu: "Some CPU".into(),
            vcpus: 2,
            kernel: "6.18".into(),
            load: vec![("compare".into(), "1.00".into(), "2.00".into())],
            plots: vec![("react".into(), "docs/bench/react.svg".into())],
        }
    }

    #[test]
    fn the_header_gives_the_command_machine_and_load() {
        let md = render(&results(), &info());
        assert!(md.starts_with("# Benchmarks\n"));
        assert!(md.contains("Generated by `cargo xtask bench`"));
        assert!(md.contains("do not edit by hand"));
        assert!(md.contains("Some CPU, 2 vCPUs, Linux 6.18"));
        assert!(md.contains("| compare | 1.00 | 2.00 |"));
        assert!(md.contains("![Router reaction](docs/bench/react.svg)"));
    }

    #[test]
    fn a_table_has_mgm_then_each_peer_with_its_ratio_and_na() {
        let md = render(&results(), &info());
        let lines: Vec<&str> = md.lines().collect();
        let head = lines
            .iter()
            .position(|l| l.starts_with("| measure |"))
            .unwrap();
        assert_eq!(
            lines[head],
            "| measure | mgm | igmpproxy | mgm ÷ igmpproxy | smcroute |"
        );
        assert_eq!(lines[head + 1], "|---|---|---|---|---|");
        assert_eq!(
            lines[head + 2],
            "| report to MFC (ms, lower is better) | 0.200 (0.100–0.300, n=3) | 0.600 (0.400–0.800, n=2) \
             | 0.333× (mgm ahead) | n/a — no IGMP router |"
        );
        // A curve: one row per point, the note after the figure.
        assert!(lines[head + 3]
            .starts_with("| cpu, 1000 reports/s (ms, lower is better) | 2.00 (n=1) |"));
        assert!(lines[head + 4].contains("9.00 (n=1); none lost"));
        // An n/a at one point of a curve covers that row only.
        assert!(!lines[head + 3].contains("not run"), "{}", lines[head + 3]);
        assert!(
            lines[head + 4].contains("n/a — not run at 10000"),
            "{}",
            lines[head + 4]
        );
        // Every row has as many cells as the header.
        for l in &lines[head..head + 5] {
            assert_eq!(l.matches('|').count(), 6, "{l}");
        }
    }

    #[test]
    fn peers_only_na_come_last_without_a_ratio_column() {
        let mut r = Results::default();
        r.parse(
            r#"{"kind":"scenario","id":"s","title":"S","setup":""}
{"kind":"na","scenario":"s","measure":"m","daemon":"smcroute","why":"static"}
{"kind":"figure","scenario":"s","measure":"m","daemon":"mgm","peer":false,"unit":"ms","better":"lower","values":[1]}
{"kind":"figure","scenario":"s","measure":"m","daemon":"pimd","peer":true,"unit":"ms","better":"lower","values":[2]}
"#,
            "t",
        )
        .unwrap();
        let md = render(&r, &info());
        assert!(
            md.contains(
                "| measure | mgm | pimd | mgm ÷ pimd | smcroute |\n|---|---|---|---|---|\n"
            ),
            "{md}"
        );
        assert!(md.contains("| m (ms, lower is better) | 1.00 (n=1) | 2.00 (n=1) | 0.500× (mgm ahead) | n/a — static |"), "{md}");
    }

    #[test]
    fn ratio_verdicts_follow_the_direction_of_the_measure() {
        let s = |v: f64| summary(&[v]);
        assert_eq!(
            ratio_cell(s(1.0), s(4.0), Better::Lower),
            "0.250× (mgm ahead)"
        );
        assert_eq!(
            ratio_cell(s(1.0), s(4.0), Better::Higher),
            "0.250× (mgm behind)"
        );
        assert_eq!(
            ratio_cell(s(4.2), s(1.0), Better::Lower),
            "4.20× (mgm behind)"
        );
        assert_eq!(ratio_cell(s(1.0), s(1.02), Better::Lower), "0.980× (even)");
        assert_eq!(ratio_cell(s(1.0), None, Better::Lower), "–");
    }

    #[test]
    fn a_zero_median_gets_no_ratio_but_says_which_is_zero() {
        // Not "0×": a median of 0 (nothing measured in the window) is no multiple of anything.
        let s = |v: f64| summary(&[v]);
        assert_eq!(
            ratio_cell(s(0.0), s(0.051), Better::Lower),
            "no ratio: mgm's is 0 (mgm ahead)"
        );
        assert_eq!(
            ratio_cell(s(0.0), s(3.0), Better::Higher),
            "no ratio: mgm's is 0 (mgm behind)"
        );
        assert_eq!(
            ratio_cell(s(0.2), s(0.0), Better::Lower),
            "no ratio: the peer's is 0 (mgm behind)"
        );
        assert_eq!(ratio_cell(s(0.0), s(0.0), Better::Lower), "both 0 (even)");
        let md = |mgm: &str| {
            let mut r = Results::default();
            r.parse(
                &format!(
                    r#"{{"kind":"scenario","id":"s","title":"S","setup":""}}
{{"kind":"figure","scenario":"s","measure":"cpu","daemon":"mgm","peer":false,"unit":"ms","better":"lower","values":[{mgm}]}}
{{"kind":"figure","scenario":"s","measure":"cpu","daemon":"pimd","peer":true,"unit":"ms","better":"lower","values":[0.05]}}
"#
                ),
                "t",
            )
            .unwrap();
            render(&r, &info())
        };
        let zero = md("0");
        assert!(
            zero.contains("| 0 (n=1) | 0.050 (n=1) | no ratio: mgm's is 0 (mgm ahead) |"),
            "{zero}"
        );
        assert!(!zero.contains("0×"), "{zero}");
    }

    #[test]
    fn numbers_keep_about_three_digits() {
        assert_eq!(num(0.0), "0");
        assert_eq!(num(0.35), "0.350");
        assert_eq!(num(3.456), "3.46");
        assert_eq!(num(27.54), "27.5");
        assert_eq!(num(12345.6), "12346");
        assert_eq!(num(0.00001), "1.00e-5");
    }
}
