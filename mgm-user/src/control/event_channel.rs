//! The `mgm events` lines from the daemon's loop to the subscribed connections: a broadcast
//! channel made at the first subscription. Its slots (one per line a slow subscriber may lag
//! behind) are all allocated when it is made; a daemon that nobody watches does not hold them.
use super::api::EventLine;
use std::sync::{Arc, OnceLock};
use tokio::sync::broadcast;

/// Lines a subscriber may fall behind before it is told how many it missed: 4 096 slots of a
/// pointer each (the lines are shared, not copied), 128 KiB once someone subscribed.
pub const EVENT_LAG: usize = 4096;

/// The sending side, shared by the loop (publishes) and the control server (subscribes).
#[derive(Clone, Debug)]
pub struct EventSender {
    channel: Arc<OnceLock<broadcast::Sender<Arc<EventLine>>>>,
    capacity: usize,
}

impl EventSender {
    /// A sender whose channel, of `capacity` slots, is made by the first [`Self::subscribe`].
    pub fn new(capacity: usize) -> Self {
        EventSender {
            channel: Arc::new(OnceLock::new()),
            capacity,
        }
    }

    /// Subscribers listening now (0 before the first subscription).
    pub fn receiver_count(&self) -> usize {
        self.channel
            .get()
            .map_or(0, broadcast::Sender::receiver_count)
    }

    /// Sends `line` to the subscribers; dropped when there are none.
    pub fn send(&self, line: Arc<EventLine>) {
        if let Some(tx) = self.channel.get() {
            // An error only says that nobody listens any more.
            let _ = tx.send(line);
        }
    }

    /// A new subscriber: the lines sent from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<EventLine>> {
        self.channel
            .get_or_init(|| broadcast::channel(self.capacity).0)
            .subscribe()
    }

    /// Whether the channel's slots exist (someone subscribed once).
    pub fn allocated(&self) -> bool {
        self.channel.get().is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::control::api::{Event, EventLine};

    fn line() -> Arc<EventLine> {
        Arc::new(EventLine {
            event: Event::IgmpJoin,
            protocol: "igmp".into(),
            interface: None,
            source: None,
            group: None,
            time_ns: 1,
        })
    }

    #[test]
    fn no_slots_until_someone_subscribes() {
        let tx = EventSender::new(8);
        tx.send(line());
        assert!(!tx.allocated(), "publishing to nobody allocates nothing");
        assert_eq!(tx.receiver_count(), 0);
        let mut rx = tx.clone().subscribe();
        assert!(tx.allocated());
        assert_eq!(tx.receiver_count(), 1);
        tx.send(line());
        assert_eq!(
            rx.try_recv().unwrap().time_ns,
            1,
            "lines sent after subscribing arrive"
        );
        assert!(
            rx.try_recv().is_err(),
            "the line sent before is not replayed"
        );
        drop(rx);
        assert_eq!(tx.receiver_count(), 0);
    }
}
