/// Packing of SGEMM operands into the micro-kernels' layouts (BLIS "packm"), in Swift: plain
/// copies (and a multiplication by α for A), so they never change a bit on their own.
enum SGEMMPacking {
    /// Packs `rows × depth` of op(A), starting at row `rowStart` and depth `depthStart`, scaled
    /// by `alpha`, into `mr`-row micro-panels: element (i, p) of panel r goes to
    /// `destination[r·mr·depth + p·mr + i]`; rows past `rows` in the last panel are zero.
    ///
    /// op(A)'s element (i, p) is `a[i·lda + p]`, or `a[p·lda + i]` when `transposed`.
    /// `alpha · a` is one rounded product (skipped when α = 1, which is exact anyway).
    static func packA(transposed: Bool, a: UnsafePointer<Float>, lda: Int, rowStart: Int,
                      rows: Int, depthStart: Int, depth: Int, alpha: Float, mr: Int,
                      panels: Range<Int>, into destination: UnsafeMutablePointer<Float>) {
        for panel in panels {
            let first = panel * mr
            let height = min(mr, rows - first)
            let out = destination + panel * mr * depth
            if transposed {
                // Row p of the stored matrix holds the mr values of column p of the panel.
                for p in 0..<depth {
                    let source = a + (depthStart + p) * lda + rowStart + first
                    let target = out + p * mr
                    if alpha == 1 {
                        for i in 0..<height { target[i] = source[i] }
                    } else {
                        for i in 0..<height { target[i] = alpha * source[i] }
                    }
                    for i in height..<mr { target[i] = 0 }
                }
            } else {
                for i in 0..<height {
                    let source = a + (rowStart + first + i) * lda + depthStart
                    if alpha == 1 {
                        for p in 0..<depth { out[p * mr + i] = source[p] }
                    } else {
                        for p in 0..<depth { out[p * mr + i] = alpha * source[p] }
                    }
                }
                if height < mr {
                    for p in 0..<depth {
                        for i in height..<mr { out[p * mr + i] = 0 }
                    }
                }
            }
        }
    }

    /// Packs `depth × columns` of op(B), starting at depth `depthStart` and column
    /// `columnStart`, into `nr`-column micro-panels: element (p, j) of panel q goes to
    /// `destination[q·nr·depth + p·nr + j]`; columns past `columns` in the last panel are zero.
    ///
    /// op(B)'s element (p, j) is `b[p·ldb + j]`, or `b[j·ldb + p]` when `transposed`.
    static func packB(transposed: Bool, b: UnsafePointer<Float>, ldb: Int, depthStart: Int,
                      depth: Int, columnStart: Int, columns: Int, nr: Int, panels: Range<Int>,
                      into destination: UnsafeMutablePointer<Float>) {
        for panel in panels {
            let first = panel * nr
            let width = min(nr, columns - first)
            let out = destination + panel * nr * depth
            if transposed {
                for j in 0..<width {
                    let source = b + (columnStart + first + j) * ldb + depthStart
                    for p in 0..<depth { out[p * nr + j] = source[p] }
                }
                if width < nr {
                    for p in 0..<depth {
                        for j in width..<nr { out[p * nr + j] = 0 }
                    }
                }
            } else {
                for p in 0..<depth {
                    let source = b + (depthStart + p) * ldb + columnStart + first
                    let target = out + p * nr
                    for j in 0..<width { target[j] = source[j] }
                    for j in width..<nr { target[j] = 0 }
                }
            }
        }
    }

    /// Copies op(B) = Bᵀ (stored n × k, `b[j·ldb + p]`) for depths `depths` into a row-major
    /// k × n matrix `destination` (row stride n), for the small-matrix path's strided kernel.
    static func transposeB(b: UnsafePointer<Float>, ldb: Int, columns: Int, depths: Range<Int>,
                           into destination: UnsafeMutablePointer<Float>) {
        for p in depths {
            let target = destination + p * columns
            for j in 0..<columns { target[j] = b[j * ldb + p] }
        }
    }
}
