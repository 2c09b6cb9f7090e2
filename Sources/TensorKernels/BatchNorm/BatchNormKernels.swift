import CKernels

/// A block of an `[N, C, spatial…]` tensor as the C kernels see it: `images` × `channels` runs
/// of `plane` contiguous floats, run (n, c) at `n · imageStride + c · plane` from the block's
/// first element (see `weave_batchnorm.h`).
package struct BatchNormBlock {
    /// Images in the block.
    package var images: Int
    /// Channels in the block (consecutive).
    package var channels: Int
    /// Floats per run (H·W; 1 for BatchNorm1d on [N, C]).
    package var plane: Int
    /// Distance between images in floats (C·H·W of the whole tensor).
    package var imageStride: Int
}

/// The C batch-normalisation kernels (`weave_batchnorm_{avx512,avx2,portable}_*`, declared in
/// `weave_batchnorm.h`), chosen by ISA variant. Every variant returns the same bits: the sums use
/// one fixed 16-lane layout and tree per channel, and no operation is fused.
package enum BatchNormKernels {
    /// Two-pass moments of each channel of a block: `mean[c]` and `m2[c]` = Σ(x − mean)², in
    /// `Double` (calls `weave_batchnorm_*_moments`). `lanes` holds 16 · channels doubles.
    package static func moments(_ x: UnsafePointer<Float>, _ block: BatchNormBlock,
                                lanes: UnsafeMutablePointer<Double>,
                                mean: UnsafeMutablePointer<Double>, m2: UnsafeMutablePointer<Double>,
                                isa: weave_isa) {
        let (n, c, p, s) = (block.images, block.channels, block.plane, block.imageStride)
        switch isa {
        case WEAVE_ISA_AVX512: weave_batchnorm_avx512_moments(x, n, c, p, s, lanes, mean, m2)
        case WEAVE_ISA_AVX2: weave_batchnorm_avx2_moments(x, n, c, p, s, lanes, mean, m2)
        default: weave_batchnorm_portable_moments(x, n, c, p, s, lanes, mean, m2)
        }
    }

    /// y = (x − mean[c])·scale[c] + shift[c] over a block (calls `weave_batchnorm_*_normalize`).
    package static func normalize(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>,
                                  _ block: BatchNormBlock, mean: UnsafePointer<Float>,
                                  scale: UnsafePointer<Float>, shift: UnsafePointer<Float>,
                                  streaming: Bool, isa: weave_isa) {
        let (n, c, p, s) = (block.images, block.channels, block.plane, block.imageStride)
        let nt: Int32 = streaming ? 1 : 0
        switch isa {
        case WEAVE_ISA_AVX512: weave_batchnorm_avx512_normalize(x, y, n, c, p, s, mean, scale, shift, nt)
        case WEAVE_ISA_AVX2: weave_batchnorm_avx2_normalize(x, y, n, c, p, s, mean, scale, shift, nt)
        default: weave_batchnorm_portable_normalize(x, y, n, c, p, s, mean, scale, shift, nt)
        }
    }

    /// Σ dy and Σ dy·(x − mean[c]) of each channel of a block, in `Double`
    /// (calls `weave_batchnorm_*_gradient_sums`). `lanes` holds 32 · channels doubles.
    package static func gradientSums(_ x: UnsafePointer<Float>, _ dy: UnsafePointer<Float>,
                                     _ block: BatchNormBlock, mean: UnsafePointer<Float>,
                                     lanes: UnsafeMutablePointer<Double>,
                                     sumDy: UnsafeMutablePointer<Double>,
                                     sumDyCentered: UnsafeMutablePointer<Double>, isa: weave_isa) {
        let (n, c, p, s) = (block.images, block.channels, block.plane, block.imageStride)
        switch isa {
        case WEAVE_ISA_AVX512:
            weave_batchnorm_avx512_gradient_sums(x, dy, n, c, p, s, mean, lanes, sumDy, sumDyCentered)
        case WEAVE_ISA_AVX2:
            weave_batchnorm_avx2_gradient_sums(x, dy, n, c, p, s, mean, lanes, sumDy, sumDyCentered)
        default:
            weave_batchnorm_portable_gradient_sums(x, dy, n, c, p, s, mean, lanes, sumDy, sumDyCentered)
        }
    }

    /// dx = (dy·dyScale[c] + (x − mean[c])·centeredScale[c]) + shift[c] over a block
    /// (calls `weave_batchnorm_*_input_gradient`).
    package static func inputGradient(_ x: UnsafePointer<Float>, _ dy: UnsafePointer<Float>,
                                      _ dx: UnsafeMutablePointer<Float>, _ block: BatchNormBlock,
                                      mean: UnsafePointer<Float>, dyScale: UnsafePointer<Float>,
                                      centeredScale: UnsafePointer<Float>,
                                      shift: UnsafePointer<Float>, streaming: Bool, isa: weave_isa) {
        let (n, c, p, s) = (block.images, block.channels, block.plane, block.imageStride)
        let nt: Int32 = streaming ? 1 : 0
        switch isa {
        case WEAVE_ISA_AVX512:
            weave_batchnorm_avx512_input_gradient(x, dy, dx, n, c, p, s, mean, dyScale, centeredScale, shift, nt)
        case WEAVE_ISA_AVX2:
            weave_batchnorm_avx2_input_gradient(x, dy, dx, n, c, p, s, mean, dyScale, centeredScale, shift, nt)
        default:
            weave_batchnorm_portable_input_gradient(x, dy, dx, n, c, p, s, mean, dyScale, centeredScale, shift, nt)
        }
    }
}
