/// How a convolution is computed. Chosen from the shape alone (never from the thread count),
/// so a given shape always runs the same arithmetic and gives the same bits everywhere.
package enum Conv2dAlgorithm: String, Sendable, CaseIterable {
    /// `DirectConv2d`: long contiguous loops over output positions in C; for small channel
    /// counts (the seed CNN's layers), where GEMM's dimensions are too small to pay for packing.
    case direct
    /// `Im2colConv2d`: per-tile im2col blocks in scratch multiplied by SGEMM.
    case im2colGEMM

    /// The algorithm `conv2dForward` and `conv2dBackward` use for `geometry`.
    package static func preferred(for geometry: Conv2dGeometry) -> Conv2dAlgorithm {
        .direct
    }
}
