import ParallelRuntime
import Testing
@testable import TensorKernels

@Suite("im2col and col2im")
struct Im2colCopiesTests {
    static let cases = conv2dCases + [Conv2dCase("LeNet's second", input: [1, 32, 12, 12], weight: [64, 32, 5, 5])]

    /// The input element tap t reads for output (oy, ox), or nil in the padding.
    static func source(_ g: Conv2dGeometry, t: Int, oy: Int, ox: Int) -> Int? {
        let c = t / (g.kernelHeight * g.kernelWidth)
        let ky = t / g.kernelWidth % g.kernelHeight, kx = t % g.kernelWidth
        let iy = oy * g.strideHeight + ky * g.dilationHeight - g.paddingHeight
        let ix = ox * g.strideWidth + kx * g.dilationWidth - g.paddingWidth
        guard iy >= 0 && iy < g.height && ix >= 0 && ix < g.width else { return nil }
        return (c * g.height + iy) * g.width + ix
    }

    /// Output rows in two blocks where there are two or more, so a block starts past row 0.
    static func blocks(_ g: Conv2dGeometry) -> [Range<Int>] {
        let half = (g.outputHeight + 1) / 2
        return half < g.outputHeight ? [0..<half, half..<g.outputHeight] : [0..<g.outputHeight]
    }

    @Test("im2col copies each tap's input element, zero in the padding", arguments: cases)
    func im2col(c: Conv2dCase) throws {
        let g = c.geometry
        let conv = Im2colConv2d(geometry: g, isa: KernelISA.current.cValue)
        let image = c.values(g.inputImageCount, seed: 5)
        for rows in Self.blocks(g) {
            let positions = rows.count * g.outputWidth
            var col = [Float](repeating: .nan, count: g.taps * positions)
            conv.im2col(image, rows: rows, into: &col)
            var expected = [Float](repeating: .nan, count: col.count)
            for t in 0..<g.taps {
                for oy in rows {
                    for ox in 0..<g.outputWidth {
                        let at = t * positions + (oy - rows.lowerBound) * g.outputWidth + ox
                        expected[at] = Self.source(g, t: t, oy: oy, ox: ox).map { image[$0] } ?? 0
                    }
                }
            }
            #expect(col.map(\.bitPattern) == expected.map(\.bitPattern), "rows \(rows)")
        }
    }

    @Test("col2im adds taps in order, then positions in order, into what dx holds", arguments: cases)
    func col2imAdd(c: Conv2dCase) throws {
        let g = c.geometry
        let conv = Im2colConv2d(geometry: g, isa: KernelISA.current.cValue)
        for rows in Self.blocks(g) {
            let positions = rows.count * g.outputWidth
            // Values of many magnitudes, so a different order of the adds shows in the bits.
            let col = c.values(g.taps * positions, seed: 7).enumerated().map { $1 * Float(1 << ($0 % 13)) }
            var dx = c.values(g.inputImageCount, seed: 9)
            var expected = dx
            for t in 0..<g.taps {
                for oy in rows {
                    for ox in 0..<g.outputWidth {
                        guard let i = Self.source(g, t: t, oy: oy, ox: ox) else { continue }
                        expected[i] = expected[i] + col[t * positions + (oy - rows.lowerBound) * g.outputWidth + ox]
                    }
                }
            }
            conv.col2imAdd(col, rows: rows, into: &dx)
            #expect(dx.map(\.bitPattern) == expected.map(\.bitPattern), "rows \(rows)")
        }
    }
}
