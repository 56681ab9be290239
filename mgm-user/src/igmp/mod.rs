//! IGMP router side (RFC 2236 / RFC 3376).
