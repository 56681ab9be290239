//! A small SVG writer for the plots in `docs/bench/`: per scenario, one panel per measure, stacked.
//! A measure taken once per trial is a strip chart (a row per daemon: every trial a dot, a bar
//! from min to max, a tick at the median); a measure taken at several points (offered rate,
//! groups held) is a line chart (a line per daemon through the medians, min–max whiskers).
use super::markdown::num;
use super::results::Figure;
use super::stats::summary;
use std::fmt::Write as _;

const WIDTH: f64 = 720.0;
const LEFT: f64 = 190.0;
const RIGHT: f64 = 30.0;
const ROW: f64 = 26.0;
const COLOURS: [&str; 6] = [
    "#1b6ac9", "#d9480f", "#2b8a3e", "#862e9c", "#e67700", "#495057",
];

/// Text escaped for XML.
pub(crate) fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Ticks from 0 (or the lowest value when it is negative) to a round value at or above `max`:
/// steps of 1, 2 or 5 × 10^k, at most 6 of them.
pub(crate) fn ticks(min: f64, max: f64) -> Vec<f64> {
    let lo = min.min(0.0);
    let hi = if max > lo { max } else { lo + 1.0 };
    let raw = (hi - lo) / 5.0;
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|s| (hi - lo) / s <= 6.0)
        .unwrap_or(10.0 * mag);
    let first = (lo / step).floor() * step;
    let mut out = Vec::new();
    for i in 0..=12 {
        // Rounded to the step's digits: no 0.6000000001 on an axis.
        let t = ((first + f64::from(i) * step) / mag).round() * mag;
        out.push(t);
        if t >= hi - step * 1e-9 {
            break;
        }
    }
    out
}

struct Canvas {
    body: String,
    y: f64,
}

impl Canvas {
    fn text(&mut self, x: f64, y: f64, anchor: &str, size: u32, s: &str) {
        let _ = writeln!(
            self.body,
            r#"<text x="{x:.1}" y="{y:.1}" text-anchor="{anchor}" font-size="{size}">{}</text>"#,
            escape(s)
        );
    }

    fn line(&mut self, (x1, y1): (f64, f64), (x2, y2): (f64, f64), colour: &str, width: f64) {
        let _ = writeln!(
            self.body,
            r#"<line x1="{x1:.1}" y1="{y1:.1}" x2="{x2:.1}" y2="{y2:.1}" stroke="{colour}" stroke-width="{width}"/>"#
        );
    }

    fn dot(&mut self, x: f64, y: f64, colour: &str) {
        let _ = writeln!(
            self.body,
            r#"<circle cx="{x:.1}" cy="{y:.1}" r="3" fill="{colour}" fill-opacity="0.6"/>"#
        );
    }

    /// The horizontal axis at `y` over `ticks`; returns the value → x mapping's ends.
    fn x_axis(&mut self, y: f64, ticks: &[f64], label: &str) {
        let (lo, hi) = (ticks[0], ticks[ticks.len() - 1]);
        self.line((LEFT, y), (WIDTH - RIGHT, y), "#000", 1.0);
        for &t in ticks {
            let x = scale(t, lo, hi);
            self.line((x, y), (x, y + 4.0), "#000", 1.0);
            self.text(x, y + 16.0, "middle", 11, &num(t));
        }
        self.text((LEFT + WIDTH - RIGHT) / 2.0, y + 32.0, "middle", 12, label);
    }
}

fn scale(v: f64, lo: f64, hi: f64) -> f64 {
    LEFT + (v - lo) / (hi - lo) * (WIDTH - LEFT - RIGHT)
}

/// A strip chart of one measure: a row per figure (daemon).
fn strip(c: &mut Canvas, measure: &str, figs: &[&Figure]) {
    let all: Vec<f64> = figs.iter().flat_map(|f| f.values.iter().copied()).collect();
    let Some(s) = summary(&all) else { return };
    let t = ticks(s.min, s.max);
    let (lo, hi) = (t[0], t[t.len() - 1]);
    c.text(10.0, c.y + 16.0, "start", 13, measure);
    c.y += 28.0;
    for (i, f) in figs.iter().enumerate() {
        let colour = COLOURS[i % COLOURS.len()];
        let y = c.y + ROW / 2.0;
        c.text(LEFT - 8.0, y + 4.0, "end", 12, &f.daemon);
        if let Some(s) = summary(&f.values) {
            c.line(
                (scale(s.min, lo, hi), y),
                (scale(s.max, lo, hi), y),
                colour,
                2.0,
            );
            c.line(
                (scale(s.median, lo, hi), y - 8.0),
                (scale(s.median, lo, hi), y + 8.0),
                colour,
                3.0,
            );
        }
        for &v in &f.values {
            c.dot(scale(v, lo, hi), y, colour);
        }
        c.y += ROW;
    }
    let unit = &figs[0].unit;
    c.x_axis(c.y + 4.0, &t, unit);
    c.y += 50.0;
}

/// A line chart of one measure over its x: a line per daemon through the medians.
fn curve(c: &mut Canvas, measure: &str, figs: &[&Figure]) {
    let xs: Vec<f64> = figs.iter().filter_map(|f| f.x).collect();
    let ys: Vec<f64> = figs.iter().flat_map(|f| f.values.iter().copied()).collect();
    let (Some(sx), Some(sy)) = (summary(&xs), summary(&ys)) else {
        return;
    };
    let (tx, ty) = (ticks(sx.min, sx.max), ticks(sy.min, sy.max));
    let (x0, x1) = (tx[0], tx[tx.len() - 1]);
    let (y0, y1) = (ty[0], ty[ty.len() - 1]);
    const H: f64 = 200.0;
    c.text(10.0, c.y + 16.0, "start", 13, measure);
    c.y += 28.0;
    let top = c.y;
    let py = |v: f64| top + H - (v - y0) / (y1 - y0) * H;
    c.line((LEFT, top), (LEFT, top + H), "#000", 1.0);
    for &t in &ty {
        c.line((LEFT - 4.0, py(t)), (LEFT, py(t)), "#000", 1.0);
        c.text(LEFT - 8.0, py(t) + 4.0, "end", 11, &num(t));
    }
    c.text(LEFT - 60.0, top - 6.0, "middle", 12, &figs[0].unit);
    let mut daemons: Vec<&str> = Vec::new();
    for f in figs {
        if !daemons.contains(&f.daemon.as_str()) {
            daemons.push(&f.daemon);
        }
    }
    for (i, d) in daemons.iter().enumerate() {
        let colour = COLOURS[i % COLOURS.len()];
        let mut pts: Vec<(f64, f64, f64, f64)> = figs
            .iter()
            .filter(|f| f.daemon == *d)
            .filter_map(|f| Some((f.x?, summary(&f.values)?)))
            .map(|(x, s)| (x, s.min, s.median, s.max))
            .collect();
        pts.sort_by(|a, b| a.0.total_cmp(&b.0));
        let path: Vec<String> = pts
            .iter()
            .map(|p| format!("{:.1},{:.1}", scale(p.0, x0, x1), py(p.2)))
            .collect();
        let _ = writeln!(
            c.body,
            r#"<polyline points="{}" fill="none" stroke="{colour}" stroke-width="2"/>"#,
            path.join(" ")
        );
        for p in &pts {
            let x = scale(p.0, x0, x1);
            c.line((x, py(p.1)), (x, py(p.3)), colour, 1.0);
            c.dot(x, py(p.2), colour);
        }
        c.text(WIDTH - RIGHT, top + 14.0 + 16.0 * i as f64, "end", 12, d);
        c.line(
            (WIDTH - RIGHT - 150.0, top + 10.0 + 16.0 * i as f64),
            (WIDTH - RIGHT - 130.0, top + 10.0 + 16.0 * i as f64),
            colour,
            2.0,
        );
    }
    let label = figs[0].x_label.clone().unwrap_or_default();
    c.x_axis(top + H, &tx, &label);
    c.y = top + H + 50.0;
}

/// The plot of a scenario: a panel per measure, in order of appearance.
pub(crate) fn plot(title: &str, figs: &[&Figure]) -> String {
    let mut c = Canvas {
        body: String::new(),
        y: 30.0,
    };
    c.text(WIDTH / 2.0, 20.0, "middle", 15, title);
    let mut measures: Vec<&str> = Vec::new();
    for f in figs {
        if !measures.contains(&f.measure.as_str()) {
            measures.push(&f.measure);
        }
    }
    for m in measures {
        let of: Vec<&Figure> = figs.iter().filter(|f| f.measure == m).copied().collect();
        if of.iter().any(|f| f.x.is_some()) {
            curve(&mut c, m, &of);
        } else {
            strip(&mut c, m, &of);
        }
    }
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\" \
         width=\"{WIDTH}\" height=\"{h:.0}\" viewBox=\"0 0 {WIDTH} {h:.0}\" \
         font-family=\"sans-serif\">\n<rect width=\"100%\" height=\"100%\" fill=\"#fff\"/>\n{}</svg>\n",
        c.body,
        h = c.y
    )
}

#[cfg(test)]
mod tests {
    use super::super::results::Better;
    use super::*;

    fn fig(daemon: &str, measure: &str, values: &[f64], x: Option<f64>) -> Figure {
        Figure {
            scenario: "s".into(),
            measure: measure.into(),
            daemon: daemon.into(),
            peer: daemon != "mgm",
            unit: "ms".into(),
            better: Better::Lower,
            values: values.to_vec(),
            x,
            x_label: x.map(|_| "reports/s".into()),
            note: None,
        }
    }

    /// The element names in document order, with a check that every element closes in order
    /// (start tags, end tags and empty elements; no `<` or `&` loose in text).
    fn well_formed(svg: &str) -> Result<Vec<String>, String> {
        let body = svg
            .strip_prefix("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n")
            .ok_or("no XML declaration")?;
        let (mut stack, mut names) = (Vec::<String>::new(), Vec::new());
        let mut rest = body;
        while let Some(open) = rest.find('<') {
            let text = &rest[..open];
            if text.contains('>')
                || text
                    .replace("&amp;", "")
                    .replace("&lt;", "")
                    .replace("&gt;", "")
                    .replace("&quot;", "")
                    .contains('&')
            {
                return Err(format!("loose markup in text {text:?}"));
            }
            let close = rest[open..].find('>').ok_or("unclosed tag")? + open;
            let tag = &rest[open + 1..close];
            if tag[1..].contains('<') {
                return Err(format!("`<` inside tag {tag:?}"));
            }
            if let Some(name) = tag.strip_prefix('/') {
                if stack.pop().as_deref() != Some(name) {
                    return Err(format!("</{name}> closes nothing open"));
                }
            } else {
                let name = tag
                    .split_whitespace()
                    .next()
                    .unwrap_or("")
                    .trim_end_matches('/');
                names.push(name.to_string());
                if !tag.ends_with('/') {
                    stack.push(name.to_string());
                }
            }
            if tag.matches('"').count() % 2 != 0 {
                return Err(format!("unbalanced quotes in {tag:?}"));
            }
            rest = &rest[close + 1..];
        }
        if !stack.is_empty() || !rest.trim().is_empty() {
            return Err(format!("left open: {stack:?}"));
        }
        Ok(names)
    }

    #[test]
    fn a_strip_chart_is_well_formed_with_a_dot_per_trial_and_an_axis() {
        let a = fig("mgm", "report → MFC", &[0.1, 0.2, 0.35], None);
        let b = fig("igmpproxy <0.3> & co", "report → MFC", &[0.5, 0.8], None);
        let svg = plot("Router reaction", &[&a, &b]);
        let names = well_formed(&svg).unwrap();
        assert_eq!(names[0], "svg");
        assert_eq!(names.iter().filter(|n| *n == "circle").count(), 5);
        assert!(svg.contains("igmpproxy &lt;0.3&gt; &amp; co"));
        // The axis runs from 0 to a round value above the largest trial, with the unit.
        assert!(svg.contains(">0</text>"));
        assert!(svg.contains(">0.800</text>") || svg.contains(">1.00</text>"));
        assert!(svg.contains(">ms</text>"));
    }

    #[test]
    fn a_curve_is_well_formed_with_a_line_per_daemon() {
        let figs = [
            fig("mgm", "CPU", &[1.0, 1.2], Some(1000.0)),
            fig("mgm", "CPU", &[2.0], Some(10000.0)),
            fig("igmpproxy", "CPU", &[700.0], Some(1000.0)),
            fig("igmpproxy", "CPU", &[9000.0], Some(10000.0)),
        ];
        let refs: Vec<&Figure> = figs.iter().collect();
        let svg = plot("Refresh", &refs);
        let names = well_formed(&svg).unwrap();
        assert_eq!(names.iter().filter(|n| *n == "polyline").count(), 2);
        assert!(svg.contains(">reports/s</text>"));
        assert!(svg.contains(">10000</text>"));
    }

    #[test]
    fn the_checker_catches_broken_markup() {
        assert!(well_formed("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<svg><g></svg>").is_err());
        assert!(well_formed(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<svg><text>a < b</text></svg>"
        )
        .is_err());
        assert!(well_formed(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<svg><text>a & b</text></svg>"
        )
        .is_err());
        assert!(well_formed("<svg/>").is_err());
    }

    #[test]
    fn ticks_are_round_and_cover_the_values() {
        assert_eq!(ticks(0.0, 10.0), vec![0.0, 2.0, 4.0, 6.0, 8.0, 10.0]);
        let t = ticks(0.12, 0.83);
        assert_eq!(t[0], 0.0);
        assert!(*t.last().unwrap() >= 0.83 && t.len() <= 7, "{t:?}");
        let t = ticks(5.0, 5.0);
        assert!(t[0] == 0.0 && *t.last().unwrap() >= 5.0, "{t:?}");
        let t = ticks(-3.0, 7.0);
        assert!(t[0] <= -3.0 && *t.last().unwrap() >= 7.0, "{t:?}");
    }
}
