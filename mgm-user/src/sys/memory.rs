//! The daemon's own memory: its resident set (`/proc/self/statm`) for `mgm show stats`,
//! handing freed heap back to the system after a storm (glibc's `malloc_trim`), and what
//! start-up alone needed ([`release_startup`]).
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

/// How long the loop must have been without a report (or an upcall) before the heap is trimmed.
pub const TRIM_QUIET_NS: u64 = 500_000_000;
/// Longest a wanted trim waits for such a pause: a storm that never pauses is trimmed this often.
pub const TRIM_MAX_WAIT_NS: u64 = 10_000_000_000;

/// When to hand the heap back ([`trim`]) after tables shrank: once the loop has been quiet for
/// [`TRIM_QUIET_NS`], never on the path of a report. A trim unmaps the heap's free pages; the
/// next allocations fault them in again, so a trim between two reports of a storm would make
/// the second pay for it. Pure: the caller gives the time and its count of busy inputs (reports,
/// upcalls), a number that changes whenever the loop was busy.
#[derive(Debug, Default)]
pub struct TrimWhenQuiet {
    wanted: Option<Wanted>,
}

#[derive(Debug)]
struct Wanted {
    since_ns: u64,
    check_ns: u64,
    busy_mark: u64,
}

impl TrimWhenQuiet {
    /// Tables shrank at `now_ns`, `busy` inputs so far: a trim is wanted.
    pub fn want(&mut self, now_ns: u64, busy: u64) {
        self.wanted.get_or_insert(Wanted {
            since_ns: now_ns,
            check_ns: now_ns.saturating_add(TRIM_QUIET_NS),
            busy_mark: busy,
        });
    }

    /// When to call [`Self::on_time`] next.
    pub fn deadline(&self) -> Option<u64> {
        self.wanted.as_ref().map(|w| w.check_ns)
    }

    /// At `now_ns`, `busy` inputs so far: whether to trim now (nothing was busy since the last
    /// look, or the trim waited too long). Otherwise it looks again one quiet time later.
    pub fn on_time(&mut self, now_ns: u64, busy: u64) -> bool {
        let Some(w) = &mut self.wanted else {
            return false;
        };
        if now_ns < w.check_ns {
            return false;
        }
        if busy == w.busy_mark || now_ns >= w.since_ns.saturating_add(TRIM_MAX_WAIT_NS) {
            self.wanted = None;
            return true;
        }
        w.check_ns = now_ns.saturating_add(TRIM_QUIET_NS);
        w.busy_mark = busy;
        false
    }
}

/// Blocks of at least this size are mapped on their own and unmapped when freed.
const MMAP_THRESHOLD: libc::c_int = 128 * 1024;

/// Makes large blocks (the group tables, the chunks of a `mgm show groups` answer) go back to
/// the system as soon as they are freed, and grow in place (`mremap`) without leaving their
/// old copy behind as a hole in the heap. glibc does this by default only until the first such
/// block is freed: it then raises the threshold to that block's size (up to 32 MiB), and later
/// large blocks stay resident in the heap once freed. A fixed threshold keeps it from rising.
pub fn return_large_blocks() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt changes a tunable of the allocator; thread-safe, no memory passed.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, MMAP_THRESHOLD);
    }
}

/// Gives back, once the daemon is ready, what start-up used and the loop does not: the heap's
/// free memory (the loader's parse of the object and of the kernel's BTF, the settings), and
/// the pages of the program's files (the mgm binary, libc) mapped while starting: the pages of
/// their read-only mappings, which the loop maps again from the page cache at their first use.
/// Returns the bytes of mappings released. Never inlined: `link/trace-idle.py` stops the
/// daemon at its entry, the moment it is ready.
#[inline(never)]
pub fn release_startup() -> Result<usize> {
    trim();
    let smaps = std::fs::read_to_string("/proc/self/smaps").context("reading /proc/self/smaps")?;
    let mut released = 0;
    for (start, len) in clean_file_mappings(&smaps) {
        // SAFETY: [start, start + len) is a whole mapping of this process, private, read-only
        // and holding no page of its own (no anonymous page: nothing was copied on write, as
        // relocations are): MADV_DONTNEED only unmaps pages that the next access maps again,
        // unchanged, from the file.
        let r = unsafe { libc::madvise(start as *mut libc::c_void, len, libc::MADV_DONTNEED) };
        if r == 0 {
            released += len;
        }
    }
    Ok(released)
}

/// The (start, length) of the mappings of files in `smaps` (`/proc/PID/smaps`) that are
/// private, not writable, and hold no anonymous page (a page copied on write, such as the
/// relocated GOT). Their `Private_Dirty` pages may be page-cache pages not yet written back
/// (a binary just installed): the file's, not ours.
fn clean_file_mappings(smaps: &str) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut current: Option<(usize, usize)> = None;
    let mut clean = false;
    for line in smaps.lines() {
        let mut f = line.split_whitespace();
        let first = f.next().unwrap_or("");
        if let Some((a, b)) = first.split_once('-') {
            if let (Ok(a), Ok(b)) = (usize::from_str_radix(a, 16), usize::from_str_radix(b, 16)) {
                if let Some(m) = current.take().filter(|_| clean) {
                    out.push(m);
                }
                let perms = f.next().unwrap_or("");
                let name = f.nth(3).unwrap_or("");
                // A path: not [heap], [vdso], nor an anon_inode (a ring buffer).
                let ours = name.starts_with('/') && !perms.contains('w') && perms.ends_with('p');
                current = ours.then_some((a, b.saturating_sub(a)));
                clean = true;
                continue;
            }
        }
        if first == "Anonymous:" && f.next() != Some("0") {
            clean = false;
        }
    }
    if let Some(m) = current.filter(|_| clean) {
        out.push(m);
    }
    out
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

    #[test]
    fn only_read_only_file_mappings_without_copies_are_released() {
        let smaps = "\
55f717871000-55f717a6d000 r--p 00000000 fe:00 10010784                   /usr/sbin/mgm
Rss:                1280 kB
Private_Dirty:         0 kB
Anonymous:             0 kB
55f717a6d000-55f717f06000 r-xp 001fb000 fe:00 10010784                   /usr/sbin/mgm
Rss:                4068 kB
Private_Dirty:      4068 kB
Anonymous:             0 kB
55f717f06000-55f717f2e000 r--p 00693000 fe:00 10010784                   /usr/sbin/mgm
Private_Dirty:       160 kB
Anonymous:           160 kB
55f717f2e000-55f717f30000 rw-p 006ba000 fe:00 10010784                   /usr/sbin/mgm
Private_Dirty:         0 kB
7f2e491a7000-7f2e492fd000 r-xp 00026000 fe:00 326279                     /usr/lib/libc.so.6
Private_Dirty:         0 kB
7ffd1b5f0000-7ffd1b5f2000 r-xp 00000000 00:00 0                          [vdso]
Anonymous:             0 kB
7f2e49400000-7f2e49401000 r--s 00000000 00:0e 1234                       anon_inode:bpf-map
Private_Dirty:         0 kB
";
        assert_eq!(
            clean_file_mappings(smaps),
            [
                (0x55f717871000, 0x55f717a6d000 - 0x55f717871000),
                (0x55f717a6d000, 0x55f717f06000 - 0x55f717a6d000),
                (0x7f2e491a7000, 0x7f2e492fd000 - 0x7f2e491a7000),
            ],
            "not the relocated (copied) one, not the writable one, no ring buffer, no vdso"
        );
        assert_eq!(clean_file_mappings("garbage\n"), []);
    }

    const MS: u64 = 1_000_000;

    #[test]
    fn the_heap_is_trimmed_after_a_quiet_half_second_only() {
        let mut t = TrimWhenQuiet::default();
        assert_eq!(t.deadline(), None);
        assert!(!t.on_time(10_000 * MS, 0), "nothing wanted");
        t.want(1_000 * MS, 7);
        t.want(1_200 * MS, 9);
        assert_eq!(
            t.deadline(),
            Some(1_500 * MS),
            "the first want sets the time"
        );
        assert!(!t.on_time(1_499 * MS, 7), "not before");
        assert!(!t.on_time(1_500 * MS, 9), "reports came since: not now");
        assert_eq!(t.deadline(), Some(2_000 * MS), "one quiet time later");
        assert!(t.on_time(2_000 * MS, 9), "quiet since: trim");
        assert_eq!(t.deadline(), None, "done");
        assert!(!t.on_time(3_000 * MS, 9));
    }

    #[test]
    fn a_storm_without_pause_is_trimmed_every_ten_seconds() {
        let mut t = TrimWhenQuiet::default();
        t.want(0, 0);
        let mut busy = 0;
        let mut trimmed_at = None;
        while let Some(at) = t.deadline() {
            busy += 500;
            if t.on_time(at, busy) {
                trimmed_at = Some(at);
            }
        }
        assert_eq!(trimmed_at, Some(TRIM_MAX_WAIT_NS));
    }

    #[test]
    fn releasing_the_start_up_pages_leaves_the_binary_running() {
        let before = rss_bytes().unwrap();
        release_startup().unwrap();
        assert!(rss_bytes().unwrap() <= before);
        // Code and constants of the binary still work once mapped again.
        assert_eq!(resident_pages("1 2"), Some(2));
    }
}
