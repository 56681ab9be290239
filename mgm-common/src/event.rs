//! The record the classifier puts on `MGM_EVENTS` for every IGMP message that may change state.

/// Most IGMP bytes one event carries: an IPv4 packet on a 1500-byte MTU minus a 20-byte header.
/// A longer message (jumbo frames) is cut here and flagged [`EVENT_FLAG_TRUNCATED`].
pub const MAX_EVENT_IGMP_LEN: usize = 1480;

/// The packet carried the IP Router Alert option (RFC 2113).
pub const EVENT_FLAG_ROUTER_ALERT: u8 = 1 << 0;
/// The frame carried 802.1p priority tags only (VLAN id 0, in the frame or in skb metadata): the
/// interface's own traffic. Frames tagged with a real VLAN id belong to that VLAN's device and
/// are ignored on the parent (counted in `ignored_vlan_tagged`), so they never produce events.
pub const EVENT_FLAG_VLAN: u8 = 1 << 1;
/// `igmp_len` exceeded [`MAX_EVENT_IGMP_LEN`]; only the first bytes were captured.
pub const EVENT_FLAG_TRUNCATED: u8 = 1 << 2;

/// Why the classifier sent the message up instead of absorbing it.
pub mod reason {
    /// A membership query (from us or from another router).
    pub const QUERY: u8 = 1;
    /// A report for a group the maps do not hold on this interface.
    pub const NEW_GROUP: u8 = 2;
    /// A v2 leave.
    pub const LEAVE: u8 = 3;
    /// A report that changes state (mode, sources, compatibility) or that the classifier cannot
    /// prove is a pure refresh.
    pub const STATE_CHANGE: u8 = 4;
    /// A v3 report with more records or sources than the classifier walks.
    pub const TOO_LONG: u8 = 5;
    /// The daemon asked for every report of this group (`MEMBER_FLAG_SLOW_PATH`).
    pub const DAEMON_REQUEST: u8 = 6;
}

/// One IGMP message for the daemon. Header then the IGMP bytes (not the IP header).
#[repr(C)]
#[derive(Clone, Copy)]
pub struct IgmpEvent {
    /// `bpf_ktime_get_ns` when the classifier saw the packet.
    pub timestamp_ns: u64,
    /// Interface the packet arrived on.
    pub ifindex: u32,
    /// IPv4 source address of the packet (the reporter or the querier).
    pub src_addr: [u8; 4],
    /// IPv4 destination address of the packet.
    pub dst_addr: [u8; 4],
    /// Length of the IGMP message in the packet (IP total length minus header).
    pub igmp_len: u16,
    /// Bytes of the message in `data` (≤ [`MAX_EVENT_IGMP_LEN`]).
    pub captured_len: u16,
    /// Always 0: only untagged or priority-tagged frames produce events (see `EVENT_FLAG_VLAN`).
    pub vlan_id: u16,
    /// `EVENT_FLAG_*`.
    pub flags: u8,
    /// `reason::*`.
    pub reason: u8,
    pub _pad: [u8; 4],
    pub data: [u8; MAX_EVENT_IGMP_LEN],
}

impl IgmpEvent {
    /// The captured IGMP bytes, bounded by the buffer whatever `captured_len` says.
    pub fn igmp_bytes(&self) -> &[u8] {
        let len = (self.captured_len as usize).min(MAX_EVENT_IGMP_LEN);
        &self.data[..len]
    }

    /// Decodes an event from the raw ring buffer item; `None` if it is too short.
    pub fn from_bytes(bytes: &[u8]) -> Option<Self> {
        if bytes.len() < core::mem::size_of::<Self>() {
            return None;
        }
        // SAFETY: IgmpEvent is repr(C) plain data valid for any bit pattern, and `bytes` holds at
        // least size_of::<Self>() bytes; read_unaligned copes with any alignment of the buffer.
        Some(unsafe { core::ptr::read_unaligned(bytes.as_ptr().cast::<Self>()) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_is_32_bytes_and_decoding_checks_length() {
        assert_eq!(core::mem::size_of::<IgmpEvent>(), 32 + MAX_EVENT_IGMP_LEN);
        assert!(IgmpEvent::from_bytes(&[0u8; 31]).is_none());
        let mut raw = [0u8; core::mem::size_of::<IgmpEvent>()];
        raw[8..12].copy_from_slice(&7u32.to_ne_bytes());
        raw[22..24].copy_from_slice(&5000u16.to_ne_bytes()); // captured_len beyond the buffer
        let ev = IgmpEvent::from_bytes(&raw).expect("full-size record decodes");
        assert_eq!(ev.ifindex, 7);
        assert_eq!(ev.igmp_bytes().len(), MAX_EVENT_IGMP_LEN);
    }
}
