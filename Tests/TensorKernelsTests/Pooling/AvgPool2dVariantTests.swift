import CKernels
import ParallelRuntime
import Testing
@testable import TensorKernels

/// Average pooling by the scalar loops the C kernels replaced (session 23), in `Float`: each
/// output sums its window row by row from +0 and divides once; each input gradient starts at
/// +0 and takes the shares of the windows covering it in output order. The kernels must give
/// these bits, in every variant.
struct ScalarAveragePooling: PoolingTestShape {
    let shape: [Int]
    let window: Pool2dWindow

    var divisor: Float { Float(window.kernelHeight * window.kernelWidth) }

    func rows(_ i: Int) -> Range<Int> {
        let start = i * window.strideHeight - window.paddingHeight
        return max(start, 0)..<min(start + window.kernelHeight, shape[2])
    }

    func columns(_ j: Int) -> Range<Int> {
        let start = j * window.strideWidth - window.paddingWidth
        return max(start, 0)..<min(start + window.kernelWidth, shape[3])
    }

    func forward(_ x: [Float]) -> [Float] {
        let width = shape[3], inPlane = shape[2] * shape[3]
        var y: [Float] = []
        for plane in 0..<(shape[0] * shape[1]) {
            for i in 0..<outputHeight {
                for j in 0..<outputWidth {
                    var sum: Float = 0
                    for h in rows(i) {
                        for w in columns(j) { sum += x[plane * inPlane + h * width + w] }
                    }
                    y.append(sum / divisor)
                }
            }
        }
        return y
    }

    func backward(_ dy: [Float]) -> [Float] {
        let width = shape[3], inPlane = shape[2] * shape[3]
        var dx = [Float](repeating: 0, count: shape.reduce(1, *))
        var o = 0
        for plane in 0..<(shape[0] * shape[1]) {
            for i in 0..<outputHeight {
                for j in 0..<outputWidth {
                    let share = dy[o] / divisor
                    for h in rows(i) {
                        for w in columns(j) { dx[plane * inPlane + h * width + w] += share }
                    }
                    o += 1
                }
            }
        }
        return dx
    }
}

@Suite("Average pooling kernels")
struct AvgPool2dVariantTests {
    /// Windows whose columns run through every path of the kernels: 2×2 stride 2 (its own
    /// loops, with rows of 4, 9, 12, 17 and 300 outputs, padded, and with 3 window rows),
    /// strides 1, 2 and 3 (the constant and the general stride loops), padding (clipped edge
    /// columns), overlapping windows (the backward's scalar loop), rows wider than the kernels'
    /// 256-output chunk, and planes too narrow for any interior column.
    static let cases: [([Int], Pool2dWindow)] = [
        ([2, 3, 24, 24], Pool2dWindow(kernel: 2)),
        ([1, 2, 7, 9], Pool2dWindow(kernel: 2)),
        ([1, 1, 4, 600], Pool2dWindow(kernel: 2)),
        ([1, 1, 3, 35], Pool2dWindow(kernel: 2)),
        ([1, 1, 2, 18], Pool2dWindow(kernel: 2)),
        ([1, 2, 9, 40], Pool2dWindow(kernel: 2, stride: 2, padding: 1)),
        ([1, 1, 5, 12], Pool2dWindow(kernelHeight: 3, kernelWidth: 2, strideHeight: 1, strideWidth: 2)),
        ([1, 1, 3, 1_100], Pool2dWindow(kernelHeight: 1, kernelWidth: 3, strideHeight: 1, strideWidth: 3)),
        ([2, 2, 11, 13], Pool2dWindow(kernel: 3, stride: 3, padding: 1)),
        ([1, 2, 9, 10], Pool2dWindow(kernel: 3, stride: 1, padding: 1)),
        ([3, 2, 9, 7], Pool2dWindow(kernel: 3, stride: 2, padding: 1)),
        ([1, 2, 8, 11], Pool2dWindow(kernel: 2, stride: 3)),
        ([1, 1, 5, 5], Pool2dWindow(kernel: 1)),
        ([1, 2, 6, 14], Pool2dWindow(kernelHeight: 2, kernelWidth: 3, strideHeight: 1, strideWidth: 3,
                                     paddingHeight: 0, paddingWidth: 1)),
        ([1, 1, 9, 9], Pool2dWindow(kernel: 4, stride: 4, padding: 2)),
        ([1, 1, 2, 2], Pool2dWindow(kernel: 2, stride: 1, padding: 1)),
        ([2, 1, 12, 530], Pool2dWindow(kernel: 2, stride: 1)),
    ]

    @Test("Every variant gives the scalar loops' bits, forward and backward", arguments: cases.indices)
    func scalarBits(caseIndex: Int) throws {
        let (shape, window) = Self.cases[caseIndex]
        let reference = ScalarAveragePooling(shape: shape, window: window)
        // Signed zeros: a sum of −0s is +0 when it starts from +0, and so is a −0 share.
        var xValues = try randomTensor(shape, seed: UInt64(70 + caseIndex)).scalars
        for k in stride(from: 0, to: xValues.count, by: 5) { xValues[k] = -0.0 }
        let x = try Tensor(xValues, shape: shape)
        let outputShape = try window.outputShape(forInput: shape)
        var dyValues = try randomTensor(outputShape, seed: UInt64(90 + caseIndex)).scalars
        for k in stride(from: 0, to: dyValues.count, by: 3) { dyValues[k] = -0.0 }
        let dy = try Tensor(dyValues, shape: outputShape)
        let expectedY = reference.forward(x.scalars).map(\.bitPattern)
        let expectedDX = reference.backward(dy.scalars).map(\.bitPattern)
        let pool = ThreadPool(threads: 3)
        for isa in supportedISAs {
            var y = try Tensor(zeros: outputShape)
            try avgPool2dForward(x, window: window, into: &y, pool: pool, isa: isa)
            #expect(bitPatterns(y) == expectedY, "forward, \(shape) \(window), variant \(isa.rawValue)")
            var dx = try Tensor(zeros: shape)
            try avgPool2dBackward(dy, window: window, into: &dx, pool: pool, isa: isa)
            #expect(bitPatterns(dx) == expectedDX, "backward, \(shape) \(window), variant \(isa.rawValue)")
        }
    }
}
