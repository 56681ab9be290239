//! Membership queries, all versions (RFC 3376 §7.1: the version is told by the length and the
//! Max Resp Code). Every valid query from another router goes to the daemon: it may start the
//! querier election. Our own, looped back to this ingress like every multicast the router
//! sends, is counted and stays here: the daemon ignores it (it applied it when sending).

use mgm_common::igmp::{HEADER_LEN, V3_QUERY_MIN_LEN};

use crate::{
    igmp::Message,
    ipv4::is_multicast,
    scratch::rd,
    verdict::{IgnoreReason, MessageType, SlowPathReason, Verdict},
};

/// Handler of a membership query.
#[inline(always)]
pub(crate) fn query(msg: &Message) -> Verdict {
    let len = msg.pkt.igmp_len;
    let version = if len == HEADER_LEN as u32 {
        if msg.code() == 0 {
            MessageType::QueryV1
        } else {
            MessageType::QueryV2
        }
    } else if len >= V3_QUERY_MIN_LEN as u32 {
        // Number of Sources, from the scratch copy (the message is longer than 8 bytes).
        let nsrc = u32::from(u16::from_be_bytes([rd(msg.buf, 10), rd(msg.buf, 11)]));
        if V3_QUERY_MIN_LEN as u32 + 4 * nsrc > len {
            return Verdict::Ignored(IgnoreReason::BadLength);
        }
        MessageType::QueryV3
    } else {
        return Verdict::Ignored(IgnoreReason::BadLength);
    };
    let group = msg.group();
    if group != [0; 4] && !is_multicast(&group) {
        return Verdict::Ignored(IgnoreReason::GroupNotMulticast);
    }
    if msg.settings.is_own_address(msg.pkt.src) {
        return Verdict::Own(version);
    }
    Verdict::SentUp(version, SlowPathReason::Query)
}
