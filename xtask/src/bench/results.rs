//! What a bench binary reports: one JSON object a line in the file named by
//! `MGM_BENCH_RESULTS` (written by `mgm-user/benches/compare/report.rs`), read back here.
//!
//! ```text
//! {"kind":"scenario","id":"idle","title":"Idle daemon","setup":"…"}
//! {"kind":"figure","scenario":"idle","measure":"RSS","daemon":"mgm","peer":false,"unit":"KiB","better":"lower","values":[9800,9812]}
//! {"kind":"figure",…,"x":1000.0,"x_label":"reports/s"}     (one point of a curve)
//! {"kind":"na","scenario":"refresh","measure":"…","daemon":"smcroute","why":"no IGMP router"}
//! ```
use anyhow::{bail, Context, Result};
use serde::Deserialize;

/// Which way a measure improves.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Better {
    Lower,
    Higher,
}

#[derive(Clone, Debug, Deserialize, PartialEq)]
pub(crate) struct Scenario {
    pub(crate) id: String,
    pub(crate) title: String,
    /// The lab, the work and what is timed, in a few sentences.
    pub(crate) setup: String,
}

#[derive(Clone, Debug, Deserialize, PartialEq)]
pub(crate) struct Figure {
    pub(crate) scenario: String,
    pub(crate) measure: String,
    /// "mgm", "mgm --no-fast-path", "igmpproxy 0.3", …
    pub(crate) daemon: String,
    /// A peer (ratios are mgm's figure over this one's), or one of mgm's own variants.
    pub(crate) peer: bool,
    pub(crate) unit: String,
    pub(crate) better: Better,
    /// One value per trial.
    pub(crate) values: Vec<f64>,
    /// The point of a curve this figure is (offered rate, groups held …), with its axis name.
    #[serde(default)]
    pub(crate) x: Option<f64>,
    #[serde(default)]
    pub(crate) x_label: Option<String>,
    /// A remark for the table (drops, groups missing …).
    #[serde(default)]
    pub(crate) note: Option<String>,
}

/// A measure a daemon cannot take part in, and why.
#[derive(Clone, Debug, Deserialize, PartialEq)]
pub(crate) struct NotApplicable {
    pub(crate) scenario: String,
    pub(crate) measure: String,
    pub(crate) daemon: String,
    pub(crate) why: String,
    /// The one point of a curve it covers; all of them when absent.
    #[serde(default)]
    pub(crate) x: Option<f64>,
}

#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub(crate) enum Record {
    Scenario(Scenario),
    Figure(Figure),
    Na(NotApplicable),
}

/// Everything the bench binaries reported, in the order they reported it.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct Results {
    pub(crate) scenarios: Vec<Scenario>,
    pub(crate) figures: Vec<Figure>,
    pub(crate) na: Vec<NotApplicable>,
}

impl Results {
    /// Parses one bench's output (`what` names it in errors); blank lines are skipped.
    pub(crate) fn parse(&mut self, text: &str, what: &str) -> Result<()> {
        for (i, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let record: Record = serde_json::from_str(line)
                .with_context(|| format!("{what}, line {}: not a result record: {line}", i + 1))?;
            match record {
                Record::Scenario(s) => {
                    if !self.scenarios.iter().any(|x| x.id == s.id) {
                        self.scenarios.push(s);
                    }
                }
                Record::Figure(f) => self.figures.push(f),
                Record::Na(n) => self.na.push(n),
            }
        }
        Ok(())
    }

    /// Every figure and n/a names a declared scenario, and every scenario has at least one
    /// figure: what the quick mode checks.
    pub(crate) fn check(&self) -> Result<()> {
        let known = |id: &str| self.scenarios.iter().any(|s| s.id == id);
        for f in &self.figures {
            if !known(&f.scenario) {
                bail!(
                    "figure {:?} of {:?}: undeclared scenario {:?}",
                    f.measure,
                    f.daemon,
                    f.scenario
                );
            }
            if f.values.is_empty() || f.values.iter().any(|v| !v.is_finite()) {
                bail!(
                    "figure {:?} of {:?}: no value or a value that is not finite",
                    f.measure,
                    f.daemon
                );
            }
        }
        if let Some(n) = self.na.iter().find(|n| !known(&n.scenario)) {
            bail!(
                "n/a for {:?}: undeclared scenario {:?}",
                n.measure,
                n.scenario
            );
        }
        if let Some(s) = self
            .scenarios
            .iter()
            .find(|s| !self.figures.iter().any(|f| f.scenario == s.id))
        {
            bail!("scenario {:?} reported no figure", s.id);
        }
        Ok(())
    }

    pub(crate) fn of(&self, scenario: &str) -> (Vec<&Figure>, Vec<&NotApplicable>) {
        (
            self.figures
                .iter()
                .filter(|f| f.scenario == scenario)
                .collect(),
            self.na.iter().filter(|n| n.scenario == scenario).collect(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"{"kind":"scenario","id":"idle","title":"Idle","setup":"one daemon"}
{"kind":"figure","scenario":"idle","measure":"RSS","daemon":"mgm","peer":false,"unit":"KiB","better":"lower","values":[1,2,3]}

{"kind":"figure","scenario":"idle","measure":"CPU","daemon":"igmpproxy","peer":true,"unit":"ms","better":"lower","values":[0.5],"x":1000,"x_label":"reports/s","note":"3 % dropped"}
{"kind":"na","scenario":"idle","measure":"CPU","daemon":"smcroute","why":"no IGMP"}
"#;

    #[test]
    fn every_kind_of_record_parses() {
        let mut r = Results::default();
        r.parse(GOOD, "t").unwrap();
        assert_eq!(r.scenarios.len(), 1);
        assert_eq!(r.figures.len(), 2);
        assert_eq!(r.figures[0].values, vec![1.0, 2.0, 3.0]);
        assert_eq!(r.figures[0].x, None);
        assert_eq!(r.figures[1].x, Some(1000.0));
        assert_eq!(r.figures[1].better, Better::Lower);
        assert!(r.figures[1].peer);
        assert_eq!(r.na[0].why, "no IGMP");
        r.check().unwrap();
    }

    #[test]
    fn a_bad_line_is_an_error_naming_the_bench_and_line() {
        let mut r = Results::default();
        let err = r
            .parse(
                "{\"kind\":\"scenario\",\"id\":\"a\",\"title\":\"A\",\"setup\":\"\"}\nnot json\n",
                "compare",
            )
            .unwrap_err();
        let text = format!("{err:#}");
        assert!(text.contains("compare, line 2"), "{text}");
        let err = r
            .parse(r#"{"kind":"figure","scenario":"a"}"#, "x")
            .unwrap_err();
        assert!(format!("{err:#}").contains("missing field"), "{err:#}");
        assert!(r.parse(r#"{"kind":"bogus"}"#, "x").is_err());
    }

    #[test]
    fn check_refuses_undeclared_scenarios_empty_values_and_silent_scenarios() {
        let fig = |scenario: &str, values: &str| {
            format!(
                r#"{{"kind":"figure","scenario":"{scenario}","measure":"m","daemon":"mgm","peer":false,"unit":"ms","better":"lower","values":{values}}}"#
            )
        };
        let decl = r#"{"kind":"scenario","id":"a","title":"A","setup":""}"#;
        let mut r = Results::default();
        r.parse(&format!("{decl}\n{}", fig("b", "[1]")), "t")
            .unwrap();
        assert!(r.check().is_err());
        let mut r = Results::default();
        r.parse(&format!("{decl}\n{}", fig("a", "[]")), "t")
            .unwrap();
        assert!(r.check().is_err());
        let mut r = Results::default();
        r.parse(decl, "t").unwrap();
        assert!(format!("{:#}", r.check().unwrap_err()).contains("no figure"));
        let mut r = Results::default();
        r.parse(&format!("{decl}\n{}", fig("a", "[1, 2]")), "t")
            .unwrap();
        r.check().unwrap();
    }
}
