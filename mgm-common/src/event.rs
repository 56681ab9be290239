//! The record the classifier puts on `MGM_EVENTS` for every IGMP message that may change state.

/// Most IGMP bytes one event carries: 15 KiB, whole messages on every jumbo-frame MTU in use
/// (9000, 9216 bytes). Records are as long as their message (header + IGMP bytes); a longer
/// message is cut here and flagged [`EVENT_FLAG_TRUNCATED`]. A multiple of 4 (the classifier
/// checksums the rest of a longer message in 4-byte aligned chunks).
pub const MAX_EVENT_IGMP_LEN: usize = 15 * 1024;
const _: () = assert!(MAX_EVENT_IGMP_LEN.is_multiple_of(4));

/// Bytes of the [`EventHeader`] at the start of every record.
pub const EVENT_HEADER_LEN: usize = core::mem::size_of::<EventHeader>();

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
    /// A report for a group the maps do not hold on this interface (a v3 report: for at least
    /// one, whatever its other records; only TOO_LONG goes before it).
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

/// The header of a record on `MGM_EVENTS`; the message's first `captured_len` IGMP bytes (not
/// the IP header) follow it in the record, which is `EVENT_HEADER_LEN + captured_len` bytes long.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EventHeader {
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
    /// IGMP bytes following the header (`igmp_len`, at most [`MAX_EVENT_IGMP_LEN`]).
    pub captured_len: u16,
    /// Always 0: only untagged or priority-tagged frames produce events (see `EVENT_FLAG_VLAN`).
    pub vlan_id: u16,
    /// `EVENT_FLAG_*`.
    pub flags: u8,
    /// `reason::*`.
    pub reason: u8,
    pub _pad: [u8; 4],
}

/// One IGMP message for the daemon, decoded from a ring buffer record: the header (its fields
/// read through `Deref`) and the IGMP bytes, borrowed from the record.
#[derive(Clone, Copy, Debug)]
pub struct IgmpEvent<'a> {
    pub header: EventHeader,
    igmp: &'a [u8],
}

impl core::ops::Deref for IgmpEvent<'_> {
    type Target = EventHeader;

    fn deref(&self) -> &EventHeader {
        &self.header
    }
}

impl<'a> IgmpEvent<'a> {
    /// The captured IGMP bytes: `captured_len` of them, bounded by the record whatever
    /// `captured_len` says.
    pub fn igmp_bytes(&self) -> &'a [u8] {
        self.igmp
    }

    /// Decodes a record from the ring buffer; `None` if it is shorter than the header.
    pub fn from_bytes(bytes: &'a [u8]) -> Option<Self> {
        if bytes.len() < EVENT_HEADER_LEN {
            return None;
        }
        // SAFETY: EventHeader is repr(C) plain data valid for any bit pattern, and `bytes` holds
        // at least size_of::<EventHeader>() bytes; read_unaligned copes with any alignment.
        let header = unsafe { core::ptr::read_unaligned(bytes.as_ptr().cast::<EventHeader>()) };
        let rest = &bytes[EVENT_HEADER_LEN..];
        let len = usize::from(header.captured_len).min(rest.len());
        Some(Self {
            header,
            igmp: &rest[..len],
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_are_a_32_byte_header_then_the_igmp_bytes() {
        assert_eq!(EVENT_HEADER_LEN, 32);
        assert!(IgmpEvent::from_bytes(&[0u8; 31]).is_none());
        let mut raw = [0u8; 32 + 9000];
        raw[8..12].copy_from_slice(&7u32.to_ne_bytes());
        raw[22..24].copy_from_slice(&9000u16.to_ne_bytes());
        raw[32] = 0x22;
        raw[32 + 8999] = 0x5a;
        let ev = IgmpEvent::from_bytes(&raw).expect("a record decodes");
        assert_eq!(ev.ifindex, 7);
        assert_eq!(ev.igmp_bytes().len(), 9000);
        assert_eq!((ev.igmp_bytes()[0], ev.igmp_bytes()[8999]), (0x22, 0x5a));
        // captured_len beyond the record: bounded by the record.
        raw[22..24].copy_from_slice(&u16::MAX.to_ne_bytes());
        let ev = IgmpEvent::from_bytes(&raw[..100]).expect("a short record decodes");
        assert_eq!(ev.igmp_bytes(), &raw[32..100]);
    }
}
