//! Ctrl-C (and SIGTERM, SIGHUP) while the demo runs: a flag the demo's waits look at, so it
//! stops where it is and its lab is torn down on the way out. And the lock that keeps a second
//! demo from taking over the first one's namespaces.
use anyhow::{bail, Context, Result};
use std::fs::File;
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

static INTERRUPTED: AtomicBool = AtomicBool::new(false);

extern "C" fn on_signal(_: libc::c_int) {
    INTERRUPTED.store(true, Ordering::SeqCst);
}

/// From now on SIGINT, SIGTERM and SIGHUP set the flag instead of ending the process.
pub(crate) fn catch() {
    for sig in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
        // SAFETY: the handler only stores to an atomic, which is async-signal-safe.
        unsafe { libc::signal(sig, on_signal as *const () as libc::sighandler_t) };
    }
}

pub(crate) fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::SeqCst)
}

/// Sleeps `d`, or less: fails as soon as a signal came.
pub(crate) fn pause(d: Duration) -> Result<()> {
    let step = Duration::from_millis(20);
    let mut left = d;
    loop {
        if interrupted() {
            bail!("interrupted");
        }
        if left.is_zero() {
            return Ok(());
        }
        let s = left.min(step);
        std::thread::sleep(s);
        left -= s;
    }
}

/// Where the running demo holds its lock.
const LOCK: &str = "/run/mgm-demo.lock";

/// The demo's lock, held until the returned file is dropped: a second demo would remove the
/// first one's namespaces (they have fixed names) and talk to its daemon.
pub(crate) fn lock() -> Result<File> {
    let file = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(LOCK)
        .with_context(|| format!("opening {LOCK}"))?;
    // SAFETY: flock(2) on a descriptor this function owns.
    let r = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
    if r != 0 {
        bail!("another demo is running (it holds {LOCK}); stop it first (Ctrl-C in its terminal)");
    }
    Ok(file)
}
