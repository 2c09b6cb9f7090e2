import CKernels
import Foundation
import Testing
@testable import ParallelRuntime

/// Random123 `kat_vectors`, `philox4x32 10`: counter, key, expected output.
let philoxKnownAnswers: [(counter: SIMD4<UInt32>, key: SIMD2<UInt32>, output: SIMD4<UInt32>)] = [
    (SIMD4(0, 0, 0, 0), SIMD2(0, 0),
     SIMD4(0x6627_e8d5, 0xe169_c58d, 0xbc57_ac4c, 0x9b00_dbd8)),
    (SIMD4(0xffff_ffff, 0xffff_ffff, 0xffff_ffff, 0xffff_ffff), SIMD2(0xffff_ffff, 0xffff_ffff),
     SIMD4(0x408f_276d, 0x41c8_3b0e, 0xa20b_c7c6, 0x6d54_51fd)),
    (SIMD4(0x243f_6a88, 0x85a3_08d3, 0x1319_8a2e, 0x0370_7344), SIMD2(0xa409_3822, 0x299f_31d0),
     SIMD4(0xd16c_fe09, 0x94fd_cceb, 0x5001_e420, 0x2412_6ea1)),
]

@Suite("Philox4x32-10")
struct Philox4x32Tests {
    @Test("The three Random123 known-answer vectors are reproduced", arguments: 0..<3)
    func knownAnswers(index: Int) {
        let vector = philoxKnownAnswers[index]
        #expect(Philox4x32(key: vector.key).block(vector.counter) == vector.output)
    }

    @Test("Every C kernel variant reproduces the reachable known answer through the stream layout",
          arguments: PhiloxKernels.supportedISAs.map(\.rawValue))
    func kernelKnownAnswer(isaValue: UInt32) {
        // Only blocks below 2⁶² are reachable from 64-bit element indices, so of the three
        // vectors only the all-zero one applies; large blocks are checked against the Swift
        // reference in "Far elements …" (RandomStreamTests).
        let isa = weave_isa(rawValue: isaValue)
        let vector = philoxKnownAnswers[0]
        var out = [UInt32](repeating: 0, count: 64)
        out.withUnsafeMutableBufferPointer {
            PhiloxKernels.fill($0, key: vector.key, step: 0, firstElement: 0, isa: isa)
        }
        // Block 0's word w is element 16w.
        #expect(SIMD4(out[0], out[16], out[32], out[48]) == vector.output, "\(PhiloxKernels.name(of: isa))")
    }

    @Test("Uniform floats use the top 24 bits and stay below one")
    func unitFloatRange() {
        #expect(Philox4x32.unitFloat(0) == 0)
        #expect(Philox4x32.unitFloat(0xFF) == 0)
        #expect(Philox4x32.unitFloat(0x100) == 0x1p-24)
        #expect(Philox4x32.unitFloat(.max) == 1 - 0x1p-24)
        #expect(Philox4x32.unitFloat(.max) < 1)
    }

    @Test("Bernoulli thresholds are exact multiples of 2⁻³² with the edge probabilities")
    func bernoulliThresholds() {
        #expect(Philox4x32.bernoulliThreshold(probability: 0) == 0)
        #expect(Philox4x32.bernoulliThreshold(probability: 1) == 1 << 32)
        #expect(Philox4x32.bernoulliThreshold(probability: 0.5) == 1 << 31)
        #expect(Philox4x32.bernoulliThreshold(probability: 0.25) == 1 << 30)
        // 0.2 as a Float is 13421773 · 2⁻²⁶, so p · 2³² = 13421773 · 64 exactly.
        #expect(Philox4x32.bernoulliThreshold(probability: 0.2) == 13_421_773 * 64)
        #expect(Philox4x32.bernoulliThreshold(probability: 1 - 0x1p-24) == (1 << 32) - 256)
    }

    @Test("A NaN Bernoulli probability is rejected")
    func bernoulliNaN() async {
        await #expect(processExitsWith: .failure) {
            _ = Philox4x32.bernoulliThreshold(probability: .nan)
        }
    }

    @Test("Box–Muller pairs match the formula in double precision")
    func normalPairFormula() {
        let pair = Philox4x32.normalPair(0x8000_0000, 0x4000_0000)
        // u1 = (2³¹ + 1) / 2³², u2 = 1/4: θ = π/2, so cos θ ≈ 0 and sin θ = 1.
        let radius = (-2 * Foundation.log((0x8000_0000 + 1) * 0x1p-32)).squareRoot()
        #expect(abs(pair.0) < 1e-7)
        #expect(pair.1 == Float(radius))
    }
}
