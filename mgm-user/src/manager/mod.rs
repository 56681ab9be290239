//! The multicast group manager: protocols, ownership, memberships, MFEs.
