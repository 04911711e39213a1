//! SHA-256 of up to eight short values at once, one in each 32-bit lane of
//! two 128-bit vectors.
//!
//! WebAssembly has no SHA instructions, so the component hashes in
//! software, and an event's eight to eleven hashes, one by one, were a
//! sixth of its time there. Each value Meta matches on (an email, a phone
//! number, a name) fits in one 64-byte block, and SHA-256's rounds only
//! add, shift and mix 32-bit words: eight blocks go through the rounds
//! together, four in each of two `simd128` vectors.
//!
//! [`digest_into`] is the entry point. In WebAssembly it runs the rounds on
//! `v128` (the component is built with `simd128`, see `.cargo/config.toml`);
//! elsewhere the processor's SHA instructions (through `sha2`) are
//! faster still, so it hashes each value on its own. The rounds are written
//! once, over [`Lanes`], and tested natively on plain arrays against `sha2`.

use crate::normalize::Sha256Digest;
use sha2::{Digest, Sha256};

/// The longest value hashed in one block: 64 bytes less the `0x80` marker
/// and the 8-byte length that padding adds.
pub const ONE_BLOCK: usize = 55;

/// The digests of `values` written into `out` (as long as `values`), in
/// order: eight at a time in WebAssembly, one by one elsewhere.
pub fn digest_into(values: &[&[u8]], out: &mut [Sha256Digest]) {
    assert_eq!(values.len(), out.len(), "one digest per value");
    if cfg!(target_arch = "wasm32") {
        in_lanes::<Vector, WIDTH>(values, out);
    } else {
        for (v, o) in values.iter().zip(out) {
            *o = alone(v);
        }
    }
}

/// [`digest_into`] on `N` lanes `L`: values of one block `N` at a time,
/// longer ones (seldom matched on) and a last group of fewer than
/// [`FEWEST`] one by one.
fn in_lanes<L: Lanes<N>, const N: usize>(values: &[&[u8]], out: &mut [Sha256Digest]) {
    let mut short = values.iter().zip(out.iter_mut()).filter_map(|(v, o)| {
        if v.len() <= ONE_BLOCK {
            Some((*v, o))
        } else {
            *o = alone(v);
            None
        }
    });
    loop {
        let group: [Option<(&[u8], &mut Sha256Digest)>; N] = std::array::from_fn(|_| short.next());
        let filled = group.iter().take_while(|g| g.is_some()).count();
        if filled < FEWEST {
            for (v, o) in group.into_iter().flatten() {
                *o = alone(v);
            }
            return;
        }
        // A lane without a value hashes an empty block, and its digest is
        // not kept.
        let blocks = group
            .each_ref()
            .map(|g| g.as_ref().map_or([0; 64], |(v, _)| padded(v)));
        for (slot, digest) in group.into_iter().zip(one_block_each::<L, N>(&blocks)) {
            if let Some((_, o)) = slot {
                *o = Sha256Digest(digest);
            }
        }
    }
}

/// The digest of one value, hashed on its own (by the CPU's SHA
/// instructions where it has them).
fn alone(value: &[u8]) -> Sha256Digest {
    Sha256Digest(Sha256::digest(value).into())
}

/// `value` (at most [`ONE_BLOCK`] bytes) padded to SHA-256's one block.
fn padded(value: &[u8]) -> [u8; 64] {
    debug_assert!(value.len() <= ONE_BLOCK);
    let mut block = [0u8; 64];
    block[..value.len()].copy_from_slice(value);
    block[value.len()] = 0x80;
    block[56..].copy_from_slice(&(value.len() as u64 * 8).to_be_bytes());
    block
}

/// `N` 32-bit words side by side, and the operations SHA-256's rounds
/// apply to each of them.
pub trait Lanes<const N: usize>: Copy {
    /// The words, lane 0 first.
    fn new(words: [u32; N]) -> Self;
    /// The words, lane 0 first.
    fn words(self) -> [u32; N];
    /// Each lane's sum, wrapping.
    fn add(self, other: Self) -> Self;
    /// Bitwise exclusive or.
    fn xor(self, other: Self) -> Self;
    /// Bitwise and.
    fn and(self, other: Self) -> Self;
    /// `self & !other`.
    fn and_not(self, other: Self) -> Self;
    /// Each lane shifted right by `n` bits.
    fn shr(self, n: u32) -> Self;
    /// Each lane shifted left by `n` bits.
    fn shl(self, n: u32) -> Self;
}

/// Lanes as a plain array: the reference the vectors are tested against.
impl<const N: usize> Lanes<N> for [u32; N] {
    fn new(words: [u32; N]) -> Self {
        words
    }
    fn words(self) -> [u32; N] {
        self
    }
    fn add(self, o: Self) -> Self {
        std::array::from_fn(|i| self[i].wrapping_add(o[i]))
    }
    fn xor(self, o: Self) -> Self {
        std::array::from_fn(|i| self[i] ^ o[i])
    }
    fn and(self, o: Self) -> Self {
        std::array::from_fn(|i| self[i] & o[i])
    }
    fn and_not(self, o: Self) -> Self {
        std::array::from_fn(|i| self[i] & !o[i])
    }
    fn shr(self, n: u32) -> Self {
        self.map(|w| w >> n)
    }
    fn shl(self, n: u32) -> Self {
        self.map(|w| w << n)
    }
}

/// The fewest values worth a pass through the lanes: a pass costs about
/// as much as hashing three or four values one by one.
const FEWEST: usize = 4;

/// How many values the rounds take at once: two `simd128` vectors of four.
/// A round is a long chain of dependent steps, so one vector would leave
/// the processor waiting; two independent ones fill those waits.
const WIDTH: usize = 8;

/// The lanes the rounds run on: two `simd128` vectors in WebAssembly, the
/// array elsewhere (where [`digest_into`] does not use them).
#[cfg(target_arch = "wasm32")]
type Vector = Pair;
#[cfg(not(target_arch = "wasm32"))]
type Vector = [u32; WIDTH];

/// Eight lanes as two `simd128` vectors.
#[cfg(target_arch = "wasm32")]
#[derive(Clone, Copy)]
struct Pair(core::arch::wasm32::v128, core::arch::wasm32::v128);

#[cfg(target_arch = "wasm32")]
impl Lanes<WIDTH> for Pair {
    fn new(w: [u32; WIDTH]) -> Self {
        use core::arch::wasm32::u32x4;
        Pair(u32x4(w[0], w[1], w[2], w[3]), u32x4(w[4], w[5], w[6], w[7]))
    }
    fn words(self) -> [u32; WIDTH] {
        use core::arch::wasm32::u32x4_extract_lane as lane;
        let (a, b) = (self.0, self.1);
        [
            lane::<0>(a),
            lane::<1>(a),
            lane::<2>(a),
            lane::<3>(a),
            lane::<0>(b),
            lane::<1>(b),
            lane::<2>(b),
            lane::<3>(b),
        ]
    }
    fn add(self, o: Self) -> Self {
        use core::arch::wasm32::u32x4_add;
        Pair(u32x4_add(self.0, o.0), u32x4_add(self.1, o.1))
    }
    fn xor(self, o: Self) -> Self {
        use core::arch::wasm32::v128_xor;
        Pair(v128_xor(self.0, o.0), v128_xor(self.1, o.1))
    }
    fn and(self, o: Self) -> Self {
        use core::arch::wasm32::v128_and;
        Pair(v128_and(self.0, o.0), v128_and(self.1, o.1))
    }
    fn and_not(self, o: Self) -> Self {
        use core::arch::wasm32::v128_andnot;
        Pair(v128_andnot(self.0, o.0), v128_andnot(self.1, o.1))
    }
    fn shr(self, n: u32) -> Self {
        use core::arch::wasm32::u32x4_shr;
        Pair(u32x4_shr(self.0, n), u32x4_shr(self.1, n))
    }
    fn shl(self, n: u32) -> Self {
        use core::arch::wasm32::u32x4_shl;
        Pair(u32x4_shl(self.0, n), u32x4_shl(self.1, n))
    }
}

const K: [u32; 64] = [
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
];

const H0: [u32; 8] = [
    0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
];

// SHA-256's four mixing functions, each three rotations (or two and a
// shift) xored together. WebAssembly has no vector rotation, so each
// rotation is its two shifts; all shifts are of the same word, and the
// xors that join them are a tree, so few steps depend on each other.

/// Σ0: rotations by 2, 13 and 22.
fn big_sigma0<L: Lanes<N>, const N: usize>(a: L) -> L {
    let right = a.shr(2).xor(a.shr(13)).xor(a.shr(22));
    let left = a.shl(30).xor(a.shl(19)).xor(a.shl(10));
    right.xor(left)
}

/// Σ1: rotations by 6, 11 and 25.
fn big_sigma1<L: Lanes<N>, const N: usize>(e: L) -> L {
    let right = e.shr(6).xor(e.shr(11)).xor(e.shr(25));
    let left = e.shl(26).xor(e.shl(21)).xor(e.shl(7));
    right.xor(left)
}

/// σ0: rotations by 7 and 18, and a shift by 3.
fn small_sigma0<L: Lanes<N>, const N: usize>(x: L) -> L {
    let right = x.shr(7).xor(x.shr(18)).xor(x.shr(3));
    let left = x.shl(25).xor(x.shl(14));
    right.xor(left)
}

/// σ1: rotations by 17 and 19, and a shift by 10.
fn small_sigma1<L: Lanes<N>, const N: usize>(x: L) -> L {
    let right = x.shr(17).xor(x.shr(19)).xor(x.shr(10));
    let left = x.shl(15).xor(x.shl(13));
    right.xor(left)
}

/// The SHA-256 of `N` messages that are each one padded block: the
/// compression function run once, on all of them at a time.
pub fn one_block_each<L: Lanes<N>, const N: usize>(blocks: &[[u8; 64]; N]) -> [[u8; 32]; N] {
    let word = |lane: usize, t: usize| {
        u32::from_be_bytes(
            blocks[lane][4 * t..4 * t + 4]
                .try_into()
                .expect("four bytes"),
        )
    };
    let mut w = [L::new([0; N]); 64];
    for (t, slot) in w.iter_mut().enumerate().take(16) {
        *slot = L::new(std::array::from_fn(|lane| word(lane, t)));
    }
    for t in 16..64 {
        w[t] = w[t - 16]
            .add(small_sigma0(w[t - 15]))
            .add(w[t - 7])
            .add(small_sigma1(w[t - 2]));
    }
    let start = H0.map(|h| L::new([h; N]));
    let [mut a, mut b, mut c, mut d, mut e, mut f, mut g, mut h] = start;
    for (k, w) in K.iter().zip(w) {
        let ch = e.and(f).xor(g.and_not(e));
        let t1 = h.add(big_sigma1(e)).add(ch).add(L::new([*k; N])).add(w);
        let maj = a.and(b).xor(a.and(c)).xor(b.and(c));
        let t2 = big_sigma0(a).add(maj);
        h = g;
        g = f;
        f = e;
        e = d.add(t1);
        d = c;
        c = b;
        b = a;
        a = t1.add(t2);
    }
    let state = [a, b, c, d, e, f, g, h];
    let mut out = [[0u8; 32]; N];
    for (i, (s, h0)) in state.into_iter().zip(start).enumerate() {
        for (lane, word) in s.add(h0).words().into_iter().enumerate() {
            out[lane][4 * i..4 * i + 4].copy_from_slice(&word.to_be_bytes());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reference(value: &[u8]) -> [u8; 32] {
        Sha256::digest(value).into()
    }

    #[test]
    fn blocks_hash_as_sha256_does_at_every_length_that_fits_one_block() {
        // Every length from 0 to 55 in some lane, with bytes of all values.
        for len in 0..=ONE_BLOCK {
            let values: [Vec<u8>; 8] = std::array::from_fn(|lane| {
                let len = (len + lane * 7) % (ONE_BLOCK + 1);
                (0..len)
                    .map(|i| (i * 37 + lane * 101 + len) as u8)
                    .collect()
            });
            let blocks = values.each_ref().map(|v| padded(v));
            let digests = one_block_each::<[u32; 8], 8>(&blocks);
            for (value, digest) in values.iter().zip(digests) {
                assert_eq!(digest, reference(value), "a value of {} bytes", value.len());
            }
        }
    }

    #[test]
    fn each_value_gets_its_own_digest_in_order_whatever_its_length() {
        let long = "x".repeat(200);
        let base: [&[u8]; 6] = [
            b"ada@example.com",
            b"",
            long.as_bytes(),
            b"16505551212",
            &long.as_bytes()[..ONE_BLOCK],
            &long.as_bytes()[..ONE_BLOCK + 1],
        ];
        // Every count from none to two groups and a part, so that a group
        // is full, partly full, and interrupted by values too long for it.
        for n in 0..=19 {
            let values: Vec<&[u8]> = base.iter().cycle().take(n).copied().collect();
            for lanes in [true, false] {
                let mut out = vec![Sha256Digest([0; 32]); n];
                if lanes {
                    in_lanes::<[u32; WIDTH], WIDTH>(&values, &mut out);
                } else {
                    digest_into(&values, &mut out);
                }
                for (value, digest) in values.iter().zip(&out) {
                    assert_eq!(digest.0, reference(value), "{n} values");
                }
            }
        }
        let mut one = [Sha256Digest([0; 32])];
        in_lanes::<[u32; WIDTH], WIDTH>(&[b"abc"], &mut one);
        assert_eq!(
            one[0].to_string(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
