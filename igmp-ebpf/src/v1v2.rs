//! IGMPv1 / IGMPv2 reports (RFC 1112, RFC 2236) and v2 leaves.

use mgm_common::igmp::TYPE_V1_REPORT;

use crate::{
    fastpath,
    igmp::Message,
    ipv4::is_multicast,
    verdict::{IgnoreReason, MessageType, SlowPathReason, Tally, Verdict},
};

/// Handler of a v1 or v2 report: a refresh of a group the daemon holds in EXCLUDE mode with no
/// sources, in the same compatibility mode, is absorbed; anything else goes up.
#[inline(always)]
pub(crate) fn report(msg: &Message, tally: &mut Tally) -> Verdict {
    let group = msg.group();
    if !is_multicast(&group) {
        return Verdict::Ignored(IgnoreReason::GroupNotMulticast);
    }
    // v1 (RFC 1112) and v2 (RFC 2236) reports are both sent to the group itself; the daemon's
    // router ignores either one sent elsewhere, so the fast path must not refresh it.
    if msg.pkt.dst != group {
        return Verdict::Ignored(IgnoreReason::ReportDstMismatch);
    }
    let v1 = msg.msg_type() == TYPE_V1_REPORT;
    let message = if v1 {
        MessageType::ReportV1
    } else {
        MessageType::ReportV2
    };
    match fastpath::refresh_v1v2_report(msg, group, v1) {
        Ok(()) => {
            tally.refreshed = 1;
            Verdict::Absorbed(message)
        }
        Err(why) => Verdict::SentUp(message, why),
    }
}

/// Handler of a v2 leave: always for the daemon (it runs the last-member queries).
#[inline(always)]
pub(crate) fn leave(msg: &Message) -> Verdict {
    if !is_multicast(&msg.group()) {
        return Verdict::Ignored(IgnoreReason::GroupNotMulticast);
    }
    Verdict::SentUp(MessageType::LeaveV2, SlowPathReason::Leave)
}
