//! The record of a message sent up: an `IgmpEvent` on the `MGM_EVENTS` ring buffer.

use core::{ffi::c_void, ptr::addr_of_mut};

use aya_ebpf::{
    bindings::__sk_buff,
    helpers::{bpf_ktime_get_ns, bpf_skb_load_bytes},
};
use mgm_common::event::EVENT_FLAG_TRUNCATED;

use crate::{
    igmp::{Packet, MAX_EVENT},
    maps::MGM_EVENTS,
    verdict::{Delivery, SlowPathReason},
};

/// Puts the message on `MGM_EVENTS` with the reason it goes up.
#[inline(always)]
pub(crate) fn send(skb: *mut __sk_buff, pkt: &Packet, why: SlowPathReason) -> Delivery {
    let Some(mut entry) = MGM_EVENTS.reserve(0) else {
        return Delivery::RingFull;
    };
    let ev = entry.as_mut_ptr();
    let cap = if pkt.igmp_len > MAX_EVENT {
        MAX_EVENT
    } else {
        pkt.igmp_len
    };
    let mut flags = pkt.flags;
    if pkt.igmp_len > MAX_EVENT {
        flags |= EVENT_FLAG_TRUNCATED;
    }
    // SAFETY: `ev` points at a reserved ring buffer record of size_of::<IgmpEvent>() bytes;
    // fields are written one by one, `data` by the helper with at most MAX_EVENT bytes.
    unsafe {
        let captured = if (1..=MAX_EVENT).contains(&cap)
            && bpf_skb_load_bytes(
                skb as *const c_void,
                pkt.igmp_off,
                addr_of_mut!((*ev).data).cast(),
                cap,
            ) == 0
        {
            cap as u16
        } else {
            0
        };
        addr_of_mut!((*ev).timestamp_ns).write(bpf_ktime_get_ns());
        addr_of_mut!((*ev).ifindex).write(pkt.ifindex);
        addr_of_mut!((*ev).src_addr).write(pkt.src);
        addr_of_mut!((*ev).dst_addr).write(pkt.dst);
        addr_of_mut!((*ev).igmp_len).write(pkt.igmp_len as u16);
        addr_of_mut!((*ev).captured_len).write(captured);
        // Tagged frames never get here (priority tags aside, whose VLAN id is 0).
        addr_of_mut!((*ev).vlan_id).write(0);
        addr_of_mut!((*ev).flags).write(flags);
        addr_of_mut!((*ev).reason).write(why as u8);
        addr_of_mut!((*ev)._pad).write([0; 4]);
    }
    entry.submit(0);
    Delivery::Sent
}
