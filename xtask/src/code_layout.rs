//! Whether the release binary's idle code layout still holds. `mgm-user/link/idle-order.txt`
//! names, by mangled symbol, the functions an idle daemon runs; lld lays them out together
//! (docs/memory.md, "Code pages"). A mangled name carries a hash that changes with the compiler,
//! a dependency or the function itself, and lld skips names it does not find: the layout then
//! degrades without a word. After each release build this counts the names the binary still
//! has and says when the file must be traced again.
use crate::util::{output, workspace_root};
use std::collections::HashSet;
use std::path::Path;
use std::process::Command;

/// Below this share of the listed functions found, the layout is called stale.
const STALE_BELOW: f64 = 0.9;

/// The order file's symbols: one a line, `#` comments and blank lines skipped.
fn listed(order: &str) -> Vec<&str> {
    order
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect()
}

/// The names `nm --defined-only` prints (the last field of each line).
fn defined(nm: &str) -> HashSet<&str> {
    nm.lines()
        .filter_map(|l| l.split_whitespace().last())
        .collect()
}

/// How many of the listed names are defined, out of how many.
fn coverage(order: &str, nm: &str) -> (usize, usize) {
    let have = defined(nm);
    let names = listed(order);
    (
        names.iter().filter(|n| have.contains(*n)).count(),
        names.len(),
    )
}

/// What to tell the developer about `found` of `total`.
fn verdict(found: usize, total: usize) -> String {
    let share = if total == 0 {
        1.0
    } else {
        found as f64 / total as f64
    };
    let mut line = format!("code layout: {found} of {total} idle functions placed together");
    if share < STALE_BELOW {
        line.push_str(
            "; warning: mgm-user/link/idle-order.txt is stale (the compiler, a dependency or the \
             code changed) and idle memory grows: trace it again with \
             `sudo mgm-user/link/trace-idle.sh target/release/mgm`, then rebuild",
        );
    }
    line
}

/// Prints how much of the idle layout `bin` (a release build) has. Silent when `nm` is missing
/// or the order file is absent: the binary works the same.
pub(crate) fn report(bin: &Path) {
    let order_path = workspace_root().join("mgm-user/link/idle-order.txt");
    let Ok(order) = std::fs::read_to_string(&order_path) else {
        return;
    };
    let Ok(nm) = output(Command::new("nm").arg("--defined-only").arg(bin)) else {
        return;
    };
    let (found, total) = coverage(&order, &nm);
    eprintln!("{}", verdict(found, total));
}

#[cfg(test)]
mod tests {
    use super::*;

    const ORDER: &str =
        "# comment\n_ZN3foo3bar17h0123456789abcdefE\n\n_ZN3baz17h1111111111111111E\n";

    #[test]
    fn counts_the_listed_names_the_binary_defines() {
        let nm = "0000000000001000 T _ZN3foo3bar17h0123456789abcdefE\n\
                  0000000000002000 t _ZN3baz17h2222222222222222E\n";
        assert_eq!(coverage(ORDER, nm), (1, 2));
    }

    #[test]
    fn a_layout_mostly_gone_is_called_stale_and_says_how_to_mend_it() {
        assert!(verdict(1, 2).contains("stale"));
        assert!(verdict(1, 2).contains("trace-idle.sh"));
        assert!(!verdict(215, 217).contains("stale"));
        assert!(!verdict(0, 0).contains("stale"));
    }
}
