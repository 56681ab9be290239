//! The loop thread's CPU scheduling: a short time slice (EEVDF's custom slice, `sched_setattr`
//! with `sched_runtime` under SCHED_OTHER, Linux 6.12 and later), so that the daemon, woken by a
//! report, an upcall or a request, preempts a CPU-bound task at once instead of waiting for that
//! task's slice to end (up to a scheduler tick: 4 ms at HZ=250). It asks for no more CPU than
//! before: the slice only decides how soon a woken task runs and how long it may run before
//! others get their turn; its share stays what its nice level gives it. Older kernels take the
//! call and ignore the slice. A thread an administrator moved to another policy (systemd's
//! `CPUSchedulingPolicy=`) is left as it is.
use anyhow::{Context, Result};
use std::time::Duration;

/// The slice the loop asks for: the shortest the kernel grants (0.1 ms).
pub const LOOP_SLICE: Duration = Duration::from_micros(100);

/// `struct sched_attr` (include/uapi/linux/sched/types.h), SCHED_ATTR_SIZE_VER1.
#[repr(C)]
#[derive(Debug, Default)]
struct SchedAttr {
    size: u32,
    sched_policy: u32,
    sched_flags: u64,
    sched_nice: i32,
    sched_priority: u32,
    sched_runtime: u64,
    sched_deadline: u64,
    sched_period: u64,
    sched_util_min: u32,
    sched_util_max: u32,
}

/// What the calling thread's scheduling became.
#[derive(Debug, PartialEq, Eq)]
pub enum SliceOutcome {
    /// SCHED_OTHER with the slice asked for.
    Set,
    /// Another policy (SCHED_FIFO, SCHED_RR, SCHED_BATCH, SCHED_IDLE …): left alone.
    OtherPolicy(i32),
}

/// Asks for `slice` as the time slice of thread `tid` (0: the calling thread), keeping its nice
/// level; `Duration::ZERO` gives it back the kernel's base slice. See the module doc.
pub fn set_slice(tid: libc::pid_t, slice: Duration) -> Result<SliceOutcome> {
    // SAFETY: sched_getscheduler reads the policy of thread `tid`.
    let policy = unsafe { libc::sched_getscheduler(tid) };
    if policy < 0 {
        return Err(std::io::Error::last_os_error())
            .with_context(|| format!("sched_getscheduler of thread {tid}"));
    }
    if policy != libc::SCHED_OTHER {
        return Ok(SliceOutcome::OtherPolicy(policy));
    }
    nix::errno::Errno::clear();
    // SAFETY: getpriority reads the nice level of thread `tid`; -1 is a valid level, told apart
    // from an error by errno (cleared above).
    let nice = unsafe { libc::getpriority(libc::PRIO_PROCESS, tid as libc::id_t) };
    if nice == -1 && nix::errno::Errno::last_raw() != 0 {
        return Err(std::io::Error::last_os_error())
            .with_context(|| format!("getpriority of thread {tid}"));
    }
    let attr = SchedAttr {
        size: std::mem::size_of::<SchedAttr>() as u32,
        sched_policy: libc::SCHED_OTHER as u32,
        sched_nice: nice,
        sched_runtime: u64::try_from(slice.as_nanos()).unwrap_or(u64::MAX),
        ..SchedAttr::default()
    };
    // SAFETY: sched_setattr(2) on thread `tid` with a live, fully initialised sched_attr whose
    // `size` field is its size; flags 0.
    let r = unsafe { libc::syscall(libc::SYS_sched_setattr, tid, &attr as *const SchedAttr, 0) };
    if r != 0 {
        return Err(std::io::Error::last_os_error())
            .with_context(|| format!("sched_setattr (time slice) of thread {tid}"));
    }
    Ok(SliceOutcome::Set)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `sched_runtime` as sched_getattr(2) reports it for the calling thread: its slice under
    /// SCHED_OTHER on kernels with custom slices (the base slice when none was asked for), 0 on
    /// older ones.
    fn reported_slice_ns() -> (SchedAttr, u64) {
        let mut attr = SchedAttr::default();
        // SAFETY: sched_getattr(2) on the calling thread into a live sched_attr of the size
        // passed.
        let r = unsafe {
            libc::syscall(
                libc::SYS_sched_getattr,
                0,
                &mut attr as *mut SchedAttr,
                std::mem::size_of::<SchedAttr>() as u32,
                0,
            )
        };
        assert_eq!(r, 0, "{}", std::io::Error::last_os_error());
        let ns = attr.sched_runtime;
        (attr, ns)
    }

    #[test]
    fn sched_attr_has_the_kernel_layout() {
        // SCHED_ATTR_SIZE_VER1: the kernel reads `size` bytes and refuses unknown sizes below.
        assert_eq!(std::mem::size_of::<SchedAttr>(), 56);
    }

    #[test]
    fn a_thread_gets_the_slice_keeps_its_nice_level_and_can_give_it_back() {
        std::thread::spawn(|| {
            // SAFETY: setpriority on the calling thread (0) with a valid nice level.
            assert_eq!(unsafe { libc::setpriority(libc::PRIO_PROCESS, 0, 5) }, 0);
            let (_, base) = reported_slice_ns();
            assert_eq!(set_slice(0, LOOP_SLICE).unwrap(), SliceOutcome::Set);
            // SAFETY: reads the calling thread's nice level.
            assert_eq!(unsafe { libc::getpriority(libc::PRIO_PROCESS, 0) }, 5);
            let (attr, slice) = reported_slice_ns();
            assert_eq!(attr.sched_policy, libc::SCHED_OTHER as u32);
            assert_eq!(attr.sched_nice, 5);
            // Kernels with custom slices (6.12 and later) report it; older ones report none.
            if base != 0 {
                assert_eq!(slice, LOOP_SLICE.as_nanos() as u64);
                assert_eq!(set_slice(0, Duration::ZERO).unwrap(), SliceOutcome::Set);
                assert_eq!(reported_slice_ns().1, base);
            } else {
                assert_eq!(slice, 0);
            }
        })
        .join()
        .unwrap();
    }

    #[test]
    fn another_policy_is_left_alone() {
        std::thread::spawn(|| {
            let p = libc::sched_param { sched_priority: 0 };
            // SAFETY: sched_setscheduler on the calling thread with a live sched_param.
            let r = unsafe { libc::sched_setscheduler(0, libc::SCHED_BATCH, &p) };
            assert_eq!(r, 0);
            assert_eq!(
                set_slice(0, LOOP_SLICE).unwrap(),
                SliceOutcome::OtherPolicy(libc::SCHED_BATCH)
            );
            // SAFETY: reads the calling thread's policy.
            assert_eq!(unsafe { libc::sched_getscheduler(0) }, libc::SCHED_BATCH);
        })
        .join()
        .unwrap();
    }

    #[test]
    fn a_thread_that_is_not_there_is_an_error_naming_it() {
        let e = set_slice(i32::MAX, LOOP_SLICE).unwrap_err();
        assert!(format!("{e:#}").contains(&i32::MAX.to_string()), "{e:#}");
    }
}
