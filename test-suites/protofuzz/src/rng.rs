//! The deterministic random source of the generators.
//!
//! A campaign must replay the same cases byte for byte from its seed, on any machine and
//! any version of the dependencies, so the generator is SplitMix64 written out here and
//! every case draws from its own stream, derived from the seed, the protocol and the
//! case number: case 1,234 can be regenerated without generating the 1,233 before it.

/// SplitMix64 (Steele, Lea, Flood 2014): small, fast, and fully specified.
#[derive(Clone, Debug)]
pub struct Rng {
    state: u64,
}

impl Rng {
    /// The stream of one case.
    pub fn for_case(seed: u64, protocol: &str, index: u64) -> Rng {
        let mut mixed = seed ^ 0x9e37_79b9_7f4a_7c15;
        for byte in protocol.bytes() {
            mixed = (mixed ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3);
        }
        let mut rng = Rng {
            state: mixed ^ index.wrapping_mul(0xd1b5_4a32_d192_ed03),
        };
        rng.next_u64();
        rng
    }

    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number below `bound` (0 when `bound` is 0).
    /// A number below `bound` (0 when `bound` is 0), as a byte.
    pub fn below_u8(&mut self, bound: u8) -> u8 {
        u8::try_from(self.below(u64::from(bound))).unwrap_or(0)
    }

    pub fn below(&mut self, bound: u64) -> u64 {
        if bound == 0 {
            0
        } else {
            self.next_u64() % bound
        }
    }

    /// True with probability `1 / one_in`.
    pub fn chance(&mut self, one_in: u64) -> bool {
        self.below(one_in.max(1)) == 0
    }

    pub fn byte(&mut self) -> u8 {
        (self.next_u64() >> 56) as u8
    }

    /// One element of a non-empty slice, or `fallback` for an empty one.
    pub fn pick<T: Copy>(&mut self, items: &[T], fallback: T) -> T {
        let index = usize::try_from(self.below(items.len() as u64)).unwrap_or(0);
        items.get(index).copied().unwrap_or(fallback)
    }

    pub fn bytes(&mut self, count: usize) -> Vec<u8> {
        (0..count).map(|_| self.byte()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_stream_and_cases_differ() {
        let a: Vec<u64> = (0..4)
            .map(|_| Rng::for_case(7, "mqtt", 3).next_u64())
            .collect();
        assert!(a.windows(2).all(|w| w[0] == w[1]));
        assert_ne!(
            Rng::for_case(7, "mqtt", 3).next_u64(),
            Rng::for_case(7, "mqtt", 4).next_u64()
        );
        assert_ne!(
            Rng::for_case(7, "mqtt", 3).next_u64(),
            Rng::for_case(7, "coap", 3).next_u64()
        );
        assert_eq!(Rng::for_case(1, "x", 0).below(0), 0);
    }
}
