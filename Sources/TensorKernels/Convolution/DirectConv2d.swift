import CKernels
import ParallelRuntime

/// The direct convolution algorithm: no GEMM, no im2col; the C kernels run long contiguous
/// loops over output positions. Best when the channel counts are small (the seed CNN's
/// Conv2d(1,3,5) and Conv2d(3,6,3)), where GEMM's K = C·KH·KW and M = O are too small to pay
/// for packing.
///
/// Layout ("wide rows"): each input image is copied into a zero-padded, column-phase-split
/// buffer `xs[c][ph][r][j] = xpad[c][r][j·sW + ph]` (rows of `phaseWidth` = ⌈Wp / sW⌉; no copy
/// when there is no padding and sW = 1). Output position (oy, ox) gets the wide index
/// `i = oy·wideRow + ox`, `wideRow = sH·phaseWidth`; tap (c, ky, kx) then reads
/// `xs[tapOffset(c, ky, kx) + i]`, contiguous in i across whole rows. One kernel call covers
/// `wideLength = (OH − 1)·wideRow + OW` positions, of which the `wideRow − OW` between rows are
/// computed and dropped (for stride 1 that is KW − 1 + 2·pW per row).
///
/// - Forward: `y[o, p] = chain over taps t = (c, ky, kx) in order of fma(w[o, t], x, acc)`,
///   starting from the bias (or +0).
/// - Input gradient: the gradient, zero-dilated by the stride and padded by the dilated kernel
///   span, correlated with the flipped, transposed kernel (taps (o, ky', kx') in order), then
///   cropped by the padding; input positions no output reads get +0.
/// - Weight and bias gradients: per image, lane-layout dot products over the wide positions
///   (the gradient's dropped positions set to 0), then the per-image values summed in image
///   order: `dW = ((dW₀ + dW₁) + dW₂) + …`. No tile boundary enters any sum, so the result does
///   not depend on the thread count, the tiling or the ISA variant.
///
/// Tiles: forward (image, group of up to `forwardChannelGroup` output channels); backward one
/// image. Per-tile buffers come from `ThreadPool.withScratch` (nothing allocated in the steady
/// state); the per-image parameter-gradient partials, N·(O·C·KH·KW + O) floats, from the
/// caller's scratch.
package struct DirectConv2d: Sendable {
    /// Output channels per forward tile: enough parallelism for batch 1, few repacks of the input.
    package static let forwardChannelGroup = 32

    package let geometry: Conv2dGeometry
    package let kernels: Conv2dKernels

    /// Columns of one row of a phase plane of the packed input, ⌈Wp / sW⌉.
    let phaseWidth: Int
    /// Elements of one phase plane, Hp · phaseWidth.
    let phasePlane: Int
    /// Elements per input channel of the packed input, sW · phasePlane.
    let channelStride: Int
    /// Whether the input is copied (padding or sW > 1); otherwise the image is used in place.
    let packsInput: Bool
    /// Wide-index distance between output rows, sH · phaseWidth.
    let wideRow: Int
    /// Wide positions one kernel call covers, (OH − 1) · wideRow + OW.
    let wideLength: Int
    /// Rows and columns of the dilated, padded output gradient (input-gradient pass).
    let gradientHeight, gradientWidth: Int
    /// Rows and columns of padded-input positions the input-gradient correlation produces.
    let resultHeight, resultWidth: Int
    /// Wide positions of the input-gradient correlation, (resultHeight − 1)·gradientWidth + resultWidth.
    let resultLength: Int

    package init(geometry g: Conv2dGeometry, isa: weave_isa) {
        geometry = g
        kernels = Conv2dKernels(isa: isa)
        phaseWidth = (g.paddedWidth + g.strideWidth - 1) / g.strideWidth
        phasePlane = g.paddedHeight * phaseWidth
        channelStride = g.strideWidth * phasePlane
        packsInput = g.paddingHeight > 0 || g.paddingWidth > 0 || g.strideWidth > 1
        wideRow = g.strideHeight * phaseWidth
        wideLength = (g.outputHeight - 1) * wideRow + g.outputWidth
        let spanHeight = (g.kernelHeight - 1) * g.dilationHeight
        let spanWidth = (g.kernelWidth - 1) * g.dilationWidth
        resultHeight = (g.outputHeight - 1) * g.strideHeight + 1 + spanHeight
        resultWidth = (g.outputWidth - 1) * g.strideWidth + 1 + spanWidth
        gradientHeight = resultHeight + spanHeight
        gradientWidth = resultWidth + spanWidth
        resultLength = (resultHeight - 1) * gradientWidth + resultWidth
    }

    /// Floats rounded up to whole 64-byte lines, so sub-buffers of one scratch stay aligned.
    @inline(__always)
    static func lines(_ floats: Int) -> Int { (floats + 15) & ~15 }

    // MARK: Forward

    /// Writes `output` [N, O, OH, OW] from `input` [N, C, H, W], `weight` [O, C, KH, KW] and
    /// `bias` [O] (or none). `output` must not overlap the inputs.
    /// - Throws: `AllocationError` if scratch cannot be allocated.
    package func forward(input: UnsafePointer<Float>, weight: UnsafePointer<Float>,
                         bias: UnsafePointer<Float>?, output: UnsafeMutablePointer<Float>,
                         pool: ThreadPool) throws {
        let g = geometry
        guard g.batch > 0, g.outputChannels > 0 else { return }
        let taps = g.taps
        let plane = g.outputPlaneCount
        let group = Swift.min(g.outputChannels, Self.forwardChannelGroup)
        let groups = (g.outputChannels + group - 1) / group
        let direct = wideRow == g.outputWidth
        try pool.withScratch(byteCount: Swift.max(taps, 1) * MemoryLayout<Int>.stride) { raw in
            let offsets = raw.bindMemory(to: Int.self, capacity: Swift.max(taps, 1))
            writeTapOffsets(offsets)
            try pool.parallelFor(0..<(g.batch * groups), grain: 1) { tile in
                for t in tile {
                    let n = t / groups
                    let first = (t % groups) * group
                    let channels = Swift.min(group, g.outputChannels - first)
                    let packed = packsInput ? Self.lines(channelStride * g.inputChannels) : 0
                    let wide = direct ? 0 : Self.lines(channels * wideLength)
                    try pool.withScratch(byteCount: (packed + wide) * 4) { raw in
                        let scratch = raw.bindMemory(to: Float.self, capacity: packed + wide)
                        let image = input + n * g.inputImageCount
                        let xs: UnsafePointer<Float>
                        if packsInput {
                            pack(image, into: scratch)
                            xs = UnsafePointer(scratch)
                        } else {
                            xs = image
                        }
                        let out = output + n * g.outputImageCount + first * plane
                        let target = direct ? out : scratch + packed
                        let stride = direct ? plane : wideLength
                        kernels.correlate(xs, tapOffsets: offsets, taps: taps,
                                          weights: weight + first * taps, weightStride: taps,
                                          bias: bias.map { $0 + first }, channels: channels,
                                          output: target, outputStride: stride, length: wideLength)
                        if !direct {
                            for o in 0..<channels {
                                for oy in 0..<g.outputHeight {
                                    (out + o * plane + oy * g.outputWidth).update(
                                        from: target + o * wideLength + oy * wideRow,
                                        count: g.outputWidth)
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /// Offsets into the packed input of every tap t = (c·KH + ky)·KW + kx.
    func writeTapOffsets(_ offsets: UnsafeMutablePointer<Int>) {
        let g = geometry
        for c in 0..<g.inputChannels {
            for ky in 0..<g.kernelHeight {
                for kx in 0..<g.kernelWidth {
                    let column = kx * g.dilationWidth
                    offsets[(c * g.kernelHeight + ky) * g.kernelWidth + kx] =
                        c * channelStride + (column % g.strideWidth) * phasePlane
                        + ky * g.dilationHeight * phaseWidth + column / g.strideWidth
                }
            }
        }
    }

    /// Copies one image [C, H, W] into the padded, phase-split layout.
    func pack(_ image: UnsafePointer<Float>, into xs: UnsafeMutablePointer<Float>) {
        let g = geometry
        let sW = g.strideWidth, pW = g.paddingWidth
        for c in 0..<g.inputChannels {
            for phase in 0..<sW {
                let planeStart = xs + c * channelStride + phase * phasePlane
                for r in 0..<g.paddedHeight {
                    let row = planeStart + r * phaseWidth
                    let iy = r - g.paddingHeight
                    guard iy >= 0 && iy < g.height else {
                        row.update(repeating: 0, count: phaseWidth)
                        continue
                    }
                    let source = image + (c * g.height + iy) * g.width
                    if sW == 1 {
                        row.update(repeating: 0, count: pW)
                        (row + pW).update(from: source, count: g.width)
                        (row + pW + g.width).update(repeating: 0, count: phaseWidth - pW - g.width)
                    } else {
                        for j in 0..<phaseWidth {
                            let ix = j * sW + phase - pW
                            row[j] = ix >= 0 && ix < g.width ? source[ix] : 0
                        }
                    }
                }
            }
        }
    }

    // MARK: Backward

    /// Writes the gradients of a convolution given `outputGradient` [N, O, OH, OW]:
    /// `inputGradient` [N, C, H, W] when non-nil, `weightGradient` [O, C, KH, KW] and
    /// `biasGradient` [O] when non-nil (all overwritten, never accumulated). Outputs must not
    /// overlap the inputs.
    /// - Throws: `AllocationError` if scratch cannot be allocated.
    package func backward(input: UnsafePointer<Float>, weight: UnsafePointer<Float>,
                          outputGradient: UnsafePointer<Float>,
                          inputGradient: UnsafeMutablePointer<Float>?,
                          weightGradient: UnsafeMutablePointer<Float>,
                          biasGradient: UnsafeMutablePointer<Float>?,
                          pool: ThreadPool) throws {
        let g = geometry
        let taps = g.taps
        let weightCount = g.weightCount
        let partialCount = weightCount + (biasGradient == nil ? 0 : g.outputChannels)
        let gradientTaps = g.outputChannels * g.kernelHeight * g.kernelWidth
        let wantsInput = inputGradient != nil && g.inputImageCount > 0
        let flippedCount = wantsInput ? Self.lines(g.inputChannels * gradientTaps) : 0
        let offsetCount = Self.lines(taps) + (wantsInput ? Self.lines(gradientTaps) : 0)
        let partialsCount = g.batch * partialCount
        let callerFloats = flippedCount + partialsCount
        try pool.withScratch(byteCount: offsetCount * MemoryLayout<Int>.stride + callerFloats * 4) { raw in
            let offsets = raw.bindMemory(to: Int.self, capacity: offsetCount)
            let gradientOffsets = offsets + Self.lines(taps)
            let floats = (raw + offsetCount * MemoryLayout<Int>.stride)
                .bindMemory(to: Float.self, capacity: callerFloats)
            let flipped = floats
            let partials = floats + flippedCount
            writeTapOffsets(offsets)
            if wantsInput {
                writeGradientTapOffsets(gradientOffsets)
                writeFlippedWeights(weight, into: flipped)
            }
            try pool.parallelFor(0..<g.batch, grain: 1) { tile in
                for n in tile {
                    try backwardImage(n, input: input, outputGradient: outputGradient,
                                      offsets: offsets, partial: partials + n * partialCount,
                                      hasBias: biasGradient != nil,
                                      inputGradient: wantsInput ? inputGradient : nil,
                                      gradientOffsets: gradientOffsets, flipped: flipped,
                                      pool: pool)
                }
            }
            Conv2dBatchReduction.sumImages(partials, batch: g.batch, count: partialCount,
                                           weightCount: weightCount,
                                           weightGradient: weightGradient,
                                           biasGradient: biasGradient, pool: pool)
        }
    }

    /// One image of the backward pass: its weight/bias partial and, if asked, its input gradient.
    func backwardImage(_ n: Int, input: UnsafePointer<Float>, outputGradient: UnsafePointer<Float>,
                       offsets: UnsafePointer<Int>, partial: UnsafeMutablePointer<Float>,
                       hasBias: Bool, inputGradient: UnsafeMutablePointer<Float>?,
                       gradientOffsets: UnsafePointer<Int>, flipped: UnsafePointer<Float>,
                       pool: ThreadPool) throws {
        let g = geometry
        let plane = g.outputPlaneCount
        let dy = outputGradient + n * g.outputImageCount
        let direct = wideRow == g.outputWidth
        let packed = packsInput ? Self.lines(channelStride * g.inputChannels) : 0
        let wide = direct ? 0 : Self.lines(g.outputChannels * wideLength)
        try pool.withScratch(byteCount: (packed + wide) * 4) { raw in
            let scratch = raw.bindMemory(to: Float.self, capacity: packed + wide)
            let image = input + n * g.inputImageCount
            let xs: UnsafePointer<Float>
            if packsInput {
                pack(image, into: scratch)
                xs = UnsafePointer(scratch)
            } else {
                xs = image
            }
            let gradient: UnsafePointer<Float>
            if direct {
                gradient = dy
            } else {
                let rows = scratch + packed
                for o in 0..<g.outputChannels {
                    let wideStart = rows + o * wideLength
                    for oy in 0..<g.outputHeight {
                        let row = wideStart + oy * wideRow
                        row.update(from: dy + o * plane + oy * g.outputWidth, count: g.outputWidth)
                        if oy + 1 < g.outputHeight {
                            (row + g.outputWidth).update(repeating: 0, count: wideRow - g.outputWidth)
                        }
                    }
                }
                gradient = UnsafePointer(rows)
            }
            kernels.weightGradient(xs, tapOffsets: offsets, taps: g.taps, gradient: gradient,
                                   gradientStride: wideLength, channels: g.outputChannels,
                                   length: wideLength, result: partial, resultStride: g.taps)
            if hasBias {
                for o in 0..<g.outputChannels {
                    partial[g.weightCount + o] = kernels.sum(dy + o * plane, count: plane)
                }
            }
        }
        if let inputGradient {
            try inputGradientImage(dy, into: inputGradient + n * g.inputImageCount,
                                   gradientOffsets: gradientOffsets, flipped: flipped, pool: pool)
        }
    }

    /// Offsets into the dilated, padded output gradient of every tap t' = (o·KH + ky')·KW + kx'.
    func writeGradientTapOffsets(_ offsets: UnsafeMutablePointer<Int>) {
        let g = geometry
        for o in 0..<g.outputChannels {
            for ky in 0..<g.kernelHeight {
                for kx in 0..<g.kernelWidth {
                    offsets[(o * g.kernelHeight + ky) * g.kernelWidth + kx] =
                        o * gradientHeight * gradientWidth + ky * g.dilationHeight * gradientWidth
                        + kx * g.dilationWidth
                }
            }
        }
    }

    /// `flipped[c][(o·KH + ky')·KW + kx'] = weight[o][c][KH − 1 − ky'][KW − 1 − kx']`.
    func writeFlippedWeights(_ weight: UnsafePointer<Float>, into flipped: UnsafeMutablePointer<Float>) {
        let g = geometry
        let kh = g.kernelHeight, kw = g.kernelWidth
        let gradientTaps = g.outputChannels * kh * kw
        for c in 0..<g.inputChannels {
            for o in 0..<g.outputChannels {
                for ky in 0..<kh {
                    for kx in 0..<kw {
                        flipped[c * gradientTaps + (o * kh + ky) * kw + kx] =
                            weight[((o * g.inputChannels + c) * kh + (kh - 1 - ky)) * kw + (kw - 1 - kx)]
                    }
                }
            }
        }
    }

    /// The input gradient of one image from its output gradient `dy` [O, OH, OW].
    func inputGradientImage(_ dy: UnsafePointer<Float>, into dx: UnsafeMutablePointer<Float>,
                            gradientOffsets: UnsafePointer<Int>, flipped: UnsafePointer<Float>,
                            pool: ThreadPool) throws {
        let g = geometry
        let plane = g.outputPlaneCount
        let dilatedPlane = gradientHeight * gradientWidth
        let dilated = Self.lines(g.outputChannels * dilatedPlane)
        let result = Self.lines(g.inputChannels * resultLength)
        let top = (g.kernelHeight - 1) * g.dilationHeight
        let left = (g.kernelWidth - 1) * g.dilationWidth
        try pool.withScratch(byteCount: (dilated + result) * 4) { raw in
            let scratch = raw.bindMemory(to: Float.self, capacity: dilated + result)
            scratch.update(repeating: 0, count: g.outputChannels * dilatedPlane)
            for o in 0..<g.outputChannels {
                for oy in 0..<g.outputHeight {
                    let row = scratch + o * dilatedPlane + (top + oy * g.strideHeight) * gradientWidth + left
                    let source = dy + o * plane + oy * g.outputWidth
                    if g.strideWidth == 1 {
                        row.update(from: source, count: g.outputWidth)
                    } else {
                        for ox in 0..<g.outputWidth { row[ox * g.strideWidth] = source[ox] }
                    }
                }
            }
            let wide = scratch + dilated
            let gradientTaps = g.outputChannels * g.kernelHeight * g.kernelWidth
            kernels.correlate(scratch, tapOffsets: gradientOffsets, taps: gradientTaps,
                              weights: flipped, weightStride: gradientTaps, bias: nil,
                              channels: g.inputChannels, output: wide, outputStride: resultLength,
                              length: resultLength)
            // Crop the padding; padded-input positions past the result get no gradient.
            for c in 0..<g.inputChannels {
                for iy in 0..<g.height {
                    let row = dx + (c * g.height + iy) * g.width
                    let r = iy + g.paddingHeight
                    guard r < resultHeight else {
                        row.update(repeating: 0, count: g.width)
                        continue
                    }
                    let available = Swift.max(0, Swift.min(g.width, resultWidth - g.paddingWidth))
                    row.update(from: wide + c * resultLength + r * gradientWidth + g.paddingWidth,
                               count: available)
                    (row + available).update(repeating: 0, count: g.width - available)
                }
            }
        }
    }
}
