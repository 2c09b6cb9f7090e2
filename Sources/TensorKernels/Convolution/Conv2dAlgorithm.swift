/// How a convolution is computed. Chosen from the shape alone (never from the thread count),
/// so a given shape always runs the same arithmetic and gives the same bits everywhere.
package enum Conv2dAlgorithm: String, Sendable, CaseIterable {
    /// `DirectConv2d`: long contiguous loops over output positions in C, register-blocked over
    /// 4 output channels × 64 positions.
    case direct
    /// `Im2colConv2d`: per-tile im2col blocks in scratch multiplied by SGEMM.
    case im2colGEMM

    /// The algorithm `conv2dForward` and `conv2dBackward` use for `geometry`: `.direct` for
    /// every shape, for now.
    ///
    /// Measured with `weave bench conv --all-algorithms` (AVX-512, 1 thread, against the SGEMM
    /// of gemm-branch commit 8421ef1, its first version): direct wins everywhere, by 5–7× on
    /// the seed layers (Conv2d(1,3,5) on 28×28 and Conv2d(3,6,3) on 12×12, where K = 25 or 27
    /// and M = 3 or 6 are far too small for GEMM) and on Conv2d(64,64,3, pad 1) on 56×56 at
    /// batch 32 as well: forward 41 ms (≈ 180 GFLOP/s, ≈ 80% of the FMA peak) against 57 ms,
    /// forward+backward 124 ms against ≈ 390 ms. The direct kernels keep a whole image's
    /// padded input in L1/L2 and reuse each loaded vector for 4 channels, which is as good as
    /// a GEMM micro-kernel without the im2col copy. Revisit when SGEMM is tuned: the forward
    /// bits would not change (both algorithms compute the same chains), dX and dW would.
    package static func preferred(for geometry: Conv2dGeometry) -> Conv2dAlgorithm {
        .direct
    }
}
