import CKernels

/// One channel's slice of an `[N, C, spatial…]` tensor as the C kernels see it: `segments`
/// runs (one per image) of `length` contiguous floats (the spatial size), `stride` apart.
struct BatchNormSlice {
    /// Runs in the slice (images).
    var segments: Int
    /// Floats per run (H·W; 1 for BatchNorm1d on [N, C]).
    var length: Int
    /// Distance between runs in floats (C·H·W).
    var stride: Int
}

/// The C batch-normalisation kernels (`weave_batchnorm_{avx512,avx2,portable}_*`, declared in
/// `weave_batchnorm.h`), chosen by ISA variant. Every variant returns the same bits: the sums use
/// one fixed 16-lane layout and tree, and no operation is fused.
enum BatchNormKernels {
    /// Two-pass moments of a slice: the mean and Σ(x − mean)², in `Double`
    /// (calls `weave_batchnorm_*_moments`).
    static func moments(_ x: UnsafePointer<Float>, _ slice: BatchNormSlice,
                        isa: weave_isa) -> (mean: Double, m2: Double) {
        var mean = 0.0, m2 = 0.0
        let s = slice.segments, l = slice.length, t = slice.stride
        switch isa {
        case WEAVE_ISA_AVX512: weave_batchnorm_avx512_moments(x, s, l, t, &mean, &m2)
        case WEAVE_ISA_AVX2: weave_batchnorm_avx2_moments(x, s, l, t, &mean, &m2)
        default: weave_batchnorm_portable_moments(x, s, l, t, &mean, &m2)
        }
        return (mean, m2)
    }

    /// y = (x − mean)·scale + shift over a slice (calls `weave_batchnorm_*_normalize`).
    static func normalize(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>,
                          _ slice: BatchNormSlice, mean: Float, scale: Float, shift: Float,
                          streaming: Bool, isa: weave_isa) {
        let s = slice.segments, l = slice.length, t = slice.stride, nt: Int32 = streaming ? 1 : 0
        switch isa {
        case WEAVE_ISA_AVX512: weave_batchnorm_avx512_normalize(x, y, s, l, t, mean, scale, shift, nt)
        case WEAVE_ISA_AVX2: weave_batchnorm_avx2_normalize(x, y, s, l, t, mean, scale, shift, nt)
        default: weave_batchnorm_portable_normalize(x, y, s, l, t, mean, scale, shift, nt)
        }
    }

    /// Σ dy and Σ dy·(x − mean) over a slice, in `Double`
    /// (calls `weave_batchnorm_*_gradient_sums`).
    static func gradientSums(_ x: UnsafePointer<Float>, _ dy: UnsafePointer<Float>,
                             _ slice: BatchNormSlice, mean: Float,
                             isa: weave_isa) -> (sumDy: Double, sumDyCentered: Double) {
        var a = 0.0, b = 0.0
        let s = slice.segments, l = slice.length, t = slice.stride
        switch isa {
        case WEAVE_ISA_AVX512: weave_batchnorm_avx512_gradient_sums(x, dy, s, l, t, mean, &a, &b)
        case WEAVE_ISA_AVX2: weave_batchnorm_avx2_gradient_sums(x, dy, s, l, t, mean, &a, &b)
        default: weave_batchnorm_portable_gradient_sums(x, dy, s, l, t, mean, &a, &b)
        }
        return (a, b)
    }

    /// dx = (dy·dyScale + (x − mean)·centeredScale) + shift over a slice
    /// (calls `weave_batchnorm_*_input_gradient`).
    static func inputGradient(_ x: UnsafePointer<Float>, _ dy: UnsafePointer<Float>,
                              _ dx: UnsafeMutablePointer<Float>, _ slice: BatchNormSlice,
                              mean: Float, dyScale: Float, centeredScale: Float, shift: Float,
                              streaming: Bool, isa: weave_isa) {
        let s = slice.segments, l = slice.length, t = slice.stride, nt: Int32 = streaming ? 1 : 0
        switch isa {
        case WEAVE_ISA_AVX512:
            weave_batchnorm_avx512_input_gradient(x, dy, dx, s, l, t, mean, dyScale, centeredScale, shift, nt)
        case WEAVE_ISA_AVX2:
            weave_batchnorm_avx2_input_gradient(x, dy, dx, s, l, t, mean, dyScale, centeredScale, shift, nt)
        default:
            weave_batchnorm_portable_input_gradient(x, dy, dx, s, l, t, mean, dyScale, centeredScale, shift, nt)
        }
    }
}
