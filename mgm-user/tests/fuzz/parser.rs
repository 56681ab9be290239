//! The IGMP wire parser (`mgm_common::igmp`) on arbitrary bytes and on mutated valid messages.
use super::seeds::{corpus, seal};
use mgm_common::igmp::{checksum, parse, parse_strict, parse_truncated, IgmpMessage};
use proptest::collection::vec;
use proptest::prelude::*;

/// One change to a valid message.
#[derive(Clone, Debug)]
enum Mutation {
    /// XOR the byte at (index modulo the length) with a value.
    Flip(usize, u8),
    /// Keep only the first (index modulo the length + 1) bytes.
    Truncate(usize),
    /// Append bytes.
    Extend(Vec<u8>),
    /// Write a correct checksum, so the mutation reaches the parser's deeper checks.
    Reseal,
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        4 => (any::<usize>(), 1..=255u8).prop_map(|(i, x)| Mutation::Flip(i, x)),
        1 => any::<usize>().prop_map(Mutation::Truncate),
        1 => vec(any::<u8>(), 1..24).prop_map(Mutation::Extend),
        3 => Just(Mutation::Reseal),
    ]
}

fn mutate(mut b: Vec<u8>, ms: &[Mutation]) -> Vec<u8> {
    for m in ms {
        match m {
            Mutation::Flip(i, x) if !b.is_empty() => {
                let n = b.len();
                b[i % n] ^= x;
            }
            Mutation::Truncate(i) => b.truncate(i % (b.len() + 1)),
            Mutation::Extend(more) => b.extend_from_slice(more),
            Mutation::Reseal => seal(&mut b),
            Mutation::Flip(..) => {}
        }
    }
    b
}

fn mutated_message() -> impl Strategy<Value = Vec<u8>> {
    let seeds = corpus();
    (0..seeds.len(), vec(mutation(), 0..6)).prop_map(move |(i, ms)| mutate(seeds[i].clone(), &ms))
}

/// Everything a consumer may do with a parsed message, with the invariants that hold for it.
/// A capture (`whole == false`) may keep a record whose auxiliary data was cut off.
fn walk(bytes: &[u8], msg: &IgmpMessage<'_>, whole: bool) {
    match msg {
        IgmpMessage::Query(q) => {
            let n = q.sources.count();
            assert!(
                12 + 4 * n <= bytes.len().max(12),
                "{n} sources in {} bytes",
                bytes.len()
            );
        }
        IgmpMessage::V3Report(r) => {
            let mut consumed = 8;
            let mut seen = 0u16;
            for rec in r.records() {
                let sources = rec.sources.count();
                consumed += 8 + 4 * sources;
                if whole {
                    consumed += 4 * usize::from(rec.aux_words);
                }
                seen += 1;
            }
            assert_eq!(seen, r.complete_records());
            assert!(
                consumed <= bytes.len(),
                "records span {consumed} of {} bytes",
                bytes.len()
            );
        }
        IgmpMessage::V1Report { .. }
        | IgmpMessage::V2Report { .. }
        | IgmpMessage::V2Leave { .. } => {
            assert!(bytes.len() >= 8);
        }
    }
}

fn check(bytes: &[u8]) {
    let lenient = parse(bytes);
    let strict = parse_strict(bytes);
    let truncated = parse_truncated(bytes);
    if let Ok(m) = &strict {
        assert_eq!(
            lenient.as_ref(),
            Ok(m),
            "strict accepts what lenient refuses"
        );
    }
    if let Ok(m) = &lenient {
        assert_eq!(checksum(bytes), 0, "accepted with a bad checksum: {m:?}");
        walk(bytes, m, true);
        let cut = truncated
            .as_ref()
            .expect("a whole message must parse as a capture too");
        walk(bytes, cut, true);
        if let IgmpMessage::V3Report(r) = m {
            assert_eq!(r.lost_records(), 0);
        }
    }
    if let Ok(m) = &truncated {
        walk(bytes, m, false);
    }
    // Errors name the problem: Display never panics and is never empty.
    for e in [lenient.err(), strict.err(), truncated.err()]
        .into_iter()
        .flatten()
    {
        assert!(!e.to_string().is_empty());
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(super_cases()))]

    #[test]
    fn arbitrary_bytes(bytes in vec(any::<u8>(), 0..1600)) {
        check(&bytes);
    }

    #[test]
    fn mutated_valid_messages(bytes in mutated_message()) {
        check(&bytes);
    }
}

/// Default cases per target in `cargo xtask test` (PROPTEST_CASES overrides).
fn super_cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(4096)
}

#[test]
fn every_seed_is_valid() {
    for (i, s) in corpus().iter().enumerate() {
        assert!(parse(s).is_ok(), "seed {i}: {:?}", parse(s));
    }
}
