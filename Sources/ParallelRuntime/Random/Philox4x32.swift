import Foundation

/// The Philox4x32-10 counter-based random number generator (Salmon, Moraes, Dror and Shaw,
/// "Parallel random numbers: as easy as 1, 2, 3", SC'11).
///
/// A bijection of a 128-bit counter under a 64-bit key: `block(counter)` is a pure function,
/// so any element of a stream can be computed directly (O(1) seek) and the value does not
/// depend on which thread computes it, or in which order. Ten rounds, as in Random123's
/// `philox4x32_10`; the three Random123 known-answer vectors are in the tests.
///
/// This type is the raw generator. `RandomStream` fixes how seeds, purposes, steps and
/// element indices map to keys and counters (stream format v1).
public struct Philox4x32: Sendable, Hashable {
    /// The 64-bit key as two 32-bit words (Random123's `k[0]`, `k[1]`).
    public var key: SIMD2<UInt32>

    /// The multiplier of counter word 0 in each round (Random123 `PHILOX_M4x32_0`).
    public static let multiplier0: UInt32 = 0xD251_1F53
    /// The multiplier of counter word 2 in each round (Random123 `PHILOX_M4x32_1`).
    public static let multiplier1: UInt32 = 0xCD9E_8D57
    /// Added to key word 0 between rounds (Random123 `PHILOX_W32_0`, golden ratio).
    public static let keyIncrement0: UInt32 = 0x9E37_79B9
    /// Added to key word 1 between rounds (Random123 `PHILOX_W32_1`, √3 − 1).
    public static let keyIncrement1: UInt32 = 0xBB67_AE85
    /// Rounds per block.
    public static let rounds = 10

    /// Creates a generator with the given key words.
    public init(key: SIMD2<UInt32>) {
        self.key = key
    }

    /// Creates a generator whose key is a 64-bit value: low word `k[0]`, high word `k[1]`.
    public init(key: UInt64) {
        self.key = SIMD2(UInt32(truncatingIfNeeded: key), UInt32(truncatingIfNeeded: key >> 32))
    }

    /// The four output words for a 128-bit counter (`c[0]` … `c[3]`).
    @inlinable
    public func block(_ counter: SIMD4<UInt32>) -> SIMD4<UInt32> {
        var x0 = counter[0], x1 = counter[1], x2 = counter[2], x3 = counter[3]
        var k0 = key[0], k1 = key[1]
        for round in 0..<Self.rounds {
            if round > 0 {
                k0 &+= Self.keyIncrement0
                k1 &+= Self.keyIncrement1
            }
            let product0 = Self.multiplier0.multipliedFullWidth(by: x0)
            let product1 = Self.multiplier1.multipliedFullWidth(by: x2)
            let y0 = product1.high ^ x1 ^ k0
            let y1 = product1.low
            let y2 = product0.high ^ x3 ^ k1
            let y3 = product0.low
            x0 = y0; x1 = y1; x2 = y2; x3 = y3
        }
        return SIMD4(x0, x1, x2, x3)
    }

    /// Output words for the counter `(low(c01), high(c01), low(c23), high(c23))`.
    @inlinable
    public func block(low: UInt64, high: UInt64) -> SIMD4<UInt32> {
        block(SIMD4(UInt32(truncatingIfNeeded: low), UInt32(truncatingIfNeeded: low >> 32),
                    UInt32(truncatingIfNeeded: high), UInt32(truncatingIfNeeded: high >> 32)))
    }
}

extension Philox4x32 {
    /// A uniform `Float` in [0, 1) from the top 24 bits of `word`: `Float(word >> 8) · 2⁻²⁴`.
    /// Every value is a multiple of 2⁻²⁴ and each is equally likely; 1 is never returned.
    @inlinable
    public static func unitFloat(_ word: UInt32) -> Float {
        Float(word >> 8) * 0x1p-24
    }

    /// A uniform `Double` in (0, 1] from all 32 bits of `word`: `(word + 1) · 2⁻³²`.
    /// Never 0, so its logarithm is finite (Box–Muller).
    @inlinable
    public static func openClosedUnitDouble(_ word: UInt32) -> Double {
        (Double(word) + 1) * 0x1p-32
    }

    /// Two independent standard normal values from two words by the Box–Muller transform:
    /// `r = √(−2 ln u₁)`, `θ = 2π u₂`, returning `(r cos θ, r sin θ)` rounded to `Float`, where
    /// `u₁ = openClosedUnitDouble(first)` and `u₂ = unitDouble(second)` (`second · 2⁻³²`).
    ///
    /// Computed in `Double` and rounded once to `Float`, so the result matches on any libm
    /// whose `log`, `cos` and `sin` are accurate to within a few ulp (glibc's are below 1 ulp).
    public static func normalPair(_ first: UInt32, _ second: UInt32) -> (Float, Float) {
        let u1 = openClosedUnitDouble(first)
        let u2 = Double(second) * 0x1p-32
        let radius = (-2 * Foundation.log(u1)).squareRoot()
        let angle = 2 * Double.pi * u2
        return (Float(radius * Foundation.cos(angle)), Float(radius * Foundation.sin(angle)))
    }

    /// The integer threshold of a Bernoulli draw with probability `p`: a word `w` (uniform over
    /// 0 ..< 2³²) is a success iff `UInt64(w) < threshold`, so the success probability is
    /// exactly `threshold / 2³²`, with `threshold = round(p · 2³²)` (ties to even).
    ///
    /// `p · 2³²` is exact in `Double` for any `Float` `p` (a power-of-two scaling), so the only
    /// rounding is the final one to an integer: no float bias. `p` ≤ 0 gives 0, `p` ≥ 1 gives 2³².
    /// - Precondition: `p` is not NaN.
    @inlinable
    public static func bernoulliThreshold(probability p: Float) -> UInt64 {
        precondition(!p.isNaN, "Bernoulli probability must not be NaN")
        if p <= 0 { return 0 }
        if p >= 1 { return 1 << 32 }
        return UInt64((Double(p) * 0x1p32).rounded(.toNearestOrEven))
    }
}
