//! Ctrl-C (and SIGTERM, SIGHUP) while the demo runs: a flag the demo's waits look at, so it
//! stops where it is and its lab is torn down on the way out.
use anyhow::{bail, Result};
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
