import CKernels

/// How a convolution is computed. Chosen from the shape alone (never from the thread count),
/// so a given shape always runs the same arithmetic and gives the same bits everywhere.
package enum Conv2dAlgorithm: String, Sendable, CaseIterable {
    /// `DirectConv2d`: long contiguous loops over output positions in C, register-blocked over
    /// 4 output channels × 64 positions.
    case direct
    /// `Im2colConv2d`: per-tile im2col blocks in scratch multiplied by SGEMM.
    case im2colGEMM

    /// The algorithm `conv2dForward` uses: `.direct` for every shape. Both algorithms compute
    /// the same forward chains, so this choice is about speed only.
    ///
    /// Measured with `weave bench conv --all-algorithms` (AVX-512, 1 thread; session 25, the
    /// tuned SGEMM): direct is faster on every benchmarked layer, 5.8× on Conv2d(1,3,5) 28×28,
    /// 3.7× on Conv2d(3,6,3) 12×12, 1.37× on Conv2d(1,32,5) 28×28, 1.11× on Conv2d(32,64,5)
    /// 12×12 and 1.3–1.4× on Conv2d(64,64,3, pad 1) 56×56. The direct kernels keep a whole
    /// image's input in L1/L2 and reuse each loaded vector for 4 channels, as good as a GEMM
    /// micro-kernel without the im2col copy.
    package static func preferredForward(for geometry: Conv2dGeometry) -> Conv2dAlgorithm {
        .direct
    }

    /// The algorithm `conv2dBackward` uses. The two differ in bits here (their sums run in
    /// different orders), so this rule is part of what a shape computes: it reads the shape
    /// only.
    ///
    /// Direct's backward runs its loops over "wide" rows (`DirectConv2d`): the weight gradient
    /// over `wideLength` positions per output plane, the input gradient as a full correlation
    /// of the zero-padded output gradient, `resultLength` positions per input channel, most of
    /// whose taps read padding when the kernel is large beside the output (5×5 on 8×8). Their
    /// multiply-adds over the true ones, `directBackwardWork`, is 1.07 on Conv2d(64,64,3, pad 1)
    /// 56×56 but 2.2 on LeNet's Conv2d(32,64,5) 12×12, where im2col + SGEMM, which does only
    /// the true ones, took the backward from 21.3 to 14.0 ms (batch 64, 1 thread; 11.1 → 7.2 ms
    /// on 2). SGEMM needs rows to be fast: with 3 or 6 output channels (the seed CNN) im2col
    /// was 3–5× slower, whatever the waste. So im2col when direct does at least half again the
    /// true work and both GEMMs have at least 16 rows (O for dW, C·KH·KW for dX).
    package static func preferredBackward(for geometry: Conv2dGeometry) -> Conv2dAlgorithm {
        let g = geometry
        guard g.outputChannels >= 16, g.taps >= 16 else { return .direct }
        return directBackwardWork(for: g) >= 1.5 ? .im2colGEMM : .direct
    }

    /// Multiply-adds of `DirectConv2d.backward` (weight and input gradients) over those of the
    /// gradients themselves, 2·N·O·OH·OW·C·KH·KW: ≥ 1, the wide rows' and the padding's waste.
    package static func directBackwardWork(for geometry: Conv2dGeometry) -> Double {
        let g = geometry
        let direct = DirectConv2d(geometry: g, isa: WEAVE_ISA_PORTABLE)
        let weightWork = Double(direct.wideLength) * Double(g.outputChannels * g.taps)
        let inputWork = Double(direct.resultLength) * Double(g.inputChannels)
            * Double(g.outputChannels * g.kernelHeight * g.kernelWidth)
        let trueWork = 2 * Double(g.outputPlaneCount) * Double(g.outputChannels * g.taps)
        return trueWork > 0 ? (weightWork + inputWork) / trueWork : 1
    }
}
