import CKernels
import Foundation
import Testing
@testable import ParallelRuntime

@Suite("Random streams")
struct RandomStreamTests {
    let stream = RandomStream(seed: 7, purpose: .custom(stream: 3))

    @Test("An element's word is the documented word of its Philox block")
    func layoutV1() {
        let philox = stream.generator
        for element: UInt64 in [0, 1, 15, 16, 17, 63, 64, 100, 1_000_003, 1 << 40 + 37] {
            let block = 16 * (element / 64) + element % 16
            let word = Int((element % 64) / 16)
            let expected = philox.block(low: block, high: 9)[word]
            #expect(stream.word(at: element, step: 9) == expected, "element \(element)")
        }
    }

    @Test("Keys are derived from seed, purpose and index as documented")
    func keyDerivationV1() {
        let seed: UInt64 = 0x0123_4567_89AB_CDEF
        let derivation = Philox4x32(key: SIMD2(0x89AB_CDEF, 0x0123_4567))
        let cases: [(RandomPurpose, UInt32, UInt64)] = [
            (.weightInitialization(parameter: 5), 1, 5), (.dataShuffling(), 2, 0),
            (.dropout(layer: 2), 3, 2), (.custom(stream: -1), 4, UInt64.max),
        ]
        var keys = Set<SIMD2<UInt32>>()
        for (purpose, tag, index) in cases {
            let words = derivation.block(SIMD4(tag, UInt32(truncatingIfNeeded: index),
                                               UInt32(truncatingIfNeeded: index >> 32), 0x5745_4156))
            let key = RandomStream(seed: seed, purpose: purpose).key
            #expect(key == SIMD2(words[0], words[1]), "\(purpose)")
            keys.insert(key)
        }
        #expect(keys.count == cases.count)
        #expect(RandomStream(seed: 1, purpose: .dropout(layer: 0)).key
                != RandomStream(seed: 2, purpose: .dropout(layer: 0)).key)
    }

    @Test("Bulk fills equal element-by-element seeks from any start, in every kernel variant",
          arguments: PhiloxKernels.supportedISAs.map(\.rawValue))
    func fillMatchesSeek(isaValue: UInt32) {
        let isa = weave_isa(rawValue: isaValue)
        let step: UInt64 = 0x1_0000_0002
        let expected = (0..<UInt64(300)).map { stream.word(at: 1000 + $0, step: step) }
        for (start, count) in [(0, 300), (1, 200), (63, 2), (64, 64), (37, 263), (130, 0)] {
            var words = [UInt32](repeating: 0, count: count)
            words.withUnsafeMutableBufferPointer {
                PhiloxKernels.fill($0, key: stream.key, step: step,
                                   firstElement: 1000 + UInt64(start), isa: isa)
            }
            #expect(words == Array(expected[start..<start + count]),
                    "start \(start), count \(count), \(PhiloxKernels.name(of: isa))")
        }
    }

    @Test("Far elements (block counters with a high word) match the reference in every variant",
          arguments: PhiloxKernels.supportedISAs.map(\.rawValue))
    func farSeek(isaValue: UInt32) {
        let isa = weave_isa(rawValue: isaValue)
        let far = UInt64.max - 200
        let step = UInt64.max - 1
        var words = [UInt32](repeating: 0, count: 200)
        words.withUnsafeMutableBufferPointer {
            PhiloxKernels.fill($0, key: stream.key, step: step, firstElement: far, isa: isa)
        }
        #expect(words == (0..<UInt64(200)).map { stream.word(at: far + $0, step: step) })
    }

    @Test("Steps and streams give different words")
    func stepsDiffer() {
        let a = (0..<UInt64(64)).map { stream.word(at: $0, step: 0) }
        let b = (0..<UInt64(64)).map { stream.word(at: $0, step: 1) }
        let c = (0..<UInt64(64)).map { RandomStream(seed: 7, purpose: .custom(stream: 4)).word(at: $0, step: 0) }
        #expect(a != b)
        #expect(a != c)
    }

    @Test("Uniform floats lie in [0, 1) with mean ½ and variance ¹⁄₁₂")
    func uniformMoments() {
        let count = 1 << 18
        var values = [Float](repeating: -1, count: count)
        values.withUnsafeMutableBufferPointer { stream.fillUniform($0, firstElement: 5, step: 2) }
        #expect(values.allSatisfy { $0 >= 0 && $0 < 1 })
        let mean = values.reduce(0.0) { $0 + Double($1) } / Double(count)
        let variance = values.reduce(0.0) { $0 + (Double($1) - mean) * (Double($1) - mean) } / Double(count)
        // Standard error of the mean: √(1/12 / n) ≈ 0.00056; 6σ ≈ 0.0034.
        #expect(abs(mean - 0.5) < 0.0034)
        #expect(abs(variance - 1.0 / 12) < 0.002)
        #expect(values[0] == stream.uniform(at: 5, step: 2))
        #expect(values[count - 1] == stream.uniform(at: UInt64(count + 4), step: 2))
    }

    @Test("Normal values have mean 0 and variance 1, and fills equal seeks")
    func normalMoments() {
        let count = 1 << 17
        var values = [Float](repeating: .nan, count: count)
        values.withUnsafeMutableBufferPointer { stream.fillNormal($0, firstElement: 0, step: 3) }
        let mean = values.reduce(0.0) { $0 + Double($1) } / Double(count)
        let variance = values.reduce(0.0) { $0 + (Double($1) - mean) * (Double($1) - mean) } / Double(count)
        // σ(mean) = 1/√n ≈ 0.0028 → 6σ ≈ 0.017; σ(variance) ≈ √(2/n) ≈ 0.0039 → 6σ ≈ 0.024.
        #expect(abs(mean) < 0.017)
        #expect(abs(variance - 1) < 0.024)
        for element in [0, 1, 16, 17, 31, 32, 48, 63, 64, 1000, count - 1] {
            #expect(values[element] == stream.normal(at: UInt64(element), step: 3), "element \(element)")
        }
        // Unaligned starts (odd partners outside the range) give the same values.
        for (start, length) in [(17, 40), (40, 100), (1, 1), (63, 3)] {
            var part = [Float](repeating: .nan, count: length)
            part.withUnsafeMutableBufferPointer {
                stream.fillNormal($0, firstElement: UInt64(start), step: 3)
            }
            #expect(part == Array(values[start..<start + length]), "start \(start)")
        }
    }

    @Test("A cursor reads the stream in element order from any start")
    func cursorOrder() {
        var cursor = RandomStream.Cursor(stream: stream, step: 4, element: 60)
        let read = (0..<70).map { _ in cursor.nextWord() }
        #expect(read == (60..<UInt64(130)).map { stream.word(at: $0, step: 4) })
        #expect(cursor.element == 130)
    }

    @Test("Bounded draws are uniform and in range")
    func boundedDraws() {
        var cursor = RandomStream.Cursor(stream: stream, step: 5)
        var histogram = [Int](repeating: 0, count: 6)
        let draws = 60_000
        for _ in 0..<draws { histogram[Int(cursor.nextBelow(6))] += 1 }
        // Each count ~ Binomial(60000, 1/6): σ ≈ 91; 6σ ≈ 550.
        #expect(histogram.allSatisfy { abs($0 - draws / 6) < 550 }, "\(histogram)")
        #expect(cursor.nextBelow(1) == 0)
        _ = cursor.nextBelow(1 << 32)
    }

    @Test("Shuffles are permutations, reproducible, and differ per epoch")
    func shuffles() {
        let data = RandomStream(seed: 42, purpose: .dataShuffling())
        let epoch0 = data.permutation(count: 1000, step: 0)
        #expect(epoch0.sorted() == Array(0..<1000))
        #expect(epoch0 == data.permutation(count: 1000, step: 0))
        #expect(epoch0 != data.permutation(count: 1000, step: 1))
        #expect(epoch0 != Array(0..<1000))
        #expect(data.permutation(count: 0, step: 0).isEmpty)
        #expect(data.permutation(count: 1, step: 0) == [0])
        // Position 0 of a 3-permutation is uniform over 0, 1, 2 across steps.
        var firsts = [0, 0, 0]
        for step in 0..<UInt64(3000) { firsts[data.permutation(count: 3, step: step)[0]] += 1 }
        // Binomial(3000, 1/3): σ ≈ 26; 6σ ≈ 155.
        #expect(firsts.allSatisfy { abs($0 - 1000) < 155 }, "\(firsts)")
    }
}

@Suite("Random stream preconditions")
struct RandomStreamPreconditionTests {
    @Test("A bounded draw below zero values traps")
    func boundZero() async {
        await #expect(processExitsWith: .failure) {
            var cursor = RandomStream.Cursor(stream: RandomStream(key: SIMD2(1, 2)), step: 0)
            _ = cursor.nextBelow(0)
        }
    }

    @Test("A permutation of a negative count traps")
    func negativePermutation() async {
        await #expect(processExitsWith: .failure) {
            _ = RandomStream(key: SIMD2(1, 2)).permutation(count: -1, step: 0)
        }
    }
}
