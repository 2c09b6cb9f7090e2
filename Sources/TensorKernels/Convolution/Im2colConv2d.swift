import CKernels
import ParallelRuntime

/// The im2col + SGEMM convolution algorithm, for many channels (e.g. Conv2d(64,64,3) on
/// 56×56), where GEMM's M = O, N = positions and K = C·KH·KW are large enough to run the
/// micro-kernels at full speed.
///
/// Work is cut into tiles of (image, block of `rowsPerTile` output rows), fixed by the shape.
/// Each tile writes its im2col block — K = C·KH·KW rows (taps in (c, ky, kx) order) by
/// rowsPerTile·OW positions — into per-worker scratch (never a whole-batch buffer), then:
/// - forward: `y[:, block] = W · col` with C pre-set to the bias and β = 1, so every output is
///   the chain `acc = bias; acc = fma(w[o, t], x_t, acc)` over taps in order — exactly the
///   arithmetic of `DirectConv2d`: the two algorithms give the same forward bits;
/// - weight gradient (one tile per image, blocks in order): `dW_n += dy[:, block] · colᵀ`
///   with β = 1 after the first block, which continues each element's fma chain over all
///   positions in order; per-image partials are summed in image order
///   (`Conv2dBatchReduction`);
/// - input gradient: `dcol = Wᵀ · dy[:, block]`, scattered into the image's dx (col2im) in
///   block, then tap order.
/// SGEMM splits its own work over tiles of C, never over K, so nothing depends on the thread
/// count; SGEMM's variants all compute the same chains, so nothing depends on the ISA either.
package struct Im2colConv2d: Sendable {
    /// Output positions a tile aims at (whole output rows, at least one). Larger blocks give
    /// SGEMM a wider N: on Conv2d(64,64,3, pad 1) 56×56 the forward pass took 57 ms with 1024
    /// against 129 ms with 256 (1 thread). The block is K × positions floats (2.3 MB for K = 576).
    package static let positionsPerTile = 1024

    package let geometry: Conv2dGeometry
    let kernels: Conv2dKernels
    let gemmKernel: SGEMMMicroKernel
    /// Output rows per tile, from the shape only.
    let rowsPerTile: Int
    /// Tiles per image, ⌈OH / rowsPerTile⌉.
    let blocksPerImage: Int
    /// The image's geometry for the C copies.
    let cGeometry: weave_im2col_geometry

    package init(geometry g: Conv2dGeometry, isa: weave_isa) {
        geometry = g
        kernels = Conv2dKernels(isa: isa)
        let variant = KernelISA.allCases.first { $0.cValue == isa } ?? .portable
        gemmKernel = SGEMMMicroKernel.forISA(variant)
        rowsPerTile = Swift.max(1, Swift.min(g.outputHeight, Self.positionsPerTile / g.outputWidth))
        blocksPerImage = (g.outputHeight + rowsPerTile - 1) / rowsPerTile
        cGeometry = weave_im2col_geometry(
            channels: Int64(g.inputChannels), height: Int64(g.height), width: Int64(g.width),
            out_width: Int64(g.outputWidth), kernel_h: Int64(g.kernelHeight),
            kernel_w: Int64(g.kernelWidth), stride_h: Int64(g.strideHeight),
            stride_w: Int64(g.strideWidth), pad_h: Int64(g.paddingHeight),
            pad_w: Int64(g.paddingWidth), dilation_h: Int64(g.dilationHeight),
            dilation_w: Int64(g.dilationWidth))
    }

    /// Output rows `first ..< first + count` of block `block`.
    func rows(ofBlock block: Int) -> Range<Int> {
        let first = block * rowsPerTile
        return first..<Swift.min(first + rowsPerTile, geometry.outputHeight)
    }

    // MARK: Forward

    /// Writes `output` [N, O, OH, OW]; as `DirectConv2d.forward`, with the same bits.
    /// - Throws: `AllocationError` if scratch cannot be allocated.
    package func forward(input: UnsafePointer<Float>, weight: UnsafePointer<Float>,
                         bias: UnsafePointer<Float>?, output: UnsafeMutablePointer<Float>,
                         pool: ThreadPool) throws {
        let g = geometry
        guard g.batch > 0, g.outputChannels > 0 else { return }
        let plane = g.outputPlaneCount
        let taps = g.taps
        try pool.parallelFor(0..<(g.batch * blocksPerImage), grain: 1) { tiles in
            for tile in tiles {
                let n = tile / blocksPerImage
                let rows = rows(ofBlock: tile % blocksPerImage)
                let positions = rows.count * g.outputWidth
                let out = output + n * g.outputImageCount + rows.lowerBound * g.outputWidth
                if let bias {
                    for o in 0..<g.outputChannels {
                        (out + o * plane).update(repeating: bias[o], count: positions)
                    }
                }
                if taps == 0 {
                    if bias == nil {
                        for o in 0..<g.outputChannels {
                            (out + o * plane).update(repeating: 0, count: positions)
                        }
                    }
                    continue
                }
                try pool.withScratch(byteCount: taps * positions * 4) { raw in
                    let col = raw.bindMemory(to: Float.self, capacity: taps * positions)
                    im2col(input + n * g.inputImageCount, rows: rows, into: col)
                    sgemm(transA: .none, transB: .none, m: g.outputChannels, n: positions,
                          k: taps, alpha: 1, a: weight, lda: taps, b: col, ldb: positions,
                          beta: bias == nil ? 0 : 1, c: out, ldc: plane, pool: pool,
                          kernel: gemmKernel, path: .automatic)
                }
            }
        }
    }

    /// Writes the im2col block of output rows `rows` of one image [C, H, W]:
    /// `col[t][p] = xpad[c][oy·sH + ky·dH][ox·sW + kx·dW]`, t = (c·KH + ky)·KW + kx,
    /// p = (oy − rows.lowerBound)·OW + ox; zero where the position falls in the padding
    /// (`weave_im2col`).
    func im2col(_ image: UnsafePointer<Float>, rows: Range<Int>, into col: UnsafeMutablePointer<Float>) {
        withUnsafePointer(to: cGeometry) { g in
            weave_im2col(image, g, Int64(rows.lowerBound), Int64(rows.count), col)
        }
    }

    // MARK: Backward

    /// Writes the gradients; as `DirectConv2d.backward` (same layouts, same guarantees, not
    /// the same bits for dX and dW: the summation orders differ).
    /// - Throws: `AllocationError` if scratch cannot be allocated.
    package func backward(input: UnsafePointer<Float>, weight: UnsafePointer<Float>,
                          outputGradient: UnsafePointer<Float>,
                          inputGradient: UnsafeMutablePointer<Float>?,
                          weightGradient: UnsafeMutablePointer<Float>,
                          biasGradient: UnsafeMutablePointer<Float>?,
                          pool: ThreadPool) throws {
        let g = geometry
        let taps = g.taps
        let plane = g.outputPlaneCount
        let partialCount = g.weightCount + (biasGradient == nil ? 0 : g.outputChannels)
        let blockPositions = rowsPerTile * g.outputWidth
        try pool.withScratch(byteCount: Swift.max(1, g.batch * partialCount) * 4) { raw in
            let partials = raw.bindMemory(to: Float.self, capacity: g.batch * partialCount)
            try pool.parallelFor(0..<g.batch, grain: 1) { images in
                for n in images {
                    let partial = partials + n * partialCount
                    let dy = outputGradient + n * g.outputImageCount
                    let dx = inputGradient.map { $0 + n * g.inputImageCount }
                    dx?.update(repeating: 0, count: g.inputImageCount)
                    if taps == 0 {
                        partial.update(repeating: 0, count: g.weightCount)
                    } else {
                        let colCount = DirectConv2d.lines(taps * blockPositions)
                        let scratchCount = colCount * (dx == nil ? 1 : 2)
                        try pool.withScratch(byteCount: scratchCount * 4) { raw in
                            let col = raw.bindMemory(to: Float.self, capacity: scratchCount)
                            let dcol = col + colCount
                            for block in 0..<blocksPerImage {
                                let rows = rows(ofBlock: block)
                                let positions = rows.count * g.outputWidth
                                let dyBlock = dy + rows.lowerBound * g.outputWidth
                                im2col(input + n * g.inputImageCount, rows: rows, into: col)
                                sgemm(transA: .none, transB: .transposed, m: g.outputChannels,
                                      n: taps, k: positions, alpha: 1, a: dyBlock, lda: plane,
                                      b: col, ldb: positions, beta: block == 0 ? 0 : 1,
                                      c: partial, ldc: taps, pool: pool, kernel: gemmKernel,
                                      path: .automatic)
                                if let dx {
                                    sgemm(transA: .transposed, transB: .none, m: taps,
                                          n: positions, k: g.outputChannels, alpha: 1, a: weight,
                                          lda: taps, b: dyBlock, ldb: plane, beta: 0, c: dcol,
                                          ldc: positions, pool: pool, kernel: gemmKernel,
                                          path: .automatic)
                                    col2imAdd(dcol, rows: rows, into: dx)
                                }
                            }
                        }
                    }
                    if biasGradient != nil {
                        for o in 0..<g.outputChannels {
                            partial[g.weightCount + o] = kernels.sum(dy + o * plane, count: plane)
                        }
                    }
                }
            }
            Conv2dBatchReduction.sumImages(partials, batch: g.batch, count: partialCount,
                                           weightCount: g.weightCount,
                                           weightGradient: weightGradient,
                                           biasGradient: biasGradient, pool: pool)
        }
    }

    /// Adds an im2col-shaped block back into the image gradient [C, H, W] (the adjoint of
    /// `im2col`), taps in order, positions in order; padding positions are dropped
    /// (`weave_col2im_add`).
    func col2imAdd(_ col: UnsafePointer<Float>, rows: Range<Int>,
                   into dx: UnsafeMutablePointer<Float>) {
        withUnsafePointer(to: cGeometry) { g in
            weave_col2im_add(col, g, Int64(rows.lowerBound), Int64(rows.count), dx)
        }
    }
}
