//! The IGMP pipeline: a managed interface, the VLAN rule, the IPv4 header, the checksum, the
//! on-link rule, then the handler of the message type; a message sent up goes on the ring when
//! its interface's budget allows (`rate`).

use aya_ebpf::bindings::__sk_buff;
use mgm_common::{
    event::{EVENT_FLAG_ROUTER_ALERT, MAX_EVENT_IGMP_LEN},
    igmp::{TYPE_MEMBERSHIP_QUERY, TYPE_V1_REPORT, TYPE_V2_LEAVE, TYPE_V2_REPORT, TYPE_V3_REPORT},
    maps::IFACE_FLAG_QUERIES_ONLY,
    IfaceSettings,
};

use crate::{
    csum, events, ipv4,
    l2::{self, Frame, L2},
    maps, query, rate, scratch,
    skb::{self, load_val},
    v1v2, v3,
    verdict::{Delivery, IgnoreReason, Outcome, Tally, Verdict},
};

/// Most IGMP bytes copied into the scratch and into an event.
pub(crate) const MAX_EVENT: u32 = MAX_EVENT_IGMP_LEN as u32;

/// What the event of a message sent up says about the packet.
pub(crate) struct Packet {
    pub(crate) ifindex: u32,
    pub(crate) src: [u8; 4],
    pub(crate) dst: [u8; 4],
    /// Packet offset of the IGMP message.
    pub(crate) igmp_off: u32,
    /// IP total length minus header length.
    pub(crate) igmp_len: u32,
    /// `EVENT_FLAG_*`.
    pub(crate) flags: u8,
}

/// A checksummed IGMP message on a managed interface, for the handler of its type.
pub(crate) struct Message {
    pub(crate) skb: *mut __sk_buff,
    pub(crate) pkt: Packet,
    /// The interface's entry in `MGM_IFACES`, read in place (a copy would take 64 bytes of the
    /// 512 the verifier allows the program's stack).
    pub(crate) settings: &'static IfaceSettings,
    /// Type, Max Resp Code, checksum, group (or the v3 report's Number of Group Records).
    pub(crate) header: [u8; 8],
    /// The scratch copy of the message's first `MAX_EVENT` bytes (messages over 8 bytes).
    pub(crate) buf: *mut u8,
    /// The scratch the copy is in, where the event record is built.
    pub(crate) scratch: *mut scratch::Scratch,
}

impl Message {
    #[inline(always)]
    pub(crate) fn msg_type(&self) -> u8 {
        self.header[0]
    }

    /// Max Resp Code of a query.
    #[inline(always)]
    pub(crate) fn code(&self) -> u8 {
        self.header[1]
    }

    /// Group address of a v1/v2 message or a query.
    #[inline(always)]
    pub(crate) fn group(&self) -> [u8; 4] {
        [
            self.header[4],
            self.header[5],
            self.header[6],
            self.header[7],
        ]
    }
}

/// An IPv4 packet with protocol IGMP (or a frame too deeply tagged to tell): what became of it;
/// `None` when there is nothing to count.
#[inline(always)]
pub(crate) fn handle(skb: *mut __sk_buff, l2: L2) -> Option<Outcome> {
    let frame = match l2 {
        L2::Igmp(frame) => frame,
        // Only counted on a managed interface.
        L2::TagsBeyondReach => {
            return maps::managed_iface(skb::ifindex(skb))
                .map(|_| Outcome::ignored(IgnoreReason::TagsBeyondReach));
        }
    };
    let scratch = maps::scratch()?;
    let frame = scratch::frame_in_ranges(scratch, frame);
    let msg = match validate(skb, scratch, &frame) {
        Ok(msg) => msg,
        Err(why) => return Some(Outcome::ignored(why)),
    };
    let mut tally = Tally::default();
    let verdict = match msg.msg_type() {
        TYPE_MEMBERSHIP_QUERY => query::query(&msg),
        TYPE_V1_REPORT | TYPE_V2_REPORT => v1v2::report(&msg, &mut tally),
        TYPE_V2_LEAVE => v1v2::leave(&msg),
        TYPE_V3_REPORT => v3::report(&msg, &mut tally),
        _ => Verdict::Ignored(IgnoreReason::UnknownType),
    };
    let delivery = match verdict {
        Verdict::SentUp(_, why) => {
            let bucket = rate::Bucket::of(&msg, why);
            if rate::within_budget(msg.pkt.ifindex, msg.pkt.igmp_len, msg.settings, bucket) {
                Some(events::send(&msg, why))
            } else {
                Some(Delivery::RateLimited)
            }
        }
        _ => None,
    };
    Some(Outcome {
        verdict,
        tally,
        delivery,
    })
}

/// The checks every IGMP message passes before its handler sees it.
#[inline(always)]
fn validate(
    skb: *mut __sk_buff,
    scratch: *mut scratch::Scratch,
    frame: &Frame,
) -> Result<Message, IgnoreReason> {
    let buf = scratch::buffer(scratch);
    let ifindex = skb::ifindex(skb);
    let settings = maps::managed_iface(ifindex).ok_or(IgnoreReason::InterfaceDisabled)?;
    let mut flags = l2::vlan_flags(skb, frame)?;
    // The message copy is free until the checksum: the IPv4 options go there meanwhile.
    let ip = ipv4::header(skb, frame.l3, buf)?;
    if ip.router_alert {
        flags |= EVENT_FLAG_ROUTER_ALERT;
    }
    if ip.payload_len < 8 {
        return Err(IgnoreReason::BadLength);
    }
    // The IGMP header (all of a v1/v2 message).
    let header = load_val::<[u8; 8]>(skb, ip.payload_off).ok_or(IgnoreReason::Truncated)?;
    if !csum::igmp_ok(skb, buf, &header, ip.payload_off, ip.payload_len) {
        return Err(IgnoreReason::BadChecksum);
    }
    // Reports and leaves come from hosts on this link, not from a subnet's network or broadcast
    // address (RFC 2236 §9, RFC 3376 §9); the daemon ignores the others too, so neither path
    // acts on them.
    let from_host = matches!(
        header[0],
        TYPE_V1_REPORT | TYPE_V2_REPORT | TYPE_V2_LEAVE | TYPE_V3_REPORT
    );
    if from_host && settings.flags & IFACE_FLAG_QUERIES_ONLY != 0 {
        return Err(IgnoreReason::UpstreamReport);
    }
    if from_host && !settings.on_link(ip.src) {
        return Err(IgnoreReason::OffLinkSource);
    }
    Ok(Message {
        skb,
        pkt: Packet {
            ifindex,
            src: ip.src,
            dst: ip.dst,
            igmp_off: ip.payload_off,
            igmp_len: ip.payload_len,
            flags,
        },
        settings,
        header,
        buf,
        scratch,
    })
}
