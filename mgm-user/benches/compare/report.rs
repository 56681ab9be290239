//! The bench binaries' side of the harness: results as JSON lines, appended to the file named by
//! `MGM_BENCH_RESULTS` (`cargo xtask bench` sets it and reads the lines back; run alone, a bench
//! prints them on stdout), and `MGM_BENCH_QUICK=1` for the smoke run's few trials.
//! `xtask/src/bench/results.rs` reads what this writes.
#![allow(dead_code)]

use serde_json::{json, Value};
use std::io::Write as _;

/// Which way a measure improves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Better {
    Lower,
    Higher,
}

/// Where the records go.
pub(crate) struct Report {
    path: Option<std::path::PathBuf>,
    pub(crate) quick: bool,
}

impl Report {
    pub(crate) fn from_env() -> Report {
        Report {
            path: std::env::var_os("MGM_BENCH_RESULTS").map(Into::into),
            quick: std::env::var("MGM_BENCH_QUICK").is_ok_and(|v| v == "1"),
        }
    }

    /// `full` trials (or counts) normally, `quick` in the smoke run.
    pub(crate) fn pick<T>(&self, full: T, quick: T) -> T {
        if self.quick {
            quick
        } else {
            full
        }
    }

    fn emit(&self, v: Value) {
        let line = v.to_string();
        match &self.path {
            Some(p) => {
                let mut f = std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(p)
                    .unwrap_or_else(|e| panic!("open {}: {e}", p.display()));
                writeln!(f, "{line}").unwrap_or_else(|e| panic!("write {}: {e}", p.display()));
            }
            None => println!("{line}"),
        }
    }

    /// Declares a scenario: its id (the plot's file name), title and set-up.
    pub(crate) fn scenario(&self, id: &str, title: &str, setup: &str) {
        self.emit(json!({"kind": "scenario", "id": id, "title": title, "setup": setup}));
    }

    /// One figure: a value per trial.
    pub(crate) fn figure(&self, f: Figure<'_>) {
        let mut v = json!({
            "kind": "figure",
            "scenario": f.scenario,
            "measure": f.measure,
            "daemon": f.daemon,
            "peer": f.peer,
            "unit": f.unit,
            "better": if f.better == Better::Lower { "lower" } else { "higher" },
            "values": f.values,
        });
        if let Some((x, label)) = f.x {
            v["x"] = json!(x);
            v["x_label"] = json!(label);
        }
        if let Some(note) = f.note {
            v["note"] = json!(note);
        }
        eprintln!(
            "  {} / {} / {}: {:?} {}",
            f.scenario, f.measure, f.daemon, f.values, f.unit
        );
        self.emit(v);
    }

    /// A measure `daemon` cannot take part in (at point `x` of a curve, or at all), and why.
    pub(crate) fn na(
        &self,
        scenario: &str,
        measure: &str,
        daemon: &str,
        why: &str,
        x: Option<f64>,
    ) {
        let mut v = json!({
            "kind": "na", "scenario": scenario, "measure": measure, "daemon": daemon, "why": why
        });
        if let Some(x) = x {
            v["x"] = json!(x);
        }
        eprintln!("  {scenario} / {measure} / {daemon}: n/a, {why}");
        self.emit(v);
    }
}

/// A figure to report (see `Report::figure`).
pub(crate) struct Figure<'a> {
    pub(crate) scenario: &'a str,
    pub(crate) measure: &'a str,
    pub(crate) daemon: &'a str,
    /// A peer, or one of mgm's own variants.
    pub(crate) peer: bool,
    pub(crate) unit: &'a str,
    pub(crate) better: Better,
    pub(crate) values: Vec<f64>,
    /// The point of a curve (value, axis name).
    pub(crate) x: Option<(f64, &'a str)>,
    pub(crate) note: Option<String>,
}
