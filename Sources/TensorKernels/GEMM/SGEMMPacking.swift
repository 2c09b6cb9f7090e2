import CKernels
import ParallelRuntime

/// Packing of SGEMM operands into the micro-kernels' layouts (BLIS "packm"): plain copies (and
/// a multiplication by α for A), so they never change a bit on their own. The loops are C
/// (`weave_sgemm_pack`, sgemm_pack.c: why is there). `isa` is the widest the copies may use:
/// the kernel's, which the CPU supports.
enum SGEMMPacking {
    /// Packs `rows × depth` of op(A), starting at row `rowStart` and depth `depthStart`, scaled
    /// by `alpha`, into `mr`-row micro-panels: element (i, p) of panel r goes to
    /// `destination[r·mr·depth + p·mr + i]`; rows past `rows` in the last panel are zero.
    ///
    /// op(A)'s element (i, p) is `a[i·lda + p]`, or `a[p·lda + i]` when `transposed`.
    /// `alpha · a` is one rounded product (skipped when α = 1, which is exact anyway).
    static func packA(isa: KernelISA, transposed: Bool, a: UnsafePointer<Float>, lda: Int, rowStart: Int,
                      rows: Int, depthStart: Int, depth: Int, alpha: Float, mr: Int,
                      panels: Range<Int>, into destination: UnsafeMutablePointer<Float>) {
        let source = transposed ? a + (depthStart * lda + rowStart) : a + (rowStart * lda + depthStart)
        weave_sgemm_pack(isa.cValue, source, Int64(lda), transposed ? 0 : 1, Int64(rows), Int64(depth),
                         Int64(mr), Int64(panels.lowerBound), Int64(panels.count), alpha,
                         destination)
    }

    /// Packs `depth × columns` of op(B), starting at depth `depthStart` and column
    /// `columnStart`, into `nr`-column micro-panels: element (p, j) of panel q goes to
    /// `destination[q·nr·depth + p·nr + j]`; columns past `columns` in the last panel are zero.
    ///
    /// op(B)'s element (p, j) is `b[p·ldb + j]`, or `b[j·ldb + p]` when `transposed`.
    static func packB(isa: KernelISA, transposed: Bool, b: UnsafePointer<Float>, ldb: Int, depthStart: Int,
                      depth: Int, columnStart: Int, columns: Int, nr: Int, panels: Range<Int>,
                      into destination: UnsafeMutablePointer<Float>) {
        let source = transposed ? b + (columnStart * ldb + depthStart) : b + (depthStart * ldb + columnStart)
        weave_sgemm_pack(isa.cValue, source, Int64(ldb), transposed ? 1 : 0, Int64(columns), Int64(depth),
                         Int64(nr), Int64(panels.lowerBound), Int64(panels.count), 1, destination)
    }

    /// Copies op(B) = Bᵀ (stored n × k, `b[j·ldb + p]`) for depths `depths` into a row-major
    /// k × n matrix `destination` (row stride n), for the small-matrix path's strided kernel:
    /// one panel `columns` wide.
    static func transposeB(b: UnsafePointer<Float>, ldb: Int, columns: Int, depths: Range<Int>,
                           into destination: UnsafeMutablePointer<Float>) {
        guard !depths.isEmpty else { return }
        weave_sgemm_pack(WEAVE_ISA_PORTABLE, b + depths.lowerBound, Int64(ldb), 1, Int64(columns), Int64(depths.count),
                         Int64(columns), 0, 1, 1, destination + depths.lowerBound * columns)
    }
}
