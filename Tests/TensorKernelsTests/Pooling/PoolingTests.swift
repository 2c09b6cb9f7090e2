import ParallelRuntime
import Testing
@testable import TensorKernels

/// Pooling computed from the definitions in `Double`, for the tests.
struct PoolingReference: PoolingTestShape {
    let shape: [Int]
    let window: Pool2dWindow

    /// Calls `body(plane, outputIndex, [flat input indices of the window's real elements])`.
    func forEachWindow(_ body: (Int, Int, [Int]) -> Void) {
        var o = 0
        for plane in 0..<(shape[0] * shape[1]) {
            for i in 0..<outputHeight {
                for j in 0..<outputWidth {
                    var members: [Int] = []
                    for a in 0..<window.kernelHeight {
                        for b in 0..<window.kernelWidth {
                            let h = i * window.strideHeight - window.paddingHeight + a
                            let w = j * window.strideWidth - window.paddingWidth + b
                            if h >= 0 && h < shape[2] && w >= 0 && w < shape[3] {
                                members.append(h * shape[3] + w)
                            }
                        }
                    }
                    body(plane, o, members)
                    o += 1
                }
            }
        }
    }

    func maxPool(_ x: [Double]) -> (values: [Double], indices: [Int32]) {
        var values: [Double] = [], indices: [Int32] = []
        let plane = shape[2] * shape[3]
        forEachWindow { p, _, members in
            var best = members[0]
            for m in members where x[p * plane + m] > x[p * plane + best] { best = m }
            values.append(x[p * plane + best])
            indices.append(Int32(best))
        }
        return (values, indices)
    }

    func avgPool(_ x: [Double]) -> [Double] {
        var values: [Double] = []
        let plane = shape[2] * shape[3]
        let divisor = Double(window.kernelHeight * window.kernelWidth)
        forEachWindow { p, _, members in
            values.append(members.reduce(0) { $0 + x[p * plane + $1] } / divisor)
        }
        return values
    }
}

/// (input shape, window) pairs: the seed models' 2×2, overlapping 3×3 stride 2 with padding,
/// non-square windows and odd sizes.
let poolingCases: [([Int], Pool2dWindow)] = [
    ([2, 3, 8, 8], Pool2dWindow(kernel: 2)),
    ([3, 2, 9, 7], Pool2dWindow(kernel: 3, stride: 2, padding: 1)),
    ([2, 2, 7, 10], Pool2dWindow(kernelHeight: 2, kernelWidth: 3, strideHeight: 1, strideWidth: 2,
                                 paddingHeight: 1, paddingWidth: 1)),
    ([1, 4, 5, 5], Pool2dWindow(kernel: 5)),
]

@Suite("Pooling")
struct PoolingTests {
    @Test("Max pooling forward matches the reference, values and indices",
          arguments: poolingCases.indices)
    func maxForward(caseIndex: Int) throws {
        let (shape, window) = poolingCases[caseIndex]
        let pool = ThreadPool(threads: 2)
        let x = try randomTensor(shape, seed: 31)
        let (y, indices) = try maxPool2dForward(x, window: window, pool: pool)
        let reference = PoolingReference(shape: shape, window: window).maxPool(x.scalars.doubles)
        #expect(y.shape == (try window.outputShape(forInput: shape)))
        #expect(y.scalars.doubles == reference.values)
        #expect(indices.scalars == reference.indices)
    }

    @Test("Average pooling forward matches the reference", arguments: poolingCases.indices)
    func averageForward(caseIndex: Int) throws {
        let (shape, window) = poolingCases[caseIndex]
        let pool = ThreadPool(threads: 2)
        let x = try randomTensor(shape, seed: 32)
        let y = try avgPool2dForward(x, window: window, pool: pool)
        let reference = PoolingReference(shape: shape, window: window).avgPool(x.scalars.doubles)
        #expect(maximumDifference(y.scalars, reference) < 1e-6)
    }

    @Test("Pooling backward matches finite differences", arguments: poolingCases.indices)
    func gradientCheck(caseIndex: Int) throws {
        let (shape, window) = poolingCases[caseIndex]
        let pool = ThreadPool(threads: 2)
        let x = try randomTensor(shape, seed: 33)  // distinct values: max is differentiable
        let reference = PoolingReference(shape: shape, window: window)
        let outputShape = try window.outputShape(forInput: shape)
        let w = try randomTensor(outputShape, seed: 34)
        let ws = w.scalars.doubles, xs = x.scalars.doubles
        let (_, indices) = try maxPool2dForward(x, window: window, pool: pool)
        let maxGradient = try maxPool2dBackward(w, indices: indices, pool: pool)
        let maxNumeric = numericGradient(xs, step: 1e-7) { weightedSum(reference.maxPool($0).values, ws) }
        #expect(maximumDifference(maxGradient.scalars, maxNumeric) < 1e-5)
        let avgGradient = try avgPool2dBackward(w, inputShape: shape, window: window, pool: pool)
        let avgNumeric = numericGradient(xs) { weightedSum(reference.avgPool($0), ws) }
        #expect(maximumDifference(avgGradient.scalars, avgNumeric) < 1e-5)
    }

    @Test("Pooling is the same bits for every thread count", arguments: kernelThreadCounts)
    func threadCounts(threads: Int) throws {
        let pool = ThreadPool(threads: threads), serial = ThreadPool(threads: 1)
        let shape = [6, 7, 12, 12]  // 42 planes in several tiles
        let window = Pool2dWindow(kernel: 3, stride: 2, padding: 1)
        let x = try randomTensor(shape, seed: 35)
        let w = try randomTensor(try window.outputShape(forInput: shape), seed: 36)
        func run(_ pool: ThreadPool) throws -> [[UInt32]] {
            let (y, indices) = try maxPool2dForward(x, window: window, pool: pool)
            return [bitPatterns(y), indices.scalars.map(UInt32.init(bitPattern:)),
                    bitPatterns(try maxPool2dBackward(w, indices: indices, pool: pool)),
                    bitPatterns(try avgPool2dForward(x, window: window, pool: pool)),
                    bitPatterns(try avgPool2dBackward(w, inputShape: shape, window: window, pool: pool))]
        }
        #expect(try run(pool) == run(serial))
    }

    @Test("Ties go to the first element in scan order, and padding never wins")
    func tiesAndPadding() throws {
        let pool = ThreadPool(threads: 1)
        let ones = try Tensor(repeating: 1, shape: [1, 1, 4, 4])
        let (_, indices) = try maxPool2dForward(ones, window: Pool2dWindow(kernel: 2), pool: pool)
        #expect(indices.scalars == [0, 2, 8, 10])
        let negative = try Tensor(repeating: -5, shape: [1, 1, 3, 3])
        let (y, padded) = try maxPool2dForward(negative, window: Pool2dWindow(kernel: 3, stride: 1, padding: 1),
                                               pool: pool)
        #expect(y.scalars.allSatisfy { $0 == -5 })
        #expect(padded.scalars == [0, 0, 1, 0, 0, 1, 3, 3, 4])
        // count_include_pad: the corner window of 3×3 with padding 1 sees 4 of 9 elements.
        let average = try avgPool2dForward(try Tensor(repeating: 9, shape: [1, 1, 3, 3]),
                                           window: Pool2dWindow(kernel: 3, stride: 1, padding: 1), pool: pool)
        #expect(average[flat: 0] == 4 && average[flat: 4] == 9)
    }

    @Test("Overlapping windows add their gradients")
    func overlappingGradients() throws {
        let pool = ThreadPool(threads: 1)
        let x = try Tensor([0, 0, 0, 0, 9, 0, 0, 0, 0], shape: [1, 1, 3, 3])
        let (_, indices) = try maxPool2dForward(x, window: Pool2dWindow(kernel: 2, stride: 1), pool: pool)
        let dx = try maxPool2dBackward(try Tensor([1, 2, 3, 4], shape: [1, 1, 2, 2]), indices: indices, pool: pool)
        #expect(dx.scalars == [0, 0, 0, 0, 10, 0, 0, 0, 0])
    }

    @Test("Into forms reuse their buffers")
    func bufferReuse() throws {
        let pool = ThreadPool(threads: 2)
        let x = try randomTensor([2, 3, 8, 8], seed: 37)
        let window = Pool2dWindow(kernel: 2)
        var y = try Tensor(zeros: [2, 3, 4, 4])
        var indices = MaxPool2dIndices()
        try maxPool2dForward(x, window: window, into: &y, indices: &indices, pool: pool)
        let addresses = (y.withUnsafeBufferPointer { $0.baseAddress }, indices.storage?.pointer)
        try maxPool2dForward(x, window: window, into: &y, indices: &indices, pool: pool)
        #expect(y.withUnsafeBufferPointer { $0.baseAddress } == addresses.0)
        #expect(indices.storage?.pointer == addresses.1)
    }

    @Test("Bad inputs and windows throw a shape error naming the shapes")
    func badShapes() throws {
        let pool = ThreadPool(threads: 1)
        let x = try Tensor(zeros: [1, 2, 3, 3])
        #expect {
            _ = try maxPool2dForward(x, window: Pool2dWindow(kernel: 4), pool: pool)
        } throws: { error in
            error is ShapeError && "\(error)".contains("[1, 2, 3, 3]") && "\(error)".contains("larger")
        }
        #expect(throws: ShapeError.self) {
            _ = try avgPool2dForward(x, window: Pool2dWindow(kernel: 6, padding: 1), pool: pool)
        }
        #expect(throws: ShapeError.self) {
            _ = try maxPool2dForward(try Tensor(zeros: [2, 3, 3]), window: Pool2dWindow(kernel: 2), pool: pool)
        }
        #expect(throws: ShapeError.self) {  // padding more than half the kernel
            _ = try maxPool2dForward(x, window: Pool2dWindow(kernel: 2, padding: 2), pool: pool)
        }
        #expect(throws: ShapeError.self) {
            _ = try avgPool2dForward(x, window: Pool2dWindow(kernel: 2, stride: 0), pool: pool)
        }
        let (_, indices) = try maxPool2dForward(x, window: Pool2dWindow(kernel: 2), pool: pool)
        #expect {
            _ = try maxPool2dBackward(try Tensor(zeros: [1, 2, 2, 1]), indices: indices, pool: pool)
        } throws: { error in
            "\(error)".contains("[1, 2, 1, 1]") && "\(error)".contains("[1, 2, 2, 1]")
        }
        #expect(throws: ShapeError.self) {
            _ = try avgPool2dBackward(try Tensor(zeros: [1, 2, 2, 2]), inputShape: [1, 2, 3, 3],
                                      window: Pool2dWindow(kernel: 2), pool: pool)
        }
    }
}
