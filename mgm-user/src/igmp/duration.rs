//! Durations in messages: `125s`, `100ms`, `1.5s` (they are read in `crate::settings`).

use std::time::Duration;

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
    fn formats() {
        assert_eq!(format_duration(Duration::from_secs(125)), "125s");
        assert_eq!(format_duration(Duration::from_millis(100)), "100ms");
        assert_eq!(format_duration(Duration::from_millis(1500)), "1.5s");
        assert_eq!(format_duration(Duration::ZERO), "0s");
    }
}
