//! IGMP wire format: constants and a zero-copy parser shared by the daemon and the tests.
// (parser lands with the IGMP router work)

pub const IPPROTO_IGMP: u8 = 2;
pub const TYPE_MEMBERSHIP_QUERY: u8 = 0x11;
pub const TYPE_V1_REPORT: u8 = 0x12;
pub const TYPE_V2_REPORT: u8 = 0x16;
pub const TYPE_V2_LEAVE: u8 = 0x17;
pub const TYPE_V3_REPORT: u8 = 0x22;
