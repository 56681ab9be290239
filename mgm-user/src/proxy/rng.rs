//! The upstream host's randomness, injected: report delays are drawn from a [`Jitter`], a
//! seeded [`SplitMix64`] in the daemon, a scripted one in tests, so every run is reproducible.

/// A source of random delays.
pub trait Jitter {
    /// A delay in the open interval (0, `max_ns`) ns, as RFC 3376 §5.1 / §5.2 ask; `max_ns`
    /// itself when `max_ns` ≤ 1 (no such interval).
    fn delay(&mut self, max_ns: u64) -> u64;
}

/// SplitMix64 (Steele, Lea, Flood 2014; the seeding generator of `java.util.SplittableRandom`):
/// 64 bits of state, full period, good enough to spread report timers, exactly reproducible.
#[derive(Clone, Debug)]
pub struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    pub fn new(seed: u64) -> SplitMix64 {
        SplitMix64 { state: seed }
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in [0, n) (multiply-shift; n = 0 gives 0).
    pub fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }
}

impl Jitter for SplitMix64 {
    fn delay(&mut self, max_ns: u64) -> u64 {
        if max_ns <= 1 {
            return max_ns;
        }
        1 + self.below(max_ns - 1)
    }
}
