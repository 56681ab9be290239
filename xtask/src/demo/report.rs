//! What the demo prints, from what it collected: events, the kernel's VIF counters, the
//! datagrams each receiver got. Pure functions, tested below.
use serde_json::Value;

/// `/proc/net/ip_mr_vif` → (interface, packets sent out). Its rows are
/// `Index Interface BytesIn PktsIn BytesOut PktsOut Flags Local Remote`.
pub(crate) fn vif_packets_out(text: &str) -> Vec<(String, u64)> {
    text.lines()
        .skip(1)
        .filter_map(|l| {
            let w: Vec<&str> = l.split_whitespace().collect();
            let out = w.get(5)?.parse().ok()?;
            Some((w.get(1)?.to_string(), out))
        })
        .collect()
}

/// Packets `name` sent out between two readings of the VIF counters.
pub(crate) fn sent_between(before: &[(String, u64)], after: &[(String, u64)], name: &str) -> u64 {
    let get = |v: &[(String, u64)]| v.iter().find(|(n, _)| n == name).map_or(0, |(_, p)| *p);
    get(after).saturating_sub(get(before))
}

/// One `mgm events --json` line as a line for people: the kind, the protocol it concerns, the
/// interface, (source, group), then the event's own arguments. `None` for a line that is not
/// an event.
pub(crate) fn event_line(json: &str) -> Option<String> {
    let v: Value = serde_json::from_str(json).ok()?;
    let m = v.as_object()?;
    let text = |k: &str| m.get(k).and_then(Value::as_str).unwrap_or("*").to_string();
    let kind = m.get("kind")?.as_str()?;
    let mut out = format!(
        "{kind:<15} {:<9} {:<10} ({},{})",
        text("protocol"),
        m.get("interface").and_then(Value::as_str).unwrap_or("-"),
        text("source"),
        text("group"),
    );
    for (k, v) in m {
        if matches!(
            k.as_str(),
            "kind" | "protocol" | "interface" | "source" | "group" | "time_ns"
        ) {
            continue;
        }
        let v = match v {
            Value::Null => continue,
            Value::String(s) if k == "upstream" && s == "0.0.0.0" => continue,
            Value::String(s) => s.clone(),
            Value::Array(a) if a.is_empty() => "-".to_string(),
            Value::Array(a) => a
                .iter()
                .map(|x| x.as_str().map_or_else(|| x.to_string(), str::to_string))
                .collect::<Vec<_>>()
                .join(","),
            other => other.to_string(),
        };
        out.push_str(&format!(" {k}={v}"));
    }
    Some(out)
}

/// The sequence numbers in a receiver's `rx TIME SRC SEQ` lines.
pub(crate) fn received(lines: &[String]) -> Vec<u64> {
    lines
        .iter()
        .filter_map(|l| {
            l.strip_prefix("rx ")?
                .split_whitespace()
                .nth(2)?
                .parse()
                .ok()
        })
        .collect()
}

/// `12 datagrams (#340-#351)`, or `nothing`.
pub(crate) fn datagrams(seqs: &[u64]) -> String {
    match (seqs.iter().min(), seqs.iter().max()) {
        (Some(lo), Some(hi)) => format!("{} datagrams (#{lo}-#{hi})", seqs.len()),
        _ => "nothing".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vif_counters_are_read_by_interface() {
        let text = "Interface      BytesIn  PktsIn  BytesOut PktsOut Flags Local    Remote\n \
                    0 demo-src        2000      40         0       0 00000 0102000C 00000000\n \
                    1 demo-lan1          0       0      1500      30 00000 01643398 00000000\n \
                    2 a-15-char-name0    0       0       100       2 00000 01643398 00000000\n";
        let v = vif_packets_out(text);
        assert_eq!(
            v,
            [
                ("demo-src".to_string(), 0),
                ("demo-lan1".to_string(), 30),
                ("a-15-char-name0".to_string(), 2)
            ]
        );
        let later = [("demo-lan1".to_string(), 50)];
        assert_eq!(sent_between(&v, &later, "demo-lan1"), 20);
        assert_eq!(
            sent_between(&v, &later, "demo-src"),
            0,
            "gone: nothing sent"
        );
        assert_eq!(sent_between(&v, &later, "nowhere"), 0);
        assert!(vif_packets_out("").is_empty());
    }

    #[test]
    fn events_read_as_lines() {
        let j = r#"{"kind":"local_join","protocol":"local","interface":"demo-lan1","source":null,"group":"239.1.1.1","time_ns":5}"#;
        let l = event_line(j).unwrap();
        assert!(
            l.starts_with("local_join      local     demo-lan1  (*,239.1.1.1)"),
            "{l}"
        );
        assert!(!l.contains("time_ns"), "{l}");
        let j = r#"{"kind":"mfe_update","iif":"demo-src","oifs":["demo-lan1","demo-lan2"],"upstream":"0.0.0.0","negative":false,"protocol":"local","interface":"demo-src","source":"192.0.2.10","group":"239.1.1.1","time_ns":7}"#;
        let l = event_line(j).unwrap();
        assert!(l.contains("(192.0.2.10,239.1.1.1)"), "{l}");
        assert!(l.contains(" oifs=demo-lan1,demo-lan2"), "{l}");
        assert!(!l.contains("upstream"), "{l}");
        let j = r#"{"kind":"mfe_add","iif":"demo-src","oifs":[],"negative":true,"protocol":"local","interface":null,"source":"192.0.2.10","group":"239.1.1.1","time_ns":7}"#;
        let l = event_line(j).unwrap();
        assert!(l.contains(" -          (192.0.2.10"), "{l}");
        assert!(l.contains(" oifs=-") && l.contains(" negative=true"), "{l}");
        assert_eq!(event_line("not json"), None);
        assert_eq!(event_line(r#"{"no":"kind"}"#), None);
    }

    #[test]
    fn receivers_count_their_datagrams() {
        let lines: Vec<String> = [
            "ok recv",
            "rx 8000001 192.0.2.10 12",
            "rx 8000002 192.0.2.10 13",
            "rx 8000003 192.0.2.10 -",
            "rx 8000004 192.0.2.10 15",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let got = received(&lines);
        assert_eq!(got, [12, 13, 15]);
        assert_eq!(datagrams(&got), "3 datagrams (#12-#15)");
        assert_eq!(datagrams(&[]), "nothing");
    }
}
