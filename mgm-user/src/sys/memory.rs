//! The daemon's own memory: its resident set (`/proc/self/statm`) for `mgm show stats`, and
//! handing freed heap back to the system after a storm (glibc's `malloc_trim`).
use anyhow::{anyhow, Context, Result};

/// Resident set size of this process, in bytes.
pub fn rss_bytes() -> Result<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").context("reading /proc/self/statm")?;
    let pages = resident_pages(&statm)
        .ok_or_else(|| anyhow!("unexpected /proc/self/statm contents {statm:?}"))?;
    let page = nix::unistd::sysconf(nix::unistd::SysconfVar::PAGE_SIZE)
        .context("sysconf(PAGE_SIZE)")?
        .unwrap_or(4096);
    Ok(pages.saturating_mul(u64::try_from(page).unwrap_or(4096)))
}

/// The second field of `/proc/PID/statm`: resident pages.
fn resident_pages(statm: &str) -> Option<u64> {
    statm.split_whitespace().nth(1)?.parse().ok()
}

/// Returns the heap's free memory to the system (after tables shrank).
pub fn trim() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim takes a byte count, touches only the allocator's own state and is
    // thread-safe.
    unsafe {
        libc::malloc_trim(0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resident_pages_is_the_second_field() {
        assert_eq!(resident_pages("2583 914 722 258 0 396 0\n"), Some(914));
        assert_eq!(resident_pages("2583"), None);
        assert_eq!(resident_pages("a b c"), None);
        assert!(rss_bytes().unwrap() > 0);
    }
}
