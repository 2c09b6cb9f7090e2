import ParallelRuntime

/// Which SGEMM algorithm runs. Both give the same bits (every element is the same chain of
/// fused multiply-adds), so the choice changes speed only.
package enum SGEMMPath: Sendable, CaseIterable {
    /// `packed` or `small`, by shape (`SGEMMDriver.prefersSmallPath`).
    case automatic
    /// BLIS loops over packed A and B.
    case packed
    /// No packing of A; B read in place (packed to row-major first only when transposed).
    /// Only for α = 1: with another α it runs the packed path, which folds α into packed A.
    case small
}

/// The SGEMM driver: BLIS's loops JC → PC → IC → JR → IR over packed operands, and a
/// small-matrix path. It never knows which micro-kernel runs (`SGEMMMicroKernel` is data).
///
/// Parallel over tiles of C (rows × columns of micro-tiles), never over k: each element's
/// chain runs in one thread, in k order, so the result is the same for any thread count.
/// Shared packed panels live in the calling thread's scratch (`ThreadPool.withScratch`) and are
/// filled in parallel before the tiles that read them start.
enum SGEMMDriver {
    /// Multiply-adds below which a tile is not worth a fork (2–3 µs of work at full speed:
    /// several times the cost of a fork-join whose workers are spinning).
    static let minimumTileWork = 1 << 18
    /// At most this many tiles of C per parallel step: enough for balance on a few cores.
    static let targetTiles = 16
    /// Blocks of `mc` rows of A packed at once in the packed path (with mc = 144 and
    /// kc = 256, at most 2.4 MB of packed A).
    static let regionBlocks = 16

    /// Whether the small-matrix path is faster for this shape: when n is narrow, packing A
    /// costs as much as the multiply (one pass over A per `n / NR` micro-kernel calls), as long
    /// as B (k × n, read in place) stays in L2; and when the whole product is tiny.
    static func prefersSmallPath(m: Int, n: Int, k: Int, alpha: Float, transB: Transpose,
                                 kernel: SGEMMMicroKernel) -> Bool {
        guard alpha == 1 else { return false }
        if n <= 4 * kernel.blocking.nr && k * n <= 1 << 17 { return true }
        return m * n * k <= 1 << 18
    }

    /// A grid of tiles over `rowPanels × columnPanels` micro-tiles: at most `maxRowPanels`
    /// panels high, and cut further (columns first, then rows) until there are about
    /// `targetTiles` tiles or each would hold less than `minimumTileWork`. Depends on the
    /// shape only.
    static func tileGrid(rowPanels: Int, columnPanels: Int, maxRowPanels: Int,
                         work: Int) -> (rows: Int, cols: Int) {
        let wanted = max(1, min(targetTiles, work / minimumTileWork))
        var rowTiles = (rowPanels + maxRowPanels - 1) / maxRowPanels
        var columnTiles = 1
        if rowTiles < wanted {
            columnTiles = min(columnPanels, (wanted + rowTiles - 1) / rowTiles)
            if rowTiles * columnTiles < wanted {
                rowTiles = min(rowPanels, (wanted + columnTiles - 1) / columnTiles)
            }
        }
        return ((rowPanels + rowTiles - 1) / rowTiles, (columnPanels + columnTiles - 1) / columnTiles)
    }

    /// The grain that cuts `count` items into as few tiles of at most `maximum` as possible,
    /// all the same size but the last, which falls short by less than the number of tiles: 784
    /// depths at most 682 apiece make two tiles of 392,
    /// where a grain of 682 made 682 and 102, and one thread did 87% of the work. Depends on
    /// the counts only, like every tiling.
    static func evenGrain(_ count: Int, maximum: Int) -> Int {
        let maximum = max(1, maximum)
        let tiles = max(1, (count + maximum - 1) / maximum)
        return max(1, (count + tiles - 1) / tiles)
    }

    /// C = β·C over m × n (β = 0 writes zeros without reading C; β = 1 leaves C alone).
    static func scale(m: Int, n: Int, beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int,
                      pool: ThreadPool) {
        if beta == 1 { return }
        let grain = evenGrain(m, maximum: minimumTileWork / max(n, 1))
        pool.parallelFor(0..<m, grain: grain) { rows in
            for i in rows {
                let row = c + i * ldc
                if beta == 0 {
                    for j in 0..<n { row[j] = 0 }
                } else {
                    for j in 0..<n { row[j] = beta * row[j] }
                }
            }
        }
    }

    /// Runs `body` with `byteCount` bytes of the calling thread's scratch; traps (naming the
    /// size) if it cannot be allocated, since `sgemm` does not throw.
    static func withScratch(_ pool: ThreadPool, floats: Int,
                            _ body: (UnsafeMutablePointer<Float>) -> Void) {
        let bytes = floats * MemoryLayout<Float>.stride
        do {
            try pool.withScratch(byteCount: bytes) { raw in
                body(raw.bindMemory(to: Float.self, capacity: max(floats, 1)))
            }
        } catch {
            preconditionFailure("sgemm: cannot allocate \(bytes) bytes of packing scratch: \(error)")
        }
    }

    /// The packed path. Requires m, n, k ≥ 1.
    static func packed(transA: Transpose, transB: Transpose, m: Int, n: Int, k: Int,
                       alpha: Float, a: UnsafePointer<Float>, lda: Int,
                       b: UnsafePointer<Float>, ldb: Int, beta: Float,
                       c: UnsafeMutablePointer<Float>, ldc: Int, pool: ThreadPool,
                       kernel: SGEMMMicroKernel) {
        let blocking = kernel.blocking
        let mr = blocking.mr, nr = blocking.nr, kc = blocking.kc
        let ncMax = min(blocking.nc, (n + nr - 1) / nr * nr)
        let regionRows = min((m + mr - 1) / mr * mr, regionBlocks * blocking.mc)
        let bFloats = kc * ncMax
        let aFloats = kc * max(regionRows, blocking.mc)
        let transposedA = transA == .transposed, transposedB = transB == .transposed
        let packPanels = 8  // micro-panels per packing task
        withScratch(pool, floats: bFloats + aFloats) { scratch in
            let bPack = scratch
            let aPack = scratch + bFloats
            for jc in stride(from: 0, to: n, by: blocking.nc) {
                let columns = min(blocking.nc, n - jc)
                let columnPanels = (columns + nr - 1) / nr
                for pc in stride(from: 0, to: k, by: kc) {
                    let depth = min(kc, k - pc)
                    // The chain of every element continues through C from the second block on.
                    let blockBeta: Float = pc == 0 ? beta : 1
                    for ic in stride(from: 0, to: m, by: regionRows) {
                        let rows = min(regionRows, m - ic)
                        let rowPanels = (rows + mr - 1) / mr
                        // Pack B (first region only) and this region of A, in parallel.
                        let bTasks = ic == 0 ? (columnPanels + packPanels - 1) / packPanels : 0
                        let aTasks = (rowPanels + packPanels - 1) / packPanels
                        pool.parallelFor(0..<(bTasks + aTasks), grain: 1) { tasks in
                            for task in tasks {
                                if task < bTasks {
                                    let first = task * packPanels
                                    SGEMMPacking.packB(
                                        isa: kernel.isa, transposed: transposedB, b: b, ldb: ldb, depthStart: pc,
                                        depth: depth, columnStart: jc, columns: columns, nr: nr,
                                        panels: first..<min(first + packPanels, columnPanels),
                                        into: bPack)
                                } else {
                                    let first = (task - bTasks) * packPanels
                                    SGEMMPacking.packA(
                                        isa: kernel.isa, transposed: transposedA, a: a, lda: lda, rowStart: ic,
                                        rows: rows, depthStart: pc, depth: depth, alpha: alpha,
                                        mr: mr, panels: first..<min(first + packPanels, rowPanels),
                                        into: aPack)
                                }
                            }
                        }
                        let grid = tileGrid(rowPanels: rowPanels, columnPanels: columnPanels,
                                            maxRowPanels: blocking.mc / mr,
                                            work: rows * columns * depth)
                        pool.parallelFor(rows: rowPanels, cols: columnPanels, tile: grid) {
                            tileRows, tileColumns in
                            for q in tileColumns {  // JR
                                let j = q * nr
                                let width = min(nr, columns - j)
                                let bPanel = UnsafePointer(bPack + q * nr * depth)
                                for r in tileRows {  // IR
                                    let i = r * mr
                                    kernel.packed(
                                        Int64(depth), UnsafePointer(aPack + r * mr * depth), bPanel,
                                        c + (ic + i) * ldc + jc + j, Int64(ldc),
                                        Int64(min(mr, rows - i)), Int64(width), blockBeta)
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /// The small-matrix path (α = 1): the strided micro-kernel reads A in place, and B in
    /// place too unless it is transposed (then it is first copied to row-major k × n). One
    /// kernel call covers all of k. Requires m, n, k ≥ 1.
    static func small(transA: Transpose, transB: Transpose, m: Int, n: Int, k: Int,
                      a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
                      beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int, pool: ThreadPool,
                      kernel: SGEMMMicroKernel) {
        let mr = kernel.blocking.mr, nr = kernel.blocking.nr
        let rowStride = transA == .transposed ? 1 : lda
        let columnStride = transA == .transposed ? lda : 1
        let rowPanels = (m + mr - 1) / mr, columnPanels = (n + nr - 1) / nr
        let grid = tileGrid(rowPanels: rowPanels, columnPanels: columnPanels,
                            maxRowPanels: kernel.blocking.mc / mr, work: m * n * k)
        func run(_ bRows: UnsafePointer<Float>, _ bStride: Int) {
            pool.parallelFor(rows: rowPanels, cols: columnPanels, tile: grid) { tileRows, tileColumns in
                for q in tileColumns {
                    let j = q * nr
                    let width = min(nr, n - j)
                    for r in tileRows {
                        let i = r * mr
                        kernel.strided(Int64(k), a + i * rowStride, Int64(rowStride),
                                       Int64(columnStride), bRows + j, Int64(bStride),
                                       c + i * ldc + j, Int64(ldc), Int64(min(mr, m - i)),
                                       Int64(width), beta)
                    }
                }
            }
        }
        if transB == .none {
            run(b, ldb)
            return
        }
        withScratch(pool, floats: k * n) { transposed in
            pool.parallelFor(0..<k, grain: evenGrain(k, maximum: minimumTileWork / 8 / n)) { depths in
                SGEMMPacking.transposeB(b: b, ldb: ldb, columns: n, depths: depths, into: transposed)
            }
            run(UnsafePointer(transposed), n)
        }
    }
}
