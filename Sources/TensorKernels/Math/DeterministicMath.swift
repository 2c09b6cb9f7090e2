/// The exponential and logarithm every Weave kernel uses (DESIGN §4): ours, in plain Swift, so
/// that results do not depend on the machine's libm or on a vector library. Both evaluate in
/// `Double` (range reduction + polynomial) and round once to `Float`; the error is below 1 ulp
/// over the whole `Float` range (tests compare with the system's `expf`/`logf` and with
/// `Double` references). Swift never contracts `a * b + c`, so the arithmetic is the same on
/// every machine.
public enum DeterministicMath {
    /// ln 2 in `Double`.
    static let ln2 = 0.693_147_180_559_945_309_417_232_121_458
    /// 1 / ln 2 in `Double`.
    static let log2e = 1.442_695_040_888_963_407_359_924_681_001_9

    /// eˣ. NaN stays NaN; eˣ overflows to +∞ above ≈ 88.72 and underflows through subnormals
    /// to +0 below ≈ −103.97.
    @inlinable
    public static func exp(_ x: Float) -> Float {
        if x.isNaN { return x }
        // Outside this range the Float result is already +∞ or +0; clamping keeps 2ⁿ normal.
        let t = Double(Swift.min(Swift.max(x, -120), 120))
        return Float(expReduced(t))
    }

    /// eᵗ in `Double` for |t| ≤ 120, relative error ≈ 1e-15: t = n·ln 2 + r with
    /// |r| ≤ ln 2 / 2, eʳ by its Taylor polynomial of degree 11 (Horner), times 2ⁿ.
    @usableFromInline
    static func expReduced(_ t: Double) -> Double {
        let n = (t * log2e).rounded(.toNearestOrEven)
        let r = t - n * ln2
        var p = 1.0 / 39_916_800                       // 1/11!
        p = p * r + 1.0 / 3_628_800                    // 1/10!
        p = p * r + 1.0 / 362_880
        p = p * r + 1.0 / 40_320
        p = p * r + 1.0 / 5_040
        p = p * r + 1.0 / 720
        p = p * r + 1.0 / 120
        p = p * r + 1.0 / 24
        p = p * r + 1.0 / 6
        p = p * r + 0.5
        p = p * r + 1
        p = p * r + 1
        let scale = Double(bitPattern: UInt64(1023 + Int(n)) << 52)  // 2ⁿ, n ∈ [−174, 174]
        return p * scale
    }

    /// ln x. ln(+0) = −∞, ln(+∞) = +∞, negative arguments and NaN give NaN.
    @inlinable
    public static func log(_ x: Float) -> Float {
        if x.isNaN || x < 0 { return .nan }
        if x == 0 { return -.infinity }
        if x == .infinity { return x }
        return Float(logPositive(x))
    }

    /// ln x in `Double` for finite x > 0, relative error ≈ 1e-15 away from x = 1 (absolute
    /// ≈ 1e-16 near it): x = m·2ᵉ with m ∈ [√½, √2), ln m = 2·atanh(s), s = (m − 1)/(m + 1),
    /// |s| ≤ 0.172, by its odd series up to s¹⁹.
    @usableFromInline
    static func logPositive(_ x: Float) -> Double {
        var bits = x.bitPattern
        var exponent = -127
        if bits < 0x0080_0000 {                           // subnormal: scale by 2²⁴ (exact)
            bits = (x * 16_777_216).bitPattern
            exponent -= 24
        }
        exponent += Int(bits >> 23)
        var m = Double(Float(bitPattern: (bits & 0x007F_FFFF) | 0x3F80_0000))  // [1, 2)
        if m > 1.414_213_562_373_095_048_8 {
            m *= 0.5
            exponent += 1
        }
        let s = (m - 1) / (m + 1)
        let z = s * s
        var p = 1.0 / 19
        p = p * z + 1.0 / 17
        p = p * z + 1.0 / 15
        p = p * z + 1.0 / 13
        p = p * z + 1.0 / 11
        p = p * z + 1.0 / 9
        p = p * z + 1.0 / 7
        p = p * z + 1.0 / 5
        p = p * z + 1.0 / 3
        p = p * z + 1
        return Double(exponent) * ln2 + 2 * s * p
    }
}
