import CKernels
import ParallelRuntime
import Testing
@testable import TensorKernels

/// One batch-norm problem: input, parameters and running statistics, seeded.
struct BatchNormCase {
    let input: Tensor
    let gamma: Tensor
    let beta: Tensor
    let runningMean: Tensor
    let runningVariance: Tensor
    let outputGradient: Tensor

    init(_ shape: [Int], seed: UInt64, mean: Float = 0.5, standardDeviation: Float = 2) throws {
        let channels = shape[1]
        input = try randomTensor(shape, seed: seed, mean: mean, standardDeviation: standardDeviation)
        gamma = try randomTensor([channels], seed: seed + 1, mean: 1, standardDeviation: 0.3)
        beta = try randomTensor([channels], seed: seed + 2, standardDeviation: 0.5)
        runningMean = try randomTensor([channels], seed: seed + 3, standardDeviation: 0.1)
        runningVariance = try Tensor(uniformShape: [channels], lowerBound: 0.5, upperBound: 1.5,
                                     stream: RandomStream(seed: seed + 4, purpose: .custom(stream: 3)))
        outputGradient = try randomTensor(shape, seed: seed + 5)
    }

    /// Forward (training) and backward with the given pool, tiling and variant; every result.
    func run(pool: ThreadPool, tiling: BatchNormTiling? = nil, isa: weave_isa = KernelISA.current.cValue)
        throws -> [Tensor] {
        let tiling = tiling ?? BatchNormTiling(shape: input.shape)
        var runningMean = self.runningMean, runningVariance = self.runningVariance
        var output = try Tensor(zeros: input.shape)
        var saved = BatchNormSavedStatistics()
        try batchNormForwardTraining(input, gamma: gamma, beta: beta, runningMean: &runningMean,
                                     runningVariance: &runningVariance, momentum: 0.1,
                                     epsilon: 1e-5, into: &output, saved: &saved, pool: pool,
                                     tiling: tiling, isa: isa)
        var dx = try Tensor(zeros: input.shape)
        var dGamma = try Tensor(zeros: [1]), dBeta = try Tensor(zeros: [1])
        try batchNormBackward(outputGradient, input: input, gamma: gamma, saved: saved,
                              into: &dx, gammaGradient: &dGamma, betaGradient: &dBeta, pool: pool,
                              tiling: tiling, isa: isa)
        var evaluation = try Tensor(zeros: input.shape)
        try batchNormForwardInference(input, gamma: gamma, beta: beta, runningMean: runningMean,
                                      runningVariance: runningVariance, epsilon: 1e-5,
                                      into: &evaluation, pool: pool, isa: isa)
        return [output, saved.mean, saved.inverseStandardDeviation, runningMean, runningVariance,
                dx, dGamma, dBeta, evaluation]
    }
}

/// Shapes with many and few channels, BatchNorm1d ([N, C] and [N, C, L]) and runs that are
/// shorter than 16 or not multiples of 16.
let batchNormShapes: [[Int]] = [[64, 48], [7, 5, 13], [9, 3, 5, 7], [4, 20, 6, 6], [40, 2, 16, 16]]

@Suite("BatchNorm")
struct BatchNormTests {
    @Test("Training forward matches a double-precision reference", arguments: batchNormShapes)
    func trainingForward(shape: [Int]) throws {
        let pool = ThreadPool(threads: 2)
        let problem = try BatchNormCase(shape, seed: 11)
        var runningMean = problem.runningMean, runningVariance = problem.runningVariance
        let (output, saved) = try batchNormForwardTraining(
            problem.input, gamma: problem.gamma, beta: problem.beta, runningMean: &runningMean,
            runningVariance: &runningVariance, pool: pool)
        let reference = BatchNormReference(shape: shape)
        let x = problem.input.scalars.doubles
        let expected = reference.forward(x, gamma: problem.gamma.scalars.doubles,
                                         beta: problem.beta.scalars.doubles)
        #expect(maximumDifference(output.scalars, expected) < 1e-5 * maximumMagnitude(expected))
        let (mean, variance) = reference.statistics(x)
        #expect(maximumDifference(saved.mean.scalars, mean) < 1e-6 * maximumMagnitude(mean) + 1e-7)
        let inverse = variance.map { 1 / ($0 + 1e-5).squareRoot() }
        #expect(maximumDifference(saved.inverseStandardDeviation.scalars, inverse) < 1e-6 * maximumMagnitude(inverse))
        // Running statistics: (1 − m)·running + m·batch, unbiased variance.
        let n = Double(reference.images * reference.plane)
        let expectedMean = zip(problem.runningMean.scalars, mean).map { 0.9 * Double($0) + 0.1 * $1 }
        let expectedVariance = zip(problem.runningVariance.scalars, variance).map {
            0.9 * Double($0) + 0.1 * $1 * n / (n - 1)
        }
        #expect(maximumDifference(runningMean.scalars, expectedMean) < 1e-6)
        #expect(maximumDifference(runningVariance.scalars, expectedVariance) < 1e-5)
    }

    @Test("Evaluation mode uses the running statistics", arguments: batchNormShapes)
    func inference(shape: [Int]) throws {
        let pool = ThreadPool(threads: 2)
        let problem = try BatchNormCase(shape, seed: 12)
        let output = try batchNormForwardInference(
            problem.input, gamma: problem.gamma, beta: problem.beta,
            runningMean: problem.runningMean, runningVariance: problem.runningVariance, pool: pool)
        let expected = BatchNormReference(shape: shape).inference(
            problem.input.scalars.doubles, gamma: problem.gamma.scalars.doubles,
            beta: problem.beta.scalars.doubles, mean: problem.runningMean.scalars.doubles,
            variance: problem.runningVariance.scalars.doubles)
        #expect(maximumDifference(output.scalars, expected) < 1e-5 * maximumMagnitude(expected))
    }

    @Test("Backward matches finite differences of the double-precision forward",
          arguments: [[6, 4], [3, 2, 3, 5], [5, 3, 4]] as [[Int]])
    func gradientCheck(shape: [Int]) throws {
        let pool = ThreadPool(threads: 2)
        let problem = try BatchNormCase(shape, seed: 13)
        var runningMean = problem.runningMean, runningVariance = problem.runningVariance
        let (_, saved) = try batchNormForwardTraining(
            problem.input, gamma: problem.gamma, beta: problem.beta, runningMean: &runningMean,
            runningVariance: &runningVariance, pool: pool)
        let (dx, dGamma, dBeta) = try batchNormBackward(problem.outputGradient, input: problem.input,
                                                        gamma: problem.gamma, saved: saved, pool: pool)
        let reference = BatchNormReference(shape: shape)
        let x = problem.input.scalars.doubles, w = problem.outputGradient.scalars.doubles
        let gamma = problem.gamma.scalars.doubles, beta = problem.beta.scalars.doubles
        let numericX = numericGradient(x) { weightedSum(reference.forward($0, gamma: gamma, beta: beta), w) }
        let numericGamma = numericGradient(gamma) { weightedSum(reference.forward(x, gamma: $0, beta: beta), w) }
        let numericBeta = numericGradient(beta) { weightedSum(reference.forward(x, gamma: gamma, beta: $0), w) }
        #expect(maximumDifference(dx.scalars, numericX) < 1e-3 * maximumMagnitude(numericX))
        #expect(maximumDifference(dGamma.scalars, numericGamma) < 1e-3 * maximumMagnitude(numericGamma))
        #expect(maximumDifference(dBeta.scalars, numericBeta) < 1e-3 * maximumMagnitude(numericBeta))
    }

    @Test("Every result is the same bits for every thread count, for every tiling",
          arguments: kernelThreadCounts)
    func threadCountIndependence(threads: Int) throws {
        let pool = ThreadPool(threads: threads)
        let serial = ThreadPool(threads: 1)
        for shape in [[9, 3, 5, 7], [4, 20, 6, 6], [64, 48]] {
            let problem = try BatchNormCase(shape, seed: 14)
            let tilings = [BatchNormTiling(shape: shape),
                           BatchNormTiling(images: shape[0], channels: shape[1],
                                           planeSize: shape.dropFirst(2).reduce(1, *), imagesPerChunk: 2,
                                           channelsPerGroup: 2)]
            for tiling in tilings {
                let expected = try problem.run(pool: serial, tiling: tiling).map(bitPatterns)
                let actual = try problem.run(pool: pool, tiling: tiling).map(bitPatterns)
                #expect(actual == expected, "shape \(shape), \(tiling.tiles) tiles")
            }
        }
    }

    @Test("Every kernel variant gives the same bits, with or without streaming stores", arguments: supportedISAs.map(\.rawValue))
    func kernelVariants(isaValue: UInt32) throws {
        let pool = ThreadPool(threads: 3)
        for shape in batchNormShapes {
            let problem = try BatchNormCase(shape, seed: 15)
            for (imagesPerChunk, channelsPerGroup) in [(shape[0], shape[1]), (3, 2)] {
                var tiling = BatchNormTiling(images: shape[0], channels: shape[1],
                                             planeSize: shape.dropFirst(2).reduce(1, *),
                                             imagesPerChunk: imagesPerChunk,
                                             channelsPerGroup: channelsPerGroup)
                tiling.streamsOutput = false
                let expected = try problem.run(pool: pool, tiling: tiling, isa: WEAVE_ISA_PORTABLE)
                tiling.streamsOutput = true  // streaming stores change no value
                let actual = try problem.run(pool: pool, tiling: tiling, isa: weave_isa(rawValue: isaValue))
                #expect(actual.map(bitPatterns) == expected.map(bitPatterns), "shape \(shape)")
            }
        }
    }

    @Test("Different tilings agree to rounding")
    func tilingsAgree() throws {
        let pool = ThreadPool(threads: 2)
        let shape = [11, 3, 4, 5]
        let problem = try BatchNormCase(shape, seed: 16)
        let whole = try problem.run(pool: pool, tiling: BatchNormTiling(
            images: 11, channels: 3, planeSize: 20, imagesPerChunk: 11, channelsPerGroup: 3))
        let chunked = try problem.run(pool: pool, tiling: BatchNormTiling(
            images: 11, channels: 3, planeSize: 20, imagesPerChunk: 3, channelsPerGroup: 1))
        for (a, b) in zip(whole, chunked) {
            #expect(maximumDifference(a.scalars, b.scalars.doubles) < 1e-5 * maximumMagnitude(b.scalars.doubles))
        }
    }

    @Test("A mean 10⁴ times the standard deviation still normalises to mean 0 and std 1",
          arguments: [[32, 4, 8, 8], [256, 6, 10, 10]] as [[Int]])
    func largeMean(shape: [Int]) throws {
        let pool = ThreadPool(threads: 2)
        let problem = try BatchNormCase(shape, seed: 17, mean: 1e4, standardDeviation: 1)
        let gamma = try Tensor(repeating: 1, shape: [shape[1]]), beta = try Tensor(zeros: [shape[1]])
        var runningMean = try Tensor(zeros: [shape[1]]), runningVariance = try Tensor(repeating: 1, shape: [shape[1]])
        let (output, saved) = try batchNormForwardTraining(
            problem.input, gamma: gamma, beta: beta, runningMean: &runningMean,
            runningVariance: &runningVariance, pool: pool)
        let y = output.scalars
        #expect(y.allSatisfy { $0.isFinite })
        let reference = BatchNormReference(shape: shape)
        let (mean, variance) = reference.statistics(y.doubles)
        for c in 0..<shape[1] {
            #expect(abs(mean[c]) < 1e-3, "channel \(c) mean \(mean[c])")
            #expect(abs(variance[c].squareRoot() - 1) < 1e-3, "channel \(c) std \(variance[c].squareRoot())")
        }
        // The batch statistics themselves against the double reference of the Float input.
        let exact = reference.statistics(problem.input.scalars.doubles)
        for c in 0..<shape[1] {
            #expect(abs(Double(saved.mean[flat: c]) - exact.mean[c]) <= 1e-3)
            let inverse = 1 / (exact.variance[c] + 1e-5).squareRoot()
            #expect(abs(Double(saved.inverseStandardDeviation[flat: c]) - inverse) < 1e-5 * inverse)
        }
        let (dx, _, _) = try batchNormBackward(problem.outputGradient, input: problem.input,
                                               gamma: gamma, saved: saved, pool: pool)
        #expect(dx.scalars.allSatisfy { $0.isFinite })
    }

    @Test("The default tiling makes blocks of at most 64K floats, and 16 tiles when images are small")
    func defaultTiling() {
        let small = BatchNormTiling(shape: [256, 6, 10, 10])
        #expect(small.imagesPerChunk == 16 && small.chunks == 16 && small.groups == 1)
        let wide = BatchNormTiling(shape: [32, 256, 28, 28])
        #expect(wide.imagesPerChunk == 1 && wide.channelsPerGroup == 64 && wide.tiles == 128)
        let large = BatchNormTiling(shape: [64, 64, 56, 56])
        #expect(large.imagesPerChunk == 1 && large.channelsPerGroup == 16 && large.tiles == 256)
        #expect(BatchNormTiling(shape: [64, 48]).tiles == 1)
        let huge = BatchNormTiling(shape: [1, 2, 1024, 1024])
        #expect(huge.channelsPerGroup == 1 && huge.tiles == 2)
    }

    @Test("Forward and backward into existing buffers reuse them")
    func bufferReuse() throws {
        let pool = ThreadPool(threads: 2)
        let problem = try BatchNormCase([8, 4, 3, 3], seed: 18)
        var runningMean = problem.runningMean, runningVariance = problem.runningVariance
        var output = try Tensor(zeros: problem.input.shape)
        var saved = BatchNormSavedStatistics()
        var dx = try Tensor(zeros: problem.input.shape)
        var dGamma = try Tensor(zeros: [4]), dBeta = try Tensor(zeros: [4])
        func step() throws {
            try batchNormForwardTraining(problem.input, gamma: problem.gamma, beta: problem.beta,
                                         runningMean: &runningMean, runningVariance: &runningVariance,
                                         into: &output, saved: &saved, pool: pool)
            try batchNormBackward(problem.outputGradient, input: problem.input, gamma: problem.gamma,
                                  saved: saved, into: &dx, gammaGradient: &dGamma,
                                  betaGradient: &dBeta, pool: pool)
        }
        try step()
        func addresses() -> [UnsafePointer<Float>?] {
            [output, saved.mean, saved.inverseStandardDeviation, dx, dGamma, dBeta, runningMean]
                .map { $0.withUnsafeBufferPointer { $0.baseAddress } }
        }
        let before = addresses()
        try step()
        #expect(addresses() == before)
    }

    @Test("Bad shapes throw a shape error naming both shapes")
    func badShapes() throws {
        let pool = ThreadPool(threads: 1)
        let input = try Tensor(zeros: [4, 3, 2, 2])
        let three = try Tensor(repeating: 1, shape: [3]), four = try Tensor(repeating: 1, shape: [4])
        var runningMean = three, runningVariance = three
        #expect {
            _ = try batchNormForwardTraining(input, gamma: four, beta: three, runningMean: &runningMean,
                                             runningVariance: &runningVariance, pool: pool)
        } throws: { error in
            let text = "\(error)"
            return error is ShapeError && text.contains("[3]") && text.contains("[4]")
                && text.contains("[4, 3, 2, 2]")
        }
        #expect(throws: ShapeError.self) {
            _ = try batchNormForwardTraining(try Tensor(zeros: [5]), gamma: three, beta: three,
                                             runningMean: &runningMean, runningVariance: &runningVariance,
                                             pool: pool)
        }
        #expect(throws: ShapeError.self) {  // one value per channel: no variance
            _ = try batchNormForwardTraining(try Tensor(zeros: [1, 3]), gamma: three, beta: three,
                                             runningMean: &runningMean, runningVariance: &runningVariance,
                                             pool: pool)
        }
        #expect(throws: ShapeError.self) {
            _ = try batchNormForwardInference(input, gamma: three, beta: three, runningMean: four,
                                              runningVariance: three, pool: pool)
        }
        var wrongOutput = try Tensor(zeros: [4, 3, 2, 3])
        var saved = BatchNormSavedStatistics()
        #expect(throws: ShapeError.self) {
            try batchNormForwardTraining(input, gamma: three, beta: three, runningMean: &runningMean,
                                         runningVariance: &runningVariance, into: &wrongOutput,
                                         saved: &saved, pool: pool)
        }
        let (_, goodSaved) = try batchNormForwardTraining(input, gamma: three, beta: three,
                                                          runningMean: &runningMean,
                                                          runningVariance: &runningVariance, pool: pool)
        #expect {
            _ = try batchNormBackward(try Tensor(zeros: [4, 3, 4]), input: input, gamma: three,
                                      saved: goodSaved, pool: pool)
        } throws: { error in
            "\(error)".contains("[4, 3, 4]") && "\(error)".contains("[4, 3, 2, 2]")
        }
        #expect(throws: ShapeError.self) {
            _ = try batchNormBackward(input, input: input, gamma: three, saved: BatchNormSavedStatistics(),
                                      pool: pool)
        }
    }

    @Test("Each bad input is reported once, in the same words, by every entry point")
    func shapeErrorMessages() throws {
        let pool = ThreadPool(threads: 1)
        let input = try Tensor(zeros: [4, 3, 2, 2])
        let three = try Tensor(repeating: 1, shape: [3]), four = try Tensor(repeating: 1, shape: [4])
        var runningMean = three, runningVariance = three, wrongMean = four
        let perChannel = "must have one value per channel of input [4, 3, 2, 2]"
        func expectMessage(_ message: String, sourceLocation: SourceLocation = #_sourceLocation,
                           _ body: () throws -> Void) {
            #expect(sourceLocation: sourceLocation) { try body() } throws: { error in
                (error as? ShapeError)?.description == message
            }
        }
        expectMessage("batchNormForwardTraining: expected shape [3], got [4] (beta \(perChannel))") {
            _ = try batchNormForwardTraining(input, gamma: three, beta: four, runningMean: &runningMean,
                                             runningVariance: &runningVariance, pool: pool)
        }
        expectMessage("batchNormForwardTraining: expected shape [3], got [4] (runningVariance \(perChannel))") {
            _ = try batchNormForwardTraining(input, gamma: three, beta: three, runningMean: &runningMean,
                                             runningVariance: &wrongMean, pool: pool)
        }
        expectMessage("batchNormForwardTraining: expected shape [-1, -1], got [5] "
                      + "(input must be [N, C] or [N, C, H, W] (−1: any size))") {
            _ = try batchNormForwardTraining(try Tensor(zeros: [5]), gamma: three, beta: three,
                                             runningMean: &runningMean, runningVariance: &runningVariance,
                                             pool: pool)
        }
        expectMessage("batchNormForwardTraining: expected shape [2, 3], got [1, 3] "
                      + "(training needs more than one value per channel, got 1)") {
            _ = try batchNormForwardTraining(try Tensor(zeros: [1, 3]), gamma: three, beta: three,
                                             runningMean: &runningMean, runningVariance: &runningVariance,
                                             pool: pool)
        }
        var wrongOutput = try Tensor(zeros: [4, 3, 2, 3])
        var saved = BatchNormSavedStatistics()
        expectMessage("batchNormForwardTraining: expected shape [4, 3, 2, 2], got [4, 3, 2, 3] "
                      + "(output must have the input's shape)") {
            try batchNormForwardTraining(input, gamma: three, beta: three, runningMean: &runningMean,
                                         runningVariance: &runningVariance, into: &wrongOutput,
                                         saved: &saved, pool: pool)
        }
        expectMessage("batchNormForwardInference: expected shape [3], got [4] (runningMean \(perChannel))") {
            _ = try batchNormForwardInference(input, gamma: three, beta: three, runningMean: four,
                                              runningVariance: three, pool: pool)
        }
        let (_, goodSaved) = try batchNormForwardTraining(input, gamma: three, beta: three,
                                                          runningMean: &runningMean,
                                                          runningVariance: &runningVariance, pool: pool)
        expectMessage("batchNormBackward: expected shape [4, 3, 2, 2], got [4, 3, 4]") {
            _ = try batchNormBackward(try Tensor(zeros: [4, 3, 4]), input: input, gamma: three,
                                      saved: goodSaved, pool: pool)
        }
        expectMessage("batchNormBackward: expected shape [3], got [4] (gamma \(perChannel))") {
            _ = try batchNormBackward(input, input: input, gamma: four, saved: goodSaved, pool: pool)
        }
        expectMessage("batchNormBackward: expected shape [3], got [0] (saved.mean \(perChannel))") {
            _ = try batchNormBackward(input, input: input, gamma: three, saved: BatchNormSavedStatistics(),
                                      pool: pool)
        }
        var dx = try Tensor(zeros: [4, 3, 2, 3]), dGamma = three, dBeta = three
        expectMessage("batchNormBackward: expected shape [4, 3, 2, 2], got [4, 3, 2, 3] "
                      + "(inputGradient must have the input's shape)") {
            try batchNormBackward(input, input: input, gamma: three, saved: goodSaved, into: &dx,
                                  gammaGradient: &dGamma, betaGradient: &dBeta, pool: pool)
        }
        // The forms with an explicit tiling check the same things.
        let tiling = BatchNormTiling(shape: input.shape)
        var output = input
        expectMessage("batchNormForwardTraining: expected shape [3], got [4] (runningMean \(perChannel))") {
            try batchNormForwardTraining(input, gamma: three, beta: three, runningMean: &wrongMean,
                                         runningVariance: &runningVariance, momentum: 0.1, epsilon: 1e-5,
                                         into: &output, saved: &saved, pool: pool, tiling: tiling,
                                         isa: KernelISA.current.cValue)
        }
        var inputGradient = input
        expectMessage("batchNormBackward: expected shape [3], got [0] (saved.mean \(perChannel))") {
            try batchNormBackward(input, input: input, gamma: three, saved: BatchNormSavedStatistics(),
                                  into: &inputGradient, gammaGradient: &dGamma, betaGradient: &dBeta,
                                  pool: pool, tiling: tiling, isa: KernelISA.current.cValue)
        }
    }

    @Test("A momentum outside [0, 1] stops the process")
    func badMomentum() async {
        await #expect(processExitsWith: .failure) {
            let pool = ThreadPool(threads: 1)
            let input = try Tensor(zeros: [4, 3])
            var mean = try Tensor(zeros: [3]), variance = try Tensor(repeating: 1, shape: [3])
            _ = try batchNormForwardTraining(input, gamma: variance, beta: mean, runningMean: &mean,
                                             runningVariance: &variance, momentum: 1.5, pool: pool)
        }
    }
}
