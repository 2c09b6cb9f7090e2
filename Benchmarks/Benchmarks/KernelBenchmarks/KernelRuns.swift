import Weave

// Each benchmark's operands, made once in its setup; every iteration writes the same outputs.
// Classes: the benchmark closure gets its setup's value as a constant.

struct GEMMCase {
    var m: Int, n: Int, k: Int
    var name: String { "\(m)×\(k)·\(k)×\(n)" }
}

final class GEMMRun {
    let shape: GEMMCase
    let pool: ThreadPool
    let a: [Float], b: [Float]
    var c: [Float]

    init(_ shape: GEMMCase, pool: ThreadPool) {
        self.shape = shape
        self.pool = pool
        a = (0..<shape.m * shape.k).map { Float($0 % 17) / 17 - 0.5 }
        b = (0..<shape.k * shape.n).map { Float($0 % 13) / 13 - 0.5 }
        c = [Float](repeating: 0, count: shape.m * shape.n)
    }

    func multiply() {
        let shape = shape
        a.withUnsafeBufferPointer { a in
            b.withUnsafeBufferPointer { b in
                c.withUnsafeMutableBufferPointer { c in
                    sgemm(transA: .none, transB: .none, m: shape.m, n: shape.n, k: shape.k,
                          alpha: 1, a: a.baseAddress!, lda: shape.k, b: b.baseAddress!, ldb: shape.n,
                          beta: 0, c: c.baseAddress!, ldc: shape.n, pool: pool)
                }
            }
        }
    }
}

struct ConvCase {
    var input: [Int], weight: [Int], padding: Int
    var name: String { "Conv2d(\(weight[1]),\(weight[0]),\(weight[2])) \(input[2])×\(input[3]) batch \(input[0])" }
}

final class ConvRun {
    let pool: ThreadPool
    let configuration: Conv2dConfiguration
    let x: Tensor, w: Tensor, b: Tensor, dy: Tensor
    var y: Tensor, dx: Tensor?, dw: Tensor, db: Tensor?

    init(_ layer: ConvCase, pool: ThreadPool) throws {
        self.pool = pool
        configuration = Conv2dConfiguration(padding: layer.padding)
        let channels = layer.weight[0]
        x = try Tensor(uniformShape: layer.input, lowerBound: -1, stream: RandomStream(seed: 1, purpose: .custom(stream: 1)))
        w = try Tensor(uniformShape: layer.weight, lowerBound: -1, stream: RandomStream(seed: 1, purpose: .custom(stream: 2)))
        b = try Tensor(zeros: [channels])
        // The allocating forward gives the output's shape (and checks the layer).
        y = try conv2dForward(x, weight: w, bias: b, configuration: configuration, pool: pool)
        dy = try Tensor(uniformShape: y.shape, lowerBound: -1, stream: RandomStream(seed: 1, purpose: .custom(stream: 3)))
        dx = try Tensor(zeros: layer.input)
        dw = try Tensor(zeros: layer.weight)
        db = try Tensor(zeros: [channels])
    }

    func forwardBackward() throws {
        try conv2dForward(x, weight: w, bias: b, configuration: configuration, into: &y, pool: pool)
        try conv2dBackward(dy, input: x, weight: w, configuration: configuration, inputGradient: &dx,
                           weightGradient: &dw, biasGradient: &db, pool: pool)
    }
}

final class BatchNormRun {
    let pool: ThreadPool
    let input: Tensor, outputGradient: Tensor, gamma: Tensor, beta: Tensor
    var runningMean: Tensor, runningVariance: Tensor
    var output: Tensor, inputGradient: Tensor, gammaGradient: Tensor, betaGradient: Tensor
    var saved = BatchNormSavedStatistics()

    init(shape: [Int], pool: ThreadPool) throws {
        let channels = shape[1]
        self.pool = pool
        input = try Tensor(normalShape: shape, mean: 0.5, standardDeviation: 2,
                           stream: RandomStream(seed: 1, purpose: .custom(stream: 5)))
        outputGradient = try Tensor(normalShape: shape, stream: RandomStream(seed: 2, purpose: .custom(stream: 5)))
        gamma = try Tensor(repeating: 1, shape: [channels])
        beta = try Tensor(zeros: [channels])
        runningMean = try Tensor(zeros: [channels])
        runningVariance = try Tensor(repeating: 1, shape: [channels])
        output = try Tensor(zeros: shape)
        inputGradient = try Tensor(zeros: shape)
        gammaGradient = try Tensor(zeros: [channels])
        betaGradient = try Tensor(zeros: [channels])
    }

    func forwardBackward() throws {
        try batchNormForwardTraining(input, gamma: gamma, beta: beta, runningMean: &runningMean,
                                     runningVariance: &runningVariance, into: &output, saved: &saved, pool: pool)
        try batchNormBackward(outputGradient, input: input, gamma: gamma, saved: saved, into: &inputGradient,
                              gammaGradient: &gammaGradient, betaGradient: &betaGradient, pool: pool)
    }
}

final class DropoutRun {
    let pool: ThreadPool
    let input: Tensor, gradient: Tensor
    var output: Tensor, inputGradient: Tensor
    var mask = DropoutMask()
    let stream = RandomStream(seed: 7, purpose: .dropout(layer: 0))
    var step: UInt64 = 0

    init(count: Int, pool: ThreadPool) throws {
        self.pool = pool
        input = try Tensor(uniformShape: [count], stream: RandomStream(seed: 1, purpose: .custom(stream: 1)))
        gradient = try Tensor(repeating: 1, shape: [count])
        output = try Tensor(zeros: [count])
        inputGradient = try Tensor(zeros: [count])
    }

    func forwardBackward() throws {
        step += 1
        try dropoutForward(input, into: &output, mask: &mask, probability: 0.5, stream: stream, step: step, pool: pool)
        try dropoutBackward(gradient, mask: mask, into: &inputGradient, pool: pool)
    }
}

final class RandomRun {
    let pool: ThreadPool
    let buffer: UnsafeMutableBufferPointer<UInt32>
    let stream = RandomStream(seed: 7, purpose: .custom(stream: 0))
    var step: UInt64 = 0

    init(count: Int, pool: ThreadPool) {
        self.pool = pool
        buffer = .allocate(capacity: count)
        buffer.initialize(repeating: 0)
    }

    deinit { buffer.deallocate() }

    /// Philox words into the buffer over the pool, in dropout's tiles.
    func fill() {
        step += 1
        let buffer = buffer, stream = stream, step = step
        pool.parallelFor(0..<buffer.count, grain: dropoutTileElements) { tile in
            stream.fillWords(UnsafeMutableBufferPointer(rebasing: buffer[tile]),
                             firstElement: UInt64(tile.lowerBound), step: step)
        }
    }
}
