//! Durations for the CLI: `125s`, `100ms`, `2m`, `1.5s`, `1h`, `500us`.

use std::fmt;
use std::time::Duration;

/// A duration string that could not be read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DurationError {
    pub input: String,
    pub reason: &'static str,
}

impl fmt::Display for DurationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid duration {:?}: {} (examples: 125s, 100ms, 2m, 1.5s)",
            self.input, self.reason
        )
    }
}

impl std::error::Error for DurationError {}

/// Parses a number (integer or decimal) followed by a unit: `ns`, `us`, `ms`, `s`, `m`, `h`.
pub fn parse_duration(input: &str) -> Result<Duration, DurationError> {
    let err = |reason| DurationError {
        input: input.to_string(),
        reason,
    };
    let s = input.trim();
    if s.is_empty() {
        return Err(err("empty"));
    }
    if s.starts_with('-') {
        return Err(err("negative"));
    }
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .ok_or_else(|| err("missing unit (ns, us, ms, s, m or h)"))?;
    let (num, unit) = s.split_at(split);
    let unit_ns: u128 = match unit.trim() {
        "ns" => 1,
        "us" | "µs" => 1_000,
        "ms" => 1_000_000,
        "s" => 1_000_000_000,
        "m" | "min" => 60_000_000_000,
        "h" => 3_600_000_000_000,
        _ => return Err(err("unknown unit (use ns, us, ms, s, m or h)")),
    };
    if num.is_empty() {
        return Err(err("missing number"));
    }
    let (int, frac) = match num.split_once('.') {
        Some((i, f)) => (i, f),
        None => (num, ""),
    };
    if frac.contains('.') || (int.is_empty() && frac.is_empty()) {
        return Err(err("not a number"));
    }
    if frac.len() > 9 {
        return Err(err("too many decimal places"));
    }
    let int_v: u128 = if int.is_empty() {
        0
    } else {
        int.parse().map_err(|_| err("number too large"))?
    };
    let frac_v: u128 = if frac.is_empty() {
        0
    } else {
        frac.parse().map_err(|_| err("not a number"))?
    };
    let frac_scale = 10u128.pow(frac.len() as u32);
    let ns = int_v
        .checked_mul(unit_ns)
        .and_then(|v| v.checked_add(frac_v * unit_ns / frac_scale))
        .filter(|v| *v <= u128::from(u64::MAX))
        .ok_or_else(|| err("too large"))?;
    Ok(Duration::from_nanos(ns as u64))
}

/// Formats a duration compactly for messages: `125s`, `100ms`, `1.5s`.
pub fn format_duration(d: Duration) -> String {
    let ns = d.as_nanos();
    if ns == 0 {
        "0s".to_string()
    } else if ns.is_multiple_of(1_000_000_000) {
        format!("{}s", ns / 1_000_000_000)
    } else if ns >= 1_000_000_000 && ns.is_multiple_of(1_000_000) {
        let s = format!("{:.3}", ns as f64 / 1e9);
        format!("{}s", s.trim_end_matches('0').trim_end_matches('.'))
    } else if ns.is_multiple_of(1_000_000) {
        format!("{}ms", ns / 1_000_000)
    } else if ns.is_multiple_of(1_000) {
        format!("{}us", ns / 1_000)
    } else {
        format!("{ns}ns")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_units_and_decimals() {
        assert_eq!(parse_duration("125s"), Ok(Duration::from_secs(125)));
        assert_eq!(parse_duration("100ms"), Ok(Duration::from_millis(100)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration("1h"), Ok(Duration::from_secs(3600)));
        assert_eq!(parse_duration("250us"), Ok(Duration::from_micros(250)));
        assert_eq!(parse_duration("7ns"), Ok(Duration::from_nanos(7)));
        assert_eq!(parse_duration(".5s"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration(" 10s "), Ok(Duration::from_secs(10)));
        assert_eq!(parse_duration("0s"), Ok(Duration::ZERO));
    }

    #[test]
    fn errors_name_the_input() {
        let e = parse_duration("125").unwrap_err();
        assert_eq!(e.input, "125");
        assert_eq!(e.reason, "missing unit (ns, us, ms, s, m or h)");
        assert_eq!(
            e.to_string(),
            "invalid duration \"125\": missing unit (ns, us, ms, s, m or h) (examples: 125s, 100ms, 2m, 1.5s)"
        );
        assert_eq!(
            parse_duration("5x").unwrap_err().reason,
            "unknown unit (use ns, us, ms, s, m or h)"
        );
        assert_eq!(parse_duration("s").unwrap_err().reason, "missing number");
        assert_eq!(parse_duration("1.2.3s").unwrap_err().reason, "not a number");
        assert_eq!(parse_duration("").unwrap_err().reason, "empty");
        assert_eq!(parse_duration("-5s").unwrap_err().reason, "negative");
        assert_eq!(
            parse_duration("99999999999999999999h").unwrap_err().reason,
            "too large"
        );
    }

    #[test]
    fn formats() {
        assert_eq!(format_duration(Duration::from_secs(125)), "125s");
        assert_eq!(format_duration(Duration::from_millis(100)), "100ms");
        assert_eq!(format_duration(Duration::from_millis(1500)), "1.5s");
        assert_eq!(format_duration(Duration::ZERO), "0s");
    }
}
