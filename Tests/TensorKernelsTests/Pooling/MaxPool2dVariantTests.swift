import CKernels
import ParallelRuntime
import Testing
@testable import TensorKernels

/// Max pooling by the Swift loop the C kernels replaced (session 24): each output scans its
/// clipped window in row-major order from its first element; a larger element or a NaN takes
/// over, and the first NaN ends the scan. The kernels must choose the same elements.
struct ScalarMaxPooling: PoolingTestShape {
    let shape: [Int]
    let window: Pool2dWindow

    func forward(_ x: [Float]) -> (values: [Float], indices: [Int32]) {
        let height = shape[2], width = shape[3], inPlane = height * width
        var values: [Float] = [], indices: [Int32] = []
        for plane in 0..<(shape[0] * shape[1]) {
            for i in 0..<outputHeight {
                let top = i * window.strideHeight - window.paddingHeight
                let rows = max(top, 0)..<min(top + window.kernelHeight, height)
                for j in 0..<outputWidth {
                    let left = j * window.strideWidth - window.paddingWidth
                    let columns = max(left, 0)..<min(left + window.kernelWidth, width)
                    var bestIndex = rows.lowerBound * width + columns.lowerBound
                    var best = x[plane * inPlane + bestIndex]
                    if !best.isNaN {
                        scan: for h in rows {
                            for w in columns {
                                let v = x[plane * inPlane + h * width + w]
                                if v > best || v.isNaN {
                                    best = v
                                    bestIndex = h * width + w
                                    if v.isNaN { break scan }
                                }
                            }
                        }
                    }
                    values.append(best)
                    indices.append(Int32(bestIndex))
                }
            }
        }
        return (values, indices)
    }
}

@Suite("Max pooling kernels")
struct MaxPool2dVariantTests {
    /// The average-pooling kernels' windows (every path: 2×2 stride 2 with rows of 4 to 300
    /// outputs, the vector loops' masked ends, padding, overlap, other strides and kernels),
    /// plus 2×2 windows with a vertical stride of 1 and 3.
    static let cases = AvgPool2dVariantTests.cases + [
        ([1, 2, 7, 33], Pool2dWindow(kernelHeight: 2, kernelWidth: 2, strideHeight: 1, strideWidth: 2)),
        ([1, 1, 10, 20], Pool2dWindow(kernelHeight: 2, kernelWidth: 2, strideHeight: 3, strideWidth: 2)),
    ]

    /// Inputs with many ties (values on a coarse grid), signed zeros (+0 and −0 tie), and, with
    /// `nanEvery`, NaNs at every position of the 2×2 windows.
    static func input(_ shape: [Int], seed: UInt64, nanEvery: Int?) throws -> [Float] {
        var values = try randomTensor(shape, seed: seed).scalars.map { ($0 * 3).rounded() / 3 }
        for k in stride(from: 1, to: values.count, by: 4) where values[k] == 0 { values[k] = -0.0 }
        if let nanEvery {
            for k in stride(from: 3, to: values.count, by: nanEvery) { values[k] = .nan }
        }
        return values
    }

    @Test("Every variant chooses the scalar loop's elements: values, bits and indices",
          arguments: cases.indices, [nil, 5, 13])
    func scalarChoices(caseIndex: Int, nanEvery: Int?) throws {
        let (shape, window) = Self.cases[caseIndex]
        let xValues = try Self.input(shape, seed: UInt64(40 + caseIndex), nanEvery: nanEvery)
        let x = try Tensor(xValues, shape: shape)
        let expected = ScalarMaxPooling(shape: shape, window: window).forward(xValues)
        let outputShape = try window.outputShape(forInput: shape)
        let pool = ThreadPool(threads: 3)
        for isa in supportedISAs {
            var y = try Tensor(zeros: outputShape)
            var indices = MaxPool2dIndices()
            try maxPool2dForward(x, window: window, into: &y, indices: &indices, pool: pool, isa: isa)
            #expect(bitPatterns(y) == expected.values.map(\.bitPattern), "\(shape) \(window), variant \(isa.rawValue)")
            #expect(indices.scalars == expected.indices, "\(shape) \(window), variant \(isa.rawValue)")
        }
    }
}
