//! The record of a message sent up on the `MGM_EVENTS` ring buffer: an `EventHeader` and the
//! message's IGMP bytes, built in the per-CPU scratch (behind which the message was copied for
//! its checksum) and output with the message's real length, up to `MAX_EVENT_IGMP_LEN` bytes.

use core::ptr::{addr_of, addr_of_mut};

use aya_ebpf::helpers::{bpf_ktime_get_ns, bpf_ringbuf_output};
use mgm_common::event::EVENT_FLAG_TRUNCATED;

use crate::{
    igmp::{Message, MAX_EVENT},
    maps::MGM_EVENTS,
    scratch,
    verdict::{Delivery, SlowPathReason},
};

/// Puts the message on `MGM_EVENTS` with the reason it goes up.
#[inline(always)]
pub(crate) fn send(msg: &Message, why: SlowPathReason) -> Delivery {
    let pkt = &msg.pkt;
    let mut flags = pkt.flags;
    let captured = if pkt.igmp_len > MAX_EVENT {
        flags |= EVENT_FLAG_TRUNCATED;
        MAX_EVENT
    } else {
        pkt.igmp_len
    };
    let s = msg.scratch;
    // SAFETY: `s` is this CPU's scratch, valid for this run: fields written one by one. A
    // message over 8 bytes is already in the copy (the checksum put it there); an 8-byte one is
    // its header.
    unsafe {
        if pkt.igmp_len == 8 {
            addr_of_mut!((*s).msg).cast::<[u8; 8]>().write(msg.header);
        }
        let ev = addr_of_mut!((*s).event);
        addr_of_mut!((*ev).timestamp_ns).write(bpf_ktime_get_ns());
        addr_of_mut!((*ev).ifindex).write(pkt.ifindex);
        addr_of_mut!((*ev).src_addr).write(pkt.src);
        addr_of_mut!((*ev).dst_addr).write(pkt.dst);
        addr_of_mut!((*ev).igmp_len).write(pkt.igmp_len as u16);
        addr_of_mut!((*ev).captured_len).write(captured as u16);
        // Tagged frames never get here (priority tags aside, whose VLAN id is 0).
        addr_of_mut!((*ev).vlan_id).write(0);
        addr_of_mut!((*ev).flags).write(flags);
        addr_of_mut!((*ev).reason).write(why as u8);
        addr_of_mut!((*ev)._pad).write([0; 4]);
    }
    let record = scratch::record(s, captured);
    // SAFETY: the map is the ring buffer static (its address is what the helper takes, as
    // aya-ebpf's own `output` passes it); `record` is valid for its length (scratch::record).
    let rc = unsafe {
        bpf_ringbuf_output(
            addr_of!(MGM_EVENTS).cast_mut().cast(),
            record.as_ptr().cast_mut().cast(),
            record.len() as u64,
            0,
        )
    };
    if rc == 0 {
        Delivery::Sent
    } else {
        Delivery::RingFull
    }
}
