import CKernels

/// The direct-convolution C kernels of one ISA variant (`weave_conv2d_<isa>_*`, see
/// `weave_conv2d.h`). Every variant computes the same bits; the variant only changes speed.
package struct Conv2dKernels: Sendable {
    /// The variant whose functions are called.
    package let isa: weave_isa

    /// The kernels of `isa`.
    /// - Precondition: this CPU can run `isa`.
    package init(isa: weave_isa) {
        precondition(weave_cpu_supports(isa) != 0,
                     "this CPU cannot run the requested conv2d kernel variant \(isa.rawValue)")
        self.isa = isa
    }

    /// `output[o·outputStride + i] = chain of fma over taps` (calls `weave_conv2d_<isa>_correlate`).
    @inline(__always)
    package func correlate(_ input: UnsafePointer<Float>, tapOffsets: UnsafePointer<Int>, taps: Int,
                           weights: UnsafePointer<Float>, weightStride: Int,
                           bias: UnsafePointer<Float>?, channels: Int,
                           output: UnsafeMutablePointer<Float>, outputStride: Int, length: Int) {
        switch isa {
        case WEAVE_ISA_AVX512:
            weave_conv2d_avx512_correlate(input, tapOffsets, taps, weights, weightStride, bias,
                                          channels, output, outputStride, length)
        case WEAVE_ISA_AVX2:
            weave_conv2d_avx2_correlate(input, tapOffsets, taps, weights, weightStride, bias,
                                        channels, output, outputStride, length)
        default:
            weave_conv2d_portable_correlate(input, tapOffsets, taps, weights, weightStride, bias,
                                            channels, output, outputStride, length)
        }
    }

    /// Lane-layout dot products of gradient rows with shifted input runs (calls
    /// `weave_conv2d_<isa>_weight_gradient`).
    @inline(__always)
    package func weightGradient(_ input: UnsafePointer<Float>, tapOffsets: UnsafePointer<Int>,
                                taps: Int, gradient: UnsafePointer<Float>, gradientStride: Int,
                                channels: Int, length: Int, result: UnsafeMutablePointer<Float>,
                                resultStride: Int) {
        switch isa {
        case WEAVE_ISA_AVX512:
            weave_conv2d_avx512_weight_gradient(input, tapOffsets, taps, gradient, gradientStride,
                                                channels, length, result, resultStride)
        case WEAVE_ISA_AVX2:
            weave_conv2d_avx2_weight_gradient(input, tapOffsets, taps, gradient, gradientStride,
                                              channels, length, result, resultStride)
        default:
            weave_conv2d_portable_weight_gradient(input, tapOffsets, taps, gradient,
                                                  gradientStride, channels, length, result,
                                                  resultStride)
        }
    }

    /// The lane-layout sum of `count` values (calls `weave_conv2d_<isa>_sum`).
    @inline(__always)
    package func sum(_ values: UnsafePointer<Float>, count: Int) -> Float {
        switch isa {
        case WEAVE_ISA_AVX512: weave_conv2d_avx512_sum(values, count)
        case WEAVE_ISA_AVX2: weave_conv2d_avx2_sum(values, count)
        default: weave_conv2d_portable_sum(values, count)
        }
    }
}
