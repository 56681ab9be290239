//! Reading setting values: durations (through jiff's friendly format) and numbers.

use std::str::FromStr;
use std::time::Duration;

use jiff::SignedDuration;

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
