//! IGMPv3 reports (RFC 3376 §4.2): a bounds walk over every group record, then the fast walk
//! over the first records, refreshing those that are pure refreshes (`fastpath`).
//!
//! The loops over records run in bpf_loop callbacks that read the packet with
//! `bpf_skb_load_bytes`: the verifier then checks each body once, and the walk offsets never
//! index memory (which would make the verifier track them exactly, iteration by iteration).

use core::ffi::c_void;

use aya_ebpf::{
    bindings::__sk_buff,
    helpers::{bpf_ktime_get_ns, bpf_loop},
};
use mgm_common::{
    igmp::{HEADER_LEN, RECORD_HEADER_LEN},
    maps::IFACE_FLAG_NO_FAST_PATH,
};

use crate::{
    fastpath::{self, Refresh},
    igmp::Message,
    ipv4::is_multicast,
    skb::load,
    verdict::{IgnoreReason, MessageType, SlowPathReason, Tally, Verdict},
};

/// Group records of a v3 report checked for bounds. A 1500-byte MTU holds at most 184 records;
/// a longer report goes up as TOO_LONG and the daemon's parser checks it.
const MAX_VALIDATE_RECORDS: u32 = 1024;
/// Group records of a v3 report evaluated for the fast path.
const MAX_FAST_RECORDS: u32 = 16;

const HEADER: u32 = HEADER_LEN as u32;
const RECORD_HEADER: u32 = RECORD_HEADER_LEN as u32;

/// Handler of a v3 report: validate every record, then refresh what is a pure refresh. Absorbed
/// when every record was; records within `MAX_FAST_RECORDS` are refreshed even when the report
/// goes up.
#[inline(always)]
pub(crate) fn report(msg: &Message, tally: &mut Tally) -> Verdict {
    let nrec = u32::from(u16::from_be_bytes([msg.header[6], msg.header[7]]));
    let records = match check_records(msg, nrec) {
        Ok(records) => records,
        Err(why) => return Verdict::Ignored(why),
    };
    let message = MessageType::ReportV3;
    tally.records = records;
    if records != nrec {
        // More records than the classifier checks: the daemon's parser does.
        return Verdict::SentUp(message, SlowPathReason::TooLong);
    }
    if nrec == 0 {
        return Verdict::SentUp(message, SlowPathReason::StateChange);
    }
    // Records beyond MAX_FAST_RECORDS are not walked; those within are still applied.
    let (refreshed, why) = refresh_records(msg, nrec);
    tally.refreshed = refreshed;
    if nrec > MAX_FAST_RECORDS {
        return Verdict::SentUp(message, SlowPathReason::TooLong);
    }
    match why {
        Some(why) => Verdict::SentUp(message, why),
        None => Verdict::Absorbed(message),
    }
}

/// Pass 1: the bounds and the group of each of the first `MAX_VALIDATE_RECORDS` records; the
/// number of records checked.
#[inline(always)]
fn check_records(msg: &Message, nrec: u32) -> Result<u32, IgnoreReason> {
    let mut check = RecordCheck {
        skb: msg.skb,
        igmp_off: msg.pkt.igmp_off,
        igmp_len: msg.pkt.igmp_len,
        pos: HEADER,
        count: 0,
        status: CHECK_OK,
    };
    let n = if nrec > MAX_VALIDATE_RECORDS {
        MAX_VALIDATE_RECORDS
    } else {
        nrec
    };
    if n > 0 {
        // SAFETY: the callback is a BPF subprogram taking (index, ctx); ctx is `check` on our
        // stack, alive for the call.
        unsafe {
            bpf_loop(
                n,
                check_step as *mut c_void,
                (&mut check as *mut RecordCheck).cast(),
                0,
            )
        };
    }
    match check.status {
        CHECK_BAD_RECORD => Err(IgnoreReason::BadRecord),
        CHECK_NOT_MULTICAST => Err(IgnoreReason::GroupNotMulticast),
        _ => Ok(check.count),
    }
}

const CHECK_OK: u32 = 0;
const CHECK_BAD_RECORD: u32 = 1;
const CHECK_NOT_MULTICAST: u32 = 2;

/// State of the bounds walk over the records of a v3 report.
#[repr(C)]
struct RecordCheck {
    skb: *mut __sk_buff,
    igmp_off: u32,
    igmp_len: u32,
    /// Offset of the next record in the message.
    pos: u32,
    /// Records checked.
    count: u32,
    status: u32,
}

/// Length of a record: header, sources, auxiliary data.
#[inline(always)]
fn record_len(h: &[u8; 8]) -> u32 {
    RECORD_HEADER + 4 * u32::from(u16::from_be_bytes([h[2], h[3]])) + 4 * u32::from(h[1])
}

/// bpf_loop body: checks the bounds and the group of one record.
#[inline(never)]
extern "C" fn check_step(_index: u64, ctx: *mut c_void) -> i64 {
    // SAFETY: bpf_loop passes back the pointer handed to it: a live RecordCheck.
    let c = unsafe { &mut *ctx.cast::<RecordCheck>() };
    let pos = c.pos;
    let mut h = [0u8; 8];
    if pos + RECORD_HEADER > c.igmp_len || !load(c.skb, c.igmp_off + pos, &mut h) {
        c.status = CHECK_BAD_RECORD;
        return 1;
    }
    if !is_multicast(&[h[4], h[5], h[6], h[7]]) {
        c.status = CHECK_NOT_MULTICAST;
        return 1;
    }
    let rec_len = record_len(&h);
    if pos + rec_len > c.igmp_len {
        c.status = CHECK_BAD_RECORD;
        return 1;
    }
    c.pos = pos + rec_len;
    c.count += 1;
    0
}

/// Pass 2: applies the refreshes among the first `MAX_FAST_RECORDS` records of a validated
/// report. Returns the records refreshed, and the slow-path reason of the others (`None` when
/// every walked record was a refresh).
#[inline(always)]
fn refresh_records(msg: &Message, nrec: u32) -> (u32, Option<SlowPathReason>) {
    // SAFETY: helper without arguments.
    let now = unsafe { bpf_ktime_get_ns() };
    let mut walk = RecordWalk {
        refresh: Refresh {
            skb: msg.skb,
            now,
            expires: now + msg.settings.group_membership_interval_ns,
            ifindex: msg.pkt.ifindex,
            src: msg.pkt.src,
            no_fast_path: msg.settings.flags & IFACE_FLAG_NO_FAST_PATH != 0,
        },
        igmp_off: msg.pkt.igmp_off,
        pos: HEADER,
        refreshed: 0,
        why: None,
    };
    let n = if nrec > MAX_FAST_RECORDS {
        MAX_FAST_RECORDS
    } else {
        nrec
    };
    // SAFETY: the callback is a BPF subprogram taking (index, ctx); ctx is `walk` on our stack,
    // alive for the call.
    unsafe {
        bpf_loop(
            n,
            record_step as *mut c_void,
            (&mut walk as *mut RecordWalk).cast(),
            0,
        )
    };
    (walk.refreshed, walk.why)
}

/// State of the walk over the records of a v3 report.
#[repr(C)]
struct RecordWalk {
    refresh: Refresh,
    igmp_off: u32,
    /// Offset of the next record in the message.
    pos: u32,
    /// Records applied in kernel.
    refreshed: u32,
    /// First slow-path reason (TOO_LONG wins, then NEW_GROUP: a report naming a group the
    /// interface does not hold is charged to the new groups' budget), `None` while every
    /// record was a refresh.
    why: Option<SlowPathReason>,
}

/// bpf_loop body: one group record. Refreshes it when it is a pure refresh, else notes why not.
#[inline(never)]
extern "C" fn record_step(_index: u64, ctx: *mut c_void) -> i64 {
    // SAFETY: bpf_loop passes back the pointer handed to it: a live RecordWalk.
    let w = unsafe { &mut *ctx.cast::<RecordWalk>() };
    let mut h = [0u8; 8];
    if !load(w.refresh.skb, w.igmp_off + w.pos, &mut h) {
        // Cannot happen for a validated message.
        w.why = Some(SlowPathReason::TooLong);
        return 1;
    }
    let nsrc = u32::from(u16::from_be_bytes([h[2], h[3]]));
    let sources = w.igmp_off + w.pos + RECORD_HEADER;
    w.pos += record_len(&h);
    let group = [h[4], h[5], h[6], h[7]];
    match fastpath::refresh_record(&w.refresh, h[0], group, nsrc, sources) {
        Ok(()) => w.refreshed += 1,
        Err(why) => {
            let outranks = match w.why {
                None => true,
                Some(SlowPathReason::TooLong) => false,
                Some(SlowPathReason::NewGroup) => why == SlowPathReason::TooLong,
                Some(_) => matches!(why, SlowPathReason::TooLong | SlowPathReason::NewGroup),
            };
            if outranks {
                w.why = Some(why);
            }
        }
    }
    0
}
