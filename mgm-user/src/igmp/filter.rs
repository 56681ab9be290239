//! Group and source filters: per interface, allow and deny lists of IPv4 prefixes, applied to
//! every report before any state is made (like igmpproxy's whitelist/altnet and FRR's multicast
//! boundaries).
//!
//! An address is accepted when it matches no deny prefix and (the allow list is empty or it
//! matches an allow prefix). A record for a refused group is ignored whole: no state, no map
//! entry (so the classifier's fast path, which only refreshes entries that exist, never keeps it
//! either). A refused source is dropped from its record and the rest of the record applies, so
//! what it means is what an unlisted source means (`group.rs`, "Source limit"): a host's
//! INCLUDE interest in it makes nothing, and in EXCLUDE mode it is not blocked (the (*,G) join
//! forwards every source without a block). The group filters are the boundary; the source
//! filters bound the source state hosts can make.

use std::fmt;
use std::net::Ipv4Addr;
use std::str::FromStr;

/// An IPv4 prefix: a network address (no host bits set) and a length.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Prefix {
    addr: Ipv4Addr,
    len: u8,
}

/// 224.0.0.0/4, every multicast group.
pub const MULTICAST: Prefix = Prefix {
    addr: Ipv4Addr::new(224, 0, 0, 0),
    len: 4,
};

/// A prefix that could not be read or does not fit its list; the message names it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PrefixError {
    #[error("'{0}' is not an IPv4 prefix (a.b.c.d/len, or a.b.c.d for /32; '+' between prefixes)")]
    Syntax(String),
    #[error("'{given}' has host bits set (the prefix is {network})")]
    HostBits { given: String, network: Prefix },
    #[error("'{0}' holds no multicast group (groups are in 224.0.0.0/4)")]
    NotMulticast(Prefix),
    #[error("'{0}' holds only multicast addresses, which are never sources")]
    OnlyMulticast(Prefix),
}

fn mask(len: u8) -> u32 {
    match len {
        0 => 0,
        l => u32::MAX << (32 - u32::from(l.min(32))),
    }
}

impl Prefix {
    /// The prefix `addr/len`; `addr` must have no bits set past `len`.
    pub fn new(addr: Ipv4Addr, len: u8) -> Result<Prefix, PrefixError> {
        if len > 32 {
            return Err(PrefixError::Syntax(format!("{addr}/{len}")));
        }
        let network = Prefix {
            addr: Ipv4Addr::from(u32::from(addr) & mask(len)),
            len,
        };
        if network.addr != addr {
            return Err(PrefixError::HostBits {
                given: format!("{addr}/{len}"),
                network,
            });
        }
        Ok(network)
    }

    pub fn addr(&self) -> Ipv4Addr {
        self.addr
    }

    pub fn prefix_len(&self) -> u8 {
        self.len
    }

    /// Whether `a` is in this prefix.
    pub fn contains(&self, a: Ipv4Addr) -> bool {
        u32::from(a) & mask(self.len) == u32::from(self.addr)
    }

    /// Whether the two prefixes share an address (one holds the other).
    pub fn overlaps(&self, other: &Prefix) -> bool {
        let m = mask(self.len.min(other.len));
        u32::from(self.addr) & m == u32::from(other.addr) & m
    }

    /// Whether every address of `other` is in this prefix.
    pub fn covers(&self, other: &Prefix) -> bool {
        self.len <= other.len && self.contains(other.addr)
    }
}

impl fmt::Display for Prefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.len)
    }
}

impl FromStr for Prefix {
    type Err = PrefixError;

    /// `a.b.c.d/len`, or `a.b.c.d` for a /32.
    fn from_str(text: &str) -> Result<Prefix, PrefixError> {
        let t = text.trim();
        let syntax = || PrefixError::Syntax(t.to_string());
        let (addr, len) = match t.split_once('/') {
            Some((a, l)) => {
                // Digits only: `u8::from_str` would take a leading `+`.
                let digits = !l.is_empty() && l.bytes().all(|b| b.is_ascii_digit());
                let len: u8 = l
                    .parse()
                    .ok()
                    .filter(|l| digits && *l <= 32)
                    .ok_or_else(syntax)?;
                (a, len)
            }
            None => (t, 32),
        };
        let addr: Ipv4Addr = addr.parse().map_err(|_| syntax())?;
        Prefix::new(addr, len).map_err(|e| match e {
            PrefixError::HostBits { network, .. } => PrefixError::HostBits {
                given: t.to_string(),
                network,
            },
            e => e,
        })
    }
}

/// Which addresses a list of prefixes is about: what a prefix of it may hold.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PrefixRange {
    /// Group prefixes must hold some multicast group.
    Groups,
    /// Source prefixes must hold some address that is not multicast.
    Sources,
}

impl PrefixRange {
    /// Refuses a prefix that can match nothing of its kind (a group list naming a unicast
    /// range, a source list naming a multicast one): a mistake, never a policy.
    pub fn check(self, p: Prefix) -> Result<Prefix, PrefixError> {
        match self {
            PrefixRange::Groups if !p.overlaps(&MULTICAST) => Err(PrefixError::NotMulticast(p)),
            PrefixRange::Sources if MULTICAST.covers(&p) => Err(PrefixError::OnlyMulticast(p)),
            _ => Ok(p),
        }
    }
}

/// Allow and deny lists of prefixes for one kind of address (groups or sources).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AddressFilter {
    /// When not empty, only addresses in one of these prefixes are accepted.
    pub allow: Vec<Prefix>,
    /// Addresses in one of these prefixes are refused, whatever `allow` says.
    pub deny: Vec<Prefix>,
}

impl AddressFilter {
    /// No deny prefix matches `a`, and the allow list is empty or a prefix of it matches.
    pub fn accepts(&self, a: Ipv4Addr) -> bool {
        !self.deny.iter().any(|p| p.contains(a))
            && (self.allow.is_empty() || self.allow.iter().any(|p| p.contains(a)))
    }

    /// Accepts every address.
    pub fn is_open(&self) -> bool {
        self.allow.is_empty() && self.deny.is_empty()
    }

    /// Checks every prefix against `range`; the error names the first that does not fit.
    pub fn check(&self, range: PrefixRange) -> Result<(), PrefixError> {
        for p in self.allow.iter().chain(&self.deny) {
            range.check(*p)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Prefix {
        s.parse().unwrap()
    }

    fn a(s: &str) -> Ipv4Addr {
        s.parse().unwrap()
    }

    #[test]
    fn prefixes_read_and_print_back() {
        for (text, shown) in [
            ("239.255.0.0/16", "239.255.0.0/16"),
            ("239.1.2.3/32", "239.1.2.3/32"),
            ("239.1.2.3", "239.1.2.3/32"),
            (" 10.0.0.0/8 ", "10.0.0.0/8"),
            ("0.0.0.0/0", "0.0.0.0/0"),
        ] {
            assert_eq!(p(text).to_string(), shown, "{text}");
        }
    }

    #[test]
    fn bad_prefixes_are_named() {
        let err = |s: &str| s.parse::<Prefix>().unwrap_err().to_string();
        assert_eq!(
            err("239.1.2.3/16"),
            "'239.1.2.3/16' has host bits set (the prefix is 239.1.0.0/16)"
        );
        for bad in [
            "239.1.0.0/33",
            "239.1.0.0/",
            "239.1.0.0/+8",
            "239.1.0.0/-1",
            "239.1/16",
            "multicast",
            "",
            "239.1.0.0/16;239.2.0.0/16",
        ] {
            assert!(
                err(bad).starts_with(&format!("'{}' is not an IPv4 prefix", bad.trim())),
                "{bad}: {}",
                err(bad)
            );
        }
    }

    #[test]
    fn containment_and_overlap() {
        assert!(p("239.0.0.0/8").contains(a("239.255.1.1")));
        assert!(!p("239.0.0.0/8").contains(a("238.255.1.1")));
        assert!(p("0.0.0.0/0").contains(a("1.2.3.4")));
        assert!(p("239.1.2.3/32").contains(a("239.1.2.3")));
        assert!(!p("239.1.2.3/32").contains(a("239.1.2.4")));
        assert!(p("0.0.0.0/0").overlaps(&MULTICAST));
        assert!(p("239.0.0.0/8").overlaps(&MULTICAST));
        assert!(!p("10.0.0.0/8").overlaps(&MULTICAST));
        assert!(MULTICAST.covers(&p("239.0.0.0/8")));
        assert!(!MULTICAST.covers(&p("192.0.0.0/2")));
    }

    #[test]
    fn lists_must_fit_their_kind() {
        let g = PrefixRange::Groups;
        let s = PrefixRange::Sources;
        assert!(g.check(p("239.0.0.0/8")).is_ok());
        assert!(g.check(p("0.0.0.0/0")).is_ok());
        assert!(g.check(p("192.0.0.0/2")).is_ok(), "holds 224/4");
        assert_eq!(
            g.check(p("10.0.0.0/8")).unwrap_err().to_string(),
            "'10.0.0.0/8' holds no multicast group (groups are in 224.0.0.0/4)"
        );
        assert!(s.check(p("10.0.0.0/8")).is_ok());
        assert!(s.check(p("0.0.0.0/0")).is_ok());
        assert_eq!(
            s.check(p("239.0.0.0/8")).unwrap_err().to_string(),
            "'239.0.0.0/8' holds only multicast addresses, which are never sources"
        );
    }

    #[test]
    fn deny_wins_and_an_empty_allow_list_allows_everything() {
        let f = |allow: &[&str], deny: &[&str]| AddressFilter {
            allow: allow.iter().map(|s| p(s)).collect(),
            deny: deny.iter().map(|s| p(s)).collect(),
        };
        // (filter, address, accepted)
        let rows = [
            (f(&[], &[]), "239.1.1.1", true),
            (f(&[], &["239.255.0.0/16"]), "239.255.255.250", false),
            (f(&[], &["239.255.0.0/16"]), "239.1.1.1", true),
            (f(&["239.1.0.0/16"], &[]), "239.1.1.1", true),
            (f(&["239.1.0.0/16"], &[]), "239.2.1.1", false),
            (f(&["239.0.0.0/8"], &["239.1.2.3/32"]), "239.1.2.3", false),
            (f(&["239.0.0.0/8"], &["239.1.2.3/32"]), "239.1.2.4", true),
            (f(&["232.0.0.0/8", "239.1.0.0/16"], &[]), "232.9.9.9", true),
        ];
        for (filter, addr, want) in rows {
            assert_eq!(filter.accepts(a(addr)), want, "{filter:?} {addr}");
        }
        assert!(f(&[], &[]).is_open());
        assert!(!f(&[], &["239.0.0.0/8"]).is_open());
    }
}
