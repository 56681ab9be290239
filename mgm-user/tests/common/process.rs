//! Stopping a daemon a test or a bench started: SIGTERM once, then waiting until it is gone,
//! SIGKILL only when it is not gone after a grace period (shared by `Lab`, the FRR daemons and
//! the bench harness's peers).
#![allow(dead_code)]

use std::process::{Child, ExitStatus};
use std::time::{Duration, Instant};

/// How a child we stopped ended.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Stopped {
    pub(crate) status: ExitStatus,
    /// It was still there after the grace period and was sent SIGKILL.
    pub(crate) killed: bool,
}

/// Stops a child of ours: SIGTERM once, up to `grace` for it to exit, then SIGKILL; reaped
/// either way. A child already reaped is not signalled again (its pid may be another process's
/// by now).
pub(crate) fn stop_child(child: &mut Child, grace: Duration) -> Stopped {
    if let Ok(Some(status)) = child.try_wait() {
        return Stopped {
            status,
            killed: false,
        };
    }
    let killed = terminate(child.id(), grace, || {
        matches!(child.try_wait(), Ok(Some(_)))
    });
    let status = child.wait().expect("wait for a child we started");
    Stopped { status, killed }
}

/// Stops process `pid`, not a child of ours (a daemon that forked, with a pid file): SIGTERM
/// once, up to `grace` for it to be gone (a zombie is), then SIGKILL. Returns whether it needed
/// SIGKILL.
pub(crate) fn stop_pid(pid: u32, grace: Duration) -> bool {
    terminate(pid, grace, || !running(pid))
}

/// Whether process `pid` still runs (a zombie has exited: what it held is released).
pub(crate) fn running(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        // The state follows the command name's closing parenthesis.
        Ok(stat) => stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| !rest.trim_start().starts_with('Z')),
        Err(_) => false,
    }
}

/// SIGTERM to `pid`, then polls `gone` every 20 ms; SIGKILL when `grace` passes first, then
/// polls up to 5 s more. Returns whether SIGKILL was sent.
fn terminate(pid: u32, grace: Duration, mut gone: impl FnMut() -> bool) -> bool {
    signal(pid, libc::SIGTERM);
    if wait_until(grace, &mut gone) {
        return false;
    }
    signal(pid, libc::SIGKILL);
    wait_until(Duration::from_secs(5), &mut gone);
    true
}

fn wait_until(timeout: Duration, gone: &mut impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if gone() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn signal(pid: u32, sig: libc::c_int) {
    // 0 or a negative pid would signal a whole process group.
    let Ok(pid @ 1..) = libc::pid_t::try_from(pid) else {
        return;
    };
    // SAFETY: kill(2) takes plain integers; a pid that is gone gives ESRCH, ignored.
    unsafe {
        libc::kill(pid, sig);
    }
}
