//! The machine a run happened on and how loaded it was, from /proc.
use std::process::Command;

/// The CPU's model name (/proc/cpuinfo), "unknown CPU" when it does not say.
pub(crate) fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| cpu_model_of(&s))
        .unwrap_or_else(|| "unknown CPU".into())
}

fn cpu_model_of(cpuinfo: &str) -> Option<String> {
    cpuinfo
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split_once(':'))
        .map(|(_, v)| v.trim().to_string())
}

pub(crate) fn vcpus() -> usize {
    std::thread::available_parallelism().map_or(0, |n| n.get())
}

/// The running kernel's release (/proc/sys/kernel/osrelease).
pub(crate) fn kernel() -> String {
    std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|_| "unknown".into())
}

/// The 1, 5 and 15 minute load averages as /proc/loadavg gives them.
pub(crate) fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| loadavg_of(&s))
        .unwrap_or_else(|_| "unknown".into())
}

fn loadavg_of(text: &str) -> String {
    text.split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}

/// Today's date and time, UTC.
pub(crate) fn now() -> String {
    Command::new("date")
        .args(["-u", "+%Y-%m-%d %H:%M UTC"])
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_model_name_and_load_come_from_their_proc_lines() {
        let info = "processor\t: 0\nvendor_id\t: AuthenticAMD\nmodel name\t: AMD EPYC 7B13\n";
        assert_eq!(cpu_model_of(info).as_deref(), Some("AMD EPYC 7B13"));
        assert_eq!(cpu_model_of("processor : 0\n"), None);
        assert_eq!(
            loadavg_of("12.69 12.00 8.71 5/900 1234\n"),
            "12.69 12.00 8.71"
        );
    }
}
