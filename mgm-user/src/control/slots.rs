//! Connection slots of the control socket, by access level: read-only peers (the
//! `--socket-read-group`) may hold only part of them, so that however many `mgm events` or
//! `mgm show` they keep open, root, `mgm reload` and a routing daemon's handler re-registering
//! after a restart still get in.
use super::peer::Access;
use std::sync::Arc;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// The slots of the control socket: `max` in all, of which read-only peers may hold at most
/// `max - reserved`.
pub struct Slots {
    all: Arc<Semaphore>,
    readers: Arc<Semaphore>,
}

/// A connection's hold on its slots; they are free again when it is dropped.
#[derive(Debug)]
pub struct Slot {
    _all: OwnedSemaphorePermit,
    _reader: Option<OwnedSemaphorePermit>,
}

impl Slots {
    /// `max` slots, `reserved` of them (at most `max - 1`) only for full access.
    pub fn new(max: usize, reserved: usize) -> Self {
        let reserved = reserved.min(max.saturating_sub(1));
        Slots {
            all: Arc::new(Semaphore::new(max)),
            readers: Arc::new(Semaphore::new(max - reserved)),
        }
    }

    /// A slot for a peer with `access`, or `None` when its share is in use.
    pub fn take(&self, access: Access) -> Option<Slot> {
        let reader = match access {
            Access::Full => None,
            Access::ReadOnly | Access::None => Some(self.readers.clone().try_acquire_owned().ok()?),
        };
        let all = self.all.clone().try_acquire_owned().ok()?;
        Some(Slot {
            _all: all,
            _reader: reader,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::{Access, Slots};

    #[test]
    fn readers_cannot_take_the_slots_kept_for_full_access() {
        let slots = Slots::new(4, 1);
        let readers: Vec<_> = (0..3)
            .map(|_| slots.take(Access::ReadOnly).expect("a reader's slot"))
            .collect();
        assert!(
            slots.take(Access::ReadOnly).is_none(),
            "the readers' share is 3"
        );
        let full = slots.take(Access::Full).expect("the kept slot");
        assert!(slots.take(Access::Full).is_none(), "all 4 in use");
        drop(full);
        // A reader leaving frees a slot for either kind.
        drop(readers);
        let fulls: Vec<_> = (0..4).map(|_| slots.take(Access::Full)).collect();
        assert!(
            fulls.iter().all(Option::is_some),
            "full access may use every slot"
        );
        assert!(slots.take(Access::ReadOnly).is_none());
    }

    #[test]
    fn a_reservation_never_locks_readers_out_entirely() {
        let slots = Slots::new(2, 5);
        assert!(slots.take(Access::ReadOnly).is_some());
    }
}
