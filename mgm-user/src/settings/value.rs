//! Reading setting values: durations (through jiff's friendly format), numbers, switches and
//! prefix lists.

use std::str::FromStr;
use std::time::Duration;

use jiff::SignedDuration;

use crate::igmp::{Prefix, PrefixError, PrefixRange};

/// A duration that could not be read; the message names the input.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid duration {input:?}: {reason} (examples: 125s, 100ms, 1m30s, 1.5s)")]
pub struct DurationError {
    pub input: String,
    pub reason: String,
}

/// A value that is not of its setting's kind.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ValueError {
    #[error(transparent)]
    Duration(#[from] DurationError),
    #[error("'{0}' is not a valid number")]
    Number(String),
    #[error("'{given}' is not one of {}", choices.join(", "))]
    Choice {
        given: String,
        choices: &'static [&'static str],
    },
    #[error(transparent)]
    Prefix(#[from] PrefixError),
}

/// What separates the prefixes of a list: `-i IF,deny-groups=239.255.0.0/16+239.1.2.3/32`
/// (commas separate the keys there; `+` needs no quoting in a shell).
pub const PREFIX_SEPARATOR: char = '+';

/// The word for an empty prefix list (an empty value is one too).
pub const NO_PREFIXES: &str = "none";

/// Parses a list of prefixes separated by [`PREFIX_SEPARATOR`] (`a.b.c.d/len`, `a.b.c.d` for a
/// /32), each of which must fit `range`; `none` or nothing is the empty list.
pub fn parse_prefixes(input: &str, range: PrefixRange) -> Result<Vec<Prefix>, ValueError> {
    let s = input.trim();
    if s.is_empty() || s == NO_PREFIXES {
        return Ok(Vec::new());
    }
    let mut out: Vec<Prefix> = Vec::new();
    for part in s.split(PREFIX_SEPARATOR) {
        let p = range.check(part.parse()?)?;
        if !out.contains(&p) {
            out.push(p);
        }
    }
    Ok(out)
}

/// A prefix list as [`parse_prefixes`] reads it.
pub fn format_prefixes(list: &[Prefix]) -> String {
    if list.is_empty() {
        return NO_PREFIXES.to_string();
    }
    let parts: Vec<String> = list.iter().map(|p| p.to_string()).collect();
    parts.join(&PREFIX_SEPARATOR.to_string())
}

/// The words of a switch.
pub const SWITCH_NAMES: [&str; 2] = ["on", "off"];

/// Parses `on` or `off`.
pub fn parse_switch(input: &str) -> Result<bool, ValueError> {
    match input.trim() {
        "on" => Ok(true),
        "off" => Ok(false),
        _ => Err(ValueError::Choice {
            given: input.to_string(),
            choices: &SWITCH_NAMES,
        }),
    }
}

/// Parses a duration with units: `125s`, `100ms`, `2m`, `1m30s`, `1.5s`, `1h`, `250us`.
/// A bare number is refused (no unit assumed), and so is a negative duration.
pub fn parse_duration(input: &str) -> Result<Duration, DurationError> {
    let err = |reason: String| DurationError {
        input: input.to_string(),
        reason,
    };
    let s = input.trim();
    if s.is_empty() {
        return Err(err("empty".into()));
    }
    if !s.contains(|c: char| c.is_alphabetic()) {
        return Err(err("missing unit (ns, us, ms, s, m or h)".into()));
    }
    let signed = SignedDuration::from_str(s).map_err(|e| err(e.to_string()))?;
    Duration::try_from(signed).map_err(|_| err("negative".into()))
}

/// Parses a decimal number that fits `T`.
pub fn parse_number<T: FromStr>(input: &str) -> Result<T, ValueError> {
    input
        .trim()
        .parse()
        .map_err(|_| ValueError::Number(input.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_units_decimals_and_compounds() {
        let ok = |s| parse_duration(s).unwrap();
        assert_eq!(ok("125s"), Duration::from_secs(125));
        assert_eq!(ok("100ms"), Duration::from_millis(100));
        assert_eq!(ok("2m"), Duration::from_secs(120));
        assert_eq!(ok("1m30s"), Duration::from_secs(90));
        assert_eq!(ok("1m 30s"), Duration::from_secs(90));
        assert_eq!(ok("1.5s"), Duration::from_millis(1500));
        assert_eq!(ok("1h"), Duration::from_secs(3600));
        assert_eq!(ok("250us"), Duration::from_micros(250));
        assert_eq!(ok("7ns"), Duration::from_nanos(7));
        assert_eq!(ok(" 10s "), Duration::from_secs(10));
        assert_eq!(ok("0s"), Duration::ZERO);
    }

    #[test]
    fn errors_name_the_input() {
        let e = parse_duration("125").unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid duration \"125\": missing unit (ns, us, ms, s, m or h) \
             (examples: 125s, 100ms, 1m30s, 1.5s)"
        );
        assert_eq!(parse_duration("").unwrap_err().reason, "empty");
        assert_eq!(parse_duration("-5s").unwrap_err().reason, "negative");
        for bad in ["5x", "fast", "s", "1.2.3s"] {
            let e = parse_duration(bad).unwrap_err();
            assert_eq!(e.input, bad);
            assert!(
                e.to_string()
                    .starts_with(&format!("invalid duration {bad:?}: ")),
                "{e}"
            );
        }
    }

    #[test]
    fn prefix_lists() {
        use PrefixRange::{Groups, Sources};
        // (input, range, what it reads as or the error)
        let rows: &[(&str, PrefixRange, Result<&str, &str>)] = &[
            (
                "239.255.0.0/16+239.1.2.3/32",
                Groups,
                Ok("239.255.0.0/16+239.1.2.3/32"),
            ),
            ("239.1.2.3", Groups, Ok("239.1.2.3/32")),
            (
                " 232.0.0.0/8 + 239.0.0.0/8 ",
                Groups,
                Ok("232.0.0.0/8+239.0.0.0/8"),
            ),
            ("239.0.0.0/8+239.0.0.0/8", Groups, Ok("239.0.0.0/8")),
            ("0.0.0.0/0", Groups, Ok("0.0.0.0/0")),
            ("none", Groups, Ok("none")),
            ("", Sources, Ok("none")),
            (
                "10.0.0.0/8+192.0.2.7",
                Sources,
                Ok("10.0.0.0/8+192.0.2.7/32"),
            ),
            (
                "239.1.2.3/16",
                Groups,
                Err("'239.1.2.3/16' has host bits set (the prefix is 239.1.0.0/16)"),
            ),
            (
                "239.0.0.0/8;239.1.0.0/16",
                Groups,
                Err(
                    "'239.0.0.0/8;239.1.0.0/16' is not an IPv4 prefix (a.b.c.d/len, or \
                     a.b.c.d for /32; '+' between prefixes)",
                ),
            ),
            (
                "239.0.0.0/8+",
                Groups,
                Err(
                    "'' is not an IPv4 prefix (a.b.c.d/len, or a.b.c.d for /32; '+' between \
                     prefixes)",
                ),
            ),
            (
                "239.0.0.0/8+10.0.0.0/8",
                Groups,
                Err("'10.0.0.0/8' holds no multicast group (groups are in 224.0.0.0/4)"),
            ),
            (
                "239.0.0.0/8",
                Sources,
                Err("'239.0.0.0/8' holds only multicast addresses, which are never sources"),
            ),
        ];
        for (input, range, want) in rows {
            let got = parse_prefixes(input, *range)
                .map(|l| format_prefixes(&l))
                .map_err(|e| e.to_string());
            assert_eq!(
                got.as_deref().map_err(|e| e.as_str()),
                *want,
                "{input:?} as {range:?}"
            );
        }
    }

    #[test]
    fn switches() {
        assert_eq!(parse_switch("on"), Ok(true));
        assert_eq!(parse_switch(" off "), Ok(false));
        assert_eq!(
            parse_switch("yes").unwrap_err().to_string(),
            "'yes' is not one of on, off"
        );
    }

    #[test]
    fn numbers() {
        assert_eq!(parse_number::<u8>(" 3 "), Ok(3));
        assert_eq!(
            parse_number::<u8>("300").unwrap_err().to_string(),
            "'300' is not a valid number"
        );
        assert_eq!(
            parse_number::<u32>("-1"),
            Err(ValueError::Number("-1".into()))
        );
    }
}
