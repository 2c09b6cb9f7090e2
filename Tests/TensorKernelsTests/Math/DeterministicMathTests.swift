import Foundation
import Testing
@testable import TensorKernels

/// Distance in units in the last place between two floats of the same sign class (finite or
/// infinite), via the ordered integer mapping of their bit patterns.
func ulpDistance(_ a: Float, _ b: Float) -> Int {
    func ordered(_ x: Float) -> Int {
        let bits = Int(Int32(bitPattern: x.bitPattern))
        return bits < 0 ? Int(Int32.min) - bits : bits
    }
    return abs(ordered(a) - ordered(b))
}

@Suite("DeterministicMath")
struct DeterministicMathTests {
    /// Arguments spread over [−110, 100] plus edge cases around overflow and underflow.
    static let expArguments: [Float] = {
        var values = stride(from: -110.0, through: 100.0, by: 0.000_731).map { Float($0) }
        values += [0, -0, 1, -1, 88.72283, 88.722839, 88.72284, 89, -87.33654, -87.3366,
                   -103.97208, -103.9721, -104, 1e-8, -1e-8, 0x1p-149, .greatestFiniteMagnitude,
                   -.greatestFiniteMagnitude, .infinity, -.infinity]
        return values
    }()

    @Test("exp is within 1 ulp of the system's expf and of the Double reference")
    func exponential() {
        var worstSystem = 0, worstReference = 0
        for x in Self.expArguments {
            let ours = DeterministicMath.exp(x)
            worstSystem = max(worstSystem, ulpDistance(ours, Foundation.expf(x)))
            worstReference = max(worstReference, ulpDistance(ours, Float(Foundation.exp(Double(x)))))
        }
        #expect(worstSystem <= 1, "worst distance to expf: \(worstSystem) ulp")
        #expect(worstReference <= 1, "worst distance to the Double reference: \(worstReference) ulp")
    }

    @Test("exp overflows to +∞, underflows to +0 and keeps NaN")
    func exponentialEdges() {
        #expect(DeterministicMath.exp(89) == .infinity)
        #expect(DeterministicMath.exp(.infinity) == .infinity)
        #expect(DeterministicMath.exp(-.infinity) == 0)
        #expect(DeterministicMath.exp(-200) == 0)
        #expect(DeterministicMath.exp(0) == 1)
        #expect(DeterministicMath.exp(.nan).isNaN)
        #expect(DeterministicMath.exp(-100) > 0)  // subnormal, not flushed
    }

    @Test("log is within 1 ulp of the system's logf and of the Double reference over all binades")
    func logarithm() {
        var worstSystem = 0, worstReference = 0
        // Every 4099th positive bit pattern: subnormals through the largest finite value.
        for bits in stride(from: UInt32(1), to: 0x7F80_0000, by: 4099) {
            let x = Float(bitPattern: bits)
            let ours = DeterministicMath.log(x)
            worstSystem = max(worstSystem, ulpDistance(ours, Foundation.logf(x)))
            worstReference = max(worstReference, ulpDistance(ours, Float(Foundation.log(Double(x)))))
        }
        // Around 1, where the result is tiny.
        for k in -2000...2000 {
            let x = 1 + Float(k) * 0x1p-20
            let ours = DeterministicMath.log(x)
            worstReference = max(worstReference, ulpDistance(ours, Float(Foundation.log(Double(x)))))
        }
        #expect(worstSystem <= 1, "worst distance to logf: \(worstSystem) ulp")
        #expect(worstReference <= 1, "worst distance to the Double reference: \(worstReference) ulp")
    }

    @Test("log of 0, negatives, ∞ and NaN follow IEEE conventions")
    func logarithmEdges() {
        #expect(DeterministicMath.log(0) == -.infinity)
        #expect(DeterministicMath.log(-0.0) == -.infinity)
        #expect(DeterministicMath.log(-1).isNaN)
        #expect(DeterministicMath.log(.nan).isNaN)
        #expect(DeterministicMath.log(.infinity) == .infinity)
        #expect(DeterministicMath.log(1) == 0)
    }
}
