//! The fast path: a report that only refreshes state the daemon already holds extends the
//! expiries in `MGM_MEMBERS` / `MGM_SOURCES` in place (the classifier never creates or deletes an
//! entry). Each function returns `Ok` when it refreshed, or the reason the daemon must see the
//! report, touching nothing then.

use core::ffi::c_void;

use aya_ebpf::{
    bindings::__sk_buff,
    helpers::{bpf_ktime_get_ns, bpf_loop},
};
use mgm_common::{
    igmp::{MODE_IS_EXCLUDE, MODE_IS_INCLUDE},
    maps::{
        FILTER_MODE_EXCLUDE, FILTER_MODE_INCLUDE, IFACE_FLAG_NO_FAST_PATH, MEMBER_FLAG_SLOW_PATH,
    },
    MemberKey, MemberState, SourceKey,
};

use crate::{igmp::Message, maps, skb::load, verdict::SlowPathReason};

/// Sources of one MODE_IS_INCLUDE record evaluated for the fast path.
const MAX_FAST_SOURCES: u32 = 32;

/// The member entry of `group`, when the daemon lets the fast path refresh it.
#[inline(always)]
fn refreshable_member(
    ifindex: u32,
    group: [u8; 4],
    no_fast_path: bool,
) -> Result<&'static mut MemberState, SlowPathReason> {
    let m = maps::member(MemberKey { ifindex, group }).ok_or(SlowPathReason::NewGroup)?;
    if m.flags & MEMBER_FLAG_SLOW_PATH != 0 || no_fast_path {
        return Err(SlowPathReason::DaemonRequest);
    }
    Ok(m)
}

/// A v1 or v2 report for `group`: refreshes the group timer and the older-host timer of its
/// version when the group is in EXCLUDE mode with no sources, in that compatibility mode.
#[inline(always)]
pub(crate) fn refresh_v1v2_report(
    msg: &Message,
    group: [u8; 4],
    v1: bool,
) -> Result<(), SlowPathReason> {
    let settings = msg.settings;
    let no_fast_path = settings.flags & IFACE_FLAG_NO_FAST_PATH != 0;
    let m = refreshable_member(msg.pkt.ifindex, group, no_fast_path)?;
    let want_compat = if v1 { 1 } else { 2 };
    if m.filter_mode != FILTER_MODE_EXCLUDE
        || m.source_count != 0
        || m.compat_version != want_compat
    {
        return Err(SlowPathReason::StateChange);
    }
    // SAFETY: helper without arguments.
    let now = unsafe { bpf_ktime_get_ns() };
    m.group_expires_ns = now + settings.group_membership_interval_ns;
    let host = now + settings.older_host_present_interval_ns;
    if v1 {
        m.v1_host_expires_ns = host;
    } else {
        m.v2_host_expires_ns = host;
    }
    m.last_reporter = msg.pkt.src;
    m.fast_refreshes = m.fast_refreshes.wrapping_add(1);
    Ok(())
}

/// What a v3 record refresh needs to know about its report.
#[repr(C)]
pub(crate) struct Refresh {
    pub(crate) skb: *mut __sk_buff,
    pub(crate) now: u64,
    /// The new expiry: now + Group Membership Interval.
    pub(crate) expires: u64,
    pub(crate) ifindex: u32,
    /// The reporter.
    pub(crate) src: [u8; 4],
    /// The interface has IFACE_FLAG_NO_FAST_PATH.
    pub(crate) no_fast_path: bool,
}

/// One v3 group record (`rtype`, `group`, `nsrc` sources from packet offset `sources`):
/// IS_EX({}) refreshes the group timer of a group in EXCLUDE mode without sources; IS_IN(S)
/// refreshes the sources of S when every one is held and forwarding. Other records change state.
#[inline(always)]
pub(crate) fn refresh_record(
    r: &Refresh,
    rtype: u8,
    group: [u8; 4],
    nsrc: u32,
    sources: u32,
) -> Result<(), SlowPathReason> {
    let m = refreshable_member(r.ifindex, group, r.no_fast_path)?;
    if rtype == MODE_IS_EXCLUDE {
        if nsrc != 0 || m.filter_mode != FILTER_MODE_EXCLUDE || m.source_count != 0 {
            return Err(SlowPathReason::StateChange);
        }
        m.group_expires_ns = r.expires;
    } else if rtype == MODE_IS_INCLUDE {
        if nsrc > MAX_FAST_SOURCES {
            return Err(SlowPathReason::TooLong);
        }
        let include = m.filter_mode == FILTER_MODE_INCLUDE;
        if !refresh_sources(r, group, nsrc, sources, include) {
            return Err(SlowPathReason::StateChange);
        }
    } else {
        return Err(SlowPathReason::StateChange);
    }
    m.last_reporter = r.src;
    m.fast_refreshes = m.fast_refreshes.wrapping_add(1);
    Ok(())
}

/// Refreshes the `nsrc` sources of an IS_IN record that are forwarding (any held source of a
/// group in INCLUDE mode; a source with a running timer in EXCLUDE mode). True when every one was.
#[inline(always)]
fn refresh_sources(r: &Refresh, group: [u8; 4], nsrc: u32, sources: u32, include: bool) -> bool {
    let mut sw = SourceWalk {
        skb: r.skb,
        now: r.now,
        expires: r.expires,
        ifindex: r.ifindex,
        group,
        off: sources,
        include: u32::from(include),
        all: 1,
        _pad: 0,
    };
    if nsrc > 0 {
        // SAFETY: the callback is a BPF subprogram taking (index, ctx); ctx is `sw` on our
        // stack, alive for the call.
        unsafe {
            bpf_loop(
                nsrc,
                source_step as *mut c_void,
                (&mut sw as *mut SourceWalk).cast(),
                0,
            )
        };
    }
    sw.all != 0
}

/// State of the walk over the sources of one MODE_IS_INCLUDE record.
#[repr(C)]
struct SourceWalk {
    skb: *mut __sk_buff,
    now: u64,
    expires: u64,
    ifindex: u32,
    group: [u8; 4],
    /// Packet offset of the first source.
    off: u32,
    /// The group is in INCLUDE mode (any source record forwards).
    include: u32,
    /// Cleared when a source is not held or not forwarding.
    all: u32,
    _pad: u32,
}

/// bpf_loop body: refreshes source `index` of the record when it is forwarding.
#[inline(never)]
extern "C" fn source_step(index: u64, ctx: *mut c_void) -> i64 {
    // SAFETY: bpf_loop passes back the pointer handed to it: a live SourceWalk.
    let w = unsafe { &mut *ctx.cast::<SourceWalk>() };
    let mut source = [0u8; 4];
    if !load(w.skb, w.off + 4 * (index as u32), &mut source) {
        w.all = 0;
        return 1;
    }
    let key = SourceKey {
        ifindex: w.ifindex,
        group: w.group,
        source,
    };
    match maps::source(key) {
        Some(sv) if w.include != 0 || sv.expires_ns > w.now => {
            sv.expires_ns = w.expires;
            sv.fast_refreshes = sv.fast_refreshes.wrapping_add(1);
        }
        _ => w.all = 0,
    }
    0
}
