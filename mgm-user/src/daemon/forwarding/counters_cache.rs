//! The MFE counters by incoming interface, as a scrape or `mgm show stats` reads them: from
//! the kernel (one `SIOCGETSGCNT` per entry) at most once per [`REREAD_NS`], answered from the
//! last read in between. So the kernel work of the figures is bounded however often they are
//! asked for; they may be up to that old.

use crate::manager::MfeCounters;
use std::collections::BTreeMap;

/// Least time between two reads of the kernel's counters.
pub(crate) const REREAD_NS: u64 = 1_000_000_000;

/// The sums by interface name.
pub(crate) type ByInterface = BTreeMap<String, MfeCounters>;

/// The last read and when it was made.
#[derive(Debug, Default)]
pub(crate) struct CountersCache {
    last: Option<(u64, ByInterface)>,
}

impl CountersCache {
    /// The counters at `now_ns`: `read` from the kernel when the last read is [`REREAD_NS`]
    /// old (or there is none), else the last read.
    pub(crate) fn get(&mut self, now_ns: u64, read: impl FnOnce() -> ByInterface) -> ByInterface {
        match &self.last {
            Some((at, counters)) if now_ns < at.saturating_add(REREAD_NS) => counters.clone(),
            _ => {
                let counters = read();
                self.last = Some((now_ns, counters.clone()));
                counters
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: u64 = 5_000_000_000;

    fn counted(packets: u64) -> ByInterface {
        let c = MfeCounters {
            packets,
            ..MfeCounters::default()
        };
        ByInterface::from([("eth1".to_string(), c)])
    }

    #[test]
    fn a_second_look_within_the_period_reads_nothing() {
        let mut cache = CountersCache::default();
        let first = cache.get(T0, || counted(10));
        assert_eq!(first, counted(10));
        let second = cache.get(T0 + REREAD_NS - 1, || panic!("read within the period"));
        assert_eq!(second, first, "the last read");
        let third = cache.get(T0 + REREAD_NS, || counted(12));
        assert_eq!(third, counted(12), "read again once the period is over");
    }
}
