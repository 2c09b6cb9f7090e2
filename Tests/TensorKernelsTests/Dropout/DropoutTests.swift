import CKernels
import ParallelRuntime
import Testing
@testable import TensorKernels

/// Dropout expected element by element from the stream (format v1), independent of kernels,
/// tiles and threads.
struct DropoutReference {
    let output: [Float]
    let kept: [Bool]
    let scale: Float

    init(input: [Float], probability: Float, stream: RandomStream, step: UInt64) {
        let threshold = Philox4x32.bernoulliThreshold(probability: probability)
        scale = 1 / (1 - probability)
        var kept = [Bool](repeating: false, count: input.count)
        var output = [Float](repeating: 0, count: input.count)
        var element = 0
        // Whole 64-element groups through the Swift reference generator, block by block.
        while element < input.count {
            let (block, _) = RandomStream.location(ofElement: UInt64(element))
            let words = stream.block(block, step: step)
            for word in 0..<4 {
                let e = element + 16 * word
                guard e < input.count else { break }
                kept[e] = UInt64(words[word]) >= threshold
                output[e] = kept[e] ? input[e] * scale : 0
            }
            element += element % 16 == 15 ? 49 : 1
        }
        self.kept = kept
        self.output = output
    }
}

enum DropoutFixture {
    static let count = 100_003  // four tiles of 32768, the last partial, not a multiple of 64
    static let probability: Float = 0.3
    static let stream = RandomStream(seed: 2024, purpose: .dropout(layer: 1))
    static let step: UInt64 = 17
    static let input: [Float] = {
        let uniform = RandomStream(seed: 1, purpose: .custom(stream: 0))
        var values = (0..<count).map { uniform.uniform(at: UInt64($0), step: 0) * 8 - 4 }
        values[5] = .nan
        values[6] = .infinity
        return values
    }()
    static let reference = DropoutReference(input: input, probability: probability,
                                            stream: stream, step: step)
}

func bits(_ values: [Float]) -> [UInt32] { values.map(\.bitPattern) }

func maskBits(_ mask: DropoutMask) -> [Bool] { (0..<mask.count).map(mask.isKept) }

@Suite("Dropout")
struct DropoutTests {
    @Test("The mask and output are the same bits for every thread count", arguments: [1, 2, 3, 4, 7])
    func threadCountIndependence(threads: Int) throws {
        let pool = ThreadPool(threads: threads)
        let input = try Tensor(DropoutFixture.input, shape: [DropoutFixture.count])
        let (output, mask) = try dropoutForward(input, probability: DropoutFixture.probability,
                                                stream: DropoutFixture.stream,
                                                step: DropoutFixture.step, pool: pool)
        #expect(maskBits(mask) == DropoutFixture.reference.kept)
        #expect(bits(output.scalars) == bits(DropoutFixture.reference.output))
        let gradient = try Tensor(DropoutFixture.input.reversed(), shape: [DropoutFixture.count])
        let inputGradient = try dropoutBackward(gradient, mask: mask, pool: pool)
        let expected = zip(gradient.scalars, DropoutFixture.reference.kept).map { g, kept in
            kept ? g * DropoutFixture.reference.scale : 0
        }
        #expect(bits(inputGradient.scalars) == bits(expected))
    }

    @Test("The mask and output are the same bits for every tile size",
          arguments: [64, 128, 4096, 32_768, 1 << 20])
    func tileSizeIndependence(tileElements: Int) throws {
        let pool = ThreadPool(threads: 3)
        let input = try Tensor(DropoutFixture.input, shape: [DropoutFixture.count])
        var output = try Tensor(zeros: input.shape)
        var mask = DropoutMask()
        try dropoutForward(input, into: &output, mask: &mask, probability: DropoutFixture.probability,
                           training: true, stream: DropoutFixture.stream, step: DropoutFixture.step,
                           pool: pool, tileElements: tileElements, isa: PhiloxKernels.selectedISA)
        #expect(maskBits(mask) == DropoutFixture.reference.kept)
        #expect(bits(output.scalars) == bits(DropoutFixture.reference.output))
        var gradient = try Tensor(zeros: input.shape)
        try dropoutBackward(input, mask: mask, into: &gradient, pool: pool,
                            tileElements: tileElements, isa: PhiloxKernels.selectedISA)
        #expect(bits(gradient.scalars) == bits(DropoutFixture.reference.output))
    }

    @Test("Every kernel variant gives the same bits", arguments: PhiloxKernels.supportedISAs.map(\.rawValue))
    func kernelVariants(isaValue: UInt32) throws {
        let isa = weave_isa(rawValue: isaValue)
        let pool = ThreadPool(threads: 2)
        let input = try Tensor(DropoutFixture.input, shape: [DropoutFixture.count])
        var output = try Tensor(zeros: input.shape)
        var mask = DropoutMask()
        try dropoutForward(input, into: &output, mask: &mask, probability: DropoutFixture.probability,
                           training: true, stream: DropoutFixture.stream, step: DropoutFixture.step,
                           pool: pool, tileElements: 4096, isa: isa)
        #expect(maskBits(mask) == DropoutFixture.reference.kept, "\(PhiloxKernels.name(of: isa))")
        #expect(bits(output.scalars) == bits(DropoutFixture.reference.output))
        var gradient = try Tensor(zeros: input.shape)
        try dropoutBackward(input, mask: mask, into: &gradient, pool: pool, tileElements: 4096, isa: isa)
        #expect(bits(gradient.scalars) == bits(DropoutFixture.reference.output))
    }

    @Test("Kept values are exactly input · (1 / (1 − p)); dropped ones are +0, even NaN and ∞",
          arguments: [0.1, 0.5, 0.9, 1 - 0x1p-24] as [Float])
    func exactScaling(probability: Float) throws {
        let pool = ThreadPool(threads: 2)
        let input = try Tensor(DropoutFixture.input, shape: [DropoutFixture.count])
        let (output, mask) = try dropoutForward(input, probability: probability,
                                                stream: DropoutFixture.stream, step: 1, pool: pool)
        let scale: Float = 1 / (1 - probability)
        #expect(mask.scale == scale)
        let x = input.scalars, y = output.scalars
        var mismatches = 0
        for i in 0..<x.count {
            let expected: Float = mask.isKept(i) ? x[i] * scale : 0
            if expected.bitPattern != y[i].bitPattern { mismatches += 1 }
        }
        #expect(mismatches == 0)
        // Dropped elements are +0 (never NaN, never −0).
        #expect((0..<x.count).allSatisfy { mask.isKept($0) || y[$0].bitPattern == 0 })
    }

    @Test("The keep rate on 10M elements is within 6σ of the binomial expectation",
          arguments: [Float(0.5), 0.2])
    func keepRate(probability: Float) throws {
        let count = 10_000_000
        let pool = ThreadPool(threads: 2)
        let input = try Tensor(repeating: 1, shape: [count])
        let (output, mask) = try dropoutForward(input, probability: probability,
                                                stream: RandomStream(seed: 9, purpose: .dropout(layer: 0)),
                                                step: 0, pool: pool)
        let keep = 1 - Double(probability)
        let expected = Double(count) * keep
        let sigma = (Double(count) * keep * (1 - keep)).squareRoot()
        let kept = mask.keptCount
        #expect(abs(Double(kept) - expected) < 6 * sigma, "kept \(kept), expected \(expected) ± \(sigma)")
        // The output agrees with the mask count: kept elements are 1/(1 − p), others 0.
        let nonzero = output.withUnsafeBufferPointer { $0.reduce(0) { $0 + ($1 != 0 ? 1 : 0) } }
        #expect(nonzero == kept)
    }

    @Test("Evaluation mode is the identity, forward and backward")
    func evaluationIdentity() throws {
        let pool = ThreadPool(threads: 2)
        let input = try Tensor(DropoutFixture.input, shape: [DropoutFixture.count])
        let (output, mask) = try dropoutForward(input, probability: 0.5, training: false,
                                                stream: DropoutFixture.stream, step: 0, pool: pool)
        #expect(bits(output.scalars) == bits(input.scalars))
        #expect(output.sharesStorage(with: input))
        #expect(mask.kind == .identity && mask.keptCount == DropoutFixture.count)
        let gradient = try dropoutBackward(input, mask: mask, pool: pool)
        #expect(gradient.sharesStorage(with: input))
    }

    @Test("p = 0 is the identity")
    func probabilityZero() throws {
        let pool = ThreadPool(threads: 2)
        let input = try Tensor([1, -2, 3, .nan], shape: [2, 2])
        let (output, mask) = try dropoutForward(input, probability: 0, stream: DropoutFixture.stream,
                                                step: 0, pool: pool)
        #expect(bits(output.scalars) == bits(input.scalars) && mask.kind == .identity)
    }

    @Test("p = 1 gives zeros and a zero gradient")
    func probabilityOne() throws {
        let pool = ThreadPool(threads: 2)
        let input = try Tensor([1, -2, 3, .nan, .infinity], shape: [5])
        let (output, mask) = try dropoutForward(input, probability: 1, stream: DropoutFixture.stream,
                                                step: 0, pool: pool)
        #expect(bits(output.scalars) == [UInt32](repeating: 0, count: 5))
        #expect(mask.kind == .dropAll && mask.keptCount == 0)
        let gradient = try dropoutBackward(input, mask: mask, pool: pool)
        #expect(bits(gradient.scalars) == [UInt32](repeating: 0, count: 5))
        #expect(input.scalars[0] == 1)
    }

    @Test("A probability outside [0, 1] or NaN throws, naming it",
          arguments: [Float(-0.1), 1.5, .nan, .infinity, -.infinity])
    func invalidProbability(probability: Float) throws {
        let pool = ThreadPool(threads: 1)
        let input = try Tensor(zeros: [8])
        #expect {
            _ = try dropoutForward(input, probability: probability, stream: DropoutFixture.stream,
                                   step: 0, pool: pool)
        } throws: { error in
            (error as? DropoutError)?.description.contains("\(probability)") ?? false
        }
        #expect(throws: DropoutError.self) {
            _ = try dropoutForward(input, probability: probability, training: false,
                                   stream: DropoutFixture.stream, step: 0, pool: pool)
        }
    }

    @Test("Shape mismatches throw a shape error naming both shapes")
    func shapeMismatch() throws {
        let pool = ThreadPool(threads: 1)
        let input = try Tensor(zeros: [4, 8])
        let (_, mask) = try dropoutForward(input, probability: 0.5, stream: DropoutFixture.stream,
                                           step: 0, pool: pool)
        #expect {
            _ = try dropoutBackward(try Tensor(zeros: [8, 4]), mask: mask, pool: pool)
        } throws: { error in
            let text = "\(error)"
            return error is ShapeError && text.contains("[4, 8]") && text.contains("[8, 4]")
        }
        var output = try Tensor(zeros: [32])
        var reused = DropoutMask()
        #expect(throws: ShapeError.self) {
            try dropoutForward(input, into: &output, mask: &reused, probability: 0.5,
                               stream: DropoutFixture.stream, step: 0, pool: pool)
        }
    }

    @Test("Masks differ between steps and layers and repeat for the same ones")
    func stepsAndLayers() throws {
        let pool = ThreadPool(threads: 2)
        let input = try Tensor(repeating: 1, shape: [4096])
        func mask(layer: Int, step: UInt64) throws -> [Bool] {
            let stream = RandomStream(seed: 5, purpose: .dropout(layer: layer))
            return maskBits(try dropoutForward(input, probability: 0.5, stream: stream,
                                               step: step, pool: pool).mask)
        }
        #expect(try mask(layer: 0, step: 0) == mask(layer: 0, step: 0))
        #expect(try mask(layer: 0, step: 0) != mask(layer: 0, step: 1))
        #expect(try mask(layer: 0, step: 0) != mask(layer: 1, step: 0))
    }

    @Test("Forward into existing buffers reuses them")
    func bufferReuse() throws {
        let pool = ThreadPool(threads: 2)
        let input = try Tensor(repeating: 1, shape: [10_000])
        var output = try Tensor(zeros: input.shape)
        var mask = DropoutMask()
        try dropoutForward(input, into: &output, mask: &mask, probability: 0.5,
                           stream: DropoutFixture.stream, step: 0, pool: pool)
        let outputAddress = output.withUnsafeBufferPointer { $0.baseAddress }
        // The address, not the object: holding the storage would make it shared.
        let maskWords = try #require(mask.storage?.pointer)
        try dropoutForward(input, into: &output, mask: &mask, probability: 0.5,
                           stream: DropoutFixture.stream, step: 1, pool: pool)
        #expect(output.withUnsafeBufferPointer { $0.baseAddress } == outputAddress)
        #expect(mask.storage?.pointer == maskWords)
    }
}
