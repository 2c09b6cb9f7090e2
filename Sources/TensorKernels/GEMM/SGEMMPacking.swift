/// Packing of SGEMM operands into the micro-kernels' layouts (BLIS "packm"), in Swift: plain
/// copies (and a multiplication by α for A), so they never change a bit on their own.
///
/// The loops write the packed panel sequentially and use wrapping arithmetic on indices (the
/// ranges are checked by the caller), so that the compiler keeps them free of overflow checks
/// and vectorises the contiguous cases.
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
            let first = panel &* mr
            let height = min(mr, rows &- first)
            var target = destination + panel &* mr &* depth
            if transposed {
                // Row p of the stored matrix holds the panel's column p contiguously.
                var source = a + (depthStart &* lda &+ rowStart &+ first)
                for _ in 0..<depth {
                    copyRow(source, target, height, mr, alpha)
                    source += lda
                    target += mr
                }
            } else {
                // Column p of the panel is a strided gather over its rows.
                var source = a + ((rowStart &+ first) &* lda &+ depthStart)
                for _ in 0..<depth {
                    gather(source, lda, target, height, mr, alpha)
                    source += 1
                    target += mr
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
            let first = panel &* nr
            let width = min(nr, columns &- first)
            var target = destination + panel &* nr &* depth
            if transposed {
                var source = b + ((columnStart &+ first) &* ldb &+ depthStart)
                for _ in 0..<depth {
                    gather(source, ldb, target, width, nr, 1)
                    source += 1
                    target += nr
                }
            } else {
                var source = b + (depthStart &* ldb &+ columnStart &+ first)
                for _ in 0..<depth {
                    copyRow(source, target, width, nr, 1)
                    source += ldb
                    target += nr
                }
            }
        }
    }

    /// target[0 ..< count] = scale · source[0 ..< count], then zeros up to `padded`.
    @inline(__always)
    static func copyRow(_ source: UnsafePointer<Float>, _ target: UnsafeMutablePointer<Float>,
                        _ count: Int, _ padded: Int, _ scale: Float) {
        if scale == 1 {
            var j = 0
            while j < count { target[j] = source[j]; j &+= 1 }
        } else {
            var j = 0
            while j < count { target[j] = scale * source[j]; j &+= 1 }
        }
        var j = count
        while j < padded { target[j] = 0; j &+= 1 }
    }

    /// target[i] = scale · source[i·stride] for i < count, then zeros up to `padded`.
    @inline(__always)
    static func gather(_ source: UnsafePointer<Float>, _ stride: Int,
                       _ target: UnsafeMutablePointer<Float>, _ count: Int, _ padded: Int,
                       _ scale: Float) {
        if scale == 1 {
            var i = 0, offset = 0
            while i < count { target[i] = source[offset]; i &+= 1; offset &+= stride }
        } else {
            var i = 0, offset = 0
            while i < count { target[i] = scale * source[offset]; i &+= 1; offset &+= stride }
        }
        var i = count
        while i < padded { target[i] = 0; i &+= 1 }
    }

    /// Copies op(B) = Bᵀ (stored n × k, `b[j·ldb + p]`) for depths `depths` into a row-major
    /// k × n matrix `destination` (row stride n), for the small-matrix path's strided kernel.
    static func transposeB(b: UnsafePointer<Float>, ldb: Int, columns: Int, depths: Range<Int>,
                           into destination: UnsafeMutablePointer<Float>) {
        for p in depths {
            gather(b + p, ldb, destination + p &* columns, columns, columns, 1)
        }
    }
}
