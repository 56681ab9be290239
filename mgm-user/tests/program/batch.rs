//! The daemon's batched map writes (`sys::bpf::write_queue`, `sys::bpf::batch`) against the
//! object's real `MGM_MEMBERS`: what a ring batch queues lands in the map at the flush, and an
//! entry the kernel refuses is counted while the others of its batch still land.
use super::support::*;
use mgm_common::maps::MAX_MEMBERS;
use mgm_user::sys::bpf::batch;
use mgm_user::sys::bpf::maps::merge_member;
use mgm_user::sys::bpf::write_queue::WriteQueue;

fn key(i: u32) -> MemberKey {
    MemberKey {
        ifindex: LO,
        group: [239, (i >> 16) as u8, (i >> 8) as u8, i as u8],
    }
}

fn state(i: u32) -> MemberState {
    MemberState {
        group_expires_ns: 1_000_000 + u64::from(i),
        filter_mode: FILTER_MODE_EXCLUDE,
        compat_version: 2,
        last_reporter: HOST,
        ..MemberState::default()
    }
}

/// Flushes `q` into the fixture's members; the failures, as text.
fn flush(fx: &mut Fx, q: &mut WriteQueue<MemberKey, MemberState>) -> Vec<String> {
    let mut failed = Vec::new();
    q.flush(&mut fx.members, merge_member, &mut |e| {
        failed.push(format!("{e:#}"))
    });
    failed
}

#[test]
fn a_batch_of_joins_lands_in_the_map_at_the_flush() {
    let mut fx = fixture();
    let mut q = WriteQueue::new(MAP_MEMBERS);
    for i in 0..300 {
        q.push_write(key(i), state(i), true);
    }
    assert_eq!(
        q.pending(&key(7)),
        Some(Some(state(7))),
        "reads see the queue"
    );
    assert!(fx.members.get(&key(7), 0).is_err(), "nothing written yet");
    assert_eq!(flush(&mut fx, &mut q), Vec::<String>::new());
    assert!(q.is_empty());
    assert_eq!(q.fallbacks, 0);
    for i in 0..300 {
        assert_eq!(fx.members.get(&key(i), 0).expect("written"), state(i));
    }
    // Their deletes, one of a key never written among them (no failure), in one batch too.
    for i in (0..300).step_by(2) {
        q.push_delete(key(i));
    }
    q.push_delete(key(1_000));
    assert_eq!(
        q.pending(&key(2)),
        Some(None),
        "a queued delete reads as gone"
    );
    assert_eq!(flush(&mut fx, &mut q), Vec::<String>::new());
    assert_eq!(q.fallbacks, 0, "an absent key is skipped, not a fallback");
    for i in 0..300 {
        assert_eq!(fx.members.get(&key(i), 0).is_ok(), i % 2 == 1, "entry {i}");
    }
}

/// The kernel's batch update takes no `BPF_NOEXIST`: a create in a batch overwrites an entry left
/// there (stale: the classifier never creates entries), and the rest of the batch lands.
#[test]
fn a_batched_create_overwrites_an_entry_left_there_and_the_rest_lands() {
    let mut fx = fixture();
    let stale = MemberState {
        group_expires_ns: 9_000_000,
        fast_refreshes: 3,
        ..state(5)
    };
    fx.add_member(key(5).group, stale);
    let mut q = WriteQueue::new(MAP_MEMBERS);
    for i in 0..10 {
        q.push_write(key(i), state(i), true);
    }
    assert_eq!(flush(&mut fx, &mut q), Vec::<String>::new());
    assert_eq!(q.fallbacks, 0);
    for i in 0..10 {
        assert_eq!(
            fx.members.get(&key(i), 0).expect("written"),
            state(i),
            "entry {i}"
        );
    }
}

#[test]
fn an_entry_the_kernel_refuses_is_counted_and_the_others_land() {
    let mut fx = fixture();
    // The map full: a new entry is refused (E2BIG), an existing one can still be overwritten.
    let keys: Vec<MemberKey> = (0..MAX_MEMBERS).map(key).collect();
    let values: Vec<MemberState> = (0..MAX_MEMBERS).map(state).collect();
    batch::update(&fx.members, &keys, &values, 0).expect("fill MGM_MEMBERS");
    let mut q = WriteQueue::new(MAP_MEMBERS);
    let newer = |i| MemberState {
        group_expires_ns: 5_000_000,
        ..state(i)
    };
    q.push_write(key(MAX_MEMBERS + 1), state(0), false);
    q.push_write(key(10), newer(10), false);
    q.push_write(key(20), newer(20), false);
    let failed = flush(&mut fx, &mut q);
    let landed = [10, 20].map(|i| fx.members.get(&key(i), 0).ok());
    batch::delete(&fx.members, &keys).expect("empty MGM_MEMBERS again");
    assert_eq!(landed, [Some(newer(10)), Some(newer(20))]);
    assert_eq!(failed.len(), 1, "{failed:?}");
    assert!(failed[0].contains("MGM_MEMBERS"), "{}", failed[0]);
    assert_eq!(q.fallbacks, 1);
    assert!(fx.members.get(&key(MAX_MEMBERS + 1), 0).is_err());
    assert!(q.is_empty());
}
