import ParallelRuntime
import Testing
@testable import TensorKernels

/// The packed layouts element by element, against the definition in `SGEMMPacking`: every
/// width (4-line groups and leftovers), depths off a multiple of 4, partial last panels,
/// panel ranges that start past 0, α ≠ 1, and sources whose gaps hold NaN.
@Suite("SGEMM packing")
struct SGEMMPackingTests {
    /// A `lines × depth` operand stored both ways, with NaN in the gaps past each stored row.
    struct Operand {
        let lines: Int, depth: Int
        let ld: Int
        /// Element (p, i) at values[i·ld + p] when `linesOuter`, else values[p·ld + i].
        let linesOuter: Bool
        let values: [Float]

        init(lines: Int, depth: Int, linesOuter: Bool, seed: UInt64) {
            self.lines = lines; self.depth = depth; self.linesOuter = linesOuter
            let stored = linesOuter ? (rows: lines, width: depth) : (rows: depth, width: lines)
            ld = stored.width + 3
            values = GEMMProblem.matrix(rows: stored.rows, width: stored.width, ld: ld, seed: seed,
                                        stream: 7, gap: .nan)
        }

        func value(p: Int, i: Int) -> Float { linesOuter ? values[i * ld + p] : values[p * ld + i] }
    }

    static let cases: [(lines: Int, depth: Int, width: Int)] = [
        (1, 1, 4), (3, 5, 4), (12, 16, 12), (13, 7, 12), (29, 33, 12), (14, 9, 14), (31, 10, 14),
        (6, 4, 6), (17, 19, 6), (32, 8, 32), (47, 13, 32), (16, 3, 16), (5, 2, 8), (35, 6, 32),
        (3, 9, 32), (70, 5, 40),
    ]

    /// What panel q of the operand must hold, by the definition.
    static func expectedPanel(_ operand: Operand, width: Int, panel q: Int, scale: Float) -> [Float] {
        var panel = [Float](repeating: 0, count: width * operand.depth)
        for p in 0..<operand.depth {
            for j in 0..<width where q * width + j < operand.lines {
                let value = operand.value(p: p, i: q * width + j)
                panel[p * width + j] = scale == 1 ? value : scale * value
            }
        }
        return panel
    }

    /// Every ISA this CPU runs, each with both transposes.
    static let variants: [(KernelISA, Bool)] = KernelISA.allCases.filter(\.isSupported)
        .flatMap { isa in [(isa, false), (isa, true)] }

    @Test("packA writes every panel of op(A), scaled by α, zero-padded", arguments: variants)
    func packA(isa: KernelISA, transposed: Bool) {
        for (index, shape) in Self.cases.enumerated() {
            let operand = Operand(lines: shape.lines, depth: shape.depth, linesOuter: !transposed,
                                  seed: UInt64(index))
            let panels = (shape.lines + shape.width - 1) / shape.width
            for alpha: Float in [1, -0.75] {
                for range in [0..<panels, (panels / 2)..<panels] {
                    let sentinel = Float(-1.5)
                    var packed = [Float](repeating: sentinel, count: panels * shape.width * shape.depth)
                    operand.values.withUnsafeBufferPointer { a in
                        packed.withUnsafeMutableBufferPointer { target in
                            SGEMMPacking.packA(isa: isa, transposed: transposed, a: a.baseAddress!,
                                               lda: operand.ld, rowStart: 0, rows: shape.lines,
                                               depthStart: 0, depth: shape.depth, alpha: alpha,
                                               mr: shape.width, panels: range,
                                               into: target.baseAddress!)
                        }
                    }
                    let size = shape.width * shape.depth
                    for q in 0..<panels {
                        let got = Array(packed[(q * size)..<((q + 1) * size)])
                        let expected = range.contains(q)
                            ? Self.expectedPanel(operand, width: shape.width, panel: q, scale: alpha)
                            : [Float](repeating: sentinel, count: size)
                        #expect(bitPatterns(got) == bitPatterns(expected),
                                "\(isa) \(shape) transposed \(transposed) α \(alpha) panels \(range): panel \(q)")
                    }
                }
            }
        }
    }

    @Test("packB writes every panel of op(B) from an offset start, zero-padded", arguments: variants)
    func packB(isa: KernelISA, transposed: Bool) {
        for (index, shape) in Self.cases.enumerated() {
            // One extra line and depth before the packed block, so the start offsets count.
            let operand = Operand(lines: shape.lines + 1, depth: shape.depth + 1,
                                  linesOuter: transposed, seed: UInt64(100 + index))
            let panels = (shape.lines + shape.width - 1) / shape.width
            var packed = [Float](repeating: .nan, count: panels * shape.width * shape.depth)
            operand.values.withUnsafeBufferPointer { b in
                packed.withUnsafeMutableBufferPointer { target in
                    SGEMMPacking.packB(isa: isa, transposed: transposed, b: b.baseAddress!, ldb: operand.ld,
                                       depthStart: 1, depth: shape.depth, columnStart: 1,
                                       columns: shape.lines, nr: shape.width, panels: 0..<panels,
                                       into: target.baseAddress!)
                }
            }
            for q in 0..<panels {
                for p in 0..<shape.depth {
                    for j in 0..<shape.width {
                        let column = q * shape.width + j
                        let expected = column < shape.lines ? operand.value(p: p + 1, i: column + 1) : 0
                        let got = packed[q * shape.width * shape.depth + p * shape.width + j]
                        #expect(got.bitPattern == expected.bitPattern,
                                "\(isa) \(shape) transposed \(transposed): panel \(q) (\(p), \(j))")
                    }
                }
            }
        }
    }

    @Test("transposeB lays Bᵀ out row-major for any range of depths")
    func transposeB() {
        let operand = Operand(lines: 23, depth: 18, linesOuter: true, seed: 5)
        var result = [Float](repeating: .nan, count: 23 * 18)
        operand.values.withUnsafeBufferPointer { b in
            result.withUnsafeMutableBufferPointer { target in
                for depths in [0..<5, 5..<6, 6..<18] {
                    SGEMMPacking.transposeB(b: b.baseAddress!, ldb: operand.ld, columns: 23,
                                            depths: depths, into: target.baseAddress!)
                }
            }
        }
        for p in 0..<18 {
            for j in 0..<23 {
                #expect(result[p * 23 + j].bitPattern == operand.value(p: p, i: j).bitPattern)
            }
        }
    }
}
